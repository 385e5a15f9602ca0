//! Every TOML error of a file, not only the first (issue 13).
//!
//! The `toml` parser and serde both stop at the first error. To find the next one, the part of
//! the text the error is about is blanked (every character but the line breaks becomes spaces,
//! so byte offsets, lines and columns stay those of the admin's file) and the text is parsed
//! again, a bounded number of times. What gets blanked is a whole unit, never half of one, so
//! that the blanking itself causes no new error:
//!
//! - a broken line: the whole statement it belongs to (a multi-line array with it); when the
//!   line is a table header, the whole table (its keys would otherwise land in the table
//!   above and be reported there);
//! - an unknown key: its statement, its `key = value` inside `{ }` (with a comma), or its whole
//!   table when it names one (`[polcy]`);
//! - a value of the wrong type: an array element is dropped; a value is replaced with a
//!   placeholder of the expected type when it fits in place, otherwise its key is dropped, and
//!   the "missing field" that follows is known to be ours and not reported.
//!
//! The value deserialized from a repaired text is never returned: with errors there is only
//! the list of errors.

use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Parses per file; a file with more mistakes than this gets the first ones.
const MAX_ROUNDS: usize = 64;

/// A file's errors, and its value when nothing was blanked on the way: the errors were
/// unknown keys (dropped) and values of the wrong type, replaced in place by a stand-in of the
/// right type (a date written as a string, "15/6/2026", by the date it means). The rest of
/// the file is then still read, checked and counted; `stand_ins` are the spans of the values
/// that are not the admin's, so that what validation says about them can be left out.
#[derive(Debug)]
pub(super) struct Failed<T> {
    pub errors: Vec<toml::de::Error>,
    pub value: Option<T>,
    pub stand_ins: Vec<Range<usize>>,
}

