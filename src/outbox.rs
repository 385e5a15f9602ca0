//! What a pass puts in the outbox, decided without I/O: which channel each digest takes, who it
//! is addressed to (trial mode included), its rendered text, the fallback when a channel
//! cannot reach an agency, the service's own messages (weekly report, failure summary, Zalo
//! alert) as data rendered by shipped templates, and what happens after a failed attempt
//! (backoff, give-up). `deliver` is the shell that records, sends and marks.

use crate::config::{Channel, Config, EmailSettings};
use crate::render::{self, Builtin, Context, TemplateError, Templates};
use crate::report::State;
use crate::schedule::{Digest, Item, Kind, Role, Tick};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// A delivery to queue: rendered, addressed, with the slot keys it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub agency: String,
    pub channel: Channel,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub items: Vec<Item>,
    pub thread: String,
    /// Files sent with an email (the weekly report's workbook and report), in order.
    pub attachments: Vec<Attachment>,
}

/// A file attached to an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A delivery as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub tick_at: String,
    pub agency: String,
    pub channel: Channel,
    pub recipients: Vec<String>,
    pub subject: String,
    #[serde(skip)]
    pub body_text: String,
    #[serde(skip)]
    pub body_html: String,
    pub items: Vec<Item>,
    #[serde(skip)]
    pub thread: String,
    #[serde(skip)]
    pub attachments: Vec<Attachment>,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// Made in trial mode and sent to the trial address (`store::Ledger::redirects`).
    pub trial: bool,
}

impl Delivery {
    /// A delivery that is never recorded (`send-test`): a negative id from the time, so a
    /// file name or a Message-ID never collides with a real one.
    pub fn unrecorded(d: NewDelivery, now: DateTime<Utc>, domain: &str) -> Delivery {
        let stamp = now.timestamp_millis();
        Delivery {
            id: -stamp,
            tick_at: now.to_rfc3339(),
            agency: d.agency,
            channel: d.channel,
            recipients: d.recipients,
            subject: d.subject,
            body_text: d.body_text,
            body_html: d.body_html,
            items: d.items,
            thread: d.thread,
            attachments: d.attachments,
            message_id: format!("<nhacviec.test.{stamp}@{domain}>"),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            created_at: now.to_rfc3339(),
            sent_at: None,
            trial: false,
        }
    }
}

/// Why one attempt failed: what the channel says, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (connection refused, timeout, 4xx).
    #[error("lỗi tạm thời (sẽ thử lại): {0}")]
    Transient(String),
    /// Will never succeed (5xx for the recipient, invalid address).
    #[error("lỗi vĩnh viễn: {0}")]
    Permanent(String),
    /// The server refused this message (a 5xx to RCPT TO or DATA that is not about the
    /// mailbox). Dead, unless the same refusal (`key`: the reply with addresses masked) meets
    /// every message of a pass: then it is the server's policy, and [`SendError::Server`].
    #[error("lỗi vĩnh viễn: {error}")]
    Rejected { key: String, error: String },
    /// The server, or our account on it, refuses every message (a login refused, an
    /// untrusted certificate, a 5xx to EHLO or MAIL FROM): the channel stops for this pass and
    /// everything waits, retried with backoff and never given up; a person must fix it.
    #[error("máy chủ từ chối (thư vẫn chờ gửi): {0}")]
    Server(String),
    /// Try again at this time (Retry-After, a quota reset, the end of a night window).
    #[error("thử lại lúc {0}: {1}")]
    RetryAt(DateTime<Utc>, String),
    /// This channel cannot reach the agency: use its next channel.
    #[error("kênh này không đến được cơ quan: {0}")]
    Fallback(String),
}

impl SendError {
    /// The reason alone, without the classification's words.
    pub fn reason(&self) -> &str {
        match self {
            SendError::Transient(r)
            | SendError::Permanent(r)
            | SendError::RetryAt(_, r)
            | SendError::Fallback(r)
            | SendError::Server(r) => r,
            SendError::Rejected { error, .. } => error,
        }
    }
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Sent,
    /// Attempt again at this time.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Keep it as failed, for the admin's report.
    Dead {
        error: String,
    },
    /// Queue `instead` (email) and close this one as handed over.
    Fallback {
        instead: NewDelivery,
        error: String,
    },
}

/// The decision after one attempt of `d` at `now`. A channel that cannot reach the agency
/// hands the message to email when the agency has an address; otherwise it is kept queued
/// (never lost). Retries stop once the next one would fall after `give_up_after_hours`
/// counted from when the delivery was recorded.
pub fn after_attempt(
    config: &Config,
    d: &Delivery,
    outcome: Result<(), SendError>,
    now: DateTime<Utc>,
) -> Next {
    let give_up = |at: DateTime<Utc>, error: String| {
        let hours = config.email.give_up_after_hours;
        let created =
            DateTime::parse_from_rfc3339(&d.created_at).map_or(now, |c| c.with_timezone(&Utc));
        if at > created + Duration::hours(i64::from(hours)) {
            Next::Dead {
                error: format!("bỏ sau {hours} giờ thử lại: {error}"),
            }
        } else {
            Next::Retry { at, error }
        }
    };
    match outcome {
        Ok(()) => Next::Sent,
        Err(SendError::Permanent(error)) => Next::Dead { error },
        // A server's own retry time, but never sooner than half our backoff: a webhook
        // answering "Retry-After: 0" (or a date in the past) must not be hammered in a tight
        // loop, while a real Retry-After (longer) is kept as the server asked.
        Err(SendError::RetryAt(at, error)) => {
            give_up(at.max(now + backoff(d.attempts, d.id) / 2), error)
        }
        Err(SendError::Transient(error)) => give_up(now + backoff(d.attempts, d.id), error),
        Err(SendError::Rejected { error, .. }) => Next::Dead { error },
        // Never given up: the mail is fine, the server or its settings are not.
        Err(SendError::Server(error)) => Next::Retry {
            at: now + backoff(d.attempts, d.id),
            error,
        },
        Err(SendError::Fallback(error)) => match fallback(config, d) {
            Some(instead) => Next::Fallback { instead, error },
            None => Next::Retry {
                at: now + Duration::hours(6),
                error,
            },
        },
    }
}

/// Delay before attempt `attempts + 1`: 1 minute doubling to 6 hours, with ±20 % jitter so
/// that many failed deliveries do not retry in one burst.
pub fn backoff(attempts: i64, id: i64) -> Duration {
    let base = 60i64
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(6 * 3600);
    // Deterministic jitter from the delivery id: spreads retries, testable.
    let jitter = ((id.wrapping_mul(2654435761) % 41) - 20) as f64 / 100.0;
    Duration::seconds((base as f64 * (1.0 + jitter)) as i64)
}

/// Why a waiting delivery should no longer go out: every item it reminds of belongs to a
/// plan closed since it was queued. Reports and service messages (no items) always go.
pub fn withdrawn(config: &Config, d: &Delivery) -> Option<String> {
    if d.items.is_empty() {
        return None;
    }
    let closed = |plan: &str| {
        config
            .plans
            .iter()
            .any(|p| p.number == plan && p.is_closed())
    };
    if !d.items.iter().all(|i| closed(&i.plan)) {
        return None;
    }
    let mut plans: Vec<&str> = d.items.iter().map(|i| i.plan.as_str()).collect();
    plans.sort_unstable();
    plans.dedup();
    Some(format!(
        "không gửi: kế hoạch {} đã kết thúc (status = \"closed\")",
        plans.join(", ")
    ))
}

/// The period a recurring task's occurrence due on `due` reports on ("Quý II/2022"); "" for a
/// task that does not recur. See [`crate::answers::period_label`].
pub fn occurrence(deadline: &crate::deadline::Deadline, due: NaiveDate) -> String {
    crate::answers::period_label(deadline, due)
}

/// Lead agencies a coordinator's reminder names: a few, then how many more ("Sở, ban,
/// ngành tỉnh" expands to dozens).
const MAX_LEADS_NAMED: usize = 5;

fn lead_names(leads: &[String], name_of: impl Fn(&str) -> String) -> Vec<String> {
    let mut out: Vec<String> = leads
        .iter()
        .take(MAX_LEADS_NAMED)
        .map(|l| name_of(l))
        .collect();
    if leads.len() > MAX_LEADS_NAMED {
        out.push(format!("và {} cơ quan khác", leads.len() - MAX_LEADS_NAMED));
    }
    out
}

/// The monitoring office of a digest about `plans` (its items' plans): the one they all report
/// to (`Config::monitor_of`), else the settings' monitor; and whether they differ.
fn digest_monitor<'a>(
    config: &'a Config,
    plans: impl IntoIterator<Item = &'a str>,
) -> (Option<&'a str>, bool) {
    let mut office: Option<Option<&str>> = None;
    for plan in plans {
        let m = config
            .plan(plan)
            .map_or(config.monitor.as_deref(), |p| config.monitor_of(p));
        match office {
            None => office = Some(m),
            Some(prev) if prev != m => return (config.monitor.as_deref(), true),
            Some(_) => {}
        }
    }
    (office.unwrap_or(config.monitor.as_deref()), false)
}

