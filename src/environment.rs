//! `nhacviec check --environment`: after the config check, each configured service is asked
//! whether it would take our deliveries, without sending anything. Email always (the SMTP
//! server: greeting, EHLO, TLS, login, QUIT; or, for the file transport, that the mail
//! directory can be written), Zalo and the webhook when configured. One [`Outcome`] each;
//! the probes run together, each bounded by its channel's `timeout_seconds` (at most
//! [`MAX_WAIT`]).
//!
//! An edge module like `deliver`: it builds the senders as the service does
//! (`channels::Sender::build`) and opens the store beside it.

use crate::channels::{ProbeError, Sender};
use crate::config::{Channel, Config};
use crate::daemon::DB_FILE;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// The longest a probe waits, whatever the channel's `timeout_seconds`.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// What `check --environment` says when the config has errors.
pub const SKIPPED: &str =
    "Cấu hình có lỗi: chưa kiểm tra kết nối tới các dịch vụ (sửa lỗi rồi chạy lại).";

/// How one service answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The channel's service (shown by its name: "email", "zalo", "webhook").
    pub service: Channel,
    pub ok: bool,
    /// What answered (ok), or why not (in Vietnamese, URLs redacted).
    pub detail: String,
}

impl Outcome {
    fn of(service: Channel, result: Result<String, ProbeError>) -> Outcome {
        let ok = result.is_ok();
        Outcome {
            service,
            ok,
            detail: result.unwrap_or_else(|e| e.to_string()),
        }
    }
}

/// Asks every configured service, together; email first, then Zalo, then the webhook.
/// Needs a tokio runtime (SMTP pools are built in it).
pub async fn probe(config_dir: &Path, config: &Config, now: DateTime<Utc>) -> Vec<Outcome> {
    let state_dir =
        crate::deliver::state_dir(config_dir, config).map_err(|e| ProbeError::State(e.to_string()));
    let state = state_dir.as_deref();
    let email = async {
        let state = state.map_err(Clone::clone)?;
        let Sender::Email(mailer) = Sender::build(Channel::Email, config, state)? else {
            return Err(ProbeError::Unusable("kênh email không dựng được".into()));
        };
        bounded(config.email.timeout_seconds, mailer.probe(state)).await
    };
    let zalo = async {
        if config.zalo.is_none() {
            return Ok(None);
        }
        zalo(config, state.map_err(Clone::clone)?, now)
            .await
            .map(Some)
    };
    let webhook = async {
        let Some(settings) = &config.webhook else {
            return Ok(None);
        };
        let Sender::Webhook(hook) = Sender::build(Channel::Webhook, config, Path::new(""))? else {
            return Err(ProbeError::Unusable("kênh webhook không dựng được".into()));
        };
        bounded(settings.timeout_seconds, hook.probe())
            .await
            .map(Some)
    };
    let (email, zalo, webhook) = tokio::join!(email, zalo, webhook);
    let mut out = vec![Outcome::of(Channel::Email, email)];
    for (service, result) in [(Channel::Zalo, zalo), (Channel::Webhook, webhook)] {
        match result {
            Ok(None) => {}
            Ok(Some(detail)) => out.push(Outcome::of(service, Ok(detail))),
            Err(e) => out.push(Outcome::of(service, Err(e))),
        }
    }
    out
}

/// The Zalo channel, with the store beside a running service or, when none runs, held
/// alone (then an expired access token may be refreshed, saved as the service saves it).
async fn zalo(config: &Config, state: &Path, now: DateTime<Utc>) -> Result<String, ProbeError> {
    let Sender::Zalo(zalo) = Sender::build(Channel::Zalo, config, state)? else {
        return Err(ProbeError::Unusable("kênh Zalo không dựng được".into()));
    };
    let path = state.join(DB_FILE);
    if !path.exists() {
        return Err(ProbeError::Unusable(
            "chưa đăng nhập Zalo (nhacviec zalo login)".into(),
        ));
    }
    let (store, alone) = match Store::open_writer(&path) {
        Ok(s) => (s, true),
        Err(StoreError::Locked { .. }) => (Store::open_reader(&path)?, false),
        Err(e) => return Err(e.into()),
    };
    // Bounded inside: a refresh is never cut short (see `Zalo::probe`).
    zalo.probe(&store, now, alone).await
}

/// `probe`, given `timeout_seconds` (at most [`MAX_WAIT`]).
async fn bounded(
    timeout_seconds: u32,
    probe: impl Future<Output = Result<String, ProbeError>>,
) -> Result<String, ProbeError> {
    let limit = Duration::from_secs(u64::from(timeout_seconds)).min(MAX_WAIT);
    tokio::time::timeout(limit, probe)
        .await
        .unwrap_or(Err(ProbeError::Timeout(limit.as_secs())))
}

/// The lines of `check --environment`: the service, then "ok: …" or "LỖI: …", aligned.
pub fn render_text(outcomes: &[Outcome]) -> String {
    let mut out = String::from("\nKết nối tới các dịch vụ (không gửi gì):\n");
    for o in outcomes {
        let verdict = if o.ok { "ok" } else { "LỖI" };
        out.push_str(&format!(
            "{:<8} {verdict}: {}\n",
            o.service.name(),
            o.detail
        ));
    }
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    if failed > 0 {
        out.push_str(&format!(
            "{failed}/{} dịch vụ không dùng được.\n",
            outcomes.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_aligned_and_failures_counted() {
        let text = render_text(&[
            Outcome::of(Channel::Email, Ok("smtp.example.org:587 trả lời".into())),
            Outcome::of(
                Channel::Webhook,
                Err(ProbeError::Unusable("không kết nối được".into())),
            ),
        ]);
        assert!(
            text.contains("\nemail    ok: smtp.example.org:587 trả lời\n"),
            "{text}"
        );
        assert!(
            text.contains("\nwebhook  LỖI: không kết nối được\n"),
            "{text}"
        );
        assert!(text.ends_with("1/2 dịch vụ không dùng được.\n"), "{text}");
    }
}
