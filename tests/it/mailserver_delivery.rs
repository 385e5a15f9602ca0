//! Delivery through a real Postfix + Dovecot submission server (tests/mailserver: a private
//! instance on loopback per test, STARTTLS required, SASL AUTH, certificates from a private CA
//! made by the test), the way a provincial mail server is set up. Every scenario ends with
//! each message delivered exactly once or waiting, never dead because of the server.

use crate::support::mailserver::{Cert, MailServer, Options};
use crate::support::{copy_dir, repo};

use assert_cmd::Command;
use mail_parser::MessageParser;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The pass these tests run: 28 digests (catch-up of a week before 01/06/2022).
const NOW: &str = "2022-06-01T08:00:00+07:00";
const DIGESTS: usize = 28;
const PASSWORD: &str = "mat-khau-dung";

/// The sample config sending through `url` as user "nhacviec", every agency's address moved
/// to the test server's domain, with `extra` lines in `[email]`.
fn config(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let cfg = dir.join("config");
    copy_dir(&repo().join("config"), &cfg);
    for file in ["agencies.toml", "nhacviec.toml"] {
        let path = cfg.join(file);
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("@haugiang.example", "@example.org");
        fs::write(path, text).unwrap();
    }
    set_email(&cfg, url, extra);
    cfg
}

/// Rewrites `[email]`'s transport lines (the admin fixing the settings).
fn set_email(cfg: &Path, url: &str, extra: &str) {
    let path = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&path).unwrap();
    let start = text.find("[email]\n").unwrap() + "[email]\n".len();
    let end = text[start..].find("\nfrom = ").unwrap() + start;
    let text = format!(
        "{}transport = \"smtp\"\nurl = \"{url}\"\nuser = \"nhacviec\"\n{extra}{}",
        &text[..start],
        &text[end + 1..]
    )
    .replace("state_dir = \"../var\"", "state_dir = \"state\"");
    fs::write(path, text).unwrap();
}

