//! What `preview`, `status` and `calendar` compute and print. Pure: the config, the calendar
//! and the time are passed in.

use crate::calendar::{Calendar, CalendarDay, DayKind};
use crate::config::{Config, Task};
use crate::deadline::{weekday_vi, Deadline, Milestone};
use crate::forecast::{self, Ledger, Trigger};
use crate::schedule::{natural_key, Digest, Role, Schedule};
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

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

/// The calendar a config needs around `dates`.
pub fn calendar_for(config: &Config, first: NaiveDate, last: NaiveDate) -> Calendar {
    let plan_years = config.plans.iter().map(|p| p.issued.year());
    let from = plan_years
        .clone()
        .min()
        .unwrap_or(first.year())
        .min(first.year())
        - 1;
    let to = last.year().max(plan_years.max().unwrap_or(last.year())) + 1;
    Calendar::new(config.calendar.clone(), from..=to)
}

/// One digest as `preview` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewDigest {
    pub at: String,
    #[serde(skip)]
    pub time: DateTime<Tz>,
    /// Why that pass runs: the service's start, or a regular tick.
    pub trigger: Trigger,
    #[serde(flatten)]
    pub digest: Digest,
}

/// Simulates the cron ticks from `start` to `to` (inclusive, local dates) from an empty
/// history, the service started at `start` (so the first pass shows the catch-up). Ticks are
/// the scheduler's own (`cron`, croner), so this is what the daemon would send.
pub fn preview(
    config: &Config,
    cron: &croner::Cron,
    start: DateTime<Tz>,
    to: NaiveDate,
    filter_agency: Option<&str>,
    filter_task: Option<&str>,
) -> Vec<PreviewDigest> {
    let from = Preview {
        start,
        starts: true,
        ledger: &Ledger::empty(),
    };
    preview_with_skipped(config, cron, &from, to, filter_agency, filter_task).0
}

/// Where a preview starts: the instant, whether the service starts then (its start pass comes
/// first) and what its ledger already handled.
pub struct Preview<'a> {
    pub start: DateTime<Tz>,
    pub starts: bool,
    pub ledger: &'a Ledger<'a>,
}

/// [`preview`] from `from` (`forecast`'s passes: the service's rules), and the keys it skipped
/// as older than the catch-up horizon.
pub fn preview_with_skipped(
    config: &Config,
    cron: &croner::Cron,
    from: &Preview<'_>,
    to: NaiveDate,
    filter_agency: Option<&str>,
    filter_task: Option<&str>,
) -> (Vec<PreviewDigest>, Vec<String>) {
    let max_before = config
        .plans
        .iter()
        .flat_map(|p| p.tasks.iter())
        .flat_map(|t| t.policy.before.iter().copied())
        .max()
        .unwrap_or(0);
    let until = to
        .checked_add_days(Days::new(u64::from(max_before) * 2 + 31))
        .unwrap_or(to);
    let first = from.start.date_naive();
    let calendar = calendar_for(config, first, until);
    let schedule = Schedule::build_from(
        config,
        &calendar,
        forecast::schedule_from(config, first),
        until,
    );
    let times = forecast::pass_times(config, &calendar, cron, from.start, from.starts, to);
    let mut out = Vec::new();
    let mut stale = Vec::new();
    for pass in forecast::passes(config, &schedule, from.ledger, &times) {
        stale.extend(pass.tick.stale);
        for mut digest in pass.tick.digests {
            if filter_agency.is_some_and(|a| a != digest.agency) {
                continue;
            }
            if let Some(task) = filter_task {
                digest.items.retain(|i| i.task == task);
                if digest.items.is_empty() {
                    continue;
                }
            }
            out.push(PreviewDigest {
                at: pass.at.to_rfc3339(),
                time: pass.at,
                trigger: pass.trigger,
                digest,
            });
        }
    }
    // The weekly reports, to each monitoring office (of the plan filtered, if any); not under
    // a task filter (a report is about every task).
    if filter_task.is_none() {
        let at = forecast::report_times(
            config,
            &calendar,
            from.start,
            from.starts,
            to,
            from.ledger.last_report,
        );
        for time in at {
            for monitor in config.monitors() {
                if filter_agency.is_some_and(|a| a != monitor)
                    || !config.reports_to(monitor, time.date_naive())
                {
                    continue;
                }
                out.push(PreviewDigest {
                    at: time.to_rfc3339(),
                    time,
                    trigger: Trigger::Report,
                    digest: Digest {
                        agency: monitor.to_string(),
                        items: Vec::new(),
                    },
                });
            }
        }
        out.sort_by_key(|p| p.time);
    }
    (out, stale)
}

