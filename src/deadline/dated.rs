//! Texts with dates: periods, dates, lists, ranges and stages by level.
//!
//! A text is split into segments at ';'. Each segment is a run of expressions, each preceded
//! by free words (its label: "Tại Bộ phận một cửa tỉnh", "Đợt 1"). An expression is an
//! optional prefix ("trước", "từ", "chậm nhất", ...) and points ("ngày 30/6", "Quý III",
//! "tháng 5") joined by list (",", "và") or range ("-", "đến") connectors. Points may leave
//! out their unit, month or year, which come from their neighbours ("Quý III, IV/2022",
//! "Ngày 8 - 15/10") or, for the year, from the plan.

use super::lex::{roman, Token};
use super::{weekday_vi, Context, Deadline, Milestone, Note, NoteKind, ParseError, Parsed};
use crate::text::ascii_fold;
use chrono::{Datelike, Days, NaiveDate};
use std::ops::Range;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    /// No prefix, or one meaning "by the end of" ("chậm nhất", "đến hết", "trong").
    By,
    /// "trước": done before it begins.
    Before,
    /// "từ": in effect from its start, so done before it begins (or a range's start).
    From,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Month,
    Quarter,
    Year,
}

/// A part of a year named by words rather than numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// "6 tháng đầu năm": the first n months.
    FirstMonths(u32),
    /// "6 tháng cuối năm": the last n months.
    LastMonths(u32),
    /// "đầu năm": the first quarter.
    YearStart,
    /// "giữa năm": by 30 June.
    YearMid,
    /// "cuối năm": the last quarter.
    YearEnd,
    /// "đầu tháng": the first ten days.
    MonthStart,
    /// "giữa tháng": by the 15th.
    MonthMid,
}

#[derive(Debug, Clone)]
struct Point {
    unit: Unit,
    part: Option<Part>,
    /// Day, month, quarter or year number, as the unit says.
    value: u32,
    month: Option<u32>,
    year: Option<i32>,
    span: Range<usize>,
    /// A weekday written before the date ("thứ Bảy, ngày 27/4"): its folded word and span.
    weekday: Option<(chrono::Weekday, Range<usize>)>,
    /// A year written relative to another ("năm sau" +1, "năm nay" 0, "năm trước" -1): to the
    /// period named before it in the text, else to the plan's year.
    year_offset: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    List,
    Range,
}

#[derive(Debug)]
struct Expr {
    prefix: Prefix,
    /// Introduced as a horizon ("giai đoạn", "đến", "tầm nhìn", "định hướng"): when it follows a
    /// dated action it is where the work leads, not a milestone.
    horizon: bool,
    /// Where it starts in the text, prefix words included.
    start: usize,
    points: Vec<Point>,
    /// `links[i]` joins `points[i]` and `points[i + 1]`.
    links: Vec<Link>,
}

/// Words skipped without comment when they stand outside an expression.
pub(super) const FILLER: &[&str] = &[
    "hoan", "thanh", "thuc", "hien", "xong", "trien", "khai", "thoi", "gian", "han", "chot", "va",
    "hoac", "cua", "truoc", "het", "ca", "trong", "tu", "den", "ke", "vao", "nam", "thang", "ngay",
    "quy", "qui", "chinh", "thuc", "ap", "dung", "tai", "la", "luc", "bao", "cao", "gui", "nop",
    // A named day before its date ("trước Quốc khánh 02/9/2024").
    "quoc", "khanh",
    // The date ahead in the plan's year: "trong tháng 8 này", "ngày 20/10 tới", "sắp tới".
    "nay", "toi", "sap",
];

pub(super) fn parse(text: &str, toks: &[Token], ctx: &Context) -> Result<Parsed, ParseError> {
    parse_reading(text, toks, ctx).map(|(parsed, _)| parsed)
}

/// The words of `toks` the reading did not use: outside every expression that gave (or
/// refined) a milestone and every label read as a level, phase or stage, and not filler.
/// Each is a token's byte span. Named or not in a note: the caller checks.
pub(super) fn unread(text: &str, toks: &[Token], ctx: &Context) -> Vec<Range<usize>> {
    let Ok((_, read)) = parse_reading(text, toks, ctx) else {
        return Vec::new();
    };
    toks.iter()
        .filter(|t| match t.word() {
            Some(w) => !FILLER.contains(&w),
            None => t.num().is_some(),
        })
        .filter(|t| {
            !read
                .iter()
                .any(|r| r.start <= t.span.start && t.span.end <= r.end)
        })
        .map(|t| t.span.clone())
        .collect()
}