fn nhacviec(cfg: &Path, password: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .env("NHACVIEC_SMTP_PASSWORD", password)
        .env("NHACVIEC_LOG", "warn")
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn run_once(cfg: &Path, password: &str) -> (Option<i32>, String) {
    nhacviec(cfg, password, &["run", "--once", "--now", NOW])
}

fn statuses(cfg: &Path) -> BTreeMap<String, usize> {
    let (_, out) = nhacviec(cfg, "", &["history", "--format", "json", "--limit", "1000"]);
    let start = out.find('[').unwrap();
    let rows: serde_json::Value = serde_json::from_str(out[start..].trim()).unwrap();
    let mut by = BTreeMap::new();
    for r in rows.as_array().unwrap() {
        *by.entry(r["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    by
}

/// The latest error the history shows.
fn last_error(cfg: &Path) -> String {
    let (_, out) = nhacviec(cfg, "", &["history", "--format", "json", "--limit", "1000"]);
    let start = out.find('[').unwrap();
    let rows: serde_json::Value = serde_json::from_str(out[start..].trim()).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["last_error"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Nothing dead and nothing delivered: every digest waits for the fix.
fn all_waiting(cfg: &Path, server: &MailServer) {
    let by = statuses(cfg);
    let (_, dead) = nhacviec(cfg, "", &["history", "--status", "dead"]);
    assert_eq!(by.get("dead"), None, "{by:?} {dead}");
    assert_eq!(by.get("sent"), None, "{by:?}");
    assert_eq!(by.values().sum::<usize>(), DIGESTS, "{by:?}");
    assert!(server.messages().is_empty());
}

/// Each digest arrived exactly once (by Message-ID), and they are all there.
fn each_once(server: &MailServer) -> Vec<String> {
    let messages = server.wait_messages(DIGESTS, std::time::Duration::from_secs(20));
    let ids: Vec<String> = messages
        .iter()
        .map(|raw| {
            MessageParser::default()
                .parse(raw.as_bytes())
                .unwrap()
                .message_id()
                .unwrap()
                .to_string()
        })
        .collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "a message arrived twice");
    assert_eq!(ids.len(), DIGESTS);
    messages
}

/// A started server and the `[email]` line that trusts its CA, with the submission URL.
struct Setup {
    tmp: tempfile::TempDir,
    server: MailServer,
    trust: String,
    url: String,
}

fn setup(opts: Options) -> Setup {
    let server = MailServer::start(&opts);
    Setup {
        tmp: tempfile::tempdir().unwrap(),
        trust: format!("ca_file = \"{}\"\n", server.ca_pem().display()),
        url: format!("smtp://localhost:{}", server.submission_port()),
        server,
    }
}

/// The admin fixes `[email]` and asks for a retry: the next pass delivers each digest once.
fn fixed_then_each_once(cfg: &Path, url: &str, extra: &str, server: &MailServer) -> Vec<String> {
    set_email(cfg, url, extra);
    let (code, out) = nhacviec(cfg, "", &["retry"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run_once(cfg, PASSWORD);
    assert_eq!(code, Some(0), "{out}");
    each_once(server)
}

#[test]
fn starttls_and_login_with_a_private_ca_deliver_each_digest_once() {
    let Setup {
        tmp,
        server,
        trust,
        url,
    } = setup(Options::default());
    let cfg = config(tmp.path(), &url, &trust);
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(0), "{out}");
    let messages = each_once(&server);
    let first = &messages[0];
    // Said in the province's time, and EHLO with the From address's domain (not "vm").
    let msg = MessageParser::default().parse(first.as_bytes()).unwrap();
    let date = msg.header_raw("Date").unwrap();
    assert!(date.trim_end().ends_with("+0700"), "{date}");
    assert!(
        first.contains("from example.org (localhost [127.0.0.1])"),
        "{}",
        &first[..first.len().min(600)]
    );
    // The ending of each session is a QUIT, not a dropped connection.
    let log = fs::read_to_string(server.postfix_log()).unwrap();
    assert!(log.contains("quit=1"), "no QUIT in the log");
}

#[test]
fn smtps_with_a_private_ca_delivers_each_digest_once() {
    let Setup {
        tmp, server, trust, ..
    } = setup(Options::default());
    let url = format!("smtps://localhost:{}", server.smtps_port());
    let cfg = config(tmp.path(), &url, &trust);
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(0), "{out}");
    each_once(&server);
}

#[test]
fn an_untrusted_certificate_is_explained_and_nothing_is_lost() {
    let Setup {
        tmp,
        server,
        trust,
        url,
    } = setup(Options::default());
    // No ca_file: the private CA is not trusted.
    let cfg = config(tmp.path(), &url, "");
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(1), "{out}");
    all_waiting(&cfg, &server);
    let error = last_error(&cfg);
    assert!(
        error.contains("localhost:")
            && error.contains("nhacviec test CA")
            && error.contains("ca_file"),
        "{error}"
    );
    assert!(!error.contains("UnknownIssuer"), "{error}");
    // No login was tried on an untrusted connection.
    assert_eq!(server.auth_failures(), 0);
    // The admin adds the CA and asks for a retry: each digest once.
    fixed_then_each_once(&cfg, &url, &trust, &server);
}

#[test]
fn a_self_signed_ca_certificate_is_trusted_by_its_pin_only() {
    let Setup {
        tmp,
        server,
        trust,
        url,
    } = setup(Options {
        cert: Cert::SelfSigned,
        ..Options::default()
    });
    // The usual `openssl req -x509` certificate (CA:TRUE) in ca_file cannot work: the error
    // says so and gives the pin to set.
    let cfg = config(tmp.path(), &url, &trust);
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(1), "{out}");
    all_waiting(&cfg, &server);
    let error = last_error(&cfg);
    assert!(
        error.contains("CA:TRUE")
            && error.contains(&format!("tls_pin_sha256 = \"{}\"", server.cert_sha256())),
        "{error}"
    );
    // A wrong pin is refused before any login.
    let wrong = "00".repeat(32);
    set_email(&cfg, &url, &format!("tls_pin_sha256 = \"{wrong}\"\n"));
    nhacviec(&cfg, "", &["retry"]);
    let (code, _) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(1));
    assert!(last_error(&cfg).contains(server.cert_sha256()));
    assert_eq!(server.auth_failures(), 0);
    // The right pin: each digest once.
    let pin = server.cert_sha256().to_uppercase();
    fixed_then_each_once(
        &cfg,
        &url,
        &format!("tls_pin_sha256 = \"{pin}\"\n"),
        &server,
    );
}

#[test]
fn a_wrong_password_is_one_failed_login_a_pass_and_a_fix_delivers_each_once() {
    let Setup {
        tmp,
        server,
        trust,
        url,
    } = setup(Options::default());
    let cfg = config(tmp.path(), &url, &trust);
    let (code, out) = run_once(&cfg, "sai-mat-khau");
    assert_eq!(code, Some(1), "{out}");
    all_waiting(&cfg, &server);
    // fail2ban's postfix-sasl jail bans after about 5: at most 2 a pass.
    let failures = server.auth_failures();
    assert!((1..=2).contains(&failures), "{failures} failed logins");
    let error = last_error(&cfg);
    assert!(
        error.contains("đăng nhập máy chủ thư") && error.contains("535"),
        "{error}"
    );
    // Another pass with the password still wrong: again at most 2 more.
    nhacviec(&cfg, "", &["retry"]);
    run_once(&cfg, "sai-mat-khau");
    assert!(server.auth_failures() - failures <= 2);
    all_waiting(&cfg, &server);
    // Fixed, then `retry`: each digest exactly once.
    // Told once, while it lasts: the store's note read by /healthz and the metric.
    let db = cfg.join("state/nhacviec.db");
    let refused = || {
        nhacviec::store::Store::open_reader(&db)
            .unwrap()
            .get(&nhacviec::store::meta::EmailRefused)
            .unwrap()
    };
    let note = refused().unwrap();
    assert!(
        !note.since.is_empty() && note.error.contains("535"),
        "{note:?}"
    );
    let (code, out) = nhacviec(&cfg, "", &["retry"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(0), "{out}");
    each_once(&server);
    // Working again: the note is cleared, and the next day's summary to the admin tells of
    // the spell.
    assert_eq!(refused(), None);
    let (code, out) = nhacviec(
        &cfg,
        PASSWORD,
        &["run", "--once", "--now", "2022-06-02T08:00:00+07:00"],
    );
    assert_eq!(code, Some(0), "{out}");
    let messages = server.wait_messages(DIGESTS + 1, std::time::Duration::from_secs(20));
    let summary = messages
        .iter()
        .map(|m| MessageParser::default().parse(m.as_bytes()).unwrap())
        .find(|m| m.subject().is_some_and(|s| s.contains("Báo cáo thư lỗi")))
        .expect("the admin's daily summary");
    assert!(
        summary
            .subject()
            .unwrap()
            .contains("máy chủ thư từ chối 1 đợt"),
        "{:?}",
        summary.subject()
    );
    let text = summary.body_text(0).unwrap();
    assert!(
        text.contains("Máy chủ thư đã từ chối mọi thư") && text.contains("535"),
        "{text}"
    );
}

/// Whether this machine's own name (what EHLO says without helo_name and without a fully
/// qualified From domain) is a bare host name.
fn bare_hostname() -> bool {
    let name = std::process::Command::new("hostname").output().unwrap();
    !String::from_utf8_lossy(&name.stdout).trim().contains('.')
}

#[test]
fn a_server_requiring_a_full_helo_name_gets_one_from_helo_name() {
    let Setup {
        tmp,
        server,
        trust,
        url,
    } = setup(Options {
        reject_non_fqdn_helo: true,
        ..Options::default()
    });
    let cfg = config(tmp.path(), &url, &trust);
    // A From domain that is not a full name: EHLO falls back to the machine's name.
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings)
        .unwrap()
        .replace("<nhacviec@example.org>", "<nhacviec@noi-bo>");
    fs::write(&settings, text).unwrap();
    let (code, out) = run_once(&cfg, PASSWORD);
    if bare_hostname() {
        // Postfix refuses every recipient with the same 504: the server's policy, so every
        // digest waits (none dead) and the admin reads why.
        assert_eq!(code, Some(1), "{out}");
        all_waiting(&cfg, &server);
        let error = last_error(&cfg);
        assert!(error.contains("504") && error.contains("Helo"), "{error}");
    } else {
        assert_eq!(code, Some(0), "{out}");
    }
    // helo_name set: each digest once.
    set_email(
        &cfg,
        &url,
        &format!("{trust}helo_name = \"nhacviec.example.org\"\n"),
    );
    nhacviec(&cfg, "", &["retry"]);
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(0), "{out}");
    let messages = server.wait_messages(DIGESTS, std::time::Duration::from_secs(20));
    if bare_hostname() {
        each_once(&server);
        assert!(messages[0].contains("from nhacviec.example.org"));
    }
}

#[test]
fn a_sender_the_login_does_not_own_makes_every_digest_wait() {
    let Setup {
        tmp,
        server,
        trust,
        url,
    } = setup(Options {
        sender_login_mismatch: true,
        ..Options::default()
    });
    let cfg = config(
        tmp.path(),
        &url,
        &format!("{trust}envelope_from = \"bounce@example.org\"\n"),
    );
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(1), "{out}");
    all_waiting(&cfg, &server);
    let error = last_error(&cfg);
    assert!(error.contains("553") || error.contains("5.7.1"), "{error}");
    // The envelope sender the login owns: each digest once.
    fixed_then_each_once(&cfg, &url, &trust, &server);
}

