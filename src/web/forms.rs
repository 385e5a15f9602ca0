//! The POST forms of an agency's page: checked field by field (each refusal a Vietnamese
//! message and a 4xx, nothing stored), then recorded; success redirects back to the page
//! (post/redirect/get, so a reload does not post again).

use super::page::{MAX_REF, MAX_TEXT, UNDO_HOURS};
use super::{answered, client, html, open_link, page, today, Web};
use crate::answers::{self, Action, NewResponse, TaskView};
use crate::store::RecordError;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::NaiveDate;
use std::collections::HashMap;

fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    html(status, page::error("Chưa ghi nhận", message))
}

pub async fn post(
    State(web): State<Web>,
    Path((token, action)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<super::Peer>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> HttpResponse {
    let now = web.now();
    let (link, config) = match open_link(&web, &token, now) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    if !matches!(action.as_str(), "done" | "progress" | "extend" | "undo") {
        return html(StatusCode::NOT_FOUND, page::not_found());
    }
    // Urlencoded, or multipart with an attached file (`upload`).
    let (form, file) = match super::upload::read_form(&config, request).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    web.clone()
        .run(move |web| {
            answer(
                web, &token, &action, link, &config, form, file, peer, &headers, now,
            )
        })
        .await
}

/// The rest of [`post`], on the blocking pool: the checks, the store, the redirect.
#[allow(clippy::too_many_arguments)]
fn answer(
    web: &Web,
    token: &str,
    action: &str,
    link: crate::links::Link,
    config: &crate::config::Config,
    form: HashMap<String, String>,
    file: Option<super::upload::Posted>,
    peer: super::Peer,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> HttpResponse {
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if !field("csrf").is_some_and(|c| web.inner.signer.csrf_ok(&link, action, c)) {
        tracing::warn!(link = %crate::links::log_id(&token), %action, "trang: biểu mẫu không có mã CSRF hợp lệ");
        return refuse(
            StatusCode::FORBIDDEN,
            "Biểu mẫu không hợp lệ hoặc đã cũ. Vui lòng mở lại liên kết trong thư nhắc việc rồi gửi lại.",
        );
    }
    let (answered, responses) = match answered(web, config, &link.agency) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let today = today(config, now);
    let views = answers::agency_view(&answered, &link.agency, today, &responses);
    let base = format!("/a/{token}");
    let back = |location: String| -> HttpResponse {
        (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
    };
    if action == "undo" {
        let Some(id) = field("response").and_then(|v| v.parse::<i64>().ok()) else {
            return refuse(StatusCode::BAD_REQUEST, "Thiếu câu trả lời cần rút lại.");
        };
        let since = now - chrono::Duration::hours(UNDO_HOURS);
        return match web.with_store(|s| s.undo_response(id, &link.agency, since, now)) {
            Ok(true) => {
                tracing::info!(agency = %link.agency, response = id, "trang: cơ quan rút lại câu trả lời");
                back(format!("{base}?ok=undo"))
            }
            Ok(false) => refuse(
                StatusCode::CONFLICT,
                &format!("Không rút lại được: chỉ rút lại được câu trả lời mới nhất của cơ quan cho một nhiệm vụ, trong vòng {UNDO_HOURS} giờ, khi đề nghị gia hạn chưa được quyết định."),
            ),
            Err(e) => store_failed(e),
        };
    }
    // Which occurrence: one of this agency's open ones, on an open plan.
    let (Some(plan), Some(task)) = (field("plan"), field("task")) else {
        return refuse(StatusCode::BAD_REQUEST, "Thiếu kế hoạch hoặc nhiệm vụ.");
    };
    let deadline = match field("deadline") {
        None => None,
        Some(d) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "Biểu mẫu ghi kỳ hạn không hợp lệ. Vui lòng mở lại liên kết trong thư nhắc việc rồi gửi lại.",
                )
            }
        },
    };
    // A card the page lists, or an open occurrence past the ones it lists (a reminder may
    // still name it).
    let unlisted = answers::occurrence_card(
        &answered,
        &link.agency,
        today,
        &responses,
        &answers::Occurrence {
            plan: plan.to_string(),
            task: task.to_string(),
            deadline,
        },
    )
    .filter(|v| v.current.is_some() && !v.plan_closed);
    let view = match (find_open(&views, plan, task, deadline), &unlisted) {
        (Ok(v), _) => v,
        (Err(_), Some(v)) => v,
        (Err((status, msg)), None) => return refuse(status, &msg),
    };
    let plan_issued = answered.plan(plan).map(|p| p.issued);
    let checked = match action {
        "done" => done(&form, today, plan_issued),
        "progress" => progress(&form),
        _ => extend(
            &form,
            view,
            config
                .web
                .as_ref()
                .map_or(crate::config::web::DEFAULT_MAX_EXTENSION_DAYS, |w| {
                    w.max_extension_days
                }),
        ),
    };
    let mut new = match checked {
        Ok(n) => n,
        Err(msg) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, &msg),
    };
    new.who = match who(&form) {
        Ok(w) => w,
        Err(msg) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, &msg),
    };
    let upload = match super::upload::check(file) {
        Ok(u) => u,
        Err(resp) => return resp,
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
    let recorded = view.occurrence_ref();
    new.key_id = link.key_id.clone();
    new.client = client(config, peer, headers);
    new.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(300).collect());
    new.nonce = nonce.to_string();
    let cap = config
        .web
        .as_ref()
        .map_or(crate::config::web::DEFAULT_MAX_ANSWERS_PER_DAY, |w| {
            w.max_answers_per_day
        });
    let day = (
        answers::day_start(config.timezone, today),
        today
            .succ_opt()
            .and_then(|d| answers::day_start(config.timezone, d)),
    );
    let stored = super::upload::record(web, config, &new, upload.as_ref(), now, |store| {
        bounds(web, store, &link.agency, today, &recorded, day, cap)
    });
    let stored = match stored {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    match stored {
        Ok(id) => {
            tracing::info!(agency = %link.agency, plan, task, deadline = ?new.deadline, action = new.action.name(), response = id, link = %crate::links::log_id(&token), "trang: đã ghi câu trả lời của cơ quan");
            // The official is remembered for this link: the next answer is prefilled.
            let secure = config
                .web
                .as_ref()
                .is_some_and(|w| w.public_url.starts_with("https://"));
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, page::after_answer(&base, id, &recorded)),
                    (header::SET_COOKIE, who_cookie(&base, &new.who, secure)),
                ],
            )
                .into_response()
        }
        Err(RecordError::Replayed) => refuse(
            StatusCode::CONFLICT,
            "Biểu mẫu này đã được gửi trước đó và đã được ghi nhận một lần; không ghi lại lần nữa.",
        ),
        Err(RecordError::Store(e)) => store_failed(e),
        Err(e) => super::upload::not_stored(&e),
    }
}

