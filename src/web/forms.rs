//! The POST forms of an agency's page: checked field by field (each refusal a Vietnamese
//! message and a 4xx, nothing stored), then recorded; success redirects back to the page
//! (post/redirect/get, so a reload does not post again).

use super::{answered, client, html, open_link, page, today, Web};
use crate::answers::{self, Action, NewResponse, TaskView};
use crate::report::parse_date;
use crate::store::RecordError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::NaiveDate;
use std::collections::HashMap;

/// Characters a note, a progress text or a reason may have.
pub const MAX_TEXT: usize = 2000;
/// Characters of a document number.
pub const MAX_REF: usize = 200;
/// How long an agency may withdraw its last answer.
pub const UNDO_HOURS: i64 = 24;

fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    html(status, page::error("Chưa ghi nhận", message))
}

pub async fn post(
    State(web): State<Web>,
    Path((token, action)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<super::Peer>,
    headers: HeaderMap,
    body: Body,
) -> HttpResponse {
    let now = web.now();
    let (link, config) = match open_link(&web, &token, now) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    if !matches!(action.as_str(), "done" | "progress" | "extend" | "undo") {
        return html(StatusCode::NOT_FOUND, page::not_found());
    }
    let bytes = match axum::body::to_bytes(body, super::MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "Nội dung gửi quá dài. Ghi chú, tiến độ và lý do tối đa {MAX_TEXT} ký tự."
                ),
            )
        }
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if !field("csrf").is_some_and(|c| web.inner.signer.csrf_ok(&link, &action, c)) {
        tracing::warn!(link = %crate::links::log_id(&token), %action, "web: form without a valid CSRF token");
        return refuse(
            StatusCode::FORBIDDEN,
            "Biểu mẫu không hợp lệ hoặc đã cũ. Vui lòng mở lại liên kết trong thư nhắc việc rồi gửi lại.",
        );
    }
    let (answered, responses) = match answered(&web, &config, &link.agency) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let today = today(&config, now);
    let views = answers::agency_view(&answered, &link.agency, today, &responses);
    let back = |notice: &str| -> HttpResponse {
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/a/{token}?ok={notice}"))],
        )
            .into_response()
    };
    if action == "undo" {
        let Some(id) = field("response").and_then(|v| v.parse::<i64>().ok()) else {
            return refuse(StatusCode::BAD_REQUEST, "Thiếu câu trả lời cần rút lại.");
        };
        let since = now - chrono::Duration::hours(UNDO_HOURS);
        return match web.with_store(|s| s.undo_response(id, &link.agency, since, now)) {
            Ok(true) => {
                tracing::info!(agency = %link.agency, response = id, "web: response withdrawn");
                back("undo")
            }
            Ok(false) => refuse(
                StatusCode::CONFLICT,
                &format!("Không rút lại được: chỉ rút lại được câu trả lời mới nhất của cơ quan cho một nhiệm vụ, trong vòng {UNDO_HOURS} giờ, khi đề nghị gia hạn chưa được quyết định."),
            ),
            Err(e) => store_failed(e),
        };
    }
    // Which task: it must be one of this agency's, on an open plan.
    let (Some(plan), Some(task)) = (field("plan"), field("task")) else {
        return refuse(StatusCode::BAD_REQUEST, "Thiếu kế hoạch hoặc nhiệm vụ.");
    };
    let Some(view) = views.iter().find(|v| v.plan == plan && v.task == task) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "Nhiệm vụ này không được giao cho cơ quan của liên kết (hoặc không còn trong kế hoạch).",
        );
    };
    if view.plan_closed {
        return refuse(
            StatusCode::CONFLICT,
            "Kế hoạch này đã kết thúc: không còn nhận báo cáo qua trang này. Liên hệ cơ quan theo dõi nếu cần.",
        );
    }
    let deadline = field("deadline").and_then(parse_date);
    if deadline != view.current {
        return refuse(
            StatusCode::CONFLICT,
            "Trang đã cũ (hạn của nhiệm vụ đã thay đổi hoặc đã được báo hoàn thành). Vui lòng tải lại trang rồi gửi lại.",
        );
    }
    let plan_issued = answered.plan(plan).map(|p| p.issued);
    let checked = match action.as_str() {
        "done" => done(&form, today, plan_issued),
        "progress" => progress(&form),
        _ => extend(&form, view),
    };
    let mut new = match checked {
        Ok(n) => n,
        Err(msg) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, &msg),
    };
    let Some(nonce) = field("nonce").filter(|n| n.len() <= 64) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Biểu mẫu thiếu mã gửi; vui lòng tải lại trang.",
        );
    };
    new.agency = link.agency.clone();
    new.plan = plan.to_string();
    new.task = task.to_string();
    new.deadline = view.current;
    new.key_id = link.key_id.clone();
    new.client = client(&config, peer, &headers);
    new.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(300).collect());
    new.nonce = nonce.to_string();
    match web.with_store(|s| s.record_response(&new, now)) {
        Ok(id) => {
            tracing::info!(agency = %link.agency, plan, task, action = new.action.name(), response = id, link = %crate::links::log_id(&token), "web: response recorded");
            back(new.action.name())
        }
        Err(RecordError::Replayed) => refuse(
            StatusCode::CONFLICT,
            "Biểu mẫu này đã được gửi trước đó và đã được ghi nhận một lần; không ghi lại lần nữa.",
        ),
        Err(RecordError::Store(e)) => store_failed(e),
    }
}

