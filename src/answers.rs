//! What agencies answer back (done, progress, a request for more time) and the extensions the
//! monitoring office grants: their types, how they lay over the config the schedule works from
//! (`overlay`: data in, data out), and what an agency's page shows (`agency_view`). Pure: the
//! store reads and writes these rows, the web module takes them from people.

use crate::config::model::Answered;
use crate::config::{Config, Plan, Task};
use crate::deadline::Deadline;
use crate::schedule::{natural_key, Role};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Done,
    Progress,
    Extension,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Done => "done",
            Action::Progress => "progress",
            Action::Extension => "extension",
        }
    }

    pub fn from_name(s: &str) -> Option<Action> {
        match s {
            "done" => Some(Action::Done),
            "progress" => Some(Action::Progress),
            "extension" => Some(Action::Extension),
            _ => None,
        }
    }

    pub fn vi(self) -> &'static str {
        match self {
            Action::Done => "đã hoàn thành",
            Action::Progress => "cập nhật tiến độ",
            Action::Extension => "đề nghị gia hạn",
        }
    }
}

/// One answer as stored, with its audit fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub id: i64,
    pub agency: String,
    pub plan: String,
    pub task: String,
    /// The deadline it is about, as the plan gives it (before any extension).
    pub deadline: Option<NaiveDate>,
    pub action: Action,
    pub done_on: Option<NaiveDate>,
    /// "Số văn bản báo cáo".
    pub doc_ref: Option<String>,
    pub note: Option<String>,
    pub percent: Option<u8>,
    pub proposed: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub key_id: String,
    pub client: Option<String>,
    pub user_agent: Option<String>,
    pub undone_at: Option<DateTime<Utc>>,
    /// For an extension request: the grant that answered it.
    pub granted: Option<i64>,
    /// For an extension request: when the monitoring office refused it, and why.
    pub refused_at: Option<DateTime<Utc>>,
    pub refusal: Option<String>,
}

/// A response about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResponse {
    pub agency: String,
    pub plan: String,
    pub task: String,
    pub deadline: Option<NaiveDate>,
    pub action: Action,
    pub done_on: Option<NaiveDate>,
    pub doc_ref: Option<String>,
    pub note: Option<String>,
    pub percent: Option<u8>,
    pub proposed: Option<NaiveDate>,
    pub key_id: String,
    pub client: Option<String>,
    pub user_agent: Option<String>,
    /// The form's one-time value: a form posted twice is stored once.
    pub nonce: String,
}

/// A deadline moved for one agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub id: i64,
    pub agency: String,
    pub plan: String,
    pub task: String,
    /// The deadline as the plan gives it.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The document that granted it ("Công văn số …").
    pub doc_ref: Option<String>,
    pub granted_at: DateTime<Utc>,
}

fn task_mut<'a>(config: &'a mut Config, plan: &str, task: &str) -> Option<&'a mut Task> {
    config
        .plans
        .iter_mut()
        .find(|p| p.number == plan)?
        .tasks
        .iter_mut()
        .find(|t| t.id == task)
}

/// Lays the answers over the config: completions (not undone) into `Task::answered`,
/// extensions into `Task::extended`. Answers about tasks no longer in the config are left out.
/// A completion of a recurring task covers its occurrences up to the one it was about.
pub fn overlay(config: &mut Config, responses: &[Response], extensions: &[Extension]) {
    for r in responses {
        if r.action != Action::Done || r.undone_at.is_some() {
            continue;
        }
        let Some(on) = r.done_on else { continue };
        let Some(task) = task_mut(config, &r.plan, &r.task) else {
            continue;
        };
        let through = match task.deadline {
            Deadline::Recurring { .. } => r.deadline,
            _ => None,
        };
        task.answered
            .entry(r.agency.clone())
            .or_default()
            .push(Answered { on, through });
    }
    let mut ordered: Vec<&Extension> = extensions.iter().collect();
    ordered.sort_by_key(|e| e.id);
    for e in ordered {
        if let Some(task) = task_mut(config, &e.plan, &e.task) {
            task.extended
                .entry(e.agency.clone())
                .or_default()
                .push((e.from, e.to));
        }
    }
}

/// `config` with the answers laid over it (a copy: the config stays as the admins wrote it).
pub fn overlaid(config: &Config, responses: &[Response], extensions: &[Extension]) -> Config {
    let mut answered = config.clone();
    overlay(&mut answered, responses, extensions);
    answered
}

/// The latest answer (not withdrawn) of `agency` about a task.
pub fn latest<'a>(
    responses: &'a [Response],
    agency: &str,
    plan: &str,
    task: &str,
) -> Option<&'a Response> {
    responses
        .iter()
        .filter(|r| r.agency == agency && r.plan == plan && r.task == task)
        .filter(|r| r.undone_at.is_none())
        .max_by_key(|r| r.id)
}

