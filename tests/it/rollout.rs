//! Switching the service on safely (issue 13): the catch-up horizon, the send hours, the
//! plan lifecycle and who is reminded once the leads are done, on the shipped config and on
//! small plans.

use crate::support::fixtures::AGENCIES;
use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;
use nhacviec::config::{analyze, Config, Source, Sources};
use nhacviec::deliver::Engine;
use nhacviec::render::Templates;
use nhacviec::schedule::{Role, Schedule};
use nhacviec::store::Store;
use std::path::Path;

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Tz> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The shipped config, its state in `state`.
fn shipped(state: &Path) -> (Config, Templates) {
    let analysis = nhacviec::config::load(Path::new("config"));
    assert!(
        !analysis.has_errors(),
        "{:?}",
        analysis.errors().collect::<Vec<_>>()
    );
    let templates = Templates::new(&analysis.templates).unwrap();
    let mut config = analysis.config;
    config.state_dir = Some(state.display().to_string());
    (config, templates)
}

fn mail_files(state: &Path) -> usize {
    std::fs::read_dir(state.join("mail"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "current_thread")]
async fn a_first_start_at_night_sends_nothing_and_waits_for_the_morning() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, templates) = shipped(tmp.path());
    let (pass, state) = nhacviec::daemon::once(
        Path::new("config"),
        config,
        templates,
        at(2026, 12, 2, 23, 13),
    )
    .await
    .unwrap();
    assert_eq!(pass.deferred_until, Some(at(2026, 12, 3, 8, 0)), "{pass:?}");
    assert_eq!((pass.queued, pass.sent), (0, 0));
    assert_eq!(mail_files(&state), 0);
    let store = Store::open_reader(&state.join("nhacviec.db")).unwrap();
    assert!(store.history(None, None, 10).unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_first_start_in_the_morning_sends_nothing_older_than_the_horizon() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, templates) = shipped(tmp.path());
    assert_eq!(config.catch_up_days, 7);
    let now = at(2026, 12, 3, 8, 0);
    let engine = Engine::build(&config, now.date_naive());
    let (pass, state) = nhacviec::daemon::once(Path::new("config"), config.clone(), templates, now)
        .await
        .unwrap();
    assert_eq!(pass.deferred_until, None);
    // Four years of Plan 50's reminders are due and unhandled; none of them is sent (the kept
    // schedule starts a month before the horizon, so those are not even looked at).
    let full = Schedule::build(
        &config,
        &engine.calendar,
        now.date_naive() + chrono::Days::new(30),
    );
    let old = full
        .slots()
        .iter()
        .filter(|s| s.date < day(2026, 11, 26))
        .count();
    assert!(old > 1000, "{old}");
    let store = Store::open_reader(&state.join("nhacviec.db")).unwrap();
    let sent = store.history(None, None, 10_000).unwrap();
    let horizon = day(2026, 11, 26);
    for d in &sent {
        assert_ne!(d.agency, "_admin");
        assert!(
            !d.subject.contains("Báo cáo tình hình"),
            "the weekly report is not a side effect of a start: {}",
            d.subject
        );
        for item in &d.items {
            let slot = engine
                .schedule
                .slots()
                .iter()
                .find(|s| engine.schedule.key(s) == item.key)
                .expect("a sent item is a slot of the schedule");
            assert!(slot.date >= horizon, "{item:?} dated {}", slot.date);
        }
    }
    assert_eq!(mail_files(&state), sent.len());
}

fn analysis_with(
    header: &str,
    tasks: &str,
    now: Option<DateTime<Tz>>,
) -> nhacviec::config::Analysis {
    let plan = format!(
        "[plan]\nnumber = \"9/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-03-01\n{header}\n{tasks}"
    );
    let mut sources = Sources::in_memory(
        None,
        Source::new("agencies.toml", AGENCIES),
        vec![Source::new("plans/9.toml", plan)],
    );
    sources.now = now.map(|n| n.with_timezone(&chrono::Utc));
    analyze(&sources)
}

fn config_with(header: &str, tasks: &str) -> Config {
    let a = analysis_with(header, tasks, None);
    assert!(!a.has_errors(), "{:?}", a.errors().collect::<Vec<_>>());
    a.config
}

