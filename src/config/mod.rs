//! The config directory: `nhacviec.toml` (settings), `agencies.toml` (levels, agencies,
//! groups) and `plans/*.toml` (one file per plan).
//!
//! Reading the files ([`read_dir`]) is the only I/O here; [`analyze`] turns their text into a
//! validated [`Config`] and diagnostics without touching the disk, so it is testable on strings
//! and reload can check a new config before it replaces the running one.

pub mod channels;
pub mod diag;
pub mod model;
mod names;
mod raw;
mod read;
mod recover;
pub mod settings;
mod validate;
pub mod web;

pub use channels::{EmailSettings, Tls, Transport, WebhookSettings, ZaloSettings};
pub use diag::{Diagnostic, Severity, Source};
pub use model::{Agency, Channel, Config, Group, Level, Plan, Task};
pub use names::Named;
pub use settings::{parse_cron, CronError, DEFAULT_REMINDERS};
pub use validate::{
    analyze, is_plain_email, normalize_phone, Analysis, DEFAULT_TIMEZONE, MAX_GROUP_DEPTH,
    MAX_TITLE_CHARS,
};

pub use read::{read_dir, FileError, MAX_FILE_BYTES};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const SETTINGS_FILE: &str = "nhacviec.toml";
pub const DEFAULT_AGENCIES: &str = "agencies.toml";
pub const DEFAULT_PLANS: &str = "plans";

/// The text of every config file, and the problems met reading them.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `None` when there is no `nhacviec.toml` (all settings take their defaults).
    pub settings: Option<Source>,
    pub agencies: Option<Source>,
    pub plans: Vec<Source>,
    /// The plans directory, as shown to the admin.
    pub plans_dir: String,
    /// Message templates (`templates/*.j2`); missing ones take the shipped defaults.
    pub templates: Vec<Source>,
    /// Files that could not be read.
    pub problems: Vec<Diagnostic>,
    /// When the files were read (a plan closed in the future is an error); `None` in memory.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// The certificate files the settings name (`[email] ca_file`), read with the rest, as
    /// the number of certificates in each or why it is unusable: analysis reads no disk.
    pub certificates: BTreeMap<PathBuf, Result<usize, read::FileError>>,
}

impl Sources {
    /// Files held in memory (tests, benchmarks, fuzzing): the agencies, the plans under
    /// `plans/`, and optionally the settings; no templates, nothing unreadable.
    pub fn in_memory(settings: Option<Source>, agencies: Source, plans: Vec<Source>) -> Sources {
        Sources {
            settings,
            agencies: Some(agencies),
            plans,
            plans_dir: "plans".into(),
            ..Sources::default()
        }
    }
}

/// Reads and checks a config directory in one call.
pub fn load(dir: &Path) -> Analysis {
    analyze(&read_dir(dir))
}
