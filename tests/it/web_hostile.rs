//! The pages under hostile use (issue 30): the calendar feed's token answers nothing, junk
//! links make a bounded number of log lines, refused requests are counted in the metrics,
//! wrong dashboard keys are slowed for everyone, a half-sent request is cut, and SIGTERM lets
//! a request in flight finish.

use crate::support::site::{sample_config, signer, with_web, Site};
use crate::support::{copy_dir, free_port, repo};

use chrono::{DateTime, TimeZone, Utc};
use nhacviec::links::{Key, Signer};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 08:00 on 01/06/2022 in Hậu Giang.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 6, 1, 1, 0, 0).unwrap()
}

#[tokio::test]
async fn the_feed_token_opens_the_feed_and_answers_nothing() {
    let site = Site::start(with_web(sample_config(), None), now(), |_| {});
    let (_, unknown) = site.get("/khong-co").await;
    let feed = signer().sign_feed("so-noi-vu", now());
    let (code, _) = site.get(&format!("/a/{feed}/lich.ics")).await;
    assert_eq!(code, 200);
    // Not the page, not a form: the same 404 as any bad link.
    let (code, body) = site.get(&format!("/a/{feed}")).await;
    assert_eq!((code, body), (404, unknown.clone()));
    for action in ["done", "progress", "extend", "undo"] {
        let (code, body) = site
            .post(&format!("/a/{feed}/{action}"), &[("task", "x")])
            .await;
        assert_eq!((code, body), (404, unknown.clone()), "{action}");
    }
    assert!(site.stored_nothing());
}

trait Stored {
    fn stored_nothing(&self) -> bool;
}

impl Stored for Site {
    fn stored_nothing(&self) -> bool {
        let store = nhacviec::store::Store::open_side(&self.db).unwrap();
        let (responses, extensions) = store.answers().unwrap();
        responses.is_empty() && extensions.is_empty()
    }
}

