//! The pages' HTML: minijinja templates (`templates/*.html`, every value escaped), one
//! stylesheet, no scripts. Readable at 360 px (one column, cards) and without CSS.

use crate::answers::{Action, Response, TaskView};
use crate::config::Config;
use crate::links::{Link, Signer};
use crate::schedule::Role;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{context, Environment};
use serde::Serialize;

pub const STYLE: &str = include_str!("templates/style.css");

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    for (name, src) in [
        ("base.html", include_str!("templates/base.html")),
        ("agency.html", include_str!("templates/agency.html")),
        ("message.html", include_str!("templates/message.html")),
        ("monitor.html", include_str!("templates/monitor.html")),
    ] {
        if let Err(e) = env.add_template(name, src) {
            tracing::error!(error = %e, template = name, "web template does not compile");
        }
    }
    env
}

pub(crate) fn render(name: &str, ctx: minijinja::Value) -> String {
    thread_local! {
        static ENV: Environment<'static> = env();
    }
    ENV.with(|env| {
        env.get_template(name)
            .and_then(|t| t.render(ctx))
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, template = name, "web page failed to render");
                "<!doctype html><meta charset=utf-8><title>Lỗi</title><p>Trang tạm thời không hiển thị được. Vui lòng thử lại sau.</p>".to_string()
            })
    })
}

pub(crate) fn vn(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

#[derive(Serialize)]
struct Contact {
    name: String,
    phone: String,
    email: String,
}

fn contact(config: &Config) -> Option<Contact> {
    config.monitor_contact.as_ref().map(|c| Contact {
        name: c.name.clone(),
        phone: c.phone.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
    })
}

pub fn not_found() -> String {
    render(
        "message.html",
        context! {
            title => "Không tìm thấy trang",
            message => "Liên kết không đúng hoặc không đầy đủ. Hãy mở lại liên kết trong thư nhắc việc gần nhất (chép đủ cả dòng địa chỉ).",
        },
    )
}

pub fn error(title: &str, message: &str) -> String {
    render(
        "message.html",
        context! { title => title, message => message, back => true },
    )
}

pub fn expired(config: &Config, agency: &str, expired: DateTime<Utc>) -> String {
    let name = config.agency(agency).map(|a| a.name.clone());
    let when = vn(expired.with_timezone(&config.timezone).date_naive());
    render(
        "message.html",
        context! {
            title => "Liên kết đã hết hạn",
            message => format!(
                "Liên kết này{} đã hết hạn ngày {when}. Liên kết mới có trong thư nhắc việc tiếp theo; nếu cần ngay, vui lòng liên hệ cơ quan theo dõi.",
                name.map(|n| format!(" của {n}")).unwrap_or_default()
            ),
            contact => minijinja::Value::from(minijinja::value::Serde(contact(config))),
        },
    )
}

/// The notice after a form (`?ok=done`).
pub fn notice_of(query: &str) -> Option<&'static str> {
    let ok = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "ok")
        .map(|(_, v)| v.into_owned())?;
    Some(match ok.as_str() {
        "done" => "Đã ghi nhận: nhiệm vụ đã hoàn thành. Lời nhắc cho nhiệm vụ này sẽ dừng từ lần gửi tới.",
        "progress" => "Đã ghi nhận tiến độ.",
        "extension" => "Đã gửi đề nghị gia hạn; cơ quan theo dõi sẽ xem xét. Hạn hiện tại vẫn giữ cho đến khi được gia hạn.",
        "undo" => "Đã rút lại câu trả lời.",
        _ => return None,
    })
}

pub struct AgencyPage<'a> {
    pub config: &'a Config,
    pub signer: &'a Signer,
    pub link: &'a Link,
    pub token: &'a str,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    pub views: &'a [TaskView],
    pub notice: Option<&'static str>,
}

#[derive(Serialize)]
struct ResponseCtx {
    id: i64,
    what: String,
    when: String,
    undoable: bool,
}

#[derive(Serialize)]
struct TaskCtx {
    plan: String,
    plan_citation: String,
    plan_closed: bool,
    task: String,
    title: String,
    lead: bool,
    leads: Vec<String>,
    time_text: String,
    deadlines: Vec<String>,
    current: String,
    due: String,
    status: String,
    overdue: bool,
    done: bool,
    can_answer: bool,
    can_extend: bool,
    latest: Option<ResponseCtx>,
    pending_extension: Option<String>,
    nonce: String,
}

