//! `nhacviec check`: the report of how every task's time was read, and every problem found.
//! The JSON shape is a stable interface (documented in README.md): other tools and tests read it.

use crate::calendar::{announced, statutory_tet, Calendar};
use crate::config::{Analysis, Config, Diagnostic, Plan, Severity, Task};
use crate::dates::dmy;
use crate::deadline::{recur, Deadline, Milestone};
use crate::policy::DayCount;
use crate::text::printable;
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub plans: Vec<PlanReport<'a>>,
    pub tasks: Vec<TaskReport<'a>>,
    pub errors: Vec<&'a Diagnostic>,
    /// The config's warnings, then those about the calendar ([`unannounced_tet`]).
    pub warnings: Vec<Cow<'a, Diagnostic>>,
}

/// A plan's header and lifecycle.
#[derive(Debug, Serialize)]
pub struct PlanReport<'a> {
    pub number: &'a str,
    pub file: &'a str,
    pub issued: NaiveDate,
    /// "active" or "closed".
    pub status: &'static str,
    pub closed: Option<NaiveDate>,
    pub reminders_from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// The plan's own monitoring office (`[plan] monitor`, an agency id), when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct TaskReport<'a> {
    pub plan: &'a str,
    pub id: &'a str,
    pub title: &'a str,
    pub time_text: Option<&'a str>,
    pub deadline: DeadlineReport<'a>,
    pub lead: &'a [String],
    pub support: &'a [String],
    pub done: Option<NaiveDate>,
    pub done_by: &'a BTreeMap<String, NaiveDate>,
}

#[derive(Debug, Serialize)]
pub struct DeadlineReport<'a> {
    pub kind: &'static str,
    /// The final date of a dated deadline.
    pub due: Option<NaiveDate>,
    /// Every dated milestone (one for a single deadline).
    pub milestones: &'a [Milestone],
    pub rrule: Option<&'a str>,
}

pub fn report(analysis: &Analysis) -> Report<'_> {
    let tasks = analysis
        .config
        .plans
        .iter()
        .flat_map(|p| p.tasks.iter().map(move |t| task_report(p, t)))
        .collect();
    let plans = analysis
        .config
        .plans
        .iter()
        .map(|p| PlanReport {
            number: &p.number,
            file: &p.file,
            issued: p.issued,
            status: if p.is_closed() { "closed" } else { "active" },
            closed: p.closed.and_then(|c| c.on),
            reminders_from: p.reminders_from,
            until: p.until,
            monitor: p.monitor.as_deref(),
        })
        .collect();
    let calendar_warnings = unannounced_tet(&analysis.config, &plan_calendar(&analysis.config));
    Report {
        plans,
        tasks,
        errors: analysis.errors().collect(),
        warnings: analysis
            .warnings()
            .map(Cow::Borrowed)
            .chain(calendar_warnings.into_iter().map(Cow::Owned))
            .collect(),
    }
}

/// The link secret as the edge found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSecret {
    Present,
    Absent,
    /// Present but refused, with why (too short, a file that is not a regular file, …).
    Unusable(String),
}

/// Why the agencies' pages and the reminders' links are off although `[web]` is configured:
/// the link secret is absent or unusable; `None` when they are on or `[web]` is not
/// configured. `check` warns with it, `/healthz` shows it.
pub fn web_links_off(config: &Config, secret: &LinkSecret) -> Option<String> {
    config.web.as_ref()?;
    let consequence = "thư nhắc không kèm liên kết đến trang của cơ quan, trang trả lời và trang theo dõi không chạy";
    match secret {
        LinkSecret::Present => None,
        LinkSecret::Absent => Some(format!(
            "đã cấu hình [web] nhưng chưa có khóa ký liên kết (biến môi trường NHACVIEC_LINK_SECRET hoặc tệp $CREDENTIALS_DIRECTORY/link-secret): {consequence}"
        )),
        LinkSecret::Unusable(e) => Some(format!(
            "đã cấu hình [web] nhưng khóa ký liên kết không dùng được ({e}): {consequence}"
        )),
    }
}