/// "Kế hoạch số 50/KH-UBND ngày 24/03/2022 của UBND tỉnh Hậu Giang về kiểm soát …".
pub fn citation(plan: &Plan) -> String {
    let title = plan.title.trim();
    let rest = ["Kế hoạch ", "kế hoạch ", "KẾ HOẠCH "]
        .iter()
        .find_map(|p| title.strip_prefix(p))
        .unwrap_or(title);
    let mut chars = rest.chars();
    let about: String = match chars.next() {
        // "Kiểm soát …" reads "về kiểm soát …"; an acronym ("UBND", "CCHC") stays.
        Some(c) if !chars.clone().next().is_some_and(char::is_uppercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => rest.to_string(),
    };
    format!(
        "Kế hoạch số {} ngày {} của {} về {}",
        plan.number,
        plan.issued.format("%d/%m/%Y"),
        plan.issuer,
        about
    )
}

/// One task as an agency's page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub plan: String,
    pub plan_citation: String,
    pub plan_closed: bool,
    pub task: String,
    pub title: String,
    pub role: Role,
    /// For a coordinator: the lead agencies' names.
    pub leads: Vec<String>,
    pub time_text: String,
    /// The deadlines this agency answers for (moved ones as moved), dd/mm/yyyy.
    pub deadlines: Vec<NaiveDate>,
    /// The open deadline a response is about, as the plan gives it; `None` once done, or for
    /// a task without dated deadlines.
    pub current: Option<NaiveDate>,
    /// `current` as this agency must meet it (after an extension).
    pub due: Option<NaiveDate>,
    /// Days from today to `due` (negative: overdue).
    pub days: Option<i64>,
    pub done: Option<NaiveDate>,
    pub latest: Option<Response>,
    /// An extension request not granted yet.
    pub pending_extension: Option<Response>,
}

impl TaskView {
    pub fn overdue(&self) -> bool {
        self.done.is_none() && self.days.is_some_and(|d| d < 0)
    }
}

/// How long a finished task stays on the agency's page.
pub const RECENT_DAYS: i64 = 90;

