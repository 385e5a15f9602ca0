//! Numbers and glosses that are not the deadline, recognised before the text is read and named
//! in a note: a document's number and date ("Thông tư 12/2019/TT-BTC", "Thông báo số 45 ngày
//! 3/7"), counts ("1.500 hồ sơ", "20 xã"), hours ("trước 16 giờ ngày 5/10" is due on 5/10)
//! and the lunar gloss of a solar date ("ngày 27/1/2025 (28 tháng Chạp)"). "Tết Dương lịch"
//! is 1 January, written here as that date.

use super::lex::{Tok, Token};
use super::{Note, NoteKind};

/// Words that name a kind of document before its number ("Thông tư", "Công văn số").
const DOC_WORDS: &[&str] = &[
    "thong", "tu", "bao", "cong", "van", "quyet", "dinh", "nghi", "quyet", "chi", "thi", "ke",
    "hoach", "ban", "hanh", "theo", "tai", "mau", "huong", "dan", "so",
];

/// Nouns counted by a number before them ("20 xã", "1.500 hồ sơ"), folded, one or two words.
const COUNTED: &[&[&str]] = &[
    &["xa"],
    &["phuong"],
    &["huyen"],
    &["ho", "so"],
    &["ho"],
    &["nguoi"],
    &["don", "vi"],
    &["co", "quan"],
    &["co", "so"],
    &["doanh", "nghiep"],
    &["truong"],
    &["lop"],
    &["thu", "tuc"],
    &["van", "ban"],
    &["du", "an"],
    &["cong", "trinh"],
    &["hoc", "sinh"],
    &["ban", "sao"],
    &["bo"],
];

/// Lunar words inside a gloss ("tháng Chạp", "mùng 6 Tết", "âm lịch").
const LUNAR: &[&str] = &["tuc", "nham", "am", "al", "chap", "gieng", "mung", "tet"];