fn dmy(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// An agency's name for the terminal (control characters escaped).
fn agency_name(config: &Config, id: &str) -> String {
    let name = config.agency(id).map_or(id, |a| a.name.as_str());
    crate::text::printable(name).into_owned()
}

/// "còn 7 ngày", "hôm nay", "quá hạn 3 ngày".
fn days_vi(days: i64) -> String {
    match days {
        0 => "đến hạn hôm nay".into(),
        d if d > 0 => format!("còn {d} ngày"),
        d => format!("quá hạn {} ngày", -d),
    }
}

pub fn render_preview_text(config: &Config, digests: &[PreviewDigest]) -> String {
    let mut out = String::new();
    for p in digests {
        let date = p.time.date_naive();
        out.push_str(&format!(
            "{} {} {}  →  {} ({}){}\n",
            p.time.format("%H:%M"),
            weekday_vi(date),
            dmy(date),
            agency_name(config, &p.digest.agency),
            crate::text::printable(&p.digest.agency),
            match p.trigger {
                Trigger::Start => "  [khi khởi động]",
                Trigger::Tick => "",
                Trigger::Report => "  [báo cáo tuần]",
            }
        ));
        for i in &p.digest.items {
            let about = i
                .agency
                .as_ref()
                .map(|a| format!("  [{}]", agency_name(config, a)))
                .unwrap_or_default();
            // The plan on every line: two plans may both have a task "IV.1".
            out.push_str(&format!(
                "    {} {:<6} {:<9} {:<17} {:<17} hạn {}{about}\n",
                crate::text::printable(&i.plan),
                crate::text::printable(&i.task),
                i.role.vi(),
                i.kind.vi(),
                days_vi(i.days),
                dmy(i.deadline)
            ));
        }
    }
    if digests.is_empty() {
        out.push_str("Không có lời nhắc nào trong khoảng thời gian này.\n");
    } else {
        let items: usize = digests.iter().map(|d| d.digest.items.len()).sum();
        out.push_str(&format!(
            "\n{} lần gửi, {items} nội dung nhắc.\n",
            digests.len()
        ));
    }
    out
}

/// The four states the Government office reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    OpenOverdue,
    /// Not done, the deadline not passed, and the agency already reminded of it (the deadline
    /// is within the task's earliest reminder, `policy.before`).
    Open,
    /// Not done, the deadline further off than the earliest reminder: not yet on anyone's desk.
    NotDue,
    /// No dated deadline ("Thường xuyên", "Khi có yêu cầu"): never "in time" nor late.
    Undated,
    DoneLate,
    DoneOnTime,
    /// Not done, but its plan is closed: no longer reminded nor counted as late.
    Closed,
}