/// What is checked as the answer is stored, in the store's hold: the agency's answers of the
/// day under `[web] max_answers_per_day` (429 past it), and the occurrence still one it may
/// answer in the config in force now (a reload while the request ran may have removed it:
/// 409). Else the page refusing it.
fn bounds(
    web: &Web,
    store: &crate::store::Store,
    agency: &str,
    today: NaiveDate,
    occurrence: &answers::Occurrence,
    day: (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ),
    cap: u32,
) -> Result<(), HttpResponse> {
    if let (Some(from), Some(to)) = day {
        let given = store
            .answers_between(agency, from, to)
            .map_err(store_failed)?;
        if given >= cap {
            tracing::warn!(%agency, given, cap, event = "answers_per_day", "trang: cơ quan đã gửi quá số câu trả lời cho phép trong ngày");
            return Err(html(
                StatusCode::TOO_MANY_REQUESTS,
                page::error(
                    "Chưa ghi nhận",
                    &format!("Đã ghi nhận quá nhiều câu trả lời hôm nay ({given} câu trả lời, tối đa {cap} mỗi ngày cho một cơ quan): câu trả lời này chưa được ghi. Vui lòng gửi lại vào ngày mai, hoặc liên hệ cơ quan theo dõi nếu cần báo ngay."),
                ),
            ));
        }
    }
    let current = web.config();
    if let Err(reason) = answers::still_answerable(&current, agency, today, occurrence) {
        tracing::warn!(%agency, plan = %occurrence.plan, task = %occurrence.task, event = "answer_stale_config", "trang: nhiệm vụ không còn trong cấu hình khi ghi câu trả lời");
        return Err(refuse(StatusCode::CONFLICT, &reason));
    }
    Ok(())
}

