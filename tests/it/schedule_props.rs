//! Properties of the schedule over the shipped Plan 50: reminders only on working days, never
//! after the deadline they announce, and replaying any sequence of ticks (missed, repeated,
//! out of order) never sends a slot twice nor loses one.

use chrono::{Days, NaiveDate};
use nhacviec::calendar::Calendar;
use nhacviec::config::{self, Config};
use nhacviec::schedule::{Kind, Schedule};
use proptest::prelude::*;
use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

struct Fixture {
    schedule: Schedule,
    calendar: Calendar,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let analysis = config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"));
        assert!(!analysis.has_errors());
        let config: Config = analysis.config;
        let calendar = Calendar::new(config.calendar.clone(), 2021..=2024);
        let schedule = Schedule::build(&config, &calendar, d(2023, 12, 31));
        Fixture { schedule, calendar }
    })
}

#[test]
fn every_slot_is_on_a_working_day_and_on_the_right_side_of_its_deadline() {
    let f = fixture();
    assert!(f.schedule.len() > 1000);
    for s in f.schedule.slots() {
        assert!(f.calendar.is_working_day(s.date), "{s:?}");
        match s.kind {
            Kind::Before | Kind::Due => assert!(s.date <= s.deadline, "{s:?}"),
            Kind::Overdue | Kind::Escalation => assert!(s.date > s.deadline, "{s:?}"),
        }
    }
}

/// Runs ticks at `days` (offsets from 24/03/2022), recording what is sent and skipped as a
/// store would; returns every key sent, asserting none is sent twice.
fn replay(days: &[u16], use_since: bool) -> (HashSet<String>, HashSet<String>) {
    let f = fixture();
    let start = d(2022, 3, 24);
    let mut handled: HashSet<String> = HashSet::new();
    let mut sent: HashSet<String> = HashSet::new();
    let mut watermark: Option<NaiveDate> = None;
    for &offset in days {
        let today = start + Days::new(u64::from(offset));
        // The daemon passes a watermark only while time moves forward.
        let since = if use_since {
            watermark.filter(|w| *w <= today)
        } else {
            None
        };
        let tick = f.schedule.due(&handled, today, since);
        for digest in &tick.digests {
            for item in &digest.items {
                assert!(sent.insert(item.key.clone()), "sent twice: {}", item.key);
                assert!(handled.insert(item.key.clone()));
            }
        }
        for k in tick.skipped.into_iter().chain(tick.suppressed) {
            assert!(!sent.contains(&k), "skipped after being sent: {k}");
            handled.insert(k);
        }
        watermark = Some(watermark.map_or(today, |w| w.max(today)));
    }
    (sent, handled)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn replaying_ticks_never_sends_twice_nor_loses(
        days in prop::collection::vec(0u16..500, 1..40),
        use_since in any::<bool>(),
    ) {
        let (_, handled) = replay(&days, use_since);
        // Nothing lost: one more tick at the latest day with no watermark accounts for every
        // slot up to then (sent or skipped), and sends nothing already handled.
        let last = days.iter().max().copied().unwrap_or(0);
        let today = d(2022, 3, 24) + Days::new(u64::from(last));
        let f = fixture();
        let tick = f.schedule.due(&handled, today, None);
        let mut all = handled.clone();
        for digest in &tick.digests {
            for item in &digest.items {
                prop_assert!(all.insert(item.key.clone()));
            }
        }
        all.extend(tick.skipped);
        all.extend(tick.suppressed);
        for s in f.schedule.slots().iter().filter(|s| s.date <= today) {
            prop_assert!(all.contains(&f.schedule.key(s)), "lost: {}", f.schedule.key(s));
        }
    }
}

#[test]
fn a_double_fire_sends_nothing_new() {
    let (sent, _) = replay(&[0, 0, 10, 10, 10], true);
    let (once, _) = replay(&[0, 10], true);
    assert_eq!(sent, once);
}

#[test]
fn daily_ticks_send_each_slot_on_its_day() {
    // Ticking every day from the plan's start: nothing is skipped after the first catch-up,
    // and each slot goes out exactly on its date.
    let f = fixture();
    let start = d(2022, 3, 24);
    let mut handled: HashSet<String> = HashSet::new();
    let mut since = None;
    for offset in 0..400u64 {
        let today = start + Days::new(offset);
        let tick = f.schedule.due(&handled, today, since);
        if offset > 0 {
            assert!(
                tick.skipped.is_empty(),
                "{today}: skipped {:?}",
                tick.skipped
            );
        }
        for digest in &tick.digests {
            for item in &digest.items {
                let slot = f
                    .schedule
                    .slots()
                    .iter()
                    .find(|s| f.schedule.key(s) == item.key)
                    .unwrap();
                if offset > 0 {
                    assert_eq!(slot.date, today, "{}", item.key);
                }
                handled.insert(item.key.clone());
            }
        }
        handled.extend(tick.skipped);
        handled.extend(tick.suppressed);
        since = Some(today);
    }
}
