//! Diagnostics an admin can act on: the file, line and column, the source line with a caret,
//! and a message in Vietnamese.

use crate::text::{printable, push_printable};
use serde::Serialize;
use std::ops::Range;
use unicode_normalization::char::is_combining_mark;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    #[serde(skip)]
    pub severity: Severity,
    /// The file, as the admin named the config directory ("config/agencies.toml").
    pub file: String,
    /// 1-based line; 0 when the problem is not at a place in the file (a missing file).
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    pub message: String,
    /// A hint ("có phải là ...?"), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The source line (a window of it, when long) and where to underline.
    #[serde(skip)]
    pub snippet: Option<Snippet>,
    /// About a file or directory that could not be read (an I/O failure, not a mistake in
    /// it): another try may find it readable (a save in progress, a mount coming back).
    #[serde(skip)]
    pub unreadable: bool,
}

/// The most characters of a source line a diagnostic keeps: a 100 KB line shown in each of
/// thousands of diagnostics would make the report the square of the file.
pub const SNIPPET_CHARS: usize = 200;

/// The part of a source line a diagnostic shows, and the caret under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The line as written, or a window of [`SNIPPET_CHARS`] around the place with `…` for
    /// what is left out.
    pub text: String,
    /// Characters of `text` before the caret.
    pub caret: usize,
    /// Characters to underline from the caret (at least 1).
    pub len: usize,
}

impl Snippet {
    /// The window of `line` around the character at `caret`, underlining `len` characters.
    fn window(line: &str, caret: usize, len: usize) -> Snippet {
        let total = line.chars().count();
        if total <= SNIPPET_CHARS {
            return Snippet {
                text: line.to_string(),
                caret,
                len: len.max(1),
            };
        }
        let caret = caret.min(total);
        let from = caret
            .saturating_sub(SNIPPET_CHARS / 3)
            .min(total - SNIPPET_CHARS);
        let to = from + SNIPPET_CHARS;
        let mut text = String::new();
        let mut at = caret - from;
        if from > 0 {
            text.push('…');
            at += 1;
        }
        text.extend(line.chars().skip(from).take(to - from));
        if to < total {
            text.push('…');
        }
        Snippet {
            text,
            caret: at,
            len: len.min(to.saturating_sub(caret)).max(1),
        }
    }
}

/// A config file's text, to turn byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path shown to the admin.
    pub name: String,
    pub text: String,
}