/// Reads the text, and says which spans of it the reading used.
fn parse_reading(
    text: &str,
    toks: &[Token],
    ctx: &Context,
) -> Result<(Parsed, Vec<Range<usize>>), ParseError> {
    let mut read: Vec<Range<usize>> = Vec::new();
    if let Some(t) = toks.iter().find(|t| t.is_word("tet")) {
        // Lunar-calendar anchors need the calendar (a later module): never guess them.
        return Err(ParseError {
            span: t.span.clone(),
            message: "chưa tính được hạn theo Tết hay âm lịch: hãy ghi hạn cụ thể bằng `due`"
                .into(),
            suggestions: vec!["Trước ngày 15/01/2023"],
        });
    }
    let (toks, mut notes) = drop_lunar_notes(text, toks);
    let mut milestones: Vec<Milestone> = Vec::new();
    let mut first_unknown: Option<Range<usize>> = None;
    let runs = toks
        .split(|t| t.is_sym(';'))
        .map(|segment| read_run(text, segment))
        .collect::<Result<Vec<_>, _>>()?;
    // "UBND cấp huyện: trước 30/6; Sở Nội vụ: trước 31/7": staged by agency. The names before
    // the colons are the stages' labels, not words left unread.
    let staged_by_name = runs
        .iter()
        .flat_map(|r| &r.items)
        .filter(|it| is_stage_label(&it.label))
        .count()
        >= 2;
    // Labels read as a level with other words ("UBND tỉnh yêu cầu các sở"): when the level
    // turns out not to be a stage, those words were not read.
    let mut level_labels: Vec<Range<usize>> = Vec::new();
    // The last year written, for the relative years after it ("năm 2023 ... năm liền kề").
    let mut base_year: Option<i32> = None;
    for mut run in runs {
        // Words after the last expression describe it when nothing came before it
        // ("Quý II/2022 đối với cấp tỉnh").
        if let Some(last) = run.items.last_mut() {
            if last.label.is_empty() && last.post.is_empty() {
                last.post = std::mem::take(&mut run.trailing);
            }
        }
        run.skipped.push(run.trailing);
        for skipped in run.skipped.iter().filter(|l| has_unread_words(l)) {
            let span = span_of(skipped);
            first_unknown.get_or_insert(span.clone());
            notes.push(Note {
                kind: NoteKind::Ignored(text[span.clone()].to_string()),
                span,
            });
        }
        // The period of the previous expression, when it was a single whole period
        // ("Năm 2023"), and where its milestones start in `milestones`.
        let mut previous: Option<((NaiveDate, NaiveDate), usize)> = None;
        let has_day = run
            .items
            .iter()
            .any(|it| it.qualifier.is_none() && it.expr.points.iter().any(|p| p.unit == Unit::Day));
        for Item {
            label,
            mut expr,
            post,
            qualifier,
        } in run.items
        {
            resolve_relative_years(&mut expr.points, &mut base_year, ctx.plan_year);
            // "báo cáo quý III gửi trước ngày 10/10": the period is what is reported; the
            // day is the deadline.
            if has_day && names_a_report(&label) && expr.points.iter().all(|p| p.unit != Unit::Day)
            {
                let end = expr.points.last().map_or(expr.start, |p| p.span.end);
                // "Báo cáo kết quả thực hiện 6 tháng đầu năm": what is reported, quoted whole.
                let start = match label.first() {
                    Some(t) if has_meaningful_words(&label) => t.span.start.min(expr.start),
                    _ => expr.start,
                };
                let span = start..end.max(start);
                notes.push(Note {
                    kind: NoteKind::Assumed(format!(
                        "đã coi \"{}\" là kỳ được báo cáo, không phải thời hạn",
                        &text[span.clone()]
                    )),
                    span,
                });
                continue;
            }
            fill_missing(&mut expr.points, ctx.plan_year, &mut notes);
            let words: Vec<&Token> = label.iter().chain(post.iter()).copied().collect();
            // A qualifier's level words name who sets the day ("trước kỳ họp HĐND tỉnh"),
            // not a stage.
            let levels = match qualifier {
                Some(_) => Vec::new(),
                None => match_levels(&words, ctx),
            };
            let shown = if label.is_empty() { &post } else { &label };
            let label_text = (!shown.is_empty()).then(|| {
                let s = span_of(shown);
                text[s]
                    .trim_matches(|c: char| c == ':' || c == ',' || c.is_whitespace())
                    .to_string()
            });
            let dates = expr_dates(&expr, &mut notes)?;
            // "Trước 30/6/2025, giai đoạn 2026-2030 duy trì": where the work leads, after a
            // dated action, is not a milestone.
            let whole_years = expr
                .points
                .iter()
                .all(|p| p.unit == Unit::Year && p.part.is_none());
            if expr.horizon && whole_years && !milestones.is_empty() {
                let end = expr.points.last().map_or(expr.start, |p| p.span.end);
                let span = expr.start..end.max(expr.start);
                notes.push(Note {
                    kind: NoteKind::Ignored(text[span.clone()].to_string()),
                    span,
                });
                continue;
            }
            // "Năm 2023 (hoàn thành trước 30/11/2023)", "Quý II/2022, chậm nhất ngày 15/6/2022",
            // "Năm 2024 (trước Quốc khánh 02/9/2024)": a more precise date inside the period
            // just named replaces the period.
            let mut refined = false;
            if let Some(((first, last), at)) = previous {
                let refines = levels.is_empty()
                    && (qualifier.is_some() || !has_meaningful_words(&words))
                    && dates.iter().all(|(_, due)| first <= *due && *due <= last);
                if refines {
                    milestones.truncate(at);
                    refined = true;
                }
            }
            // A date in parentheses with words of its own counts only as such a refinement:
            // otherwise it is a remark ("Quý II/2023 (báo cáo UBND tỉnh trước 15/7/2023)").
            if let Some(span) = qualifier.filter(|_| !refined) {
                first_unknown.get_or_insert(span.clone());
                notes.push(Note {
                    kind: NoteKind::Ignored(text[span.clone()].to_string()),
                    span,
                });
                continue;
            }
            let stage_name = staged_by_name && is_stage_label(&label);
            if !levels.is_empty() || is_phase_label(&label) || stage_name {
                read.push(span_of(&words));
            }
            read.push(expr.start..expr.points.last().map_or(expr.start, |p| p.span.end));
            read.extend(
                expr.points
                    .iter()
                    .filter_map(|p| p.weekday.clone().map(|w| w.1)),
            );
            if !levels.is_empty()
                && !stage_name
                && !is_phase_label(&label)
                && has_words_besides_levels(&words, ctx)
            {
                level_labels.push(span_of(&words));
            }
            if levels.is_empty()
                && !is_phase_label(&label)
                && !stage_name
                && has_unread_words(&words)
            {
                let span = span_of(&words);
                notes.push(Note {
                    kind: NoteKind::Ignored(text[span.clone()].to_string()),
                    span,
                });
            }
            previous = match (expr.points.as_slice(), expr.prefix) {
                ([only], Prefix::By) if only.unit != Unit::Day => {
                    period(only).ok().map(|p| (p, milestones.len()))
                }
                _ => None,
            };
            let scopes: Vec<Option<String>> = if levels.is_empty() {
                vec![None]
            } else {
                levels.into_iter().map(Some).collect()
            };
            for (start, due) in dates {
                for level in &scopes {
                    let label = label_text.clone().filter(|l| !l.is_empty());
                    milestones.push(Milestone {
                        level: level.clone(),
                        start,
                        due,
                        stage_of: label.clone().filter(|_| stage_name),
                        label,
                        agencies: Vec::new(),
                    });
                }
            }
        }
    }
    if milestones.is_empty() {
        let span = first_unknown.unwrap_or(0..text.len());
        return Err(ParseError {
            message: format!("không đọc được thời hạn trong \"{}\"", text.trim()),
            span,
            suggestions: vec![],
        });
    }
    // A single level is not a stage: "Trình UBND tỉnh trước ngày 30/6" is due for everyone.
    let mut levels: Vec<&str> = milestones
        .iter()
        .filter_map(|m| m.level.as_deref())
        .collect();
    levels.sort_unstable();
    levels.dedup();
    if levels.len() < 2 {
        for m in &mut milestones {
            m.level = None;
        }
        for span in level_labels {
            notes.push(Note {
                kind: NoteKind::Ignored(text[span.clone()].to_string()),
                span,
            });
        }
    }
    milestones.dedup();
    // One "year assumed" note per text is enough.
    let mut seen_year_note = false;
    notes.retain(|n| match n.kind {
        NoteKind::YearAssumed(_) => !std::mem::replace(&mut seen_year_note, true),
        _ => true,
    });
    notes.dedup();
    Ok((
        Parsed {
            deadline: Deadline::Dated(milestones),
            notes,
        },
        read,
    ))
}

