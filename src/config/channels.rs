//! The channels' settings: `[email]`, `[webhook]` and `[zalo]`, checked, with their defaults.
//! The channels themselves are built from these at the edge (the channels module); this module
//! parses URLs and header names with the `url` and `http` crates, never an HTTP client.

use super::diag::{Diagnostic, Severity, Source};
use super::raw;

pub const DEFAULT_OA_API: &str = "https://openapi.zalo.me";
pub const DEFAULT_ZNS_API: &str = "https://business.openapi.zalo.me";
pub const DEFAULT_OAUTH_API: &str = "https://oauth.zaloapp.com";

/// What a ZNS template parameter can be filled with.
pub const ZALO_FIELDS: &[&str] = &[
    "agency",
    "count",
    "overdue",
    "upcoming",
    "first_task",
    "first_deadline",
    "plan",
    "today",
];

/// The headers every webhook request carries, set by nhacviec: `headers` may not repeat them.
pub const BUILTIN_HEADERS: &[&str] = &[
    "Content-Type",
    "X-Nhacviec-Delivery",
    "X-Nhacviec-Signature",
];

/// `[webhook]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The body template (minijinja, JSON); `None` is [`crate::render::WEBHOOK_BODY`].
    pub body: Option<String>,
    pub timeout_seconds: u32,
}

/// `[zalo]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZaloSettings {
    pub app_id: String,
    pub oa_api: String,
    pub zns_api: String,
    pub oauth_api: String,
    pub template_id: Option<String>,
    /// (template parameter, field) pairs.
    pub template_params: Vec<(String, String)>,
    pub rate_limit_per_minute: u32,
    pub timeout_seconds: u32,
}

/// The default `From:` when the settings give none.
pub const DEFAULT_FROM: &str = "Nhắc việc <nhacviec@localhost.localdomain>";

/// How TLS is used with an SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: allowed only to a server on this machine.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Each message written as an .eml file under the state directory.
    File,
    Smtp {
        host: String,
        port: u16,
        tls: Tls,
    },
}

/// `[email]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    pub transport: Transport,
    /// The `From:` mailbox, as written ("Nhắc việc UBND tỉnh <nhacviec@...>").
    pub from: String,
    pub user: Option<String>,
    pub pool_size: u32,
    /// Where reports of failed deliveries go.
    pub admin: Option<String>,
    /// Trial mode: every message goes here instead, naming its intended recipients.
    pub redirect_all_to: Option<String>,
    pub give_up_after_hours: u32,
    pub timeout_seconds: u32,
    /// What the service says in EHLO; `None`: the domain of the From address.
    pub helo_name: Option<String>,
    /// The envelope sender (MAIL FROM); `None`: the From address.
    pub envelope_from: Option<String>,
    /// PEM certificates trusted for SMTP besides the system's roots (a private CA), resolved
    /// against the settings file's directory.
    pub ca_file: Option<std::path::PathBuf>,
    /// The server certificate accepted, whoever signed it: SHA-256 of its DER, lowercase hex.
    pub tls_pin_sha256: Option<String>,
    /// Reply-To of the reminders: the monitoring office's address (`[monitor] email`), and
    /// that office's agency id (its own mail has no Reply-To).
    pub reply_to: Option<(String, String)>,
    /// The plans whose own monitoring office (`[plan] monitor`) is not the settings' one: plan
    /// number → (that office's agency id, its first email, if any).
    pub plan_reply_to: std::collections::BTreeMap<String, (String, Option<String>)>,
}

