//! The monitoring office's side of the agencies' answers: it confirms a reported completion or
//! returns it with a reason (`POST /theo-doi/{key}/xac-nhan`, `/tra-lai`), and reads an
//! agency's page as the agency sees it, without its forms (`GET /theo-doi/{key}/co-quan/{id}`):
//! the office reads, it never answers as the agency.

use super::error::{self, WebError};
use super::extract::{MonitorKey, Posted};
use super::monitor::{csrf_checked, refuse};
use super::{html, page, Web};
use crate::answers::{self, Action};
use crate::links::Url;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde::Deserialize;

type Answer = Result<HttpResponse, WebError>;

/// The office's verdict on a reported completion: `reason` only when returning it.
#[derive(Deserialize)]
pub struct Verdict {
    csrf: Option<String>,
    completion: Option<String>,
    reason: Option<String>,
}

/// `POST /theo-doi/{key}/xac-nhan`: a completion confirmed.
pub async fn confirm(
    State(web): State<Web>,
    monitor: MonitorKey,
    Posted(form): Posted<Verdict>,
) -> Answer {
    web.run(move |web| review(web, &monitor, true, &form)).await
}

/// `POST /theo-doi/{key}/tra-lai`: a completion returned to the agency, with the reason.
pub async fn send_back(
    State(web): State<Web>,
    monitor: MonitorKey,
    Posted(form): Posted<Verdict>,
) -> Answer {
    web.run(move |web| review(web, &monitor, false, &form))
        .await
}

/// A verdict checked and recorded with the agency's message. Blocks: on the blocking pool only.
fn review(web: &Web, monitor: &MonitorKey, confirm: bool, form: &Verdict) -> Answer {
    let now = web.now();
    let action = if confirm { "xac-nhan" } else { "tra-lai" };
    let config = &monitor.config;
    csrf_checked(web, monitor, action, form.csrf.as_deref())?;
    let Some(id) = form
        .completion
        .as_deref()
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Thiếu báo cáo hoàn thành cần xem xét.",
        ));
    };
    let reason = match (confirm, form.reason.as_deref()) {
        (true, _) => None,
        (false, Some(r)) if r.chars().count() <= super::page::MAX_TEXT => Some(r.to_string()),
        (false, Some(_)) => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Lý do quá dài (tối đa 2.000 ký tự).",
            ))
        }
        (false, None) => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Cần ghi lý do trả lại: cơ quan được báo lý do này để hoàn thiện.",
            ))
        }
    };
    let completion = match web.with_answers(|s| s.response(id)) {
        Ok(Some(r)) if r.action == Action::Done => r,
        Ok(_) => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "Không có báo cáo hoàn thành này.",
            ))
        }
        Err(e) => {
            return Err(error::store_failed(
                &e,
                "trang theo dõi: không đọc được cơ sở dữ liệu (xác nhận)",
                "Chưa ghi nhận",
                "Máy chủ gặp sự cố lưu trữ; vui lòng thử lại sau.",
            ))
        }
    };
    // A link scoped to one office reviews its plans only.
    if config.plan(&completion.plan).is_none() {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Báo cáo này thuộc kế hoạch không do cơ quan của liên kết theo dõi.",
        ));
    }
    if !completion.awaiting_review() {
        return Err(refuse(
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
        ));
    }
    let messages = match &reason {
        Some(why) => {
            let agency_link = config.web.as_ref().map(|w| {
                Url::Agency(&web.inner.signer.sign(&completion.agency, now)).at(&w.public_url)
            });
            match crate::messages::returned_notice(config, &completion, why, agency_link.as_deref())
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
    let recorded = web.with_answers(|s| {
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
            Ok((
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    format!("{}?ok={notice}#xac-nhan", Url::Monitor(&monitor.key).path()),
                )],
            )
                .into_response())
        }
        Ok(false) => Err(refuse(
            StatusCode::CONFLICT,
            "Báo cáo này vừa được xem xét hoặc vừa bị cơ quan rút lại. Tải lại trang theo dõi.",
        )),
        Err(e) => Err(error::store_failed(
            &e,
            "trang theo dõi: không ghi được việc xem xét",
            "Chưa ghi nhận",
            "Máy chủ gặp sự cố lưu trữ; chưa ghi nhận. Vui lòng thử lại sau.",
        )),
    }
}

/// `GET /theo-doi/{key}/co-quan/{agency}`: the agency's page as it sees it, read-only.
pub async fn agency(
    State(web): State<Web>,
    monitor: MonitorKey,
    Path((_, agency)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Answer {
    let now = web.now();
    web.run(move |web| {
        let MonitorKey { key, link, config } = monitor;
        let assigned = config.plans.iter().any(|p| {
            p.tasks
                .iter()
                .any(|t| t.lead.contains(&agency) || t.support.contains(&agency))
        });
        if config.agency(&agency).is_none() || !assigned {
            return Err(WebError::not_found());
        }
        let today = super::today(&config, now);
        let shown = super::shown(web, &config, &agency, today)?;
        let query = page::PageQuery::parse(uri.query());
        Ok(html(
            StatusCode::OK,
            super::agency_page(
                &shown,
                &page::AgencyPage {
                    config: &shown.answered,
                    signer: &web.inner.signer,
                    link: &link,
                    agency: &agency,
                    base: Url::MonitorAgency {
                        key: &key,
                        agency: &agency,
                    }
                    .path(),
                    files: Url::Monitor(&key).path(),
                    feed: None,
                    today,
                    now,
                    views: &shown.views,
                    responses: &shown.responses,
                    evidence: &shown.evidence,
                    query: &query,
                    who: answers::Who::default(),
                    read_only: true,
                },
            ),
        ))
    })
    .await
}
