//! What a handler is given already checked: the agency's link (`AgencyLink`) and the
//! dashboard's key (`MonitorKey`), each one access check and one count against the rate limit;
//! a form's and a query's fields as a typed struct (`Posted`, `Params`, [`typed`]).

use super::error::WebError;
use super::guard::{self, Reason};
use super::{page, Web};
use crate::config::Config;
use crate::links::{self, Link, LinkError};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

/// The path parameter `name` (`{token}`, `{key}`), or the 404 of an unknown page.
async fn param(parts: &mut Parts, web: &Web, name: &str) -> Result<String, WebError> {
    let params = RawPathParams::from_request_parts(parts, web)
        .await
        .map_err(|_| WebError::not_found())?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .ok_or_else(WebError::not_found)
}

fn too_many(message: &str) -> WebError {
    WebError::new(StatusCode::TOO_MANY_REQUESTS, "Quá nhiều yêu cầu", message).retry_after(60)
}

/// `/a/{token}`: an agency's link, valid, of an agency still in the config.
pub struct AgencyLink {
    pub token: String,
    pub link: Link,
    pub config: Arc<Config>,
}

impl AgencyLink {
    /// The link checked (counted against its rate limit first).
    pub fn check(web: &Web, token: &str, now: DateTime<Utc>) -> Result<AgencyLink, WebError> {
        let id = links::log_id(token);
        if !web.allow(&id) {
            return Err(too_many("Liên kết này được dùng quá nhiều lần trong một phút. Vui lòng chờ một phút rồi thử lại."));
        }
        let config = web.config();
        match web.inner.signer.verify(token, now) {
            Ok(link) if config.agency(&link.agency).is_some() => Ok(AgencyLink {
                token: token.to_string(),
                link,
                config,
            }),
            Ok(link) => {
                web.reject(
                    Reason::UnknownAgency,
                    &id,
                    Some(&link.agency),
                    "trang: liên kết của cơ quan không còn trong cấu hình",
                );
                Err(WebError::not_found())
            }
            Err(LinkError::Invalid) => {
                web.reject(Reason::Invalid, &id, None, "trang: liên kết không hợp lệ");
                Err(WebError::not_found())
            }
            Err(LinkError::Expired { agency, expired }) => {
                web.reject(
                    Reason::Expired,
                    &id,
                    Some(&agency),
                    "trang: liên kết hết hạn",
                );
                Err(WebError::rendered(
                    StatusCode::GONE,
                    page::expired(&config, &agency, expired),
                ))
            }
        }
    }

    pub fn agency(&self) -> &str {
        &self.link.agency
    }
}

impl FromRequestParts<Web> for AgencyLink {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, WebError> {
        let token = param(parts, web, "token").await?;
        AgencyLink::check(web, &token, web.now())
    }
}

/// `/a/{feed token}/lich.ics`: a calendar feed's read-only token (never an answer link), of an
/// agency still in the config; the agency.
pub struct FeedLink {
    pub agency: String,
    pub config: Arc<Config>,
}

impl FromRequestParts<Web> for FeedLink {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, WebError> {
        let token = param(parts, web, "token").await?;
        let id = links::log_id(&token);
        if !web.allow(&id) {
            return Err(too_many("Vui lòng chờ một phút rồi thử lại."));
        }
        let config = web.config();
        let agency = match web.inner.signer.verify_feed(&token, web.now()) {
            Ok(link) => link.agency,
            Err(LinkError::Expired { agency, .. }) => {
                web.reject(
                    Reason::Expired,
                    &id,
                    Some(&agency),
                    "trang: lịch với địa chỉ hết hạn",
                );
                return Err(WebError::not_found());
            }
            Err(LinkError::Invalid) => {
                web.reject(
                    Reason::Invalid,
                    &id,
                    None,
                    "trang: lịch với địa chỉ không hợp lệ",
                );
                return Err(WebError::not_found());
            }
        };
        if config.agency(&agency).is_none() {
            web.reject(
                Reason::UnknownAgency,
                &id,
                Some(&agency),
                "trang: lịch của cơ quan không còn trong cấu hình",
            );
            return Err(WebError::not_found());
        }
        Ok(FeedLink { agency, config })
    }
}

/// `/theo-doi/{key}`: the dashboard's key (a signed link for [`links::MONITOR`] or a scope of
/// it, or the key hashed in `[web] admin_token`); `config` is scoped for a scoped link.
pub struct MonitorKey {
    pub key: String,
    pub link: Link,
    pub config: Arc<Config>,
}