/// [`web_links_off`] as a warning of the settings file, with how to fix it.
pub fn web_links_warning(settings_file: &str, reason: String) -> Diagnostic {
    Diagnostic::file(Severity::Warning, settings_file, reason).with_help(
        "tạo khóa bằng `openssl rand -hex 32`, đặt vào NHACVIEC_LINK_SECRET hoặc credential link-secret của systemd (LoadCredential), rồi khởi động lại dịch vụ",
    )
}

/// Days either side of an unannounced Tết within which deadlines and reminders are flagged.
pub const TET_MARGIN_DAYS: u64 = 10;

/// How far a plan's recurring duties are looked at for [`unannounced_tet`]: two years past
/// its issue (or its `until`), as `describe` shows them; dated milestones count whatever
/// their date.
fn horizon(plan: &Plan) -> NaiveDate {
    let two_years = NaiveDate::from_ymd_opt(plan.issued.year() + 2, 12, 31).unwrap_or(plan.issued);
    plan.until.map_or(two_years, |u| u.min(two_years))
}

/// The calendar `check` uses: the config's overrides, over its plans' years.
fn plan_calendar(config: &Config) -> Calendar {
    let years = config.plans.iter().map(|p| p.issued.year());
    let from = years.clone().min().unwrap_or(announced::LAST_YEAR);
    let to = config
        .plans
        .iter()
        .map(|p| horizon(p).year())
        .max()
        .unwrap_or(from);
    Calendar::new(config.calendar.clone(), from..=to.max(from))
}

/// A deadline's reminder days, roughly as the schedule places them: before (in calendar or
/// working days), on the day, and the overdue repeats.
fn reminder_dates(due: NaiveDate, task: &Task, calendar: &Calendar) -> Vec<NaiveDate> {
    let policy = &task.policy;
    let mut out = vec![due];
    for &n in &policy.before {
        out.push(match policy.count {
            DayCount::Working => calendar.working_days_before(due, n),
            DayCount::Calendar => due.checked_sub_days(Days::new(n.into())).unwrap_or(due),
        });
    }
    for k in 1..=u64::from(policy.overdue_times) {
        let after = k * u64::from(policy.overdue_every);
        if let Some(d) = due.checked_add_days(Days::new(after)) {
            out.push(d);
        }
    }
    out
}

/// Warnings for the deadlines and reminders that fall within [`TET_MARGIN_DAYS`] of a Tết
/// whose schedule is not announced yet (a year after the built-in announcements, with nothing
/// in `[calendar]` around its Tết): its days off are only the statutory guess until then. One
/// warning a year, naming the tasks. Pure: the config and the calendar are passed in.
pub fn unannounced_tet(config: &Config, calendar: &Calendar) -> Vec<Diagnostic> {
    unannounced_tet_by_year(config, calendar)
        .into_values()
        .collect()
}

/// [`unannounced_tet`]'s warning about the Tết of `year`, if any (for `calendar --year`).
pub fn unannounced_tet_in(config: &Config, calendar: &Calendar, year: i32) -> Option<Diagnostic> {
    unannounced_tet_by_year(config, calendar).remove(&year)
}

