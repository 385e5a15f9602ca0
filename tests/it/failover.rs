//! Two services on one PostgreSQL database (issue 28): the leader is killed with SIGKILL in
//! the middle of a pass of 2,000 digests to a real SMTP server (aiosmtpd, slowed down), the
//! standby takes over within 15 s and sends the rest; every digest arrives, none twice beyond
//! those in flight at the kill; an answer given on a standby's page is seen by the leader's
//! next tick. Both services run on a shifted clock (`run --now`).

use crate::support::postgres::cluster;
use crate::support::site::signer;
use crate::support::smtp::Smtp;
use crate::support::{free_port, repo};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DIGESTS: usize = 2000;
/// The email channel's connections (gen-config's `pool_size`): at most this many messages
/// are in flight when the leader dies.
const POOL: usize = 8;
const NOW: &str = "2022-06-01T08:00:00+07:00";
const SECRET: &str = "a test secret that is long enough";

/// One `nhacviec run` with its own config copy, state directory and ports.
struct Service {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    http: u16,
    web: u16,
}

impl Service {
    fn start(base: &Path, root: &Path, name: &str, url: &str) -> Service {
        let (http, web) = (free_port(), free_port());
        let cfg = root.join(format!("config-{name}"));
        crate::support::copy_dir(base, &cfg);
        let settings = cfg.join("nhacviec.toml");
        let mut text = std::fs::read_to_string(&settings).unwrap();
        text.push_str(&format!(
            "\n[http]\nlisten = \"127.0.0.1:{http}\"\n\n[web]\nlisten = \"127.0.0.1:{web}\"\npublic_url = \"http://127.0.0.1:{web}\"\n\n[schedule]\nreminders = \"*/5 * * * * *\"\n"
        ));
        std::fs::write(&settings, text).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_nhacviec"))
            .args(["--config", cfg.to_str().unwrap(), "run", "--now", NOW])
            .env("NHACVIEC_DATABASE_URL", url)
            .env("NHACVIEC_STATE_DIR", root.join(format!("state-{name}")))
            .env("NHACVIEC_LINK_SECRET", SECRET)
            .env("NHACVIEC_LOG", "info")
            .env_remove("CREDENTIALS_DIRECTORY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (lines, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(lines).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Service {
            child,
            log,
            http,
            web,
        }
    }

    /// Its role as `/healthz` says it ("leader", "standby"), if it answers.
    fn role(&self) -> Option<String> {
        // 503 until its first pass has ended, with the role all the same.
        let (_, body) = http(self.http, "GET", "/healthz", None)?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v.get("role")
            .or_else(|| v.get("status").and_then(|s| s.get("role")))
            .and_then(|r| r.as_str())
            .map(str::to_string)
    }

    fn wait_role(&self, role: &str, within: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.role().as_deref() == Some(role) {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "not {role} within {within:?} (role {:?}); log: {:#?}",
            self.role(),
            self.log.lock().unwrap()
        );
    }

