//! Module dependency directions, enforced by reading the source under `src/`.
//!
//! The checker is a handful of pure functions over source text: `strip` blanks comments and
//! string/char literals (newlines kept, so line numbers stay those of the file), `tokenize`
//! splits what is left, `drop_test_modules` removes `#[cfg(test)] mod … { … }` blocks, `scan`
//! lists what a file references (crate modules, external crates, clock reads) and `check`
//! applies `RULES` and the no-cycle rule to a set of files. `real_tree_obeys_the_rules` runs it
//! on `src/`; `checker_finds_what_it_should` runs it on snippets, so the checker is tested too.
//!
//! `src/main.rs` (the binary shell) and `src/lib.rs` (the crate root, which only declares the
//! modules) are exempt.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::Path;

/// A dependency rule: files of the modules in `applies_to` may not reference the modules,
/// external crates or clock reads listed.
struct Rule {
    name: &'static str,
    applies_to: &'static [&'static str],
    /// Top-level crate modules (`crate::NAME`, `super::…` resolved, `use crate::{…}` groups).
    no_modules: &'static [&'static str],
    /// External path roots (`tokio`, `reqwest`, …) and the `std::fs`-like modules.
    no_externals: &'static [&'static str],
    /// `Utc::now`, `Local::now`, `SystemTime::now`, `Instant::now`, with or without a prefix.
    no_clock: bool,
    /// Files of the covered modules the rule leaves out, as module paths (`config::read`).
    exempt: &'static [&'static str],
    reason: &'static str,
}

impl Rule {
    fn covers(&self, module: &[String]) -> bool {
        self.applies_to.contains(&module[0].as_str())
            && !self.exempt.contains(&module.join("::").as_str())
    }
}

const CORE: &[&str] = &[
    "text",
    "deadline",
    "calendar",
    "policy",
    "schedule",
    "render",
    "report",
    "forecast",
    "check",
    "outbox",
    "messages",
    "dates",
    "overview",
    "workbook",
    "ics",
    "answers",
    "links",
    "extension",
    "evidence",
    "report_doc",
];

const RULES: &[Rule] = &[
    Rule {
        name: "1 config is plain data",
        applies_to: &["config"],
        no_modules: &[
            "channels", "deliver", "store", "daemon", "health", "http", "web",
        ],
        no_externals: &["reqwest", "hyper", "axum", "rusqlite", "tokio"],
        no_clock: false,
        exempt: &[],
        reason: "config parses and validates files; it knows nothing of delivery, storage, \
                 the network or the runtime",
    },
    Rule {
        name: "2 core is pure",
        applies_to: CORE,
        no_modules: &[
            "store", "channels", "deliver", "daemon", "health", "http", "web",
        ],
        no_externals: &[
            "tokio",
            "reqwest",
            "lettre",
            "rusqlite",
            "axum",
            "hyper",
            "std::fs",
            "std::env",
            "std::net",
            "std::process",
        ],
        no_clock: true,
        exempt: &[],
        reason: "the core computes from its inputs only: no I/O, no runtime, no clock, so it is \
                 deterministic and testable",
    },
    Rule {
        name: "3 channels are leaves of delivery",
        applies_to: &["channels"],
        no_modules: &["deliver", "daemon"],
        no_externals: &[],
        no_clock: false,
        exempt: &[],
        reason: "deliver drives the channels; a channel calling back into deliver or the daemon \
                 is a cycle",
    },
    Rule {
        name: "4 store is below delivery",
        applies_to: &["store"],
        no_modules: &["channels", "deliver", "daemon"],
        no_externals: &[],
        no_clock: false,
        exempt: &[],
        reason: "the store persists deliveries; it must not depend on who sends them",
    },
    Rule {
        name: "6 config analysis reads no disk",
        applies_to: &["config"],
        no_modules: &[],
        no_externals: &["std::fs", "std::env", "std::process"],
        no_clock: true,
        exempt: &["config::read"],
        reason: "config::analyze works on the text read_dir read (src/config/read.rs), so it is \
                 testable on strings and a reload checks exactly what it will apply",
    },
    Rule {
        name: "7 the lead knows only the database's lock",
        applies_to: &["lead"],
        no_modules: &[
            "store", "channels", "deliver", "daemon", "health", "http", "web",
        ],
        no_externals: &[],
        no_clock: false,
        exempt: &[],
        reason: "lead says whether this instance sends; the daemon acts on it, so the lead \
                 stays a small piece testable without a service",
    },
];

const CYCLE_REASON: &str =
    "5 no import cycles: top-level modules must form a DAG, so each can be understood (and \
     tested) on top of the ones it uses";

