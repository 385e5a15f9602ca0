//! What agencies answer back (done, progress, a request for more time) and the extensions the
//! monitoring office grants: their types, how they lay over the config the schedule works from
//! (`overlay`: data in, data out), and what an agency's page shows (`agency_view`). Pure: the
//! store reads and writes these rows, the web module takes them from people.

use crate::config::model::{Answered, Covers};
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
    /// Bound to exactly the occurrence `deadline` names (every answer given since answers
    /// carried their occurrence); false for an answer stored before, whose completion of a
    /// recurring task covered the occurrences up to `deadline`.
    pub exact: bool,
    /// Who gave it (empty on answers stored before names were asked for).
    pub who: Who,
    /// For a completion: the monitoring office's review, once made.
    pub review: Option<Review>,
}

impl Response {
    /// A completion the monitoring office returned: it counts for nothing.
    pub fn returned(&self) -> bool {
        self.review.as_ref().is_some_and(|r| !r.confirmed)
    }

    /// A completion waiting for the monitoring office's review.
    pub fn awaiting_review(&self) -> bool {
        self.action == Action::Done && self.undone_at.is_none() && self.review.is_none()
    }
}

/// Who answered: the official's full name and position ("họ tên", "chức vụ").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Who {
    pub name: String,
    pub position: String,
}

impl Who {
    /// "Nguyễn Văn A, Chuyên viên Phòng CCHC", or "" when not known.
    pub fn vi(&self) -> String {
        match (self.name.trim(), self.position.trim()) {
            ("", _) => String::new(),
            (n, "") => n.to_string(),
            (n, p) => format!("{n}, {p}"),
        }
    }
}

/// The monitoring office's review of a reported completion: confirmed ("đã xác nhận"), or
/// returned ("trả lại") with its reason, which reopens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub at: DateTime<Utc>,
    pub confirmed: bool,
    pub reason: Option<String>,
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
    pub who: Who,
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
/// A completion covers exactly the occurrence it names (a period of a recurring task, one
/// milestone), or the whole task when it names none; one stored before answers named their
/// occurrence keeps the meaning it had (a recurring task's occurrences up to it).
pub fn overlay(config: &mut Config, responses: &[Response], extensions: &[Extension]) {
    for r in responses {
        if r.action != Action::Done || r.undone_at.is_some() || r.returned() {
            continue;
        }
        let Some(on) = r.done_on else { continue };
        let Some(task) = task_mut(config, &r.plan, &r.task) else {
            continue;
        };
        let covers = match (r.deadline, r.exact, &task.deadline) {
            (None, _, _) => Covers::Whole,
            (Some(d), true, _) => Covers::Exactly(d),
            (Some(d), false, Deadline::Recurring { .. }) => Covers::Through(d),
            (Some(_), false, _) => Covers::Whole,
        };
        task.answered
            .entry(r.agency.clone())
            .or_default()
            .push(Answered { on, covers });
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

/// One occurrence of a task: what a reminder names and what an answer binds to (the plan, the
/// task, and the deadline as the plan gives it: a recurring task's period, one milestone;
/// none for a task without dated deadlines).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Occurrence {
    pub plan: String,
    pub task: String,
    pub deadline: Option<NaiveDate>,
}

impl Occurrence {
    /// How links name it: "50/KH-UBND|8.6|2026-11-24" ("…|-" without a deadline).
    pub fn id(&self) -> String {
        format!(
            "{}|{}|{}",
            self.plan,
            self.task,
            self.deadline
                .map_or_else(|| "-".to_string(), |d| d.to_string())
        )
    }

    /// An id read back; `None` when it is not one (the plan number may hold a '|', the task id
    /// and the date may not).
    pub fn parse(id: &str) -> Option<Occurrence> {
        let mut parts = id.rsplitn(3, '|');
        let deadline = parts.next()?;
        let task = parts.next()?;
        let plan = parts.next()?;
        if plan.is_empty() || task.is_empty() || id.len() > 400 {
            return None;
        }
        let deadline = match deadline {
            "-" => None,
            d => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?),
        };
        Some(Occurrence {
            plan: plan.to_string(),
            task: task.to_string(),
            deadline,
        })
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

/// The latest answer (not withdrawn) of `agency` about one occurrence: a recurring task's
/// period (`Some(its deadline)`: answers about that period only), or the task (`None`).
pub fn latest_about<'a>(
    responses: &'a [Response],
    agency: &str,
    plan: &str,
    task: &str,
    occurrence: Option<NaiveDate>,
) -> Option<&'a Response> {
    let Some(d) = occurrence else {
        return latest(responses, agency, plan, task);
    };
    responses
        .iter()
        .filter(|r| r.agency == agency && r.plan == plan && r.task == task)
        .filter(|r| r.deadline == Some(d) && r.undone_at.is_none())
        .max_by_key(|r| r.id)
}

