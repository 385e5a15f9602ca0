//! The operator's guide (docs/HUONG-DAN-VAN-HANH.md) is run as written.
//!
//! Every command of every ```sh block runs, in document order, on a fake server: a temporary
//! directory standing for `/` (its `etc/nhacviec` a copy of the sample config as the .deb
//! installs it, its `var/lib/nhacviec` the state). `nhacviec` commands run for real (the built
//! binary), at the instant the guide's hidden `<!-- kiểm thử: ... -->` comments set (their
//! `--now`); shell tools (tar, sqlite3, cp, openssl, curl, ...) run for real on the mapped paths;
//! what needs a real server (apt, systemctl, journalctl, chown, nano, scp) is checked against
//! what the project ships (the package metadata, the unit, the postinst). A command no rule
//! covers fails the test, naming it: a command added to the guide later cannot go untested.
//!
//! A ```text block right after a ```sh block is what the reader should see: its lines must be
//! the block's output (stdout then stderr, paths mapped back to the server's), each compared
//! after trimming; a line `...` stands for any lines, and `...` inside a line for any text.
//! A ```toml block starting `# tệp: PATH` is an edit of that file: each `key = value` is set in
//! its `[section]` (replacing the key, or its commented-out sample line), each `# key = ...`
//! comments the key out.

use crate::support::smtp::Smtp;
use crate::support::{copy_dir, free_port, repo, Running};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const GUIDE: &str = "docs/HUONG-DAN-VAN-HANH.md";
/// The SMTP password the guide's `nano .../smtp-password` step stands for.
const SMTP_PASSWORD: &str = "mat-khau-thu";
/// nhacviec subcommands that take `--now` (the test's instant is added unless given).
const TAKES_NOW: &[&str] = &[
    "check",
    "preview",
    "status",
    "admin-link",
    "retry",
    "send-test",
    "extend",
    "web",
];

#[derive(Debug)]
enum Block {
    Sh(usize, Vec<String>),
    Text(usize, Vec<String>),
    Toml(usize, String),
    Directive(usize, String),
}

/// The guide's fenced blocks and hidden test directives, in order, with their line numbers.
fn blocks(guide: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = guide.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        let trimmed = line.trim();
        if let Some(d) = trimmed
            .strip_prefix("<!-- kiểm thử:")
            .and_then(|d| d.strip_suffix("-->"))
        {
            out.push(Block::Directive(n, d.trim().to_string()));
            continue;
        }
        let Some(info) = trimmed.strip_prefix("```") else {
            continue;
        };
        let mut body = Vec::new();
        for (_, l) in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            body.push(l.to_string());
        }
        match info.trim() {
            "sh" => {
                let mut cmds = Vec::new();
                let mut cur = String::new();
                for l in body {
                    let t = l.trim();
                    if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
                        continue;
                    }
                    if let Some(head) = t.strip_suffix('\\') {
                        cur.push_str(head);
                        cur.push(' ');
                    } else {
                        cur.push_str(t);
                        cmds.push(std::mem::take(&mut cur));
                    }
                }
                assert!(cur.is_empty(), "{GUIDE}:{n}: a command ends with '\\'");
                out.push(Block::Sh(n, cmds));
            }
            "text" => out.push(Block::Text(n, body)),
            "toml" => out.push(Block::Toml(n, body.join("\n"))),
            other => {
                panic!("{GUIDE}:{n}: a ```{other} block: the test runs sh, text and toml only")
            }
        }
    }
    out
}

/// One fake server: `root` stands for `/`; commands run in `root/home` (the admin's home).
struct Machine {
    root: PathBuf,
}

