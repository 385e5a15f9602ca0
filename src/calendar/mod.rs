//! The Vietnamese working-day calendar: Monday–Friday, minus public holidays (computed by the
//! Labour Code's rules, lunar ones by the Vietnamese lunar calendar), minus compensatory days
//! off, plus the make-up working days. A year's official announcement ([`announced`]) decides
//! its days off and make-up days where it has one; otherwise the Labour Code's "a holiday on a
//! weekend is made up on the next working day" does (from 1995: the 1994 Labour Code brought
//! it in). `[calendar]` adds and overrides on top of both.
//!
//! Holiday rules change (Tết grew from 4 to 5 days in 2014, 2/9 gained a second day in 2021,
//! 24/11 was added from 2026), so they are data with the years they apply, not code paths.

pub mod announced;
pub mod hours;
pub mod lunar;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

/// Days the admin adds to the computed calendar from the year's official announcement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Extra days off (a day moved next to Tết, an announced compensatory day).
    pub days_off: Vec<(NaiveDate, String)>,
    /// Days worked although they would be off (a Saturday worked in exchange, a computed
    /// compensatory day cancelled).
    pub workdays: Vec<(NaiveDate, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday, whatever weekday it falls on.
    Holiday,
    /// A weekday off in compensation (for a holiday on a weekend, or as announced).
    DayOff,
    /// A Saturday or Sunday worked in exchange.
    Workday,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

#[derive(Debug, Clone, Copy)]
enum When {
    Solar(u32, u32),
    /// Lunar month and day, in the lunar year that starts in this solar year.
    Lunar(u32, u32),
    /// The last day of the lunar year that ends in this solar year (the eve of Tết).
    LunarYearEnd,
    /// The day next to 2 September the Prime Minister pairs with it.
    NationalDayCompanion,
}

struct Rule {
    name: &'static str,
    from: i32,
    to: i32,
    when: When,
}

/// Public holidays (Labour Code 2019, Article 112, and the laws before it).
const RULES: &[Rule] = &[
    Rule {
        name: "Tết Dương lịch",
        from: 1900,
        to: 9999,
        when: When::Solar(1, 1),
    },
    Rule {
        name: "Tết Nguyên đán (ngày cuối năm Âm lịch)",
        from: 1900,
        to: 9999,
        when: When::LunarYearEnd,
    },
    Rule {
        name: "Tết Nguyên đán (mùng 1)",
        from: 1900,
        to: 9999,
        when: When::Lunar(1, 1),
    },
    Rule {
        name: "Tết Nguyên đán (mùng 2)",
        from: 1900,
        to: 9999,
        when: When::Lunar(1, 2),
    },
    Rule {
        name: "Tết Nguyên đán (mùng 3)",
        from: 1900,
        to: 9999,
        when: When::Lunar(1, 3),
    },
    // Labour Code 2012 (in force 1/5/2013): Tết became five days from Tết 2014 (Tết 2013 was
    // still four, as that year's announcement shows).
    Rule {
        name: "Tết Nguyên đán (mùng 4)",
        from: 2014,
        to: 9999,
        when: When::Lunar(1, 4),
    },
    // Giỗ Tổ Hùng Vương: a paid holiday since 2007.
    Rule {
        name: "Giỗ Tổ Hùng Vương",
        from: 2007,
        to: 9999,
        when: When::Lunar(3, 10),
    },
    Rule {
        name: "Ngày Chiến thắng",
        from: 1976,
        to: 9999,
        when: When::Solar(4, 30),
    },
    Rule {
        name: "Ngày Quốc tế Lao động",
        from: 1900,
        to: 9999,
        when: When::Solar(5, 1),
    },
    Rule {
        name: "Quốc khánh",
        from: 1900,
        to: 9999,
        when: When::Solar(9, 2),
    },
    // Labour Code 2019 (in force 1/1/2021): 2/9 plus the day before or after it.
    Rule {
        name: "Quốc khánh (ngày liền kề)",
        from: 2021,
        to: 9999,
        when: When::NationalDayCompanion,
    },
    // Resolution 80-NQ/TW and 30/NQ-CP (2026): Ngày Văn hóa Việt Nam, a paid day off.
    Rule {
        name: "Ngày Văn hóa Việt Nam",
        from: 2026,
        to: 9999,
        when: When::Solar(11, 24),
    },
];

/// The first year of weekend compensation (Labour Code 1994, in force 1/1/1995).
pub const COMPENSATION_FROM: i32 = 1995;

/// The public holidays of a solar year by the rules alone, with the rule each comes from.
fn statutory(year: i32) -> Vec<(When, CalendarDay)> {
    let mut out = Vec::new();
    for rule in RULES.iter().filter(|r| (r.from..=r.to).contains(&year)) {
        let date = match rule.when {
            When::Solar(m, d) => NaiveDate::from_ymd_opt(year, m, d),
            When::Lunar(m, d) => lunar::to_solar(lunar::LunarDate {
                year,
                month: m,
                day: d,
                leap: false,
            }),
            When::LunarYearEnd => lunar::tet(year).and_then(|t| t.pred_opt()),
            When::NationalDayCompanion => {
                NaiveDate::from_ymd_opt(year, 9, 2).and_then(national_day_companion)
            }
        };
        if let Some(date) = date.filter(|d| d.year() == year) {
            let day = CalendarDay {
                date,
                kind: DayKind::Holiday,
                name: rule.name.to_string(),
            };
            out.push((rule.when, day));
        }
    }
    out
}

fn is_tet_day(when: When) -> bool {
    matches!(when, When::LunarYearEnd | When::Lunar(1, _))
}

/// "Tết Nguyên đán (29 tháng Chạp)", "(ngày cuối năm Âm lịch)", "(mùng 2)".
fn tet_day_name(date: NaiveDate) -> String {
    let eve = date
        .succ_opt()
        .and_then(lunar::to_lunar)
        .is_some_and(|l| l.month == 1 && l.day == 1);
    match lunar::to_lunar(date) {
        _ if eve => "Tết Nguyên đán (ngày cuối năm Âm lịch)".into(),
        Some(l) if l.month == 1 => format!("Tết Nguyên đán (mùng {})", l.day),
        Some(l) => format!("Tết Nguyên đán ({} tháng Chạp)", l.day),
        None => "Tết Nguyên đán".into(),
    }
}

/// The public holidays of a solar year: the rules', with the Tết days and the day paired with
/// 2/9 moved where the year's announcement puts them.
pub fn public_holidays(year: i32) -> Vec<CalendarDay> {
    let mut days = statutory(year);
    if let Some(a) = announced::announcement(year) {
        if let Some(first) = a.tet_first.and_then(announced::date) {
            // The same number of Tết days, from the announced first one.
            let count = days.iter().filter(|(w, _)| is_tet_day(*w)).count() as u64;
            days.retain(|(w, _)| !is_tet_day(*w));
            for i in 0..count {
                if let Some(date) = first.checked_add_days(chrono::Days::new(i)) {
                    let day = CalendarDay {
                        date,
                        kind: DayKind::Holiday,
                        name: tet_day_name(date),
                    };
                    days.push((When::LunarYearEnd, day));
                }
            }
        }
        if let Some(companion) = a.national_day_companion.and_then(announced::date) {
            for (w, day) in days.iter_mut() {
                if matches!(w, When::NationalDayCompanion) {
                    day.date = companion;
                }
            }
        }
    }
    let mut out: Vec<CalendarDay> = days.into_iter().map(|(_, d)| d).collect();
    out.sort_by_key(|d| d.date);
    out
}

/// The Tết days by the rules (the eve to mùng 4; mùng 3 before 2014): what an announcement
/// arranges its break around.
pub fn statutory_tet(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    let tet: Vec<NaiveDate> = statutory(year)
        .into_iter()
        .filter(|(w, _)| is_tet_day(*w))
        .map(|(_, d)| d.date)
        .collect();
    Some((*tet.iter().min()?, *tet.iter().max()?))
}

/// What decides a year's days off, in Vietnamese, for `calendar`.
pub fn schedule_source(year: i32) -> String {
    match announced::announcement(year) {
        Some(a) => format!("theo thông báo: {}", a.document),
        None if year < COMPENSATION_FROM => format!(
            "theo quy định (chưa có thông báo nào được ghi nhận cho năm {year}; trước năm \
             {COMPENSATION_FROM} không nghỉ bù ngày lễ trùng ngày nghỉ hằng tuần)"
        ),
        None => format!(
            "theo Bộ luật Lao động (chưa có thông báo nào được ghi nhận cho năm {year}: ngày \
             lễ trùng ngày nghỉ hằng tuần được nghỉ bù vào ngày làm việc kế tiếp)"
        ),
    }
}

/// The day paired with 2/9 when the government has not said otherwise: the one that makes a
/// longer break (1/9 when 2/9 is a Tuesday, Friday or Saturday; 3/9 otherwise), as in the
/// announced schedules of 2021–2025.
fn national_day_companion(sept2: NaiveDate) -> Option<NaiveDate> {
    match sept2.weekday() {
        Weekday::Tue | Weekday::Fri | Weekday::Sat => sept2.pred_opt(),
        _ => sept2.succ_opt(),
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// One year's exceptions to "Monday–Friday": its days off on weekdays, its worked weekend
/// days, and the listing `year` shows.
#[derive(Debug)]
struct YearDays {
    off: HashSet<NaiveDate>,
    worked: HashSet<NaiveDate>,
    listing: Vec<CalendarDay>,
}

impl YearDays {
    fn from_listing(listing: Vec<CalendarDay>) -> YearDays {
        let mut off = HashSet::new();
        let mut worked = HashSet::new();
        for d in &listing {
            match d.kind {
                DayKind::Holiday | DayKind::DayOff => off.insert(d.date),
                DayKind::Workday => worked.insert(d.date),
            };
        }
        YearDays {
            off,
            worked,
            listing,
        }
    }

    fn is_working_day(&self, date: NaiveDate) -> bool {
        self.worked.contains(&date) || (!is_weekend(date) && !self.off.contains(&date))
    }
}

/// The working-day calendar, with the announced overrides applied. Each year is computed
/// once: the years given to [`Calendar::new`] at once, any other the first time a date in it
/// is asked about (a plan "đến năm 2030" reaches years past the span a caller foresaw, and
/// computing a year is thousands of times slower than looking a day up).
#[derive(Debug, Clone)]
pub struct Calendar {
    overrides: Overrides,
    years: HashMap<i32, Arc<YearDays>>,
    /// Years computed on demand, shared by the clones of this calendar (same overrides).
    more: Arc<Mutex<HashMap<i32, Arc<YearDays>>>>,
}

impl Calendar {
    /// Computes `years` now; other years are computed when first needed, then kept.
    pub fn new(overrides: Overrides, years: RangeInclusive<i32>) -> Self {
        let mut cal = Calendar {
            overrides,
            years: HashMap::new(),
            more: Arc::default(),
        };
        for year in years {
            let days = YearDays::from_listing(cal.compute_year(year));
            cal.years.insert(year, Arc::new(days));
        }
        cal
    }

    fn days(&self, year: i32) -> Arc<YearDays> {
        if let Some(days) = self.years.get(&year) {
            return Arc::clone(days);
        }
        // A poisoned lock only means another thread panicked mid-insert of a whole value:
        // the map itself is still sound.
        let mut more = self.more.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            more.entry(year)
                .or_insert_with(|| Arc::new(YearDays::from_listing(self.compute_year(year)))),
        )
    }

    /// How many years this calendar has computed (those given to `new` and those asked
    /// about since).
    #[cfg(test)]
    fn computed_years(&self) -> usize {
        self.years.len()
            + self
                .more
                .lock()
                .map_or_else(|e| e.into_inner().len(), |m| m.len())
    }

    /// Every holiday, compensatory day off and make-up working day of `year`, by date.
    pub fn year(&self, year: i32) -> Vec<CalendarDay> {
        self.days(year).listing.clone()
    }

    fn compute_year(&self, year: i32) -> Vec<CalendarDay> {
        let holidays = public_holidays(year);
        let workdays: BTreeMap<NaiveDate, &str> = self
            .overrides
            .workdays
            .iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(d, n)| (*d, n.as_str()))
            .collect();
        let mut days: BTreeMap<NaiveDate, CalendarDay> = BTreeMap::new();
        for h in &holidays {
            days.entry(h.date).or_insert_with(|| h.clone());
        }
        // An announced break: every weekday in it is off (its compensatory and swapped days).
        let breaks: Vec<_> = announced::breaks().collect();
        for (b, from, to) in &breaks {
            for d in from.iter_days().take_while(|d| d <= to) {
                if d.year() == year && !is_weekend(d) {
                    days.entry(d).or_insert_with(|| CalendarDay {
                        date: d,
                        kind: DayKind::DayOff,
                        name: format!("Nghỉ bù, hoán đổi dịp {} (theo thông báo)", b.name),
                    });
                }
            }
        }
        // A holiday on a weekend gives a day off on the next working weekday, unless an
        // announced break already placed it (announced workdays below may cancel it; they do
        // not push it further). Not before the 1994 Labour Code.
        let announced_break = |d: NaiveDate| breaks.iter().any(|(_, f, t)| (*f..=*t).contains(&d));
        for h in holidays.iter().filter(|h| {
            year >= COMPENSATION_FROM
                && is_weekend(h.date)
                && !workdays.contains_key(&h.date)
                && !announced_break(h.date)
        }) {
            let mut d = h.date;
            while let Some(next) = d.succ_opt() {
                d = next;
                if !is_weekend(d) && !days.contains_key(&d) {
                    days.insert(
                        d,
                        CalendarDay {
                            date: d,
                            kind: DayKind::DayOff,
                            name: format!("Nghỉ bù {}", h.name),
                        },
                    );
                    break;
                }
            }
        }
        for (b, _, _) in &breaks {
            for d in b.workdays.iter().filter_map(|w| announced::date(*w)) {
                if d.year() == year {
                    days.insert(
                        d,
                        CalendarDay {
                            date: d,
                            kind: DayKind::Workday,
                            name: format!("Làm bù dịp {} (theo thông báo)", b.name),
                        },
                    );
                }
            }
        }
        // The config has the last word: its days off are listed as it names them.
        for (d, name) in self
            .overrides
            .days_off
            .iter()
            .filter(|(d, _)| d.year() == year)
        {
            days.insert(
                *d,
                CalendarDay {
                    date: *d,
                    kind: DayKind::DayOff,
                    name: name.clone(),
                },
            );
        }
        for (d, name) in &workdays {
            // A worked day cancels any day off computed or announced for it; on a weekend it
            // is listed as a make-up working day.
            days.remove(d);
            if is_weekend(*d) {
                days.insert(
                    *d,
                    CalendarDay {
                        date: *d,
                        kind: DayKind::Workday,
                        name: name.to_string(),
                    },
                );
            }
        }
        days.into_values().collect()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.years.get(&date.year()) {
            Some(days) => days.is_working_day(date),
            None => self.days(date.year()).is_working_day(date),
        }
    }

    /// `date` if it is a working day, else the closest working day before it.
    pub fn on_or_before(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        for _ in 0..60 {
            if self.is_working_day(d) {
                return d;
            }
            match d.pred_opt() {
                Some(p) => d = p,
                None => break,
            }
        }
        date
    }

    /// `date` if it is a working day, else the closest working day after it.
    pub fn on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        for _ in 0..60 {
            if self.is_working_day(d) {
                return d;
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        date
    }

    /// The working day `n` working days before `date` (0: `date` itself if working, else the
    /// working day before).
    pub fn working_days_before(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut d = self.on_or_before(date);
        for _ in 0..n {
            match d.pred_opt() {
                Some(p) => d = self.on_or_before(p),
                None => break,
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn holidays_2022_by_the_rules() {
        let dates: Vec<NaiveDate> = public_holidays(2022).iter().map(|h| h.date).collect();
        assert_eq!(
            dates,
            vec![
                d(2022, 1, 1),
                d(2022, 1, 31),
                d(2022, 2, 1),
                d(2022, 2, 2),
                d(2022, 2, 3),
                d(2022, 2, 4),
                d(2022, 4, 10),
                d(2022, 4, 30),
                d(2022, 5, 1),
                d(2022, 9, 1),
                d(2022, 9, 2)
            ]
        );
    }

    #[test]
    fn weekend_holidays_give_compensation() {
        let cal = Calendar::new(Overrides::default(), 2022..=2022);
        // Giỗ Tổ 10/4/2022 was a Sunday: Monday 11/4 off.
        assert!(!cal.is_working_day(d(2022, 4, 11)));
        // 30/4 (Sat) and 1/5 (Sun): 2/5 and 3/5 off.
        assert!(!cal.is_working_day(d(2022, 5, 2)));
        assert!(!cal.is_working_day(d(2022, 5, 3)));
        assert!(cal.is_working_day(d(2022, 5, 4)));
        let days = cal.year(2022);
        let apr11 = days.iter().find(|x| x.date == d(2022, 4, 11)).unwrap();
        assert_eq!(apr11.kind, DayKind::DayOff);
        assert_eq!(apr11.name, "Nghỉ bù Giỗ Tổ Hùng Vương");
    }

    #[test]
    fn overrides_move_days() {
        // 2023: Tết announced 20/1–26/1; the computed second compensatory day (27/1) is worked.
        let overrides = Overrides {
            days_off: vec![(d(2023, 1, 20), "Nghỉ Tết Nguyên đán".into())],
            workdays: vec![
                (d(2023, 1, 27), "Làm việc".into()),
                (d(2023, 1, 14), "Làm bù".into()),
            ],
        };
        let cal = Calendar::new(overrides, 2023..=2023);
        for day in 20..=26 {
            assert!(!cal.is_working_day(d(2023, 1, day)), "{day}/1/2023");
        }
        assert!(cal.is_working_day(d(2023, 1, 27)));
        assert!(cal.is_working_day(d(2023, 1, 14)));
        let listed = cal.year(2023);
        assert!(listed
            .iter()
            .any(|x| x.date == d(2023, 1, 14) && x.kind == DayKind::Workday));
        assert!(!listed.iter().any(|x| x.date == d(2023, 1, 27)));
    }

    #[test]
    fn moving_to_working_days() {
        let cal = Calendar::new(Overrides::default(), 2022..=2022);
        // Sunday 10/4/2022 and Monday 11/4 (compensation) are off: back to Friday 8/4.
        assert_eq!(cal.on_or_before(d(2022, 4, 11)), d(2022, 4, 8));
        assert_eq!(cal.on_or_after(d(2022, 4, 10)), d(2022, 4, 12));
        assert_eq!(cal.working_days_before(d(2022, 4, 12), 1), d(2022, 4, 8));
        // Outside the precomputed years, the same answers.
        let other = Calendar::new(Overrides::default(), 2030..=2030);
        assert_eq!(other.on_or_before(d(2022, 4, 11)), d(2022, 4, 8));
    }

    #[test]
    fn a_year_outside_the_span_is_computed_once_and_shared_by_clones() {
        let cal = Calendar::new(Overrides::default(), 2026..=2027);
        assert_eq!(cal.computed_years(), 2);
        let copy = cal.clone();
        let days: Vec<NaiveDate> = (1..=365)
            .filter_map(|n| d(2031, 1, 1).checked_add_days(chrono::Days::new(n - 1)))
            .collect();
        let working = days.iter().filter(|x| cal.is_working_day(**x)).count();
        assert_eq!(
            cal.computed_years(),
            3,
            "2031 computed once for 365 lookups"
        );
        assert_eq!(copy.computed_years(), 3, "and kept for the clone");
        // The same answers as a calendar that computed 2031 up front.
        let direct = Calendar::new(Overrides::default(), 2031..=2031);
        let expected = days.iter().filter(|x| direct.is_working_day(**x)).count();
        assert_eq!(working, expected);
        assert_eq!(copy.year(2031), direct.year(2031));
    }

    #[test]
    fn new_holiday_from_2026() {
        assert!(public_holidays(2026)
            .iter()
            .any(|h| h.date == d(2026, 11, 24)));
        assert!(!public_holidays(2025)
            .iter()
            .any(|h| h.date == d(2025, 11, 24)));
    }
}
