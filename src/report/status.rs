//! `status`: the four states of the Government office's tracking per task and agency (plus
//! "not due" and "undated" apart), and their text.

use super::agency_name;
use crate::config::{Config, Task};
use crate::dates::dmy;
use crate::deadline::{Deadline, Milestone};
use crate::schedule::{natural_key, Role};
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

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