fn schedule(config: &Config, today: NaiveDate) -> Schedule {
    Engine::build(config, today).schedule
}

const OLD_AND_NEW: &str = r#"
[[task]]
id = "1"
title = "Cũ"
lead = ["Sở A"]
due = 2022-06-30

[[task]]
id = "2"
title = "Mới"
lead = ["Sở A"]
support = ["Sở B"]
due = 2026-12-31
"#;

#[test]
fn a_plan_added_late_reminds_nothing_before_reminders_from() {
    let config = config_with("reminders_from = 2026-12-20", OLD_AND_NEW);
    let s = schedule(&config, day(2026, 12, 1));
    assert!(!s.is_empty());
    assert!(
        s.slots().iter().all(|x| x.date >= day(2026, 12, 20)),
        "{:?}",
        s.slots().first()
    );
    // Task 1's four-year-old deadline is not sent on the first day either.
    assert!(s.slots().iter().all(|x| s.tasks[x.task as usize].id == "2"));
    let tick = s.due_within(
        &std::collections::HashSet::new(),
        day(2026, 12, 19),
        None,
        None,
    );
    assert!(tick.digests.is_empty());
}

#[test]
fn a_closed_plan_sends_nothing_and_recurrences_run_past_the_plan_year() {
    let closed = config_with("status = \"closed\"\nclosed = 2023-01-15", OLD_AND_NEW);
    assert!(closed.plans[0].is_closed());
    assert!(schedule(&closed, day(2022, 6, 1)).is_empty());
    // "Năm 2022 và các năm tiếp theo" reminds every year, here in 2024.
    let onward = config_with(
        "",
        "[[task]]\nid = \"1\"\ntitle = \"Hằng năm\"\nlead = [\"Sở A\"]\ntime = \"Năm 2022 và các năm tiếp theo\"\n",
    );
    let s = schedule(&onward, day(2024, 1, 1));
    assert!(s.slots().iter().any(|x| x.deadline == day(2024, 12, 31)));
    // ... unless the plan's `until` stops it.
    let bounded = config_with(
        "until = 2023-06-30",
        "[[task]]\nid = \"1\"\ntitle = \"Hằng năm\"\nlead = [\"Sở A\"]\ntime = \"Năm 2022 và các năm tiếp theo\"\n",
    );
    let s = schedule(&bounded, day(2023, 1, 3));
    assert!(s.slots().iter().any(|x| x.deadline == day(2022, 12, 31)));
    assert!(s.slots().iter().all(|x| x.deadline <= day(2023, 6, 30)));
    assert!(schedule(&bounded, day(2024, 1, 1))
        .slots()
        .iter()
        .all(|x| x.deadline <= day(2023, 6, 30)));
}

#[test]
fn plan_50_reminds_of_10_1_in_2023_unless_it_ended() {
    let mut analysis = nhacviec::config::load(Path::new("config"));
    let s = schedule(&analysis.config, day(2023, 1, 1));
    assert!(
        s.slots()
            .iter()
            .all(|x| s.tasks[x.task as usize].id != "10.1" || x.deadline.year() <= 2022),
        "the shipped plan's periods end with 2022"
    );
    // A plan still in force (no `until`): 10.1 every quarter.
    analysis.config.plans[0].until = None;
    let s = schedule(&analysis.config, day(2023, 1, 1));
    let deadlines: std::collections::BTreeSet<NaiveDate> = s
        .slots()
        .iter()
        .filter(|x| s.tasks[x.task as usize].id == "10.1" && x.deadline.year() == 2023)
        .map(|x| x.deadline)
        .collect();
    assert_eq!(
        deadlines.into_iter().collect::<Vec<_>>(),
        vec![
            day(2023, 3, 18),
            day(2023, 6, 18),
            day(2023, 9, 18),
            day(2023, 12, 18)
        ]
    );
}

use chrono::Datelike;

