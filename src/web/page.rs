//! The pages' HTML: minijinja templates (`templates/*.html`, every value escaped), one
//! stylesheet, no scripts. Readable at 360 px (one column, cards) and without CSS.

use crate::answers::{Action, Occurrence, Response, TaskView};
use crate::config::Config;
use crate::dates::dmy;
use crate::links::{Link, Signer};
use crate::schedule::Role;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{context, Environment};
use serde::Serialize;

pub const STYLE: &str = include_str!("templates/style.css");

/// What the pages' forms accept (checked by `forms`, shown by the pages).
/// Characters a note, a progress text or a reason may have.
pub const MAX_TEXT: usize = 2000;
/// Characters of a document number.
pub const MAX_REF: usize = 200;
/// How long an agency may withdraw its last answer.
pub const UNDO_HOURS: i64 = 24;
/// Cards a page of the agency's list shows (`?trang=`), overdue and nearest deadlines first; a
/// folded list (finished, closed plans) shows as many and counts the rest. A department
/// coordinating a province's plans has 1,500 cards: nobody reads them at once, and rendering
/// them all made its page slow.
pub const PAGE_CARDS: usize = 100;

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
            tracing::error!(error = %e, template = name, "trang: mẫu trang có lỗi");
        }
    }
    env
}

pub(crate) fn render(name: &str, ctx: minijinja::Value) -> String {
    // Compiled once for the process: the blocking pool's threads come and go, a
    // thread-local environment was compiled again by each new one.
    static ENV: std::sync::LazyLock<Environment<'static>> = std::sync::LazyLock::new(env);
    ENV.get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, template = name, "trang: không dựng được trang");
            "<!doctype html><meta charset=utf-8><title>Lỗi</title><p>Trang tạm thời không hiển thị được. Vui lòng thử lại sau.</p>".to_string()
        })
}

#[derive(Serialize)]
struct Contact {
    name: String,
    phone: String,
    email: String,
}

fn contact(config: &Config) -> Option<Contact> {
    config.monitor_contact.as_ref().map(contact_of)
}

fn contact_of(c: &crate::config::web::MonitorContact) -> Contact {
    Contact {
        name: c.name.clone(),
        phone: c.phone.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
    }
}

/// The office an agency's page names: the one of the plan the reminder was about (`[plan]
/// monitor`), else the settings' one.
fn contact_for(config: &Config, plan: Option<&str>) -> Option<Contact> {
    plan.and_then(|n| config.plan(n))
        .and_then(|p| config.monitor_contact_of(p))
        .map(|c| contact_of(&c))
        .or_else(|| contact(config))
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
    let when = dmy(expired.with_timezone(&config.timezone).date_naive());
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

/// What the agency's page was asked for in its query: the item a reminder named (`muc`), the
/// answer just recorded (`ghi-nhan`), an undo (`ok=undo`), and the filters (`ke-hoach`,
/// `tinh-trang`). Unknown keys and malformed values are ignored: a page always shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub focus: Option<Occurrence>,
    pub recorded: Option<i64>,
    pub undone: bool,
    pub plan: Option<String>,
    pub state: StateFilter,
    /// The page of the list asked for (`trang`), from 1.
    pub page: Option<usize>,
}

/// Which cards the page lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateFilter {
    /// Open ones (the default), finished ones folded under a count.
    #[default]
    Open,
    Overdue,
    Done,
    All,
}

impl StateFilter {
    const ALL: [(StateFilter, &'static str, &'static str); 4] = [
        (StateFilter::Open, "can-lam", "Việc chưa hoàn thành"),
        (StateFilter::Overdue, "qua-han", "Chỉ việc quá hạn"),
        (StateFilter::Done, "da-xong", "Việc đã hoàn thành"),
        (StateFilter::All, "tat-ca", "Tất cả"),
    ];

