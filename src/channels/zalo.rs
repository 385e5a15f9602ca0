//! The Zalo channel, as Zalo's Official Account and ZNS APIs document it (the facts the mock in
//! `tests/zalo/mock.py` reproduces): ZNS template messages to a phone
//! number (the main path), OA free-form text to a user id (only reaches users active in the
//! last 7 days, so -230/-232 fall back). Errors come in the JSON body with HTTP 200 and are
//! classified code by code. Tokens live in the store: one refresh at a time, the new
//! single-use pair committed before it is used, refreshed ahead of expiry; a failed refresh
//! stops the channel (deliveries fall back or stay queued) and alerts the admin once.

use super::{secret, SendError, SetupError};
use crate::config::ZaloSettings;
use crate::outbox::Delivery;
use crate::store::meta::{StopAlert, ZaloStopAlert};
use crate::store::{Ledger, Outbox, Put, StoreError, ZaloTokens};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

/// Why the admin's alert could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] crate::render::TemplateError),
}

/// Why no access token is at hand (the text is what a delivery's error and the probe say).
#[derive(Debug, thiserror::Error)]
enum TokenError {
    /// The channel stopped (a failed refresh, now or before): why.
    #[error("{0}")]
    Stopped(String),
    #[error("chưa đăng nhập Zalo: chạy `nhacviec zalo login`")]
    NotLoggedIn,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A refresh that did not happen (OAuth server or network): tried again later.
    #[error("{0}")]
    Refresh(String),
}

/// When the channel has just stopped (a failed token refresh), queues the admin's alert once.
pub fn queue_stop_alert<S: ZaloTokens + Outbox + ?Sized>(
    store: &S,
    config: &crate::config::Config,
) -> Result<(), AlertError> {
    if store.zalo_stop_alert()? != Some(StopAlert::Pending) {
        return Ok(());
    }
    let reason = store.zalo_stopped()?.unwrap_or_default();
    let mail = crate::messages::zalo_stopped(&config.email, &reason)?;
    if mail.is_empty() {
        store.set_zalo_stop_alert(StopAlert::NoAdmin)?;
    } else {
        store.record_extra(
            Ledger::of(config),
            &mail,
            &[],
            &[Put::of(Ledger::Real, &ZaloStopAlert, &StopAlert::Sent)],
            &crate::outbox::domain_of(&config.email.from),
        )?;
    }
    Ok(())
}

/// What to do about an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Refresh,
    Transient,
    /// Out of quota: the next day.
    Defer,
    /// The night window (22:00–06:00): the next morning.
    Reschedule,
    Permanent,
    /// Try the agency's next channel.
    Fallback,
}

/// Every code the reference lists, for both APIs; unknown negative codes are transient.
pub fn classify(code: i64) -> Class {
    match code {
        -216 | -220 | -124 => Class::Refresh,
        -32 | -100 => Class::Transient,
        -211 | -115 | -144 | -147 => Class::Defer,
        -234 | -133 => Class::Reschedule,
        -230 | -232 | -118 => Class::Fallback,
        -201 | -213 | -227 | -233 | -240 | -108 | -114 | -131 | -139 | -141 => Class::Permanent,
        _ => Class::Transient,
    }
}

/// Whether the last `remainingQuota` Zalo reported leaves nothing for today. Answers that
/// arrive out of order (requests in flight together) can leave any value at or below zero.
fn quota_exhausted(remaining: Option<&str>) -> bool {
    remaining.is_some_and(|r| r.trim().parse::<i64>().is_ok_and(|n| n <= 0))
}

/// 07:00 local on the next day (quotas reset at midnight).
fn next_day(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive() + Duration::days(1);
    local_time(local, 7, tz).unwrap_or(now + Duration::hours(24))
}

/// 06:30 local, today if before 06:00, else tomorrow.
fn next_morning(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    use chrono::Timelike;
    let local = now.with_timezone(&tz);
    let day = if local.hour() < 6 {
        local.date_naive()
    } else {
        local.date_naive() + Duration::days(1)
    };
    local_time(day, 6, tz).map_or(now + Duration::hours(8), |t| t + Duration::minutes(30))
}

