//! Every entry of the `meta` table: its key and the type of its value ([`Entry`]). The store
//! reads and writes meta only through these (`Store::get`, `Store::put`, `LedgerView::get`,
//! [`Put`] in `record_extra`); no key is written as text anywhere else. The stored texts are
//! those every state already holds (dates `YYYY-MM-DD`, times RFC 3339, JSON for the mail
//! server's refusals): nothing to migrate. A value that does not read back is an error
//! (`StoreError::Meta`), never a silent default.
//!
//! Entries marked "per ledger" are kept apart for trial mode, under `trial:` (`Ledger`).

use super::Ledger;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One meta entry: where it is kept and how its value is written.
pub trait Entry {
    type Value;
    /// The key in the real ledger (see [`Ledger::key`] for trial mode's).
    fn key(&self) -> Cow<'_, str>;
    fn encode(&self, value: &Self::Value) -> String;
    fn decode(&self, text: &str) -> Option<Self::Value>;
}

/// A value to write with other changes in one transaction (`Store::record_extra`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub(super) key: String,
    pub(super) value: String,
}

impl Put {
    /// `entry` set to `value` in `ledger`.
    pub fn of<E: Entry>(ledger: Ledger, entry: &E, value: &E::Value) -> Put {
        Put {
            key: ledger.key(&entry.key()),
            value: entry.encode(value),
        }
    }
}

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The weekly report's times, whole seconds (croner keeps the sub-second part of `now`).
fn whole_seconds(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

macro_rules! entry {
    ($(#[$doc:meta])* $name:ident, $key:literal, $value:ty, $encode:expr, $decode:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;

        impl Entry for $name {
            type Value = $value;
            fn key(&self) -> Cow<'_, str> {
                Cow::Borrowed($key)
            }
            fn encode(&self, value: &$value) -> String {
                let encode: fn(&$value) -> String = $encode;
                encode(value)
            }
            fn decode(&self, text: &str) -> Option<$value> {
                let decode: fn(&str) -> Option<$value> = $decode;
                decode(text)
            }
        }
    };
}

entry!(
    /// Random per database, in Message-IDs (`Store::instance_id`).
    Instance, "instance", String, |v| v.clone(), |t| Some(t.to_string())
);
entry!(
    /// Per ledger: the last day whose ticks were fully recorded.
    Watermark, "watermark", NaiveDate, |d| d.format("%Y-%m-%d").to_string(), day
);
entry!(
    /// Per ledger: the schedule's fingerprint through the watermark
    /// (`Schedule::fingerprint_through`).
    SlotsFingerprint, "slots_fingerprint", String, |v| v.clone(), |t| Some(t.to_string())
);
entry!(
    /// Per ledger: the day of the admin's last daily summary.
    AdminSummaryDay, "admin_summary_day", NaiveDate, |d| d.format("%Y-%m-%d").to_string(), day
);
entry!(
    /// Set by `nhacviec retry` (when): the service tries the mail server again at once, past
    /// its session breaker, and removes it.
    ResetBreaker, "reset_breaker", DateTime<Utc>, |t| t.to_rfc3339(), instant
);
entry!(
    /// Why the Zalo channel stopped (a failed token refresh); removed by `zalo login`.
    ZaloStopped, "zalo_stopped", String, |v| v.clone(), |t| Some(t.to_string())
);
entry!(
    /// The admin's alert that Zalo stopped.
    ZaloStopAlert, "zalo_stop_alert", StopAlert, |a| a.as_str().to_string(), StopAlert::parse
);
entry!(
    /// ZNS quota left, as Zalo last said it (its text).
    ZaloQuotaRemaining, "zalo_quota_remaining", String, |v| v.clone(), |t| Some(t.to_string())
);
entry!(
    /// The day (in the config's zone) of [`ZaloQuotaRemaining`].
    ZaloQuotaDay, "zalo_quota_day", NaiveDate, |d| d.format("%Y-%m-%d").to_string(), day
);
entry!(
    /// Set while the mail server refuses every message (`/healthz`, the metric): `{since,
    /// error}`.
    EmailRefused, "email_refused", RefusalSpell, json, |t| serde_json::from_str(t).ok()
);
entry!(
    /// Past spells of refusal, for the admin's next daily summary.
    EmailRefusedSpells,
    "email_refused_spells",
    Vec<RefusalSpell>,
    json,
    |t| serde_json::from_str(t).ok()
);

fn json<T: serde::Serialize>(value: &T) -> String {
    // Plain strings only: serialising cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// Per ledger: the latest report time made (or noted as passed) for a monitoring office,
/// whole seconds. `None`: the settings' monitor (the key stores kept before plans had offices
/// of their own); `Some(agency)`: a plan's own office, `weekly_report_at:<agency>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyReportAt<'a>(pub Option<&'a str>);

/// Per ledger: where the next weekly report's week starts, the time of the last report made.
/// Unlike [`WeeklyReportAt`], a report time noted but not sent (missed while the service was
/// stopped) does not move it, so what was recorded before goes in the next report made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyReportWeekFrom<'a>(pub Option<&'a str>);

fn per_office<'a>(key: &'static str, office: Option<&str>) -> Cow<'a, str> {
    match office {
        None => Cow::Borrowed(key),
        Some(agency) => Cow::Owned(format!("{key}:{agency}")),
    }
}

impl Entry for WeeklyReportAt<'_> {
    type Value = DateTime<Utc>;
    fn key(&self) -> Cow<'_, str> {
        per_office("weekly_report_at", self.0)
    }
    fn encode(&self, value: &DateTime<Utc>) -> String {
        whole_seconds(value)
    }
    fn decode(&self, text: &str) -> Option<DateTime<Utc>> {
        instant(text)
    }
}

