//! Turning a digest into a message: subject, plain text and HTML, from templates the admins can
//! edit (`config/templates/*.j2`, minijinja). HTML is auto-escaped (by file name), undefined
//! variables are errors, and the subject is one line whatever the plan's text holds.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

pub const SUBJECT: &str = "subject.txt.j2";
pub const TEXT: &str = "digest.txt.j2";
pub const HTML: &str = "digest.html.j2";

/// The shipped templates, used when the config directory has none.
pub const DEFAULTS: [(&str, &str); 3] = [
    (SUBJECT, include_str!("../config/templates/subject.txt.j2")),
    (TEXT, include_str!("../config/templates/digest.txt.j2")),
    (HTML, include_str!("../config/templates/digest.html.j2")),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// The template file name.
    pub template: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl TemplateError {
    fn from_minijinja(template: &str, e: &minijinja::Error) -> Self {
        TemplateError {
            template: e.name().unwrap_or(template).to_string(),
            line: e.line(),
            message: format!("mẫu thư lỗi: {}", describe(e)),
        }
    }
}

/// A minijinja error in words an admin understands.
pub fn describe(e: &minijinja::Error) -> String {
    if e.kind() == minijinja::ErrorKind::OutOfFuel {
        return "mẫu cần quá nhiều bộ nhớ hoặc thời gian để tạo thư (vượt giới hạn); \
                bỏ các phép nhân chuỗi/danh sách lớn hoặc vòng lặp lồng nhau"
            .to_string();
    }
    e.detail()
        .map_or_else(|| e.kind().to_string(), str::to_string)
}

/// Guards an environment against printing a huge container. minijinja charges fuel for a list
/// or map turned into text only after writing it all, so `{{ items * 2000000 }}` (a lazy
/// repeat, free to create) would first build gigabytes of text (found by fuzzing). Printing,
/// `string` and `tojson` therefore first measure a container through a writer that stops at
/// what the remaining fuel could pay for, then format it exactly as minijinja would.
///
/// Not covered: other filters and tests that take a string (`lower`, `safe`, `format`...) and
/// `~` convert such a repeat to text unbounded. Closing that needs minijinja to charge for a
/// repeated sequence when it is made; until then those are the limits of this guard.
pub fn guard(env: &mut Environment<'_>) {
    use minijinja::value::{Kwargs, Value, ValueKind};
    use minijinja::State;
    fn probe(state: &State, v: &Value) -> Result<(), minijinja::Error> {
        if matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable | ValueKind::Plain
        ) {
            bounded_len(state, v)?;
        }
        Ok(())
    }
    env.set_formatter(|out, state, value| {
        probe(state, value)?;
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("string", |state: &State, value: Value| {
        probe(state, &value)?;
        minijinja::filters::string(state, &value)
    });
    env.add_filter(
        "tojson",
        |state: &State, value: Value, indent: Option<Value>, args: Kwargs| {
            probe(state, &value)?;
            let wanted = match &indent {
                Some(i) => Some(i.clone()),
                None => args.peek::<Option<Value>>("indent")?,
            };
            if wanted.and_then(|i| i.as_usize()).is_some_and(|n| n > 16) {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    "tojson: indent at most 16",
                ));
            }
            let json = minijinja::filters::tojson(&value, indent, args)?;
            // What minijinja's own tojson charges: 16 units of 64 a byte.
            let bytes = json.as_str().map_or(0, str::len) as u64;
            state.consume_fuel(bytes.div_ceil(4))?;
            Ok(json)
        },
    );
}

/// The length of `value` as text, or an out-of-fuel error once it passes what the remaining
/// fuel pays for (4 bytes a fuel: serialising costs 16 of a fuel's 64 units a byte). Nothing
/// is kept: the writer only counts.
fn bounded_len(
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<usize, minijinja::Error> {
    use std::fmt::Write;
    struct Capped(usize, usize);
    impl Write for Capped {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            if self.0 > self.1 {
                return Err(std::fmt::Error);
            }
            Ok(())
        }
    }
    let cap = state.fuel_levels().map_or(usize::MAX, |(_, left)| {
        usize::try_from(left.saturating_mul(4)).unwrap_or(usize::MAX)
    });
    let mut w = Capped(0, cap);
    write!(w, "{value}").map_err(|_| {
        minijinja::Error::new(
            minijinja::ErrorKind::OutOfFuel,
            "a list or map too large to print",
        )
    })?;
    Ok(w.0)
}