impl State {
    pub fn vi(self) -> &'static str {
        match self {
            State::OpenOverdue => "chưa hoàn thành, quá hạn",
            State::Open => "chưa hoàn thành, trong hạn",
            State::NotDue => "chưa đến hạn",
            State::Undated => "không có hạn",
            State::DoneLate => "hoàn thành quá hạn",
            State::DoneOnTime => "hoàn thành đúng hạn",
            State::Closed => "chưa xong, KH đã kết thúc",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    pub plan: String,
    pub task: String,
    pub agency: String,
    pub role: Role,
    pub deadline: Option<NaiveDate>,
    pub state: State,
    pub done: Option<NaiveDate>,
    /// For a recurring task, the period this row is about (its deadline as the plan gives
    /// it): each period that has come due, and the next one, is a row of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<NaiveDate>,
}

/// Every task and agency with its deadline and state at `today`, overdue first; a recurring
/// task's periods are rows of their own (each that has come due, and the next). Plans issued
/// after `today` are left out: on that day they did not exist.
pub fn status(config: &Config, today: NaiveDate, filter_agency: Option<&str>) -> Vec<StatusRow> {
    status_in(config, today, filter_agency, None)
}

/// [`status`] of one plan (its exact number), or of all.
pub fn status_in(
    config: &Config,
    today: NaiveDate,
    filter_agency: Option<&str>,
    filter_plan: Option<&str>,
) -> Vec<StatusRow> {
    let mut rows = Vec::new();
    let plans = config
        .plans
        .iter()
        .filter(|p| p.issued <= today && filter_plan.is_none_or(|n| n == p.number));
    for plan in plans {
        let year_end = NaiveDate::from_ymd_opt(plan.issued.year(), 12, 31).unwrap_or(plan.issued);
        // A recurring task's periods are looked for up to the next one to come, whenever it is.
        let ahead = today.checked_add_days(Days::new(400)).unwrap_or(today);
        for task in &plan.tasks {
            let periods = recurring_dates(task, plan, year_end.max(ahead));
            // The task as a whole (a completion the TOML writes): its periods to the end of
            // the plan's first year, or to today.
            let occurrences: Option<Vec<NaiveDate>> = periods.as_ref().map(|ps| {
                ps.iter()
                    .copied()
                    .filter(|d| *d <= year_end.max(today))
                    .collect()
            });
            for (role, list) in [(Role::Lead, &task.lead), (Role::Support, &task.support)] {
                for agency in list {
                    if filter_agency.is_some_and(|a| a != agency) {
                        continue;
                    }
                    let planned = deadlines_of(config, task, agency, role, occurrences.as_deref());
                    // A completion dated after `today` has not happened yet. The TOML's covers
                    // the task; a report may cover some occurrences only: those leave the list.
                    let written = task.written_done(agency).filter(|d| *d <= today);
                    let periods_of = periods
                        .as_deref()
                        .map(|ps| deadlines_of(config, task, agency, role, Some(ps)))
                        .unwrap_or_default();
                    if written.is_none() && !periods_of.is_empty() {
                        // A recurring task: each period an assignment of its own, every one
                        // that has come due and the next one (none once the plan is closed).
                        let next = periods_of
                            .iter()
                            .copied()
                            .find(|d| *d >= today)
                            .filter(|_| !plan.is_closed());
                        for d in periods_of
                            .iter()
                            .copied()
                            .filter(|d| *d < today)
                            .chain(next)
                        {
                            let due = task.deadline_for(agency, d);
                            let done = task.done_for(agency, d).filter(|on| *on <= today);
                            let state = match done {
                                Some(on) if on > due => State::DoneLate,
                                Some(_) => State::DoneOnTime,
                                None if plan.is_closed() => State::Closed,
                                None if due < today => State::OpenOverdue,
                                None if not_due(task, due, today) => State::NotDue,
                                None => State::Open,
                            };
                            rows.push(StatusRow {
                                plan: plan.number.clone(),
                                task: task.id.clone(),
                                agency: agency.clone(),
                                role,
                                deadline: Some(due),
                                state,
                                done,
                                occurrence: Some(d),
                            });
                        }
                        continue;
                    }
                    let mut done = written;
                    let mut deadlines = Vec::with_capacity(planned.len());
                    for d in &planned {
                        match task.done_for(agency, *d).filter(|on| *on <= today) {
                            Some(on) if written.is_none() => done = done.max(Some(on)),
                            Some(_) => {}
                            None => deadlines.push(task.deadline_for(agency, *d)),
                        }
                    }
                    if planned.is_empty() && written.is_none() {
                        // No dated deadline (continuous, on request): a report of the whole task.
                        done = task.done_whole(agency).filter(|d| *d <= today);
                    }
                    if deadlines.is_empty() {
                        deadlines = planned
                            .iter()
                            .map(|d| task.deadline_for(agency, *d))
                            .collect();
                    } else if written.is_none() {
                        done = None;
                    }
                    deadlines.sort_unstable();
                    let (deadline, state) = match state_of(&deadlines, done, today) {
                        (d, State::Open | State::OpenOverdue) if plan.is_closed() => {
                            (d, State::Closed)
                        }
                        (None, State::Open) => (None, State::Undated),
                        (Some(d), State::Open) if not_due(task, d, today) => {
                            (Some(d), State::NotDue)
                        }
                        other => other,
                    };
                    rows.push(StatusRow {
                        plan: plan.number.clone(),
                        task: task.id.clone(),
                        agency: agency.clone(),
                        role,
                        deadline,
                        state,
                        done,
                        occurrence: None,
                    });
                }
            }
        }
    }
    // The task's natural key once per row, not once per comparison (100,000 rows at
    // province scale).
    rows.sort_by_cached_key(|r| {
        (
            r.state,
            r.deadline.is_none(),
            r.deadline,
            r.plan.clone(),
            natural_key(&r.task),
            r.role,
            r.agency.clone(),
        )
    });
    rows
}

/// Whether `agency` leads or supports `task` (a lead is never also listed as support).
pub(crate) fn role_in(task: &Task, agency: &str) -> Option<Role> {
    if task.lead.iter().any(|l| l == agency) {
        Some(Role::Lead)
    } else if task.support.iter().any(|s| s == agency) {
        Some(Role::Support)
    } else {
        None
    }
}

/// The dated deadlines an agency answers for in a task, sorted.
pub(crate) fn agency_deadlines(
    config: &Config,
    task: &Task,
    agency: &str,
    role: Role,
    plan: &crate::config::Plan,
    until: NaiveDate,
) -> Vec<NaiveDate> {
    deadlines_of(
        config,
        task,
        agency,
        role,
        recurring_dates(task, plan, until).as_deref(),
    )
}

/// A recurring task's occurrences up to `until` (the schedule's own; a closed plan's up to the
/// day it was closed), the same for every agency: worked out once per task, not once per
/// agency. Periods due before the plan's
/// `reminders_from` are left out: nobody was asked about them, so they are neither open nor
/// overdue (a plan entered long after it was issued).
fn recurring_dates(
    task: &Task,
    plan: &crate::config::Plan,
    until: NaiveDate,
) -> Option<Vec<NaiveDate>> {
    // A closed plan's periods end on the day it was closed.
    let until = match plan.closed.and_then(|c| c.on) {
        Some(on) => until.min(on),
        None => until,
    };
    matches!(task.deadline, Deadline::Recurring { .. }).then(|| {
        crate::schedule::milestones(task, plan, until)
            .into_iter()
            .map(|m| m.due)
            .collect()
    })
}

/// [`agency_deadlines`] with a recurring task's occurrences already worked out.
fn deadlines_of(
    config: &Config,
    task: &Task,
    agency: &str,
    role: Role,
    occurrences: Option<&[NaiveDate]>,
) -> Vec<NaiveDate> {
    let level = config.agency(agency).map(|a| a.level.as_str());
    let mut out: Vec<NaiveDate> = match &task.deadline {
        Deadline::Dated(ms) => {
            let own: Vec<&Milestone> = ms.iter().filter(|m| m.applies_to(agency, level)).collect();
            let chosen: Vec<&Milestone> = if role == Role::Support || own.is_empty() {
                ms.iter().collect()
            } else {
                own
            };
            chosen.iter().map(|m| m.due).collect()
        }
        // The schedule's own occurrences.
        Deadline::Recurring { .. } => occurrences.unwrap_or_default().to_vec(),
        _ => vec![],
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `deadline` is further off than the task's earliest reminder.
fn not_due(task: &Task, deadline: NaiveDate, today: NaiveDate) -> bool {
    let lead = task.policy.before.iter().copied().max().unwrap_or(0);
    (deadline - today).num_days() > i64::from(lead)
}

fn state_of(
    deadlines: &[NaiveDate],
    done: Option<NaiveDate>,
    today: NaiveDate,
) -> (Option<NaiveDate>, State) {
    if let Some(done) = done {
        let last = deadlines.last().copied();
        let state = if last.is_some_and(|d| done > d) {
            State::DoneLate
        } else {
            State::DoneOnTime
        };
        return (last, state);
    }
    // The earliest deadline missed, else the next one coming, else the last.
    match deadlines.iter().find(|d| **d >= today) {
        Some(next) if deadlines.first() == Some(next) => (Some(*next), State::Open),
        Some(next) => {
            let missed = deadlines.iter().rev().find(|d| **d < today).copied();
            match missed {
                // A recurring or listed deadline already passed: overdue until marked done.
                Some(m) => (Some(m), State::OpenOverdue),
                None => (Some(*next), State::Open),
            }
        }
        None => match deadlines.last() {
            Some(last) => (Some(*last), State::OpenOverdue),
            None => (None, State::Open),
        },
    }
}

/// The figures `status` ends with: those of `overview::compute`, which the dashboard, the
/// workbook and the weekly report show too (passed in: the overview is computed from this
/// module's rows, so it cannot be called from here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTotals {
    /// The agency they are about (its name, with `--agency`), or `None` for every agency.
    pub agency: Option<String>,
    /// Lead assignments counted: a task with two lead agencies is two.
    pub lead: usize,
    /// Their states and on-time rate, as `overview::Counts::states_vi` says them.
    pub states: String,
    /// Coordinators' rows: listed, not counted.
    pub support: usize,
}

/// The rows of `status` as text, then `totals`.
pub fn render_status_text(
    config: &Config,
    rows: &[StatusRow],
    today: NaiveDate,
    totals: &StatusTotals,
) -> String {
    let mut out = format!("Tình hình thực hiện đến ngày {}:\n", dmy(today));
    for r in rows {
        let deadline = r
            .deadline
            .map_or_else(|| "không có hạn".to_string(), |d| format!("hạn {}", dmy(d)));
        let done = r
            .done
            .map(|d| format!(", xong {}", dmy(d)))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<30} {:<6} {:<9} {:<19} {}{done}  {}\n",
            r.state.vi(),
            crate::text::printable(&r.task),
            r.role.vi(),
            deadline,
            crate::text::printable(&r.plan),
            agency_name(config, &r.agency)
        ));
    }
    let who = totals
        .agency
        .as_deref()
        .map(|name| format!("{} ", crate::text::printable(name)))
        .unwrap_or_default();
    if !rows.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!(
        "Nhiệm vụ giao {who}chủ trì ({} lượt): {}.\nPhối hợp ({} lượt, không tính vào số liệu).\n",
        totals.lead, totals.states, totals.support
    ));
    out
}