fn local_time(day: chrono::NaiveDate, hour: u32, tz: Tz) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    tz.from_local_datetime(&day.and_hms_opt(hour, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Who an agency is on Zalo.
#[derive(Debug, Clone)]
pub struct Contact {
    pub name: String,
    /// 84xxxxxxxxx.
    pub phone: Option<String>,
    pub user_id: Option<String>,
}

pub struct Zalo {
    settings: ZaloSettings,
    secret: String,
    client: reqwest::Client,
    tz: Tz,
    contacts: HashMap<String, Contact>,
    refresh_lock: tokio::sync::Mutex<()>,
    pacer: super::pace::Pacer,
}

/// A JSON answer's error code (0 when absent), and the body.
fn code_of(body: &serde_json::Value) -> i64 {
    body.get("error")
        .and_then(|e| {
            e.as_i64()
                .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0)
}

impl Zalo {
    pub fn new(
        settings: &ZaloSettings,
        tz: Tz,
        contacts: HashMap<String, Contact>,
    ) -> Result<Zalo, SetupError> {
        let secret = secret::ZALO_SECRET_KEY
            .read()
            .ok_or_else(|| SetupError::MissingSecret {
                channel: "zalo",
                what: "app secret của Zalo",
                how: secret::ZALO_SECRET_KEY.how(),
            })?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(u64::from(
                settings.timeout_seconds,
            )))
            .build()
            .map_err(|e| SetupError::Http {
                channel: "zalo",
                reason: super::http_error(e),
            })?;
        Ok(Zalo {
            settings: settings.clone(),
            secret,
            client,
            tz,
            contacts,
            refresh_lock: tokio::sync::Mutex::new(()),
            pacer: super::pace::Pacer::per_minute(settings.rate_limit_per_minute),
        })
    }

    /// A valid access token: the stored one, or a fresh one if it is near expiry, missing, or
    /// `failed` (the one a request was just refused with). One refresh at a time.
    async fn access_token(
        &self,
        store: &dyn ZaloTokens,
        now: DateTime<Utc>,
        failed: Option<&str>,
    ) -> Result<String, TokenError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        if let Some(reason) = store.zalo_stopped()? {
            return Err(TokenError::Stopped(reason));
        }
        let Some((access, refresh, expires)) = store.zalo_token()? else {
            return Err(TokenError::NotLoggedIn);
        };
        let fresh = expires.is_some_and(|e| e > now + Duration::hours(5));
        if let Some(a) = access.as_deref() {
            if fresh && failed != Some(a) {
                return Ok(a.to_string());
            }
        }
        self.pacer.wait().await;
        let url = format!(
            "{}/v4/oa/access_token",
            self.settings.oauth_api.trim_end_matches('/')
        );
        let resp = self
            .client
            .post(&url)
            .header("secret_key", &self.secret)
            .form(&[
                ("refresh_token", refresh.as_str()),
                ("app_id", self.settings.app_id.as_str()),
                ("grant_type", "refresh_token"),
            ])
            .send()
            .await;
        let body = match resp {
            Ok(r) if r.status().is_server_error() => {
                return Err(TokenError::Refresh(format!(
                    "máy chủ OAuth Zalo lỗi HTTP {}",
                    r.status().as_u16()
                )))
            }
            Ok(r) => r.text().await.unwrap_or_default(),
            // Network trouble: the refresh token was not used; try again later.
            Err(e) => {
                return Err(TokenError::Refresh(format!(
                    "không gọi được OAuth Zalo: {}",
                    super::http_error(e)
                )))
            }
        };
        let json: serde_json::Value =
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
        let token = |k: &str| {
            json.get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        match (token("access_token"), token("refresh_token")) {
            (Some(a), Some(r)) => {
                let secs = json
                    .get("expires_in")
                    .and_then(|v| {
                        v.as_i64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    })
                    .unwrap_or(90_000);
                // The new pair is durable before the new access token is used.
                store.set_zalo_token(Some(a), r, Some(now + Duration::seconds(secs)))?;
                tracing::info!(expires_in = secs, "đã làm mới token Zalo");
                Ok(a.to_string())
            }
            _ => {
                let detail = if body.trim().is_empty() {
                    "trả lời rỗng".to_string()
                } else {
                    body.chars().take(200).collect()
                };
                let reason = format!("làm mới token Zalo thất bại ({detail}): cần đăng nhập lại bằng `nhacviec zalo login`");
                tracing::error!(reason = %reason, event = "zalo_stopped", "kênh Zalo dừng");
                store.stop_zalo(&reason)?;
                Err(TokenError::Stopped(reason))
            }
        }
    }

    fn template_data(
        &self,
        d: &Delivery,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let first = d.items.first();
        let value = |field: &str| -> String {
            match field {
                "agency" => contact.name.clone(),
                "count" => d.items.len().to_string(),
                "overdue" => d.items.iter().filter(|i| i.days < 0).count().to_string(),
                "upcoming" => d.items.iter().filter(|i| i.days >= 0).count().to_string(),
                "first_task" => first.map(|i| i.task.clone()).unwrap_or_default(),
                "first_deadline" => first
                    .map(|i| crate::dates::dmy(i.deadline))
                    .unwrap_or_default(),
                "plan" => first.map(|i| i.plan.clone()).unwrap_or_default(),
                "today" => crate::dates::dmy(now.with_timezone(&self.tz).date_naive()),
                _ => String::new(),
            }
        };
        self.settings
            .template_params
            .iter()
            .map(|(param, field)| (param.clone(), serde_json::Value::String(value(field))))
            .collect()
    }

    /// Sends one delivery; refreshes the token once when the API says it is invalid.
    pub async fn send(
        &self,
        store: &dyn ZaloTokens,
        d: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        let Some(contact) = self.contacts.get(&d.agency) else {
            return Err(SendError::Fallback(format!(
                "cơ quan {} không có liên hệ Zalo",
                d.agency
            )));
        };
        // ZNS by phone is the main path; OA text needs a user id and recent interaction.
        // A message that is not a reminder (a decision on an extension request) has nothing to
        // fill the reminder's ZNS template with: OA text when the agency has a user id.
        let template = if d.items.is_empty() && contact.user_id.is_some() {
            &None
        } else {
            &self.settings.template_id
        };
        let (url, payload) = match (&contact.phone, template, &contact.user_id) {
            (Some(phone), Some(template), _) => (
                format!(
                    "{}/message/template",
                    self.settings.zns_api.trim_end_matches('/')
                ),
                serde_json::json!({
                    "phone": phone,
                    "template_id": template,
                    "template_data": self.template_data(d, contact, now),
                    // Deterministic, at most 48 characters: the same delivery is recognisable.
                    "tracking_id": format!("nhacviec-{}", d.message_id.trim_matches(['<', '>']).chars().filter(|c| c.is_ascii_alphanumeric()).take(38).collect::<String>()),
                }),
            ),
            (_, _, Some(user)) => (
                format!(
                    "{}/v3.0/oa/message/cs",
                    self.settings.oa_api.trim_end_matches('/')
                ),
                serde_json::json!({
                    "recipient": {"user_id": user},
                    "message": {"text": d.body_text.chars().take(2000).collect::<String>()},
                }),
            ),
            _ => {
                return Err(SendError::Fallback(format!(
                    "cơ quan {} không có số điện thoại (ZNS) hay user id (OA)",
                    d.agency
                )))
            }
        };
        let is_zns = url.ends_with("/message/template");
        if is_zns {
            // Unreadable, the quota is not known: the send is tried, Zalo says.
            let today = now.with_timezone(&self.tz).date_naive();
            let (day, remaining) = store.zalo_quota().unwrap_or_default();
            if day == Some(today) && quota_exhausted(remaining.as_deref()) {
                return Err(SendError::RetryAt(
                    next_day(now, self.tz),
                    "hết hạn mức ZNS trong ngày".into(),
                ));
            }
        }
        let mut failed_token: Option<String> = None;
        for attempt in 0..2 {
            let token = match self.access_token(store, now, failed_token.as_deref()).await {
                Ok(t) => t,
                Err(reason) => {
                    return Err(SendError::Fallback(format!("kênh Zalo dừng: {reason}")))
                }
            };
            self.pacer.wait().await;
            let resp = self
                .client
                .post(&url)
                .header("access_token", &token)
                .json(&payload)
                .send()
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    return Err(SendError::Transient(format!(
                        "Zalo: {}",
                        super::http_error(e)
                    )))
                }
            };
            if resp.status().is_server_error() {
                return Err(SendError::Transient(format!(
                    "Zalo HTTP {}",
                    resp.status().as_u16()
                )));
            }
            let text = resp.text().await.unwrap_or_default();
            let Ok(body) = serde_json::from_str::<serde_json::Value>(&text) else {
                return Err(SendError::Transient(format!(
                    "Zalo trả lời không phải JSON: {}",
                    text.chars().take(100).collect::<String>()
                )));
            };
            let code = code_of(&body);
            if code >= 0 {
                if let Some(q) = body.pointer("/data/quota/remainingQuota").and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|n| n.to_string()))
                }) {
                    let _ = store.note_zalo_quota(&q, now.with_timezone(&self.tz).date_naive());
                }
                return Ok(());
            }
            let msg = format!(
                "Zalo lỗi {code}: {}",
                body.get("message").and_then(|m| m.as_str()).unwrap_or("")
            );
            match classify(code) {
                Class::Refresh if attempt == 0 => {
                    failed_token = Some(token);
                    continue;
                }
                // An unknown code is transient a bounded number of times.
                Class::Transient if d.attempts >= 5 && !matches!(code, -32 | -100) => {
                    return Err(SendError::Permanent(msg));
                }
                Class::Refresh | Class::Transient => return Err(SendError::Transient(msg)),
                Class::Defer => return Err(SendError::RetryAt(next_day(now, self.tz), msg)),
                Class::Reschedule => {
                    return Err(SendError::RetryAt(next_morning(now, self.tz), msg))
                }
                Class::Permanent => return Err(SendError::Permanent(msg)),
                Class::Fallback => return Err(SendError::Fallback(msg)),
            }
        }
        Err(SendError::Transient(
            "Zalo: token vẫn bị từ chối sau khi làm mới".into(),
        ))
    }

    /// The channel's state without sending a message: `check --environment`. Whether the
    /// channel is stopped, whether a token is stored and until when the access token lasts,
    /// and whether the OA API answers (any HTTP status will do: a GET of its base URL).
    ///
    /// With `may_refresh` (the caller holds the database alone: no service is running), an
    /// access token that is missing or near expiry is refreshed by the service's own path
    /// (`access_token`: the new single-use pair committed before anything else, a refused
    /// refresh stopping the channel as it would in the service). Without it, only the stored
    /// state is told: a refresh beside a running service could race its own, and the loser
    /// would present a refresh token already used up. A refresh is bounded by the client's
    /// `timeout_seconds` as in the service, never cut short here (the pair could be rotated
    /// at Zalo and lost here); the reachability check by at most 60 seconds.
    pub async fn probe(
        &self,
        store: &dyn ZaloTokens,
        now: DateTime<Utc>,
        may_refresh: bool,
    ) -> Result<String, super::ProbeError> {
        let limit =
            std::time::Duration::from_secs(u64::from(self.settings.timeout_seconds.min(60)));
        let api = super::redact_url(&self.settings.oa_api);
        let reach = async {
            match self
                .client
                .get(&self.settings.oa_api)
                .timeout(limit)
                .send()
                .await
            {
                Ok(r) => Ok(format!(
                    "API Zalo {api} trả lời (HTTP {})",
                    r.status().as_u16()
                )),
                Err(e) => Err(super::ProbeError::Unusable(format!(
                    "không kết nối được API Zalo: {}",
                    super::http_error(e)
                ))),
            }
        };
        let at = |t: DateTime<Utc>| crate::dates::hm_dmy(&t.with_timezone(&self.tz));
        let token = async {
            if let Some(reason) = store.zalo_stopped()? {
                return Err(super::ProbeError::Unusable(format!(
                    "kênh Zalo đang dừng: {reason}"
                )));
            }
            let Some((access, _, expires)) = store.zalo_token()? else {
                return Err(super::ProbeError::Unusable(
                    "chưa đăng nhập Zalo (nhacviec zalo login)".to_string(),
                ));
            };
            // The margin `access_token` refreshes ahead of expiry with.
            let fresh = access.is_some() && expires.is_some_and(|e| e > now + Duration::hours(5));
            if fresh || !may_refresh {
                return Ok(match (access.is_some(), expires) {
                    (true, Some(e)) if fresh => format!("access token còn hạn đến {}", at(e)),
                    (true, Some(e)) if e > now => format!(
                        "access token sắp hết hạn ({}); dịch vụ đang chạy sẽ làm mới khi gửi",
                        at(e)
                    ),
                    (true, Some(e)) => format!(
                        "access token đã hết hạn lúc {}; dịch vụ đang chạy sẽ làm mới khi gửi (không thử ở đây)",
                        at(e)
                    ),
                    (true, _) => "có access token, chưa biết hạn; dịch vụ đang chạy sẽ làm mới khi cần".to_string(),
                    (false, _) => "có refresh token, chưa có access token; dịch vụ đang chạy sẽ lấy khi gửi (không thử ở đây)".to_string(),
                });
            }
            self.access_token(store, now, None)
                .await
                .map_err(|e| super::ProbeError::Unusable(e.to_string()))?;
            let expires = store.zalo_token()?.and_then(|(_, _, e)| e);
            Ok(format!(
                "đã làm mới access token bằng refresh token (còn hạn đến {})",
                expires.map_or_else(|| "chưa biết".to_string(), at)
            ))
        };
        match tokio::join!(token, reach) {
            (Ok(t), Ok(r)) => Ok(format!("{t}; {r}")),
            (Err(t), Err(r)) => Err(super::ProbeError::Unusable(format!("{t}; {r}"))),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_exhausted_at_or_below_zero() {
        assert!(quota_exhausted(Some("0")));
        assert!(quota_exhausted(Some("-3")));
        assert!(quota_exhausted(Some(" 0 ")));
        assert!(!quota_exhausted(Some("1")));
        assert!(!quota_exhausted(Some("")));
        assert!(!quota_exhausted(None));
    }

    #[test]
    fn every_reference_code_has_its_class() {
        for c in [-216, -220, -124] {
            assert_eq!(classify(c), Class::Refresh);
        }
        for c in [-230, -232, -118] {
            assert_eq!(classify(c), Class::Fallback);
        }
        for c in [-211, -115, -144, -147] {
            assert_eq!(classify(c), Class::Defer);
        }
        for c in [-234, -133] {
            assert_eq!(classify(c), Class::Reschedule);
        }
        for c in [-201, -213, -227, -233, -240, -108, -114, -131, -139, -141] {
            assert_eq!(classify(c), Class::Permanent);
        }
        assert_eq!(classify(-32), Class::Transient);
        assert_eq!(classify(-999), Class::Transient);
    }

    #[test]
    fn deferrals_land_in_the_morning() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 23:00 local on 25/5 → 06:30 on 26/5; 03:00 local → 06:30 the same day.
        assert_eq!(
            next_morning(at("2022-05-25T16:00:00Z"), tz),
            at("2022-05-25T23:30:00Z")
        );
        assert_eq!(
            next_morning(at("2022-05-25T20:00:00Z"), tz),
            at("2022-05-25T23:30:00Z")
        );
        assert_eq!(
            next_day(at("2022-05-25T03:00:00Z"), tz),
            at("2022-05-26T00:00:00Z")
        );
    }
}
