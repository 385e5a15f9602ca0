//! The service as systemd runs it: the real binary, readiness on a NOTIFY_SOCKET the test
//! listens on, reload by SIGHUP and by editing a file, SIGTERM. And `run --once` tick by tick
//! sends exactly what `preview` predicts.

use crate::support::{copy_dir, free_port, repo};

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
        Service::spawn(config, state, socket, env, &["run"])
    }

    /// The service started with `args` (from `run` on).
    fn start_args(config: &Path, state: &Path, socket: &Path, args: &[&str]) -> Service {
        Service::spawn(config, state, socket, &[], args)
    }

    fn spawn(
        config: &Path,
        state: &Path,
        socket: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Service {
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
            .args(args)
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

    /// Waits until `n` log lines contain `needle`.
    fn wait_log_count(&self, needle: &str, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.log_count(needle) >= n {
                return;
            }
            self.drain();
        }
        panic!(
            "not {n} log lines with {needle:?}: {:?}",
            self.log.lock().unwrap()
        );
    }

    fn log_count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
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
pub(crate) fn http_get(port: u16, path: &str) -> (u16, String) {
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

pub(crate) fn eml_count(state: &Path) -> usize {
    fs::read_dir(state.join("mail"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// The sample config copied to `cfg`, its plan running on past 2022 (`until` removed): the
/// real clock finds 10.1's quarters due.
fn running_on(cfg: &Path) {
    copy_dir(&repo().join("config"), cfg);
    let plan = cfg.join("plans/50-KH-UBND-2022.toml");
    let text = fs::read_to_string(&plan).unwrap();
    assert!(text.contains("\nuntil = 2022-12-31\n"));
    fs::write(&plan, text.replace("\nuntil = 2022-12-31\n", "\n")).unwrap();
}

/// The sample config in `dir`/config, ticking on `reminders`, sending at any hour of any day
/// and catching up a whole year (delivery mechanics, not rollout), with `extra` appended; its
/// plan [`running_on`].
pub(crate) fn sending_always(dir: &Path, reminders: &str, extra: &str) -> PathBuf {
    let cfg = dir.join("config");
    running_on(&cfg);
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
    let line = service.wait_log("nạp lại cấu hình thất bại");
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
    let line = service.wait_log("đã nạp lại cấu hình");
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

/// `nhacviec --config cfg ARGS` on the state directory `state`: its output, asserting success.
fn cli(cfg: &Path, state: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .env("NHACVIEC_STATE_DIR", state)
        .env("NHACVIEC_LOG", "warn")
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `preview --now T` from a state, its start pass (what a start at T sends, at T or at the
/// send hours' next opening), against what `run --once` at that instant records, item for
/// item: a fresh state, a pass outside the hours, days of downtime, a plan added late and an
/// agency's answer in between.
#[test]
fn preview_at_an_instant_is_what_run_once_records_then() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let state = tmp.path().join("state");
    let nhacviec = |args: &[&str]| cli(&cfg, &state, args).into_bytes();
    let item = |agency: &str, i: &serde_json::Value| {
        format!(
            "{agency} {} {} {} {} {} {} {}",
            i["plan"], i["task"], i["role"], i["kind"], i["days"], i["deadline"], i["agency"]
        )
    };
    // What the start pass of `preview --now at` sends, and when.
    let predicted =
        |at: &str, expect_at: &str| -> (Option<String>, BTreeSet<String>, Vec<String>) {
            let json: serde_json::Value = serde_json::from_slice(&nhacviec(&[
                "preview", "--now", at, "--days", "5", "--format", "json",
            ]))
            .unwrap();
            let mut when = None;
            let mut items = BTreeSet::new();
            let mut reports_before = Vec::new();
            for d in json.as_array().unwrap() {
                if d["trigger"] != "start" {
                    continue;
                }
                when = Some(d["at"].as_str().unwrap().to_string());
                for i in d["items"].as_array().unwrap() {
                    items.insert(item(d["agency"].as_str().unwrap(), i));
                }
            }
            // The weekly reports made up to the start pass (at their own time when the start
            // waits for the send hours, which the test then runs too).
            let start = chrono::DateTime::parse_from_rfc3339(expect_at).unwrap();
            for d in json.as_array().unwrap() {
                let at = chrono::DateTime::parse_from_rfc3339(d["at"].as_str().unwrap()).unwrap();
                if d["trigger"] == "report" && at <= start {
                    items.insert(format!("report {} {}", d["agency"], at.date_naive()));
                    if at < start {
                        reports_before.push(d["at"].as_str().unwrap().to_string());
                    }
                }
            }
            (when, items, reports_before)
        };
    // Every delivery's items so far (one delivery per address: the same items once).
    let recorded = || -> BTreeSet<String> {
        if !state.join("nhacviec.db").exists() {
            return BTreeSet::new();
        }
        let json: serde_json::Value = serde_json::from_slice(&nhacviec(&[
            "history", "--limit", "100000", "--format", "json",
        ]))
        .unwrap();
        json.as_array()
            .unwrap()
            .iter()
            .flat_map(|d| {
                if d["subject"].as_str().unwrap_or("").contains("Báo cáo tuần") {
                    let at = chrono::DateTime::parse_from_rfc3339(d["tick_at"].as_str().unwrap())
                        .unwrap()
                        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
                    return vec![format!("report {} {}", d["agency"], at.date_naive())];
                }
                d["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|i| item(d["agency"].as_str().unwrap(), i))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect()
    };
    let mut compared = 0;
    let mut check = |at: &str, expect_at: &str| {
        let (when, predicted, reports_before) = predicted(at, expect_at);
        let before = recorded();
        nhacviec(&["run", "--once", "--now", at]);
        if at != expect_at {
            assert_eq!(
                recorded(),
                before,
                "{at} is outside the send hours: nothing yet"
            );
            // The report ticks on the way, as the running service has them.
            for r in &reports_before {
                nhacviec(&["run", "--once", "--now", r]);
            }
            nhacviec(&["run", "--once", "--now", expect_at]);
        }
        if let Some(when) = when {
            assert_eq!(
                chrono::DateTime::parse_from_rfc3339(&when).unwrap(),
                chrono::DateTime::parse_from_rfc3339(expect_at).unwrap(),
                "the start pass at {at} runs at {expect_at}"
            );
        }
        let sent: BTreeSet<String> = recorded().difference(&before).cloned().collect();
        let missing: Vec<_> = predicted.difference(&sent).take(5).collect();
        let extra: Vec<_> = sent.difference(&predicted).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{at}: missing {missing:#?}\nextra {extra:#?}"
        );
        compared += sent.len();
    };
    // A first start, in the hours.
    check("2022-05-25T10:19:00+07:00", "2022-05-25T10:19:00+07:00");
    // Wednesday evening: waits for Thursday's 08:00 tick.
    check("2022-05-25T19:30:00+07:00", "2022-05-26T08:00:00+07:00");
    // Down over a week: the catch-up within catch_up_days.
    check("2022-06-06T09:00:00+07:00", "2022-06-06T09:00:00+07:00");
    // A plan added late, and an agency that reported done meanwhile.
    fs::write(
        cfg.join("plans/late.toml"),
        "[plan]\nnumber = \"7/KH-UBND\"\ntitle = \"Kế hoạch nhập muộn\"\nissuer = \"UBND tỉnh Hậu Giang\"\nissued = 2022-04-01\n\n[[task]]\nid = \"1\"\ntitle = \"Báo cáo tháng\"\nlead = [\"Sở Nội vụ\", \"Sở Tư pháp\"]\ntime = \"Ngày 25 hằng tháng\"\n",
    )
    .unwrap();
    {
        use crate::support::answers::{answer, at, date};
        use nhacviec::answers::{Action, NewResponse};
        let store = nhacviec::store::Store::open_writer(&state.join("nhacviec.db")).unwrap();
        let done = NewResponse {
            deadline: Some(date("2022-06-01")),
            done_on: Some(date("2022-06-07")),
            ..answer("so-tu-phap", "8.8", Action::Done, "p1")
        };
        store
            .record_response(&done, at("2022-06-07T02:00:00Z"))
            .unwrap();
    }
    check("2022-06-08T08:00:00+07:00", "2022-06-08T08:00:00+07:00");
    // Saturday: waits for Monday's opening tick.
    check("2022-06-11T08:00:00+07:00", "2022-06-13T08:00:00+07:00");
    assert!(compared > 50, "a comparison of something: {compared} items");
}

/// The operator's first day, on the real clock: the shipped config (a finished plan) sends
/// nothing at start; a plan entered late is announced by the reload's log, `check` and
/// `preview`, and goes out at the next regular tick, not at the save; in trial mode to the
/// tester only, then, redirection removed, every reminder once to its agency.
#[test]
fn go_live_start_reload_trial_then_real() {
    use chrono::{Days, Utc};
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    const TESTER: &str = "thu-nghiem@haugiang.example";
    let settings = cfg.join("nhacviec.toml");
    let shipped = fs::read_to_string(&settings).unwrap();
    // Ticks every 20 s at any hour (the test runs whenever CI does); trial mode on.
    let real = shipped
        .replace("send_hours = \"07:30-17:00\"\n", "")
        .replace(
            "reminders = \"0 0 8 * * Mon-Fri\"",
            "reminders = \"*/20 * * * * *\"\nsend_hours = \"always\"",
        );
    let trial = real.replace(
        &format!("# redirect_all_to = \"{TESTER}\""),
        &format!("redirect_all_to = \"{TESTER}\""),
    );
    assert_ne!(trial, real, "the sample names the trial address");
    fs::write(&settings, &trial).unwrap();
    let state = tmp.path().join("state");
    let service = Service::start(&cfg, &state, &tmp.path().join("notify.sock"));
    service.wait_notify("READY=1");
    const PASS: &str = "lượt gửi xong";
    service.wait_log_count(PASS, 1, Duration::from_secs(30));
    assert_eq!(eml_count(&state), 0, "the shipped plan ended with 2022");

    let nhacviec = |args: &[&str]| cli(&cfg, &state, args);
    // A plan entered today, one deadline three days ago and one in five days.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    let dmy = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    let past = today.checked_sub_days(Days::new(3)).unwrap();
    let soon = today.checked_add_days(Days::new(5)).unwrap();
    let issued = today.checked_sub_days(Days::new(60)).unwrap();
    // Right after a pass: the next tick is about 20 s away.
    let passes = service.log_count(PASS);
    service.wait_log_count(PASS, passes + 1, Duration::from_secs(30));
    let passes = passes + 1;
    fs::write(
        cfg.join("plans/9-KH-UBND.toml"),
        format!(
            "[plan]\nnumber = \"9/KH-UBND\"\ntitle = \"Kế hoạch thử\"\nissuer = \"UBND tỉnh Hậu Giang\"\nissued = {issued}\n\n[[task]]\nid = \"1\"\ntitle = \"Báo cáo đã quá hạn\"\nlead = [\"Sở Nội vụ\"]\ntime = \"Trước ngày {}\"\n\n[[task]]\nid = \"2\"\ntitle = \"Báo cáo sắp đến hạn\"\nlead = [\"Sở Tư pháp\"]\nsupport = [\"Sở Tài chính\"]\ntime = \"Trước ngày {}\"\n",
            dmy(past.checked_add_days(Days::new(1)).unwrap()),
            dmy(soon.checked_add_days(Days::new(1)).unwrap()),
        ),
    )
    .unwrap();
    let reloaded = service.wait_log("đã nạp lại cấu hình");
    assert!(reloaded.contains("tasks +2"), "{reloaded}");
    let late = service.wait_log("late_plan");
    assert!(
        late.contains("9/KH-UBND") && late.contains("reminders_from"),
        "{late}"
    );
    assert_eq!(eml_count(&state), 0, "a reload never mails at once");
    let check = nhacviec(&["check"]);
    assert!(
        check.contains("kế hoạch 9/KH-UBND: lần gửi theo lịch")
            && check.contains("thông báo quá hạn")
            && check.contains(&format!("reminders_from = {today}")),
        "{check}"
    );
    let preview: serde_json::Value =
        serde_json::from_str(&nhacviec(&["preview", "--days", "0", "--format", "json"])).unwrap();
    let first_at = preview[0]["at"]
        .as_str()
        .expect("a pass is coming")
        .to_string();
    let item = |agency: &str, i: &serde_json::Value| {
        format!(
            "{agency} {} {} {} {} {} {}",
            i["plan"], i["task"], i["role"], i["kind"], i["deadline"], i["agency"]
        )
    };
    let predicted: BTreeSet<String> = preview
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["at"] == first_at.as_str())
        .inspect(|d| assert_eq!(d["trigger"], "tick", "the service runs: no start pass"))
        .flat_map(|d| {
            d["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| item(d["agency"].as_str().unwrap(), i))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        predicted
            .iter()
            .any(|i| i.starts_with("so-noi-vu ") && i.contains(&format!("\"{past}\""))),
        "{predicted:#?}"
    );
    assert_eq!(eml_count(&state), 0, "still nothing before the tick");

    let items_of = |json: &str| -> BTreeSet<String> {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|d| {
                d["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|i| item(d["agency"].as_str().unwrap(), i))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect()
    };
    let recipients = |state: &Path| -> Vec<String> {
        let mut to = Vec::new();
        for e in fs::read_dir(state.join("mail"))
            .unwrap()
            .filter_map(Result::ok)
        {
            let bytes = fs::read(e.path()).unwrap();
            let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            for a in m.to().unwrap().iter() {
                to.push(a.address().unwrap().to_string());
            }
        }
        to.sort();
        to
    };
    // The tick: in trial mode, everything to the tester, in the trial ledger.
    service.wait_log_count(PASS, passes + 1, Duration::from_secs(40));
    let trial_to = recipients(&state);
    assert!(
        !trial_to.is_empty() && trial_to.iter().all(|t| t == TESTER),
        "{trial_to:?}"
    );
    let in_trial = items_of(&nhacviec(&["history", "--trial", "--format", "json"]));
    assert_eq!(in_trial, predicted, "preview equals what was sent");
    assert!(items_of(&nhacviec(&["history", "--format", "json"])).is_empty());

    // Redirection off: at the next tick, every reminder once to its agency.
    let sent_in_trial = eml_count(&state);
    let passes = service.log_count(PASS);
    fs::write(&settings, &real).unwrap();
    service.wait_log_count("đã nạp lại cấu hình", 2, Duration::from_secs(30));
    assert_eq!(
        eml_count(&state),
        sent_in_trial,
        "a reload never mails at once"
    );
    service.wait_log_count(PASS, passes + 1, Duration::from_secs(40));
    let real_items = items_of(&nhacviec(&["history", "--format", "json"]));
    assert_eq!(
        real_items, predicted,
        "every reminder of the trial, for real"
    );
    let all_to = recipients(&state);
    let real_to: Vec<&String> = all_to.iter().filter(|t| *t != TESTER).collect();
    let agencies: BTreeSet<&str> = predicted
        .iter()
        .map(|i| i.split(' ').next().unwrap())
        .collect();
    assert!(agencies.contains("so-tu-phap"), "{agencies:?}");
    for agency in agencies {
        assert!(
            real_to.iter().any(|t| t.starts_with(agency)),
            "{agency} got its own: {real_to:?}"
        );
    }
    // And nothing twice.
    let total = eml_count(&state);
    service.wait_log_count(PASS, passes + 2, Duration::from_secs(40));
    assert_eq!(eml_count(&state), total, "nothing twice");
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
    running_on(&cfg);
    let settings = cfg.join("nhacviec.toml");
    let port = free_port();
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
    service.wait_log("đã nạp lại cấu hình");
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
    service.wait_log("trang trả lời của các cơ quan đang phục vụ");
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

/// `run --now T` without `--once`: the service runs as if started at T, its clock advancing in
/// real time; a cron tick four seconds after T fires four seconds after the start, and health
/// reads its times on the same clock.
#[test]
fn a_service_started_at_a_past_time_ticks_on_its_shifted_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let settings = cfg.join("nhacviec.toml");
    let port = free_port();
    let text = fs::read_to_string(&settings).unwrap();
    assert!(text.contains("reminders = \"0 0 8 * * Mon-Fri\""));
    fs::write(
        &settings,
        text + &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let notify = tmp.path().join("notify.sock");
    let started = Instant::now();
    let service = Service::start_args(
        &cfg,
        &state,
        &notify,
        &["run", "--now", "2022-06-01T07:59:56+07:00"],
    );
    service.wait_notify("READY=1");
    let shifted = service.wait_log("clock_shifted");
    assert!(shifted.contains("07:59 01/06/2022"), "{shifted}");
    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 200, "health on the shifted clock: {body}");
    assert!(
        body.contains("\"next_tick\": \"2022-06-01T01:00:00Z\""),
        "the next tick is 08:00 on the shifted clock: {body}"
    );
    // The start's pass, then the 08:00 tick, four seconds later on both clocks.
    service.wait_log_count("lượt gửi xong", 2, Duration::from_secs(30));
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the tick came before 08:00 on the shifted clock"
    );
    // What it recorded is ready on its clock: sent, not left pending years ahead.
    assert!(eml_count(&state) > 0, "nothing sent on the shifted clock");
    let (_, body) = http_get(port, "/healthz");
    assert!(body.contains("\"pending\": 0"), "{body}");
    assert!(
        body.contains("\"next_tick\": \"2022-06-02T01:00:00Z\""),
        "after the tick, the next is tomorrow's: {body}"
    );
}

/// A database address given before the PostgreSQL store exists is refused, not ignored: two
/// servers each keeping a SQLite state of their own would both send every reminder.
#[test]
fn a_bad_or_unreachable_database_address_is_refused_in_words_and_nothing_is_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    for (url, args, says) in [
        (
            "mysql://nhacviec:bi-mat@db.example/nhacviec",
            &["run"][..],
            "phải bắt đầu bằng postgres://",
        ),
        (
            // Nothing listens on port 1: `run --once` does not wait for it.
            "postgres://nhacviec:bi-mat@127.0.0.1:1/nhacviec",
            &["run", "--once", "--now", "2022-06-01"][..],
            "không kết nối được máy chủ cơ sở dữ liệu",
        ),
    ] {
        let out = Command::cargo_bin("nhacviec")
            .unwrap()
            .env("NHACVIEC_STATE_DIR", tmp.path().join("state"))
            .env("NHACVIEC_DATABASE_URL", url)
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("bi-mat"), "the password is shown: {err}");
        assert!(
            !tmp.path().join("state").join("mail").exists(),
            "nothing was sent"
        );
    }
}
