//! The monitoring office's figures: per plan, per agency, the overdue list and the extension
//! requests waiting, as of a date. Pure: one function of the config (answers laid over it),
//! the date, the responses and the last reminder sent to each agency. The dashboard, `status`,
//! the workbook and the weekly report all read these, so they cannot disagree.
//!
//! Figures count assignments to a lead agency ("cơ quan chủ trì"): a task with two leads is two
//! assignments, each with its own state. Coordinators' rows are listed (workbook, status) but not
//! counted: a coordinating agency is not late on its own.

use crate::answers::{citation, Action, Extension, Response};
use crate::config::Config;
use crate::report::{status_in, State, StatusRow};
use crate::schedule::{natural_key, Role};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::HashMap;

/// How many assignments are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Hoàn thành đúng hạn.
    pub done_on_time: usize,
    /// Hoàn thành quá hạn.
    pub done_late: usize,
    /// Chưa hoàn thành, trong hạn.
    pub open: usize,
    /// Chưa hoàn thành, quá hạn.
    pub overdue: usize,
    /// Chưa đến hạn.
    pub not_due: usize,
    /// Không có hạn.
    pub undated: usize,
    /// Chưa xong khi kế hoạch kết thúc.
    pub closed: usize,
    /// Of those done (on time or late), how many the monitoring office confirmed (a
    /// completion the plan's TOML writes counts as confirmed); the rest are reported only.
    #[serde(default)]
    pub confirmed: usize,
}

impl Counts {
    pub fn add(&mut self, state: State) {
        let slot = match state {
            State::DoneOnTime => &mut self.done_on_time,
            State::DoneLate => &mut self.done_late,
            State::Open => &mut self.open,
            State::OpenOverdue => &mut self.overdue,
            State::NotDue => &mut self.not_due,
            State::Undated => &mut self.undated,
            State::Closed => &mut self.closed,
        };
        *slot += 1;
    }

    pub fn total(&self) -> usize {
        self.done_on_time
            + self.done_late
            + self.open
            + self.overdue
            + self.not_due
            + self.undated
            + self.closed
    }

    pub fn done(&self) -> usize {
        self.done_on_time + self.done_late
    }

    /// Done on time out of everything whose deadline has come: done (on time or late) or
    /// overdue. `None` when nothing has come due yet.
    pub fn on_time_rate(&self) -> Option<f64> {
        let due = self.done_on_time + self.done_late + self.overdue;
        (due > 0).then(|| self.done_on_time as f64 / due as f64)
    }

    /// The rate as a Vietnamese percentage ("66,7%"), or "—".
    pub fn on_time_vi(&self) -> String {
        self.on_time_rate().map_or_else(
            || "—".to_string(),
            |r| format!("{:.1}%", r * 100.0).replace('.', ","),
        )
    }

    /// Every state on one line, overdue first, then the rate: "quá hạn 3; trong hạn 2; chưa
    /// đến hạn 0; không có hạn 1; hoàn thành đúng hạn 4; hoàn thành quá hạn 1; tỷ lệ đúng hạn
    /// 50,0%" (the plans closed with work left, only when there are some).
    pub fn states_vi(&self) -> String {
        let mut out = format!(
            "quá hạn {}; trong hạn {}; chưa đến hạn {}; không có hạn {}; hoàn thành đúng hạn {}; hoàn thành quá hạn {}",
            self.overdue, self.open, self.not_due, self.undated, self.done_on_time, self.done_late
        );
        if self.closed > 0 {
            out.push_str(&format!(
                "; chưa xong khi kế hoạch kết thúc {}",
                self.closed
            ));
        }
        out.push_str(&format!("; tỷ lệ đúng hạn {}", self.on_time_vi()));
        out
    }
}

/// One plan's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PlanFigures {
    pub plan: String,
    pub citation: String,
    pub issued: NaiveDate,
    pub closed: bool,
    /// Tasks in the plan.
    pub tasks: usize,
    pub counts: Counts,
}

/// The latest answer of an agency, short.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The response's id (its attached file, if any, is found by it).
    pub id: i64,
    pub plan: String,
    pub task: String,
    pub action: Action,
    pub at: DateTime<Utc>,
    pub percent: Option<u8>,
    pub note: Option<String>,
    /// The occurrence it is about, as reminders name it ("Tháng 11/2026", "hạn 30/06/2022");
    /// "" for a task without dated deadlines.
    pub occurrence: String,
    /// Who gave it ("Nguyễn Văn A, Chuyên viên"), or "".
    pub who: String,
}

impl Answer {
    fn of(config: &Config, r: &Response) -> Answer {
        let occurrence = match (r.deadline, config.task(&r.plan, &r.task)) {
            (Some(d), Some(t)) => {
                let period = crate::answers::period_label(&t.deadline, d);
                if period.is_empty() {
                    format!("hạn {}", crate::dates::dmy(d))
                } else {
                    period
                }
            }
            (Some(d), None) => format!("hạn {}", crate::dates::dmy(d)),
            (None, _) => String::new(),
        };
        Answer {
            id: r.id,
            plan: r.plan.clone(),
            task: r.task.clone(),
            action: r.action,
            at: r.created_at,
            percent: r.percent,
            note: r.note.clone(),
            occurrence,
            who: r.who.vi(),
        }
    }
}

/// One agency's figures (as lead), and how many tasks it coordinates.
#[derive(Debug, Clone, Serialize)]
pub struct AgencyFigures {
    pub agency: String,
    pub name: String,
    /// Assignments as lead.
    pub lead: usize,
    /// Assignments as coordinator.
    pub support: usize,
    pub counts: Counts,
    pub on_time_rate: Option<f64>,
    pub latest_response: Option<Answer>,
}