impl Machine {
    fn new(base: &Path, name: &str) -> Machine {
        let root = base.join(name);
        fs::create_dir_all(root.join("home")).unwrap();
        fs::create_dir_all(root.join("var/backups")).unwrap();
        fs::create_dir_all(root.join("tmp")).unwrap();
        Machine { root }
    }
    fn etc(&self) -> PathBuf {
        self.root.join("etc/nhacviec")
    }
    fn state(&self) -> PathBuf {
        self.root.join("var/lib/nhacviec")
    }
    fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    /// Server paths → this machine's (one pass: the machine's own path is under /tmp too).
    fn map(&self, text: &str) -> String {
        let r = self.root.display().to_string();
        let table = [
            (" -C / ", format!(" -C {r} ")),
            ("/etc/nhacviec", format!("{r}/etc/nhacviec")),
            ("/var/lib/nhacviec", format!("{r}/var/lib/nhacviec")),
            ("/var/backups/", format!("{r}/var/backups/")),
            ("/tmp/", format!("{r}/tmp/")),
        ];
        let mut out = String::new();
        // A space after the text, so that a final " -C /" is mapped too.
        let padded = format!("{text} ");
        let mut rest = padded.as_str();
        'scan: while let Some(c) = rest.chars().next() {
            for (from, to) in &table {
                if let Some(after) = rest.strip_prefix(from) {
                    out.push_str(to);
                    rest = after;
                    continue 'scan;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out.pop();
        out
    }
    /// This machine's paths → the server's, in outputs.
    fn unmap(&self, text: &str) -> String {
        let r = self.root.display().to_string();
        text.replace(&format!("{r}/home/"), "").replace(&r, "")
    }
}

/// The guide's run: the machines, the instant, the test's mail server.
struct Run {
    base: tempfile::TempDir,
    machines: HashMap<String, Machine>,
    current: String,
    now: Option<String>,
    bin: PathBuf,
    path: std::ffi::OsString,
    smtp_port: u16,
    inbox: PathBuf,
    inbox_seen: usize,
    health_port: u16,
    _smtp: Smtp,
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Run {
    fn new() -> Run {
        let base = tempfile::tempdir().unwrap();
        let bin = assert_cmd::cargo::cargo_bin("nhacviec");
        let fakebin = base.path().join("bin");
        fs::create_dir_all(&fakebin).unwrap();
        std::os::unix::fs::symlink(&bin, fakebin.join("nhacviec")).unwrap();
        let mut path = fakebin.into_os_string();
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        let smtp_port = free_port();
        let inbox = base.path().join("inbox");
        let smtp = Smtp::start(smtp_port, &inbox, &["--password", SMTP_PASSWORD]);
        let mut machines = HashMap::new();
        machines.insert("may-cu".to_string(), Machine::new(base.path(), "may-cu"));
        Run {
            base,
            machines,
            current: "may-cu".into(),
            now: None,
            bin,
            path,
            smtp_port,
            inbox,
            inbox_seen: 0,
            health_port: free_port(),
            _smtp: smtp,
        }
    }

    fn m(&self) -> &Machine {
        &self.machines[&self.current]
    }

    /// The service's environment (deploy/nhacviec.service: Environment=, LoadCredential=).
    fn service(&self, args: &[&str]) -> Command {
        let m = self.m();
        let mut c = Command::new(&self.bin);
        c.env_clear()
            .env("PATH", &self.path)
            .env("TZ", "Asia/Ho_Chi_Minh")
            .env("NHACVIEC_STATE_DIR", m.state())
            .env("CREDENTIALS_DIRECTORY", m.etc().join("credentials"))
            .arg("--config")
            .arg(m.etc())
            .args(args);
        c
    }

    /// What the running service does at the current instant: one pass (its start pass or a
    /// scheduled tick). Then every message the test's mail server got since the last pass went
    /// to the trial address when trial mode is on, and to none of it otherwise.
    fn pass(&mut self, where_: &str) -> String {
        let now = self
            .now
            .clone()
            .unwrap_or_else(|| panic!("{where_}: no instant set"));
        let out = self
            .service(&["run", "--once", "--now", &now])
            .output()
            .unwrap();
        let shown = self.m().unmap(&text(&out));
        assert!(
            out.status.success(),
            "{where_}: the service's pass at {now} failed:\n{shown}"
        );
        let settings = fs::read_to_string(self.m().etc().join("nhacviec.toml")).unwrap();
        let trial = settings
            .lines()
            .find_map(|l| l.trim().strip_prefix("redirect_all_to = "))
            .map(|v| v.split('"').nth(1).unwrap().to_string());
        let mut rcpts: Vec<PathBuf> = fs::read_dir(&self.inbox)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        rcpts.retain(|p| p.extension().is_some_and(|e| e == "rcpt"));
        rcpts.sort();
        for r in &rcpts[self.inbox_seen.min(rcpts.len())..] {
            let to = fs::read_to_string(r).unwrap();
            match &trial {
                Some(t) => assert_eq!(to.trim(), t, "{where_}: trial mail went elsewhere"),
                None => assert!(
                    !to.contains("thu-nghiem"),
                    "{where_}: real mode still mails the tester"
                ),
            }
        }
        self.inbox_seen = rcpts.len();
        shown
    }

    /// Whether the machine's config says `state_dir = "/var/lib/nhacviec"` (then commands
    /// typed on it use that directory: this machine's).
    fn state_dir_set(&self) -> bool {
        fs::read_to_string(self.m().etc().join("nhacviec.toml")).is_ok_and(|t| {
            t.lines()
                .any(|l| l.trim().starts_with("state_dir = \"/var/lib/nhacviec\""))
        })
    }

    fn sh(&self, cmd: &str, state: bool) -> Output {
        let m = self.m();
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(cmd)
            .current_dir(m.home())
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", m.home())
            .env("TZ", "Asia/Ho_Chi_Minh")
            .env("LANG", "C.UTF-8");
        if state {
            c.env("NHACVIEC_STATE_DIR", m.state());
        }
        c.output().unwrap()
    }

    /// Runs one command of the guide; returns what it printed (server paths).
    fn command(&mut self, n: usize, original: &str) -> String {
        let at = format!("{GUIDE}:{n}: `{original}`");
        let cmd = original
            .replace("sudo -u nhacviec ", "")
            .replace("sudo ", "");
        let words: Vec<&str> = cmd.split_whitespace().collect();
        match words[0] {
            "apt" => {
                assert_eq!(words[1..], ["install", "./nhacviec_*_amd64.deb"], "{at}");
                self.install(&at);
                String::new()
            }
            "systemctl" => self.systemctl(&at, &words),
            "journalctl" => {
                journalctl(&at, &words);
                String::new()
            }
            "nano" => {
                let file = PathBuf::from(self.m().map(words[1]));
                assert!(file.is_file(), "{at}: no such file after install");
                if file.ends_with("credentials/smtp-password") {
                    fs::write(&file, format!("{SMTP_PASSWORD}\n")).unwrap();
                }
                String::new()
            }
            "chown" => {
                let postinst = fs::read_to_string(repo().join("deploy/debian/postinst")).unwrap();
                assert_eq!(words[1], "-R", "{at}");
                assert!(postinst.contains("--group") && postinst.contains(" nhacviec\n"));
                assert_eq!(words[2], "nhacviec:nhacviec", "{at}: the package's user");
                assert_eq!(
                    words[3], "/var/lib/nhacviec",
                    "{at}: the unit's StateDirectory"
                );
                assert!(
                    self.m().state().join("nhacviec.db").is_file(),
                    "{at}: no state"
                );
                String::new()
            }
            "scp" => {
                // scp FILE admin@HOST: → the same file in HOST's home.
                let (file, dest) = (words[1], words[2]);
                let host = dest
                    .split('@')
                    .nth(1)
                    .and_then(|h| h.strip_suffix(':'))
                    .unwrap_or_else(|| panic!("{at}: scp FILE user@host:"));
                let from = self.m().home().join(file);
                let to = self
                    .machines
                    .entry(host.to_string())
                    .or_insert_with(|| Machine::new(self.base.path(), host))
                    .home()
                    .join(file);
                fs::copy(&from, &to).unwrap_or_else(|e| panic!("{at}: {e}"));
                String::new()
            }
            "curl" => self.curl(&at, &cmd),
            _ => self.shell(&at, &cmd),
        }
    }

    /// A command the shell runs for real: nhacviec (at the instant) and common tools.
    fn shell(&mut self, at: &str, cmd: &str) -> String {
        const TOOLS: &[&str] = &[
            "nhacviec",
            "sqlite3",
            "tar",
            "cp",
            "ls",
            "openssl",
            "tee",
            "env",
            "sha256sum",
        ];
        assert!(
            !cmd.contains("&&") && !cmd.contains(';'),
            "{at}: one command a line"
        );
        let mut mapped = String::new();
        for (i, segment) in cmd.split(" | ").enumerate() {
            let mut words: Vec<String> = segment.split_whitespace().map(String::from).collect();
            let mut k = 0;
            if words[0] == "env" {
                k = 1;
                while words[k].contains('=') {
                    k += 1;
                }
            }
            assert!(
                TOOLS.contains(&words[k].as_str()),
                "{at}: `{}` is not covered by the guide test's mapping",
                words[k]
            );
            if words[k] == "sqlite3" && which("sqlite3").is_none() {
                return self.python_sqlite(at, &words[k..]);
            }
            if words[k] == "nhacviec" {
                now_arg(&mut words, k, self.now.as_deref(), at);
            }
            if i > 0 {
                mapped.push_str(" | ");
            }
            mapped.push_str(&words.join(" "));
        }
        let out = self.sh(&self.m().map(&mapped), self.state_dir_set());
        let shown = self.m().unmap(&text(&out));
        assert!(out.status.success(), "{at} failed:\n{shown}");
        shown
    }

    /// sqlite3 DB ".backup 'FILE'" or "PRAGMA integrity_check" through Python's module.
    fn python_sqlite(&self, at: &str, words: &[String]) -> String {
        let db = self.m().map(&words[1]);
        let what = words[2..].join(" ");
        let script = if let Some(file) = what.strip_prefix("\".backup '") {
            let file = self.m().map(file.trim_end_matches("'\""));
            format!("import sqlite3; d=sqlite3.connect('{file}'); sqlite3.connect('{db}').backup(d); d.close()")
        } else if what == "\"PRAGMA integrity_check\"" {
            format!("import sqlite3; print(sqlite3.connect('{db}').execute('PRAGMA integrity_check').fetchone()[0])")
        } else {
            panic!("{at}: this sqlite3 command is not covered by the mapping")
        };
        let out = Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{at}: {}", text(&out));
        text(&out)
    }

    fn install(&mut self, at: &str) {
        let cargo = fs::read_to_string(repo().join("Cargo.toml")).unwrap();
        for needed in [
            "[package.metadata.deb]",
            r#"["target/release/nhacviec", "usr/bin/", "755"]"#,
            r#"["deploy/nhacviec.toml", "etc/nhacviec/", "644"]"#,
            r#"["config/plans/*.toml", "etc/nhacviec/plans/", "644"]"#,
            r#"unit-name = "nhacviec""#,
            "enable = true, start = true, restart-after-upgrade = true",
        ] {
            assert!(
                cargo.contains(needed),
                "{at}: the package no longer has {needed}"
            );
        }
        let m = self.m();
        let upgrade = m.etc().exists();
        if !upgrade {
            // conffiles: an upgrade keeps the admin's config.
            copy_dir(&repo().join("config"), &m.etc());
            fs::copy(
                repo().join("deploy/nhacviec.toml"),
                m.etc().join("nhacviec.toml"),
            )
            .unwrap();
        }
        // postinst: the credential files the unit's LoadCredential= reads.
        let postinst = fs::read_to_string(repo().join("deploy/debian/postinst")).unwrap();
        let names = postinst
            .lines()
            .find_map(|l| l.trim().strip_prefix("for f in "))
            .and_then(|l| l.strip_suffix("; do"))
            .expect("postinst lists the credential files");
        fs::create_dir_all(m.etc().join("credentials")).unwrap();
        for f in names.split_whitespace() {
            let p = m.etc().join("credentials").join(f);
            if !p.exists() {
                fs::write(p, "").unwrap();
            }
        }
        fs::create_dir_all(m.state()).unwrap();
        // The service starts (or restarts after an upgrade). On a fresh install the sample
        // plan of 2022 sends nothing on today's date, and the guide stops it next.
        if upgrade {
            self.pass(at);
        }
    }

    fn systemctl(&mut self, at: &str, words: &[&str]) -> String {
        let unit = fs::read_to_string(repo().join("deploy/nhacviec.service")).unwrap();
        assert_eq!(
            words.get(2),
            Some(&"nhacviec"),
            "{at}: the unit is nhacviec"
        );
        assert_eq!(words.len(), 3, "{at}");
        assert!(unit.contains("ExecStart=/usr/bin/nhacviec --config /etc/nhacviec run\n"));
        assert!(unit.contains("StateDirectory=nhacviec\n"));
        match words[1] {
            "status" | "stop" | "disable" => {}
            "start" | "restart" => {
                self.pass(at);
            }
            // A reload never mails at once: the next scheduled tick applies it.
            "reload" => {
                assert!(
                    unit.contains("ExecReload=/bin/kill -HUP $MAINPID\n"),
                    "{at}"
                );
                let out = self.service(&["check"]).output().unwrap();
                assert!(out.status.success(), "{at}: the reload would be refused");
            }
            other => panic!("{at}: systemctl {other} is not covered by the mapping"),
        }
        String::new()
    }

    /// `curl -s http://127.0.0.1:9187/...`: the service really runs (real clock, on a copy of
    /// this machine's config and state) and answers.
    fn curl(&mut self, at: &str, cmd: &str) -> String {
        let copy = self.base.path().join("curl");
        let _ = fs::remove_dir_all(&copy);
        copy_dir(&self.m().etc(), &copy.join("etc"));
        copy_dir(&self.m().state(), &copy.join("state"));
        let mut daemon = Running(
            Command::new(&self.bin)
                .env_clear()
                .env("NHACVIEC_STATE_DIR", copy.join("state"))
                .env("CREDENTIALS_DIRECTORY", self.m().etc().join("credentials"))
                .arg("--config")
                .arg(copy.join("etc"))
                .arg("run")
                .stdout(Stdio::null())
                .stderr(fs::File::create(copy.join("log")).unwrap())
                .spawn()
                .unwrap(),
        );
        let mapped = cmd.replace("127.0.0.1:9187", &format!("127.0.0.1:{}", self.health_port));
        let start = Instant::now();
        loop {
            let out = self.sh(&mapped, false);
            // Answered, and after the start pass (which may send: a report due today).
            if out.status.success()
                && !out.stdout.is_empty()
                && !String::from_utf8_lossy(&out.stdout).contains("\"last_tick\": null")
            {
                let _ = daemon.0.kill();
                return text(&out);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20) && daemon.0.try_wait().unwrap().is_none(),
                "{at}: the service did not answer:\n{}",
                fs::read_to_string(copy.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A ```toml edit block: `# tệp: PATH` then the lines to set.
    fn edit(&self, n: usize, block: &str) {
        let mut lines = block.lines();
        let head = lines.next().unwrap_or_default();
        let file = head
            .strip_prefix("# tệp: ")
            .unwrap_or_else(|| panic!("{GUIDE}:{n}: a toml block starts with `# tệp: PATH`"));
        let path = PathBuf::from(self.m().map(file));
        let mut doc: Vec<String> = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{GUIDE}:{n}: {file}: {e}"))
            .lines()
            .map(String::from)
            .collect();
        let mut section = String::new();
        for line in lines {
            let t = line.trim();
            if t.starts_with('[') {
                section = t.to_string();
                if !doc.iter().any(|l| l.trim() == t) {
                    doc.push(String::new());
                    doc.push(t.to_string());
                }
                continue;
            }
            let line = line
                .replace(
                    "smtp://mail.haugiang.gov.vn:587",
                    &format!("smtp://127.0.0.1:{}", self.smtp_port),
                )
                .replace("127.0.0.1:9187", &format!("127.0.0.1:{}", self.health_port));
            let key_of = |l: &str| {
                let l = l.trim().trim_start_matches('#').trim();
                l.split_once('=')
                    .map(|(k, _)| k.trim().to_string())
                    .filter(|k| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
            };
            let Some(key) = key_of(&line) else { continue };
            let comment_out = line.trim().starts_with('#');
            set(&mut doc, &section, &key, &line, comment_out);
            // The test's mail server (aiosmtpd) speaks no TLS and knows the user "nv".
            if key == "url" && line.contains("smtp://127.0.0.1") {
                set(&mut doc, &section, "tls", "tls = \"none\"", false);
            }
            if key == "user" {
                set(&mut doc, &section, "user", "user = \"nv\"", false);
            }
        }
        fs::write(&path, doc.join("\n") + "\n").unwrap();
    }
}

/// Sets `key` in `section` ("" = top level): replaces its line, else its commented sample
/// line, else adds it at the section's end; `comment_out` comments an existing line out.
fn set(doc: &mut Vec<String>, section: &str, key: &str, line: &str, comment_out: bool) {
    let start = if section.is_empty() {
        0
    } else {
        doc.iter().position(|l| l.trim() == section).unwrap() + 1
    };
    let end = doc[start..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(doc.len(), |p| start + p);
    let is_key = |l: &str, commented: bool| {
        let t = l.trim();
        let t = if commented {
            match t.strip_prefix('#') {
                Some(r) => r.trim(),
                None => return false,
            }
        } else {
            t
        };
        t.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='))
    };
    if let Some(i) = (start..end).find(|&i| is_key(&doc[i], false)) {
        doc[i] = if comment_out {
            format!("# {}", doc[i].trim())
        } else {
            line.to_string()
        };
    } else if comment_out {
        panic!("no `{key}` to comment out in {section}");
    } else if let Some(i) = (start..end).find(|&i| is_key(&doc[i], true)) {
        doc[i] = line.to_string();
    } else {
        doc.insert(end, line.to_string());
    }
}

/// Adds `--now` (or `--as-of` for export) at the instant, after the subcommand.
fn now_arg(words: &mut Vec<String>, k: usize, now: Option<&str>, at: &str) {
    let mut i = k + 1;
    while i < words.len() && words[i].starts_with('-') {
        i += if words[i] == "--config" { 2 } else { 1 };
    }
    let Some(sub) = words.get(i).cloned() else {
        return;
    };
    let given = words.iter().any(|w| w == "--now" || w == "--as-of");
    let Some(now) = now else {
        return;
    };
    if given {
        return;
    }
    if TAKES_NOW.contains(&sub.as_str()) {
        words.insert(i + 1, format!("--now {now}"));
    } else if sub == "export" {
        words.insert(i + 1, format!("--as-of {}", &now[..10]));
    } else if sub == "run" {
        assert!(
            words.iter().any(|w| w == "--once"),
            "{at}: `run` is the service: use systemctl"
        );
        words.insert(i + 1, format!("--now {now}"));
    }
}

fn journalctl(at: &str, words: &[&str]) {
    assert_eq!(
        words[1..3],
        ["-u", "nhacviec"],
        "{at}: the unit is nhacviec"
    );
    let daemon = fs::read_to_string(repo().join("src/daemon.rs")).unwrap();
    let lock = fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    let mut rest = words[3..].iter();
    while let Some(w) = rest.next() {
        match *w {
            "-f" | "-e" | "--no-pager" => {}
            "--since" | "-p" | "-n" => {
                rest.next()
                    .unwrap_or_else(|| panic!("{at}: {w} needs a value"));
            }
            w if w.starts_with("F_EVENT=") => {
                // tracing-journald 0.3 prefixes fields with F_ and upper-cases them.
                assert!(
                    lock.contains("name = \"tracing-journald\"\nversion = \"0.3"),
                    "{at}"
                );
                let event = &w["F_EVENT=".len()..];
                assert!(
                    daemon.contains(&format!("event = \"{event}\"")),
                    "{at}: the service logs no event {event}"
                );
            }
            other => panic!("{at}: journalctl {other} is not covered by the mapping"),
        }
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(tool))
            .find(|f| f.is_file())
    })
}

/// Whether `expected` (the guide's quoted output) is what `actual` printed.
fn matches(expected: &[String], actual: &str) -> bool {
    let actual: Vec<&str> = actual.lines().map(str::trim).collect();
    let mut actual = &actual[..];
    while actual.first() == Some(&"") {
        actual = &actual[1..];
    }
    while actual.last() == Some(&"") {
        actual = &actual[..actual.len() - 1];
    }
    let expected: Vec<&str> = expected.iter().map(|l| l.trim()).collect();
    lines_match(&expected, actual)
}

fn lines_match(expected: &[&str], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((&"...", rest)) => (0..=actual.len()).any(|i| lines_match(rest, &actual[i..])),
        Some((line, rest)) => {
            !actual.is_empty() && line_matches(line, actual[0]) && lines_match(rest, &actual[1..])
        }
    }
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

#[test]
fn every_command_of_the_operators_guide_runs_and_prints_what_it_says() {
    let guide = fs::read_to_string(repo().join(GUIDE)).unwrap();
    let mut run = Run::new();
    let mut last: Option<(usize, String)> = None;
    let mut commands = 0;
    for block in blocks(&guide) {
        match block {
            Block::Directive(n, d) => {
                let at = format!("{GUIDE}:{n}");
                if let Some(t) = d.strip_prefix("lúc ") {
                    run.now = Some(t.trim().to_string());
                } else if let Some(t) = d.strip_prefix("dịch vụ gửi lúc ") {
                    run.now = Some(t.trim().to_string());
                    run.pass(&at);
                } else if let Some(host) = d.strip_prefix("trên máy ") {
                    assert!(
                        run.machines.contains_key(host.trim()),
                        "{at}: no machine {host}"
                    );
                    run.current = host.trim().to_string();
                } else {
                    panic!("{at}: unknown directive `{d}`");
                }
                last = None;
            }
            Block::Sh(n, cmds) => {
                let mut all = String::new();
                for c in &cmds {
                    all.push_str(&run.command(n, c));
                    commands += 1;
                }
                // NHACVIEC_GUIDE_SHOW=1 prints every output: what to quote when writing the guide.
                if std::env::var_os("NHACVIEC_GUIDE_SHOW").is_some() {
                    eprintln!("=== {GUIDE}:{n}\n{all}");
                }
                last = Some((n, all));
            }
            Block::Text(n, lines) => {
                let (at, out) = last.take().unwrap_or_else(|| {
                    panic!("{GUIDE}:{n}: a ```text block not after a ```sh block")
                });
                assert!(
                    matches(&lines, &out),
                    "{GUIDE}:{n}: the output quoted does not match what the commands of line {at} print.\n--- quoted:\n{}\n--- printed:\n{out}",
                    lines.join("\n")
                );
            }
            Block::Toml(n, t) => {
                run.edit(n, &t);
                last = None;
            }
        }
    }
    assert!(commands >= 30, "the guide runs only {commands} commands");
}

#[test]
fn the_output_matcher_takes_dots_for_anything_and_nothing_else() {
    let e = |s: &str| s.lines().map(String::from).collect::<Vec<_>>();
    assert!(matches(&e("a\n...\nd"), "a\nb\nc\nd\n"));
    assert!(matches(&e("a\n...\nd"), "  a  \nd"));
    assert!(!matches(&e("a\nd"), "a\nb\nd"));
    assert!(matches(
        &e("#1 đã gửi ... Sở Nội vụ"),
        "#1 đã gửi 08:00 25/05/2022 Sở Nội vụ"
    ));
    assert!(!matches(
        &e("#1 đã gửi ... Sở Nội vụ"),
        "#1 thất bại 08:00 Sở Nội vụ"
    ));
    assert!(!matches(&e("a"), "a\nb"));
}

#[test]
fn a_toml_edit_sets_a_key_uncomments_a_sample_and_comments_one_out() {
    let mut doc: Vec<String> = "state_dir = \"../var\"\n[email]\ntransport = \"file\"\n# redirect_all_to = \"x@y\"   # thử\n[policy]\nbefore = [1]"
        .lines()
        .map(String::from)
        .collect();
    set(
        &mut doc,
        "",
        "state_dir",
        "state_dir = \"/var/lib/nhacviec\"",
        false,
    );
    set(
        &mut doc,
        "[email]",
        "redirect_all_to",
        "redirect_all_to = \"t@h\"",
        false,
    );
    set(&mut doc, "[email]", "url", "url = \"smtp://m\"", false);
    set(&mut doc, "[email]", "transport", "", true);
    assert_eq!(
        doc,
        [
            "state_dir = \"/var/lib/nhacviec\"",
            "[email]",
            "# transport = \"file\"",
            "redirect_all_to = \"t@h\"",
            "url = \"smtp://m\"",
            "[policy]",
            "before = [1]"
        ]
    );
}
