//! From document blocks to a draft plan: the header (number, issuer, date, title), the tasks
//! of the content section with their shared attribute lines, the dated duties of the
//! implementation section, and tasks laid out in a table. Pure.

use super::doc::Block;
use crate::text::ascii_fold;
use chrono::NaiveDate;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub number: Option<String>,
    pub title: Option<String>,
    pub issuer: Option<String>,
    pub issued: Option<NaiveDate>,
    pub tasks: Vec<DraftTask>,
    /// Lines in the task sections that were not understood: (line, text).
    pub not_understood: Vec<(usize, String)>,
    /// Things the admin should know (a heading inferred, a duty without a date).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftTask {
    pub id: String,
    pub title: String,
    pub line: usize,
    /// The lead and support agencies as the document writes them (one string each).
    pub lead: Option<String>,
    pub support: Option<String>,
    pub time: Option<String>,
    /// A heading whose body has not been seen yet.
    heading: bool,
    has_body: bool,
    /// Its text is the unnumbered paragraph after a numbered heading.
    from_body: bool,
}

impl DraftTask {
    fn has_attrs(&self) -> bool {
        self.lead.is_some() || self.support.is_some() || self.time.is_some()
    }
}

/// "a) Text", "b. Text": a lettered sub-item.
fn lettered(text: &str) -> Option<(String, String)> {
    let mut chars = text.chars();
    let letter = chars.next()?;
    let sep = chars.next()?;
    if !(letter.is_lowercase() && letter.is_alphabetic() && matches!(sep, ')' | '.')) {
        return None;
    }
    let rest = chars.as_str();
    if !rest.starts_with(' ') {
        return None;
    }
    Some((letter.to_string(), rest.trim().to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Lead,
    Support,
    Time,
}

const ROMAN: [&str; 8] = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii"];

fn roman_heading(text: &str) -> Option<(usize, String)> {
    let (head, rest) = text.split_once('.')?;
    let n = ROMAN
        .iter()
        .position(|r| *r == head.trim().to_ascii_lowercase())?;
    Some((n + 1, rest.trim().to_string()))
}

/// "4.1. Text", "10.1 Text", "9. Text": the number and the text.
fn numbered(text: &str) -> Option<(String, String)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number = text[..end].trim_end_matches('.');
    if number.is_empty() || number.split('.').any(|p| p.is_empty() || p.len() > 3) {
        return None;
    }
    let rest = text[end..].trim_start_matches([')', ' ']).trim();
    if rest.is_empty()
        || end == 0
        || !text[end..].starts_with([' ', ')']) && !text[..end].ends_with('.')
    {
        return None;
    }
    Some((number.to_string(), rest.to_string()))
}

/// "- Cơ quan chủ trì các nhiệm vụ: X" → (Lead, scope ids, "X").
fn attribute(text: &str) -> Option<(Attr, Option<Vec<String>>, String)> {
    let bulleted = text.trim_start().starts_with(['-', '+', '•', '*', '–']);
    let t = text.trim_start_matches(['-', '+', '•', '*', '–', ' ']);
    // "1.2. Phối hợp kiểm tra: ..." is a task, not an attribute line.
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (key, value) = t.split_once(':')?;
    let folded = ascii_fold(key);
    let named = ["co quan", "don vi", "thoi gian", "thoi han", "tien do"]
        .iter()
        .any(|k| folded.starts_with(k));
    if !bulleted && !named {
        return None;
    }
    let attr = if folded.contains("chu tri") {
        Attr::Lead
    } else if folded.contains("phoi hop") {
        Attr::Support
    } else if folded.starts_with("thoi gian")
        || folded.starts_with("thoi han")
        || folded.starts_with("tien do")
    {
        Attr::Time
    } else {
        return None;
    };
    if folded.split_whitespace().count() > 14 {
        return None;
    }
    // "Cơ quan chủ trì Mục 8.4, 8.5": exactly those items; "Mục 8.1 đến 8.3", "từ 8.1 - 8.3":
    // the range.
    let scope = (folded.contains("muc") || folded.contains("nhiem vu ")).then(|| {
        let ids: Vec<String> = key
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map(|s| s.trim_matches('.'))
            .filter(|s| !s.is_empty() && s.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        let ranged =
            ids.len() == 2 && (folded.contains(" den ") || key.contains('-') || key.contains('–'));
        match (ranged, ids.as_slice()) {
            (true, [from, to]) => expand_range(from, to).unwrap_or(ids.clone()),
            _ => ids,
        }
    });
    let scope = scope.filter(|s| !s.is_empty());
    let value = value.trim().trim_end_matches(['.', ';']).trim().to_string();
    Some((attr, scope, value))
}

/// "8.1".."8.3" → 8.1, 8.2, 8.3 (siblings only).
fn expand_range(from: &str, to: &str) -> Option<Vec<String>> {
    let (fp, fl) = from.rsplit_once('.')?;
    let (tp, tl) = to.rsplit_once('.')?;
    if fp != tp {
        return None;
    }
    let (a, b): (u32, u32) = (fl.parse().ok()?, tl.parse().ok()?);
    (a <= b && b - a < 100).then(|| (a..=b).map(|n| format!("{fp}.{n}")).collect())
}

/// Reads the header lines: "Số: 50/KH-UBND", "Hậu Giang, ngày 24 tháng 3 năm 2022", the body
/// ("ỦY BAN NHÂN DÂN"), and the title.
fn header(blocks: &[Block], draft: &mut Draft) {
    let mut body: Option<String> = None;
    let mut place: Option<String> = None;
    let lines: Vec<String> = blocks
        .iter()
        .flat_map(|b| match b {
            Block::Para { text, .. } => vec![text.clone()],
            Block::Table { rows, .. } => rows.iter().flat_map(|r| r.iter().cloned()).collect(),
        })
        .take(40)
        .collect();
    for (i, line) in lines.iter().enumerate() {
        let folded = ascii_fold(line);
        if draft.number.is_none() {
            if let Some(pos) = folded.find("so:") {
                let raw = line
                    .char_indices()
                    .nth(folded[..pos].chars().count() + 3)
                    .map_or("", |(b, _)| &line[b..]);
                let n = raw
                    .split(['|', ' '])
                    .find(|s| !s.trim().is_empty())
                    .unwrap_or("")
                    .trim();
                if n.contains('/') {
                    draft.number = Some(n.to_string());
                }
            }
        }
        if draft.issued.is_none() {
            if let Some(pos) = folded.find(", ngay ") {
                let parts: Vec<&str> = folded[pos + 7..]
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|s| !s.is_empty())
                    .collect();
                if let [d, m, y, ..] = parts.as_slice() {
                    if let (Ok(d), Ok(m), Ok(y)) = (d.parse(), m.parse(), y.parse()) {
                        draft.issued = NaiveDate::from_ymd_opt(y, m, d);
                        let before = line
                            .split(',')
                            .next()
                            .unwrap_or("")
                            .split('|')
                            .next_back()
                            .unwrap_or("")
                            .trim();
                        if !before.is_empty() {
                            place = Some(before.to_string());
                        }
                    }
                }
            }
        }
        if body.is_none() && (folded.starts_with("uy ban nhan dan") || folded.starts_with("ubnd")) {
            body = Some("UBND".into());
        }
        if draft.title.is_none() && folded.trim() == "ke hoach" {
            if let Some(next) = lines.get(i + 1) {
                draft.title = Some(format!("Kế hoạch {}", next.trim()));
            }
        }
    }
    // "UBND tỉnh Hậu Giang ban hành Kế hoạch ... như sau:" in the preamble.
    if draft.title.is_none() {
        for line in &lines {
            let folded = ascii_fold(line);
            // The last "ban hành Kế hoạch" of the preamble: earlier ones cite other documents.
            if let Some(pos) = folded.rfind("ban hanh ke hoach") {
                let start = line
                    .char_indices()
                    .nth(folded[..pos].chars().count() + 9)
                    .map_or(0, |(b, _)| b);
                let rest = &line[start..];
                let end = ascii_fold(rest).find(" nhu sau").map_or(rest.len(), |p| {
                    rest.char_indices()
                        .nth(ascii_fold(rest)[..p].chars().count())
                        .map_or(rest.len(), |(b, _)| b)
                });
                draft.title = Some(rest[..end].trim().trim_end_matches([':', '.']).to_string());
                break;
            }
        }
    }
    if let (Some(_), Some(place)) = (body, place) {
        let folded = ascii_fold(&place);
        let kind = if folded.starts_with("thanh pho") || folded.contains("tp.") {
            "thành phố"
        } else {
            "tỉnh"
        };
        let name = place
            .trim_start_matches("Thành phố ")
            .trim_start_matches("TP. ");
        draft.issuer = Some(format!("UBND {kind} {name}"));
    }
}

/// Reads a plan document's blocks into a draft.
pub fn draft(blocks: &[Block]) -> Draft {
    let mut d = Draft::default();
    header(blocks, &mut d);
    let mut section = 0usize;
    let mut section_kind = SectionKind::Preamble;
    // Tasks waiting for their attribute lines.
    let mut pending: Vec<usize> = Vec::new();
    let mut attrs_seen = false;
    let mut last_numbered: Option<String> = None;
    let mut last_unnumbered_in_section = false;
    for block in blocks {
        let (line, text) = match block {
            Block::Para { line, text } => (*line, text.as_str()),
            Block::Table { line, rows } => {
                table(*line, rows, &mut d);
                continue;
            }
        };
        if let Some((n, title)) = roman_heading(text) {
            section = n;
            let folded = ascii_fold(&title);
            section_kind = if folded.contains("noi dung") || folded.contains("nhiem vu") {
                SectionKind::Tasks
            } else if folded.contains("to chuc thuc hien") {
                SectionKind::Implementation
            } else if folded.contains("kinh phi") {
                SectionKind::Funding
            } else {
                SectionKind::Other
            };
            pending.clear();
            attrs_seen = false;
            last_unnumbered_in_section = false;
            continue;
        }
        match section_kind {
            SectionKind::Tasks => {
                if let Some((attr, scope, value)) = attribute(text) {
                    let targets: Vec<usize> = match &scope {
                        Some(ids) => d
                            .tasks
                            .iter()
                            .enumerate()
                            .filter(|(_, t)| ids.contains(&t.id))
                            .map(|(i, _)| i)
                            .collect(),
                        None => pending.clone(),
                    };
                    if targets.is_empty() {
                        d.not_understood.push((line, text.to_string()));
                        continue;
                    }
                    for i in targets {
                        let t = &mut d.tasks[i];
                        let slot = match attr {
                            Attr::Lead => &mut t.lead,
                            Attr::Support => &mut t.support,
                            Attr::Time => &mut t.time,
                        };
                        *slot = Some(value.clone());
                    }
                    attrs_seen = true;
                    continue;
                }
                let item = numbered(text).map(|(n, b)| (n, b, false)).or_else(|| {
                    // "a) ...": a sub-item of the last numbered item.
                    let parent = last_numbered.clone()?;
                    lettered(text).map(|(l, b)| (format!("{parent}.{l}"), b, true))
                });
                if let Some((number, body, is_letter)) = item {
                    if attrs_seen {
                        pending.clear();
                        attrs_seen = false;
                    }
                    if !is_letter {
                        last_numbered = Some(number.clone());
                    }
                    let depth = number.split('.').count();
                    if depth == 1 {
                        // A heading; its task is the next unnumbered paragraph, if any.
                        d.tasks.push(DraftTask {
                            id: number,
                            title: body,
                            line,
                            heading: true,
                            ..DraftTask::default()
                        });
                    } else {
                        let (parent, last) = number
                            .rsplit_once('.')
                            .map(|(p, l)| (p.to_string(), l.to_string()))
                            .unwrap_or_default();
                        // A parent with no attributes of its own is a heading, not a task.
                        if let Some(pi) = d.tasks.iter().position(|t| t.id == parent) {
                            let first_taken = d.tasks.iter().any(|t| t.id == format!("{parent}.1"));
                            if d.tasks[pi].from_body && last == "2" && !first_taken {
                                // "9.2" after an unnumbered first item under heading "9": 9.1.
                                d.tasks[pi].id = format!("{parent}.1");
                            } else if !d.tasks[pi].has_attrs() {
                                d.tasks.remove(pi);
                                pending.retain(|&i| i != pi);
                                for i in &mut pending {
                                    if *i > pi {
                                        *i -= 1;
                                    }
                                }
                            }
                        }
                        d.tasks.push(DraftTask {
                            id: number,
                            title: body,
                            line,
                            has_body: true,
                            ..DraftTask::default()
                        });
                    }
                    // Items before a shared attribute block all take it ("4.1" to "4.5").
                    pending.push(d.tasks.len() - 1);
                    last_unnumbered_in_section = false;
                    continue;
                }
                // Unnumbered text: the body of a heading's single task, or a continuation.
                match d.tasks.last_mut() {
                    Some(t) if t.heading && !t.has_body => {
                        t.title = text.to_string();
                        t.line = line;
                        t.has_body = true;
                        t.heading = false;
                        t.from_body = true;
                        pending.push(d.tasks.len() - 1);
                    }
                    _ => d.not_understood.push((line, text.to_string())),
                }
                last_unnumbered_in_section = true;
            }
            SectionKind::Funding | SectionKind::Implementation => {
                if let Some((number, body)) = numbered(text) {
                    // Plans often omit "IV. TỔ CHỨC THỰC HIỆN": numbered duties after the
                    // funding paragraph belong to it.
                    if section_kind == SectionKind::Funding && last_unnumbered_in_section {
                        section += 1;
                        section_kind = SectionKind::Implementation;
                        d.notes.push(format!(
                            "dòng {line}: mục {} (Tổ chức thực hiện) không có tiêu đề; đã coi các đoạn đánh số từ đây là mục này",
                            ROMAN.get(section - 1).map_or(String::new(), |r| r.to_uppercase())
                        ));
                    }
                    let roman = ROMAN
                        .get(section.saturating_sub(1))
                        .map_or(String::new(), |r| r.to_uppercase());
                    match duty(&body) {
                        Some((lead, time)) => d.tasks.push(DraftTask {
                            id: format!("{roman}.{number}"),
                            title: body.clone(),
                            line,
                            lead: Some(lead),
                            time: Some(time),
                            has_body: true,
                            ..DraftTask::default()
                        }),
                        None => d.notes.push(format!(
                            "dòng {line}: nhiệm vụ {roman}.{number} không có thời hạn, không nhập"
                        )),
                    }
                } else {
                    last_unnumbered_in_section = true;
                }
            }
            SectionKind::Preamble | SectionKind::Other => {}
        }
    }
    // Headings never followed by a task are not tasks (unless attributes were given to them).
    d.tasks.retain(|t| t.has_body || t.has_attrs());
    d
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Preamble,
    Tasks,
    Funding,
    Implementation,
    Other,
}

/// A duty of the implementation section with a date: its subject (the lead) and its time.
fn duty(text: &str) -> Option<(String, String)> {
    let folded = ascii_fold(text);
    let time = find_time(text)?;
    // The subject: the words before the first verb-like marker.
    const MARKERS: &[&str] = &[
        " tren co so",
        " chu tri",
        " co trach nhiem",
        " xay dung",
        " to chuc",
        " phoi hop",
        " tham muu",
        " thuc hien",
        " trien khai",
        " can cu",
    ];
    let cut = MARKERS.iter().filter_map(|m| folded.find(m)).min()?;
    let chars = folded[..cut].chars().count();
    let end = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(b, _)| b);
    Some((text[..end].trim().to_string(), time))
}