#[test]
fn coordinators_hear_nothing_once_every_lead_of_8_6_is_done() {
    let text = std::fs::read_to_string("config/plans/50-KH-UBND-2022.toml").unwrap();
    let marker =
        "note = \"Kế hoạch ban hành ngày 24/3/2022, chỉ còn một tuần đến hết tháng 3/2022.\"";
    assert!(text.contains(marker));
    let done = |both: bool| {
        let by = if both {
            "done_by = { \"Công an tỉnh\" = 2022-03-29, \"Sở Thông tin và Truyền thông\" = 2022-03-30 }"
        } else {
            "done_by = { \"Công an tỉnh\" = 2022-03-29 }"
        };
        let mut sources = nhacviec::config::read_dir(Path::new("config"));
        sources.plans[0].text = text.replace(marker, &format!("{marker}\n{by}"));
        let a = analyze(&sources);
        assert!(!a.has_errors(), "{:?}", a.errors().collect::<Vec<_>>());
        a.config
    };
    let support_after = |config: &Config, from: NaiveDate| {
        let s = schedule(config, day(2022, 3, 24));
        s.slots()
            .iter()
            .filter(|x| {
                s.tasks[x.task as usize].id == "8.6"
                    && x.role == Role::Support
                    && x.date >= from
                    && x.done.is_none_or(|d| d > x.date)
            })
            .count()
    };
    // One lead done: coordinators are still reminded of the due day (31/3).
    assert!(support_after(&done(false), day(2022, 3, 30)) > 0);
    // Both done by 30/3: nothing more for any coordinator.
    assert_eq!(support_after(&done(true), day(2022, 3, 30)), 0);
    // `support_after_lead_done = true` restores the old behaviour.
    let mut old = done(true);
    for t in &mut old.plans[0].tasks {
        t.policy.support_after_lead_done = true;
    }
    assert!(support_after(&old, day(2022, 3, 30)) > 0);
}

#[test]
fn bad_lifecycle_and_send_rules_are_errors_at_their_line() {
    let now = Some(at(2026, 12, 2, 9, 0));
    let cases = [
        ("status = \"paused\"", "không hợp lệ"),
        ("status = \"Closed\"", "có phải là \"closed\""),
        ("status = \"closed\"\nclosed = 2027-01-01", "tương lai"),
        (
            "status = \"closed\"\nclosed = 2023-01-01\nreminders_from = 2023-06-01",
            "sau ngày kết thúc",
        ),
        ("closed = 2023-01-01", "status = \"closed\""),
        ("reminders_from = 2021-01-01", "trước ngày ban hành"),
    ];
    for (header, expect) in cases {
        let a = analysis_with(header, OLD_AND_NEW, now);
        let errors: Vec<_> = a.errors().collect();
        assert_eq!(errors.len(), 1, "{header}: {errors:?}");
        assert!(
            errors[0].message.contains(expect),
            "{header}: {}",
            errors[0].message
        );
        assert_eq!(errors[0].file, "plans/9.toml");
        assert!(errors[0].line >= 6, "{header}: line {}", errors[0].line);
    }
    for (schedule, expect) in [
        ("send_hours = \"\"", "để trống"),
        ("send_hours = \"17:00-07:30\"", "giờ bắt đầu"),
        ("send_hours = \"8 giờ\"", "không đúng dạng"),
        ("catch_up_days = -1", "catch_up_days"),
        ("catch_up_days = \"7\"", "cần số nguyên"),
    ] {
        let settings = format!("[schedule]\n{schedule}\n");
        let a = analyze(&Sources::in_memory(
            Some(Source::new("nhacviec.toml", settings)),
            Source::new("agencies.toml", AGENCIES),
            vec![],
        ));
        let errors: Vec<_> = a.errors().collect();
        assert_eq!(errors.len(), 1, "{schedule}: {errors:?}");
        assert!(
            errors[0].message.contains(expect),
            "{schedule}: {}",
            errors[0].message
        );
        assert_eq!(
            (errors[0].file.as_str(), errors[0].line),
            ("nhacviec.toml", 2)
        );
    }
}