const EXTERNAL_ROOTS: &[&str] = &["tokio", "reqwest", "lettre", "rusqlite", "axum", "hyper"];
const STD_MODULES: &[&str] = &["fs", "env", "net", "process"];
const CLOCKS: &[&str] = &["Utc", "Local", "SystemTime", "Instant"];

// ---------------------------------------------------------------------------------------------
// Stripping comments and literals

/// Blanks comments, string literals (plain, byte, C, raw) and char/byte literals with spaces,
/// keeping every newline so line numbers are those of the original text.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, s: &[char]| {
        for &ch in s {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '/' && c.get(i + 1) == Some(&'/') {
            let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
            blank(&mut out, &c[i..end]);
            i = end;
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            let mut j = i;
            while j < c.len() {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            let end = j.min(c.len());
            blank(&mut out, &c[i..end]);
            i = end;
        } else if is_ident_char(ch) {
            let start = i;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if matches!(word.as_str(), "r" | "br" | "cr") {
                // Raw string: r"…", r#"…"#, br##"…"##.
                let mut j = i;
                while j < c.len() && c[j] == '#' {
                    j += 1;
                }
                let hashes = j - i;
                if c.get(j) == Some(&'"') {
                    let mut k = j + 1;
                    let end = loop {
                        if k >= c.len() {
                            break c.len();
                        }
                        if c[k] == '"' && (1..=hashes).all(|h| c.get(k + h) == Some(&'#')) {
                            break k + 1 + hashes;
                        }
                        k += 1;
                    };
                    blank(&mut out, &c[start..end]);
                    i = end;
                    continue;
                }
            }
            // A `b"…"`, `c"…"` or `b'…'` prefix is blanked with the literal that follows.
            if matches!(word.as_str(), "b" | "c") && matches!(c.get(i), Some('"') | Some('\'')) {
                blank(&mut out, &c[start..i]);
            } else {
                out.extend(&c[start..i]);
            }
        } else if ch == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(c.len());
            blank(&mut out, &c[i..end]);
            i = end;
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}', '\'') or a lifetime/label ('a, 'static).
            let end = if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                if j < c.len() {
                    j += 1; // the escaped character, which may be a quote
                }
                while j < c.len() && c[j] != '\'' && c[j] != '\n' {
                    j += 1;
                }
                Some((j + 1).min(c.len()))
            } else if c.get(i + 2) == Some(&'\'') && c.get(i + 1) != Some(&'\n') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, &c[i..end]);
                    i = end;
                }
                None => {
                    out.push(ch);
                    i += 1;
                }
            }
        } else {
            out.push(ch);
            i += 1;
        }
    }
    out
}

/// Identifier characters (digits included: a number is read as one harmless "identifier").
fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    text: String,
    line: usize,
    ident: bool,
}

impl Tok {
    fn is(&self, s: &str) -> bool {
        self.text == s
    }
}

/// Splits stripped text into identifiers, `::` and single punctuation characters.
fn tokenize(stripped: &str) -> Vec<Tok> {
    let c: Vec<char> = stripped.chars().collect();
    let mut toks = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if is_ident_char(ch) {
            let start = i;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            let mut text: String = c[start..i].iter().collect();
            // Raw identifier r#name.
            if text == "r"
                && c.get(i) == Some(&'#')
                && c.get(i + 1).is_some_and(|&n| is_ident_char(n))
            {
                let s = i + 1;
                i = s;
                while i < c.len() && is_ident_char(c[i]) {
                    i += 1;
                }
                text = c[s..i].iter().collect();
            }
            toks.push(Tok {
                text,
                line,
                ident: true,
            });
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            toks.push(Tok {
                text: "::".into(),
                line,
                ident: false,
            });
            i += 2;
        } else {
            toks.push(Tok {
                text: ch.to_string(),
                line,
                ident: false,
            });
            i += 1;
        }
    }
    toks
}

/// Index just past the group opened at `open` (`{`, `[` or `(`), brace-matched.
fn matching(toks: &[Tok], open: usize) -> usize {
    let (o, cl) = match toks[open].text.as_str() {
        "{" => ("{", "}"),
        "[" => ("[", "]"),
        _ => ("(", ")"),
    };
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(open) {
        if t.is(o) {
            depth += 1;
        } else if t.is(cl) {
            depth -= 1;
            if depth == 0 {
                return j + 1;
            }
        }
    }
    toks.len()
}