    fn key(self) -> &'static str {
        StateFilter::ALL
            .iter()
            .find(|(f, _, _)| *f == self)
            .map_or("can-lam", |(_, k, _)| k)
    }

    fn keeps(self, v: &TaskView) -> bool {
        match self {
            // Finished ones are kept, folded under their count.
            StateFilter::Open => true,
            StateFilter::Overdue => v.overdue(),
            StateFilter::Done => v.done.is_some(),
            StateFilter::All => true,
        }
    }
}

impl PageQuery {
    pub fn parse(query: Option<&str>) -> PageQuery {
        let mut q = PageQuery::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match k.as_ref() {
                "muc" => q.focus = Occurrence::parse(&v),
                "ghi-nhan" => q.recorded = v.parse().ok(),
                "trang" => q.page = v.parse().ok().filter(|n| *n >= 1),
                "ok" => q.undone = v == "undo",
                "ke-hoach" if !v.is_empty() && v.len() <= 200 => q.plan = Some(v.into_owned()),
                "tinh-trang" => {
                    q.state = StateFilter::ALL
                        .iter()
                        .find(|(_, key, _)| *key == v)
                        .map_or(StateFilter::Open, |(f, _, _)| *f)
                }
                _ => {}
            }
        }
        q
    }
}

impl PageQuery {
    /// What names the page among those kept ([`Marked`]): everything asked but the notice of
    /// an answer just recorded or withdrawn (those pages are made each time).
    pub fn kept_as(&self) -> Option<String> {
        if self.recorded.is_some() || self.undone {
            return None;
        }
        Some(format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            self.focus.as_ref().map(Occurrence::id).unwrap_or_default(),
            self.plan.as_deref().unwrap_or_default(),
            self.state.key(),
            self.page.unwrap_or(1)
        ))
    }
}

/// Where the page goes after an answer: the notice naming what was recorded, the card it
/// recorded (updated) under it.
pub fn after_answer(base: &str, response: i64, occurrence: &Occurrence) -> String {
    let q: String = url::form_urlencoded::byte_serialize(occurrence.id().as_bytes()).collect();
    format!("{base}?ghi-nhan={response}&muc={q}#thong-bao")
}

pub struct AgencyPage<'a> {
    pub config: &'a Config,
    pub signer: &'a Signer,
    /// The link the page was opened with (its forms' CSRF tokens are bound to it): the
    /// agency's, or the monitoring office's for its read-only view.
    pub link: &'a Link,
    /// The agency whose page it is.
    pub agency: &'a str,
    /// The page's own path (its filters' action, its forms' base).
    pub base: String,
    /// Where attached files are downloaded from (`{files}/tep/{sha256}`).
    pub files: String,
    /// The path of the agency's calendar feed (`/a/{feed token}/lich.ics`, read-only), when
    /// the page is the agency's: the answer link never goes into a calendar.
    pub feed: Option<String>,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    pub views: &'a [TaskView],
    /// The agency's own responses (the notice names the one just recorded).
    pub responses: &'a [Response],
    /// Files attached to answers, by response id.
    pub evidence: &'a std::collections::HashMap<i64, crate::evidence::Evidence>,
    pub query: &'a PageQuery,
    /// Who answered last with this link (the forms' name and position, prefilled).
    pub who: crate::answers::Who,
    /// The monitoring office's view of the page: no form, nothing done as the agency.
    pub read_only: bool,
}

#[derive(Serialize)]
struct ResponseCtx {
    id: i64,
    what: String,
    when: String,
    undoable: bool,
    file: Option<FileCtx>,
    /// The office's confirmation or return of this completion.
    review: Option<String>,
    returned: bool,
}

/// A file attached to an answer: "bao-cao.pdf (245 KB)" and where to download it.
#[derive(Serialize)]
pub(crate) struct FileCtx {
    pub label: String,
    pub href: String,
}

impl FileCtx {
    /// The file `e`, downloaded under `base` (`/a/{token}` or `/theo-doi/{key}`).
    pub(crate) fn of(e: &crate::evidence::Evidence, base: &str) -> FileCtx {
        FileCtx {
            label: e.label(),
            href: format!("{base}/tep/{}", e.sha256),
        }
    }
}

