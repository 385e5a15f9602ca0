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

    /// Whether the receiver can be reached, sending it nothing: `check --environment`. Its
    /// host is resolved, a TCP connection opened and, for https, a TLS handshake completed
    /// (the certificate checked), then the connection is closed before any HTTP byte.
    ///
    /// No HTTP request at all, not even HEAD or OPTIONS: a receiver may act on any request
    /// to its URL (some bridges treat every method alike), and a check must never post a
    /// reminder. reqwest cannot handshake without a request, so the handshake is lettre's
    /// (the only tokio TLS client among our dependencies): rustls with the platform
    /// verifier, the same trust reqwest's `rustls` feature gives the real client. The
    /// connection goes straight to the host: a proxy from the environment (`HTTPS_PROXY`,
    /// which reqwest honours) is not tried, and the answer says so. Each step is bounded by
    /// `timeout_seconds`.
    pub async fn probe(&self) -> Result<String, super::ProbeError> {
        // Deprecated by lettre ("not meant to be made public") yet public through 0.11, which
        // Cargo.toml pins. Should a later lettre drop it, probe with DNS and TCP only and say
        // that TLS was not tried.
        #[allow(deprecated)]
        use lettre::transport::smtp::client::AsyncNetworkStream;
        use lettre::transport::smtp::client::TlsParameters;
        let shown = super::redact_url(&self.settings.url);
        let url = url::Url::parse(self.settings.url.trim())
            .map_err(|e| format!("địa chỉ webhook {shown} không hợp lệ: {e}"))?;
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(super::ProbeError::Unusable(format!(
                "địa chỉ webhook {shown} không có tên máy hoặc cổng"
            )));
        };
        let server = format!("{host}:{port}");
        // url keeps the brackets of an IPv6 literal; resolving and TLS want the address.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let limit = Duration::from_secs(u64::from(self.settings.timeout_seconds));
        let late = |what: &str| {
            format!(
                "{what} {server} không xong sau {} giây (webhook {shown})",
                limit.as_secs()
            )
        };
        let addrs: Vec<std::net::SocketAddr> =
            tokio::time::timeout(limit, tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| late("phân giải tên"))?
                .map_err(|e| format!("không phân giải được tên {host} (webhook {shown}): {e}"))?
                .collect();
        if addrs.is_empty() {
            return Err(super::ProbeError::Unusable(format!(
                "tên {host} không có địa chỉ nào (webhook {shown})"
            )));
        }
        // Each address in turn, as the HTTP client does.
        let mut tcp = None;
        let mut last = String::new();
        for addr in &addrs {
            match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    tcp = Some((s, *addr));
                    break;
                }
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr}: không trả lời sau {} giây", limit.as_secs()),
            }
        }
        let Some((tcp, addr)) = tcp else {
            return Err(super::ProbeError::Unusable(format!(
                "không kết nối được {server} (webhook {shown}): {last}"
            )));
        };
        let proxy = [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        let note = if proxy {
            "; đã thử kết nối thẳng, không qua proxy trong biến môi trường"
        } else {
            ""
        };
        if url.scheme() != "https" {
            return Ok(format!(
                "{server} nhận kết nối ({addr}), http không mã hóa, chưa gửi gì{note}"
            ));
        }
        /// A failed TLS handshake with the webhook's receiver, said as what to check.
        fn tls_refusal(
            e: &lettre::transport::smtp::Error,
            server: &str,
            host: &str,
            shown: &str,
        ) -> String {
            use super::tls_diag::CertProblem;
            let head = format!("không tin được chứng chỉ TLS của {server} (webhook {shown})");
            match super::tls_diag::problem(e) {
                Some(CertProblem::UnknownIssuer | CertProblem::CaAsServer) => {
                    format!("{head}: chứng chỉ không do tổ chức cấp chứng chỉ nào máy này tin cậy cấp")
                }
                Some(CertProblem::WrongName) => {
                    format!("{head}: chứng chỉ không cấp cho tên \"{host}\" trong url")
                }
                Some(CertProblem::Expired) => format!("{head}: chứng chỉ đã hết hạn"),
                Some(CertProblem::NotYetValid) => {
                    format!("{head}: chứng chỉ chưa có hiệu lực; kiểm tra đồng hồ của máy này")
                }
                Some(CertProblem::NotTls) => format!(
                    "{server} không trả lời bằng TLS (webhook {shown}): kiểm tra https:// hay http:// trong url"
                ),
                Some(CertProblem::Other(why)) => format!("lỗi TLS với {server} (webhook {shown}): {why}"),
                None => format!(
                    "bắt tay TLS với {server} không thành công (webhook {shown}): {}",
                    super::error_chain(e)
                ),
            }
        }
        let params = TlsParameters::new(host.to_string())
            .map_err(|e| format!("không chuẩn bị được TLS cho {server}: {e}"))?;
        #[allow(deprecated)]
        let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
        match tokio::time::timeout(limit, stream.upgrade_tls(params)).await {
            Err(_) => Err(late("bắt tay TLS với").into()),
            Ok(Err(e)) => Err(tls_refusal(&e, &server, host, &shown).into()),
            Ok(Ok(())) => Ok(format!(
                "{server} nhận kết nối ({addr}), TLS hợp lệ, chưa gửi gì{note}"
            )),
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