impl EmailSettings {
    /// The Reply-To of a message about `plans` (its items' plans), with the office's agency
    /// id: the plans' office when they all report to the same one, else the settings'
    /// monitor. `None` when that office has no address.
    pub fn reply_to_of<'a>(
        &'a self,
        plans: impl IntoIterator<Item = &'a str>,
    ) -> Option<(&'a str, &'a str)> {
        let global = self
            .reply_to
            .as_ref()
            .map(|(id, e)| (Some(id.as_str()), Some(e.as_str())));
        let office_of = |plan: &str| match self.plan_reply_to.get(plan) {
            Some((id, e)) => Some((Some(id.as_str()), e.as_deref())),
            None => global,
        };
        let mut office = None;
        for plan in plans {
            let o = office_of(plan);
            match office {
                None => office = Some(o),
                Some(prev) if prev.map(|p| p.0) != o.map(|p| p.0) => {
                    office = Some(global);
                    break;
                }
                Some(_) => {}
            }
        }
        match office.unwrap_or(global)? {
            (Some(id), Some(email)) => Some((id, email)),
            _ => None,
        }
    }

    /// The EHLO name: `helo_name`, else the From address's domain when it is a fully
    /// qualified name (servers with `reject_non_fqdn_helo_hostname` refuse a bare host name
    /// such as the machine's "vm"), else `None` (the machine's own name).
    pub fn helo(&self) -> Option<String> {
        if let Some(h) = &self.helo_name {
            return Some(h.clone());
        }
        let from: lettre::message::Mailbox = self.from.parse().ok()?;
        let domain = from.email.domain().to_string();
        is_fqdn(&domain).then_some(domain)
    }
}

/// A fully qualified host name: dot-separated labels of letters, digits and hyphens, at least
/// two, none empty or starting or ending with a hyphen.
pub fn is_fqdn(name: &str) -> bool {
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            transport: Transport::File,
            from: DEFAULT_FROM.into(),
            user: None,
            pool_size: 4,
            admin: None,
            redirect_all_to: None,
            give_up_after_hours: 72,
            timeout_seconds: 30,
            helo_name: None,
            envelope_from: None,
            ca_file: None,
            tls_pin_sha256: None,
            reply_to: None,
            plan_reply_to: Default::default(),
        }
    }
}

/// A URL as it may be shown (logs, errors, `send-test`, history): scheme, host, port and path
/// kept; user name and password dropped; every query value replaced by `***`; no fragment.
/// Text that is not a URL keeps only what comes before any `?`, without user info.
pub fn redact_url(text: &str) -> String {
    let parsed = url::Url::parse(text.trim()).ok();
    let Some(u) = parsed.filter(|u| u.host_str().is_some()) else {
        let base = text.split(['?', '#']).next().unwrap_or("");
        return match base.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority.rsplit('@').next().unwrap_or("");
                format!("{scheme}://{host}{path}")
            }
            None => base.rsplit('@').next().unwrap_or("").to_string(),
        };
    };
    let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
    if let Some(port) = u.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(u.path());
    if let Some(query) = u.query() {
        let keys: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| format!("{}=***", p.split('=').next().unwrap_or("")))
            .collect();
        out.push('?');
        out.push_str(&keys.join("&"));
    }
    out
}

/// Whether a configured URL carries a user name or password (refused: they would be shown
/// wherever the URL is, and sent to every redirect target).
fn has_userinfo(u: &url::Url) -> bool {
    !u.username().is_empty() || u.password().is_some()
}

/// The error for a URL with user info; `instead` says where the credential goes.
fn userinfo_error(u: &url::Url, instead: &str) -> String {
    format!(
        "không ghi tên đăng nhập hay mật khẩu trong url ({}): {instead}",
        redact_url(u.as_str())
    )
}

