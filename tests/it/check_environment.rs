//! `nhacviec check --environment` end to end: every configured service is asked, nothing is
//! sent. The file transport; SMTP against aiosmtpd (tests/smtp/server.py) with the right and
//! a wrong password and on a closed port; the webhook on a closed and a listening loopback
//! port (the listener gets a connection, never a byte); Zalo against its mock
//! (tests/zalo/mock.py); a config with errors (nothing probed).

use crate::support::smtp::Smtp;
use crate::support::{copy_dir, free_port, repo, spawn_ready, Running};

use assert_cmd::Command;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// A copy of the sample config in `tmp/config`, its state in `tmp/state`, with `replace`
/// applied to nhacviec.toml (each `from` must be there) and `append` added at its end.
fn config(tmp: &Path, replace: &[(&str, &str)], append: &str) -> PathBuf {
    let cfg = tmp.join("config");
    copy_dir(&repo().join("config"), &cfg);
    let settings = cfg.join("nhacviec.toml");
    let mut text = fs::read_to_string(&settings).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{from:?} not in nhacviec.toml");
        text = text.replacen(from, to, 1);
    }
    text = text.replacen("state_dir = \"../var\"", "state_dir = \"state\"", 1);
    // Appended sections go before [schedule], so they are top-level tables of their own.
    text = text.replacen("[schedule]\n", &format!("{append}\n[schedule]\n"), 1);
    fs::write(settings, text).unwrap();
    cfg
}

/// The sample config sending through SMTP on loopback `port`, without TLS, as user "nv".
fn smtp_config(tmp: &Path, port: u16) -> PathBuf {
    config(
        tmp,
        &[(
            "\ntransport = \"file\"\n",
            &format!(
                "\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\nuser = \"nv\"\ntimeout_seconds = 5\n"
            ),
        )],
        "",
    )
}

fn webhook_config(tmp: &Path, port: u16) -> PathBuf {
    config(
        tmp,
        &[],
        &format!(
            "[webhook]\nurl = \"http://127.0.0.1:{port}/hooks/nhacviec?token=secret-token\"\ntimeout_seconds = 5\n"
        ),
    )
}

