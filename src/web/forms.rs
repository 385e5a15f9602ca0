//! The POST forms of an agency's page: checked field by field (each refusal a Vietnamese
//! message and a 4xx, nothing stored), then recorded; success redirects back to the page
//! (post/redirect/get, so a reload does not post again).

use super::error::{self, WebError};
use super::extract::{typed, AgencyLink};
use super::page::{MAX_REF, MAX_TEXT, UNDO_HOURS};
use super::upload::Posted as File;
use super::{client, page, today, Web};
use crate::answers::{self, Action, NewResponse, TaskView};
use crate::config::Config;
use crate::dates::dmy;
use crate::store::RecordError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

/// What the handlers answer: a redirect, or the page refusing the form.
type Answer = Result<HttpResponse, WebError>;

fn refuse(status: StatusCode, message: impl Into<String>) -> WebError {
    WebError::refused(status, message)
}

/// "Đã hoàn thành": the date it was done (default today), the report's number, a note.
#[derive(Deserialize)]
pub struct Done {
    csrf: Option<String>,
    nonce: Option<String>,
    plan: Option<String>,
    task: Option<String>,
    deadline: Option<String>,
    ho_ten: Option<String>,
    chuc_vu: Option<String>,
    done_on: Option<String>,
    doc_ref: Option<String>,
    note: Option<String>,
}

/// Progress: what was done, and how far (0-100 %).
#[derive(Deserialize)]
pub struct Progress {
    csrf: Option<String>,
    nonce: Option<String>,
    plan: Option<String>,
    task: Option<String>,
    deadline: Option<String>,
    ho_ten: Option<String>,
    chuc_vu: Option<String>,
    note: Option<String>,
    percent: Option<String>,
}

/// An extension request: the date asked for and why.
#[derive(Deserialize)]
pub struct Extend {
    csrf: Option<String>,
    nonce: Option<String>,
    plan: Option<String>,
    task: Option<String>,
    deadline: Option<String>,
    ho_ten: Option<String>,
    chuc_vu: Option<String>,
    proposed: Option<String>,
    reason: Option<String>,
}

/// Withdrawing the agency's latest answer.
#[derive(Deserialize)]
pub struct Undo {
    csrf: Option<String>,
    response: Option<String>,
}

/// What every answer's form carries beside its own fields.
struct Card<'a> {
    csrf: Option<&'a str>,
    nonce: Option<&'a str>,
    plan: Option<&'a str>,
    task: Option<&'a str>,
    deadline: Option<&'a str>,
    name: Option<&'a str>,
    position: Option<&'a str>,
}

macro_rules! card {
    ($f:expr) => {
        Card {
            csrf: $f.csrf.as_deref(),
            nonce: $f.nonce.as_deref(),
            plan: $f.plan.as_deref(),
            task: $f.task.as_deref(),
            deadline: $f.deadline.as_deref(),
            name: $f.ho_ten.as_deref(),
            position: $f.chuc_vu.as_deref(),
        }
    };
}

/// The request's form as `T` (urlencoded, or multipart with a file, `upload::read_form`),
/// and its file.
async fn read<T: serde::de::DeserializeOwned>(
    config: &Config,
    request: Request,
) -> Result<(T, Option<File>), WebError> {
    let (fields, file) = super::upload::read_form(config, request).await?;
    Ok((typed(&fields)?, file))
}

/// Where an answer's checks stand when its own fields are read.
struct Checking<'a> {
    config: &'a Config,
    today: NaiveDate,
    view: &'a TaskView,
    issued: Option<NaiveDate>,
}

/// `POST /a/{token}/done`.
pub async fn done(
    State(web): State<Web>,
    agency: AgencyLink,
    ConnectInfo(peer): ConnectInfo<super::Peer>,
    headers: HeaderMap,
    request: Request,
) -> Answer {
    let (form, file) = read::<Done>(&agency.config, request).await?;
    web.run(move |web| {
        record(
            web,
            &agency,
            "done",
            card!(form),
            file,
            peer,
            &headers,
            |c| done_of(&form, c.today, c.issued),
        )
    })
    .await
}