/// The tokens without what is not a date, and a note for each part left out.
pub(super) fn non_dates(text: &str, toks: &[Token], plan_year: i32) -> (Vec<Token>, Vec<Note>) {
    let mut out: Vec<Token> = Vec::with_capacity(toks.len());
    let mut notes = Vec::new();
    // The year written in a name ("lớp 10 năm 2025"), for the next date without one.
    let mut pending_year: Option<(u32, std::ops::Range<usize>)> = None;
    let mut i = 0;
    while i < toks.len() {
        // A document's number: "12/2019/TT-BTC", "45/UBND-KT", "80-NQ/TW", "số 45".
        if let Some(end) = doc_ref(text, toks, i) {
            let mut from = i;
            while from > 0
                && toks[from - 1]
                    .word()
                    .is_some_and(|w| DOC_WORDS.contains(&w))
                && out.last().is_some_and(|t| t.span == toks[from - 1].span)
            {
                from -= 1;
                out.pop();
            }
            let mut end = end;
            // The document's own date: "Thông báo số 45 ngày 3/7".
            if let Some(after) = doc_date(toks, end) {
                end = after;
            }
            notes.push(skipped(text, toks, from, end, "số hiệu, ngày của văn bản"));
            i = end;
            continue;
        }
        // A term of office names a body, it is not a period of work: "Đại hội nhiệm kỳ
        // 2025 - 2030".
        if let Some(end) = term_of_office(toks, i) {
            notes.push(skipped(
                text,
                toks,
                i,
                end,
                "nhiệm kỳ (tên, không phải thời hạn)",
            ));
            i = end;
            continue;
        }
        // "tình hình quý III và 9 tháng năm 2024": the months since January are the report's
        // frame, the deadline is the quarter's.
        if let Some(end) = cumulative_months(toks, i, &out) {
            notes.push(skipped(
                text,
                toks,
                i + 1,
                end,
                "kỳ báo cáo cộng dồn (khung của báo cáo; hạn là của quý)",
            ));
            i = end;
            continue;
        }
        // A class, a course or a school's name: "lớp 10", "khóa XV", "khoá 15".
        if let Some(end) = class_name(toks, i) {
            // "lớp 10 năm 2025", "lớp 10 năm học 2025-2026": the year belongs to the name and
            // dates the event's days written without one ("ngày 5-6/6").
            let (end, year) = match name_year(toks, end) {
                Some((after, year)) => (after, Some(year)),
                None => (end, None),
            };
            let note = skipped(text, toks, i, end, "tên lớp, khóa (không phải ngày)");
            if let Some(year) = year {
                pending_year = Some((year, note.span.clone()));
            }
            notes.push(note);
            i = end;
            continue;
        }
        // A count: "1.500 hồ sơ", "20 xã".
        if let Some(end) = count(toks, i) {
            notes.push(skipped(text, toks, i, end, "số lượng"));
            i = end;
            continue;
        }
        // An hour: "16 giờ", "16h30", "trước 16 giờ 30 phút" (the deadline is the day).
        if let Some(end) = hour(toks, i) {
            let mut from = i;
            if from > 0
                && matches!(toks[from - 1].word(), Some("truoc" | "luc" | "vao"))
                && out.last().is_some_and(|t| t.span == toks[from - 1].span)
            {
                from -= 1;
                out.pop();
            }
            notes.push(skipped(text, toks, from, end, "giờ (hạn tính theo ngày)"));
            i = end;
            continue;
        }
        // A lunar gloss in parentheses after a date: "(28 tháng Chạp)", "(tức mùng 6 Tết)".
        if toks[i].is_sym('(') {
            if let Some(close) = toks[i..].iter().position(|t| t.is_sym(')')).map(|k| i + k) {
                let inner = &toks[i + 1..close];
                let lunar = inner
                    .iter()
                    .any(|t| t.word().is_some_and(|w| LUNAR.contains(&w)));
                let after_date = out.last().is_some_and(|t| t.num().is_some());
                if lunar && after_date && !inner.is_empty() {
                    notes.push(skipped(text, toks, i, close + 1, "ngày âm lịch ghi kèm"));
                    i = close + 1;
                    continue;
                }
            }
        }
        // ", tức mùng 6 Tết" after a date, without parentheses.
        if toks[i].is_word("tuc")
            && out
                .last()
                .is_some_and(|t| t.num().is_some() || t.is_sym(','))
        {
            let end = toks[i..]
                .iter()
                .position(|t| t.is_sym(',') || t.is_sym(';') || t.is_sym(')'))
                .map_or(toks.len(), |k| i + k);
            let lunar = toks[i + 1..end]
                .iter()
                .any(|t| t.word().is_some_and(|w| LUNAR.contains(&w)));
            if lunar {
                if out.last().is_some_and(|t| t.is_sym(',')) {
                    out.pop();
                }
                notes.push(skipped(text, toks, i, end, "ngày âm lịch ghi kèm"));
                i = end;
                continue;
            }
        }
        // "trước khi khai giảng năm học mới (dự kiến 5/9)": before the expected date, said.
        if let Some((end, event, date)) = expected_event(toks, i) {
            let event_text = match (event.first(), event.last()) {
                (Some(a), Some(b)) => text.get(a.span.start..b.span.end).unwrap_or_default(),
                _ => "",
            };
            let date_text = match (date.first(), date.last()) {
                (Some(a), Some(b)) => text.get(a.span.start..b.span.end).unwrap_or_default(),
                _ => "",
            };
            notes.push(Note {
                span: toks[i].span.start..toks[end - 1].span.end,
                kind: NoteKind::Assumed(format!(
                    "hạn phụ thuộc sự kiện \"{event_text}\": đã tính theo thời điểm dự kiến {date_text}; sửa thời gian hoặc ghi `due` nếu sự kiện đổi ngày"
                )),
            });
            out.push(toks[i].clone());
            // "dự kiến tháng 10/2025": before that month; else before that day.
            let unit = match date.first().map(|t| t.span.start).and_then(|at| {
                toks.iter()
                    .rposition(|t| t.span.end <= at && t.word().is_some())
            }) {
                Some(k) if toks[k].is_word("thang") => "thang",
                _ => "ngay",
            };
            let mut day_word = toks[i + 1].clone();
            day_word.tok = Tok::Word(unit.into());
            out.push(day_word);
            out.extend(date.iter().cloned());
            i = end;
            continue;
        }
        // "Tết Dương lịch" is 1 January: of the year written, else of the year after the plan's.
        if toks[i].is_word("tet")
            && toks.get(i + 1).is_some_and(|t| t.is_word("duong"))
            && toks.get(i + 2).is_some_and(|t| t.is_word("lich"))
        {
            let span = toks[i].span.start..toks[i + 2].span.end;
            let mut end = i + 3;
            let year_at = if toks.get(end).is_some_and(|t| t.is_word("nam")) {
                end + 1
            } else {
                end
            };
            let year = match toks.get(year_at).and_then(Token::num) {
                Some((y, 4)) => {
                    end = year_at + 1;
                    i32::try_from(y).unwrap_or(plan_year)
                }
                _ => {
                    let y = plan_year.saturating_add(1);
                    notes.push(Note {
                        span: span.clone(),
                        kind: NoteKind::Assumed(format!(
                            "\"Tết Dương lịch\" không ghi năm: coi là ngày 01/01/{y} (Tết Dương lịch sau năm của kế hoạch)"
                        )),
                    });
                    y
                }
            };
            let year = u32::try_from(year).unwrap_or(0);
            let synth = |tok: Tok| Token {
                tok,
                span: span.clone(),
                space_before: false,
            };
            let mut first = synth(Tok::Num(1, 2));
            first.space_before = toks[i].space_before;
            out.push(first);
            out.push(synth(Tok::Sym('/')));
            out.push(synth(Tok::Num(1, 2)));
            out.push(synth(Tok::Sym('/')));
            out.push(synth(Tok::Num(year, 4)));
            i = end;
            continue;
        }
        out.push(toks[i].clone());
        // A day and month without a year after a name with its year: that year, said.
        let n = out.len();
        let day_month = toks[i].num().is_some_and(|(_, d)| d <= 2)
            && n >= 3
            && out[n - 2].is_sym('/')
            && out[n - 3].num().is_some()
            && !toks
                .get(i + 1)
                .is_some_and(|t| !t.space_before && (t.is_sym('/') || t.is_sym('.')));
        if day_month {
            if let Some((year, span)) = pending_year.take() {
                // Empty spans right after the month: read with the date, quoted nowhere.
                let at = toks[i].span.end;
                let synth = |tok: Tok| Token {
                    tok,
                    span: at..at,
                    space_before: false,
                };
                out.push(synth(Tok::Sym('/')));
                out.push(synth(Tok::Num(year, 4)));
                notes.push(Note {
                    span: span.clone(),
                    kind: NoteKind::Assumed(format!(
                        "ngày không ghi năm: đã lấy năm {year} ghi trong tên \"{}\"",
                        text.get(span.clone()).unwrap_or_default()
                    )),
                });
            }
        }
        i += 1;
    }
    (out, notes)
}