/// The work one render may do, in minijinja fuel (one instruction, or 64 bytes of data): a
/// fixed allowance plus a share per item, so a digest of any size renders with the shipped
/// templates (about 45 fuel an item) and an admin's template with ten times their cost, while
/// `{{ "x" * 100000000 }}` or a list repeated millions of times fails at once instead of
/// taking the service's memory (found by fuzzing: 2 GB for a 40-byte template). The bound on
/// memory is 64 bytes a fuel: 6.4 MB plus 32 KB an item.
pub fn fuel_for(items: usize) -> u64 {
    const BASE: u64 = 100_000;
    const PER_ITEM: u64 = 500;
    BASE.saturating_add(PER_ITEM.saturating_mul(items as u64))
}

/// Stack for compiling templates: minijinja bounds nesting, and this bounds its frames.
const COMPILE_STACK: usize = 64 * 1024 * 1024;

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
    /// The shipped templates, when the admins' differ: the fallback for a digest theirs fail on.
    shipped: Option<Environment<'static>>,
    /// Digests sent with the shipped templates since the last `take_fallbacks`, and why.
    fallbacks: std::sync::Mutex<(u64, Option<String>)>,
    /// Signs the links to the agencies' pages put in digests (`[web]` and the link secret set
    /// by the edge); none: digests carry no link.
    pub links: Option<crate::links::Signer>,
}

impl Templates {
    /// These templates, with digests linking to the agencies' pages signed by `links`.
    pub fn with_links(mut self, links: Option<crate::links::Signer>) -> Templates {
        self.links = links;
        self
    }

    /// Compiles the three templates; `sources` are (file name, text), missing ones default.
    ///
    /// minijinja's parser recurses once per nesting level (up to its own limit), so a deeply
    /// nested expression in an admin's template can overflow a small thread stack (2 MiB in a
    /// debug build, found by fuzzing) and abort the process. Compiling and the trial renders
    /// therefore run on a thread of their own with a stack far beyond that limit.
    pub fn new(sources: &[(String, String)]) -> Result<Templates, TemplateError> {
        let owned = sources.to_vec();
        std::thread::Builder::new()
            .name("templates".into())
            .stack_size(COMPILE_STACK)
            .spawn(move || Templates::compile(&owned))
            .map_err(|e| TemplateError {
                template: TEXT.to_string(),
                line: None,
                message: format!("không tạo được luồng biên dịch mẫu: {e}"),
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(TemplateError {
                    template: TEXT.to_string(),
                    line: None,
                    message: "lỗi nội bộ khi biên dịch mẫu".to_string(),
                })
            })
    }

    fn compile(sources: &[(String, String)]) -> Result<Templates, TemplateError> {
        let env = environment(sources)?;
        // A template that compiles may still fail on real data: try it on a sample now, so a
        // broken template is a `check` error and not a failed tick.
        render_with(&env, &Context::sample())?;
        // And with every count set, and with none, so both sides of each `if` are tried.
        let mut full = Context::sample();
        full.counts = Counts {
            upcoming: 2,
            due: 1,
            overdue: 3,
            escalations: 1,
            escalated_tasks: 1,
        };
        full.is_monitor = true;
        render_with(&env, &full)?;
        let mut mixed = Context::sample();
        mixed.monitors_differ = true;
        if let Some(first) = mixed.own_items.first_mut() {
            first.monitor = "Sở Thông tin và Truyền thông".into();
        }
        render_with(&env, &mixed)?;
        let mut empty = Context::sample();
        empty.counts = Counts::default();
        empty.monitor = String::new();
        empty.redirected_to = vec![];
        for item in empty.items.iter_mut().chain(empty.own_items.iter_mut()) {
            item.about = String::new();
            item.monitor = String::new();
        }
        empty.escalations = vec![];
        render_with(&env, &empty)?;
        let customised = DEFAULTS
            .iter()
            .any(|(name, text)| sources.iter().any(|(n, t)| n == name && t != text));
        let shipped = if customised {
            Some(environment(&[])?)
        } else {
            None
        };
        Ok(Templates {
            env,
            shipped,
            fallbacks: std::sync::Mutex::new((0, None)),
            links: None,
        })
    }

