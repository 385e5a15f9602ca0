//! Validation of the settings sections that shape the schedule: `[schedule]`, `[policy]`
//! (also per plan and per task) and `[calendar]`.

use super::diag::{Diagnostic, Severity, Source};
use super::raw;
use crate::calendar::Overrides;
use crate::deadline::recur;
use crate::policy::{DayCount, Policy, SupportSet, SUPPORT_WORDS};
use chrono::{Datelike, NaiveDate};

/// The default reminder schedule: 08:00 on weekdays (seconds first, as the scheduler reads it).
pub const DEFAULT_REMINDERS: &str = "0 0 8 * * Mon-Fri";

/// Parses a cron expression exactly as the daemon's scheduler does (croner, seconds required).
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 6 && fields.len() != 7 {
        return Err(format!(
            "biểu thức cron cần 6 trường (giây phút giờ ngày tháng thứ), ở đây có {}",
            fields.len()
        ));
    }
    let restricted = |f: &str| f != "*" && f != "?";
    if restricted(fields[3]) && restricted(fields[5]) {
        // The scheduler ANDs them where cron ORs them: never let the meaning be a guess.
        return Err(
            "không được giới hạn cùng lúc cả ngày trong tháng và thứ trong tuần (nghĩa không rõ ràng)"
                .into(),
        );
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| format!("biểu thức cron không hợp lệ: {e}"))
}

/// The default weekly report: Monday 07:30, before the reminders.
pub const DEFAULT_REPORT: &str = "0 30 7 * * Mon";

/// Checks `[schedule]`; returns the reminders and the report cron expressions.
pub fn schedule(
    src: &Source,
    raw: &raw::Schedule,
    diags: &mut Vec<Diagnostic>,
) -> (String, String) {
    let mut check =
        |value: &Option<toml::Spanned<String>>, default: &str, example: &str| match value {
            Some(expr) => match parse_cron(expr.get_ref()) {
                Ok(_) => expr.get_ref().trim().to_string(),
                Err(e) => {
                    diags.push(
                        src.diag(Severity::Error, expr.span(), e)
                            .with_help(format!("ví dụ \"{default}\": {example}")),
                    );
                    default.to_string()
                }
            },
            None => default.to_string(),
        };
    (
        check(
            &raw.reminders,
            DEFAULT_REMINDERS,
            "8 giờ sáng thứ Hai đến thứ Sáu",
        ),
        check(
            &raw.report,
            DEFAULT_REPORT,
            "7 giờ 30 sáng thứ Hai hằng tuần",
        ),
    )
}

/// Reports an error at a span, with an optional hint.
type Report<'a> = dyn FnMut(std::ops::Range<usize>, String, Option<&str>) + 'a;

