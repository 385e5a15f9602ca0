//! The sample config in a temporary directory, and the CLI run on it.

use super::{copy_dir, repo};
use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::PathBuf;
use std::process::Output;

/// `status --now` of the answers tests.
pub const NOW: &str = "2022-05-25T08:00:00+07:00";

/// A copy of the sample config with its state in `<config>/state`.
pub struct Env {
    _tmp: tempfile::TempDir,
    pub cfg: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("config");
        copy_dir(&repo().join("config"), &cfg);
        let settings = cfg.join("nhacviec.toml");
        let text = fs::read_to_string(&settings)
            .unwrap()
            .replace("state_dir = \"../var\"", "state_dir = \"state\"");
        fs::write(settings, text).unwrap();
        Env { _tmp: tmp, cfg }
    }

    pub fn edit(&self, file: &str, f: impl FnOnce(String) -> String) {
        let path = self.cfg.join(file);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, f(text)).unwrap();
    }

    /// Email over SMTP to `port` on loopback.
    pub fn smtp(&self, port: u16) {
        self.edit("nhacviec.toml", |t| {
            t.replace(
                "\ntransport = \"file\"\n",
                &format!(
                    "\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n"
                ),
            )
        });
    }

    /// Back to .eml files.
    pub fn file_transport(&self, port: u16) {
        self.edit("nhacviec.toml", |t| {
            t.replace(
                &format!(
                    "\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n"
                ),
                "\ntransport = \"file\"\n",
            )
        });
    }

    pub fn state(&self) -> PathBuf {
        self.cfg.join("state")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::cargo_bin("nhacviec")
            .unwrap()
            .env_remove("NHACVIEC_STATE_DIR")
            .env_remove("NHACVIEC_CONFIG")
            .env_remove("NHACVIEC_LOG")
            .env_remove("RUST_LOG")
            .arg("--config")
            .arg(&self.cfg)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs, expecting `code`; returns stdout.
    pub fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        serde_json::from_str(&self.expect(0, &all)).unwrap()
    }

    pub fn db(&self) -> PathBuf {
        self.cfg.join("state").join(nhacviec::daemon::DB_FILE)
    }

    /// Runs, expecting exit 1; returns stderr.
    pub fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// The status row of one agency and task.
    pub fn status_row(&self, agency: &str, task: &str) -> Value {
        let rows = self.json(&["status", "--now", NOW]);
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["agency"] == agency && r["task"] == task)
            .unwrap_or_else(|| panic!("no status row for {agency} {task}"))
            .clone()
    }
}