impl Source {
    /// The text is put in NFC: a file saved decomposed (NFD: "ộ" as o + two marks, as some
    /// editors and macOS do) means the same names, titles and times as one that is not, and
    /// everything read from it (and shown, and sent) is in one form.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
        let text = text.into();
        let text = match is_nfc_quick(text.chars()) {
            IsNormalized::Yes => text,
            _ => text.nfc().collect(),
        };
        Source {
            name: name.into(),
            text,
        }
    }

    /// A diagnostic at a byte span of this file (clamped to the text; never panics).
    pub fn diag(
        &self,
        severity: Severity,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let start = floor_char_boundary(&self.text, span.start.min(self.text.len()));
        let end = floor_char_boundary(&self.text, span.end.clamp(start, self.text.len()));
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = self.text[..start].matches('\n').count() + 1;
        let column = self.text[line_start..start].chars().count() + 1;
        let source_line = self.text[line_start..line_end].trim_end_matches('\r');
        let underline = self.text[start..end.min(line_end)].chars().count().max(1);
        Diagnostic {
            severity,
            file: self.name.clone(),
            line,
            column,
            message: message.into(),
            help: None,
            snippet: Some(Snippet::window(source_line, column - 1, underline)),
            unreadable: false,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Diagnostic {
    /// A diagnostic about a whole file (missing, unreadable).
    pub fn file(severity: Severity, file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            file: file.into(),
            line: 0,
            column: 0,
            message: message.into(),
            help: None,
            snippet: None,
            unreadable: false,
        }
    }

    /// Marks it as about what could not be read ([`Diagnostic::unreadable`]).
    pub fn unreadable_if(mut self, unreadable: bool) -> Self {
        self.unreadable = unreadable;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Renders like rustc: the message, the place, the source line with a caret, the hint.
    /// Control characters from the config (ESC sequences, CR, LF) are shown escaped
    /// (`\u{1b}`), never sent to the terminal as they are.
    pub fn render(&self) -> String {
        let label = match self.severity {
            Severity::Error => "lỗi",
            Severity::Warning => "cảnh báo",
        };
        let mut out = format!("{label}: {}\n", printable(&self.message));
        let file = printable(&self.file);
        if self.line == 0 {
            out.push_str(&format!("  --> {file}\n"));
        } else {
            out.push_str(&format!("  --> {file}:{}:{}\n", self.line, self.column));
        }
        if let Some(snippet) = &self.snippet {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            // The line as shown, and each character's width in it (escapes are wider).
            let mut shown = String::with_capacity(snippet.text.len());
            let mut lead = String::new();
            let mut carets = 0;
            let mut underlined = 0;
            for (k, c) in snippet.text.chars().enumerate() {
                let width = if c == '\t' {
                    shown.push('\t');
                    1
                } else {
                    push_printable(&mut shown, c)
                };
                if k < snippet.caret {
                    if c == '\t' {
                        lead.push('\t');
                    } else if !is_combining_mark(c) {
                        lead.extend(std::iter::repeat_n(' ', width));
                    }
                } else if k < snippet.caret + snippet.len {
                    carets += width;
                    underlined += 1;
                }
            }
            // Past the end of the line (a span over the line's end): one caret each.
            let carets = (carets + snippet.len.saturating_sub(underlined)).max(1);
            out.push_str(&format!("{pad} |\n{num} | {shown}\n"));
            out.push_str(&format!("{pad} | {lead}{}\n", "^".repeat(carets)));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = gợi ý: {}\n", printable(help)));
        }
        out
    }
}

/// Turns a `toml` deserialisation error into a Vietnamese diagnostic at its place.
pub fn from_toml_error(src: &Source, err: &toml::de::Error) -> Diagnostic {
    let mut span = err.span().unwrap_or(0..0);
    let raw = err.message();
    let (mut message, mut help) = translate_toml_message(raw);
    if let Some((at, vi, hint)) = unclosed_above(src, &span, raw) {
        span = at..at;
        (message, help) = (vi.to_string(), Some(hint.to_string()));
    }
    // Word turns straight quotes into curly ones; TOML only knows the straight kind.
    let line = src.text[..span.start.min(src.text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_end = src.text[line..]
        .find('\n')
        .map_or(src.text.len(), |i| line + i);
    if src.text[line..line_end].contains(['\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}']) {
        help = Some(
            "dùng dấu ngoặc kép thẳng \" thay cho dấu ngoặc cong “ ” (thường do Word tự đổi)"
                .into(),
        );
    }
    let d = src.diag(Severity::Error, span, message);
    match help {
        Some(h) => d.with_help(h),
        None => d,
    }
}

/// A bracket left open on the lines above: the parser only notices at the next statement
/// ("missing comma" there), so the diagnostic goes to the end of the last line before it,
/// where the `]` or `}` belongs.
fn unclosed_above(
    src: &Source,
    span: &Range<usize>,
    raw: &str,
) -> Option<(usize, &'static str, &'static str)> {
    let (vi, hint) = if raw.starts_with("missing comma between array elements")
        || raw.starts_with("unexpected `=` in array")
    {
        (
            "danh sách chưa đóng: thiếu dấu ] ở cuối",
            "thêm dấu ] sau phần tử cuối của danh sách",
        )
    } else if raw.starts_with("missing comma between key-value pairs") {
        (
            "bảng chưa đóng: thiếu dấu } ở cuối",
            "thêm dấu } sau cặp khóa = giá trị cuối của bảng",
        )
    } else {
        return None;
    };
    let text = src.text.as_str();
    let line_start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    if line_start == 0 || !looks_like_statement(&text[line_start..line_end]) {
        return None;
    }
    // The end of the last line above with something on it besides a comment.
    let mut end = line_start - 1;
    loop {
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let content = without_comment(&text[start..end]).trim_end();
        if !content.trim_start().is_empty() {
            return Some((start + content.len(), vi, hint));
        }
        end = start.checked_sub(1)?;
    }
}

/// A line without its `# comment` (a `#` inside quotes is not one).
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return &line[..i],
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            _ => {}
        }
    }
    line
}

/// TOML syntax messages an admin may meet, in Vietnamese (matched by their start).
const SYNTAX: &[(&str, &str, Option<&str>)] = &[
    (
        "key with no value",
        "thiếu dấu = và giá trị sau tên khóa",
        Some("mỗi dòng viết dạng khoa = giá_trị"),
    ),
    (
        "string values must be quoted",
        "chuỗi phải nằm trong dấu ngoặc kép",
        Some("ví dụ name = \"Sở Tư pháp\""),
    ),
    (
        "unclosed array table",
        "thiếu dấu ]] đóng tên mục",
        Some("ví dụ [[task]]"),
    ),
    (
        "unclosed table",
        "thiếu dấu ] đóng tên mục",
        Some("ví dụ [plan]"),
    ),
    ("unclosed inline table", "thiếu dấu } đóng bảng", None),
    ("unclosed array", "thiếu dấu ] đóng danh sách", None),
    (
        "missing comma between array elements",
        "thiếu dấu phẩy giữa các phần tử của danh sách",
        None,
    ),
    (
        "invalid basic string",
        "chuỗi chưa đóng: thiếu dấu ngoặc kép \" ở cuối",
        None,
    ),
    (
        "invalid literal string",
        "chuỗi chưa đóng: thiếu dấu ' ở cuối",
        None,
    ),
    (
        "invalid date",
        "ngày tháng không hợp lệ",
        Some("viết năm-tháng-ngày, ví dụ 2022-03-31, và ngày phải có thật"),
    ),
    ("invalid time", "giờ không hợp lệ", None),
    (
        "unexpected leading zero",
        "số không được bắt đầu bằng 0",
        Some("nếu đây là mã hoặc số điện thoại, viết trong dấu ngoặc kép"),
    ),
    (
        "duplicate key",
        "khóa này đã khai báo ở trên trong cùng mục",
        Some("xóa một trong hai dòng"),
    ),
    (
        "missing escaped value",
        "dấu \\ trong chuỗi phải đi kèm ký tự hợp lệ",
        Some("muốn viết dấu \\ thì viết \\\\"),
    ),
    ("invalid fraction", "số thập phân không hợp lệ", None),
    (
        "unquoted keys cannot be empty",
        "thiếu tên khóa trước dấu =",
        None,
    ),
    (
        "invalid unquoted key",
        "tên khóa không hợp lệ",
        Some("tên khóa chỉ gồm chữ không dấu, số, '-' và '_'"),
    ),
    ("expected newline", "sau giá trị phải xuống dòng", None),
    (
        "unexpected key or value",
        "sau giá trị còn chữ thừa trên cùng dòng",
        Some("mỗi dòng một khóa; chú thích phải bắt đầu bằng dấu #"),
    ),
];

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let a = s.find(open)? + open.len();
    let b = s[a..].find(close)? + a;
    Some(&s[a..b])
}