/// The note for the tokens `from..to`, left out as `what`.
fn skipped(text: &str, toks: &[Token], from: usize, to: usize, what: &'static str) -> Note {
    let span = toks[from].span.start..toks[to - 1].span.end;
    Note {
        kind: NoteKind::NotADate {
            what,
            text: text.get(span.clone()).unwrap_or_default().to_string(),
        },
        span,
    }
}

/// Whether the token before `i` joins it to a number ("30/6", "II/2022", "8-15").
fn joined(toks: &[Token], i: usize) -> bool {
    i > 0 && (toks[i - 1].is_sym('/') || toks[i - 1].is_sym('-') || toks[i - 1].is_sym('.'))
}

/// "trước khi <event> (dự kiến [ngày] <date>)" at `i` (also with a comma instead of the
/// parentheses): where it ends, the event's tokens and the date's.
fn expected_event(toks: &[Token], i: usize) -> Option<(usize, &[Token], &[Token])> {
    if !(toks[i].is_word("truoc") && toks.get(i + 1)?.is_word("khi")) {
        return None;
    }
    let stop = toks[i..]
        .iter()
        .position(|t| t.is_sym(';'))
        .map_or(toks.len(), |k| i + k);
    let du = (i + 2..stop.saturating_sub(1))
        .find(|&k| toks[k].is_word("du") && toks[k + 1].is_word("kien"))?;
    let mut event_end = du;
    while event_end > i + 2 && (toks[event_end - 1].is_sym('(') || toks[event_end - 1].is_sym(','))
    {
        event_end -= 1;
    }
    let event = &toks[i + 2..event_end];
    if event.is_empty() {
        return None;
    }
    let mut from = du + 2;
    if toks.get(from).is_some_and(|t| t.is_sym(':')) {
        from += 1;
    }
    if toks
        .get(from)
        .is_some_and(|t| t.is_word("ngay") || t.is_word("thang"))
    {
        from += 1;
    }
    let to = toks[from..stop]
        .iter()
        .position(|t| t.is_sym(')') || t.is_sym(',') || t.word().is_some())
        .map_or(stop, |k| from + k);
    let date = &toks[from..to];
    // A day and a month at least ("5/9"), only numbers and separators.
    if date.iter().filter(|t| t.num().is_some()).count() < 2 {
        return None;
    }
    let end = if toks.get(to).is_some_and(|t| t.is_sym(')')) {
        to + 1
    } else {
        to
    };
    Some((end, event, date))
}

