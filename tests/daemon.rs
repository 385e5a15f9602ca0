//! The service as systemd runs it: the real binary, readiness on a NOTIFY_SOCKET the test
//! listens on, reload by SIGHUP and by editing a file, SIGTERM. And `run --once` tick by tick
//! sends exactly what `preview` predicts.

mod support;
use support::{copy_dir, free_port, repo};

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Service {
    child: Child,
    notify: UnixDatagram,
    log: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn start(config: &Path, state: &Path, socket: &Path) -> Service {
        Service::start_with(config, state, socket, &[])
    }

    fn start_with(config: &Path, state: &Path, socket: &Path, env: &[(&str, &str)]) -> Service {
        let notify = UnixDatagram::bind(socket).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("nhacviec"))
            .env("NOTIFY_SOCKET", socket)
            // The watchdog as systemd sets it: pings at half the interval.
            .env("WATCHDOG_USEC", "1000000")
            .env_remove("WATCHDOG_PID")
            .env("NHACVIEC_STATE_DIR", state)
            .env("NHACVIEC_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NHACVIEC_LINK_SECRET")
            .env_remove("CREDENTIALS_DIRECTORY")
            .arg("--config")
            .arg(config)
            .envs(env.iter().copied())
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Service { child, notify, log }
    }

    /// Waits for a notification containing `what`; returns every message seen meanwhile.
    fn wait_notify(&self, what: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                let done = msg.lines().any(|l| l == what);
                seen.push(msg);
                if done {
                    return seen;
                }
            }
        }
        panic!(
            "no {what} within 30 s; saw {seen:?}; log: {:?}",
            self.log.lock().unwrap()
        );
    }

    fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            // Reads what the service notifies meanwhile, as systemd would: a datagram socket
            // nobody reads fills up, and the service's next notification then blocks.
            self.drain();
        }
        panic!(
            "no log line with {needle:?}: {:?}",
            self.log.lock().unwrap()
        );
    }

    /// Reads the service's notifications for up to 200 ms.
    fn drain(&self) -> Vec<String> {
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while let Ok(n) = self.notify.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
        seen
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET on loopback: (status code, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
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

/// The sample config in `dir`/config, ticking on `reminders`, sending at any hour of any day
/// and catching up a whole year (delivery mechanics, not rollout), with `extra` appended.
fn sending_always(dir: &Path, reminders: &str, extra: &str) -> PathBuf {
    let cfg = dir.join("config");
    copy_dir(&repo().join("config"), &cfg);
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings)
        .unwrap()
        .replace("catch_up_days = 7\n", "")
        .replace("send_hours = \"07:30-17:00\"\n", "")
        .replace(
            "reminders = \"0 0 8 * * Mon-Fri\"",
            &format!("reminders = \"{reminders}\"\ncatch_up_days = 366\nsend_hours = \"always\""),
        )
        + extra;
    fs::write(&settings, text).unwrap();
    cfg
}

#[test]
fn ready_reload_and_stop_under_a_notify_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    // A tick every second, so the test sees several (and double fires change nothing).
    let cfg = sending_always(
        tmp.path(),
        "* * * * * *",
        &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings).unwrap();
    // An admin's subject template that passes `check` (the sample digest is dated 24/03/2022)
    // but fails on every real digest: they go out with the shipped subject, and health says so.
    let subject = cfg.join("templates/subject.txt.j2");
    let shipped_subject = fs::read_to_string(&subject).unwrap();
    fs::write(
        &subject,
        format!("{{% if today != \"24/03/2022\" %}}{{{{ nope }}}}{{% endif %}}{shipped_subject}"),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let mut service = Service::start(&cfg, &state, &tmp.path().join("notify.sock"));

    let seen = service.wait_notify("READY=1");
    assert!(seen.iter().any(|m| m.contains("STATUS=")), "{seen:?}");
    service.wait_notify("WATCHDOG=1");
    let first = eml_count(&state);
    assert!(first > 0, "the catch-up at start sends what is due");
    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("\"last_reload_ok\": true"),
        "no reload has failed yet: {body}"
    );
    assert!(body.contains("\"ok\": true"), "{body}");
    // No [web]: nothing to say about links.
    assert!(body.contains("\"web_links\": null"), "{body}");
    let (code, metrics) = http_get(port, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains(&format!(
            "nhacviec_reminders_sent_total{{channel=\"email\"}} {first}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("nhacviec_deliveries_pending 0"),
        "{metrics}"
    );
    assert!(
        body.contains("\"last_template_error\": \"") && body.contains("subject.txt.j2:1"),
        "{body}"
    );
    let fallbacks: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("nhacviec_template_fallbacks_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(fallbacks > 0, "{metrics}");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        eml_count(&state),
        first,
        "repeated ticks send nothing twice"
    );

    // A broken config with SIGHUP: reported with its place, the old config keeps running.
    fs::write(&settings, format!("{text}\nbogus = 1\n")).unwrap();
    service.signal("-HUP");
    let seen = service.wait_notify("RELOADING=1");
    assert!(seen.last().unwrap().contains("MONOTONIC_USEC="), "{seen:?}");
    let line = service.wait_log("config reload failed");
    assert!(
        line.contains("nhacviec.toml:") && line.contains("bogus"),
        "{line}"
    );
    assert!(service.child.try_wait().unwrap().is_none(), "still running");
    let (_, body) = http_get(port, "/healthz");
    assert!(
        body.contains("\"last_reload_ok\": false") && body.contains("bogus"),
        "{body}"
    );
    assert!(http_get(port, "/metrics")
        .1
        .contains("nhacviec_config_reloads_total{result=\"error\"} 1"));

    // A valid edit is picked up without a signal.
    fs::write(&settings, &text).unwrap();
    let plan = cfg.join("plans/50-KH-UBND-2022.toml");
    let mut p = fs::read_to_string(&plan).unwrap();
    p.push_str("\n[[task]]\nid = \"11\"\ntitle = \"Nhiệm vụ thêm\"\nlead = [\"Sở Tư pháp\"]\ntime = \"Năm 2022\"\n");
    fs::write(&plan, p).unwrap();
    let line = service.wait_log("config reloaded");
    assert!(line.contains("tasks +1"), "{line}");

    // SIGTERM: STOPPING=1 and exit 0.
    service.signal("-TERM");
    service.wait_notify("STOPPING=1");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = service.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn run_once_tick_by_tick_sends_what_preview_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let nhacviec = |args: &[&str]| {
        let out = Command::cargo_bin("nhacviec")
            .unwrap()
            .current_dir(repo())
            .env("NHACVIEC_STATE_DIR", &state)
            .env("NHACVIEC_LOG", "warn")
            .args(["--config", "config"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let (from, to) = ("2022-03-24", "2022-05-31");
    let preview: serde_json::Value = serde_json::from_slice(&nhacviec(&[
        "preview", "--from", from, "--to", to, "--format", "json",
    ]))
    .unwrap();
    let item = |agency: &str, i: &serde_json::Value| {
        format!(
            "{agency} {} {} {} {} {} {}",
            i["task"], i["role"], i["kind"], i["days"], i["deadline"], i["agency"]
        )
    };
    let predicted: BTreeSet<String> = preview
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            d["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| item(d["agency"].as_str().unwrap(), i))
                .collect::<Vec<_>>()
        })
        .collect();
    // Every 08:00 weekday tick in the range, one `run --once` each, on one state directory.
    let mut day = chrono::NaiveDate::from_ymd_opt(2022, 3, 24).unwrap();
    let end = chrono::NaiveDate::from_ymd_opt(2022, 5, 31).unwrap();
    use chrono::Datelike;
    while day <= end {
        if day.weekday().number_from_monday() <= 5 {
            nhacviec(&["run", "--once", "--now", &format!("{day}T08:00:00+07:00")]);
        }
        day = day.succ_opt().unwrap();
    }
    let history: serde_json::Value = serde_json::from_slice(&nhacviec(&[
        "history", "--limit", "100000", "--format", "json",
    ]))
    .unwrap();
    let mut sent = BTreeSet::new();
    let mut count = 0;
    for d in history.as_array().unwrap() {
        for i in d["items"].as_array().unwrap() {
            assert!(
                sent.insert(item(d["agency"].as_str().unwrap(), i)),
                "sent twice"
            );
            count += 1;
        }
    }
    let missing: Vec<_> = predicted.difference(&sent).take(10).collect();
    let extra: Vec<_> = sent.difference(&predicted).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert_eq!(count, predicted.len());
}

#[test]
fn outside_send_hours_the_service_waits_says_so_and_sends_at_the_opening() {
    use chrono::{Duration as Minutes, Timelike, Utc};
    let local = || Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    // The opening below is the next whole minute of today: not in the day's last minutes.
    while local().hour() == 23 && local().minute() >= 57 {
        std::thread::sleep(Duration::from_secs(5));
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let settings = cfg.join("nhacviec.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let now = local();
    // A window certainly closed now, hours away; and today a working day whatever it is.
    let far = (now.hour() + 6) % 24;
    let base = fs::read_to_string(&settings)
        .unwrap()
        .replace("catch_up_days = 7\n", "")
        .replace("send_hours = \"07:30-17:00\"\n", "")
        .replace(
            "reminders = \"0 0 8 * * Mon-Fri\"",
            "reminders = \"* * * * * *\"\ncatch_up_days = 366",
        )
        .replace(
            "workdays = [",
            &format!(
                "workdays = [\n  {{ date = {}, name = \"Thử\" }},",
                now.date_naive()
            ),
        )
        + &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n");
    let with_hours = |hours: &str| {
        base.replace(
            "[schedule]\n",
            &format!("[schedule]\nsend_hours = \"{hours}\"\n"),
        )
    };
    fs::write(&settings, with_hours(&format!("{far:02}:00-{far:02}:01"))).unwrap();
    let state = tmp.path().join("state");
    let service = Service::start(&cfg, &state, &tmp.path().join("notify.sock"));
    let seen = service.wait_notify("READY=1");
    let status = seen.iter().find(|m| m.contains("STATUS=")).unwrap();
    assert!(status.contains("ngoài giờ gửi, gửi lúc"), "{status}");
    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 200, "waiting for the send hours is healthy: {body}");
    assert!(!body.contains("\"sending_paused_until\": null"), "{body}");
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        service.drain();
    }
    assert_eq!(
        eml_count(&state),
        0,
        "nothing is sent outside the send hours"
    );

    // The hours now open at the next minute: the service wakes for it and sends the catch-up.
    let opening = (now + Minutes::minutes(1))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    fs::write(
        &settings,
        with_hours(&format!("{}-24:00", opening.format("%H:%M"))),
    )
    .unwrap();
    service.wait_log("config reloaded");
    let deadline = Instant::now() + Duration::from_secs(120);
    while eml_count(&state) == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing sent at the opening: {:?}",
            service.log.lock().unwrap()
        );
        service.drain();
    }
    assert!(local() >= opening, "sent before the opening");
    let (_, body) = http_get(port, "/healthz");
    assert!(body.contains("\"sending_paused_until\": null"), "{body}");
}

/// `[web]` without the link secret: the service runs, and `/healthz` says the links and the
/// pages are off, and why.
#[test]
fn web_without_the_link_secret_is_shown_in_health() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, web_port) = (free_port(), free_port());
    let cfg = sending_always(
        tmp.path(),
        "0 0 8 * * Mon-Fri",
        &format!(
            "\n[http]\nlisten = \"127.0.0.1:{port}\"\n[web]\nlisten = \"127.0.0.1:{web_port}\"\npublic_url = \"http://127.0.0.1:{web_port}\"\n"
        ),
    );
    let state = tmp.path().join("state");
    let service = Service::start(&cfg, &state, &tmp.path().join("notify.sock"));
    service.wait_notify("READY=1");
    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"web_links\": false"), "{body}");
    assert!(body.contains("chưa có khóa ký liên kết"), "{body}");
    assert!(body.contains("NHACVIEC_LINK_SECRET"), "{body}");
}

