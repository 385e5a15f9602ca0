//! Reading the config directory from disk: the only I/O of `config`. [`super::analyze`] works
//! on what is read here (tests/it/architecture.rs keeps the rest of `config` off `std::fs`).

use super::{
    Diagnostic, Severity, Source, Sources, DEFAULT_AGENCIES, DEFAULT_PLANS, SETTINGS_FILE,
};
use std::path::{Path, PathBuf};

/// Reads the config directory. Missing or unreadable files become diagnostics, not errors:
/// `check` reports them with everything else.
pub fn read_dir(dir: &Path) -> Sources {
    let mut sources = Sources {
        now: Some(chrono::Utc::now()),
        ..Sources::default()
    };
    let shown = |p: &Path| p.display().to_string();
    if !dir.is_dir() {
        sources.problems.push(
            Diagnostic::file(
                Severity::Error,
                shown(dir),
                "không tìm thấy thư mục cấu hình",
            )
            .with_help("chỉ đường dẫn bằng --config DIR hoặc biến môi trường NHACVIEC_CONFIG"),
        );
        return sources;
    }
    let settings_path = dir.join(SETTINGS_FILE);
    // `symlink_metadata`: a dangling link is there (and reported), not absent.
    if settings_path.symlink_metadata().is_ok() {
        sources.settings = read_file(&settings_path, &mut sources.problems);
        if let Some(settings) = &sources.settings {
            for path in ca_files(settings) {
                let read = read_certificates(&path);
                sources.certificates.insert(path, read);
            }
        }
    }
    // Where the other files are: the settings may move them.
    let (agencies_rel, plans_rel) = sources
        .settings
        .as_ref()
        .and_then(|s| toml::from_str::<toml::Table>(&s.text).ok())
        .map(|t| {
            let get = |k: &str, d: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or(d).to_string();
            (
                get("agencies", DEFAULT_AGENCIES),
                get("plans", DEFAULT_PLANS),
            )
        })
        .unwrap_or_else(|| (DEFAULT_AGENCIES.into(), DEFAULT_PLANS.into()));
    let agencies_path = dir.join(agencies_rel);
    if agencies_path.symlink_metadata().is_ok() {
        let before = sources.problems.len();
        sources.agencies = read_file(&agencies_path, &mut sources.problems);
        if let Some(d) = sources.problems.get_mut(before) {
            if d.help.is_none() && d.line == 0 {
                d.help =
                    Some("sửa khóa `agencies` trong nhacviec.toml để chỉ đến một tệp .toml".into());
            }
        }
    } else {
        sources.problems.push(
            Diagnostic::file(
                Severity::Error,
                shown(&agencies_path),
                "không tìm thấy tệp danh sách cơ quan",
            )
            .with_help("tạo tệp này, hoặc sửa khóa `agencies` trong nhacviec.toml"),
        );
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("templates")) {
        // Every *.j2 entry, whatever it is: one that is not a readable file is reported.
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "j2"))
            .collect();
        paths.sort();
        for p in paths {
            if let Some(src) = read_file(&p, &mut sources.problems) {
                sources.templates.push(src);
            }
        }
    }
    let plans_dir = dir.join(plans_rel);
    sources.plans_dir = shown(&plans_dir);
    match std::fs::read_dir(&plans_dir) {
        Ok(entries) => {
            // Every *.toml entry, whatever it is (a dangling link, a directory, a FIFO): one
            // that is not a readable file is reported, never silently left out.
            let mut paths: Vec<PathBuf> = Vec::new();
            for entry in entries {
                match entry {
                    Ok(e) => {
                        let p = e.path();
                        if p.extension().is_some_and(|x| x == "toml") {
                            paths.push(p);
                        }
                    }
                    Err(e) => sources.problems.push(
                        Diagnostic::file(
                            Severity::Error,
                            shown(&plans_dir),
                            format!("không đọc hết được thư mục kế hoạch: {}", io_vi(&e)),
                        )
                        .unreadable_if(io_transient(&e)),
                    ),
                }
            }
            paths.sort();
            for p in paths {
                if let Some(src) = read_file(&p, &mut sources.problems) {
                    sources.plans.push(src);
                }
            }
        }
        Err(e) => sources.problems.push(
            Diagnostic::file(
                Severity::Error,
                shown(&plans_dir),
                format!("không đọc được thư mục kế hoạch: {}", io_vi(&e)),
            )
            .with_help("tạo thư mục này, hoặc sửa khóa `plans` trong nhacviec.toml")
            // Even a missing one: a mount may be coming back.
            .unreadable_if(true),
        ),
    }
    sources
}