/// The key and the allowed keys of serde's "unknown field `k`, expected one of `a`, `b`"
/// (or "expected `a` or `b`", "expected `a`", "there are no fields").
fn unknown_field(raw: &str) -> Option<(&str, Vec<&str>)> {
    let rest = raw.strip_prefix("unknown field ")?;
    let key = between(rest, "`", "`").unwrap_or(rest);
    let allowed = rest
        .split_once("expected ")
        .map(|(_, list)| {
            list.split(", ")
                .flat_map(|k| k.split(" or "))
                .map(|k| k.trim().trim_start_matches("one of ").trim_matches('`'))
                .filter(|k| !k.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Some((key, allowed))
}

/// The date a string given for a date field means: "15/6/2026", "15-06-2026", "15.6.2026"
/// (day first, as Vietnamese writes it) or "2026-06-15".
pub(super) fn date_meant(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |x: &str| x.trim().parse::<u32>().ok();
    let (a, b, c) = (num(a)?, num(b)?, num(c)?);
    let (y, m, d) = if a >= 1000 { (a, b, c) } else { (c, b, a) };
    if !(1000..=9999).contains(&y) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// `key = ...` (bare, quoted or dotted key) or a `[header]`.
pub(super) fn looks_like_statement(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with('[') {
        return true;
    }
    match t.find('=') {
        Some(i) if i > 0 => {
            !t[i + 1..].starts_with('=')
                && t[..i]
                    .trim_end()
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '"' | '\''))
        }
        _ => false,
    }
}

/// The key an "unknown field" error most likely meant, if any (so a key misspelt is not also
/// reported missing).
pub(super) fn meant_key(raw: &str) -> Option<String> {
    let (key, allowed) = unknown_field(raw)?;
    nearest(key, &allowed).map(str::to_string)
}

/// Keys admins write in Vietnamese (folded: no diacritics, no separators), and the keys they
/// mean, the first one allowed in the table winning.
const VIETNAMESE_KEYS: &[(&str, &[&str])] = &[
    ("han", &["due"]),
    ("hanchot", &["due"]),
    ("thoihan", &["due"]),
    ("ngayhan", &["due"]),
    ("hanhoanthanh", &["due"]),
    ("chutri", &["lead"]),
    ("coquanchutri", &["lead"]),
    ("donvichutri", &["lead"]),
    ("phoihop", &["support"]),
    ("coquanphoihop", &["support"]),
    ("donviphoihop", &["support"]),
    ("thoigian", &["time"]),
    ("thoigianthuchien", &["time"]),
    ("ghichu", &["note"]),
    ("ten", &["name", "title"]),
    ("tieude", &["title"]),
    ("noidung", &["title"]),
    ("nhiemvu", &["title"]),
    ("ma", &["id"]),
    ("so", &["number", "id"]),
    ("sohieu", &["number"]),
    ("kyhieu", &["number"]),
    ("coquanbanhanh", &["issuer"]),
    ("noibanhanh", &["issuer"]),
    ("ngaybanhanh", &["issued"]),
    ("ngayky", &["issued"]),
    ("trangthai", &["status"]),
    ("hoanthanh", &["done"]),
    ("xong", &["done"]),
    ("laplai", &["recurrence"]),
    ("dinhky", &["recurrence"]),
    ("cap", &["level"]),
    ("thanhvien", &["members"]),
    ("bidanh", &["aliases"]),
    ("tenkhac", &["aliases"]),
    ("kenh", &["channels"]),
    ("dienthoai", &["zalo_phone"]),
    ("sodienthoai", &["zalo_phone"]),
    ("muigio", &["timezone"]),
];

/// The allowed key `key` was meant to be: a Vietnamese word for it, or a close spelling (at
/// most one edit in a short key, two in a longer one; a transposition is one edit, as in
/// `deu` for `due`).
fn nearest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let folded: String = crate::text::ascii_fold(key)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if let Some((_, meant)) = VIETNAMESE_KEYS.iter().find(|(vi, _)| *vi == folded) {
        if let Some(k) = meant.iter().find_map(|m| allowed.iter().find(|a| *a == m)) {
            return Some(k);
        }
    }
    let key = key.to_lowercase();
    let most = if key.chars().count() <= 4 { 1 } else { 2 };
    allowed
        .iter()
        .map(|k| {
            let edits = strsim::osa_distance(&key, k);
            let close = edits <= most || strsim::jaro_winkler(&key, k) > 0.85;
            (close, edits, -strsim::jaro_winkler(&key, k), *k)
        })
        .filter(|(close, ..)| *close)
        .min_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)))
        .map(|(.., k)| k)
}

