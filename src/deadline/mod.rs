//! The Vietnamese deadline language: turns the free-text "Thời gian" of a plan task
//! ("Quý II/2022", "Trước ngày 20 hằng tháng", "Tại Bộ phận một cửa tỉnh từ ngày 01/6/2022;
//! cấp huyện từ ngày 01/12/2022") into a [`Deadline`].
//!
//! Pure: no I/O, no clock, never panics. The plan's year (for texts that leave it out) and the
//! administrative levels (data, not code) are passed in a [`Context`].
//!
//! Semantics (also in the README): a period means its last day; a range means its end
//! ("đến hết ngày X" includes X); "trước X" and "từ X" mean done before X begins; "ngày X",
//! "chậm nhất ngày X", "đến ngày X" mean the end of X; a list or phases are several milestones.

mod dated;
mod lex;
mod numbers;
mod periodic;
pub mod recur;
mod skip;

use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;
use std::ops::Range;

/// The longest time text read, in characters.
pub const MAX_TIME_CHARS: usize = 2000;

/// What the parser needs to know besides the text.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The year of the plan, for texts that leave the year out ("trong tháng 5").
    pub plan_year: i32,
    /// The administrative levels, for staged deadlines ("cấp huyện từ ngày ...").
    pub levels: Vec<LevelNames>,
}

/// One level's id and every name it may be written with ("cấp huyện", "huyện").
#[derive(Debug, Clone)]
pub struct LevelNames {
    pub id: String,
    pub names: Vec<String>,
}

/// How a task's time text was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deadline {
    /// One or more dated milestones. Several milestones come from lists ("Quý III, IV/2022"),
    /// phases, or stages by level; a milestone with a level applies to that level's agencies.
    Dated(Vec<Milestone>),
    /// A recurrence, as an RFC 5545 RRULE body ("FREQ=MONTHLY;BYMONTHDAY=19"). A window that
    /// repeats ("từ ngày 2 đến ngày 6 hằng tháng") is due on its last day and keeps its first
    /// day of the month in `window_from`.
    Recurring {
        rrule: String,
        window_from: Option<u32>,
    },
    /// Periodic, but the text does not say when ("Theo định kỳ"): needs an explicit
    /// `recurrence` in the plan.
    PeriodicUnspecified,
    /// "Thường xuyên": ongoing, no deadline of its own.
    Continuous,
    /// "Khi có yêu cầu" and other event-triggered times: no date of their own.
    OnRequest,
}

/// One dated milestone: done by the end of `due` (local time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Milestone {
    /// The level this milestone applies to (a level id), or `None` for everyone.
    pub level: Option<String>,
    /// The date the work starts, when the text gives a range ("Từ ngày 15/3 đến ngày 15/4").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<NaiveDate>,
    /// The last day (inclusive) to get it done.
    pub due: NaiveDate,
    /// The words that introduced it in the text ("Tại Bộ phận một cửa tỉnh", "Đợt 1").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Staged by agency ("UBND cấp huyện: trước 30/6; Sở Nội vụ: trước 31/7"): the name its
    /// stage was written under, as the parser read it (resolved by the config check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_of: Option<String>,
    /// The agencies that name stands for (ids), once resolved: only their lead reminders
    /// follow this milestone. Empty: everyone's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agencies: Vec<String>,
}

impl Deadline {
    /// A recurrence with no window.
    pub fn recurring(rrule: impl Into<String>) -> Deadline {
        Deadline::Recurring {
            rrule: rrule.into(),
            window_from: None,
        }
    }
}

impl Milestone {
    /// A milestone due on `due`, for everyone.
    pub fn on(due: NaiveDate) -> Milestone {
        Milestone {
            level: None,
            start: None,
            due,
            label: None,
            stage_of: None,
            agencies: Vec::new(),
        }
    }

    /// Whether this milestone is the agency's own (as a lead): for its level and, when staged
    /// by agency, for it.
    pub fn applies_to(&self, agency: &str, level: Option<&str>) -> bool {
        (self.level.is_none() || self.level.as_deref() == level)
            && (self.agencies.is_empty() || self.agencies.iter().any(|a| a == agency))
    }
}