/// A host on this machine: the only one `tls = "none"` may name.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_matches(|c| c == '[' || c == ']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks `[email]`.
/// `certificates`: the files `ca_file` may name, as read with the config (see `read_dir`).
pub fn email(
    src: &Source,
    raw: &raw::Email,
    certificates: &std::collections::BTreeMap<std::path::PathBuf, Result<usize, super::FileError>>,
    diags: &mut Vec<Diagnostic>,
) -> EmailSettings {
    let mut out = EmailSettings::default();
    // Shared: a `ca_file` that could not be read marks its diagnostic after `err` made it.
    let diags = std::cell::RefCell::new(diags);
    let mut err = |span: std::ops::Range<usize>, msg: String, help: &str| {
        let d = src.diag(Severity::Error, span, msg);
        diags.borrow_mut().push(if help.is_empty() {
            d
        } else {
            d.with_help(help)
        });
    };
    type Err<'a> = dyn FnMut(std::ops::Range<usize>, String, &str) + 'a;
    let number = |v: &toml::Spanned<i64>,
                  range: std::ops::RangeInclusive<i64>,
                  what: &str,
                  err: &mut Err|
     -> Option<u32> {
        if range.contains(v.get_ref()) {
            u32::try_from(*v.get_ref()).ok()
        } else {
            err(
                v.span(),
                format!(
                    "{what} phải từ {} đến {}, không phải {}",
                    range.start(),
                    range.end(),
                    v.get_ref()
                ),
                "",
            );
            None
        }
    };
    // Every address is read trimmed, and kept as read.
    if let Some(from) = &raw.from {
        if from
            .get_ref()
            .trim()
            .parse::<lettre::message::Mailbox>()
            .is_ok()
        {
            out.from = from.get_ref().trim().to_string();
        } else {
            err(
                from.span(),
                format!("địa chỉ người gửi \"{}\" không hợp lệ", from.get_ref()),
                "ví dụ \"Nhắc việc UBND tỉnh <nhacviec@haugiang.gov.vn>\"",
            );
        }
    }
    if let Some(h) = &raw.helo_name {
        let name = h.get_ref().trim();
        if is_fqdn(name) {
            out.helo_name = Some(name.to_string());
        } else {
            err(
                h.span(),
                format!("helo_name \"{name}\" không phải tên miền đầy đủ"),
                "ví dụ helo_name = \"nhacviec.haugiang.gov.vn\": nhiều máy chủ thư từ chối tên máy không có dấu chấm",
            );
        }
    }
    for (field, target) in [
        (&raw.admin, &mut out.admin),
        (&raw.redirect_all_to, &mut out.redirect_all_to),
        (&raw.envelope_from, &mut out.envelope_from),
    ] {
        if let Some(addr) = field {
            if addr.get_ref().trim().parse::<lettre::Address>().is_ok() {
                *target = Some(addr.get_ref().trim().to_string());
            } else {
                err(
                    addr.span(),
                    format!("địa chỉ email \"{}\" không hợp lệ", addr.get_ref()),
                    "",
                );
            }
        }
    }
    if let Some(f) = &raw.ca_file {
        let path = ca_path(&src.name, f.get_ref());
        let read = certificates
            .get(&path)
            .cloned()
            .unwrap_or(Err(super::FileError::NotRead));
        match read {
            Ok(_) => out.ca_file = Some(path),
            Err(why) => {
                err(
                    f.span(),
                    format!("ca_file \"{}\": {why}", f.get_ref()),
                    "tệp PEM chứa chứng chỉ CA của máy chủ thư (-----BEGIN CERTIFICATE-----), đường dẫn tính từ thư mục của nhacviec.toml",
                );
                if let Some(d) = diags.borrow_mut().last_mut() {
                    d.unreadable = why.is_unreadable();
                }
            }
        }
    }
    if let Some(p) = &raw.tls_pin_sha256 {
        match pin_of(p.get_ref()) {
            Some(pin) => out.tls_pin_sha256 = Some(pin),
            None => err(
                p.span(),
                format!(
                    "tls_pin_sha256 \"{}\" không phải SHA-256 dạng hex (64 chữ số hex)",
                    p.get_ref()
                ),
                "lấy bằng: openssl x509 -in cert.pem -outform DER | sha256sum; hoặc chép từ thông báo lỗi TLS của nhacviec",
            ),
        }
    }
    out.user = raw.user.as_ref().map(|u| u.get_ref().clone());
    if let Some(n) = &raw.pool_size {
        out.pool_size = number(n, 1..=64, "pool_size", &mut err).unwrap_or(out.pool_size);
    }
    if let Some(n) = &raw.give_up_after_hours {
        out.give_up_after_hours =
            number(n, 1..=720, "give_up_after_hours", &mut err).unwrap_or(out.give_up_after_hours);
    }
    if let Some(n) = &raw.timeout_seconds {
        out.timeout_seconds =
            number(n, 1..=600, "timeout_seconds", &mut err).unwrap_or(out.timeout_seconds);
    }
    let transport = raw
        .transport
        .as_ref()
        .map_or("file", |t| t.get_ref().trim());
    match transport {
        "file" => {}
        "smtp" => {
            let Some(url) = &raw.url else {
                let span = raw.transport.as_ref().map_or(0..0, |t| t.span());
                err(
                    span,
                    "transport = \"smtp\" cần khóa url".into(),
                    "ví dụ url = \"smtp://mail.haugiang.gov.vn:587\"",
                );
                return out;
            };
            match parse_smtp_url(url.get_ref(), raw.tls.as_ref().map(|t| t.get_ref().as_str())) {
                Ok(t) => out.transport = t,
                Err(e) => err(url.span(), e.into(), "ví dụ \"smtp://mail.example.org:587\" (STARTTLS) hoặc \"smtps://mail.example.org:465\""),
            }
        }
        other => {
            let span = raw.transport.as_ref().map_or(0..0, |t| t.span());
            err(
                span,
                format!("transport \"{other}\" không có"),
                "dùng \"file\" (ghi tệp .eml) hoặc \"smtp\"",
            );
        }
    }
    out
}