/// A row's deadline as an extension moved it: where the plan put it and the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extended {
    /// The deadline as the plan gives it ("Hạn theo kế hoạch").
    pub planned: NaiveDate,
    /// Where the latest grant moved it: the row's deadline ("Hạn đã gia hạn").
    pub to: NaiveDate,
    /// The decision's document ("Văn bản gia hạn").
    pub doc_ref: Option<String>,
    /// The day of the decision, in the configured timezone ("Ngày quyết định").
    pub decided_on: NaiveDate,
}

/// One task × agency, with what a reader needs beside the state.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub status: StatusRow,
    pub agency_name: String,
    pub title: String,
    /// The time as the plan writes it.
    pub time_text: String,
    /// Days past the deadline (overdue rows).
    pub days_overdue: Option<i64>,
    /// The report's document number ("Báo cáo số …"), from the completion.
    pub doc_ref: Option<String>,
    pub latest_response: Option<Answer>,
    /// When a reminder about this task last went to the agency.
    pub last_reminder: Option<DateTime<Utc>>,
    /// When the row's deadline is one an extension moved: the plan's date and the decision.
    pub extension: Option<Extended>,
    /// Done, and confirmed by the monitoring office (or written done in the plan's TOML);
    /// false for a completion only reported, and for a row not done.
    pub confirmed: bool,
}

/// A reported completion waiting for the monitoring office's review.
#[derive(Debug, Clone, Serialize)]
pub struct PendingReview {
    pub response: Response,
    pub agency_name: String,
    pub title: String,
    /// The occurrence it closes, as reminders name it ("Tháng 11/2026", "hạn 30/06/2022").
    pub occurrence: String,
}

/// An extension request not answered yet.
#[derive(Debug, Clone, Serialize)]
pub struct PendingExtension {
    pub response: Response,
    pub agency_name: String,
    pub title: String,
    /// The deadline it is about as it stands (moved by an earlier extension, else the
    /// plan's): a grant must go past it.
    pub in_force: Option<NaiveDate>,
}

/// Everything the monitoring office sees, as of a date.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub as_of: NaiveDate,
    /// Over every plan listed (lead assignments).
    pub totals: Counts,
    /// Plans issued by `as_of`, in the config's order.
    pub plans: Vec<PlanFigures>,
    /// Agencies with at least one assignment, most overdue first.
    pub agencies: Vec<AgencyFigures>,
    /// Agencies assigned nothing in the plans listed.
    pub idle_agencies: usize,
    /// Every task × agency, overdue first (as `status`).
    pub rows: Vec<Row>,
    pub pending_extensions: Vec<PendingExtension>,
    /// Completions reported and not yet confirmed or returned, oldest first.
    pub awaiting_review: Vec<PendingReview>,
}

impl Overview {
    /// The overdue lead rows, oldest deadline first.
    pub fn overdue(&self) -> Vec<&Row> {
        let mut out: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.status.state == State::OpenOverdue && r.status.role == Role::Lead)
            .collect();
        out.sort_by(|a, b| {
            (
                a.status.deadline,
                &a.status.plan,
                natural_key(&a.status.task),
            )
                .cmp(&(
                    b.status.deadline,
                    &b.status.plan,
                    natural_key(&b.status.task),
                ))
        });
        out
    }
}

/// An overdue task and its late lead agencies.
#[derive(Debug, Clone, Serialize)]
pub struct OverdueTask<'a> {
    pub plan: &'a str,
    pub task: &'a str,
    pub title: &'a str,
    pub deadline: NaiveDate,
    pub days: i64,
    pub rows: Vec<&'a Row>,
}

impl Overview {
    /// The overdue lead rows grouped by task and deadline, the oldest deadline first.
    pub fn overdue_by_task(&self) -> Vec<OverdueTask<'_>> {
        let mut out: Vec<OverdueTask<'_>> = Vec::new();
        for r in self.overdue() {
            let Some(deadline) = r.status.deadline else {
                continue;
            };
            match out.last_mut() {
                Some(g)
                    if g.plan == r.status.plan
                        && g.task == r.status.task
                        && g.deadline == deadline =>
                {
                    g.rows.push(r)
                }
                _ => out.push(OverdueTask {
                    plan: &r.status.plan,
                    task: &r.status.task,
                    title: &r.title,
                    deadline,
                    days: r.days_overdue.unwrap_or(0),
                    rows: vec![r],
                }),
            }
        }
        out
    }
}