fn store_failed(e: crate::store::StoreError) -> HttpResponse {
    tracing::error!(error = %e, "web: store write failed");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        page::error(
            "Chưa ghi nhận",
            "Máy chủ gặp sự cố lưu trữ; câu trả lời chưa được ghi. Vui lòng thử lại sau ít phút.",
        ),
    )
}

fn blank(action: Action) -> NewResponse {
    NewResponse {
        agency: String::new(),
        plan: String::new(),
        task: String::new(),
        deadline: None,
        action,
        done_on: None,
        doc_ref: None,
        note: None,
        percent: None,
        proposed: None,
        key_id: String::new(),
        client: None,
        user_agent: None,
        nonce: String::new(),
    }
}

/// A text field: trimmed, at most `max` characters, control characters other than line
/// breaks refused. Stored as text; pages escape it.
fn text(
    form: &HashMap<String, String>,
    key: &str,
    label: &str,
    max: usize,
) -> Result<Option<String>, String> {
    let Some(v) = form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n = v.chars().count();
    if n > max {
        return Err(format!("{label} dài {n} ký tự, tối đa {max} ký tự."));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("{label} có ký tự điều khiển không hợp lệ."));
    }
    Ok(Some(v.replace("\r\n", "\n")))
}

fn date_field(
    form: &HashMap<String, String>,
    key: &str,
    label: &str,
) -> Result<Option<NaiveDate>, String> {
    match form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_date(v)
            .map(Some)
            .ok_or_else(|| format!("{label} \"{v}\" không phải ngày hợp lệ (ghi dd/mm/yyyy).")),
    }
}

fn vn(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn done(
    form: &HashMap<String, String>,
    today: NaiveDate,
    issued: Option<NaiveDate>,
) -> Result<NewResponse, String> {
    let on = date_field(form, "done_on", "Ngày hoàn thành")?.unwrap_or(today);
    if on > today {
        return Err(format!(
            "Ngày hoàn thành {} ở tương lai: chỉ báo hoàn thành khi việc đã xong (hôm nay là {}).",
            vn(on),
            vn(today)
        ));
    }
    if let Some(issued) = issued.filter(|i| on < *i) {
        return Err(format!(
            "Ngày hoàn thành {} trước ngày ban hành kế hoạch ({}).",
            vn(on),
            vn(issued)
        ));
    }
    let mut r = blank(Action::Done);
    r.done_on = Some(on);
    r.doc_ref = text(form, "doc_ref", "Số văn bản báo cáo", MAX_REF)?;
    r.note = text(form, "note", "Ghi chú", MAX_TEXT)?;
    Ok(r)
}

fn progress(form: &HashMap<String, String>) -> Result<NewResponse, String> {
    let note = text(form, "note", "Nội dung tiến độ", MAX_TEXT)?
        .ok_or("Vui lòng ghi nội dung tiến độ.")?;
    let percent = match form
        .get("percent")
        .map(|v| v.trim().trim_end_matches('%').trim())
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => match v.parse::<u8>() {
            Ok(p) if p <= 100 => Some(p),
            _ => return Err(format!("Tỷ lệ hoàn thành \"{v}\" phải là số từ 0 đến 100.")),
        },
    };
    let mut r = blank(Action::Progress);
    r.note = Some(note);
    r.percent = percent;
    Ok(r)
}

fn extend(form: &HashMap<String, String>, view: &TaskView) -> Result<NewResponse, String> {
    let Some(due) = view.due else {
        return Err("Nhiệm vụ này không có hạn để gia hạn.".into());
    };
    let proposed = date_field(form, "proposed", "Ngày đề nghị")?
        .ok_or("Vui lòng ghi ngày đề nghị gia hạn đến.")?;
    if proposed <= due {
        return Err(format!(
            "Ngày đề nghị {} phải sau hạn hiện tại ({}).",
            vn(proposed),
            vn(due)
        ));
    }
    let reason =
        text(form, "reason", "Lý do", MAX_TEXT)?.ok_or("Vui lòng ghi lý do đề nghị gia hạn.")?;
    let mut r = blank(Action::Extension);
    r.proposed = Some(proposed);
    r.note = Some(reason);
    Ok(r)
}
