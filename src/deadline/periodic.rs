//! Texts without a date of their own: periodic ("Hằng tháng", "Định kỳ hằng quý (trước ngày
//! 15 của tháng cuối quý)"), continuous ("Thường xuyên") and event-triggered ("Khi có yêu cầu").

use super::lex::Token;
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
];
const CONTINUOUS: &[&str] = &["thuong xuyen", "lien tuc", "hang ngay", "moi ngay"];
const YEARS_ONWARD: &[&str] = &[
    "cac nam tiep theo",
    "nhung nam tiep theo",
    "cac nam sau",
    "tro di",
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
    if words.has_any(PERIODIC) {
        return periodic(toks, words, whole).map(Some);
    }
    if dated && words.has_any(YEARS_ONWARD) {
        // "Năm 2022 và các năm tiếp theo": every year, by its end.
        return Ok(Some(Parsed {
            deadline: Deadline::Recurring {
                rrule: "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31".into(),
            },
            notes: vec![],
        }));
    }
    if !dated && words.has_any(EVENT) {
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
    toks: &[Token],
    words: &Words,
    whole: std::ops::Range<usize>,
) -> Result<Parsed, ParseError> {
    let freq = if words.has_any(&["hang tuan", "moi tuan"]) {
        Some(Freq::Weekly)
    } else if words.has_any(&["hang thang", "moi thang"]) {
        Some(Freq::Monthly)
    } else if words.has_any(&["hang quy", "moi quy", "quy"]) {
        Some(Freq::Quarterly)
    } else if words.has_any(&["6 thang", "sau thang", "nua nam"]) {
        Some(Freq::HalfYearly)
    } else if words.has_any(&["hang nam", "moi nam", "nam"]) {
        Some(Freq::Yearly)
    } else {
        None
    };
    let Some(freq) = freq else {
        return Ok(Parsed {
            deadline: Deadline::PeriodicUnspecified,
            notes: vec![],
        });
    };
    let when = day_spec(toks)?;
    let rrule = build_rrule(freq, &when, words);
    Ok(Parsed {
        deadline: Deadline::Recurring { rrule },
        notes: when
            .ignored_day_month
            .then(|| Note {
                span: whole,
                kind: NoteKind::Periodic(
                    "tháng ghi kèm ngày chỉ dùng cho kỳ hằng năm; đã bỏ qua".into(),
                ),
            })
            .into_iter()
            .collect(),
    })
}

#[derive(Debug, Default)]
struct DaySpec {
    /// Day of month (1..=31), already moved back a day for "trước ngày N"; 0 = end of the
    /// previous month.
    day: Option<i32>,
    month: Option<u32>,
    weekday: Option<&'static str>,
    ignored_day_month: bool,
}

/// Finds "trước ngày N", "ngày N", "chậm nhất ngày N/M" and weekday words in a periodic text.
fn day_spec(toks: &[Token]) -> Result<DaySpec, ParseError> {
    let mut spec = DaySpec::default();
    for (i, t) in toks.iter().enumerate() {
        if let Some(w) = t.word() {
            if w == "thu" {
                if let Some(day) = toks
                    .get(i + 1)
                    .and_then(|n| n.word())
                    .and_then(weekday_code)
                {
                    spec.weekday = Some(day);
                }
            }
            continue;
        }
        let Some((n, _)) = t.num() else { continue };
        let prev = i.checked_sub(1).and_then(|j| toks[j].word());
        let prev2 = i.checked_sub(2).and_then(|j| toks[j].word());
        let before = prev == Some("truoc") || (prev == Some("ngay") && prev2 == Some("truoc"));
        let is_day = before || prev == Some("ngay");
        if !is_day {
            continue;
        }
        if !(1..=31).contains(&n) {
            return Err(ParseError {
                span: t.span.clone(),
                message: format!("ngày {n} không có trong tháng (chỉ từ 1 đến 31)"),
                suggestions: vec![
                    "Trước ngày 20 hằng tháng",
                    "Định kỳ hằng tháng trước ngày 18",
                ],
            });
        }
        if toks.get(i + 1).is_some_and(|s| s.is_sym('/')) {
            if let Some((m, _)) = toks.get(i + 2).and_then(Token::num) {
                if !(1..=12).contains(&m) {
                    return Err(ParseError {
                        span: toks[i + 2].span.clone(),
                        message: format!("tháng {m} không tồn tại (chỉ từ 1 đến 12)"),
                        suggestions: vec!["Trước ngày 15/12 hằng năm"],
                    });
                }
                spec.month = Some(m);
            }
        }
        spec.day = Some(n as i32 - i32::from(before));
    }
    Ok(spec)
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

fn build_rrule(freq: Freq, when: &DaySpec, words: &Words) -> String {
    if freq == Freq::Weekly {
        return format!("FREQ=WEEKLY;BYDAY={}", when.weekday.unwrap_or("FR"));
    }
    // Which months of the year the deadlines fall in.
    let mut months: Vec<u32> = match freq {
        Freq::Monthly | Freq::Weekly => vec![],
        Freq::Quarterly => {
            let offset = if words.has_any(&["thang dau quy", "thang dau cua quy"]) {
                2
            } else if words.has_any(&["thang giua quy", "thang thu hai cua quy"]) {
                1
            } else {
                0
            };
            [3, 6, 9, 12].iter().map(|m| m - offset).collect()
        }
        Freq::HalfYearly => vec![6, 12],
        Freq::Yearly => vec![when.month.unwrap_or(12)],
    };
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
    let by_day = if freq == Freq::Monthly && (29..=30).contains(&day) {
        // The 29th or 30th, or the month's last day when it is shorter.
        let days: Vec<String> = (28..=day).map(|d| d.to_string()).collect();
        format!("BYMONTHDAY={};BYSETPOS=-1", days.join(","))
    } else {
        format!("BYMONTHDAY={day}")
    };
    if months.is_empty() {
        format!("FREQ=MONTHLY;{by_day}")
    } else {
        let list: Vec<String> = months.iter().map(u32::to_string).collect();
        format!("FREQ=YEARLY;BYMONTH={};{by_day}", list.join(","))
    }
}
