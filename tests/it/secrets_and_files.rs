//! Issue 18: secrets stay secret and files stay private. Credentials are refused in every
//! configured URL and a URL is shown redacted everywhere (send-test, errors, the database);
//! built-in webhook headers cannot be repeated; files are 0600 and directories 0700 whatever
//! the umask; a database this program cannot use is refused untouched and a reader writes
//! nothing; a refused message is tried once; large messages are built in one pass.

use crate::support::{copy_dir, free_port, repo};

use chrono::Utc;
use nhacviec::config::{Channel, EmailSettings, Tls, Transport, WebhookSettings};
use nhacviec::messages::NewDelivery;
use nhacviec::outbox::{Delivery, SendError};
use nhacviec::store::{Store, StoreError};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "SIEU-BI-MAT-42";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nhacviec"));
    c.env_remove("NHACVIEC_STATE_DIR")
        .env_remove("NHACVIEC_CONFIG")
        .env_remove("CREDENTIALS_DIRECTORY");
    c
}

/// The sample config copied to `tmp/config`, with `extra` appended to nhacviec.toml and
/// Sở Tư pháp moved to the webhook when `webhook` is true; the state in `tmp/var`.
fn config_with(tmp: &Path, extra: &str, webhook: bool) -> PathBuf {
    let dir = tmp.join("config");
    copy_dir(&repo().join("config"), &dir);
    let main = dir.join("nhacviec.toml");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text = text
        .lines()
        .map(|l| {
            if l.starts_with("state_dir") {
                "state_dir = \"../var\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text.push_str(extra);
    std::fs::write(&main, text).unwrap();
    if webhook {
        let agencies = dir.join("agencies.toml");
        let text = std::fs::read_to_string(&agencies).unwrap().replace(
            "email = [\"so-tu-phap@haugiang.example\"]",
            "email = [\"so-tu-phap@haugiang.example\"]\nchannels = [\"webhook\", \"email\"]",
        );
        std::fs::write(&agencies, text).unwrap();
    }
    dir
}

/// 1-based line of the first line of nhacviec.toml starting with `needle`.
fn line_of(dir: &Path, needle: &str) -> usize {
    std::fs::read_to_string(dir.join("nhacviec.toml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with(needle))
        .unwrap()
        + 1
}

fn errors_at(dir: &Path) -> Vec<(usize, String)> {
    nhacviec::config::load(dir)
        .errors()
        .map(|d| (d.line, format!("{}: {}", d.file, d.message)))
        .collect()
}

fn delivery(recipients: &[&str], text: String, html: String) -> Delivery {
    Delivery::unrecorded(
        NewDelivery {
            agency: "so-tu-phap".into(),
            channel: Channel::Email,
            recipients: recipients.iter().map(|s| s.to_string()).collect(),
            subject: "Nhắc việc".into(),
            body_text: text,
            body_html: html,
            items: vec![],
            thread: "t".into(),
            attachments: vec![],
        },
        Utc::now(),
        "haugiang.example",
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn credentials_in_any_url_are_refused_at_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(
        tmp.path(),
        "[webhook]\nurl = \"https://hook:matkhau@chat.haugiang.example/hook?token=x\"\n\
         [zalo]\napp_id = \"1\"\noa_api = \"https://oa:matkhau@openapi.zalo.me\"\n\
         zns_api = \"https://user@business.openapi.zalo.me\"\n\
         oauth_api = \"https://:matkhau@oauth.zaloapp.com\"\n",
        false,
    );
    let errors = errors_at(&dir);
    for (needle, hint) in [
        ("url = \"https://hook", "NHACVIEC_WEBHOOK_SECRET"),
        ("oa_api", "NHACVIEC_ZALO_SECRET_KEY"),
        ("zns_api", "NHACVIEC_ZALO_SECRET_KEY"),
        ("oauth_api", "NHACVIEC_ZALO_SECRET_KEY"),
    ] {
        let line = line_of(&dir, needle);
        let found = errors.iter().find(|(l, _)| *l == line);
        let Some((_, msg)) = found else {
            panic!("no error at line {line} ({needle}): {errors:?}")
        };
        assert!(msg.contains("mật khẩu") && msg.contains(hint), "{msg}");
        assert!(!msg.contains("matkhau"), "the password is shown: {msg}");
    }
    // The SMTP url too (it already was).
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(tmp.path(), "", false);
    let main = dir.join("nhacviec.toml");
    let text = std::fs::read_to_string(&main).unwrap().replace(
        "\ntransport = \"file\"",
        "\ntransport = \"smtp\"\nurl = \"smtp://nv:matkhau@mail.haugiang.example:587\"",
    );
    std::fs::write(&main, text).unwrap();
    let line = line_of(&dir, "url = \"smtp://");
    assert!(
        errors_at(&dir)
            .iter()
            .any(|(l, m)| *l == line && m.contains("NHACVIEC_SMTP_PASSWORD")),
        "{:?}",
        errors_at(&dir)
    );
}

#[test]
fn builtin_webhook_headers_are_refused_at_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(
        tmp.path(),
        "[webhook]\nurl = \"https://chat.haugiang.example/hook\"\n[webhook.headers]\n\
         \"content-type\" = \"text/plain\"\n\"X-NHACVIEC-SIGNATURE\" = \"sha256=00\"\n\
         \"X-Token\" = \"abc\"\n",
        false,
    );
    let errors = errors_at(&dir);
    for needle in ["\"content-type\"", "\"X-NHACVIEC-SIGNATURE\""] {
        let line = line_of(&dir, needle);
        assert!(
            errors
                .iter()
                .any(|(l, m)| *l == line && m.contains("nhacviec tự đặt")),
            "{needle}: {errors:?}"
        );
    }
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn admin_and_from_are_trimmed_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(tmp.path(), "", false);
    let main = dir.join("nhacviec.toml");
    let text = std::fs::read_to_string(&main)
        .unwrap()
        .replace(
            "admin = \"quantri@haugiang.example\"",
            "admin = \" quantri@haugiang.example \"",
        )
        .replace(
            "from = \"Nhắc việc UBND tỉnh Hậu Giang <nhacviec@haugiang.example>\"",
            "from = \"  Nhắc việc <nhacviec@haugiang.example>  \"",
        );
    std::fs::write(&main, text).unwrap();
    let analysis = nhacviec::config::load(&dir);
    let errors: Vec<_> = analysis.errors().map(|d| d.message.clone()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        analysis.config.email.admin.as_deref(),
        Some("quantri@haugiang.example")
    );
    assert_eq!(
        analysis.config.email.from,
        "Nhắc việc <nhacviec@haugiang.example>"
    );
}

#[test]
fn urls_are_redacted_to_scheme_host_port_and_path() {
    use nhacviec::channels::redact_url;
    assert_eq!(
        redact_url("https://u:p@chat.example.org:8443/hooks/a?token=abc&x=1#frag"),
        "https://chat.example.org:8443/hooks/a?token=***&x=***"
    );
    assert_eq!(
        redact_url("https://chat.example.org/hook"),
        "https://chat.example.org/hook"
    );
    // Not a URL: nothing after the query mark nor before an @.
    assert_eq!(redact_url("hook:pw@host/x?token=abc"), "host/x");
}

#[test]
fn a_webhook_error_carries_no_query_token() {
    if crate::support::isolated(
        "secrets_and_files::a_webhook_error_carries_no_query_token",
        &[("NHACVIEC_WEBHOOK_SECRET", "khoa")],
    ) {
        return;
    }
    let port = free_port();
    let hook = nhacviec::channels::webhook::Webhook::new(&WebhookSettings {
        url: format!("http://127.0.0.1:{port}/hook?token={SECRET}"),
        headers: vec![],
        body: None,
        timeout_seconds: 5,
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt.block_on(hook.send("{}", 1, Utc::now())).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("/hook?token=***"), "{text}");
}

/// An HTTP server answering 200 to `n` requests.
fn ok_server(n: usize) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in l.incoming().take(n) {
            let mut s = stream.unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    port
}

#[test]
fn send_test_and_the_database_show_the_webhook_url_redacted() {
    let tmp = tempfile::tempdir().unwrap();
    // Success: the URL printed without its token.
    let port = ok_server(1);
    let dir = config_with(
        tmp.path(),
        &format!("[webhook]\nurl = \"http://127.0.0.1:{port}/hook?token={SECRET}\"\n"),
        true,
    );
    let out = bin()
        .args(["--config"])
        .arg(&dir)
        .args([
            "send-test",
            "--channel",
            "webhook",
            "--agency",
            "so-tu-phap",
        ])
        .env("NHACVIEC_WEBHOOK_SECRET", "khoa")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("/hook?token=***"), "{stdout}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));

    // Failure: neither send-test, the log, the database nor history carries the token.
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let dir = config_with(
        tmp.path(),
        &format!("[webhook]\nurl = \"http://127.0.0.1:{port}/hook?token={SECRET}\"\n"),
        true,
    );
    let run = |args: &[&str]| {
        let out = bin()
            .arg("--config")
            .arg(&dir)
            .args(args)
            .env("NHACVIEC_WEBHOOK_SECRET", "khoa")
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let text = run(&[
        "send-test",
        "--channel",
        "webhook",
        "--agency",
        "so-tu-phap",
    ]);
    assert!(
        text.contains("token=***") && !text.contains(SECRET),
        "{text}"
    );
    let text = run(&["run", "--once", "--now", "2022-05-25T08:00:00+07:00"]);
    assert!(!text.contains(SECRET), "{text}");
    let text = run(&["history", "--status", "retrying"]);
    assert!(!text.contains(SECRET), "{text}");
    let db = tmp.path().join("var/nhacviec.db");
    let store = Store::open_reader(&db).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let errors: Vec<String> = conn
        .prepare("SELECT last_error FROM deliveries WHERE channel = 'webhook'")
        .unwrap()
        .query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .filter_map(|r| r.unwrap())
        .collect();
    assert!(!errors.is_empty(), "no webhook delivery failed");
    for e in &errors {
        assert!(!e.contains(SECRET) && e.contains("token=***"), "{e}");
    }
}

#[test]
fn a_missing_webhook_secret_names_the_webhook() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(
        tmp.path(),
        "[webhook]\nurl = \"https://chat.haugiang.example/hook\"\n",
        true,
    );
    let out = bin()
        .arg("--config")
        .arg(&dir)
        .args(["run", "--once", "--now", "2022-05-25T08:00:00+07:00"])
        .env_remove("NHACVIEC_WEBHOOK_SECRET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("kênh webhook: thiếu khóa ký webhook")
            && stderr.contains("NHACVIEC_WEBHOOK_SECRET")
            && !stderr.contains("email"),
        "{stderr}"
    );
}

#[test]
fn files_are_private_and_directories_too_under_umask_022() {
    if crate::support::isolated(
        "secrets_and_files::files_are_private_and_directories_too_under_umask_022",
        &[],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(tmp.path(), "", false);
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" --config \"$1\" run --once --now 2022-05-25T08:00:00+07:00")
        .arg(env!("CARGO_BIN_EXE_nhacviec"))
        .arg(&dir)
        .env_remove("NHACVIEC_STATE_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let var = tmp.path().join("var");
    assert_eq!(mode(&var), 0o700);
    assert_eq!(mode(&var.join("mail")), 0o700);
    assert_eq!(mode(&var.join("nhacviec.db")), 0o600);
    assert_eq!(mode(&var.join("nhacviec.lock")), 0o600);
    let mut emls = 0;
    for e in std::fs::read_dir(&var)
        .unwrap()
        .chain(std::fs::read_dir(var.join("mail")).unwrap())
    {
        let p = e.unwrap().path();
        if p.is_file() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
            emls += usize::from(p.extension().is_some_and(|x| x == "eml"));
        }
    }
    assert!(emls > 0, "no .eml written");

    // In this process, with the database open: its -wal and -shm are private too.
    // SAFETY: umask only sets the process's file mode mask.
    let old = unsafe { libc::umask(0o022) };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("a/state");
    let store = Store::open_writer(&state.join("nhacviec.db")).unwrap();
    store.get(&nhacviec::store::meta::ZaloStopped).unwrap();
    assert_eq!(mode(&tmp.path().join("a")), 0o700);
    assert_eq!(mode(&state), 0o700);
    for name in [
        "nhacviec.db",
        "nhacviec.db-wal",
        "nhacviec.db-shm",
        "nhacviec.lock",
    ] {
        assert_eq!(mode(&state.join(name)), 0o600, "{name}");
    }
    drop(store);
    // A database left 0644 by an earlier version is made private when opened.
    std::fs::set_permissions(
        state.join("nhacviec.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    drop(Store::open_writer(&state.join("nhacviec.db")).unwrap());
    assert_eq!(mode(&state.join("nhacviec.db")), 0o600);
    unsafe { libc::umask(old) };
}

/// A database in DELETE journal mode with `user_version` set to `version`.
fn foreign_db(path: &Path, version: i64) -> Vec<u8> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = DELETE; CREATE TABLE meta (key TEXT); PRAGMA user_version = {version};"
    ))
    .unwrap();
    drop(conn);
    std::fs::read(path).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nhacviec.db");
    let before = foreign_db(&db, 99);
    assert!(matches!(
        Store::open_writer(&db),
        Err(StoreError::NewerSchema { found: 99, .. })
    ));
    assert!(matches!(
        Store::open_side(&db),
        Err(StoreError::NewerSchema { found: 99, .. })
    ));
    assert!(matches!(
        Store::open_reader(&db),
        Err(StoreError::NewerSchema { found: 99, .. })
    ));
    // Still in DELETE mode (byte 18 of the header is 1; WAL is 2), byte for byte the same.
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert_eq!(names(tmp.path()), ["nhacviec.db", "nhacviec.lock"]);
}

#[test]
fn a_negative_schema_version_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nhacviec.db");
    let before = foreign_db(&db, -5);
    for result in [
        Store::open_writer(&db).err(),
        Store::open_side(&db).err(),
        Store::open_reader(&db).err(),
    ] {
        let e = result.expect("a negative version is refused");
        let text = e.to_string();
        assert!(
            matches!(e, StoreError::BadSchema { found: -5, .. }),
            "{text}"
        );
        assert!(text.contains("-5") && !text.contains("CREATE"), "{text}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_reader_creates_no_file_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("w/nhacviec.db");
    {
        let store = Store::open_writer(&db).unwrap();
        store
            .put(&nhacviec::store::meta::ZaloStopped, &"probe".to_string())
            .unwrap();
    }
    // A copy of the database alone, as on a read-only mount after a clean stop.
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::copy(&db, ro.join("nhacviec.db")).unwrap();
    let before = std::fs::read(ro.join("nhacviec.db")).unwrap();
    let store = Store::open_reader(&ro.join("nhacviec.db")).unwrap();
    assert_eq!(
        store
            .get(&nhacviec::store::meta::ZaloStopped)
            .unwrap()
            .as_deref(),
        Some("probe")
    );
    assert!(store.watermark().is_ok());
    assert_eq!(names(&ro), ["nhacviec.db"], "the reader created files");
    drop(store);
    assert_eq!(names(&ro), ["nhacviec.db"]);
    assert_eq!(std::fs::read(ro.join("nhacviec.db")).unwrap(), before);
}

/// A minimal SMTP server on one port: counts MAIL commands, refuses RCPT to an address
/// starting with "bad" with 550, accepts the rest.
fn smtp_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mails = std::sync::Arc::new(AtomicUsize::new(0));
    let count = mails.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { return };
            let count = count.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let _ = s.write_all(b"220 test\r\n");
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 {
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                    } else if cmd.starts_with("MAIL") {
                        count.fetch_add(1, Ordering::SeqCst);
                        b"250 ok\r\n"
                    } else if cmd.starts_with("RCPT") {
                        if cmd.contains("<BAD") {
                            b"550 5.1.1 no such user\r\n"
                        } else {
                            b"250 ok\r\n"
                        }
                    } else if cmd.starts_with("DATA") {
                        let _ = s.write_all(b"354 go\r\n");
                        let mut data = String::new();
                        while r.read_line(&mut data).unwrap_or(0) > 0 && data != ".\r\n" {
                            data.clear();
                        }
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = s.write_all(b"221 bye\r\n");
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if s.write_all(reply).is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    (port, mails)
}

#[test]
fn a_refused_recipient_on_a_kept_connection_is_tried_once() {
    use std::sync::atomic::Ordering;
    let (port, mails) = smtp_server();
    let settings = EmailSettings {
        transport: Transport::Smtp {
            host: "127.0.0.1".into(),
            port,
            tls: Tls::None,
        },
        pool_size: 1,
        ..EmailSettings::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _enter = rt.enter();
    let mailer =
        nhacviec::channels::email::Mailer::new(&settings, chrono_tz::Asia::Ho_Chi_Minh, tmp.path())
            .unwrap();
    let good = delivery(&["good@haugiang.example"], "ok".into(), "<p>ok</p>".into());
    rt.block_on(mailer.send(&good)).unwrap();
    assert_eq!(mails.load(Ordering::SeqCst), 1);
    // On the kept connection: refused with 550, and not asked again on a fresh one.
    let bad = delivery(&["bad@haugiang.example"], "x".into(), "<p>x</p>".into());
    let err = rt.block_on(mailer.send(&bad)).unwrap_err();
    assert!(matches!(err, SendError::Permanent(_)), "{err:?}");
    assert_eq!(mails.load(Ordering::SeqCst), 2, "the 550 was tried twice");
}

#[test]
fn a_50000_line_message_is_built_whole_with_crlf_line_ends() {
    let n = 50_000;
    let text: String = (0..n)
        .map(|i| format!("{i}. Sở Tư pháp: nhiệm vụ số {i}, hạn 30/06/2022\n"))
        .collect();
    let html: String = (0..n)
        .map(|i| format!("<tr><td>{i}</td><td>Sở Tư pháp: nhiệm vụ số {i}</td></tr>\n"))
        .collect();
    let d = delivery(&["so-tu-phap@haugiang.example"], text, html);
    let started = std::time::Instant::now();
    let message = nhacviec::channels::email::message(&d, &EmailSettings::default()).unwrap();
    let bytes = message.formatted();
    eprintln!("50,000 lines built in {:?}", started.elapsed());
    // Every line end is CRLF, and the two parts are there and end where they should.
    let lf = bytes.iter().filter(|&&b| b == b'\n').count();
    let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
    assert_eq!(lf, crlf, "a bare LF in the message");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(text.contains("Content-Type: text/html; charset=utf-8"));
    assert!(text.lines().count() > 2 * n);
    let parsed = mail_parser_check(&text);
    assert!(parsed.0.contains("49999. S"), "last text line missing");
    assert!(parsed.1.contains("<td>49999</td>"), "last html row missing");
}

/// The decoded text and HTML parts (quoted-printable or base64 as lettre chose).
fn mail_parser_check(raw: &str) -> (String, String) {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    (
        m.body_text(0).unwrap().into_owned(),
        m.body_html(0).unwrap().into_owned(),
    )
}

/// `export` and `import` write the office's reports and drafts 0600 whatever the umask (0666
/// under umask 000 before), or exactly the `--mode` asked.
#[test]
fn files_written_by_export_and_import_are_private_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(tmp.path(), "", false);
    let sh = |cmd: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("umask 000; {cmd}"))
            .env("NHACVIEC", env!("CARGO_BIN_EXE_nhacviec"))
            .env("CFG", &dir)
            .env("T", tmp.path())
            .env(
                "PLAN",
                repo().join("tests/data/ke-hoach-50-KH-UBND-2022-hau-giang.txt"),
            )
            .env_remove("NHACVIEC_STATE_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh("\"$NHACVIEC\" --config \"$CFG\" export --format csv --as-of 2022-05-25 --out \"$T/a.csv\"");
    assert_eq!(mode(&tmp.path().join("a.csv")), 0o600);
    sh("\"$NHACVIEC\" --config \"$CFG\" export --as-of 2022-05-25 --out \"$T/b.xlsx\" --mode 640");
    assert_eq!(mode(&tmp.path().join("b.xlsx")), 0o640);
    sh("\"$NHACVIEC\" --config \"$CFG\" import \"$PLAN\" --out \"$T/draft.toml\"");
    assert_eq!(mode(&tmp.path().join("draft.toml")), 0o600);
    let bad = bin()
        .args(["--config"])
        .arg(&dir)
        .args(["export", "--mode", "999"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bát phân"));
}

/// A credential file that is a FIFO or a device is refused at once, naming why; a secret of
/// one repeated letter is refused, however long.
#[test]
fn a_credential_fifo_hangs_nothing_and_a_guessable_secret_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_with(
        tmp.path(),
        "\n[web]\nlisten = \"127.0.0.1:8088\"\npublic_url = \"https://nhacviec.example.vn\"\n",
        false,
    );
    let creds = tmp.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    let fifo = creds.join("link-secret");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path the CString owns.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let started = std::time::Instant::now();
    let out = bin()
        .env_remove("NHACVIEC_LINK_SECRET")
        .env("CREDENTIALS_DIRECTORY", &creds)
        .arg("--config")
        .arg(&dir)
        .args(["admin-link", "--now", "2022-05-25"])
        .output()
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("không phải tệp thường"), "{err}");
    let out = bin()
        .env("NHACVIEC_LINK_SECRET", "a".repeat(64))
        .arg("--config")
        .arg(&dir)
        .args(["admin-link", "--now", "2022-05-25"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("quá dễ đoán"), "{err}");
}

/// `admin-link --new-token`: a key of 64 hex digits, printed once, and the `admin_token` line
/// with its SHA-256; two calls never give the same key.
#[test]
fn a_new_dashboard_key_is_random_and_its_hash_is_the_line_to_paste() {
    use sha2::Digest;
    let run = || {
        let out = bin().args(["admin-link", "--new-token"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let (a, b) = (run(), run());
    let key = |out: &str| {
        out.lines()
            .map(str::trim)
            .find(|l| l.len() == 64 && l.bytes().all(|c| c.is_ascii_hexdigit()))
            .unwrap()
            .to_string()
    };
    assert_ne!(key(&a), key(&b));
    let hash = hex::encode(sha2::Sha256::digest(key(&a).as_bytes()));
    assert!(
        a.contains(&format!("admin_token = \"sha256:{hash}\"")),
        "{a}"
    );
}