/// Refused requests in `nhacviec_web_rejected_total`, and a link over its rate refused
/// whatever `--now` says (the limiter's clock is the process's).
#[tokio::test]
async fn refused_requests_are_counted_by_reason() {
    let metrics = nhacviec::health::Metrics::default();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nhacviec.db");
    drop(nhacviec::store::Store::open_writer(&db).unwrap());
    let web = nhacviec::web::Web::counted(
        Arc::new(with_web(sample_config(), None)),
        nhacviec::store::Store::open_side(&db).unwrap(),
        signer(),
        Some(now()),
        metrics.web_rejected.clone(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let _server = nhacviec::web::start(listener, web).unwrap();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for i in 0..7 {
        assert_eq!(get(format!("/a/junk{i}")).await, 404);
    }
    let expired = signer().sign("so-noi-vu", now() - chrono::Duration::days(61));
    assert_eq!(get(format!("/a/{expired}")).await, 410);
    let token = signer().sign("so-noi-vu", now());
    let mut codes = vec![];
    for _ in 0..nhacviec::web::RATE_PER_MINUTE + 5 {
        codes.push(get(format!("/a/{token}")).await);
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 30);
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 5);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry).unwrap();
    for line in [
        "nhacviec_web_rejected_total{reason=\"invalid\"} 7",
        "nhacviec_web_rejected_total{reason=\"expired\"} 1",
        "nhacviec_web_rejected_total{reason=\"rate_limited\"} 5",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn wrong_dashboard_keys_are_slowed_for_everyone_but_a_working_key() {
    let key = "a dashboard key of enough length for the test";
    let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let site = Site::start(with_web(sample_config(), Some(hash)), now(), |_| {});
    assert_eq!(site.get(&format!("/theo-doi/{key}")).await.0, 200);
    // Each guess is a different key (the per-key rate limit does not slow it): the global
    // budget does.
    for i in 0..nhacviec::web::guard::FAILED_KEYS_PER_MINUTE + 1 {
        assert_eq!(site.get(&format!("/theo-doi/guess{i}")).await.0, 404);
    }
    let r = site
        .client
        .get(format!("{}/theo-doi/guess-more", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "60");
    // The right key never seen before is refused alike: a guesser learns nothing...
    let scoped = signer().sign(nhacviec::links::MONITOR, now());
    assert_eq!(site.get(&format!("/theo-doi/{scoped}")).await.0, 429);
    // ... while the office's key, seen to work, still opens the dashboard.
    assert_eq!(site.get(&format!("/theo-doi/{key}")).await.0, 200);
}

/// A client sending half a request line is cut within the header-read timeout, on the pages
/// and on `/healthz`.
#[tokio::test]
async fn half_a_request_line_is_cut_within_the_header_timeout() {
    let site = Site::start(with_web(sample_config(), None), now(), |_| {});
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let health = listener.local_addr().unwrap();
    let _health = nhacviec::health::start(listener, nhacviec::health::Health::default()).unwrap();
    let pages: std::net::SocketAddr = site.base.trim_start_matches("http://").parse().unwrap();
    let cut = |addr: std::net::SocketAddr| {
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let started = Instant::now();
            s.write_all(b"GET /healthz HT").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut buf = [0u8; 256];
            // Closed (0 bytes, or a reset), possibly after a 408.
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            started.elapsed()
        })
    };
    let (a, b) = (cut(pages), cut(health));
    let limit = nhacviec::http::HEADER_READ_TIMEOUT;
    for took in [a.await.unwrap(), b.await.unwrap()] {
        assert!(
            took >= limit - Duration::from_millis(500) && took < limit + Duration::from_secs(3),
            "{took:?}"
        );
    }
}

const SECRET: &str = "hostile test link secret, 32+ chars";

/// `nhacviec web` on the sample config, its stderr (the log) piped.
struct Pages {
    child: Child,
    port: u16,
    _tmp: tempfile::TempDir,
}

impl Drop for Pages {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pages() -> Pages {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let port = free_port();
    let settings = cfg.join("nhacviec.toml");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("state_dir = \"../var\"", "state_dir = \"state\"");
    let text = format!(
        "{text}\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
    );
    std::fs::write(settings, text).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_nhacviec"))
        .env("NHACVIEC_LINK_SECRET", SECRET)
        .env("NHACVIEC_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("NHACVIEC_STATE_DIR")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NHACVIEC_LOG_FORMAT")
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(&cfg)
        .args(["web", "--now", "2022-06-01T08:00:00+07:00"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nhacviec web did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Pages {
        child,
        port,
        _tmp: tmp,
    }
}

impl Pages {
    fn get(&self, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn term(&self) -> Instant {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        Instant::now()
    }

    /// Waits for the exit; its status and the log.
    fn exit(&mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(started.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (status, log)
    }
}

fn process_signer() -> Signer {
    Signer {
        current: Key::new(SECRET).unwrap(),
        previous: None,
        days: 60,
    }
}

#[test]
fn junk_links_make_five_log_lines_and_one_summary() {
    let mut pages = pages();
    for i in 0..200 {
        assert!(pages
            .get(&format!("/a/junk-{i}"))
            .starts_with("HTTP/1.1 404"));
    }
    let token = process_signer().sign("so-noi-vu", now());
    let limited = (0..40)
        .filter(|_| {
            pages
                .get(&format!("/a/{token}"))
                .starts_with("HTTP/1.1 429")
        })
        .count();
    assert_eq!(limited, 10);
    pages.term();
    let (status, log) = pages.exit(Duration::from_secs(10));
    assert!(status.success(), "{log}");
    let invalid = log.matches("liên kết không hợp lệ").count();
    let summaries: Vec<&str> = log.lines().filter(|l| l.contains("web_rejected")).collect();
    assert_eq!(invalid, 5, "{log}");
    assert_eq!(summaries.len(), 1, "{log}");
    assert!(summaries[0].contains("total=210"), "{}", summaries[0]);
    assert!(summaries[0].contains("rate_limited=10"), "{}", summaries[0]);
    assert!(
        !log.contains("quá nhiều yêu cầu trên một liên kết"),
        "{log}"
    );
    assert!(log.lines().count() < 20, "{log}");
    assert!(!log.contains(&token), "no token in the log");
}

/// SIGTERM: no new connection is taken, the request in flight gets its answer, the process
/// exits within the drain.
#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let mut pages = pages();
    let token = process_signer().sign("so-noi-vu", now());
    let body = "task=50-KH-UBND-2022%2F1&csrf=00";
    let mut s = std::net::TcpStream::connect(("127.0.0.1", pages.port)).unwrap();
    write!(
        s,
        "POST /a/{token}/done HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let termed = pages.term();
    std::thread::sleep(Duration::from_millis(500));
    // The listener is closed: a new client is refused at once.
    assert!(std::net::TcpStream::connect(("127.0.0.1", pages.port)).is_err());
    s.write_all(&body.as_bytes()[10..]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    // Answered (the CSRF token is not one of ours), not reset.
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let (status, log) = pages.exit(Duration::from_secs(5));
    assert!(status.success(), "{log}");
    assert!(
        termed.elapsed() < Duration::from_millis(2500),
        "{:?}",
        termed.elapsed()
    );
}

/// A request that never completes does not hold the exit past the drain.
#[test]
fn sigterm_exits_within_the_drain_whatever_a_client_does() {
    let mut pages = pages();
    let token = process_signer().sign("so-noi-vu", now());
    let mut s = std::net::TcpStream::connect(("127.0.0.1", pages.port)).unwrap();
    write!(
        s,
        "POST /a/{token}/done HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntask="
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let termed = pages.term();
    let (status, _) = pages.exit(Duration::from_secs(5));
    let took = termed.elapsed();
    assert!(status.success());
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_millis(2800),
        "{took:?}"
    );
}
