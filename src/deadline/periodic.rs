//! Texts without a date of their own: periodic ("Hằng tháng", "Định kỳ hằng quý (trước ngày
//! 15 của tháng cuối quý)"), continuous ("Thường xuyên") and event-triggered ("Khi có yêu cầu").

use super::lex::{roman, Token};
use super::{Deadline, Note, NoteKind, ParseError, Parsed, Words};

const PERIODIC: &[&str] = &[
    "hang tuan",
    "moi tuan",
    "hang thang",
    "moi thang",
    "hang quy",
    "moi quy",
    "hang nam",
    "moi nam",
    "dinh ky",
    "dinh ki",
    "thang cuoi quy",
    "thang cuoi moi quy",
    "thang dau quy",
    "thang dau moi quy",
    // The reported month itself ("trước ngày 20 của tháng báo cáo").
    "thang bao cao",
    // The last month of the reporting period ("ngày 18 của tháng cuối kỳ báo cáo").
    "thang cuoi ky",
    "thang cuoi cua ky",
    "thang cuoi ky bao cao",
];
/// The month after the reporting period: "ngày 5 của tháng kế tiếp", "ngày 12 của tháng sau kỳ
/// báo cáo". ("tháng sau" alone is also "tháng sáu", June: see [`next_month`].)
const NEXT_MONTH: &[&str] = &[
    "thang ke tiep",
    "thang tiep theo",
    "thang lien ke",
    "thang lien sau",
    "thang sau ky",
    "thang sau cua ky",
    "thang ke tiep ky",
    "thang tiep theo ky",
    "thang dau ky sau",
    "thang dau cua ky sau",
    "thang dau cua ky tiep theo",
    "thang dau quy sau",
    "thang dau cua quy sau",
    "thang dau cua quy tiep theo",
];
/// The year after the period: "trước ngày 15/01 năm liền kề".
const NEXT_YEAR: &[&str] = &[
    "nam sau",
    "nam tiep theo",
    "nam ke tiep",
    "nam lien ke",
    "nam lien sau",
];
const EVENT: &[&str] = &[
    "yeu cau",
    "phat sinh",
    "khi can thiet",
    "dot xuat",
    "sau khi",
    "ke tu khi",
    "ke tu ngay ky",
    "ke tu ngay ban hanh",
    "ke tu ngay nhan",
    "ngay lam viec",
    "khi co",
    "theo tien do",
    "theo lo trinh",
    "theo chi dao",
    "theo huong dan",
    "theo ke hoach",
    "theo quydinh",
    "theo thong bao",
    "ke tu ngay",
];
const CONTINUOUS: &[&str] = &["thuong xuyen", "lien tuc", "hang ngay", "moi ngay"];
const YEARS_ONWARD: &[&str] = &[
    "cac nam tiep theo",
    "nhung nam tiep theo",
    "cac nam sau",
    "tro di",
];