/// Parses `text` as a `T`; on failure, every error found, in the file's order, each with its
/// span in `text`.
pub(super) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Failed<T>> {
    let first = match toml::from_str::<T>(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut r = Recovery {
        text: text.to_string(),
        errors: Vec::new(),
        seen: HashSet::new(),
        syntax_blanked: Vec::new(),
        removed: HashSet::new(),
        stand_ins: Vec::new(),
        lossy: false,
    };
    let value = r.run::<T>(first);
    r.errors
        .sort_by_key(|e| e.span().map_or((usize::MAX, 0), |s| (s.start, s.end)));
    Err(Failed {
        errors: r.errors,
        value: value.filter(|_| !r.lossy),
        stand_ins: r.stand_ins,
    })
}

struct Recovery {
    /// The admin's text with the parts already reported blanked out.
    text: String,
    errors: Vec<toml::de::Error>,
    /// (span, message) of the errors reported, so none is reported twice.
    seen: HashSet<(Option<(usize, usize)>, String)>,
    /// Bytes blanked for syntax errors: a table missing a key there is not a new error.
    syntax_blanked: Vec<Range<usize>>,
    /// (table span, key) of the entries dropped for semantic errors: that key missing from that
    /// table afterwards is a consequence, not a new error.
    removed: HashSet<((usize, usize), String)>,
    /// Values of the wrong type replaced in place by a stand-in that is not the admin's.
    stand_ins: Vec<Range<usize>>,
    /// Something was blanked: the repaired text lost part of what the admin wrote.
    lossy: bool,
}

impl Recovery {
    /// The value of the repaired text, once it parses.
    fn run<T: DeserializeOwned>(&mut self, first: toml::de::Error) -> Option<T> {
        let mut err = first;
        for _ in 0..MAX_ROUNDS {
            let before = self.text.clone();
            let go_on = match DeTable::parse(&before) {
                Err(syntax) => self.syntax(syntax),
                Ok(doc) => self.semantic(err, &before, doc.get_ref()),
            };
            if !go_on || self.text == before {
                self.lossy = true;
                return None;
            }
            match toml::from_str::<T>(&self.text) {
                Ok(v) => return Some(v),
                Err(e) => err = e,
            }
        }
        self.lossy = true;
        None
    }

    fn report(&mut self, e: toml::de::Error) {
        let key = (e.span().map(|s| (s.start, s.end)), e.message().to_string());
        if self.seen.insert(key) {
            self.errors.push(e);
        }
    }

    /// A syntax error: report it and blank its statement (or table). False when nothing can
    /// be blanked.
    fn syntax(&mut self, e: toml::de::Error) -> bool {
        let span = e.span();
        self.report(e);
        let Some(span) = span else { return false };
        let lines = Lines::scan(&self.text);
        let range = lines.unit(&self.text, lines.line_of(span.start));
        let bytes = lines.bytes(&range, self.text.len());
        self.syntax_blanked.push(bytes.clone());
        blank(&mut self.text, bytes);
        self.lossy = true;
        true
    }

    /// A serde error in a syntactically valid text: report it unless it follows from an
    /// earlier blanking, and blank what it is about. False when the file cannot be read further.
    fn semantic(&mut self, e: toml::de::Error, text: &str, doc: &DeTable<'_>) -> bool {
        let Some(span) = e.span() else {
            self.report(e);
            return false;
        };
        let message = e.message().to_string();
        let lines = Lines::scan(text);
        if let Some(rest) = message.strip_prefix("missing field ") {
            let key = rest.trim_matches('`').to_string();
            // The document itself (`[plan]` missing) has an empty span at its start.
            let root = span.is_empty() && span.start == 0;
            let region = lines.bytes(&lines.unit(text, lines.line_of(span.start)), text.len());
            let ours = self
                .removed
                .contains(&((span.start, span.end), key.clone()))
                || self
                    .syntax_blanked
                    .iter()
                    .any(|b| root || (b.start < region.end && region.start < b.end));
            if !ours {
                self.report(e);
            }
            if root {
                return false;
            }
            // The table cannot be read without that key: drop the whole table.
            let Some(hit) = find(text, doc, &span, false) else {
                return false;
            };
            self.remove(text, &lines, &hit);
            return true;
        }
        self.report(e);
        let unknown = message.starts_with("unknown field");
        let Some(hit) = find(text, doc, &span, unknown) else {
            return false;
        };
        if let Some(meant) = super::diag::meant_key(&message) {
            // `isuer` is reported with "có phải là `issuer`?": `issuer` missing is not news.
            self.removed
                .insert(((hit.table.start, hit.table.end), meant));
        }
        if hit.key_span.is_some() && hit.headers.is_empty() && message.starts_with("invalid type") {
            if let Some((p, meant)) = placeholder(&message) {
                if let Some(at) = fits(text, &hit.value, &p) {
                    blank(&mut self.text, hit.value.clone());
                    self.text.replace_range(at..at + p.len(), &p);
                    // A date read as meant is the admin's value; any other stand-in is not,
                    // and what validation says about it is left out.
                    if !meant {
                        self.stand_ins.push(hit.value.clone());
                    }
                    return true;
                }
            }
        }
        // An unknown key dropped leaves the value as meant; anything else dropped does not.
        let lossy = self.lossy;
        self.remove(text, &lines, &hit);
        if unknown {
            self.lossy = lossy;
        }
        true
    }

    /// Blanks an entry: its tables (written with headers), its `key = value` inside braces or
    /// its element inside brackets (with a comma), or its statement.
    fn remove(&mut self, text: &str, lines: &Lines, hit: &Hit) {
        self.lossy = true;
        self.removed
            .insert(((hit.table.start, hit.table.end), hit.key.clone()));
        if !hit.headers.is_empty() {
            for h in &hit.headers {
                let unit = lines.unit(text, lines.line_of(h.start));
                blank(&mut self.text, lines.bytes(&unit, text.len()));
            }
            return;
        }
        let start = hit.key_span.as_ref().map_or(hit.value.start, |k| k.start);
        if hit.inline {
            blank(
                &mut self.text,
                with_comma(text, dotted_start(text, start)..hit.value.end),
            );
        } else {
            let unit = lines.unit(text, lines.line_of(start));
            blank(&mut self.text, lines.bytes(&unit, text.len()));
        }
    }
}

/// What a light scan knows about each line: enough to find whole statements and tables in a
/// text the TOML parser rejects.
struct Lines {
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    /// The line starts outside brackets and multi-line strings: a statement or header starts
    /// there.
    fresh: Vec<bool>,
    /// A fresh line whose first character is `[`: a table header.
    header: Vec<bool>,
    /// A bracket or multi-line string is still open at the end of the text.
    open_at_end: bool,
}

impl Lines {
    fn scan(text: &str) -> Lines {
        let b = text.as_bytes();
        let mut lines = Lines {
            starts: Vec::new(),
            fresh: Vec::new(),
            header: Vec::new(),
            open_at_end: false,
        };
        let mut depth = 0usize;
        let mut multiline: Option<&'static [u8]> = None;
        let mut start = 0;
        loop {
            let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let line = &b[start..end];
            let fresh = depth == 0 && multiline.is_none();
            let first = line.iter().find(|c| !matches!(c, b' ' | b'\t' | b'\r'));
            let header = fresh && first == Some(&b'[');
            lines.starts.push(start);
            lines.fresh.push(fresh);
            lines.header.push(header);
            // A header's brackets open nothing.
            if !header {
                scan_line(line, &mut depth, &mut multiline);
            }
            if end == text.len() {
                break;
            }
            start = end + 1;
        }
        lines.open_at_end = depth > 0 || multiline.is_some();
        lines
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    fn line<'t>(&self, text: &'t str, i: usize) -> &'t str {
        let start = self.starts.get(i).copied().unwrap_or(text.len());
        let end = self.starts.get(i + 1).copied().unwrap_or(text.len());
        text.get(start..end).unwrap_or("")
    }

    /// The lines of the statement `line` belongs to, or of the whole table when that statement
    /// is a header.
    fn unit(&self, text: &str, line: usize) -> Range<usize> {
        let n = self.starts.len();
        let line = line.min(n.saturating_sub(1));
        let s = (0..=line).rev().find(|&i| self.fresh[i]).unwrap_or(0);
        if self.header.get(s).copied().unwrap_or(false) {
            let e = (s + 1..n).find(|&i| self.header[i]).unwrap_or(n);
            return s..e;
        }
        let e = match (s + 1..n).find(|&i| self.fresh[i]) {
            Some(e) => e,
            // An unclosed bracket or string swallowed the rest of the file: the statement
            // ends where a line looks like the next one, as the admin meant.
            None if self.open_at_end => (s + 1..n)
                .find(|&i| super::diag::looks_like_statement(self.line(text, i)))
                .unwrap_or(n),
            None => n,
        };
        s..e
    }

    /// The bytes of a range of lines.
    fn bytes(&self, lines: &Range<usize>, len: usize) -> Range<usize> {
        let start = self.starts.get(lines.start).copied().unwrap_or(len);
        let end = self.starts.get(lines.end).copied().unwrap_or(len);
        start..end
    }
}