/// The agency's open and recently finished tasks across the config's plans (closed plans
/// included, marked), overdue first, then by deadline. `config` has the answers laid over it.
pub fn agency_view(
    config: &Config,
    agency: &str,
    today: NaiveDate,
    responses: &[Response],
) -> Vec<TaskView> {
    let name_of = |id: &str| config.agency_name(id);
    let horizon = today
        .checked_add_days(chrono::Days::new(400))
        .unwrap_or(today);
    let mut out = Vec::new();
    for plan in &config.plans {
        for task in &plan.tasks {
            let Some(role) = crate::report::role_in(task, agency) else {
                continue;
            };
            let planned =
                crate::report::agency_deadlines(config, task, agency, role, plan, horizon);
            let current = planned
                .iter()
                .copied()
                .find(|d| task.done_for(agency, *d).is_none_or(|on| on > today));
            let mut done = match (current, planned.last()) {
                (None, Some(last)) => task.done_for(agency, *last),
                _ => None,
            };
            if planned.is_empty() {
                done = task.done_whole(agency).filter(|d| *d <= today);
            }
            if done.is_some_and(|d| (today - d).num_days() > RECENT_DAYS) {
                continue;
            }
            // Far-off occurrences of a recurring task are not listed, only the next ones.
            let is_recurring = matches!(task.deadline, Deadline::Recurring { .. });
            let deadlines: Vec<NaiveDate> = planned
                .iter()
                .filter(|d| !is_recurring || Some(**d) >= current)
                .take(if is_recurring { 2 } else { usize::MAX })
                .map(|d| task.deadline_for(agency, *d))
                .collect();
            let due = current.map(|d| task.deadline_for(agency, d));
            let mine =
                |r: &&Response| r.agency == agency && r.plan == plan.number && r.task == task.id;
            let latest = latest(responses, agency, &plan.number, &task.id).cloned();
            let pending_extension = responses
                .iter()
                .filter(mine)
                .filter(|r| {
                    r.action == Action::Extension
                        && r.undone_at.is_none()
                        && r.granted.is_none()
                        && r.refused_at.is_none()
                        && r.deadline == current
                })
                .max_by_key(|r| r.id)
                .cloned();
            out.push(TaskView {
                plan: plan.number.clone(),
                plan_citation: citation(plan),
                plan_closed: plan.is_closed(),
                task: task.id.clone(),
                title: task.title.clone(),
                role,
                leads: if role == Role::Support {
                    task.lead.iter().map(|l| name_of(l)).collect()
                } else {
                    vec![]
                },
                time_text: task.time_text.clone().unwrap_or_default(),
                deadlines,
                current: if done.is_some() { None } else { current },
                due: if done.is_some() { None } else { due },
                days: if done.is_some() {
                    None
                } else {
                    due.map(|d| (d - today).num_days())
                },
                done,
                latest,
                pending_extension,
            });
        }
    }
    out.sort_by(|a, b| {
        (
            !a.overdue(),
            a.done.is_some(),
            a.due.is_none(),
            a.due,
            &a.plan,
            natural_key(&a.task),
        )
            .cmp(&(
                !b.overdue(),
                b.done.is_some(),
                b.due.is_none(),
                b.due,
                &b.plan,
                natural_key(&b.task),
            ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{analyze, Source, Sources};

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
"#;

    const PLAN: &str = r#"
[plan]
number = "1/KH"
title = "Kế hoạch Thực hiện việc thử"
issuer = "UBND tỉnh X"
issued = 2022-01-01

[[task]]
id = "1"
title = "Báo cáo quý"
lead = ["Sở A"]
support = ["Sở B"]
time = "Hằng quý"

[[task]]
id = "2"
title = "Một việc"
lead = ["Sở A", "Sở B"]
time = "Tháng 6/2022"
done_by = { b = 2022-05-01 }
"#;

    fn config() -> Config {
        let sources = Sources::in_memory(
            None,
            Source::new("agencies.toml", AGENCIES),
            vec![Source::new("plans/1.toml", PLAN)],
        );
        let a = analyze(&sources);
        assert!(!a.has_errors(), "{:?}", a.errors().collect::<Vec<_>>());
        a.config
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn done(agency: &str, task: &str, deadline: NaiveDate, on: NaiveDate) -> Response {
        Response {
            id: 1,
            agency: agency.into(),
            plan: "1/KH".into(),
            task: task.into(),
            deadline: Some(deadline),
            action: Action::Done,
            done_on: Some(on),
            doc_ref: None,
            note: None,
            percent: None,
            proposed: None,
            created_at: DateTime::default(),
            key_id: String::new(),
            client: None,
            user_agent: None,
            undone_at: None,
            granted: None,
            refused_at: None,
            refusal: None,
        }
    }

    #[test]
    fn a_recurring_completion_covers_its_occurrence_and_the_tomls_done_wins() {
        let mut c = config();
        let q2 = d(2022, 6, 30);
        let withdrawn = Response {
            undone_at: Some(DateTime::default()),
            ..done("a", "2", d(2022, 6, 30), d(2022, 6, 1))
        };
        let answers = [
            done("a", "1", q2, d(2022, 6, 20)),
            done("b", "2", d(2022, 6, 30), d(2022, 6, 10)),
            withdrawn,
        ];
        overlay(&mut c, &answers, &[]);
        let t1 = &c.plans[0].tasks[0];
        assert_eq!(t1.done_for("a", d(2022, 3, 31)), Some(d(2022, 6, 20)));
        assert_eq!(t1.done_for("a", q2), Some(d(2022, 6, 20)));
        assert_eq!(t1.done_for("a", d(2022, 9, 30)), None, "Q3 is still open");
        let t2 = &c.plans[0].tasks[1];
        assert_eq!(
            t2.done_for("b", d(2022, 6, 30)),
            Some(d(2022, 5, 1)),
            "TOML wins"
        );
        assert_eq!(t2.done_for("a", d(2022, 6, 30)), None, "withdrawn");
        // The page: Sở A's quarterly report is now due for Q3; Sở B coordinates it.
        let view = agency_view(&c, "a", d(2022, 7, 1), &answers);
        let v1 = view.iter().find(|v| v.task == "1").unwrap();
        assert_eq!(v1.current, Some(d(2022, 9, 30)));
        let vb = agency_view(&c, "b", d(2022, 7, 1), &answers);
        let b1 = vb.iter().find(|v| v.task == "1").unwrap();
        assert_eq!(
            (b1.role, b1.leads.clone()),
            (Role::Support, vec!["Sở A".to_string()])
        );
        assert_eq!(
            citation(&c.plans[0]),
            "Kế hoạch số 1/KH ngày 01/01/2022 của UBND tỉnh X về thực hiện việc thử"
        );
    }

    #[test]
    fn an_extension_moves_one_agencys_deadline_and_the_latest_grant_wins() {
        let mut c = config();
        let ext = |id, to| Extension {
            id,
            agency: "a".into(),
            plan: "1/KH".into(),
            task: "2".into(),
            from: d(2022, 6, 30),
            to,
            doc_ref: None,
            granted_at: DateTime::default(),
        };
        overlay(
            &mut c,
            &[],
            &[ext(2, d(2022, 8, 31)), ext(1, d(2022, 7, 31))],
        );
        let t2 = &c.plans[0].tasks[1];
        assert_eq!(t2.deadline_for("a", d(2022, 6, 30)), d(2022, 8, 31));
        assert_eq!(t2.deadline_for("b", d(2022, 6, 30)), d(2022, 6, 30));
        let view = agency_view(&c, "a", d(2022, 6, 1), &[]);
        let v = view.iter().find(|v| v.task == "2").unwrap();
        assert_eq!(
            (v.current, v.due),
            (Some(d(2022, 6, 30)), Some(d(2022, 8, 31)))
        );
    }
}
