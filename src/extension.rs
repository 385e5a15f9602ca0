//! The one rule for granting an extension, whoever grants it: the dashboard's *Đồng ý* on an
//! agency's request (`web::monitor`) and `nhacviec extend`. Pure: the config with the answers
//! laid over it (completions and the extensions granted so far), what is asked, and today in;
//! a [`Grant`] to record or the [`Refusal`] to show out.
//!
//! An extension moves one agency's deadline of a task, named by the date the plan gives it
//! (`from`). The new date must come after the deadline in force, i.e. after earlier
//! extensions of that deadline (`Task::deadline_for`), and within [`MAX_YEARS`] of it; the
//! decision's document (the "công văn" that allows it) is required.

use crate::answers::{Action, Response};
use crate::config::{Config, Plan, Task};
use crate::dates::dmy;
use crate::report::{agency_deadlines, role_in};
use chrono::{Months, NaiveDate};

/// The longest a document reference may be (as the agencies' forms).
pub const MAX_DOC_REF: usize = 200;
/// How far after the deadline in force an extension may reach.
pub const MAX_YEARS: u32 = 5;
/// How many of an agency's deadlines a refusal lists (a recurring task has many).
const LISTED: usize = 12;
/// How far ahead a recurring task's occurrences are looked for when no later `from` is asked.
const HORIZON_DAYS: u64 = 400;

/// What is asked: move `agency`'s deadline `from` of `plan`'s task `task` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked<'a> {
    /// The agency's id.
    pub agency: &'a str,
    /// The plan's number, exactly as the config has it.
    pub plan: &'a str,
    pub task: &'a str,
    /// The deadline as the plan gives it (an agency's request names it). `None`: the agency's
    /// earliest deadline of the task not yet done (the CLI's default).
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
    /// The decision's document ("Công văn số 123/UBND-KT ngày 20/6/2022").
    pub doc_ref: Option<&'a str>,
    pub today: NaiveDate,
}

/// An extension that may be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub agency: String,
    pub plan: String,
    pub task: String,
    /// The deadline as the plan gives it.
    pub from: NaiveDate,
    /// The deadline in force until now (`from`, or where an earlier extension moved it).
    pub before: NaiveDate,
    pub to: NaiveDate,
    /// The decision's document, trimmed.
    pub doc_ref: String,
}

/// Why an extension cannot be granted. Agencies are named by their names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("không có kế hoạch \"{plan}\"")]
    UnknownPlan { plan: String },
    #[error("kế hoạch {plan} không có nhiệm vụ \"{task}\"")]
    UnknownTask { plan: String, task: String },
    #[error(
        "kế hoạch {plan} đã kết thúc{}: không gia hạn nhiệm vụ của kế hoạch đã kết thúc",
        on_day(.on)
    )]
    PlanClosed { plan: String, on: Option<NaiveDate> },
    #[error("{agency} không chủ trì cũng không phối hợp nhiệm vụ {task} (KH {plan}): không có hạn nào để gia hạn")]
    NotAssigned {
        agency: String,
        plan: String,
        task: String,
    },
    #[error("nhiệm vụ {task} không có hạn cụ thể (\"{time}\"): không có hạn nào để gia hạn")]
    Undated { task: String, time: String },
    #[error(
        "{} không phải hạn của {agency} trong nhiệm vụ {task} theo kế hoạch; các hạn: {}{}",
        dmy(*.from),
        listed(.deadlines),
        and_more(.more)
    )]
    NotADeadline {
        from: NaiveDate,
        agency: String,
        task: String,
        /// The agency's deadlines nearest `from`, at most 12, in date order.
        deadlines: Vec<NaiveDate>,
        /// How many more it has.
        more: usize,
    },
    #[error(
        "{agency} đã hoàn thành nhiệm vụ {task} (hạn {}, hoàn thành ngày {}): không còn hạn đó để gia hạn",
        dmy(*.from),
        dmy(*.on)
    )]
    AlreadyDone {
        agency: String,
        task: String,
        from: NaiveDate,
        on: NaiveDate,
    },
    #[error(
        "hạn mới {} không sau hạn hiện tại {}{} của {agency} (nhiệm vụ {task}): gia hạn phải dời hạn về sau",
        dmy(*.to),
        dmy(*.before),
        planned(.from, .before)
    )]
    NotLater {
        to: NaiveDate,
        before: NaiveDate,
        from: NaiveDate,
        agency: String,
        task: String,
    },
    #[error(
        "hạn mới {} quá xa: gia hạn không quá {MAX_YEARS} năm sau hạn hiện tại {}, tức muộn nhất ngày {}",
        dmy(*.to),
        dmy(*.before),
        dmy(*.bound)
    )]
    TooFar {
        to: NaiveDate,
        before: NaiveDate,
        bound: NaiveDate,
    },
    #[error("cần số văn bản cho phép gia hạn (ví dụ: Công văn số 123/UBND-KT ngày 20/6/2022)")]
    NoDocRef,
    #[error("số văn bản cho phép gia hạn quá dài ({chars} ký tự; tối đa {MAX_DOC_REF})")]
    DocRefTooLong { chars: usize },
}

