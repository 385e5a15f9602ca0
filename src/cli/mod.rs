//! The commands of `nhacviec`, one file each (or per small family), and what they share:
//! `args` (closed choices as clap value enums, `--now` and dates), `resolve` (`--agency`,
//! `--plan`), `state` (the service's state directory and store), `output` (the one writer,
//! escaping everything it prints). `main.rs` only parses and dispatches.

pub mod admin_link;
pub mod args;
pub mod calendar;
pub mod check;
pub mod export;
pub mod extend;
pub mod history;
pub mod import;
pub mod logs;
pub mod output;
pub mod preview;
pub mod resolve;
pub mod responses;
pub mod retry;
pub mod run;
pub mod send_test;
pub mod state;
pub mod status;
pub mod store;
pub mod zalo;

use anyhow::bail;
use nhacviec::config::{self, Analysis};
use std::path::Path;

pub use args::Refused;

/// Loads the config, refusing to go on with errors (they are printed as `check` would).
pub fn load_valid(dir: &Path, out: &output::Out) -> anyhow::Result<Analysis> {
    let analysis = config::load(dir);
    if analysis.has_errors() {
        for d in analysis.errors() {
            out.eprint(d.render())?;
        }
        bail!(
            "cấu hình trong {} có {} lỗi: sửa rồi chạy lại (xem `nhacviec check`)",
            dir.display(),
            analysis.errors().count()
        );
    }
    Ok(analysis)
}

/// The single-threaded runtime the async commands run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub use nhacviec::dates::dmy;

/// At most `max` characters, "…" when cut; on one line, control characters shown escaped.
pub fn shorten(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let printable = nhacviec::text::printable(&one_line);
    if printable.chars().count() <= max {
        return printable.into_owned();
    }
    let mut out: String = printable.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