pub fn context(config: &Config, digest: &Digest, today: NaiveDate) -> Context {
    let name_of = |id: &str| config.agency_name(id);
    let plan_of = |plan: &str| config.plan(plan);
    let task_of = |plan: &str, id: &str| config.task(plan, id);
    // Each item names the office its plan reports to; the footer and "báo cáo kết quả về"
    // name the digest's office (the plans' one, or the settings' when they differ).
    let (monitor, monitors_differ) = digest_monitor(
        config,
        digest
            .items
            .iter()
            .filter(|i| i.kind != Kind::Escalation)
            .map(|i| i.plan.as_str()),
    );
    let item_monitor = |plan: &str| -> String {
        let m = plan_of(plan).map_or(config.monitor.as_deref(), |p| config.monitor_of(p));
        match m {
            Some(m) if m != digest.agency => name_of(m),
            _ => String::new(),
        }
    };
    let mut counts = render::Counts::default();
    let items: Vec<render::ItemCtx> = digest
        .items
        .iter()
        .map(|i| {
            match i.kind {
                Kind::Escalation => counts.escalations += 1,
                _ if i.days < 0 => counts.overdue += 1,
                _ if i.days == 0 => counts.due += 1,
                _ => counts.upcoming += 1,
            }
            let task = task_of(&i.plan, &i.task);
            render::ItemCtx {
                plan: i.plan.clone(),
                task: i.task.clone(),
                title: task.map(|t| t.title.clone()).unwrap_or_default(),
                role: match i.role {
                    Role::Lead => "chủ trì",
                    Role::Support => "phối hợp",
                    Role::Monitor => "theo dõi, đôn đốc",
                }
                .into(),
                kind: i.kind.vi().into(),
                time_text: task.and_then(|t| t.time_text.clone()).unwrap_or_default(),
                deadline: i.deadline.format("%d/%m/%Y").to_string(),
                days: i.days,
                days_text: render::days_text(i.days),
                overdue: i.days < 0,
                about: i.agency.as_deref().map(name_of).unwrap_or_default(),
                plan_citation: plan_of(&i.plan)
                    .map(crate::answers::citation)
                    .unwrap_or_else(|| format!("Kế hoạch số {}", i.plan)),
                leads: match (i.role, task) {
                    (Role::Support, Some(t)) => lead_names(&t.lead, name_of),
                    _ => vec![],
                },
                occurrence: task
                    .map(|t| occurrence(&t.deadline, i.planned))
                    .unwrap_or_default(),
                extended_from: if i.planned != i.deadline {
                    i.planned.format("%d/%m/%Y").to_string()
                } else {
                    String::new()
                },
                link: String::new(),
                monitor: item_monitor(&i.plan),
            }
        })
        .collect();
    // One line a task for the monitoring office, not the task's title once per late agency.
    let mut escalations: Vec<render::EscalationCtx> = Vec::new();
    let mut own_items = Vec::new();
    for (item, ctx) in digest.items.iter().zip(&items) {
        if item.kind != Kind::Escalation {
            own_items.push(ctx.clone());
            continue;
        }
        match escalations
            .iter_mut()
            .find(|e| e.plan == ctx.plan && e.task == ctx.task && e.deadline == ctx.deadline)
        {
            Some(e) => e.late.push(ctx.about.clone()),
            None => escalations.push(render::EscalationCtx {
                plan: ctx.plan.clone(),
                task: ctx.task.clone(),
                title: ctx.title.clone(),
                time_text: ctx.time_text.clone(),
                deadline: ctx.deadline.clone(),
                days_text: ctx.days_text.clone(),
                late: vec![ctx.about.clone()],
            }),
        }
    }
    counts.escalated_tasks = escalations.len();
    Context {
        agency: render::AgencyCtx {
            id: digest.agency.clone(),
            name: name_of(&digest.agency),
        },
        items,
        own_items,
        escalations,
        counts,
        monitor: monitor.map(name_of).unwrap_or_default(),
        monitors_differ,
        link: String::new(),
        page_link: String::new(),
        monitor_contact: monitor_contact(config, monitor)
            .map(|c| render::ContactCtx {
                name: c.name,
                phone: c.phone.unwrap_or_default(),
                email: c.email.unwrap_or_default(),
            })
            .unwrap_or_default(),
        is_monitor: monitor == Some(digest.agency.as_str()),
        today: today.format("%d/%m/%Y").to_string(),
        redirected_to: vec![],
    }
}

/// How agencies reach the monitoring office `monitor`: the settings' `[monitor]` contact for
/// the settings' monitor, a plan's own office's name and first email otherwise.
fn monitor_contact(
    config: &Config,
    monitor: Option<&str>,
) -> Option<crate::config::web::MonitorContact> {
    let id = monitor?;
    if Some(id) == config.monitor.as_deref() {
        return config.monitor_contact.clone();
    }
    config.plans.iter().find_map(|p| {
        (p.monitor.as_deref() == Some(id))
            .then(|| config.monitor_contact_of(p))
            .flatten()
    })
}

/// The agency's page at one item's card: `?muc=` names the occurrence (plan, task, the
/// deadline as the plan gives it), `#muc` scrolls to it.
pub fn item_link(page: &str, item: &crate::schedule::Item) -> String {
    let id = crate::answers::Occurrence {
        plan: item.plan.clone(),
        task: item.task.clone(),
        deadline: Some(item.planned),
    }
    .id();
    let q: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("{page}?muc={q}#muc")
}

/// Whether this installation has configured `channel`.
fn configured(config: &Config, channel: Channel) -> bool {
    match channel {
        Channel::Email => true,
        Channel::Webhook => config.webhook.is_some(),
        Channel::Zalo => config.zalo.is_some(),
    }
}

/// The agency's first channel that this installation has configured (the rest of its list
/// are fallbacks); email when it names none.
pub fn channel_for(config: &Config, agency: &str) -> Channel {
    config
        .agency(agency)
        .and_then(|a| a.channels.iter().copied().find(|c| configured(config, *c)))
        .unwrap_or(Channel::Email)
}

/// The deliveries of one tick's digests: one per email address (a mailbox that refuses the
/// message must not keep it from the agency's other addresses), one per digest on the other
/// channels.
pub fn digests(
    config: &Config,
    templates: &Templates,
    tick: &Tick,
    today: NaiveDate,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let mut out = Vec::with_capacity(tick.digests.len());
    // A long digest goes out in parts (the items are sorted most urgent first).
    let parts = tick.digests.iter().flat_map(|digest| {
        let chunks: Vec<&[crate::schedule::Item]> = digest.items.chunks(MAX_DIGEST_ITEMS).collect();
        let n = chunks.len();
        chunks.into_iter().enumerate().map(move |(k, items)| {
            let part = Digest {
                agency: digest.agency.clone(),
                items: items.to_vec(),
            };
            (part, (n > 1).then_some((k + 1, n)))
        })
    });
    for (digest, part) in parts {
        let digest = &digest;
        let channel = channel_for(config, &digest.agency);
        let mut ctx = context(config, digest, today);
        add_links(config, templates, digest, &mut ctx, today);
        let recipients = match channel {
            Channel::Email => {
                let intended = config
                    .agency(&digest.agency)
                    .map(|a| a.email.clone())
                    .unwrap_or_default();
                match &config.email.redirect_all_to {
                    Some(to) => {
                        ctx.redirected_to = intended;
                        vec![to.clone()]
                    }
                    None => intended,
                }
            }
            _ => vec![digest.agency.clone()],
        };
        let mut rendered = templates.render_context(&ctx)?;
        if let Some((k, n)) = part {
            rendered.subject = format!("{} (phần {k}/{n})", rendered.subject);
        }
        let (body_text, body_html) = match channel {
            Channel::Webhook => (webhook_body(config, &ctx, &rendered)?, String::new()),
            _ => (rendered.text, rendered.html),
        };
        let plan = digest.items.first().map_or("", |i| i.plan.as_str());
        let thread = thread(&digest.agency, plan);
        let groups: Vec<Vec<String>> = if channel == Channel::Email && recipients.len() > 1 {
            recipients.into_iter().map(|r| vec![r]).collect()
        } else {
            vec![recipients]
        };
        for recipients in groups {
            out.push(NewDelivery {
                agency: digest.agency.clone(),
                channel,
                recipients,
                subject: rendered.subject.clone(),
                body_text: body_text.clone(),
                body_html: body_html.clone(),
                items: digest.items.clone(),
                thread: thread.clone(),
                attachments: vec![],
            });
        }
    }
    Ok(out)
}

/// Links to the agency's page in a digest's context, when `[web]` and the link secret are
/// there. The link is signed as of the tick's day (pure: no clock), so it lives `link_days`
/// from the reminder that carries it.
fn add_links(
    config: &Config,
    templates: &Templates,
    digest: &Digest,
    ctx: &mut Context,
    today: NaiveDate,
) {
    let (Some(web), Some(signer)) = (&config.web, &templates.links) else {
        return;
    };
    let issued = today.and_time(chrono::NaiveTime::MIN).and_utc();
    let page = format!(
        "{}/a/{}",
        web.public_url,
        signer.sign(&digest.agency, issued)
    );
    // Each of the agency's own items opens the page at its card; the button at the most
    // urgent one.
    for (item, c) in digest.items.iter().zip(ctx.items.iter_mut()) {
        if item.kind != Kind::Escalation {
            c.link = item_link(&page, item);
        }
    }
    for (item, c) in digest
        .items
        .iter()
        .filter(|i| i.kind != Kind::Escalation)
        .zip(ctx.own_items.iter_mut())
    {
        c.link = item_link(&page, item);
    }
    ctx.link = ctx
        .own_items
        .first()
        .map_or_else(|| page.clone(), |i| i.link.clone());
    ctx.page_link = page;
}