/// Follows brackets and strings along one line (comments end it; a one-line string does too,
/// as in TOML, so an unclosed quote does not swallow the file).
fn scan_line(line: &[u8], depth: &mut usize, multiline: &mut Option<&'static [u8]>) {
    let mut j = 0;
    while j < line.len() {
        if let Some(close) = *multiline {
            if line[j..].starts_with(close) {
                *multiline = None;
                j += close.len();
            } else if line[j] == b'\\' && close == b"\"\"\"" {
                j += 2;
            } else {
                j += 1;
            }
            continue;
        }
        match line[j] {
            b'#' => return,
            b'"' if line[j..].starts_with(b"\"\"\"") => {
                *multiline = Some(b"\"\"\"");
                j += 3;
                continue;
            }
            b'\'' if line[j..].starts_with(b"'''") => {
                *multiline = Some(b"'''");
                j += 3;
                continue;
            }
            q @ (b'"' | b'\'') => {
                j += 1;
                while j < line.len() && line[j] != q {
                    if q == b'"' && line[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
            }
            b'[' | b'{' => *depth += 1,
            b']' | b'}' => *depth = depth.saturating_sub(1),
            _ => {}
        }
        j += 1;
    }
}

/// Blanks a byte range: every character but a line break becomes as many spaces as it had
/// bytes, so every offset after it stays the same.
fn blank(text: &mut String, r: Range<usize>) {
    let mut start = r.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = r.end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut spaces = String::with_capacity(end - start);
    for c in text[start..end].chars() {
        if c == '\n' {
            spaces.push('\n');
        } else {
            spaces.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    text.replace_range(start..end, &spaces);
}

/// An entry of the parsed document an error is about.
#[derive(Debug)]
struct Hit {
    /// The span of the table holding the entry: its header, its `{ }`, its dotted key, or
    /// 0..0 for the document (as serde's "missing field" errors point).
    table: Range<usize>,
    key: String,
    /// `None` for an element of an array.
    key_span: Option<Range<usize>>,
    value: Range<usize>,
    /// Written inside `{ }` or `[ ]`, rather than as a statement of its own.
    inline: bool,
    /// The headers of the value's tables, when written as `[header]` or `[[header]]`.
    headers: Vec<Range<usize>>,
}

/// The innermost entry whose key (when `key` is set: an unknown key's error points at it) or
/// value covers `target`.
fn find(text: &str, doc: &DeTable<'_>, target: &Range<usize>, key: bool) -> Option<Hit> {
    let mut best = None;
    let walk = Walk { text, target, key };
    walk.table(0..0, doc, 0, &mut best);
    best.map(|(_, hit)| hit)
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start < outer.end && outer.start <= inner.start && inner.end <= outer.end
}

fn starts_with(text: &str, span: &Range<usize>, c: char) -> bool {
    text.get(span.clone()).is_some_and(|s| s.starts_with(c))
}

/// The headers a value is written with: a `[table]` or the `[[tables]]` of an array.
fn headers(text: &str, v: &Spanned<DeValue<'_>>) -> Vec<Range<usize>> {
    let header = |v: &Spanned<DeValue<'_>>| {
        matches!(v.get_ref(), DeValue::Table(_)) && starts_with(text, &v.span(), '[')
    };
    match v.get_ref() {
        DeValue::Array(a) => a.iter().filter(|e| header(e)).map(|e| e.span()).collect(),
        _ if header(v) => vec![v.span()],
        _ => Vec::new(),
    }
}

type Best = Option<(usize, Hit)>;

fn consider(best: &mut Best, depth: usize, hit: Hit) {
    if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
        *best = Some((depth, hit));
    }
}

/// The search of `find`.
struct Walk<'t> {
    text: &'t str,
    target: &'t Range<usize>,
    key: bool,
}

impl Walk<'_> {
    fn table(&self, span: Range<usize>, table: &DeTable<'_>, depth: usize, best: &mut Best) {
        let (text, target) = (self.text, self.target);
        // Entries of a `{ }` table are removed with their comma; others are statements.
        let inline = starts_with(text, &span, '{');
        for (k, v) in table.iter() {
            if covers(&k.span(), target) || (!self.key && covers(&v.span(), target)) {
                let hit = Hit {
                    table: span.clone(),
                    key: k.get_ref().to_string(),
                    key_span: Some(k.span()),
                    value: v.span(),
                    inline,
                    headers: headers(text, v),
                };
                consider(best, depth, hit);
            }
            self.value(&span, k.get_ref(), v, depth + 1, best);
        }
    }

    fn value(
        &self,
        table: &Range<usize>,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        depth: usize,
        best: &mut Best,
    ) {
        let (text, target) = (self.text, self.target);
        match v.get_ref() {
            DeValue::Table(t) => self.table(v.span(), t, depth, best),
            DeValue::Array(a) => {
                for e in a.iter() {
                    if !self.key && covers(&e.span(), target) {
                        let headers = match e.get_ref() {
                            DeValue::Table(_) if starts_with(text, &e.span(), '[') => {
                                vec![e.span()]
                            }
                            _ => Vec::new(),
                        };
                        let hit = Hit {
                            table: table.clone(),
                            key: key.to_string(),
                            key_span: None,
                            value: e.span(),
                            inline: headers.is_empty(),
                            headers,
                        };
                        consider(best, depth, hit);
                    }
                    self.value(table, key, e, depth + 1, best);
                }
            }
            _ => {}
        }
    }
}