#[test]
fn the_weekly_report_goes_out_at_its_own_time_never_as_a_side_effect_of_a_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, _) = shipped(tmp.path());
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let engine = Engine::build(&config, day(2022, 5, 1));
    let reports = |store: &mut Store, now| {
        nhacviec::deliver::reports(&engine, &config, None, store, now).unwrap()
    };
    // A first start on Wednesday: Monday's report is only noted.
    assert_eq!(reports(&mut store, at(2022, 5, 25, 8, 0)), 0);
    assert!(store
        .get(&nhacviec::store::meta::WeeklyReportAt(None))
        .unwrap()
        .is_some());
    // Next Monday after 07:30: the report goes to the monitoring office, once.
    assert_eq!(reports(&mut store, at(2022, 5, 30, 7, 45)), 1);
    assert_eq!(reports(&mut store, at(2022, 5, 30, 9, 0)), 0);
    let made = store.history(Some("vp-ubnd-tinh"), None, 5).unwrap();
    assert!(
        made[0].subject.contains("Báo cáo tuần"),
        "{}",
        made[0].subject
    );
    // Stopped over the next Monday: that report is noted on Tuesday, not sent late.
    assert_eq!(reports(&mut store, at(2022, 6, 7, 8, 0)), 0);
    assert_eq!(
        store.history(Some("vp-ubnd-tinh"), None, 5).unwrap().len(),
        1
    );
    // A report due on a day off goes out the next working morning: Monday 11/04/2022 is the
    // day off for Giỗ Tổ Hùng Vương (10/3 lunar fell on a Sunday).
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let engine = Engine::build(&config, day(2022, 4, 1));
    let reports = |store: &mut Store, now| {
        nhacviec::deliver::reports(&engine, &config, None, store, now).unwrap()
    };
    assert_eq!(reports(&mut store, at(2022, 4, 5, 8, 0)), 0);
    assert_eq!(reports(&mut store, at(2022, 4, 12, 8, 0)), 1);
}

fn nhacviec(config: &Path, args: &[&str]) -> (bool, String) {
    let none = tempfile::tempdir().unwrap();
    nhacviec_in(config, none.path(), args)
}

fn nhacviec_in(config: &Path, state: &Path, args: &[&str]) -> (bool, String) {
    let out = assert_cmd::Command::cargo_bin("nhacviec")
        .unwrap()
        .env("NHACVIEC_LOG", "warn")
        .env("NHACVIEC_STATE_DIR", state)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The sample config in `dir`/config with its plan running on past 2022 (`until` removed, as
/// an admin would for a plan still in force).
fn running_on(dir: &Path) -> std::path::PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(cfg.join("plans")).unwrap();
    for f in ["nhacviec.toml", "agencies.toml"] {
        std::fs::copy(Path::new("config").join(f), cfg.join(f)).unwrap();
    }
    let plan = "plans/50-KH-UBND-2022.toml";
    let text = std::fs::read_to_string(Path::new("config").join(plan)).unwrap();
    assert!(text.contains("\nuntil = 2022-12-31\n"));
    std::fs::write(cfg.join(plan), text.replace("\nuntil = 2022-12-31\n", "\n")).unwrap();
    cfg
}

#[test]
fn the_shipped_plan_ends_with_2022() {
    let (ok, out) = nhacviec(
        Path::new("config"),
        &["preview", "--from", "2024-01-01", "--to", "2026-12-31"],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("Không có lời nhắc nào trong khoảng thời gian này."),
        "{out}"
    );
}

#[test]
fn preview_over_2023_shows_10_1s_reports_and_what_the_horizon_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, out) = nhacviec(
        &running_on(tmp.path()),
        &["preview", "--from", "2023-01-01", "--to", "2023-12-31"],
    );
    assert!(ok, "{out}");
    for deadline in ["18/03/2023", "18/06/2023", "18/09/2023", "18/12/2023"] {
        assert!(
            out.lines()
                .any(|l| l.contains(" 10.1 ") && l.contains(&format!("hạn {deadline}"))),
            "10.1 due {deadline}"
        );
    }
    assert!(out.contains("cũ hơn 7 ngày (catch_up_days)"), "{out}");
}

