//! Reading a plan document into blocks: paragraphs and tables, with their line numbers.
//! Plain UTF-8 text (tables as lines with `|` separators) or a Word .docx (the document XML,
//! read with `zip` and `roxmltree`). Anything else gets a clear error.

use std::io::Read;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph (one line of text), with its 1-based line (paragraph number in a .docx).
    Para { line: usize, text: String },
    /// A table: its first line, and each row's cells.
    Table { line: usize, rows: Vec<Vec<String>> },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("tệp trống")]
    Empty,
    #[error("tệp {0} không đọc được: hãy lưu văn bản dưới dạng .docx (Word) hoặc văn bản thuần UTF-8 (.txt)")]
    Unsupported(&'static str),
    #[error("tệp không phải văn bản UTF-8 (có thể là bảng mã cũ TCVN3/VNI): hãy lưu lại dưới dạng UTF-8 hoặc .docx")]
    NotUtf8,
    #[error("tệp .docx hỏng hoặc không phải Word: {0}")]
    BadDocx(String),
    #[error("tệp .docx có {0} phần nén, quá {MAX_ZIP_ENTRIES} phần một văn bản Word có thể có: không đọc (tệp hỏng hoặc cố ý gây hại)")]
    TooManyEntries(usize),
    #[error("tệp .docx giải nén ra quá lớn: {0} vượt quá {mb} MB (tệp hỏng hoặc cố ý gây hại); hãy lưu lại văn bản trong Word, hoặc chép nội dung ra tệp .txt", mb = MAX_UNZIPPED_BYTES / (1024 * 1024))]
    TooLarge(String),
}

/// The most parts a .docx may have (a Word document has a few dozen).
pub const MAX_ZIP_ENTRIES: usize = 10_000;

/// The most bytes read out of one part of a .docx once decompressed: a small file can expand
/// to gigabytes (a "zip bomb").
pub const MAX_UNZIPPED_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a document from its bytes.
pub fn read(bytes: &[u8]) -> Result<Vec<Block>, ReadError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ReadError::Empty);
    }
    if bytes.starts_with(b"%PDF") {
        return Err(ReadError::Unsupported("PDF"));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ReadError::Unsupported("Word cũ (.doc)"));
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G'])
        || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"GIF8")
    {
        return Err(ReadError::Unsupported("ảnh"));
    }
    if bytes.starts_with(b"{\\rtf") {
        return Err(ReadError::Unsupported("RTF"));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return read_docx(bytes);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)?;
    if text.chars().any(|c| c == '\0') {
        return Err(ReadError::Unsupported("nhị phân"));
    }
    Ok(read_text(text.strip_prefix('\u{feff}').unwrap_or(text)))
}

fn is_table_line(line: &str) -> bool {
    line.matches('|').count() >= 2
        || (line.trim_start().starts_with('|') && line.matches('|').count() >= 1)
}

/// Plain text: one paragraph per line; runs of lines with `|` separators are tables.
pub fn read_text(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut table: Option<(usize, Vec<Vec<String>>)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if is_table_line(raw) {
            let cells: Vec<String> = raw
                .trim()
                .trim_matches('|')
                .split('|')
                .map(crate::text::collapse_spaces)
                .collect();
            // Markdown separator rows ("|---|---|") carry nothing.
            if cells.iter().all(|c| {
                c.chars()
                    .all(|ch| matches!(ch, '-' | ':' | ' ' | '+' | '='))
            }) {
                continue;
            }
            table.get_or_insert((line, Vec::new())).1.push(cells);
            continue;
        }
        if let Some((l, rows)) = table.take() {
            out.push(Block::Table { line: l, rows });
        }
        let t = crate::text::collapse_spaces(raw);
        if !t.is_empty() {
            out.push(Block::Para { line, text: t });
        }
    }
    if let Some((l, rows)) = table.take() {
        out.push(Block::Table { line: l, rows });
    }
    out
}

