//! `nhacviec import`: from the plan document (text or .docx) to a plan TOML draft in the shape
//! the config uses, with agency lists split and resolved against `agencies.toml`, and a summary
//! in Vietnamese of what to review. Pure but for reading the file, done by the caller.

pub mod doc;
pub mod plan;

use crate::config::Config;
use crate::deadline::{self, Deadline};
use crate::text::name_key;
use chrono::Datelike;
use std::collections::HashSet;

pub use doc::ReadError;

/// The names an agency list may resolve to: every agency's and group's id, name and alias.
pub struct Names {
    keys: HashSet<String>,
}

impl Names {
    pub fn of(config: &Config) -> Names {
        let mut keys = HashSet::new();
        for a in &config.agencies {
            keys.insert(name_key(&a.id));
            keys.insert(name_key(&a.name));
            keys.extend(a.aliases.iter().map(|x| name_key(x)));
        }
        for g in &config.groups {
            keys.insert(name_key(&g.id));
            keys.insert(name_key(&g.name));
            keys.extend(g.aliases.iter().map(|x| name_key(x)));
        }
        Names { keys }
    }

    pub fn known(&self, name: &str) -> bool {
        self.keys.contains(&name_key(name))
    }
}

/// Splits an agency list as the plan writes it into agencies and groups: "Sở, Ban, ngành tỉnh;
/// UBND cấp huyện" is two groups, "các Sở: Tài chính, Tư pháp" two agencies. Each name comes
/// back with whether it resolves.
pub fn split_agencies(raw: &str, names: &Names) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    // "Sở Nội vụ (chủ trì), các sở, ban, ngành": role markers are not part of names.
    let mut cleaned = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(open) = rest.find('(') {
        let close = rest[open..].find(')').map_or(rest.len(), |c| open + c + 1);
        let inner = crate::text::ascii_fold(&rest[open..close]);
        cleaned.push_str(&rest[..open]);
        if !(inner.contains("chu tri")
            || inner.contains("phoi hop")
            || inner.contains("trach nhiem"))
        {
            cleaned.push_str(&rest[open..close]);
        }
        rest = &rest[close..];
    }
    cleaned.push_str(rest);
    for part in cleaned.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if names.known(part) {
            out.push((part.to_string(), true));
            continue;
        }
        // "các Sở: Tài chính, Tư pháp" → "Sở Tài chính", "Sở Tư pháp".
        if let Some((prefix, list)) = part.split_once(':') {
            let p = prefix
                .trim()
                .trim_start_matches("các ")
                .trim_start_matches("Các ")
                .trim();
            let items: Vec<String> = list
                .split([',', ';'])
                .map(|i| format!("{p} {}", i.trim()))
                .filter(|i| !i.trim().is_empty())
                .collect();
            if !items.is_empty() && items.iter().any(|i| names.known(i)) {
                out.extend(items.into_iter().map(|i| {
                    let k = names.known(&i);
                    (i, k)
                }));
                continue;
            }
        }
        out.extend(greedy(part, names));
    }
    out
}

/// Splits on "," and " và " and joins back the longest runs that are known names.
fn greedy(part: &str, names: &Names) -> Vec<(String, bool)> {
    // Tokens with the separator that preceded each.
    let mut tokens: Vec<(String, &str)> = Vec::new();
    let mut rest = part;
    let mut sep = "";
    loop {
        let comma = rest.find(',');
        let and = rest.find(" và ");
        let (cut, next_sep, width) = match (comma, and) {
            (Some(c), Some(a)) if a < c => (a, " và ", 4),
            (Some(c), _) => (c, ",", 1),
            (None, Some(a)) => (a, " và ", 4),
            (None, None) => {
                tokens.push((rest.trim().to_string(), sep));
                break;
            }
        };
        tokens.push((rest[..cut].trim().to_string(), sep));
        sep = next_sep;
        rest = &rest[cut + width..];
    }
    tokens.retain(|(t, _)| !t.is_empty());
    let join = |from: usize, to: usize| -> String {
        let mut s = tokens[from].0.clone();
        for (t, sep) in &tokens[from + 1..=to] {
            s.push_str(if *sep == "," { ", " } else { " và " });
            s.push_str(t);
        }
        s
    };
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(j) = (i..tokens.len()).rev().find(|&j| names.known(&join(i, j))) {
            out.push((join(i, j), true));
            i = j + 1;
            continue;
        }
        // Unknown: keep it whole with the lowercase words that continue it ("Ban, ngành").
        let mut j = i;
        while j + 1 < tokens.len()
            && tokens[j + 1]
                .0
                .chars()
                .next()
                .is_some_and(char::is_lowercase)
            && !(j + 1..tokens.len()).any(|k| names.known(&join(j + 1, k)))
        {
            j += 1;
        }
        out.push((join(i, j), false));
        i = j + 1;
    }
    out
}

/// One imported task, ready to write.
#[derive(Debug, Clone)]
pub struct ImportedTask {
    pub id: String,
    pub title: String,
    pub line: usize,
    pub lead: Vec<(String, bool)>,
    pub support: Vec<(String, bool)>,
    pub time: Option<String>,
    /// How the time was read, for the summary.
    pub reading: String,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Import {
    pub draft: plan::Draft,
    pub tasks: Vec<ImportedTask>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("không tìm thấy nhiệm vụ nào trong văn bản (cần các mục đánh số kèm \"- Cơ quan chủ trì: ...\", \"- Thời gian: ...\", hoặc một bảng có cột Nội dung / Cơ quan chủ trì / Thời gian)")]
    NoTasks,
}

