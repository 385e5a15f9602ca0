//! The service's notices: to the admin (the daily failure summary, the Zalo alert) and to an
//! agency (the decision on an extension, a completion returned by the monitoring office).

use super::{builtin_mail, channel_for, thread, Body, NewDelivery};
use crate::config::{Channel, Config, EmailSettings};
use crate::dates::dmy;
use crate::render::{self, Builtin, TemplateError};
use chrono::NaiveDate;
use serde::Serialize;

/// A time the mail server refused every message (mail waited), as the admin reads it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefusalSpell {
    /// "dd/mm/yyyy HH:MM", local time.
    pub since: String,
    pub until: String,
    pub error: String,
}

impl RefusalSpell {
    /// A spell as stored (RFC 3339 times) in `tz`; a time that does not parse is left empty.
    pub fn local(since: &str, until: &str, error: &str, tz: chrono_tz::Tz) -> RefusalSpell {
        let local = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| {
                    let t = t.with_timezone(&tz);
                    format!("{} {}", dmy(t.date_naive()), t.format("%H:%M"))
                })
                .unwrap_or_default()
        };
        RefusalSpell {
            since: local(since),
            until: local(until),
            error: error.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
struct FailuresCtx {
    today: String,
    dead: Vec<FailedDelivery>,
    stuck: Vec<FailedDelivery>,
    refused: Vec<RefusalSpell>,
    redirected_to: Vec<String>,
}

/// A delivery the summary lists (given up, or stuck retrying), as the admin reads it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailedDelivery {
    pub id: i64,
    pub agency: String,
    pub recipients: Vec<String>,
    pub attempts: i64,
    /// The last attempt's error.
    pub error: String,
}

/// The admin's daily summary of failed deliveries and of deliveries stuck retrying.
pub fn failure_summary(
    email: &EmailSettings,
    dead: &[FailedDelivery],
    stuck: &[FailedDelivery],
    refused: &[RefusalSpell],
    today: NaiveDate,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let Some(admin) = &email.admin else {
        return Ok(vec![]);
    };
    builtin_mail(
        email,
        Builtin::FailureSummary,
        "_admin",
        "admin.failures",
        std::slice::from_ref(admin),
        |redirected_to| FailuresCtx {
            today: crate::dates::dmy(today),
            dead: dead.to_vec(),
            stuck: stuck.to_vec(),
            refused: refused.to_vec(),
            redirected_to,
        },
    )
}

#[derive(Debug, Serialize)]
struct ZaloStoppedCtx<'a> {
    reason: &'a str,
    redirected_to: Vec<String>,
}

/// The admin's alert that the Zalo channel stopped (a failed token refresh).
pub fn zalo_stopped(
    email: &EmailSettings,
    reason: &str,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let Some(admin) = &email.admin else {
        return Ok(vec![]);
    };
    builtin_mail(
        email,
        Builtin::ZaloStopped,
        "_admin",
        "admin.zalo",
        std::slice::from_ref(admin),
        |redirected_to| ZaloStoppedCtx {
            reason,
            redirected_to,
        },
    )
}

/// The monitoring office's answer to an extension request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Granted {
        to: NaiveDate,
        doc_ref: Option<String>,
    },
    Refused {
        reason: String,
    },
}

/// What a decision is about: one agency's deadline of a task, and whether the agency asked
/// (its request on its page) or the monitoring office decided alone (`nhacviec extend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionAbout<'a> {
    pub agency: &'a str,
    pub plan: &'a str,
    pub task: &'a str,
    /// The deadline as the plan gives it.
    pub deadline: Option<NaiveDate>,
    /// The deadline in force before the decision, when an earlier extension moved it.
    pub in_force: Option<NaiveDate>,
    /// Whether it answers the agency's request.
    pub requested: bool,
    /// The date the agency proposed, if it asked.
    pub proposed: Option<NaiveDate>,
}

