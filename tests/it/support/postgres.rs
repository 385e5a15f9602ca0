//! A private PostgreSQL cluster for this test process: Debian's server (`scripts/test`
//! installs it), `initdb` in a temporary directory, listening on loopback on a port of its
//! own, with password authentication; never the system cluster. Started on first use, shared
//! by the tests (each takes a fresh database), stopped and removed when the process exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const USER: &str = "nhacviec";
pub const PASSWORD: &str = "mat-khau-thu-nghiem";

pub struct Cluster {
    pub port: u16,
}

/// What `atexit` stops and removes.
static RUNNING: Mutex<Option<(u32, PathBuf)>> = Mutex::new(None);
static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The cluster, started the first time.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(start)
}

impl Cluster {
    /// A connection string for `dbname` with the given password.
    pub fn url_with(&self, dbname: &str, password: &str) -> String {
        format!(
            "postgres://{USER}:{password}@127.0.0.1:{}/{dbname}",
            self.port
        )
    }

    /// A new, empty database of its own for one test; its connection string.
    pub fn fresh_database(&self) -> String {
        let n = DATABASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("t{}_{n}", std::process::id());
        let mut admin =
            postgres::Client::connect(&self.url_with("postgres", PASSWORD), postgres::NoTls)
                .expect("the test cluster accepts connections");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url_with(&name, PASSWORD)
    }
}

fn bindir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/test installs Debian's postgresql)")
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

/// As root (CI, containers) the server runs as Debian's `postgres` user: PostgreSQL refuses
/// to run as root.
fn run_as(cmd: &mut Command, dir: &Path) {
    use std::os::unix::process::CommandExt;
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .unwrap();
    let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let out = Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .unwrap();
    let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let status = Command::new("chown")
        .args(["-R", &format!("{uid}:{gid}")])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    cmd.uid(uid).gid(gid);
}

fn start() -> Cluster {
    let root = tempfile::Builder::new()
        .prefix("nhacviec-pg-")
        .tempdir()
        .unwrap()
        .keep();
    let data = root.join("data");
    std::fs::write(root.join("pw"), PASSWORD).unwrap();
    let bin = bindir();
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .args(["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        .arg(format!("--pwfile={}", root.join("pw").display()))
        .stdout(Stdio::null());
    run_as(&mut initdb, &root);
    let out = initdb.output().unwrap();
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = super::free_port();
    // Started from a thread that lives as long as the process: the server gets SIGQUIT (an
    // immediate stop) when its parent thread ends, so a killed test run leaves no server.
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    let (bin2, data2, root2) = (bin.clone(), data.clone(), root.clone());
    std::thread::spawn(move || {
        let mut cmd = Command::new(bin2.join("postgres"));
        cmd.arg("-D")
            .arg(&data2)
            .args(["-p", &port.to_string()])
            .arg("-k")
            .arg(&root2)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=32MB"])
            // Tests, not durability: what the service relies on is checked on commit order.
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root2.join("server.log")).unwrap());
        run_as(&mut cmd, &root2);
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("postgres starts");
        tx.send(child.id()).unwrap();
        // Reaped here when it stops (`stop_at_exit`); this thread never ends before.
        let _ = child.wait();
        loop {
            std::thread::park();
        }
    });
    let pid = rx.recv().unwrap();
    *RUNNING.lock().unwrap() = Some((pid, root.clone()));
    unsafe {
        libc::atexit(stop_at_exit);
    }
    let url = format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match postgres::Client::connect(&url, postgres::NoTls) {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!(
                "the test cluster did not start: {e}; {}",
                std::fs::read_to_string(root.join("server.log")).unwrap_or_default()
            ),
        }
    }
    Cluster { port }
}

extern "C" fn stop_at_exit() {
    if let Ok(mut running) = RUNNING.lock() {
        if let Some((pid, root)) = running.take() {
            unsafe {
                libc::kill(pid as i32, libc::SIGQUIT);
            }
            // The server's processes end within a moment of SIGQUIT; then its files go.
            let deadline = Instant::now() + Duration::from_secs(5);
            // (Its own thread reaps it: gone from the process table once it stopped.)
            while unsafe { libc::kill(pid as i32, 0) } == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_dir_all(root);
        }
    }
}