#[derive(Debug, Serialize)]
pub struct CalendarYear {
    pub year: i32,
    /// Whether an official announcement of the year's schedule is recorded.
    pub announced: bool,
    /// What decides the days off: the announcement's documents, or the statutory rule.
    pub source: String,
    pub days: Vec<CalendarDay>,
    /// Deadlines or reminders near a Tết not announced yet.
    pub warnings: Vec<crate::config::Diagnostic>,
}

pub fn render_calendar_text(year: &CalendarYear) -> String {
    let mut out = format!(
        "Lịch nghỉ lễ, nghỉ bù và làm bù năm {} ({}):\n",
        year.year,
        crate::text::printable(&year.source)
    );
    for d in &year.days {
        let kind = match d.kind {
            DayKind::Holiday => "nghỉ lễ",
            DayKind::DayOff => "nghỉ bù",
            DayKind::Workday => "làm bù",
        };
        out.push_str(&format!(
            "  {:<9} {:<10} {:<8} {}\n",
            weekday_vi(d.date),
            dmy(d.date),
            kind,
            crate::text::printable(&d.name)
        ));
    }
    for w in &year.warnings {
        out.push('\n');
        out.push_str(&w.render());
    }
    out
}

/// Normalises a plan number as admins type it: trimmed, spaces collapsed, any case.
fn plan_key(s: &str) -> String {
    crate::text::collapse_spaces(s).to_lowercase()
}