/// Where `ca_file = "<written>"` in the settings file `settings_name` points: relative to the
/// settings file's directory.
pub fn ca_path(settings_name: &str, written: &str) -> std::path::PathBuf {
    std::path::Path::new(settings_name)
        .parent()
        .unwrap_or(std::path::Path::new(""))
        .join(written.trim())
}

/// A SHA-256 fingerprint as written ("AB:CD:…" or "abcd…"), normalised to lowercase hex.
pub fn pin_of(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    let hex = hex
        .strip_prefix("sha256/")
        .or_else(|| hex.strip_prefix("sha256:"))
        .unwrap_or(&hex)
        .to_string();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// `smtp://host:port` or `smtps://host:port`, with `tls` ("starttls", "tls", "none").
pub fn parse_smtp_url(url: &str, tls: Option<&str>) -> Result<Transport, crate::text::Invalid> {
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or_else(|| format!("url \"{url}\" thiếu \"smtp://\""))?;
    let implicit = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => false,
        "smtps" => true,
        other => {
            return Err(
                format!("giao thức \"{other}\" không dùng được: chỉ smtp:// hoặc smtps://").into(),
            )
        }
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("không ghi tên đăng nhập hay mật khẩu trong url: dùng khóa user, mật khẩu lấy từ biến môi trường NHACVIEC_SMTP_PASSWORD".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| format!("cổng \"{p}\" không hợp lệ"))?,
        ),
        _ => (authority.to_string(), if implicit { 465 } else { 587 }),
    };
    if host.is_empty() {
        return Err(format!("url \"{url}\" thiếu tên máy chủ").into());
    }
    let tls = match (tls.map(str::trim), implicit) {
        (None, true) | (Some("tls"), _) => Tls::Implicit,
        (None, false) | (Some("starttls"), false) => Tls::StartTls,
        (Some("starttls"), true) => return Err("smtps:// đã là TLS: bỏ tls = \"starttls\"".into()),
        (Some("none"), _) if is_loopback(&host) => Tls::None,
        (Some("none"), _) => {
            return Err(format!(
            "tls = \"none\" chỉ dùng được với máy chủ trên chính máy này, không phải \"{host}\""
        )
            .into())
        }
        (Some(other), _) => {
            return Err(format!(
                "tls = \"{other}\" không có: dùng \"starttls\", \"tls\" hoặc \"none\""
            )
            .into())
        }
    };
    Ok(Transport::Smtp {
        host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
        port,
        tls,
    })
}