fn translate_toml_message(raw: &str) -> (String, Option<String>) {
    if let Some((key, allowed)) = unknown_field(raw) {
        let help = match (nearest(key, &allowed), allowed.is_empty()) {
            (Some(k), _) => Some(format!(
                "có phải là `{k}`? Các khóa được phép: {}",
                allowed.join(", ")
            )),
            (None, false) => Some(format!("các khóa được phép: {}", allowed.join(", "))),
            (None, true) => None,
        };
        return (format!("khóa `{key}` không được dùng ở đây"), help);
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        let key = between(rest, "`", "`").unwrap_or(rest);
        return (format!("thiếu khóa bắt buộc `{key}` trong mục này"), None);
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return (
            format!(
                "sai kiểu giá trị: cần {}, nhưng đây là {}",
                type_vi(expected),
                type_vi(found)
            ),
            expected_form(found, expected),
        );
    }
    if let Some((_, vi, help)) = SYNTAX.iter().find(|(en, _, _)| raw.starts_with(en)) {
        return (vi.to_string(), help.map(str::to_string));
    }
    (format!("lỗi cú pháp TOML ({raw})"), None)
}

/// How a value of the type serde expected is written, for a value of the wrong type.
fn expected_form(found: &str, expected: &str) -> Option<String> {
    let words: Vec<&str> = expected.split_whitespace().collect();
    let has = |w: &[&str]| words.iter().any(|x| w.contains(x));
    let form = if has(&["datetime", "date"]) {
        // "15/6/2026" written in quotes: the date it means, as TOML writes it.
        let meant = found
            .strip_prefix("string ")
            .and_then(|s| date_meant(s.trim_matches('"')));
        match meant {
            Some(d) => format!(
                "ngày viết dạng 2026-06-15 (không có dấu ngoặc kép); ở đây: {}",
                d.format("%Y-%m-%d")
            ),
            None => "ngày viết dạng 2026-06-15 (không có dấu ngoặc kép)".into(),
        }
    } else if has(&["sequence"]) {
        "danh sách viết trong ngoặc vuông, mỗi phần tử trong dấu ngoặc kép, ví dụ [\"Sở Nội vụ\", \"Sở Tư pháp\"]".into()
    } else if has(&["string"]) {
        "viết giá trị trong dấu ngoặc kép, ví dụ id = \"8.6\"".into()
    } else if has(&["boolean", "bool"]) {
        "viết true hoặc false (không có dấu ngoặc kép)".into()
    } else if has(&[
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "integer",
    ]) {
        "số nguyên viết không có dấu ngoặc kép, ví dụ 7".into()
    } else if has(&["f32", "f64", "float", "floating"]) {
        "số viết không có dấu ngoặc kép, dấu chấm thập phân, ví dụ 1.5".into()
    } else if has(&["map", "table", "struct"]) {
        "một bảng: [tên] trên dòng riêng rồi các dòng khóa = giá trị, hoặc { khóa = giá trị }"
            .into()
    } else {
        return None;
    };
    Some(form)
}