/// Whether a token is written with a capital letter in the text ("TT", "UBND").
fn capital(text: &str, t: &Token) -> bool {
    t.word().is_some()
        && text
            .get(t.span.clone())
            .is_some_and(|s| s.chars().next().is_some_and(char::is_uppercase))
}

/// A document's number at `i`, and where it ends: numbers and capitalised words joined by '/'
/// and '-' without spaces, with at least one such word ("12/2019/TT-BTC"), or "số" and a
/// number ("số 45", "số 45/UBND-KT").
fn doc_ref(text: &str, toks: &[Token], i: usize) -> Option<usize> {
    let after_so = i > 0 && toks[i - 1].is_word("so") && toks[i].num().is_some();
    toks[i].num()?;
    let mut k = i + 1;
    let mut has_word = false;
    while k + 1 < toks.len()
        && (toks[k].is_sym('/') || toks[k].is_sym('-'))
        && !toks[k].space_before
        && !toks[k + 1].space_before
        && (toks[k + 1].num().is_some() || capital(text, &toks[k + 1]))
    {
        has_word |= toks[k + 1].word().is_some();
        k += 2;
    }
    (has_word || (after_so && k == i + 1)).then_some(k)
}

/// A date right after a document's number ("ngày 3/7", "ngày 03/7/2025", "ngày 3 tháng 7 năm
/// 2025"): where it ends.
fn doc_date(toks: &[Token], i: usize) -> Option<usize> {
    if !toks.get(i)?.is_word("ngay") {
        return None;
    }
    toks.get(i + 1)?.num()?;
    let mut k = i + 2;
    if toks
        .get(k)
        .is_some_and(|t| t.is_sym('/') || t.is_sym('-') || t.is_sym('.'))
    {
        toks.get(k + 1)?.num()?;
        k += 2;
        if toks
            .get(k)
            .is_some_and(|t| t.is_sym('/') || t.is_sym('-') || t.is_sym('.'))
            && toks
                .get(k + 1)
                .and_then(Token::num)
                .is_some_and(|(_, d)| d == 4)
        {
            k += 2;
        }
        return Some(k);
    }
    if toks.get(k).is_some_and(|t| t.is_word("thang")) {
        toks.get(k + 1)?.num()?;
        k += 2;
        if toks.get(k).is_some_and(|t| t.is_word("nam"))
            && toks.get(k + 1).and_then(Token::num).is_some()
        {
            k += 2;
        }
        return Some(k);
    }
    None
}

/// "nhiệm kỳ 2025 - 2030", "nhiệm kỳ 2025-2030", "nhiệm kỳ 2025 đến 2030" at `i`: where it
/// ends.
fn term_of_office(toks: &[Token], i: usize) -> Option<usize> {
    if !(toks[i].is_word("nhiem")
        && toks
            .get(i + 1)
            .is_some_and(|t| t.is_word("ky") || t.is_word("ki")))
    {
        return None;
    }
    let year = |k: usize| {
        toks.get(k)
            .and_then(Token::num)
            .is_some_and(|(_, d)| d == 4)
    };
    let sep = toks
        .get(i + 3)
        .is_some_and(|t| t.is_sym('-') || t.is_word("den"));
    (year(i + 2) && sep && year(i + 4)).then_some(i + 5)
}

/// "và 9 tháng" (also ", 6 tháng") right after a quarter ("Quý III", "quý 2") at `i`: where
/// it ends. Not "6 tháng đầu năm" (a period of its own) nor "9 tháng/2024".
fn cumulative_months(toks: &[Token], i: usize, out: &[Token]) -> Option<usize> {
    if !(toks[i].is_word("va") || toks[i].is_sym(',')) {
        return None;
    }
    let months = toks.get(i + 1).and_then(Token::num);
    if !matches!(months, Some((3 | 6 | 9, 1 | 2))) || !toks.get(i + 2)?.is_word("thang") {
        return None;
    }
    let next = toks.get(i + 3);
    if next.is_some_and(|t| {
        t.is_word("dau") || t.is_word("cuoi") || t.is_sym('/') || t.is_sym('-') || t.is_sym('.')
    }) {
        return None;
    }
    let n = out.len();
    let quarter = n >= 2
        && (out[n - 2].is_word("quy") || out[n - 2].is_word("qui"))
        && (out[n - 1]
            .word()
            .is_some_and(|w| super::lex::roman(w).is_some())
            || out[n - 1]
                .num()
                .is_some_and(|(q, d)| d == 1 && (1..=4).contains(&q)));
    quarter.then_some(i + 3)
}