/// The period a recurring task's occurrence due on `due` reports on ("Quý II/2022"): the
/// period that ends near it, or the one before when it falls early in a period (a report due
/// on the 5th of the next month). "" for a task that does not recur.
pub fn period_label(deadline: &crate::deadline::Deadline, due: NaiveDate) -> String {
    use chrono::Datelike;
    let crate::deadline::Deadline::Recurring { rrule, .. } = deadline else {
        return String::new();
    };
    let first = rrule
        .split('|')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let part = |k: &str| {
        first
            .split(';')
            .find_map(|p| p.trim().strip_prefix(k).map(str::to_string))
    };
    let interval: u32 = part("INTERVAL=").and_then(|v| v.parse().ok()).unwrap_or(1);
    let months = match part("FREQ=").as_deref() {
        Some("YEARLY") => 12,
        Some("MONTHLY") => interval,
        _ => return String::new(),
    };
    let bymonths = part("BYMONTH=").map_or(0, |v| v.split(',').count() as u32);
    // Listed months (2, 5, 8, 11) stand for a period of 12 / their count months.
    let months = match bymonths {
        n if n > 1 && 12 % n == 0 => 12 / n,
        _ => months,
    };
    let (y, m) = (due.year(), due.month());
    // The period containing the due date, or the previous one when the date falls in the
    // first part of its period (before its last month, or before the 15th for a month).
    let roman = ["I", "II", "III", "IV"];
    match months {
        1 => {
            let (y, m) = if due.day() >= 15 {
                (y, m)
            } else if m == 1 {
                (y - 1, 12)
            } else {
                (y, m - 1)
            };
            format!("Tháng {m}/{y}")
        }
        3 => {
            let q = (m - 1) / 3;
            let last_month = (m - 1) % 3 == 2;
            let (y, q) = if last_month || (m - 1) % 3 == 1 && due.day() >= 15 {
                (y, q)
            } else if q == 0 {
                (y - 1, 3)
            } else {
                (y, q - 1)
            };
            format!("Quý {}/{y}", roman[q as usize])
        }
        6 => {
            let h = (m - 1) / 6;
            let (y, h) = if (m - 1) % 6 >= 4 {
                (y, h)
            } else if h == 0 {
                (y - 1, 1)
            } else {
                (y, 0)
            };
            format!("6 tháng {} năm {y}", if h == 0 { "đầu" } else { "cuối" })
        }
        12 => format!("Năm {}", if m >= 4 { y } else { y - 1 }),
        _ => String::new(),
    }
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
        crate::dates::dmy(plan.issued),
        plan.issuer,
        about
    )
}

/// One occurrence of a task as an agency's page shows it: a card. A recurring task's open
/// periods are a card each, and so are a task's milestones; a task without dated deadlines is
/// one card.
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
    /// Whether the task recurs (its cards are periods).
    pub recurring: bool,
    /// The occurrence this card is about: its deadline as the plan gives it (what an answer
    /// binds to); `None` for a task without dated deadlines.
    pub occurrence: Option<NaiveDate>,
    /// The period it reports on, as reminders label it ("Tháng 11/2026"); "" for a task that
    /// does not recur.
    pub period: String,
    /// Every open deadline of this agency in the task, as the plan gives them, sorted.
    pub deadlines: Vec<NaiveDate>,
    /// `occurrence` while it is open (what a form answers); `None` once done.
    pub current: Option<NaiveDate>,
    /// `occurrence` as this agency must meet it (after an extension).
    pub due: Option<NaiveDate>,
    /// Days from today to `due` (negative: overdue), while open.
    pub days: Option<i64>,
    pub done: Option<NaiveDate>,
    /// The latest answer (not withdrawn) about this occurrence.
    pub latest: Option<Response>,
    /// An extension request for this occurrence not decided yet.
    pub pending_extension: Option<Response>,
    /// On the oldest period shown of a recurring task: how many older open periods are not
    /// shown (past [`MAX_OPEN_PERIODS`]).
    pub older_open: usize,
}

