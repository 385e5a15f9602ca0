//! What a refusal means: a message refused (a 5xx to RCPT TO or DATA not about the mailbox)
//! while its channel has delivered nothing yet is held back; the same refusal for the first
//! [`SAME_REFUSALS`] messages (or for all, two at least, at the end of the pass) is the
//! server's policy ([`SendError::Server`]: the channel stops for the pass, everything waits),
//! a delivery or a different refusal shows it is the message's own (dead). Pure: the time is
//! passed in.

use super::{backoff, Delivery, SendError};
use crate::config::Channel;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How many messages in a row, with nothing delivered before them, refused with the same
/// reply make the refusal the server's (its policy for every message), not theirs.
const SAME_REFUSALS: usize = 3;

pub type Outcome = (Arc<Delivery>, Result<(), SendError>);

/// Refusals seen in one pass. A message refused (a 5xx to RCPT TO or DATA not about the
/// mailbox) while its channel has delivered nothing yet is held back: the same refusal for
/// the first [`SAME_REFUSALS`] messages is the server's (every message waits), a delivery or
/// a different refusal shows it is the message's own (dead).
#[derive(Default)]
pub struct Refusals {
    state: std::sync::Mutex<RefusalState>,
}

#[derive(Default)]
struct RefusalState {
    delivered: BTreeSet<Channel>,
    held: Vec<(Arc<Delivery>, String, SendError)>,
    /// Channels whose server refuses every message: until when the rest waits, and why.
    stopped: BTreeMap<Channel, (DateTime<Utc>, String)>,
    /// The email server's refusal, if it refused every message in this pass.
    email: Option<String>,
    /// The refusal found to be a channel's server's: the same one for an attempt still in
    /// flight then is the server's too.
    server_keys: BTreeMap<Channel, String>,
}

impl RefusalState {
    fn stop(&mut self, d: &Delivery, why: &str, now: DateTime<Utc>) {
        let at = now + backoff(d.attempts, d.id);
        self.stopped
            .entry(d.channel)
            .or_insert_with(|| (at, why.to_string()));
        // The first refusal says why; those after it may only be the breaker's echo.
        if d.channel == Channel::Email && self.email.is_none() {
            self.email = Some(why.to_string());
        }
    }

    /// The held refusals of `channel`, given back: as the server's when `server`.
    fn release(&mut self, channel: Channel, server: bool, now: DateTime<Utc>) -> Vec<Outcome> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(d, _, _)| d.channel == channel);
        self.held = rest;
        let mut out = Vec::new();
        for (d, key, e) in mine {
            let e = if server {
                self.server_keys.insert(channel, key);
                let why = format!(
                    "máy chủ thư từ chối mọi thư với cùng một lỗi: {}",
                    e.reason()
                );
                self.stop(&d, &why, now);
                SendError::Server(why)
            } else {
                e
            };
            out.push((d, Err(e)));
        }
        out
    }

    fn same_key(&self, channel: Channel) -> (usize, bool) {
        let keys: Vec<&String> = self
            .held
            .iter()
            .filter(|(d, _, _)| d.channel == channel)
            .map(|(_, k, _)| k)
            .collect();
        (keys.len(), keys.windows(2).all(|w| w[0] == w[1]))
    }
}