/// Removes `#[cfg(test)] mod NAME { … }` blocks (other attributes and a visibility may sit
/// between the `#[cfg(test)]` and the `mod`): tests inside a module may use anything.
fn drop_test_modules(toks: Vec<Tok>) -> Vec<Tok> {
    let pat = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut keep = vec![true; toks.len()];
    let mut i = 0;
    while i < toks.len() {
        let is_cfg_test =
            i + pat.len() <= toks.len() && pat.iter().enumerate().all(|(k, p)| toks[i + k].is(p));
        if !is_cfg_test {
            i += 1;
            continue;
        }
        let mut j = i + pat.len();
        // Further attributes.
        while j + 1 < toks.len() && toks[j].is("#") && toks[j + 1].is("[") {
            j = matching(&toks, j + 1);
        }
        // Visibility: pub, pub(crate), pub(super), pub(in path).
        if j < toks.len() && toks[j].is("pub") {
            j += 1;
            if j < toks.len() && toks[j].is("(") {
                j = matching(&toks, j);
            }
        }
        if j + 2 < toks.len() && toks[j].is("mod") && toks[j + 1].ident && toks[j + 2].is("{") {
            let end = matching(&toks, j + 2);
            keep[i..end].iter_mut().for_each(|k| *k = false);
            i = end;
        } else {
            i += 1;
        }
    }
    toks.into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(t, _)| t)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Paths and references

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Target {
    /// A top-level module of the crate (`crate::store::Store` → `store`).
    Module(String),
    /// An external crate root (`reqwest`) or a std module (`std::fs`).
    External(String),
    /// A clock read (`Utc::now`).
    Clock(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Module(m) => write!(f, "crate::{m}"),
            Target::External(e) => write!(f, "{e}"),
            Target::Clock(c) => write!(f, "the clock ({c})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Ref {
    line: usize,
    target: Target,
}

type Seg = (String, usize);

/// Parses one path or use tree starting at `i`, expanding `{…}` groups. Returns the full
/// paths (each a list of segments with their lines) and the index after the tree.
fn parse_tree(toks: &[Tok], mut i: usize, prefix: Vec<Seg>) -> (Vec<Vec<Seg>>, usize) {
    let mut path = prefix;
    let mut out = Vec::new();
    if i < toks.len() && toks[i].is("::") {
        i += 1; // a leading `::`
    }
    while i < toks.len() {
        let t = &toks[i];
        if t.ident {
            path.push((t.text.clone(), t.line));
            i += 1;
        } else if t.is("*") {
            i += 1;
            break;
        } else if t.is("{") {
            i += 1;
            while i < toks.len() && !toks[i].is("}") {
                let (sub, j) = parse_tree(toks, i, path.clone());
                out.extend(sub);
                i = j;
                if i + 1 < toks.len() && toks[i].is("as") && toks[i + 1].ident {
                    i += 2;
                }
                if i < toks.len() && toks[i].is(",") {
                    i += 1;
                } else if i < toks.len() && !toks[i].is("}") {
                    // Not a use group after all: stop without looping forever.
                    return (out, i);
                }
            }
            return (out, (i + 1).min(toks.len()));
        } else {
            break;
        }
        let continues = i + 1 < toks.len()
            && toks[i].is("::")
            && (toks[i + 1].ident || toks[i + 1].is("{") || toks[i + 1].is("*"));
        if !continues {
            break;
        }
        i += 1;
    }
    out.push(path);
    (out, i)
}

/// What one path references, given the module path of the file it is in (`["config",
/// "settings"]` for src/config/settings.rs, plus any inline `mod` it sits in). `single_ok`
/// says a one-segment path still names a crate (`use tokio;`, `extern crate tokio;`).
fn classify(path: &[Seg], module: &[String], single_ok: bool) -> Vec<Ref> {
    let mut refs = Vec::new();
    let Some((first, first_line)) = path.first() else {
        return refs;
    };
    let segs: Vec<&str> = path.iter().map(|(s, _)| s.as_str()).collect();
    match first.as_str() {
        "crate" | "nhacviec" => {
            if let Some((m, line)) = path.get(1) {
                if m != "self" && m != "super" {
                    refs.push(Ref {
                        line: *line,
                        target: Target::Module(m.clone()),
                    });
                }
            }
        }
        "super" | "self" => {
            let ups = segs.iter().take_while(|s| **s == "super").count();
            let base = &module[..module.len().saturating_sub(ups)];
            let rest = if first == "self" { 1 } else { ups };
            if let Some(top) = base.first() {
                refs.push(Ref {
                    line: *first_line,
                    target: Target::Module(top.clone()),
                });
            } else if let Some((m, line)) = path.get(rest) {
                refs.push(Ref {
                    line: *line,
                    target: Target::Module(m.clone()),
                });
            }
        }
        "std" => {
            if let Some((m, line)) = path.get(1) {
                if STD_MODULES.contains(&m.as_str()) {
                    refs.push(Ref {
                        line: *line,
                        target: Target::External(format!("std::{m}")),
                    });
                }
            }
        }
        root if EXTERNAL_ROOTS.contains(&root) && (path.len() > 1 || single_ok) => {
            refs.push(Ref {
                line: *first_line,
                target: Target::External(root.to_string()),
            });
        }
        _ => {}
    }
    for w in path.windows(2) {
        if w[1].0 == "now" && CLOCKS.contains(&w[0].0.as_str()) {
            refs.push(Ref {
                line: w[0].1,
                target: Target::Clock(format!("{}::now", w[0].0)),
            });
        }
    }
    refs
}

/// Module path of a file under src/: `src/config/settings.rs` → `["config", "settings"]`,
/// `src/config/mod.rs` → `["config"]`, `src/deliver.rs` → `["deliver"]`.
fn module_path(rel: &str) -> Vec<String> {
    let rel = rel.strip_prefix("src/").unwrap_or(rel);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Everything `src` (the text of the file whose module path is `module`) references, outside
/// comments, literals and `#[cfg(test)]` modules. References to the file's own top-level
/// module are left out.
fn scan(src: &str, module: &[&str]) -> Vec<Ref> {
    let toks = drop_test_modules(tokenize(&strip(src)));
    let file_module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
    let own = file_module.first().cloned();
    let mut inline: Vec<(String, usize)> = Vec::new(); // inline `mod NAME {` and its depth
    let mut depth = 0usize;
    let mut refs = BTreeSet::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if t.is("{") {
            depth += 1;
            if i >= 2 && toks[i - 2].is("mod") && toks[i - 1].ident {
                inline.push((toks[i - 1].text.clone(), depth));
            }
            i += 1;
            continue;
        }
        if t.is("}") {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        let prev = i.checked_sub(1).map(|p| &toks[p]);
        let starts_path = if t.ident {
            !prev.is_some_and(|p| p.is("::"))
        } else if t.is("::") {
            // A leading `::` (`::std::fs`), not `<T>::new` or `a::b`.
            !prev.is_some_and(|p| p.ident || p.is(">") || p.is(")"))
                && toks.get(i + 1).is_some_and(|n| n.ident)
        } else {
            false
        };
        if !starts_path {
            i += 1;
            continue;
        }
        let single_ok = prev
            .is_some_and(|p| p.is("use") || (p.is("crate") && i >= 2 && toks[i - 2].is("extern")));
        let (paths, next) = parse_tree(&toks, i, Vec::new());
        let mut module: Vec<String> = file_module.clone();
        module.extend(inline.iter().map(|(n, _)| n.clone()));
        for p in &paths {
            for r in classify(p, &module, single_ok) {
                let own_module = matches!(&r.target, Target::Module(m) if Some(m) == own.as_ref());
                if !own_module {
                    refs.insert(r);
                }
            }
        }
        // `parse_tree` may stop on a `{`/`}` it did not consume; the loop above counts those.
        i = next.max(i + 1);
    }
    refs.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// Rules

/// The paths of `src` resolved to absolute module paths (`super::page::X` in `web::forms` →
/// `["web", "page", "X"]`), with their lines: what the file-level cycle check reads.
fn absolute_paths(src: &str, module: &[&str]) -> Vec<(Vec<String>, usize)> {
    let toks = drop_test_modules(tokenize(&strip(src)));
    let file_module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let prev = i.checked_sub(1).map(|p| &toks[p]);
        if !t.ident || prev.is_some_and(|p| p.is("::")) {
            i += 1;
            continue;
        }
        let (paths, next) = parse_tree(&toks, i, Vec::new());
        for p in &paths {
            let segs: Vec<&str> = p.iter().map(|(s, _)| s.as_str()).collect();
            let line = p.first().map_or(0, |(_, l)| *l);
            let abs: Option<Vec<String>> = match segs.first() {
                Some(&"crate") | Some(&"nhacviec") => {
                    Some(segs[1..].iter().map(|s| s.to_string()).collect())
                }
                Some(&"super") => {
                    let ups = segs.iter().take_while(|s| **s == "super").count();
                    let mut base: Vec<String> =
                        file_module[..file_module.len().saturating_sub(ups)].to_vec();
                    base.extend(segs[ups..].iter().map(|s| s.to_string()));
                    Some(base)
                }
                _ => None,
            };
            if let Some(abs) = abs {
                out.push((abs, line));
            }
        }
        i = next.max(i + 1);
    }
    out
}

/// Cycles between the files of one directory module (`web::forms` ↔ `web::page`): the
/// module graph sees a directory as one node, so these are checked apart.
fn file_cycles(files: &[(String, String)]) -> Vec<String> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(p, _)| module_path(p)).collect();
    let mut graph: BTreeMap<String, BTreeMap<String, (String, usize)>> = BTreeMap::new();
    for (path, text) in files {
        let module = module_path(path);
        if module.len() < 2 {
            continue; // a top-level file or a directory's mod.rs: the module graph's
        }
        let parts: Vec<&str> = module.iter().map(String::as_str).collect();
        let from = module.join("::");
        graph.entry(from.clone()).or_default();
        for (abs, line) in absolute_paths(text, &parts) {
            // The longest prefix naming a file of the same directory, not this one.
            let target = (2..=abs.len())
                .rev()
                .map(|n| abs[..n].to_vec())
                .find(|m| modules.contains(m));
            if let Some(t) = target.filter(|t| t[0] == module[0] && *t != module) {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(t.join("::"))
                    .or_insert_with(|| (path.clone(), line));
            }
        }
    }
    find_cycles(&graph)
        .into_iter()
        .map(|cycle| {
            let evidence: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let (file, line) = &graph[&w[0]][&w[1]];
                    format!("{file}:{line} ({} → {})", w[0], w[1])
                })
                .collect();
            format!(
                "import cycle between files {}: {} (rule {CYCLE_REASON})",
                cycle.join(" → "),
                evidence.join(", ")
            )
        })
        .collect()
}