/// Reads a plan document (its bytes) against the config's agencies and levels.
pub fn import(bytes: &[u8], config: &Config) -> Result<Import, ImportError> {
    let blocks = doc::read(bytes)?;
    let draft = plan::draft(&blocks);
    if draft.tasks.is_empty() {
        return Err(ImportError::NoTasks);
    }
    let names = Names::of(config);
    let ctx = crate::config::model::deadline_context(
        draft.issued.map_or(2000, |d| d.year()),
        &config.levels,
    );
    let tasks = draft
        .tasks
        .iter()
        .map(|t| {
            let split = |s: &Option<String>| {
                s.as_deref()
                    .map(|v| split_agencies(v, &names))
                    .unwrap_or_default()
            };
            let reading = match &t.time {
                None => "không có thời gian".to_string(),
                Some(time) => match deadline::parse(time, &ctx) {
                    Ok(p) => match &p.deadline {
                        Deadline::Dated(_) => format!(
                            "hạn {}",
                            p.deadline
                                .last_due()
                                .map_or(String::new(), crate::dates::dmy)
                        ),
                        Deadline::Recurring { rrule, .. } => format!("định kỳ ({rrule})"),
                        Deadline::PeriodicUnspecified => "định kỳ, cần ghi recurrence".into(),
                        Deadline::Continuous => "thường xuyên".into(),
                        Deadline::OnRequest => "khi có yêu cầu".into(),
                    },
                    Err(e) => format!("KHÔNG ĐỌC ĐƯỢC: {e}"),
                },
            };
            ImportedTask {
                id: t.id.clone(),
                title: t.title.clone(),
                line: t.line,
                lead: split(&t.lead),
                support: split(&t.support),
                time: t.time.clone(),
                reading,
            }
        })
        .collect();
    Ok(Import { draft, tasks })
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(names: &[(String, bool)]) -> String {
    let items: Vec<String> = names.iter().map(|(n, _)| q(n)).collect();
    format!("[{}]", items.join(", "))
}

/// The draft as a plan TOML file.
pub fn to_toml(import: &Import, source: &str) -> String {
    let d = &import.draft;
    let mut out = format!(
        "# Bản nháp do `nhacviec import` tạo từ {source}.\n# Đọc lại từng nhiệm vụ, sửa các dòng có \"CẦN XEM\", rồi chạy `nhacviec check`.\n\n[plan]\n"
    );
    let field = |out: &mut String, key: &str, value: &Option<String>| match value {
        Some(v) => out.push_str(&format!("{key} = {}\n", q(v))),
        None => out.push_str(&format!(
            "{key} = \"\"  # CẦN ĐIỀN: không tìm thấy trong văn bản\n"
        )),
    };
    field(&mut out, "number", &d.number);
    field(&mut out, "title", &d.title);
    field(&mut out, "issuer", &d.issuer);
    match d.issued {
        Some(date) => out.push_str(&format!("issued = {}\n", date.format("%Y-%m-%d"))),
        None => out.push_str("# issued = 2022-01-01  # CẦN ĐIỀN: không tìm thấy ngày ban hành\n"),
    }
    for t in &import.tasks {
        out.push('\n');
        for (name, known) in t.lead.iter().chain(&t.support) {
            if !known {
                out.push_str(&format!(
                    "# CẦN XEM: \"{name}\" chưa có trong danh sách cơ quan (agencies.toml)\n"
                ));
            }
        }
        if t.reading.starts_with("KHÔNG ĐỌC ĐƯỢC") {
            out.push_str(&format!(
                "# CẦN XEM: thời gian {}; ghi due = YYYY-MM-DD nếu biết hạn\n",
                t.reading.to_lowercase()
            ));
        }
        out.push_str(&format!(
            "[[task]]\nid = {}\ntitle = {}\n",
            q(&t.id),
            q(&t.title)
        ));
        if t.lead.is_empty() {
            out.push_str("lead = []  # CẦN ĐIỀN: văn bản không ghi cơ quan chủ trì\n");
        } else {
            out.push_str(&format!("lead = {}\n", list(&t.lead)));
        }
        if !t.support.is_empty() {
            out.push_str(&format!("support = {}\n", list(&t.support)));
        }
        match &t.time {
            Some(time) => out.push_str(&format!("time = {}\n", q(time))),
            None => out.push_str("# time = \"\"  # CẦN ĐIỀN: văn bản không ghi thời gian\n"),
        }
    }
    out
}

/// What the admin should review, in Vietnamese.
pub fn summary(import: &Import) -> String {
    let mut out = format!("Đã đọc {} nhiệm vụ:\n", import.tasks.len());
    for t in &import.tasks {
        out.push_str(&format!(
            "  {:<6} dòng {:<4} {}  →  {}\n",
            t.id,
            t.line,
            t.time.as_deref().unwrap_or("(không có)"),
            t.reading
        ));
    }
    let unknown: Vec<&str> = import
        .tasks
        .iter()
        .flat_map(|t| t.lead.iter().chain(&t.support))
        .filter(|(_, k)| !k)
        .map(|(n, _)| n.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if unknown.is_empty() {
        out.push_str("Mọi cơ quan đều khớp với danh sách cơ quan.\n");
    } else {
        out.push_str(&format!(
            "Tên chưa khớp với danh sách cơ quan ({}):\n",
            unknown.len()
        ));
        for n in unknown {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    if !import.draft.not_understood.is_empty() {
        out.push_str("Dòng không hiểu (không nhập):\n");
        for (line, text) in &import.draft.not_understood {
            let short: String = text.chars().take(100).collect();
            out.push_str(&format!("  dòng {line}: {short}\n"));
        }
    }
    for note in &import.draft.notes {
        out.push_str(&format!("Ghi chú: {note}\n"));
    }
    out
}
