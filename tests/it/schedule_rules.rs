//! The reminder rules on small configs written inline: working-day counting, moving to the
//! working day before, overdue repeats, escalation, default monitor and nudges.

use crate::support::fixtures::AGENCIES;
use chrono::NaiveDate;
use nhacviec::calendar::Calendar;
use nhacviec::config::{analyze, Source, Sources};
use nhacviec::schedule::{Kind, Role, Schedule};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Slots (date, recipient, kind, role) of a one-task plan under `settings`.
fn slots(settings: &str, task: &str) -> Vec<(NaiveDate, String, Kind, Role)> {
    let plan = format!(
        "[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\n\n[[task]]\nid = \"1\"\ntitle = \"T\"\nlead = [\"Sở A\"]\nsupport = [\"Sở B\"]\n{task}\n"
    );
    let sources = Sources::in_memory(
        Some(Source::new("nhacviec.toml", settings)),
        Source::new("agencies.toml", AGENCIES),
        vec![Source::new("plans/1.toml", plan)],
    );
    let analysis = analyze(&sources);
    assert!(
        !analysis.has_errors(),
        "{:?}",
        analysis.errors().collect::<Vec<_>>()
    );
    let config = analysis.config;
    let calendar = Calendar::new(config.calendar.clone(), 2021..=2023);
    let schedule = Schedule::build(&config, &calendar, d(2023, 12, 31));
    schedule
        .slots()
        .iter()
        .map(|s| {
            (
                s.date,
                schedule.agencies[s.agency as usize].clone(),
                s.kind,
                s.role,
            )
        })
        .collect()
}

fn dates_of(all: &[(NaiveDate, String, Kind, Role)], agency: &str, kind: Kind) -> Vec<NaiveDate> {
    all.iter()
        .filter(|s| s.1 == agency && s.2 == kind)
        .map(|s| s.0)
        .collect()
}

#[test]
fn working_days_are_counted_across_holidays() {
    // Due Friday 6/5/2022. Working days before it: 5/5, 4/5, then 29/4 (30/4–3/5 are off).
    let s = slots(
        "[policy]\nbefore = [3, 0]\ncount = \"working\"\n",
        "due = 2022-05-06",
    );
    assert_eq!(dates_of(&s, "a", Kind::Before), vec![d(2022, 4, 29)]);
    assert_eq!(dates_of(&s, "a", Kind::Due), vec![d(2022, 5, 6)]);
    // In calendar days, 3 days before is Tuesday 3/5, a compensatory day off: back to 29/4.
    let s = slots("[policy]\nbefore = [3, 0]\n", "due = 2022-05-06");
    assert_eq!(dates_of(&s, "a", Kind::Before), vec![d(2022, 4, 29)]);
}

#[test]
fn overdue_repeats_and_escalation_to_the_default_monitor() {
    // No `monitor` in the settings: the Văn phòng UBND tỉnh is the monitor.
    let s = slots(
        "[policy]\nbefore = [0]\noverdue_every = 5\noverdue_times = 2\nescalate_after = 10\n",
        "due = 2022-06-01",
    );
    assert_eq!(
        dates_of(&s, "a", Kind::Overdue),
        vec![d(2022, 6, 6), d(2022, 6, 10)]
    );
    assert_eq!(
        dates_of(&s, "b", Kind::Overdue),
        vec![],
        "coordinators get no overdue by default"
    );
    let esc: Vec<_> = s.iter().filter(|x| x.2 == Kind::Escalation).collect();
    assert_eq!(esc.len(), 1);
    // 10 days after 1/6 is Saturday 11/6: an escalation waits for Monday 13/6, never earlier.
    assert_eq!(
        (esc[0].0, esc[0].1.as_str(), esc[0].3),
        (d(2022, 6, 13), "vp", Role::Monitor)
    );
}

#[test]
fn continuous_tasks_only_with_a_nudge_and_on_request_never() {
    assert!(slots("", "time = \"Thường xuyên\"").is_empty());
    assert!(slots("", "time = \"Khi có yêu cầu\"").is_empty());
    let s = slots(
        "[policy]\nnudge = \"FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3\"\n",
        "time = \"Thường xuyên\"",
    );
    // 31/1 (Monday, the eve of Tết 2022, a holiday) moves back to Friday 28/1.
    assert_eq!(
        dates_of(&s, "a", Kind::Due),
        vec![d(2022, 1, 28), d(2022, 2, 28), d(2022, 3, 31)]
    );
    assert!(s.iter().all(|x| x.2 == Kind::Due));
}