/// A webhook's body: its JSON, rendered from the admins' body template. As with the email
/// templates, a body that fails on a real digest goes out with the shipped one rather than
/// failing the tick for every agency.
fn webhook_body(
    config: &Config,
    ctx: &Context,
    rendered: &render::Rendered,
) -> Result<String, TemplateError> {
    let json = serde_json::json!({
        "agency": ctx.agency,
        "subject": rendered.subject,
        "text": rendered.text,
        "items": ctx.items,
        "counts": ctx.counts,
        "today": ctx.today,
    });
    let template = config.webhook.as_ref().and_then(|w| w.body.as_deref());
    match render::webhook_body(template, &json) {
        Err(e) if template.is_some() => {
            tracing::error!(error = %e, agency = %ctx.agency.id, "webhook body template failed on a digest; sent with the shipped body");
            render::webhook_body(None, &json)
        }
        result => result,
    }
    .map_err(|message| TemplateError {
        template: "[webhook] body".into(),
        line: None,
        message,
    })
}

/// Mail threads: one per agency and plan in mail clients.
pub fn thread(agency: &str, plan: &str) -> String {
    let slug: String = plan
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{agency}.{slug}")
}

/// The delivery to make instead of `d` on the agency's next channel: email, when the agency
/// has an address and email comes after `d`'s channel in its order (or is absent from it:
/// email is the last resort).
pub fn fallback(config: &Config, d: &Delivery) -> Option<NewDelivery> {
    let agency = config.agency(&d.agency)?;
    if d.channel == Channel::Email || agency.email.is_empty() {
        return None;
    }
    let order = &agency.channels;
    let pos = order.iter().position(|c| *c == d.channel);
    let email_pos = order.iter().position(|c| *c == Channel::Email);
    if let (Some(p), Some(e)) = (pos, email_pos) {
        if e < p {
            return None;
        }
    }
    let recipients = match &config.email.redirect_all_to {
        Some(to) => vec![to.clone()],
        None => agency.email.clone(),
    };
    Some(NewDelivery {
        agency: d.agency.clone(),
        channel: Channel::Email,
        recipients,
        subject: d.subject.clone(),
        body_text: d.body_text.clone(),
        body_html: d.body_html.clone(),
        items: d.items.clone(),
        thread: d.thread.clone(),
        attachments: vec![],
    })
}

/// One of the service's own emails to `to`, one delivery per address; in trial mode one, to
/// the trial address, naming the intended ones.
fn builtin_mail<T: Serialize>(
    email: &EmailSettings,
    which: Builtin,
    agency: &str,
    thread: &str,
    to: &[String],
    ctx: impl Fn(Vec<String>) -> T,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let (groups, redirected_to) = match &email.redirect_all_to {
        Some(trial) => (vec![vec![trial.clone()]], to.to_vec()),
        None => (to.iter().map(|a| vec![a.clone()]).collect(), vec![]),
    };
    let rendered = render::builtin(which, &ctx(redirected_to))?;
    Ok(groups
        .into_iter()
        .map(|recipients| NewDelivery {
            agency: agency.to_string(),
            channel: Channel::Email,
            recipients,
            subject: rendered.subject.clone(),
            body_text: rendered.text.clone(),
            body_html: rendered.html.clone(),
            items: vec![],
            thread: thread.to_string(),
            attachments: vec![],
        })
        .collect())
}

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

/// A digest lists at most this many items; more go out as several parts ("phần 1/3"), so
/// every reminder is delivered and no message outgrows the render budget or a mailbox.
pub const MAX_DIGEST_ITEMS: usize = 100;

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
        let at = |t: DateTime<Utc>| t.with_timezone(&tz).format("%H:%M %d/%m/%Y").to_string();
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
    let dmy = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
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
    let dmy = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
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

/// A time the mail server refused every message (mail waited), as the admin reads it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefusalSpell {
    /// "dd/mm/yyyy HH:MM", local time.
    pub since: String,
    pub until: String,
    pub error: String,
}

#[derive(Debug, Serialize)]
struct FailuresCtx {
    today: String,
    dead: Vec<FailedCtx>,
    stuck: Vec<FailedCtx>,
    refused: Vec<RefusalSpell>,
    redirected_to: Vec<String>,
}

#[derive(Debug, Serialize)]
struct FailedCtx {
    id: i64,
    agency: String,
    recipients: Vec<String>,
    attempts: i64,
    error: String,
}

