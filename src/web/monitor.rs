//! The monitoring office's dashboard: `GET /theo-doi/{key}` (figures as of `?ngay=`, one plan
//! with `?ke-hoach=`, agencies sorted by `?sap-xep=`, found by `?tim=`, paged by `?trang=`, the
//! overdue list by `?trang-qua-han=`), the workbook download,
//! and the two decisions on an extension request (POST, CSRF-checked, post/redirect/get).
//!
//! The key is a signed link for [`links::MONITOR`] (`nhacviec admin-link`) or the key whose
//! SHA-256 is `[web] admin_token`: every plan. A link signed for `links::monitor_scope(a)`
//! (`admin-link --agency a`) shows and decides for only the plans `a` monitors
//! (`Config::monitored_by`). Anything else is the same 404 as an unknown page.

use super::dashboard::Query;
use super::error::{self, WebError};
use super::extract::{MonitorKey, Params, Posted};
use super::Web;
use crate::answers::{self, Action, Response};
use crate::config::Config;
use crate::dates::parse_date;
use crate::extension;
use crate::links::{self, Url};
use crate::messages::{self, Decision, DecisionAbout};
use crate::outbox;
use crate::overview::{self, Overview};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use std::sync::Arc;

type Answer = Result<HttpResponse, WebError>;

/// The dashboard's query as sent: `?ngay=&ke-hoach=&sap-xep=&tim=&trang=&trang-qua-han=&ok=`.
#[derive(Deserialize, Default)]
pub struct Asked {
    ngay: Option<String>,
    #[serde(rename = "ke-hoach")]
    ke_hoach: Option<String>,
    #[serde(rename = "sap-xep")]
    sap_xep: Option<String>,
    tim: Option<String>,
    trang: Option<String>,
    #[serde(rename = "trang-qua-han")]
    trang_qua_han: Option<String>,
    ok: Option<String>,
}

/// Why a dashboard's query is refused (400).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("Ngày \"{0}\" không hợp lệ: ghi theo dạng 30/06/2022.")]
    Date(String),
    #[error("Không xem được: {0}.")]
    OutOfRange(String),
    #[error("Không có kế hoạch số \"{0}\".")]
    Plan(String),
    #[error("Trang \"{0}\" không hợp lệ: ghi một số từ 1 trở lên.")]
    Page(String),
}

/// A page number as sent (`?trang=2`): from 1; past the last page shows the last.
fn page_number(asked: Option<String>) -> Result<Option<usize>, QueryError> {
    match asked {
        None => Ok(None),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(QueryError::Page(s)),
        },
    }
}

fn query(asked: Asked, config: &Config) -> Result<Query, QueryError> {
    let as_of = match asked.ngay {
        None => None,
        Some(s) => {
            let d = parse_date(&s).ok_or(QueryError::Date(s))?;
            overview::check_as_of(d).map_err(|e| QueryError::OutOfRange(e.to_string()))?;
            Some(d)
        }
    };
    let plan = match asked.ke_hoach {
        None => None,
        Some(p) => Some(
            crate::report::find_plan(config, &p)
                .ok_or(QueryError::Plan(p.clone()))?
                .to_string(),
        ),
    };
    Ok(Query {
        as_of,
        plan,
        sort: asked.sap_xep,
        find: asked.tim,
        page: page_number(asked.trang)?,
        overdue_page: page_number(asked.trang_qua_han)?,
        notice: asked.ok,
    })
}

fn unavailable(e: &crate::store::StoreError, what: &str, title: &'static str) -> WebError {
    error::store_failed(
        e,
        what,
        title,
        "Máy chủ đang bận hoặc gặp sự cố lưu trữ. Vui lòng thử lại sau ít phút.",
    )
}

/// Figures kept at once (a national overview is a few MB): the dates and plans asked for
/// lately.
const MAX_FIGURES: usize = 4;

