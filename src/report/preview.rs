//! `preview`: what the service will send and when, decided as `deliver::tick` decides
//! (`forecast`'s passes); the calendar listing.

use super::agency_name;
use crate::calendar::{Calendar, CalendarDay, DayKind};
use crate::config::Config;
use crate::dates::dmy;
use crate::deadline::weekday_vi;
use crate::forecast::{self, Ledger, Trigger};
use crate::schedule::{Digest, Schedule};
use chrono::{DateTime, Datelike, Days, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;

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