/// Why a file named by the config could not be used; the text is what `check` shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("tệp quá lớn ({mb} MB): tệp cấu hình tối đa {max_mb} MB")]
    TooBig { mb: u64, max_mb: u64 },
    #[error("đây là thư mục, không phải tệp")]
    Directory,
    /// A FIFO, a device, a socket: never opened.
    #[error("không phải tệp thường ({0}): chỉ đọc tệp văn bản thường")]
    Special(&'static str),
    #[error("liên kết vòng tròn: liên kết tượng trưng chỉ tới chính nó (qua các liên kết khác)")]
    LinkLoop,
    /// With the link's target in parentheses, when it can be read.
    #[error("liên kết tới tệp không tồn tại{0}")]
    DanglingLink(String),
    /// The operating system's reason, in words.
    #[error("không đọc được tệp: {0}")]
    Unreadable(String),
    #[error("không phải tệp chứng chỉ (thư mục, tệp đặc biệt hay lớn hơn 1 MB)")]
    NotCertificates,
    #[error("tệp PEM hỏng: {0}")]
    BadPem(String),
    #[error("không có chứng chỉ nào (-----BEGIN CERTIFICATE-----) trong tệp")]
    NoCertificate,
    /// Sources held in memory: the file was never read.
    #[error("không đọc được tệp: cấu hình không được đọc từ đĩa")]
    NotRead,
}

impl FileError {
    /// The file could not be read now (not: it is the wrong kind of file, or holds the
    /// wrong thing): another try may succeed.
    pub fn is_unreadable(&self) -> bool {
        matches!(self, FileError::Unreadable(_) | FileError::NotRead)
    }
}

/// The most a config file may hold: beyond it, the file is refused unread.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

fn read_file(path: &Path, problems: &mut Vec<Diagnostic>) -> Option<Source> {
    let shown = path.display().to_string();
    match read_regular(path) {
        Err(e) => {
            problems.push(
                Diagnostic::file(Severity::Error, shown, e.to_string())
                    .unreadable_if(e.is_unreadable()),
            );
            None
        }
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(Source::new(
                shown,
                text.strip_prefix('\u{feff}').unwrap_or(&text).to_string(),
            )),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                problems.push(not_utf8(shown, e.as_bytes(), valid));
                None
            }
        },
    }
}

/// The bytes of a regular file (symlinks followed), at most [`MAX_FILE_BYTES`]. Anything
/// else (a directory, a FIFO, a device, a dangling or looping link, a file too big) is a
/// Vietnamese message naming what it is. A FIFO or a device is never opened for reading: it
/// could block `check` forever or feed it without end.
fn read_regular(path: &Path) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Err(unreachable_file(path, &e)),
    };
    not_regular(&meta)?;
    too_big(meta.len())?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Replaced by a FIFO after the check above: opening must not wait for a writer.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options
        .open(path)
        .map_err(|e| FileError::Unreadable(io_vi(&e)))?;
    // What was opened, not what the path named a moment ago.
    let opened = file
        .metadata()
        .map_err(|e| FileError::Unreadable(io_vi(&e)))?;
    not_regular(&opened)?;
    let mut bytes =
        Vec::with_capacity(usize::try_from(opened.len().min(MAX_FILE_BYTES)).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::Unreadable(io_vi(&e)))?;
    too_big(bytes.len() as u64)?;
    Ok(bytes)
}

