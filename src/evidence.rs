//! Evidence attached to an answer (a report, a scanned decision, a photo): which kinds are
//! accepted, and the type of a file told by its content, never by its name. Pure: the bytes
//! are passed in; the disk is the store's business, the upload the web's.
//!
//! Accepted: PDF (`%PDF-`), PNG (its 8-byte signature), JPEG (`FF D8 FF`), and the Office
//! formats DOCX and XLSX, which are zip files: a DOCX has `word/document.xml`, an XLSX
//! `xl/workbook.xml`, both `[Content_Types].xml`. Only the zip's central directory is read
//! (names, no decompression), at most [`MAX_ZIP_ENTRIES`] of them.

use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The types the forms accept, as the file input's `accept` attribute lists them.
pub const ACCEPT: &str = ".pdf,.docx,.xlsx,.jpg,.jpeg,.png";
/// Characters of a file name kept (the rest cut, the extension kept).
pub const MAX_NAME: usize = 200;
/// A zip with more entries than this is not taken for an Office document.
pub const MAX_ZIP_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Pdf,
    Docx,
    Xlsx,
    Jpeg,
    Png,
}

impl Kind {
    /// The extension files are stored under.
    pub fn ext(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Docx => "docx",
            Kind::Xlsx => "xlsx",
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Pdf => "application/pdf",
            Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Kind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
        }
    }

    /// What a person calls it.
    pub fn vi(self) -> &'static str {
        match self {
            Kind::Pdf => "tệp PDF",
            Kind::Docx => "văn bản Word (.docx)",
            Kind::Xlsx => "bảng tính Excel (.xlsx)",
            Kind::Jpeg => "ảnh JPEG",
            Kind::Png => "ảnh PNG",
        }
    }

    /// The kind a stored media type names.
    pub fn from_media_type(media_type: &str) -> Option<Kind> {
        [Kind::Pdf, Kind::Docx, Kind::Xlsx, Kind::Jpeg, Kind::Png]
            .into_iter()
            .find(|k| k.media_type() == media_type)
    }

    /// The kind a file name declares by its extension (case ignored).
    pub fn of_name(name: &str) -> Option<Kind> {
        let (_, ext) = name.rsplit_once('.')?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "pdf" => Kind::Pdf,
            "docx" => Kind::Docx,
            "xlsx" => Kind::Xlsx,
            "jpg" | "jpeg" => Kind::Jpeg,
            "png" => Kind::Png,
            _ => return None,
        })
    }
}

/// Why a file is refused: each a Vietnamese sentence for the agency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Tệp kèm \"{name}\" rỗng (0 byte): vui lòng chọn lại tệp.")]
    Empty { name: String },
    #[error("Tệp kèm \"{name}\" không thuộc loại được nhận: chỉ nhận PDF, DOCX, XLSX, JPG, PNG.")]
    Extension { name: String },
    #[error("Tệp kèm \"{name}\" có đuôi của {declared} nhưng nội dung không phải {declared}; vui lòng gửi đúng tệp (chỉ nhận PDF, DOCX, XLSX, JPG, PNG).")]
    NotIts {
        name: String,
        declared: &'static str,
    },
    #[error("Tệp kèm \"{name}\" có đuôi của {declared} nhưng nội dung là {found}; vui lòng đổi đúng đuôi tệp rồi gửi lại.")]
    Mismatch {
        name: String,
        declared: &'static str,
        found: &'static str,
    },
}

/// The type the content shows, if it is one accepted.
pub fn detect(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"%PDF-") {
        return Some(Kind::Pdf);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Some(Kind::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Kind::Jpeg);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return office(bytes);
    }
    None
}

/// DOCX or XLSX by the zip's entry names (the central directory only, nothing inflated).
fn office(bytes: &[u8]) -> Option<Kind> {
    let zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return None;
    }
    let mut types = false;
    let mut word = false;
    let mut excel = false;
    // A name that does not decode is none of the three.
    for name in zip.file_names() {
        match name.as_deref() {
            Ok("[Content_Types].xml") => types = true,
            Ok("word/document.xml") => word = true,
            Ok("xl/workbook.xml") => excel = true,
            _ => {}
        }
    }
    match (types, word, excel) {
        (true, true, false) => Some(Kind::Docx),
        (true, false, true) => Some(Kind::Xlsx),
        _ => None,
    }
}

/// The file's kind when its name declares an accepted one and its content is that one.
pub fn check(name: &str, bytes: &[u8]) -> Result<Kind, Refusal> {
    let Some(declared) = Kind::of_name(name) else {
        return Err(Refusal::Extension {
            name: name.to_string(),
        });
    };
    if bytes.is_empty() {
        return Err(Refusal::Empty {
            name: name.to_string(),
        });
    }
    match detect(bytes) {
        Some(found) if found == declared => Ok(found),
        Some(found) => Err(Refusal::Mismatch {
            name: name.to_string(),
            declared: declared.vi(),
            found: found.vi(),
        }),
        None => Err(Refusal::NotIts {
            name: name.to_string(),
            declared: declared.vi(),
        }),
    }
}

/// The name as shown and sent back: the last path component (browsers of old sent the whole
/// path), control characters dropped, at most [`MAX_NAME`] characters keeping the extension.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.chars().count() <= MAX_NAME {
        return clean.to_string();
    }
    let ext = clean
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.chars().count() <= 10)
        .unwrap_or("");
    let keep = MAX_NAME - ext.chars().count() - 1;
    let head: String = clean.chars().take(keep).collect();
    format!("{head}.{ext}")
}

