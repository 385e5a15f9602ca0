//! `nhacviec export`: the monitoring office's workbook (.xlsx, CSV) or the report to sign
//! (.docx), to a file written whole or to standard output.

use super::args::{date_arg, parse_mode, ExportFormat};
use super::output::Out;
use super::state::State;
use super::{dmy, load_valid, resolve, Refused};
use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use nhacviec::config::Config;
use nhacviec::store::write_atomically;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = ExportFormat::Xlsx)]
    format: ExportFormat,
    /// Chỉ một kế hoạch (số hiệu, ví dụ 50/KH-UBND)
    #[arg(long)]
    plan: Option<String>,
    /// Số liệu tính đến ngày (30/06/2022 hoặc 2022-06-30); mặc định: hôm nay
    #[arg(long, alias = "now")]
    as_of: Option<String>,
    /// Báo cáo (.docx): đầu kỳ báo cáo (mặc định: ngày ban hành kế hoạch)
    #[arg(long)]
    from: Option<String>,
    /// Báo cáo (.docx): kỳ báo cáo theo Nghị định 09/2019/NĐ-CP (thang, quy, 6thang, nam),
    /// kỳ chứa ngày --as-of; số liệu từ ngày 15 tháng trước kỳ đến ngày 14 tháng cuối kỳ
    #[arg(long)]
    ky: Option<String>,
    /// Tệp ghi ra; "-" là đầu ra chuẩn; mặc định: tinh-hinh-<ngày>.xlsx (hoặc .csv),
    /// bao-cao-<ngày>.docx
    #[arg(long)]
    out: Option<PathBuf>,
    /// Quyền của tệp ghi ra, dạng bát phân (mặc định 600: chỉ người chạy lệnh đọc được;
    /// 640 cho cả nhóm)
    #[arg(long, value_parser = parse_mode, default_value = "600")]
    mode: u32,
    /// Báo cáo (.docx): ghi đè tệp đã có
    #[arg(long)]
    force: bool,
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let analysis = load_valid(dir, out)?;
    let config = &analysis.config;
    let plan = args
        .plan
        .as_deref()
        .map(|p| resolve::plan(config, p))
        .transpose()?;
    let as_of = match &args.as_of {
        Some(s) => date_arg("--as-of", s)?,
        None => Utc::now().with_timezone(&config.timezone).date_naive(),
    };
    if let Err(why) = nhacviec::overview::check_as_of(as_of) {
        anyhow::bail!("--as-of: {why}");
    }
    let ext = match args.format {
        ExportFormat::Docx => return docx(dir, config, plan.as_deref(), as_of, args, out),
        ExportFormat::Xlsx => "xlsx",
        ExportFormat::Csv => "csv",
    };
    if args.from.is_some() || args.ky.is_some() {
        anyhow::bail!("--from và --ky chỉ dùng với --format docx");
    }
    let (responses, extensions, last) = State::of(dir, config)?.figures()?;
    let overview = nhacviec::overview::compute_as_of(
        config,
        as_of,
        plan.as_deref(),
        &responses,
        &extensions,
        &last,
    );
    let bytes = match args.format {
        ExportFormat::Csv => nhacviec::workbook::csv(config, &overview)?,
        _ => nhacviec::workbook::xlsx(config, &overview)?,
    };
    let path = args
        .out
        .unwrap_or_else(|| PathBuf::from(nhacviec::workbook::file_name(as_of, ext)));
    if path.as_os_str() == "-" {
        out.file(&bytes)?;
    } else {
        write_atomically(&path, &bytes, args.mode)
            .with_context(|| format!("không ghi được {}", path.display()))?;
        out.eprintln(format_args!(
            "Đã ghi {} ({} dòng nhiệm vụ × cơ quan, {} kế hoạch, số liệu đến ngày {}).",
            path.display(),
            overview.rows.len(),
            overview.plans.len(),
            dmy(as_of)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `export --format docx`: the report to sign, for the period asked.
fn docx(
    dir: &Path,
    config: &Config,
    plan: Option<&str>,
    as_of: NaiveDate,
    args: Args,
    out: &Out,
) -> anyhow::Result<ExitCode> {
    use nhacviec::report_doc::{Ky, Period};
    // Bad input is the admin's to fix: exit 1, as an unknown plan.
    macro_rules! refuse {
        ($($t:tt)*) => {
            return Err(Refused(format!($($t)*)).into())
        };
    }
    let today = Utc::now().with_timezone(&config.timezone).date_naive();
    let mut period = match (&args.ky, &args.from) {
        (Some(_), Some(_)) => refuse!("--ky và --from không dùng cùng nhau"),
        (Some(k), None) => {
            let Some(k) = Ky::parse(k) else {
                refuse!("--ky: kỳ báo cáo \"{k}\" không có; dùng thang, quy, 6thang hoặc nam");
            };
            nhacviec::report_doc::period(k, as_of)
        }
        (None, Some(f)) => Period::between(date_arg("--from", f)?, as_of),
        (None, None) => nhacviec::report_doc::since_issue(config, plan, as_of),
    };
    if period.from > period.to {
        refuse!(
            "kỳ báo cáo không hợp lệ: ngày bắt đầu {} sau ngày kết thúc {}",
            dmy(period.from),
            dmy(period.to)
        );
    }
    if period.from > today {
        refuse!(
            "kỳ báo cáo ({}) bắt đầu ngày {}, chưa đến (hôm nay là {})",
            period.label,
            dmy(period.from),
            dmy(today)
        );
    }
    if period.to > today {
        // The period has begun: the figures stand as of today, and the document says so.
        period.to = today;
    }
    let first_issued = config
        .plans
        .iter()
        .filter(|p| plan.is_none_or(|n| p.number == n))
        .map(|p| p.issued)
        .min();
    if let Some(issued) = first_issued {
        if period.to < issued {
            refuse!(
                "kỳ báo cáo kết thúc ngày {}, trước khi kế hoạch được ban hành (ngày {})",
                dmy(period.to),
                dmy(issued)
            );
        }
    }
    let path = args
        .out
        .unwrap_or_else(|| PathBuf::from(nhacviec::report_doc::file_name(period.to)));
    let to_stdout = path.as_os_str() == "-";
    if !to_stdout {
        if path.is_dir() {
            refuse!(
                "{} là một thư mục; hãy ghi tên tệp, ví dụ --out bao-cao.docx",
                path.display()
            );
        }
        if path.exists() && !args.force {
            refuse!(
                "tệp {} đã có; thêm --force để ghi đè, hoặc chọn tên khác bằng --out",
                path.display()
            );
        }
    }
    let (responses, extensions, last) = State::of(dir, config)?.figures()?;
    let overview =
        nhacviec::overview::compute_as_of(config, period.to, plan, &responses, &extensions, &last);
    let bytes = nhacviec::report_doc::docx(&nhacviec::report_doc::Input {
        config,
        overview: &overview,
        period: period.clone(),
        responses: &responses,
        extensions: &extensions,
    })?;
    if to_stdout {
        out.file(&bytes)?;
    } else {
        if let Err(e) = write_atomically(&path, &bytes, args.mode) {
            refuse!("không ghi được {}: {e}", path.display());
        }
        out.eprintln(format_args!(
            "Đã ghi {} (báo cáo {}, số liệu từ ngày {} đến ngày {}, {} kế hoạch).",
            path.display(),
            period.label,
            dmy(period.from),
            dmy(period.to),
            overview.plans.len()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
