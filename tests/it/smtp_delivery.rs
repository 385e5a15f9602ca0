//! Delivery over real SMTP: aiosmtpd (tests/smtp/server.py, started per test on loopback)
//! receives what `nhacviec` sends; every message is parsed with a real MIME parser.
//! Faults: server down then back, a 4xx then success, a 5xx for one recipient.

use crate::support::smtp::Smtp;
use crate::support::{copy_dir, free_port, repo};

use assert_cmd::Command;
use chrono::{TimeZone, Utc};
use mail_parser::MessageParser;
use nhacviec::channels::Senders;
use nhacviec::config::{Tls, Transport};
use nhacviec::deliver;
use nhacviec::render::Templates;
use nhacviec::store::Store;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The sample config pointed at `port` with its state in `state`.
fn smtp_config(dir: &Path, port: u16) -> PathBuf {
    let cfg = dir.join("config");
    copy_dir(&repo().join("config"), &cfg);
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings)
        .unwrap()
        .replace(
            "\ntransport = \"file\"\n",
            &format!("\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n"),
        )
        .replace("state_dir = \"../var\"", "state_dir = \"state\"")
        .replace("catch_up_days = 7\n", "")
        .replace("send_hours = \"07:30-17:00\"\n", "")
        .replace("[schedule]\n", MECHANICS);
    fs::write(settings, text).unwrap();
    cfg
}

/// These tests are about delivery, not rollout: a first run sends the whole catch-up of
/// 2022, at any hour (the defaults would skip four-year-old reminders and wait for 07:30).
const MECHANICS: &str = "[schedule]\ncatch_up_days = 366\nsend_hours = \"always\"\n";

#[test]
fn run_once_delivers_every_digest_as_parsable_vietnamese_mail() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Smtp::start(port, &tmp.path().join("inbox"), &[]);
    let cfg = smtp_config(tmp.path(), port);
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--now", "2022-05-25T08:00:00+07:00"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = server.received();
    // The 38 digests; not the weekly report of Monday 23/05: a first start never sends it
    // (tests/it/rollout.rs shows it going out at its own time).
    assert_eq!(
        received.len(),
        38,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut seen_ids = std::collections::HashSet::new();
    let mut vp = None;
    let mut weekly = 0;
    for (rcpt, raw) in &received {
        let msg = MessageParser::default().parse(raw).expect("a MIME message");
        let subject = msg.subject().unwrap();
        assert!(subject.starts_with("[Nhắc việc] "), "{subject}");
        if subject.starts_with("[Nhắc việc] Báo cáo tuần đến ngày 25/05/2022") {
            // The weekly report of Monday 23/05 07:30, made at the first pass after it.
            weekly += 1;
            assert_eq!(rcpt, &["vp-ubnd-tinh@haugiang.example".to_string()]);
            assert!(msg
                .body_text(0)
                .unwrap()
                .contains("chưa hoàn thành, quá hạn: 50/KH-UBND nhiệm vụ"));
            continue;
        }
        let from = msg.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Nhắc việc UBND tỉnh Hậu Giang"));
        assert_eq!(from.address(), Some("nhacviec@haugiang.example"));
        let id = msg.message_id().unwrap().to_string();
        assert!(
            id.starts_with("nhacviec.") && id.ends_with("@haugiang.example"),
            "{id}"
        );
        assert!(seen_ids.insert(id), "duplicate Message-ID");
        assert!(msg
            .in_reply_to()
            .as_text()
            .is_some_and(|t| t.starts_with("nhacviec.thread.")));
        assert_eq!(msg.text_body_count(), 1);
        assert_eq!(msg.html_body_count(), 1);
        let to: Vec<String> = msg
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address().map(str::to_string))
            .collect();
        assert_eq!(&to, rcpt, "header and envelope recipients agree");
        if to == ["vp-ubnd-tinh@haugiang.example"] {
            vp = Some(msg.clone().into_owned());
        }
    }
    assert_eq!(weekly, 0);
    let vp = vp.expect("the Văn phòng UBND tỉnh gets a digest");
    assert_eq!(
        vp.subject().unwrap(),
        "[Nhắc việc] Văn phòng UBND tỉnh: 3 nhiệm vụ quá hạn, 1 nhiệm vụ sắp đến hạn; 3 nhiệm vụ có cơ quan chủ trì quá hạn (30 cơ quan)"
    );
    let text = vp.body_text(0).unwrap();
    assert!(text.contains("Kính gửi: Văn phòng UBND tỉnh"), "{text}");
    assert!(
        text.contains("Theo Kế hoạch số 50/KH-UBND ngày 24/03/2022 của UBND tỉnh Hậu Giang về")
            && text.contains("- Nhiệm vụ 8.8: "),
        "{text}"
    );
    assert!(
        text.contains("Thời gian theo kế hoạch: Tại Bộ phận một cửa tỉnh từ ngày 01/6/2022"),
        "{text}"
    );
    let html = vp.body_html(0).unwrap();
    assert!(
        html.contains("<td>Năm 2022</td>")
            || html.contains("Thường xuyên")
            || html.contains("<td>"),
        "{html}"
    );

    // A second pass at the same time sends nothing new.
    let again = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--now", "2022-05-25T08:00:00+07:00"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(server.received().len(), 38);
    // And history shows them sent.
    let history = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(&cfg)
        .args(["history", "--status", "sent", "--format", "json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 38);
}

/// Loads the sample config for `port`, opens a fresh store, records the 25/5/2022 tick.
fn queued(tmp: &Path, port: u16) -> (nhacviec::config::Config, Store, Senders, usize) {
    let analysis = nhacviec::config::load(&repo().join("config"));
    let mut config = analysis.config;
    config.email.transport = Transport::Smtp {
        host: "127.0.0.1".into(),
        port,
        tls: Tls::None,
    };
    config.email.timeout_seconds = 5;
    let templates = Templates::new(&analysis.templates).unwrap();
    let mut store = Store::open_writer(&tmp.join("state/nhacviec.db")).unwrap();
    let mailer = Senders::new(&config, &tmp.join("state")).unwrap();
    let now = chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2022, 5, 25, 8, 0, 0)
        .unwrap();
    let pass = deliver::tick(
        &deliver::Engine::build(&config, now.date_naive()),
        &config,
        &templates,
        &mut store,
        now,
    )
    .unwrap();
    (config, store, mailer, pass.queued)
}

