//! The outbox's rows and what follows an attempt, decided without I/O: a [`Delivery`] as the
//! store keeps it, the decision after an attempt ([`after_attempt`]: backoff, give-up, the
//! fallback to email), a delivery withdrawn when its plan closed. What a message says and
//! whom it is addressed to is `messages`; `deliver` is the shell that records, sends and marks.

use crate::config::{Channel, Config};
use crate::messages::{Attachment, FailedDelivery, NewDelivery};
use crate::schedule::Item;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

// Kept at their old paths for main.rs until it moves into src/cli/ (removed at merge).

pub mod refusals;

/// Where a delivery stands. Stored as its [`DeliveryStatus::as_str`] text (the `deliveries`
/// table's CHECK lists the same four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Recorded, never attempted (or requeued by `retry --dead`).
    Pending,
    /// Attempted and failed; attempted again at `next_attempt_at`.
    Retrying,
    Sent,
    /// Given up (or handed over to another channel: [`Delivery::handed_over`]).
    Dead,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Sent,
        DeliveryStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Dead => "dead",
        }
    }

    /// Still to go out: pending or retrying.
    pub fn is_waiting(self) -> bool {
        matches!(self, DeliveryStatus::Pending | DeliveryStatus::Retrying)
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status text this program does not write (a newer version's, or an edited row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trạng thái thư \"{0}\" không rõ")]
pub struct UnknownStatus(pub String);

impl std::str::FromStr for DeliveryStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<DeliveryStatus, UnknownStatus> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// Times in a delivery's JSON (`history --format json`) as the store writes them
/// (`to_rfc3339`), as they always were.
fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

/// A delivery as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: i64,
    /// The pass that made it.
    #[serde(serialize_with = "rfc3339")]
    pub tick_at: DateTime<Utc>,
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
    pub status: DeliveryStatus,
    pub attempts: i64,
    #[serde(serialize_with = "rfc3339_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// What `give_up_after_hours` counts from (restarted by `retry --dead`).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub sent_at: Option<DateTime<Utc>>,
    /// Made in trial mode and sent to the trial address (`store::Ledger::redirects`).
    pub trial: bool,
    /// Dead because its message was handed over to another channel (email): the delivery
    /// made instead. `retry --dead` leaves it dead.
    #[serde(skip)]
    pub handed_over: Option<i64>,
}

/// What a delivery was recorded with, beside what it was made of (`Delivery::recorded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    /// Sent to the trial address (`store::Ledger::redirects`).
    pub trial: bool,
}

impl Delivery {
    /// `d` as recorded by the pass at `tick_at` (`Store::record_batch_to_send`): the row a
    /// read would return, pending and ready from when it was recorded.
    pub fn recorded(d: NewDelivery, tick_at: DateTime<Utc>, r: Recorded) -> Delivery {
        // The slot keys are kept with the slots, not in the delivery's row.
        let mut items = d.items;
        for item in &mut items {
            item.key.clear();
        }
        Delivery {
            id: r.id,
            tick_at,
            agency: d.agency,
            channel: d.channel,
            recipients: d.recipients,
            subject: d.subject,
            body_text: d.body_text,
            body_html: d.body_html,
            items,
            thread: d.thread,
            attachments: d.attachments,
            message_id: r.message_id,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(r.created_at),
            last_error: None,
            created_at: r.created_at,
            sent_at: None,
            trial: r.trial,
            handed_over: None,
        }
    }

    /// A delivery that is never recorded (`send-test`): a negative id from the time, so a
    /// file name or a Message-ID never collides with a real one.
    pub fn unrecorded(d: NewDelivery, now: DateTime<Utc>, domain: &str) -> Delivery {
        let stamp = now.timestamp_millis();
        let recorded = Recorded {
            id: -stamp,
            message_id: format!("<nhacviec.test.{stamp}@{domain}>"),
            created_at: now,
            trial: false,
        };
        Delivery {
            next_attempt_at: None,
            ..Delivery::recorded(d, now, recorded)
        }
    }
}

impl From<&Delivery> for FailedDelivery {
    fn from(d: &Delivery) -> FailedDelivery {
        FailedDelivery {
            id: d.id,
            agency: d.agency.clone(),
            recipients: d.recipients.clone(),
            attempts: d.attempts,
            error: d.last_error.clone().unwrap_or_default(),
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
        if at > d.created_at + Duration::hours(i64::from(hours)) {
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
    use crate::messages::digests;
    use crate::messages::tests::{config, delivery, templates, tick, today};

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
    fn a_status_reads_back_from_its_text_and_nothing_else_does() {
        for status in DeliveryStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(
            "Sent".parse::<DeliveryStatus>(),
            Err(UnknownStatus("Sent".into()))
        );
        assert!(DeliveryStatus::Retrying.is_waiting() && !DeliveryStatus::Dead.is_waiting());
    }

    /// `history --format json` writes times as the store always did.
    #[test]
    fn a_deliverys_json_keeps_its_times_as_stored_text() {
        let c = config("");
        let out = digests(&c, &templates(), &tick(&["hai"]), today()).unwrap();
        let mut d = delivery(&out[0], 5, 0, "2022-05-29T01:00:00.250+00:00");
        d.sent_at = Some(d.created_at);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["created_at"], "2022-05-29T01:00:00.250+00:00");
        assert_eq!(json["sent_at"], "2022-05-29T01:00:00.250+00:00");
        assert_eq!(json["next_attempt_at"], serde_json::Value::Null);
        assert_eq!(json["status"], "pending");
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
}
