//! The messages the service sends, decided without I/O: the reminder digests (`digest`), the
//! weekly report (`weekly`), the notices to admins and agencies (`notices`: failure summary,
//! Zalo alert, decisions, returned completions) and `send-test`'s samples (`samples`). Each
//! is rendered by `render` and addressed as a [`NewDelivery`]; `outbox` keeps the rows and
//! what follows an attempt.

pub mod digest;
pub mod notices;
pub mod samples;
pub mod weekly;

pub use digest::{context, digests, digests_of, item_link, occurrence, MAX_DIGEST_ITEMS};
pub use notices::{
    decision, failure_summary, returned_notice, zalo_stopped, Decision, DecisionAbout,
    FailedDelivery, RefusalSpell,
};
pub use samples::{sample, SampleError, SAMPLE_MARK};
pub use weekly::{weekly_report, Week, DUE_SOON_DAYS, MAX_CHANGE_LINES, MAX_REPORT_LINES};

use crate::config::{Channel, Config, EmailSettings};
use crate::render::{self, Builtin, TemplateError};
use crate::schedule::Item;
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

/// What a delivery carries, by channel (the store keeps it as two columns, text and HTML:
/// [`Body::into_columns`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// An email's text and HTML parts.
    Email { text: String, html: String },
    /// Plain text (a Zalo OA message).
    Text(String),
    /// A webhook's JSON document.
    Json(String),
}

impl Body {
    /// A rendered reminder as `channel` carries it: the webhook its JSON (`json`), email the
    /// message; Zalo fills its ZNS template from the items and keeps the message for the
    /// fallback to email (`outbox::fallback`), so it carries the email's parts.
    pub fn of_digest<E>(
        channel: Channel,
        rendered: render::Rendered,
        json: impl FnOnce(&render::Rendered) -> Result<String, E>,
    ) -> Result<Body, E> {
        Ok(match channel {
            Channel::Email | Channel::Zalo => Body::Email {
                text: rendered.text,
                html: rendered.html,
            },
            Channel::Webhook => Body::Json(json(&rendered)?),
        })
    }

    /// The store's columns: (text, HTML); the HTML is empty but for email.
    pub fn into_columns(self) -> (String, String) {
        match self {
            Body::Email { text, html } => (text, html),
            Body::Text(text) | Body::Json(text) => (text, String::new()),
        }
    }
}

/// Whom a delivery on `channel` to `agency` is addressed to: its email addresses (`emails`;
/// in trial mode the trial address, the intended ones put in `redirected_to`), or the agency
/// itself for the channels that find it by its id (Zalo, webhook).
fn recipients(
    config: &Config,
    channel: Channel,
    agency: &str,
    emails: Vec<String>,
    redirected_to: &mut Vec<String>,
) -> Vec<String> {
    match channel {
        Channel::Email => match &config.email.redirect_all_to {
            Some(to) => {
                *redirected_to = emails;
                vec![to.clone()]
            }
            None => emails,
        },
        Channel::Zalo | Channel::Webhook => vec![agency.to_string()],
    }
}

/// Whether this installation has configured `channel`.
pub fn configured(config: &Config, channel: Channel) -> bool {
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

#[cfg(test)]
pub(crate) mod tests;