/// A class or a course named by its number at `i` ("lớp 10", "khóa XV", "khoá 15"): where it
/// ends.
fn class_name(toks: &[Token], i: usize) -> Option<usize> {
    if !(toks[i].is_word("lop") || toks[i].is_word("khoa")) {
        return None;
    }
    let next = toks.get(i + 1)?;
    if !next.space_before {
        return None;
    }
    let numbered = next.num().is_some_and(|(_, d)| d <= 2)
        || next
            .word()
            .is_some_and(|w| w.len() <= 5 && w.chars().all(|c| "ivxlc".contains(c)));
    // "khóa 15/2024" would be a date: only a number standing alone.
    let joined_after = toks
        .get(i + 2)
        .is_some_and(|t| !t.space_before && (t.is_sym('/') || t.is_sym('-')));
    (numbered && !joined_after).then_some(i + 2)
}

/// "năm 2025" or "năm học 2025-2026" at `k`, right after a name: where it ends, and the
/// (first) year.
fn name_year(toks: &[Token], k: usize) -> Option<(usize, u32)> {
    if !toks.get(k)?.is_word("nam") {
        return None;
    }
    let mut at = k + 1;
    if toks.get(at).is_some_and(|t| t.is_word("hoc")) {
        at += 1;
    }
    let (year, _) = toks.get(at)?.num().filter(|&(_, d)| d == 4)?;
    let mut end = at + 1;
    let second = toks
        .get(end + 1)
        .and_then(Token::num)
        .filter(|&(_, d)| d == 4);
    if toks.get(end).is_some_and(|t| t.is_sym('-')) && second.is_some() {
        end += 2;
    }
    Some((end, year))
}

/// A count at `i` ("1.500 hồ sơ", "20 xã"), and where its noun ends.
fn count(toks: &[Token], i: usize) -> Option<usize> {
    let (_, digits) = toks[i].num()?;
    let mut k = i + 1;
    let mut grouped = false;
    // Thousands groups: "1.500", "12.000.000".
    while digits <= 3
        && toks
            .get(k)
            .is_some_and(|t| t.is_sym('.') && !t.space_before)
        && toks
            .get(k + 1)
            .is_some_and(|t| t.num().is_some_and(|(_, d)| d == 3) && !t.space_before)
    {
        grouped = true;
        k += 2;
    }
    if grouped {
        // "1.500" then a date separator is not a count.
        if toks
            .get(k)
            .is_some_and(|t| t.is_sym('/') || t.is_sym('.') || t.is_sym('-'))
        {
            return None;
        }
    } else if joined(toks, i)
        || (i > 0
            && toks[i - 1].word().is_some_and(|w| {
                matches!(
                    w,
                    "ngay" | "thang" | "nam" | "quy" | "qui" | "tuan" | "dot" | "lan" | "doan"
                )
            }))
    {
        return None;
    }
    let noun_at = |k: usize| {
        COUNTED
            .iter()
            .find(|noun| {
                noun.iter()
                    .enumerate()
                    .all(|(j, w)| toks.get(k + j).is_some_and(|t| t.is_word(w)))
            })
            .map(|noun| k + noun.len())
    };
    match noun_at(k) {
        Some(mut end) => {
            // "20 xã, phường", "20 xã và phường": the nouns counted together.
            while toks
                .get(end)
                .is_some_and(|t| t.is_sym(',') || t.is_word("va"))
            {
                match noun_at(end + 1) {
                    Some(next) => end = next,
                    None => break,
                }
            }
            Some(end)
        }
        None if grouped => Some(k),
        None => None,
    }
}

/// An hour at `i` ("16 giờ", "16 giờ 30 phút", "16h", "16h30"), and where it ends.
fn hour(toks: &[Token], i: usize) -> Option<usize> {
    let (h, _) = toks[i].num()?;
    if h > 24 || joined(toks, i) {
        return None;
    }
    let unit = toks.get(i + 1)?;
    if !(unit.is_word("gio") || (unit.is_word("h") && !unit.space_before)) {
        return None;
    }
    let mut k = i + 2;
    if toks
        .get(k)
        .and_then(Token::num)
        .is_some_and(|(m, _)| m < 60)
    {
        k += 1;
        if toks.get(k).is_some_and(|t| t.is_word("phut")) {
            k += 1;
        }
    }
    if toks
        .get(k)
        .is_some_and(|t| t.is_word("sang") || t.is_word("chieu"))
    {
        k += 1;
    }
    Some(k)
}