/// One part of the archive as text, read at most [`MAX_UNZIPPED_BYTES`] whatever its header
/// claims.
fn read_entry<R: std::io::Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<String, ReadError> {
    let entry = archive
        .by_name(name)
        .map_err(|_| ReadError::BadDocx(format!("không có {name}")))?;
    if entry.size() > MAX_UNZIPPED_BYTES {
        return Err(ReadError::TooLarge(name.into()));
    }
    let mut bytes = Vec::new();
    entry
        .take(MAX_UNZIPPED_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::BadDocx(e.to_string()))?;
    if bytes.len() as u64 > MAX_UNZIPPED_BYTES {
        return Err(ReadError::TooLarge(name.into()));
    }
    String::from_utf8(bytes)
        .map_err(|_| ReadError::BadDocx(format!("{name} không phải văn bản UTF-8")))
}

/// A .docx: paragraphs and tables of `word/document.xml`, in order. "Lines" are paragraph
/// numbers (table cells count as the table's line).
fn read_docx(bytes: &[u8]) -> Result<Vec<Block>, ReadError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ReadError::BadDocx(e.to_string()))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(ReadError::TooManyEntries(archive.len()));
    }
    let xml = read_entry(&mut archive, "word/document.xml")?;
    let doc = roxmltree::Document::parse(&xml).map_err(|e| ReadError::BadDocx(e.to_string()))?;
    let body = doc
        .descendants()
        .find(|n| n.has_tag_name((W, "body")))
        .ok_or_else(|| ReadError::BadDocx("không có phần thân văn bản".into()))?;
    let mut out = Vec::new();
    let mut line = 0;
    for node in body.children().filter(|n| n.is_element()) {
        if node.has_tag_name((W, "p")) {
            line += 1;
            let text = crate::text::collapse_spaces(&paragraph_text(node));
            if !text.is_empty() {
                out.push(Block::Para { line, text });
            }
        } else if node.has_tag_name((W, "tbl")) {
            line += 1;
            let mut rows: Vec<Vec<String>> = Vec::new();
            for r in node.children().filter(|r| r.has_tag_name((W, "tr"))) {
                let mut row = Vec::new();
                for (col, c) in r
                    .children()
                    .filter(|c| c.has_tag_name((W, "tc")))
                    .enumerate()
                {
                    // A vertically merged cell continues the one above: Word leaves it empty.
                    let continued = c
                        .descendants()
                        .find(|n| n.has_tag_name((W, "vMerge")))
                        .is_some_and(|m| m.attribute((W, "val")).is_none_or(|v| v != "restart"));
                    let text = if continued {
                        rows.last()
                            .and_then(|prev: &Vec<String>| prev.get(col))
                            .cloned()
                            .unwrap_or_default()
                    } else {
                        let paras: Vec<String> = c
                            .descendants()
                            .filter(|p| p.has_tag_name((W, "p")))
                            .map(paragraph_text)
                            .collect();
                        crate::text::collapse_spaces(&paras.join(" "))
                    };
                    row.push(text);
                }
                rows.push(row);
            }
            out.push(Block::Table { line, rows });
        }
    }
    Ok(out)
}

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

/// The text of a paragraph: its runs' text, tabs and breaks as spaces.
fn paragraph_text(p: roxmltree::Node) -> String {
    let mut s = String::new();
    for n in p.descendants() {
        if n.has_tag_name((W, "t")) {
            s.push_str(n.text().unwrap_or(""));
        } else if n.has_tag_name((W, "tab")) || n.has_tag_name((W, "br")) {
            s.push(' ');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(read(b""), Err(ReadError::Empty));
        assert_eq!(read(b"  \n"), Err(ReadError::Empty));
        assert_eq!(read(b"%PDF-1.7 ..."), Err(ReadError::Unsupported("PDF")));
        assert_eq!(
            read(&[0xD0, 0xCF, 0x11, 0xE0, 0, 0]),
            Err(ReadError::Unsupported("Word cũ (.doc)"))
        );
        assert_eq!(read(&[0xff, 0xfe, 0x41]), Err(ReadError::NotUtf8));
        assert!(matches!(
            read(b"PK\x03\x04garbage"),
            Err(ReadError::BadDocx(_))
        ));
    }

    #[test]
    fn text_tables_are_grouped() {
        let blocks = read_text("Đầu\n| STT | Nội dung |\n|---|---|\n| 1 | Việc |\nCuối\n");
        assert_eq!(blocks.len(), 3);
        assert_eq!(
            blocks[1],
            Block::Table {
                line: 2,
                rows: vec![
                    vec!["STT".into(), "Nội dung".into()],
                    vec!["1".into(), "Việc".into()]
                ]
            }
        );
    }
}