#[derive(Serialize)]
struct TaskCtx {
    plan: String,
    plan_closed: bool,
    task: String,
    title: String,
    lead: bool,
    leads: Vec<String>,
    time_text: String,
    /// "Tháng 11/2026 — hạn 24/11/2026".
    label: String,
    /// The deadline in force when an extension moved it, dd/mm/yyyy.
    extended_to: String,
    /// The occurrence's deadline as the plan gives it, ISO, while open (the forms' hidden
    /// field).
    occurrence: String,
    /// The same, whether open or done ("" for a task without dated deadlines).
    occurrence_iso: String,
    due: String,
    status: String,
    overdue: bool,
    done: bool,
    can_answer: bool,
    can_extend: bool,
    latest: Option<ResponseCtx>,
    pending_extension: Option<String>,
    older_open: usize,
    nonce: String,
    focused: bool,
}

#[derive(Serialize)]
struct GroupCtx {
    citation: String,
    tasks: Vec<TaskCtx>,
}

fn describe(r: &Response) -> String {
    let mut parts = vec![Action::vi(r.action).to_string()];
    match r.action {
        Action::Done => {
            if let Some(d) = r.done_on {
                parts.push(format!("ngày {}", dmy(d)));
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
                parts.push(format!("đến {}", dmy(p)));
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
    let who = r.who.vi();
    if !who.is_empty() {
        s.push_str(&format!(" — {who}"));
    }
    s
}

/// The monitoring office's review of a completion, as the agency's page says it.
fn review_text(r: &Response) -> Option<String> {
    let review = r.review.as_ref()?;
    Some(if review.confirmed {
        format!(
            "Cơ quan theo dõi đã xác nhận hoàn thành ngày {}.",
            dmy(review.at.date_naive())
        )
    } else {
        format!(
            "Cơ quan theo dõi đã trả lại báo cáo hoàn thành ngày {}, lý do: {}. Nhiệm vụ được mở lại: vui lòng hoàn thiện và báo lại.",
            dmy(review.at.date_naive()),
            review.reason.as_deref().unwrap_or("không ghi")
        )
    })
}

/// "Nhiệm vụ 8.6 — Tháng 11/2026 — hạn 24/11/2026 (Kế hoạch số 12/KH-UBND)": an occurrence as
/// a confirmation names it.
fn occurrence_name(config: &Config, r: &Response) -> String {
    let label = r.deadline.map_or_else(String::new, |d| {
        format!(
            " — {}",
            crate::answers::occurrence_label(config.task(&r.plan, &r.task), d)
        )
    });
    format!("Nhiệm vụ {}{label} (Kế hoạch số {})", r.task, r.plan)
}

/// The confirmation of the answer `id`: what was recorded, about which task and period.
fn confirmation(config: &Config, r: &Response) -> String {
    let what = occurrence_name(config, r);
    match r.action {
        Action::Done => format!(
            "Đã ghi nhận: {what} đã hoàn thành{}{}. Lời nhắc về kỳ hạn này sẽ dừng từ lần gửi tới; các kỳ hạn khác không thay đổi.",
            r.done_on.map(|d| format!(" ngày {}", dmy(d))).unwrap_or_default(),
            r.doc_ref.as_deref().map(|d| format!(" (văn bản {d})")).unwrap_or_default(),
        ),
        Action::Progress => format!(
            "Đã ghi nhận tiến độ của {what}{}.",
            r.percent.map(|p| format!(": {p}%")).unwrap_or_default()
        ),
        Action::Extension => format!(
            "Đã gửi đề nghị gia hạn {what}{}; cơ quan theo dõi sẽ xem xét. Hạn hiện tại vẫn giữ cho đến khi được gia hạn.",
            r.proposed.map(|d| format!(" đến ngày {}", dmy(d))).unwrap_or_default()
        ),
    }
}

fn task_ctx(p: &AgencyPage<'_>, v: &TaskView, focused: bool) -> TaskCtx {
    let tz = p.config.timezone;
    let undo_since = p.now - chrono::Duration::hours(UNDO_HOURS);
    let status = match (v.done, v.days) {
        (Some(d), _) => format!("Đã hoàn thành ngày {}", dmy(d)),
        (None, Some(d)) if d < 0 => format!("Quá hạn {} ngày", -d),
        (None, Some(0)) => "Đến hạn hôm nay".to_string(),
        (None, Some(d)) => format!("Còn {d} ngày"),
        (None, None) => "Không có hạn cụ thể".to_string(),
    };
    let open = v.done.is_none() && !v.plan_closed && !p.read_only;
    TaskCtx {
        plan: v.plan.clone(),
        plan_closed: v.plan_closed,
        task: v.task.clone(),
        title: v.title.clone(),
        lead: v.role == Role::Lead,
        leads: v.leads.clone(),
        time_text: v.time_text.clone(),
        label: v.label(),
        extended_to: match (v.due, v.occurrence) {
            (Some(due), Some(planned)) if due != planned => dmy(due),
            _ => String::new(),
        },
        occurrence: v.current.map(|d| d.to_string()).unwrap_or_default(),
        occurrence_iso: v.occurrence.map(|d| d.to_string()).unwrap_or_default(),
        due: v.due.map(dmy).unwrap_or_default(),
        status,
        overdue: v.overdue(),
        done: v.done.is_some(),
        can_answer: open,
        can_extend: open && v.due.is_some() && v.pending_extension.is_none(),
        latest: v.latest.as_ref().map(|r| ResponseCtx {
            id: r.id,
            what: describe(r),
            when: crate::dates::hm_dmy(&r.created_at.with_timezone(&tz)),
            undoable: !p.read_only
                && r.created_at >= undo_since
                && r.granted.is_none()
                && r.refused_at.is_none()
                && r.review.is_none(),
            review: review_text(r),
            returned: r.returned(),
            file: p
                .evidence
                .get(&r.id)
                .map(|e| FileCtx::of(e, &mark(Slot::Files))),
        }),
        pending_extension: v
            .pending_extension
            .as_ref()
            .and_then(|r| r.proposed)
            .map(dmy),
        older_open: v.older_open,
        // Each form's own, filled in per request ([`fill`]).
        nonce: mark(Slot::Nonce),
        focused,
    }
}

/// Cards grouped by plan, the plan cited once, groups in the order their first card comes.
fn groups(p: &AgencyPage<'_>, cards: &[&TaskView]) -> Vec<GroupCtx> {
    let mut out: Vec<(String, GroupCtx)> = Vec::new();
    for v in cards {
        let ctx = task_ctx(p, v, false);
        match out.iter_mut().find(|(plan, _)| *plan == v.plan) {
            Some((_, g)) => g.tasks.push(ctx),
            None => out.push((
                v.plan.clone(),
                GroupCtx {
                    citation: v.plan_citation.clone(),
                    tasks: vec![ctx],
                },
            )),
        }
    }
    out.into_iter().map(|(_, g)| g).collect()
}

/// One page of a long list, and the links to the others (none when it all fits).
#[derive(Serialize)]
pub(super) struct PagerCtx {
    page: usize,
    pages: usize,
    /// The rows shown, 1-based, and how many there are in all.
    from: usize,
    to: usize,
    total: usize,
    /// Rows on the other pages.
    hidden: usize,
    first: Option<String>,
    prev: Option<String>,
    next: Option<String>,
    last: Option<String>,
}

/// Which page of `total` rows to show, `per` a page: the one asked for (1 by default, the last
/// when past it), and the range of rows it holds.
pub(super) fn page_of(
    asked: Option<usize>,
    total: usize,
    per: usize,
) -> (usize, usize, std::ops::Range<usize>) {
    let pages = total.div_ceil(per).max(1);
    let page = asked.unwrap_or(1).clamp(1, pages);
    let start = (page - 1) * per;
    (page, pages, start..total.min(start + per))
}

impl PagerCtx {
    /// `link(n)` is page n's address.
    pub(super) fn new(
        page: usize,
        pages: usize,
        rows: &std::ops::Range<usize>,
        total: usize,
        link: impl Fn(usize) -> String,
    ) -> Option<PagerCtx> {
        (pages > 1).then(|| PagerCtx {
            page,
            pages,
            from: rows.start + 1,
            to: rows.end,
            total,
            hidden: total - rows.len(),
            first: (page > 2).then(|| link(1)),
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            last: (page + 1 < pages).then(|| link(pages)),
        })
    }
}

/// Which of the page's lists is paged: the one its filters ask for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    Open,
    Done,
    Closed,
}

/// Page `n` of the list, its filters kept.
fn page_link(base: &str, q: &PageQuery, n: usize) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    if let Some(plan) = &q.plan {
        s.append_pair("ke-hoach", plan);
    }
    if q.state != StateFilter::Open {
        s.append_pair("tinh-trang", q.state.key());
    }
    s.append_pair("trang", &n.to_string());
    format!("{base}?{}", s.finish())
}

fn same_card(v: &TaskView, o: &Occurrence) -> bool {
    v.plan == o.plan && v.task == o.task && v.occurrence == o.deadline
}

/// The agency's page.
pub fn agency(p: &AgencyPage<'_>) -> String {
    marked(p).fill(&Values::of(p))
}

/// An agency's page rendered with markers where a request's own values go (the link's path,
/// its CSRF tokens and expiry, the forms' nonces, the name remembered), and until when it
/// stands: the same page serves every link of the agency while the answers, the config and
/// the day are the same, each request only filling it in ([`Marked::fill`]).
pub struct Marked {
    /// The page's text between the markers, and which value goes after each piece.
    pieces: Vec<(std::ops::Range<usize>, Option<Slot>)>,
    html: String,
    /// When an answer shown stops being one the agency may withdraw ([`UNDO_HOURS`]): the page
    /// must be made again then.
    pub until: Option<DateTime<Utc>>,
}

/// A request's own values in a page ([`Marked`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Base,
    Files,
    CsrfDone,
    CsrfProgress,
    CsrfExtend,
    CsrfUndo,
    Feed,
    FeedExpires,
    Expires,
    WhoName,
    WhoPosition,
    Nonce,
}