/// `base` with the keys `patch` sets, each checked.
pub fn policy(
    src: &Source,
    patch: &raw::Policy,
    base: &Policy,
    diags: &mut Vec<Diagnostic>,
) -> Policy {
    let mut p = base.clone();
    let mut err = |span: std::ops::Range<usize>, msg: String, help: Option<&str>| {
        let d = src.diag(Severity::Error, span, msg);
        diags.push(match help {
            Some(h) => d.with_help(h),
            None => d,
        });
    };
    let days = |v: &toml::Spanned<i64>, what: &str, err: &mut Report| -> Option<u32> {
        match u32::try_from(*v.get_ref()) {
            Ok(n) if n <= 366 => Some(n),
            _ => {
                err(
                    v.span(),
                    format!(
                        "{what} phải là số ngày từ 0 đến 366, không phải {}",
                        v.get_ref()
                    ),
                    None,
                );
                None
            }
        }
    };
    if let Some(before) = &patch.before {
        let mut list: Vec<u32> = Vec::new();
        for n in before.get_ref() {
            if let Some(d) = days(n, "số ngày nhắc trước hạn", &mut err) {
                if list.contains(&d) {
                    err(n.span(), format!("số ngày {d} ghi hai lần"), None);
                } else {
                    list.push(d);
                }
            }
        }
        list.sort_unstable_by(|a, b| b.cmp(a));
        p.before = list;
    }
    if let Some(count) = &patch.count {
        match count.get_ref().trim() {
            "calendar" => p.count = DayCount::Calendar,
            "working" => p.count = DayCount::Working,
            other => err(
                count.span(),
                format!("cách đếm ngày \"{other}\" không có"),
                Some("dùng \"calendar\" (ngày lịch) hoặc \"working\" (ngày làm việc)"),
            ),
        }
    }
    if let Some(n) = &patch.overdue_every {
        if let Some(d) = days(n, "số ngày giữa các lần nhắc quá hạn", &mut err) {
            if d == 0 {
                err(
                    n.span(),
                    "số ngày giữa các lần nhắc quá hạn phải lớn hơn 0".into(),
                    Some("muốn tắt nhắc quá hạn thì đặt overdue_times = 0"),
                );
            } else {
                p.overdue_every = d;
            }
        }
    }
    if let Some(n) = &patch.overdue_times {
        if let Some(d) = days(n, "số lần nhắc quá hạn", &mut err) {
            p.overdue_times = d;
        }
    }
    if let Some(n) = &patch.escalate_after {
        if let Some(d) = days(n, "số ngày quá hạn trước khi báo cáo vượt cấp", &mut err)
        {
            p.escalate_after = (d > 0).then_some(d);
        }
    }
    if let Some(support) = &patch.support {
        let mut set = SupportSet::default();
        for item in support.get_ref() {
            match item.get_ref() {
                toml::Value::String(w) => match w.trim() {
                    "first" => set.first = true,
                    "due" => set.due = true,
                    "overdue" => set.overdue = true,
                    "all" => set.all = true,
                    other => err(
                        item.span(),
                        format!("\"{other}\" không dùng được trong support"),
                        Some(&format!(
                            "dùng {} hoặc số ngày trước hạn, ví dụ [\"first\", \"due\", 3]",
                            SUPPORT_WORDS.join(", ")
                        )),
                    ),
                },
                toml::Value::Integer(n) => match u32::try_from(*n) {
                    Ok(d) if d <= 366 => set.days.push(d),
                    _ => err(item.span(), format!("số ngày {n} không hợp lệ"), None),
                },
                _ => err(
                    item.span(),
                    "support chỉ gồm chữ (\"first\", \"due\", \"overdue\", \"all\") và số ngày"
                        .into(),
                    None,
                ),
            }
        }
        p.support = set;
    }
    if let Some(nudge) = &patch.nudge {
        let start = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default();
        match recur::check(nudge.get_ref(), start) {
            Ok(()) => p.nudge = Some(recur::normalize(nudge.get_ref()).to_string()),
            Err(e) => err(
                nudge.span(),
                e,
                Some("ví dụ \"FREQ=MONTHLY;BYMONTHDAY=-1\": nhắc vào ngày cuối mỗi tháng"),
            ),
        }
    }
    p
}

/// Checks `[calendar]`: every entry a plain date, optionally named.
pub fn calendar(src: &Source, raw: &raw::Calendar, diags: &mut Vec<Diagnostic>) -> Overrides {
    let mut out = Overrides::default();
    for (list, target, default_name) in [
        (&raw.holidays, &mut out.days_off, "Ngày nghỉ theo thông báo"),
        (
            &raw.workdays,
            &mut out.workdays,
            "Ngày làm việc theo thông báo",
        ),
    ] {
        for entry in list {
            match day_entry(entry) {
                Some((date, name)) => {
                    if target.iter().any(|(d, _)| *d == date) {
                        diags.push(src.diag(Severity::Error, entry.span(), format!("ngày {} ghi hai lần", date.format("%d/%m/%Y"))));
                    }
                    target.push((date, name.unwrap_or_else(|| default_name.to_string())));
                }
                None => diags.push(
                    src.diag(Severity::Error, entry.span(), "ngày không hợp lệ")
                        .with_help("ghi ngày dạng 2023-01-20, hoặc { date = 2023-01-20, name = \"Nghỉ Tết Nguyên đán\" }"),
                ),
            }
        }
    }
    for (date, _) in &out.days_off {
        if let Some(entry) = raw
            .workdays
            .iter()
            .find(|e| day_entry(e).is_some_and(|(d, _)| d == *date))
        {
            diags.push(src.diag(
                Severity::Error,
                entry.span(),
                format!(
                    "ngày {} vừa là ngày nghỉ vừa là ngày làm việc",
                    date.format("%d/%m/%Y")
                ),
            ));
        }
    }
    out
}