#[test]
fn the_weekly_report_reaches_the_monitors_valid_address_when_the_other_is_refused() {
    if crate::support::isolated("mailserver_delivery::the_weekly_report_reaches_the_monitors_valid_address_when_the_other_is_refused", &[("NHACVIEC_SMTP_PASSWORD", PASSWORD)]) {
        return;
    }
    use nhacviec::channels::Senders;
    use nhacviec::deliver::{self, Engine};
    use nhacviec::store::Store;
    let Setup {
        tmp,
        server,
        trust,
        url,
    } = setup(Options {
        reject: vec!["khong-ton-tai@example.org".into()],
        ..Options::default()
    });
    let cfg = config(tmp.path(), &url, &trust);
    let agencies = cfg.join("agencies.toml");
    let text = fs::read_to_string(&agencies).unwrap().replace(
        "email = [\"vp-ubnd-tinh@example.org\"]",
        "email = [\"khong-ton-tai@example.org\", \"vp-ubnd-tinh@example.org\"]",
    );
    fs::write(&agencies, text).unwrap();
    let config = nhacviec::config::load(&cfg).config;
    let tz = config.timezone;
    let at = |d: u32, h: u32| {
        chrono::TimeZone::with_ymd_and_hms(&tz, 2022, 5, d, h, 0, 0)
            .single()
            .unwrap()
    };
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let engine = Engine::build(&config, at(25, 8).date_naive());
    // A first start only notes the report time; next Monday it is made, once per address.
    assert_eq!(
        deliver::reports(&engine, &config, None, &mut store, at(25, 8)).unwrap(),
        0
    );
    assert_eq!(
        deliver::reports(&engine, &config, None, &mut store, at(30, 8)).unwrap(),
        2
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pass = rt.block_on(async {
        let senders = Senders::new(&config, tmp.path()).unwrap();
        // Recorded at the real time, so ready now.
        deliver::send_ready(&store, &senders, &config, chrono::Utc::now())
            .await
            .unwrap()
    });
    assert_eq!((pass.sent, pass.dead), (1, 1), "{pass:?}");
    let messages = server.wait_messages(1, std::time::Duration::from_secs(20));
    assert_eq!(messages.len(), 1);
    let msg = MessageParser::default()
        .parse(messages[0].as_bytes())
        .unwrap();
    assert!(msg.subject().unwrap().contains("Báo cáo tuần"));
    let dead = store
        .history(None, Some(nhacviec::store::DeliveryStatus::Dead), 5)
        .unwrap();
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("550") && e.contains("người nhận")),
        "{:?}",
        dead[0].last_error
    );
}

