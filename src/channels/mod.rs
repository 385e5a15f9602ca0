//! Every channel a reminder can take, behind one closed enum. Each channel has the same three
//! entry points: built from its settings (`config::channels`, failing with a [`SetupError`]),
//! sending one delivery (failing with a classified [`SendError`]), and a sample for
//! `send-test` (made by `messages::sample`, sent by the same `send`).
//!
//! Adding a channel: a file here, a variant of `config::Channel` and of [`Sender`].

pub mod email;
pub mod pace;
pub mod secret;
pub mod smtp;
pub mod tls_diag;
pub mod webhook;
pub mod zalo;

pub use crate::config::channels::redact_url;
pub use crate::outbox::SendError;

use crate::config::{Channel, Config};
use crate::outbox::Delivery;
use crate::store::ZaloTokens;
use chrono::{DateTime, Utc};
use std::path::Path;

/// Why a channel cannot be built from the settings: the service refuses to start (or keeps
/// the running config on reload) and says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("kênh {channel}: thiếu {what}: {how}")]
    MissingSecret {
        channel: &'static str,
        what: &'static str,
        how: String,
    },
    #[error("không dùng được TLS với máy chủ thư {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("không tạo được kết nối HTTP cho kênh {channel}: {reason}")]
    Http {
        channel: &'static str,
        reason: String,
    },
    #[error("kênh {0} chưa được cấu hình trong nhacviec.toml")]
    NotConfigured(&'static str),
}

/// Why `check --environment` found a service unusable, as the admin reads it (Vietnamese,
/// URLs redacted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The channel cannot be built from the settings.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The service did not answer within the channel's `timeout_seconds`.
    #[error("không trả lời sau {0} giây")]
    Timeout(u64),
    /// The state directory or the store could not be opened.
    #[error("{0}")]
    State(String),
    /// What the service, or the way to it, answered.
    #[error("{0}")]
    Unusable(String),
}

impl From<String> for ProbeError {
    fn from(why: String) -> ProbeError {
        ProbeError::Unusable(why)
    }
}

impl From<crate::store::StoreError> for ProbeError {
    fn from(e: crate::store::StoreError) -> ProbeError {
        ProbeError::State(e.to_string())
    }
}

/// A reqwest error as it may be stored and shown: its own text and causes, with the URL
/// redacted ([`redact_url`]): reqwest puts the whole URL, query token included, in its text.
pub fn http_error(e: reqwest::Error) -> String {
    let url = e.url().map(|u| redact_url(u.as_str()));
    let text = error_chain(&e.without_url());
    match url {
        Some(u) => format!("{text} ({u})"),
        None => text,
    }
}

/// An error and its causes, each said once.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// One configured channel.
pub enum Sender {
    Email(email::Mailer),
    Zalo(Box<zalo::Zalo>),
    Webhook(webhook::Webhook),
}

impl Sender {
    /// Builds `channel` from the config (SMTP pools need a tokio runtime to be entered).
    pub fn build(
        channel: Channel,
        config: &Config,
        state_dir: &Path,
    ) -> Result<Sender, SetupError> {
        match channel {
            Channel::Email => Ok(Sender::Email(email::Mailer::new(
                &config.email,
                config.timezone,
                state_dir,
            )?)),
            Channel::Webhook => {
                let settings = config
                    .webhook
                    .as_ref()
                    .ok_or(SetupError::NotConfigured("webhook"))?;
                Ok(Sender::Webhook(webhook::Webhook::new(settings)?))
            }
            Channel::Zalo => {
                let settings = config
                    .zalo
                    .as_ref()
                    .ok_or(SetupError::NotConfigured("zalo"))?;
                let contacts = config
                    .agencies
                    .iter()
                    .filter(|a| a.zalo_phone.is_some() || a.zalo_user_id.is_some())
                    .map(|a| {
                        (
                            a.id.clone(),
                            zalo::Contact {
                                name: a.name.clone(),
                                phone: a.zalo_phone.clone(),
                                user_id: a.zalo_user_id.clone(),
                            },
                        )
                    })
                    .collect();
                Ok(Sender::Zalo(Box::new(zalo::Zalo::new(
                    settings,
                    config.timezone,
                    contacts,
                )?)))
            }
        }
    }

