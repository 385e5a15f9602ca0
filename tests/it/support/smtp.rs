//! aiosmtpd (`tests/smtp/server.py`, a real SMTP server no one here wrote) on a loopback port,
//! one per test, writing what it accepts to a directory; stopped when dropped.

use super::{spawn_ready, Running};
use std::fs;
use std::path::{Path, PathBuf};

pub struct Smtp {
    _server: Running,
    pub out: PathBuf,
}

impl Smtp {
    /// Listening on `port`, writing to `out`, with the server's own options in `args`
    /// (`--password PW`, `--reject ADDR`, `--tempfail N`, `--stall`, `--reject-helo`,
    /// `--slow SECONDS`).
    pub fn start(port: u16, out: &Path, args: &[&str]) -> Smtp {
        let mut all = vec![
            "--port".to_string(),
            port.to_string(),
            "--out".to_string(),
            out.display().to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        Smtp {
            _server: Running(spawn_ready("smtp/server.py", &all)),
            out: out.to_path_buf(),
        }
    }

    /// The server's files with this extension, in the order it wrote them.
    pub fn files(&self, ext: &str) -> Vec<PathBuf> {
        let mut names: Vec<PathBuf> = fs::read_dir(&self.out)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == ext))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The EHLO name and envelope sender of every message received, in order.
    pub fn sessions(&self) -> Vec<(String, String)> {
        self.files("session")
            .into_iter()
            .map(|p| {
                let text = fs::read_to_string(p).unwrap_or_default();
                let (helo, from) = text.split_once('\n').unwrap_or((&text, ""));
                (helo.to_string(), from.to_string())
            })
            .collect()
    }

    /// Every message received: (envelope recipients, raw bytes).
    pub fn received(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        self.files("eml")
            .into_iter()
            .map(|p| {
                let rcpt = fs::read_to_string(p.with_extension("rcpt")).unwrap_or_default();
                (
                    rcpt.lines().map(str::to_string).collect(),
                    fs::read(&p).unwrap(),
                )
            })
            .collect()
    }

    /// The envelope recipients of every message received.
    pub fn recipients(&self) -> Vec<String> {
        self.received().into_iter().flat_map(|(r, _)| r).collect()
    }
}