impl Deadline {
    /// The stable name of this kind in `check --format json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Deadline::Dated(ms) if ms.iter().any(|m| m.level.is_some()) => "staged",
            Deadline::Dated(_) => "due",
            Deadline::Recurring { .. } | Deadline::PeriodicUnspecified => "recurring",
            Deadline::Continuous => "continuous",
            Deadline::OnRequest => "on_request",
        }
    }

    /// The final date of a dated deadline.
    pub fn last_due(&self) -> Option<NaiveDate> {
        match self {
            Deadline::Dated(ms) => ms.iter().map(|m| m.due).max(),
            _ => None,
        }
    }
}

/// Something worth telling the admin about a text that was read successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub span: Range<usize>,
    pub kind: NoteKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteKind {
    /// The text left out the year; the plan's year was used.
    YearAssumed(i32),
    /// Words that are neither a date nor a level were skipped.
    Ignored(String),
    /// A weekday was written that does not match the date ("thứ Bảy, ngày 28/4/2024").
    WeekdayMismatch { written: String, date: NaiveDate },
    /// Periodic text with a part the parser did not use for the rule.
    Periodic(String),
    /// Numbers or words that look like dates but are not the deadline: a document's number
    /// and date, a count, an hour, a lunar gloss ("đã bỏ qua số lượng: \"1.500 hồ sơ\"").
    NotADate { what: &'static str, text: String },
    /// The text could be read more than one way; the message says which reading was chosen.
    Assumed(String),
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoteKind::YearAssumed(y) => {
                write!(f, "thời gian không ghi năm; đã lấy năm của kế hoạch ({y})")
            }
            NoteKind::Ignored(t) => write!(f, "đã bỏ qua phần không hiểu: \"{t}\""),
            NoteKind::WeekdayMismatch { written, date } => write!(
                f,
                "\"{written}\" không khớp với ngày {}: ngày này là {}",
                crate::dates::dmy(*date),
                weekday_vi(*date)
            ),
            NoteKind::Periodic(t) | NoteKind::Assumed(t) => write!(f, "{t}"),
            NoteKind::NotADate { what, text } => write!(f, "đã bỏ qua {what}: \"{text}\""),
        }
    }
}

/// The result of reading a time text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub deadline: Deadline,
    pub notes: Vec<Note>,
}

/// Why a time text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Byte span of the offending part of the text.
    pub span: Range<usize>,
    /// What is wrong, in Vietnamese, for the admin.
    pub message: String,
    /// Accepted forms closest to what was written.
    pub suggestions: Vec<&'static str>,
}

/// Accepted forms, shown as suggestions when a text cannot be read.
pub const EXAMPLES: &[&str] = &[
    "Năm 2022",
    "Quý II/2022",
    "Quý III, IV/2022",
    "6 tháng đầu năm 2022",
    "Tháng 3/2022",
    "trong tháng 4 năm 2022",
    "Trước ngày 15/12/2022",
    "Chậm nhất ngày 31/3/2022",
    "ngày 30 tháng 6 năm 2022",
    "Từ ngày 15/3/2022 đến ngày 15/4/2022",
    "Cấp tỉnh từ ngày 01/6/2022; cấp huyện từ ngày 01/12/2022",
    "Hằng tháng",
    "Định kỳ hằng quý",
    "Trước ngày 20 hằng tháng",
    "Thường xuyên",
    "Khi có yêu cầu",
];