fn day_entry(entry: &toml::Spanned<toml::Value>) -> Option<(NaiveDate, Option<String>)> {
    let date_of = |v: &toml::Value| -> Option<NaiveDate> {
        let dt = v.as_datetime()?;
        if dt.time.is_some() || dt.offset.is_some() {
            return None;
        }
        let d = dt.date?;
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
    };
    match entry.get_ref() {
        toml::Value::Table(t) => {
            if t.keys().any(|k| k != "date" && k != "name") {
                return None;
            }
            let date = date_of(t.get("date")?)?;
            let name = match t.get("name") {
                Some(n) => Some(n.as_str()?.to_string()),
                None => None,
            };
            Some((date, name))
        }
        v => date_of(v).map(|d| (d, None)),
    }
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
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_matches(|c| c == '[' || c == ']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks `[email]`.
pub fn email(src: &Source, raw: &raw::Email, diags: &mut Vec<Diagnostic>) -> EmailSettings {
    let mut out = EmailSettings::default();
    let mut err = |span: std::ops::Range<usize>, msg: String, help: &str| {
        let d = src.diag(Severity::Error, span, msg);
        diags.push(if help.is_empty() {
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
    if let Some(from) = &raw.from {
        if from.get_ref().parse::<lettre::message::Mailbox>().is_ok() {
            out.from = from.get_ref().trim().to_string();
        } else {
            err(
                from.span(),
                format!("địa chỉ người gửi \"{}\" không hợp lệ", from.get_ref()),
                "ví dụ \"Nhắc việc UBND tỉnh <nhacviec@haugiang.gov.vn>\"",
            );
        }
    }
    for (field, target) in [
        (&raw.admin, &mut out.admin),
        (&raw.redirect_all_to, &mut out.redirect_all_to),
    ] {
        if let Some(addr) = field {
            if addr.get_ref().parse::<lettre::Address>().is_ok() {
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
                Err(e) => err(url.span(), e, "ví dụ \"smtp://mail.example.org:587\" (STARTTLS) hoặc \"smtps://mail.example.org:465\""),
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

/// `smtp://host:port` or `smtps://host:port`, with `tls` ("starttls", "tls", "none").
pub fn parse_smtp_url(url: &str, tls: Option<&str>) -> Result<Transport, String> {
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or_else(|| format!("url \"{url}\" thiếu \"smtp://\""))?;
    let implicit = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => false,
        "smtps" => true,
        other => {
            return Err(format!(
                "giao thức \"{other}\" không dùng được: chỉ smtp:// hoặc smtps://"
            ))
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
        return Err(format!("url \"{url}\" thiếu tên máy chủ"));
    }
    let tls = match (tls.map(str::trim), implicit) {
        (None, true) | (Some("tls"), _) => Tls::Implicit,
        (None, false) | (Some("starttls"), false) => Tls::StartTls,
        (Some("starttls"), true) => return Err("smtps:// đã là TLS: bỏ tls = \"starttls\"".into()),
        (Some("none"), _) if is_loopback(&host) => Tls::None,
        (Some("none"), _) => {
            return Err(format!(
            "tls = \"none\" chỉ dùng được với máy chủ trên chính máy này, không phải \"{host}\""
        ))
        }
        (Some(other), _) => {
            return Err(format!(
                "tls = \"{other}\" không có: dùng \"starttls\", \"tls\" hoặc \"none\""
            ))
        }
    };
    Ok(Transport::Smtp {
        host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
        port,
        tls,
    })
}

/// Warns when the reminder cron misses days a reminder can fall on (a weekday, or an announced
/// make-up working day): those reminders would go out late, at the next tick.
pub fn cron_coverage(
    src: &Source,
    raw: Option<&raw::Schedule>,
    reminders: &str,
    calendar: &Overrides,
    diags: &mut Vec<Diagnostic>,
) {
    let Ok(cron) = parse_cron(reminders) else {
        return;
    };
    use chrono::TimeZone;
    let fires_on = |d: NaiveDate| -> bool {
        let Some(start) = d
            .and_hms_opt(0, 0, 0)
            .map(|t| chrono::Utc.from_utc_datetime(&t))
        else {
            return false;
        };
        cron.find_next_occurrence(&start, true)
            .is_ok_and(|t| t.date_naive() == d)
    };
    let warn = |diags: &mut Vec<Diagnostic>, msg: String| {
        let d = match raw.and_then(|r| r.reminders.as_ref()) {
            Some(r) => src.diag(Severity::Warning, r.span(), msg),
            None => Diagnostic::file(Severity::Warning, &src.name, msg),
        };
        diags.push(d.with_help(
            "nên chạy mỗi ngày làm việc, ví dụ \"0 0 8 * * Mon-Sat\" nếu có ngày làm bù thứ Bảy",
        ));
    };
    // 1/1/2024 was a Monday: one reference week.
    let names = ["thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu"];
    let missing: Vec<&str> = (0..5u64)
        .filter(|i| {
            NaiveDate::from_ymd_opt(2024, 1, 1)
                .and_then(|d| d.checked_add_days(chrono::Days::new(*i)))
                .is_some_and(|d| !fires_on(d))
        })
        .map(|i| names[i as usize])
        .collect();
    if !missing.is_empty() {
        warn(
            diags,
            format!(
                "lịch gửi nhắc không chạy vào {}: nhắc rơi vào những ngày này sẽ gửi muộn hơn",
                missing.join(", ")
            ),
        );
    }
    for (date, _) in &calendar.workdays {
        if matches!(date.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) && !fires_on(*date)
        {
            warn(
                diags,
                format!(
                    "lịch gửi nhắc không chạy vào ngày làm bù {}: nhắc của ngày đó sẽ gửi muộn hơn",
                    date.format("%d/%m/%Y")
                ),
            );
        }
    }
}

/// Checks `[webhook]`: an https URL (http only to this machine), valid header names, and a
/// body template that renders to JSON.
pub fn webhook(
    src: &Source,
    raw: &raw::Webhook,
    diags: &mut Vec<Diagnostic>,
) -> Option<crate::channels::webhook::WebhookSettings> {
    let Some(url) = &raw.url else {
        diags.push(
            Diagnostic::file(Severity::Error, &src.name, "[webhook] thiếu url")
                .with_help("ví dụ url = \"https://chat.example.org/hooks/nhacviec\""),
        );
        return None;
    };
    let mut ok = true;
    match reqwest::Url::parse(url.get_ref().trim()) {
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
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
            || reqwest::header::HeaderValue::from_str(value.get_ref()).is_err()
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
        if let Err(e) = crate::channels::webhook::render_body(
            Some(body.get_ref()),
            &crate::channels::webhook::sample_context(),
        ) {
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
    ok.then(|| crate::channels::webhook::WebhookSettings {
        url: url.get_ref().trim().to_string(),
        headers,
        body: raw.body.as_ref().map(|b| b.get_ref().clone()),
        timeout_seconds,
    })
}

/// Checks `[zalo]`: the app id, https base URLs (http only to this machine), a template's
/// parameters mapped to known fields, and the limits.
pub fn zalo(
    src: &Source,
    raw: &raw::Zalo,
    diags: &mut Vec<Diagnostic>,
) -> Option<crate::channels::zalo::ZaloSettings> {
    use crate::channels::zalo::{DEFAULT_OAUTH_API, DEFAULT_OA_API, DEFAULT_ZNS_API, FIELDS};
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
                match reqwest::Url::parse(u.get_ref().trim()) {
                    Ok(p)
                        if p.scheme() == "https"
                            || (p.scheme() == "http" && p.host_str().is_some_and(is_loopback)) =>
                    {
                        u.get_ref().trim().to_string()
                    }
                    _ => {
                        ok = false;
                        diags.push(src.diag(Severity::Error, u.span(), format!("địa chỉ \"{}\" không hợp lệ: cần https:// (http:// chỉ cho máy này)", u.get_ref())));
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
        if FIELDS.contains(&field.get_ref().as_str()) {
            template_params.push((param.clone(), field.get_ref().clone()));
        } else {
            ok = false;
            diags.push(
                src.diag(
                    Severity::Error,
                    field.span(),
                    format!("trường \"{}\" không có", field.get_ref()),
                )
                .with_help(format!("các trường: {}", FIELDS.join(", "))),
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
    ok.then(|| crate::channels::zalo::ZaloSettings {
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