#[test]
fn recurring_tasks_remind_each_occurrence_past_the_plan_year() {
    // A periodic duty does not end with the plan's year: every quarter up to the horizon
    // (here the end of 2023), each on its last working day.
    let s = slots(
        "[policy]\nbefore = [0]\noverdue_times = 0\nescalate_after = 0\n",
        "time = \"Hằng quý\"",
    );
    assert_eq!(
        dates_of(&s, "a", Kind::Due),
        vec![
            d(2022, 3, 31),
            d(2022, 6, 30),
            d(2022, 9, 30),
            d(2022, 12, 30),
            d(2023, 3, 31),
            d(2023, 6, 30),
            d(2023, 9, 29),
            d(2023, 12, 29)
        ]
    );
}

#[test]
fn overdue_repeats_never_collapse_onto_one_day() {
    // Due Friday 15/7/2022, repeated daily 4 times: Saturday and Sunday move, but to distinct
    // working days.
    let s = slots(
        "[policy]\nbefore = [0]\noverdue_every = 1\noverdue_times = 4\n",
        "due = 2022-07-15",
    );
    assert_eq!(
        dates_of(&s, "a", Kind::Overdue),
        vec![
            d(2022, 7, 18),
            d(2022, 7, 19),
            d(2022, 7, 20),
            d(2022, 7, 21)
        ]
    );
}

#[test]
fn completion_suppresses_reminders_still_waiting_for_catch_up() {
    use std::collections::HashSet;
    let plan_task = "due = 2022-03-31\ndone = 2022-03-30";
    let plan = format!(
        "[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\n\n[[task]]\nid = \"1\"\ntitle = \"T\"\nlead = [\"Sở A\"]\n{plan_task}\n"
    );
    let sources = Sources::in_memory(
        None,
        Source::new("agencies.toml", AGENCIES),
        vec![Source::new("plans/1.toml", plan)],
    );
    let config = analyze(&sources).config;
    let calendar = Calendar::new(config.calendar.clone(), 2021..=2023);
    let schedule = Schedule::build(&config, &calendar, d(2023, 12, 31));
    // Down from before the deadline until June: the 1-day reminder (30/3) was due before the
    // completion was recorded, but by June the task is done: nothing goes out.
    let tick = schedule.due(&HashSet::new(), d(2022, 6, 1), None);
    assert!(tick.digests.is_empty(), "{:?}", tick.digests);
    assert!(!tick.suppressed.is_empty());
}

/// A schedule of a one-task plan with `due` and the given `done` line.
fn schedule_of(task: &str, until: NaiveDate) -> (nhacviec::config::Config, Schedule) {
    let plan = format!(
        "[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\n\n[[task]]\nid = \"1\"\ntitle = \"T\"\nlead = [\"Sở A\"]\nsupport = [\"Sở B\"]\n{task}\n"
    );
    let sources = Sources::in_memory(
        None,
        Source::new("agencies.toml", AGENCIES),
        vec![Source::new("plans/1.toml", plan)],
    );
    let config = analyze(&sources).config;
    let calendar = Calendar::new(config.calendar.clone(), 2021..=2024);
    let schedule = Schedule::build(&config, &calendar, until);
    (config, schedule)
}

#[test]
fn the_fingerprint_through_a_date_sees_only_slots_up_to_it() {
    let (_, monthly) = schedule_of(
        "recurrence = \"FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20251231\"",
        d(2022, 12, 31),
    );
    let (_, longer) = schedule_of(
        "recurrence = \"FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20251231\"",
        d(2023, 12, 31),
    );
    // The window moving forward adds later slots only: the past is unchanged.
    assert_eq!(
        monthly.fingerprint_through(d(2022, 9, 30)),
        longer.fingerprint_through(d(2022, 9, 30))
    );
    assert_ne!(monthly.fingerprint(), longer.fingerprint());
    // A deadline moved in the past changes the fingerprint through any later date...
    let (_, june) = schedule_of("due = 2022-06-01", d(2022, 12, 31));
    let (_, july) = schedule_of("due = 2022-07-01", d(2022, 12, 31));
    assert_ne!(
        june.fingerprint_through(d(2022, 9, 30)),
        july.fingerprint_through(d(2022, 9, 30))
    );
    // ...but not through a date before its first reminder.
    assert_eq!(
        june.fingerprint_through(d(2022, 3, 1)),
        july.fingerprint_through(d(2022, 3, 1))
    );
    // A task completed changes it too (its later slots are suppressed).
    let (_, done) = schedule_of("due = 2022-06-01\ndone = 2022-05-20", d(2022, 12, 31));
    assert_ne!(
        june.fingerprint_through(d(2022, 9, 30)),
        done.fingerprint_through(d(2022, 9, 30))
    );
    // Deterministic: the same config gives the same fingerprint.
    let (_, again) = schedule_of("due = 2022-06-01", d(2022, 12, 31));
    assert_eq!(june.fingerprint(), again.fingerprint());
}

