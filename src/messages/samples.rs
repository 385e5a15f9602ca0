//! `send-test`'s sample: the digest an agency would get now, marked as a test.

use super::digest::{add_links, context, webhook_body, MAX_DIGEST_ITEMS};
use super::{configured, recipients, Body, NewDelivery};
use crate::config::{Channel, Config};
use crate::render::{self, TemplateError, Templates};
use crate::report::State;
use crate::schedule::{Digest, Item, Kind, Role};
use chrono::NaiveDate;

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
    Template(#[from] TemplateError),
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
    let emails = match to {
        Some(to) => vec![to.to_string()],
        None if channel == Channel::Email && a.email.is_empty() => {
            return Err(SampleError::NoAddress(a.id.clone()))
        }
        None => a.email.clone(),
    };
    let recipients = recipients(config, channel, &a.id, emails, &mut ctx.redirected_to);
    let rendered = templates.render_context(&ctx)?;
    let notice = sample_notice(&a.name, today, fictitious);
    let subject = format!("{SAMPLE_MARK}: {}", rendered.subject);
    let text = format!("{notice}\n\n{}", rendered.text);
    let html = if rendered.html.is_empty() {
        String::new()
    } else {
        with_html_notice(&rendered.html, &notice)
    };
    let marked = render::Rendered {
        subject: subject.clone(),
        text,
        html,
    };
    let (body_text, body_html) =
        Body::of_digest(channel, marked, |r| webhook_body(config, &ctx, r))?.into_columns();
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
            crate::dates::dmy(today)
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