impl Refusals {
    fn lock(&self) -> std::sync::MutexGuard<'_, RefusalState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn is_stopped(&self, channel: Channel) -> bool {
        self.lock().stopped.contains_key(&channel)
    }

    pub fn stopped(&self) -> Vec<(Channel, DateTime<Utc>, String)> {
        self.lock()
            .stopped
            .iter()
            .map(|(c, (at, why))| (*c, *at, why.clone()))
            .collect()
    }

    /// The outcomes to decide now for an attempt that ended (none while it is held back).
    pub fn sort(
        &self,
        d: &Arc<Delivery>,
        outcome: Result<(), SendError>,
        now: DateTime<Utc>,
    ) -> Vec<Outcome> {
        let mut s = self.lock();
        let channel = d.channel;
        match outcome {
            Ok(()) => {
                s.delivered.insert(channel);
                let mut out = s.release(channel, false, now);
                out.push((d.clone(), Ok(())));
                out
            }
            Err(SendError::Rejected { key, error })
                if s.server_keys.get(&channel) == Some(&key) =>
            {
                s.held
                    .push((d.clone(), key.clone(), SendError::Rejected { key, error }));
                s.release(channel, true, now)
            }
            Err(SendError::Rejected { key, error }) if !s.delivered.contains(&channel) => {
                s.held
                    .push((d.clone(), key.clone(), SendError::Rejected { key, error }));
                match s.same_key(channel) {
                    (_, false) => s.release(channel, false, now),
                    (n, true) if n >= SAME_REFUSALS => s.release(channel, true, now),
                    _ => Vec::new(),
                }
            }
            Err(SendError::Server(why)) => {
                s.stop(d, &why, now);
                vec![(d.clone(), Err(SendError::Server(why)))]
            }
            other => vec![(d.clone(), other)],
        }
    }

    /// At the end of the pass: refusals still held. Every attempt of a channel refused the
    /// same way (two at least) is the server's; otherwise each is the message's own.
    pub fn finish(&self, now: DateTime<Utc>) -> Vec<Outcome> {
        let mut s = self.lock();
        let channels: BTreeSet<Channel> = s.held.iter().map(|(d, _, _)| d.channel).collect();
        let mut out = Vec::new();
        for channel in channels {
            let (n, same) = s.same_key(channel);
            let server = same && n >= 2 && !s.delivered.contains(&channel);
            out.extend(s.release(channel, server, now));
        }
        out
    }

    pub fn email_refused(&self) -> Option<String> {
        self.lock().email.clone()
    }

    pub fn email_delivered(&self) -> bool {
        self.lock().delivered.contains(&Channel::Email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(id: i64) -> Arc<Delivery> {
        Arc::new(Delivery {
            id,
            tick_at: chrono::DateTime::UNIX_EPOCH,
            agency: format!("a{id}"),
            channel: Channel::Email,
            recipients: vec![format!("a{id}@example.org")],
            subject: String::new(),
            body_text: String::new(),
            body_html: String::new(),
            items: vec![],
            thread: String::new(),
            attachments: vec![],
            message_id: String::new(),
            status: crate::outbox::DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            sent_at: None,
            trial: false,
            handed_over: None,
        })
    }

    fn rejected(key: &str) -> Result<(), SendError> {
        Err(SendError::Rejected {
            key: key.into(),
            error: format!("máy chủ từ chối người nhận: {key}"),
        })
    }

    fn kinds(out: &[Outcome]) -> Vec<&'static str> {
        out.iter()
            .map(|(_, o)| match o {
                Ok(()) => "sent",
                Err(SendError::Server(_)) => "server",
                Err(SendError::Rejected { .. }) => "rejected",
                Err(_) => "other",
            })
            .collect()
    }

    #[test]
    fn the_same_refusal_for_the_first_messages_is_the_servers_and_stops_the_channel() {
        let now = Utc::now();
        let r = Refusals::default();
        let policy = "553 5.7.1 <…>: Sender address rejected: not owned by user";
        assert!(r.sort(&email(1), rejected(policy), now).is_empty());
        assert!(r.sort(&email(2), rejected(policy), now).is_empty());
        let out = r.sort(&email(3), rejected(policy), now);
        assert_eq!(kinds(&out), ["server", "server", "server"]);
        assert!(r.is_stopped(Channel::Email));
        // One more in flight then, refused the same way: the server's too.
        assert_eq!(kinds(&r.sort(&email(4), rejected(policy), now)), ["server"]);
        assert!(r.email_refused().is_some_and(|e| e.contains("not owned")));
        assert!(r.finish(now).is_empty());
    }

    #[test]
    fn a_refusal_after_a_delivery_or_unlike_the_others_is_the_messages_own() {
        let now = Utc::now();
        let r = Refusals::default();
        assert_eq!(kinds(&r.sort(&email(1), Ok(()), now)), ["sent"]);
        assert_eq!(
            kinds(&r.sort(&email(2), rejected("554 5.7.1 spam"), now)),
            ["rejected"]
        );
        assert!(!r.is_stopped(Channel::Email));
        // Held, then a delivery shows the server takes mail: the held one is its own.
        let r = Refusals::default();
        assert!(r
            .sort(&email(1), rejected("554 5.7.1 spam"), now)
            .is_empty());
        assert_eq!(kinds(&r.sort(&email(2), Ok(()), now)), ["rejected", "sent"]);
        // Two different refusals: each the message's own.
        let r = Refusals::default();
        assert!(r
            .sort(&email(1), rejected("554 5.7.1 spam"), now)
            .is_empty());
        assert_eq!(
            kinds(&r.sort(&email(2), rejected("552 5.3.4 too big"), now)),
            ["rejected", "rejected"]
        );
        assert!(r.email_refused().is_none());
    }

    #[test]
    fn at_the_end_of_a_pass_two_identical_refusals_and_nothing_else_are_the_servers() {
        let now = Utc::now();
        let r = Refusals::default();
        let helo = "504 5.5.2 <vm>: Helo command rejected";
        assert!(r.sort(&email(1), rejected(helo), now).is_empty());
        assert!(r.sort(&email(2), rejected(helo), now).is_empty());
        assert_eq!(kinds(&r.finish(now)), ["server", "server"]);
        // One alone is too few to tell: the message's own.
        let r = Refusals::default();
        assert!(r.sort(&email(1), rejected(helo), now).is_empty());
        assert_eq!(kinds(&r.finish(now)), ["rejected"]);
        // A server refusal of the session stops the channel at once.
        let r = Refusals::default();
        let out = r.sort(&email(1), Err(SendError::Server("535".into())), now);
        assert_eq!(kinds(&out), ["server"]);
        assert!(r.is_stopped(Channel::Email));
    }
}