impl TaskView {
    pub fn overdue(&self) -> bool {
        self.done.is_none() && self.days.is_some_and(|d| d < 0)
    }

    /// The occurrence this card is about.
    pub fn occurrence_ref(&self) -> Occurrence {
        Occurrence {
            plan: self.plan.clone(),
            task: self.task.clone(),
            deadline: self.occurrence,
        }
    }

    /// "Tháng 11/2026 — hạn 24/11/2026", "hạn 30/06/2022", or "" (no dated deadline): the
    /// occurrence as a reminder names it.
    pub fn label(&self) -> String {
        self.occurrence
            .map_or_else(String::new, |d| labelled(&self.period, d))
    }
}

/// An occurrence as reminders and pages name it: "Tháng 11/2026 — hạn 24/11/2026", or
/// "hạn 30/06/2022" for a task that does not recur (or is no longer in the config).
pub fn occurrence_label(task: Option<&Task>, due: NaiveDate) -> String {
    let period = task.map_or_else(String::new, |t| period_label(&t.deadline, due));
    labelled(&period, due)
}

fn labelled(period: &str, due: NaiveDate) -> String {
    let due = format!("hạn {}", crate::dates::dmy(due));
    if period.is_empty() {
        due
    } else {
        format!("{period} — {due}")
    }
}

/// The instant the local day `day` begins in `tz`, in UTC (the earlier one when clocks go back;
/// the first instant after a gap). `None` only past chrono's range.
pub fn day_start(tz: chrono_tz::Tz, day: NaiveDate) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0)?;
    let local = tz.from_local_datetime(&midnight).earliest().or_else(|| {
        // Midnight skipped by a change of offset: the day starts an hour later at most.
        tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(local.with_timezone(&Utc))
}

/// Why an answer cannot be stored any more: the config changed while it was being sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoLongerAnswerable {
    /// The task, or this deadline of it, is no longer the agency's (removed, changed).
    #[error("Nhiệm vụ {task} (Kế hoạch số {plan}) vừa được thay đổi hoặc bỏ khỏi kế hoạch đang theo dõi trong lúc gửi: câu trả lời chưa được ghi. Vui lòng tải lại trang để xem các việc hiện có.")]
    Gone { plan: String, task: String },
    #[error("Kế hoạch số {plan} vừa được đánh dấu kết thúc: câu trả lời chưa được ghi.")]
    PlanClosed { plan: String },
}

/// Whether `occurrence` is still one `agency` may answer in `config` (the config in force when
/// the answer is stored, answers not laid over): its plan open, the task the agency's, the
/// deadline one of the agency's as the plan gives it, not written done in the TOML.
pub fn still_answerable(
    config: &Config,
    agency: &str,
    today: NaiveDate,
    occurrence: &Occurrence,
) -> Result<(), NoLongerAnswerable> {
    let gone = || NoLongerAnswerable::Gone {
        plan: occurrence.plan.clone(),
        task: occurrence.task.clone(),
    };
    match occurrence_card(config, agency, today, &[], occurrence) {
        None => Err(gone()),
        Some(v) if v.plan_closed => Err(NoLongerAnswerable::PlanClosed {
            plan: occurrence.plan.clone(),
        }),
        Some(v) if v.current.is_none() => Err(gone()),
        Some(_) => Ok(()),
    }
}

/// How long a finished occurrence stays on the agency's page.
pub const RECENT_DAYS: i64 = 90;
/// A recurring task's overdue periods shown as cards, the most recent; older ones are counted.
pub const MAX_OPEN_PERIODS: usize = 12;
/// A recurring task's finished periods shown (the most recent).
const MAX_DONE_PERIODS: usize = 3;

/// The agency's open and recently finished occurrences across the config's plans (closed
/// plans included, marked), overdue first, then by deadline. `config` has the answers laid
/// over it. A recurring task's periods: every open one already due (the latest
/// [`MAX_OPEN_PERIODS`]), those within its first reminder, and the next one to come; periods
/// before the plan's `reminders_from` are not the agency's to answer and are not listed.
pub fn agency_view(
    config: &Config,
    agency: &str,
    today: NaiveDate,
    responses: &[Response],
) -> Vec<TaskView> {
    cards(config, agency, today, responses, None)
}