    /// How many deliveries this channel takes at once.
    fn parallelism(&self, pool_size: u32) -> usize {
        match self {
            Sender::Email(m) => m.parallelism(),
            Sender::Zalo(_) | Sender::Webhook(_) => pool_size.max(1) as usize,
        }
    }

    /// Sends one delivery. The store is where Zalo keeps its tokens and quota.
    pub async fn send(
        &self,
        store: &dyn ZaloTokens,
        d: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        match self {
            Sender::Email(m) => m.send(d).await,
            Sender::Zalo(z) => z.send(store, d, now).await,
            Sender::Webhook(w) => w.send(&d.body_text, d.id, now).await,
        }
    }
}

/// The senders of every configured channel, each with its own bound on deliveries in flight.
pub struct Senders {
    senders: Vec<Slot>,
}

/// A configured channel, its bound on deliveries in flight, and the permits for it.
struct Slot {
    channel: Channel,
    sender: Sender,
    limit: usize,
    permits: tokio::sync::Semaphore,
}

impl Senders {
    /// Email always; Zalo and webhook when configured.
    pub fn new(config: &Config, state_dir: &Path) -> Result<Senders, SetupError> {
        let mut senders = Vec::new();
        for (_, channel) in Channel::ALL {
            if crate::messages::configured(config, channel) {
                let sender = Sender::build(channel, config, state_dir)?;
                let limit = sender.parallelism(config.email.pool_size);
                senders.push(Slot {
                    channel,
                    sender,
                    limit,
                    permits: tokio::sync::Semaphore::new(limit),
                });
            }
        }
        Ok(Senders { senders })
    }

    /// Closes the email session breaker: the admin says the server or the password is fixed
    /// (`nhacviec retry`).
    pub fn reset_breakers(&self) {
        if let Some(Sender::Email(m)) = self.get(Channel::Email) {
            m.reset_breaker();
        }
    }

    /// Ends kept connections politely (QUIT) once a pass is over.
    pub async fn close_idle(&self) {
        if let Some(Sender::Email(m)) = self.get(Channel::Email) {
            m.close_idle().await;
        }
    }

    pub fn get(&self, channel: Channel) -> Option<&Sender> {
        self.slot(channel).map(|s| &s.sender)
    }

    fn slot(&self, channel: Channel) -> Option<&Slot> {
        self.senders.iter().find(|s| s.channel == channel)
    }

    /// Deliveries in flight at most, all channels together.
    pub fn parallelism(&self) -> usize {
        self.senders.iter().map(|s| s.limit).sum::<usize>().max(1)
    }

    /// Sends `d` by its channel. A delivery queued for a channel since removed from the
    /// config falls back (Zalo, to email) or waits for a person (webhook).
    pub async fn send(
        &self,
        store: &dyn ZaloTokens,
        d: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        match self.slot(d.channel) {
            Some(slot) => {
                // The semaphore is never closed, so this always gets a permit.
                let _permit = slot.permits.acquire().await.ok();
                slot.sender.send(store, d, now).await
            }
            None => {
                let why = format!(
                    "kênh {} chưa được cấu hình ([{}])",
                    d.channel.name(),
                    d.channel.name()
                );
                match d.channel {
                    // Zalo hands its message to email; a webhook waits for a person (email
                    // is always configured).
                    Channel::Zalo => Err(SendError::Fallback(
                        "kênh Zalo chưa được cấu hình ([zalo])".into(),
                    )),
                    Channel::Email | Channel::Webhook => Err(SendError::Permanent(why)),
                }
            }
        }
    }
}
