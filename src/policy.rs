//! The reminder policy: when before and after a deadline agencies are reminded, who gets which
//! reminder, and when the monitoring agency is copied. Set in `[policy]` of the settings and
//! overridable, key by key, in a plan's `[policy]` and in a task's `policy = { ... }`.

use serde::Serialize;

/// How the days before a deadline are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DayCount {
    /// Calendar days; a reminder on a non-working day moves to the working day before.
    Calendar,
    /// Working days (the calendar's).
    Working,
}

/// Which reminders coordinating agencies get.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SupportSet {
    /// The first (earliest) reminder before the deadline.
    pub first: bool,
    /// The reminder on the day.
    pub due: bool,
    /// The reminders after the deadline.
    pub overdue: bool,
    /// Every reminder.
    pub all: bool,
    /// Reminders this many days before the deadline.
    pub days: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Days before the deadline to remind, largest first; 0 is the day itself.
    pub before: Vec<u32>,
    pub count: DayCount,
    /// After the deadline: every so many days...
    pub overdue_every: u32,
    /// ... up to this many times.
    pub overdue_times: u32,
    pub support: SupportSet,
    /// Days overdue after which the monitoring agency is copied; `None` never.
    pub escalate_after: Option<u32>,
    /// An RRULE nudging agencies about continuous ("Thường xuyên") tasks; `None` never.
    pub nudge: Option<String>,
    /// Whether coordinators are still reminded of a deadline once every lead is done.
    pub support_after_lead_done: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            before: vec![14, 7, 3, 1, 0],
            count: DayCount::Calendar,
            overdue_every: 7,
            overdue_times: 4,
            support: SupportSet {
                first: true,
                due: true,
                ..SupportSet::default()
            },
            escalate_after: Some(7),
            nudge: None,
            support_after_lead_done: false,
        }
    }
}

impl Policy {
    /// Whether a coordinating agency gets the reminder `n` days before (0 = on the day).
    pub fn support_gets_before(&self, n: u32) -> bool {
        let s = &self.support;
        s.all
            || (s.due && n == 0)
            || (s.first && self.before.first() == Some(&n))
            || s.days.contains(&n)
    }

    /// Whether a coordinating agency gets the reminders after the deadline.
    pub fn support_gets_overdue(&self) -> bool {
        self.support.all || self.support.overdue
    }
}

/// The keys of a `[policy]` table, for error messages.
pub const KEYS: &[&str] = &[
    "before",
    "count",
    "overdue_every",
    "overdue_times",
    "support",
    "escalate_after",
    "nudge",
];

/// The words `support` accepts besides day numbers.
pub const SUPPORT_WORDS: &[&str] = &["first", "due", "overdue", "all"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_support_gets_first_and_due() {
        let p = Policy::default();
        assert!(p.support_gets_before(14));
        assert!(p.support_gets_before(0));
        assert!(!p.support_gets_before(7));
        assert!(!p.support_gets_overdue());
    }
}