/// What a dashboard's figures are of: the config (the settings' or an office's scoped one,
/// held so its address names it), the plan, the date, and the store's answers and reminders
/// sent as they were read ([`crate::store::Store::figures_version`]).
pub(crate) struct FiguresKey {
    config: Arc<Config>,
    plan: Option<String>,
    as_of: NaiveDate,
    version: String,
}

impl FiguresKey {
    fn is(&self, other: &FiguresKey) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
            && self.plan == other.plan
            && self.as_of == other.as_of
            && self.version == other.version
    }
}

/// The figures a request asks for, computed from the store's answers once per config, plan,
/// date and what the store holds, and kept: the dashboard's pages, sorts and searches and the
/// workbook of the same figures read them from memory; an answer recorded, a reminder sent or
/// a config reloaded makes the next request compute them again.
fn figures(
    web: &Web,
    config: &Arc<Config>,
    as_of: NaiveDate,
    plan: Option<&str>,
) -> Result<Arc<Overview>, WebError> {
    let failed = |e: crate::store::StoreError| {
        unavailable(
            &e,
            "trang theo dõi: không đọc được cơ sở dữ liệu",
            "Tạm thời không xem được",
        )
    };
    // The version is read before the answers: figures kept under it are never older than it.
    let key = FiguresKey {
        config: config.clone(),
        plan: plan.map(str::to_string),
        as_of,
        version: web.with_answers(|s| s.figures_version()).map_err(failed)?,
    };
    let kept = super::lock(&web.inner.figures)
        .iter()
        .find(|(k, _)| k.is(&key))
        .map(|(_, o)| o.clone());
    if let Some(o) = kept {
        return Ok(o);
    }
    // The answers the figures read (latest per occurrence, completions, pending requests),
    // as known at the end of `as_of`: not every answer ever given.
    let before = as_of
        .succ_opt()
        .and_then(|d| answers::day_start(config.timezone, d));
    let (responses, extensions, last) = web
        .with_answers(|s| {
            let (responses, extensions) = s.shown_answers(None, before)?;
            let last = s.last_reminders()?;
            Ok::<_, crate::store::StoreError>((responses, extensions, last))
        })
        .map_err(failed)?;
    let overview = Arc::new(overview::compute_as_of(
        config,
        as_of,
        plan,
        &responses,
        &extensions,
        &last,
    ));
    let mut kept = super::lock(&web.inner.figures);
    kept.retain(|(k, _)| !Arc::ptr_eq(&k.config, config) || k.version == key.version);
    kept.insert(0, (key, overview.clone()));
    kept.truncate(MAX_FIGURES);
    Ok(overview)
}

/// `GET /theo-doi/{key}`: the dashboard.
pub async fn show(
    State(web): State<Web>,
    monitor: MonitorKey,
    Params(asked): Params<Asked>,
) -> Answer {
    let now = web.now();
    web.run(move |web| {
        let MonitorKey { key, link, config } = monitor;
        let q = query(asked, &config)
            .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, "Không xem được", e.to_string()))?;
        let today = super::today(&config, now);
        let as_of = q.as_of.unwrap_or(today);
        let overview = figures(web, &config, as_of, q.plan.as_deref())?;
        Ok(super::html(
            StatusCode::OK,
            super::dashboard::render_page(&super::dashboard::Dashboard {
                config: &config,
                overview: &overview,
                query: &q,
                key: &key,
                today,
                signer: &web.inner.signer,
                link: &link,
                evidence: &super::upload::attached(web),
            }),
        ))
    })
    .await
}

/// `GET /theo-doi/{key}/bang-tinh.xlsx[?ngay=&ke-hoach=]`: the workbook of the page's figures.
pub async fn workbook(
    State(web): State<Web>,
    monitor: MonitorKey,
    Params(asked): Params<Asked>,
) -> Answer {
    let now = web.now();
    web.run(move |web| {
        let (config, q, as_of) = download_request(monitor, asked, now)?;
        let overview = figures(web, &config, as_of, q.plan.as_deref())?;
        let bytes = crate::workbook::xlsx(&config, &overview).map_err(|e| {
            tracing::error!(error = %e, "trang theo dõi: không tạo được bảng tính");
            WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Không tạo được bảng tính",
                "Vui lòng thử lại sau; nếu vẫn lỗi, dùng lệnh nhacviec export.",
            )
        })?;
        Ok(download(
            bytes,
            crate::workbook::XLSX_TYPE,
            &crate::workbook::file_name(as_of, "xlsx"),
        ))
    })
    .await
}