impl<'a> From<&'a crate::answers::Response> for DecisionAbout<'a> {
    /// The agency's request as stored (its deadline as the plan gives it).
    fn from(r: &'a crate::answers::Response) -> DecisionAbout<'a> {
        DecisionAbout {
            agency: &r.agency,
            plan: &r.plan,
            task: &r.task,
            deadline: r.deadline,
            in_force: None,
            requested: true,
            proposed: r.proposed,
        }
    }
}

#[derive(Debug, Serialize)]
struct DecisionCtx {
    agency: String,
    monitor: String,
    plan: String,
    citation: String,
    task: String,
    title: String,
    granted: bool,
    /// Whether the agency asked.
    requested: bool,
    /// The plan's deadline.
    from: String,
    /// The deadline in force before the decision, when an earlier extension moved it (else
    /// empty).
    in_force: String,
    to: String,
    proposed: String,
    doc_ref: String,
    reason: String,
    link: String,
    redirected_to: Vec<String>,
}

/// The agency told of the decision `about` its deadline (its request as stored, or a
/// [`DecisionAbout`] of a grant nobody asked for): by email to its addresses; else by
/// Zalo OA text when it has a Zalo user id, or by its webhook when that is its channel. An
/// agency reached only by a Zalo phone (ZNS) is not messaged: the ZNS template is a
/// reminder's. Its page shows the decision either way. `link` is its page, if any.
pub fn decision<'a>(
    config: &Config,
    about: impl Into<DecisionAbout<'a>>,
    decision: &Decision,
    link: Option<&str>,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let r: DecisionAbout<'a> = about.into();
    let Some(agency) = config.agency(r.agency) else {
        return Ok(vec![]);
    };
    let plan = config.plan(r.plan);
    let title = config
        .task(r.plan, r.task)
        .map(|t| t.title.clone())
        .unwrap_or_default();
    let dmy = |d: Option<NaiveDate>| d.map(crate::dates::dmy).unwrap_or_default();
    // The plan's office (`[plan] monitor`), else the settings' one.
    let monitor = plan
        .and_then(|p| config.monitor_contact_of(p))
        .or_else(|| config.monitor_contact.clone())
        .map(|c| c.name)
        .or_else(|| {
            config
                .monitor
                .as_deref()
                .and_then(|m| config.agency(m))
                .map(|a| a.name.clone())
        })
        .unwrap_or_else(|| "Cơ quan theo dõi".to_string());
    let ctx = |redirected_to: Vec<String>| DecisionCtx {
        agency: agency.name.clone(),
        monitor: monitor.clone(),
        plan: r.plan.to_string(),
        citation: plan.map(crate::answers::citation).unwrap_or_default(),
        task: r.task.to_string(),
        title: title.clone(),
        granted: matches!(decision, Decision::Granted { .. }),
        requested: r.requested,
        from: dmy(r.deadline),
        in_force: dmy(r.in_force.filter(|d| Some(*d) != r.deadline)),
        to: match decision {
            Decision::Granted { to, .. } => dmy(Some(*to)),
            Decision::Refused { .. } => String::new(),
        },
        proposed: dmy(r.proposed),
        doc_ref: match decision {
            Decision::Granted { doc_ref, .. } => doc_ref.clone().unwrap_or_default(),
            Decision::Refused { .. } => String::new(),
        },
        reason: match decision {
            Decision::Refused { reason } => reason.clone(),
            Decision::Granted { .. } => String::new(),
        },
        link: link.unwrap_or_default().to_string(),
        redirected_to,
    };
    let kind = if matches!(decision, Decision::Granted { .. }) {
        "granted"
    } else {
        "refused"
    };
    to_agency(
        config,
        agency,
        r.plan,
        r.task,
        Builtin::Decision,
        ("decision", kind),
        ctx,
    )
}

