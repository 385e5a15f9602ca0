//! `nhacviec import`: a plan document (.docx or text) read into a TOML draft.

use super::args::parse_mode;
use super::output::Out;
use anyhow::Context as _;
use nhacviec::config;
use nhacviec::store::write_atomically;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The largest document `import` reads (a plan is a few hundred KB; a .docx with images a
/// few MB).
const MAX_IMPORT_BYTES: u64 = 64_000_000;

#[derive(clap::Args)]
pub struct Args {
    /// Tệp kế hoạch (.docx hoặc .txt UTF-8)
    file: PathBuf,
    /// Ghi bản nháp vào tệp này (mặc định: in ra màn hình)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Quyền của tệp --out, dạng bát phân (mặc định 600: chỉ người chạy lệnh đọc được)
    #[arg(long, value_parser = parse_mode, default_value = "600")]
    mode: u32,
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        file,
        out: path,
        mode,
    } = args;
    // A regular file of a sane size: a FIFO would hang, a device or a huge file eat memory
    // before the importer's own limits apply.
    let meta =
        std::fs::metadata(&file).with_context(|| format!("không đọc được {}", file.display()))?;
    if !meta.is_file() {
        out.eprintln(format_args!(
            "lỗi: {}: không phải tệp thường",
            file.display()
        ))?;
        return Ok(ExitCode::from(1));
    }
    if meta.len() > MAX_IMPORT_BYTES {
        out.eprintln(format_args!(
            "lỗi: {}: tệp quá lớn ({} MB; tối đa {} MB)",
            file.display(),
            meta.len().div_ceil(1_000_000),
            MAX_IMPORT_BYTES / 1_000_000
        ))?;
        return Ok(ExitCode::from(1));
    }
    let bytes =
        std::fs::read(&file).with_context(|| format!("không đọc được {}", file.display()))?;
    // Names resolve against the agencies even if a plan in the config has errors.
    let analysis = config::load(dir);
    let import = match nhacviec::import::import(&bytes, &analysis.config) {
        Ok(i) => i,
        Err(e) => {
            out.eprintln(format_args!("lỗi: {}: {e}", file.display()))?;
            return Ok(ExitCode::from(1));
        }
    };
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let toml = nhacviec::import::to_toml(&import, &name);
    match &path {
        // Whole or not at all.
        Some(path) => write_atomically(path, toml.as_bytes(), mode)
            .with_context(|| format!("không ghi được {}", path.display()))?,
        None => out.document(&toml)?,
    }
    out.eprint(nhacviec::import::summary(&import))?;
    if let Some(path) = &path {
        out.eprintln(format_args!(
            "Đã ghi bản nháp vào {}. Kiểm tra bằng: nhacviec check",
            path.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