/// A download's query checked (the workbook's, the report's): the config (scoped for a scoped
/// link), the query and the date asked for (default today).
fn download_request(
    monitor: MonitorKey,
    asked: Asked,
    now: DateTime<Utc>,
) -> Result<(Arc<Config>, Query, NaiveDate), WebError> {
    let config = monitor.config;
    let q = query(asked, &config)
        .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, "Không tải được", e.to_string()))?;
    let as_of = q.as_of.unwrap_or_else(|| super::today(&config, now));
    Ok((config, q, as_of))
}

/// A file to download: its type, `attachment` with its name, never cached or sniffed.
fn download(bytes: Vec<u8>, kind: &'static str, name: &str) -> HttpResponse {
    let mut resp = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// `GET /theo-doi/{key}/bao-cao.docx[?ngay=&ke-hoach=]`: the report the Chánh Văn phòng signs
/// (`report_doc`, as `nhacviec export --format docx` without `--ky`), for the dashboard's date
/// and plan; a scoped link's plans only (its config is scoped).
pub async fn report(
    State(web): State<Web>,
    monitor: MonitorKey,
    Params(asked): Params<Asked>,
) -> Answer {
    let now = web.now();
    web.run(move |web| {
        let (config, q, as_of) = download_request(monitor, asked, now)?;
        let (responses, extensions, last) = web
            .with_answers(|s| {
                let (responses, extensions) = s.answers()?;
                let last = s.last_reminders()?;
                Ok::<_, crate::store::StoreError>((responses, extensions, last))
            })
            .map_err(|e| {
                unavailable(
                    &e,
                    "trang theo dõi: không đọc được cơ sở dữ liệu (báo cáo)",
                    "Tạm thời không tải được",
                )
            })?;
        let plan = q.plan.as_deref();
        let overview =
            overview::compute_as_of(&config, as_of, plan, &responses, &extensions, &last);
        let bytes = crate::report_doc::docx(&crate::report_doc::Input {
            config: &config,
            overview: &overview,
            period: crate::report_doc::since_issue(&config, plan, as_of),
            responses: &responses,
            extensions: &extensions,
        })
        .map_err(|e| {
            tracing::error!(error = %e, "trang theo dõi: không tạo được văn bản báo cáo");
            WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Không tạo được báo cáo",
                "Vui lòng thử lại sau; nếu vẫn lỗi, dùng lệnh nhacviec export --format docx.",
            )
        })?;
        Ok(download(
            bytes,
            crate::report_doc::DOCX_TYPE,
            &crate::report_doc::file_name(as_of),
        ))
    })
    .await
}

/// `GET /theo-doi/{key}/tep/{sha256}`: a file attached to any agency's answer.
pub async fn evidence(
    State(web): State<Web>,
    _: MonitorKey,
    Path((_, sha256)): Path<(String, String)>,
) -> Answer {
    web.run(move |web| super::upload::download(web, &sha256, None))
        .await
}

/// A refusal's message as a sentence: capitalised, with a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

pub(super) fn refuse(status: StatusCode, message: impl Into<String>) -> WebError {
    WebError::refused(status, message)
}