/// An expression with the words before it and, in parentheses, right after it.
struct Item<'a> {
    label: Vec<&'a Token>,
    expr: Expr,
    post: Vec<&'a Token>,
    /// Read from parentheses that hold words as well ("(trước Đại hội, ngày 15/10/2024)"): the
    /// span of the parentheses. It may only refine the period before it.
    qualifier: Option<Range<usize>>,
}

/// What a run of tokens (a segment, or the inside of parentheses) holds.
struct Run<'a> {
    items: Vec<Item<'a>>,
    /// Words after the last expression.
    trailing: Vec<&'a Token>,
    /// Parts left out as commentary ("(để tổng hợp, báo cáo UBND tỉnh trước ngày 30/11)").
    skipped: Vec<Vec<&'a Token>>,
}

fn read_run<'a>(text: &'a str, toks: &'a [Token]) -> Result<Run<'a>, ParseError> {
    let mut p = SegmentParser {
        text,
        toks,
        i: 0,
        year_offset: None,
    };
    let mut run = Run {
        items: Vec::new(),
        trailing: Vec::new(),
        skipped: Vec::new(),
    };
    while p.i < toks.len() {
        let at = p.i;
        // "... trước 15/8 để vận hành từ ngày 01/9": after a dated action, a purpose or
        // dependent clause says why, and its dates are not this task's milestones.
        let purpose = !toks[at].is_word("sau") && !toks[at].is_word("ke");
        if !run.items.is_empty() && purpose && is_dependent(text, &toks[at..]) {
            run.skipped.push(toks[at..].iter().collect());
            break;
        }
        if toks[at].is_sym('(') {
            let close = toks[at..]
                .iter()
                .position(|t| t.is_sym(')'))
                .map_or(toks.len(), |k| at + k);
            let inner_toks = &toks[at + 1..close];
            p.i = close + 1;
            let inner = read_run(text, inner_toks)?;
            let words: Vec<&Token> = inner_toks.iter().collect();
            // "ngày 10/10/2024 (thứ Năm)": the weekday of the date just given, checked.
            let mut weekday_parser = SegmentParser {
                text,
                toks: inner_toks,
                i: 0,
                year_offset: None,
            };
            let weekday = weekday_parser.weekday();
            let last_day = run
                .items
                .last_mut()
                .and_then(|it| it.expr.points.last_mut())
                .filter(|pt| pt.unit == Unit::Day && pt.weekday.is_none());
            if let (Some(w), Some(pt), true) =
                (weekday, last_day, weekday_parser.i == inner_toks.len())
            {
                pt.weekday = Some(w);
                continue;
            }
            if inner.items.is_empty() {
                // A remark about the date just given ("(đối với cấp tỉnh)").
                match run.items.last_mut() {
                    Some(last) if run.trailing.is_empty() && last.post.is_empty() => {
                        last.post = words;
                    }
                    _ => run.trailing.extend(words),
                }
            } else if inner
                .items
                .iter()
                .all(|it| !has_unread_words(&it.label) && !has_unread_words(&it.post))
                && !has_unread_words(&inner.trailing)
                && inner.skipped.is_empty()
            {
                // A date in parentheses, with nothing else: part of the text.
                run.items.extend(inner.items);
            } else if !is_dependent(text, inner_toks) {
                // Words and a date: maybe a tighter deadline for the period before.
                let end = toks.get(close).map_or(text.len(), |t| t.span.end);
                let span = toks[at].span.start..end;
                for mut item in inner.items {
                    item.qualifier = Some(span.clone());
                    run.items.push(item);
                }
                // What it says besides ("... để trình HĐND tỉnh") is still named.
                run.skipped.extend(inner.skipped);
                run.skipped.push(inner.trailing);
            } else {
                run.skipped.push(words);
            }
            continue;
        }
        match p.expr()? {
            Some(mut expr) => {
                // "trước Quốc khánh 02/9/2024": "trước" holds across the name of the day.
                if expr.prefix == Prefix::By && before_a_named_day(&run.trailing) {
                    expr.prefix = Prefix::Before;
                }
                run.items.push(Item {
                    label: std::mem::take(&mut run.trailing),
                    expr,
                    post: Vec::new(),
                    qualifier: None,
                })
            }
            None => {
                p.i = at + 1;
                if !toks[at].is_sym(')') {
                    run.trailing.push(&toks[at]);
                }
            }
        }
    }
    Ok(run)
}

/// Whether `toks` start a purpose or dependent clause: "để ...", "nhằm ...", "phục vụ ...",
/// "sau khi ...", "kể từ khi ...". "để" is told from "đề" (đề án) by its spelling.
fn is_dependent(text: &str, toks: &[Token]) -> bool {
    let word = |k: usize| toks.get(k).and_then(Token::word);
    match word(0) {
        Some("de") => toks.first().is_some_and(|t| {
            let written: String = text
                .get(t.span.clone())
                .unwrap_or_default()
                .nfc()
                .collect::<String>()
                .to_lowercase();
            written == "để"
        }),
        Some("nham") => true,
        Some("phuc") => word(1) == Some("vu"),
        Some("sau") => word(1) == Some("khi"),
        Some("ke") => word(1) == Some("tu") && word(2) == Some("khi"),
        _ => false,
    }
}

/// "trước Quốc khánh" right before a date: the last "trước" of the words, followed only by
/// a few words naming the day.
fn before_a_named_day(words: &[&Token]) -> bool {
    let Some(k) = words.iter().rposition(|t| t.is_word("truoc")) else {
        return false;
    };
    let name = &words[k + 1..];
    !name.is_empty()
        && name.len() <= 4
        && name.iter().all(|t| {
            t.word()
                .is_some_and(|w| !matches!(w, "khi" | "sau" | "de" | "nham" | "va"))
        })
}

/// "báo cáo", "số liệu", "kết quả", "sơ kết", "tổng kết", "tình hình" in a label: the period
/// after it is what is reported on.
fn names_a_report(label: &[&Token]) -> bool {
    let words: Vec<&str> = label.iter().filter_map(|t| t.word()).collect();
    words.windows(2).any(|w| {
        matches!(
            (w[0], w[1]),
            ("bao", "cao")
                | ("so", "lieu")
                | ("ket", "qua")
                | ("so", "ket")
                | ("tong", "ket")
                | ("tinh", "hinh")
        )
    })
}

/// A stage's name: words ending with a colon ("Sở Nội vụ:").
fn is_stage_label(label: &[&Token]) -> bool {
    label.last().is_some_and(|t| t.is_sym(':')) && has_meaningful_words(label)
}

