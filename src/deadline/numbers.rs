//! Numbers written twice, as legal texts do: "ngày 08 (tám) tháng 7", "06 (sáu) tháng",
//! "15 (mười lăm) ngày". The words in parentheses repeat the number: they are dropped when they
//! agree, and an error when they do not (one of the two is a typo, and guessing which would be
//! a silent wrong date).

use super::lex::Token;
use super::ParseError;

/// The tokens without the spelled-out repeats of the numbers before them.
pub(super) fn drop_spelled(text: &str, toks: &[Token]) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        out.push(t.clone());
        i += 1;
        let Some((n, _)) = t.num() else { continue };
        if !toks.get(i).is_some_and(|p| p.is_sym('(')) {
            continue;
        }
        let Some(close) = toks[i..].iter().position(|x| x.is_sym(')')).map(|k| i + k) else {
            continue;
        };
        let words: Option<Vec<&str>> = toks[i + 1..close].iter().map(Token::word).collect();
        let Some(words) = words.filter(|w| !w.is_empty()) else {
            continue;
        };
        let Some(value) = spelled(&words) else {
            continue;
        };
        // "(năm)" alone may be the word "year" ("31/12 (năm)"): only a repeat when it agrees.
        let ambiguous = words == ["nam"];
        if value != n && ambiguous {
            continue;
        }
        if value != n {
            let shown = |a: usize, b: usize| text.get(a..b).unwrap_or_default();
            return Err(ParseError {
                span: t.span.start..toks[close].span.end,
                message: format!(
                    "số \"{}\" không khớp với chữ \"{}\" ({value}) ghi kèm: hãy sửa một trong hai",
                    shown(t.span.start, t.span.end),
                    shown(toks[i + 1].span.start, toks[close - 1].span.end),
                ),
                suggestions: vec!["ngày 08 (tám) tháng 7 năm 2022"],
            });
        }
        i = close + 1;
    }
    Ok(out)
}

/// The value of a number spelled in (folded) Vietnamese words, from "không" to the thousands:
/// "muoi lam" → 15, "hai muoi mot" → 21, "hai nghin khong tram hai muoi hai" → 2022.
fn spelled(words: &[&str]) -> Option<u32> {
    let mut total = 0u32; // thousands already closed
    let mut hundreds = 0u32; // the current group below a thousand
    let mut tens: Option<u32> = None; // tens of the current group, once "mươi"/"mười" is seen
    let mut unit: Option<u32> = None;
    for (k, w) in words.iter().enumerate() {
        let after_tens = tens.is_some() && unit.is_none();
        let digit = match *w {
            "khong" => Some(0),
            "mot" => Some(1),
            "hai" => Some(2),
            "ba" => Some(3),
            "bon" => Some(4),
            // "hai mươi tư" (24), "mười lăm" (15): the forms after a ten.
            "tu" if after_tens => Some(4),
            "nam" | "lam" => Some(5),
            "sau" => Some(6),
            "bay" => Some(7),
            "tam" => Some(8),
            "chin" => Some(9),
            _ => None,
        };
        if let Some(d) = digit {
            if unit.is_some() {
                return None;
            }
            unit = Some(d);
            continue;
        }
        match *w {
            "muoi" => {
                if tens.is_some() {
                    return None;
                }
                // "mười" alone is ten; "hai mươi" is twenty.
                tens = Some(unit.take().map_or(10, |u| u * 10));
            }
            "linh" | "le" if k > 0 => tens = Some(0),
            "tram" => {
                if tens.is_some() || hundreds != 0 {
                    return None;
                }
                hundreds = unit.take()? * 100;
            }
            "nghin" | "ngan" => {
                let group = hundreds + tens.unwrap_or(0) + unit.take().unwrap_or(0);
                if group == 0 || total != 0 {
                    return None;
                }
                total = group * 1000;
                hundreds = 0;
                tens = None;
            }
            _ => return None,
        }
    }
    let value = total + hundreds + tens.unwrap_or(0) + unit.unwrap_or(0);
    let empty = total == 0 && hundreds == 0 && tens.is_none() && unit.is_none();
    (!empty).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Option<u32> {
        let words: Vec<&str> = s.split(' ').collect();
        spelled(&words)
    }

    #[test]
    fn spelled_numbers() {
        assert_eq!(v("tam"), Some(8));
        assert_eq!(v("sau"), Some(6));
        assert_eq!(v("muoi"), Some(10));
        assert_eq!(v("muoi lam"), Some(15));
        assert_eq!(v("muoi nam"), Some(15));
        assert_eq!(v("hai muoi"), Some(20));
        assert_eq!(v("hai muoi mot"), Some(21));
        assert_eq!(v("hai muoi tu"), Some(24));
        assert_eq!(v("ba muoi mot"), Some(31));
        assert_eq!(v("mot tram linh nam"), Some(105));
        assert_eq!(v("hai nghin khong tram hai muoi hai"), Some(2022));
        assert_eq!(v("tuc"), None);
        assert_eq!(v("tam tam"), None);
        assert_eq!(v("tu"), None);
    }
}