#[test]
fn the_kept_engine_is_rebuilt_only_when_its_window_must_move() {
    let (config, _) = schedule_of(
        "recurrence = \"FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20251231\"",
        d(2022, 12, 31),
    );
    let mut engine = nhacviec::deliver::Engine::build(&config, d(2022, 6, 1));
    assert!(engine.covers(d(2022, 6, 1)));
    assert!(engine.covers(d(2022, 6, 30)));
    // 31 days on, the 400-day window reaches past what was built.
    assert!(!engine.covers(d(2022, 7, 3)));
    // The clock went back: rebuilt too.
    assert!(!engine.covers(d(2022, 5, 31)));
    let before = engine.schedule.len();
    engine.refresh(&config, d(2022, 7, 3));
    assert!(engine.covers(d(2022, 7, 3)));
    assert!(engine.schedule.len() > before, "a month of slots added");
    // A monthly task's slots reach 400 days ahead of the day it was built for.
    let last = engine.schedule.slots().last().unwrap().deadline;
    assert!(last >= d(2023, 8, 7), "{last}");
}

/// A plan naming its own monitoring office escalates there, and that office is never
/// escalated about itself; a plan without one escalates to the settings' monitor.
#[test]
fn escalations_go_to_the_plans_own_monitor() {
    let plan = |number: &str, monitor: &str, lead: &str| {
        format!(
            "[plan]\nnumber = \"{number}\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\n{monitor}\n\n[[task]]\nid = \"1\"\ntitle = \"T\"\nlead = [{lead}]\ndue = 2022-06-01\n"
        )
    };
    let sources = Sources::in_memory(
        Some(Source::new(
            "nhacviec.toml",
            "[policy]\nbefore = [0]\nescalate_after = 10\n",
        )),
        Source::new("agencies.toml", AGENCIES),
        vec![
            Source::new("plans/1.toml", plan("1/KH", "", "\"a\"")),
            // By name, as other agency references.
            Source::new(
                "plans/2.toml",
                plan("2/KH", "monitor = \"Sở B\"", "\"a\", \"b\""),
            ),
        ],
    );
    let analysis = analyze(&sources);
    assert!(
        !analysis.has_errors(),
        "{:?}",
        analysis.errors().collect::<Vec<_>>()
    );
    let config = analysis.config;
    assert_eq!(config.plans[1].monitor.as_deref(), Some("b"));
    assert_eq!(config.monitor_of(&config.plans[0]), Some("vp"));
    assert_eq!(config.monitor_of(&config.plans[1]), Some("b"));
    assert_eq!(config.monitors(), vec!["vp", "b"]);
    let contact = config.monitor_contact_of(&config.plans[1]).unwrap();
    assert_eq!(
        (contact.name.as_str(), contact.email.as_deref()),
        ("Sở B", Some("b@tinh.example"))
    );
    let calendar = Calendar::new(config.calendar.clone(), 2021..=2023);
    let schedule = Schedule::build(&config, &calendar, d(2023, 12, 31));
    let escalations: Vec<(String, String, String)> = schedule
        .slots()
        .iter()
        .filter(|s| s.kind == Kind::Escalation)
        .map(|s| {
            (
                schedule.tasks[s.task as usize].plan.clone(),
                schedule.agencies[s.agency as usize].clone(),
                schedule.agencies[s.about as usize].clone(),
            )
        })
        .collect();
    assert_eq!(
        escalations,
        vec![
            ("1/KH".to_string(), "vp".to_string(), "a".to_string()),
            // Sở B is plan 2's office: told about Sở A, never about itself.
            ("2/KH".to_string(), "b".to_string(), "a".to_string()),
        ]
    );
}