#[test]
fn a_server_stopped_mid_run_loses_and_duplicates_nothing() {
    let Setup {
        tmp,
        mut server,
        trust,
        url,
    } = setup(Options {
        slow_seconds: 1,
        ..Options::default()
    });
    // One message at a time, a second each, so the stop falls in the middle of the pass.
    let cfg = config(tmp.path(), &url, &format!("{trust}pool_size = 1\n"));
    let settings = cfg.join("nhacviec.toml");
    let text = fs::read_to_string(&settings)
        .unwrap()
        .replace("pool_size = 4", "");
    fs::write(&settings, text).unwrap();
    let mut run = std::process::Command::new(assert_cmd::cargo::cargo_bin("nhacviec"))
        .env_remove("NHACVIEC_STATE_DIR")
        .env("NHACVIEC_SMTP_PASSWORD", PASSWORD)
        .env("NHACVIEC_LOG", "warn")
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--now", NOW])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.messages().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.stop();
    run.wait().unwrap();
    // The stop fell within the pass: some sent, the rest waiting, none dead.
    let by = statuses(&cfg);
    assert_eq!(by.get("dead"), None, "{by:?}");
    assert!(by.get("sent").is_some_and(|n| *n < DIGESTS), "{by:?}");
    server.start_again();
    nhacviec(&cfg, "", &["retry"]);
    let (code, out) = run_once(&cfg, PASSWORD);
    assert_eq!(code, Some(0), "{out}");
    each_once(&server);
    let by = statuses(&cfg);
    assert_eq!(by.get("sent"), Some(&DIGESTS), "{by:?}");
}

