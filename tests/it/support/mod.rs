//! What the tests share: the sample config copied to break or change (`cli`), the pages on a
//! loopback port (`site`), answers seeded into a store (`answers`), the test servers (`smtp`,
//! `mailserver`, a private PostgreSQL cluster `postgres`, the Python ones through `spawn_ready`), inline fixtures (`fixtures`), the
//! deadline helpers and corpus (`deadline`, `corpus`), the fuzz targets' checks (`fuzz`) and
//! the browser's WebDriver client (`webdriver`).

pub mod answers;
pub mod cli;
pub mod corpus;
pub mod deadline;
pub mod fixtures;
pub mod fuzz;
pub mod mailserver;
pub mod postgres;
pub mod site;
pub mod smtp;
pub mod webdriver;

use std::fs;
use std::path::{Path, PathBuf};

/// A free loopback port (bound and released: another process may take it, rarely), never
/// one this test run was given before: the kernel can hand a released port out again at
/// once, and two servers of one test (a mail server's submission and smtps ports) or of two
/// tests running at once were given the same one.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// The repository root (where `config/` is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a directory tree (the sample config, to break or change in a test).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Starts one of the Python test servers (`tests/<script>`) with `args` and waits for the
/// "READY" line it prints once listening. It runs until its stdin closes or it is killed.
pub fn spawn_ready(script: &str, args: &[String]) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new("python3")
        .arg(repo().join("tests").join(script))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY", "{script} did not start");
    child
}

/// A child process (a test server, a service) killed when dropped.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Process-wide state (environment variables, the umask) is shared by every test of this
/// crate, which run in parallel threads of one process: a test that sets it runs its body in
/// a child process of its own instead. At the start of the test:
/// `if isolated("module::test_name", &[(VAR, value)]) { return; }`. In this process it runs
/// the test binary again on that one test with `vars` set there only, fails unless the child
/// ran and passed exactly that test, and returns true; in the child it returns false.
pub fn isolated(test: &str, vars: &[(&str, &str)]) -> bool {
    const CHILD: &str = "NHACVIEC_TEST_ISOLATED";
    if std::env::var(CHILD).as_deref() == Ok(test) {
        return false;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, test)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in its own process:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[cfg(test)]
mod tests {
    use super::isolated;

    #[test]
    fn an_isolated_tests_variables_are_set_in_its_process_only() {
        const VAR: &str = "NHACVIEC_TEST_ISOLATION_PROBE";
        if isolated(
            "support::tests::an_isolated_tests_variables_are_set_in_its_process_only",
            &[(VAR, "1")],
        ) {
            assert!(
                std::env::var_os(VAR).is_none(),
                "{VAR} leaked into the suite"
            );
            return;
        }
        assert_eq!(std::env::var(VAR).as_deref(), Ok("1"));
    }
}
