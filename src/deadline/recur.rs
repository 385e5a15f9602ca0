//! RFC 5545 recurrence rules (the `rrule` crate): checking a rule an admin wrote and listing
//! the deadlines it gives. Only dates matter: each occurrence is a deadline at the end of that
//! day, so rules are evaluated in UTC and read as plain dates.

use chrono::{NaiveDate, TimeZone};

/// Strips an optional "RRULE:" prefix and surrounding spaces.
pub fn normalize(rule: &str) -> &str {
    let r = rule.trim();
    r.strip_prefix("RRULE:").unwrap_or(r).trim()
}

/// Up to `limit` deadlines of `rule` from `start` (inclusive) to `until` (inclusive).
/// An error (in Vietnamese) if the rule is not a valid RRULE.
pub fn occurrences(
    rule: &str,
    start: NaiveDate,
    until: NaiveDate,
    limit: u16,
) -> Result<Vec<NaiveDate>, String> {
    let rule = normalize(rule);
    if rule.is_empty() {
        return Err("quy tắc lặp lại để trống".into());
    }
    if rule.contains(['\n', '\r']) || rule.to_ascii_uppercase().contains("DTSTART") {
        return Err(
            "chỉ ghi phần RRULE (ví dụ \"FREQ=MONTHLY;BYMONTHDAY=18\"), không ghi DTSTART".into(),
        );
    }
    if rule.to_ascii_uppercase().contains("FREQ=QUARTERLY") {
        return Err("RRULE không có FREQ=QUARTERLY: hằng quý viết là \"FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1\" (ngày cuối mỗi quý) hoặc đổi -1 thành ngày cần nhắc".into());
    }
    let text = format!("DTSTART:{}T000000Z\nRRULE:{rule}", start.format("%Y%m%d"));
    let set: rrule::RRuleSet = text
        .parse()
        .map_err(|e: rrule::RRuleError| format!("quy tắc lặp lại (RRULE) không hợp lệ: {e}"))?;
    let tz = rrule::Tz::UTC;
    let after = tz.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default());
    let before_day = until.succ_opt().unwrap_or(until);
    let before = tz.from_utc_datetime(&before_day.and_hms_opt(0, 0, 0).unwrap_or_default());
    let result = set.after(after).before(before).all(limit);
    Ok(result.dates.iter().map(|d| d.date_naive()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn quarterly_on_the_18th() {
        let got = occurrences(
            "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18",
            d(2022, 3, 24),
            d(2022, 12, 31),
            10,
        )
        .unwrap();
        assert_eq!(got, vec![d(2022, 6, 18), d(2022, 9, 18), d(2022, 12, 18)]);
    }

    #[test]
    fn end_of_month_and_setpos() {
        let got = occurrences(
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
            d(2023, 1, 1),
            d(2023, 3, 31),
            10,
        )
        .unwrap();
        assert_eq!(got, vec![d(2023, 1, 30), d(2023, 2, 28), d(2023, 3, 30)]);
    }

    #[test]
    fn bad_rules_are_errors() {
        assert!(occurrences("FREQ=SOMETIMES", d(2022, 1, 1), d(2022, 12, 31), 5).is_err());
        assert!(occurrences("", d(2022, 1, 1), d(2022, 12, 31), 5).is_err());
        let quarterly = occurrences(
            "FREQ=QUARTERLY;BYMONTHDAY=1",
            d(2022, 1, 1),
            d(2022, 12, 31),
            5,
        );
        assert!(quarterly.unwrap_err().contains("BYMONTH=3,6,9,12"));
        assert!(occurrences(
            "FREQ=DAILY\nDTSTART:2020",
            d(2022, 1, 1),
            d(2022, 12, 31),
            5
        )
        .is_err());
    }
}