fn on_day(d: &Option<NaiveDate>) -> String {
    d.as_ref()
        .map(|d| format!(" ngày {}", dmy(*d)))
        .unwrap_or_default()
}

fn listed(ds: &[NaiveDate]) -> String {
    ds.iter().copied().map(dmy).collect::<Vec<_>>().join(", ")
}

fn and_more(n: &usize) -> String {
    match n {
        0 => String::new(),
        n => format!(" (và {n} hạn khác)"),
    }
}

fn planned(from: &NaiveDate, before: &NaiveDate) -> String {
    if from == before {
        String::new()
    } else {
        format!(" (đã gia hạn từ hạn {} theo kế hoạch)", dmy(*from))
    }
}

/// Whether `asked` may be granted. `config` has the answers laid over it
/// (`answers::overlaid`): completions decide what is done, extensions where each deadline
/// stands now.
pub fn check(config: &Config, asked: &Asked<'_>) -> Result<Grant, Refusal> {
    let plan = config
        .plan(asked.plan)
        .ok_or_else(|| Refusal::UnknownPlan {
            plan: asked.plan.to_string(),
        })?;
    let task = plan
        .tasks
        .iter()
        .find(|t| t.id == asked.task)
        .ok_or_else(|| Refusal::UnknownTask {
            plan: plan.number.clone(),
            task: asked.task.to_string(),
        })?;
    if let Some(closed) = &plan.closed {
        return Err(Refusal::PlanClosed {
            plan: plan.number.clone(),
            on: closed.on,
        });
    }
    let agency = config.agency_name(asked.agency);
    let Some(role) = role_in(task, asked.agency) else {
        return Err(Refusal::NotAssigned {
            agency,
            plan: plan.number.clone(),
            task: task.id.clone(),
        });
    };
    // A recurring task's occurrences: far enough ahead for the `from` asked.
    let until = asked
        .today
        .checked_add_days(chrono::Days::new(HORIZON_DAYS))
        .unwrap_or(asked.today)
        .max(asked.from.unwrap_or(asked.today));
    let deadlines = agency_deadlines(config, task, asked.agency, role, plan, until);
    if deadlines.is_empty() {
        return Err(Refusal::Undated {
            task: task.id.clone(),
            time: task.time_text.clone().unwrap_or_default(),
        });
    }
    let done = |d: NaiveDate| done_by(task, asked.agency, d, asked.today);
    let from = match asked.from {
        Some(f) if deadlines.contains(&f) => f,
        Some(f) => {
            let (near, more) = nearest(&deadlines, f);
            return Err(Refusal::NotADeadline {
                from: f,
                agency,
                task: task.id.clone(),
                deadlines: near,
                more,
            });
        }
        // The earliest not done; when every one is, the last (refused as done below).
        None => deadlines
            .iter()
            .copied()
            .find(|d| done(*d).is_none())
            .or_else(|| deadlines.last().copied())
            .unwrap_or(asked.today),
    };
    if let Some(on) = done(from) {
        return Err(Refusal::AlreadyDone {
            agency,
            task: task.id.clone(),
            from,
            on,
        });
    }
    let before = task.deadline_for(asked.agency, from);
    if asked.to <= before {
        return Err(Refusal::NotLater {
            to: asked.to,
            before,
            from,
            agency,
            task: task.id.clone(),
        });
    }
    let bound = before
        .checked_add_months(Months::new(12 * MAX_YEARS))
        .unwrap_or(NaiveDate::MAX);
    if asked.to > bound {
        return Err(Refusal::TooFar {
            to: asked.to,
            before,
            bound,
        });
    }
    let doc_ref = asked.doc_ref.map(str::trim).unwrap_or_default();
    if doc_ref.is_empty() {
        return Err(Refusal::NoDocRef);
    }
    let chars = doc_ref.chars().count();
    if chars > MAX_DOC_REF {
        return Err(Refusal::DocRefTooLong { chars });
    }
    Ok(Grant {
        agency: asked.agency.to_string(),
        plan: plan.number.clone(),
        task: task.id.clone(),
        from,
        before,
        to: asked.to,
        doc_ref: doc_ref.to_string(),
    })
}