/// Reads a time text. Never panics, whatever the input.
pub fn parse(text: &str, ctx: &Context) -> Result<Parsed, ParseError> {
    // A plan's time is a phrase or a few phases: a text longer than this is a mistake (a whole
    // paragraph pasted), and reading it would cost more than it is worth.
    let chars = text.chars().count();
    if chars > MAX_TIME_CHARS {
        return Err(ParseError {
            span: 0..0,
            message: format!(
                "thời gian dài quá ({chars} ký tự; tối đa {MAX_TIME_CHARS}): không đọc"
            ),
            suggestions: vec![],
        });
    }
    let toks = lex::tokenize(text);
    let toks = numbers::drop_spelled(text, &toks)?;
    let (toks, skipped) = skip::non_dates(text, &toks, ctx.plan_year);
    if toks.is_empty() {
        let message = match skipped.first() {
            Some(note) => format!("không có thời hạn: {}", note.kind),
            None => "thời gian để trống".into(),
        };
        return Err(ParseError {
            span: 0..text.len(),
            message,
            suggestions: EXAMPLES[..4].to_vec(),
        });
    }
    let words = Words::new(&toks);
    let with_skipped = |mut parsed: Parsed| {
        let mut notes = skipped.clone();
        parsed.notes = name_once(text, &skipped, std::mem::take(&mut parsed.notes));
        notes.append(&mut parsed.notes);
        parsed.notes = notes;
        parsed
    };
    if let Some(mut parsed) = periodic::classify(text, &toks, &words)? {
        if matches!(
            parsed.deadline,
            Deadline::Recurring { .. } | Deadline::PeriodicUnspecified
        ) {
            parsed.notes.extend(rule_words_unread(text, &toks));
        }
        return Ok(with_skipped(parsed));
    }
    dated::parse(text, &toks, ctx)
        .map(with_skipped)
        .map_err(|mut e| {
            if e.suggestions.is_empty() {
                e.suggestions = nearest_examples(text);
            }
            e
        })
}

/// The words and numbers of a text that its dated reading did not use (byte spans): words
/// outside every expression that gave a milestone and every label read as a level, phase or
/// stage. Filler words ([`FILLER_WORDS`]: "trước", "ngày", "hoàn thành", ...) and punctuation
/// are not counted; numbers and words taken out as not dates (document numbers, counts, hours)
/// are named by their own notes and not counted either. Empty when the text is not read as
/// dates (periodic, continuous, on request) or cannot be read.
///
/// The rule the corpora are checked against: every span returned here lies inside a note of
/// the reading ("đã bỏ qua phần không hiểu: ...").
pub fn unread(text: &str, ctx: &Context) -> Vec<Range<usize>> {
    if text.chars().count() > MAX_TIME_CHARS {
        return Vec::new();
    }
    let toks = lex::tokenize(text);
    let Ok(toks) = numbers::drop_spelled(text, &toks) else {
        return Vec::new();
    };
    let (toks, _) = skip::non_dates(text, &toks, ctx.plan_year);
    if toks.is_empty() {
        return Vec::new();
    }
    match parse(text, ctx) {
        Ok(Parsed {
            deadline: Deadline::Dated(_),
            ..
        }) => dated::unread(text, &toks, ctx),
        // Rules are read by the phrases they hold: a word outside every phrase was not read.
        // (Continuous and event-triggered texts have no deadline: their words describe it.)
        Ok(Parsed {
            deadline: Deadline::Recurring { .. } | Deadline::PeriodicUnspecified,
            ..
        }) => toks
            .iter()
            .filter(|t| is_rule_word_unread(t))
            .map(|t| t.span.clone())
            .collect(),
        Ok(_) | Err(_) => Vec::new(),
    }
}

/// A word of a rule that no phrase of the rule readers holds, nor the filler.
fn is_rule_word_unread(t: &lex::Token) -> bool {
    t.word()
        .is_some_and(|w| !dated::FILLER.contains(&w) && !periodic::VOCABULARY.contains(&w))
}

/// Notes naming the words of a rule the readers did not use ("họp giao ban vào thứ 3 hằng
/// tuần": "họp giao ban"), a run of words at a time (read words between two unread ones are
/// quoted with them).
fn rule_words_unread(text: &str, toks: &[lex::Token]) -> Vec<Note> {
    let unread: Vec<usize> = (0..toks.len())
        .filter(|&k| is_rule_word_unread(&toks[k]))
        .collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for k in unread {
        match runs.last_mut() {
            Some((_, last))
                if k - *last <= 2 && toks[*last + 1..k].iter().all(|t| t.word().is_some()) =>
            {
                *last = k;
            }
            _ => runs.push((k, k)),
        }
    }
    runs.into_iter()
        .map(|(a, b)| {
            let span = toks[a].span.start..toks[b].span.end;
            Note {
                kind: NoteKind::Ignored(text.get(span.clone()).unwrap_or_default().to_string()),
                span,
            }
        })
        .collect()
}

