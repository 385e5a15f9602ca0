//! Validation of the settings sections that shape the schedule: `[schedule]`, `[policy]`
//! (also per plan and per task) and `[calendar]`.

use super::diag::{Diagnostic, Severity, Source};
use super::raw;
use crate::calendar::hours::{SendHours, DEFAULT_SEND_HOURS};
use crate::calendar::Overrides;
use crate::deadline::recur;
use crate::policy::{DayCount, Policy, SupportSet, SUPPORT_WORDS};
use chrono::{Datelike, NaiveDate};

/// The default reminder schedule: 08:00 on weekdays (seconds first, as the scheduler reads it).
pub const DEFAULT_REMINDERS: &str = "0 0 8 * * Mon-Fri";

/// Why a cron expression is refused; the text is what `check` shows at its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("biểu thức cron cần 6 trường (giây phút giờ ngày tháng thứ), ở đây có {0}")]
    Fields(usize),
    /// The scheduler ANDs them where cron ORs them: never let the meaning be a guess.
    #[error(
        "không được giới hạn cùng lúc cả ngày trong tháng và thứ trong tuần (nghĩa không rõ ràng)"
    )]
    DayAndWeekday,
    /// croner's own reason.
    #[error("biểu thức cron không hợp lệ: {0}")]
    Invalid(String),
}

/// Parses a cron expression exactly as the daemon's scheduler does (croner, seconds required).
pub fn parse_cron(expr: &str) -> Result<croner::Cron, CronError> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 6 && fields.len() != 7 {
        return Err(CronError::Fields(fields.len()));
    }
    let restricted = |f: &str| f != "*" && f != "?";
    if restricted(fields[3]) && restricted(fields[5]) {
        return Err(CronError::DayAndWeekday);
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| CronError::Invalid(e.to_string()))
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
                        src.diag(Severity::Error, expr.span(), e.to_string())
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

/// The default catch-up horizon: reminders missed for up to a week still go out.
pub const DEFAULT_CATCH_UP_DAYS: u32 = 7;

/// `[schedule] catch_up_days` and `send_hours`: what a start after downtime may still send,
/// and when deliveries may go out.
pub fn send_rules(
    src: &Source,
    raw: &raw::Schedule,
    diags: &mut Vec<Diagnostic>,
) -> (u32, SendHours) {
    let mut catch_up = DEFAULT_CATCH_UP_DAYS;
    if let Some(n) = &raw.catch_up_days {
        match u32::try_from(*n.get_ref()) {
            Ok(d) if d <= 366 => catch_up = d,
            _ => diags.push(
                src.diag(
                    Severity::Error,
                    n.span(),
                    format!(
                        "catch_up_days phải là số ngày từ 0 đến 366, không phải {}",
                        n.get_ref()
                    ),
                )
                .with_help(
                    "số ngày tối đa một lời nhắc bị lỡ (khi dịch vụ dừng, lần chạy đầu) còn được gửi bù; 0 = không gửi bù",
                ),
            ),
        }
    }
    let mut hours = SendHours::default();
    if let Some(text) = &raw.send_hours {
        match SendHours::parse(text.get_ref()) {
            Ok(h) => hours = h,
            Err(e) => diags.push(src.diag(Severity::Error, text.span(), e).with_help(format!(
                "ví dụ send_hours = \"{DEFAULT_SEND_HOURS}\" (giờ địa phương, các ngày làm việc), \"07:30-11:30, 13:30-17:00\" (nghỉ trưa), hoặc \"always\" (mọi lúc)"
            ))),
        }
    }
    (catch_up, hours)
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
    if let Some(b) = &patch.support_after_lead_done {
        p.support_after_lead_done = *b.get_ref();
    }
    if let Some(nudge) = &patch.nudge {
        let start = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default();
        match recur::check(nudge.get_ref(), start) {
            Ok(()) => p.nudge = Some(recur::normalize(nudge.get_ref()).to_string()),
            Err(e) => err(
                nudge.span(),
                e.into(),
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
                        diags.push(src.diag(Severity::Error, entry.span(), format!("ngày {} ghi hai lần", crate::dates::dmy(date))));
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
                    crate::dates::dmy(*date)
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

/// Warns when the reminder cron misses days a reminder can fall on (a weekday, or an announced
/// make-up working day): those reminders would go out late, at the next tick.
/// Warns when the reminders' cron never falls inside the send hours: every look would wait
/// for the next opening, which is seldom what the admin meant.
pub fn cron_in_send_hours(
    src: &Source,
    raw: Option<&raw::Schedule>,
    reminders: &str,
    hours: &SendHours,
    diags: &mut Vec<Diagnostic>,
) {
    let Ok(cron) = parse_cron(reminders) else {
        return;
    };
    if hours.always {
        return;
    }
    use chrono::TimeZone;
    // A reference week (1/1/2024 was a Monday), in UTC: only the time of day matters here.
    // Each day: is the first fire at or after the opening before the closing?
    let inside = (0..7u64).any(|i| {
        let Some(day) = NaiveDate::from_ymd_opt(2024, 1, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(i)))
        else {
            return false;
        };
        hours.ranges().iter().any(|(start, end)| {
            let opens = chrono::Utc.from_utc_datetime(&day.and_time(*start));
            let closes = chrono::Utc.from_utc_datetime(&day.and_time(*end));
            cron.find_next_occurrence(&opens, true)
                .is_ok_and(|t| t < closes)
        })
    });
    if !inside {
        let msg = format!(
            "giờ xét nhắc việc (reminders = \"{reminders}\") không lần nào rơi vào giờ gửi {}: mỗi lần xét sẽ phải chờ đến giờ gửi",
            hours.describe()
        );
        let d = match raw.and_then(|r| r.reminders.as_ref()) {
            Some(r) => src.diag(Severity::Warning, r.span(), msg),
            None => Diagnostic::file(Severity::Warning, &src.name, msg),
        };
        diags.push(d.with_help("đặt giờ xét trong giờ gửi, ví dụ reminders = \"0 0 8 * * Mon-Fri\", hoặc sửa send_hours"));
    }
}

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
                    crate::dates::dmy(*date)
                ),
            );
        }
    }
}

