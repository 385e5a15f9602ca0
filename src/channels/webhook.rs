//! The webhook channel: a JSON body rendered from a template, POSTed with the configured
//! headers and an HMAC-SHA256 signature over the body (`X-Nhacviec-Signature: sha256=<hex>`),
//! so a receiver (a chat bridge, another system) can check it came from us.

use super::{secret, SendError, SetupError};
use crate::config::WebhookSettings;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "X-Nhacviec-Signature";

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| {
        // HMAC takes keys of any length; this branch cannot be reached.
        <Hmac<Sha256> as Mac>::new_from_slice(b"-").expect("HMAC accepts any key length")
    });
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct Webhook {
    settings: WebhookSettings,
    secret: String,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(settings: &WebhookSettings) -> Result<Webhook, SetupError> {
        let secret = secret::WEBHOOK_SECRET
            .read()
            .ok_or_else(|| SetupError::MissingSecret {
                channel: "webhook",
                what: "khóa ký webhook",
                how: secret::WEBHOOK_SECRET.how(),
            })?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(u64::from(settings.timeout_seconds)))
            .build()
            .map_err(|e| SetupError::Http {
                channel: "webhook",
                reason: super::http_error(e),
            })?;
        Ok(Webhook {
            settings: settings.clone(),
            secret,
            client,
        })
    }

    /// POSTs one body. 2xx is success; 408, 429 (after Retry-After), 5xx and network errors
    /// retry; other statuses are permanent.
    pub async fn send(&self, body: &str, id: i64, now: DateTime<Utc>) -> Result<(), SendError> {
        let mut req = self
            .client
            .post(&self.settings.url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("X-Nhacviec-Delivery", id.to_string())
            .header(SIGNATURE_HEADER, signature(&self.secret, body.as_bytes()));
        for (k, v) in &self.settings.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = match req.body(body.to_string()).send().await {
            Ok(r) => r,
            Err(e) => {
                return Err(SendError::Transient(format!(
                    "webhook: {}",
                    super::http_error(e)
                )))
            }
        };
        let status = resp.status();
        if status.is_success() {
            // Read the (small) answer to its end: an unread body closes the connection, and
            // each POST would then pay for a new one.
            let mut resp = resp;
            let mut read = 0;
            while let Ok(Some(chunk)) = resp.chunk().await {
                read += chunk.len();
                if read > 64 * 1024 {
                    break;
                }
            }
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now));
        let text: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let msg = format!("webhook HTTP {}: {text}", status.as_u16());
        match status.as_u16() {
            408 | 429 | 500..=599 => match retry_after {
                Some(at) => Err(SendError::RetryAt(at, msg)),
                None => Err(SendError::Transient(msg)),
            },
            _ => Err(SendError::Permanent(msg)),
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(v: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(secs) = v.trim().parse::<i64>() {
        return Some(now + chrono::Duration::seconds(secs.clamp(0, 7 * 24 * 3600)));
    }
    DateTime::parse_from_rfc2822(v.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2022-05-25T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            retry_after("120", now),
            Some(now + chrono::Duration::seconds(120))
        );
        assert_eq!(
            retry_after("Wed, 25 May 2022 01:05:00 GMT", now),
            Some(now + chrono::Duration::minutes(5))
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