impl Entry for WeeklyReportWeekFrom<'_> {
    type Value = DateTime<Utc>;
    fn key(&self) -> Cow<'_, str> {
        per_office("weekly_report_week_from", self.0)
    }
    fn encode(&self, value: &DateTime<Utc>) -> String {
        whole_seconds(value)
    }
    fn decode(&self, text: &str) -> Option<DateTime<Utc>> {
        instant(text)
    }
}

/// Where the admin's alert that Zalo stopped stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAlert {
    /// The channel stopped; the alert is to be queued.
    Pending,
    /// Queued.
    Sent,
    /// Nobody is configured to tell (`[email] admin`).
    NoAdmin,
}

impl StopAlert {
    pub fn as_str(self) -> &'static str {
        match self {
            StopAlert::Pending => "pending",
            StopAlert::Sent => "sent",
            StopAlert::NoAdmin => "no-admin",
        }
    }

    fn parse(text: &str) -> Option<StopAlert> {
        [StopAlert::Pending, StopAlert::Sent, StopAlert::NoAdmin]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// A spell of refusal: since (RFC 3339), until (RFC 3339, empty while it lasts), the error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefusalSpell {
    pub since: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub until: String,
    pub error: String,
}

/// Every key a meta entry may have, but the weekly reports' per-office suffixes (and trial
/// mode's prefix): what the tests check the store against.
pub const KEYS: &[&str] = &[
    "instance",
    "watermark",
    "slots_fingerprint",
    "admin_summary_day",
    "reset_breaker",
    "zalo_stopped",
    "zalo_stop_alert",
    "zalo_quota_remaining",
    "zalo_quota_day",
    "email_refused",
    "email_refused_spells",
    "weekly_report_at",
    "weekly_report_week_from",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<E: Entry>(entry: E, value: E::Value, text: &str)
    where
        E::Value: PartialEq + std::fmt::Debug,
    {
        assert_eq!(entry.encode(&value), text);
        assert_eq!(entry.decode(text), Some(value));
    }

    #[test]
    fn each_value_is_written_as_stores_hold_it_and_reads_back() {
        let d = NaiveDate::from_ymd_opt(2022, 5, 25).unwrap();
        let t = instant("2022-05-30T00:30:00Z").unwrap();
        round_trip(Watermark, d, "2022-05-25");
        round_trip(AdminSummaryDay, d, "2022-05-25");
        round_trip(ZaloQuotaDay, d, "2022-05-25");
        round_trip(WeeklyReportAt(None), t, "2022-05-30T00:30:00Z");
        round_trip(WeeklyReportWeekFrom(Some("vp")), t, "2022-05-30T00:30:00Z");
        round_trip(ResetBreaker, t, "2022-05-30T00:30:00+00:00");
        round_trip(ZaloStopAlert, StopAlert::NoAdmin, "no-admin");
        round_trip(ZaloStopAlert, StopAlert::Pending, "pending");
        round_trip(ZaloStopAlert, StopAlert::Sent, "sent");
        round_trip(SlotsFingerprint, "00ab-3".to_string(), "00ab-3");
        let spell = RefusalSpell {
            since: "2026-12-02T01:00:00+00:00".into(),
            until: String::new(),
            error: "x".into(),
        };
        round_trip(
            EmailRefused,
            spell.clone(),
            r#"{"since":"2026-12-02T01:00:00+00:00","error":"x"}"#,
        );
        round_trip(
            EmailRefusedSpells,
            vec![spell],
            r#"[{"since":"2026-12-02T01:00:00+00:00","error":"x"}]"#,
        );
        // A report time with its sub-second part is written in whole seconds.
        let odd = instant("2022-05-30T00:30:00.75+07:00").unwrap();
        assert_eq!(WeeklyReportAt(None).encode(&odd), "2022-05-29T17:30:00Z");
    }

    #[test]
    fn what_does_not_read_is_none_not_a_default() {
        assert_eq!(Watermark.decode("25/05/2022"), None);
        assert_eq!(WeeklyReportAt(None).decode("hôm qua"), None);
        assert_eq!(ZaloStopAlert.decode("done"), None);
        assert_eq!(EmailRefusedSpells.decode("{"), None);
    }

    #[test]
    fn keys_per_office_and_per_ledger() {
        assert_eq!(WeeklyReportAt(None).key(), "weekly_report_at");
        assert_eq!(
            WeeklyReportAt(Some("so-tttt")).key(),
            "weekly_report_at:so-tttt"
        );
        assert_eq!(
            Put::of(
                Ledger::Trial,
                &WeeklyReportWeekFrom(Some("a")),
                &instant("2022-05-30T00:30:00Z").unwrap()
            ),
            Put {
                key: "trial:weekly_report_week_from:a".into(),
                value: "2022-05-30T00:30:00Z".into()
            }
        );
        let names = [
            Instance.key(),
            Watermark.key(),
            SlotsFingerprint.key(),
            AdminSummaryDay.key(),
            ResetBreaker.key(),
            ZaloStopped.key(),
            ZaloStopAlert.key(),
            ZaloQuotaRemaining.key(),
            ZaloQuotaDay.key(),
            EmailRefused.key(),
            EmailRefusedSpells.key(),
            WeeklyReportAt(None).key(),
            WeeklyReportWeekFrom(None).key(),
        ];
        assert_eq!(names.map(|n| n.into_owned()).to_vec(), KEYS);
    }
}