/// Checks a set of files (path relative to the crate, text) against `RULES` and the no-cycle
/// rule. Returns one line per violation, sorted.
fn check(files: &[(String, String)]) -> Vec<String> {
    let mut violations = Vec::new();
    // module → referenced module → first (file, line) seen.
    let mut graph: BTreeMap<String, BTreeMap<String, (String, usize)>> = BTreeMap::new();
    let mut scanned: Vec<(&str, String, Vec<String>, Vec<Ref>)> = Vec::new();
    for (path, text) in files {
        let module = module_path(path);
        if module.is_empty() || module == ["main"] || module == ["lib"] {
            continue; // crate root and binary shell
        }
        let parts: Vec<&str> = module.iter().map(String::as_str).collect();
        scanned.push((
            path.as_str(),
            module[0].clone(),
            module.clone(),
            scan(text, &parts),
        ));
    }
    let known: BTreeSet<&str> = scanned.iter().map(|(_, m, _, _)| m.as_str()).collect();
    for (path, module, full, refs) in &scanned {
        graph.entry(module.clone()).or_default();
        for r in refs {
            if let Target::Module(m) = &r.target {
                if known.contains(m.as_str()) {
                    graph
                        .entry(module.clone())
                        .or_default()
                        .entry(m.clone())
                        .or_insert_with(|| (path.to_string(), r.line));
                }
            }
            for rule in RULES.iter().filter(|rule| rule.covers(full)) {
                let hit = match &r.target {
                    Target::Module(m) => rule.no_modules.contains(&m.as_str()),
                    Target::External(e) => rule.no_externals.contains(&e.as_str()),
                    Target::Clock(_) => rule.no_clock,
                };
                if hit {
                    violations.push((
                        path.to_string(),
                        r.line,
                        format!(
                            "{path}:{}: {module} uses {} (rule {}: {})",
                            r.line, r.target, rule.name, rule.reason
                        ),
                    ));
                }
            }
        }
    }
    violations.sort();
    let mut out: Vec<String> = violations.into_iter().map(|(_, _, v)| v).collect();
    for cycle in find_cycles(&graph) {
        let shown = cycle.join(" → ");
        let evidence: Vec<String> = cycle
            .windows(2)
            .map(|w| {
                let (file, line) = &graph[&w[0]][&w[1]];
                format!("{file}:{line} ({} → {})", w[0], w[1])
            })
            .collect();
        out.push(format!(
            "import cycle {shown}: {} (rule {CYCLE_REASON})",
            evidence.join(", ")
        ));
    }
    out
}

