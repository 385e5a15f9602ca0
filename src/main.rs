//! The `nhacviec` command line: the imperative shell around the library. It reads the config
//! and the clock; everything it prints is computed by the library's pure functions.

use anyhow::{bail, Context as _};
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::{Parser, Subcommand, ValueEnum};
use nhacviec::config::{self, Analysis};
use nhacviec::report;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nhacviec",
    version,
    about = "Nhắc việc: nhắc các cơ quan thực hiện nhiệm vụ theo kế hoạch của tỉnh"
)]
struct Cli {
    /// Thư mục cấu hình (nhacviec.toml, agencies.toml, plans/)
    #[arg(long, global = true, env = "NHACVIEC_CONFIG", default_value = "config")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Kiểm tra cấu hình: cú pháp, cơ quan, thời hạn của từng nhiệm vụ
    Check {
        /// Định dạng kết quả
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Coi cảnh báo là lỗi (mã thoát 1)
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Lịch nghỉ lễ, nghỉ bù và làm bù của một năm
    Calendar {
        /// Năm, ví dụ 2022
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Xem trước các lời nhắc sẽ gửi trong một khoảng thời gian
    Preview {
        /// Từ ngày (2022-06-01 hoặc 01/06/2022); mặc định: hôm nay
        #[arg(long)]
        from: Option<String>,
        /// Đến ngày (bao gồm)
        #[arg(long, conflicts_with = "days")]
        to: Option<String>,
        /// Số ngày kể từ --from (mặc định 30)
        #[arg(long)]
        days: Option<u32>,
        /// Chỉ một cơ quan (mã)
        #[arg(long)]
        agency: Option<String>,
        /// Chỉ một nhiệm vụ (số thứ tự)
        #[arg(long)]
        task: Option<String>,
        /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống
        #[arg(long)]
        now: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Tình hình thực hiện: hạn và trạng thái của từng nhiệm vụ, từng cơ quan
    Status {
        /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống
        #[arg(long)]
        now: Option<String>,
        /// Chỉ một cơ quan (mã)
        #[arg(long)]
        agency: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lỗi: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(value).context("serialising the report")?;
    println!("{json}");
    Ok(())
}

/// Loads the config, refusing to go on with errors (they are printed as `check` would).
fn load_valid(dir: &std::path::Path) -> anyhow::Result<Analysis> {
    let analysis = config::load(dir);
    if analysis.has_errors() {
        for d in analysis.errors() {
            eprint!("{}", d.render());
        }
        bail!(
            "cấu hình trong {} có {} lỗi: sửa rồi chạy lại (xem `nhacviec check`)",
            dir.display(),
            analysis.errors().count()
        );
    }
    Ok(analysis)
}

fn now_in(tz: Tz, now: Option<&str>) -> anyhow::Result<DateTime<Tz>> {
    match now {
        Some(s) => report::parse_now(s, tz).with_context(|| {
            format!("--now \"{s}\" không hợp lệ: dùng 2022-05-25T08:00:00+07:00 hoặc 25/05/2022")
        }),
        None => Ok(Utc::now().with_timezone(&tz)),
    }
}

fn date_arg(name: &str, s: &str) -> anyhow::Result<NaiveDate> {
    report::parse_date(s)
        .with_context(|| format!("{name} \"{s}\" không hợp lệ: dùng 2022-06-01 hoặc 01/06/2022"))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check {
            format,
            deny_warnings,
        } => {
            let analysis = config::load(&cli.config);
            match format {
                Format::Text => print!("{}", nhacviec::check::render_text(&analysis)),
                Format::Json => print_json(&nhacviec::check::report(&analysis))?,
            }
            let failed =
                analysis.has_errors() || (deny_warnings && analysis.warnings().next().is_some());
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Calendar { year, format } => {
            if !(1900..=2100).contains(&year) {
                bail!("năm {year} nằm ngoài khoảng 1900–2100");
            }
            // The calendar needs only the settings; a broken plan should not hide it.
            let analysis = config::load(&cli.config);
            let calendar =
                nhacviec::calendar::Calendar::new(analysis.config.calendar.clone(), year..=year);
            let out = report::CalendarYear {
                year,
                days: calendar.year(year),
            };
            match format {
                Format::Text => print!("{}", report::render_calendar_text(&out)),
                Format::Json => print_json(&out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview {
            from,
            to,
            days,
            agency,
            task,
            now,
            format,
        } => {
            let analysis = load_valid(&cli.config)?;
            let config = &analysis.config;
            let now = now_in(config.timezone, now.as_deref())?;
            let from = match from {
                Some(s) => date_arg("--from", &s)?,
                None => now.date_naive(),
            };
            let to = match (to, days) {
                (Some(s), _) => date_arg("--to", &s)?,
                (None, n) => from
                    .checked_add_days(Days::new(u64::from(n.unwrap_or(30))))
                    .context("--days quá lớn")?,
            };
            if to < from {
                bail!("--to ({to}) trước --from ({from})");
            }
            let cron = config::parse_cron(&config.reminders)
                .map_err(|e| anyhow::anyhow!("[schedule] reminders: {e}"))?;
            let digests =
                report::preview(config, &cron, from, to, agency.as_deref(), task.as_deref());
            match format {
                Format::Text => print!("{}", report::render_preview_text(config, &digests)),
                Format::Json => print_json(&digests)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status {
            now,
            agency,
            format,
        } => {
            let analysis = load_valid(&cli.config)?;
            let config = &analysis.config;
            let today = now_in(config.timezone, now.as_deref())?.date_naive();
            let rows = report::status(config, today, agency.as_deref());
            match format {
                Format::Text => print!("{}", report::render_status_text(config, &rows, today)),
                Format::Json => print_json(&rows)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