/// A short value of the type a "invalid type" error expected, when it is a scalar or a list
/// (a table put in place would be missing its own required keys).
/// A stand-in of the expected type for a value of the wrong type, and whether it is the value
/// meant (a date written as a string).
fn placeholder(message: &str) -> Option<(String, bool)> {
    let (found, expected) = message.rsplit_once(", expected ")?;
    let words: Vec<&str> = expected.split_whitespace().collect();
    let has = |w: &[&str]| words.iter().any(|x| w.contains(x));
    let p = if has(&["string"]) {
        "\"\""
    } else if has(&["sequence"]) {
        "[]"
    } else if has(&["datetime"]) {
        // A date written as a string ("15/6/2026"): the date meant, so the file reads on as
        // the admin meant it. Otherwise a local time, the shortest TOML datetime.
        return Some(
            found
                .strip_prefix("invalid type: string ")
                .and_then(|s| super::diag::date_meant(s.trim_matches('"')))
                .map_or_else(
                    || ("00:00".into(), false),
                    |d| (d.format("%Y-%m-%d").to_string(), true),
                ),
        );
    } else if has(&["boolean", "bool"]) {
        "true"
    } else if has(&[
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "integer",
    ]) {
        "0"
    } else if has(&["f32", "f64", "float"]) {
        "0.0"
    } else {
        return None;
    };
    Some((p.into(), false))
}