const SLOTS: [Slot; 12] = [
    Slot::Base,
    Slot::Files,
    Slot::CsrfDone,
    Slot::CsrfProgress,
    Slot::CsrfExtend,
    Slot::CsrfUndo,
    Slot::Feed,
    Slot::FeedExpires,
    Slot::Expires,
    Slot::WhoName,
    Slot::WhoPosition,
    Slot::Nonce,
];

/// The markers' own random part, new each process: text from the config or an answer cannot
/// spell a marker (and a stray \u{1} in it is copied as it is).
static MARK: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string());

/// "\u{1}{MARK}{letter}\u{1}": letters, digits and \u{1} come out of HTML escaping unchanged.
fn mark(slot: Slot) -> String {
    let i = SLOTS.iter().position(|s| *s == slot).unwrap_or(0);
    format!("\u{1}{}{}\u{1}", MARK.as_str(), char::from(b'a' + i as u8))
}

/// A request's own values, HTML-escaped as the template would, once each.
pub struct Values {
    /// By [`SLOTS`]' order; the nonce's is its random part.
    text: [String; 12],
}

impl Values {
    pub fn of(p: &AgencyPage<'_>) -> Values {
        let tz = p.config.timezone;
        let csrf = |form: &str| p.signer.csrf(p.link, form);
        let esc = |s: &str| minijinja::HtmlEscape(s).to_string();
        Values {
            text: [
                esc(&p.base),
                esc(&p.files),
                csrf("done"),
                csrf("progress"),
                csrf("extend"),
                csrf("undo"),
                esc(p.feed.as_deref().unwrap_or_default()),
                dmy(
                    (p.now + chrono::Duration::days(i64::from(crate::links::FEED_DAYS)))
                        .with_timezone(&tz)
                        .date_naive(),
                ),
                dmy(
                    (p.link.issued + chrono::Duration::days(i64::from(p.signer.days)))
                        .with_timezone(&tz)
                        .date_naive(),
                ),
                esc(&p.who.name),
                esc(&p.who.position),
                // 96 random bits for the request, a count for each form after them.
                uuid::Uuid::new_v4().simple().to_string()[..24].to_string(),
            ],
        }
    }
}

