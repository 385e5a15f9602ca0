//! A private Postfix + Dovecot instance on loopback (tests/mailserver/mailserver.py), one per
//! test: its own directory, ports and certificates; stopped when dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The server certificate the instance presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cert {
    /// Signed by a private CA made for the test (`ca_pem`).
    #[default]
    Ca,
    /// One self-signed CA:TRUE certificate, made the usual way (`openssl req -x509`).
    SelfSigned,
    Expired,
    /// Signed by the CA for another name only.
    WrongName,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub user: String,
    pub password: String,
    pub cert: Cert,
    pub reject_non_fqdn_helo: bool,
    pub sender_login_mismatch: bool,
    /// Recipients answered "550 5.1.1 User unknown".
    pub reject: Vec<String>,
    /// Seconds each message waits at DATA until `start_again` (a pass long enough to stop
    /// the server in the middle of it).
    pub slow_seconds: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            user: "nhacviec".into(),
            password: "mat-khau-dung".into(),
            cert: Cert::Ca,
            reject_non_fqdn_helo: false,
            sender_login_mismatch: false,
            reject: vec![],
            slow_seconds: 0,
        }
    }
}

pub struct MailServer {
    dir: tempfile::TempDir,
    args: Vec<String>,
    info: serde_json::Value,
    ca: PathBuf,
    running: bool,
}

fn script() -> PathBuf {
    super::repo().join("tests/mailserver/mailserver.py")
}

impl MailServer {
    /// Starts an instance; panics with its logs if it does not come up (scripts/test
    /// installs postfix and dovecot-core).
    pub fn start(opts: &Options) -> MailServer {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--dir".to_string(),
            dir.path().display().to_string(),
            "--submission".into(),
            super::free_port().to_string(),
            "--smtps".into(),
            super::free_port().to_string(),
            "--user".into(),
            opts.user.clone(),
            "--password".into(),
            opts.password.clone(),
            "--cert".into(),
            match opts.cert {
                Cert::Ca => "ca",
                Cert::SelfSigned => "selfsigned",
                Cert::Expired => "expired",
                Cert::WrongName => "wrongname",
            }
            .into(),
        ];
        if opts.reject_non_fqdn_helo {
            args.push("--reject-non-fqdn-helo".into());
        }
        if opts.sender_login_mismatch {
            args.push("--sender-login-mismatch".into());
        }
        if !opts.reject.is_empty() {
            args.push("--reject".into());
            args.push(opts.reject.join(","));
        }
        let mut first = args.clone();
        if opts.slow_seconds > 0 {
            first.extend(["--slow".to_string(), opts.slow_seconds.to_string()]);
        }
        let info = Self::launch(&first);
        let ca = PathBuf::from(info["ca"].as_str().unwrap());
        MailServer {
            dir,
            args,
            info,
            ca,
            running: true,
        }
    }

    fn launch(args: &[String]) -> serde_json::Value {
        let out = std::process::Command::new("python3")
            .arg(script())
            .arg("start")
            .args(args)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "the test mail server did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(line.lines().last().unwrap_or_default()).unwrap()
    }

    fn dir_arg(&self) -> [String; 2] {
        ["--dir".into(), self.dir.path().display().to_string()]
    }

    /// The CA certificate a client should trust (the certificate itself when self-signed).
    pub fn ca_pem(&self) -> &Path {
        &self.ca
    }

    /// SHA-256 of the server certificate's DER, lowercase hex.
    pub fn cert_sha256(&self) -> &str {
        self.info["cert_sha256"].as_str().unwrap()
    }

    pub fn submission_port(&self) -> u16 {
        self.info["submission"].as_u64().unwrap() as u16
    }

    pub fn smtps_port(&self) -> u16 {
        self.info["smtps"].as_u64().unwrap() as u16
    }

    pub fn postfix_log(&self) -> PathBuf {
        PathBuf::from(self.info["postfix_log"].as_str().unwrap())
    }

    /// The messages delivered so far, raw, in delivery order.
    pub fn messages(&self) -> Vec<String> {
        let maildir = PathBuf::from(self.info["maildir"].as_str().unwrap());
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(maildir.join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        // Maildir names start with the delivery time.
        files.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// The messages once at least `n` are delivered (Postfix's queue delivers a moment after
    /// accepting), or what there is after `timeout`; then a short settle for any extra one.
    pub fn wait_messages(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        while self.messages().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        self.messages()
    }

    /// Failed SASL logins so far (from Postfix's log).
    pub fn auth_failures(&self) -> usize {
        let out = std::process::Command::new("python3")
            .arg(script())
            .arg("auth-failures")
            .args(self.dir_arg())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    pub fn stop(&mut self) {
        if self.running {
            let out = std::process::Command::new("python3")
                .arg(script())
                .arg("stop")
                .args(self.dir_arg())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            self.running = false;
        }
    }

    /// Starts the stopped instance again: same ports, certificates and mail (and no longer
    /// slow).
    pub fn start_again(&mut self) {
        self.info = Self::launch(&self.args);
        self.running = true;
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        if self.running {
            let _ = std::process::Command::new("python3")
                .arg(script())
                .arg("stop")
                .args(self.dir_arg())
                .output();
        }
    }
}