/// Where `p` can be written in place of the value (on its first line, using the spaces
/// before it too), so that nothing after it moves.
fn fits(text: &str, value: &Range<usize>, p: &str) -> Option<usize> {
    let b = text.as_bytes();
    let rest = text.get(value.start..)?;
    let end = rest
        .find('\n')
        .map_or(text.len(), |i| value.start + i)
        .min(value.end);
    let mut start = value.start;
    while end - start < p.len() && start > 0 && b[start - 1] == b' ' {
        start -= 1;
    }
    (end - start >= p.len()).then_some(start)
}

/// An entry inside `{ }` or `[ ]` with the comma that separates it from a neighbour, so what
/// is left still parses.
fn with_comma(text: &str, r: Range<usize>) -> Range<usize> {
    let b = text.as_bytes();
    let mut after = r.end.min(b.len());
    while after < b.len() && b[after].is_ascii_whitespace() {
        after += 1;
    }
    if b.get(after) == Some(&b',') {
        return r.start..after + 1;
    }
    let mut before = r.start.min(b.len());
    while before > 0 && b[before - 1].is_ascii_whitespace() {
        before -= 1;
    }
    if before > 0 && b[before - 1] == b',' {
        return before - 1..r.end;
    }
    r
}

/// The start of a dotted key (`a.b` in `{ a.b = 1 }`) given its last part's.
fn dotted_start(text: &str, mut start: usize) -> usize {
    let b = text.as_bytes();
    loop {
        let mut i = start.min(b.len());
        while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        if i == 0 || b[i - 1] != b'.' {
            return start;
        }
        i -= 1;
        while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        let part_end = i;
        while i > 0 && (b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'_' | b'-')) {
            i -= 1;
        }
        if i == part_end {
            // A quoted part: left as it is.
            return start;
        }
        start = i;
    }
}

#[cfg(test)]
mod tests {
    use super::super::diag::{from_toml_error, Source};
    use super::super::raw;
    use super::*;

    const PLAN: &str = "[plan]\nnumber = \"50/KH-UBND\"\ntitle = \"Kế hoạch\"\nissuer = \"UBND tỉnh\"\nissued = 2022-03-24\n";

    /// (line, column, message) of every diagnostic of a plan file.
    fn diags(text: &str) -> Vec<(usize, usize, String)> {
        let src = Source::new("plans/p.toml", text);
        match parse::<raw::PlanFile>(text) {
            Ok(_) => Vec::new(),
            Err(failed) => failed
                .errors
                .iter()
                .map(|e| {
                    let d = from_toml_error(&src, e);
                    let msg = match d.help {
                        Some(h) => format!("{} | {h}", d.message),
                        None => d.message,
                    };
                    (d.line, d.column, msg)
                })
                .collect(),
        }
    }

    fn lines(text: &str) -> Vec<usize> {
        diags(text).into_iter().map(|(l, _, _)| l).collect()
    }

    fn task(id: &str, extra: &str) -> String {
        format!("\n[[task]]\nid = \"{id}\"\ntitle = \"Nhiệm vụ {id}\"\nlead = [\"Sở A\"]\n{extra}")
    }

    #[test]
    fn a_clean_file_parses() {
        let text = format!("{PLAN}{}{}", task("1", ""), task("2", "due = 2022-06-01\n"));
        let file = parse::<raw::PlanFile>(&text).unwrap();
        assert_eq!(file.task.len(), 2);
    }