impl Marked {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.html.len()
    }

    fn new(html: String, until: Option<DateTime<Utc>>) -> Marked {
        let mut pieces = Vec::new();
        let mut from = 0;
        let mut at = 0;
        while let Some(i) = html[at..].find('\u{1}').map(|i| at + i) {
            let after = i + 1;
            let slot = html[after..].strip_prefix(MARK.as_str()).and_then(|tail| {
                let letter = *tail.as_bytes().first()?;
                (tail.as_bytes().get(1) == Some(&1) && letter.is_ascii_lowercase())
                    .then(|| SLOTS.get(usize::from(letter - b'a')))
                    .flatten()
            });
            match slot {
                Some(slot) => {
                    pieces.push((from..i, Some(*slot)));
                    from = after + MARK.len() + 2;
                    at = from;
                }
                // Not a marker: a \u{1} of the text, kept.
                None => at = after,
            }
        }
        pieces.push((from..html.len(), None));
        Marked {
            pieces,
            html,
            until,
        }
    }

    /// The page with each marker replaced by the request's value; each form a nonce of its
    /// own (a form posted twice is stored once).
    pub fn fill(&self, values: &Values) -> String {
        let mut out = String::with_capacity(self.html.len() + 4096);
        let mut forms = 0u32;
        for (range, slot) in &self.pieces {
            out.push_str(&self.html[range.clone()]);
            match slot {
                Some(Slot::Nonce) => {
                    forms += 1;
                    out.push_str(&values.text[11]);
                    out.push_str(&format!("{forms:08x}"));
                }
                Some(slot) => {
                    let i = SLOTS.iter().position(|s| s == slot).unwrap_or(0);
                    out.push_str(&values.text[i]);
                }
                None => {}
            }
        }
        out
    }
}