/// Checks `[webhook]`: an https URL (http only to this machine), valid header names, and a
/// body template that renders to JSON.
pub fn webhook(
    src: &Source,
    raw: &raw::Webhook,
    diags: &mut Vec<Diagnostic>,
) -> Option<WebhookSettings> {
    let Some(url) = &raw.url else {
        diags.push(
            Diagnostic::file(Severity::Error, &src.name, "[webhook] thiếu url")
                .with_help("ví dụ url = \"https://chat.example.org/hooks/nhacviec\""),
        );
        return None;
    };
    let mut ok = true;
    match url::Url::parse(url.get_ref().trim()) {
        Ok(u) if has_userinfo(&u) => {
            ok = false;
            diags.push(src.diag(
                Severity::Error,
                url.span(),
                userinfo_error(&u, "khóa ký lấy từ biến môi trường NHACVIEC_WEBHOOK_SECRET, mã truy cập của máy nhận ghi trong headers"),
            ).with_help("ví dụ headers = { Authorization = \"Bearer ...\" }"));
        }
        Ok(u) if u.scheme() == "https" => {}
        Ok(u) if u.scheme() == "http" && u.host_str().is_some_and(is_loopback) => {}
        Ok(_) => {
            ok = false;
            diags.push(src.diag(
                Severity::Error,
                url.span(),
                "webhook phải dùng https:// (http:// chỉ cho máy chủ trên chính máy này)",
            ));
        }
        Err(e) => {
            ok = false;
            diags.push(src.diag(
                Severity::Error,
                url.span(),
                format!("url webhook không hợp lệ: {e}"),
            ));
        }
    }
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        if BUILTIN_HEADERS
            .iter()
            .any(|b| b.eq_ignore_ascii_case(name.trim()))
        {
            ok = false;
            diags.push(
                src.diag(
                    Severity::Error,
                    value.span(),
                    format!("header \"{name}\" do nhacviec tự đặt, không ghi lại trong headers"),
                )
                .with_help(format!(
                    "bỏ header này; nhacviec luôn gửi {}",
                    BUILTIN_HEADERS.join(", ")
                )),
            );
        } else if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value.get_ref()).is_err()
        {
            ok = false;
            diags.push(src.diag(
                Severity::Error,
                value.span(),
                format!("header \"{name}\" không hợp lệ"),
            ));
        } else {
            headers.push((name.clone(), value.get_ref().clone()));
        }
    }
    if let Some(body) = &raw.body {
        if let Err(e) =
            crate::render::webhook_body(Some(body.get_ref()), &crate::render::webhook_sample())
        {
            ok = false;
            diags.push(
                src.diag(Severity::Error, body.span(), e)
                    .with_help("ví dụ body = '{\"text\": {{ text | tojson }}}'"),
            );
        }
    }
    let timeout_seconds = match &raw.timeout_seconds {
        Some(t) if (1..=300).contains(t.get_ref()) => *t.get_ref() as u32,
        Some(t) => {
            ok = false;
            diags.push(src.diag(
                Severity::Error,
                t.span(),
                "timeout_seconds phải từ 1 đến 300",
            ));
            30
        }
        None => 30,
    };
    ok.then(|| WebhookSettings {
        url: url.get_ref().trim().to_string(),
        headers,
        body: raw.body.as_ref().map(|b| b.get_ref().clone()),
        timeout_seconds,
    })
}

