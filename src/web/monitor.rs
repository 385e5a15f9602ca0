//! The monitoring office's dashboard: `GET /theo-doi/{key}` (figures as of `?ngay=`, one plan
//! with `?ke-hoach=`, agencies sorted by `?sap-xep=`, found by `?tim=`), the workbook download,
//! and the two decisions on an extension request (POST, CSRF-checked, post/redirect/get).
//!
//! The key is a signed link for [`links::MONITOR`] (`nhacviec admin-link`) or the key whose
//! SHA-256 is `[web] admin_token`: every plan. A link signed for `links::monitor_scope(a)`
//! (`admin-link --agency a`) shows and decides for only the plans `a` monitors
//! (`Config::monitored_by`). Anything else is the same 404 as an unknown page.

use super::dashboard::Query;
use super::guard::{self, Reason};
use super::{html, page, Web};
use crate::answers::{self, Action};
use crate::config::Config;
use crate::extension;
use crate::links::{self, Link, LinkError};
use crate::outbox::{self, Decision, DecisionAbout};
use crate::overview::{self, Overview};
use crate::report::parse_date;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// The dashboard's own link checked: `Err` is the page to answer with.
pub(super) fn open_monitor(
    web: &Web,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(Link, Arc<Config>), HttpResponse> {
    let id = links::log_id(key);
    if !web.allow(&id) {
        return Err(super::too_many("Vui lòng chờ một phút rồi thử lại."));
    }
    // While too many wrong keys are being tried, only a key already seen to work is checked:
    // a guesser gets the same 429 for every key, right or wrong.
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
    opened
}

/// The 429 of a blocked dashboard key, with the wait.
fn blocked(wait: u64) -> HttpResponse {
    let minutes = wait.div_ceil(60);
    let mut resp = html(
        StatusCode::TOO_MANY_REQUESTS,
        page::error(
            "Quá nhiều lần thử khóa sai",
            &format!("Trang theo dõi vừa bị thử quá nhiều khóa sai. Vui lòng thử lại sau {minutes} phút."),
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The key checked: the configured key's hash or a dashboard's signed link.
fn check_key(
    web: &Web,
    key: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(Link, Arc<Config>), HttpResponse> {
    let config = web.config();
    if let Some(w) = config.web.as_ref().filter(|w| w.admin_key_matches(key)) {
        if let Some(hash) = w.admin_token {
            return Ok((Link::monitor_key(&hash), config));
        }
    }
    match web.inner.signer.verify(key, now) {
        Ok(link) => match links::dashboard_scope(&link.agency) {
            Some(None) => Ok((link, config)),
            // A link for one office (`admin-link --agency`): only the plans it monitors.
            Some(Some(agency)) => {
                let scoped = Arc::new(config.monitored_by(agency));
                Ok((link, scoped))
            }
            None => {
                web.reject(
                    Reason::DashboardKey,
                    id,
                    None,
                    "trang theo dõi: khóa không hợp lệ",
                );
                Err(html(StatusCode::NOT_FOUND, page::not_found()))
            }
        },
        Err(LinkError::Expired { agency, .. }) if links::dashboard_scope(&agency).is_some() => {
            web.reject(
                Reason::Expired,
                id,
                None,
                "trang theo dõi: liên kết hết hạn",
            );
            Err(html(
                StatusCode::GONE,
                page::error(
                    "Liên kết đã hết hạn",
                    "Liên kết trang theo dõi này đã hết hạn. Người quản trị tạo liên kết mới bằng lệnh nhacviec admin-link.",
                ),
            ))
        }
        _ => {
            web.reject(
                Reason::DashboardKey,
                id,
                None,
                "trang theo dõi: khóa không hợp lệ",
            );
            Err(html(StatusCode::NOT_FOUND, page::not_found()))
        }
    }
}

fn query(raw: Option<&str>, config: &Config) -> Result<Query, String> {
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let as_of = match get("ngay") {
        None => None,
        Some(s) => {
            let d = parse_date(s)
                .ok_or_else(|| format!("Ngày \"{s}\" không hợp lệ: ghi theo dạng 30/06/2022."))?;
            overview::check_as_of(d).map_err(|e| format!("Không xem được: {e}."))?;
            Some(d)
        }
    };
    let plan = match get("ke-hoach") {
        None => None,
        Some(p) => Some(
            crate::report::find_plan(config, p)
                .ok_or_else(|| format!("Không có kế hoạch số \"{p}\"."))?
                .to_string(),
        ),
    };
    Ok(Query {
        as_of,
        plan,
        sort: get("sap-xep").map(str::to_string),
        find: get("tim").map(str::to_string),
        notice: get("ok").map(str::to_string),
    })
}

/// The figures a request asks for, computed from the store's answers.
fn figures(
    web: &Web,
    config: &Config,
    as_of: NaiveDate,
    plan: Option<&str>,
) -> Result<Overview, HttpResponse> {
    // The answers the figures read (latest per occurrence, completions, pending requests),
    // as known at the end of `as_of`: not every answer ever given.
    let before = as_of
        .succ_opt()
        .and_then(|d| answers::day_start(config.timezone, d));
    let loaded = web.with_store(|s| {
        let (responses, extensions) = s.shown_answers(None, before)?;
        let last = s.last_reminders()?;
        Ok::<_, crate::store::StoreError>((responses, extensions, last))
    });
    match loaded {
        Ok((responses, extensions, last)) => Ok(overview::compute_as_of(
            config,
            as_of,
            plan,
            &responses,
            &extensions,
            &last,
        )),
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang theo dõi: không đọc được cơ sở dữ liệu");
            Err(html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::error(
                    "Tạm thời không xem được",
                    "Máy chủ đang bận hoặc gặp sự cố lưu trữ. Vui lòng thử lại sau ít phút.",
                ),
            ))
        }
    }
}

pub async fn show(
    State(web): State<Web>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> HttpResponse {
    web.clone()
        .run(move |web| show_now(web, &key, raw.as_deref()))
        .await
}

fn show_now(web: &Web, key: &str, raw: Option<&str>) -> HttpResponse {
    let web = web.clone();
    let now = web.now();
    let (link, config) = match open_monitor(&web, &key, now) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let q = match query(raw, &config) {
        Ok(q) => q,
        Err(msg) => return html(StatusCode::BAD_REQUEST, page::error("Không xem được", &msg)),
    };
    let today = super::today(&config, now);
    let as_of = q.as_of.unwrap_or(today);
    let overview = match figures(&web, &config, as_of, q.plan.as_deref()) {
        Ok(o) => o,
        Err(resp) => return resp,
    };
    html(
        StatusCode::OK,
        super::dashboard::render_page(&super::dashboard::Dashboard {
            config: &config,
            overview: &overview,
            query: &q,
            key,
            today,
            signer: &web.inner.signer,
            link: &link,
            evidence: &super::upload::attached(&web),
        }),
    )
}

pub async fn workbook(
    State(web): State<Web>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> HttpResponse {
    web.clone()
        .run(move |web| workbook_now(web, &key, raw.as_deref()))
        .await
}

fn workbook_now(web: &Web, key: &str, raw: Option<&str>) -> HttpResponse {
    let (config, q, as_of) = match download_request(web, key, raw) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let overview = match figures(web, &config, as_of, q.plan.as_deref()) {
        Ok(o) => o,
        Err(resp) => return resp,
    };
    match crate::workbook::xlsx(&config, &overview) {
        Ok(bytes) => download(
            bytes,
            crate::workbook::XLSX_TYPE,
            &crate::workbook::file_name(as_of, "xlsx"),
        ),
        Err(e) => {
            tracing::error!(error = %e, "trang theo dõi: không tạo được bảng tính");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::error(
                    "Không tạo được bảng tính",
                    "Vui lòng thử lại sau; nếu vẫn lỗi, dùng lệnh nhacviec export.",
                ),
            )
        }
    }
}

/// A download's link and query checked (the workbook's, the report's): the config (scoped
/// for a scoped link), the query and the date asked for (default today).
fn download_request(
    web: &Web,
    key: &str,
    raw: Option<&str>,
) -> Result<(Arc<Config>, Query, NaiveDate), HttpResponse> {
    let now = web.now();
    let (_, config) = open_monitor(web, key, now)?;
    let q = query(raw, &config)
        .map_err(|msg| html(StatusCode::BAD_REQUEST, page::error("Không tải được", &msg)))?;
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
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> HttpResponse {
    web.clone()
        .run(move |web| report_now(web, &key, raw.as_deref()))
        .await
}

fn report_now(web: &Web, key: &str, raw: Option<&str>) -> HttpResponse {
    let (config, q, as_of) = match download_request(web, key, raw) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let loaded = web.with_store(|s| {
        let (responses, extensions) = s.answers()?;
        let last = s.last_reminders()?;
        Ok::<_, crate::store::StoreError>((responses, extensions, last))
    });
    let (responses, extensions, last) = match loaded {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang theo dõi: không đọc được cơ sở dữ liệu (báo cáo)");
            return html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::error(
                    "Tạm thời không tải được",
                    "Máy chủ đang bận hoặc gặp sự cố lưu trữ. Vui lòng thử lại sau ít phút.",
                ),
            );
        }
    };
    let plan = q.plan.as_deref();
    let overview = overview::compute_as_of(&config, as_of, plan, &responses, &extensions, &last);
    let made = crate::report_doc::docx(&crate::report_doc::Input {
        config: &config,
        overview: &overview,
        period: crate::report_doc::since_issue(&config, plan, as_of),
        responses: &responses,
        extensions: &extensions,
    });
    match made {
        Ok(bytes) => download(
            bytes,
            crate::report_doc::DOCX_TYPE,
            &crate::report_doc::file_name(as_of),
        ),
        Err(e) => {
            tracing::error!(error = %e, "trang theo dõi: không tạo được văn bản báo cáo");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::error(
                    "Không tạo được báo cáo",
                    "Vui lòng thử lại sau; nếu vẫn lỗi, dùng lệnh nhacviec export --format docx.",
                ),
            )
        }
    }
}

/// `GET /theo-doi/{key}/tep/{sha256}`: a file attached to any agency's answer.
pub async fn evidence(
    State(web): State<Web>,
    Path((key, sha256)): Path<(String, String)>,
) -> HttpResponse {
    if let Err(resp) = open_monitor(&web, &key, web.now()) {
        return resp;
    }
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

pub(super) fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    html(status, page::error("Chưa ghi nhận", message))
}

/// `POST /theo-doi/{key}/gia-han` (grant) and `/tu-choi` (refuse) of one request.
pub async fn decide(
    State(web): State<Web>,
    Path((key, action)): Path<(String, String)>,
    body: Body,
) -> HttpResponse {
    let now = web.now();
    let (link, config) = match open_monitor(&web, &key, now) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    if !matches!(action.as_str(), "gia-han" | "tu-choi") {
        return html(StatusCode::NOT_FOUND, page::not_found());
    }
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Nội dung gửi quá dài.");
    };
    let form: HashMap<String, String> = super::upload::urlencoded(&bytes);
    web.clone()
        .run(move |web| decide_now(web, &key, &action, &link, &config, &form, now))
        .await
}

/// The rest of [`decide`], on the blocking pool.
fn decide_now(
    web: &Web,
    key: &str,
    action: &str,
    link: &Link,
    config: &Config,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> HttpResponse {
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if !field("csrf").is_some_and(|c| web.inner.signer.csrf_ok(link, action, c)) {
        tracing::warn!(link = %links::log_id(key), %action, "trang theo dõi: biểu mẫu không có mã CSRF hợp lệ");
        return refuse(
            StatusCode::FORBIDDEN,
            "Biểu mẫu không hợp lệ hoặc đã cũ. Vui lòng tải lại trang theo dõi rồi gửi lại.",
        );
    }
    let Some(id) = field("request").and_then(|v| v.parse::<i64>().ok()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Thiếu đề nghị gia hạn cần trả lời.",
        );
    };
    let request = match web.with_store(|s| s.response(id)) {
        Ok(Some(r))
            if r.action == Action::Extension
                && r.undone_at.is_none()
                && r.granted.is_none()
                && r.refused_at.is_none() =>
        {
            r
        }
        Ok(_) => {
            return refuse(
                StatusCode::CONFLICT,
                "Đề nghị này đã được trả lời, đã bị cơ quan rút lại, hoặc không còn. Tải lại trang theo dõi để xem tình hình mới.",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang theo dõi: không đọc được cơ sở dữ liệu (quyết định gia hạn)");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "Máy chủ gặp sự cố lưu trữ; vui lòng thử lại sau.");
        }
    };
    // A link scoped to one office decides only for the plans it monitors.
    if links::dashboard_scope(&link.agency).is_some_and(|scope| scope.is_some())
        && config.plan(&request.plan).is_none()
    {
        tracing::warn!(link = %links::log_id(key), plan = %request.plan, "trang theo dõi: quyết định về kế hoạch ngoài phạm vi của liên kết");
        return refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "Đề nghị này thuộc Kế hoạch số {}, không do cơ quan của quý vị theo dõi: quý vị không quyết định gia hạn được.",
                request.plan
            ),
        );
    }
    // Where the agency's deadlines stand now: completions and earlier extensions laid over.
    let answered = match web.with_store(|s| s.shown_answers(None, None)) {
        Ok((responses, extensions)) => answers::overlaid(config, &responses, &extensions),
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang theo dõi: không đọc được cơ sở dữ liệu (quyết định gia hạn)");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "Máy chủ gặp sự cố lưu trữ; vui lòng thử lại sau.",
            );
        }
    };
    let mut about = DecisionAbout::from(&request);
    about.in_force = request.deadline.and_then(|d| {
        answered
            .task(&request.plan, &request.task)
            .map(|t| t.deadline_for(&request.agency, d))
    });
    let decision = if action == "gia-han" {
        let Some(to) = field("to").and_then(parse_date) else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Thiếu hạn mới, hoặc ngày không hợp lệ (ghi theo dạng 31/07/2022).",
            );
        };
        let Some(from) = request.deadline else {
            return refuse(StatusCode::BAD_REQUEST, "Đề nghị này không gắn với một hạn cụ thể nên không gia hạn được; hãy trả lời cơ quan bằng văn bản.");
        };
        // The rule `nhacviec extend` applies too.
        let asked = extension::Asked {
            agency: &request.agency,
            plan: &request.plan,
            task: &request.task,
            from: Some(from),
            to,
            doc_ref: field("doc_ref"),
            today: super::today(config, now),
        };
        let grant = match extension::check(&answered, &asked) {
            Ok(g) => g,
            Err(refusal) => {
                tracing::info!(agency = %request.agency, plan = %request.plan, task = %request.task, %refusal, "trang theo dõi: không chấp nhận được đề nghị gia hạn");
                return refuse(StatusCode::BAD_REQUEST, &sentence(&refusal.to_string()));
            }
        };
        about.in_force = Some(grant.before);
        Decision::Granted {
            to: grant.to,
            doc_ref: Some(grant.doc_ref),
        }
    } else {
        let Some(reason) = field("reason") else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Cần ghi lý do không đồng ý: cơ quan được báo lý do này.",
            );
        };
        if reason.chars().count() > super::page::MAX_TEXT {
            return refuse(StatusCode::BAD_REQUEST, "Lý do quá dài.");
        }
        Decision::Refused {
            reason: reason.to_string(),
        }
    };

    // The agency's link in the message: signed as of today, like a reminder's.
    let agency_link = config.web.as_ref().map(|w| {
        format!(
            "{}/a/{}",
            w.public_url,
            web.inner.signer.sign(&request.agency, now)
        )
    });
    let messages = match outbox::decision(config, about, &decision, agency_link.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "trang theo dõi: không tạo được thư báo quyết định");
            vec![]
        }
    };
    let domain = outbox::domain_of(&config.email.from);
    // The decision and the agency's message together, or neither.
    let recorded =
        web.with_store(|s| s.decide_extension(&request, &decision, &messages, &domain, now));
    match recorded {
        Ok(true) => {
            tracing::info!(agency = %request.agency, plan = %request.plan, task = %request.task, %action, told = messages.len(), "trang theo dõi: đã quyết định đề nghị gia hạn");
            let notice = match (&decision, messages.is_empty()) {
                (Decision::Granted { .. }, false) => "granted",
                (Decision::Granted { .. }, true) => "granted-untold",
                (Decision::Refused { .. }, false) => "refused",
                (Decision::Refused { .. }, true) => "refused-untold",
            };
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, format!("/theo-doi/{key}?ok={notice}"))],
            )
                .into_response()
        }
        Ok(false) => refuse(
            StatusCode::CONFLICT,
            "Đề nghị này vừa được trả lời. Tải lại trang theo dõi.",
        ),
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang theo dõi: không ghi được quyết định");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "Máy chủ gặp sự cố lưu trữ; chưa ghi nhận. Vui lòng thử lại sau.",
            )
        }
    }
}