/// The cycles of the module graph: for each edge on a cycle, the shortest cycle through it,
/// rotated to start at its smallest module and deduplicated. Each is given closed
/// (`["a", "b", "a"]`).
fn find_cycles<V>(graph: &BTreeMap<String, BTreeMap<String, V>>) -> Vec<Vec<String>> {
    let mut cycles = BTreeSet::new();
    for (a, targets) in graph {
        for b in targets.keys() {
            if a == b {
                continue;
            }
            // Shortest path b → … → a, breadth first.
            let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = VecDeque::from([b.as_str()]);
            let mut seen = BTreeSet::from([b.as_str()]);
            let mut found = b == a;
            while let Some(n) = queue.pop_front() {
                if n == a {
                    found = true;
                    break;
                }
                for next in graph.get(n).into_iter().flat_map(|t| t.keys()) {
                    if seen.insert(next.as_str()) {
                        prev.insert(next.as_str(), n);
                        queue.push_back(next.as_str());
                    }
                }
            }
            if !found {
                continue;
            }
            let mut back = vec![a.as_str()];
            while *back.last().unwrap() != b.as_str() {
                back.push(prev[back.last().unwrap()]);
            }
            back.reverse(); // b … a
            let mut cycle: Vec<String> = std::iter::once(a.clone())
                .chain(back.iter().take(back.len() - 1).map(|s| s.to_string()))
                .collect(); // a b … (without the closing a)
            let min = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap_or(0);
            cycle.rotate_left(min);
            let first = cycle[0].clone();
            cycle.push(first);
            cycles.insert(cycle);
        }
    }
    cycles.into_iter().collect()
}