/// The dates figures can be asked for: far enough either way for any plan, near enough that
/// a recurring task's occurrences stay countable.
pub const AS_OF_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A date figures cannot be computed as of: outside [`AS_OF_YEARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "ngày {} nằm ngoài khoảng tính được (từ năm {} đến năm {})",
    crate::dates::dmy(*.0),
    AS_OF_YEARS.start(),
    AS_OF_YEARS.end()
)]
pub struct OutOfRange(pub NaiveDate);

/// Whether figures can be computed as of `d`.
pub fn check_as_of(d: NaiveDate) -> Result<(), OutOfRange> {
    use chrono::Datelike;
    if AS_OF_YEARS.contains(&d.year()) {
        Ok(())
    } else {
        Err(OutOfRange(d))
    }
}

/// `config` with the answers laid over it as they stood at the end of `as_of`: answers given
/// and extensions granted later are left out, so a past date shows what was known then.
pub fn answered_as_of(
    config: &Config,
    responses: &[Response],
    extensions: &[crate::answers::Extension],
    as_of: NaiveDate,
) -> Config {
    let tz = config.timezone;
    let known: Vec<Response> = responses
        .iter()
        .filter(|r| local_date(r.created_at, tz) <= as_of)
        .map(|r| {
            let mut r = r.clone();
            // A review made later was not made then: the completion counted.
            if r.review
                .as_ref()
                .is_some_and(|v| local_date(v.at, tz) > as_of)
            {
                r.review = None;
            }
            r
        })
        .collect();
    let granted: Vec<crate::answers::Extension> = extensions
        .iter()
        .filter(|e| local_date(e.granted_at, tz) <= as_of)
        .cloned()
        .collect();
    crate::answers::overlaid(config, &known, &granted)
}

/// [`compute`] from the config as the admins wrote it: the answers and extensions laid over
/// it as they stood at the end of `as_of` first (what the dashboard and `export` show).
pub fn compute_as_of(
    config: &Config,
    as_of: NaiveDate,
    plan: Option<&str>,
    responses: &[Response],
    extensions: &[crate::answers::Extension],
    last_reminders: &HashMap<(String, String, String), DateTime<Utc>>,
) -> Overview {
    let answered = answered_as_of(config, responses, extensions, as_of);
    compute(
        &answered,
        as_of,
        plan,
        responses,
        extensions,
        last_reminders,
    )
}

/// The figures as of `as_of`, of one plan (its exact number) or all. `config` has the answers
/// laid over it as of that day ([`answered_as_of`]); `extensions` are every grant (those made
/// after `as_of` are left out), for the rows to show the plan's deadline beside the moved one.
pub fn compute(
    config: &Config,
    as_of: NaiveDate,
    plan: Option<&str>,
    responses: &[Response],
    extensions: &[Extension],
    last_reminders: &HashMap<(String, String, String), DateTime<Utc>>,
) -> Overview {
    let tz = config.timezone;
    // Per agency and task, per deadline of the plan, the latest grant known by `as_of`: where
    // that deadline stands (as `Task::deadline_for` reads the overlay).
    let mut moved: HashMap<(&str, &str, &str), HashMap<NaiveDate, &Extension>> = HashMap::new();
    for e in extensions
        .iter()
        .filter(|e| local_date(e.granted_at, tz) <= as_of)
    {
        let slot = moved
            .entry((e.agency.as_str(), e.plan.as_str(), e.task.as_str()))
            .or_default()
            .entry(e.from)
            .or_insert(e);
        if e.id > slot.id {
            *slot = e;
        }
    }
    // Answers given after `as_of` had not been given then.
    let known = |r: &&Response| local_date(r.created_at, tz) <= as_of;
    let mut latest: HashMap<(&str, &str, &str), &Response> = HashMap::new();
    let mut latest_of_agency: HashMap<&str, &Response> = HashMap::new();
    let mut done_refs: HashMap<(&str, &str, &str), &Response> = HashMap::new();
    // A recurring task's rows are its periods: their answers are those about that period.
    type PeriodKey<'a> = (&'a str, &'a str, &'a str, NaiveDate);
    let mut latest_of_period: HashMap<PeriodKey<'_>, &Response> = HashMap::new();
    let mut done_ref_of_period: HashMap<PeriodKey<'_>, &Response> = HashMap::new();
    for r in responses
        .iter()
        .filter(known)
        .filter(|r| r.undone_at.is_none())
    {
        let key = (r.agency.as_str(), r.plan.as_str(), r.task.as_str());
        keep_latest(latest.entry(key).or_insert(r), r);
        keep_latest(latest_of_agency.entry(&r.agency).or_insert(r), r);
        let done_ref = r.action == Action::Done && r.doc_ref.is_some();
        if done_ref {
            keep_latest(done_refs.entry(key).or_insert(r), r);
        }
        if let Some(d) = r.deadline {
            let pk = (key.0, key.1, key.2, d);
            keep_latest(latest_of_period.entry(pk).or_insert(r), r);
            if done_ref {
                keep_latest(done_ref_of_period.entry(pk).or_insert(r), r);
            }
        }
    }

    // Each row's completion (the latest not withdrawn nor returned), for its confirmation.
    let reviewed = |r: &Response| {
        r.review
            .as_ref()
            .filter(|v| local_date(v.at, tz) <= as_of)
            .cloned()
    };
    let mut done_of_task: HashMap<(&str, &str, &str), &Response> = HashMap::new();
    let mut done_of_period: HashMap<PeriodKey<'_>, &Response> = HashMap::new();
    for r in responses.iter().filter(known).filter(|r| {
        r.action == Action::Done && r.undone_at.is_none() && reviewed(r).is_none_or(|v| v.confirmed)
    }) {
        let key = (r.agency.as_str(), r.plan.as_str(), r.task.as_str());
        keep_latest(done_of_task.entry(key).or_insert(r), r);
        if let Some(d) = r.deadline {
            keep_latest(
                done_of_period.entry((key.0, key.1, key.2, d)).or_insert(r),
                r,
            );
        }
    }

    let rows_in = status_in(config, as_of, None, plan);
    let tasks: HashMap<(&str, &str), &crate::config::Task> = config
        .plans
        .iter()
        .flat_map(|p| {
            p.tasks
                .iter()
                .map(move |t| ((p.number.as_str(), t.id.as_str()), t))
        })
        .collect();
    let name_of = |id: &str| config.agency_name(id);

    let mut per_plan: HashMap<&str, Counts> = config
        .plans
        .iter()
        .map(|p| (p.number.as_str(), Counts::default()))
        .collect();
    let mut per_agency: HashMap<String, (usize, usize, Counts)> = HashMap::new();
    let mut totals = Counts::default();
    let mut rows = Vec::with_capacity(rows_in.len());
    for s in rows_in {
        let key = (s.agency.as_str(), s.plan.as_str(), s.task.as_str());
        let confirmed = matches!(s.state, State::DoneOnTime | State::DoneLate)
            && match s.occurrence {
                Some(o) => done_of_period.get(&(key.0, key.1, key.2, o)),
                None => done_of_task.get(&key),
            }
            // No report: the plan's TOML writes it done.
            .is_none_or(|r| reviewed(r).is_some_and(|v| v.confirmed));
        let entry = per_agency.entry(s.agency.clone()).or_default();
        if s.role == Role::Lead {
            entry.0 += 1;
            entry.2.add(s.state);
            totals.add(s.state);
            let plan_counts = per_plan.get_mut(s.plan.as_str());
            if confirmed {
                entry.2.confirmed += 1;
                totals.confirmed += 1;
            }
            if let Some(counts) = plan_counts {
                counts.add(s.state);
                counts.confirmed += usize::from(confirmed);
            }
        } else {
            entry.1 += 1;
        }
        let task = tasks.get(&(s.plan.as_str(), s.task.as_str()));
        let days_overdue = match (s.state, s.deadline) {
            (State::OpenOverdue, Some(d)) => Some((as_of - d).num_days()),
            _ => None,
        };
        let period = s.occurrence.map(|d| (key.0, key.1, key.2, d));
        let doc_ref = match s.state {
            State::DoneLate | State::DoneOnTime => match &period {
                Some(pk) => done_ref_of_period.get(pk),
                None => done_refs.get(&key),
            }
            .and_then(|r| r.doc_ref.clone()),
            _ => None,
        };
        let latest_response = match &period {
            Some(pk) => latest_of_period.get(pk),
            None => latest.get(&key),
        }
        .map(|r| Answer::of(config, r));
        // The row's deadline, if a grant put it there (the latest such grant).
        // A period's row: the grant of that period; another row: the grant that put its
        // deadline where it is.
        let extension = s.deadline.and_then(|d| {
            moved
                .get(&key)?
                .values()
                .filter(|e| match s.occurrence {
                    Some(o) => e.from == o && e.to == d && o != d,
                    None => e.to == d && e.from != d,
                })
                .max_by_key(|e| e.id)
                .map(|e| Extended {
                    planned: e.from,
                    to: e.to,
                    doc_ref: e.doc_ref.clone(),
                    decided_on: local_date(e.granted_at, tz),
                })
        });
        rows.push(Row {
            confirmed,
            extension,
            agency_name: name_of(&s.agency),
            title: task.map(|t| t.title.clone()).unwrap_or_default(),
            time_text: task.and_then(|t| t.time_text.clone()).unwrap_or_default(),
            days_overdue,
            doc_ref,
            latest_response,
            // Reminders are known per task: a finished period's row shows none (the latest
            // may be about the next period).
            last_reminder: last_reminders
                .get(&(s.agency.clone(), s.plan.clone(), s.task.clone()))
                .copied()
                .filter(|t| local_date(*t, tz) <= as_of)
                .filter(|_| s.occurrence.is_none() || s.done.is_none()),
            status: s,
        });
    }

    let plans = config
        .plans
        .iter()
        .filter(|p| p.issued <= as_of && plan.is_none_or(|n| n == p.number))
        .map(|p| PlanFigures {
            plan: p.number.clone(),
            citation: citation(p),
            issued: p.issued,
            closed: p.is_closed(),
            tasks: p.tasks.len(),
            counts: per_plan.get(p.number.as_str()).copied().unwrap_or_default(),
        })
        .collect();

    let mut agencies: Vec<AgencyFigures> = per_agency
        .into_iter()
        .map(|(agency, (lead, support, counts))| AgencyFigures {
            name: name_of(&agency),
            latest_response: latest_of_agency
                .get(agency.as_str())
                .map(|r| Answer::of(config, r)),
            on_time_rate: counts.on_time_rate(),
            agency,
            lead,
            support,
            counts,
        })
        .collect();
    agencies.sort_by(|a, b| {
        b.counts
            .overdue
            .cmp(&a.counts.overdue)
            .then(b.counts.open.cmp(&a.counts.open))
            .then_with(|| a.name.cmp(&b.name))
    });
    let idle_agencies = config
        .agencies
        .len()
        .saturating_sub(agencies.len())
        .min(config.agencies.len());

    let pending_extensions = responses
        .iter()
        .filter(known)
        .filter(|r| {
            r.action == Action::Extension
                && r.undone_at.is_none()
                && r.granted.is_none()
                && r.refused_at.is_none()
        })
        .filter(|r| plan.is_none_or(|p| p == r.plan))
        .filter(|r| tasks.contains_key(&(r.plan.as_str(), r.task.as_str())))
        .map(|r| PendingExtension {
            in_force: r.deadline.map(|d| {
                tasks
                    .get(&(r.plan.as_str(), r.task.as_str()))
                    .map_or(d, |t| t.deadline_for(&r.agency, d))
            }),
            agency_name: name_of(&r.agency),
            title: tasks
                .get(&(r.plan.as_str(), r.task.as_str()))
                .map(|t| t.title.clone())
                .unwrap_or_default(),
            response: r.clone(),
        })
        .collect();

    let mut awaiting_review: Vec<PendingReview> = responses
        .iter()
        .filter(known)
        .filter(|r| r.action == Action::Done && r.undone_at.is_none() && reviewed(r).is_none())
        .filter(|r| plan.is_none_or(|p| p == r.plan))
        .filter_map(|r| {
            let task = tasks.get(&(r.plan.as_str(), r.task.as_str()))?;
            Some(PendingReview {
                agency_name: name_of(&r.agency),
                title: task.title.clone(),
                occurrence: r.deadline.map_or_else(String::new, |d| {
                    crate::answers::occurrence_label(Some(task), d)
                }),
                response: r.clone(),
            })
        })
        .collect();
    awaiting_review.sort_by_key(|p| p.response.id);

    Overview {
        as_of,
        totals,
        plans,
        agencies,
        idle_agencies,
        rows,
        pending_extensions,
        awaiting_review,
    }
}

fn keep_latest<'a>(slot: &mut &'a Response, r: &'a Response) {
    if r.id > slot.id {
        *slot = r;
    }
}

fn local_date(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{analyze, Source, Sources};

    /// Five departments at one level.
    const AGENCIES: &str = r#"
[[level]]
id = "tinh"
name = "cấp tỉnh"

[[agency]]
id = "a"
name = "Sở A"
level = "tinh"
email = ["a@tinh.example"]

[[agency]]
id = "b"
name = "Sở B"
level = "tinh"
email = ["b@tinh.example"]

[[agency]]
id = "c"
name = "Sở C"
level = "tinh"
email = ["c@tinh.example"]

[[agency]]
id = "d"
name = "Sở D"
level = "tinh"
email = ["d@tinh.example"]

[[agency]]
id = "e"
name = "Sở E"
level = "tinh"
email = ["e@tinh.example"]
"#;

    const ISSUED: &str = r#"
[plan]
number = "1/KH"
title = "Kế hoạch thử"
issuer = "UBND tỉnh X"
issued = 2022-03-01

[[task]]
id = "1"
title = "Việc đã quá hạn"
lead = ["Sở A"]
time = "Tháng 4/2022"

[[task]]
id = "2"
title = "Việc sắp đến hạn"
lead = ["Sở A", "Sở B"]
time = "Tháng 5/2022"
done_by = { b = 2022-05-20 }

[[task]]
id = "3"
title = "Việc thường xuyên"
lead = ["Sở A"]
time = "Thường xuyên"

[[task]]
id = "4"
title = "Việc cuối năm"
lead = ["Sở B"]
time = "Quý IV/2022"

[[task]]
id = "5"
title = "Việc xong muộn"
lead = ["Sở C"]
support = ["Sở D"]
time = "Trước ngày 15/4/2022"
done_by = { c = 2022-04-20 }
"#;

    const LATER: &str = r#"
[plan]
number = "2/KH"
title = "Kế hoạch ban hành sau"
issuer = "UBND tỉnh X"
issued = 2022-09-01

[[task]]
id = "1"
title = "Việc của kế hoạch sau"
lead = ["Sở A"]
time = "Tháng 10/2022"
"#;

    /// [`AGENCIES`] and `plans` (TOML texts), checked.
    pub(crate) fn config_with(plans: &[&str]) -> Config {
        let sources = Sources::in_memory(
            None,
            Source::new("agencies.toml", AGENCIES),
            plans
                .iter()
                .enumerate()
                .map(|(i, text)| Source::new(format!("plans/{}.toml", i + 1), *text))
                .collect(),
        );
        let a = analyze(&sources);
        assert!(!a.has_errors(), "{:?}", a.errors().collect::<Vec<_>>());
        a.config
    }

    fn config() -> Config {
        config_with(&[ISSUED, LATER])
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn progress(id: i64, agency: &str, at: &str) -> Response {
        Response {
            id,
            agency: agency.into(),
            plan: "1/KH".into(),
            task: "1".into(),
            deadline: None,
            action: Action::Progress,
            done_on: None,
            doc_ref: None,
            note: Some(format!("tiến độ {id}")),
            percent: Some(50),
            proposed: None,
            created_at: DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
            key_id: String::new(),
            client: None,
            user_agent: None,
            undone_at: None,
            granted: None,
            refused_at: None,
            refusal: None,
            exact: true,
            who: crate::answers::Who::default(),
            review: None,
        }
    }

    /// A monthly report entered in November 2026: each period that has come due, and the
    /// next, is an assignment; November done (late, with its document) counts as done while
    /// December is open; October, before `reminders_from`, is nobody's.
    #[test]
    fn a_recurring_tasks_periods_are_assignments_of_their_own() {
        const MONTHLY: &str = r#"
[plan]
number = "12/KH"
title = "Kế hoạch Báo cáo hằng tháng"
issuer = "UBND tỉnh X"
issued = 2026-01-20
reminders_from = 2026-11-01

[[task]]
id = "1"
title = "Báo cáo tháng"
lead = ["Sở A"]
time = "Chậm nhất ngày 24 hằng tháng"
"#;
        let base = config_with(&[MONTHLY]);
        let november = Response {
            plan: "12/KH".into(),
            deadline: Some(d("2026-11-24")),
            action: Action::Done,
            done_on: Some(d("2026-12-07")),
            doc_ref: Some("Báo cáo số 245/BC-SA".into()),
            note: None,
            percent: None,
            agency: "a".into(),
            ..progress(1, "a", "2026-12-07T02:00:00Z")
        };
        let answers = [november];
        let today = d("2026-12-14");
        let c = answered_as_of(&base, &answers, &[], today);
        let o = compute(&c, today, None, &answers, &[], &HashMap::new());
        let rows: Vec<(Option<NaiveDate>, State, Option<String>)> = o
            .rows
            .iter()
            .filter(|r| r.status.agency == "a")
            .map(|r| (r.status.occurrence, r.status.state, r.doc_ref.clone()))
            .collect();
        assert_eq!(
            rows,
            vec![
                (Some(d("2026-12-24")), State::Open, None),
                (
                    Some(d("2026-11-24")),
                    State::DoneLate,
                    Some("Báo cáo số 245/BC-SA".into())
                ),
            ]
        );
        assert_eq!(
            (o.totals.done_late, o.totals.open, o.totals.total()),
            (1, 1, 2)
        );
        let dec = o
            .rows
            .iter()
            .find(|r| r.status.occurrence == Some(d("2026-12-24")));
        assert!(
            dec.unwrap().latest_response.is_none(),
            "November's answer is not December's"
        );

        // Past the plan's first year the next period is still a row (due 24/01/2027).
        let jan = d("2027-01-10");
        let o = compute(&c, jan, None, &answers, &[], &HashMap::new());
        let next: Vec<(Option<NaiveDate>, State)> = o
            .rows
            .iter()
            .filter(|r| r.status.state != State::DoneLate)
            .map(|r| (r.status.occurrence, r.status.state))
            .collect();
        assert_eq!(
            next,
            vec![
                (Some(d("2026-12-24")), State::OpenOverdue),
                (Some(d("2027-01-24")), State::Open)
            ]
        );

        // An extension of November is November's: December's row (due 24/12) is not
        // "extended" though November's new deadline is that day too.
        let grant = crate::answers::Extension {
            id: 1,
            agency: "a".into(),
            plan: "12/KH".into(),
            task: "1".into(),
            from: d("2026-11-24"),
            to: d("2026-12-24"),
            doc_ref: Some("CV 5".into()),
            granted_at: DateTime::parse_from_rfc3339("2026-11-20T02:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        let c = answered_as_of(&base, &[], std::slice::from_ref(&grant), today);
        let o = compute(&c, today, None, &[], &[grant], &HashMap::new());
        let ext: Vec<(Option<NaiveDate>, Option<NaiveDate>)> = o
            .rows
            .iter()
            .map(|r| (r.status.occurrence, r.extension.as_ref().map(|e| e.planned)))
            .collect();
        assert!(
            ext.contains(&(Some(d("2026-11-24")), Some(d("2026-11-24")))),
            "{ext:?}"
        );
        assert!(ext.contains(&(Some(d("2026-12-24")), None)), "{ext:?}");

        // A closed plan's periods end the day it closed: no row after, no next one.
        let closed = MONTHLY.replace(
            "reminders_from = 2026-11-01",
            "reminders_from = 2026-11-01\nstatus = \"closed\"\nclosed = 2026-12-01",
        );
        let o = compute(
            &config_with(&[&closed]),
            jan,
            None,
            &[],
            &[],
            &HashMap::new(),
        );
        let rows: Vec<(Option<NaiveDate>, State)> = o
            .rows
            .iter()
            .map(|r| (r.status.occurrence, r.status.state))
            .collect();
        assert_eq!(rows, vec![(Some(d("2026-11-24")), State::Closed)]);
    }

    /// A period past the ones the page lists still has its card for a reminder or a form that
    /// names it; one that is not the agency's has none.
    #[test]
    fn an_unlisted_period_has_its_card_when_named() {
        let c = config_with(&[r#"
[plan]
number = "12/KH"
title = "Kế hoạch Báo cáo hằng tháng"
issuer = "UBND tỉnh X"
issued = 2026-01-20

[[task]]
id = "1"
title = "Báo cáo tháng"
lead = ["Sở A"]
time = "Chậm nhất ngày 24 hằng tháng"
"#]);
        let today = d("2026-12-07");
        let listed = crate::answers::agency_view(&c, "a", today, &[]);
        assert!(!listed.iter().any(|v| v.occurrence == Some(d("2027-03-24"))));
        let o = |day: &str| crate::answers::Occurrence {
            plan: "12/KH".into(),
            task: "1".into(),
            deadline: Some(d(day)),
        };
        let card = crate::answers::occurrence_card(&c, "a", today, &[], &o("2027-03-24"));
        assert_eq!(card.and_then(|v| v.current), Some(d("2027-03-24")));
        assert!(crate::answers::occurrence_card(&c, "a", today, &[], &o("2027-03-25")).is_none());
        assert!(crate::answers::occurrence_card(&c, "b", today, &[], &o("2027-03-24")).is_none());
    }

    fn of<'a>(o: &'a Overview, agency: &str) -> &'a AgencyFigures {
        o.agencies.iter().find(|a| a.agency == agency).unwrap()
    }

    #[test]
    fn each_state_is_counted_apart_and_later_plans_are_left_out() {
        let c = config();
        let o = compute(&c, d("2022-05-25"), None, &[], &[], &HashMap::new());
        assert_eq!(o.plans.len(), 1, "2/KH was not issued on 25/05/2022");
        assert!(o.rows.iter().all(|r| r.status.plan == "1/KH"));
        let t = o.totals;
        assert_eq!(
            (
                t.overdue,
                t.open,
                t.undated,
                t.not_due,
                t.done_on_time,
                t.done_late
            ),
            (1, 1, 1, 1, 1, 1)
        );
        assert_eq!(
            t.total(),
            6,
            "lead assignments only: Sở D's support is not counted"
        );
        assert_eq!(o.plans[0].counts, t);
        // Sở A: overdue, in time, undated; Sở B: one done on time, one not due; Sở C: late.
        let a = of(&o, "a");
        assert_eq!(
            (a.lead, a.counts.overdue, a.on_time_rate),
            (3, 1, Some(0.0))
        );
        let b = of(&o, "b");
        assert_eq!(
            (b.counts.done_on_time, b.counts.not_due, b.on_time_rate),
            (1, 1, Some(1.0))
        );
        assert_eq!(of(&o, "c").counts.on_time_vi(), "0,0%");
        let dd = of(&o, "d");
        assert_eq!((dd.lead, dd.support, dd.on_time_rate), (0, 1, None));
        assert_eq!(o.idle_agencies, 1, "Sở E has nothing");
        // The most overdue first.
        assert_eq!(o.agencies[0].agency, "a");
        let late = o.overdue_by_task();
        assert_eq!(late.len(), 1);
        assert_eq!((late[0].task, late[0].days), ("1", 25));
        assert_eq!(
            o.rows
                .iter()
                .find(|r| r.status.task == "1")
                .unwrap()
                .days_overdue,
            Some(25)
        );
    }

    #[test]
    fn as_of_a_date_answers_given_later_are_not_seen() {
        let c = config();
        let responses = vec![
            progress(1, "a", "2022-05-10T02:00:00Z"),
            progress(2, "a", "2022-05-30T02:00:00Z"),
        ];
        let reminded = HashMap::from([(
            ("a".to_string(), "1/KH".to_string(), "1".to_string()),
            DateTime::parse_from_rfc3339("2022-05-02T01:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        )]);
        let o = compute(&c, d("2022-05-25"), None, &responses, &[], &reminded);
        let row = o.rows.iter().find(|r| r.status.task == "1").unwrap();
        assert_eq!(
            row.latest_response.as_ref().unwrap().note.as_deref(),
            Some("tiến độ 1")
        );
        assert!(row.last_reminder.is_some());
        assert_eq!(
            of(&o, "a")
                .latest_response
                .as_ref()
                .unwrap()
                .note
                .as_deref(),
            Some("tiến độ 1")
        );
        let later = compute(&c, d("2022-06-01"), None, &responses, &[], &reminded);
        let row = later.rows.iter().find(|r| r.status.task == "1").unwrap();
        assert_eq!(
            row.latest_response.as_ref().unwrap().note.as_deref(),
            Some("tiến độ 2")
        );
        // Before the reminder went out, no reminder is shown.
        let early = compute(&c, d("2022-05-01"), None, &responses, &[], &reminded);
        let row = early.rows.iter().find(|r| r.status.task == "1").unwrap();
        assert!(row.last_reminder.is_none() && row.latest_response.is_none());
    }

    #[test]
    fn a_past_date_shows_what_was_known_then() {
        let c = config();
        let mut done = progress(1, "a", "2022-05-28T02:00:00Z");
        done.action = Action::Done;
        done.done_on = Some(d("2022-05-20"));
        done.deadline = Some(d("2022-04-30"));
        let granted = crate::answers::Extension {
            id: 1,
            agency: "a".into(),
            plan: "1/KH".into(),
            task: "2".into(),
            from: d("2022-05-31"),
            to: d("2022-08-31"),
            doc_ref: None,
            granted_at: DateTime::parse_from_rfc3339("2022-05-28T02:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        let row = |o: &Overview, task: &str| {
            o.rows
                .iter()
                .find(|r| r.status.task == task && r.status.agency == "a")
                .unwrap()
                .status
                .clone()
        };
        // On 25/05 the report (given on 28/05, dated 20/05) and the grant were not known.
        let then = answered_as_of(
            &c,
            std::slice::from_ref(&done),
            std::slice::from_ref(&granted),
            d("2022-05-25"),
        );
        let o = compute(
            &then,
            d("2022-05-25"),
            None,
            std::slice::from_ref(&done),
            std::slice::from_ref(&granted),
            &HashMap::new(),
        );
        assert_eq!(row(&o, "1").state, State::OpenOverdue);
        assert_eq!(row(&o, "2").deadline, Some(d("2022-05-31")));
        let extension = |o: &Overview| {
            o.rows
                .iter()
                .find(|r| r.status.task == "2" && r.status.agency == "a")
                .unwrap()
                .extension
                .clone()
        };
        assert_eq!(extension(&o), None, "not granted yet");
        // On 30/05 both were.
        let now = answered_as_of(
            &c,
            std::slice::from_ref(&done),
            std::slice::from_ref(&granted),
            d("2022-05-30"),
        );
        let o = compute(
            &now,
            d("2022-05-30"),
            None,
            std::slice::from_ref(&done),
            std::slice::from_ref(&granted),
            &HashMap::new(),
        );
        assert_eq!(row(&o, "1").state, State::DoneLate);
        assert_eq!(row(&o, "2").deadline, Some(d("2022-08-31")));
        assert_eq!(
            extension(&o),
            Some(Extended {
                planned: d("2022-05-31"),
                to: d("2022-08-31"),
                doc_ref: None,
                decided_on: d("2022-05-28"),
            })
        );
    }

    #[test]
    fn a_row_moved_twice_shows_the_plans_deadline_and_the_latest_decision() {
        let c = config();
        let grant = |id: i64, to: &str, doc: &str, at: &str| crate::answers::Extension {
            id,
            agency: "a".into(),
            plan: "1/KH".into(),
            task: "1".into(),
            from: d("2022-04-30"),
            to: d(to),
            doc_ref: Some(doc.into()),
            // 00:30 on 21/05 in Vietnam is still 20/05 in UTC: the decision's local day counts.
            granted_at: DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
        };
        let grants = [
            grant(1, "2022-05-31", "CV 1", "2022-05-02T02:00:00Z"),
            grant(2, "2022-06-30", "CV 2", "2022-05-20T17:30:00Z"),
        ];
        let mut asked = progress(3, "a", "2022-05-22T02:00:00Z");
        asked.action = Action::Extension;
        asked.deadline = Some(d("2022-04-30"));
        asked.proposed = Some(d("2022-07-31"));
        let responses = [asked];
        let as_of = d("2022-05-25");
        let answered = answered_as_of(&c, &responses, &grants, as_of);
        let o = compute(&answered, as_of, None, &responses, &grants, &HashMap::new());
        let row = o
            .rows
            .iter()
            .find(|r| r.status.task == "1" && r.status.agency == "a")
            .unwrap();
        assert_eq!(row.status.deadline, Some(d("2022-06-30")));
        assert_eq!(
            row.extension,
            Some(Extended {
                planned: d("2022-04-30"),
                to: d("2022-06-30"),
                doc_ref: Some("CV 2".into()),
                decided_on: d("2022-05-21"),
            })
        );
        // The request waiting is about the plan's 30/04, which now stands at 30/06.
        assert_eq!(o.pending_extensions[0].in_force, Some(d("2022-06-30")));
        // Other rows were not moved.
        assert!(o
            .rows
            .iter()
            .filter(|r| r.status.task != "1")
            .all(|r| r.extension.is_none()));
        // As of 10/05 only the first grant was known.
        let then = d("2022-05-10");
        let answered = answered_as_of(&c, &[], &grants, then);
        let o = compute(&answered, then, None, &[], &grants, &HashMap::new());
        let row = o
            .rows
            .iter()
            .find(|r| r.status.task == "1" && r.status.agency == "a")
            .unwrap();
        assert_eq!(
            row.extension.as_ref().map(|e| (e.to, e.doc_ref.as_deref())),
            Some((d("2022-05-31"), Some("CV 1")))
        );
    }

    #[test]
    fn status_ends_with_these_figures_the_coordinators_counted_apart() {
        let c = config();
        let today = d("2022-05-25");
        let o = compute(&c, today, None, &[], &[], &HashMap::new());
        let rows = crate::report::status(&c, today, None);
        let support: usize = o.agencies.iter().map(|a| a.support).sum();
        assert_eq!((rows.len(), support), (7, 1), "Sở D coordinates task 5");
        let totals = crate::report::StatusTotals {
            agency: None,
            lead: o.totals.total(),
            states: o.totals.states_vi(),
            support,
        };
        let text = crate::report::render_status_text(&c, &rows, today, &totals);
        assert!(
            text.ends_with(
                "\n\nNhiệm vụ giao chủ trì (6 lượt): quá hạn 1; trong hạn 1; chưa đến hạn 1; \
                 không có hạn 1; hoàn thành đúng hạn 1; hoàn thành quá hạn 1; tỷ lệ đúng hạn \
                 33,3%.\nPhối hợp (1 lượt, không tính vào số liệu).\n"
            ),
            "{text}"
        );
        // One agency's: its lead figures, named.
        let a = of(&o, "a");
        let one = crate::report::StatusTotals {
            agency: Some("Sở A".into()),
            lead: a.counts.total(),
            states: a.counts.states_vi(),
            support: a.support,
        };
        let text = crate::report::render_status_text(&c, &[], today, &one);
        assert_eq!(
            text,
            "Tình hình thực hiện đến ngày 25/05/2022:\nNhiệm vụ giao Sở A chủ trì (3 lượt): \
             quá hạn 1; trong hạn 1; chưa đến hạn 0; không có hạn 1; hoàn thành đúng hạn 0; \
             hoàn thành quá hạn 0; tỷ lệ đúng hạn 0,0%.\nPhối hợp (0 lượt, không tính vào số \
             liệu).\n"
        );
        // Plans closed with work left are said only when there are some.
        let closed = Counts {
            closed: 2,
            ..Counts::default()
        };
        assert!(closed
            .states_vi()
            .ends_with("; chưa xong khi kế hoạch kết thúc 2; tỷ lệ đúng hạn —"));
        assert!(!o.totals.states_vi().contains("kết thúc"));
    }

    #[test]
    fn before_any_plan_and_far_ahead_the_figures_are_still_figures() {
        let c = config();
        let o = compute(&c, d("2021-01-01"), None, &[], &[], &HashMap::new());
        assert!(o.plans.is_empty() && o.rows.is_empty() && o.agencies.is_empty());
        assert_eq!(o.idle_agencies, 5);
        assert_eq!(o.totals.on_time_rate(), None);
        let far = compute(&c, d("2030-01-01"), Some("2/KH"), &[], &[], &HashMap::new());
        assert_eq!(far.plans.len(), 1);
        assert_eq!(far.totals.overdue, 1, "2/KH's task, long overdue");
        assert!(check_as_of(d("2100-12-31")).is_ok());
        let e = check_as_of(d("2101-01-01")).unwrap_err();
        assert_eq!(e, OutOfRange(d("2101-01-01")));
        assert!(e.to_string().contains("01/01/2101"), "{e}");
    }
}