/// `POST /a/{token}/progress`.
pub async fn progress(
    State(web): State<Web>,
    agency: AgencyLink,
    ConnectInfo(peer): ConnectInfo<super::Peer>,
    headers: HeaderMap,
    request: Request,
) -> Answer {
    let (form, file) = read::<Progress>(&agency.config, request).await?;
    web.run(move |web| {
        record(
            web,
            &agency,
            "progress",
            card!(form),
            file,
            peer,
            &headers,
            |_| progress_of(&form),
        )
    })
    .await
}

/// `POST /a/{token}/extend`.
pub async fn extend(
    State(web): State<Web>,
    agency: AgencyLink,
    ConnectInfo(peer): ConnectInfo<super::Peer>,
    headers: HeaderMap,
    request: Request,
) -> Answer {
    let (form, file) = read::<Extend>(&agency.config, request).await?;
    web.run(move |web| {
        record(
            web,
            &agency,
            "extend",
            card!(form),
            file,
            peer,
            &headers,
            |c| {
                let max_days = c
                    .config
                    .web
                    .as_ref()
                    .map_or(crate::config::web::DEFAULT_MAX_EXTENSION_DAYS, |w| {
                        w.max_extension_days
                    });
                extension_of(&form, c.view, max_days)
            },
        )
    })
    .await
}

/// `POST /a/{token}/undo`: the agency's latest answer of an occurrence withdrawn, within
/// [`UNDO_HOURS`], unless an extension it asked for was decided.
pub async fn undo(State(web): State<Web>, agency: AgencyLink, request: Request) -> Answer {
    let now = web.now();
    let (form, _) = read::<Undo>(&agency.config, request).await?;
    web.run(move |web| {
        csrf_checked(web, &agency, "undo", form.csrf.as_deref())?;
        let Some(id) = form.response.as_deref().and_then(|v| v.parse::<i64>().ok()) else {
            return Err(refuse(StatusCode::BAD_REQUEST, "Thiếu câu trả lời cần rút lại."));
        };
        let since = now - chrono::Duration::hours(UNDO_HOURS);
        let agency_id = agency.agency();
        match web.with_answers(|s| s.undo_response(id, agency_id, since, now)) {
            Ok(true) => {
                tracing::info!(agency = %agency_id, response = id, "trang: cơ quan rút lại câu trả lời");
                Ok((
                    StatusCode::SEE_OTHER,
                    [(
                        header::LOCATION,
                        format!("{}?ok=undo", crate::links::Url::Agency(&agency.token).path()),
                    )],
                )
                    .into_response())
            }
            Ok(false) => Err(refuse(
                StatusCode::CONFLICT,
                format!("Không rút lại được: chỉ rút lại được câu trả lời mới nhất của cơ quan cho một nhiệm vụ, trong vòng {UNDO_HOURS} giờ, khi đề nghị gia hạn chưa được quyết định."),
            )),
            Err(e) => Err(store_failed(&e)),
        }
    })
    .await
}

/// The form's CSRF token, bound to the link and the form (`action`).
fn csrf_checked(
    web: &Web,
    agency: &AgencyLink,
    action: &str,
    csrf: Option<&str>,
) -> Result<(), WebError> {
    if csrf.is_some_and(|c| web.inner.signer.csrf_ok(&agency.link, action, c)) {
        return Ok(());
    }
    tracing::warn!(link = %crate::links::log_id(&agency.token), %action, "trang: biểu mẫu không có mã CSRF hợp lệ");
    Err(refuse(
        StatusCode::FORBIDDEN,
        "Biểu mẫu không hợp lệ hoặc đã cũ. Vui lòng mở lại liên kết trong thư nhắc việc rồi gửi lại.",
    ))
}

