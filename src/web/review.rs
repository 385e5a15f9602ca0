//! The monitoring office's side of the agencies' answers: it confirms a reported completion or
//! returns it with a reason (`POST /theo-doi/{key}/xac-nhan`, `/tra-lai`), and reads an
//! agency's page as the agency sees it, without its forms (`GET /theo-doi/{key}/co-quan/{id}`):
//! the office reads, it never answers as the agency.

use super::monitor::{open_monitor, refuse};
use super::{answered, html, page, Web};
use crate::answers::{self, Action};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use std::collections::HashMap;

/// `POST /theo-doi/{key}/xac-nhan` (confirm) and `/tra-lai` (return, with a reason).
pub async fn post(
    State(web): State<Web>,
    Path(key): Path<String>,
    uri: axum::http::Uri,
    body: Body,
) -> HttpResponse {
    let confirm = uri.path().ends_with("/xac-nhan");
    let now = web.now();
    let (link, config) = match open_monitor(&web, &key, now) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Nội dung gửi quá dài.");
    };
    let form: HashMap<String, String> = super::upload::urlencoded(&bytes);
    web.clone()
        .run(move |web| review_now(web, &key, confirm, &link, &config, &form, now))
        .await
}

/// The rest of [`post`], on the blocking pool.
fn review_now(
    web: &Web,
    key: &str,
    confirm: bool,
    link: &crate::links::Link,
    config: &crate::config::Config,
    form: &HashMap<String, String>,
    now: chrono::DateTime<chrono::Utc>,
) -> HttpResponse {
    let action = if confirm { "xac-nhan" } else { "tra-lai" };
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if !field("csrf").is_some_and(|c| web.inner.signer.csrf_ok(link, action, c)) {
        tracing::warn!(link = %crate::links::log_id(key), action, "trang theo dõi: biểu mẫu không có mã CSRF hợp lệ");
        return refuse(
            StatusCode::FORBIDDEN,
            "Biểu mẫu không hợp lệ hoặc đã cũ. Vui lòng tải lại trang theo dõi rồi gửi lại.",
        );
    }
    let Some(id) = field("completion").and_then(|v| v.parse::<i64>().ok()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Thiếu báo cáo hoàn thành cần xem xét.",
        );
    };
    let reason = match (confirm, field("reason")) {
        (true, _) => None,
        (false, Some(r)) if r.chars().count() <= super::page::MAX_TEXT => Some(r.to_string()),
        (false, Some(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Lý do quá dài (tối đa 2.000 ký tự).",
            )
        }
        (false, None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Cần ghi lý do trả lại: cơ quan được báo lý do này để hoàn thiện.",
            )
        }
    };
    let completion = match web.with_store(|s| s.response(id)) {
        Ok(Some(r)) if r.action == Action::Done => r,
        Ok(_) => return refuse(StatusCode::NOT_FOUND, "Không có báo cáo hoàn thành này."),
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang theo dõi: không đọc được cơ sở dữ liệu (xác nhận)");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "Máy chủ gặp sự cố lưu trữ; vui lòng thử lại sau.",
            );
        }
    };
    // A link scoped to one office reviews its plans only.
    if config.plan(&completion.plan).is_none() {
        return refuse(
            StatusCode::FORBIDDEN,
            "Báo cáo này thuộc kế hoạch không do cơ quan của liên kết theo dõi.",
        );
    }
    if !completion.awaiting_review() {
        return refuse(
            StatusCode::CONFLICT,
            match (&completion.review, completion.undone_at) {
                (Some(r), _) if r.confirmed => {
                    "Báo cáo này đã được xác nhận trước đó; không ghi lại lần nữa."
                }
                (Some(_), _) => {
                    "Báo cáo này đã bị trả lại trước đó; cơ quan sẽ báo lại khi hoàn thiện."
                }
                (None, _) => "Cơ quan đã rút lại báo cáo này; không còn gì để xem xét.",
            },
        );
    }
    let messages = match &reason {
        Some(why) => {
            let agency_link = config.web.as_ref().map(|w| {
                format!(
                    "{}/a/{}",
                    w.public_url,
                    web.inner.signer.sign(&completion.agency, now)
                )
            });
            match crate::outbox::returned_notice(config, &completion, why, agency_link.as_deref())
            {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, "trang theo dõi: không tạo được thư trả lại");
                    vec![]
                }
            }
        }
        None => vec![],
    };
    let domain = crate::outbox::domain_of(&config.email.from);
    let recorded = web.with_store(|s| {
        s.review_completion(id, confirm, reason.as_deref(), &messages, &domain, now)
    });
    match recorded {
        Ok(true) => {
            tracing::info!(agency = %completion.agency, plan = %completion.plan, task = %completion.task, response = id, action, told = messages.len(), "trang theo dõi: đã xem xét báo cáo hoàn thành");
            let notice = match (confirm, messages.is_empty()) {
                (true, _) => "confirmed",
                (false, false) => "returned",
                (false, true) => "returned-untold",
            };
            (
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    format!("/theo-doi/{key}?ok={notice}#xac-nhan"),
                )],
            )
                .into_response()
        }
        Ok(false) => refuse(
            StatusCode::CONFLICT,
            "Báo cáo này vừa được xem xét hoặc vừa bị cơ quan rút lại. Tải lại trang theo dõi.",
        ),
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang theo dõi: không ghi được việc xem xét");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "Máy chủ gặp sự cố lưu trữ; chưa ghi nhận. Vui lòng thử lại sau.",
            )
        }
    }
}

/// `GET /theo-doi/{key}/co-quan/{agency}`: the agency's page as it sees it, read-only.
pub async fn agency(
    State(web): State<Web>,
    Path((key, agency)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> HttpResponse {
    web.clone()
        .run(move |web| agency_now(web, &key, &agency, &uri))
        .await
}

fn agency_now(web: &Web, key: &str, agency: &str, uri: &axum::http::Uri) -> HttpResponse {
    let web = web.clone();
    let agency = agency.to_string();
    let now = web.now();
    let (link, config) = match open_monitor(&web, &key, now) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let assigned = config.plans.iter().any(|p| {
        p.tasks
            .iter()
            .any(|t| t.lead.contains(&agency) || t.support.contains(&agency))
    });
    if config.agency(&agency).is_none() || !assigned {
        return html(StatusCode::NOT_FOUND, page::not_found());
    }
    let (answered, responses) = match answered(&web, &config, &agency) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let today = super::today(&config, now);
    let views = answers::agency_view(&answered, &agency, today, &responses);
    let query = page::PageQuery::parse(uri.query());
    let id: String = url::form_urlencoded::byte_serialize(agency.as_bytes()).collect();
    html(
        StatusCode::OK,
        page::agency(&page::AgencyPage {
            config: &answered,
            signer: &web.inner.signer,
            link: &link,
            agency: &agency,
            base: format!("/theo-doi/{key}/co-quan/{id}"),
            files: format!("/theo-doi/{key}"),
            feed: None,
            today,
            now,
            views: &views,
            responses: &responses,
            evidence: &super::upload::attached(&web),
            query: &query,
            who: answers::Who::default(),
            read_only: true,
        }),
    )
}