/// The plan whose number is `number` (compared trimmed and case-insensitively).
pub fn find_plan<'a>(config: &'a Config, number: &str) -> Option<&'a str> {
    let key = plan_key(number);
    config
        .plans
        .iter()
        .find(|p| plan_key(&p.number) == key)
        .map(|p| p.number.as_str())
}

/// Keeps only the items of `plan` (an exact number, see [`find_plan`]); digests left empty go.
pub fn retain_plan(config: &Config, digests: &mut Vec<PreviewDigest>, plan: &str) {
    let monitor = config
        .plans
        .iter()
        .find(|p| p.number == plan)
        .and_then(|p| config.monitor_of(p));
    for p in digests.iter_mut() {
        p.digest.items.retain(|i| i.plan == plan);
    }
    // A weekly report stays when its office monitors that plan.
    digests.retain(|p| match p.trigger {
        Trigger::Report => monitor == Some(p.digest.agency.as_str()),
        _ => !p.digest.items.is_empty(),
    });
}

/// An RFC 3339 time from the store, in the config's zone: "08:00 03/12/2026 (+07:00)". Text
/// that does not parse is shown as it is.
pub fn local_time(rfc3339: &str, tz: Tz) -> String {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&tz)
            .format("%H:%M %d/%m/%Y (%:z)")
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// Why a reminder slot was recorded as skipped (the `reason` of the `slots` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A later reminder of the same stream went instead (after downtime).
    Superseded,
    /// Older than the catch-up horizon (`catch_up_days`) when first seen.
    Horizon,
}

