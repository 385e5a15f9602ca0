//! The weekly report to each monitoring office: the figures of an `Overview`, the agencies
//! needing attention, the overdue tasks, and what was recorded in its week.

use super::{builtin_mail, occurrence, Attachment, NewDelivery};
use crate::config::Config;
use crate::dates::dmy;
use crate::render::{Builtin, TemplateError};
use crate::report::State;
use crate::schedule::Role;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// The weekly report lists at most this many overdue tasks and agencies (the most urgent
/// first); the counts cover everything, and the workbook attached lists all.
pub const MAX_REPORT_LINES: usize = 60;
/// The weekly report names at most this many answers or decisions of each kind recorded in its
/// week (far more than a province records in one), and says how many more there were: a
/// completion, a grant or a refusal is listed in the one report whose week it was recorded in,
/// so a shorter cap would leave some in none.
pub const MAX_CHANGE_LINES: usize = 500;
/// How far ahead "due soon" looks: an agency with a deadline this close is listed by name.
pub const DUE_SOON_DAYS: i64 = 14;

#[derive(Debug, Serialize)]
struct ReportCounts {
    done_on_time: usize,
    done_late: usize,
    done: usize,
    open: usize,
    overdue: usize,
    not_due: usize,
    undated: usize,
    total: usize,
    rate: String,
}

impl ReportCounts {
    fn of(c: &crate::overview::Counts) -> ReportCounts {
        ReportCounts {
            done_on_time: c.done_on_time,
            done_late: c.done_late,
            done: c.done(),
            open: c.open,
            overdue: c.overdue,
            not_due: c.not_due,
            undated: c.undated,
            total: c.total(),
            rate: c.on_time_vi(),
        }
    }
}

#[derive(Debug, Serialize)]
struct ReportPlan {
    citation: String,
    closed: bool,
    counts: ReportCounts,
}

#[derive(Debug, Serialize)]
struct ReportAgency {
    name: String,
    overdue: usize,
    due_soon: usize,
    done_on_time: usize,
    done_late: usize,
    rate: String,
}

#[derive(Debug, Serialize)]
struct ReportOverdue {
    plan: String,
    task: String,
    title: String,
    deadline: String,
    days: i64,
    agencies: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ReportChange {
    plan: String,
    task: String,
    title: String,
    agency: String,
    /// "hoàn thành đúng hạn ngày 20/05/2022", "quá hạn từ 18/05/2022", "gia hạn 18/06 → 31/07".
    what: String,
}

#[derive(Debug, Default, Serialize)]
struct ReportChanges {
    completed: Vec<ReportChange>,
    completed_total: usize,
    confirmed: Vec<ReportChange>,
    confirmed_total: usize,
    returned: Vec<ReportChange>,
    returned_total: usize,
    new_overdue: Vec<ReportChange>,
    new_overdue_total: usize,
    extended: Vec<ReportChange>,
    extended_total: usize,
    refused: Vec<ReportChange>,
    refused_total: usize,
}

/// The weekly report's week: what the agencies and the monitoring office recorded from the
/// previous report time (included) to this report time (excluded). Consecutive reports have
/// adjoining weeks, so each completion, grant and refusal is listed in exactly one report,
/// whatever date the agency says it finished on and whenever in the day it was recorded.
#[derive(Debug, Clone, Copy)]
pub struct Week<'a> {
    /// The previous report's time (a store that made none: this one's minus seven days).
    pub from: DateTime<Utc>,
    /// This report's time: the cron occurrence being reported, not the moment it is made.
    pub to: DateTime<Utc>,
    /// The responses as stored (completions; extension requests, refused or not).
    pub responses: &'a [crate::answers::Response],
    /// The extensions granted.
    pub extensions: &'a [crate::answers::Extension],
}

impl Week<'_> {
    /// Whether something recorded at `t` belongs to this week.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }

    /// "từ 07:30 30/11/2026 đến 07:30 07/12/2026", in `tz`.
    pub fn vi(&self, tz: chrono_tz::Tz) -> String {
        let at = |t: DateTime<Utc>| crate::dates::hm_dmy(&t.with_timezone(&tz));
        format!("từ {} đến {}", at(self.from), at(self.to))
    }
}