/// The longest line `[report]` accepts (a header line, a recipient).
const REPORT_LINE_MAX: usize = 200;

/// `[report]`, checked: the issuer in two lines, one or two lines of the signer's title, no
/// line longer than 200 characters or with a line break, the prefix without "/".
pub fn report_doc(
    src: &Source,
    raw: &raw::Report,
    diags: &mut Vec<Diagnostic>,
) -> super::model::ReportDoc {
    let mut out = super::model::ReportDoc::default();
    let line = |s: &raw::S, what: &str, diags: &mut Vec<Diagnostic>| -> String {
        let v = s.get_ref().trim();
        if v.chars().count() > REPORT_LINE_MAX {
            diags.push(src.diag(
                Severity::Error,
                s.span(),
                format!("{what} dài quá {REPORT_LINE_MAX} ký tự"),
            ));
        } else if v.contains(['\n', '\r']) {
            diags.push(
                src.diag(
                    Severity::Error,
                    s.span(),
                    format!("{what} không được xuống dòng"),
                )
                .with_help("mỗi dòng là một phần tử của mảng"),
            );
        }
        v.to_string()
    };
    if let Some(issuer) = &raw.issuer {
        let lines = issuer.get_ref();
        if lines.len() != 2 {
            diags.push(
                src.diag(
                    Severity::Error,
                    issuer.span(),
                    format!(
                        "issuer cần đúng 2 dòng (cơ quan chủ quản, cơ quan ban hành), ở đây có {}",
                        lines.len()
                    ),
                )
                .with_help("ví dụ issuer = [\"UBND TỈNH HẬU GIANG\", \"VĂN PHÒNG\"]"),
            );
        }
        for (i, l) in lines.iter().take(2).enumerate() {
            out.issuer[i] = line(l, "dòng tên cơ quan", diags);
        }
    }
    if let Some(p) = &raw.number_prefix {
        let v = line(p, "number_prefix", diags);
        if v.contains('/') {
            diags.push(
                src.diag(
                    Severity::Error,
                    p.span(),
                    format!("number_prefix \"{v}\" không được chứa \"/\""),
                )
                .with_help("chỉ phần sau \"Số: …/\", ví dụ number_prefix = \"BC-VPUBND\""),
            );
        }
        out.number_prefix = v;
    }
    if let Some(p) = &raw.place {
        out.place = line(p, "place", diags);
    }
    for r in &raw.recipients {
        let v = line(r, "nơi nhận", diags);
        if v.is_empty() {
            diags.push(src.diag(Severity::Error, r.span(), "nơi nhận trống"));
        } else {
            out.recipients.push(v);
        }
    }
    if let Some(t) = &raw.signer_title {
        let lines = t.get_ref();
        if lines.is_empty() || lines.len() > 2 {
            diags.push(
                src.diag(
                    Severity::Error,
                    t.span(),
                    format!("signer_title cần 1 hoặc 2 dòng, ở đây có {}", lines.len()),
                )
                .with_help(
                    "ví dụ signer_title = [\"KT. CHÁNH VĂN PHÒNG\", \"PHÓ CHÁNH VĂN PHÒNG\"]",
                ),
            );
        }
        out.signer_title = lines
            .iter()
            .take(2)
            .map(|l| line(l, "chức danh người ký", diags))
            .collect();
    }
    out.attach_docx = raw.attach_docx.as_ref().is_some_and(|b| *b.get_ref());
    out
}