/// Checks `[zalo]`: the app id, https base URLs (http only to this machine), a template's
/// parameters mapped to known fields, and the limits.
pub fn zalo(src: &Source, raw: &raw::Zalo, diags: &mut Vec<Diagnostic>) -> Option<ZaloSettings> {
    let mut ok = true;
    let Some(app_id) = &raw.app_id else {
        diags.push(
            Diagnostic::file(Severity::Error, &src.name, "[zalo] thiếu app_id")
                .with_help("lấy app_id trong trang quản lý ứng dụng Zalo (developers.zalo.me)"),
        );
        return None;
    };
    let mut base = |v: &Option<toml::Spanned<String>>, default: &str| -> String {
        match v {
            None => default.to_string(),
            Some(u) => {
                match url::Url::parse(u.get_ref().trim()) {
                    Ok(p) if has_userinfo(&p) => {
                        ok = false;
                        diags.push(src.diag(Severity::Error, u.span(), userinfo_error(&p, "app secret lấy từ biến môi trường NHACVIEC_ZALO_SECRET_KEY, token bằng `nhacviec zalo login`")));
                        default.to_string()
                    }
                    Ok(p)
                        if p.scheme() == "https"
                            || (p.scheme() == "http" && p.host_str().is_some_and(is_loopback)) =>
                    {
                        u.get_ref().trim().to_string()
                    }
                    _ => {
                        ok = false;
                        diags.push(src.diag(Severity::Error, u.span(), format!("địa chỉ \"{}\" không hợp lệ: cần https:// (http:// chỉ cho máy này)", redact_url(u.get_ref()))));
                        default.to_string()
                    }
                }
            }
        }
    };
    let oa_api = base(&raw.oa_api, DEFAULT_OA_API);
    let zns_api = base(&raw.zns_api, DEFAULT_ZNS_API);
    let oauth_api = base(&raw.oauth_api, DEFAULT_OAUTH_API);
    let mut template_params = Vec::new();
    for (param, field) in &raw.template_params {
        if ZALO_FIELDS.contains(&field.get_ref().as_str()) {
            template_params.push((param.clone(), field.get_ref().clone()));
        } else {
            ok = false;
            diags.push(
                src.diag(
                    Severity::Error,
                    field.span(),
                    format!("trường \"{}\" không có", field.get_ref()),
                )
                .with_help(format!("các trường: {}", ZALO_FIELDS.join(", "))),
            );
        }
    }
    let mut limit = |v: &Option<toml::Spanned<i64>>,
                     range: std::ops::RangeInclusive<i64>,
                     default: u32,
                     what: &str|
     -> u32 {
        match v {
            Some(n) if range.contains(n.get_ref()) => *n.get_ref() as u32,
            Some(n) => {
                ok = false;
                diags.push(src.diag(
                    Severity::Error,
                    n.span(),
                    format!("{what} phải từ {} đến {}", range.start(), range.end()),
                ));
                default
            }
            None => default,
        }
    };
    let rate_limit_per_minute = limit(
        &raw.rate_limit_per_minute,
        1..=100_000,
        4000,
        "rate_limit_per_minute",
    );
    let timeout_seconds = limit(&raw.timeout_seconds, 1..=300, 30, "timeout_seconds");
    ok.then(|| ZaloSettings {
        app_id: app_id.get_ref().trim().to_string(),
        oa_api,
        zns_api,
        oauth_api,
        template_id: raw
            .zns_template_id
            .as_ref()
            .map(|t| t.get_ref().trim().to_string()),
        template_params,
        rate_limit_per_minute,
        timeout_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        assert_eq!(
            parse_smtp_url("smtp://mail.example.org:587", None),
            Ok(Transport::Smtp {
                host: "mail.example.org".into(),
                port: 587,
                tls: Tls::StartTls
            })
        );
        assert_eq!(
            parse_smtp_url("smtps://mail.example.org", None),
            Ok(Transport::Smtp {
                host: "mail.example.org".into(),
                port: 465,
                tls: Tls::Implicit
            })
        );
        assert_eq!(
            parse_smtp_url("smtp://127.0.0.1:2525", Some("none")),
            Ok(Transport::Smtp {
                host: "127.0.0.1".into(),
                port: 2525,
                tls: Tls::None
            })
        );
        assert!(parse_smtp_url("smtp://mail.example.org:25", Some("none")).is_err());
        assert!(parse_smtp_url("smtp://user:pw@mail.example.org", None).is_err());
        assert!(parse_smtp_url("http://x", None).is_err());
    }
}
