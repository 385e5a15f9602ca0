//! The one way the commands write: every text passes [`Out`], which shows each control
//! character other than a line break or a tab as its escape (`\u{1b}`), so no agency name,
//! subject, id or error text from the config, the store or a server can rewrite the
//! terminal, whichever command prints it (`tests/cli_escaping.rs`).

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

    /// A value as pretty JSON (serde_json escapes control characters in strings itself).
    pub fn json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(value).context("serialising the report")?;
        self.println(json)
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
