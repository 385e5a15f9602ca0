//! The `nhacviec` command line: the imperative shell around the library.

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check {
            format,
            deny_warnings,
        } => {
            let analysis = nhacviec::config::load(&cli.config);
            match format {
                Format::Text => print!("{}", nhacviec::check::render_text(&analysis)),
                Format::Json => {
                    let json = serde_json::to_string_pretty(&nhacviec::check::report(&analysis))
                        .context("serialising the check report")?;
                    println!("{json}");
                }
            }
            let failed =
                analysis.has_errors() || (deny_warnings && analysis.warnings().next().is_some());
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