fn read_tree(dir: &Path, root: &Path, files: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(&path, root, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under the crate")
                .to_string_lossy();
            let rel = rel.replace('\\', "/");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            files.push((rel, text));
        }
    }
}

/// The files that are test code: modules declared `#[cfg(test)] mod name;` (a test module in
/// a file of its own, like `src/messages/tests.rs`), by module path.
fn test_only_files(files: &[(String, String)]) -> BTreeSet<Vec<String>> {
    let pat = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = BTreeSet::new();
    for (path, text) in files {
        let toks = tokenize(&strip(text));
        for i in 0..toks.len() {
            if i + pat.len() > toks.len() || !pat.iter().enumerate().all(|(k, p)| toks[i + k].is(p))
            {
                continue;
            }
            let mut j = i + pat.len();
            if toks.get(j).is_some_and(|t| t.is("pub")) {
                j += 1;
                if toks.get(j).is_some_and(|t| t.is("(")) {
                    j = matching(&toks, j);
                }
            }
            if toks.get(j).is_some_and(|t| t.is("mod"))
                && toks.get(j + 2).is_some_and(|t| t.is(";"))
            {
                if let Some(name) = toks.get(j + 1) {
                    let mut module = module_path(path);
                    module.push(name.text.clone());
                    out.insert(module);
                }
            }
        }
    }
    out
}

#[test]
fn real_tree_obeys_the_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_tree(&root.join("src"), root, &mut files);
    assert!(
        files.iter().any(|(p, _)| p == "src/lib.rs"),
        "no src/lib.rs under {}",
        root.display()
    );
    let tests = test_only_files(&files);
    files.retain(|(p, _)| !tests.contains(&module_path(p)));
    assert!(
        tests.contains(&vec!["messages".to_string(), "tests".to_string()]),
        "the messages' test file is known as test code: {tests:?}"
    );
    let mut violations = check(&files);
    violations.extend(file_cycles(&files));
    assert!(
        violations.is_empty(),
        "{} module dependency violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The checker, checked

fn m(name: &str) -> Target {
    Target::Module(name.into())
}

fn targets(src: &str, module: &[&str]) -> Vec<Target> {
    scan(src, module).into_iter().map(|r| r.target).collect()
}

fn file(path: &str, text: &str) -> (String, String) {
    (path.to_string(), text.to_string())
}

#[test]
fn file_cycles_inside_a_directory_are_found() {
    let files = [
        file(
            "src/web/forms.rs",
            "use super::page::{error, MAX};\nfn f() { super::upload::read(); }",
        ),
        file("src/web/page.rs", "fn g() -> i64 { super::forms::UNDO }"),
        file("src/web/upload.rs", "use crate::web::page::error;"),
        file(
            "src/web/mod.rs",
            "mod forms; mod page; mod upload; use page::error;",
        ),
    ];
    let found = file_cycles(&files);
    // forms ↔ page, and forms → upload → page → forms.
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("web::forms → web::page → web::forms")
            && found[0].contains("src/web/page.rs:1"),
        "{found:?}"
    );
    assert!(
        found[1].contains("web::forms → web::upload → web::page → web::forms"),
        "{found:?}"
    );
    // One direction only: none.
    let files = [
        file("src/web/forms.rs", "use super::page::error;"),
        file("src/web/page.rs", "fn g() {}"),
    ];
    assert!(file_cycles(&files).is_empty());
}