fn unannounced_tet_by_year(config: &Config, calendar: &Calendar) -> BTreeMap<i32, Diagnostic> {
    let margin = Days::new(TET_MARGIN_DAYS);
    // The window around each unannounced Tết, by year, found once.
    let mut windows: BTreeMap<i32, Option<(NaiveDate, NaiveDate)>> = BTreeMap::new();
    let mut window = |year: i32| -> Option<(NaiveDate, NaiveDate)> {
        *windows.entry(year).or_insert_with(|| {
            if !announced::tet_unannounced(year) {
                return None;
            }
            let (first, last) = statutory_tet(year)?;
            let span = (
                first.checked_sub_days(margin)?,
                last.checked_add_days(margin)?,
            );
            let in_config = config
                .calendar
                .days_off
                .iter()
                .chain(&config.calendar.workdays)
                .any(|(d, _)| (span.0..=span.1).contains(d));
            (!in_config).then_some(span)
        })
    };
    // Year → (plan file, what to name), in the plans' order.
    let mut found: BTreeMap<i32, Vec<(&str, String)>> = BTreeMap::new();
    for plan in config.plans.iter().filter(|p| !p.is_closed()) {
        let until = horizon(plan);
        for task in &plan.tasks {
            for m in crate::schedule::milestones(task, plan, until) {
                let near = reminder_dates(m.due, task, calendar)
                    .into_iter()
                    .find_map(|d| {
                        let (from, to) = window(d.year())?;
                        (from..=to).contains(&d).then_some(d.year())
                    });
                if let Some(year) = near {
                    let what = format!(
                        "{} ({}), hạn {}",
                        printable(&task.id),
                        printable(&plan.number),
                        dmy(m.due)
                    );
                    found.entry(year).or_default().push((&plan.file, what));
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(year, items)| {
            let diag = {
                let shown: Vec<&str> = items.iter().take(5).map(|(_, w)| w.as_str()).collect();
                let more = match items.len().saturating_sub(shown.len()) {
                    0 => String::new(),
                    n => format!(" và {n} hạn khác"),
                };
                let tet = statutory_tet(year)
                    .map(|(f, l)| {
                        format!(
                            " (dự kiến theo Bộ luật Lao động: {} đến {})",
                            dmy(f),
                            dmy(l)
                        )
                    })
                    .unwrap_or_default();
                Diagnostic::file(
                    Severity::Warning,
                    items[0].0,
                    format!(
                    "lịch nghỉ Tết năm {year} chưa được công bố: thêm [calendar] khi có thông báo"
                ),
                )
                .with_help(format!(
                    "hạn hoặc ngày nhắc trong vòng {TET_MARGIN_DAYS} ngày quanh Tết{tet}: {}{more}",
                    shown.join("; ")
                ))
            };
            (year, diag)
        })
        .collect()
}

fn task_report<'a>(plan: &'a Plan, t: &'a Task) -> TaskReport<'a> {
    let (milestones, rrule): (&[Milestone], Option<&str>) = match &t.deadline {
        Deadline::Dated(ms) => (ms, None),
        Deadline::Recurring { rrule, .. } => (&[], Some(rrule)),
        _ => (&[], None),
    };
    TaskReport {
        plan: &plan.number,
        id: &t.id,
        title: &t.title,
        time_text: t.time_text.as_deref(),
        deadline: DeadlineReport {
            kind: if t.unreadable {
                "unreadable"
            } else {
                t.deadline.kind()
            },
            due: t.deadline.last_due(),
            milestones,
            rrule,
        },
        lead: &t.lead,
        support: &t.support,
        done: t.done,
        done_by: &t.done_by,
    }
}

/// How a deadline was read, in Vietnamese, for the text report.
pub fn describe(deadline: &Deadline, plan: &Plan, config: &Config) -> String {
    let level_name = |id: &str| {
        config
            .levels
            .iter()
            .find(|l| l.id == id)
            .map_or_else(|| id.to_string(), |l| l.name.clone())
    };
    let milestone = |m: &Milestone| {
        let when = match m.start {
            Some(s) => format!("{} đến {}", dmy(s), dmy(m.due)),
            None => dmy(m.due),
        };
        match &m.level {
            Some(l) => format!("{} {when}", level_name(l)),
            None => when,
        }
    };
    match deadline {
        Deadline::Dated(ms) if ms.len() == 1 && ms[0].start.is_some() => {
            format!(
                "từ {}, hạn {}",
                ms[0].start.map(dmy).unwrap_or_default(),
                dmy(ms[0].due)
            )
        }
        Deadline::Dated(ms) if ms.len() == 1 => format!("hạn {}", dmy(ms[0].due)),
        Deadline::Dated(ms) => {
            let list: Vec<String> = ms.iter().map(milestone).collect();
            if ms.iter().any(|m| m.level.is_some()) {
                format!("theo cấp: {}", list.join("; "))
            } else {
                format!("các hạn: {}", list.join("; "))
            }
        }
        Deadline::Recurring { rrule, window_from } => {
            // The first few occurrences, whatever the plan's year.
            let until = plan.until.unwrap_or_else(|| {
                NaiveDate::from_ymd_opt(plan.issued.year() + 2, 12, 31).unwrap_or(plan.issued)
            });
            let dates = recur::occurrences(rrule, plan.issued, until, 5).unwrap_or_default();
            let shown: Vec<String> = dates.iter().take(4).map(|d| dmy(*d)).collect();
            let more = if dates.len() > 4 { ", ..." } else { "" };
            if shown.is_empty() {
                format!("định kỳ ({rrule})")
            } else {
                // A window that repeats: said from its first day.
                let window =
                    window_from.map_or(String::new(), |d| format!("từ ngày {d} đến hạn mỗi kỳ; "));
                format!("định kỳ: {window}{}{more} ({rrule})", shown.join(", "))
            }
        }
        Deadline::PeriodicUnspecified => "định kỳ, chưa rõ kỳ hạn: cần khai báo recurrence".into(),
        Deadline::Continuous => "thường xuyên (không có hạn riêng)".into(),
        Deadline::OnRequest => "khi có yêu cầu (không nhắc theo lịch)".into(),
    }
}

/// What the plan's header says of its life, for the admin: closed, reminding from a date,
/// recurrences stopping at a date.
pub fn lifecycle(plan: &Plan) -> Option<String> {
    if let Some(closed) = plan.closed {
        return Some(match closed.on {
            Some(d) => format!("Đã kết thúc ngày {}: không gửi nhắc việc", dmy(d)),
            None => "Đã kết thúc: không gửi nhắc việc".into(),
        });
    }
    let mut parts = Vec::new();
    if let Some(from) = plan.reminders_from {
        parts.push(format!("chỉ nhắc từ ngày {}", dmy(from)));
    }
    if let Some(until) = plan.until {
        parts.push(format!("nhiệm vụ định kỳ nhắc đến ngày {}", dmy(until)));
    }
    (!parts.is_empty()).then(|| {
        let text = parts.join("; ");
        let mut chars = text.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    })
}

/// The text report: each plan and task with how its time was read, then the diagnostics.
pub fn render_text(analysis: &Analysis) -> String {
    let config = &analysis.config;
    let mut out = String::new();
    for plan in &config.plans {
        out.push_str(&format!(
            "Kế hoạch {} của {}, ban hành {} ({}): {} nhiệm vụ\n",
            printable(&plan.number),
            printable(&plan.issuer),
            dmy(plan.issued),
            printable(&plan.file),
            plan.tasks.len()
        ));
        if let Some(lifecycle) = lifecycle(plan) {
            out.push_str(&format!("  {lifecycle}\n"));
        }
        // The plan's own office, when it is not the settings' one.
        if let Some(m) = config
            .monitor_of(plan)
            .filter(|m| Some(*m) != config.monitor.as_deref())
        {
            out.push_str(&format!(
                "  Cơ quan theo dõi: {} ({})\n",
                printable(&config.agency_name(m)),
                printable(m)
            ));
        }
        let id_width = plan
            .tasks
            .iter()
            .map(|t| t.id.chars().count())
            .max()
            .unwrap_or(0);
        for t in &plan.tasks {
            // One line per task, whatever the text holds.
            let time: String = t
                .time_text
                .as_deref()
                .unwrap_or("(không ghi)")
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let pad = " ".repeat(id_width.saturating_sub(t.id.chars().count()));
            let reading = if t.unreadable {
                "không đọc được (xem lỗi bên dưới)".to_string()
            } else {
                describe(&t.deadline, plan, config)
            };
            out.push_str(&format!(
                "  {}{pad}  {}  →  {}\n",
                printable(&t.id),
                printable(time.trim()),
                printable(&reading)
            ));
        }
        out.push('\n');
    }
    let calendar_warnings = unannounced_tet(config, &plan_calendar(config));
    for d in analysis.diagnostics.iter().chain(&calendar_warnings) {
        out.push_str(&d.render());
        out.push('\n');
    }
    let errors = analysis.errors().count();
    let warnings = analysis.warnings().count() + calendar_warnings.len();
    let agencies = config.agencies.len();
    let tasks: usize = config.plans.iter().map(|p| p.tasks.len()).sum();
    out.push_str(&format!(
        "Kết quả: {} kế hoạch, {tasks} nhiệm vụ, {agencies} cơ quan; {errors} lỗi, {warnings} cảnh báo.\n",
        config.plans.len()
    ));
    out
}