impl SkipReason {
    /// From the stored text; rows from before the reason was recorded (schema 5) were all
    /// superseded.
    pub fn from_stored(s: Option<&str>) -> SkipReason {
        match s {
            Some("horizon") => SkipReason::Horizon,
            _ => SkipReason::Superseded,
        }
    }

    pub fn vi(self) -> &'static str {
        match self {
            SkipReason::Superseded => "đã có lời nhắc mới hơn",
            SkipReason::Horizon => "cũ hơn hạn gửi bù (catch_up_days)",
        }
    }
}

/// A reminder slot recorded as skipped, read back from its key (`Schedule::key`:
/// plan|task|deadline|agency|role|kindN|about).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedSlot {
    pub plan: String,
    pub task: String,
    pub deadline: Option<NaiveDate>,
    pub agency: String,
    pub role: String,
    /// before, due, overdue or escalation.
    pub kind: String,
    /// Days before the deadline (before/due) or the repeat number (overdue).
    pub n: Option<u32>,
    /// The agency the reminder is about (the late one, for an escalation).
    pub about: String,
    pub reason: SkipReason,
    pub recorded_at: String,
    pub key: String,
}

impl SkippedSlot {
    /// Reads a slot key. A plan number holding "|" is kept whole: the fields are taken from
    /// the right, and the task is the last field left of them.
    pub fn parse(key: &str, reason: SkipReason, recorded_at: &str) -> Option<SkippedSlot> {
        let mut parts: Vec<&str> = key.split('|').collect();
        if parts.len() < 7 {
            return None;
        }
        let about = parts.pop()?;
        let kind_n = parts.pop()?;
        let role = parts.pop()?;
        let agency = parts.pop()?;
        let deadline = parts.pop()?;
        let task = parts.pop()?;
        let plan = parts.join("|");
        let digits = kind_n.find(|c: char| c.is_ascii_digit());
        let (kind, n) = match digits {
            Some(i) => (&kind_n[..i], kind_n[i..].parse().ok()),
            None => (kind_n, None),
        };
        Some(SkippedSlot {
            plan,
            task: task.to_string(),
            deadline: NaiveDate::parse_from_str(deadline, "%Y-%m-%d").ok(),
            agency: agency.to_string(),
            role: role.to_string(),
            kind: kind.to_string(),
            n,
            about: about.to_string(),
            reason,
            recorded_at: recorded_at.to_string(),
            key: key.to_string(),
        })
    }
}