/// With `[web]` and the link secret, the service puts a link in each digest and serves the
/// page it points to; a bad link is a 404.
#[test]
fn the_service_links_each_digest_to_the_agencys_page_and_serves_it() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = sending_always(
        tmp.path(),
        "0 0 8 * * Mon-Fri",
        &format!(
            "\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
        ),
    );
    let state = tmp.path().join("state");
    let service = Service::start_with(
        &cfg,
        &state,
        &tmp.path().join("notify.sock"),
        &[(
            "NHACVIEC_LINK_SECRET",
            "a secret for the daemon test, long enough",
        )],
    );
    service.wait_notify("READY=1");
    service.wait_log("agencies' pages listening");
    let prefix = format!("http://127.0.0.1:{port}/a/");
    let mut link = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while link.is_none() && Instant::now() < deadline {
        if let Ok(dir) = fs::read_dir(state.join("mail")) {
            for e in dir.flatten() {
                let raw = fs::read(e.path()).unwrap_or_default();
                let text = mail_parser::MessageParser::default()
                    .parse(&raw)
                    .and_then(|m| m.body_text(0).map(|t| t.to_string()))
                    .unwrap_or_default();
                if let Some(at) = text.find(&prefix) {
                    let path: String = text[at + prefix.len() - 3..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
                        .collect();
                    link = Some(path);
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let path = link.expect("a digest with a link to the agency's page");
    let (code, body) = http_get(port, &path);
    assert_eq!(code, 200, "{path}: {body}");
    assert!(body.contains("Kế hoạch số 50"), "{body}");
    let (code, _) = http_get(port, "/a/not-a-token");
    assert_eq!(code, 404);
    let logs = service.drain().join("\n");
    assert!(!logs.contains(&path[3..]), "the token is never logged");
}