/// The dashboard's form's CSRF token, bound to its key and the form (`action`).
pub(super) fn csrf_checked(
    web: &Web,
    monitor: &MonitorKey,
    action: &str,
    csrf: Option<&str>,
) -> Result<(), WebError> {
    if csrf.is_some_and(|c| web.inner.signer.csrf_ok(&monitor.link, action, c)) {
        return Ok(());
    }
    tracing::warn!(link = %links::log_id(&monitor.key), %action, "trang theo dõi: biểu mẫu không có mã CSRF hợp lệ");
    Err(refuse(
        StatusCode::FORBIDDEN,
        "Biểu mẫu không hợp lệ hoặc đã cũ. Vui lòng tải lại trang theo dõi rồi gửi lại.",
    ))
}

/// `POST /theo-doi/{key}/gia-han`: an extension granted to a new date, by a document.
#[derive(Deserialize)]
pub struct Grant {
    csrf: Option<String>,
    request: Option<String>,
    to: Option<String>,
    doc_ref: Option<String>,
}

/// `POST /theo-doi/{key}/tu-choi`: an extension refused, with the reason the agency is told.
#[derive(Deserialize)]
pub struct Refuse {
    csrf: Option<String>,
    request: Option<String>,
    reason: Option<String>,
}

pub async fn grant(
    State(web): State<Web>,
    monitor: MonitorKey,
    Posted(form): Posted<Grant>,
) -> Answer {
    web.run(move |web| {
        decide(
            web,
            &monitor,
            "gia-han",
            form.csrf.as_deref(),
            form.request.as_deref(),
            |request, answered, today| {
                let Some(to) = form.to.as_deref().and_then(parse_date) else {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        "Thiếu hạn mới, hoặc ngày không hợp lệ (ghi theo dạng 31/07/2022).",
                    ));
                };
                let Some(from) = request.deadline else {
                    return Err(refuse(StatusCode::BAD_REQUEST, "Đề nghị này không gắn với một hạn cụ thể nên không gia hạn được; hãy trả lời cơ quan bằng văn bản."));
                };
                // The rule `nhacviec extend` applies too.
                let asked = extension::Asked {
                    agency: &request.agency,
                    plan: &request.plan,
                    task: &request.task,
                    from: Some(from),
                    to,
                    doc_ref: form.doc_ref.as_deref(),
                    today,
                };
                let grant = extension::check(answered, &asked).map_err(|refusal| {
                    tracing::info!(agency = %request.agency, plan = %request.plan, task = %request.task, %refusal, "trang theo dõi: không chấp nhận được đề nghị gia hạn");
                    refuse(StatusCode::BAD_REQUEST, sentence(&refusal.to_string()))
                })?;
                Ok((
                    Decision::Granted {
                        to: grant.to,
                        doc_ref: Some(grant.doc_ref),
                    },
                    Some(grant.before),
                ))
            },
        )
    })
    .await
}

pub async fn refuse_request(
    State(web): State<Web>,
    monitor: MonitorKey,
    Posted(form): Posted<Refuse>,
) -> Answer {
    web.run(move |web| {
        decide(
            web,
            &monitor,
            "tu-choi",
            form.csrf.as_deref(),
            form.request.as_deref(),
            |_, _, _| {
                let Some(reason) = form.reason.as_deref() else {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        "Cần ghi lý do không đồng ý: cơ quan được báo lý do này.",
                    ));
                };
                if reason.chars().count() > super::page::MAX_TEXT {
                    return Err(refuse(StatusCode::BAD_REQUEST, "Lý do quá dài."));
                }
                Ok((
                    Decision::Refused {
                        reason: reason.to_string(),
                    },
                    None,
                ))
            },
        )
    })
    .await
}