fn role_vi(role: &str) -> &str {
    match role {
        "lead" => Role::Lead.vi(),
        "support" => Role::Support.vi(),
        "monitor" => Role::Monitor.vi(),
        other => other,
    }
}

fn kind_vi(kind: &str, n: Option<u32>) -> String {
    use crate::schedule::Kind;
    match (kind, n) {
        ("before", Some(d)) => format!("{} {d} ngày", Kind::Before.vi()),
        ("before", None) => Kind::Before.vi().to_string(),
        ("due", _) => Kind::Due.vi().to_string(),
        ("overdue", Some(k)) => format!("{} (lần {k})", Kind::Overdue.vi()),
        ("overdue", None) => Kind::Overdue.vi().to_string(),
        ("escalation", _) => Kind::Escalation.vi().to_string(),
        (other, _) => other.to_string(),
    }
}

/// `history --status skipped` as text, times in `tz`.
pub fn render_skipped_text(config: &Config, rows: &[SkippedSlot]) -> String {
    let mut out = String::new();
    for s in rows {
        let deadline = s.deadline.map_or_else(|| "?".to_string(), dmy);
        let about = if s.about != s.agency {
            format!("  [{}]", agency_name(config, &s.about))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}  {} {:<6} {} ({}) {:<9} {:<17} hạn {deadline}{about}\n        bỏ qua: {}\n",
            local_time(&s.recorded_at, config.timezone),
            crate::text::printable(&s.plan),
            crate::text::printable(&s.task),
            agency_name(config, &s.agency),
            crate::text::printable(&s.agency),
            role_vi(&s.role),
            kind_vi(&s.kind, s.n),
            s.reason.vi()
        ));
    }
    if rows.is_empty() {
        out.push_str("Không có lời nhắc nào bị bỏ qua.\n");
    }
    out
}

#[cfg(test)]
mod admin_tests {
    use super::*;

    #[test]
    fn a_slot_key_reads_back_into_its_fields() {
        let s = SkippedSlot::parse(
            "50/KH-UBND|8.6|2022-03-31|so-tttt|lead|before7|so-tttt",
            SkipReason::Horizon,
            "2022-05-25T01:00:00+00:00",
        )
        .unwrap();
        assert_eq!(s.plan, "50/KH-UBND");
        assert_eq!(s.task, "8.6");
        assert_eq!(s.deadline, NaiveDate::from_ymd_opt(2022, 3, 31));
        assert_eq!((s.kind.as_str(), s.n), ("before", Some(7)));
        assert_eq!(s.role, "lead");
        let odd = SkippedSlot::parse(
            "A|B|1|2022-01-01|x|support|overdue2|y",
            SkipReason::Superseded,
            "",
        )
        .unwrap();
        assert_eq!((odd.plan.as_str(), odd.task.as_str()), ("A|B", "1"));
        assert_eq!(SkippedSlot::parse("a|b", SkipReason::Horizon, ""), None);
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
