//! RFC 5545 recurrence rules (the `rrule` crate): checking a rule an admin wrote and listing
//! the deadlines it gives. Only dates matter: each occurrence is a deadline at the end of that
//! day, so rules are evaluated in UTC and read as plain dates.

use chrono::{NaiveDate, TimeZone};

/// Strips an optional "RRULE:" prefix and surrounding spaces.
pub fn normalize(rule: &str) -> &str {
    let r = rule.trim();
    r.strip_prefix("RRULE:").unwrap_or(r).trim()
}

/// The separator of several rules in one recurrence: "ngày 27 hằng tháng, riêng tháng Hai là
/// ngày cuối tháng" needs two, which no single RRULE expresses. Not a character of RRULE syntax.
pub const RULE_SEPARATOR: &str = " | ";

/// Up to `limit` deadlines of `rule` (one RRULE, or several joined by [`RULE_SEPARATOR`]) from
/// `start` (inclusive) to `until` (inclusive). An error (in Vietnamese) if a rule is not a
/// valid RRULE.
pub fn occurrences(
    rule: &str,
    start: NaiveDate,
    until: NaiveDate,
    limit: u16,
) -> Result<Vec<NaiveDate>, crate::text::Invalid> {
    let mut lines = Vec::new();
    for part in rule.split(RULE_SEPARATOR.trim()) {
        lines.push(format!("RRULE:{}", utc_until(checked(part)?)));
    }
    let text = format!(
        "DTSTART:{}T000000Z\n{}",
        start.format("%Y%m%d"),
        lines.join("\n")
    );
    let set: rrule::RRuleSet = text.parse().map_err(|e: rrule::RRuleError| {
        format!("quy tắc lặp lại (RRULE) không hợp lệ (chi tiết: {e})")
    })?;
    let tz = rrule::Tz::UTC;
    let after = tz.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default());
    let before_day = until.succ_opt().unwrap_or(until);
    let before = tz.from_utc_datetime(&before_day.and_hms_opt(0, 0, 0).unwrap_or_default());
    let result = set.after(after).before(before).all(limit);
    // Several rules may give the same day: one deadline.
    let mut dates: Vec<NaiveDate> = result.dates.iter().map(|d| d.date_naive()).collect();
    dates.dedup();
    Ok(dates)
}

/// One rule, without its "RRULE:" prefix, refused when it is a mistake the crate would accept
/// or explain badly.
fn checked(rule: &str) -> Result<&str, crate::text::Invalid> {
    let rule = normalize(rule);
    if rule.is_empty() {
        return Err("quy tắc lặp lại để trống".into());
    }
    if rule.contains(['\n', '\r']) || rule.to_ascii_uppercase().contains("DTSTART") {
        return Err(
            "chỉ ghi phần RRULE (ví dụ \"FREQ=MONTHLY;BYMONTHDAY=18\"), không ghi DTSTART".into(),
        );
    }
    let upper = rule.to_ascii_uppercase();
    if upper.contains("FREQ=QUARTERLY") {
        return Err("RRULE không có FREQ=QUARTERLY: hằng quý viết là \"FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1\" (ngày cuối mỗi quý) hoặc đổi -1 thành ngày cần nhắc".into());
    }
    if ["SECONDLY", "MINUTELY", "HOURLY"]
        .iter()
        .any(|f| upper.contains(&format!("FREQ={f}")))
    {
        return Err(
            "nhắc việc tính theo ngày: dùng FREQ=DAILY, WEEKLY, MONTHLY hoặc YEARLY".into(),
        );
    }
    Ok(rule)
}

/// Checks a rule an admin wrote: valid, and giving at least one deadline within two years of
/// `start` (a rule that never fires would silently send nothing).
pub fn check(rule: &str, start: NaiveDate) -> Result<(), crate::text::Invalid> {
    let end = start
        .checked_add_days(chrono::Days::new(731))
        .unwrap_or(start);
    if occurrences(rule, start, end, 1)?.is_empty() {
        return Err(format!(
            "quy tắc lặp lại không cho ngày nào từ {} đến {}",
            crate::dates::dmy(start),
            crate::dates::dmy(end)
        )
        .into());
    }
    Ok(())
}

/// UNTIL as a UTC date-time, to agree with the UTC DTSTART the rules are evaluated with: an
/// admin writes "UNTIL=20221231" and means the whole of that day.
fn utc_until(rule: &str) -> String {
    rule.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("UNTIL") => {
                let v = v.trim();
                if v.len() == 8 && v.chars().all(|c| c.is_ascii_digit()) {
                    format!("UNTIL={v}T235959Z")
                } else if v.ends_with(['Z', 'z']) {
                    format!("UNTIL={v}")
                } else {
                    format!("UNTIL={v}Z")
                }
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn dates(rule: &str, from: NaiveDate, until: NaiveDate) -> Vec<NaiveDate> {
        occurrences(rule, from, until, 10).unwrap()
    }

    #[test]
    fn quarterly_on_the_18th() {
        let got = dates(
            "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18",
            d(2022, 3, 24),
            d(2022, 12, 31),
        );
        assert_eq!(got, vec![d(2022, 6, 18), d(2022, 9, 18), d(2022, 12, 18)]);
    }

    #[test]
    fn end_of_month_and_setpos() {
        let got = dates(
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
            d(2023, 1, 1),
            d(2023, 3, 31),
        );
        assert_eq!(got, vec![d(2023, 1, 30), d(2023, 2, 28), d(2023, 3, 30)]);
    }

    #[test]
    fn until_as_admins_write_it() {
        let got = dates(
            "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20220531",
            d(2022, 3, 24),
            d(2022, 12, 31),
        );
        assert_eq!(got, vec![d(2022, 3, 31), d(2022, 4, 30), d(2022, 5, 31)]);
        assert!(occurrences(
            "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20220531T235959",
            d(2022, 3, 24),
            d(2022, 12, 31),
            10
        )
        .is_ok());
    }

    #[test]
    fn rules_that_never_fire_or_fire_hourly_are_refused() {
        assert!(check("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", d(2022, 1, 1)).is_err());
        assert!(check("FREQ=HOURLY", d(2022, 1, 1)).is_err());
        assert!(check("FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18", d(2022, 3, 24)).is_ok());
    }

    #[test]
    fn several_rules_give_their_union() {
        let got = dates("FREQ=MONTHLY;BYMONTH=1,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=27 | FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", d(2024, 1, 1), d(2024, 3, 31));
        assert_eq!(got, vec![d(2024, 1, 27), d(2024, 2, 29), d(2024, 3, 27)]);
        assert!(occurrences("FREQ=MONTHLY | ", d(2024, 1, 1), d(2024, 3, 31), 10).is_err());
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
        assert!(quarterly.unwrap_err().0.contains("BYMONTH=3,6,9,12"));
        assert!(occurrences(
            "FREQ=DAILY\nDTSTART:2020",
            d(2022, 1, 1),
            d(2022, 12, 31),
            5
        )
        .is_err());
    }
}
