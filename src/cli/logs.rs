//! The service's logs (English): where they go and the time they carry.

use chrono::Utc;
use chrono_tz::Tz;

/// Log timestamps in the config's timezone with the offset (RFC 3339, milliseconds): an admin
/// reads "2026-12-03T08:00:00.123+07:00" whatever the server's own zone (often UTC).
struct LocalTime(Tz);

impl tracing_subscriber::fmt::time::FormatTime for LocalTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(
            w,
            "{}",
            Utc::now()
                .with_timezone(&self.0)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
        )
    }
}

/// The `timezone` of `<dir>/nhacviec.toml`, read before the config is loaded (logs start
/// first); Vietnam's when absent or unreadable, as the config's own default.
pub fn timezone(dir: &std::path::Path) -> Tz {
    let path = dir.join("nhacviec.toml");
    // Only a regular file of a settings file's size: never block on a FIFO here.
    std::fs::metadata(&path)
        .ok()
        .filter(|m| m.is_file() && m.len() <= 1 << 20)
        .and_then(|_| std::fs::read_to_string(&path).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| t.get("timezone")?.as_str()?.parse::<Tz>().ok())
        .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh)
}

/// Logs in English: to journald when run under it (JOURNAL_STREAM), JSON lines when
/// NHACVIEC_LOG_FORMAT=json, human-readable on stderr otherwise (colours only on a terminal).
/// NHACVIEC_LOG (or RUST_LOG) sets the level; by default the scheduler crate's start-up
/// chatter is left out.
pub fn init(tz: Tz) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("NHACVIEC_LOG")
            .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
            .unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,tokio_cron_scheduler=warn")
            })
    };
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journald) = tracing_journald::layer() {
            tracing_subscriber::registry()
                .with(filter())
                .with(journald)
                .init();
            return;
        }
    }
    if std::env::var("NHACVIEC_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing_subscriber::fmt()
            .json()
            .with_timer(LocalTime(tz))
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_timer(LocalTime(tz))
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init();
    }
}