/// One decision on a pending extension request (`action`: its form): the request checked
/// (pending, of the key's plans), `decision` made on the deadlines in force (with the one in
/// force it replaces, for a grant), the agency's message made, both recorded together.
/// Blocks: on the blocking pool only.
fn decide(
    web: &Web,
    monitor: &MonitorKey,
    action: &str,
    csrf: Option<&str>,
    request: Option<&str>,
    decision: impl FnOnce(
        &Response,
        &Config,
        NaiveDate,
    ) -> Result<(Decision, Option<NaiveDate>), WebError>,
) -> Answer {
    let now = web.now();
    let config = &monitor.config;
    csrf_checked(web, monitor, action, csrf)?;
    let Some(id) = request.and_then(|v| v.parse::<i64>().ok()) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Thiếu đề nghị gia hạn cần trả lời.",
        ));
    };
    let failed = |e: crate::store::StoreError| {
        error::store_failed(
            &e,
            "trang theo dõi: không đọc được cơ sở dữ liệu (quyết định gia hạn)",
            "Chưa ghi nhận",
            "Máy chủ gặp sự cố lưu trữ; vui lòng thử lại sau.",
        )
    };
    let request = match web.with_answers(|s| s.response(id)).map_err(failed)? {
        Some(r)
            if r.action == Action::Extension
                && r.undone_at.is_none()
                && r.granted.is_none()
                && r.refused_at.is_none() =>
        {
            r
        }
        _ => {
            return Err(refuse(
                StatusCode::CONFLICT,
                "Đề nghị này đã được trả lời, đã bị cơ quan rút lại, hoặc không còn. Tải lại trang theo dõi để xem tình hình mới.",
            ))
        }
    };
    // A link scoped to one office decides only for the plans it monitors.
    if monitor.scoped() && config.plan(&request.plan).is_none() {
        tracing::warn!(link = %links::log_id(&monitor.key), plan = %request.plan, "trang theo dõi: quyết định về kế hoạch ngoài phạm vi của liên kết");
        return Err(refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Đề nghị này thuộc Kế hoạch số {}, không do cơ quan của quý vị theo dõi: quý vị không quyết định gia hạn được.",
                request.plan
            ),
        ));
    }
    // Where the agency's deadlines stand now: completions and earlier extensions laid over.
    let (responses, extensions) = web
        .with_answers(|s| s.shown_answers(None, None))
        .map_err(failed)?;
    let answered = answers::overlaid(config, &responses, &extensions);
    let mut about = DecisionAbout::from(&request);
    about.in_force = request.deadline.and_then(|d| {
        answered
            .task(&request.plan, &request.task)
            .map(|t| t.deadline_for(&request.agency, d))
    });
    let (decision, before) = decision(&request, &answered, super::today(config, now))?;
    if let Some(before) = before {
        about.in_force = Some(before);
    }
    // The agency's link in the message: signed as of today, like a reminder's.
    let agency_link = config
        .web
        .as_ref()
        .map(|w| Url::Agency(&web.inner.signer.sign(&request.agency, now)).at(&w.public_url));
    let messages = match messages::decision(config, about, &decision, agency_link.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "trang theo dõi: không tạo được thư báo quyết định");
            vec![]
        }
    };
    let domain = outbox::domain_of(&config.email.from);
    // The decision and the agency's message together, or neither.
    let recorded =
        web.with_answers(|s| s.decide_extension(&request, &decision, &messages, &domain, now));
    match recorded {
        Ok(true) => {
            tracing::info!(agency = %request.agency, plan = %request.plan, task = %request.task, %action, told = messages.len(), "trang theo dõi: đã quyết định đề nghị gia hạn");
            let notice = match (&decision, messages.is_empty()) {
                (Decision::Granted { .. }, false) => "granted",
                (Decision::Granted { .. }, true) => "granted-untold",
                (Decision::Refused { .. }, false) => "refused",
                (Decision::Refused { .. }, true) => "refused-untold",
            };
            Ok((
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    format!("{}?ok={notice}", Url::Monitor(&monitor.key).path()),
                )],
            )
                .into_response())
        }
        Ok(false) => Err(refuse(
            StatusCode::CONFLICT,
            "Đề nghị này vừa được trả lời. Tải lại trang theo dõi.",
        )),
        Err(e) => Err(error::store_failed(
            &e,
            "trang theo dõi: không ghi được quyết định",
            "Chưa ghi nhận",
            "Máy chủ gặp sự cố lưu trữ; chưa ghi nhận. Vui lòng thử lại sau.",
        )),
    }
}
