//! Tokens of a deadline text, over its ASCII-folded form, each carrying the byte span of the
//! original text it came from.

use crate::text::ascii_fold_with_offsets;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A run of digits: its value (saturated) and how many digits it had.
    Num(u32, usize),
    /// A run of letters, folded (lowercase, no diacritics).
    Word(String),
    /// Any other non-space character: `/ - , ; : . ( )` and the rest.
    Sym(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    /// Byte span in the original text.
    pub span: Range<usize>,
    /// Whether whitespace separates this token from the previous one.
    pub space_before: bool,
}

impl Token {
    pub fn is_word(&self, w: &str) -> bool {
        matches!(&self.tok, Tok::Word(x) if x == w)
    }
    pub fn is_sym(&self, c: char) -> bool {
        self.tok == Tok::Sym(c)
    }
    pub fn num(&self) -> Option<(u32, usize)> {
        match self.tok {
            Tok::Num(n, d) => Some((n, d)),
            _ => None,
        }
    }
    pub fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// A quarter written in Roman numerals (folded to lowercase): "ii" → 2.
pub fn roman(w: &str) -> Option<u32> {
    Some(match w {
        "i" => 1,
        "ii" => 2,
        "iii" => 3,
        "iv" => 4,
        _ => return None,
    })
}

/// Splits `text` into tokens. Never fails: unknown characters become `Sym`.
pub fn tokenize(text: &str) -> Vec<Token> {
    let (chars, offsets) = ascii_fold_with_offsets(text);
    let end_of = |i: usize| -> usize { offsets.get(i + 1).copied().unwrap_or(text.len()) };
    let mut out = Vec::new();
    let mut i = 0;
    let mut space_before = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            space_before = true;
            i += 1;
            continue;
        }
        let start = i;
        let tok = if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let value = digits.parse::<u32>().unwrap_or(u32::MAX);
            Tok::Num(value, i - start)
        } else if c.is_alphabetic() {
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            Tok::Word(chars[start..i].iter().collect())
        } else {
            i += 1;
            Tok::Sym(c)
        };
        out.push(Token {
            tok,
            span: offsets[start]..end_of(i - 1),
            space_before,
        });
        space_before = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_original_spans() {
        let text = "Quý II/2022";
        let toks = tokenize(text);
        assert_eq!(toks.len(), 4);
        assert!(toks[0].is_word("quy"));
        assert_eq!(&text[toks[0].span.clone()], "Quý");
        assert!(toks[1].is_word("ii"));
        assert!(toks[2].is_sym('/'));
        assert_eq!(toks[3].num(), Some((2022, 4)));
        assert!(toks[1].space_before && !toks[2].space_before);
    }

    #[test]
    fn huge_numbers_saturate() {
        let toks = tokenize("99999999999999999999");
        assert_eq!(toks[0].num(), Some((u32::MAX, 20)));
    }
}