/// What `week` recorded, each kind sorted by plan, task and agency: completions (not
/// withdrawn) with the state, the occurrence a recurring task's report closed and the report's
/// number; extensions granted with their document; refusals with their reason. Answers about
/// tasks no longer in `config` are left out (as the overlay leaves them).
/// The week's changes: completions, extensions granted, refusals, and the office's reviews
/// (confirmed, returned).
struct WeekChanges {
    completed: Vec<ReportChange>,
    extended: Vec<ReportChange>,
    refused: Vec<ReportChange>,
    confirmed: Vec<ReportChange>,
    returned: Vec<ReportChange>,
}

fn week_changes(config: &Config, week: &Week<'_>) -> WeekChanges {
    use crate::answers::Action;
    let tz = config.timezone;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    let change =
        |plan: &str, task: &crate::config::Task, agency: &str, what: String| ReportChange {
            plan: plan.to_string(),
            task: task.id.clone(),
            title: task.title.clone(),
            agency: config.agency_name(agency),
            what,
        };
    let mut completed: Vec<(DateTime<Utc>, ReportChange)> = Vec::new();
    let mut refused: Vec<(DateTime<Utc>, ReportChange)> = Vec::new();
    let mut confirmed: Vec<(DateTime<Utc>, ReportChange)> = Vec::new();
    let mut returned: Vec<(DateTime<Utc>, ReportChange)> = Vec::new();
    for r in week.responses {
        let Some(task) = config.task(&r.plan, &r.task) else {
            continue;
        };
        // The office's review of a completion, in the week it was made.
        if let Some(review) = r.review.as_ref().filter(|v| week.contains(v.at)) {
            let period = match r.deadline.map(|d| occurrence(&task.deadline, d)) {
                Some(p) if !p.is_empty() => format!("kỳ {p}, "),
                _ => String::new(),
            };
            let reported = format!(
                "{period}báo hoàn thành ngày {}{}",
                r.done_on.map(dmy).unwrap_or_default(),
                r.doc_ref
                    .as_deref()
                    .map(|d| format!(", {}", d.trim()))
                    .unwrap_or_default()
            );
            if review.confirmed {
                confirmed.push((
                    review.at,
                    change(
                        &r.plan,
                        task,
                        &r.agency,
                        format!("đã xác nhận ({reported})"),
                    ),
                ));
            } else {
                returned.push((
                    review.at,
                    change(
                        &r.plan,
                        task,
                        &r.agency,
                        format!(
                            "trả lại ({reported}): {}",
                            review.reason.as_deref().unwrap_or("không ghi lý do")
                        ),
                    ),
                ));
            }
        }
        match r.action {
            Action::Done if r.undone_at.is_none() && week.contains(r.created_at) => {
                let Some(on) = r.done_on else { continue };
                // The state against the deadline it closed (moved, if extended), and for a
                // recurring task the period that occurrence reports on.
                let mut what = match r.deadline {
                    Some(planned) => {
                        let due = task.deadline_for(&r.agency, planned);
                        let state = if on <= due {
                            State::DoneOnTime
                        } else {
                            State::DoneLate
                        };
                        let period = match occurrence(&task.deadline, planned) {
                            p if p.is_empty() => String::new(),
                            p => format!("kỳ {p}, "),
                        };
                        format!("{} ngày {} ({period}hạn {})", state.vi(), dmy(on), dmy(due))
                    }
                    None => format!("hoàn thành ngày {}", dmy(on)),
                };
                if let Some(doc) = r.doc_ref.as_deref().filter(|d| !d.trim().is_empty()) {
                    what.push_str(&format!(", {}", doc.trim()));
                }
                if local(r.created_at) != on {
                    what.push_str(&format!(", báo ngày {}", dmy(local(r.created_at))));
                }
                if crate::report::role_in(task, &r.agency) == Some(Role::Support) {
                    what.push_str(" (cơ quan phối hợp báo)");
                }
                let who = r.who.vi();
                if !who.is_empty() {
                    what.push_str(&format!("; người báo: {who}"));
                }
                completed.push((r.created_at, change(&r.plan, task, &r.agency, what)));
            }
            Action::Extension => {
                let Some(at) = r.refused_at.filter(|t| week.contains(*t)) else {
                    continue;
                };
                let asked = match (r.deadline, r.proposed) {
                    (Some(from), Some(to)) => format!(" từ {} đến {}", dmy(from), dmy(to)),
                    (None, Some(to)) => format!(" đến {}", dmy(to)),
                    _ => String::new(),
                };
                let reason = r
                    .refusal
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default();
                refused.push((
                    at,
                    change(
                        &r.plan,
                        task,
                        &r.agency,
                        format!("không đồng ý gia hạn{asked}{reason}"),
                    ),
                ));
            }
            _ => {}
        }
    }
    let mut extended: Vec<(DateTime<Utc>, ReportChange)> = week
        .extensions
        .iter()
        .filter(|e| week.contains(e.granted_at))
        .filter_map(|e| {
            let task = config.task(&e.plan, &e.task)?;
            let what = format!(
                "gia hạn từ {} đến {}{}",
                dmy(e.from),
                dmy(e.to),
                e.doc_ref
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
            Some((e.granted_at, change(&e.plan, task, &e.agency, what)))
        })
        .collect();
    let sorted = |v: &mut Vec<(DateTime<Utc>, ReportChange)>| {
        v.sort_by(|(ta, a), (tb, b)| {
            (
                &a.plan,
                crate::schedule::natural_key(&a.task),
                &a.agency,
                ta,
            )
                .cmp(&(
                    &b.plan,
                    crate::schedule::natural_key(&b.task),
                    &b.agency,
                    tb,
                ))
        });
        std::mem::take(v)
            .into_iter()
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
    };
    WeekChanges {
        completed: sorted(&mut completed),
        extended: sorted(&mut extended),
        refused: sorted(&mut refused),
        confirmed: sorted(&mut confirmed),
        returned: sorted(&mut returned),
    }
}

/// What the weekly report's templates see.
#[derive(Debug, Serialize)]
struct WeeklyCtx {
    today: String,
    /// Where "newly overdue" starts: deadlines from this date (seven days before `today`).
    since: String,
    /// The week of the changes listed: "từ 07:30 30/11/2026 đến 07:30 07/12/2026".
    window: String,
    totals: ReportCounts,
    plans: Vec<ReportPlan>,
    agencies: Vec<ReportAgency>,
    /// Agencies with nothing overdue nor due soon: counted, not named.
    agencies_quiet: usize,
    /// Agencies needing attention past the named ones (see the workbook).
    agencies_more: usize,
    overdue: Vec<ReportOverdue>,
    overdue_tasks: usize,
    overdue_more: usize,
    changes: ReportChanges,
    link: String,
    attachment: String,
    document: String,
    redirected_to: Vec<String>,
}

/// The weekly report to the monitoring agency's addresses: the figures of `overview` (as of
/// its day; plans not yet issued are not in it), the agencies that need attention, the overdue
/// tasks grouped by task, the tasks newly overdue (deadline in the seven days before), and
/// what was recorded in `week` (completions, extensions granted, refusals). `attachments` go
/// with it (the workbook, and the report to sign when `[report] attach_docx`; the text names
/// each by its type); `link` is the dashboard.
pub fn weekly_report(
    config: &Config,
    monitor: &str,
    overview: &crate::overview::Overview,
    week: &Week<'_>,
    link: Option<&str>,
    attachments: Vec<Attachment>,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let Some(m) = config.agency(monitor) else {
        return Ok(vec![]);
    };
    let today = overview.as_of;
    let since = today - Duration::days(7);
    let soon = today + Duration::days(DUE_SOON_DAYS);

    // Per agency: overdue, and open leads due within the fortnight.
    let mut due_soon: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in &overview.rows {
        let s = &r.status;
        if s.role == Role::Lead
            && s.done.is_none()
            && matches!(s.state, State::Open | State::NotDue)
            && s.deadline.is_some_and(|d| d >= today && d <= soon)
        {
            *due_soon.entry(s.agency.as_str()).or_default() += 1;
        }
    }
    let mut agencies: Vec<ReportAgency> = overview
        .agencies
        .iter()
        .filter_map(|a| {
            let soon = due_soon.get(a.agency.as_str()).copied().unwrap_or(0);
            (a.counts.overdue > 0 || soon > 0).then(|| ReportAgency {
                name: a.name.clone(),
                overdue: a.counts.overdue,
                due_soon: soon,
                done_on_time: a.counts.done_on_time,
                done_late: a.counts.done_late,
                rate: a.counts.on_time_vi(),
            })
        })
        .collect();
    // The most overdue first; past the cap, those needing attention are counted apart from
    // the quiet ones, so "nothing overdue" is never said of an agency that has something.
    // (Stable: ties keep the overview's order.)
    agencies.sort_by_key(|a| std::cmp::Reverse((a.overdue, a.due_soon)));
    let agencies_quiet = overview.agencies.len() - agencies.len();
    let agencies_more = agencies.len().saturating_sub(MAX_REPORT_LINES);
    agencies.truncate(MAX_REPORT_LINES);

    let groups = overview.overdue_by_task();
    let overdue: Vec<ReportOverdue> = groups
        .iter()
        .take(MAX_REPORT_LINES)
        .map(|g| ReportOverdue {
            plan: g.plan.to_string(),
            task: g.task.to_string(),
            title: g.title.to_string(),
            deadline: dmy(g.deadline),
            days: g.days,
            agencies: g.rows.iter().map(|r| r.agency_name.clone()).collect(),
        })
        .collect();

    let change = |r: &crate::overview::Row, what: String| ReportChange {
        plan: r.status.plan.clone(),
        task: r.status.task.clone(),
        title: r.title.clone(),
        agency: r.agency_name.clone(),
        what,
    };
    let new_overdue: Vec<ReportChange> = overview
        .rows
        .iter()
        .filter(|r| {
            r.status.role == Role::Lead
                && r.status.state == State::OpenOverdue
                && r.status.deadline.is_some_and(|d| d >= since)
        })
        .map(|r| {
            change(
                r,
                format!(
                    "quá hạn từ sau ngày {}",
                    r.status.deadline.map(dmy).unwrap_or_default()
                ),
            )
        })
        .collect();
    let WeekChanges {
        completed,
        extended,
        refused,
        confirmed,
        returned,
    } = week_changes(config, week);
    let cap = |mut v: Vec<ReportChange>, lines: usize| {
        let total = v.len();
        v.truncate(lines);
        (v, total)
    };
    let (completed, completed_total) = cap(completed, MAX_CHANGE_LINES);
    let (new_overdue, new_overdue_total) = cap(new_overdue, MAX_REPORT_LINES);
    let (extended, extended_total) = cap(extended, MAX_CHANGE_LINES);
    let (refused, refused_total) = cap(refused, MAX_CHANGE_LINES);
    let (confirmed, confirmed_total) = cap(confirmed, MAX_CHANGE_LINES);
    let (returned, returned_total) = cap(returned, MAX_CHANGE_LINES);
    let plans: Vec<ReportPlan> = overview
        .plans
        .iter()
        .map(|p| ReportPlan {
            citation: p.citation.clone(),
            closed: p.closed,
            counts: ReportCounts::of(&p.counts),
        })
        .collect();
    let named = |kind: &str| {
        attachments
            .iter()
            .find(|a| a.content_type == kind)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let attachment = named(crate::workbook::XLSX_TYPE);
    let document = named(crate::report_doc::DOCX_TYPE);
    // The parts are moved into the one context rendered.
    let parts = std::cell::RefCell::new(Some((
        plans,
        agencies,
        overdue,
        ReportChanges {
            completed,
            completed_total,
            confirmed,
            confirmed_total,
            returned,
            returned_total,
            new_overdue,
            new_overdue_total,
            extended,
            extended_total,
            refused,
            refused_total,
        },
    )));
    let mut out = builtin_mail(
        &config.email,
        Builtin::WeeklyReport,
        &m.id,
        &format!("{}.weekly-report", m.id),
        &m.email,
        |redirected_to| {
            let (plans, agencies, overdue, changes) = parts.borrow_mut().take().unwrap_or_default();
            WeeklyCtx {
                today: dmy(today),
                since: dmy(since),
                window: week.vi(config.timezone),
                totals: ReportCounts::of(&overview.totals),
                plans,
                agencies,
                agencies_quiet,
                agencies_more,
                overdue,
                overdue_tasks: groups.len(),
                overdue_more: groups.len().saturating_sub(MAX_REPORT_LINES),
                changes,
                link: link.unwrap_or_default().to_string(),
                attachment: attachment.clone(),
                document: document.clone(),
                redirected_to,
            }
        },
    )?;
    for d in &mut out {
        d.attachments = attachments.clone();
    }
    Ok(out)
}

/// The weekly report of `now`'s day to `monitor`: the monitoring figures from `config` (with
/// only the plans `monitor` monitors, `Config::monitored_by`; the answers laid
/// over it) and `responses`, `extensions` and the last reminders (`last`, the store's), what was recorded in `week` (from the
/// previous report time to this one), the workbook attached (and the report to sign, its period
/// the week's, when `[report] attach_docx`), the dashboard linked when `[web]` and the link
/// secret are set.
#[allow(clippy::too_many_arguments)]
pub fn assemble_weekly_report(
    config: &Config,
    links: Option<&crate::links::Signer>,
    monitor: &str,
    now: DateTime<Tz>,
    week: std::ops::Range<DateTime<Utc>>,
    responses: &[crate::answers::Response],
    extensions: &[crate::answers::Extension],
    last: &std::collections::HashMap<(String, String, String), DateTime<Utc>>,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let today = now.date_naive();
    // The store's answers as of now, whether or not `config` was built with them (laying them
    // over twice changes nothing: the earliest completion and the latest grant win).
    let config = &crate::overview::answered_as_of(config, responses, extensions, today);
    let overview = crate::overview::compute(config, today, None, responses, extensions, last);
    let mut attachments = Vec::new();
    match crate::workbook::xlsx(config, &overview) {
        Ok(bytes) => attachments.push(Attachment {
            name: crate::workbook::file_name(today, "xlsx"),
            content_type: crate::workbook::XLSX_TYPE.into(),
            bytes,
        }),
        // The report still goes, without its appendix.
        Err(e) => {
            tracing::error!(error = %e, event = "report_failed", "báo cáo tuần: không tạo được bảng tính")
        }
    }
    if config.report_doc.attach_docx {
        // The report to sign, its period the week's window (its completions, its extensions).
        let from = week.start.with_timezone(&config.timezone).date_naive();
        let made = crate::report_doc::docx(&crate::report_doc::Input {
            config,
            overview: &overview,
            period: crate::report_doc::Period::between(from.min(today), today),
            responses,
            extensions,
        });
        match made {
            Ok(bytes) => attachments.push(Attachment {
                name: crate::report_doc::file_name(today),
                content_type: crate::report_doc::DOCX_TYPE.into(),
                bytes,
            }),
            Err(e) => {
                tracing::error!(error = %e, event = "report_failed", "báo cáo tuần: không tạo được văn bản báo cáo")
            }
        }
    }
    // The settings' office opens every plan; a plan's own office, the plans it monitors.
    let scope = if Some(monitor) == config.monitor.as_deref() {
        crate::links::MONITOR.to_string()
    } else {
        crate::links::monitor_scope(monitor)
    };
    let link = match (&config.web, links) {
        (Some(web), Some(signer)) => {
            let key = signer.sign(&scope, now.with_timezone(&Utc));
            Some(crate::links::Url::Monitor(&key).at(&web.public_url))
        }
        _ => None,
    };
    let week = Week {
        from: week.start,
        to: week.end,
        responses,
        extensions,
    };
    weekly_report(
        config,
        monitor,
        &overview,
        &week,
        link.as_deref(),
        attachments,
    )
}
