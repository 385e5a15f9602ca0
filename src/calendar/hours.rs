//! When deliveries may go out: on working days, inside the send hours (local time). An office
//! mailing reminders at 23:13 or on a Sunday is not one agencies trust.

use super::Calendar;
use chrono::{Days, NaiveDateTime, NaiveTime};

/// `[schedule] send_hours`: one or more ranges of the day, each from its start (inclusive) to
/// its end (exclusive), local time, on working days ("07:30-11:30, 13:30-17:00": not over the
/// lunch break); or `always` ("always": any day, any hour, for a deployment that wants it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendHours {
    /// Sorted, not overlapping; empty only when `always`.
    ranges: Vec<(NaiveTime, NaiveTime)>,
    pub always: bool,
}

pub const DEFAULT_SEND_HOURS: &str = "07:30-17:00";

impl Default for SendHours {
    fn default() -> Self {
        SendHours {
            ranges: vec![(
                NaiveTime::from_hms_opt(7, 30, 0).unwrap_or(NaiveTime::MIN),
                NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN),
            )],
            always: false,
        }
    }
}

/// One time of day as admins write it: "7:30", "07:30", "7h30", "7h", "17".
fn time_of_day(s: &str) -> Option<NaiveTime> {
    let s = s.trim().to_lowercase();
    let (h, m) = match s.split_once([':', 'h', 'g']) {
        Some((h, m)) => (h.trim(), m.trim()),
        None => (s.as_str(), ""),
    };
    let digits = |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !(m.is_empty() || digits(m)) {
        return None;
    }
    let hour: u32 = h.parse().ok()?;
    let minute: u32 = if m.is_empty() { 0 } else { m.parse().ok()? };
    if hour == 24 && minute == 0 {
        // "17:00-24:00": the end of the day.
        return NaiveTime::from_hms_opt(23, 59, 59);
    }
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// One range, "07:30-11:30"; the error names it.
fn range(t: &str) -> Result<(NaiveTime, NaiveTime), crate::text::Invalid> {
    let Some((a, b)) = t.split_once(['-', '–', '—']) else {
        return Err(format!(
            "giờ gửi \"{t}\" không đúng dạng: cần giờ bắt đầu và giờ kết thúc, cách nhau bằng dấu -"
        )
        .into());
    };
    let (Some(start), Some(end)) = (time_of_day(a), time_of_day(b)) else {
        return Err(format!(
            "giờ gửi \"{t}\" không đúng dạng: giờ viết như 07:30, từ 00:00 đến 24:00"
        )
        .into());
    };
    if start >= end {
        return Err(format!(
            "giờ gửi \"{t}\": giờ bắt đầu phải trước giờ kết thúc (trong cùng một ngày)"
        )
        .into());
    }
    Ok((start, end))
}

fn describe_range((start, end): (NaiveTime, NaiveTime)) -> String {
    format!("{}–{}", start.format("%H:%M"), end.format("%H:%M"))
}

impl SendHours {
    /// "07:30-17:00" (also "7h30 - 17h", "7:30–17:00"), or several ranges separated by commas
    /// or semicolons: "07:30-11:30, 13:30-17:00". The error is shown to the admin and names the
    /// range at fault (reversed, or overlapping another).
    pub fn parse(text: &str) -> Result<SendHours, crate::text::Invalid> {
        let t = text.trim();
        if t.is_empty() {
            return Err("giờ gửi để trống".into());
        }
        if t.eq_ignore_ascii_case("always") {
            return Ok(SendHours {
                ranges: Vec::new(),
                always: true,
            });
        }
        let mut ranges = Vec::new();
        for part in t.split([',', ';']) {
            let part = part.trim();
            if part.is_empty() {
                return Err(
                    format!("giờ gửi \"{t}\" có một khoảng để trống giữa hai dấu phẩy").into(),
                );
            }
            ranges.push((range(part)?, part));
        }
        ranges.sort_by_key(|((start, _), _)| *start);
        for pair in ranges.windows(2) {
            let ((_, end), a) = pair[0];
            let ((start, _), b) = pair[1];
            if start < end {
                return Err(format!(
                    "giờ gửi \"{b}\" chồng lên khoảng \"{a}\": các khoảng giờ gửi không được chồng nhau"
                ).into());
            }
        }
        Ok(SendHours {
            ranges: ranges.into_iter().map(|(r, _)| r).collect(),
            always: false,
        })
    }

    /// The ranges, sorted (none for `always`).
    pub fn ranges(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.ranges
    }

    /// "07:30–11:30, 13:30–17:00", as shown to the admin.
    pub fn describe(&self) -> String {
        if self.always {
            return "mọi lúc".into();
        }
        self.ranges
            .iter()
            .map(|r| describe_range(*r))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether `t` (local time) is inside the send hours of a working day.
    pub fn is_open(&self, calendar: &Calendar, t: NaiveDateTime) -> bool {
        self.always
            || (calendar.is_working_day(t.date())
                && self
                    .ranges
                    .iter()
                    .any(|(start, end)| t.time() >= *start && t.time() < *end))
    }

    /// `t` if it is open, else the next opening (local time): a later range the same working
    /// day, else the first range of the next working day. Looks a year ahead at most: a
    /// calendar with no working day in a year is not one this can serve.
    pub fn next_open(&self, calendar: &Calendar, t: NaiveDateTime) -> NaiveDateTime {
        if self.is_open(calendar, t) {
            return t;
        }
        let Some(first) = self.ranges.first().map(|r| r.0) else {
            return t;
        };
        let mut day = t.date();
        if calendar.is_working_day(day) {
            if let Some((start, _)) = self.ranges.iter().find(|(start, _)| t.time() < *start) {
                return day.and_time(*start);
            }
        }
        for _ in 0..366 {
            let Some(next) = day.checked_add_days(Days::new(1)) else {
                break;
            };
            day = next;
            if calendar.is_working_day(day) {
                return day.and_time(first);
            }
        }
        t
    }
}

impl SendHours {
    /// When a pass due at `t` (outside the hours) runs: at the next opening, or at
    /// `next_tick` (the first scheduled tick at or after that opening) if it falls in the same
    /// day and hours (so the day after a holiday is looked at at 08:00 as usual, not at 07:30
    /// and again at 08:00).
    pub fn deferred_to(
        &self,
        calendar: &Calendar,
        t: NaiveDateTime,
        next_tick: impl FnOnce(NaiveDateTime) -> Option<NaiveDateTime>,
    ) -> NaiveDateTime {
        let opens = self.next_open(calendar, t);
        match next_tick(opens) {
            Some(n) if n >= opens && n.date() == opens.date() && self.is_open(calendar, n) => n,
            _ => opens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Overrides;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn parses_what_admins_write() {
        let default = SendHours::default();
        for s in ["07:30-17:00", "7:30 - 17:00", "7h30-17h", "7g30–17g00"] {
            assert_eq!(SendHours::parse(s), Ok(default.clone()), "{s}");
        }
        assert_eq!(
            SendHours::parse("0-24").map(|h| h.ranges()[0].1),
            Ok(NaiveTime::from_hms_opt(23, 59, 59).unwrap())
        );
        assert!(SendHours::parse("always").is_ok_and(|h| h.always));
        let two = SendHours::parse("13:30-17:00; 07:30-11:30").unwrap();
        assert_eq!(two.describe(), "07:30–11:30, 13:30–17:00");
        assert_eq!(SendHours::parse("07:30-11:30, 13:30-17:00"), Ok(two));
        // Touching ranges are allowed; overlapping or reversed ones are named.
        assert!(SendHours::parse("07:30-11:30, 11:30-17:00").is_ok());
        let e = SendHours::parse("07:30-12:00, 11:30-17:00").unwrap_err().0;
        assert!(
            e.contains("\"11:30-17:00\"") && e.contains("\"07:30-12:00\""),
            "{e}"
        );
        let e = SendHours::parse("07:30-11:30, 17:00-13:30").unwrap_err().0;
        assert!(
            e.contains("\"17:00-13:30\"") && e.contains("trước giờ kết thúc"),
            "{e}"
        );
        assert!(SendHours::parse("07:30-11:30,").is_err());
        for bad in [
            "",
            "  ",
            "7:30",
            "17:00-07:30",
            "25:00-26:00",
            "7:60-8:00",
            "sáng-chiều",
            "07:30-11:30, sáng",
        ] {
            assert!(SendHours::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn outside_the_hours_waits_for_the_next_working_morning() {
        let cal = Calendar::new(Overrides::default(), 2026..=2027);
        let h = SendHours::default();
        // Wednesday 02/12/2026 23:13 → Thursday 07:30.
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 2, 23, 13)),
            at(2026, 12, 3, 7, 30)
        );
        // Thursday 06:00 → the same morning; 08:00 is open.
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 3, 6, 0)),
            at(2026, 12, 3, 7, 30)
        );
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 3, 8, 0)),
            at(2026, 12, 3, 8, 0)
        );
        // 17:00 is closed: Friday 17:00 → Monday 07:30.
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 4, 17, 0)),
            at(2026, 12, 7, 7, 30)
        );
        // "always": a Sunday night is open.
        let always = SendHours::parse("always").unwrap();
        assert_eq!(
            always.next_open(&cal, at(2026, 12, 6, 23, 0)),
            at(2026, 12, 6, 23, 0)
        );
        // A pass deferred at night runs at the morning's tick when there is one that day.
        assert_eq!(
            h.deferred_to(&cal, at(2026, 12, 2, 23, 13), |_| Some(at(
                2026, 12, 3, 8, 0
            ))),
            at(2026, 12, 3, 8, 0)
        );
        assert_eq!(
            h.deferred_to(&cal, at(2026, 12, 2, 23, 13), |_| Some(at(
                2026, 12, 4, 8, 0
            ))),
            at(2026, 12, 3, 7, 30)
        );
        assert_eq!(
            h.deferred_to(&cal, at(2026, 12, 2, 23, 13), |_| None),
            at(2026, 12, 3, 7, 30)
        );
        // New Year's Day 2027 is a Friday: Thursday evening → Monday 04/01/2027.
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 31, 18, 0)),
            at(2027, 1, 4, 7, 30)
        );
    }

    #[test]
    fn the_lunch_break_is_closed_and_a_pass_waits_for_the_afternoon() {
        let cal = Calendar::new(Overrides::default(), 2026..=2027);
        let h = SendHours::parse("07:30-11:30, 13:30-17:00").unwrap();
        // Thursday 03/12/2026.
        assert!(h.is_open(&cal, at(2026, 12, 3, 11, 29)));
        assert!(!h.is_open(&cal, at(2026, 12, 3, 11, 30)));
        assert!(!h.is_open(&cal, at(2026, 12, 3, 12, 0)));
        assert!(h.is_open(&cal, at(2026, 12, 3, 13, 30)));
        // A tick at 12:00 waits for 13:30 (the next cron tick, tomorrow 08:00, is not today).
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 3, 12, 0)),
            at(2026, 12, 3, 13, 30)
        );
        assert_eq!(
            h.deferred_to(&cal, at(2026, 12, 3, 12, 0), |_| Some(at(
                2026, 12, 4, 8, 0
            ))),
            at(2026, 12, 3, 13, 30)
        );
        // A tick of the afternoon (14:00) after the opening that day is kept.
        assert_eq!(
            h.deferred_to(&cal, at(2026, 12, 3, 12, 0), |_| Some(at(
                2026, 12, 3, 14, 0
            ))),
            at(2026, 12, 3, 14, 0)
        );
        // Before the morning: the morning range; after the afternoon: the next working day's
        // morning, across the weekend (Friday 17:30 → Monday 07:30).
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 3, 6, 0)),
            at(2026, 12, 3, 7, 30)
        );
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 4, 17, 30)),
            at(2026, 12, 7, 7, 30)
        );
        // A Saturday's lunchtime is not an opening: Monday's morning is.
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 5, 12, 0)),
            at(2026, 12, 7, 7, 30)
        );
        // Over New Year's Day (Friday 01/01/2027): Thursday's lunch break → its afternoon;
        // Thursday evening → Monday 04/01/2027.
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 31, 12, 0)),
            at(2026, 12, 31, 13, 30)
        );
        assert_eq!(
            h.next_open(&cal, at(2026, 12, 31, 18, 0)),
            at(2027, 1, 4, 7, 30)
        );
    }
}