fn status_counts(store: &Store) -> Vec<(nhacviec::store::DeliveryStatus, i64)> {
    store.counts().unwrap().all().to_vec()
}

#[tokio::test(flavor = "current_thread")]
async fn server_down_then_back_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let (config, store, mailer, queued) = queued(tmp.path(), port);
    let now = Utc::now();
    let first = deliver::send_ready(&store, &mailer, &config, now)
        .await
        .unwrap();
    assert_eq!((first.sent, first.retrying, first.dead), (0, queued, 0));
    // Nothing is retried before its backoff.
    let early = deliver::send_ready(&store, &mailer, &config, now)
        .await
        .unwrap();
    assert_eq!(early.sent + early.retrying + early.dead, 0);
    let server = Smtp::start(port, &tmp.path().join("inbox"), &[]);
    let later = deliver::send_ready(&store, &mailer, &config, now + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(later.sent, queued);
    assert_eq!(server.received().len(), queued);
    assert_eq!(
        status_counts(&store),
        vec![(nhacviec::store::DeliveryStatus::Sent, queued as i64)]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_transient_4xx_is_retried_and_then_delivered() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Smtp::start(port, &tmp.path().join("inbox"), &["--tempfail", "3"]);
    let (config, store, mailer, queued) = queued(tmp.path(), port);
    let now = Utc::now();
    let first = deliver::send_ready(&store, &mailer, &config, now)
        .await
        .unwrap();
    assert_eq!(first.retrying, 3);
    assert_eq!(first.sent, queued - 3);
    let retrying = store
        .history(None, Some(nhacviec::store::DeliveryStatus::Retrying), 10)
        .unwrap();
    assert!(
        retrying
            .iter()
            .all(|d| d.last_error.as_deref().unwrap_or("").contains("451")),
        "{retrying:?}"
    );
    let later = deliver::send_ready(&store, &mailer, &config, now + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(later.sent, 3);
    assert_eq!(server.received().len(), queued);
}

#[tokio::test(flavor = "current_thread")]
async fn a_5xx_for_one_recipient_is_dead_and_the_others_arrive() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Smtp::start(
        port,
        &tmp.path().join("inbox"),
        &["--reject", "vp-ubnd-tinh@haugiang.example"],
    );
    let (config, store, mailer, queued) = queued(tmp.path(), port);
    let pass = deliver::send_ready(&store, &mailer, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!((pass.sent, pass.dead, pass.retrying), (queued - 1, 1, 0));
    let dead = store
        .history(None, Some(nhacviec::store::DeliveryStatus::Dead), 10)
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].agency, "vp-ubnd-tinh");
    assert!(
        dead[0].last_error.as_deref().unwrap().contains("550"),
        "{:?}",
        dead[0].last_error
    );
    assert_eq!(server.received().len(), queued - 1);
}