    /// Renders a digest. The admins' templates passed the trial renders, but a real digest can
    /// still break one (a branch or a size the samples did not reach): that digest then goes
    /// out with the shipped templates, and the error is logged, rather than failing the tick
    /// and holding back every reminder.
    pub fn render_context(&self, ctx: &Context) -> Result<Rendered, TemplateError> {
        match (render_with(&self.env, ctx), &self.shipped) {
            (Err(e), Some(shipped)) => {
                tracing::error!(template = %e.template, line = ?e.line, error = %e.message, agency = %ctx.agency.id, "template failed on a digest; sent with the shipped templates");
                if let Ok(mut f) = self.fallbacks.lock() {
                    f.0 += 1;
                    let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                    f.1 = Some(format!("{}{line}: {}", e.template, e.message));
                }
                render_with(shipped, ctx)
            }
            (result, _) => result,
        }
    }

    /// How many digests went out with the shipped templates since the last call, and the
    /// latest error: for health and metrics, since the service keeps running.
    pub fn take_fallbacks(&self) -> (u64, Option<String>) {
        self.fallbacks
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }
}

/// The three templates compiled, `sources` overriding the shipped ones by file name.
fn environment(sources: &[(String, String)]) -> Result<Environment<'static>, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    guard(&mut env);
    for (name, default) in DEFAULTS {
        let text = sources
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| default.to_string(), |(_, t)| t.clone());
        env.add_template_owned(name.to_string(), text)
            .map_err(|e| TemplateError::from_minijinja(name, &e))?;
    }
    Ok(env)
}

fn render_with(env: &Environment<'static>, ctx: &Context) -> Result<Rendered, TemplateError> {
    // A clone shares the compiled templates (about 0.2 µs) and carries this render's budget.
    let mut env = env.clone();
    env.set_fuel(Some(fuel_for(ctx.items.len())));
    // The context made a template value once for the three templates (a third of a
    // digest's rendering was making it).
    let value = minijinja::Value::from(minijinja::value::Serde(ctx));
    let render = |name: &str| -> Result<String, TemplateError> {
        env.get_template(name)
            .and_then(|t| t.render(value.clone()))
            .map_err(|e| TemplateError::from_minijinja(name, &e))
    };
    let subject = render(SUBJECT)?;
    Ok(Rendered {
        subject: one_line(&subject),
        text: render(TEXT)?,
        html: render(HTML)?,
    })
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Collapses all whitespace, CR and LF included, so no text can start a new header line.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The default webhook body: the digest as JSON, every value JSON-escaped.
pub const WEBHOOK_BODY: &str = r#"{"agency": {{ agency.id | tojson }}, "agency_name": {{ agency.name | tojson }}, "subject": {{ subject | tojson }}, "text": {{ text | tojson }}, "items": {{ items | tojson }}}"#;

/// Renders a webhook body template (`None` is [`WEBHOOK_BODY`]) with `ctx`; the result must be
/// JSON (values are escaped with `tojson`).
pub fn webhook_body(
    template: Option<&str>,
    ctx: &serde_json::Value,
) -> Result<String, WebhookBodyError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let items = ctx
        .get("items")
        .and_then(|i| i.as_array())
        .map_or(0, Vec::len);
    env.set_fuel(Some(fuel_for(items)));
    guard(&mut env);
    let source = template.unwrap_or(WEBHOOK_BODY);
    let body = env
        .render_str(source, minijinja::Value::from(minijinja::value::Serde(ctx)))
        .map_err(|e| WebhookBodyError::Render(describe(&e)))?;
    serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| WebhookBodyError::NotJson(e.to_string()))?;
    Ok(body)
}

/// Why a webhook body template cannot make a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookBodyError {
    /// The template failed (syntax, an undefined value, out of fuel).
    #[error("mẫu nội dung webhook lỗi: {0}")]
    Render(String),
    /// It rendered, but not as JSON.
    #[error("nội dung webhook không phải JSON hợp lệ ({0}); dùng bộ lọc tojson cho các giá trị")]
    NotJson(String),
}

/// The text of a config diagnostic (`config::channels` checks `[webhook] body` with it).
impl From<WebhookBodyError> for String {
    fn from(e: WebhookBodyError) -> String {
        e.to_string()
    }
}