#[test]
fn checker_finds_what_it_should() {
    // Comments and literals never count; code does, on the right line.
    let src = r####"
// crate::store::Store in a line comment
/// doc: crate::store::Store
//! inner doc: reqwest::get
/* block crate::store /* nested crate::deliver */ still crate::daemon */
const A: &str = "crate::store::Store \" crate::deliver";
const B: &str = r#"crate::store "quoted" tokio::spawn"#;
const C: &[u8] = br##"crate::store "# Utc::now()"##;
const D: char = '"';
const E: char = '\'';
fn f<'a>(x: &'a str) -> &'a str { x }
let s = crate::store::Store::open();
"####;
    assert_eq!(
        scan(src, &["text"]),
        vec![Ref {
            line: 12,
            target: m("store")
        }]
    );

    // Use groups, nested, with self and renames.
    assert_eq!(
        targets(
            "use crate::{store, text::{self, fold as f}, config::Config};",
            &["report"]
        ),
        vec![m("config"), m("store"), m("text")]
    );
    assert_eq!(
        scan(
            "use crate::{\n    calendar,\n    store::Store,\n};",
            &["policy"]
        ),
        vec![
            Ref {
                line: 2,
                target: m("calendar")
            },
            Ref {
                line: 3,
                target: m("store")
            }
        ]
    );
    // `nhacviec::` and `$crate::` name the crate too.
    assert_eq!(
        targets("nhacviec::store::x();", &["text"]),
        vec![m("store")]
    );
    assert_eq!(
        targets("$crate::deliver::x!();", &["text"]),
        vec![m("deliver")]
    );

    // super:: stays within the parent module (a self-reference, dropped), except from a
    // top-level file or mod.rs, where it reaches the crate root.
    assert_eq!(
        targets("use super::model::Config;", &["config", "settings"]),
        vec![]
    );
    assert_eq!(
        targets("use super::store::Store;", &["config"]),
        vec![m("store")]
    );
    assert_eq!(
        targets("use super::super::store;", &["config", "settings"]),
        vec![m("store")]
    );
    assert_eq!(targets("self::store::x();", &["store"]), vec![]);
    // Inside an inline module, super:: is the file's module.
    assert_eq!(targets("mod inner { use super::x; }", &["deliver"]), vec![]);

    // External crates by path root, std modules, clock reads with or without a prefix.
    assert_eq!(
        targets(
            "use tokio;\nuse std::{fs, io, env::var};\nfn g() { ::std::net::Ipv4Addr::LOCALHOST; \
             reqwest::Url::parse(\"\"); chrono::Utc::now(); Local::now(); \
             std::time::SystemTime::now(); Instant::now(); }",
            &["text"]
        ),
        vec![
            Target::External("tokio".into()),
            Target::External("std::env".into()),
            Target::External("std::fs".into()),
            Target::External("reqwest".into()),
            Target::External("std::net".into()),
            Target::Clock("Instant::now".into()),
            Target::Clock("Local::now".into()),
            Target::Clock("SystemTime::now".into()),
            Target::Clock("Utc::now".into()),
        ]
    );
    // Not path roots: a field, a trailing segment, a lone identifier.
    assert_eq!(
        targets(
            "x.tokio; a::tokio::b(); let reqwest = 1; my::std::fs::x;",
            &["text"]
        ),
        vec![]
    );

    // #[cfg(test)] modules are ignored, whatever follows them is not.
    let src = "#[cfg(test)]\nmod tests {\n    use crate::store::Store;\n    fn t() { Utc::now(); }\n}\n\
               #[cfg(test)]\n#[allow(unused)]\npub(crate) mod helpers { fn h() { crate::deliver::x(); } }\n\
               fn after() { crate::channels::x(); }\n";
    assert_eq!(
        scan(src, &["text"]),
        vec![Ref {
            line: 9,
            target: m("channels")
        }]
    );

    // Rules: a core module reading the clock or importing store; config using reqwest.
    let v = check(&[
        file("src/lib.rs", "pub mod text; pub mod store; pub mod config;"),
        file(
            "src/main.rs",
            "fn main() { tokio::spawn(); nhacviec::store::x(); Utc::now(); }",
        ),
        file(
            "src/text.rs",
            "// Utc::now()\nfn now() -> i64 {\n    Utc::now().timestamp()\n}\nuse crate::store;\n",
        ),
        file(
            "src/store.rs",
            "use rusqlite::Connection;\nfn t() { Utc::now(); }\n",
        ),
        file(
            "src/config/settings.rs",
            "fn url() { reqwest::Url::parse(\"x\"); lettre::Address; std::fs::read(\"x\"); }",
        ),
    ]);
    assert_eq!(v.len(), 4, "{v:#?}");
    assert!(
        v[0].starts_with("src/config/settings.rs:1: config uses reqwest (rule 1"),
        "{}",
        v[0]
    );
    assert!(
        v[1].starts_with("src/config/settings.rs:1: config uses std::fs (rule 6"),
        "{}",
        v[1]
    );
    assert!(
        v[2].starts_with("src/text.rs:3: text uses the clock (Utc::now) (rule 2"),
        "{}",
        v[2]
    );
    assert!(
        v[3].starts_with("src/text.rs:5: text uses crate::store (rule 2"),
        "{}",
        v[3]
    );

    // Rule 6: only config::read may touch the disk.
    let v = check(&[
        file("src/config/read.rs", "fn r() { std::fs::read(\"x\"); }"),
        file(
            "src/config/channels.rs",
            "fn c() { let _ = std::fs::metadata(\"ca.pem\"); }",
        ),
    ]);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(
        v[0].starts_with("src/config/channels.rs:1: config uses std::fs (rule 6"),
        "{v:#?}"
    );

    // A missing module is skipped; channels → deliver breaks rule 3 and closes a cycle.
    let v = check(&[
        file(
            "src/channels/webhook.rs",
            "\nuse crate::deliver::SendError;\n",
        ),
        file("src/deliver.rs", "use crate::channels;\nuse crate::text;\n"),
        file("src/text.rs", ""),
    ]);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(v[0].starts_with("src/channels/webhook.rs:2: channels uses crate::deliver (rule 3"));
    assert!(
        v[1].starts_with(
            "import cycle channels → deliver → channels: src/channels/webhook.rs:2 (channels → \
             deliver), src/deliver.rs:1 (deliver → channels)"
        ),
        "{}",
        v[1]
    );

    // Cycles: a → b → a, a longer one, and none in a DAG.
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeMap<String, ()>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string())
                .or_default()
                .insert(b.to_string(), ());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    let names = |c: &[Vec<String>]| c.iter().map(|c| c.join(" → ")).collect::<Vec<_>>();
    assert_eq!(
        names(&find_cycles(&graph(&[("a", "b"), ("b", "a")]))),
        ["a → b → a"]
    );
    assert_eq!(
        names(&find_cycles(&graph(&[
            ("x", "c"),
            ("c", "a"),
            ("a", "b"),
            ("b", "c")
        ]))),
        ["a → b → c → a"]
    );
    assert!(find_cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    let v = check(&[
        file("src/a/mod.rs", "use crate::b::X;"),
        file("src/b.rs", "fn f() { super::a::y(); }"),
    ]);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(v[0].starts_with("import cycle a → b → a: src/a/mod.rs:1 (a → b), src/b.rs:1 (b → a)"));
}