#[test]
fn run_once_with_the_file_transport_golden() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings)
        .unwrap()
        .replace("catch_up_days = 7\n", "")
        .replace("send_hours = \"07:30-17:00\"\n", "")
        .replace("[schedule]\n", MECHANICS);
    fs::write(settings, text).unwrap();
    let state = tmp.path().join("state");
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .env("NHACVIEC_STATE_DIR", &state)
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--now", "2022-05-25"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<PathBuf> = fs::read_dir(state.join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 38);
    let mut golden = String::new();
    for p in names {
        let raw = fs::read(&p).unwrap();
        let msg = MessageParser::default().parse(&raw).unwrap();
        let to: Vec<&str> = msg
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address())
            .collect();
        golden.push_str(&format!(
            "=== {} To: {}\nSubject: {}\n{}\n",
            p.file_name().unwrap().to_string_lossy(),
            to.join(", "),
            msg.subject().unwrap(),
            msg.body_text(0).unwrap().replace("\r\n", "\n")
        ));
    }
    insta::assert_snapshot!("run_once_2022_05_25", golden);
}

/// 1,000 agencies, one task due for all of them on 1/6/2022, sent through `port`.
fn thousand_digests(dir: &Path, port: u16) -> PathBuf {
    let cfg = dir.join("config");
    fs::create_dir_all(cfg.join("plans")).unwrap();
    fs::write(
        cfg.join("nhacviec.toml"),
        format!("state_dir = \"state\"\n\n[email]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\nfrom = \"Nhắc việc <nv@tinh.example>\"\npool_size = 4\n"),
    )
    .unwrap();
    let mut agencies = String::from("[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\n\n");
    let mut members = Vec::new();
    for i in 0..1000 {
        agencies.push_str(&format!("[[agency]]\nid = \"a{i}\"\nname = \"Cơ quan {i}\"\nlevel = \"tinh\"\nemail = [\"a{i}@tinh.example\"]\n\n"));
        members.push(format!("\"a{i}\""));
    }
    agencies.push_str(&format!(
        "[[group]]\nid = \"all\"\nname = \"Tất cả\"\nmembers = [{}]\n",
        members.join(", ")
    ));
    fs::write(cfg.join("agencies.toml"), agencies).unwrap();
    fs::write(
        cfg.join("plans/p.toml"),
        "[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\n\n[[task]]\nid = \"1\"\ntitle = \"Việc\"\nlead = [\"all\"]\ndue = 2022-06-01\n",
    )
    .unwrap();
    cfg
}