#[test]
fn check_names_a_bad_ca_file_or_pin_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("not-a-cert.pem"), "hello\n").unwrap();
    let check = |extra: &str| {
        let cfg = config(tmp.path(), "smtp://localhost:587", extra);
        let (code, out) = nhacviec(&cfg, "", &["check"]);
        assert_eq!(code, Some(1), "{out}");
        out
    };
    let out = check("ca_file = \"khong-co.pem\"\n");
    assert!(
        out.contains("nhacviec.toml:")
            && out.contains("ca_file \"khong-co.pem\": không đọc được tệp"),
        "{out}"
    );
    let out = check(&format!(
        "ca_file = \"{}\"\n",
        tmp.path().join("not-a-cert.pem").display()
    ));
    assert!(out.contains("không có chứng chỉ nào"), "{out}");
    let out = check("tls_pin_sha256 = \"abc\"\n");
    assert!(out.contains("64 chữ số hex"), "{out}");
    // A pin copied as openssl prints it (colons, upper case) is taken.
    let pin = vec!["AB"; 32].join(":");
    let cfg = config(
        tmp.path(),
        "smtp://localhost:587",
        &format!("tls_pin_sha256 = \"{pin}\"\n"),
    );
    let (code, out) = nhacviec(&cfg, "", &["check"]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn the_wrong_scheme_for_a_port_is_named_with_the_fix() {
    let Setup {
        tmp, server, trust, ..
    } = setup(Options::default());
    // smtp:// to the smtps port: the server waits for TLS, we for its greeting.
    let url = format!("smtp://localhost:{}", server.smtps_port());
    let cfg = config(tmp.path(), &url, &trust);
    run_once(&cfg, PASSWORD);
    all_waiting(&cfg, &server);
    let error = last_error(&cfg);
    assert!(
        error.contains(&format!("\"smtps://localhost:{}\"", server.smtps_port())),
        "{error}"
    );
    // smtps:// to the submission port: the server greets in plain text.
    let url = format!("smtps://localhost:{}", server.submission_port());
    set_email(&cfg, &url, &trust);
    nhacviec(&cfg, "", &["retry"]);
    run_once(&cfg, PASSWORD);
    let error = last_error(&cfg);
    assert!(
        error.contains(&format!(
            "\"smtp://localhost:{}\"",
            server.submission_port()
        )) && !error.contains("InvalidContentType"),
        "{error}"
    );
}

#[test]
fn an_expired_or_misnamed_certificate_is_named_by_its_date_or_names() {
    for (cert, expect) in [
        (Cert::Expired, "hết hạn ngày"),
        (Cert::WrongName, "chứng chỉ cấp cho mail.wrong.test"),
    ] {
        let Setup {
            tmp,
            server,
            trust,
            url,
        } = setup(Options {
            cert,
            ..Options::default()
        });
        let cfg = config(tmp.path(), &url, &trust);
        let (code, out) = run_once(&cfg, PASSWORD);
        assert_eq!(code, Some(1), "{out}");
        all_waiting(&cfg, &server);
        let error = last_error(&cfg);
        assert!(error.contains(expect), "{cert:?}: {error}");
        assert_eq!(server.auth_failures(), 0);
    }
}
