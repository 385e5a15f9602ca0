//! What the commands' arguments share: the closed choices as clap value enums (never a
//! string matched later) and the parsing of `--now`, dates and `--mode`.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::ValueEnum;

/// An argument that names nothing in the config, or asks what cannot be (exit code 1, not 2:
/// the command worked; the admin has to fix the argument).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Xlsx,
    Csv,
    Docx,
}

/// `send-test --channel`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Channel {
    Email,
    Zalo,
    Webhook,
}

impl From<Channel> for nhacviec::config::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Email => nhacviec::config::Channel::Email,
            Channel::Zalo => nhacviec::config::Channel::Zalo,
            Channel::Webhook => nhacviec::config::Channel::Webhook,
        }
    }
}

/// `history --status`: a delivery's status, or the reminders passes skipped.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryStatus {
    Pending,
    Sent,
    Retrying,
    Dead,
    Skipped,
}

impl HistoryStatus {
    /// The delivery status as the store records it (`None`: skipped reminders, not deliveries).
    pub fn delivery(self) -> Option<nhacviec::store::DeliveryStatus> {
        use nhacviec::store::DeliveryStatus;
        match self {
            HistoryStatus::Pending => Some(DeliveryStatus::Pending),
            HistoryStatus::Sent => Some(DeliveryStatus::Sent),
            HistoryStatus::Retrying => Some(DeliveryStatus::Retrying),
            HistoryStatus::Dead => Some(DeliveryStatus::Dead),
            HistoryStatus::Skipped => None,
        }
    }
}

/// `--now`: the given instant in the config's zone, or the clock's.
pub fn now_in(tz: Tz, now: Option<&str>) -> anyhow::Result<DateTime<Tz>> {
    match now {
        Some(s) => nhacviec::dates::parse_now(s, tz).with_context(|| {
            format!("--now \"{s}\" không hợp lệ: dùng 2022-05-25T08:00:00+07:00 hoặc 25/05/2022")
        }),
        None => Ok(Utc::now().with_timezone(&tz)),
    }
}

pub fn date_arg(name: &str, s: &str) -> anyhow::Result<NaiveDate> {
    nhacviec::dates::parse_date(s)
        .with_context(|| format!("{name} \"{s}\" không hợp lệ: dùng 2022-06-01 hoặc 01/06/2022"))
}

/// `--mode`: octal permissions of a file written, at most 777 (clap's value parser).
pub fn parse_mode(s: &str) -> anyhow::Result<u32> {
    u32::from_str_radix(s.trim().trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .with_context(|| format!("\"{s}\" không phải quyền tệp dạng bát phân (ví dụ 600, 640)"))
}
