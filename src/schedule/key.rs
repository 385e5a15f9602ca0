//! A slot's stable identity, as the store records it: `plan|task|deadline|agency|role|kindN|about`
//! ([`SlotKey`]). Made by `Schedule::key` and read back by whoever needs its fields (the
//! skipped slots' listing, preview's filters, trial mode's split); nothing else builds or
//! splits the text. The format is what every stored state holds: it never changes.

use super::{Kind, Role};
use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;

/// One slot's key. `S` is `String` when read back, `&str` when made from a schedule's names
/// (no copy before the one `to_string`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SlotKey<S = String> {
    /// May hold a '|' (a plan number is the admin's text): the fields are read from the right.
    pub plan: S,
    pub task: S,
    pub deadline: NaiveDate,
    /// The recipient.
    pub agency: S,
    pub role: Role,
    pub kind: Kind,
    /// Days before the deadline (before/due), or the repeat number (overdue, escalation).
    pub n: u16,
    /// The agency the reminder is about (the late one, for an escalation).
    pub about: S,
}

impl Role {
    /// The role as a slot key writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Support => "support",
            Role::Monitor => "monitor",
        }
    }

    fn from_key(s: &str) -> Option<Role> {
        [Role::Lead, Role::Support, Role::Monitor]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

impl Kind {
    /// The kind as a slot key writes it (before its number).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Before => "before",
            Kind::Due => "due",
            Kind::Overdue => "overdue",
            Kind::Escalation => "escalation",
        }
    }

    fn from_key(s: &str) -> Option<Kind> {
        [Kind::Before, Kind::Due, Kind::Overdue, Kind::Escalation]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

impl<S: AsRef<str>> fmt::Display for SlotKey<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}|{}|{}|{}|{}|{}{}|{}",
            self.plan.as_ref(),
            self.task.as_ref(),
            self.deadline,
            self.agency.as_ref(),
            self.role.as_str(),
            self.kind.as_str(),
            self.n,
            self.about.as_ref()
        )
    }
}

/// Why a text is not a slot key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotKeyError {
    #[error("khoá lời nhắc thiếu trường (cần 8, có {0})")]
    Fields(usize),
    #[error("khoá lời nhắc có trường trống: {0}")]
    Empty(&'static str),
    #[error("khoá lời nhắc có hạn không đọc được: {0:?}")]
    Deadline(String),
    #[error("khoá lời nhắc có vai trò không rõ: {0:?}")]
    Role(String),
    #[error("khoá lời nhắc có loại không rõ: {0:?}")]
    Kind(String),
}

impl FromStr for SlotKey {
    type Err = SlotKeyError;

    fn from_str(s: &str) -> Result<SlotKey, SlotKeyError> {
        // Seven fields from the right; what is left is the plan, '|' and all.
        let mut right = s.rsplitn(7, '|');
        let mut next = || right.next();
        let (Some(about), Some(kind_n), Some(role), Some(agency), Some(deadline), Some(task)) =
            (next(), next(), next(), next(), next(), next())
        else {
            return Err(SlotKeyError::Fields(s.split('|').count()));
        };
        let Some(plan) = next() else {
            return Err(SlotKeyError::Fields(s.split('|').count()));
        };
        for (name, value) in [
            ("plan", plan),
            ("task", task),
            ("agency", agency),
            ("about", about),
        ] {
            if value.is_empty() {
                return Err(SlotKeyError::Empty(name));
            }
        }
        let deadline = NaiveDate::parse_from_str(deadline, "%Y-%m-%d")
            .map_err(|_| SlotKeyError::Deadline(deadline.to_string()))?;
        let role = Role::from_key(role).ok_or_else(|| SlotKeyError::Role(role.to_string()))?;
        let digits = kind_n
            .find(|c: char| c.is_ascii_digit())
            .ok_or_else(|| SlotKeyError::Kind(kind_n.to_string()))?;
        let (kind_text, n) = kind_n.split_at(digits);
        let kind =
            Kind::from_key(kind_text).ok_or_else(|| SlotKeyError::Kind(kind_n.to_string()))?;
        let n = n
            .parse()
            .map_err(|_| SlotKeyError::Kind(kind_n.to_string()))?;
        Ok(SlotKey {
            plan: plan.to_string(),
            task: task.to_string(),
            deadline,
            agency: agency.to_string(),
            role,
            kind,
            n,
            about: about.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(plan: &str, kind: Kind, n: u16) -> SlotKey {
        SlotKey {
            plan: plan.into(),
            task: "8.6".into(),
            deadline: NaiveDate::from_ymd_opt(2022, 3, 31).unwrap(),
            agency: "so-tttt".into(),
            role: Role::Support,
            kind,
            n,
            about: "so-noi-vu".into(),
        }
    }

    #[test]
    fn the_stored_format_is_unchanged() {
        assert_eq!(
            key("50/KH-UBND", Kind::Before, 7).to_string(),
            "50/KH-UBND|8.6|2022-03-31|so-tttt|support|before7|so-noi-vu"
        );
        let made = SlotKey {
            plan: "1/KH",
            task: "2",
            deadline: NaiveDate::from_ymd_opt(2022, 1, 5).unwrap(),
            agency: "a",
            role: Role::Monitor,
            kind: Kind::Escalation,
            n: 0,
            about: "b",
        };
        assert_eq!(
            made.to_string(),
            "1/KH|2|2022-01-05|a|monitor|escalation0|b"
        );
    }

    #[test]
    fn every_key_reads_back_to_itself() {
        for plan in ["50/KH-UBND", "A|B", "x||y"] {
            for kind in [Kind::Before, Kind::Due, Kind::Overdue, Kind::Escalation] {
                for n in [0, 1, 12, u16::MAX] {
                    let k = key(plan, kind, n);
                    let text = k.to_string();
                    assert_eq!(text.parse::<SlotKey>(), Ok(k), "{text}");
                }
            }
        }
    }

    #[test]
    fn what_is_not_a_key_is_refused_with_its_reason() {
        let parse = |s: &str| s.parse::<SlotKey>().unwrap_err();
        assert_eq!(parse("a|b"), SlotKeyError::Fields(2));
        assert_eq!(
            parse("p|t|2022-13-01|a|lead|due0|a"),
            SlotKeyError::Deadline("2022-13-01".into())
        );
        assert_eq!(
            parse("p|t|2022-01-01|a|boss|due0|a"),
            SlotKeyError::Role("boss".into())
        );
        assert_eq!(
            parse("p|t|2022-01-01|a|lead|due|a"),
            SlotKeyError::Kind("due".into())
        );
        assert_eq!(
            parse("p|t|2022-01-01|a|lead|late3|a"),
            SlotKeyError::Kind("late3".into())
        );
        assert_eq!(
            parse("p|t|2022-01-01|a|lead|due99999|a"),
            SlotKeyError::Kind("due99999".into())
        );
        assert_eq!(
            parse("|t|2022-01-01|a|lead|due0|a"),
            SlotKeyError::Empty("plan")
        );
    }
}