/// Relative years ("năm sau") from the last year written before them, else the plan's; each
/// year written moves that base.
fn resolve_relative_years(points: &mut [Point], base: &mut Option<i32>, plan_year: i32) {
    for p in points.iter_mut() {
        match (p.year, p.year_offset) {
            (None, Some(offset)) => p.year = Some(base.unwrap_or(plan_year) + offset),
            (Some(y), None) => *base = Some(y),
            _ => {}
        }
    }
}

/// Drops parenthesised notes of the lunar date ("(tức 27 tháng Chạp)") that the skip pass
/// left (not after a date), each named in a note.
fn drop_lunar_notes(text: &str, toks: &[Token]) -> (Vec<Token>, Vec<Note>) {
    let mut notes = Vec::new();
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let lunar = t.is_sym('(')
            && toks
                .get(i + 1)
                .and_then(Token::word)
                .is_some_and(|w| matches!(w, "tuc" | "nham" | "am" | "al"));
        if lunar {
            let from = i;
            while i < toks.len() && !toks[i].is_sym(')') {
                i += 1;
            }
            let last = &toks[i.min(toks.len() - 1)];
            let span = toks[from].span.start..last.span.end;
            notes.push(Note {
                kind: NoteKind::NotADate {
                    what: "ngày âm lịch ghi kèm",
                    text: text.get(span.clone()).unwrap_or_default().to_string(),
                },
                span,
            });
            i += 1;
            continue;
        }
        out.push(t.clone());
        i += 1;
    }
    (out, notes)
}

fn span_of(toks: &[&Token]) -> Range<usize> {
    let start = toks.first().map_or(0, |t| t.span.start);
    let end = toks.last().map_or(0, |t| t.span.end);
    start..end
}

fn has_meaningful_words(label: &[&Token]) -> bool {
    label
        .iter()
        .filter_map(|t| t.word())
        .any(|w| !FILLER.contains(&w))
}

/// Words or numbers that are not filler: what a label may not drop without naming it ("(báo
/// cáo 6 tháng)").
fn has_unread_words(label: &[&Token]) -> bool {
    has_meaningful_words(label) || label.iter().any(|t| t.num().is_some())
}

/// "Đợt 1", "Giai đoạn 2", "Lần 3": a phase of the work, not a level.
fn is_phase_label(label: &[&Token]) -> bool {
    let words: Vec<&str> = label.iter().filter_map(|t| t.word()).collect();
    let has_num = label.iter().any(|t| t.num().is_some());
    has_num
        && matches!(
            words.first(),
            Some(&"dot") | Some(&"lan") | Some(&"giai") | Some(&"buoc")
        )
}