    fn logged(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn kill9(&mut self) {
        let ok = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `scripts/gen-config.py digests`: `n` agencies each with one digest due on 01/06/2022,
/// mailed to `smtp_port`; its directory under `root`.
fn digests_config(root: &Path, n: usize, smtp_port: u16) -> std::path::PathBuf {
    let base = root.join("base");
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen-config.py"))
        .args(["digests", base.to_str().unwrap(), &n.to_string()])
        .arg(smtp_port.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    base
}

/// A plain HTTP/1.0 request on loopback: (status, body); `None` when nothing answers.
fn http(port: u16, method: &str, path: &str, form: Option<&str>) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    match form {
        Some(body) => write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        None => write!(stream, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"),
    }
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

/// Every Message-ID the SMTP server received, with how many times.
fn received(smtp: &Smtp) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for path in smtp.files("eml") {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_string();
        let id = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("Message-ID: ")
                    .or_else(|| l.strip_prefix("Message-Id: "))
            })
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| panic!("no Message-ID in {}", path.display()));
        *seen.entry(id).or_insert(0) += 1;
    }
    seen
}

/// The hidden value `name` of the form posting to `action` on the page.
fn hidden(page: &str, action: &str, name: &str) -> String {
    let form = page
        .split("<form ")
        .find(|f| f.contains(&format!("/{action}\"")))
        .unwrap_or_else(|| panic!("no {action} form on the page: {page}"));
    let at = form.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    form[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn the_standby_takes_over_a_killed_leaders_pass_and_nothing_is_lost() {
    let root = tempfile::tempdir().unwrap();
    let smtp_port = free_port();
    let base = digests_config(root.path(), DIGESTS, smtp_port);
    // 50 ms a message on 8 connections: the pass lasts about 12 s, long enough for the
    // standby to start and the leader to be interrupted.
    let smtp = Smtp::start(smtp_port, &root.path().join("smtp"), &["--slow", "0.05"]);
    let url = cluster().fresh_database();

    let mut first = Service::start(&base, root.path(), "a", &url);
    first.wait_role("leader", Duration::from_secs(30));
    let second = Service::start(&base, root.path(), "b", &url);
    second.wait_role("standby", Duration::from_secs(30));

    // Mid-pass: some digests out, most not.
    let started = Instant::now();
    while smtp.files("eml").len() < 400 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the leader sent nothing; its log: {:#?}",
            first.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill9();
    let at_kill = smtp.files("eml").len();
    assert!(
        at_kill < DIGESTS,
        "the pass ended before the kill ({at_kill}); leader's log: {:#?}; standby's log: {:#?}",
        first.log.lock().unwrap(),
        second.log.lock().unwrap()
    );
    let took = second.wait_role("leader", Duration::from_secs(15));
    assert!(second.logged("lead_taken") >= 1);

    // Every digest arrives, each once but for those in flight when the leader died.
    let started = Instant::now();
    let mut seen = received(&smtp);
    while seen.len() < DIGESTS && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(250));
        seen = received(&smtp);
    }
    assert_eq!(
        seen.len(),
        DIGESTS,
        "not every digest arrived (took over in {took:?}); standby's log: {:#?}",
        second.log.lock().unwrap()
    );
    let twice: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "failover: killed after {at_kill} of {DIGESTS} arrived, took over in {took:?}, {twice} arrived twice"
    );
    assert!(
        twice <= POOL,
        "{twice} digests arrived twice: more than the {POOL} in flight"
    );

    // The killed server comes back as a standby; an agency answers on its page, and the
    // leader's next tick rebuilds its schedule with that answer.
    let third = Service::start(&base, root.path(), "c", &url);
    third.wait_role("standby", Duration::from_secs(30));
    let issued = chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let token = signer().sign("a7", issued);
    // Its pages are served once its config is loaded (its health answers before).
    let asked = Instant::now();
    let (code, page) = loop {
        if let Some(answer) = http(third.web, "GET", &format!("/a/{token}"), None) {
            break answer;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(30),
            "the standby's page did not answer; its log: {:#?}",
            third.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 200, "{page}");
    eprintln!("the standby's page answered in {:?}", asked.elapsed());
    let fields = ["csrf", "nonce", "plan", "task", "deadline"]
        .map(|name| format!("{name}={}", encode(&hidden(&page, "done", name))));
    let form = format!(
        "{}&done_on=2022-06-01&doc_ref={}&note=x&ho_ten={}&chuc_vu={}",
        fields.join("&"),
        encode("Báo cáo 1/BC"),
        encode("Nguyễn Văn A"),
        encode("Chuyên viên")
    );
    let before = second.logged("answers_changed");
    let (code, body) = http(third.web, "POST", &format!("/a/{token}/done"), Some(&form)).unwrap();
    assert_eq!(code, 303, "{body}");
    let started = Instant::now();
    while second.logged("answers_changed") == before {
        if started.elapsed() > Duration::from_secs(30) {
            let u = url.clone();
            let stored = std::thread::spawn(move || {
                let at = nhacviec::store::Location {
                    path: std::path::PathBuf::from("/nonexistent/nhacviec.db"),
                    pg: Some(nhacviec::pg::DatabaseUrl::parse(&u, "test").unwrap()),
                };
                let store = nhacviec::store::Store::open_reader_at(&at).unwrap();
                (
                    store.answers_version().unwrap(),
                    store.answers().unwrap().0.len(),
                )
            })
            .join()
            .unwrap();
            panic!(
                "the leader's ticks did not see the answer (stored: {stored:?}); its log: {:#?}; the page's: {:#?}",
                second.log.lock().unwrap(),
                third.log.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_database_out_of_reach_at_start_is_said_by_health_and_tried_again_not_a_crash_loop() {
    let root = tempfile::tempdir().unwrap();
    let base = digests_config(root.path(), 3, free_port());
    // Nothing listens on port 1.
    let mut service = Service::start(
        &base,
        root.path(),
        "a",
        "postgres://nhacviec:bi-mat@127.0.0.1:1/nhacviec",
    );
    let started = Instant::now();
    let body = loop {
        if let Some((503, body)) = http(service.http, "GET", "/healthz", None) {
            if body.contains("không kết nối được máy chủ cơ sở dữ liệu") {
                break body;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "health never said so; log: {:#?}",
            service.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!body.contains("bi-mat"), "the password is shown: {body}");
    // Still running some seconds later, tried again, never exited.
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        service.child.try_wait().unwrap().is_none(),
        "the service exited"
    );
    assert!(
        service.logged("database_unreachable") >= 2,
        "{:#?}",
        service.log.lock().unwrap()
    );
    let log = service.log.lock().unwrap().join("\n");
    assert!(!log.contains("bi-mat"), "the password is logged: {log}");
    drop(log);
    // SIGTERM still stops it at once.
    let ok = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let stopped = Instant::now();
    while service.child.try_wait().unwrap().is_none() {
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "SIGTERM did not stop it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_service_on_one_sqlite_state_is_told_the_state_is_in_use_not_the_port() {
    let root = tempfile::tempdir().unwrap();
    let base = digests_config(root.path(), 3, free_port());
    let http = free_port();
    let settings = base.join("nhacviec.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(&format!("\n[http]\nlisten = \"127.0.0.1:{http}\"\n"));
    std::fs::write(&settings, text).unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_nhacviec"))
            .args(["--config", base.to_str().unwrap(), "run"])
            .env("NHACVIEC_STATE_DIR", root.path().join("state"))
            .env_remove("NHACVIEC_DATABASE_URL")
            .env_remove("CREDENTIALS_DIRECTORY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = crate::support::Running(run());
    let started = Instant::now();
    while http_is_up(http).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = run().wait_with_output().unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("đang được một tiến trình nhacviec khác dùng"),
        "{err}"
    );
    assert!(!err.contains("Address already in use"), "{err}");
    assert!(
        first.0.try_wait().unwrap().is_none(),
        "the first keeps running"
    );
}

fn http_is_up(port: u16) -> Option<(u16, String)> {
    http(port, "GET", "/healthz", None)
}