/// The card of one occurrence of `agency`, whether or not the page lists it (a period past
/// the ones listed, which a reminder or a form may still name): `None` when it is not one of
/// the agency's deadlines as the plan gives them (or not its task at all).
pub fn occurrence_card(
    config: &Config,
    agency: &str,
    today: NaiveDate,
    responses: &[Response],
    occurrence: &Occurrence,
) -> Option<TaskView> {
    cards(config, agency, today, responses, Some(occurrence))
        .into_iter()
        .find(|v| v.occurrence == occurrence.deadline)
}

/// [`agency_view`], or with `only` the cards of that occurrence's task with that occurrence
/// among them whatever the page's window.
fn cards(
    config: &Config,
    agency: &str,
    today: NaiveDate,
    responses: &[Response],
    only: Option<&Occurrence>,
) -> Vec<TaskView> {
    let name_of = |id: &str| config.agency_name(id);
    let horizon = today
        .checked_add_days(chrono::Days::new(400))
        .unwrap_or(today);
    let mut out = Vec::new();
    let wanted = |plan: &str, task: &str| only.is_none_or(|o| o.plan == plan && o.task == task);
    let named = |d: NaiveDate| only.is_some_and(|o| o.deadline == Some(d));
    for plan in &config.plans {
        // Once per plan, not per card (a department's page has 1,500 cards of 50 plans).
        let plan_citation = citation(plan);
        for task in &plan.tasks {
            if !wanted(&plan.number, &task.id) {
                continue;
            }
            let Some(role) = crate::report::role_in(task, agency) else {
                continue;
            };
            let planned =
                crate::report::agency_deadlines(config, task, agency, role, plan, horizon);
            let is_recurring = matches!(task.deadline, Deadline::Recurring { .. });
            let done_by = |d: NaiveDate| task.done_for(agency, d).filter(|on| *on <= today);
            let open: Vec<NaiveDate> = planned
                .iter()
                .copied()
                .filter(|d| done_by(*d).is_none())
                .collect();
            let card = |occurrence: Option<NaiveDate>, done: Option<NaiveDate>| {
                let due = occurrence.map(|d| task.deadline_for(agency, d));
                let about = |r: &&Response| {
                    r.agency == agency
                        && r.plan == plan.number
                        && r.task == task.id
                        && r.undone_at.is_none()
                        && (occurrence.is_none() || r.deadline == occurrence)
                };
                TaskView {
                    plan: plan.number.clone(),
                    plan_citation: plan_citation.clone(),
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
                    recurring: is_recurring,
                    occurrence,
                    period: occurrence
                        .map(|d| period_label(&task.deadline, d))
                        .unwrap_or_default(),
                    deadlines: open.clone(),
                    current: if done.is_some() { None } else { occurrence },
                    due: if done.is_some() { None } else { due },
                    days: match (done, due) {
                        (None, Some(d)) => Some((d - today).num_days()),
                        _ => None,
                    },
                    done,
                    latest: responses.iter().filter(about).max_by_key(|r| r.id).cloned(),
                    pending_extension: responses
                        .iter()
                        .filter(about)
                        .filter(|r| {
                            r.action == Action::Extension
                                && r.granted.is_none()
                                && r.refused_at.is_none()
                                && occurrence.is_some()
                        })
                        .max_by_key(|r| r.id)
                        .cloned(),
                    older_open: 0,
                }
            };
            let recent = |done: NaiveDate| (today - done).num_days() <= RECENT_DAYS;
            if planned.is_empty() {
                let done = task.done_whole(agency).filter(|d| *d <= today);
                if done.is_none_or(recent) {
                    out.push(card(None, done));
                }
                continue;
            }
            if !is_recurring {
                // A few milestones: each open one, and those finished lately.
                for d in &planned {
                    let done = done_by(*d);
                    if done.is_none_or(recent) || named(*d) {
                        out.push(card(Some(*d), done));
                    }
                }
                continue;
            }
            // Periods: the ones already due and open (the latest few, by the deadline in
            // force), those a reminder may already reach, and the next one to come. A reminder
            // goes out up to the policy's longest lead, earlier when that day is off and
            // further in working days: the window is generous, so every period reminded has
            // its card.
            let lead = u64::from(task.policy.before.iter().copied().max().unwrap_or(0));
            let reach = today
                .checked_add_days(chrono::Days::new(lead * 7 / 5 + 10))
                .unwrap_or(today);
            let in_force = |d: NaiveDate| task.deadline_for(agency, d);
            let mut due_open: Vec<NaiveDate> = open
                .iter()
                .copied()
                .filter(|d| in_force(*d) < today)
                .collect();
            due_open.sort_by_key(|d| in_force(*d));
            let hidden = due_open.len().saturating_sub(MAX_OPEN_PERIODS);
            let listed_due = &due_open[hidden..];
            let next = open.iter().copied().find(|d| in_force(*d) >= today);
            let mut first = true;
            for d in open.iter().copied() {
                let shown = if in_force(d) < today {
                    listed_due.contains(&d)
                } else {
                    d <= reach || in_force(d) <= reach || Some(d) == next
                };
                if shown || named(d) {
                    let mut c = card(Some(d), None);
                    if first {
                        c.older_open = hidden;
                        first = false;
                    }
                    out.push(c);
                }
            }
            let mut finished: Vec<(NaiveDate, NaiveDate)> = planned
                .iter()
                .filter_map(|d| {
                    done_by(*d)
                        .filter(|on| recent(*on) || named(*d))
                        .map(|on| (*d, on))
                })
                .collect();
            finished.sort_by_key(|(d, _)| std::cmp::Reverse(*d));
            let kept = finished.len().min(MAX_DONE_PERIODS);
            for (i, (d, on)) in finished.into_iter().enumerate() {
                if i < kept || named(d) {
                    out.push(card(Some(d), Some(on)));
                }
            }
        }
    }
    // Each card's key built once (a task's natural key allocates), not at every comparison.
    out.sort_by_cached_key(|v| {
        (
            !v.overdue(),
            v.done.is_some(),
            v.due.is_none(),
            v.due,
            v.plan.clone(),
            natural_key(&v.task),
        )
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
            exact: true,
            who: Who::default(),
            review: None,
        }
    }

    #[test]
    fn the_latest_answer_about_a_period_is_about_that_period() {
        let nov = done("a", "1", d(2022, 11, 30), d(2022, 11, 29));
        let dec = Response {
            id: 2,
            ..done("a", "1", d(2022, 12, 31), d(2022, 12, 30))
        };
        let withdrawn = Response {
            id: 3,
            undone_at: Some(DateTime::default()),
            ..done("a", "1", d(2022, 11, 30), d(2022, 11, 30))
        };
        let all = [nov, dec, withdrawn];
        let id = |o| latest_about(&all, "a", "1/KH", "1", o).map(|r| r.id);
        assert_eq!(id(Some(d(2022, 11, 30))), Some(1));
        assert_eq!(id(Some(d(2022, 12, 31))), Some(2));
        assert_eq!(id(Some(d(2023, 1, 31))), None);
        assert_eq!(id(None), Some(2), "the task's latest, any period");
    }

    #[test]
    fn an_answer_is_checked_against_the_config_in_force() {
        let c = config();
        let today = d(2022, 6, 1);
        let occ = |task: &str, deadline: Option<NaiveDate>| Occurrence {
            plan: "1/KH".into(),
            task: task.into(),
            deadline,
        };
        let june = Some(d(2022, 6, 30));
        assert_eq!(still_answerable(&c, "a", today, &occ("2", june)), Ok(()));
        // The TOML writes it done for b; a task or a deadline no longer there.
        assert!(still_answerable(&c, "b", today, &occ("2", june)).is_err());
        let gone = still_answerable(&c, "a", today, &occ("9", june)).unwrap_err();
        assert!(matches!(gone, NoLongerAnswerable::Gone { .. }), "{gone:?}");
        assert!(
            gone.to_string().contains("Nhiệm vụ 9 (Kế hoạch số 1/KH)"),
            "{gone}"
        );
        assert!(still_answerable(&c, "a", today, &occ("2", Some(d(2022, 7, 15)))).is_err());
        let mut reloaded = c.clone();
        reloaded.plans[0].tasks.retain(|t| t.id != "2");
        assert!(still_answerable(&reloaded, "a", today, &occ("2", june)).is_err());
    }

    #[test]
    fn a_local_day_starts_at_its_midnight_in_utc() {
        let tz: chrono_tz::Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
        assert_eq!(
            day_start(tz, d(2022, 6, 1)).map(|t| t.to_rfc3339()),
            Some("2022-05-31T17:00:00+00:00".to_string())
        );
    }

    #[test]
    fn a_completion_binds_to_exactly_its_occurrence_and_the_tomls_done_wins() {
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
        assert_eq!(t1.done_for("a", d(2022, 3, 31)), None, "Q1 is not Q2");
        assert_eq!(t1.done_for("a", q2), Some(d(2022, 6, 20)));
        assert_eq!(t1.done_for("a", d(2022, 9, 30)), None, "Q3 is still open");
        let t2 = &c.plans[0].tasks[1];
        assert_eq!(
            t2.done_for("b", d(2022, 6, 30)),
            Some(d(2022, 5, 1)),
            "TOML wins"
        );
        assert_eq!(t2.done_for("a", d(2022, 6, 30)), None, "withdrawn");
        // The page: Sở A's quarterly report has a card per period: Q1 still overdue, Q3 to
        // come, Q2 done; each labelled as reminders label it.
        let view = agency_view(&c, "a", d(2022, 7, 1), &answers);
        let cards: Vec<(String, Option<NaiveDate>, bool)> = view
            .iter()
            .filter(|v| v.task == "1")
            .map(|v| (v.label(), v.current, v.done.is_some()))
            .collect();
        assert_eq!(
            cards,
            vec![
                (
                    "Quý I/2022 — hạn 31/03/2022".to_string(),
                    Some(d(2022, 3, 31)),
                    false
                ),
                (
                    "Quý III/2022 — hạn 30/09/2022".to_string(),
                    Some(d(2022, 9, 30)),
                    false
                ),
                ("Quý II/2022 — hạn 30/06/2022".to_string(), None, true),
            ]
        );
        assert!(view[0].overdue(), "the overdue period comes first");
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
    fn an_answer_stored_before_occurrences_keeps_its_meaning() {
        let mut c = config();
        let legacy = Response {
            exact: false,
            ..done("a", "1", d(2022, 6, 30), d(2022, 6, 20))
        };
        overlay(&mut c, &[legacy], &[]);
        let t1 = &c.plans[0].tasks[0];
        assert_eq!(t1.done_for("a", d(2022, 3, 31)), Some(d(2022, 6, 20)));
        assert_eq!(t1.done_for("a", d(2022, 6, 30)), Some(d(2022, 6, 20)));
        assert_eq!(t1.done_for("a", d(2022, 9, 30)), None);
    }

    #[test]
    fn periods_before_reminders_from_are_nobodys_and_old_ones_are_counted_not_listed() {
        let mut c = config();
        c.plans[0].reminders_from = Some(d(2022, 9, 1));
        let view = agency_view(&c, "a", d(2022, 10, 5), &[]);
        let periods: Vec<String> = view
            .iter()
            .filter(|v| v.task == "1")
            .map(|v| v.label())
            .collect();
        assert_eq!(
            periods,
            [
                "Quý III/2022 — hạn 30/09/2022",
                "Quý IV/2022 — hạn 31/12/2022"
            ],
            "Q1 and Q2 ended before reminders_from"
        );
        // Without it, years of unanswered periods: the latest MAX_OPEN_PERIODS shown, the
        // rest counted on the oldest shown.
        c.plans[0].reminders_from = None;
        let view = agency_view(&c, "a", d(2026, 12, 7), &[]);
        let cards: Vec<&TaskView> = view.iter().filter(|v| v.task == "1").collect();
        assert_eq!(cards.len(), MAX_OPEN_PERIODS + 1, "12 overdue and the next");
        let older: usize = cards.iter().map(|v| v.older_open).sum();
        // 2022 Q1 … 2026 Q3 are 19 periods overdue on 07/12/2026.
        assert_eq!(older, 19 - MAX_OPEN_PERIODS);
    }

    #[test]
    fn occurrence_ids_read_back() {
        let o = Occurrence {
            plan: "50/KH-UBND".into(),
            task: "8.6".into(),
            deadline: Some(d(2026, 11, 24)),
        };
        assert_eq!(o.id(), "50/KH-UBND|8.6|2026-11-24");
        assert_eq!(Occurrence::parse(&o.id()), Some(o.clone()));
        let undated = Occurrence {
            deadline: None,
            ..o
        };
        assert_eq!(Occurrence::parse(&undated.id()), Some(undated));
        for bad in [
            "",
            "8.6|2026-11-24",
            "50|8.6|2026-13-01",
            "50||2026-11-24",
            "|8.6|-",
        ] {
            assert_eq!(Occurrence::parse(bad), None, "{bad}");
        }
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