/// The levels whose names or aliases occur, as whole words, in the label ("cấp huyện, cấp
/// xã" names two). Longer names are matched first and their words are not reused, so "cấp
/// huyện" is not also read as a second mention of "huyện".
/// Whether a label has words other than level names, agency words and filler ("UBND tỉnh
/// yêu cầu các sở": "yêu cầu").
fn has_words_besides_levels(label: &[&Token], ctx: &Context) -> bool {
    const AGENCY: &[&str] = &[
        "ubnd", "uy", "ban", "nhan", "dan", "hdnd", "hoi", "dong", "so", "nganh", "cac", "bo",
        "phan", "mot", "cap", "don", "vi", "co", "quan", "lien", "thong",
    ];
    let level_words: Vec<String> = ctx
        .levels
        .iter()
        .flat_map(|l| &l.names)
        .flat_map(|n| {
            ascii_fold(n)
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    label.iter().filter_map(|t| t.word()).any(|w| {
        !FILLER.contains(&w) && !AGENCY.contains(&w) && !level_words.iter().any(|l| l == w)
    })
}

fn match_levels(label: &[&Token], ctx: &Context) -> Vec<String> {
    let mut words: Vec<Option<&str>> = label.iter().filter_map(|t| t.word()).map(Some).collect();
    let mut names: Vec<(Vec<String>, &str)> = ctx
        .levels
        .iter()
        .flat_map(|l| {
            l.names.iter().map(move |n| {
                let folded: Vec<String> = ascii_fold(n)
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect();
                (folded, l.id.as_str())
            })
        })
        .filter(|(f, _)| !f.is_empty())
        .collect();
    names.sort_by_key(|(f, _)| std::cmp::Reverse(f.len()));
    let mut found: Vec<(usize, String)> = Vec::new();
    for (name, id) in &names {
        let n = name.len();
        let mut k = 0;
        while k + n <= words.len() {
            let hit = (0..n).all(|j| words[k + j] == Some(name[j].as_str()));
            if hit {
                for w in &mut words[k..k + n] {
                    *w = None;
                }
                if !found.iter().any(|(_, f)| f == id) {
                    found.push((k, id.to_string()));
                }
                k += n;
            } else {
                k += 1;
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, id)| id).collect()
}

struct SegmentParser<'a> {
    /// The original text, to quote numbers as written in messages.
    text: &'a str,
    toks: &'a [Token],
    i: usize,
    /// A relative year ("năm sau") read for the point being made.
    year_offset: Option<i32>,
}

impl<'a> SegmentParser<'a> {
    /// A token as written in the original text.
    fn written(&self, t: &Token) -> &'a str {
        self.text.get(t.span.clone()).unwrap_or_default()
    }

    /// A '/' right after a day and month or a month, followed (without a space) by something
    /// that is not a year: "01/01/-5", "6/x". An error naming it, never a silent plan year.
    fn bad_year_after_slash(&self) -> Result<(), ParseError> {
        let Some(slash) = self.tok(self.i).filter(|t| t.is_sym('/')) else {
            return Ok(());
        };
        let mut end = self.i + 1;
        while let Some(t) = self.tok(end) {
            if t.space_before || t.is_sym(',') || t.is_sym(';') || t.is_sym(')') {
                break;
            }
            end += 1;
        }
        if end == self.i + 1 {
            return Ok(());
        }
        let (first, last) = (&self.toks[self.i + 1], &self.toks[end - 1]);
        let shown = self
            .text
            .get(first.span.start..last.span.end)
            .unwrap_or_default();
        Err(ParseError {
            span: slash.span.start..last.span.end,
            message: format!(
                "\"{shown}\" không phải là năm: sau dấu / hãy ghi năm bằng 4 chữ số (ví dụ 01/01/2022)"
            ),
            suggestions: vec![],
        })
    }

    fn tok(&self, k: usize) -> Option<&'a Token> {
        self.toks.get(k)
    }
    fn word(&self, k: usize) -> Option<&'a str> {
        self.toks.get(k).and_then(Token::word)
    }
    fn words_at(&self, k: usize, ws: &[&str]) -> bool {
        ws.iter()
            .enumerate()
            .all(|(n, w)| self.word(k + n) == Some(*w))
    }

    /// Parses an expression at `self.i`; `None` (with `self.i` unspecified) when there is none.
    fn expr(&mut self) -> Result<Option<Expr>, ParseError> {
        let start = self.tok(self.i).map_or(0, |t| t.span.start);
        let mut prefix = Prefix::By;
        let mut horizon = false;
        // Prefix words, in any number ("hoàn thành trước ngày", "chậm nhất đến hết ngày").
        loop {
            let k = self.i;
            horizon |= matches!(self.word(k), Some("den" | "toi"))
                || self.words_at(k, &["giai", "doan"])
                || self.words_at(k, &["tam", "nhin"])
                || self.words_at(k, &["dinh", "huong"]);
            let (step, p) = match self.word(k) {
                Some("truoc") => (1, Some(Prefix::Before)),
                Some("tu") => (1, Some(Prefix::From)),
                Some("ke") if self.word(k + 1) == Some("tu") => (2, Some(Prefix::From)),
                Some("bat") if self.words_at(k + 1, &["dau", "tu"]) => (3, Some(Prefix::From)),
                Some("cham") if self.word(k + 1) == Some("nhat") => (2, Some(Prefix::By)),
                Some("khong") if self.word(k + 1) == Some("qua") => (2, Some(Prefix::By)),
                Some("khong") if self.words_at(k + 1, &["muon", "hon"]) => (3, Some(Prefix::By)),
                Some("den") | Some("toi") if self.word(k + 1) == Some("het") => {
                    (2, Some(Prefix::By))
                }
                Some("den") | Some("toi") | Some("vao") | Some("trong") | Some("ca") => {
                    (1, Some(Prefix::By))
                }
                Some("hoan") if self.word(k + 1) == Some("thanh") => (2, None),
                Some("giai") if self.word(k + 1) == Some("doan") => (2, None),
                Some("tam") if self.word(k + 1) == Some("nhin") => (2, None),
                Some("dinh") if self.word(k + 1) == Some("huong") => (2, None),
                Some("thoi") if matches!(self.word(k + 1), Some("han") | Some("gian")) => (2, None),
                Some("sau") if self.is_after_word(k) => {
                    let t = &self.toks[k];
                    return Err(ParseError {
                        span: t.span.clone(),
                        message: "\"sau ...\" không phải là thời hạn: hãy ghi hạn chót (\"trước ngày ...\", \"chậm nhất ngày ...\") hoặc khai báo `due`".into(),
                        suggestions: vec!["Trước ngày 15/12/2022", "Chậm nhất ngày 31/3/2022"],
                    });
                }
                _ => (0, None),
            };
            if step == 0 {
                break;
            }
            if let Some(p) = p {
                // "từ ... đến" keeps From; "trước" wins over fillers.
                if prefix == Prefix::By {
                    prefix = p;
                }
            }
            self.i += step;
        }
        let Some(first) = self.point(None)? else {
            return Ok(None);
        };
        let mut points = vec![first];
        let mut links = Vec::new();
        loop {
            let save = self.i;
            let link = match self.tok(self.i) {
                Some(t) if t.is_sym(',') || t.is_sym('&') || t.is_word("va") => Link::List,
                Some(t) if t.is_sym('-') || t.is_word("den") || t.is_word("toi") => Link::Range,
                _ => break,
            };
            self.i += 1;
            if self.word(self.i) == Some("het") {
                self.i += 1;
            }
            let unit = points.last().map(|p: &Point| p.unit);
            match self.point(unit)? {
                Some(p) => {
                    points.push(p);
                    links.push(link);
                }
                None => {
                    self.i = save;
                    break;
                }
            }
        }
        Ok(Some(Expr {
            prefix,
            horizon,
            start,
            points,
            links,
        }))
    }

    /// "sau ngày X" (after) as opposed to "sáu tháng đầu năm" (six).
    fn is_after_word(&self, k: usize) -> bool {
        let next = self.word(k + 1);
        match next {
            Some("thang") => !matches!(self.word(k + 2), Some("dau") | Some("cuoi")),
            Some("ngay") | Some("quy") | Some("qui") => true,
            _ => self.tok(k + 1).and_then(Token::num).is_some(),
        }
    }

    /// A weekday written before a date: "thứ Bảy," or "Chủ nhật,".
    fn weekday(&mut self) -> Option<(chrono::Weekday, Range<usize>)> {
        use chrono::Weekday::*;
        let k = self.i;
        let day = match (self.word(k), self.word(k + 1)) {
            (Some("thu"), Some("hai")) => Mon,
            (Some("thu"), Some("ba")) => Tue,
            (Some("thu"), Some("tu")) => Wed,
            (Some("thu"), Some("nam")) => Thu,
            (Some("thu"), Some("sau")) => Fri,
            (Some("thu"), Some("bay")) => Sat,
            (Some("chu"), Some("nhat")) => Sun,
            // "thứ 6, ngày 14/3": the weekday as a number (2 is Monday).
            (Some("thu"), None) => match self.tok(k + 1).and_then(Token::num) {
                Some((2, 1)) => Mon,
                Some((3, 1)) => Tue,
                Some((4, 1)) => Wed,
                Some((5, 1)) => Thu,
                Some((6, 1)) => Fri,
                Some((7, 1)) => Sat,
                _ => return None,
            },
            _ => return None,
        };
        let span = self.toks[k].span.start..self.toks[k + 1].span.end;
        self.i += 2;
        if self.tok(self.i).is_some_and(|t| t.is_sym(',')) {
            self.i += 1;
        }
        Some((day, span))
    }

    /// A point in time, or `None` if there is none at `self.i` (then `self.i` is restored).
    /// `inherited` is the unit of the previous point in a list or range.
    fn point(&mut self, inherited: Option<Unit>) -> Result<Option<Point>, ParseError> {
        let save = self.i;
        let weekday = self.weekday();
        let result = self.point_inner(inherited)?;
        match result {
            Some(mut p) => {
                p.weekday = weekday;
                Ok(Some(p))
            }
            None => {
                self.i = save;
                Ok(None)
            }
        }
    }

    fn point_inner(&mut self, inherited: Option<Unit>) -> Result<Option<Point>, ParseError> {
        let k = self.i;
        let Some(t) = self.tok(k) else {
            return Ok(None);
        };
        let start = t.span.start;
        // "đầu năm 2022", "cuối tháng 6", "giữa năm".
        if let Some(w @ ("dau" | "cuoi" | "giua")) = t.word() {
            let unit_word = self.word(k + 1);
            let part = match (w, unit_word) {
                ("dau", Some("nam")) => Part::YearStart,
                ("giua", Some("nam")) => Part::YearMid,
                ("cuoi", Some("nam")) => Part::YearEnd,
                ("dau", Some("thang")) => Part::MonthStart,
                ("giua", Some("thang")) => Part::MonthMid,
                ("cuoi", Some("thang")) | ("cuoi", Some("quy")) | ("cuoi", Some("qui")) => {
                    // The end of a month or quarter is the month or quarter itself.
                    self.i = k + 1;
                    return self.point_inner(None);
                }
                _ => return Ok(None),
            };
            self.i = k + 2;
            if unit_word == Some("nam") {
                let year = self.year_after_unit()?;
                return Ok(Some(self.make(
                    Unit::Year,
                    Some(part),
                    0,
                    None,
                    year,
                    start,
                )));
            }
            let Some(month) = self.small_number(Unit::Month)? else {
                return Ok(None);
            };
            let year = self.year_tail()?;
            return Ok(Some(self.make(
                Unit::Month,
                Some(part),
                month,
                None,
                year,
                start,
            )));
        }
        // "6 tháng đầu năm", "sáu tháng cuối năm".
        let count = match (t.num(), t.word()) {
            (Some((n, _)), _) => Some(n),
            (_, Some("ba")) => Some(3),
            (_, Some("sau")) => Some(6),
            (_, Some("chin")) => Some(9),
            _ => None,
        };
        if let Some(n) = count {
            if self.word(k + 1) == Some("thang") {
                if let Some(side @ ("dau" | "cuoi")) = self.word(k + 2) {
                    if !(1..=12).contains(&n) {
                        return Err(err(
                            &self.toks[k],
                            format!(
                                "một năm chỉ có 12 tháng, không có {} tháng",
                                self.written(&self.toks[k])
                            ),
                        ));
                    }
                    self.i = k + 3;
                    let year = if self.word(self.i) == Some("nam") {
                        self.i += 1;
                        self.year_tail_bare()?
                    } else {
                        None
                    };
                    let part = if side == "dau" {
                        Part::FirstMonths(n)
                    } else {
                        Part::LastMonths(n)
                    };
                    return Ok(Some(self.make(
                        Unit::Year,
                        Some(part),
                        0,
                        None,
                        year,
                        start,
                    )));
                }
            }
        }
        let next_is_num = self.tok(k + 1).and_then(Token::num).is_some();
        let unit = match t.word() {
            Some("ngay") => Some(Unit::Day),
            Some("thang") => Some(Unit::Month),
            Some("quy") | Some("qui") => Some(Unit::Quarter),
            // "T6/2023", "Q2/2023".
            Some("t") if next_is_num => Some(Unit::Month),
            Some("q") if next_is_num => Some(Unit::Quarter),
            Some("nam") if !next_is_num => {
                // "năm nay", "năm sau": a whole year relative to the period or the plan.
                if let Some((offset, len)) = self.relative_year(k + 1).filter(|(o, _)| *o >= 0) {
                    self.i = k + 1 + len;
                    self.year_offset = Some(offset);
                    return Ok(Some(self.make(Unit::Year, None, 0, None, None, start)));
                }
                // "Cả năm", "trong năm": the plan's year.
                let whole = matches!(
                    k.checked_sub(1).and_then(|j| self.word(j)),
                    Some("ca" | "trong")
                );
                if whole && !matches!(self.word(k + 1), Some("sau" | "toi")) {
                    self.i = k + 1;
                    return Ok(Some(self.make(Unit::Year, None, 0, None, None, start)));
                }
                return Ok(None);
            }
            Some("nam") => Some(Unit::Year),
            _ => None,
        };
        let unit = match unit {
            Some(u) => {
                self.i = k + 1;
                u
            }
            None => match inherited {
                Some(u) => u,
                None if t.num().is_some() => {
                    // A bare number: a year ("2022") or a date ("30/6/2022", "30-6-2022").
                    let month_year = self.date_sep(k + 1)
                        && self
                            .tok(k + 2)
                            .and_then(Token::num)
                            .is_some_and(|(_, d)| d == 4);
                    match t.num() {
                        Some((_, 4)) => Unit::Year,
                        // "6/2025": a month.
                        _ if month_year => Unit::Month,
                        _ if self.date_sep(k + 1) || self.day_month_dash(k + 1) => Unit::Day,
                        _ => return Ok(None),
                    }
                }
                None => return Ok(None),
            },
        };
        match unit {
            Unit::Year => {
                let Some(t) = self.tok(self.i) else {
                    return Ok(None);
                };
                match t.num() {
                    Some((y, 4)) => {
                        self.i += 1;
                        Ok(Some(self.make(
                            Unit::Year,
                            None,
                            0,
                            None,
                            Some(y as i32),
                            start,
                        )))
                    }
                    Some(_) => Err(err(
                        t,
                        format!(
                            "năm \"{}\" không hợp lệ: hãy ghi đủ 4 chữ số",
                            self.written(t)
                        ),
                    )),
                    None => Ok(None),
                }
            }
            Unit::Quarter => {
                let Some(q) = self.small_number(Unit::Quarter)? else {
                    return Ok(None);
                };
                let year = self.year_tail()?;
                Ok(Some(self.make(Unit::Quarter, None, q, None, year, start)))
            }
            Unit::Month => {
                let Some(m) = self.small_number(Unit::Month)? else {
                    return Ok(None);
                };
                let year = self.year_tail()?;
                Ok(Some(self.make(Unit::Month, None, m, None, year, start)))
            }
            Unit::Day => {
                let Some(d) = self.small_number(Unit::Day)? else {
                    return Ok(None);
                };
                let mut month = None;
                let mut year = None;
                if self.date_sep(self.i) || self.day_month_dash(self.i) {
                    self.i += 1;
                    month = self.small_number(Unit::Month)?;
                    if month.is_none() {
                        return Err(self.expected("tháng"));
                    }
                    if self.date_sep(self.i) {
                        self.i += 1;
                        year = self.year_tail_bare()?;
                        if year.is_none() {
                            return Err(self.expected("năm"));
                        }
                    } else {
                        self.bad_year_after_slash()?;
                        year = self.year_words()?;
                    }
                } else if self.word(self.i) == Some("thang") {
                    self.i += 1;
                    month = self.small_number(Unit::Month)?;
                    if month.is_none() {
                        return Err(self.expected("tháng"));
                    }
                    year = self.year_tail()?;
                }
                Ok(Some(self.make(Unit::Day, None, d, month, year, start)))
            }
        }
    }

    fn make(
        &mut self,
        unit: Unit,
        part: Option<Part>,
        value: u32,
        month: Option<u32>,
        year: Option<i32>,
        start: usize,
    ) -> Point {
        let end = self
            .i
            .checked_sub(1)
            .and_then(|k| self.toks.get(k))
            .map_or(start, |t| t.span.end)
            .max(start);
        Point {
            unit,
            part,
            value,
            month,
            year,
            span: start..end,
            weekday: None,
            year_offset: self.year_offset.take(),
        }
    }

    fn expected(&self, what: &str) -> ParseError {
        match self.tok(self.i).or_else(|| self.toks.last()) {
            Some(t) => err(t, format!("thiếu {what} ở đây")),
            None => ParseError {
                span: 0..0,
                message: format!("thiếu {what}"),
                suggestions: vec![],
            },
        }
    }

    /// A date separator at `k`: '/' or '.', or '-' written tight in a full "30-6-2022".
    fn date_sep(&self, k: usize) -> bool {
        let Some(t) = self.tok(k) else { return false };
        if t.is_sym('/') {
            return self.tok(k + 1).and_then(Token::num).is_some();
        }
        if t.is_sym('.') {
            return !self.tok(k + 1).is_none_or(|n| n.space_before)
                && self.tok(k + 1).and_then(Token::num).is_some();
        }
        if t.is_sym('-') && !t.space_before {
            let tight = |j: usize| self.tok(j).is_some_and(|x| !x.space_before);
            // d-m-yyyy: this dash and the one after the month, or m-yyyy after the month.
            let year_next = self
                .tok(k + 1)
                .and_then(Token::num)
                .is_some_and(|(_, d)| d == 4);
            let dmy = self.tok(k + 1).and_then(Token::num).is_some()
                && self.tok(k + 2).is_some_and(|x| x.is_sym('-'))
                && self
                    .tok(k + 3)
                    .and_then(Token::num)
                    .is_some_and(|(_, d)| d == 4);
            return tight(k + 1) && (year_next || (dmy && tight(k + 2) && tight(k + 3)));
        }
        false
    }

    /// A dash between a day and a month written tight with no year ("31-8", "trước 31-8 năm
    /// nay"), as opposed to a range of days of a month ("8-15/10").
    fn day_month_dash(&self, k: usize) -> bool {
        let tight = |j: usize| self.tok(j).is_some_and(|x| !x.space_before);
        let month = self
            .tok(k + 1)
            .and_then(Token::num)
            .is_some_and(|(m, digits)| digits <= 2 && (1..=12).contains(&m));
        let continues = self
            .tok(k + 2)
            .is_some_and(|x| !x.space_before && (x.is_sym('/') || x.is_sym('.') || x.is_sym('-')));
        self.tok(k).is_some_and(|t| t.is_sym('-'))
            && tight(k)
            && tight(k + 1)
            && month
            && !continues
    }

    /// A day, month or quarter number (quarters also in Roman numerals).
    fn small_number(&mut self, unit: Unit) -> Result<Option<u32>, ParseError> {
        let Some(t) = self.tok(self.i) else {
            return Ok(None);
        };
        let (value, max, name) = match unit {
            Unit::Day => (t.num().map(|(n, _)| n), 31, "ngày"),
            Unit::Month => (t.num().map(|(n, _)| n), 12, "tháng"),
            Unit::Quarter => (
                t.num().map(|(n, _)| n).or_else(|| t.word().and_then(roman)),
                4,
                "quý",
            ),
            Unit::Year => return Ok(None),
        };
        let Some(value) = value else {
            if unit == Unit::Quarter
                && t.word()
                    .is_some_and(|w| w.chars().all(|c| "ivxl".contains(c)))
            {
                return Err(err(
                    t,
                    format!(
                        "không có Quý {}: một năm chỉ có Quý I, II, III, IV",
                        t.word().unwrap_or_default().to_uppercase()
                    ),
                ));
            }
            return Ok(None);
        };
        if value == 0 || value > max {
            let hint = match unit {
                Unit::Quarter => "một năm chỉ có Quý I, II, III, IV (hoặc 1-4)".to_string(),
                _ => format!("{name} chỉ từ 1 đến {max}"),
            };
            if t.num().is_some_and(|(_, digits)| digits > 9) {
                return Err(err(
                    t,
                    format!("số \"{}\" quá lớn: {hint}", self.written(t)),
                ));
            }
            let shown = if unit == Unit::Quarter {
                t.word()
                    .map(str::to_uppercase)
                    .unwrap_or_else(|| value.to_string())
            } else {
                value.to_string()
            };
            return Err(err(t, format!("không có {name} {shown}: {hint}")));
        }
        self.i += 1;
        Ok(Some(value))
    }

    /// After a month or quarter: "/2022", "-2022", "năm 2022", or nothing.
    fn year_tail(&mut self) -> Result<Option<i32>, ParseError> {
        if self.date_sep(self.i) {
            self.i += 1;
            return self.year_tail_bare();
        }
        self.bad_year_after_slash()?;
        self.year_words()
    }

    /// "năm 2022" or "năm sau" (after a date written with numbers), or nothing.
    fn year_words(&mut self) -> Result<Option<i32>, ParseError> {
        // "ngày 31/01 của năm liền kề".
        if self.words_at(self.i, &["cua", "nam"]) && self.relative_year(self.i + 2).is_some() {
            self.i += 1;
        }
        if self.word(self.i) != Some("nam") {
            return Ok(None);
        }
        if self.tok(self.i + 1).and_then(Token::num).is_some() {
            self.i += 1;
            return self.year_tail_bare();
        }
        if let Some((offset, len)) = self.relative_year(self.i + 1) {
            // "trước ngày 15/01 năm sau": resolved against the period or the plan's year.
            self.i += 1 + len;
            self.year_offset = Some(offset);
        }
        Ok(None)
    }

    /// The words after "năm" that name a year relative to another, at `k`: the offset and
    /// how many words.
    fn relative_year(&self, k: usize) -> Option<(i32, usize)> {
        let next = self.word(k + 1);
        Some(match self.word(k)? {
            "nay" => (0, 1),
            "sau" | "toi" => (1, 1),
            "ke" | "lien" if matches!(next, Some("tiep" | "sau" | "ke")) => (1, 2),
            "ke" => (1, 1),
            "tiep" if next == Some("theo") => (1, 2),
            "lien" if next == Some("truoc") => (-1, 2),
            // "năm trước" (last year), not "năm, trước ngày ...".
            "truoc" => {
                let introduces = self.tok(k + 1).is_some_and(|t| {
                    t.num().is_some()
                        || matches!(t.word(), Some("ngay" | "thang" | "quy" | "qui" | "khi"))
                });
                if introduces {
                    return None;
                }
                (-1, 1)
            }
            _ => return None,
        })
    }

    /// After "năm" in "đầu năm 2022".
    fn year_after_unit(&mut self) -> Result<Option<i32>, ParseError> {
        if self.tok(self.i).and_then(Token::num).is_some() {
            return self.year_tail_bare();
        }
        Ok(None)
    }

    /// A year number right here: four digits, or two meaning 20xx.
    fn year_tail_bare(&mut self) -> Result<Option<i32>, ParseError> {
        let Some(t) = self.tok(self.i) else {
            return Ok(None);
        };
        let Some((y, digits)) = t.num() else {
            return Ok(None);
        };
        let year = match digits {
            4 => y as i32,
            2 => 2000 + y as i32,
            _ => {
                return Err(err(
                    t,
                    format!(
                        "năm \"{}\" không hợp lệ: hãy ghi đủ 4 chữ số",
                        self.written(t)
                    ),
                ))
            }
        };
        if !(1900..=2200).contains(&year) {
            return Err(err(t, format!("năm {year} nằm ngoài khoảng 1900-2200")));
        }
        self.i += 1;
        Ok(Some(year))
    }
}

