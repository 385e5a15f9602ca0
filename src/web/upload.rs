//! Evidence on the agencies' forms: a form's fields and its optional file (`tep`), from an
//! urlencoded body (as before) or a `multipart/form-data` one; the file's type checked by its
//! content ([`crate::evidence`]); the download of a stored file, for its agency or the
//! monitoring office.
//!
//! Bounds: an urlencoded body at most [`super::MAX_BODY`]; a multipart body at most
//! `[web] max_upload_mb` + [`MULTIPART_SLACK`] (refused at once from its Content-Length,
//! else when the stream passes it: a 200 MB upload is never read whole), each text field at
//! most [`super::MAX_BODY`], one file at most `max_upload_mb`.

use super::error::WebError;
use super::extract::AgencyLink;
use super::Web;
use crate::answers::NewResponse;
use crate::config::web::{DEFAULT_MAX_UPLOAD_MB, DEFAULT_UPLOAD_QUOTA_MB};
use crate::config::Config;
use crate::evidence::{self, Evidence, Kind};
use crate::store::{NewEvidence, RecordError};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Room for a multipart body's text fields and part headers beside its file.
pub const MULTIPART_SLACK: u64 = 64 * 1024;

/// A file as posted, not checked yet.
pub(crate) struct Posted {
    pub name: String,
    pub bytes: Bytes,
}

/// A file whose content is its declared type.
pub(crate) struct Upload {
    pub name: String,
    pub kind: Kind,
    pub sha256: String,
    pub bytes: Bytes,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> WebError {
    WebError::refused(status, message)
}

/// `[web] max_upload_mb` and `upload_quota_mb`, in bytes.
fn limits(config: &Config) -> (u64, u64) {
    match &config.web {
        Some(w) => (w.max_upload_bytes(), w.upload_quota_bytes()),
        None => (
            u64::from(DEFAULT_MAX_UPLOAD_MB) << 20,
            u64::from(DEFAULT_UPLOAD_QUOTA_MB) << 20,
        ),
    }
}

fn max_mb(config: &Config) -> u32 {
    config
        .web
        .as_ref()
        .map_or(DEFAULT_MAX_UPLOAD_MB, |w| w.max_upload_mb)
}

fn too_large(config: &Config) -> WebError {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "Tệp kèm quá lớn: mỗi câu trả lời kèm được một tệp tối đa {} MB. Vui lòng nén hoặc chia nhỏ tệp (ví dụ chỉ gửi trang có chữ ký) rồi gửi lại.",
            max_mb(config)
        ),
    )
}

/// The form's fields and its file (`tep`), if one was chosen. `Err` is the page to answer
/// with (413 past the limits, 400 for a body that is not a form).
pub(crate) async fn read_form(
    config: &Config,
    request: Request,
) -> Result<(HashMap<String, String>, Option<Posted>), WebError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !multipart {
        let bytes = axum::body::to_bytes(request.into_body(), super::MAX_BODY)
            .await
            .map_err(|_| {
                refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "Nội dung gửi quá dài. Ghi chú, tiến độ và lý do tối đa {} ký tự.",
                        super::page::MAX_TEXT
                    ),
                )
            })?;
        return Ok((super::extract::urlencoded(&bytes), None));
    }
    let (max_file, _) = limits(config);
    let max_body = max_file + MULTIPART_SLACK;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(too_large(config));
    }
    // The route disables axum's default limit; this one counts every byte read.
    let request = request.map(|b| {
        Body::new(http_body_util::Limited::new(
            b,
            usize::try_from(max_body).unwrap_or(usize::MAX),
        ))
    });
    let unreadable = || {
        refuse(
            StatusCode::BAD_REQUEST,
            "Biểu mẫu gửi lên không đọc được. Vui lòng tải lại trang rồi gửi lại.",
        )
    };
    let mut parts = Multipart::from_request(request, &())
        .await
        .map_err(|_| unreadable())?;
    let failed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(config)
        } else {
            unreadable()
        }
    };
    let mut form = HashMap::new();
    let mut file: Option<Posted> = None;
    while let Some(mut field) = parts.next_field().await.map_err(failed)? {
        let key = field.name().unwrap_or_default().to_string();
        if key == "tep" {
            let name = evidence::clean_name(field.file_name().unwrap_or_default());
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(failed)? {
                if (bytes.len() + chunk.len()) as u64 > max_file {
                    return Err(too_large(config));
                }
                bytes.extend_from_slice(&chunk);
            }
            // A form sent without choosing a file has an empty part with no name.
            if name.is_empty() && bytes.is_empty() {
                continue;
            }
            if file.is_some() {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "Mỗi câu trả lời kèm được một tệp.",
                ));
            }
            file = Some(Posted {
                name,
                bytes: Bytes::from(bytes),
            });
        } else {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(failed)? {
                if bytes.len() + chunk.len() > super::MAX_BODY {
                    return Err(refuse(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "Nội dung gửi quá dài. Ghi chú, tiến độ và lý do tối đa {} ký tự.",
                            super::page::MAX_TEXT
                        ),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(bytes).map_err(|_| unreadable())?;
            form.insert(key, crate::text::clean_form_text(&text));
        }
    }
    Ok((form, file))
}

/// The posted file checked: its content must be what its name says. `Err` is the 422 page.
pub(crate) fn check(file: Option<Posted>) -> Result<Option<Upload>, WebError> {
    let Some(file) = file else {
        return Ok(None);
    };
    match evidence::check(&file.name, &file.bytes) {
        Ok(kind) => Ok(Some(Upload {
            sha256: evidence::sha256_hex(&file.bytes),
            name: file.name,
            kind,
            bytes: file.bytes,
        })),
        Err(refusal) => {
            tracing::info!(%refusal, "trang: tệp kèm bị từ chối");
            Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                refusal.to_string(),
            ))
        }
    }
}

