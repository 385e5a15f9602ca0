//! The service stays responsive (issue 18): `/healthz` answers and SIGTERM stops it during a
//! long tick, leaving what was not sent queued; a failed tick is tried again with backoff and
//! health recovers on its own; an empty NHACVIEC_STATE_DIR is an error; a reload that moves
//! the state directory is refused (it needs a restart).

use crate::support::{copy_dir, free_port, repo};

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Service {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn start(
        config: &Path,
        state: &Path,
        setup: impl FnOnce(&mut std::process::Command),
    ) -> Service {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("nhacviec"));
        cmd.env("NHACVIEC_STATE_DIR", state)
            .env("NHACVIEC_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("JOURNAL_STREAM")
            .arg("--config")
            .arg(config)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        setup(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Service { child, log }
    }

    fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn wait_log(&self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.logged(needle) {
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the exit; how long it took.
    fn wait_exit(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s, started.elapsed());
            }
            assert!(
                started.elapsed() < within,
                "still running {within:?} after the signal; log: {:?}",
                self.log
                    .lock()
                    .unwrap()
                    .iter()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET on loopback with a 5 s bound: (status code, body, time taken).
fn http_get(port: u16, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body, started.elapsed())
}

fn eml_count(state: &Path) -> usize {
    fs::read_dir(state.join("mail"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// (waiting: pending or retrying, sent) deliveries in the state's database.
fn deliveries(state: &Path) -> (i64, i64) {
    let db = rusqlite::Connection::open(state.join("nhacviec.db")).unwrap();
    let count = |q: &str| -> i64 { db.query_row(q, [], |r| r.get(0)).unwrap() };
    (
        count("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'retrying')"),
        count("SELECT count(*) FROM deliveries WHERE status = 'sent'"),
    )
}

/// `n` agencies with one task due today for all: a catch-up tick of `n` digests, written as
/// .eml files (durably, one by one), with a tick every second after it.
fn big_config(dir: &Path, n: usize, port: u16) {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    let issued = today - chrono::Days::new(60);
    fs::create_dir_all(dir.join("plans")).unwrap();
    fs::write(
        dir.join("nhacviec.toml"),
        format!(
            "[email]\nfrom = \"Nhắc việc <nv@tinh.example>\"\npool_size = 4\n\n[schedule]\nreminders = \"* * * * * *\"\ncatch_up_days = 30\nsend_hours = \"always\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let mut agencies = String::from("[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\n\n");
    for i in 0..n {
        agencies.push_str(&format!(
            "[[agency]]\nid = \"a{i}\"\nname = \"Cơ quan {i}\"\nlevel = \"tinh\"\nemail = [\"a{i}@tinh.example\"]\n\n"
        ));
    }
    agencies.push_str("[[group]]\nid = \"all\"\nname = \"Tất cả\"\nlevel = \"tinh\"\n");
    fs::write(dir.join("agencies.toml"), agencies).unwrap();
    fs::write(
        dir.join("plans/p.toml"),
        format!("[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = {issued}\n\n[[task]]\nid = \"1\"\ntitle = \"Việc\"\nlead = [\"all\"]\ndue = {today}\n"),
    )
    .unwrap();
}

const AGENCIES: usize = 3000;

#[test]
fn health_answers_and_sigterm_stops_within_2_s_during_a_long_tick() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    let state = tmp.path().join("state");
    let port = free_port();
    big_config(&cfg, AGENCIES, port);
    let mut service = Service::start(&cfg, &state, |_| {});
    service.wait_log(
        "/healthz và /metrics đang phục vụ",
        Duration::from_secs(120),
    );
    // While the catch-up tick evaluates, records and sends, probes are answered at once.
    let mut probes = Vec::new();
    while !service.logged("queued=") && eml_count(&state) < AGENCIES / 3 {
        let (code, body, took) = http_get(port, "/healthz");
        assert!(code == 200 || code == 503, "{code} {body}");
        assert!(
            took < Duration::from_secs(1),
            "/healthz took {took:?} during the tick"
        );
        probes.push(took);
        std::thread::sleep(Duration::from_millis(100));
    }
    let sending = eml_count(&state);
    assert!(
        !probes.is_empty() && sending < AGENCIES,
        "the tick must still be running for this test to mean anything: {} probes, {sending} sent",
        probes.len()
    );
    // SIGTERM mid-tick: stopped within 2 s, cleanly.
    service.signal("-TERM");
    let (status, took) = service.wait_exit(Duration::from_secs(2));
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // What was not sent is queued; the batches not yet recorded when it stopped are worked
    // out again at the next start: a pass with the service stopped sends exactly the rest,
    // nothing twice.
    let (waiting, sent) = deliveries(&state);
    assert!(waiting + sent <= AGENCIES as i64, "{waiting} + {sent}");
    assert!(sent < AGENCIES as i64, "{sent} sent");
    let out = assert_cmd::Command::cargo_bin("nhacviec")
        .unwrap()
        .env("NHACVIEC_STATE_DIR", &state)
        .env("NHACVIEC_LOG", "warn")
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(deliveries(&state), (0, AGENCIES as i64));
    assert_eq!(eml_count(&state), AGENCIES);
}

/// The sample config with catch-up of everything, at any hour, the reminders' cron once a
/// year (so only the backoff can bring a failed tick back soon), and the HTTP listener; its
/// plan running on past 2022 (`until` removed), so the real clock finds 10.1's quarters due.
fn sample_config(cfg: &Path, port: u16) -> String {
    copy_dir(&repo().join("config"), cfg);
    let plan = cfg.join("plans/50-KH-UBND-2022.toml");
    let p = fs::read_to_string(&plan).unwrap();
    assert!(p.contains("\nuntil = 2022-12-31\n"));
    fs::write(&plan, p.replace("\nuntil = 2022-12-31\n", "\n")).unwrap();
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings)
        .unwrap()
        .replace("catch_up_days = 7\n", "")
        .replace("send_hours = \"07:30-17:00\"\n", "")
        .replace(
            "reminders = \"0 0 8 * * Mon-Fri\"",
            "reminders = \"0 0 8 1 1 *\"\ncatch_up_days = 366\nsend_hours = \"always\"",
        )
        + &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n");
    fs::write(&settings, &text).unwrap();
    text
}

#[test]
fn a_failed_tick_is_retried_with_backoff_and_health_recovers_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    let state = tmp.path().join("state");
    let port = free_port();
    sample_config(&cfg, port);
    // The database exists (a pass long before the plan: nothing due).
    let out = assert_cmd::Command::cargo_bin("nhacviec")
        .unwrap()
        .env("NHACVIEC_STATE_DIR", &state)
        .env("NHACVIEC_LOG", "warn")
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--now", "2021-01-01T08:00:00+07:00"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A full disk, even for root: no file of the service may grow past 64 KB (the -shm index takes 32 KB), so the tick's
    // records cannot be written (SIGXFSZ ignored: the write fails instead).
    let service = Service::start(&cfg, &state, |cmd| {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 65536,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    });
    service.wait_log("lượt gửi thất bại", Duration::from_secs(60));
    let (code, body, _) = http_get(port, "/healthz");
    assert_eq!(code, 503, "{body}");
    assert!(!body.contains("\"store_error\": null"), "{body}");
    assert_eq!(eml_count(&state), 0);
    // Space returns: no signal, no reload, no cron tick (the next is in January).
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain syscall on our child's pid with a valid rlimit.
    let r = unsafe {
        libc::prlimit(
            service.child.id() as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &unlimited,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    let freed = Instant::now();
    loop {
        let (code, body, _) = http_get(port, "/healthz");
        if code == 200 {
            break;
        }
        assert!(
            freed.elapsed() < Duration::from_secs(60),
            "health did not recover: {body}\n{:?}",
            service.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        eml_count(&state) > 0,
        "the catch-up went out once the tick was retried"
    );
}

#[test]
fn an_empty_state_dir_variable_is_refused() {
    for blank in ["", "   "] {
        let tmp = tempfile::tempdir().unwrap();
        let out = assert_cmd::Command::cargo_bin("nhacviec")
            .unwrap()
            .current_dir(tmp.path())
            .env("NHACVIEC_STATE_DIR", blank)
            .env("NHACVIEC_LOG", "warn")
            .arg("--config")
            .arg(repo().join("config"))
            .args(["run", "--once"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{blank:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("NHACVIEC_STATE_DIR để trống"), "{stderr}");
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "{blank:?}: nothing written here (no directory named by the spaces)"
        );
    }
}

#[test]
fn a_reload_that_moves_the_state_dir_is_refused_until_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    let port = free_port();
    let text = sample_config(&cfg, port);
    let settings = cfg.join("nhacviec.toml");
    let service = Service::start(&cfg, &tmp.path().join("unused"), |cmd| {
        cmd.env_remove("NHACVIEC_STATE_DIR");
    });
    service.wait_log("nhacviec khởi động", Duration::from_secs(60));
    let moved = text.replace("state_dir = \"../var\"", "state_dir = \"../var2\"");
    assert_ne!(moved, text);
    fs::write(&settings, moved).unwrap();
    service.wait_log("không nạp lại: state_dir đã đổi", Duration::from_secs(30));
    let (_, body, _) = http_get(port, "/healthz");
    assert!(
        body.contains("\"last_reload_ok\": false") && body.contains("cần khởi động lại"),
        "{body}"
    );
    assert!(
        !tmp.path().join("var2").exists(),
        "nothing written to the new directory"
    );
    assert!(tmp.path().join("var/nhacviec.db").exists());
}

#[test]
fn idle_connections_do_not_stop_health() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    let port = free_port();
    sample_config(&cfg, port);
    // Fewer descriptors than idle clients: without a connection limit, accept fails for good.
    let service = Service::start(&cfg, &tmp.path().join("state"), |cmd| {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 256,
                    rlim_max: 256,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    service.wait_log("queued=", Duration::from_secs(60));
    let idle: Vec<_> = (0..400)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // A reload reads files: it works while the idle connections are held.
    service.signal("-HUP");
    service.wait_log("đã nạp lại cấu hình", Duration::from_secs(30));
    drop(idle);
    // And health answers again at once once they are gone, or within the idle timeout.
    let started = Instant::now();
    let (code, body, _) = http_get(port, "/healthz");
    assert_eq!(code, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(12));
}
