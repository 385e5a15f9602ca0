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
    /// Chạy dịch vụ nhắc việc: kiểm tra theo lịch, ghi vào hộp thư đi rồi gửi
    Run {
        /// Chỉ chạy một lần kiểm tra và gửi rồi thoát
        #[arg(long)]
        once: bool,
        /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống (chỉ dùng với --once)
        #[arg(long, requires = "once")]
        now: Option<String>,
    },
    /// Nhập kế hoạch từ văn bản (.docx hoặc văn bản thuần) thành bản nháp TOML
    Import {
        /// Tệp kế hoạch (.docx hoặc .txt UTF-8)
        file: PathBuf,
        /// Ghi bản nháp vào tệp này (mặc định: in ra màn hình)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Gửi thử một thư mẫu cho một cơ quan qua kênh đã cấu hình
    SendTest {
        /// Mã cơ quan
        #[arg(long)]
        agency: String,
        /// Kênh gửi
        #[arg(long, value_parser = ["email", "zalo", "webhook"], default_value = "email")]
        channel: String,
    },
    /// Zalo: lưu token đăng nhập, xem trạng thái
    Zalo {
        #[command(subcommand)]
        command: ZaloCommand,
    },
    /// Lịch sử gửi: đã gửi gì, khi nào, cho ai, lỗi gì
    History {
        /// Chỉ một nhiệm vụ (số thứ tự)
        #[arg(long)]
        task: Option<String>,
        /// Chỉ một cơ quan (mã)
        #[arg(long)]
        agency: Option<String>,
        /// Chỉ một trạng thái: pending, sent, retrying, dead
        #[arg(long, value_parser = ["pending", "sent", "retrying", "dead"])]
        status: Option<String>,
        /// Số dòng tối đa
        #[arg(long, default_value_t = 200)]
        limit: usize,
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

#[derive(Subcommand)]
enum ZaloCommand {
    /// Lưu refresh token lấy từ trang quản lý Zalo (đọc từ stdin nếu không ghi)
    Login {
        #[arg(long)]
        refresh_token: Option<String>,
    },
    /// Hạn của token, hạn mức còn lại, kênh có đang dừng không
    Status,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lỗi: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs in English: to journald when run under it (JOURNAL_STREAM), JSON lines when
/// NHACVIEC_LOG_FORMAT=json, human-readable on stderr otherwise. NHACVIEC_LOG (or RUST_LOG)
/// sets the level.
fn init_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("NHACVIEC_LOG")
            .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journald) = tracing_journald::layer() {
            tracing_subscriber::registry()
                .with(filter())
                .with(journald)
                .init();
            return;
        }
    }
    if std::env::var("NHACVIEC_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init();
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
            // From the start of --from, or from now: a tick earlier today has already passed.
            let (from, start) = match from {
                Some(s) => {
                    let d = date_arg("--from", &s)?;
                    let start = report::parse_now(&d.to_string(), config.timezone)
                        .context("--from: no such local time")?;
                    (d, start)
                }
                None => (now.date_naive(), now),
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
                report::preview(config, &cron, start, to, agency.as_deref(), task.as_deref());
            match format {
                Format::Text => print!("{}", report::render_preview_text(config, &digests)),
                Format::Json => print_json(&digests)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { once, now } => {
            let runtime = runtime()?;
            runtime.block_on(run_service(&cli.config, once, now.as_deref()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file, out } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("không đọc được {}", file.display()))?;
            // Names resolve against the agencies even if a plan in the config has errors.
            let analysis = config::load(&cli.config);
            let import = match nhacviec::import::import(&bytes, &analysis.config) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("lỗi: {}: {e}", file.display());
                    return Ok(ExitCode::from(1));
                }
            };
            let name = file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let toml = nhacviec::import::to_toml(&import, &name);
            match &out {
                Some(path) => {
                    // Write whole or not at all.
                    let tmp = path.with_extension("toml.tmp");
                    std::fs::write(&tmp, &toml)
                        .with_context(|| format!("không ghi được {}", tmp.display()))?;
                    std::fs::rename(&tmp, path)
                        .with_context(|| format!("không ghi được {}", path.display()))?;
                }
                None => print!("{toml}"),
            }
            eprint!("{}", nhacviec::import::summary(&import));
            if let Some(path) = &out {
                eprintln!(
                    "Đã ghi bản nháp vào {}. Kiểm tra bằng: nhacviec check",
                    path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::SendTest { agency, channel } => {
            let analysis = load_valid(&cli.config)?;
            let config = &analysis.config;
            let templates = nhacviec::render::Templates::new(&analysis.templates)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.template, e.message))?;
            let channel = nhacviec::config::Channel::from_name(&channel)
                .with_context(|| format!("kênh \"{channel}\" không có"))?;
            let now = Utc::now();
            let sample = match nhacviec::outbox::sample(
                config,
                &templates,
                &agency,
                channel,
                now.with_timezone(&config.timezone).date_naive(),
            ) {
                Ok(s) => s,
                Err(e) => return Ok(send_test_outcome(Err(e.to_string()))),
            };
            let to = sample.recipients.join(", ");
            let d = nhacviec::outbox::Delivery::unrecorded(
                sample,
                now,
                &nhacviec::outbox::domain_of(&config.email.from),
            );
            let state = nhacviec::deliver::state_dir(&cli.config, config);
            let runtime = runtime()?;
            // The SMTP pool needs the runtime when it is built.
            let _enter = runtime.enter();
            let sender = nhacviec::channels::Sender::build(channel, config, &state)?;
            // Zalo's tokens live in the store, used exactly as the service does.
            let store = nhacviec::store::Store::open_side(&state.join(DB_FILE))?;
            let outcome = runtime.block_on(sender.send(&store, &d, now));
            Ok(send_test_outcome(
                outcome
                    .map(|()| match channel {
                        nhacviec::config::Channel::Email => format!("Đã gửi thư thử đến {to}"),
                        nhacviec::config::Channel::Zalo => {
                            format!("Đã gửi thử qua Zalo đến {}", d.agency)
                        }
                        nhacviec::config::Channel::Webhook => format!(
                            "Đã gửi thử đến webhook {}",
                            config.webhook.as_ref().map_or("", |w| w.url.as_str())
                        ),
                    })
                    .map_err(|e| e.to_string()),
            ))
        }
        Command::Zalo { command } => {
            let analysis = config::load(&cli.config);
            let dir = nhacviec::deliver::state_dir(&cli.config, &analysis.config);
            let path = dir.join(DB_FILE);
            match command {
                ZaloCommand::Login { refresh_token } => {
                    let token = match refresh_token {
                        Some(t) => t,
                        None => {
                            let mut s = String::new();
                            std::io::stdin()
                                .read_line(&mut s)
                                .context("đọc token từ stdin")?;
                            s
                        }
                    };
                    let token = token.trim();
                    if token.is_empty() {
                        bail!("token trống");
                    }
                    // Beside a running service: the token row is a short transaction.
                    let store = nhacviec::store::Store::open_side(&path)?;
                    store.set_zalo_token(None, token, None)?;
                    println!("Đã lưu refresh token; lần gửi Zalo tới sẽ lấy access token mới.");
                    Ok(ExitCode::SUCCESS)
                }
                ZaloCommand::Status => {
                    let store = nhacviec::store::Store::open_reader(&path)?;
                    match store.zalo_token()? {
                        None => println!("Chưa đăng nhập Zalo (nhacviec zalo login)."),
                        Some((access, _, expires)) => println!(
                            "Access token: {}; hết hạn: {}",
                            if access.is_some() { "có" } else { "chưa có" },
                            expires.map_or("chưa biết".into(), |e| e
                                .with_timezone(&analysis.config.timezone)
                                .format("%H:%M %d/%m/%Y")
                                .to_string())
                        ),
                    }
                    if let Some(q) = store.meta("zalo_quota_remaining")? {
                        println!(
                            "Hạn mức ZNS còn lại: {q} (ngày {})",
                            store.meta("zalo_quota_day")?.unwrap_or_default()
                        );
                    }
                    match store.meta("zalo_stopped")? {
                        Some(reason) => println!("Kênh Zalo ĐANG DỪNG: {reason}"),
                        None => println!("Kênh Zalo hoạt động."),
                    }
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Command::History {
            task,
            agency,
            status,
            limit,
            format,
        } => {
            let analysis = config::load(&cli.config);
            let dir = nhacviec::deliver::state_dir(&cli.config, &analysis.config);
            let store = nhacviec::store::Store::open_reader(&dir.join(DB_FILE))?;
            let rows =
                store.history_of(task.as_deref(), agency.as_deref(), status.as_deref(), limit)?;
            match format {
                Format::Json => print_json(&rows)?,
                Format::Text => print!("{}", render_history(&rows)),
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

use nhacviec::daemon::DB_FILE;

fn render_history(rows: &[nhacviec::store::Delivery]) -> String {
    fn status_vi(s: &str) -> &str {
        match s {
            "pending" => "chờ gửi",
            "sent" => "đã gửi",
            "retrying" => "đang thử lại",
            "dead" => "gửi thất bại",
            other => other,
        }
    }
    let mut out = String::new();
    for d in rows {
        let when = d.sent_at.as_deref().unwrap_or(&d.created_at);
        out.push_str(&format!(
            "#{:<6} {:<13} {}  {} → {}\n        {}\n",
            d.id,
            status_vi(&d.status),
            &when[..when.len().min(19)],
            d.agency,
            d.recipients.join(", "),
            d.subject
        ));
        if let Some(e) = &d.last_error {
            out.push_str(&format!("        lỗi (lần thử {}): {e}\n", d.attempts));
        }
    }
    if rows.is_empty() {
        out.push_str("Chưa có lần gửi nào.\n");
    }
    out
}

/// `run`: one pass with `--once`, else a pass at start (catch-up) and at every cron tick,
/// retries in between, until SIGINT/SIGTERM.
async fn run_service(dir: &std::path::Path, once: bool, now: Option<&str>) -> anyhow::Result<()> {
    if !once {
        return nhacviec::daemon::run(dir).await;
    }
    let analysis = load_valid(dir)?;
    let config = analysis.config;
    let templates = nhacviec::render::Templates::new(&analysis.templates)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.template, e.message))?;
    // `--now` decides what is due; sending and retry times follow the real clock.
    let at = now_in(config.timezone, now)?;
    let (p, state) = nhacviec::daemon::once(dir, config, templates, at).await?;
    println!(
        "Lần kiểm tra này ghi mới {} thư; gửi {}, chờ thử lại {}, thất bại {}. Trạng thái: {}",
        p.queued,
        p.sent,
        p.retrying,
        p.dead,
        state.display()
    );
    Ok(())
}

/// The single-threaded runtime the async commands run on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Prints how a `send-test` went: what was sent, or why not (exit code 1).
fn send_test_outcome(outcome: Result<String, String>) -> ExitCode {
    match outcome {
        Ok(done) => {
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lỗi: gửi thử không thành công: {e}");
            ExitCode::from(1)
        }
    }
}