/// `nhacviec --config cfg ARGS` with these environment variables and no other secret.
fn nhacviec(cfg: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::cargo_bin("nhacviec").unwrap();
    for var in [
        "NHACVIEC_STATE_DIR",
        "NHACVIEC_CONFIG",
        "NHACVIEC_SMTP_PASSWORD",
        "NHACVIEC_WEBHOOK_SECRET",
        "NHACVIEC_ZALO_SECRET_KEY",
        "CREDENTIALS_DIRECTORY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .arg("--config")
        .arg(cfg)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

/// `check --environment` (and `extra`) on `cfg`.
fn check(cfg: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    nhacviec(cfg, &[&["check", "--environment"][..], extra].concat(), env)
}

/// aiosmtpd on `port`, writing to `inbox`, wanting user "nv" with password "right".
fn smtp_server(port: u16, inbox: &Path) -> Smtp {
    Smtp::start(port, inbox, &["--password", "right"])
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of `service` in the text output.
fn line_of(out: &Output, service: &str) -> String {
    let text = stdout(out);
    text.lines()
        .find(|l| l.starts_with(&format!("{service} ")))
        .unwrap_or_else(|| panic!("no {service} line in:\n{text}"))
        .to_string()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn file_transport_is_ok_and_writes_no_mail() {
    let state = tempfile::tempdir().unwrap();
    let out = check(
        &repo().join("config"),
        &[],
        &[("NHACVIEC_STATE_DIR", state.path().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = line_of(&out, "email");
    assert!(line.starts_with("email    ok: ghi tệp .eml vào "), "{line}");
    assert!(
        files_in(&state.path().join("mail")).is_empty(),
        "the probe leaves nothing in the mail directory"
    );
    // The config report comes first, unchanged.
    assert!(stdout(&out).contains("Kết quả: 1 kế hoạch"));
}

#[test]
fn json_keeps_the_report_and_adds_environment() {
    let state = tempfile::tempdir().unwrap();
    let env = [("NHACVIEC_STATE_DIR", state.path().to_str().unwrap())];
    let out = check(&repo().join("config"), &["--format", "json"], &env);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in ["plans", "tasks", "errors", "warnings", "environment"] {
        assert!(keys.contains(&k), "{keys:?}");
    }
    assert_eq!(json["environment"][0]["service"], "email");
    assert_eq!(json["environment"][0]["ok"], true);
    assert!(json["environment"][0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("ghi tệp .eml vào "));
    // Without the flag: no `environment` key.
    let plain = nhacviec(&repo().join("config"), &["check", "--format", "json"], &env);
    let json: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(json.get("environment").is_none());
}

#[test]
fn smtp_with_the_right_password_logs_in_and_delivers_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let inbox = tmp.path().join("inbox");
    let _server = smtp_server(port, &inbox);
    let cfg = smtp_config(tmp.path(), port);
    let out = check(&cfg, &[], &[("NHACVIEC_SMTP_PASSWORD", "right")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = line_of(&out, "email");
    assert_eq!(
        line,
        format!("email    ok: 127.0.0.1:{port} trả lời, không mã hóa, đăng nhập được")
    );
    assert!(
        files_in(&inbox).is_empty(),
        "nothing delivered, no failed login: {:?}",
        files_in(&inbox)
    );
}

/// A plain server (aiosmtpd offers no STARTTLS) under each TLS setting that expects
/// encryption: the fix named is the one that matches what the server does, never smtps://
/// for a port that greets in plain text.
#[test]
fn a_plain_server_without_starttls_gets_the_right_tls_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let inbox = tmp.path().join("inbox");
    let _server = smtp_server(port, &inbox);
    let with_url = |url: &str| {
        let dir = tmp.path().join(url.replace([':', '/'], "_"));
        fs::create_dir_all(&dir).unwrap();
        config(
            &dir,
            &[(
                "\ntransport = \"file\"\n",
                &format!(
                    "\ntransport = \"smtp\"\nurl = \"{url}\"\nuser = \"nv\"\ntimeout_seconds = 5\n"
                ),
            )],
            "",
        )
    };
    let env = [("NHACVIEC_SMTP_PASSWORD", "right")];
    let fix = format!("url = \"smtp://127.0.0.1:{port}\" và tls = \"none\"");
    // smtp:// (STARTTLS required) to a plain port.
    let out = check(&with_url(&format!("smtp://127.0.0.1:{port}")), &[], &env);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line = line_of(&out, "email");
    assert!(line.contains("không có STARTTLS ở cổng này"), "{line}");
    assert!(line.contains(&fix), "{line}");
    assert!(
        !line.contains(&format!("smtps://127.0.0.1:{port}")),
        "{line}"
    );
    // smtps:// (TLS from the start) to the same plain port: not STARTTLS either.
    let out = check(&with_url(&format!("smtps://127.0.0.1:{port}")), &[], &env);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line = line_of(&out, "email");
    assert!(line.contains("không dùng TLS ngay từ đầu"), "{line}");
    assert!(
        line.contains("không có STARTTLS") && line.contains(&fix),
        "{line}"
    );
    assert!(files_in(&inbox).is_empty());
}

#[test]
fn smtp_with_a_wrong_password_names_the_refused_login() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let inbox = tmp.path().join("inbox");
    let _server = smtp_server(port, &inbox);
    let cfg = smtp_config(tmp.path(), port);
    let out = check(&cfg, &[], &[("NHACVIEC_SMTP_PASSWORD", "wrong")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line = line_of(&out, "email");
    assert!(
        line.starts_with("email    LỖI: ") && line.contains("đăng nhập") && line.contains("535"),
        "{line}"
    );
    // One login tried, nothing delivered.
    let failures = fs::read_to_string(inbox.join("auth-failures")).unwrap_or_default();
    assert_eq!(failures.lines().count(), 1);
    assert!(files_in(&inbox).iter().all(|p| p.extension().is_none()));
}

#[test]
fn smtp_missing_password_is_a_failed_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smtp_config(tmp.path(), free_port());
    let out = check(&cfg, &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    let line = line_of(&out, "email");
    assert!(
        line.starts_with("email    LỖI: ") && line.contains("NHACVIEC_SMTP_PASSWORD"),
        "{line}"
    );
}

#[test]
fn smtp_on_a_closed_port_cannot_connect() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = smtp_config(tmp.path(), port);
    let out = check(&cfg, &[], &[("NHACVIEC_SMTP_PASSWORD", "right")]);
    assert_eq!(out.status.code(), Some(1));
    let line = line_of(&out, "email");
    assert!(
        line.starts_with("email    LỖI: ") && line.contains("không kết nối được"),
        "{line}"
    );
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
}

#[test]
fn webhook_on_a_closed_port_fails_with_host_port_and_redacted_url() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = webhook_config(tmp.path(), port);
    let out = check(&cfg, &[], &[("NHACVIEC_WEBHOOK_SECRET", "k")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(line_of(&out, "email").starts_with("email    ok: "));
    let line = line_of(&out, "webhook");
    assert!(
        line.starts_with("webhook  LỖI: không kết nối được ")
            && line.contains(&format!("127.0.0.1:{port}"))
            && line.contains("token=***"),
        "{line}"
    );
    assert!(!stdout(&out).contains("secret-token"));
}

#[test]
fn webhook_on_a_listening_port_is_ok_and_gets_no_request() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Everything the receiver gets on each connection, until the client closes it.
    let received = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut bytes = Vec::new();
        let _ = conn.read_to_end(&mut bytes);
        bytes
    });
    let cfg = webhook_config(tmp.path(), port);
    let out = check(&cfg, &[], &[("NHACVIEC_WEBHOOK_SECRET", "k")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = line_of(&out, "webhook");
    assert!(
        line.starts_with(&format!("webhook  ok: 127.0.0.1:{port} nhận kết nối")),
        "{line}"
    );
    assert_eq!(
        received.join().unwrap(),
        Vec::<u8>::new(),
        "a connection, then closed without a byte"
    );
}

#[test]
fn zalo_without_a_database_asks_for_login() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        &[],
        "[zalo]\napp_id = \"123456\"\noa_api = \"http://127.0.0.1:9\"\nzns_api = \"http://127.0.0.1:9\"\noauth_api = \"http://127.0.0.1:9\"\ntimeout_seconds = 2\n",
    );
    let out = check(&cfg, &[], &[("NHACVIEC_ZALO_SECRET_KEY", "s")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        line_of(&out, "zalo"),
        "zalo     LỖI: chưa đăng nhập Zalo (nhacviec zalo login)"
    );
    assert!(
        !cfg.join("state").join(nhacviec::daemon::DB_FILE).exists(),
        "the check creates no database"
    );
}

#[test]
fn zalo_after_login_refreshes_once_and_sends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let _mock = Running(spawn_ready(
        "zalo/mock.py",
        &[
            "--port".into(),
            port.to_string(),
            "--secret".into(),
            "s".into(),
            "--access".into(),
            "AT1".into(),
            "--refresh".into(),
            "RT0".into(),
        ],
    ));
    let base = format!("http://127.0.0.1:{port}");
    let cfg = config(
        tmp.path(),
        &[],
        &format!(
            "[zalo]\napp_id = \"123456\"\noa_api = \"{base}\"\nzns_api = \"{base}\"\noauth_api = \"{base}\"\ntimeout_seconds = 5\n"
        ),
    );
    let login = nhacviec(&cfg, &["zalo", "login", "--refresh-token", "RT0"], &[]);
    assert!(login.status.success());
    let env = [("NHACVIEC_ZALO_SECRET_KEY", "s")];
    // Beside a running service (it holds the database): the stored state only, no refresh
    // that could race the service's own.
    let service =
        nhacviec::store::Store::open_writer(&cfg.join("state").join(nhacviec::daemon::DB_FILE))
            .expect("the database `zalo login` made");
    let out = check(&cfg, &[], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = line_of(&out, "zalo");
    assert!(
        line.starts_with("zalo     ok: có refresh token, chưa có access token; dịch vụ đang chạy"),
        "{line}"
    );
    assert_eq!(mock_state(port)["oauth_calls"], 0);
    drop(service);
    // No service: the token is refreshed as the service would, the new pair saved.
    let out = check(&cfg, &[], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = line_of(&out, "zalo");
    assert!(
        line.starts_with("zalo     ok: đã làm mới access token bằng refresh token")
            && line.contains(&format!("API Zalo {base}/ trả lời")),
        "{line}"
    );
    // Again: the saved pair is used as the service would, no second refresh.
    let out = check(&cfg, &[], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        line_of(&out, "zalo").starts_with("zalo     ok: access token còn hạn đến "),
        "{}",
        stdout(&out)
    );
    let state: serde_json::Value = mock_state(port);
    assert_eq!(state["oauth_calls"], 1, "{state}");
    assert_eq!(state["zns_requests"], 0, "{state}");
    assert_eq!(state["received"], serde_json::json!([]), "{state}");
}

/// The mock's `GET /_state`, over a plain socket.
fn mock_state(port: u16) -> serde_json::Value {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /_state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

#[test]
fn a_config_with_errors_probes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = config(
        tmp.path(),
        &[("monitor = \"vp-ubnd-tinh\"", "monitor = \"khong-co\"")],
        &format!("[webhook]\nurl = \"http://127.0.0.1:{port}/hook\"\n"),
    );
    let out = check(&cfg, &[], &[("NHACVIEC_WEBHOOK_SECRET", "k")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("Cấu hình có lỗi: chưa kiểm tra kết nối tới các dịch vụ"),
        "{text}"
    );
    assert!(!text.contains("email    "), "{text}");
    assert!(
        listener.accept().is_err(),
        "the webhook receiver was not contacted"
    );
    let out = check(&cfg, &["--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["environment"], serde_json::json!([]));
    assert!(json["environment_skipped"].is_string());
    assert!(!json["errors"].as_array().unwrap().is_empty());
}

/// A TLS server on loopback (Python's ssl): for each of two connections it says "HANDSHAKE"
/// and the bytes it read until the client closed, or "REFUSED".
const TLS_SERVER: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
for _ in range(2):
    c, _ = s.accept()
    c.settimeout(30)
    try:
        t = ctx.wrap_socket(c, server_side=True)
        print("HANDSHAKE", t.recv(1024), flush=True)
    except Exception as e:
        print("REFUSED", type(e).__name__, flush=True)
"#;

fn openssl(args: &[&str], dir: &Path) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn webhook_over_https_checks_the_certificate_as_the_client_would() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A private CA and a certificate it signs for 127.0.0.1.
    let key = ["-newkey", "rsa:2048", "-nodes", "-days", "2"];
    openssl(
        &[
            &["req", "-x509"][..],
            &key,
            &[
                "-subj",
                "/CN=Test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
        dir,
    );
    openssl(
        &[
            &["req"][..],
            &key,
            &[
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
            ],
        ]
        .concat(),
        dir,
    );
    fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext",
            "-out",
            "leaf.pem",
        ],
        dir,
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", TLS_SERVER])
        .arg(dir.join("leaf.pem"))
        .arg(dir.join("leaf.key"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = lines.next().unwrap().unwrap().trim().parse().unwrap();
    let _server = Running(child);
    let cfg = config(
        dir,
        &[],
        &format!("[webhook]\nurl = \"https://127.0.0.1:{port}/hook\"\ntimeout_seconds = 5\n"),
    );
    // The CA unknown to the system: refused in the handshake, as the real client would.
    let mut cmd_env = vec![("NHACVIEC_WEBHOOK_SECRET", "k")];
    let out = check(&cfg, &[], &cmd_env);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line = line_of(&out, "webhook");
    assert!(
        line.starts_with(&format!(
            "webhook  LỖI: không tin được chứng chỉ TLS của 127.0.0.1:{port}"
        )),
        "{line}"
    );
    let seen = lines.next().unwrap().unwrap();
    assert!(seen.starts_with("REFUSED"), "{seen}");
    // Trusted (the platform verifier reads SSL_CERT_FILE on Linux): a handshake, not a byte.
    let ca = dir.join("ca.pem").display().to_string();
    cmd_env.push(("SSL_CERT_FILE", &ca));
    let out = check(&cfg, &[], &cmd_env);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = line_of(&out, "webhook");
    assert!(
        line.starts_with(&format!("webhook  ok: 127.0.0.1:{port} nhận kết nối"))
            && line.contains("TLS hợp lệ"),
        "{line}"
    );
    let seen = lines.next().unwrap().unwrap();
    assert_eq!(seen, "HANDSHAKE b''");
}