/// A sample webhook context, to check a body template.
pub fn webhook_sample() -> serde_json::Value {
    serde_json::json!({
        "agency": {"id": "so-tttt", "name": "Sở Thông tin và Truyền thông \"TT&TT\""},
        "subject": "[Nhắc việc] Sở Thông tin và Truyền thông: 1 nhiệm vụ quá hạn",
        "text": "Dòng 1\nDòng 2 <b>",
        "items": [{"plan": "50/KH-UBND", "task": "8.6", "title": "Kết nối", "deadline": "31/03/2022", "days": -3}],
        "counts": {"upcoming": 0, "due": 0, "overdue": 1, "escalations": 0},
        "today": "03/04/2022",
    })
}

/// Messages the service writes itself (not reminders): shipped templates, not the admins'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// The weekly report to the monitoring agency.
    WeeklyReport,
    /// The admin's daily summary of failed deliveries.
    FailureSummary,
    /// The admin's alert that the Zalo channel stopped.
    ZaloStopped,
    /// The monitoring office's answer to an extension request, to the agency.
    Decision,
    /// A reported completion the monitoring office returned, to the agency.
    Returned,
}

impl Builtin {
    fn stem(self) -> &'static str {
        match self {
            Builtin::WeeklyReport => "weekly",
            Builtin::FailureSummary => "failures",
            Builtin::ZaloStopped => "zalo-stopped",
            Builtin::Decision => "decision",
            Builtin::Returned => "returned",
        }
    }
}

const BUILTINS: [(&str, &str); 15] = [
    (
        "returned.subject.j2",
        include_str!("templates/returned.subject.j2"),
    ),
    ("returned.txt.j2", include_str!("templates/returned.txt.j2")),
    (
        "returned.html.j2",
        include_str!("templates/returned.html.j2"),
    ),
    (
        "decision.subject.j2",
        include_str!("templates/decision.subject.j2"),
    ),
    ("decision.txt.j2", include_str!("templates/decision.txt.j2")),
    (
        "decision.html.j2",
        include_str!("templates/decision.html.j2"),
    ),
    (
        "weekly.subject.j2",
        include_str!("templates/weekly.subject.j2"),
    ),
    ("weekly.txt.j2", include_str!("templates/weekly.txt.j2")),
    ("weekly.html.j2", include_str!("templates/weekly.html.j2")),
    (
        "failures.subject.j2",
        include_str!("templates/failures.subject.j2"),
    ),
    ("failures.txt.j2", include_str!("templates/failures.txt.j2")),
    (
        "failures.html.j2",
        include_str!("templates/failures.html.j2"),
    ),
    (
        "zalo-stopped.subject.j2",
        include_str!("templates/zalo-stopped.subject.j2"),
    ),
    (
        "zalo-stopped.txt.j2",
        include_str!("templates/zalo-stopped.txt.j2"),
    ),
    (
        "zalo-stopped.html.j2",
        include_str!("templates/zalo-stopped.html.j2"),
    ),
];

/// Renders one of the service's own messages. `ctx` is its data (see `crate::outbox`); the
/// HTML part is auto-escaped like the digests'.
pub fn builtin(which: Builtin, ctx: &impl Serialize) -> Result<Rendered, TemplateError> {
    static ENV: std::sync::OnceLock<Result<Environment<'static>, TemplateError>> =
        std::sync::OnceLock::new();
    let env = ENV
        .get_or_init(|| {
            let mut env = Environment::new();
            env.set_undefined_behavior(UndefinedBehavior::Strict);
            for (name, text) in BUILTINS {
                env.add_template(name, text)
                    .map_err(|e| TemplateError::from_minijinja(name, &e))?;
            }
            Ok(env)
        })
        .as_ref()
        .map_err(|e| TemplateError {
            template: e.template.clone(),
            line: e.line,
            message: e.message.clone(),
        })?;
    let value = minijinja::Value::from(minijinja::value::Serde(ctx));
    let render = |part: &str| -> Result<String, TemplateError> {
        let name = format!("{}.{part}.j2", which.stem());
        env.get_template(&name)
            .and_then(|t| t.render(value.clone()))
            .map_err(|e| TemplateError::from_minijinja(&name, &e))
    };
    Ok(Rendered {
        subject: one_line(&render("subject")?),
        text: render("txt")?,
        html: render("html")?,
    })
}

