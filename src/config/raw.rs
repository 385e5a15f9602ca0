//! The TOML files exactly as written, with the place of every value, before validation.
//! Unknown keys are errors, so a misspelt key never silently does nothing.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::value::Datetime;
use toml::Spanned;

pub type S = Spanned<String>;

/// `nhacviec.toml`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub timezone: Option<S>,
    // Read by `read_dir` to find the files; declared here so they are known keys.
    #[allow(dead_code)]
    pub agencies: Option<S>,
    #[allow(dead_code)]
    pub plans: Option<S>,
    /// The monitoring agency's id, or a `[monitor]` table (agency, name, phone, email).
    pub monitor: Option<Spanned<toml::Value>>,
    /// Where the database and the .eml outbox live (relative: to the config directory).
    pub state_dir: Option<S>,
    pub email: Option<Email>,
    pub http: Option<Http>,
    pub web: Option<Spanned<Web>>,
    pub webhook: Option<Webhook>,
    pub zalo: Option<Zalo>,
    pub schedule: Option<Schedule>,
    pub policy: Option<Policy>,
    pub calendar: Option<Calendar>,
    /// `[report]`: the signed report (.docx).
    pub report: Option<Report>,
}

/// `[report]`: what the .docx report's header, recipients and signature say.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The issuing body in two lines ("UBND TỈNH HẬU GIANG", "VĂN PHÒNG").
    pub issuer: Option<Spanned<Vec<S>>>,
    /// What follows "Số: …/" ("BC-VPUBND").
    pub number_prefix: Option<S>,
    /// The place of the date line ("Hậu Giang").
    pub place: Option<S>,
    #[serde(default)]
    pub recipients: Vec<S>,
    /// The signer's title, one or two lines ("KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG").
    pub signer_title: Option<Spanned<Vec<S>>>,
    /// Attach the .docx to the weekly report.
    pub attach_docx: Option<Spanned<bool>>,
}

/// `[zalo]`: the Zalo app and template.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Zalo {
    pub app_id: Option<S>,
    pub oa_api: Option<S>,
    pub zns_api: Option<S>,
    pub oauth_api: Option<S>,
    pub zns_template_id: Option<S>,
    #[serde(default)]
    pub template_params: BTreeMap<String, S>,
    pub rate_limit_per_minute: Option<Spanned<i64>>,
    pub timeout_seconds: Option<Spanned<i64>>,
}

/// `[webhook]`: where the webhook channel posts.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: Option<S>,
    #[serde(default)]
    pub headers: BTreeMap<String, S>,
    pub body: Option<S>,
    pub timeout_seconds: Option<Spanned<i64>>,
}

/// `[http]`: the optional health and metrics listener.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Http {
    pub listen: Option<S>,
}

/// `[web]`: the agencies' pages.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Web {
    pub listen: Option<S>,
    /// Listening on an address other than loopback, written out (no reverse proxy in front).
    pub public_listen: Option<Spanned<bool>>,
    pub public_url: Option<S>,
    pub link_days: Option<Spanned<i64>>,
    #[serde(default)]
    pub trusted_proxy: Vec<S>,
    /// The monitoring office's dashboard key, as its SHA-256 ("sha256:<hex>").
    pub admin_token: Option<S>,
    /// The largest file an answer may carry, in MB (1–100).
    pub max_upload_mb: Option<Spanned<i64>>,
    /// All the files kept together, in MB.
    pub upload_quota_mb: Option<Spanned<i64>>,
    /// How far past the current deadline an agency may ask to extend it, in days.
    pub max_extension_days: Option<Spanned<i64>>,
    /// How many answers one agency may give in a day on its page.
    pub max_answers_per_day: Option<Spanned<i64>>,
}