/// The content's SHA-256, lowercase hex: its name on disk.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is a SHA-256 as [`sha256_hex`] writes it (a download's path segment).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// "245 KB", "1,5 MB" (1 KB = 1024 bytes; Vietnamese decimal comma).
pub fn size_text(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes < KB {
        format!("{bytes} byte")
    } else if bytes < MB {
        format!("{} KB", bytes.div_ceil(KB))
    } else {
        let tenths = (bytes * 10).div_ceil(MB);
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{},{} MB", tenths / 10, tenths % 10)
        }
    }
}

/// `Content-Disposition: attachment` naming the file as sent (RFC 6266): an ASCII fallback
/// in `filename` and the UTF-8 name percent-encoded in `filename*`.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = crate::text::ascii_fold(name)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// A file attached to an answer, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evidence {
    pub response_id: i64,
    pub sha256: String,
    /// The name the agency's file had (cleaned).
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub stored_at: chrono::DateTime<chrono::Utc>,
}

impl Evidence {
    /// "bao-cao.pdf (245 KB)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, size_text(self.size))
    }

    /// Where it lies under the evidence directory: `ab/cdef….pdf`.
    pub fn relative_path(sha256: &str, kind: Kind) -> String {
        let (dir, rest) = sha256.split_at(2.min(sha256.len()));
        format!("{dir}/{rest}.{}", kind.ext())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    /// A 1×1 PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    /// The start of a JFIF JPEG.
    const JPEG: &[u8] = &[
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
    ];

    fn zip_of(entries: &[&str]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut out);
            for e in entries {
                z.start_file(*e, zip::write::SimpleFileOptions::default())
                    .unwrap();
                z.write_all(b"<x/>").unwrap();
            }
            z.finish().unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn each_accepted_kind_is_known_by_its_content() {
        let docx = zip_of(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
        let xlsx = zip_of(&[
            "[Content_Types].xml",
            "xl/workbook.xml",
            "xl/worksheets/sheet1.xml",
        ]);
        assert_eq!(check("bao-cao.pdf", PDF), Ok(Kind::Pdf));
        assert_eq!(check("anh.PNG", PNG), Ok(Kind::Png));
        assert_eq!(check("anh.jpg", JPEG), Ok(Kind::Jpeg));
        assert_eq!(check("anh.jpeg", JPEG), Ok(Kind::Jpeg));
        assert_eq!(check("Báo cáo.docx", &docx), Ok(Kind::Docx));
        assert_eq!(check("so-lieu.xlsx", &xlsx), Ok(Kind::Xlsx));
        // The name must say what the content is.
        assert!(matches!(
            check("so-lieu.docx", &xlsx),
            Err(Refusal::Mismatch {
                found: "bảng tính Excel (.xlsx)",
                ..
            })
        ));
        assert!(matches!(
            check("anh.png", JPEG),
            Err(Refusal::Mismatch { .. })
        ));
    }

    #[test]
    fn executables_other_zips_text_and_empty_files_are_refused() {
        let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";
        let mz = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff";
        for exe in [&elf[..], &mz[..]] {
            let err = check("bao-cao.pdf", exe).unwrap_err();
            assert!(
                matches!(
                    err,
                    Refusal::NotIts {
                        declared: "tệp PDF",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains("nội dung không phải tệp PDF"));
        }
        let plain_zip = zip_of(&["readme.txt"]);
        assert!(matches!(
            check("x.docx", &plain_zip),
            Err(Refusal::NotIts { .. })
        ));
        // Both kinds' parts at once, or none of [Content_Types].xml: neither.
        assert_eq!(
            detect(&zip_of(&[
                "[Content_Types].xml",
                "word/document.xml",
                "xl/workbook.xml"
            ])),
            None
        );
        assert_eq!(detect(&zip_of(&["word/document.xml"])), None);
        // A truncated zip is not an Office file.
        assert_eq!(detect(b"PK\x03\x04garbage"), None);
        assert!(matches!(
            check("ghi-chu.txt", b"xin chao"),
            Err(Refusal::Extension { .. })
        ));
        assert!(matches!(
            check("khong-duoi", PDF),
            Err(Refusal::Extension { .. })
        ));
        assert!(matches!(
            check("bao-cao.pdf", b""),
            Err(Refusal::Empty { .. })
        ));
    }

    #[test]
    fn names_sizes_hashes_and_the_download_header() {
        assert_eq!(clean_name("C:\\Users\\a\\bao-cao.pdf"), "bao-cao.pdf");
        assert_eq!(clean_name("../../etc/x\u{7}.pdf"), "x.pdf");
        let long = format!("{}.pdf", "a".repeat(300));
        let cut = clean_name(&long);
        assert_eq!(cut.chars().count(), MAX_NAME);
        assert!(cut.ends_with(".pdf"));
        assert_eq!(size_text(500), "500 byte");
        assert_eq!(size_text(245 * 1024), "245 KB");
        assert_eq!(size_text(1536 * 1024), "1,5 MB");
        assert_eq!(size_text(10 * 1024 * 1024), "10 MB");
        let h = sha256_hex(b"abc");
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&h));
        assert!(!is_sha256_hex(&h.to_uppercase()));
        assert!(!is_sha256_hex("../../etc/passwd"));
        assert_eq!(
            Evidence::relative_path(&h, Kind::Pdf),
            format!("ba/{}.pdf", &h[2..])
        );
        let cd = content_disposition("Báo cáo \"quý\".pdf");
        assert!(
            cd.starts_with("attachment; filename=\"bao cao _quy_.pdf\""),
            "{cd}"
        );
        assert!(
            cd.ends_with("filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20%22qu%C3%BD%22.pdf"),
            "{cd}"
        );
        assert_eq!(Kind::from_media_type("image/png"), Some(Kind::Png));
    }
}