/// When `agency` finished the part of `task` due on `deadline`, if by `today` (a completion
/// the TOML dates later has not happened yet).
fn done_by(task: &Task, agency: &str, deadline: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    task.done_for(agency, deadline).filter(|on| *on <= today)
}

/// The [`LISTED`] deadlines nearest `to` (in date order), and how many are left out.
fn nearest(deadlines: &[NaiveDate], to: NaiveDate) -> (Vec<NaiveDate>, usize) {
    let mut near: Vec<NaiveDate> = deadlines.to_vec();
    near.sort_by_key(|d| ((*d - to).num_days().abs(), *d));
    near.truncate(LISTED);
    near.sort_unstable();
    let more = deadlines.len() - near.len();
    (near, more)
}

/// The plans having a task numbered `task` (the CLI names a task by its number alone), only
/// plan `plan` when given.
pub fn plans_with_task<'a>(config: &'a Config, plan: Option<&str>, task: &str) -> Vec<&'a Plan> {
    config
        .plans
        .iter()
        .filter(|p| plan.is_none_or(|n| n == p.number))
        .filter(|p| p.tasks.iter().any(|t| t.id == task))
        .collect()
}

/// The agency's request a grant answers (the store marks it granted with it): its latest one
/// still pending about that task and deadline, or about the task without naming a deadline.
pub fn request_answered<'a>(responses: &'a [Response], grant: &Grant) -> Option<&'a Response> {
    responses
        .iter()
        .filter(|r| {
            r.agency == grant.agency
                && r.plan == grant.plan
                && r.task == grant.task
                && r.action == Action::Extension
                && r.undone_at.is_none()
                && r.granted.is_none()
                && r.refused_at.is_none()
                && r.deadline.is_none_or(|d| d == grant.from)
        })
        .max_by_key(|r| r.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{overlaid, Action, Extension, Response};
    use chrono::{DateTime, Utc};

    const PLAN: &str = r#"
[plan]
number = "1/KH"
title = "Kế hoạch thử"
issuer = "UBND tỉnh X"
issued = 2022-03-01

[[task]]
id = "1"
title = "Một việc có hạn"
lead = ["Sở A", "Sở B"]
support = ["Sở C"]
time = "Tháng 6/2022"
done_by = { b = 2022-05-20 }

[[task]]
id = "2"
title = "Việc thường xuyên"
lead = ["Sở A"]
time = "Thường xuyên"

[[task]]
id = "3"
title = "Báo cáo hằng quý"
lead = ["Sở A"]
time = "Hằng quý"
"#;

    const CLOSED: &str = r#"
[plan]
number = "2/KH"
title = "Kế hoạch đã xong"
issuer = "UBND tỉnh X"
issued = 2022-01-10
status = "closed"
closed = 2022-05-01

[[task]]
id = "1"
title = "Việc của kế hoạch đã xong"
lead = ["Sở A"]
time = "Tháng 6/2022"
"#;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The plans above, Sở A's report of the first quarter laid over, and a grant of task 1
    /// to Sở A (30/06 → 31/07).
    fn config() -> Config {
        let c = crate::overview::tests::config_with(&[PLAN, CLOSED]);
        let quarter = Response {
            id: 1,
            agency: "a".into(),
            plan: "1/KH".into(),
            task: "3".into(),
            deadline: Some(d("2022-03-31")),
            action: Action::Done,
            done_on: Some(d("2022-03-30")),
            doc_ref: None,
            note: None,
            percent: None,
            proposed: None,
            created_at: at("2022-03-30T02:00:00Z"),
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
        };
        let granted = Extension {
            id: 1,
            agency: "a".into(),
            plan: "1/KH".into(),
            task: "1".into(),
            from: d("2022-06-30"),
            to: d("2022-07-31"),
            doc_ref: Some("CV 1".into()),
            granted_at: at("2022-06-01T02:00:00Z"),
        };
        overlaid(&c, &[quarter], &[granted])
    }

    fn asked<'a>(agency: &'a str, plan: &'a str, task: &'a str, to: &str) -> Asked<'a> {
        Asked {
            agency,
            plan,
            task,
            from: None,
            to: d(to),
            doc_ref: Some("  Công văn số 9/UBND  "),
            today: d("2022-06-10"),
        }
    }

    #[test]
    fn a_grant_moves_the_deadline_in_force() {
        let c = config();
        // Sở A's deadline was moved to 31/07 already: a second grant starts from there.
        let g = check(&c, &asked("a", "1/KH", "1", "2022-08-15")).unwrap();
        assert_eq!(
            (g.from, g.before, g.to),
            (d("2022-06-30"), d("2022-07-31"), d("2022-08-15"))
        );
        assert_eq!(g.doc_ref, "Công văn số 9/UBND", "trimmed");
        assert_eq!(
            (g.agency.as_str(), g.plan.as_str(), g.task.as_str()),
            ("a", "1/KH", "1")
        );
        // A coordinator's deadline too; `from` named as the plan gives it.
        let g = check(
            &c,
            &Asked {
                from: Some(d("2022-06-30")),
                ..asked("c", "1/KH", "1", "2022-07-15")
            },
        )
        .unwrap();
        assert_eq!((g.from, g.before), (d("2022-06-30"), d("2022-06-30")));
        // A recurring task: the earliest occurrence not done (Q1 was reported).
        let g = check(&c, &asked("a", "1/KH", "3", "2022-07-15")).unwrap();
        assert_eq!(g.from, d("2022-06-30"));
        // The latest possible day is allowed.
        assert!(check(&c, &asked("a", "1/KH", "1", "2027-07-31")).is_ok());
    }

    #[test]
    fn a_grant_answers_the_latest_pending_request_for_its_deadline() {
        let c = config();
        let g = check(&c, &asked("a", "1/KH", "1", "2022-08-15")).unwrap();
        let request = |id, deadline: &str| Response {
            id,
            task: "1".into(),
            deadline: Some(d(deadline)),
            action: Action::Extension,
            done_on: None,
            ..config_response()
        };
        let mut withdrawn = request(4, "2022-06-30");
        withdrawn.undone_at = Some(at("2022-06-02T02:00:00Z"));
        let rows = [
            request(2, "2022-06-30"),
            request(3, "2022-12-31"),
            withdrawn,
        ];
        assert_eq!(request_answered(&rows, &g).map(|r| r.id), Some(2));
        assert!(request_answered(&rows[1..], &g).is_none());
        assert_eq!(
            plans_with_task(&c, None, "1")
                .iter()
                .map(|p| p.number.as_str())
                .collect::<Vec<_>>(),
            ["1/KH", "2/KH"]
        );
        assert!(plans_with_task(&c, Some("1/KH"), "9").is_empty());
    }

    fn config_response() -> Response {
        Response {
            id: 1,
            agency: "a".into(),
            plan: "1/KH".into(),
            task: "3".into(),
            deadline: None,
            action: Action::Done,
            done_on: None,
            doc_ref: None,
            note: None,
            percent: None,
            proposed: None,
            created_at: at("2022-06-01T02:00:00Z"),
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

    #[test]
    fn unknown_plan_or_task() {
        let c = config();
        assert_eq!(
            check(&c, &asked("a", "9/KH", "1", "2022-08-15")),
            Err(Refusal::UnknownPlan {
                plan: "9/KH".into()
            })
        );
        let e = check(&c, &asked("a", "1/KH", "9.9", "2022-08-15")).unwrap_err();
        assert_eq!(e.to_string(), "kế hoạch 1/KH không có nhiệm vụ \"9.9\"");
    }

    #[test]
    fn a_closed_plan() {
        let e = check(&config(), &asked("a", "2/KH", "1", "2022-08-15")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kế hoạch 2/KH đã kết thúc ngày 01/05/2022: không gia hạn nhiệm vụ của kế hoạch đã kết thúc"
        );
    }

    #[test]
    fn an_agency_not_assigned() {
        let e = check(&config(), &asked("d", "1/KH", "1", "2022-08-15")).unwrap_err();
        assert!(matches!(e, Refusal::NotAssigned { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("Sở D không chủ trì cũng không phối hợp nhiệm vụ 1 (KH 1/KH)"),
            "{e}"
        );
    }

    #[test]
    fn a_task_without_dated_deadlines() {
        let e = check(&config(), &asked("a", "1/KH", "2", "2022-08-15")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "nhiệm vụ 2 không có hạn cụ thể (\"Thường xuyên\"): không có hạn nào để gia hạn"
        );
    }

    #[test]
    fn a_from_that_is_not_the_agencys_deadline_lists_them() {
        let c = config();
        let e = check(
            &c,
            &Asked {
                from: Some(d("2022-07-31")),
                ..asked("a", "1/KH", "1", "2022-08-15")
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "31/07/2022 không phải hạn của Sở A trong nhiệm vụ 1 theo kế hoạch; các hạn: 30/06/2022",
            "the extended date is not the plan's"
        );
        // A recurring task: the nearest, in order, and how many more.
        // Quarters from 31/03/2022 to 31/03/2025 are 13: the one furthest from 15/05/2025 is
        // left out.
        let e = check(
            &c,
            &Asked {
                from: Some(d("2025-05-15")),
                ..asked("a", "1/KH", "3", "2025-08-15")
            },
        )
        .unwrap_err();
        let Refusal::NotADeadline {
            deadlines, more, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(deadlines.len(), LISTED);
        assert_eq!(
            (deadlines[0], deadlines[LISTED - 1], *more),
            (d("2022-06-30"), d("2025-03-31"), 1)
        );
        assert!(deadlines.windows(2).all(|w| w[0] < w[1]));
        assert!(
            e.to_string()
                .ends_with("31/12/2024, 31/03/2025 (và 1 hạn khác)"),
            "{e}"
        );
    }

    #[test]
    fn an_occurrence_already_done() {
        let c = config();
        // Sở B's completion is in the TOML.
        let e = check(&c, &asked("b", "1/KH", "1", "2022-08-15")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Sở B đã hoàn thành nhiệm vụ 1 (hạn 30/06/2022, hoàn thành ngày 20/05/2022): không còn hạn đó để gia hạn"
        );
        // Sở A reported the first quarter.
        let e = check(
            &c,
            &Asked {
                from: Some(d("2022-03-31")),
                ..asked("a", "1/KH", "3", "2022-08-15")
            },
        )
        .unwrap_err();
        assert!(
            matches!(e, Refusal::AlreadyDone { on, .. } if on == d("2022-03-30")),
            "{e:?}"
        );
        // A completion the TOML dates after today has not happened yet.
        let early = Asked {
            today: d("2022-05-01"),
            ..asked("b", "1/KH", "1", "2022-08-15")
        };
        assert!(check(&c, &early).is_ok());
    }

    #[test]
    fn a_date_not_after_the_deadline_in_force() {
        let c = config();
        // After the plan's 30/06 but not after the 31/07 it was moved to.
        for to in ["2022-07-15", "2022-07-31"] {
            let e = check(&c, &asked("a", "1/KH", "1", to)).unwrap_err();
            assert!(
                matches!(e, Refusal::NotLater { before, .. } if before == d("2022-07-31")),
                "{e:?}"
            );
        }
        let e = check(&c, &asked("a", "1/KH", "1", "2022-07-15")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hạn mới 15/07/2022 không sau hạn hiện tại 31/07/2022 (đã gia hạn từ hạn 30/06/2022 theo kế hoạch) của Sở A (nhiệm vụ 1): gia hạn phải dời hạn về sau"
        );
        // Without an earlier grant, the plan's date is the one in force.
        let e = check(&c, &asked("c", "1/KH", "1", "2022-06-30")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hạn mới 30/06/2022 không sau hạn hiện tại 30/06/2022 của Sở C (nhiệm vụ 1): gia hạn phải dời hạn về sau"
        );
    }

    #[test]
    fn a_date_too_far() {
        let e = check(&config(), &asked("a", "1/KH", "1", "2027-08-01")).unwrap_err();
        assert_eq!(
            e,
            Refusal::TooFar {
                to: d("2027-08-01"),
                before: d("2022-07-31"),
                bound: d("2027-07-31")
            }
        );
        assert_eq!(
            e.to_string(),
            "hạn mới 01/08/2027 quá xa: gia hạn không quá 5 năm sau hạn hiện tại 31/07/2022, tức muộn nhất ngày 31/07/2027"
        );
    }

    #[test]
    fn the_document_is_required_and_bounded() {
        let c = config();
        for missing in [None, Some(""), Some("   ")] {
            let e = check(
                &c,
                &Asked {
                    doc_ref: missing,
                    ..asked("a", "1/KH", "1", "2022-08-15")
                },
            )
            .unwrap_err();
            assert_eq!(e, Refusal::NoDocRef, "{missing:?}");
        }
        let long = "đ".repeat(MAX_DOC_REF + 1);
        let e = check(
            &c,
            &Asked {
                doc_ref: Some(&long),
                ..asked("a", "1/KH", "1", "2022-08-15")
            },
        )
        .unwrap_err();
        assert_eq!(e, Refusal::DocRefTooLong { chars: 201 });
        assert!(e.to_string().contains("tối đa 200"), "{e}");
        let exact = "đ".repeat(MAX_DOC_REF);
        assert!(check(
            &c,
            &Asked {
                doc_ref: Some(&exact),
                ..asked("a", "1/KH", "1", "2022-08-15")
            },
        )
        .is_ok());
    }
}