fn err(t: &Token, message: String) -> ParseError {
    ParseError {
        span: t.span.clone(),
        message,
        suggestions: vec![],
    }
}

/// Fills left-out months and years from the nearest point on the right, then on the left,
/// then the plan's year.
fn fill_missing(points: &mut [Point], plan_year: i32, notes: &mut Vec<Note>) {
    let mut year = None;
    let mut month = None;
    for p in points.iter_mut().rev() {
        if p.unit == Unit::Day && p.month.is_none() {
            p.month = month;
        }
        if p.year.is_none() {
            p.year = year;
        }
        year = p.year.or(year);
        month = match p.unit {
            Unit::Day => p.month,
            Unit::Month => Some(p.value),
            _ => None,
        }
        .or(month);
    }
    let mut year = None;
    for p in points.iter_mut() {
        if p.year.is_none() {
            p.year = year;
        }
        year = p.year.or(year);
    }
    for p in points.iter_mut() {
        if p.year.is_none() {
            p.year = Some(plan_year);
            notes.push(Note {
                span: p.span.clone(),
                kind: NoteKind::YearAssumed(plan_year),
            });
        }
    }
}

/// The first and last day a point covers.
fn period(p: &Point) -> Result<(NaiveDate, NaiveDate), ParseError> {
    let year = p.year.unwrap_or(2000);
    let bad = |msg: String| ParseError {
        span: p.span.clone(),
        message: msg,
        suggestions: vec![],
    };
    let ymd = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d);
    let month_range = |m: u32| -> Option<(NaiveDate, NaiveDate)> {
        let first = ymd(year, m, 1)?;
        let last = last_day_of_month(year, m)?;
        Some((first, last))
    };
    let range = match (p.unit, p.part) {
        (Unit::Day, _) => {
            let Some(m) = p.month else {
                return Err(bad(format!("ngày {} thiếu tháng", p.value)));
            };
            let d = ymd(year, m, p.value).ok_or_else(|| {
                bad(format!(
                    "ngày {:02}/{:02}/{year} không tồn tại (tháng {m} năm {year} có {} ngày)",
                    p.value,
                    m,
                    last_day_of_month(year, m).map_or(0, |d| d.day())
                ))
            })?;
            Some((d, d))
        }
        (Unit::Month, None) => month_range(p.value),
        (Unit::Month, Some(Part::MonthStart)) => ymd(year, p.value, 1).zip(ymd(year, p.value, 10)),
        (Unit::Month, Some(Part::MonthMid)) => ymd(year, p.value, 1).zip(ymd(year, p.value, 15)),
        (Unit::Month, Some(_)) => month_range(p.value),
        (Unit::Quarter, _) => {
            let first = month_range(p.value * 3 - 2);
            let last = month_range(p.value * 3);
            first.zip(last).map(|(a, b)| (a.0, b.1))
        }
        (Unit::Year, None) => ymd(year, 1, 1).zip(ymd(year, 12, 31)),
        (Unit::Year, Some(part)) => {
            let (from, to) = match part {
                Part::FirstMonths(n) => (1, n),
                Part::LastMonths(n) => (13 - n, 12),
                Part::YearStart => (1, 3),
                Part::YearMid => (1, 6),
                Part::YearEnd => (10, 12),
                Part::MonthStart | Part::MonthMid => (1, 12),
            };
            month_range(from)
                .zip(month_range(to))
                .map(|(a, b)| (a.0, b.1))
        }
    };
    range.ok_or_else(|| bad("thời gian không hợp lệ".into()))
}

fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

/// The (start, due) of each milestone an expression stands for.
fn expr_dates(
    expr: &Expr,
    notes: &mut Vec<Note>,
) -> Result<Vec<(Option<NaiveDate>, NaiveDate)>, ParseError> {
    let mut periods = Vec::with_capacity(expr.points.len());
    for p in &expr.points {
        let (first, last) = period(p)?;
        if let Some((weekday, span)) = &p.weekday {
            if p.unit == Unit::Day && first.weekday() != *weekday {
                notes.push(Note {
                    span: span.clone(),
                    kind: NoteKind::WeekdayMismatch {
                        written: weekday_name(*weekday).to_string(),
                        date: first,
                    },
                });
            }
        }
        periods.push((first, last));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < periods.len() {
        let (first, last) = periods[i];
        if expr.links.get(i) == Some(&Link::Range) {
            if let Some(&(_, end)) = periods.get(i + 1) {
                if end < first {
                    let p = &expr.points[i + 1];
                    return Err(ParseError {
                        span: expr.points[i].span.start..p.span.end,
                        message: format!(
                            "khoảng thời gian kết thúc ({}) trước khi bắt đầu ({})",
                            crate::dates::dmy(end),
                            crate::dates::dmy(first)
                        ),
                        suggestions: vec!["Từ ngày 15/3/2022 đến ngày 15/4/2022"],
                    });
                }
                out.push((Some(first), end));
                i += 2;
                continue;
            }
        }
        let due = match expr.prefix {
            Prefix::By => last,
            Prefix::Before | Prefix::From => first.checked_sub_days(Days::new(1)).unwrap_or(first),
        };
        out.push((None, due));
        i += 1;
    }
    Ok(out)
}

fn weekday_name(w: chrono::Weekday) -> &'static str {
    // Any date with that weekday gives its name.
    let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(); // a Monday
    let d = base + chrono::Duration::days(i64::from(w.num_days_from_monday()));
    weekday_vi(d)
}