fn describe(r: &Response) -> String {
    let mut parts = vec![Action::vi(r.action).to_string()];
    match r.action {
        Action::Done => {
            if let Some(d) = r.done_on {
                parts.push(format!("ngày {}", vn(d)));
            }
            if let Some(d) = &r.doc_ref {
                parts.push(format!("văn bản {d}"));
            }
        }
        Action::Progress => {
            if let Some(p) = r.percent {
                parts.push(format!("{p}%"));
            }
        }
        Action::Extension => {
            if let Some(p) = r.proposed {
                parts.push(format!("đến {}", vn(p)));
            }
            if r.granted.is_some() {
                parts.push("đã được gia hạn".into());
            }
            if let Some(why) = &r.refusal {
                parts.push(format!("không được đồng ý (lý do: {why})"));
            }
        }
    }
    let mut s = parts.join(", ");
    if let Some(n) = &r.note {
        s.push_str(": ");
        s.push_str(n);
    }
    s
}

pub fn agency(p: &AgencyPage<'_>) -> String {
    let tz = p.config.timezone;
    let undo_since = p.now - chrono::Duration::hours(super::forms::UNDO_HOURS);
    let tasks: Vec<TaskCtx> = p
        .views
        .iter()
        .map(|v| {
            let status = match (v.done, v.days) {
                (Some(d), _) => format!("Đã hoàn thành ngày {}", vn(d)),
                (None, Some(d)) if d < 0 => format!("Quá hạn {} ngày", -d),
                (None, Some(0)) => "Đến hạn hôm nay".to_string(),
                (None, Some(d)) => format!("Còn {d} ngày"),
                (None, None) => "Không có hạn cụ thể".to_string(),
            };
            let open = v.done.is_none() && !v.plan_closed;
            TaskCtx {
                plan: v.plan.clone(),
                plan_citation: v.plan_citation.clone(),
                plan_closed: v.plan_closed,
                task: v.task.clone(),
                title: v.title.clone(),
                lead: v.role == Role::Lead,
                leads: v.leads.clone(),
                time_text: v.time_text.clone(),
                deadlines: v.deadlines.iter().map(|d| vn(*d)).collect(),
                current: v.current.map(|d| d.to_string()).unwrap_or_default(),
                due: v.due.map(vn).unwrap_or_default(),
                status,
                overdue: v.overdue(),
                done: v.done.is_some(),
                can_answer: open,
                can_extend: open && v.due.is_some() && v.pending_extension.is_none(),
                latest: v.latest.as_ref().map(|r| ResponseCtx {
                    id: r.id,
                    what: describe(r),
                    when: r
                        .created_at
                        .with_timezone(&tz)
                        .format("%H:%M %d/%m/%Y")
                        .to_string(),
                    undoable: r.created_at >= undo_since && r.granted.is_none(),
                }),
                pending_extension: v
                    .pending_extension
                    .as_ref()
                    .and_then(|r| r.proposed)
                    .map(vn),
                nonce: uuid::Uuid::new_v4().simple().to_string(),
            }
        })
        .collect();
    let csrf = |form: &str| p.signer.csrf(p.link, form);
    let overdue = tasks.iter().filter(|t| t.overdue).count();
    let open = tasks.iter().filter(|t| !t.done).count();
    render(
        "agency.html",
        context! {
            agency => p.config.agency(&p.link.agency).map(|a| a.name.clone()).unwrap_or_default(),
            today => vn(p.today),
            today_iso => p.today.to_string(),
            tasks => minijinja::Value::from(minijinja::value::Serde(&tasks)),
            open => open,
            overdue => overdue,
            notice => p.notice,
            base => format!("/a/{}", p.token),
            feed_url => match &p.config.web {
                Some(w) => format!("{}/a/{}/lich.ics", w.public_url, p.token),
                None => format!("/a/{}/lich.ics", p.token),
            },
            csrf_done => csrf("done"),
            csrf_progress => csrf("progress"),
            csrf_extend => csrf("extend"),
            csrf_undo => csrf("undo"),
            contact => minijinja::Value::from(minijinja::value::Serde(contact(p.config))),
            expires => vn((p.link.issued + chrono::Duration::days(i64::from(p.signer.days))).with_timezone(&tz).date_naive()),
        },
    )
}