/// `[email]`: how digests are sent.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub transport: Option<S>,
    pub url: Option<S>,
    pub from: Option<S>,
    pub tls: Option<S>,
    pub user: Option<S>,
    pub pool_size: Option<Spanned<i64>>,
    pub admin: Option<S>,
    pub redirect_all_to: Option<S>,
    pub give_up_after_hours: Option<Spanned<i64>>,
    pub timeout_seconds: Option<Spanned<i64>>,
    /// The name said in EHLO (a fully qualified domain name).
    pub helo_name: Option<S>,
    /// The envelope sender (MAIL FROM, where bounces go), if not the From address.
    pub envelope_from: Option<S>,
    /// PEM certificates of a private CA, trusted for SMTP besides the system's.
    pub ca_file: Option<S>,
    /// SHA-256 (hex) of the one server certificate accepted, for a self-signed one.
    pub tls_pin_sha256: Option<S>,
}

/// `[schedule]`: when the daemon looks for due reminders.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Cron expression, seconds first, in the configured timezone.
    pub reminders: Option<S>,
    /// When the weekly report goes to the monitoring agency.
    pub report: Option<S>,
    /// How old (in days) a missed reminder may be and still go out.
    pub catch_up_days: Option<Spanned<i64>>,
    /// "07:30-17:00": when, on working days, deliveries may go out.
    pub send_hours: Option<S>,
}

/// `[policy]` in the settings or a plan, or `policy = { ... }` in a task: every key optional,
/// each overriding the level above.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub before: Option<Spanned<Vec<Spanned<i64>>>>,
    pub count: Option<S>,
    pub overdue_every: Option<Spanned<i64>>,
    pub overdue_times: Option<Spanned<i64>>,
    /// Words ("first", "due", "overdue", "all") and day numbers.
    pub support: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub escalate_after: Option<Spanned<i64>>,
    pub nudge: Option<S>,
    /// Whether coordinators are still reminded once every lead is done.
    pub support_after_lead_done: Option<Spanned<bool>>,
}

/// `[calendar]`: the year's announced schedule on top of the computed holidays.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// Extra days off: dates, or `{ date = ..., name = "..." }`.
    #[serde(default)]
    pub holidays: Vec<Spanned<toml::Value>>,
    /// Days worked although off (a Saturday worked in exchange, a computed day off cancelled).
    #[serde(default)]
    pub workdays: Vec<Spanned<toml::Value>>,
}

/// `agencies.toml`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Agencies {
    #[serde(default)]
    pub level: Vec<Level>,
    #[serde(default)]
    pub agency: Vec<Agency>,
    #[serde(default)]
    pub group: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub id: S,
    pub name: S,
    #[serde(default)]
    pub aliases: Vec<S>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub id: S,
    pub name: S,
    #[serde(default)]
    pub aliases: Vec<S>,
    pub level: S,
    #[serde(default)]
    pub email: Vec<S>,
    pub zalo_phone: Option<S>,
    pub zalo_user_id: Option<S>,
    #[serde(default)]
    pub channels: Vec<S>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: S,
    pub name: S,
    #[serde(default)]
    pub aliases: Vec<S>,
    #[serde(default)]
    pub members: Vec<S>,
    /// Every agency of this level is a member too.
    pub level: Option<S>,
}

/// `plans/*.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub plan: Spanned<PlanHeader>,
    pub policy: Option<Policy>,
    #[serde(default)]
    pub task: Vec<Task>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanHeader {
    pub number: S,
    pub title: S,
    pub issuer: S,
    pub issued: Spanned<Datetime>,
    /// "active" (default) or "closed".
    pub status: Option<S>,
    /// When the plan was closed.
    pub closed: Option<Spanned<Datetime>>,
    /// No reminder slot before this date (a plan added long after it was issued).
    pub reminders_from: Option<Spanned<Datetime>>,
    /// Recurring tasks stop here (e.g. the end of "giai đoạn 2021-2025").
    pub until: Option<Spanned<Datetime>>,
    /// The office this plan's agencies report to (an agency id, name or alias); default: the
    /// settings' `monitor`.
    pub monitor: Option<S>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub id: S,
    pub title: S,
    pub lead: Spanned<Vec<S>>,
    #[serde(default)]
    pub support: Vec<S>,
    pub time: Option<S>,
    pub due: Option<Spanned<Datetime>>,
    pub recurrence: Option<S>,
    pub done: Option<Spanned<Datetime>>,
    #[serde(default)]
    pub done_by: BTreeMap<S, Spanned<Datetime>>,
    pub note: Option<S>,
    pub policy: Option<Policy>,
}
