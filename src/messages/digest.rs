//! The reminder digests: one agency's due items as the admins' templates render them, with
//! links to its page, in parts of at most [`MAX_DIGEST_ITEMS`]; webhook bodies as JSON.

use super::{channel_for, recipients, thread, Body, NewDelivery};
use crate::config::{Channel, Config};
use crate::render::{self, Context, TemplateError, Templates};
use crate::schedule::{Digest, Kind, Role, Tick};
use chrono::NaiveDate;

/// The period a recurring task's occurrence due on `due` reports on ("Quý II/2022"); "" for a
/// task that does not recur. See [`crate::answers::period_label`].
pub fn occurrence(deadline: &crate::deadline::Deadline, due: NaiveDate) -> String {
    crate::answers::period_label(deadline, due)
}

/// Lead agencies a coordinator's reminder names: a few, then how many more ("Sở, ban,
/// ngành tỉnh" expands to dozens).
pub(super) const MAX_LEADS_NAMED: usize = 5;

pub(super) fn lead_names(leads: &[String], name_of: impl Fn(&str) -> String) -> Vec<String> {
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
                deadline: crate::dates::dmy(i.deadline),
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
                    crate::dates::dmy(i.planned)
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
        today: crate::dates::dmy(today),
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

/// The deliveries of one tick's digests: one per email address (a mailbox that refuses the
/// message must not keep it from the agency's other addresses), one per digest on the other
/// channels.
pub fn digests(
    config: &Config,
    templates: &Templates,
    tick: &Tick,
    today: NaiveDate,
) -> Result<Vec<NewDelivery>, TemplateError> {
    digests_of(config, templates, &tick.digests, today)
}

/// [`digests`] of some of a tick's digests: a pass renders and records them a batch at a time.
pub fn digests_of(
    config: &Config,
    templates: &Templates,
    digests: &[Digest],
    today: NaiveDate,
) -> Result<Vec<NewDelivery>, TemplateError> {
    let mut out = Vec::with_capacity(digests.len());
    // A long digest goes out in parts (the items are sorted most urgent first).
    let parts = digests.iter().flat_map(|digest| {
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
        let emails = config
            .agency(&digest.agency)
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let recipients = recipients(
            config,
            channel,
            &digest.agency,
            emails,
            &mut ctx.redirected_to,
        );
        let mut rendered = templates.render_context(&ctx)?;
        if let Some((k, n)) = part {
            rendered.subject = format!("{} (phần {k}/{n})", rendered.subject);
        }
        let subject = rendered.subject.clone();
        let (body_text, body_html) =
            Body::of_digest(channel, rendered, |r| webhook_body(config, &ctx, r))?.into_columns();
        let plan = digest.items.first().map_or("", |i| i.plan.as_str());
        let thread = thread(&digest.agency, plan);
        let groups: Vec<Vec<String>> = match channel {
            // A mailbox that refuses the message must not keep it from the other addresses.
            Channel::Email if recipients.len() > 1 => {
                recipients.into_iter().map(|r| vec![r]).collect()
            }
            Channel::Email | Channel::Zalo | Channel::Webhook => vec![recipients],
        };
        for recipients in groups {
            out.push(NewDelivery {
                agency: digest.agency.clone(),
                channel,
                recipients,
                subject: subject.clone(),
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
pub(super) fn add_links(
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
    let token = signer.sign(&digest.agency, issued);
    let page = crate::links::Url::Agency(&token).at(&web.public_url);
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
pub(super) fn webhook_body(
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
    .map_err(|e| TemplateError {
        template: "[webhook] body".into(),
        line: None,
        message: e.to_string(),
    })
}

/// A digest lists at most this many items; more go out as several parts ("phần 1/3"), so
/// every reminder is delivered and no message outgrows the render budget or a mailbox.
pub const MAX_DIGEST_ITEMS: usize = 100;