/// An answer (`action`: done, progress, extend) checked and recorded: the CSRF token, the
/// occurrence one of the agency's open ones, the answer's own fields (`fields`), who answers,
/// the file, the nonce; then the day's cap and the config in force as it is stored. Blocks:
/// on the blocking pool only.
#[allow(clippy::too_many_arguments)]
fn record(
    web: &Web,
    agency: &AgencyLink,
    action: &str,
    card: Card<'_>,
    file: Option<File>,
    peer: super::Peer,
    headers: &HeaderMap,
    fields: impl FnOnce(&Checking<'_>) -> Result<NewResponse, WebError>,
) -> Answer {
    let now = web.now();
    let AgencyLink {
        token,
        link,
        config,
    } = agency;
    csrf_checked(web, agency, action, card.csrf)?;
    let today = today(config, now);
    let super::Shown {
        answered,
        views,
        responses,
        ..
    } = super::shown(web, config, &link.agency, today)?;
    let base = crate::links::Url::Agency(token).path();
    // Which occurrence: one of this agency's open ones, on an open plan.
    let (Some(plan), Some(task)) = (card.plan, card.task) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Thiếu kế hoạch hoặc nhiệm vụ.",
        ));
    };
    let deadline = match card.deadline {
        None => None,
        Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            refuse(
                StatusCode::BAD_REQUEST,
                "Biểu mẫu ghi kỳ hạn không hợp lệ. Vui lòng mở lại liên kết trong thư nhắc việc rồi gửi lại.",
            )
        })?),
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
        (Err(refused), None) => return Err(refused),
    };
    let mut new = fields(&Checking {
        config,
        today,
        view,
        issued: answered.plan(plan).map(|p| p.issued),
    })?;
    new.who = who(card.name, card.position)?;
    let upload = super::upload::check(file)?;
    let Some(nonce) = card.nonce.filter(|n| n.len() <= 64) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Biểu mẫu thiếu mã gửi; vui lòng tải lại trang.",
        ));
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
    })?;
    match stored {
        Ok(id) => {
            tracing::info!(agency = %link.agency, plan, task, deadline = ?new.deadline, action = new.action.name(), response = id, link = %crate::links::log_id(token), "trang: đã ghi câu trả lời của cơ quan");
            // The official is remembered for this link: the next answer is prefilled.
            let secure = config
                .web
                .as_ref()
                .is_some_and(|w| w.public_url.starts_with("https://"));
            Ok((
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, page::after_answer(&base, id, &recorded)),
                    (header::SET_COOKIE, who_cookie(&base, &new.who, secure)),
                ],
            )
                .into_response())
        }
        Err(RecordError::Replayed) => Err(refuse(
            StatusCode::CONFLICT,
            "Biểu mẫu này đã được gửi trước đó và đã được ghi nhận một lần; không ghi lại lần nữa.",
        )),
        Err(RecordError::Store(e)) => Err(store_failed(&e)),
        Err(e) => Err(super::upload::not_stored(&e)),
    }
}