/// The card a form answers: `plan`'s task `task`, its occurrence due `deadline` (as the plan
/// gives it), open, on an open plan. Else the status and the Vietnamese reason.
fn find_open<'a>(
    views: &'a [TaskView],
    plan: &str,
    task: &str,
    deadline: Option<NaiveDate>,
) -> Result<&'a TaskView, (StatusCode, String)> {
    let of_task: Vec<&TaskView> = views
        .iter()
        .filter(|v| v.plan == plan && v.task == task)
        .collect();
    if of_task.is_empty() {
        return Err((
            StatusCode::FORBIDDEN,
            "Nhiệm vụ này không được giao cho cơ quan của liên kết (hoặc không còn trong kế hoạch).".into(),
        ));
    }
    if of_task.iter().any(|v| v.plan_closed) {
        return Err((
            StatusCode::CONFLICT,
            "Kế hoạch này đã kết thúc: không còn nhận báo cáo qua trang này. Liên hệ cơ quan theo dõi nếu cần.".into(),
        ));
    }
    if let Some(v) = of_task
        .iter()
        .find(|v| v.occurrence == deadline && v.current.is_some())
    {
        return Ok(v);
    }
    // A task without dated deadlines has one card, about the whole task.
    if let Some(v) = of_task
        .iter()
        .find(|v| v.occurrence.is_none() && v.done.is_none() && deadline.is_none())
    {
        return Ok(v);
    }
    let open: Vec<String> = of_task
        .iter()
        .filter(|v| v.current.is_some())
        .map(|v| v.label())
        .collect();
    let others = if open.is_empty() {
        "Nhiệm vụ này không còn kỳ hạn nào đang mở cho cơ quan.".to_string()
    } else {
        format!("Các kỳ hạn đang mở: {}.", open.join("; "))
    };
    let what = match deadline {
        Some(d) => format!("Kỳ hạn {} của nhiệm vụ {task}", vn(d)),
        None => format!("Nhiệm vụ {task}"),
    };
    Err(match of_task
        .iter()
        .find(|v| v.occurrence == deadline && v.done.is_some())
    {
        Some(v) => (
            StatusCode::CONFLICT,
            format!(
                "{what} đã được báo hoàn thành ngày {}: không ghi thêm. Nếu cần sửa, dùng nút \"Rút lại trả lời gần nhất\" trong 24 giờ hoặc liên hệ cơ quan theo dõi. {others}",
                v.done.map(vn).unwrap_or_default()
            ),
        ),
        None => (
            StatusCode::CONFLICT,
            format!("{what} không phải một kỳ hạn đang mở của cơ quan (trang đã cũ, hoặc kỳ hạn đã thay đổi). Vui lòng tải lại trang rồi gửi lại. {others}"),
        ),
    })
}

/// Characters of a name or a position.
pub const MAX_WHO: usize = 100;
/// The cookie that remembers who answers with a link.
pub const WHO_COOKIE: &str = "nv_nguoi";