fn type_vi(t: &str) -> String {
    let t = t.trim();
    let (kind, rest) = t.split_once(' ').unwrap_or((t, ""));
    let name = match kind {
        "a" | "an" => return type_vi(rest),
        "string" => "chuỗi",
        "sequence" => "danh sách [..]",
        "floating" => "số thực",
        "integer" | "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => {
            "số nguyên"
        }
        "bool" => "giá trị đúng/sai",
        "boolean" => "giá trị đúng/sai",
        "map" | "table" => "bảng",
        "struct" => "bảng",
        // "a TOML datetime", "local date", "offset datetime": the value's kind is enough.
        "TOML" | "local" | "offset" => return type_vi(rest),
        "date" | "datetime" | "time" => "ngày tháng",
        _ => return t.to_string(),
    };
    let value = rest.strip_prefix("point ").unwrap_or(rest).trim();
    if value.is_empty() || value.starts_with("point") {
        name.to_string()
    } else {
        format!("{name} {value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let src = Source::new("a.toml", "x = 1\nname = \"Sở Tư pháp\" # ở đây\n");
        let at = src.text.find("pháp").unwrap();
        let d = src.diag(Severity::Error, at..at + "pháp".len(), "m");
        assert_eq!((d.line, d.column), (2, 15));
        assert!(d.render().contains(&format!(" | {}^^^^\n", " ".repeat(14))));
    }

    #[test]
    fn spans_past_the_end_are_clamped() {
        let src = Source::new("a.toml", "ab");
        let d = src.diag(Severity::Warning, 10..20, "m");
        assert_eq!((d.line, d.column), (1, 3));
    }

    #[test]
    fn unknown_field_is_translated_with_a_suggestion() {
        let (msg, help) =
            translate_toml_message("unknown field `lede`, expected one of `id`, `lead`, `support`");
        assert!(msg.contains("`lede`"));
        assert!(help.unwrap().contains("có phải là `lead`"));
    }

    const TASK_KEYS: &str = "expected one of `id`, `title`, `lead`, `support`, `time`, `due`, `recurrence`, `done`, `done_by`, `note`, `policy`";

    fn suggestion(key: &str) -> Option<String> {
        let (_, help) = translate_toml_message(&format!("unknown field `{key}`, {TASK_KEYS}"));
        let help = help?;
        let meant = help.strip_prefix("có phải là `")?.split('`').next()?;
        Some(meant.to_string())
    }

    #[test]
    fn misspelt_and_vietnamese_keys_suggest_the_key_meant() {
        for (written, meant) in [
            ("deu", "due"),
            ("han", "due"),
            ("hạn", "due"),
            ("Thời_gian", "time"),
            ("chu_tri", "lead"),
            ("lede", "lead"),
            ("leads", "lead"),
            ("suport", "support"),
            ("titel", "title"),
            ("recurence", "recurrence"),
            ("dne", "done"),
            ("ghi-chu", "note"),
        ] {
            assert_eq!(suggestion(written).as_deref(), Some(meant), "{written}");
        }
        for far in ["deadline", "xyz", "owner"] {
            assert_eq!(suggestion(far), None, "{far}");
        }
        assert_eq!(
            meant_key(
                "unknown field `isuer`, expected one of `number`, `title`, `issuer`, `issued`"
            )
            .as_deref(),
            Some("issuer")
        );
        // Two keys, one key, none.
        assert!(
            translate_toml_message("unknown field `urll`, expected `url` or `body`")
                .1
                .is_some_and(|h| h.starts_with("có phải là `url`?"))
        );
        assert!(
            translate_toml_message("unknown field `x`, expected `listen`")
                .1
                .is_some_and(|h| h == "các khóa được phép: listen")
        );
        assert_eq!(
            translate_toml_message("unknown field `x`, there are no fields").1,
            None
        );
    }

    #[test]
    fn a_datetime_type_reads_as_a_date() {
        let (msg, _) =
            translate_toml_message("invalid type: string \"2022-06-01\", expected a TOML datetime");
        assert_eq!(
            msg,
            "sai kiểu giá trị: cần ngày tháng, nhưng đây là chuỗi \"2022-06-01\""
        );
    }

    #[test]
    fn every_type_error_says_how_the_expected_value_is_written() {
        let help = |raw: &str| translate_toml_message(raw).1.unwrap_or_default();
        assert_eq!(
            help("invalid type: string \"15/6/2026\", expected a TOML datetime"),
            "ngày viết dạng 2026-06-15 (không có dấu ngoặc kép); ở đây: 2026-06-15"
        );
        assert_eq!(
            help("invalid type: string \"hôm nay\", expected a TOML datetime"),
            "ngày viết dạng 2026-06-15 (không có dấu ngoặc kép)"
        );
        assert!(help("invalid type: string \"7\", expected u32").contains("số nguyên"));
        assert!(help("invalid type: string \"a\", expected a sequence").contains("[\""));
        assert!(help("invalid type: string \"có\", expected a boolean").contains("true hoặc false"));
        assert!(help("invalid type: integer `5`, expected a string").contains("ngoặc kép"));
        assert!(help("invalid type: string \"x\", expected struct Policy").contains("bảng"));
    }

    #[test]
    fn dates_written_as_strings_are_read_day_first() {
        let d = |s: &str| super::date_meant(s).map(|d| d.to_string());
        assert_eq!(d("15/6/2026").as_deref(), Some("2026-06-15"));
        assert_eq!(d("15-06-2026").as_deref(), Some("2026-06-15"));
        assert_eq!(d("2026-06-15").as_deref(), Some("2026-06-15"));
        assert_eq!(d("31/2/2026"), None);
        assert_eq!(d("15/6/26"), None);
        assert_eq!(d("hôm nay"), None);
    }
}