fn too_big(len: u64) -> Result<(), FileError> {
    if len > MAX_FILE_BYTES {
        return Err(FileError::TooBig {
            mb: len.div_ceil(1024 * 1024),
            max_mb: MAX_FILE_BYTES / (1024 * 1024),
        });
    }
    Ok(())
}

/// What a path that is not a regular file is, in words.
fn not_regular(meta: &std::fs::Metadata) -> Result<(), FileError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    if t.is_dir() {
        return Err(FileError::Directory);
    }
    Err(FileError::Special(special_kind(&t)))
}

#[cfg(unix)]
fn special_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "thiết bị ký tự"
    } else if t.is_block_device() {
        "thiết bị khối"
    } else if t.is_socket() {
        "socket"
    } else {
        "loại tệp đặc biệt"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "loại tệp đặc biệt"
}

/// Why `metadata` failed: a link to nothing, a loop of links, or the system's reason.
fn unreachable_file(path: &Path, e: &std::io::Error) -> FileError {
    let is_link = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return FileError::LinkLoop;
    }
    if is_link && e.kind() == std::io::ErrorKind::NotFound {
        let target = std::fs::read_link(path)
            .map(|t| format!(" ({})", t.display()))
            .unwrap_or_default();
        return FileError::DanglingLink(target);
    }
    FileError::Unreadable(io_vi(e))
}

/// A file that is not UTF-8: where, and what it probably is.
fn not_utf8(shown: String, bytes: &[u8], valid_up_to: usize) -> Diagnostic {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Diagnostic::file(Severity::Error, shown, "tệp được lưu theo bảng mã UTF-16")
            .with_help("lưu lại tệp với bảng mã UTF-8 (trong Notepad: Save As, Encoding: UTF-8)");
    }
    let good = String::from_utf8_lossy(&bytes[..valid_up_to.min(bytes.len())]).into_owned();
    let line = good.matches('\n').count() + 1;
    let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let mut d = Diagnostic::file(
        Severity::Error,
        shown,
        "tệp không phải UTF-8 (có thể là bảng mã cũ như TCVN3/VNI hoặc Windows-1258)",
    )
    .with_help("lưu lại tệp với bảng mã UTF-8");
    d.line = line;
    d.column = column;
    d
}

/// An I/O failure that says nothing of the config (not: missing, forbidden, the wrong kind):
/// the system's own trouble, which may pass.
fn io_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    !matches!(
        e.kind(),
        NotFound | PermissionDenied | NotADirectory | IsADirectory
    )
}

fn io_vi(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "không tồn tại".into(),
        PermissionDenied => "không có quyền đọc".into(),
        NotADirectory => "không phải là thư mục".into(),
        IsADirectory => "đây là thư mục, không phải tệp".into(),
        _ => format!("lỗi hệ thống ({e})"),
    }
}

/// The `[email] ca_file` the settings name, if they parse that far (analysis reports any
/// error in them; this only decides which files to read).
fn ca_files(settings: &Source) -> Vec<PathBuf> {
    let Ok(table) = settings.text.parse::<toml::Table>() else {
        return Vec::new();
    };
    table
        .get("email")
        .and_then(|e| e.get("ca_file"))
        .and_then(|f| f.as_str())
        .map(|f| super::channels::ca_path(&settings.name, f))
        .into_iter()
        .collect()
}

/// The certificates in a PEM file: at least one, or why not.
pub fn read_certificates(path: &std::path::Path) -> Result<usize, FileError> {
    use rustls::pki_types::pem::PemObject;
    let meta = std::fs::metadata(path).map_err(|e| FileError::Unreadable(e.to_string()))?;
    if !meta.is_file() || meta.len() > 1024 * 1024 {
        return Err(FileError::NotCertificates);
    }
    let pem = std::fs::read(path).map_err(|e| FileError::Unreadable(e.to_string()))?;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FileError::BadPem(e.to_string()))?;
    if certs.is_empty() {
        return Err(FileError::NoCertificate);
    }
    Ok(certs.len())
}