/// Who answers: "họ tên" and "chức vụ", both required.
fn who(form: &HashMap<String, String>) -> Result<answers::Who, String> {
    let name = text(form, "ho_ten", "Họ tên", MAX_WHO)?;
    let position = text(form, "chuc_vu", "Chức vụ", MAX_WHO)?;
    match (name, position) {
        (Some(name), Some(position)) if !name.contains('\n') && !position.contains('\n') => {
            Ok(answers::Who { name, position })
        }
        (Some(_), Some(_)) => Err("Họ tên và chức vụ ghi trên một dòng.".into()),
        _ => Err(
            "Vui lòng ghi họ tên và chức vụ của người trả lời (ví dụ: Nguyễn Văn A, Chuyên viên Phòng Cải cách hành chính): câu trả lời được lưu cùng người trả lời."
                .into(),
        ),
    }
}

/// `Set-Cookie` remembering `who` for the link's pages only (its path), 60 days.
fn who_cookie(base: &str, who: &answers::Who, secure: bool) -> String {
    let value: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("t", &who.name)
        .append_pair("c", &who.position)
        .finish();
    let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!(
        "{WHO_COOKIE}={value}; Path={base}; Max-Age=5184000; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Who answered last with this link, from its cookie (empty when none or unreadable).
pub fn remembered(headers: &HeaderMap) -> answers::Who {
    let raw = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(WHO_COOKIE)?
                .strip_prefix('=')
                .map(str::to_string)
        });
    let Some(raw) = raw else {
        return answers::Who::default();
    };
    let decoded: String = url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .next()
        .unwrap_or_default();
    let mut who = answers::Who::default();
    for (k, v) in url::form_urlencoded::parse(decoded.as_bytes()) {
        let v: String = v
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_WHO)
            .collect();
        match k.as_ref() {
            "t" => who.name = v,
            "c" => who.position = v,
            _ => {}
        }
    }
    who
}

fn store_failed(e: crate::store::StoreError) -> HttpResponse {
    tracing::error!(error = %e, event = "store_error", "trang: không ghi được cơ sở dữ liệu");
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
        who: Default::default(),
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

/// A date as Vietnamese write it, dd/mm/yyyy (d/m/yyyy too), or ISO yyyy-mm-dd; a four-digit
/// year between 2000 and 2100. Anything else is refused with the form to use.
pub(crate) fn form_date(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let (d, m, y) = match (
        v.split('/').collect::<Vec<_>>().as_slice(),
        v.split('-').collect::<Vec<_>>().as_slice(),
    ) {
        ([d, m, y], _) if digits(d, 1, 2) && digits(m, 1, 2) && digits(y, 4, 4) => (*d, *m, *y),
        (_, [y, m, d]) if digits(y, 4, 4) && digits(m, 2, 2) && digits(d, 2, 2) => (*d, *m, *y),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    crate::overview::check_as_of(date).ok().map(|_| date)
}

fn date_field(
    form: &HashMap<String, String>,
    key: &str,
    label: &str,
) -> Result<Option<NaiveDate>, String> {
    match form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => form_date(v).map(Some).ok_or_else(|| {
            format!(
                "{label} \"{}\" không phải ngày hợp lệ: ghi theo dạng ngày/tháng/năm, ví dụ 07/12/2026 (năm từ 2000 đến 2100).",
                v.chars().take(40).collect::<String>()
            )
        }),
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

/// An extension request: a date after the current deadline and at most `max_days` days past
/// it (`[web] max_extension_days`).
fn extend(
    form: &HashMap<String, String>,
    view: &TaskView,
    max_days: u32,
) -> Result<NewResponse, String> {
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
    let furthest = due
        .checked_add_days(chrono::Days::new(u64::from(max_days)))
        .unwrap_or(due);
    if proposed > furthest {
        return Err(format!(
            "Ngày đề nghị {} quá xa: chỉ đề nghị gia hạn tối đa {max_days} ngày sau hạn hiện tại ({}), tức muộn nhất ngày {}.",
            vn(proposed),
            vn(due),
            vn(furthest)
        ));
    }
    let reason =
        text(form, "reason", "Lý do", MAX_TEXT)?.ok_or("Vui lòng ghi lý do đề nghị gia hạn.")?;
    let mut r = blank(Action::Extension);
    r.proposed = Some(proposed);
    r.note = Some(reason);
    Ok(r)
}
