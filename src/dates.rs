//! Dates as admins read and write them: the one dd/mm/yyyy formatter ([`dmy`]), a time in
//! the configured zone, and the parsing of `--now` and of dates typed on the command line.
//! Pure: the zone is passed in.

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// A date as every Vietnamese text of the service writes it: "01/06/2022".
pub fn dmy(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// A time as the service's texts write it: "07:30 30/11/2026", in the time's own zone.
pub fn hm_dmy<Z: TimeZone>(t: &DateTime<Z>) -> String
where
    Z::Offset: std::fmt::Display,
{
    format!("{} {}", t.format("%H:%M"), dmy(t.date_naive()))
}

/// Parses a date as admins write it: `2022-06-01` or `01/06/2022` (also `1/6/2022`).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// Parses `--now`: an RFC 3339 date-time, or a date meaning 00:00 that day in `tz`.
pub fn parse_now(s: &str, tz: Tz) -> Option<DateTime<Tz>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(dt.with_timezone(&tz));
    }
    let date = parse_date(s)?;
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()
}

/// An RFC 3339 time from the store, in the config's zone: "08:00 03/12/2026 (+07:00)". Text
/// that does not parse is shown as it is.
pub fn local_time(rfc3339: &str, tz: Tz) -> String {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => local_instant(&t, tz),
        Err(_) => rfc3339.to_string(),
    }
}

/// An instant in the config's zone, as [`local_time`] writes it.
pub fn local_instant<Z: TimeZone>(t: &DateTime<Z>, tz: Tz) -> String {
    let t = t.with_timezone(&tz);
    format!("{} ({})", hm_dmy(&t), t.format("%:z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_day_month_year_and_read_both_ways() {
        let d = NaiveDate::from_ymd_opt(2022, 6, 1).unwrap();
        assert_eq!(dmy(d), "01/06/2022");
        assert_eq!(parse_date(" 1/6/2022 "), Some(d));
        assert_eq!(parse_date("2022-06-01"), Some(d));
        assert_eq!(parse_date("32/1/2022"), None);
        let tz: Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
        let t = DateTime::parse_from_rfc3339("2026-11-30T00:30:00Z").unwrap();
        assert_eq!(hm_dmy(&t.with_timezone(&tz)), "07:30 30/11/2026");
    }

    #[test]
    fn store_times_show_in_the_configured_zone() {
        let tz: Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
        assert_eq!(
            local_time("2026-12-03T01:00:00+00:00", tz),
            "08:00 03/12/2026 (+07:00)"
        );
        assert_eq!(local_time("garbage", tz), "garbage");
    }
}