/// The first phrase in `text` that reads as a dated deadline ("trong tháng 4 năm 2022").
pub fn find_time(text: &str) -> Option<String> {
    const STARTS: &[&str] = &[
        "trong thang",
        "truoc ngay",
        "cham nhat",
        "trong quy",
        "trong nam",
        "quy ",
        "thang ",
        "ngay ",
        "nam 20",
        "den ngay",
        "truoc ",
    ];
    let folded = ascii_fold(text);
    let ctx = crate::deadline::Context {
        plan_year: 2000,
        levels: vec![],
    };
    let char_starts: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    for (fi, _) in folded.char_indices() {
        let tail = &folded[fi..];
        if !STARTS.iter().any(|s| tail.starts_with(s))
            || (fi > 0 && folded[..fi].ends_with(|c: char| c.is_alphanumeric()))
        {
            continue;
        }
        // "Quyết định số 12/QĐ-UBND ngày 10/01/2023": the date of a cited document.
        let before: Vec<&str> = folded[..fi].split_whitespace().rev().take(3).collect();
        if before
            .iter()
            .any(|w| w.contains('/') && w.chars().any(|c| c.is_alphabetic()))
            || before.first() == Some(&"so")
        {
            continue;
        }
        let start_char = folded[..fi].chars().count();
        let start = char_starts.get(start_char).copied().unwrap_or(text.len());
        let rest = &text[start..];
        // Up to the end of the clause.
        let end = rest
            .find([',', ';', '.'])
            .map(|e| {
                // "30/6/2022" and "8.6" keep their dots and slashes.
                let mut e = e;
                while rest[e..].starts_with('.')
                    && rest[e + 1..].starts_with(|c: char| c.is_ascii_digit())
                {
                    e = rest[e + 1..]
                        .find([',', ';', '.'])
                        .map_or(rest.len(), |x| e + 1 + x);
                }
                e
            })
            .unwrap_or(rest.len());
        let mut phrase = rest[..end].trim().to_string();
        for stop in [" và ", " để ", " theo "] {
            if let Some(p) = phrase.find(stop) {
                phrase.truncate(p);
            }
        }
        let phrase = phrase.trim().to_string();
        if let Ok(parsed) = crate::deadline::parse(&phrase, &ctx) {
            if matches!(parsed.deadline, crate::deadline::Deadline::Dated(_))
                && parsed
                    .notes
                    .iter()
                    .all(|n| !matches!(n.kind, crate::deadline::NoteKind::Ignored(_)))
            {
                return Some(phrase);
            }
        }
    }
    None
}