#[test]
fn a_closed_plan_is_shown_closed_and_sends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    std::fs::create_dir_all(cfg.join("plans")).unwrap();
    for f in [
        "nhacviec.toml",
        "agencies.toml",
        "plans/50-KH-UBND-2022.toml",
    ] {
        std::fs::copy(Path::new("config").join(f), cfg.join(f)).unwrap();
    }
    let plan = cfg.join("plans/50-KH-UBND-2022.toml");
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "issued = 2022-03-24\n",
        "issued = 2022-03-24\nstatus = \"closed\"\nclosed = 2023-01-15\n",
    );
    std::fs::write(&plan, text).unwrap();
    let (ok, out) = nhacviec(&cfg, &["check"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("Đã kết thúc ngày 15/01/2023: không gửi nhắc việc"),
        "{out}"
    );
    let (ok, out) = nhacviec(
        &cfg,
        &[
            "status",
            "--plan",
            "50/KH-UBND",
            "--now",
            "2023-02-01T09:00:00+07:00",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("chưa xong, KH đã kết thúc"), "{out}");
    assert!(out.contains("; chưa xong khi kế hoạch kết thúc "), "{out}");
    assert!(!out.contains("chưa hoàn thành, quá hạn"), "{out}");
    let (ok, out) = nhacviec(&cfg, &["preview", "--from", "2023-01-01", "--days", "60"]);
    assert!(ok, "{out}");
    assert!(!out.contains("50/KH-UBND"), "{out}");
}

#[tokio::test(flavor = "current_thread")]
async fn reminders_waiting_when_their_plan_is_closed_are_set_aside_not_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut config, templates) = shipped(tmp.path());
    config.catch_up_days = 366;
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let now = at(2022, 5, 25, 8, 0);
    let engine = Engine::build(&config, now.date_naive());
    let pass = nhacviec::deliver::tick(&engine, &config, &templates, &mut store, now).unwrap();
    assert!(pass.queued > 10, "{pass:?}");
    // The admin closes the plan before they go out.
    config.plans[0].closed = Some(nhacviec::config::model::Closed { on: None });
    let senders = nhacviec::channels::Senders::new(&config, tmp.path()).unwrap();
    let sent = nhacviec::deliver::send_ready(&store, &senders, &config, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!((sent.sent, sent.withdrawn), (0, pass.queued), "{sent:?}");
    assert_eq!(mail_files(tmp.path()), 0);
    let dead = store
        .history(None, Some(nhacviec::store::DeliveryStatus::Dead), 1000)
        .unwrap();
    assert_eq!(dead.len(), pass.queued);
    assert!(dead[0]
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("50/KH-UBND đã kết thúc")));
    // Not reported to the admin as failures.
    let (unreported, _) = store.failures_to_report().unwrap();
    assert!(unreported.is_empty());
}

#[test]
fn preview_after_the_service_has_run_does_not_promise_what_it_already_sent() {
    let state = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = &running_on(tmp.path());
    let args = [
        "preview",
        "--now",
        "2026-12-05T10:00:00+07:00",
        "--days",
        "3",
        "--agency",
        "vp-ubnd-tinh",
    ];
    // From scratch, 10.1's 14-day reminder (due 18/12) shows on Monday 07/12.
    let (ok, fresh) = nhacviec_in(config, state.path(), &args);
    assert!(ok, "{fresh}");
    assert!(fresh.contains("hạn 18/12/2026"), "{fresh}");
    // The service ran on Friday 04/12 and sent it then: the preview no longer shows it.
    let (ok, out) = nhacviec_in(
        config,
        state.path(),
        &["run", "--once", "--now", "2026-12-04T09:00:00+07:00"],
    );
    assert!(ok, "{out}");
    let (ok, after) = nhacviec_in(config, state.path(), &args);
    assert!(ok, "{after}");
    assert!(!after.contains("hạn 18/12/2026"), "{after}");
    assert!(after.contains("Đã tính những gì dịch vụ đã gửi"), "{after}");
    // And the service indeed sends nothing more to it on Monday.
    let (ok, out) = nhacviec_in(
        config,
        state.path(),
        &["history", "--agency", "vp-ubnd-tinh", "--format", "json"],
    );
    assert!(ok, "{out}");
    // Digests (the weekly report of Monday 07/12 is not a reminder).
    let digests = |out: &str| out.matches("[Nhắc việc] Văn phòng UBND tỉnh:").count();
    let before = digests(&out);
    assert_eq!(before, 1, "{out}");
    let (ok, out) = nhacviec_in(
        config,
        state.path(),
        &["run", "--once", "--now", "2026-12-07T08:00:00+07:00"],
    );
    assert!(ok, "{out}");
    let (_, out) = nhacviec_in(
        config,
        state.path(),
        &["history", "--agency", "vp-ubnd-tinh", "--format", "json"],
    );
    assert_eq!(digests(&out), before, "{out}");
}