/// A message to one agency that is not a reminder (a decision, a returned completion): by
/// email, else as Zalo OA text (an agency with a user id: the ZNS template is a reminder's),
/// else by its webhook (JSON with `kind` = `value`); none when it cannot be reached.
fn to_agency<T: Serialize>(
    config: &Config,
    agency: &crate::config::Agency,
    plan: &str,
    task: &str,
    which: Builtin,
    (kind, value): (&str, &str),
    ctx: impl Fn(Vec<String>) -> T,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let thread = thread(&agency.id, plan);
    if !agency.email.is_empty() {
        return builtin_mail(
            &config.email,
            which,
            &agency.id,
            &thread,
            &agency.email,
            ctx,
        );
    }
    let channel = channel_for(config, &agency.id);
    let body = match channel {
        // Without an address the agency's email is not reachable (its first channel is
        // email only when it has none configured).
        Channel::Email => return Ok(vec![]),
        // OA text reaches a user id; a phone only gets ZNS, whose template is a reminder's.
        Channel::Zalo if agency.zalo_user_id.is_none() => return Ok(vec![]),
        Channel::Zalo => {
            let rendered = render::builtin(which, &ctx(vec![]))?;
            (rendered.subject, Body::Text(rendered.text))
        }
        Channel::Webhook => {
            let rendered = render::builtin(which, &ctx(vec![]))?;
            let mut json = serde_json::json!({
                "agency": {"id": agency.id, "name": agency.name},
                "subject": rendered.subject,
                "text": rendered.text,
                "plan": plan,
                "task": task,
            });
            json[kind] = serde_json::Value::from(value);
            (rendered.subject, Body::Json(json.to_string()))
        }
    };
    let (subject, body) = body;
    let (body_text, body_html) = body.into_columns();
    Ok(vec![NewDelivery {
        agency: agency.id.clone(),
        channel,
        recipients: vec![agency.id.clone()],
        subject,
        body_text,
        body_html,
        items: vec![],
        thread,
        attachments: vec![],
    }])
}

#[derive(Debug, Serialize)]
struct ReviewCtx {
    agency: String,
    monitor: String,
    plan: String,
    citation: String,
    task: String,
    title: String,
    /// "Tháng 11/2026 — hạn 24/11/2026", "hạn 30/06/2022", or "".
    occurrence: String,
    done_on: String,
    doc_ref: String,
    reason: String,
    link: String,
    redirected_to: Vec<String>,
}

/// The monitoring office returned `r` (a completion) with `reason`: the agency is told, by
/// its channel, that the task is open again and why. `link` is its page, if any.
pub fn returned_notice(
    config: &Config,
    r: &crate::answers::Response,
    reason: &str,
    link: Option<&str>,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let Some(agency) = config.agency(&r.agency) else {
        return Ok(vec![]);
    };
    let plan = config.plan(&r.plan);
    let task = config.task(&r.plan, &r.task);
    let monitor = plan
        .and_then(|p| config.monitor_contact_of(p))
        .or_else(|| config.monitor_contact.clone())
        .map(|c| c.name)
        .unwrap_or_else(|| "Cơ quan theo dõi".to_string());
    let occurrence = r
        .deadline
        .map_or_else(String::new, |d| crate::answers::occurrence_label(task, d));
    let ctx = |redirected_to: Vec<String>| ReviewCtx {
        agency: agency.name.clone(),
        monitor: monitor.clone(),
        plan: r.plan.clone(),
        citation: plan.map(crate::answers::citation).unwrap_or_default(),
        task: r.task.clone(),
        title: task.map(|t| t.title.clone()).unwrap_or_default(),
        occurrence: occurrence.clone(),
        done_on: r.done_on.map(dmy).unwrap_or_default(),
        doc_ref: r.doc_ref.clone().unwrap_or_default(),
        reason: reason.to_string(),
        link: link.unwrap_or_default().to_string(),
        redirected_to,
    };
    to_agency(
        config,
        agency,
        &r.plan,
        &r.task,
        Builtin::Returned,
        ("review", "returned"),
        ctx,
    )
}