    #[test]
    fn a_syntax_error_an_unknown_key_and_a_wrong_type_are_three_diagnostics() {
        // Line 3: syntax; line 11: unknown key in the first task; line 17: wrong type.
        let text = format!(
            "{}{}{}",
            PLAN.replace("title = \"Kế hoạch\"", "title = Kế hoạch"),
            task("1", "deu = 2022-06-01\n"),
            task("2", "due = \"2022-06-01\"\n")
        );
        let found = diags(&text);
        assert_eq!(
            found.iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(),
            [(3, 9), (11, 1), (17, 7)],
            "{found:#?}"
        );
        assert!(found[0].2.contains("chuỗi phải nằm trong dấu ngoặc kép"));
        assert!(found[1].2.contains("khóa `deu` không được dùng ở đây"));
        assert!(found[1].2.contains("có phải là `due`?"), "{found:#?}");
        assert!(found[2].2.contains("cần ngày tháng"), "{found:#?}");
    }

    #[test]
    fn unknown_keys_in_every_table_are_all_reported() {
        let text = format!(
            "{}[policy]\nbefor = [3]\n{}{}{}",
            PLAN.replace("issuer =", "isuer ="),
            task("1", "lede = [\"Sở B\"]\n"),
            task(
                "2",
                "suport = [\"Sở B\"]\npolicy = { befor = [1], cout = \"1\" }\n"
            ),
            task("3", "policy.nudg = \"x\"\n"),
        );
        let found = diags(&text);
        let keys: Vec<(usize, &str)> = found
            .iter()
            .map(|(l, _, m)| (*l, m.split('`').nth(1).unwrap_or("")))
            .collect();
        assert_eq!(
            keys,
            [
                (4, "isuer"),
                (7, "befor"),
                (13, "lede"),
                (19, "suport"),
                (20, "befor"),
                (20, "cout"),
                (26, "nudg"),
            ],
            "{found:#?}"
        );
        let help = |key: &str| {
            found
                .iter()
                .find(|d| d.2.contains(&format!("`{key}`")))
                .map(|d| d.2.clone())
                .unwrap_or_default()
        };
        assert!(help("isuer").contains("có phải là `issuer`?"));
        assert!(help("lede").contains("có phải là `lead`?"));
        assert!(help("suport").contains("có phải là `support`?"));
        assert!(help("befor").contains("có phải là `before`?"));
        assert!(help("cout").contains("có phải là `count`?"));
        assert!(help("nudg").contains("có phải là `nudge`?"));
    }

    #[test]
    fn a_broken_table_header_takes_its_keys_with_it() {
        // Blanking only `[[task]` would put its keys in [plan]: no error about them.
        let text = format!(
            "{PLAN}{}{}",
            task("1", "").replace("[[task]]", "[[task]"),
            task("2", "han = 2022-06-01\n")
        );
        let found = diags(&text);
        assert_eq!(lines(&text), [7, 16], "{found:#?}");
        assert!(found[0].2.contains("thiếu dấu ]] đóng tên mục"));
        assert!(found[1].2.contains("có phải là `due`?"), "{found:#?}");
    }

    #[test]
    fn a_broken_required_key_is_not_also_a_missing_key() {
        let text = format!(
            "{PLAN}{}{}",
            task("1", "").replace("lead = [\"Sở A\"]", "lead = [Sở A]"),
            task("2", "x = 1\n")
        );
        assert_eq!(lines(&text), [10, 16], "{:#?}", diags(&text));
    }

    #[test]
    fn a_broken_plan_header_is_not_also_a_missing_plan() {
        let text = format!(
            "{}{}",
            PLAN.replace("[plan]", "[plan"),
            task("1", "x = 1\n")
        );
        assert_eq!(lines(&text), [1, 11], "{:#?}", diags(&text));
    }

    #[test]
    fn an_unclosed_array_is_one_error_and_the_rest_is_still_read() {
        let text = format!(
            "{PLAN}{}{}",
            task(
                "1",
                "support = [\"Sở B\",\n  \"Sở C\"\ntime = \"Quý I/2022\"\n"
            ),
            task("2", "tme = \"Quý II/2022\"\n")
        );
        let found = diags(&text);
        // Reported where the `]` belongs: the end of line 12.
        assert_eq!(
            found.iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(),
            [(12, 9), (19, 1)],
            "{found:#?}"
        );
        assert!(found[0].2.contains("thiếu dấu ] ở cuối"), "{found:#?}");
    }