/// Records the answer with its file (one transaction; the file removed again if the answer
/// is not recorded).
/// `guard` runs first, in the same hold of the store (nothing is recorded between its check
/// and the answer): a page it returns refuses the answer, nothing stored.
pub(crate) fn record(
    web: &Web,
    config: &Config,
    new: &NewResponse,
    upload: Option<&Upload>,
    now: DateTime<Utc>,
    guard: impl FnOnce(&dyn crate::store::Answers) -> Result<(), WebError>,
) -> Result<Result<i64, RecordError>, WebError> {
    let (_, quota) = limits(config);
    let file = upload.map(|u| NewEvidence {
        name: &u.name,
        kind: u.kind,
        sha256: &u.sha256,
        bytes: &u.bytes,
    });
    web.answering(|s| {
        guard(s)?;
        Ok(s.record_response_with_evidence(new, file.as_ref(), quota, now))
    })
}

/// The page for an answer not recorded because of its file: over the quota (507, with the
/// reason), or the file not written (503).
pub(crate) fn not_stored(e: &RecordError) -> WebError {
    match e {
        RecordError::Quota { .. } => {
            tracing::warn!(error = %e, event = "upload_quota", "trang: đã hết dung lượng tệp kèm ([web] upload_quota_mb)");
            refuse(
                StatusCode::INSUFFICIENT_STORAGE,
                "Máy chủ đã dùng hết dung lượng dành cho tệp kèm ([web] upload_quota_mb), nên câu trả lời chưa được ghi. Vui lòng gửi lại không kèm tệp (ghi số văn bản) và báo cơ quan theo dõi.",
            )
        }
        _ => {
            tracing::error!(error = %e, "trang: không ghi được tệp kèm");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "Máy chủ gặp sự cố lưu trữ; câu trả lời và tệp kèm chưa được ghi. Vui lòng thử lại sau ít phút.",
            )
        }
    }
}

/// The files attached to answers, by response id (none when the store cannot say: a page
/// still shows).
pub(crate) fn attached(web: &Web) -> HashMap<i64, Evidence> {
    web.with_store(|s| s.evidence()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "web: evidence read failed");
        HashMap::new()
    })
}

/// `GET /a/{token}/tep/{sha256}`: a file attached to one of the agency's own answers.
pub(crate) async fn agency_download(
    axum::extract::State(web): axum::extract::State<Web>,
    agency: AgencyLink,
    axum::extract::Path((_, sha256)): axum::extract::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    web.run(move |web| download(web, &sha256, Some(agency.agency())))
        .await
}

/// The stored file `sha256` of `agency`'s answers (any agency's for `None`); the same 404 as
/// an unknown page when there is none.
/// Blocks: on the blocking pool only ([`Web::run`]).
pub(crate) fn download(
    web: &Web,
    sha256: &str,
    agency: Option<&str>,
) -> Result<HttpResponse, WebError> {
    if !evidence::is_sha256_hex(sha256) {
        return Err(WebError::not_found());
    }
    let found = web.with_store(|s| -> Result<_, crate::store::StoreError> {
        let Some(e) = s.evidence_of(sha256, agency)? else {
            return Ok(None);
        };
        let Some(kind) = Kind::from_media_type(&e.media_type) else {
            return Ok(None);
        };
        Ok(s.evidence_bytes(sha256, kind)?
            .map(|bytes| (bytes, e, kind)))
    });
    let (bytes, found, kind) = match found {
        Ok(Some(x)) => x,
        Ok(None) => return Err(WebError::not_found()),
        Err(e) => {
            return Err(super::error::store_failed(
                &e,
                "trang: không đọc được cơ sở dữ liệu (tệp kèm)",
                "Chưa ghi nhận",
                "Máy chủ gặp sự cố lưu trữ; vui lòng thử lại sau.",
            ))
        }
    };
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&evidence::content_disposition(&found.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    for (k, v) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, "sandbox"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    Ok(resp)
}