// ---------------------------------------------------------------------------------------------
// The command line prints through its one escaping writer

/// Files of the binary (`src/main.rs`, `src/cli/`) that print other than through
/// `cli::output::Out` (which escapes what config, store and servers say): `print!` and its
/// kin, or stdout/stderr taken directly. `cli/output.rs` is the writer; `cli/logs.rs` hands
/// stderr to the log subscriber.
fn unescaped_prints(files: &[(String, String)]) -> Vec<String> {
    const PRINTS: &[&str] = &[
        "print!",
        "println!",
        "eprint!",
        "eprintln!",
        "stdout(",
        "stderr(",
    ];
    let mut found = Vec::new();
    for (path, text) in files {
        let binary = path == "src/main.rs" || path.starts_with("src/cli/");
        if !binary || path == "src/cli/output.rs" || path == "src/cli/logs.rs" {
            continue;
        }
        for (n, line) in strip(text).lines().enumerate() {
            let line: String = line.split_whitespace().collect();
            for p in PRINTS.iter().filter(|p| line.contains(*p)) {
                found.push(format!(
                    "{path}:{}: `{p}` prints around the escaping writer (use cli::output::Out)",
                    n + 1
                ));
            }
        }
    }
    found
}

#[test]
fn the_commands_print_only_through_the_escaping_writer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_tree(&root.join("src"), root, &mut files);
    assert!(files.iter().any(|(p, _)| p == "src/cli/output.rs"));
    let found = unescaped_prints(&files);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The checker, checked: a print in a command is found, one in a comment or a string not.
    let snippet = [
        file(
            "src/cli/history.rs",
            "// println!(\"x\")\nfn f() {\n    let s = \"print!(\";\n    println! (\"{}\", s);\n    std::io::stdout ().lock();\n}\n",
        ),
        file("src/cli/output.rs", "fn p() { print!(\"x\") }"),
        file("src/report.rs", "fn p() { println!(\"x\") }"),
    ];
    let found = unescaped_prints(&snippet);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("src/cli/history.rs:4: `println!`"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("src/cli/history.rs:5: `stdout(`"),
        "{found:#?}"
    );
}