/// The agency's page with markers for the request's own values ([`Marked`]).
pub fn marked(p: &AgencyPage<'_>) -> Marked {
    let undo = chrono::Duration::hours(UNDO_HOURS);
    let until = p
        .responses
        .iter()
        .map(|r| r.created_at + undo)
        .filter(|t| *t > p.now)
        .min();
    Marked::new(marked_html(p), until)
}

fn marked_html(p: &AgencyPage<'_>) -> String {
    let q = p.query;
    // The card a reminder named (or the answer just recorded) first, open; a recurring
    // reminder of a task without dated deadlines finds its one card.
    // A period past the ones listed (a reminder may still name it) is shown too.
    let unlisted = q.focus.as_ref().and_then(|o| {
        if p.views.iter().any(|v| same_card(v, o)) {
            return None;
        }
        crate::answers::occurrence_card(p.config, p.agency, p.today, p.responses, o)
    });
    let focus = q.focus.as_ref().and_then(|o| {
        p.views
            .iter()
            .find(|v| same_card(v, o))
            .or(unlisted.as_ref())
            .or_else(|| {
                p.views
                    .iter()
                    .find(|v| v.plan == o.plan && v.task == o.task && v.occurrence.is_none())
            })
    });
    let focus_missing = match (&q.focus, focus) {
        (Some(o), None) => Some(match (p.config.task(&o.plan, &o.task), o.deadline) {
            (Some(_), Some(d)) => format!(
                "Nhiệm vụ {} (Kế hoạch số {}), hạn {}, được nêu trong liên kết, không phải một kỳ hạn của cơ quan theo kế hoạch hiện hành (kế hoạch có thể đã được sửa). Các việc hiện có của cơ quan ở dưới.",
                o.task,
                o.plan,
                dmy(d)
            ),
            _ => "Nhiệm vụ được nhắc trong thư không còn trong kế hoạch đang theo dõi. Các việc hiện có của cơ quan ở dưới.".to_string(),
        }),
        _ => None,
    };
    let notice = if q.undone {
        Some("Đã rút lại câu trả lời.".to_string())
    } else {
        q.recorded
            .and_then(|id| p.responses.iter().find(|r| r.id == id))
            .map(|r| confirmation(p.config, r))
    };
    // The reminded plan's open cards first, then the other plans'.
    let lead_plan = focus.map(|f| f.plan.as_str());
    let mut listed: Vec<&TaskView> = p
        .views
        .iter()
        .filter(|v| focus.is_none_or(|f| !std::ptr::eq(*v, f)))
        .filter(|v| q.plan.as_deref().is_none_or(|n| n == v.plan))
        .filter(|v| q.state.keeps(v))
        .collect();
    listed.sort_by_key(|v| lead_plan != Some(v.plan.as_str()));
    let (closed, active): (Vec<&TaskView>, Vec<&TaskView>) =
        listed.into_iter().partition(|v| v.plan_closed);
    let (finished, open): (Vec<&TaskView>, Vec<&TaskView>) =
        active.into_iter().partition(|v| v.done.is_some());
    // Finished cards fold under a count unless they are what was asked for.
    let fold_done = q.state != StateFilter::Done;
    // The list asked for is paged; the folded ones show their first page and count the rest.
    let closed_asked = q
        .plan
        .as_deref()
        .is_some_and(|n| p.config.plan(n).is_some_and(|plan| plan.is_closed()));
    let main = if !fold_done {
        Listed::Done
    } else if closed_asked {
        Listed::Closed
    } else {
        Listed::Open
    };
    let list = |which: Listed, cards: &[&TaskView]| -> (Vec<GroupCtx>, Option<PagerCtx>, usize) {
        if which == main {
            let (page, pages, rows) = page_of(q.page, cards.len(), PAGE_CARDS);
            let link = |n: usize| page_link(&mark(Slot::Base), q, n);
            let pager = PagerCtx::new(page, pages, &rows, cards.len(), link);
            (groups(p, &cards[rows]), pager, 0)
        } else {
            let shown = cards.len().min(PAGE_CARDS);
            (groups(p, &cards[..shown]), None, cards.len() - shown)
        }
    };
    let (open_groups, open_pager, _) = list(Listed::Open, &open);
    let (done_groups, done_pager, done_hidden) = list(Listed::Done, &finished);
    let (closed_groups, closed_pager, closed_hidden) = list(Listed::Closed, &closed);
    let mut plans: Vec<(String, String, usize)> = Vec::new();
    for v in p.views {
        match plans.iter_mut().find(|(n, _, _)| *n == v.plan) {
            Some(x) => x.2 += usize::from(v.done.is_none()),
            None => plans.push((
                v.plan.clone(),
                format!("Kế hoạch số {}", v.plan),
                usize::from(v.done.is_none()),
            )),
        }
    }
    let open_count = p
        .views
        .iter()
        .filter(|v| v.done.is_none() && !v.plan_closed)
        .count();
    let overdue = p
        .views
        .iter()
        .filter(|v| v.overdue() && !v.plan_closed)
        .count();
    let base = mark(Slot::Base);
    render(
        "agency.html",
        context! {
            agency => p.config.agency(p.agency).map(|a| a.name.clone()).unwrap_or_default(),
            today => dmy(p.today),
            open => open_count,
            overdue => overdue,
            notice => notice,
            focus_missing => focus_missing,
            focus => minijinja::Value::from(minijinja::value::Serde(focus.map(|f| task_ctx(p, f, true)))),
            focus_citation => focus.map(|f| f.plan_citation.clone()),
            open_groups => minijinja::Value::from(minijinja::value::Serde(open_groups)),
            open_pager => minijinja::Value::from(minijinja::value::Serde(open_pager)),
            done_groups => minijinja::Value::from(minijinja::value::Serde(done_groups)),
            done_pager => minijinja::Value::from(minijinja::value::Serde(done_pager)),
            done_count => finished.len(),
            done_hidden => done_hidden,
            fold_done => fold_done,
            closed_groups => minijinja::Value::from(minijinja::value::Serde(closed_groups)),
            closed_pager => minijinja::Value::from(minijinja::value::Serde(closed_pager)),
            closed_count => closed.len(),
            closed_hidden => closed_hidden,
            fold_closed => main != Listed::Closed,
            nothing => p.views.is_empty(),
            filtered => q.plan.is_some() || q.state != StateFilter::Open,
            plans => plans.iter().map(|(n, label, open)| context! { number => n, label => format!("{label} ({open} việc chưa xong)"), selected => q.plan.as_deref() == Some(n.as_str()) }).collect::<Vec<_>>(),
            states => StateFilter::ALL.iter().map(|(f, key, label)| context! { key => *key, label => *label, selected => *f == q.state }).collect::<Vec<_>>(),
            state_key => q.state.key(),
            base => base.clone(),
            feed_path => p.feed.as_ref().map(|_| mark(Slot::Feed)),
            feed_url => p.feed.as_ref().map(|_| format!("{}{}", p.config.web.as_ref().map_or("", |w| w.public_url.as_str()), mark(Slot::Feed))),
            feed_expires => mark(Slot::FeedExpires),
            read_only => p.read_only,
            who_name => mark(Slot::WhoName),
            who_position => mark(Slot::WhoPosition),
            today_vn => dmy(p.today),
            accept => crate::evidence::ACCEPT,
            max_upload_mb => p.config.web.as_ref().map_or(crate::config::web::DEFAULT_MAX_UPLOAD_MB, |w| w.max_upload_mb),
            csrf_done => mark(Slot::CsrfDone),
            csrf_progress => mark(Slot::CsrfProgress),
            csrf_extend => mark(Slot::CsrfExtend),
            csrf_undo => mark(Slot::CsrfUndo),
            contact => minijinja::Value::from(minijinja::value::Serde(contact_for(p.config, focus.map(|f| f.plan.as_str())))),
            expires => mark(Slot::Expires),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_page_is_filled_with_each_requests_values_and_stray_marks_kept() {
        let mut text: [String; 12] = Default::default();
        text[0] = "&#x2f;a&#x2f;tok".into();
        text[9] = "Nguyễn Văn &lt;A&gt;".into();
        text[11] = "0123456789ab0123456789ab".into();
        let values = Values { text };
        let html = format!(
            "<form action=\"{}/done\"><input value=\"{}\">{}x{}x \u{1}{}z\u{1} \u{1}",
            mark(Slot::Base),
            mark(Slot::WhoName),
            mark(Slot::Nonce),
            mark(Slot::Nonce),
            MARK.as_str()
        );
        let page = Marked::new(html, None).fill(&values);
        assert!(
            page.starts_with("<form action=\"&#x2f;a&#x2f;tok/done\"><input value=\"Nguyễn Văn &lt;A&gt;\">0123456789ab0123456789ab00000001x0123456789ab0123456789ab00000002x"),
            "{page}"
        );
        // Not a marker (an unknown letter, a lone \u{1}): copied as it is.
        assert!(
            page.ends_with(&format!(" \u{1}{}z\u{1} \u{1}", MARK.as_str())),
            "{page}"
        );
    }
}
