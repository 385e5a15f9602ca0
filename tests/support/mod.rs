//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

pub mod answers;
pub mod cli;
pub mod mailserver;
pub mod site;

use std::fs;
use std::path::{Path, PathBuf};

/// A free loopback port (bound and released: another process may take it, rarely).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