#[test]
fn a_reminders_cron_never_inside_the_send_hours_is_a_warning() {
    let a = analyze(&Sources::in_memory(
        Some(Source::new(
            "nhacviec.toml",
            "[schedule]\nreminders = \"0 0 6 * * Mon-Fri\"\n",
        )),
        Source::new("agencies.toml", AGENCIES),
        vec![],
    ));
    let warnings: Vec<_> = a
        .warnings()
        .filter(|w| w.message.contains("giờ gửi"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, 2);
    // 08:00 (the default) is inside; "always" has no hours to miss.
    for settings in [
        "[schedule]\nreminders = \"0 0 8 * * Mon-Fri\"\n",
        "[schedule]\nreminders = \"0 0 6 * * Mon-Fri\"\nsend_hours = \"always\"\n",
    ] {
        let a = analyze(&Sources::in_memory(
            Some(Source::new("nhacviec.toml", settings)),
            Source::new("agencies.toml", AGENCIES),
            vec![],
        ));
        assert!(
            !a.warnings().any(|w| w.message.contains("giờ gửi")),
            "{settings}"
        );
    }
}

/// A plan ends at its last deadline, or its `until` for recurring tasks; the weekly report is
/// about plans in force (up to a month after their end).
#[test]
fn a_plan_ends_at_its_last_deadline_or_its_until() {
    let config = nhacviec::config::load(Path::new("config")).config;
    let plan = &config.plans[0];
    // 8.8's commune-level start, 31/05/2023, is after `until` (31/12/2022).
    assert_eq!(plan.end(), Some(day(2023, 5, 31)));
    assert!(plan.in_force(day(2023, 6, 30)));
    assert!(!plan.in_force(day(2023, 7, 2)));
    assert!(config.reports_to("vp-ubnd-tinh", day(2023, 6, 30)));
    assert!(!config.reports_to("vp-ubnd-tinh", day(2026, 12, 7)));
    // Recurring without `until`: no end.
    let mut open = plan.clone();
    open.until = None;
    assert_eq!(open.end(), None);
    assert!(open.in_force(day(2030, 1, 1)));
}

/// The sending half records a message as sent at the time it is given (the service gives
/// the clock's when sending starts): `sent_at` is the shell's to choose, not read inside.
#[tokio::test(flavor = "current_thread")]
async fn sends_are_recorded_at_the_time_the_sending_half_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, templates) = shipped(tmp.path());
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let now = at(2022, 5, 25, 8, 0);
    let engine = Engine::build(&config, now.date_naive());
    let pass = nhacviec::deliver::tick(&engine, &config, &templates, &mut store, now).unwrap();
    assert!(pass.queued > 0, "{pass:?}");
    let senders = nhacviec::channels::Senders::new(&config, tmp.path()).unwrap();
    // Sending follows the real clock (what is ready, retry times): an hour from now, so the
    // time recorded can only be the one given.
    let sending = chrono::Utc::now() + chrono::Duration::hours(1);
    let sent = nhacviec::deliver::send_ready(&store, &senders, &config, sending)
        .await
        .unwrap();
    assert_eq!(sent.sent, pass.queued, "{sent:?}");
    for d in store
        .history(None, Some(nhacviec::store::DeliveryStatus::Sent), 1000)
        .unwrap()
    {
        assert_eq!(d.sent_at.unwrap(), sending, "delivery {}", d.id);
    }
}