/// What templates see.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub agency: AgencyCtx,
    /// Every item, escalations included (one per late agency), as before grouping.
    pub items: Vec<ItemCtx>,
    /// The agency's own tasks: the items that are not escalations.
    pub own_items: Vec<ItemCtx>,
    /// Escalations grouped per task and deadline: one line a task, with every late agency.
    pub escalations: Vec<EscalationCtx>,
    pub counts: Counts,
    /// The monitoring office's name, or "": the office the digest's plans report to
    /// (`[plan] monitor`, else the settings' `monitor`); the settings' one when they differ.
    pub monitor: String,
    /// Whether the digest's own items belong to plans reporting to different offices: each
    /// item's `monitor` names its own then.
    pub monitors_differ: bool,
    /// Whether the recipient is the monitoring office itself (it reports to no one here).
    pub is_monitor: bool,
    /// The day of the tick, dd/mm/yyyy.
    pub today: String,
    /// In trial mode, the addresses the message would have gone to.
    pub redirected_to: Vec<String>,
    /// The agency's page at its most urgent item's card (`{public_url}/a/{token}?muc=…#muc`),
    /// or "" when `[web]` or the link secret is not set.
    pub link: String,
    /// The agency's page itself (`{public_url}/a/{token}`), or "".
    pub page_link: String,
    /// How to reach the monitoring office; empty strings when not known.
    pub monitor_contact: ContactCtx,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ContactCtx {
    pub name: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgencyCtx {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemCtx {
    pub plan: String,
    pub task: String,
    pub title: String,
    /// "chủ trì", "phối hợp", "giám sát".
    pub role: String,
    /// "trước hạn", "đến hạn", "quá hạn", "báo cáo vượt cấp".
    pub kind: String,
    pub time_text: String,
    pub deadline: String,
    pub days: i64,
    /// "còn 7 ngày", "đến hạn hôm nay", "quá hạn 3 ngày".
    pub days_text: String,
    pub overdue: bool,
    /// For an escalation: the late agency's name.
    pub about: String,
    /// "Kế hoạch số 50/KH-UBND ngày 24/03/2022 của UBND tỉnh Hậu Giang về …".
    pub plan_citation: String,
    /// For a coordinator: the lead agencies' names.
    pub leads: Vec<String>,
    /// For a recurring task: the occurrence, "Quý II/2022"; "" otherwise.
    pub occurrence: String,
    /// When an extension moved the deadline: the deadline as the plan gives it, dd/mm/yyyy;
    /// "" otherwise.
    pub extended_from: String,
    /// The agency's page at this item's card (answer it there); "" without `[web]`, and for
    /// an escalation.
    pub link: String,
    /// The office this item's plan reports to (`[plan] monitor`, else the settings'
    /// `monitor`); "" when there is none or the recipient is that office.
    pub monitor: String,
}

/// One task whose leads are late, as the monitoring office is told.
#[derive(Debug, Clone, Serialize)]
pub struct EscalationCtx {
    pub plan: String,
    pub task: String,
    pub title: String,
    pub time_text: String,
    pub deadline: String,
    pub days_text: String,
    /// The late lead agencies' names, in the digest's order.
    pub late: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub upcoming: usize,
    pub due: usize,
    pub overdue: usize,
    /// Late (agency, task) pairs reported to the monitoring office.
    pub escalations: usize,
    /// Tasks with at least one late lead (the lines of `escalations`).
    pub escalated_tasks: usize,
}

/// "còn 7 ngày", "đến hạn hôm nay", "quá hạn 3 ngày".
pub fn days_text(days: i64) -> String {
    match days {
        0 => "đến hạn hôm nay".into(),
        d if d > 0 => format!("còn {d} ngày"),
        d => format!("quá hạn {} ngày", -d),
    }
}

impl Context {
    /// A context exercising every field (and the escaping: the title has `<`, `&`, `"`), to
    /// check templates; never sent (`send-test` renders the agency's real items). Each
    /// item's deadline agrees with its days from `today`.
    pub fn sample() -> Context {
        let today = chrono::NaiveDate::from_ymd_opt(2022, 3, 24).unwrap_or_default();
        let item = |kind: &str, days: i64, about: &str| {
            let deadline = today + chrono::Duration::days(days);
            ItemCtx {
            plan: "50/KH-UBND".into(),
            task: "8.6".into(),
            title: "Thực hiện kết nối <hệ thống> & \"định danh\"".into(),
            role: "chủ trì".into(),
            kind: kind.into(),
            time_text: "Tháng 3/2022".into(),
            deadline: crate::dates::dmy(deadline),
            days,
            days_text: days_text(days),
            overdue: days < 0,
            about: about.into(),
            plan_citation: "Kế hoạch số 50/KH-UBND ngày 24/03/2022 của UBND tỉnh Hậu Giang về kiểm soát thủ tục hành chính".into(),
            leads: vec!["Công an tỉnh".into()],
            occurrence: "Quý I/2022".into(),
            extended_from: String::new(),
            link: "https://nhacviec.example/a/token?muc=1%2FKH%7C1%7C2022-03-31#muc".into(),
            monitor: "Văn phòng UBND tỉnh".into(),
        }
        };
        let items = vec![
            item("quá hạn", -3, ""),
            item("trước hạn", 7, ""),
            item("báo cáo vượt cấp", -7, "Công an tỉnh"),
        ];
        Context {
            agency: AgencyCtx {
                id: "so-tttt".into(),
                name: "Sở Thông tin và Truyền thông".into(),
            },
            own_items: items[..2].to_vec(),
            escalations: vec![EscalationCtx {
                plan: "50/KH-UBND".into(),
                task: "8.6".into(),
                title: "Kết nối, tích hợp hệ thống xác thực định danh điện tử".into(),
                time_text: "Tháng 3/2022".into(),
                deadline: crate::dates::dmy(today - chrono::Duration::days(7)),
                days_text: days_text(-7),
                late: vec!["Công an tỉnh".into(), "Sở Nội vụ".into()],
            }],
            items,
            counts: Counts {
                upcoming: 1,
                due: 0,
                overdue: 1,
                escalations: 2,
                escalated_tasks: 1,
            },
            monitor: "Văn phòng UBND tỉnh".into(),
            monitors_differ: false,
            is_monitor: false,
            today: crate::dates::dmy(today),
            redirected_to: vec!["a@example.org".into()],
            link: "https://nhacviec.example/a/token?muc=1%2FKH%7C1%7C2022-03-31#muc".into(),
            page_link: "https://nhacviec.example/a/token".into(),
            monitor_contact: ContactCtx {
                name: "Văn phòng UBND tỉnh".into(),
                phone: "0293 3876 543".into(),
                email: "vp@example.org".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_body_printing_a_huge_list_is_refused() {
        let ctx = webhook_sample();
        for t in [
            "{{ items * 3000000 }}",
            r#"{"t": {{ (items * 3000000) | tojson }}}"#,
        ] {
            let e = webhook_body(Some(t), &ctx).unwrap_err();
            assert!(matches!(e, WebhookBodyError::Render(_)), "{e}");
            assert!(e.to_string().contains("quá nhiều bộ nhớ"), "{e}");
        }
        assert!(webhook_body(Some(r#"{"t": {{ items | tojson }}}"#), &ctx).is_ok());
        let e = webhook_body(Some("{{ text }}"), &ctx).unwrap_err();
        assert!(matches!(e, WebhookBodyError::NotJson(_)), "{e}");
        assert!(e.to_string().contains("không phải JSON"), "{e}");
    }

    #[test]
    fn the_service_messages_render_and_escape() {
        let r = builtin(
            Builtin::ZaloStopped,
            &serde_json::json!({"reason": "<b>", "redirected_to": []}),
        )
        .unwrap();
        assert_eq!(
            r.subject,
            "[Nhắc việc] Kênh Zalo đã dừng: cần đăng nhập lại"
        );
        assert!(r.text.contains("Kênh Zalo đã dừng: <b>"), "{}", r.text);
        assert!(r.html.contains("&lt;b&gt;"), "{}", r.html);
        // Strict: a missing field is an error, never an empty line.
        let e = builtin(Builtin::ZaloStopped, &serde_json::json!({})).unwrap_err();
        assert!(e.template.starts_with("zalo-stopped."), "{e:?}");
    }

    #[test]
    fn deeply_nested_template_is_an_error_not_an_abort() {
        // Runs on a 2 MiB test thread, where minijinja's recursion alone would overflow.
        // Removing the compile thread makes this test abort the whole test binary.
        for (text, accepted) in [
            (
                format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000)),
                false,
            ),
            (format!("{{{{ {}", "[".repeat(5000)), false),
            (format!("{{{{ {}1 }}}}", "-".repeat(5000)), true),
        ] {
            let outcome = Templates::new(&[(TEXT.to_string(), text)]);
            assert_eq!(outcome.is_ok(), accepted, "{:?}", outcome.err());
        }
    }

    #[test]
    fn defaults_render_and_escape_html() {
        let t = Templates::new(&[]).unwrap();
        let r = t.render_context(&Context::sample()).unwrap();
        assert_eq!(
            r.subject,
            "[Nhắc việc] Sở Thông tin và Truyền thông: 1 nhiệm vụ quá hạn, 1 nhiệm vụ sắp đến hạn; 1 nhiệm vụ có cơ quan chủ trì quá hạn (2 cơ quan)"
        );
        // The monitoring office gets one line a task, with every late agency.
        assert!(r.text.contains(
            "Nhiệm vụ 8.6 - Kế hoạch số 50/KH-UBND, hạn 17/03/2022 (quá hạn 7 ngày) — 2 cơ quan chưa hoàn thành: Công an tỉnh, Sở Nội vụ"
        ), "{}", r.text);
        assert!(r.text.contains("báo cáo kết quả về Văn phòng UBND tỉnh"));
        // ... and is never asked to report to itself.
        let mut own = Context::sample();
        own.is_monitor = true;
        let r = t.render_context(&own).unwrap();
        assert!(!r.text.contains("báo cáo kết quả về"), "{}", r.text);
        assert!(!r.html.contains("báo cáo kết quả về"), "{}", r.html);
        assert!(r
            .html
            .contains("Thực hiện kết nối &lt;hệ thống&gt; &amp; &quot;định danh&quot;"));
        assert!(r
            .text
            .contains("Thực hiện kết nối <hệ thống> & \"định danh\""));
    }

    #[test]
    fn heavy_templates_run_out_of_fuel_with_their_line() {
        for heavy in [
            "Dòng 1\n{{ \"x\" * 90000000 }}",
            // The fuzzer's 2 GB case: the item list repeated millions of times (lazily, free),
            // then printed, turned into a string or into JSON.
            "Dòng 1\n{{ 2111111 * items }}",
            "Dòng 1\n{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}",
            "Dòng 1\n{{ (items * 2111111) | tojson | length }}",
            "Dòng 1\n{{ (items * 2111111) | join(',') | length }}",
            "Dòng 1\n{{ (items * 2111111) | list | length }}",
            "Dòng 1\n{{ (items * 2111111) | string | length }}",
            "Dòng 1\n{{ (items * 2111111) | sort | length }}",
            "Dòng 1\n{{ ((items * 2111111) | map(attribute='title')) | join | length }}",
        ] {
            let bad = vec![(TEXT.to_string(), heavy.to_string())];
            let e = Templates::new(&bad).err().expect(heavy);
            assert_eq!((e.template.as_str(), e.line), (TEXT, Some(2)), "{heavy}");
            assert!(e.message.contains("quá nhiều bộ nhớ"), "{}", e.message);
        }
    }

    #[test]
    fn the_budget_grows_with_the_digest() {
        let t = Templates::new(&[]).unwrap();
        let mut ctx = Context::sample();
        let item = ctx.items[0].clone();
        ctx.items = vec![item; 20_000];
        ctx.own_items = ctx.items.clone();
        let r = t.render_context(&ctx).unwrap();
        assert!(r.html.len() > 20_000 * 100, "{}", r.html.len());
        // An admin's template ten times as heavy as the shipped one still renders.
        let verbose = format!(
            "{{% for i in items %}}{}{{% endfor %}}",
            "{{ i.title }} {{ i.deadline }} {{ i.days_text }} {{ i.role }}\n".repeat(10)
        );
        let t = Templates::new(&[(TEXT.to_string(), verbose)]).unwrap();
        t.render_context(&ctx).unwrap();
    }

    #[test]
    fn a_digest_the_admins_template_fails_on_goes_out_with_the_shipped_one() {
        // Quadratic in the items: fine for the three sample items, far over budget for 2,000.
        let quadratic = "{% for a in items %}{% for b in items %}{{ a.task }}{{ b.task }}{% endfor %}{% endfor %}";
        let t = Templates::new(&[(TEXT.to_string(), quadratic.to_string())]).unwrap();
        let mut ctx = Context::sample();
        let item = ctx.items[0].clone();
        ctx.items = vec![item; 2_000];
        let r = t.render_context(&ctx).unwrap();
        let shipped = Templates::new(&[]).unwrap().render_context(&ctx).unwrap();
        assert_eq!(r, shipped);
        let (n, why) = t.take_fallbacks();
        assert_eq!(n, 1);
        assert!(why.unwrap().starts_with("digest.txt.j2:1: "));
        assert_eq!(t.take_fallbacks(), (0, None));
        // A small digest still uses the admins' template.
        let small = t.render_context(&Context::sample()).unwrap();
        assert!(small.text.starts_with("8.68.6"), "{}", small.text);
    }

    #[test]
    fn the_guard_changes_no_output_of_ordinary_templates() {
        let ctx = minijinja::Value::from(minijinja::value::Serde(Context::sample()));
        let cases = [
            "{{ items }}|{{ counts }}|{{ redirected_to }}|{{ none }}|{{ '<b>' }}|{{ '<b>'|safe }}",
            "{{ items|string }}|{{ counts|tojson }}|{{ items|tojson(indent=2) }}|{{ items|tojson(true) }}",
            "{% autoescape 'json' %}{\"items\": {{ items }}, \"n\": {{ counts }}}{% endautoescape %}",
            "{{ agency.name|tojson }}|{{ (items|first).title }}",
        ];
        for name in ["t.txt", "t.html"] {
            for case in cases {
                let mut plain = Environment::new();
                let mut guarded = Environment::new();
                guard(&mut guarded);
                guarded.set_fuel(Some(fuel_for(3)));
                plain.add_template(name, case).unwrap();
                guarded.add_template(name, case).unwrap();
                let want = plain.get_template(name).unwrap().render(&ctx).unwrap();
                let got = guarded.get_template(name).unwrap().render(&ctx).unwrap();
                assert_eq!(got, want, "{name}: {case}");
            }
        }
        let mut guarded = Environment::new();
        guard(&mut guarded);
        let e = guarded
            .render_str("{{ items|tojson(indent=20000000) }}", &ctx)
            .unwrap_err();
        assert!(e.to_string().contains("indent"), "{e}");
    }

    #[test]
    fn tojson_costs_what_it_costs_without_the_guard() {
        let ctx = minijinja::Value::from(minijinja::value::Serde(Context::sample()));
        let least_fuel = |guarded: bool| {
            let (mut lo, mut hi) = (1u64, 10_000_000u64);
            while lo < hi {
                let mid = (lo + hi) / 2;
                let mut env = Environment::new();
                if guarded {
                    guard(&mut env);
                }
                env.set_fuel(Some(mid));
                if env
                    .render_str("{{ (items * 300)|tojson|length }}", &ctx)
                    .is_ok()
                {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            lo
        };
        let (plain, guarded) = (least_fuel(false), least_fuel(true));
        assert!(guarded >= plain * 9 / 10, "{guarded} vs {plain}");
    }

    #[test]
    fn broken_templates_are_errors_with_their_line() {
        let bad = vec![(TEXT.to_string(), "Dòng 1\n{{ agency.nam }}\n".to_string())];
        let e = Templates::new(&bad).err().unwrap();
        assert_eq!((e.template.as_str(), e.line), (TEXT, Some(2)));
        let bad = vec![(HTML.to_string(), "{% for x in items %}".to_string())];
        assert!(Templates::new(&bad).is_err());
    }

    #[test]
    fn a_mistake_in_a_branch_the_sample_skips_is_still_caught() {
        let bad = vec![(
            SUBJECT.to_string(),
            "{% if counts.due %}{{ agency.ten }}{% endif %}x".to_string(),
        )];
        assert!(Templates::new(&bad).is_err());
        let bad = vec![(
            TEXT.to_string(),
            "{% if not monitor %}{{ monitr }}{% endif %}".to_string(),
        )];
        assert!(Templates::new(&bad).is_err());
    }

    #[test]
    fn subjects_cannot_break_headers() {
        assert_eq!(one_line("a\r\nBcc: x@y\n b"), "a Bcc: x@y b");
    }
}