/// What is checked as the answer is stored, in the store's hold: the agency's answers of the
/// day under `[web] max_answers_per_day` (429 past it), and the occurrence still one it may
/// answer in the config in force now (a reload while the request ran may have removed it:
/// 409). Else the page refusing it.
fn bounds(
    web: &Web,
    store: &dyn crate::store::Answers,
    agency: &str,
    today: NaiveDate,
    occurrence: &answers::Occurrence,
    day: (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ),
    cap: u32,
) -> Result<(), WebError> {
    if let (Some(from), Some(to)) = day {
        let given = store
            .answers_between(agency, from, to)
            .map_err(|e| store_failed(&e))?;
        if given >= cap {
            tracing::warn!(%agency, given, cap, event = "answers_per_day", "trang: cơ quan đã gửi quá số câu trả lời cho phép trong ngày");
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Đã ghi nhận quá nhiều câu trả lời hôm nay ({given} câu trả lời, tối đa {cap} mỗi ngày cho một cơ quan): câu trả lời này chưa được ghi. Vui lòng gửi lại vào ngày mai, hoặc liên hệ cơ quan theo dõi nếu cần báo ngay."),
            ));
        }
    }
    let current = web.config();
    if let Err(reason) = answers::still_answerable(&current, agency, today, occurrence) {
        tracing::warn!(%agency, plan = %occurrence.plan, task = %occurrence.task, event = "answer_stale_config", "trang: nhiệm vụ không còn trong cấu hình khi ghi câu trả lời");
        return Err(refuse(StatusCode::CONFLICT, reason.to_string()));
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
) -> Result<&'a TaskView, WebError> {
    let of_task: Vec<&TaskView> = views
        .iter()
        .filter(|v| v.plan == plan && v.task == task)
        .collect();
    if of_task.is_empty() {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Nhiệm vụ này không được giao cho cơ quan của liên kết (hoặc không còn trong kế hoạch).",
        ));
    }
    if of_task.iter().any(|v| v.plan_closed) {
        return Err(refuse(
            StatusCode::CONFLICT,
            "Kế hoạch này đã kết thúc: không còn nhận báo cáo qua trang này. Liên hệ cơ quan theo dõi nếu cần.",
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
        Some(d) => format!("Kỳ hạn {} của nhiệm vụ {task}", dmy(d)),
        None => format!("Nhiệm vụ {task}"),
    };
    Err(match of_task
        .iter()
        .find(|v| v.occurrence == deadline && v.done.is_some())
    {
        Some(v) => refuse(
            StatusCode::CONFLICT,
            format!(
                "{what} đã được báo hoàn thành ngày {}: không ghi thêm. Nếu cần sửa, dùng nút \"Rút lại trả lời gần nhất\" trong 24 giờ hoặc liên hệ cơ quan theo dõi. {others}",
                v.done.map(dmy).unwrap_or_default()
            ),
        ),
        None => refuse(
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
fn who(name: Option<&str>, position: Option<&str>) -> Result<answers::Who, WebError> {
    let name = text(name, "Họ tên", MAX_WHO)?;
    let position = text(position, "Chức vụ", MAX_WHO)?;
    match (name, position) {
        (Some(name), Some(position)) if !name.contains('\n') && !position.contains('\n') => {
            Ok(answers::Who { name, position })
        }
        (Some(_), Some(_)) => Err(unfit("Họ tên và chức vụ ghi trên một dòng.")),
        _ => Err(unfit(
            "Vui lòng ghi họ tên và chức vụ của người trả lời (ví dụ: Nguyễn Văn A, Chuyên viên Phòng Cải cách hành chính): câu trả lời được lưu cùng người trả lời.",
        )),
    }
}

/// A field's value refused (422).
fn unfit(message: impl Into<String>) -> WebError {
    refuse(StatusCode::UNPROCESSABLE_ENTITY, message)
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

fn store_failed(e: &crate::store::StoreError) -> WebError {
    error::store_failed(
        e,
        "trang: không ghi được cơ sở dữ liệu",
        "Chưa ghi nhận",
        "Máy chủ gặp sự cố lưu trữ; câu trả lời chưa được ghi. Vui lòng thử lại sau ít phút.",
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

/// A text field (trimmed, blank left out: [`typed`]): at most `max` characters, control
/// characters other than line breaks refused. Stored as text; pages escape it.
fn text(value: Option<&str>, label: &str, max: usize) -> Result<Option<String>, WebError> {
    let Some(v) = value else {
        return Ok(None);
    };
    let n = v.chars().count();
    if n > max {
        return Err(unfit(format!("{label} dài {n} ký tự, tối đa {max} ký tự.")));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(unfit(format!("{label} có ký tự điều khiển không hợp lệ.")));
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

fn date_field(value: Option<&str>, label: &str) -> Result<Option<NaiveDate>, WebError> {
    match value {
        None => Ok(None),
        Some(v) => form_date(v).map(Some).ok_or_else(|| {
            unfit(format!(
                "{label} \"{}\" không phải ngày hợp lệ: ghi theo dạng ngày/tháng/năm, ví dụ 07/12/2026 (năm từ 2000 đến 2100).",
                v.chars().take(40).collect::<String>()
            ))
        }),
    }
}

fn done_of(
    form: &Done,
    today: NaiveDate,
    issued: Option<NaiveDate>,
) -> Result<NewResponse, WebError> {
    let on = date_field(form.done_on.as_deref(), "Ngày hoàn thành")?.unwrap_or(today);
    if on > today {
        return Err(unfit(format!(
            "Ngày hoàn thành {} ở tương lai: chỉ báo hoàn thành khi việc đã xong (hôm nay là {}).",
            dmy(on),
            dmy(today)
        )));
    }
    if let Some(issued) = issued.filter(|i| on < *i) {
        return Err(unfit(format!(
            "Ngày hoàn thành {} trước ngày ban hành kế hoạch ({}).",
            dmy(on),
            dmy(issued)
        )));
    }
    let mut r = blank(Action::Done);
    r.done_on = Some(on);
    r.doc_ref = text(form.doc_ref.as_deref(), "Số văn bản báo cáo", MAX_REF)?;
    r.note = text(form.note.as_deref(), "Ghi chú", MAX_TEXT)?;
    Ok(r)
}

fn progress_of(form: &Progress) -> Result<NewResponse, WebError> {
    let note = text(form.note.as_deref(), "Nội dung tiến độ", MAX_TEXT)?
        .ok_or_else(|| unfit("Vui lòng ghi nội dung tiến độ."))?;
    let percent = match form
        .percent
        .as_deref()
        .map(|v| v.trim_end_matches('%').trim())
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => match v.parse::<u8>() {
            Ok(p) if p <= 100 => Some(p),
            _ => {
                return Err(unfit(format!(
                    "Tỷ lệ hoàn thành \"{v}\" phải là số từ 0 đến 100."
                )))
            }
        },
    };
    let mut r = blank(Action::Progress);
    r.note = Some(note);
    r.percent = percent;
    Ok(r)
}

/// An extension request: a date after the current deadline and at most `max_days` days past
/// it (`[web] max_extension_days`).
fn extension_of(form: &Extend, view: &TaskView, max_days: u32) -> Result<NewResponse, WebError> {
    let Some(due) = view.due else {
        return Err(unfit("Nhiệm vụ này không có hạn để gia hạn."));
    };
    let proposed = date_field(form.proposed.as_deref(), "Ngày đề nghị")?
        .ok_or_else(|| unfit("Vui lòng ghi ngày đề nghị gia hạn đến."))?;
    if proposed <= due {
        return Err(unfit(format!(
            "Ngày đề nghị {} phải sau hạn hiện tại ({}).",
            dmy(proposed),
            dmy(due)
        )));
    }
    let furthest = due
        .checked_add_days(chrono::Days::new(u64::from(max_days)))
        .unwrap_or(due);
    if proposed > furthest {
        return Err(unfit(format!(
            "Ngày đề nghị {} quá xa: chỉ đề nghị gia hạn tối đa {max_days} ngày sau hạn hiện tại ({}), tức muộn nhất ngày {}.",
            dmy(proposed),
            dmy(due),
            dmy(furthest)
        )));
    }
    let reason = text(form.reason.as_deref(), "Lý do", MAX_TEXT)?
        .ok_or_else(|| unfit("Vui lòng ghi lý do đề nghị gia hạn."))?;
    let mut r = blank(Action::Extension);
    r.proposed = Some(proposed);
    r.note = Some(reason);
    Ok(r)
}