    #[test]
    fn a_wrong_type_on_a_required_key_is_not_also_a_missing_key() {
        let text = format!(
            "{}{}{}",
            PLAN.replace("issued = 2022-03-24", "issued = \"24/3/2022\""),
            task("1", "").replace("id = \"1\"", "id = 1"),
            task("2", "").replace("lead = [\"Sở A\"]", "lead = [\"Sở A\", 5]")
        );
        let found = diags(&text);
        assert_eq!(lines(&text), [5, 8, 15], "{found:#?}");
        assert!(
            found.iter().all(|d| !d.2.contains("thiếu khóa")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_wrong_type_too_short_for_a_placeholder_drops_its_table_quietly() {
        // `2` cannot hold a date in place: the key goes, then its table (no "missing" errors
        // about either), and the tasks are still read.
        let text = format!(
            "{}{}",
            PLAN.replace("issued = 2022-03-24", "issued =2"),
            task("1", "x = 1\n")
        );
        assert_eq!(lines(&text), [5, 11], "{:#?}", diags(&text));
    }

    #[test]
    fn a_missing_key_is_reported_and_the_next_tasks_still_read() {
        let text = format!(
            "{PLAN}{}{}",
            task("1", "").replace("lead = [\"Sở A\"]\n", ""),
            task("2", "nte = \"x\"\n")
        );
        let found = diags(&text);
        assert_eq!(lines(&text), [7, 15], "{found:#?}");
        assert!(found[0].2.contains("thiếu khóa bắt buộc `lead`"));
    }

    #[test]
    fn an_unknown_table_is_reported_once_even_when_repeated() {
        let text = format!(
            "{PLAN}{}{}{}",
            task("1", "").replace("[[task]]", "[[tsk]]"),
            task("2", "").replace("[[task]]", "[[tsk]]"),
            task("3", "x = 1\n")
        );
        let found = diags(&text);
        assert_eq!(lines(&text), [7, 21], "{found:#?}");
        assert!(found[0].2.contains("có phải là `task`?"), "{found:#?}");
    }

    #[test]
    fn duplicates_and_several_syntax_errors() {
        let text = format!(
            "{}{}{}",
            PLAN.replace("issued =", "title = \"x\"\nissued ="),
            task("1", "due = 2022-13-01\nnote = \"a\" \"b\"\n"),
            task("2", "time = \u{201c}Quý I\u{201d}\n")
        );
        let found = diags(&text);
        assert_eq!(lines(&text), [5, 12, 13, 19], "{found:#?}");
        assert!(found[0].2.contains("khóa này đã khai báo"));
        assert!(found[3].2.contains("dấu ngoặc kép thẳng"), "{found:#?}");
    }

    #[test]
    fn columns_count_characters_after_blanked_text() {
        // The broken line before holds multi-byte characters; blanking keeps the offsets.
        let text = format!(
            "{}{}",
            PLAN.replace("title = \"Kế hoạch\"", "title = \"Kế hoạch"),
            task("1", "note = \"Ghi chú\" x\n")
        );
        assert_eq!(
            diags(&text).iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(),
            [(3, 18), (11, 18)]
        );
    }

    #[test]
    fn garbage_is_bounded_and_never_panics() {
        let text = "=\n\"\nổ = [\n{{\n'''\n".repeat(200);
        let errors = parse::<raw::PlanFile>(&text).unwrap_err().errors;
        assert!(!errors.is_empty() && errors.len() <= MAX_ROUNDS);
        for t in [
            "",
            "ổ",
            "[",
            "[[",
            "a = \"\"\"",
            "a.b = 1\na = 2",
            "\u{feff}=",
            "x = [1,\n",
        ] {
            let _ = parse::<raw::PlanFile>(t);
        }
    }

    #[test]
    fn blanking_keeps_offsets_and_line_breaks() {
        let mut t = "a = \"ở\"\r\nb = 1\n".to_string();
        blank(&mut t, 2..12);
        assert_eq!(t.len(), "a = \"ở\"\r\nb = 1\n".len());
        assert_eq!(t.matches('\n').count(), 2);
        assert!(t.starts_with("a ") && t.ends_with(" 1\n"));
    }
}