/// Words a dated text may hold without being read ("hoàn thành trước ngày ...").
pub const FILLER_WORDS: &[&str] = dated::FILLER;

/// Words left unread that hold a part already named as not a date ("Đại hội nhiệm kỳ 2025 -
/// 2030 của tỉnh"): the unread words are quoted without that part, joined by "…", so each
/// thing is named once; a note left with nothing to quote is dropped.
fn name_once(text: &str, skipped: &[Note], notes: Vec<Note>) -> Vec<Note> {
    notes
        .into_iter()
        .filter_map(|note| {
            let NoteKind::Ignored(_) = note.kind else {
                return Some(note);
            };
            let inside: Vec<&Range<usize>> = skipped
                .iter()
                .map(|s| &s.span)
                .filter(|s| note.span.start <= s.start && s.end <= note.span.end && s.start < s.end)
                .collect();
            if inside.is_empty() {
                return Some(note);
            }
            let mut pieces = Vec::new();
            let mut at = note.span.start;
            let cuts = inside.iter().map(|s| (s.start, s.end));
            for (start, end) in cuts.chain(std::iter::once((note.span.end, note.span.end))) {
                if start >= at {
                    let piece = text
                        .get(at..start)
                        .unwrap_or_default()
                        .trim_matches(|c: char| !c.is_alphanumeric());
                    if !piece.is_empty() {
                        pieces.push(piece);
                    }
                    at = end;
                }
            }
            (!pieces.is_empty()).then(|| Note {
                kind: NoteKind::Ignored(pieces.join(" … ")),
                span: note.span,
            })
        })
        .collect()
}

/// The folded words of a text as one string, for phrase search ("khi co yeu cau").
pub(crate) struct Words {
    joined: String,
}

impl Words {
    fn new(toks: &[lex::Token]) -> Self {
        let joined = toks
            .iter()
            .map(|t| match &t.tok {
                lex::Tok::Word(w) => w.clone(),
                lex::Tok::Num(n, _) => n.to_string(),
                lex::Tok::Sym(c) => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        // Words that contain a unit word without meaning it ("quy định", "Việt Nam").
        let mut joined = format!(" {joined} ");
        for (from, to) in [
            (" quy dinh ", " quydinh "),
            (" quy che ", " quyche "),
            (" quy trinh ", " quytrinh "),
            (" viet nam ", " vietnam "),
        ] {
            joined = joined.replace(from, to);
        }
        Words { joined }
    }

    /// Whether the folded phrase (words separated by single spaces) occurs as whole words.
    pub(crate) fn has(&self, phrase: &str) -> bool {
        self.joined.contains(&format!(" {phrase} "))
    }

    pub(crate) fn has_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|p| self.has(p))
    }
}

/// The three accepted forms closest to `text`.
pub fn nearest_examples(text: &str) -> Vec<&'static str> {
    let folded = crate::text::ascii_fold(text);
    let mut scored: Vec<(f64, &'static str)> = EXAMPLES
        .iter()
        .map(|e| {
            let score =
                strsim::normalized_damerau_levenshtein(&folded, &crate::text::ascii_fold(e));
            (score, *e)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, e)| e).collect()
}

/// The Vietnamese name of a date's weekday.
pub fn weekday_vi(date: NaiveDate) -> &'static str {
    use chrono::Datelike;
    match date.weekday() {
        chrono::Weekday::Mon => "thứ Hai",
        chrono::Weekday::Tue => "thứ Ba",
        chrono::Weekday::Wed => "thứ Tư",
        chrono::Weekday::Thu => "thứ Năm",
        chrono::Weekday::Fri => "thứ Sáu",
        chrono::Weekday::Sat => "thứ Bảy",
        chrono::Weekday::Sun => "Chủ nhật",
    }
}
