//! The one way the commands write: every text passes [`Out`], which shows each control
//! character other than a line break or a tab as its escape (`\u{1b}`), so no agency name,
//! subject, id or error text from the config, the store or a server can rewrite the
//! terminal, whichever command prints it (`tests/it/cli_escaping.rs`).

use anyhow::Context as _;
use std::fmt::Display;
use std::io::Write as _;

/// Standard output and standard error, escaped.
pub struct Out(());

impl Out {
    pub fn new() -> Out {
        Out(())
    }

    pub fn print(&self, text: impl Display) -> anyhow::Result<()> {
        write_escaped(&mut std::io::stdout().lock(), &text.to_string())
    }

    pub fn println(&self, text: impl Display) -> anyhow::Result<()> {
        self.print(format_args!("{text}\n"))
    }

    pub fn eprint(&self, text: impl Display) -> anyhow::Result<()> {
        write_escaped(&mut std::io::stderr().lock(), &text.to_string())
    }

    pub fn eprintln(&self, text: impl Display) -> anyhow::Result<()> {
        self.eprint(format_args!("{text}\n"))
    }

    /// A value as pretty JSON. serde_json escapes the C0 controls in strings; the others a
    /// terminal obeys (DEL, C1, the bidirectional overrides) become JSON's own `\uXXXX`, so
    /// the output is safe on a terminal and still parses to the same value.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(value).context("serialising the report")?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(json_escaped(&json).as_bytes())?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
        Ok(())
    }

    /// A document meant for a file (`import`'s TOML draft): as it is into a pipe or a
    /// redirection, so `> draft.toml` keeps every character; escaped on a terminal.
    pub fn document(&self, text: &str) -> anyhow::Result<()> {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            return self.print(text);
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// A file's bytes (`--out -`): the file as it is, for a pipe or a redirection. A terminal
    /// would take a workbook's bytes as control sequences, so it is refused one.
    pub fn file(&self, bytes: &[u8]) -> anyhow::Result<()> {
        use std::io::IsTerminal;
        let mut stdout = std::io::stdout().lock();
        if stdout.is_terminal() {
            return Err(super::args::Refused(
                "không in tệp ra màn hình: ghi vào tệp bằng --out <tệp>, hoặc chuyển sang chương trình khác (| hoặc >)"
                    .into(),
            )
            .into());
        }
        stdout.write_all(bytes)?;
        stdout.flush()?;
        Ok(())
    }
}

/// `text` with every unprintable character but `\n` and `\t` escaped (`text::printable`'s
/// escape), written whole.
fn write_escaped(w: &mut impl std::io::Write, text: &str) -> anyhow::Result<()> {
    w.write_all(escaped(text).as_bytes())?;
    w.flush()?;
    Ok(())
}

/// Serialised JSON with every unprintable character left in it written as `\uXXXX`: outside
/// strings JSON holds none, and each is in the Basic Multilingual Plane.
fn json_escaped(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.chars().any(nhacviec::text::is_unprintable) {
        return json.into();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if nhacviec::text::is_unprintable(c) && c != '\n' {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.into()
}

fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    let kept = |c: char| c == '\n' || c == '\t' || !nhacviec::text::is_unprintable(c);
    if text.chars().all(kept) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if kept(c) {
            out.push(c);
        } else {
            nhacviec::text::push_printable(&mut out, c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_keeps_parsing_to_the_same_value_with_no_raw_control_character() {
        let value = serde_json::json!({"title": "\u{202e}Rà\u{7} soát\u{9b}2J\u{7f}", "n": 1});
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let shown = super::json_escaped(&pretty);
        assert!(
            !shown
                .chars()
                .any(|c| c != '\n' && nhacviec::text::is_unprintable(c)),
            "{shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn control_characters_but_line_breaks_and_tabs_are_escaped() {
        assert_eq!(
            super::escaped("Sở\u{1b}[31m\u{7}\r\n\tx\u{202e}"),
            "Sở\\u{1b}[31m\\u{7}\\u{d}\n\tx\\u{202e}"
        );
        assert!(matches!(
            super::escaped("Sở Nội vụ\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
