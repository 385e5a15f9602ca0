//! Vietnamese text folding shared by the deadline parser and name resolution.
//!
//! Text pasted from Word documents arrives composed (NFC) or decomposed (NFD), with stray
//! spaces, either tone-mark placement ("Ủy"/"Uỷ") and any letter case. Two keys cover it:
//! [`name_key`] for agency names (keeps diacritics, so "Sở Tư pháp" never matches "Sở Tài
//! chính" by accident) and [`ascii_fold`] for keyword matching in deadline text.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

/// A value written in a config or a form that cannot be used, and why, in Vietnamese: the
/// error of the parsers whose callers only show the reason (a diagnostic at the value's
/// line, an error page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(reason: String) -> Self {
        Invalid(reason)
    }
}

impl From<Invalid> for String {
    fn from(invalid: Invalid) -> Self {
        invalid.0
    }
}

impl From<&str> for Invalid {
    fn from(reason: &str) -> Self {
        Invalid(reason.to_string())
    }
}

/// The five Vietnamese tone marks as combining characters (grave, acute, tilde, hook, dot below).
const TONE_MARKS: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];

/// Whether a character must not reach a terminal as is: control characters (ESC starts
/// colour and title sequences, CR rewrites a line, LF fakes one) and the bidirectional
/// overrides that reorder what is shown.
pub fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` safe to print on a terminal: every [`is_unprintable`] character shown as its escape
/// (`\u{1b}`), the rest untouched. Borrowed when there is nothing to escape.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unprintable) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_printable(&mut out, c);
    }
    std::borrow::Cow::Owned(out)
}

/// Appends one character as [`printable`] shows it; returns how many characters it took.
pub fn push_printable(out: &mut String, c: char) -> usize {
    if is_unprintable(c) {
        let escaped = format!("\\u{{{:x}}}", u32::from(c));
        let n = escaped.chars().count();
        out.push_str(&escaped);
        n
    } else {
        out.push(c);
        1
    }
}

/// Text typed into a web form as it is stored: NFC (one spelling of each letter, as the config
/// has), line breaks as LF, a tab as a space, and every other control character and bidi
/// override dropped (they could rewrite a terminal line or reverse what the dashboard shows).
pub fn clean_form_text(s: &str) -> String {
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    unified
        .nfc()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| *c == '\n' || !is_unprintable(*c))
        .collect()
}

/// Folds one character to lowercase ASCII-ish form: diacritics dropped, đ → d.
/// Returns `None` for a combining mark (it belongs to the previous base character).
pub fn fold_char(c: char) -> Option<char> {
    if is_combining_mark(c) {
        return None;
    }
    match c {
        'đ' | 'Đ' => return Some('d'),
        '–' | '—' | '‐' | '‑' | '−' => return Some('-'),
        '\u{a0}' | '\u{2007}' | '\u{202f}' | '\t' | '\r' | '\n' => return Some(' '),
        _ => {}
    }
    let mut base = None;
    decompose_canonical(c, |d| {
        if base.is_none() && !is_combining_mark(d) {
            base = Some(d);
        }
    });
    base.map(|b| b.to_lowercase().next().unwrap_or(b))
}

/// Lowercase, diacritic-free form of `s`, with each output char mapped to the byte offset of
/// the input char it came from (so errors can point into the original text). Compatibility
/// forms from Word or other input methods fold to their plain letters and digits first
/// (full-width "６", "／", Roman-numeral "Ⅱ"); invisible format characters vanish.
pub fn ascii_fold_with_offsets(s: &str) -> (Vec<char>, Vec<usize>) {
    let mut out = Vec::with_capacity(s.len());
    let mut offsets = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for (i, c) in s.char_indices() {
        if is_invisible(c) {
            continue;
        }
        if c.is_ascii() {
            if let Some(f) = fold_char(c) {
                out.push(f);
                offsets.push(i);
            }
            continue;
        }
        for k in c.encode_utf8(&mut buf).nfkc() {
            if let Some(f) = fold_char(k) {
                out.push(f);
                offsets.push(i);
            }
        }
    }
    (out, offsets)
}

/// Zero-width and other format characters (Unicode category Cf) that Word and web pages
/// leave in text: never part of a name or a date.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}'
    )
}

/// Lowercase, diacritic-free, whitespace-folded form of `s`.
pub fn ascii_fold(s: &str) -> String {
    let (chars, _) = ascii_fold_with_offsets(s);
    collapse_spaces(&chars.into_iter().collect::<String>())
}

/// What free-text search compares: [`ascii_fold`] ("Sở Nội vụ" and "so  noi VU" agree). The
/// dashboard's `tim` filter and the CLI's `--agency`/`--plan` use this and [`search_hit`].
pub fn search_key(s: &str) -> String {
    ascii_fold(s)
}

/// Whether `text` is found by a search for `key` (a [`search_key`]): it contains it.
pub fn search_hit(text: &str, key: &str) -> bool {
    search_key(text).contains(key)
}

/// Collapses runs of whitespace to one space and trims the ends.
pub fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key two agency names are compared by: NFC, lowercase, whitespace folded, the tone mark
/// of each syllable moved to its end (so "Uỷ" and "Ủy" agree), "UBND"/"HĐND" spelled out, and
/// spaces around punctuation removed ("Sở, Ban ngành" = "Sở,Ban ngành").
pub fn name_key(s: &str) -> String {
    let visible: String = s.chars().filter(|c| !is_invisible(*c)).collect();
    let nfc: String = visible.nfc().collect::<String>().to_lowercase();
    let mut words = Vec::new();
    for word in nfc.split(|c: char| c.is_whitespace()) {
        if word.is_empty() {
            continue;
        }
        let expanded = match word.trim_matches(|c: char| c.is_ascii_punctuation()) {
            "ubnd" => Some("ủy ban nhân dân"),
            "hđnd" => Some("hội đồng nhân dân"),
            _ => None,
        };
        match expanded {
            Some(e) => {
                let lead: String = word
                    .chars()
                    .take_while(|c| c.is_ascii_punctuation())
                    .collect();
                let trail: String = word
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_punctuation())
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let spelled: Vec<String> = e.split(' ').map(canonical_tones).collect();
                words.push(format!("{lead}{}{trail}", spelled.join(" ")));
            }
            None => words.push(canonical_tones(word)),
        }
    }
    let joined = words.join(" ");
    // "Sở, Ban" and "Sở ,Ban" and "Sở,Ban" are the same name.
    let mut out = String::with_capacity(joined.len());
    let chars: Vec<char> = joined.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let around_punct =
                prev.is_some_and(is_separator_punct) || next.is_some_and(is_separator_punct);
            if around_punct {
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn is_separator_punct(c: char) -> bool {
    matches!(c, ',' | ';' | ':' | '-' | '–' | '/' | '(' | ')' | '.')
}

/// Moves every tone mark in a syllable to its end, keeping the vowel-shape marks (circumflex,
/// breve, horn) on their letters, then recomposes.
fn canonical_tones(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut tones: Vec<char> = Vec::new();
    let flush = |out: &mut String, tones: &mut Vec<char>| {
        tones.sort_unstable();
        out.extend(tones.drain(..));
    };
    for c in word.nfd() {
        if TONE_MARKS.contains(&c) {
            tones.push(c);
        } else if c.is_alphabetic() || is_combining_mark(c) {
            out.push(c);
        } else {
            // Punctuation ends the syllable: "Sở," keeps its tone before the comma.
            flush(&mut out, &mut tones);
            out.push(c);
        }
    }
    flush(&mut out, &mut tones);
    out.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_handles_nfd_and_d_with_stroke() {
        let nfd: String = "Quý II/2022 Đợt".nfd().collect();
        assert_eq!(ascii_fold(&nfd), "quy ii/2022 dot");
        assert_eq!(ascii_fold("  Tháng\u{a0}3 / 2022 "), "thang 3 / 2022");
        assert_eq!(ascii_fold("Quý Ⅱ／２０２２"), "quy ii/2022");
        assert_eq!(ascii_fold("Tháng ⁶/2022\u{200b}"), "thang 6/2022");
    }

    #[test]
    fn offsets_point_into_original() {
        let s = "Quý II";
        let (chars, offs) = ascii_fold_with_offsets(s);
        assert_eq!(chars.len(), 6);
        assert_eq!(&s[offs[4]..], "II");
    }

    #[test]
    fn name_key_ignores_tone_placement_case_and_spacing() {
        assert_eq!(
            name_key("Uỷ ban nhân dân cấp huyện"),
            name_key("ỦY BAN  NHÂN DÂN cấp huyện")
        );
        assert_eq!(name_key("UBND cấp xã"), name_key("Ủy ban nhân dân cấp xã"));
        assert_eq!(
            name_key("Sở, Ban ngành tỉnh"),
            name_key("Sở ,Ban ngành tỉnh")
        );
        assert_ne!(name_key("Sở Tư pháp"), name_key("Sở Tài chính"));
        assert_ne!(
            name_key("Sở, Ban ngành tỉnh"),
            name_key("Sở, Ban, ngành tỉnh")
        );
        assert_eq!(
            name_key("Văn phòng UBND tỉnh\u{200b}"),
            name_key("Văn phòng UBND\u{a0}tỉnh")
        );
        let nfd: String = "Sở Tư pháp".nfd().collect();
        assert_eq!(name_key(&nfd), name_key("Sở Tư pháp"));
    }

    #[test]
    fn form_text_is_nfc_with_lf_line_breaks_and_nothing_invisible() {
        // "Nội" typed with combining marks, CR LF and a lone CR, ESC, NUL, U+202E, a tab.
        let typed = "No\u{323}\u{302}i vu\u{323}\r\ndo\u{300}ng 2\rdo\u{300}ng 3\u{1b}[31m\u{0}\u{202e}x\ty";
        assert_eq!(clean_form_text(typed), "Nội vụ\ndòng 2\ndòng 3[31mx y");
        assert_eq!(
            clean_form_text("Báo cáo số 12/BC-SNV"),
            "Báo cáo số 12/BC-SNV"
        );
    }
}