impl MonitorKey {
    /// The key checked: counted against its rate limit, and while too many wrong keys are
    /// being tried only a key already seen to work is checked (a guesser gets the same 429 for
    /// every key, right or wrong).
    pub fn check(web: &Web, key: &str, now: DateTime<Utc>) -> Result<MonitorKey, WebError> {
        let id = links::log_id(key);
        if !web.allow(&id) {
            return Err(too_many("Vui lòng chờ một phút rồi thử lại."));
        }
        let secs = web.secs();
        if let Some(wait) = web.guards(|g| g.keys.blocked(&id, secs)) {
            web.reject(Reason::DashboardBlocked, &id, None, "");
            return Err(blocked(wait));
        }
        let opened = check_key(web, key, &id, now);
        match &opened {
            Ok(_) => web.guards(|g| g.keys.succeeded(&id)),
            Err(_) => {
                if let Some(wait) = web.guards(|g| g.keys.failed(secs)) {
                    tracing::warn!(
                        event = "dashboard_keys_blocked",
                        seconds = wait,
                        "trang theo dõi: quá {} khóa sai trong một phút, tạm ngừng kiểm tra khóa mới trong {} giây (có người dò khóa?)",
                        guard::FAILED_KEYS_PER_MINUTE,
                        wait
                    );
                }
            }
        }
        opened.map(|(link, config)| MonitorKey {
            key: key.to_string(),
            link,
            config,
        })
    }

    /// Whether the key is a link for one office (`admin-link --agency`).
    pub fn scoped(&self) -> bool {
        links::dashboard_scope(&self.link.agency).is_some_and(|scope| scope.is_some())
    }
}

impl FromRequestParts<Web> for MonitorKey {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, WebError> {
        let key = param(parts, web, "key").await?;
        MonitorKey::check(web, &key, web.now())
    }
}

/// The 429 of a blocked dashboard key, with the wait.
fn blocked(wait: u64) -> WebError {
    let minutes = wait.div_ceil(60);
    WebError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Quá nhiều lần thử khóa sai",
        format!(
            "Trang theo dõi vừa bị thử quá nhiều khóa sai. Vui lòng thử lại sau {minutes} phút."
        ),
    )
    .retry_after(wait)
}

/// The key checked: the configured key's hash or a dashboard's signed link.
fn check_key(
    web: &Web,
    key: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(Link, Arc<Config>), WebError> {
    let config = web.config();
    if let Some(w) = config.web.as_ref().filter(|w| w.admin_key_matches(key)) {
        if let Some(hash) = w.admin_token {
            return Ok((Link::monitor_key(&hash), config));
        }
    }
    let refused = || {
        web.reject(
            Reason::DashboardKey,
            id,
            None,
            "trang theo dõi: khóa không hợp lệ",
        );
        WebError::not_found()
    };
    match web.inner.signer.verify(key, now) {
        Ok(link) => match links::dashboard_scope(&link.agency) {
            Some(None) => Ok((link, config)),
            // A link for one office (`admin-link --agency`): only the plans it monitors.
            Some(Some(agency)) => {
                let scoped = web.scoped(&config, agency);
                Ok((link, scoped))
            }
            None => Err(refused()),
        },
        Err(LinkError::Expired { agency, .. }) if links::dashboard_scope(&agency).is_some() => {
            web.reject(
                Reason::Expired,
                id,
                None,
                "trang theo dõi: liên kết hết hạn",
            );
            Err(WebError::new(
                StatusCode::GONE,
                "Liên kết đã hết hạn",
                "Liên kết trang theo dõi này đã hết hạn. Người quản trị tạo liên kết mới bằng lệnh nhacviec admin-link.",
            ))
        }
        _ => Err(refused()),
    }
}

/// `fields` as `T` (its fields `Option<String>`): each value trimmed, a blank one left out (a
/// blank field is a missing one). Keys `T` does not name are ignored.
pub fn typed<T: DeserializeOwned>(fields: &HashMap<String, String>) -> Result<T, WebError> {
    let mut encoded = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        let v = v.trim();
        if !v.is_empty() {
            encoded.append_pair(k, v);
        }
    }
    serde_urlencoded::from_str(&encoded.finish()).map_err(|_| {
        WebError::refused(
            StatusCode::BAD_REQUEST,
            "Biểu mẫu gửi lên không đọc được. Vui lòng tải lại trang rồi gửi lại.",
        )
    })
}

/// An urlencoded form of the dashboard, at most [`super::MAX_BODY`] bytes, each value cleaned
/// as stored ([`crate::text::clean_form_text`]), as `T`.
pub struct Posted<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Web> for Posted<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, _: &Web) -> Result<Self, WebError> {
        let bytes = axum::body::to_bytes(request.into_body(), super::MAX_BODY)
            .await
            .map_err(|_| {
                WebError::refused(StatusCode::PAYLOAD_TOO_LARGE, "Nội dung gửi quá dài.")
            })?;
        typed(&urlencoded(&bytes)).map(Posted)
    }
}

/// A page's query as `T` (a key given twice: its last value).
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        let pairs: HashMap<String, String> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        typed(&pairs).map(Params)
    }
}

/// A urlencoded form's fields, each value cleaned as stored ([`crate::text::clean_form_text`]).
pub fn urlencoded(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), crate::text::clean_form_text(&v)))
        .collect()
}
