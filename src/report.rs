//! What `preview`, `status` and `calendar` compute and print. Pure: the config, the calendar
//! and the time are passed in.

use crate::calendar::{Calendar, CalendarDay, DayKind};
use crate::config::{Config, Task};
use crate::deadline::{weekday_vi, Deadline, Milestone};
use crate::schedule::{natural_key, Digest, Role, Schedule};
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::HashSet;

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
    #[serde(flatten)]
    pub digest: Digest,
}

/// Simulates the cron ticks from `from` to `to` (inclusive, local dates) starting with an
/// empty history, so the first tick shows the catch-up. Ticks are the scheduler's own
/// (`cron`, croner), so this is what the daemon would send.
pub fn preview(
    config: &Config,
    cron: &croner::Cron,
    start: DateTime<Tz>,
    to: NaiveDate,
    filter_agency: Option<&str>,
    filter_task: Option<&str>,
) -> Vec<PreviewDigest> {
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
    let calendar = calendar_for(config, start.date_naive(), until);
    let schedule = Schedule::build(config, &calendar, until);
    let mut handled: HashSet<String> = HashSet::new();
    let mut since: Option<NaiveDate> = None;
    let mut out = Vec::new();
    for tick in cron.iter_from(start, croner::Direction::Forward) {
        let today = tick.date_naive();
        if today > to {
            break;
        }
        let result = schedule.due(&handled, today, since);
        since = Some(today);
        handled.extend(result.skipped);
        handled.extend(result.suppressed);
        for mut digest in result.digests {
            handled.extend(digest.items.iter().map(|i| i.key.clone()));
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
                at: tick.to_rfc3339(),
                time: tick,
                digest,
            });
        }
    }
    out
}

fn dmy(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn agency_name(config: &Config, id: &str) -> String {
    config
        .agency(id)
        .map_or_else(|| id.to_string(), |a| a.name.clone())
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
            "{} {} {}  →  {} ({})\n",
            p.time.format("%H:%M"),
            weekday_vi(date),
            dmy(date),
            agency_name(config, &p.digest.agency),
            p.digest.agency
        ));
        for i in &p.digest.items {
            let about = i
                .agency
                .as_ref()
                .map(|a| format!("  [{}]", agency_name(config, a)))
                .unwrap_or_default();
            out.push_str(&format!(
                "    {:<6} {:<9} {:<17} {:<17} hạn {}{about}\n",
                i.task,
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
    Open,
    DoneLate,
    DoneOnTime,
}

impl State {
    pub fn vi(self) -> &'static str {
        match self {
            State::OpenOverdue => "chưa hoàn thành, quá hạn",
            State::Open => "chưa hoàn thành (trong hạn)",
            State::DoneLate => "hoàn thành quá hạn",
            State::DoneOnTime => "hoàn thành đúng hạn",
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
}

/// Every task and agency with its deadline and state at `today`, overdue first.
pub fn status(config: &Config, today: NaiveDate, filter_agency: Option<&str>) -> Vec<StatusRow> {
    let mut rows = Vec::new();
    for plan in &config.plans {
        let year_end = NaiveDate::from_ymd_opt(plan.issued.year(), 12, 31).unwrap_or(plan.issued);
        for task in &plan.tasks {
            for (role, list) in [(Role::Lead, &task.lead), (Role::Support, &task.support)] {
                for agency in list {
                    if filter_agency.is_some_and(|a| a != agency) {
                        continue;
                    }
                    // A completion dated after `today` has not happened yet.
                    let done = [task.done, task.done_by.get(agency).copied()]
                        .into_iter()
                        .flatten()
                        .min()
                        .filter(|d| *d <= today);
                    let deadlines = agency_deadlines(
                        config,
                        task,
                        agency,
                        role,
                        plan.issued,
                        year_end.max(today),
                    );
                    let (deadline, state) = state_of(&deadlines, done, today);
                    rows.push(StatusRow {
                        plan: plan.number.clone(),
                        task: task.id.clone(),
                        agency: agency.clone(),
                        role,
                        deadline,
                        state,
                        done,
                    });
                }
            }
        }
    }
    rows.sort_by(|a, b| {
        (
            a.state,
            a.deadline.is_none(),
            a.deadline,
            &a.plan,
            natural_key(&a.task),
            a.role,
            &a.agency,
        )
            .cmp(&(
                b.state,
                b.deadline.is_none(),
                b.deadline,
                &b.plan,
                natural_key(&b.task),
                b.role,
                &b.agency,
            ))
    });
    rows
}

/// The dated deadlines an agency answers for in a task, sorted.
fn agency_deadlines(
    config: &Config,
    task: &Task,
    agency: &str,
    role: Role,
    issued: NaiveDate,
    until: NaiveDate,
) -> Vec<NaiveDate> {
    let level = config.agency(agency).map(|a| a.level.as_str());
    let mut out: Vec<NaiveDate> = match &task.deadline {
        Deadline::Dated(ms) => {
            let own: Vec<&Milestone> = ms
                .iter()
                .filter(|m| m.level.is_none() || m.level.as_deref() == level)
                .collect();
            let chosen: Vec<&Milestone> = if role == Role::Support || own.is_empty() {
                ms.iter().collect()
            } else {
                own
            };
            chosen.iter().map(|m| m.due).collect()
        }
        // The schedule's own occurrences (bounded to the plan's year unless the rule says).
        Deadline::Recurring { .. } => crate::schedule::milestones(task, issued, until)
            .into_iter()
            .map(|m| m.due)
            .collect(),
        _ => vec![],
    };
    out.sort_unstable();
    out.dedup();
    out
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

pub fn render_status_text(config: &Config, rows: &[StatusRow], today: NaiveDate) -> String {
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
            r.task,
            r.role.vi(),
            deadline,
            r.plan,
            agency_name(config, &r.agency)
        ));
    }
    let count = |s: State| rows.iter().filter(|r| r.state == s).count();
    out.push_str(&format!(
        "\nQuá hạn: {}; trong hạn: {}; hoàn thành đúng hạn: {}; hoàn thành quá hạn: {}.\n",
        count(State::OpenOverdue),
        count(State::Open),
        count(State::DoneOnTime),
        count(State::DoneLate)
    ));
    out
}

#[derive(Debug, Serialize)]
pub struct CalendarYear {
    pub year: i32,
    pub days: Vec<CalendarDay>,
}

pub fn render_calendar_text(year: &CalendarYear) -> String {
    let mut out = format!("Lịch nghỉ lễ, nghỉ bù và làm bù năm {}:\n", year.year);
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
            d.name
        ));
    }
    out
}