/// The admin's daily summary of failed deliveries and of deliveries stuck retrying.
pub fn failure_summary(
    email: &EmailSettings,
    dead: &[Delivery],
    stuck: &[Delivery],
    refused: &[RefusalSpell],
    today: NaiveDate,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let Some(admin) = &email.admin else {
        return Ok(vec![]);
    };
    let failed = |list: &[Delivery]| -> Vec<FailedCtx> {
        list.iter()
            .map(|d| FailedCtx {
                id: d.id,
                agency: d.agency.clone(),
                recipients: d.recipients.clone(),
                attempts: d.attempts,
                error: d.last_error.clone().unwrap_or_default(),
            })
            .collect()
    };
    builtin_mail(
        email,
        Builtin::FailureSummary,
        "_admin",
        "admin.failures",
        std::slice::from_ref(admin),
        |redirected_to| FailuresCtx {
            today: today.format("%d/%m/%Y").to_string(),
            dead: failed(dead),
            stuck: failed(stuck),
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
    let dmy = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default()
    };
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
    let one = |channel: Channel, subject: String, body_text: String| NewDelivery {
        agency: agency.id.clone(),
        channel,
        recipients: vec![agency.id.clone()],
        subject,
        body_text,
        body_html: String::new(),
        items: vec![],
        thread: thread.clone(),
        attachments: vec![],
    };
    if channel == Channel::Zalo && agency.zalo_user_id.is_some() {
        let rendered = render::builtin(which, &ctx(vec![]))?;
        return Ok(vec![one(Channel::Zalo, rendered.subject, rendered.text)]);
    }
    if channel == Channel::Webhook {
        let rendered = render::builtin(which, &ctx(vec![]))?;
        let mut body = serde_json::json!({
            "agency": {"id": agency.id, "name": agency.name},
            "subject": rendered.subject,
            "text": rendered.text,
            "plan": plan,
            "task": task,
        });
        body[kind] = serde_json::Value::from(value);
        return Ok(vec![one(
            Channel::Webhook,
            rendered.subject,
            body.to_string(),
        )]);
    }
    Ok(vec![])
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
    let dmy = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
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

/// Why `send-test` cannot make its sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    #[error("không có cơ quan mã \"{0}\"")]
    UnknownAgency(String),
    #[error("kênh {0} chưa được cấu hình trong nhacviec.toml")]
    NotConfigured(&'static str),
    #[error("cơ quan {0} không có địa chỉ email")]
    NoAddress(String),
    #[error("--to chỉ dùng với kênh email")]
    ToNeedsEmail,
    #[error("--to \"{0}\" không phải một địa chỉ email hợp lệ (ví dụ vanthu@tinh.gov.vn)")]
    BadAddress(String),
    #[error("{0}")]
    Template(String),
}

/// What every `send-test` message says first, in its subject and at the top of its body.
pub const SAMPLE_MARK: &str = "THƯ THỬ — không cần thực hiện";

/// `send-test`'s message for `agency` on `channel`: the digest the agency would get with its
/// open assignments as of `today` (`config` has the answers laid over it), or one item
/// plainly fictitious when it has none; rendered with the admins' templates, the configured
/// monitoring contact and links as a real digest has them; the escalation section only for
/// an office that monitors a plan. Marked as a test in its subject and at the top of its
/// body, addressed as the service would address it (trial mode included), or to `to`.
pub fn sample(
    config: &Config,
    templates: &Templates,
    agency: &str,
    channel: Channel,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<NewDelivery, SampleError> {
    let a = config
        .agency(agency)
        .ok_or_else(|| SampleError::UnknownAgency(agency.to_string()))?;
    if !configured(config, channel) {
        return Err(SampleError::NotConfigured(channel.name()));
    }
    if let Some(to) = to {
        if channel != Channel::Email {
            return Err(SampleError::ToNeedsEmail);
        }
        if !crate::config::is_plain_email(to) {
            return Err(SampleError::BadAddress(to.to_string()));
        }
    }
    let mut items = open_items(config, &a.id, today);
    items.truncate(MAX_DIGEST_ITEMS);
    let fictitious = items.is_empty();
    if fictitious {
        items.push(example_item(today));
    }
    let digest = Digest {
        agency: a.id.clone(),
        items,
    };
    let mut ctx = context(config, &digest, today);
    if fictitious {
        for c in ctx.items.iter_mut().chain(ctx.own_items.iter_mut()) {
            c.title =
                "Nhiệm vụ ví dụ, không có thật: cơ quan hiện không có nhiệm vụ nào đang mở".into();
            c.plan_citation = "Kế hoạch ví dụ (không có thật)".into();
            c.plan = "ví dụ".into();
        }
    } else if to.is_none() {
        // Links only to the agency itself: a signed link answers for it, and a sample sent
        // elsewhere (`--to`) must not let its reader answer.
        add_links(config, templates, &digest, &mut ctx, today);
    }
    let recipients = match channel {
        Channel::Email => {
            let intended = match to {
                Some(to) => vec![to.to_string()],
                None if a.email.is_empty() => return Err(SampleError::NoAddress(a.id.clone())),
                None => a.email.clone(),
            };
            match &config.email.redirect_all_to {
                Some(redirect) => {
                    ctx.redirected_to = intended;
                    vec![redirect.clone()]
                }
                None => intended,
            }
        }
        _ => vec![a.id.clone()],
    };
    let rendered = templates
        .render_context(&ctx)
        .map_err(|e| SampleError::Template(e.to_string()))?;
    let notice = sample_notice(&a.name, today, fictitious);
    let subject = format!("{SAMPLE_MARK}: {}", rendered.subject);
    let text = format!("{notice}\n\n{}", rendered.text);
    let html = if rendered.html.is_empty() {
        String::new()
    } else {
        with_html_notice(&rendered.html, &notice)
    };
    let (body_text, body_html) = match channel {
        Channel::Webhook => {
            let marked = render::Rendered {
                subject: subject.clone(),
                text,
                html,
            };
            (
                webhook_body(config, &ctx, &marked)
                    .map_err(|e| SampleError::Template(e.to_string()))?,
                String::new(),
            )
        }
        _ => (text, html),
    };
    Ok(NewDelivery {
        agency: a.id.clone(),
        channel,
        recipients,
        subject,
        body_text,
        body_html,
        items: digest.items,
        thread: format!("{}.test", a.id),
        attachments: vec![],
    })
}

/// The agency's open dated assignments as of `today` as a digest would carry them (what its
/// page lists, the closed plans' aside): its own overdue or within their task's earliest
/// reminder (the nearest one when none is), and for an office that monitors plans the lead
/// agencies overdue in them. Most urgent first.
fn open_items(config: &Config, agency: &str, today: NaiveDate) -> Vec<Item> {
    let mut open: Vec<Item> = crate::answers::agency_view(config, agency, today, &[])
        .into_iter()
        .filter(|v| !v.plan_closed)
        .filter_map(|v| {
            let (planned, due, days) = (v.current?, v.due?, v.days?);
            Some(Item {
                kind: match days {
                    d if d < 0 => Kind::Overdue,
                    0 => Kind::Due,
                    _ => Kind::Before,
                },
                plan: v.plan,
                task: v.task,
                role: v.role,
                days,
                deadline: due,
                planned,
                agency: None,
                key: String::new(),
            })
        })
        .collect();
    open.sort_by_key(|i| i.days);
    // What a digest could carry now: within the task's earliest reminder, and not later than
    // its last overdue reminder (a deadline years past is no longer reminded: showing it
    // would be a sample of what the service never sends).
    let reminded = |i: &Item| {
        let Some(policy) = config.task(&i.plan, &i.task).map(|t| &t.policy) else {
            return false;
        };
        let lead = policy.before.iter().copied().max().unwrap_or(0);
        let last_overdue = i64::from(policy.overdue_every) * i64::from(policy.overdue_times);
        i.days <= i64::from(lead) && -i.days <= last_overdue.max(1)
    };
    let mut items: Vec<Item> = if open.iter().any(reminded) {
        open.into_iter().filter(reminded).collect()
    } else {
        // Else the next deadline to come, if any (never one long past).
        open.into_iter().filter(|i| i.days >= 0).take(1).collect()
    };
    let monitored = config.monitored_by(agency);
    for row in crate::report::status(&monitored, today, None) {
        if row.state != State::OpenOverdue || row.role != Role::Lead || row.agency == agency {
            continue;
        }
        let Some(deadline) = row.deadline else {
            continue;
        };
        // Only lateness the service still tells the office of (not a deadline years past).
        let window = config
            .task(&row.plan, &row.task)
            .map_or(0, |t| {
                i64::from(t.policy.overdue_every) * i64::from(t.policy.overdue_times)
            })
            .max(i64::from(
                config
                    .task(&row.plan, &row.task)
                    .and_then(|t| t.policy.escalate_after)
                    .unwrap_or(0),
            ));
        if (today - deadline).num_days() > window {
            continue;
        }
        items.push(Item {
            kind: Kind::Escalation,
            days: (deadline - today).num_days(),
            planned: row.occurrence.unwrap_or(deadline),
            plan: row.plan,
            task: row.task,
            role: Role::Monitor,
            deadline,
            agency: Some(row.agency),
            key: String::new(),
        });
    }
    items.sort_by_key(|i| (i.kind == Kind::Escalation, i.days));
    items
}

/// The item of a sample for an agency with nothing open: a week ahead, named as an example.
fn example_item(today: NaiveDate) -> Item {
    let deadline = today
        .checked_add_days(chrono::Days::new(7))
        .unwrap_or(today);
    Item {
        plan: String::new(),
        task: "1".into(),
        role: Role::Lead,
        kind: Kind::Before,
        days: (deadline - today).num_days(),
        deadline,
        planned: deadline,
        agency: None,
        key: String::new(),
    }
}

fn sample_notice(agency: &str, today: NaiveDate, fictitious: bool) -> String {
    let content = if fictitious {
        "cơ quan hiện không có nhiệm vụ nào đang mở nên thư chỉ có một nhiệm vụ ví dụ, không có thật".to_string()
    } else {
        format!(
            "các nhiệm vụ bên dưới là nhiệm vụ đang mở của cơ quan tính đến ngày {}",
            today.format("%d/%m/%Y")
        )
    };
    format!(
        "{SAMPLE_MARK}. Đây là thư thử của hệ thống nhắc việc, mẫu thư nhắc gửi cho {agency}, để kiểm tra cách thư hiển thị; {content}. Không cần trả lời hay thực hiện gì theo thư này."
    )
}

/// `html` with the notice as the first thing in its body.
fn with_html_notice(html: &str, notice: &str) -> String {
    let block = format!(
        "<div style=\"border:2px solid #b00;padding:8px;margin:0 0 12px 0;color:#b00;font-weight:bold\">{}</div>",
        escape_html(notice)
    );
    let at = html
        .to_ascii_lowercase()
        .find("<body")
        .and_then(|b| html[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    format!("{}{block}{}", &html[..at], &html[at..])
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The domain of a `From:` mailbox ("Name <user@domain>" or "user@domain"), for Message-IDs.
pub fn domain_of(from: &str) -> String {
    let addr = match (from.rfind('<'), from.rfind('>')) {
        (Some(l), Some(r)) if l < r => &from[l + 1..r],
        _ => from,
    };
    match addr.rsplit_once('@') {
        Some((_, d)) if !d.trim().is_empty() => d.trim().to_ascii_lowercase(),
        _ => "localhost".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{analyze, Source, Sources};

    const SETTINGS: &str = r#"
monitor = "vp"
[email]
from = "Nhắc việc <nv@tinh.example>"
admin = "qt@tinh.example"
give_up_after_hours = 24
[webhook]
url = "https://hook.example/nhacviec"
[zalo]
app_id = "1"
zns_template_id = "t"
"#;

    const AGENCIES: &str = r#"
[[level]]
id = "tinh"
name = "cấp tỉnh"

[[agency]]
id = "hai"
name = "Sở Hai Địa Chỉ"
level = "tinh"
email = ["a@tinh.example", "b@tinh.example"]

[[agency]]
id = "zalo"
name = "Sở Zalo"
level = "tinh"
email = ["z@tinh.example"]
zalo_phone = "0912345678"
channels = ["zalo", "email"]

[[agency]]
id = "hook"
name = "Sở Webhook"
level = "tinh"
zalo_user_id = "1234567890"
channels = ["webhook", "zalo"]

[[agency]]
id = "vp"
name = "Văn phòng UBND tỉnh"
level = "tinh"
email = ["vp1@tinh.example", "vp2@tinh.example"]
"#;

    const PLAN: &str = r#"
[plan]
number = "1/KH"
title = "T"
issuer = "U"
issued = 2022-01-01

[[task]]
id = "1"
title = "Việc <một> & \"hai\""
lead = ["hai", "zalo", "hook"]
due = 2022-06-01
"#;

    fn config(extra: &str) -> Config {
        let sources = Sources::in_memory(
            Some(Source::new("nhacviec.toml", format!("{SETTINGS}{extra}"))),
            Source::new("agencies.toml", AGENCIES),
            vec![Source::new("plans/1.toml", PLAN)],
        );
        let analysis = analyze(&sources);
        assert!(
            !analysis.has_errors(),
            "{:?}",
            analysis.errors().collect::<Vec<_>>()
        );
        analysis.config
    }

    fn with_trial(extra: &str) -> Config {
        // `redirect_all_to` lives in [email]: splice it in.
        let mut c = config("");
        c.email.redirect_all_to = (!extra.is_empty()).then(|| extra.to_string());
        c
    }

    fn templates() -> Templates {
        Templates::new(&[]).unwrap()
    }

    fn item(days: i64) -> Item {
        Item {
            plan: "1/KH".into(),
            task: "1".into(),
            role: Role::Lead,
            kind: if days < 0 {
                Kind::Overdue
            } else {
                Kind::Before
            },
            days,
            deadline: NaiveDate::from_ymd_opt(2022, 6, 1).unwrap(),
            planned: NaiveDate::from_ymd_opt(2022, 6, 1).unwrap(),
            agency: None,
            key: format!("k{days}"),
        }
    }

    fn tick(agencies: &[&str]) -> Tick {
        Tick {
            digests: agencies
                .iter()
                .map(|a| Digest {
                    agency: a.to_string(),
                    items: vec![item(3)],
                })
                .collect(),
            ..Tick::default()
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2022, 5, 29).unwrap()
    }

    fn delivery(new: &NewDelivery, id: i64, attempts: i64, created: &str) -> Delivery {
        let mut d = Delivery::unrecorded(new.clone(), Utc::now(), "tinh.example");
        d.id = id;
        d.attempts = attempts;
        d.created_at = created.into();
        d
    }

    /// A digest of two plans reporting to different offices names each plan's office under
    /// its tasks, and the settings' office in the footer and Reply-To; a digest of the second
    /// plan alone names its office throughout.
    #[test]
    fn each_plans_items_say_which_office_to_report_to() {
        let second = PLAN
            .replace(
                "number = \"1/KH\"",
                "number = \"2/KH\"\nmonitor = \"Sở Zalo\"",
            )
            .replace("title = \"T\"", "title = \"Chuyển đổi số\"");
        let sources = Sources::in_memory(
            Some(Source::new("nhacviec.toml", SETTINGS)),
            Source::new("agencies.toml", AGENCIES),
            vec![
                Source::new("plans/1.toml", PLAN),
                Source::new("plans/2.toml", second),
            ],
        );
        let analysis = analyze(&sources);
        assert!(
            !analysis.has_errors(),
            "{:?}",
            analysis.errors().collect::<Vec<_>>()
        );
        let c = analysis.config;
        let of_plan = |plan: &str| Item {
            plan: plan.into(),
            ..item(3)
        };
        let both = Digest {
            agency: "hai".into(),
            items: vec![of_plan("1/KH"), of_plan("2/KH")],
        };
        let ctx = context(&c, &both, today());
        assert!(ctx.monitors_differ);
        assert_eq!(ctx.monitor, "Văn phòng UBND tỉnh");
        assert_eq!(ctx.own_items[0].monitor, "Văn phòng UBND tỉnh");
        assert_eq!(ctx.own_items[1].monitor, "Sở Zalo");
        let r = templates().render_context(&ctx).unwrap();
        assert!(
            r.text
                .contains("Báo cáo kết quả các nhiệm vụ trên về Sở Zalo."),
            "{}",
            r.text
        );
        assert!(r
            .text
            .contains("Báo cáo kết quả các nhiệm vụ trên về Văn phòng UBND tỉnh."));
        assert!(r
            .text
            .contains("báo cáo kết quả về cơ quan theo dõi của từng kế hoạch"));
        assert!(r.html.contains("về <strong>Sở Zalo</strong>"), "{}", r.html);
        assert_eq!(
            c.email.reply_to_of(["1/KH", "2/KH"]),
            Some(("vp", "vp1@tinh.example"))
        );

        let alone = Digest {
            agency: "hai".into(),
            items: vec![of_plan("2/KH")],
        };
        let ctx = context(&c, &alone, today());
        assert!(!ctx.monitors_differ);
        assert_eq!(ctx.monitor, "Sở Zalo");
        assert_eq!(
            (
                ctx.monitor_contact.name.as_str(),
                ctx.monitor_contact.email.as_str()
            ),
            ("Sở Zalo", "z@tinh.example")
        );
        let r = templates().render_context(&ctx).unwrap();
        assert!(r.text.contains("báo cáo kết quả về Sở Zalo."), "{}", r.text);
        assert!(!r.text.contains("Văn phòng UBND tỉnh"), "{}", r.text);
        assert_eq!(
            c.email.reply_to_of(["2/KH"]),
            Some(("zalo", "z@tinh.example"))
        );
        // Sở Zalo is plan 2's office: not asked to report to itself.
        let own = Digest {
            agency: "zalo".into(),
            items: vec![of_plan("2/KH")],
        };
        let ctx = context(&c, &own, today());
        assert!(ctx.is_monitor);
        assert_eq!(ctx.own_items[0].monitor, "");
    }

    #[test]
    fn each_agency_takes_its_first_configured_channel() {
        let c = config("");
        assert_eq!(channel_for(&c, "hai"), Channel::Email);
        assert_eq!(channel_for(&c, "zalo"), Channel::Zalo);
        assert_eq!(channel_for(&c, "hook"), Channel::Webhook);
        assert_eq!(channel_for(&c, "nobody"), Channel::Email);
        let mut no_zalo = c.clone();
        no_zalo.zalo = None;
        assert_eq!(channel_for(&no_zalo, "zalo"), Channel::Email);
    }

    #[test]
    fn a_digest_is_one_delivery_per_address_on_email_and_one_elsewhere() {
        let c = config("");
        let out = digests(&c, &templates(), &tick(&["hai", "zalo", "hook"]), today()).unwrap();
        let summary: Vec<(&str, Channel, Vec<String>)> = out
            .iter()
            .map(|d| (d.agency.as_str(), d.channel, d.recipients.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("hai", Channel::Email, vec!["a@tinh.example".to_string()]),
                ("hai", Channel::Email, vec!["b@tinh.example".to_string()]),
                ("zalo", Channel::Zalo, vec!["zalo".to_string()]),
                ("hook", Channel::Webhook, vec!["hook".to_string()]),
            ]
        );
        assert!(
            out[0].subject.contains("Sở Hai Địa Chỉ"),
            "{}",
            out[0].subject
        );
        assert!(
            out[0].body_html.contains("Việc &lt;một&gt;"),
            "{}",
            out[0].body_html
        );
        assert_eq!(out[0].thread, "hai.1-kh");
        // The webhook body is the JSON of the digest, escaped.
        let json: serde_json::Value = serde_json::from_str(&out[3].body_text).unwrap();
        assert_eq!(json["agency"], "hook");
        assert_eq!(json["items"][0]["title"], "Việc <một> & \"hai\"");
        assert!(out[3].body_html.is_empty());
    }

    #[test]
    fn trial_mode_sends_email_to_the_trial_address_naming_the_intended_ones() {
        let c = with_trial("thu@tinh.example");
        let out = digests(&c, &templates(), &tick(&["hai", "zalo"]), today()).unwrap();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].recipients, vec!["thu@tinh.example".to_string()]);
        assert!(out[0].body_text.contains("a@tinh.example, b@tinh.example"));
        // Zalo is not email: trial mode does not redirect it.
        assert_eq!(out[1].channel, Channel::Zalo);
        let weekly = weekly_report(
            &c,
            "vp",
            &overview(&c, today()),
            &quiet_week(),
            None,
            vec![],
        )
        .unwrap();
        assert_eq!(weekly.len(), 1);
        assert_eq!(weekly[0].recipients, vec!["thu@tinh.example".to_string()]);
        assert!(weekly[0]
            .body_text
            .contains("vp1@tinh.example, vp2@tinh.example"));
    }

    #[test]
    fn fallback_goes_to_email_only_when_email_comes_later_and_exists() {
        let c = config("");
        let out = digests(&c, &templates(), &tick(&["zalo", "hook"]), today()).unwrap();
        let zalo = delivery(&out[0], 7, 0, "2022-05-29T01:00:00+00:00");
        let instead = fallback(&c, &zalo).unwrap();
        assert_eq!(instead.channel, Channel::Email);
        assert_eq!(instead.recipients, vec!["z@tinh.example".to_string()]);
        assert_eq!(instead.subject, zalo.subject);
        // No address: nowhere to go.
        let hook = delivery(&out[1], 8, 0, "2022-05-29T01:00:00+00:00");
        assert_eq!(fallback(&c, &hook), None);
        // Email before Zalo in the agency's order: email was already tried.
        let mut email_first = c.clone();
        for a in &mut email_first.agencies {
            if a.id == "zalo" {
                a.channels = vec![Channel::Email, Channel::Zalo];
            }
        }
        assert_eq!(fallback(&email_first, &zalo), None);
    }

    #[test]
    fn after_an_attempt_the_outcome_is_classified() {
        let c = config("");
        let out = digests(&c, &templates(), &tick(&["hai", "hook"]), today()).unwrap();
        let now = DateTime::parse_from_rfc3339("2022-05-29T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = delivery(&out[0], 5, 2, "2022-05-29T01:00:00+00:00");
        assert_eq!(after_attempt(&c, &d, Ok(()), now), Next::Sent);
        assert_eq!(
            after_attempt(&c, &d, Err(SendError::Permanent("550".into())), now),
            Next::Dead {
                error: "550".into()
            }
        );
        assert_eq!(
            after_attempt(&c, &d, Err(SendError::Transient("421".into())), now),
            Next::Retry {
                at: now + backoff(2, 5),
                error: "421".into()
            }
        );
        // A retry past give_up_after_hours (24) from when it was recorded: dead, and why.
        let old = delivery(&out[0], 5, 9, "2022-05-28T03:00:00+00:00");
        match after_attempt(&c, &old, Err(SendError::Transient("421".into())), now) {
            Next::Dead { error } => assert!(error.starts_with("bỏ sau 24 giờ"), "{error}"),
            other => panic!("{other:?}"),
        }
        let at = now + Duration::hours(3);
        assert_eq!(
            after_attempt(&c, &d, Err(SendError::RetryAt(at, "quota".into())), now),
            Next::Retry {
                at,
                error: "quota".into()
            }
        );
        // A channel that cannot reach the agency, with no email to fall back on: kept.
        let hook = delivery(&out[2], 6, 0, "2022-05-29T01:00:00+00:00");
        assert_eq!(
            after_attempt(&c, &hook, Err(SendError::Fallback("x".into())), now),
            Next::Retry {
                at: now + Duration::hours(6),
                error: "x".into()
            }
        );
    }

    #[test]
    fn a_long_digest_goes_out_in_parts_and_a_long_report_is_cut_with_a_count() {
        let c = config("");
        let mut long = tick(&["hai"]);
        long.digests[0].items = (0..250)
            .map(|i| Item {
                key: format!("k{i}"),
                ..item(-(i as i64))
            })
            .collect();
        let all = digests(&c, &templates(), &long, today()).unwrap();
        // "hai" has two addresses: each gets every part.
        assert_eq!(all.len(), 6);
        let out: Vec<&NewDelivery> = all
            .iter()
            .filter(|d| d.recipients == all[0].recipients)
            .collect();
        let parts: Vec<(usize, &str)> = out
            .iter()
            .map(|d| (d.items.len(), d.subject.as_str()))
            .collect();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(
            parts.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        assert!(parts[0].1.ends_with("(phần 1/3)"), "{}", parts[0].1);
        assert!(parts[2].1.ends_with("(phần 3/3)"), "{}", parts[2].1);
        // Every item goes out exactly once.
        let mut keys: Vec<&str> = out
            .iter()
            .flat_map(|d| d.items.iter().map(|i| i.key.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 250);
        // A short digest keeps its subject.
        let short = digests(&c, &templates(), &tick(&["hai"]), today()).unwrap();
        assert!(!short[0].subject.contains("phần"));

        // A national-scale report names the most urgent tasks; the counts cover all.
        let today = NaiveDate::from_ymd_opt(2022, 6, 5).unwrap();
        let mut big = overview(&c, today);
        let late = big
            .rows
            .iter()
            .find(|r| r.status.state == State::OpenOverdue && r.status.role == Role::Lead)
            .unwrap()
            .clone();
        for k in 0..MAX_REPORT_LINES + 500 {
            let mut r = late.clone();
            r.status.task = format!("x{k}");
            big.rows.push(r);
            big.totals.add(State::OpenOverdue);
        }
        // Past the cap, agencies needing attention are counted as such, not as quiet ones;
        // the most overdue are the ones named.
        let quiet_before = big
            .agencies
            .iter()
            .filter(|a| a.counts.overdue == 0)
            .count();
        let model = big.agencies[0].clone();
        for k in 0..MAX_REPORT_LINES + 5 {
            let mut a = model.clone();
            a.agency = format!("a{k}");
            a.name = format!("Cơ quan {k}");
            a.counts.overdue = k + 1;
            big.agencies.push(a);
        }
        let out = weekly_report(&c, "vp", &big, &quiet_week(), None, vec![]).unwrap();
        let text = &out[0].body_text;
        assert!(text.contains("... và 501 nhiệm vụ khác"), "{text}");
        let needing = big.agencies.len() - quiet_before;
        assert!(
            text.contains(&format!(
                "... và {} cơ quan khác có việc quá hạn",
                needing - MAX_REPORT_LINES
            )),
            "{text}"
        );
        let first = text.find(&format!("Cơ quan {}:", MAX_REPORT_LINES + 4));
        let second = text.find(&format!("Cơ quan {}:", MAX_REPORT_LINES + 3));
        assert!(first.is_some() && first < second, "{text}");
        assert!(
            !text.contains("- Cơ quan 0:"),
            "the least overdue is not named: {text}"
        );
        assert!(out[0]
            .subject
            .contains(&format!("{} quá hạn", big.totals.overdue)));
    }

    /// Monday 07:30 in Hanoi (00:30 UTC) of the week of `day`'s report.
    fn report_time(day: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{day}T07:30:00+07:00"))
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A week in which nothing was recorded.
    fn quiet_week() -> Week<'static> {
        Week {
            from: report_time("2022-05-23"),
            to: report_time("2022-05-30"),
            responses: &[],
            extensions: &[],
        }
    }

    fn overview(c: &Config, today: NaiveDate) -> crate::overview::Overview {
        crate::overview::compute(c, today, None, &[], &[], &std::collections::HashMap::new())
    }

    #[test]
    fn the_weekly_report_goes_to_each_monitor_address_from_a_template() {
        let c = config("");
        let o = overview(&c, NaiveDate::from_ymd_opt(2022, 6, 5).unwrap());
        let workbook = Attachment {
            name: "tinh-hinh-2022-06-05.xlsx".into(),
            content_type: crate::workbook::XLSX_TYPE.into(),
            bytes: vec![1, 2, 3],
        };
        let document = Attachment {
            name: "bao-cao-2022-06-05.docx".into(),
            content_type: crate::report_doc::DOCX_TYPE.into(),
            bytes: vec![4, 5],
        };
        let out = weekly_report(
            &c,
            "vp",
            &o,
            &quiet_week(),
            Some("https://x/theo-doi/k"),
            vec![workbook.clone(), document.clone()],
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].recipients, vec!["vp1@tinh.example".to_string()]);
        assert_eq!(out[1].recipients, vec!["vp2@tinh.example".to_string()]);
        assert_eq!(out[0].attachments, vec![workbook.clone(), document.clone()]);
        let text = &out[0].body_text;
        assert!(
            out[0]
                .subject
                .starts_with("[Nhắc việc] Báo cáo tuần đến ngày 05/06/2022: "),
            "{}",
            out[0].subject
        );
        assert!(text.contains("hạn 01/06/2022, quá 4 ngày: "), "{text}");
        assert!(
            text.contains("tệp đính kèm tinh-hinh-2022-06-05.xlsx"),
            "{text}"
        );
        assert!(
            text.contains(
                "Dự thảo báo cáo (Word) để trình ký: tệp đính kèm bao-cao-2022-06-05.docx"
            ),
            "{text}"
        );
        assert!(
            out[0].body_html.contains("<b>bao-cao-2022-06-05.docx</b>"),
            "{}",
            out[0].body_html
        );
        assert!(
            text.contains("Trang theo dõi: https://x/theo-doi/k"),
            "{text}"
        );
        assert!(
            out[0].body_html.contains("<td>Sở Webhook</td>"),
            "{}",
            out[0].body_html
        );
        assert_eq!(
            weekly_report(&c, "nobody", &o, &quiet_week(), None, vec![]).unwrap(),
            vec![]
        );
    }

    const QUARTERLY: &str = r#"
[plan]
number = "2/KH"
title = "T"
issuer = "U"
issued = 2022-01-01

[[task]]
id = "1"
title = "Báo cáo quý"
lead = ["hai"]
support = ["zalo"]
time = "Hằng quý"
recurrence = "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18"

[[task]]
id = "2"
title = "Việc có hạn"
lead = ["hai", "hook"]
due = 2022-06-01
"#;

    /// The tests' plan and a second one with a recurring task.
    fn quarterly() -> Config {
        let sources = Sources::in_memory(
            Some(Source::new("nhacviec.toml", SETTINGS)),
            Source::new("agencies.toml", AGENCIES),
            vec![
                Source::new("plans/1.toml", PLAN),
                Source::new("plans/2.toml", QUARTERLY),
            ],
        );
        let analysis = analyze(&sources);
        assert!(!analysis.has_errors());
        analysis.config
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn answer(
        id: i64,
        agency: &str,
        task: &str,
        action: crate::answers::Action,
        recorded: DateTime<Utc>,
    ) -> crate::answers::Response {
        crate::answers::Response {
            id,
            agency: agency.into(),
            plan: "2/KH".into(),
            task: task.into(),
            deadline: None,
            action,
            done_on: None,
            doc_ref: None,
            note: None,
            percent: None,
            proposed: None,
            created_at: recorded,
            key_id: "k".into(),
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

    fn done(
        id: i64,
        agency: &str,
        task: &str,
        due: &str,
        on: &str,
        doc: &str,
        recorded: DateTime<Utc>,
    ) -> crate::answers::Response {
        crate::answers::Response {
            deadline: Some(d(due)),
            done_on: Some(d(on)),
            doc_ref: Some(doc.into()),
            ..answer(id, agency, task, crate::answers::Action::Done, recorded)
        }
    }

    /// The weekly report of `week` to the first monitor address.
    fn the_weeks_report(c: &Config, week: &Week<'_>) -> NewDelivery {
        let o = crate::overview::compute(
            c,
            week.to.date_naive(),
            None,
            week.responses,
            week.extensions,
            &Default::default(),
        );
        weekly_report(c, "vp", &o, week, None, vec![])
            .unwrap()
            .remove(0)
    }

    /// The lines listed under one heading of the report's week ("- Báo hoàn thành: 2").
    fn listed<'t>(text: &'t str, heading: &str) -> Vec<&'t str> {
        let start = text
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading} in {text}"));
        text[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect()
    }

    #[test]
    fn the_weeks_changes_are_those_recorded_from_the_last_report_time_to_this_one() {
        use crate::answers::{Action, Extension};
        let c = quarterly();
        let (prev, this) = (report_time("2022-05-23"), report_time("2022-05-30"));
        let second = chrono::Duration::seconds(1);
        let responses = vec![
            // At exactly the previous report time: after that report was made, so this week's.
            done(
                1,
                "hai",
                "2",
                "2022-06-01",
                "2022-05-20",
                "Báo cáo số 1/BC",
                prev,
            ),
            // A second before it: last week's.
            done(
                2,
                "hook",
                "2",
                "2022-06-01",
                "2022-05-20",
                "Báo cáo số 2/BC",
                prev - second,
            ),
            // At exactly this report time: next week's.
            done(
                3,
                "hai",
                "1",
                "2022-03-18",
                "2022-03-15",
                "Báo cáo số 3/BC",
                this,
            ),
            // A second before it, about the first quarter, done long before it was reported;
            // and a coordinator's completion.
            done(
                4,
                "hai",
                "1",
                "2022-03-18",
                "2022-04-20",
                "Báo cáo số 4/BC",
                this - second,
            ),
            done(
                5,
                "zalo",
                "1",
                "2022-03-18",
                "2022-03-10",
                "Báo cáo số 5/BC",
                prev + second,
            ),
            // Withdrawn before the report: not listed.
            crate::answers::Response {
                undone_at: Some(prev + chrono::Duration::hours(2)),
                ..done(
                    6,
                    "hook",
                    "1",
                    "2022-03-18",
                    "2022-03-10",
                    "Báo cáo số 6/BC",
                    prev + second,
                )
            },
            // Refused this week, with its reason; one refused at this report time waits.
            crate::answers::Response {
                deadline: Some(d("2022-06-01")),
                proposed: Some(d("2022-07-31")),
                refused_at: Some(prev + chrono::Duration::hours(27)),
                refusal: Some("Không có lý do chính đáng".into()),
                ..answer(
                    7,
                    "hook",
                    "2",
                    Action::Extension,
                    prev - chrono::Duration::days(3),
                )
            },
            crate::answers::Response {
                proposed: Some(d("2022-08-31")),
                refused_at: Some(this),
                refusal: Some("Để tuần sau".into()),
                ..answer(8, "hai", "2", Action::Extension, prev)
            },
        ];
        let grant = |id: i64, to: &str, doc: &str, granted_at: DateTime<Utc>| Extension {
            id,
            agency: "hai".into(),
            plan: "2/KH".into(),
            task: "2".into(),
            from: d("2022-06-01"),
            to: d(to),
            doc_ref: Some(doc.into()),
            granted_at,
        };
        let extensions = vec![
            grant(1, "2022-06-30", "Công văn số 10/UBND", prev),
            grant(2, "2022-07-15", "Công văn số 11/UBND", this),
            grant(3, "2022-06-15", "Công văn số 9/UBND", prev - second),
        ];
        let week = Week {
            from: prev,
            to: this,
            responses: &responses,
            extensions: &extensions,
        };
        let report = the_weeks_report(&c, &week);
        let text = report.body_text;
        assert!(
            text.contains("TRONG TUẦN (báo cáo, quyết định ghi nhận từ 07:30 23/05/2022 đến 07:30 30/05/2022)"),
            "{text}"
        );
        assert!(text.contains("- Báo hoàn thành: 3\n"), "{text}");
        let completed = listed(&text, "- Báo hoàn thành:");
        assert_eq!(
            completed,
            vec![
                "  + 1 (2/KH) Sở Hai Địa Chỉ: hoàn thành quá hạn ngày 20/04/2022 (kỳ Quý I/2022, hạn 18/03/2022), Báo cáo số 4/BC, báo ngày 30/05/2022",
                "  + 1 (2/KH) Sở Zalo: hoàn thành đúng hạn ngày 10/03/2022 (kỳ Quý I/2022, hạn 18/03/2022), Báo cáo số 5/BC, báo ngày 23/05/2022 (cơ quan phối hợp báo)",
                "  + 2 (2/KH) Sở Hai Địa Chỉ: hoàn thành đúng hạn ngày 20/05/2022 (hạn 01/06/2022), Báo cáo số 1/BC, báo ngày 23/05/2022",
            ],
            "{text}"
        );
        assert_eq!(
            listed(&text, "- Được gia hạn:"),
            vec!["  + 2 (2/KH) Sở Hai Địa Chỉ: gia hạn từ 01/06/2022 đến 30/06/2022 (Công văn số 10/UBND)"],
            "{text}"
        );
        assert_eq!(
            listed(&text, "- Không đồng ý gia hạn:"),
            vec!["  + 2 (2/KH) Sở Webhook: không đồng ý gia hạn từ 01/06/2022 đến 31/07/2022: Không có lý do chính đáng"],
            "{text}"
        );
        for absent in ["2/BC", "3/BC", "6/BC", "9/UBND", "11/UBND", "Để tuần sau"] {
            assert!(!text.contains(absent), "{absent}: {text}");
        }
        // Two plans: their totals too, what the dashboard's "Tổng cộng" row says (the
        // quarterly task's periods each an assignment: Quý I overdue, Quý II not yet due).
        assert!(
            text.contains(
                "Tổng cộng 2 kế hoạch (7 lượt giao chủ trì):\n  hoàn thành đúng hạn 0; hoàn \
                 thành quá hạn 0; chưa hoàn thành, trong hạn 5; chưa hoàn thành, quá hạn 1; \
                 chưa đến hạn 1; không có hạn 0. Tỷ lệ đúng hạn: 0,0%.\n"
            ),
            "{text}"
        );
        // The HTML part as a browser reads it ("/" is escaped).
        let html = report.body_html.replace("&#x2f;", "/");
        assert!(
            html.contains("Báo cáo, quyết định ghi nhận từ 07:30 23/05/2022 đến 07:30 30/05/2022."),
            "{html}"
        );
        assert!(html.contains("Báo cáo số 4/BC"), "{html}");
        assert!(!html.contains("Báo cáo số 3/BC"), "{html}");

        // The next week takes what was recorded at this report time, and nothing listed now.
        let next = Week {
            from: this,
            to: this + chrono::Duration::days(7),
            ..week
        };
        let text = the_weeks_report(&c, &next).body_text;
        assert_eq!(listed(&text, "- Báo hoàn thành:").len(), 1, "{text}");
        assert!(text.contains("Báo cáo số 3/BC"), "{text}");
        assert!(text.contains("Công văn số 11/UBND"), "{text}");
        assert!(text.contains("Để tuần sau"), "{text}");
        for absent in ["1/BC", "4/BC", "5/BC", "10/UBND", "chính đáng"] {
            assert!(!text.contains(absent), "{absent}: {text}");
        }
    }

    #[test]
    fn the_failure_summary_lists_dead_and_stuck_escaped() {
        let c = config("");
        let out = digests(&c, &templates(), &tick(&["hai"]), today()).unwrap();
        let mut dead = delivery(&out[0], 11, 4, "2022-05-29T01:00:00+00:00");
        dead.last_error = Some("550 <hộp thư> không có".into());
        let mail = failure_summary(&c.email, &[dead], &[], &[], today()).unwrap();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].recipients, vec!["qt@tinh.example".to_string()]);
        assert_eq!(
            mail[0].subject,
            "[Nhắc việc] Báo cáo thư lỗi ngày 29/05/2022: 1 thất bại, 0 đang thử lại"
        );
        assert!(
            mail[0]
                .body_text
                .contains("- #11 gửi hai (a@tinh.example), 4 lần thử: 550 <hộp thư> không có"),
            "{}",
            mail[0].body_text
        );
        assert!(!mail[0].body_text.contains("đang thử lại nhiều lần"));
        assert!(
            mail[0].body_html.contains("550 &lt;hộp thư&gt;"),
            "{}",
            mail[0].body_html
        );
        let mut no_admin = c.email.clone();
        no_admin.admin = None;
        assert_eq!(
            failure_summary(&no_admin, &[], &[], &[], today()).unwrap(),
            vec![]
        );
        let alert = zalo_stopped(&c.email, "token <hết hạn>").unwrap();
        assert!(alert[0].body_html.contains("token &lt;hết hạn&gt;"));
    }

    #[test]
    fn send_test_samples_are_marked_and_addressed_like_the_service() {
        let c = config("");
        let t = templates();
        let email = sample(&c, &t, "hai", Channel::Email, None, today()).unwrap();
        assert!(email.subject.starts_with(SAMPLE_MARK), "{}", email.subject);
        assert!(
            email.body_text.starts_with(SAMPLE_MARK),
            "{}",
            email.body_text
        );
        assert!(email.body_html.contains(SAMPLE_MARK));
        assert_eq!(email.recipients.len(), 2);
        let hook = sample(&c, &t, "hook", Channel::Webhook, None, today()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&hook.body_text).unwrap();
        assert_eq!(json["agency"], "hook");
        assert!(json["subject"].as_str().unwrap().starts_with(SAMPLE_MARK));
        assert_eq!(
            sample(&c, &t, "hook", Channel::Email, None, today()),
            Err(SampleError::NoAddress("hook".into()))
        );
        assert_eq!(
            sample(&c, &t, "x", Channel::Email, None, today()),
            Err(SampleError::UnknownAgency("x".into()))
        );
        let mut no_hook = c.clone();
        no_hook.webhook = None;
        assert_eq!(
            sample(&no_hook, &t, "hook", Channel::Webhook, None, today()),
            Err(SampleError::NotConfigured("webhook"))
        );
        let trial = with_trial("thu@tinh.example");
        let s = sample(&trial, &t, "hai", Channel::Email, None, today()).unwrap();
        assert_eq!(s.recipients, vec!["thu@tinh.example".to_string()]);
        // --to: that address only (trial mode still redirects), a bad one refused.
        let to = sample(
            &c,
            &t,
            "hook",
            Channel::Email,
            Some("ai@khac.example"),
            today(),
        );
        assert_eq!(to.unwrap().recipients, vec!["ai@khac.example".to_string()]);
        let s = sample(
            &trial,
            &t,
            "hai",
            Channel::Email,
            Some("ai@khac.example"),
            today(),
        );
        assert_eq!(s.unwrap().recipients, vec!["thu@tinh.example".to_string()]);
        assert_eq!(
            sample(&c, &t, "hai", Channel::Email, Some("không@"), today()),
            Err(SampleError::BadAddress("không@".into()))
        );
        assert_eq!(
            sample(
                &c,
                &t,
                "hook",
                Channel::Webhook,
                Some("a@b.example"),
                today()
            ),
            Err(SampleError::ToNeedsEmail)
        );
    }

    #[test]
    fn a_sample_carries_the_agencys_open_items_and_escalations_only_for_the_monitor() {
        let c = config("");
        let t = templates();
        // 29/05: task 1 (due 01/06) is three days off for "hai".
        let s = sample(&c, &t, "hai", Channel::Email, None, today()).unwrap();
        assert_eq!(s.items.len(), 1);
        assert_eq!((s.items[0].task.as_str(), s.items[0].days), ("1", 3));
        assert!(s.body_text.contains("còn 3 ngày"), "{}", s.body_text);
        assert!(!s.body_text.contains("quá hạn"), "{}", s.body_text);
        // 10/06: overdue for every lead; the office monitoring the plan is told who is late.
        let later = NaiveDate::from_ymd_opt(2022, 6, 10).unwrap();
        let s = sample(&c, &t, "hai", Channel::Email, None, later).unwrap();
        assert!(s.body_text.contains("quá hạn 9 ngày"), "{}", s.body_text);
        assert!(!s.body_text.contains("chưa hoàn thành:"), "{}", s.body_text);
        let vp = sample(&c, &t, "vp", Channel::Email, None, later).unwrap();
        assert!(vp.items.iter().all(|i| i.kind == Kind::Escalation));
        assert!(vp.body_text.contains("Sở Hai Địa Chỉ"), "{}", vp.body_text);
        // Nothing open: one item, and it says it is an example.
        let done = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
        let mut none = c.clone();
        none.plans.clear();
        let s = sample(&none, &t, "hai", Channel::Email, None, done).unwrap();
        assert_eq!(s.items.len(), 1);
        assert!(s.body_text.contains("không có thật"), "{}", s.body_text);
        assert!(s.body_text.contains("còn 7 ngày"), "{}", s.body_text);
    }

    #[test]
    fn a_retry_time_in_the_past_still_waits_and_grows() {
        let c = config("");
        let now = Utc::now();
        let out = digests(&c, &templates(), &tick(&["hook"]), today()).unwrap();
        let mut waits = Vec::new();
        for attempts in [0, 1, 4] {
            let d = delivery(&out[0], 7, attempts, &now.to_rfc3339());
            match after_attempt(
                &c,
                &d,
                Err(SendError::RetryAt(now, "Retry-After: 0".into())),
                now,
            ) {
                Next::Retry { at, .. } => waits.push((at - now).num_seconds()),
                other => panic!("{other:?}"),
            }
        }
        assert!(waits[0] >= 20, "{waits:?}");
        assert!(waits[0] < waits[1] && waits[1] < waits[2], "{waits:?}");
    }

    #[test]
    fn backoff_doubles_to_six_hours_with_bounded_jitter() {
        for id in 0..50 {
            let first = backoff(0, id).num_seconds();
            assert!((48..=72).contains(&first), "{first}");
            let late = backoff(30, id).num_seconds();
            assert!(
                (6 * 3600 * 8 / 10..=6 * 3600 * 12 / 10).contains(&late),
                "{late}"
            );
        }
        assert!(backoff(3, 7) > backoff(2, 7));
    }

    #[test]
    fn domains_of_from_addresses() {
        assert_eq!(
            domain_of("Nhắc việc <nv@HauGiang.gov.vn>"),
            "haugiang.gov.vn"
        );
        assert_eq!(domain_of("nv@tinh.example"), "tinh.example");
        assert_eq!(domain_of("không có"), "localhost");
        assert_eq!(domain_of("a@"), "localhost");
    }

    #[test]
    fn threads_are_per_agency_and_plan() {
        assert_eq!(thread("so-tttt", "50/KH-UBND"), "so-tttt.50-kh-ubnd");
    }

    #[test]
    fn a_digest_links_the_agencys_page_only_with_web_and_a_signer() {
        let signer = crate::links::Signer {
            current: crate::links::Key::new("0123456789abcdef0123456789abcdef").unwrap(),
            previous: None,
            days: 60,
        };
        let web = config("[web]\npublic_url = \"https://nv.tinh.example/\"\n");
        let linked = templates().with_links(Some(signer.clone()));
        let out = digests(&web, &linked, &tick(&["hai"]), today()).unwrap();
        let text = &out[0].body_text;
        let at = text.find("https://nv.tinh.example/a/").expect(text);
        let token: String = text[at + 26..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let issued = today().and_time(chrono::NaiveTime::MIN).and_utc();
        let link = signer.verify(&token, issued).unwrap();
        assert_eq!(link.agency, "hai");
        assert!(out[0].body_html.contains("Cập nhật kết quả thực hiện"));
        // Each item opens the page at its occurrence: plan, task, the deadline as planned.
        let item = format!("https://nv.tinh.example/a/{token}?muc=1%2FKH%7C1%7C2022-06-01#muc");
        assert!(text.contains(&format!("Trả lời: {item}")), "{text}");
        // (HTML escapes the slashes of the address; the query has none.)
        assert_eq!(
            out[0]
                .body_html
                .matches("?muc=1%2FKH%7C1%7C2022-06-01#muc")
                .count(),
            2,
            "the button and the row's link name the item"
        );
        assert!(text.contains(&format!("https://nv.tinh.example/a/{token}\n")));
        // Without [web], or without the secret, no link and no button.
        for (c, t) in [(config(""), linked), (web, templates())] {
            let out = digests(&c, &t, &tick(&["hai"]), today()).unwrap();
            assert!(!out[0].body_text.contains("/a/"));
            assert!(!out[0].body_html.contains("Cập nhật kết quả thực hiện"));
        }
    }

    #[test]
    fn coordinators_are_told_a_few_leads_and_how_many_more() {
        let names = |n: usize| -> Vec<String> { (0..n).map(|i| format!("a{i}")).collect() };
        assert_eq!(lead_names(&names(2), |s| s.to_uppercase()), ["A0", "A1"]);
        let many = lead_names(&names(36), |s| s.to_string());
        assert_eq!(many.len(), MAX_LEADS_NAMED + 1);
        assert_eq!(many.last().unwrap(), "và 31 cơ quan khác");
    }

    #[test]
    fn occurrences_are_labelled_by_the_period_they_report_on() {
        let rec = |rule: &str| crate::deadline::Deadline::Recurring {
            rrule: rule.into(),
            window_from: None,
        };
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let quarterly = rec("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1");
        assert_eq!(occurrence(&quarterly, d(2022, 6, 30)), "Quý II/2022");
        // Due on the 5th of the month after the quarter: it reports on the quarter before.
        assert_eq!(occurrence(&quarterly, d(2022, 7, 5)), "Quý II/2022");
        assert_eq!(occurrence(&quarterly, d(2023, 1, 5)), "Quý IV/2022");
        let monthly = rec("FREQ=MONTHLY;BYMONTHDAY=27");
        assert_eq!(occurrence(&monthly, d(2022, 3, 27)), "Tháng 3/2022");
        assert_eq!(
            occurrence(&rec("FREQ=MONTHLY;BYMONTHDAY=5"), d(2022, 1, 5)),
            "Tháng 12/2021"
        );
        assert_eq!(
            occurrence(
                &rec("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1"),
                d(2022, 6, 30)
            ),
            "6 tháng đầu năm 2022"
        );
        assert_eq!(
            occurrence(
                &rec("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=15"),
                d(2022, 12, 15)
            ),
            "Năm 2022"
        );
        assert_eq!(
            occurrence(&rec("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=15"), d(2023, 1, 15)),
            "Năm 2022"
        );
        assert_eq!(
            occurrence(
                &rec("FREQ=YEARLY;BYMONTH=2,5,8,11;BYMONTHDAY=25"),
                d(2022, 5, 25)
            ),
            "Quý II/2022"
        );
        assert_eq!(
            occurrence(&crate::deadline::Deadline::Continuous, d(2022, 5, 25)),
            ""
        );
    }

    #[test]
    fn a_decision_says_whether_the_agency_asked_and_which_deadline_moved() {
        let c = config("");
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let granted = Decision::Granted {
            to: d("2022-08-15"),
            doc_ref: Some("Công văn số 9/UBND".into()),
        };
        // A grant nobody asked for (`nhacviec extend`), the deadline moved once before.
        let alone = DecisionAbout {
            agency: "hai",
            plan: "1/KH",
            task: "1",
            deadline: Some(d("2022-06-01")),
            in_force: Some(d("2022-07-31")),
            requested: false,
            proposed: None,
        };
        let told = decision(&c, alone, &granted, Some("https://x.example/a/t")).unwrap();
        assert_eq!(told.len(), 2, "one per address");
        let m = &told[0];
        assert_eq!(
            m.subject,
            "[Nhắc việc] Nhiệm vụ 1 (1/KH): gia hạn đến 15/08/2022"
        );
        assert!(
            m.body_text
                .contains("Văn phòng UBND tỉnh thông báo gia hạn nhiệm vụ 1"),
            "{}",
            m.body_text
        );
        assert!(
            m.body_text.contains(
                "GIA HẠN: hạn 31/07/2022 (theo kế hoạch: 01/06/2022) được dời đến ngày 15/08/2022.\nVăn bản: Công văn số 9/UBND."
            ),
            "{}",
            m.body_text
        );
        assert!(!m.body_text.contains("đề nghị"), "{}", m.body_text);
        // HTML escaping writes '/' as "&#x2f;".
        let html = m.body_html.replace("&#x2f;", "/");
        assert!(
            html.contains("<strong>Gia hạn</strong>: hạn 31/07/2022 (theo kế hoạch: 01/06/2022)"),
            "{html}"
        );
        // The same deadline in force as planned is said once; a request is answered.
        let asked = DecisionAbout {
            in_force: Some(d("2022-06-01")),
            requested: true,
            proposed: Some(d("2022-08-31")),
            ..alone
        };
        let m = &decision(&c, asked, &granted, None).unwrap()[0];
        assert_eq!(
            m.subject,
            "[Nhắc việc] Nhiệm vụ 1 (1/KH): đồng ý gia hạn đến 15/08/2022"
        );
        assert!(
            m.body_text.contains("trả lời đề nghị gia hạn của cơ quan")
                && m.body_text
                    .contains("ĐỒNG Ý gia hạn: hạn 01/06/2022 được dời đến ngày 15/08/2022."),
            "{}",
            m.body_text
        );
        let refused = Decision::Refused {
            reason: "Quá muộn".into(),
        };
        let m = &decision(
            &c,
            DecisionAbout {
                in_force: Some(d("2022-07-31")),
                ..asked
            },
            &refused,
            None,
        )
        .unwrap()[0];
        assert!(
            m.body_text
                .contains("KHÔNG ĐỒNG Ý gia hạn đến ngày 31/08/2022: hạn vẫn là ngày 31/07/2022."),
            "{}",
            m.body_text
        );
    }
}