/// Every word the readers of this module look for (folded): a word of a periodic, continuous
/// or on-request text outside this list (and outside the filler words) was not read.
pub(super) const VOCABULARY: &[&str] = &[
    "ba", "bao", "bay", "bon", "cac", "can", "cao", "cau", "chap", "chi", "chin", "chu", "cn",
    "co", "con", "cua", "cuoi", "dan", "dao", "dau", "den", "di", "dinh", "do", "dot", "gieng",
    "giua", "hai", "hang", "hanh", "hoach", "huong", "ke", "khi", "ki", "ky", "la", "lam", "lien",
    "lieu", "lo", "moi", "mot", "muoi", "nam", "ngay", "nhan", "nhat", "nhung", "nua", "phat",
    "qui", "quy", "rieng", "sau", "sinh", "so", "tam", "thang", "theo", "thi", "thiet", "thong",
    "thu", "thuong", "tien", "tiep", "toi", "trinh", "tro", "truoc", "tu", "tuan", "tuc", "va",
    "vao", "viec", "xuat", "xuyen", "yeu", "tuong", "ii", "iii", "iv", "i", "dinh", "che", "cham",
    "tinh",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Freq {
    Weekly,
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
}

/// Classifies texts that carry no date of their own; `None` means "read it as dates".
pub(super) fn classify(
    text: &str,
    toks: &[Token],
    words: &Words,
) -> Result<Option<Parsed>, ParseError> {
    let dated = has_date_numbers(toks);
    let whole = 0..text.len();
    // A day "of the next month" or "of the months 2, 5, 8, 11" with no year is a rule.
    let rule_words = next_month(text, toks, words) || words.has("cac thang");
    if let Some(parsed) = nth_working_day(text, toks, words) {
        return Ok(Some(parsed));
    }
    if words.has_any(PERIODIC) || (!dated && rule_words && has_day(toks)) {
        return periodic(text, toks, words, whole).map(Some);
    }
    if dated && words.has_any(YEARS_ONWARD) {
        // "Năm 2022 và các năm tiếp theo": every year, by its end.
        return Ok(Some(Parsed {
            deadline: Deadline::recurring("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31"),
            notes: vec![],
        }));
    }
    // A date near "yêu cầu" or "phát sinh" is a deadline, not "khi có yêu cầu".
    if !dated && !has_dash_date(toks) && words.has_any(EVENT) {
        let mut notes = vec![];
        if words.has("ngay lam viec") || words.has("ke tu") {
            notes.push(Note {
                span: whole,
                kind: NoteKind::Periodic(
                    "thời hạn tính từ một sự kiện: coi là \"khi có yêu cầu\"; ghi `due` trong kế hoạch nếu đã biết ngày".into(),
                ),
            });
        }
        return Ok(Some(Parsed {
            deadline: Deadline::OnRequest,
            notes,
        }));
    }
    if !dated && words.has_any(CONTINUOUS) {
        return Ok(Some(Parsed {
            deadline: Deadline::Continuous,
            notes: vec![],
        }));
    }
    Ok(None)
}

/// "ngày làm việc thứ 5 của tháng sau" (each month, the fifth working day of the month after
/// the one reported): a monthly rule on the n-th weekday from Monday to Friday; "trước" the
/// day before, the working day before. Holidays are not known: said in a note.
fn nth_working_day(text: &str, toks: &[Token], words: &Words) -> Option<Parsed> {
    let monthly = next_month(text, toks, words) || words.has_any(&["hang thang", "moi thang"]);
    if !monthly || words.has_any(&["quy", "qui", "hang nam", "moi nam"]) {
        return None;
    }
    let at = toks.windows(4).position(|w| {
        w[0].is_word("ngay") && w[1].is_word("lam") && w[2].is_word("viec") && w[3].is_word("thu")
    })?;
    let (n, _) = toks
        .get(at + 4)?
        .num()
        .filter(|&(n, d)| (1..=23).contains(&n) && d <= 2)?;
    let before = at > 0 && toks[at - 1].is_word("truoc");
    let pos = match (before, n) {
        (true, 1) => -1,
        (true, n) => n as i32 - 1,
        (false, n) => n as i32,
    };
    let span = toks[at.saturating_sub(usize::from(before))].span.start..toks[at + 4].span.end;
    Some(Parsed {
        deadline: Deadline::recurring(format!(
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS={pos}"
        )),
        notes: vec![Note {
            span,
            kind: NoteKind::Assumed(
                "ngày làm việc tính từ thứ Hai đến thứ Sáu, chưa trừ ngày nghỉ lễ; ghi `due` hoặc `recurrence` nếu cần chính xác".into(),
            ),
        }],
    })
}

/// Whether the text names the month after the period ("tháng kế tiếp", "tháng sau" but not
/// "tháng sáu": the original spelling tells them apart).
fn next_month(text: &str, toks: &[Token], words: &Words) -> bool {
    words.has_any(NEXT_MONTH)
        || toks.windows(2).any(|w| {
            w[0].is_word("thang")
                && w[1].is_word("sau")
                && text.get(w[1].span.clone()).is_some_and(str::is_ascii)
        })
}

/// "ngày" followed by a number: a day is named.
fn has_day(toks: &[Token]) -> bool {
    toks.windows(2)
        .any(|w| w[0].is_word("ngay") && w[1].num().is_some())
        // "ngày thứ 15 của tháng liền sau": the fifteenth day.
        || toks
            .windows(3)
            .any(|w| w[0].is_word("ngay") && w[1].is_word("thu") && w[2].num().is_some())
}

/// "ngày 15-8", "trước 30-9": a day and month joined by a dash (not a range of days, which
/// the month follows: "ngày 8-15/10").
fn has_dash_date(toks: &[Token]) -> bool {
    toks.windows(4).enumerate().any(|(i, w)| {
        let day = w[1].num().is_some_and(|(d, _)| (1..=31).contains(&d));
        let month = w[3].num().is_some_and(|(m, _)| (1..=12).contains(&m));
        let after = toks.get(i + 4);
        (w[0].is_word("ngay") || w[0].is_word("truoc"))
            && day
            && w[2].is_sym('-')
            && !w[2].space_before
            && !w[3].space_before
            && month
            && !after.is_some_and(|t| t.is_sym('/') || t.is_sym('-') || t.is_sym('.'))
    })
}

/// A year (four digits) or a day/month pair written with a separator.
fn has_date_numbers(toks: &[Token]) -> bool {
    toks.iter().enumerate().any(|(i, t)| match t.num() {
        Some((_, 4)) => true,
        Some(_) => {
            toks.get(i + 1)
                .is_some_and(|s| s.is_sym('/') || s.is_sym('.'))
                && toks.get(i + 2).is_some_and(|n| n.num().is_some())
        }
        None => false,
    })
}

fn periodic(
    text: &str,
    toks: &[Token],
    words: &Words,
    whole: std::ops::Range<usize>,
) -> Result<Parsed, ParseError> {
    // "..., riêng tháng Hai là ngày cuối tháng": the exceptions are rules of their own.
    let (toks, exceptions) = match toks.iter().position(|t| t.is_word("rieng")) {
        Some(k) => (&toks[..k], exceptions(text, &toks[k..])?),
        None => (toks, Vec::new()),
    };
    let without_data = without_data_periods(toks);
    let toks = without_data.as_slice();
    let spec = day_spec(text, toks)?;
    let next = next_month(text, toks, words);
    let unspecified = |why: &str| Parsed {
        deadline: Deadline::PeriodicUnspecified,
        notes: vec![Note {
            span: whole.clone(),
            kind: NoteKind::Periodic(why.to_string()),
        }],
    };
    // Every frequency the text names; the finest one is the reminder rhythm (the coarser
    // reports of "Định kỳ hằng quý, 6 tháng, năm" fall on quarter ends too).
    let mut freqs = Vec::new();
    if words.has_any(&["hang tuan", "moi tuan"]) {
        freqs.push(Freq::Weekly);
    }
    // "báo cáo tháng" (a monthly report), not "báo cáo tháng 6".
    let monthly_report = (0..toks.len()).any(|k| {
        let w = |j: usize| toks.get(k + j).and_then(Token::word);
        (w(0), w(1), w(2)) == (Some("bao"), Some("cao"), Some("thang"))
            && toks.get(k + 3).and_then(Token::num).is_none()
    });
    if words.has_any(&["hang thang", "moi thang"]) || spec.every_months == Some(1) || monthly_report
    {
        freqs.push(Freq::Monthly);
    }
    let generic_quarter = words.has_any(&[
        "hang quy",
        "moi quy",
        "thang cuoi quy",
        "thang cuoi moi quy",
        "thang dau quy",
        "thang dau moi quy",
    ]) || (spec.quarters.is_empty() && words.has("quy"));
    if generic_quarter || spec.every_months == Some(3) {
        freqs.push(Freq::Quarterly);
    }
    if words.has_any(&["nua nam"]) || spec.every_months == Some(6) {
        freqs.push(Freq::HalfYearly);
    }
    if words.has_any(&["hang nam", "moi nam", "nam"]) || spec.every_months == Some(12) {
        freqs.push(Freq::Yearly);
    }
    let mut notes = Vec::new();
    let freq = match freqs.iter().min().copied() {
        Some(f) => f,
        // "ngày 25 các tháng 2, 5, 8, 11": those months, every year.
        None if !spec.months.is_empty() => Freq::Yearly,
        // A day of the next month, or of the period's last month, without the period: the
        // commonest regime is assumed, and said.
        None if next || words.has_any(&["thang cuoi ky", "thang cuoi cua ky", "thang bao cao"]) => {
            let (freq, name) = if next || words.has("thang bao cao") {
                (Freq::Monthly, "hằng tháng")
            } else {
                (Freq::Quarterly, "hằng quý")
            };
            notes.push(Note {
                span: whole.clone(),
                kind: NoteKind::Periodic(format!(
                    "thời gian không ghi kỳ báo cáo: coi là {name}; khai báo recurrence nếu kỳ khác"
                )),
            });
            freq
        }
        None => {
            return Ok(Parsed {
                deadline: Deadline::PeriodicUnspecified,
                notes: vec![],
            })
        }
    };
    let mut days: Vec<i32> = spec.dates.iter().map(|(d, _)| *d).collect();
    days.sort_unstable();
    days.dedup();
    // Several days of every month ("vào ngày 10 và ngày 25 hằng tháng"): one rule with a list.
    let monthly_days = freq == Freq::Monthly
        && !next
        && spec.window_from.is_none()
        && spec.months.is_empty()
        && spec.quarters.is_empty()
        && spec
            .dates
            .iter()
            .all(|(d, m)| m.is_none() && (1..=28).contains(d));
    if days.len() > 1 && !monthly_days {
        return Ok(unspecified(
            "các kỳ có hạn vào những ngày khác nhau: hãy khai báo recurrence cho nhiệm vụ này",
        ));
    }
    // Months named in the text: "tháng 6 hằng năm", "Quý II và Quý IV hằng năm", "15/6 và 15/12".
    let mut months: Vec<u32> = spec
        .dates
        .iter()
        .filter_map(|(_, m)| *m)
        .chain(spec.months.iter().copied())
        .chain(spec.quarters.iter().map(|q| q * 3))
        .collect();
    months.sort_unstable();
    months.dedup();
    // Months that only repeat the period's own ends ("6 tháng (trước ngày 05/6) và hằng năm
    // (trước ngày 05/12)") are fine; others contradict the rhythm.
    let period_ends: &[u32] = match freq {
        Freq::Quarterly => &[3, 6, 9, 12],
        Freq::HalfYearly => &[6, 12],
        _ => &[],
    };
    // The months after them too ("6 tháng: trước ngày 15/7; năm: trước ngày 15/01 năm sau").
    let mut after_ends: Vec<u32> = period_ends.iter().map(|m| m % 12 + 1).collect();
    after_ends.sort_unstable();
    let mut next = next;
    let every_month_after = !after_ends.is_empty() && months == after_ends;
    if !months.is_empty() && freq != Freq::Yearly {
        if months.iter().all(|m| period_ends.contains(m)) {
            months.clear();
        } else if months.iter().all(|m| after_ends.contains(m)) {
            months.clear();
            next = true;
        } else {
            return Ok(unspecified(
                "tháng ghi trong thời gian không khớp với chu kỳ: hãy khai báo recurrence",
            ));
        }
    }
    // A report due in the next year is still one date a period when the text says so for
    // every period ("hằng năm, trước ngày 15/01 năm sau"); one next-year date in a finer
    // rhythm is not one rule.
    if words.has_any(NEXT_YEAR) && !(freq == Freq::Yearly || every_month_after) {
        return Ok(unspecified(
            "kỳ hạn rơi vào năm sau: một quy tắc lặp lại không diễn tả được; hãy khai báo recurrence",
        ));
    }
    if freq == Freq::Weekly && spec.weekdays.is_empty() {
        notes.push(Note {
            span: whole.clone(),
            kind: NoteKind::Periodic(
                "thời gian không ghi thứ mấy trong tuần: coi là thứ Sáu; khai báo recurrence nếu khác"
                    .into(),
            ),
        });
    }
    let when = When {
        day: days.first().copied(),
        days: days.clone(),
        months,
        weekdays: spec.weekdays.clone(),
        next,
    };
    let excluded: Vec<u32> = exceptions.iter().flat_map(|(ms, _)| ms.clone()).collect();
    let mut rules = vec![build_rrule(freq, &when, words, &excluded)];
    rules.retain(|r| !r.is_empty());
    for (months, day) in &exceptions {
        let list: Vec<String> = months.iter().map(u32::to_string).collect();
        rules.push(format!(
            "FREQ=YEARLY;BYMONTH={};BYMONTHDAY={day}",
            list.join(",")
        ));
    }
    Ok(Parsed {
        deadline: Deadline::Recurring {
            rrule: rules.join(super::recur::RULE_SEPARATOR),
            window_from: spec.window_from,
        },
        notes,
    })
}

/// The tokens without parenthesised data periods ("(số liệu từ ngày 15 tháng trước đến ngày
/// 14 tháng báo cáo)"): the days the figures cover, not when the report is due.
fn without_data_periods(toks: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        if toks[i].is_sym('(') {
            let close = toks[i..]
                .iter()
                .position(|t| t.is_sym(')'))
                .map_or(toks.len(), |k| i + k);
            let head: Vec<&str> = toks[i + 1..close]
                .iter()
                .take(5)
                .filter_map(Token::word)
                .collect();
            if head.windows(2).any(|w| w == ["so", "lieu"]) {
                i = close + 1;
                continue;
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// "riêng tháng Hai là ngày cuối tháng", "riêng tháng 12 trước ngày 20": each exception's
/// months and day (-1 for the month's last). Unreadable exceptions are errors: dropping one
/// would remind on the wrong day in those months.
fn exceptions(text: &str, toks: &[Token]) -> Result<Vec<(Vec<u32>, i32)>, ParseError> {
    let word = |k: usize| toks.get(k).and_then(Token::word);
    let unreadable = || ParseError {
        span: toks.first().map_or(0, |t| t.span.start)..toks.last().map_or(0, |t| t.span.end),
        message: format!(
            "không đọc được ngoại lệ \"{}\"",
            text.get(
                toks.first().map_or(0, |t| t.span.start)..toks.last().map_or(0, |t| t.span.end)
            )
            .unwrap_or_default()
        ),
        suggestions: vec!["Ngày 27 hằng tháng, riêng tháng Hai là ngày cuối tháng"],
    };
    let mut out = Vec::new();
    let mut i = 1; // after "riêng"
    while i < toks.len() {
        let mut months = Vec::new();
        while word(i) == Some("thang") || (!months.is_empty() && is_list_sep(toks.get(i))) {
            i += 1;
            if word(i) == Some("thang") {
                continue;
            }
            let Some((m, used)) = month_at(toks, i) else {
                return Err(unreadable());
            };
            months.push(m);
            i += used;
        }
        if months.is_empty() {
            return Err(unreadable());
        }
        while matches!(word(i), Some("la" | "thi" | "vao"))
            || toks.get(i).is_some_and(|t| t.is_sym(':'))
        {
            i += 1;
        }
        let before = word(i) == Some("truoc");
        if before {
            i += 1;
        }
        if word(i) == Some("ngay") {
            i += 1;
        }
        let day = if word(i) == Some("cuoi") && word(i + 1) == Some("thang") {
            i += 2;
            -1
        } else if let Some((n, _)) = toks.get(i).and_then(Token::num) {
            if !(1..=31).contains(&n) {
                return Err(bad(
                    &toks[i],
                    format!("ngày {n} không có trong tháng (chỉ từ 1 đến 31)"),
                ));
            }
            i += 1;
            let d = n as i32 - i32::from(before);
            if d >= 31 {
                -1
            } else {
                d
            }
        } else {
            return Err(unreadable());
        };
        if day == 0 {
            return Err(unreadable());
        }
        months.sort_unstable();
        months.dedup();
        out.push((months, day));
        while is_list_sep(toks.get(i)) || matches!(word(i), Some("rieng" | "con")) {
            i += 1;
        }
    }
    Ok(out)
}

fn is_list_sep(t: Option<&Token>) -> bool {
    t.is_some_and(|t| t.is_sym(',') || t.is_sym(';') || t.is_word("va"))
}

/// A month at `k`, as a number or a word ("Hai", "Chạp", "mười một"), and how many tokens it
/// takes.
fn month_at(toks: &[Token], k: usize) -> Option<(u32, usize)> {
    let t = toks.get(k)?;
    if let Some((n, _)) = t.num() {
        return (1..=12).contains(&n).then_some((n, 1));
    }
    let next = toks.get(k + 1).and_then(Token::word);
    Some(match t.word()? {
        "muoi" if next == Some("mot") => (11, 2),
        "muoi" if next == Some("hai") => (12, 2),
        "muoi" => (10, 1),
        "mot" | "gieng" => (1, 1),
        "hai" => (2, 1),
        "ba" => (3, 1),
        "tu" | "bon" => (4, 1),
        "nam" => (5, 1),
        "sau" => (6, 1),
        "bay" => (7, 1),
        "tam" => (8, 1),
        "chin" => (9, 1),
        "chap" => (12, 1),
        _ => return None,
    })
}

/// What a periodic text says about when, within each period.
#[derive(Debug, Default)]
struct DaySpec {
    /// Each day written ("trước ngày 18" → 17; 0 = the end of the month before), with its
    /// month when written as a date ("15/12").
    dates: Vec<(i32, Option<u32>)>,
    /// "tháng 6 hằng năm".
    months: Vec<u32>,
    /// "Quý II và Quý IV hằng năm".
    quarters: Vec<u32>,
    /// "định kỳ 3 tháng": every so many months.
    every_months: Option<u32>,
    /// The weekdays of a weekly rule, in the order written ("thứ Hai và thứ Tư", "thứ 3").
    weekdays: Vec<&'static str>,
    /// The first day of a window that repeats ("từ ngày 2 đến ngày 6").
    window_from: Option<u32>,
}

struct When {
    day: Option<i32>,
    /// Every day written, when there are several of each month ("ngày 10 và ngày 25").
    days: Vec<i32>,
    months: Vec<u32>,
    weekdays: Vec<&'static str>,
    /// The deadline falls in the month after each period ("tháng kế tiếp").
    next: bool,
}

/// Whether the token is written without diacritics ("sau", after, not "sáu", six).
fn is_unaccented(text: &str, t: &Token) -> bool {
    text.get(t.span.clone()).is_some_and(str::is_ascii)
}

fn day_spec(text: &str, toks: &[Token]) -> Result<DaySpec, ParseError> {
    let mut spec = DaySpec::default();
    let word = |k: usize| toks.get(k).and_then(Token::word);
    // Numbers already read as the month or year of a date ("15/12/2022").
    let mut consumed: Vec<usize> = Vec::new();
    // Where the last month of a list was read ("các tháng 2, 5, 8, 11").
    let mut last_month_at: Option<usize> = None;
    // The day a window ends is read next ("từ ngày 2 đến ngày 6").
    let mut window_end_next = false;
    for (i, t) in toks.iter().enumerate() {
        if consumed.contains(&i) {
            continue;
        }
        let prev = i.checked_sub(1).and_then(word);
        let after_list_sep = i
            .checked_sub(1)
            .is_some_and(|j| toks[j].is_sym(',') || toks[j].is_word("va"));
        if let Some(w) = t.word() {
            match w {
                // "thứ Ba", "thứ 3" (not "ngày thứ 5 của tháng", the fifth day).
                "thu" if prev != Some("ngay") => {
                    let day = word(i + 1).and_then(weekday_code).or_else(|| {
                        toks.get(i + 1)
                            .and_then(Token::num)
                            .and_then(|(n, _)| numeric_weekday(n))
                    });
                    if let Some(day) = day {
                        consumed.push(i + 1);
                        if !spec.weekdays.contains(&day) {
                            spec.weekdays.push(day);
                        }
                    }
                }
                // "Chủ nhật", "CN".
                "chu" | "cn"
                    if (w == "cn" || word(i + 1) == Some("nhat"))
                        && !spec.weekdays.contains(&"SU") =>
                {
                    spec.weekdays.push("SU");
                }
                "quy" | "qui" => {
                    let mut k = i + 1;
                    // "Quý II và Quý IV", "Quý I, III".
                    while let Some(q) = toks
                        .get(k)
                        .and_then(|t| t.word().and_then(roman).or(t.num().map(|(n, _)| n)))
                    {
                        if !(1..=4).contains(&q) {
                            return Err(bad(
                                &toks[k],
                                format!("không có quý {q}: một năm chỉ có Quý I, II, III, IV"),
                            ));
                        }
                        spec.quarters.push(q);
                        k += 1;
                        if toks
                            .get(k)
                            .is_some_and(|t| t.is_sym(',') || t.is_word("va"))
                            && toks
                                .get(k + 1)
                                .is_some_and(|t| t.word().and_then(roman).is_some())
                        {
                            k += 1;
                        }
                    }
                }
                "sau" | "ba"
                    if word(i + 1) == Some("thang")
                        && prev != Some("ngay")
                        && !(w == "sau" && prev == Some("thang") && is_unaccented(text, t)) =>
                {
                    spec.every_months = Some(if w == "sau" { 6 } else { 3 });
                }
                _ => {}
            }
            continue;
        }
        let Some((n, _)) = t.num() else { continue };
        let prev2 = i.checked_sub(2).and_then(word);
        if word(i + 1) == Some("thang") && prev != Some("ngay") && prev != Some("thang") {
            // "định kỳ 03 tháng", "6 tháng một lần".
            if matches!(n, 1 | 3 | 6 | 12) {
                spec.every_months = Some(n);
            }
            continue;
        }
        let continues_months = after_list_sep && last_month_at.is_some_and(|j| j + 2 == i);
        if prev == Some("thang") || continues_months {
            if !(1..=12).contains(&n) {
                return Err(bad(t, format!("tháng {n} không tồn tại (chỉ từ 1 đến 12)")));
            }
            spec.months.push(n);
            last_month_at = Some(i);
            continue;
        }
        // "từ ngày 2 đến ngày 6 hằng tháng": a window, due on its last day.
        let window_start = (prev == Some("tu") || (prev == Some("ngay") && prev2 == Some("tu")))
            && toks
                .get(i + 1)
                .is_some_and(|x| x.is_sym('-') || x.is_word("den") || x.is_word("toi"));
        if window_start {
            if !(1..=31).contains(&n) {
                return Err(bad(
                    t,
                    format!("ngày {n} không có trong tháng (chỉ từ 1 đến 31)"),
                ));
            }
            window_end_next = true;
            spec.window_from = Some(n);
            continue;
        }
        let window_end = std::mem::take(&mut window_end_next);
        let nth_day = prev == Some("thu") && prev2 == Some("ngay");
        let before = prev == Some("truoc")
            || (prev == Some("ngay") && prev2 == Some("truoc"))
            || (nth_day && i.checked_sub(3).and_then(word) == Some("truoc"));
        // A day after "ngày"/"trước", or written as a date ("15/6 và 15/12").
        let listed =
            matches!(prev, Some("va")) || i.checked_sub(1).is_some_and(|j| toks[j].is_sym(','));
        let dated_pair = toks.get(i + 1).is_some_and(|s| s.is_sym('/'));
        // "ngày thứ 15": the fifteenth day.
        if !(before || prev == Some("ngay") || nth_day || dated_pair || window_end) {
            continue;
        }
        if !(1..=31).contains(&n) {
            return Err(bad(
                t,
                format!("ngày {n} không có trong tháng (chỉ từ 1 đến 31)"),
            ));
        }
        let mut month = None;
        if dated_pair {
            if let Some((m, _)) = toks.get(i + 2).and_then(Token::num) {
                if !(1..=12).contains(&m) {
                    return Err(bad(
                        &toks[i + 2],
                        format!("tháng {m} không tồn tại (chỉ từ 1 đến 12)"),
                    ));
                }
                month = Some(m);
                consumed.push(i + 2);
                if toks.get(i + 3).is_some_and(|s| s.is_sym('/')) {
                    consumed.push(i + 4);
                }
            }
        } else if word(i + 1) == Some("thang") {
            if let Some((m, _)) = toks.get(i + 2).and_then(Token::num) {
                if (1..=12).contains(&m) {
                    month = Some(m);
                }
            }
        }
        // A list after "trước" keeps its "trước": "trước ngày 15/6 và 15/12".
        let before = before
            || (listed
                && spec
                    .dates
                    .last()
                    .is_some_and(|_| toks[..i].iter().any(|t| t.is_word("truoc"))));
        spec.dates.push((n as i32 - i32::from(before), month));
    }
    Ok(spec)
}

fn bad(t: &Token, message: String) -> ParseError {
    ParseError {
        span: t.span.clone(),
        message,
        suggestions: vec![
            "Trước ngày 20 hằng tháng",
            "Định kỳ hằng quý (trước ngày 15 của tháng cuối quý)",
        ],
    }
}

/// "thứ 2" … "thứ 7": Monday … Saturday (Sunday is "Chủ nhật", never "thứ 1" or "thứ 8").
fn numeric_weekday(n: u32) -> Option<&'static str> {
    Some(match n {
        2 => "MO",
        3 => "TU",
        4 => "WE",
        5 => "TH",
        6 => "FR",
        7 => "SA",
        _ => return None,
    })
}

fn weekday_code(w: &str) -> Option<&'static str> {
    Some(match w {
        "hai" => "MO",
        "ba" => "TU",
        "tu" => "WE",
        "nam" => "TH",
        "sau" => "FR",
        "bay" => "SA",
        _ => return None,
    })
}

/// The rule, without the months in `excluded` (they have rules of their own); empty when no
/// month is left.
fn build_rrule(freq: Freq, when: &When, words: &Words, excluded: &[u32]) -> String {
    if freq == Freq::Weekly {
        let days = if when.weekdays.is_empty() {
            "FR".to_string()
        } else {
            when.weekdays.join(",")
        };
        return format!("FREQ=WEEKLY;BYDAY={days}");
    }
    // Which months of the year the deadlines fall in.
    let mut months: Vec<u32> = match freq {
        Freq::Monthly | Freq::Weekly => vec![],
        Freq::Quarterly => {
            // "tháng đầu quý sau" is the month after the period, shifted below.
            let offset = if when.next {
                0
            } else if words.has_any(&["thang dau quy", "thang dau moi quy", "thang dau cua quy"]) {
                2
            } else if words.has_any(&["thang giua quy", "thang thu hai cua quy"]) {
                1
            } else {
                0
            };
            [3, 6, 9, 12].iter().map(|m| m - offset).collect()
        }
        Freq::HalfYearly => vec![6, 12],
        Freq::Yearly if when.months.is_empty() => vec![12],
        Freq::Yearly => when.months.clone(),
    };
    // The month after each period's end ("ngày 5 của tháng kế tiếp"); months the text names
    // are already the right ones.
    if when.next && when.months.is_empty() {
        for m in &mut months {
            *m = *m % 12 + 1;
        }
        months.sort_unstable();
    }
    let monthly = months.is_empty();
    if !excluded.is_empty() {
        if monthly {
            months = (1..=12).collect();
        }
        months.retain(|m| !excluded.contains(m));
        if months.is_empty() {
            return String::new();
        }
    }
    if freq == Freq::Monthly && months.is_empty() && when.days.len() > 1 {
        let list: Vec<String> = when.days.iter().map(i32::to_string).collect();
        return format!("FREQ=MONTHLY;BYMONTHDAY={}", list.join(","));
    }
    let mut day = when.day.unwrap_or(-1);
    if day == 0 {
        // "trước ngày 1": the end of the month before.
        day = -1;
        for m in &mut months {
            *m = if *m == 1 { 12 } else { *m - 1 };
        }
        months.sort_unstable();
    }
    if day == 31 {
        day = -1;
    }
    let by_day = if freq == Freq::Monthly && (29..=30).contains(&day) && !excluded.contains(&2) {
        // The 29th or 30th, or the month's last day when it is shorter.
        let days: Vec<String> = (28..=day).map(|d| d.to_string()).collect();
        format!("BYMONTHDAY={};BYSETPOS=-1", days.join(","))
    } else {
        format!("BYMONTHDAY={day}")
    };
    if months.is_empty() {
        format!("FREQ=MONTHLY;{by_day}")
    } else if monthly {
        let list: Vec<String> = months.iter().map(u32::to_string).collect();
        format!("FREQ=MONTHLY;BYMONTH={};{by_day}", list.join(","))
    } else {
        let list: Vec<String> = months.iter().map(u32::to_string).collect();
        format!("FREQ=YEARLY;BYMONTH={};{by_day}", list.join(","))
    }
}