#[test]
fn kill_9_while_delivering_loses_nothing_and_duplicates_at_most_the_pool() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Smtp::start(port, &tmp.path().join("inbox"), &[]);
    let cfg = thousand_digests(tmp.path(), port);
    let run = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("nhacviec"))
            .env_remove("NHACVIEC_STATE_DIR")
            .env("NHACVIEC_LOG", "warn")
            .arg("--config")
            .arg(&cfg)
            .args(["run", "--once", "--now", "2022-06-01T08:00:00+07:00"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut kills = 0;
    for target in [150, 500] {
        let mut child = run();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if server.received().len() >= target {
                child.kill().unwrap(); // SIGKILL: no chance to clean up
                kills += 1;
                break;
            }
            assert!(std::time::Instant::now() < deadline, "run --once hung");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().unwrap();
    }
    // A last run finishes what is left.
    assert!(run().wait().unwrap().success());
    let received = server.received();
    let mut ids = std::collections::HashMap::<String, usize>::new();
    for (_, raw) in &received {
        let msg = MessageParser::default().parse(raw).unwrap();
        *ids.entry(msg.message_id().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(
        ids.len(),
        1000,
        "every digest arrives (after {kills} kills)"
    );
    let duplicates = received.len() - ids.len();
    eprintln!(
        "kills: {kills}, received: {}, duplicates: {duplicates}",
        received.len()
    );
    assert!(
        duplicates <= 4 * kills,
        "{duplicates} duplicates after {kills} kills with pool_size 4"
    );
}

#[test]
fn send_test_and_trial_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings).unwrap().replace(
        "# redirect_all_to = \"thu-nghiem@haugiang.example\"",
        "redirect_all_to = \"thu-nghiem@haugiang.example\"",
    );
    fs::write(&settings, text).unwrap();
    let state = tmp.path().join("state");
    let nhacviec = |args: &[&str]| {
        Command::cargo_bin("nhacviec")
            .unwrap()
            .env("NHACVIEC_STATE_DIR", &state)
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .output()
            .unwrap()
    };
    let out = nhacviec(&["send-test", "--agency", "so-tttt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("thu-nghiem@haugiang.example"));
    let bad = nhacviec(&["send-test", "--agency", "khong-co"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("không có cơ quan mã \"khong-co\""));

    let out = nhacviec(&["run", "--once", "--now", "2022-05-25"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut test_mail = 0;
    for entry in fs::read_dir(state.join("mail")).unwrap() {
        let raw = fs::read(entry.unwrap().path()).unwrap();
        let msg = MessageParser::default().parse(&raw).unwrap();
        let to: Vec<&str> = msg
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address())
            .collect();
        assert_eq!(
            to,
            ["thu-nghiem@haugiang.example"],
            "trial mode sends everything to one address"
        );
        let subject = msg.subject().unwrap();
        if subject.starts_with(nhacviec::messages::SAMPLE_MARK) {
            test_mail += 1;
            assert!(subject.contains("Sở Thông tin và Truyền thông"));
            assert!(msg
                .body_text(0)
                .unwrap()
                .contains("lẽ ra gửi đến: so-tttt@haugiang.example"));
        } else if !subject.contains("Báo cáo tuần") {
            assert!(
                msg.body_text(0)
                    .unwrap()
                    .contains("[THỬ NGHIỆM] Thư này lẽ ra gửi đến: "),
                "{subject}"
            );
        }
    }
    assert_eq!(test_mail, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_that_stalls_times_out_and_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = Smtp::start(port, &tmp.path().join("inbox"), &["--stall"]);
    let (mut config, store, _, queued) = queued(tmp.path(), port);
    config.email.timeout_seconds = 1;
    config.email.pool_size = 64;
    let senders = Senders::new(&config, &tmp.path().join("state")).unwrap();
    let started = std::time::Instant::now();
    let pass = deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!(pass.retrying, queued);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let row = &store
        .history(None, Some(nhacviec::store::DeliveryStatus::Retrying), 1)
        .unwrap()[0];
    assert!(
        row.last_error.as_deref().unwrap().contains("không trả lời"),
        "{row:?}"
    );
}

#[test]
fn one_refused_address_does_not_keep_the_digest_from_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Smtp::start(
        port,
        &tmp.path().join("inbox"),
        &["--reject", "so-tu-phap@haugiang.example"],
    );
    let cfg = smtp_config(tmp.path(), port);
    let agencies = cfg.join("agencies.toml");
    let text = fs::read_to_string(&agencies).unwrap().replace(
        "email = [\"so-tu-phap@haugiang.example\"]",
        "email = [\"so-tu-phap@haugiang.example\", \"vanthu-stp@haugiang.example\"]",
    );
    fs::write(&agencies, text).unwrap();
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--now", "2022-05-25T08:00:00+07:00"])
        .output()
        .unwrap();
    // The refused address's delivery is dead: the pass says so with its exit code.
    assert_eq!(out.status.code(), Some(1));
    let received = server.received();
    assert!(received
        .iter()
        .any(|(rcpt, _)| rcpt == &["vanthu-stp@haugiang.example".to_string()]));
    assert!(!received
        .iter()
        .any(|(rcpt, _)| rcpt.iter().any(|r| r == "so-tu-phap@haugiang.example")));
}

#[test]
fn ehlo_says_a_full_domain_name_and_bounces_go_to_the_envelope_sender() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Smtp::start(port, &tmp.path().join("inbox"), &[]);
    let cfg = smtp_config(tmp.path(), port);
    let run = || {
        let out = Command::cargo_bin("nhacviec")
            .unwrap()
            .env_remove("NHACVIEC_STATE_DIR")
            .arg("--config")
            .arg(&cfg)
            .args(["send-test", "--agency", "so-tttt"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // By default: the From address's domain (a bare host name like "vm" is refused by
    // servers with reject_non_fqdn_helo_hostname), and MAIL FROM the From address.
    run();
    assert_eq!(
        server.sessions(),
        vec![(
            "haugiang.example".to_string(),
            "nhacviec@haugiang.example".to_string()
        )]
    );
    // Set: both as configured.
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings).unwrap().replace(
        "[email]\n",
        "[email]\nhelo_name = \"nhacviec.haugiang.example\"\nenvelope_from = \"bounce@haugiang.example\"\n",
    );
    fs::write(&settings, text).unwrap();
    run();
    assert_eq!(
        server.sessions()[1],
        (
            "nhacviec.haugiang.example".to_string(),
            "bounce@haugiang.example".to_string()
        )
    );
    // A bare host name is refused at its line.
    let text = fs::read_to_string(&settings).unwrap().replace(
        "helo_name = \"nhacviec.haugiang.example\"",
        "helo_name = \"vm\"",
    );
    fs::write(&settings, text).unwrap();
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .arg("--config")
        .arg(&cfg)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("helo_name \"vm\" không phải tên miền đầy đủ"),
        "{shown}"
    );
}

/// `run --once` (with `retry` first when asked) on `cfg`, with this SMTP password.
fn once_with_password(cfg: &Path, password: &str) -> std::process::Output {
    Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .env("NHACVIEC_SMTP_PASSWORD", password)
        .arg("--config")
        .arg(cfg)
        .args(["run", "--once", "--now", "2022-05-25T08:00:00+07:00"])
        .output()
        .unwrap()
}

fn statuses(cfg: &Path) -> std::collections::BTreeMap<String, usize> {
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(cfg)
        .args(["history", "--format", "json", "--limit", "1000"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut by = std::collections::BTreeMap::new();
    for r in rows.as_array().unwrap() {
        *by.entry(r["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    by
}

fn lines_in(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[test]
fn a_wrong_password_fails_one_login_keeps_every_message_and_a_fix_delivers_each_once() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let inbox = tmp.path().join("inbox");
    let server = Smtp::start(port, &inbox, &["--password", "right"]);
    let cfg = smtp_config(tmp.path(), port);
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings)
        .unwrap()
        .replace("[email]\n", "[email]\nuser = \"nv\"\n");
    fs::write(&settings, text).unwrap();
    let out = once_with_password(&cfg, "wrong");
    assert_eq!(out.status.code(), Some(1), "deliveries left retrying");
    // One failed login for the whole pass (fail2ban bans after a handful), nothing dead.
    assert_eq!(lines_in(&inbox.join("auth-failures")), 1);
    // The pass stops at the refusal: what was in flight retries, the rest waits unattempted.
    let by = statuses(&cfg);
    assert_eq!(by.get("dead"), None, "{by:?}");
    assert_eq!(by.values().sum::<usize>(), 38, "{by:?}");
    assert!(by.get("pending").is_some_and(|n| *n >= 20), "{by:?}");
    assert!(server.received().is_empty());
    // Said as it is: a refused login, retried, not "permanent error (535)".
    let history = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(&cfg)
        .args(["history", "--limit", "1"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&history.stdout);
    assert!(
        shown.contains("đăng nhập máy chủ thư")
            && shown.contains("535")
            && !shown.contains("permanent"),
        "{shown}"
    );
    // The password fixed; `retry`, then a pass: each message arrives exactly once.
    let retry = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(&cfg)
        .arg("retry")
        .output()
        .unwrap();
    assert!(retry.status.success());
    let out = once_with_password(&cfg, "right");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = server.received();
    assert_eq!(received.len(), 38);
    let ids: std::collections::BTreeSet<String> = received
        .iter()
        .map(|(_, raw)| {
            MessageParser::default()
                .parse(raw)
                .unwrap()
                .message_id()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 38);
    assert_eq!(lines_in(&inbox.join("auth-failures")), 1);
}

#[test]
fn a_server_refusing_the_session_kills_no_message_and_is_asked_once_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let inbox = tmp.path().join("inbox");
    let _server = Smtp::start(port, &inbox, &["--reject-helo"]);
    let cfg = smtp_config(tmp.path(), port);
    let out = once_with_password(&cfg, "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines_in(&inbox.join("helo-rejections")), 1);
    let by = statuses(&cfg);
    assert_eq!(by.get("dead"), None, "{by:?}");
    assert_eq!(by.values().sum::<usize>(), 38, "{by:?}");
    assert!(by.get("pending").is_some_and(|n| *n >= 20), "{by:?}");
    let history = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(&cfg)
        .args(["history", "--status", "retrying", "--limit", "1"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&history.stdout);
    assert!(
        shown.contains("bước chào (EHLO)") && shown.contains("helo_name"),
        "{shown}"
    );
}
