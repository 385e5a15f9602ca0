//! Reminder slots recorded as skipped (`history --status skipped`), read back from their keys.

use super::agency_name;
use crate::config::Config;
use crate::dates::{dmy, local_time};
use crate::schedule::{Kind, Role, SlotKey};
use chrono::NaiveDate;
use serde::Serialize;

/// Why a reminder slot was recorded as skipped (the `reason` of the `slots` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A later reminder of the same stream went instead (after downtime).
    Superseded,
    /// Older than the catch-up horizon (`catch_up_days`) when first seen.
    Horizon,
}

impl SkipReason {
    /// From the stored text; rows from before the reason was recorded (schema 5) were all
    /// superseded.
    pub fn from_stored(s: Option<&str>) -> SkipReason {
        match s {
            Some("horizon") => SkipReason::Horizon,
            _ => SkipReason::Superseded,
        }
    }

    pub fn vi(self) -> &'static str {
        match self {
            SkipReason::Superseded => "đã có lời nhắc mới hơn",
            SkipReason::Horizon => "cũ hơn hạn gửi bù (catch_up_days)",
        }
    }
}

/// A reminder slot recorded as skipped, read back from its key (`Schedule::key`:
/// plan|task|deadline|agency|role|kindN|about).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedSlot {
    pub plan: String,
    pub task: String,
    pub deadline: NaiveDate,
    pub agency: String,
    pub role: Role,
    /// before, due, overdue or escalation.
    pub kind: Kind,
    /// Days before the deadline (before/due) or the repeat number (overdue).
    pub n: u16,
    /// The agency the reminder is about (the late one, for an escalation).
    pub about: String,
    pub reason: SkipReason,
    pub recorded_at: String,
    pub key: String,
}

impl SkippedSlot {
    /// Reads a slot key ([`SlotKey`]); `None` when the text is not one.
    pub fn parse(key: &str, reason: SkipReason, recorded_at: &str) -> Option<SkippedSlot> {
        let k: SlotKey = key.parse().ok()?;
        Some(SkippedSlot {
            plan: k.plan,
            task: k.task,
            deadline: k.deadline,
            agency: k.agency,
            role: k.role,
            kind: k.kind,
            n: k.n,
            about: k.about,
            reason,
            recorded_at: recorded_at.to_string(),
            key: key.to_string(),
        })
    }
}

impl SkippedSlot {
    /// The kind in words, with its number where it tells something.
    pub fn kind_vi(&self) -> String {
        match self.kind {
            Kind::Before => format!("{} {} ngày", Kind::Before.vi(), self.n),
            Kind::Overdue => format!("{} (lần {})", Kind::Overdue.vi(), self.n),
            Kind::Due | Kind::Escalation => self.kind.vi().to_string(),
        }
    }
}

/// `history --status skipped` as text, times in `tz`.
pub fn render_skipped_text(config: &Config, rows: &[SkippedSlot]) -> String {
    let mut out = String::new();
    for s in rows {
        let deadline = dmy(s.deadline);
        let about = if s.about != s.agency {
            format!("  [{}]", agency_name(config, &s.about))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}  {} {:<6} {} ({}) {:<9} {:<17} hạn {deadline}{about}\n        bỏ qua: {}\n",
            local_time(&s.recorded_at, config.timezone),
            crate::text::printable(&s.plan),
            crate::text::printable(&s.task),
            agency_name(config, &s.agency),
            crate::text::printable(&s.agency),
            s.role.vi(),
            s.kind_vi(),
            s.reason.vi()
        ));
    }
    if rows.is_empty() {
        out.push_str("Không có lời nhắc nào bị bỏ qua.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_key_reads_back_into_its_fields() {
        let s = SkippedSlot::parse(
            "50/KH-UBND|8.6|2022-03-31|so-tttt|lead|before7|so-tttt",
            SkipReason::Horizon,
            "2022-05-25T01:00:00+00:00",
        )
        .unwrap();
        assert_eq!(s.plan, "50/KH-UBND");
        assert_eq!(s.task, "8.6");
        assert_eq!(Some(s.deadline), NaiveDate::from_ymd_opt(2022, 3, 31));
        assert_eq!((s.kind, s.n), (Kind::Before, 7));
        assert_eq!(s.role, Role::Lead);
        assert_eq!(s.kind_vi(), "trước hạn 7 ngày");
        let odd = SkippedSlot::parse(
            "A|B|1|2022-01-01|x|support|overdue2|y",
            SkipReason::Superseded,
            "",
        )
        .unwrap();
        assert_eq!((odd.plan.as_str(), odd.task.as_str()), ("A|B", "1"));
        assert_eq!(SkippedSlot::parse("a|b", SkipReason::Horizon, ""), None);
    }
}