/// Tasks laid out in a table: a header row naming the columns, then one row per task.
fn table(line: usize, rows: &[Vec<String>], d: &mut Draft) {
    let Some(hi) = rows.iter().position(|r| {
        let f: Vec<String> = r.iter().map(|c| ascii_fold(c)).collect();
        f.iter().any(|c| c.contains("chu tri"))
            && f.iter()
                .any(|c| c.contains("noi dung") || c.contains("nhiem vu"))
    }) else {
        return;
    };
    let header: Vec<String> = rows[hi].iter().map(|c| ascii_fold(c)).collect();
    let col = |pred: &dyn Fn(&str) -> bool| header.iter().position(|c| pred(c));
    let id_col =
        col(&|c: &str| c == "stt" || c == "tt" || c.starts_with("so tt") || c == "so thu tu");
    let content =
        col(&|c: &str| c.contains("noi dung") || c.contains("nhiem vu") || c.contains("ten"));
    let lead = col(&|c: &str| c.contains("chu tri"));
    let support = col(&|c: &str| c.contains("phoi hop"));
    let time =
        col(&|c: &str| c.contains("thoi gian") || c.contains("thoi han") || c.contains("tien do"));
    let Some(content) = content else { return };
    let cell = |r: &Vec<String>, c: Option<usize>| {
        c.and_then(|c| r.get(c))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let mut group = String::new();
    let mut k = 0;
    for (ri, r) in rows.iter().enumerate().skip(hi + 1) {
        let Some(title) = cell(r, Some(content)) else {
            continue;
        };
        // Separator rows ("---") carry nothing.
        if r.iter().all(|c| {
            c.chars()
                .all(|ch| matches!(ch, '-' | ':' | ' ' | '=' | '+'))
        }) {
            continue;
        }
        let id = cell(r, id_col);
        let (l, s, t) = (cell(r, lead), cell(r, support), cell(r, time));
        // A group row: a Roman number, or nothing but the content.
        if id
            .as_deref()
            .is_some_and(|i| ROMAN.contains(&i.to_ascii_lowercase().trim_end_matches('.')))
            || (l.is_none() && t.is_none())
        {
            group = id.unwrap_or_default();
            k = 0;
            continue;
        }
        k += 1;
        let mut id = id
            .map(|i| i.trim_end_matches('.').to_string())
            .unwrap_or_else(|| {
                if group.is_empty() {
                    k.to_string()
                } else {
                    format!("{group}.{k}")
                }
            });
        // Numbering that restarts in each group ("I": 1, 2; "II": 1, 2) is made unique.
        if d.tasks.iter().any(|t| t.id == id) && !group.is_empty() {
            id = format!("{group}.{id}");
        }
        d.tasks.push(DraftTask {
            id,
            title,
            line: line + ri,
            lead: l,
            support: s,
            time: t,
            has_body: true,
            ..DraftTask::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_attributes() {
        assert_eq!(
            numbered("4.1. Rà soát"),
            Some(("4.1".into(), "Rà soát".into()))
        );
        assert_eq!(
            numbered("10.1 Đảm bảo"),
            Some(("10.1".into(), "Đảm bảo".into()))
        );
        assert_eq!(
            numbered("9. Về tuyên truyền"),
            Some(("9".into(), "Về tuyên truyền".into()))
        );
        assert_eq!(numbered("2022 là năm"), None);
        let (a, scope, v) =
            attribute("- Cơ quan chủ trì Mục 8.4, 8.5: Sở Thông tin và Truyền thông.").unwrap();
        assert_eq!(
            (a, scope, v.as_str()),
            (
                Attr::Lead,
                Some(vec!["8.4".into(), "8.5".into()]),
                "Sở Thông tin và Truyền thông"
            )
        );
        assert_eq!(
            attribute("- Thời gian: Quý II/2022.").unwrap().2,
            "Quý II/2022"
        );
    }

    #[test]
    fn times_inside_sentences() {
        assert_eq!(
            find_time(
                "xây dựng Kế hoạch của cơ quan, đơn vị mình trong tháng 4 năm 2022 và tổ chức"
            )
            .as_deref(),
            Some("trong tháng 4 năm 2022")
        );
        assert_eq!(
            find_time("báo cáo kết quả trước ngày 15/12/2022."),
            Some("trước ngày 15/12/2022".into())
        );
        assert_eq!(find_time("đảm bảo kinh phí thực hiện Kế hoạch này"), None);
    }
}
