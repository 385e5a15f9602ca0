//! The `nhacviec` command line: the imperative shell around the library. It reads the config
//! and the clock; everything it prints is computed by the library's pure functions.

use anyhow::{bail, Context as _};
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::{Parser, Subcommand, ValueEnum};
use nhacviec::answers::{self, Extension, Response};
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
        /// Coi cảnh báo là lỗi (mã thoát 1), kể cả phần thời gian đã bỏ qua hay đã chọn một
        /// cách hiểu (--strict)
        #[arg(long, visible_alias = "strict")]
        deny_warnings: bool,
        /// Sau đó thử kết nối tới từng dịch vụ đã cấu hình (máy chủ thư, Zalo, webhook) mà
        /// không gửi gì; mã thoát 1 nếu có dịch vụ không dùng được
        #[arg(long)]
        environment: bool,
        /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống: cảnh báo kế hoạch nhập
        /// muộn tính lần gửi tới từ thời điểm này
        #[arg(long)]
        now: Option<String>,
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
        /// Chỉ một cơ quan (mã, tên hoặc bí danh)
        #[arg(long)]
        agency: Option<String>,
        /// Chỉ một kế hoạch (số hiệu, ví dụ 50/KH-UBND)
        #[arg(long)]
        plan: Option<String>,
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
    /// Chỉ phục vụ trang trả lời của các cơ quan và trang theo dõi ([web]), không gửi nhắc
    /// việc (dịch vụ `run` cũng phục vụ các trang này; lệnh này dùng khi chạy riêng hoặc để thử)
    Web {
        /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống: thời hạn liên kết và
        /// "hôm nay" của các trang tính theo thời điểm này
        #[arg(long)]
        now: Option<String>,
    },
    /// In liên kết trang theo dõi của cơ quan theo dõi (/theo-doi/…), ký bằng khóa liên kết,
    /// dùng được link_days ngày
    AdminLink {
        /// "Bây giờ" (RFC 3339 hoặc ngày): liên kết tính hạn từ thời điểm này
        #[arg(long)]
        now: Option<String>,
        /// Chỉ các kế hoạch cơ quan này theo dõi ([plan] monitor; mã, tên hoặc bí danh):
        /// liên kết chỉ xem và quyết định gia hạn cho các kế hoạch đó
        #[arg(long)]
        agency: Option<String>,
        /// Thay vì liên kết: tạo một khóa trang theo dõi mới (ngẫu nhiên) và in dòng
        /// admin_token để chép vào [web]; khóa chỉ in một lần, không lưu ở đâu
        #[arg(long, conflicts_with_all = ["agency", "now"])]
        new_token: bool,
    },
    /// Nhập kế hoạch từ văn bản (.docx hoặc văn bản thuần) thành bản nháp TOML
    Import {
        /// Tệp kế hoạch (.docx hoặc .txt UTF-8)
        file: PathBuf,
        /// Ghi bản nháp vào tệp này (mặc định: in ra màn hình)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Quyền của tệp --out, dạng bát phân (mặc định 600: chỉ người chạy lệnh đọc được)
        #[arg(long, value_parser = parse_mode, default_value = "600")]
        mode: u32,
    },
    /// Gửi thử một thư mẫu (ghi rõ "THƯ THỬ") cho một cơ quan qua kênh đã cấu hình: các
    /// nhiệm vụ đang mở thật của cơ quan, mẫu thư và liên hệ như thư nhắc thật
    SendTest {
        /// Cơ quan (mã, tên hoặc bí danh)
        #[arg(long)]
        agency: String,
        /// Kênh gửi
        #[arg(long, value_parser = ["email", "zalo", "webhook"], default_value = "email")]
        channel: String,
        /// Gửi đến địa chỉ email này thay cho cơ quan (thư vẫn là mẫu của cơ quan đó)
        #[arg(long)]
        to: Option<String>,
        /// "Bây giờ" (RFC 3339 hoặc ngày): các nhiệm vụ đang mở tính đến thời điểm này
        #[arg(long)]
        now: Option<String>,
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
        /// Chỉ một cơ quan (mã, tên hoặc bí danh)
        #[arg(long)]
        agency: Option<String>,
        /// Chỉ một kế hoạch (số hiệu, ví dụ 50/KH-UBND)
        #[arg(long)]
        plan: Option<String>,
        /// Chỉ một trạng thái: pending, sent, retrying, dead; skipped: lời nhắc bị bỏ qua
        #[arg(long, value_parser = ["pending", "sent", "retrying", "dead", "skipped"])]
        status: Option<String>,
        /// Chỉ những gì chế độ chạy thử ([email] redirect_all_to) đã gửi (đến địa chỉ thử)
        /// hoặc bỏ qua; mặc định: chỉ việc gửi thật
        #[arg(long)]
        trial: bool,
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
        /// Chỉ một cơ quan (mã, tên hoặc bí danh)
        #[arg(long)]
        agency: Option<String>,
        /// Chỉ một kế hoạch (số hiệu, ví dụ 50/KH-UBND)
        #[arg(long)]
        plan: Option<String>,
        /// Chỉ in số liệu tổng hợp (như trang theo dõi, bảng tính, báo cáo tuần): với
        /// --format json là một đối tượng {as_of, plan, agency, lead, support, totals,
        /// on_time_rate} thay cho mảng các dòng
        #[arg(long)]
        totals: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Xuất bảng theo dõi cho cơ quan theo dõi: Excel (.xlsx: sheet tổng hợp, mỗi kế hoạch
    /// một sheet) hoặc CSV
    Export {
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
    },
    /// Trả lời của các cơ quan: đã hoàn thành, cập nhật tiến độ, đề nghị gia hạn
    Responses {
        /// Chỉ một cơ quan (mã, tên hoặc bí danh)
        #[arg(long)]
        agency: Option<String>,
        /// Chỉ một kế hoạch (số hiệu, ví dụ 50/KH-UBND)
        #[arg(long)]
        plan: Option<String>,
        /// Chỉ các đề nghị gia hạn đang chờ (chưa gia hạn, chưa rút lại)
        #[arg(long)]
        pending: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Gia hạn một nhiệm vụ cho một cơ quan (theo văn bản cho phép); chạy được khi dịch vụ
    /// đang chạy
    Extend {
        /// Cơ quan (mã, tên hoặc bí danh)
        #[arg(long)]
        agency: String,
        /// Nhiệm vụ (số thứ tự, ví dụ 8.6)
        #[arg(long)]
        task: String,
        /// Kế hoạch (số hiệu); cần khi nhiều kế hoạch có nhiệm vụ cùng số thứ tự
        #[arg(long)]
        plan: Option<String>,
        /// Hạn mới (31/07/2022 hoặc 2022-07-31)
        #[arg(long)]
        to: String,
        /// Hạn được gia hạn, theo kế hoạch; mặc định: hạn chưa hoàn thành gần nhất
        #[arg(long)]
        from: Option<String>,
        /// Văn bản quyết định gia hạn (bắt buộc, tối đa 200 ký tự), ví dụ "Công văn số
        /// 123/UBND-KT ngày 20/6/2022"; cơ quan được báo kèm văn bản này
        #[arg(long = "ref")]
        doc_ref: String,
        /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống
        #[arg(long)]
        now: Option<String>,
    },
    /// Gửi lại ngay các thư đang chờ thử lại (và với --dead, cả thư đã thất bại); chạy được
    /// khi dịch vụ đang chạy
    Retry {
        /// Cả thư đã thất bại (được tính lại thời hạn thử từ đầu)
        #[arg(long)]
        dead: bool,
        /// Chỉ một cơ quan (mã, tên hoặc bí danh)
        #[arg(long)]
        agency: Option<String>,
        /// Chỉ một kế hoạch (số hiệu, ví dụ 50/KH-UBND)
        #[arg(long)]
        plan: Option<String>,
        /// Coi như lúc này là (2022-05-25T08:00:00+07:00); mặc định: bây giờ
        #[arg(long)]
        now: Option<String>,
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
enum ExportFormat {
    Xlsx,
    Csv,
    Docx,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The largest document `import` reads (a plan is a few hundred KB; a .docx with images a
/// few MB).
const MAX_IMPORT_BYTES: u64 = 64_000_000;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run { .. }) {
        // A command's output piped into `head` ends quietly, as other command-line tools do,
        // instead of a panic on the closed pipe. The service keeps Rust's default (a write
        // to a closed socket is an error to handle, not a signal that kills it).
        // SAFETY: restores the default disposition of one signal before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    init_logs(log_timezone(&cli.config));
    match run(cli) {
        Ok(code) => code,
        // A wrong argument (an unknown agency or plan) is the admin's to fix: exit 1.
        Err(e) if e.downcast_ref::<Refused>().is_some() => {
            eprintln!("lỗi: {e:#}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("lỗi: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// An argument that names nothing in the config (exit code 1, not 2: the command worked).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// `--agency`: an id, a name or an alias, resolved as plan files resolve `lead` and `support`.
fn resolve_agency(config: &config::Config, reference: &str) -> anyhow::Result<String> {
    match config.resolve_name(reference) {
        Some(config::Named::Agency(a)) => Ok(a.id.clone()),
        Some(config::Named::Group(g)) => {
            let members: Vec<&str> = g.agencies.iter().take(5).map(String::as_str).collect();
            Err(Refused(format!(
                "\"{reference}\" là nhóm cơ quan \"{}\" ({} cơ quan), không phải một cơ quan: chọn một cơ quan, ví dụ {}",
                g.name,
                g.agencies.len(),
                members.join(", ")
            ))
            .into())
        }
        None => {
            // Without diacritics or case, as the dashboard's search finds them.
            match config.search_agencies(reference).as_slice() {
                [one] => return Ok(one.id.clone()),
                [] => {}
                many => bail!(
                    "\"{reference}\" có thể là {} cơ quan: {}; ghi rõ hơn (tên đầy đủ hoặc mã)",
                    many.len(),
                    candidates(many.iter().map(|a| format!("{} ({})", a.name, a.id)))
                ),
            }
            let near = config.nearest_agencies(reference, 5);
            let hint = if near.is_empty() {
                "chưa có cơ quan nào trong danh sách cơ quan".to_string()
            } else {
                format!("gần nhất: {}", near.join("; "))
            };
            Err(Refused(format!(
                "không có cơ quan mã \"{reference}\", cũng không có cơ quan nào có tên hoặc bí danh như vậy; {hint}"
            ))
            .into())
        }
    }
}

/// `--plan`: a plan number as written (trimmed, any case) → the number as the plan file has it.
fn resolve_plan(config: &config::Config, number: &str) -> anyhow::Result<String> {
    if let Some(n) = report::find_plan(config, number) {
        return Ok(n.to_string());
    }
    match config.search_plans(number).as_slice() {
        [one] => Ok(one.number.clone()),
        many @ [_, _, ..] => bail!(
            "\"{number}\" có thể là {} kế hoạch: {}; ghi đúng số hiệu",
            many.len(),
            candidates(many.iter().map(|p| p.number.clone()))
        ),
        [] => {
            let known: Vec<&str> = config.plans.iter().map(|p| p.number.as_str()).collect();
            Err(Refused(if known.is_empty() {
                format!("không có kế hoạch \"{number}\": cấu hình chưa có kế hoạch nào")
            } else {
                format!(
                    "không có kế hoạch \"{number}\"; các kế hoạch hiện có: {}",
                    known.join(", ")
                )
            })
            .into())
        }
    }
}

/// The candidates of an ambiguous argument: the first ten, then how many more.
fn candidates(all: impl ExactSizeIterator<Item = String>) -> String {
    let n = all.len();
    let mut shown: Vec<String> = all.take(10).collect();
    if n > 10 {
        shown.push(format!("và {} nữa", n - 10));
    }
    shown.join("; ")
}

/// Resolves an optional `--agency` and `--plan`.
fn resolve_filters(
    config: &config::Config,
    agency: Option<&str>,
    plan: Option<&str>,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let agency = agency.map(|a| resolve_agency(config, a)).transpose()?;
    let plan = plan.map(|p| resolve_plan(config, p)).transpose()?;
    Ok((agency, plan))
}

/// Log timestamps in the config's timezone with the offset (RFC 3339, milliseconds): an admin
/// reads "2026-12-03T08:00:00.123+07:00" whatever the server's own zone (often UTC).
struct LocalTime(Tz);

impl tracing_subscriber::fmt::time::FormatTime for LocalTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(
            w,
            "{}",
            Utc::now()
                .with_timezone(&self.0)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
        )
    }
}

/// The `timezone` of `<dir>/nhacviec.toml`, read before the config is loaded (logs start
/// first); Vietnam's when absent or unreadable, as the config's own default.
fn log_timezone(dir: &std::path::Path) -> Tz {
    let path = dir.join("nhacviec.toml");
    // Only a regular file of a settings file's size: never block on a FIFO here.
    std::fs::metadata(&path)
        .ok()
        .filter(|m| m.is_file() && m.len() <= 1 << 20)
        .and_then(|_| std::fs::read_to_string(&path).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| t.get("timezone")?.as_str()?.parse::<Tz>().ok())
        .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh)
}

/// Logs in English: to journald when run under it (JOURNAL_STREAM), JSON lines when
/// NHACVIEC_LOG_FORMAT=json, human-readable on stderr otherwise (colours only on a terminal).
/// NHACVIEC_LOG (or RUST_LOG) sets the level; by default the scheduler crate's start-up
/// chatter is left out.
fn init_logs(tz: Tz) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("NHACVIEC_LOG")
            .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
            .unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,tokio_cron_scheduler=warn")
            })
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
            .with_timer(LocalTime(tz))
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_timer(LocalTime(tz))
            .with_ansi(std::io::stderr().is_terminal())
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
            environment,
            now,
        } => {
            let mut analysis = config::load(&cli.config);
            // [web] without the link secret: no links, no pages (the secret is read here, at
            // the edge, as the service reads it).
            let secret = nhacviec::web::links_for(&analysis.config)
                .map(|s| s.is_some())
                .map_err(|e| format!("{e:#}"));
            if let Some(reason) = nhacviec::check::web_links_off(&analysis.config, secret) {
                let file = cli.config.join(config::SETTINGS_FILE);
                analysis
                    .diagnostics
                    .push(nhacviec::check::web_links_warning(
                        &file.display().to_string(),
                        reason,
                    ));
            }
            if !analysis.has_errors() {
                let now = now_in(analysis.config.timezone, now.as_deref())?;
                let late = late_plan_warnings(&cli.config, &analysis.config, now)?;
                analysis.diagnostics.extend(late);
            }
            // Services are asked only of a config the service would run with.
            let probed = (environment && !analysis.has_errors())
                .then(|| {
                    let runtime = runtime()?;
                    let outcomes = runtime.block_on(nhacviec::environment::probe(
                        &cli.config,
                        &analysis.config,
                        Utc::now(),
                    ));
                    anyhow::Ok(outcomes)
                })
                .transpose()?;
            match format {
                Format::Text => {
                    print!("{}", nhacviec::check::render_text(&analysis));
                    match &probed {
                        Some(outcomes) => {
                            print!("{}", nhacviec::environment::render_text(outcomes))
                        }
                        None if environment => println!("\n{}", nhacviec::environment::SKIPPED),
                        None => {}
                    }
                }
                Format::Json if environment => {
                    // The report's own keys, in their order, and `environment` after them.
                    #[derive(serde::Serialize)]
                    struct WithEnvironment<'a, R> {
                        #[serde(flatten)]
                        report: R,
                        environment: &'a [nhacviec::environment::Outcome],
                        #[serde(skip_serializing_if = "Option::is_none")]
                        environment_skipped: Option<&'static str>,
                    }
                    print_json(&WithEnvironment {
                        report: nhacviec::check::report(&analysis),
                        environment: probed.as_deref().unwrap_or_default(),
                        environment_skipped: probed
                            .is_none()
                            .then_some(nhacviec::environment::SKIPPED),
                    })?;
                }
                Format::Json => print_json(&nhacviec::check::report(&analysis))?,
            }
            let unreachable = probed.is_some_and(|o| o.iter().any(|o| !o.ok));
            let failed = analysis.has_errors()
                || unreachable
                || (deny_warnings && !nhacviec::check::report(&analysis).warnings.is_empty());
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
            let warnings = nhacviec::check::unannounced_tet_in(&analysis.config, &calendar, year);
            let out = report::CalendarYear {
                year,
                announced: nhacviec::calendar::announced::announcement(year).is_some(),
                source: nhacviec::calendar::schedule_source(year),
                days: calendar.year(year),
                warnings: warnings.into_iter().collect(),
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
            plan,
            task,
            now,
            format,
        } => {
            let analysis = load_valid(&cli.config)?;
            // What the service would send: reports and extensions laid over the plans.
            let (answered, _) = answered_config(&cli.config, &analysis.config)?;
            let config = &answered;
            let (agency, plan) = resolve_filters(config, agency.as_deref(), plan.as_deref())?;
            let now = now_in(config.timezone, now.as_deref())?;
            // From the start of --from, or from now: a tick earlier today has already passed.
            let from_given = from.clone();
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
            // On top of what the service has already handled, when the preview starts where
            // it left off (a preview of the past simulates from an empty history).
            let (db, running, store) = service_state(&cli.config, config)?;
            let store = store.filter(|s| {
                s.ledger(nhacviec::store::Ledger::of(config))
                    .watermark()
                    .ok()
                    .flatten()
                    .is_some_and(|w| start.date_naive() >= w)
            });
            // The trial ledger in trial mode: a rehearsal shows what its passes still send.
            let view = store
                .as_ref()
                .map(|s| s.ledger(nhacviec::store::Ledger::of(config)));
            let ledger = match &view {
                Some(v) => v.forecast()?,
                None => nhacviec::forecast::Ledger::empty(),
            };
            // From now, the service not running: what its start sends comes first. A preview
            // of given dates shows the regular ticks.
            let starts = from_given.is_none() && !running;
            let (mut digests, stale) = report::preview_with_skipped(
                config,
                &cron,
                &report::Preview {
                    start,
                    starts,
                    ledger: &ledger,
                },
                to,
                agency.as_deref(),
                task.as_deref(),
            );
            if let Some(plan) = &plan {
                report::retain_plan(config, &mut digests, plan);
            }
            // The skipped keys under the same filters: plan|task|deadline|agency|...
            let stale = stale
                .iter()
                .filter(|k| {
                    let f: Vec<&str> = k.split('|').collect();
                    plan.as_deref().is_none_or(|p| f.first() == Some(&p))
                        && task.as_deref().is_none_or(|t| f.get(1) == Some(&t))
                        && agency.as_deref().is_none_or(|a| f.get(3) == Some(&a))
                })
                .count();
            match format {
                Format::Text => {
                    if from_given.is_none() {
                        println!("{}", preview_intro(config, running, start));
                    }
                    print!("{}", report::render_preview_text(config, &digests));
                    if store.is_some() {
                        println!(
                            "Đã tính những gì dịch vụ đã gửi hoặc bỏ qua ({}).",
                            db.display()
                        );
                    }
                    if stale > 0 {
                        println!(
                            "Bỏ qua {stale} lời nhắc cũ hơn {} ngày (catch_up_days): không gửi bù.",
                            config.catch_up_days
                        );
                    }
                }
                Format::Json => print_json(&digests)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { once, now } => {
            let runtime = runtime()?;
            let result = runtime.block_on(run_service(&cli.config, once, now.as_deref()));
            // Stopped: do not wait on blocking threads still winding down (the file watcher,
            // a worker past its grace); the store's last transaction is committed or rolled back.
            runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            result
        }
        Command::Web { now } => {
            let runtime = runtime()?;
            runtime.block_on(serve_pages(&cli.config, now.as_deref()))
        }
        Command::AdminLink {
            now,
            agency,
            new_token,
        } => {
            if new_token {
                print!("{}", new_admin_token());
                return Ok(ExitCode::SUCCESS);
            }
            let analysis = load_valid(&cli.config)?;
            let config = &analysis.config;
            let Some(web) = &config.web else {
                anyhow::bail!("nhacviec.toml chưa có [web]: trang theo dõi cần public_url");
            };
            let Some(signer) = nhacviec::web::links_for(config)? else {
                anyhow::bail!(
                    "chưa có khóa ký liên kết: đặt NHACVIEC_LINK_SECRET (hoặc credential link-secret của systemd)"
                );
            };
            let now = now_in(config.timezone, now.as_deref())?.with_timezone(&Utc);
            // `--agency`: a link to the plans that office monitors only.
            let scope = match agency.as_deref() {
                None => nhacviec::links::MONITOR.to_string(),
                Some(reference) => {
                    let id = resolve_agency(config, reference)?;
                    let plans: Vec<&str> = config
                        .plans
                        .iter()
                        .filter(|p| config.monitor_of(p) == Some(id.as_str()))
                        .map(|p| p.number.as_str())
                        .collect();
                    if plans.is_empty() {
                        return Err(Refused(format!(
                            "{} không theo dõi kế hoạch nào (ghi monitor = \"{id}\" trong [plan] của kế hoạch)",
                            config.agency_name(&id)
                        ))
                        .into());
                    }
                    eprintln!(
                        "Liên kết chỉ mở các kế hoạch {} theo dõi: {}.",
                        config.agency_name(&id),
                        plans.join(", ")
                    );
                    nhacviec::links::monitor_scope(&id)
                }
            };
            let token = signer.sign(&scope, now);
            println!("{}/theo-doi/{token}", web.public_url);
            eprintln!(
                "Liên kết dùng được đến ngày {}. Ai có liên kết này xem được số liệu và quyết định gia hạn: chỉ gửi cho cán bộ theo dõi.",
                dmy((now + chrono::Duration::days(i64::from(signer.days))).with_timezone(&config.timezone).date_naive())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file, out, mode } => {
            // A regular file of a sane size: a FIFO would hang, a device or a huge file eat
            // memory before the importer's own limits apply.
            let meta = std::fs::metadata(&file)
                .with_context(|| format!("không đọc được {}", file.display()))?;
            if !meta.is_file() {
                eprintln!("lỗi: {}: không phải tệp thường", file.display());
                return Ok(ExitCode::from(1));
            }
            if meta.len() > MAX_IMPORT_BYTES {
                eprintln!(
                    "lỗi: {}: tệp quá lớn ({} MB; tối đa {} MB)",
                    file.display(),
                    meta.len() / 1_000_000,
                    MAX_IMPORT_BYTES / 1_000_000
                );
                return Ok(ExitCode::from(1));
            }
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
                    write_atomically(path, toml.as_bytes(), mode)
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
        Command::SendTest {
            agency,
            channel,
            to,
            now,
        } => {
            let analysis = load_valid(&cli.config)?;
            let config = &analysis.config;
            // Links signed as a real digest's, when [web] and the link secret are there.
            let links = nhacviec::web::links_for(config)?;
            let templates = nhacviec::render::Templates::new(&analysis.templates)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.template, e.message))?
                .with_links(links);
            let channel = nhacviec::config::Channel::from_name(&channel)
                .with_context(|| format!("kênh \"{channel}\" không có"))?;
            let agency = resolve_agency(config, &agency)?;
            let at = now_in(config.timezone, now.as_deref())?;
            // The agencies' answers count: a task reported done is not in the sample.
            let (answered, _) = answered_config(&cli.config, config)?;
            let sample = match nhacviec::outbox::sample(
                &answered,
                &templates,
                &agency,
                channel,
                to.as_deref(),
                at.date_naive(),
            ) {
                Ok(s) => s,
                Err(e) => return Ok(send_test_outcome(Err(e.to_string()))),
            };
            let agency_name = config.agency_name(&agency);
            let to = sample.recipients.join(", ");
            let items = sample.items.len();
            let now = Utc::now();
            let d = nhacviec::outbox::Delivery::unrecorded(
                sample,
                now,
                &nhacviec::outbox::domain_of(&config.email.from),
            );
            let state = nhacviec::deliver::state_dir(&cli.config, config)?;
            let runtime = runtime()?;
            // The SMTP pool needs the runtime when it is built.
            let _enter = runtime.enter();
            let sender = nhacviec::channels::Sender::build(channel, config, &state)?;
            // Zalo's tokens live in the store, used exactly as the service does.
            let store = nhacviec::store::Store::open_side(&state.join(DB_FILE))?;
            let outcome = runtime.block_on(sender.send(&store, &d, now));
            let what = format!(
                "thư thử (mẫu thư nhắc của {agency_name}, {items} mục, \"{}\")",
                shorten(&d.subject, 120)
            );
            Ok(send_test_outcome(
                outcome
                    .map(|()| match channel {
                        nhacviec::config::Channel::Email => {
                            let redirected = if config.email.redirect_all_to.is_some() {
                                " (chế độ thử: redirect_all_to)"
                            } else {
                                ""
                            };
                            let how = match &config.email.transport {
                                nhacviec::config::Transport::File => format!(
                                    "ghi thành tệp {}",
                                    nhacviec::channels::email::eml_path(&state, d.id).display()
                                ),
                                nhacviec::config::Transport::Smtp { host, port, .. } => {
                                    format!("qua máy chủ SMTP {host}:{port}")
                                }
                            };
                            format!("Đã gửi {what} đến {to}{redirected}, kênh email, {how}")
                        }
                        nhacviec::config::Channel::Zalo => {
                            format!("Đã gửi {what} qua Zalo đến {}", d.agency)
                        }
                        nhacviec::config::Channel::Webhook => format!(
                            "Đã gửi {what} đến webhook {}",
                            config.webhook.as_ref().map_or(String::new(), |w| {
                                nhacviec::channels::redact_url(&w.url)
                            })
                        ),
                    })
                    .map_err(|e| e.to_string()),
            ))
        }
        Command::Zalo { command } => {
            let analysis = config::load(&cli.config);
            let dir = nhacviec::deliver::state_dir(&cli.config, &analysis.config)?;
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
            plan,
            status,
            trial,
            limit,
            format,
        } => {
            // What was sent stays readable when the config has errors: names resolve against
            // the best-effort config.
            let analysis = config::load(&cli.config);
            let config = &analysis.config;
            let (agency, plan) = resolve_filters(config, agency.as_deref(), plan.as_deref())?;
            let dir = nhacviec::deliver::state_dir(&cli.config, config)?;
            let db = dir.join(DB_FILE);
            if !nhacviec::store::exists(&db)? {
                // No pass yet: nothing sent or skipped (the state directory is not created).
                match format {
                    Format::Json => println!("[]"),
                    Format::Text => println!(
                        "Chưa có lần gửi nào: dịch vụ chưa chạy lần nào ({}).",
                        db.display()
                    ),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let store = nhacviec::store::Store::open_reader(&db)?;
            let ledger = if trial {
                nhacviec::store::Ledger::Trial
            } else {
                nhacviec::store::Ledger::Real
            };
            if status.as_deref() == Some("skipped") {
                let keep = |key: &str, _: Option<&str>, _: &str| {
                    report::SkippedSlot::parse(key, report::SkipReason::Superseded, "").is_some_and(
                        |s| {
                            plan.as_ref().is_none_or(|p| *p == s.plan)
                                && task.as_ref().is_none_or(|t| *t == s.task)
                                && agency.as_ref().is_none_or(|a| *a == s.agency)
                        },
                    )
                };
                // Every one the passes recorded, counted by reason (what `run --once` said),
                // then the newest `limit` listed.
                let all: Vec<report::SkippedSlot> = store
                    .skipped_slots(ledger, usize::MAX, &keep)?
                    .into_iter()
                    .filter_map(|(key, reason, at)| {
                        report::SkippedSlot::parse(
                            &key,
                            report::SkipReason::from_stored(reason.as_deref()),
                            &at,
                        )
                    })
                    .collect();
                let rows = &all[..all.len().min(limit)];
                match format {
                    Format::Json => print_json(&rows)?,
                    Format::Text => print!("{}", render_skipped(config, rows, &all, trial)),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let rows = store.history_filtered(&nhacviec::store::HistoryFilter {
                plan: plan.as_deref(),
                task: task.as_deref(),
                agency: agency.as_deref(),
                status: status.as_deref(),
                limit,
                ledger,
            })?;
            match format {
                Format::Json => print_json(&rows)?,
                Format::Text => {
                    print!(
                        "{}",
                        render_history(config, &rows, status.as_deref(), trial)
                    );
                    let trial_made = store.trial_deliveries()?;
                    if !trial && trial_made > 0 {
                        println!(
                            "Có {trial_made} thư gửi ở chế độ chạy thử (đến địa chỉ thử [email] redirect_all_to), không liệt kê ở đây: xem bằng `nhacviec history --trial`."
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status {
            now,
            agency,
            plan,
            totals: totals_only,
            format,
        } => {
            let analysis = load_valid(&cli.config)?;
            let today = now_in(analysis.config.timezone, now.as_deref())?.date_naive();
            // The agencies' reports and the extensions laid over, as they stood that day (what
            // the dashboard and `export` show for the same date).
            let (mut responses, extensions) = stored_answers(&cli.config, &analysis.config)?;
            let answered = nhacviec::overview::answered_as_of(
                &analysis.config,
                &responses,
                &extensions,
                today,
            );
            let config = &answered;
            let tz = config.timezone;
            responses.retain(|r| r.created_at.with_timezone(&tz).date_naive() <= today);
            let (agency, plan) = resolve_filters(config, agency.as_deref(), plan.as_deref())?;
            let mut rows = report::status(config, today, agency.as_deref());
            if let Some(plan) = &plan {
                rows.retain(|r| r.plan == *plan);
            }
            // The totals are the overview's, as the dashboard, the workbook and the weekly
            // report count: lead assignments, the coordinators' rows apart.
            let overview = nhacviec::overview::compute(
                config,
                today,
                plan.as_deref(),
                &responses,
                &extensions,
                &Default::default(),
            );
            let (counts, support) = match &agency {
                None => (
                    overview.totals,
                    overview.agencies.iter().map(|a| a.support).sum(),
                ),
                Some(id) => overview
                    .agencies
                    .iter()
                    .find(|a| a.agency == *id)
                    .map_or_else(Default::default, |a| (a.counts, a.support)),
            };
            let totals = report::StatusTotals {
                agency: agency.as_deref().map(|id| config.agency_name(id)),
                lead: counts.total(),
                states: counts.states_vi(),
                support,
            };
            match format {
                Format::Text if totals_only => {
                    print!(
                        "{}",
                        report::render_status_text(config, &[], today, &totals)
                    )
                }
                Format::Text => print!(
                    "{}",
                    report::render_status_text(config, &rows, today, &totals)
                ),
                Format::Json if totals_only => {
                    // An object of its own: the rows' array stays as it is for its readers.
                    #[derive(serde::Serialize)]
                    struct Totals<'a> {
                        as_of: NaiveDate,
                        plan: Option<&'a str>,
                        agency: Option<&'a str>,
                        lead: usize,
                        support: usize,
                        totals: nhacviec::overview::Counts,
                        on_time_rate: Option<f64>,
                    }
                    print_json(&Totals {
                        as_of: today,
                        plan: plan.as_deref(),
                        agency: agency.as_deref(),
                        lead: totals.lead,
                        support,
                        totals: counts,
                        on_time_rate: counts.on_time_rate(),
                    })?
                }
                Format::Json => {
                    // The row's own keys, unchanged, and the latest response after them.
                    #[derive(serde::Serialize)]
                    struct WithResponse<'a> {
                        #[serde(flatten)]
                        row: &'a report::StatusRow,
                        latest_response: Option<&'a Response>,
                    }
                    let rows: Vec<WithResponse<'_>> = rows
                        .iter()
                        .map(|row| WithResponse {
                            row,
                            // A period's row: the latest answer about that period.
                            latest_response: match row.occurrence {
                                Some(d) => responses
                                    .iter()
                                    .filter(|r| {
                                        r.agency == row.agency
                                            && r.plan == row.plan
                                            && r.task == row.task
                                            && r.deadline == Some(d)
                                            && r.undone_at.is_none()
                                    })
                                    .max_by_key(|r| r.id),
                                None => {
                                    answers::latest(&responses, &row.agency, &row.plan, &row.task)
                                }
                            },
                        })
                        .collect();
                    print_json(&rows)?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            format,
            plan,
            as_of,
            from,
            ky,
            out,
            force,
            mode,
        } => {
            let analysis = load_valid(&cli.config)?;
            let config = &analysis.config;
            let (_, plan) = resolve_filters(config, None, plan.as_deref())?;
            let as_of = match as_of {
                Some(s) => date_arg("--as-of", &s)?,
                None => Utc::now().with_timezone(&config.timezone).date_naive(),
            };
            if let Err(why) = nhacviec::overview::check_as_of(as_of) {
                anyhow::bail!("--as-of: {why}");
            }
            if let ExportFormat::Docx = format {
                return export_docx(
                    &cli.config,
                    config,
                    plan.as_deref(),
                    as_of,
                    from,
                    ky,
                    (out, mode),
                    force,
                );
            }
            if from.is_some() || ky.is_some() {
                anyhow::bail!("--from và --ky chỉ dùng với --format docx");
            }
            let overview = overview_at(&cli.config, config, as_of, plan.as_deref())?;
            let (bytes, ext) = match format {
                ExportFormat::Xlsx => (nhacviec::workbook::xlsx(config, &overview)?, "xlsx"),
                ExportFormat::Csv => (nhacviec::workbook::csv(config, &overview)?, "csv"),
                ExportFormat::Docx => unreachable!("handled above"),
            };
            let out =
                out.unwrap_or_else(|| PathBuf::from(nhacviec::workbook::file_name(as_of, ext)));
            if out.as_os_str() == "-" {
                use std::io::Write as _;
                std::io::stdout().write_all(&bytes)?;
            } else {
                write_atomically(&out, &bytes, mode)
                    .with_context(|| format!("không ghi được {}", out.display()))?;
                eprintln!(
                    "Đã ghi {} ({} dòng nhiệm vụ × cơ quan, {} kế hoạch, số liệu đến ngày {}).",
                    out.display(),
                    overview.rows.len(),
                    overview.plans.len(),
                    dmy(as_of)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Responses {
            agency,
            plan,
            pending,
            format,
        } => {
            // Readable when the config has errors, like `history`.
            let analysis = config::load(&cli.config);
            let config = &analysis.config;
            let (agency, plan) = resolve_filters(config, agency.as_deref(), plan.as_deref())?;
            let db = nhacviec::deliver::state_dir(&cli.config, config)?.join(DB_FILE);
            let (rows, evidence) = if nhacviec::store::exists(&db)? {
                let store = nhacviec::store::Store::open_reader(&db)?;
                let rows = store.responses(&nhacviec::store::ResponseFilter {
                    agency: agency.as_deref(),
                    plan: plan.as_deref(),
                    pending_extensions: pending,
                })?;
                (rows, store.evidence()?)
            } else {
                (Vec::new(), Default::default())
            };
            match format {
                Format::Json => {
                    /// A response with its attached file (`null` when none).
                    #[derive(serde::Serialize)]
                    struct WithEvidence<'a> {
                        #[serde(flatten)]
                        response: &'a Response,
                        evidence: Option<&'a nhacviec::evidence::Evidence>,
                    }
                    let rows: Vec<WithEvidence<'_>> = rows
                        .iter()
                        .map(|r| WithEvidence {
                            response: r,
                            evidence: evidence.get(&r.id),
                        })
                        .collect();
                    print_json(&rows)?
                }
                Format::Text => print!("{}", render_responses(config, &rows, &evidence, pending)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Extend {
            agency,
            task,
            plan,
            to,
            from,
            doc_ref,
            now,
        } => {
            let analysis = load_valid(&cli.config)?;
            let request = ExtendRequest {
                agency: &agency,
                task: &task,
                plan: plan.as_deref(),
                to: date_arg("--to", &to)?,
                from: from.as_deref().map(|f| date_arg("--from", f)).transpose()?,
                doc_ref: &doc_ref,
                now: now_in(analysis.config.timezone, now.as_deref())?,
            };
            print!("{}", extend(&cli.config, &analysis.config, &request)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Retry {
            dead,
            agency,
            plan,
            now,
        } => {
            // Filters resolve against the best-effort config, like `history`.
            let analysis = config::load(&cli.config);
            let config = &analysis.config;
            let (agency, plan) = resolve_filters(config, agency.as_deref(), plan.as_deref())?;
            let path = nhacviec::deliver::state_dir(&cli.config, config)?.join(DB_FILE);
            if !path.exists() {
                println!(
                    "Không có thư nào cần gửi lại (chưa có cơ sở dữ liệu {}).",
                    path.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            // Beside a running service, as `zalo login`: one short transaction; the service
            // sees the commit (PRAGMA data_version) and sends at once.
            let store = nhacviec::store::Store::open_side(&path)?;
            let now = now_in(config.timezone, now.as_deref())?;
            let done = store.requeue(
                dead,
                agency.as_deref(),
                plan.as_deref(),
                now.with_timezone(&Utc),
            )?;
            // Outside the send hours the service holds them until the next opening.
            let calendar = report::calendar_for(config, now.date_naive(), now.date_naive());
            let opens = config.send_hours.next_open(&calendar, now.naive_local());
            let held = (opens != now.naive_local()).then_some(opens);
            let dead_left = if dead {
                0
            } else {
                store
                    .counts()?
                    .iter()
                    .find(|(s, _)| s == "dead")
                    .map_or(0, |(_, n)| *n)
            };
            print!("{}", render_requeued(&done, dead, held, dead_left));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What `retry` did, per status.
/// The service's state as a reader sees it: its database, whether a service holds it, and
/// the database opened read-only if there is one (there but unreadable is an error, not a
/// fresh state).
fn service_state(
    dir: &std::path::Path,
    config: &config::Config,
) -> anyhow::Result<(PathBuf, bool, Option<nhacviec::store::Store>)> {
    let db = nhacviec::deliver::state_dir(dir, config)?.join(nhacviec::daemon::DB_FILE);
    let running = nhacviec::store::writer_active(&db);
    let store = nhacviec::store::exists(&db)?
        .then(|| nhacviec::store::Store::open_reader(&db))
        .transpose()?;
    Ok((db, running, store))
}

/// `check`'s warnings about plans entered late: what the service's next pass (its start pass
/// when it is not running) would send about deadlines that passed before `now` and nobody was
/// reminded of, on the state directory's ledger (`forecast::late_entries_from`), one warning
/// per plan at its `[plan]` line.
fn late_plan_warnings(
    dir: &std::path::Path,
    config: &config::Config,
    now: DateTime<Tz>,
) -> anyhow::Result<Vec<config::Diagnostic>> {
    let (_, running, store) = service_state(dir, config)?;
    let view = store
        .as_ref()
        .map(|s| s.ledger(nhacviec::store::Ledger::of(config)));
    let ledger = match &view {
        Some(v) => v.forecast()?,
        None => nhacviec::forecast::Ledger::empty(),
    };
    let today = now.date_naive();
    // The service's engine: the plans with the stored answers laid over them.
    let engine = match &store {
        Some(s) => nhacviec::deliver::Engine::build_with_store(config, s, today)?,
        None => nhacviec::deliver::Engine::build(config, today),
    };
    let answered = engine.config(config);
    // Told already: in either ledger (a reminder rehearsed in trial mode is not news).
    let rehearsed = store
        .as_ref()
        .map(|s| s.ledger(nhacviec::store::Ledger::Trial));
    let known: &dyn nhacviec::schedule::Handled = match &rehearsed {
        Some(v) => v,
        None => ledger.handled,
    };
    let late = nhacviec::forecast::late_entries_from(
        answered,
        &engine.calendar,
        &engine.schedule,
        &ledger,
        known,
        now,
        !running,
    );
    Ok(late
        .into_iter()
        .map(|e| {
            let file = config
                .plans
                .iter()
                .find(|p| p.number == e.plan)
                .map_or_else(String::new, |p| p.file.clone());
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let at = text
                .match_indices("[plan]")
                .map(|(i, _)| i)
                .find(|&i| i == 0 || text[..i].ends_with('\n'))
                .unwrap_or(0);
            let message = e.message_vi(config, today);
            let d = if text.is_empty() {
                config::Diagnostic::file(config::Severity::Warning, file, message)
            } else {
                config::diag::Source::new(file, text).diag(
                    config::Severity::Warning,
                    at..at + "[plan]".len(),
                    message,
                )
            };
            d.with_help(e.help_vi(today))
        })
        .collect())
}

/// What a preview from now starts with: the service running (its next regular tick) or not
/// (a start now sends at once what is due, then the ticks).
fn preview_intro(config: &config::Config, running: bool, now: DateTime<Tz>) -> String {
    let when = format!(
        "{} {} {}",
        now.format("%H:%M"),
        nhacviec::deadline::weekday_vi(now.date_naive()),
        dmy(now.date_naive())
    );
    let (hours, reminders) = (config.send_hours.describe(), &config.reminders);
    let mut out = match &config.email.redirect_all_to {
        Some(to) => format!(
            "Đang chạy thử ([email] redirect_all_to): mọi thư email gửi về {to}, ghi vào sổ chạy thử (history --trial).\n"
        ),
        None => String::new(),
    };
    out.push_str(&if running {
        format!(
            "Dịch vụ đang chạy: lời nhắc đi ở các lần kiểm tra theo lịch [schedule] reminders = \"{reminders}\" (trong giờ gửi {hours}).\n"
        )
    } else {
        format!(
            "Dịch vụ chưa chạy: nếu khởi động lúc {when}, lần gửi đánh dấu [khi khởi động] đi ngay (ngoài giờ gửi {hours} thì đợi đến giờ mở), sau đó theo lịch [schedule] reminders = \"{reminders}\".\n"
        )
    });
    out
}

fn render_requeued(
    done: &nhacviec::store::Requeued,
    dead: bool,
    held: Option<chrono::NaiveDateTime>,
    dead_left: i64,
) -> String {
    let mut out = String::new();
    if done.total() == 0 {
        out.push_str("Không có thư nào cần gửi lại.\n");
    } else {
        out.push_str(&format!(
            "Đã đưa {} thư vào hàng gửi ngay: {} thư đang chờ thử lại",
            done.total(),
            done.retrying
        ));
        if dead {
            out.push_str(&format!(
                ", {} thư thất bại (tính lại thời hạn thử từ bây giờ)",
                done.dead
            ));
        }
        match held {
            Some(at) => out.push_str(&format!(
                ".\nĐang ngoài giờ gửi ([schedule] send_hours): dịch vụ sẽ gửi lúc {}.\n",
                at.format("%H:%M %d/%m/%Y")
            )),
            None => out.push_str(".\nDịch vụ đang chạy sẽ gửi ngay; nếu dịch vụ không chạy, dùng `nhacviec run --once`.\n"),
        }
    }
    if dead_left > 0 {
        out.push_str(&format!(
            "Có {dead_left} thư thất bại: thêm --dead để gửi lại cả những thư này (`nhacviec retry --dead`).\n"
        ));
    }
    if done.handed_over > 0 {
        out.push_str(&format!(
            "Bỏ qua {} thư thất bại đã được chuyển sang gửi bằng email.\n",
            done.handed_over
        ));
    }
    out
}

use nhacviec::daemon::DB_FILE;

/// The responses and extensions in the service's database; none when it has none yet.
fn stored_answers(
    dir: &std::path::Path,
    config: &config::Config,
) -> anyhow::Result<(Vec<Response>, Vec<Extension>)> {
    let db = nhacviec::deliver::state_dir(dir, config)?.join(DB_FILE);
    if !nhacviec::store::exists(&db)? {
        return Ok((Vec::new(), Vec::new()));
    }
    let store = nhacviec::store::Store::open_reader(&db)?;
    store
        .answers()
        .with_context(|| format!("reading the responses in {}", db.display()))
}

/// The monitoring office's figures as of `as_of`, from the config and the service's database
/// (answers, extensions, reminders sent); from the config alone when there is no database.
fn overview_at(
    dir: &std::path::Path,
    config: &config::Config,
    as_of: NaiveDate,
    plan: Option<&str>,
) -> anyhow::Result<nhacviec::overview::Overview> {
    let db = nhacviec::deliver::state_dir(dir, config)?.join(DB_FILE);
    let (responses, extensions, last) = if nhacviec::store::exists(&db)? {
        let store = nhacviec::store::Store::open_reader(&db)?;
        let (r, e) = store
            .answers()
            .with_context(|| format!("reading the responses in {}", db.display()))?;
        (r, e, store.last_reminders()?)
    } else {
        Default::default()
    };
    Ok(nhacviec::overview::compute_as_of(
        config,
        as_of,
        plan,
        &responses,
        &extensions,
        &last,
    ))
}

/// Writes `bytes` to `path` through a temporary file beside it, so a reader never sees half a
/// workbook.
fn write_atomically(path: &std::path::Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile_in(&dir, mode)?;
    let written = std::io::Write::write_all(&mut tmp.1, bytes)
        .and_then(|()| tmp.1.sync_all())
        .and_then(|()| std::fs::rename(&tmp.0, path));
    if written.is_err() {
        // No partial file left behind.
        let _ = std::fs::remove_file(&tmp.0);
    }
    written
}

/// `export --format docx`: the report to sign, for the period asked.
#[allow(clippy::too_many_arguments)]
fn export_docx(
    dir: &std::path::Path,
    config: &config::Config,
    plan: Option<&str>,
    as_of: NaiveDate,
    from: Option<String>,
    ky: Option<String>,
    (out, mode): (Option<PathBuf>, u32),
    force: bool,
) -> anyhow::Result<ExitCode> {
    use nhacviec::report_doc::{Ky, Period};
    // Bad input is the admin's to fix: exit 1, as an unknown plan.
    macro_rules! refuse {
        ($($t:tt)*) => {
            return Err(Refused(format!($($t)*)).into())
        };
    }
    let today = Utc::now().with_timezone(&config.timezone).date_naive();
    let mut period = match (&ky, &from) {
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
    let out = out.unwrap_or_else(|| PathBuf::from(nhacviec::report_doc::file_name(period.to)));
    let to_stdout = out.as_os_str() == "-";
    if !to_stdout {
        if out.is_dir() {
            refuse!(
                "{} là một thư mục; hãy ghi tên tệp, ví dụ --out bao-cao.docx",
                out.display()
            );
        }
        if out.exists() && !force {
            refuse!(
                "tệp {} đã có; thêm --force để ghi đè, hoặc chọn tên khác bằng --out",
                out.display()
            );
        }
    }
    let db = nhacviec::deliver::state_dir(dir, config)?.join(DB_FILE);
    let (responses, extensions, last) = if nhacviec::store::exists(&db)? {
        let store = nhacviec::store::Store::open_reader(&db)?;
        let (r, e) = store
            .answers()
            .with_context(|| format!("reading the responses in {}", db.display()))?;
        (r, e, store.last_reminders()?)
    } else {
        Default::default()
    };
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
        use std::io::Write as _;
        std::io::stdout().write_all(&bytes)?;
    } else {
        if let Err(e) = write_atomically(&out, &bytes, mode) {
            refuse!("không ghi được {}: {e}", out.display());
        }
        eprintln!(
            "Đã ghi {} (báo cáo {}, số liệu từ ngày {} đến ngày {}, {} kế hoạch).",
            out.display(),
            period.label,
            dmy(period.from),
            dmy(period.to),
            overview.plans.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A new file in `dir` with a unique name.
/// A new temporary file in `dir` with exactly `mode` (set again after creation: the umask
/// may only have narrowed it, and a report or a draft is the office's, not the world's).
fn tempfile_in(dir: &std::path::Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = dir.join(format!(".nhacviec-{}.tmp", uuid::Uuid::new_v4()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok((path, file))
}

/// `admin-link --new-token`: a dashboard key of 244 random bits (two random UUIDs, 64 hex
/// digits) and the `admin_token` line holding its hash; the key itself is stored nowhere.
fn new_admin_token() -> String {
    use sha2::Digest;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    format!(
        "Khóa trang theo dõi (giữ kín, ví dụ trong trình quản lý mật khẩu; chỉ in lần này):\n  {key}\nDòng ghi vào [web] của nhacviec.toml:\n  admin_token = \"sha256:{hash}\"\nTrang theo dõi: {{public_url}}/theo-doi/{key}\n"
    )
}

/// `--mode`: octal permissions of a file written, at most 777.
fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim().trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("\"{s}\" không phải quyền tệp dạng bát phân (ví dụ 600, 640)"))
}

/// The config with the agencies' reports and the extensions granted laid over it, as the
/// service schedules from it; and the responses.
fn answered_config(
    dir: &std::path::Path,
    config: &config::Config,
) -> anyhow::Result<(config::Config, Vec<Response>)> {
    let (responses, extensions) = stored_answers(dir, config)?;
    Ok((
        answers::overlaid(config, &responses, &extensions),
        responses,
    ))
}

fn dmy(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// At most `max` characters, "…" when cut; on one line, control characters shown escaped.
fn shorten(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let printable = nhacviec::text::printable(&one_line);
    if printable.chars().count() <= max {
        return printable.into_owned();
    }
    let mut out: String = printable.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `responses` as text: one line each, times in the config's zone.
fn render_responses(
    config: &config::Config,
    rows: &[Response],
    evidence: &std::collections::HashMap<i64, nhacviec::evidence::Evidence>,
    pending: bool,
) -> String {
    let tz = config.timezone;
    let name = |id: &str| {
        config
            .agency(id)
            .map_or_else(|| id.to_string(), |a| format!("{} ({id})", a.name))
    };
    let mut out = String::new();
    for r in rows {
        let mut values = Vec::new();
        if let Some(d) = r.deadline {
            values.push(format!("hạn {}", dmy(d)));
        }
        if let Some(d) = r.done_on {
            values.push(format!("hoàn thành ngày {}", dmy(d)));
        }
        if let Some(p) = r.percent {
            values.push(format!("tiến độ {p}%"));
        }
        if let Some(d) = r.proposed {
            values.push(format!("đề nghị hạn mới {}", dmy(d)));
        }
        if let Some(doc) = r.doc_ref.as_deref().filter(|d| !d.trim().is_empty()) {
            values.push(format!("văn bản: {}", shorten(doc, 60)));
        }
        if let Some(note) = r.note.as_deref().filter(|n| !n.trim().is_empty()) {
            values.push(format!("ghi chú: \"{}\"", shorten(note, 80)));
        }
        if let Some(e) = evidence.get(&r.id) {
            values.push(format!(
                "tệp kèm: {}",
                nhacviec::text::printable(&e.label())
            ));
        }
        let who = r.who.vi();
        if !who.is_empty() {
            values.push(format!("người trả lời: {}", shorten(&who, 80)));
        }
        let mut marks = String::new();
        if r.undone_at.is_some() {
            marks.push_str(" (đã rút lại)");
        }
        if r.granted.is_some() {
            marks.push_str(" (đã gia hạn)");
        }
        match &r.review {
            Some(v) if v.confirmed => marks.push_str(" (đã xác nhận)"),
            Some(v) => marks.push_str(&format!(
                " (bị trả lại: {})",
                shorten(v.reason.as_deref().unwrap_or_default(), 60)
            )),
            None if r.awaiting_review() => marks.push_str(" (chờ xác nhận)"),
            None => {}
        }
        out.push_str(&format!(
            "#{:<5} {}  {}  KH {}  nhiệm vụ {}: {}{}{marks}\n",
            r.id,
            r.created_at.with_timezone(&tz).format("%d/%m/%Y %H:%M"),
            name(&r.agency),
            nhacviec::text::printable(&r.plan),
            nhacviec::text::printable(&r.task),
            r.action.vi(),
            if values.is_empty() {
                String::new()
            } else {
                format!(" — {}", values.join("; "))
            },
        ));
    }
    if rows.is_empty() {
        out.push_str(if pending {
            "Không có đề nghị gia hạn nào đang chờ.\n"
        } else {
            "Chưa có trả lời nào của các cơ quan.\n"
        });
    } else if pending {
        out.push_str("Gia hạn: nhacviec extend --agency <cơ quan> --task <nhiệm vụ> --to <hạn mới> --ref \"Công văn số …\"\n");
    }
    out
}

/// What `extend` was asked.
struct ExtendRequest<'a> {
    agency: &'a str,
    task: &'a str,
    plan: Option<&'a str>,
    to: NaiveDate,
    from: Option<NaiveDate>,
    /// The decision's document (`--ref`).
    doc_ref: &'a str,
    now: DateTime<Tz>,
}

/// `extend`: checks the request with the dashboard's rule (`extension::check`) against the
/// config and the answers so far, records the grant and the message telling the agency
/// beside a running service (which sends it), and says what moved.
fn extend(
    dir: &std::path::Path,
    config: &config::Config,
    req: &ExtendRequest<'_>,
) -> anyhow::Result<String> {
    use nhacviec::extension;
    use nhacviec::outbox::{self, Decision, DecisionAbout};
    let refused = |msg: String| anyhow::Error::from(Refused(msg));
    let agency = resolve_agency(config, req.agency)?;
    let agency_name = config.agency_name(&agency);
    let plan_filter = req.plan.map(|p| resolve_plan(config, p)).transpose()?;
    // Which plan: the CLI names a task by its number alone.
    let found: Vec<&config::Plan> = config
        .plans
        .iter()
        .filter(|p| plan_filter.as_ref().is_none_or(|n| *n == p.number))
        .filter(|p| p.tasks.iter().any(|t| t.id == req.task))
        .collect();
    let plan = match found.as_slice() {
        [] => {
            return Err(refused(match &plan_filter {
                Some(p) => format!("kế hoạch {p} không có nhiệm vụ \"{}\"", req.task),
                None => format!("không kế hoạch nào có nhiệm vụ \"{}\"", req.task),
            }))
        }
        [one] => *one,
        many => {
            let numbers: Vec<&str> = many.iter().map(|p| p.number.as_str()).collect();
            return Err(refused(format!(
                "nhiệm vụ {} có trong {} kế hoạch: {}; chọn một bằng --plan",
                req.task,
                numbers.len(),
                numbers.join(", ")
            )));
        }
    };
    let (responses, extensions) = stored_answers(dir, config)?;
    let answered = answers::overlaid(config, &responses, &extensions);
    let grant = extension::check(
        &answered,
        &extension::Asked {
            agency: &agency,
            plan: &plan.number,
            task: req.task,
            from: req.from,
            to: req.to,
            doc_ref: Some(req.doc_ref),
            today: req.now.date_naive(),
        },
    )
    .map_err(|r| refused(r.to_string()))?;

    // The agency's requests for that deadline: the grant answers them (as the store marks).
    let request = responses
        .iter()
        .filter(|r| {
            r.agency == agency
                && r.plan == grant.plan
                && r.task == grant.task
                && r.action == answers::Action::Extension
                && r.undone_at.is_none()
                && r.granted.is_none()
                && r.refused_at.is_none()
                && r.deadline.is_none_or(|d| d == grant.from)
        })
        .max_by_key(|r| r.id);
    let now = req.now.with_timezone(&Utc);
    // The agency is told as the dashboard tells it: the same message, its page linked.
    let link = match nhacviec::web::links_for(config) {
        Ok(signer) => config
            .web
            .as_ref()
            .zip(signer)
            .map(|(w, s)| format!("{}/a/{}", w.public_url, s.sign(&agency, now))),
        Err(e) => {
            eprintln!("cảnh báo: thư báo cơ quan không kèm liên kết đến trang của cơ quan: {e:#}");
            None
        }
    };
    let about = DecisionAbout {
        agency: &agency,
        plan: &grant.plan,
        task: &grant.task,
        deadline: Some(grant.from),
        in_force: Some(grant.before),
        requested: request.is_some(),
        proposed: request.and_then(|r| r.proposed),
    };
    let decision = Decision::Granted {
        to: grant.to,
        doc_ref: Some(grant.doc_ref.clone()),
    };
    // As on the dashboard: a message that cannot be made does not stop the grant; the output
    // says the agency was not told.
    let messages =
        outbox::decision(config, about, &decision, link.as_deref()).unwrap_or_else(|e| {
            eprintln!("cảnh báo: không soạn được thư báo cơ quan: {e}");
            Vec::new()
        });

    let state = nhacviec::deliver::state_dir(dir, config)?;
    nhacviec::store::create_private_dir(&state)
        .with_context(|| format!("tạo thư mục trạng thái {}", state.display()))?;
    // Beside a running service: one short transaction; the service sees the answers change,
    // rebuilds its schedule and sends the message.
    let store = nhacviec::store::Store::open_side(&state.join(DB_FILE))?;
    store.grant_extension_and_tell(
        &grant,
        &messages,
        &outbox::domain_of(&config.email.from),
        now,
    )?;
    let mut out = format!(
        "Đã gia hạn nhiệm vụ {} (KH {}) cho {agency_name}: hạn {} → {}",
        grant.task,
        grant.plan,
        dmy(grant.before),
        dmy(grant.to)
    );
    if grant.before != grant.from {
        out.push_str(&format!(" (hạn theo kế hoạch: {})", dmy(grant.from)));
    }
    out.push_str(&format!(
        " ({}). Lời nhắc sẽ được tính lại ở lần chạy tới.\n",
        grant.doc_ref
    ));
    if let Some(asked) = request {
        out.push_str(&format!(
            "Đề nghị gia hạn của {agency_name} ngày {} đã được ghi là đã giải quyết.\n",
            asked
                .created_at
                .with_timezone(&config.timezone)
                .format("%d/%m/%Y")
        ));
    }
    out.push_str(&match messages.first().map(|m| m.channel) {
        Some(channel) => format!(
            "Đã báo {agency_name} qua {}: thư được gửi ở lần gửi tới của dịch vụ (xem bằng nhacviec history --agency {agency}).\n",
            channel_vi(channel)
        ),
        None => format!(
            "Không báo được {agency_name} qua email, Zalo OA hay webhook: vui lòng báo bằng điện thoại hoặc văn bản.\n"
        ),
    });
    Ok(out)
}

/// A channel's name as the messages say it.
fn channel_vi(channel: config::Channel) -> &'static str {
    match channel {
        config::Channel::Email => "email",
        config::Channel::Zalo => "Zalo OA",
        config::Channel::Webhook => "webhook",
    }
}

fn status_vi(s: &str) -> &str {
    match s {
        "pending" => "chờ gửi",
        "sent" => "đã gửi",
        "retrying" => "đang thử lại",
        "dead" => "thất bại",
        other => other,
    }
}

/// `history` as text: times in the config's zone, the plan with every task.
fn render_history(
    config: &config::Config,
    rows: &[nhacviec::store::Delivery],
    status: Option<&str>,
    trial: bool,
) -> String {
    let tz = config.timezone;
    let name = |id: &str| {
        config
            .agency(id)
            .map_or_else(|| id.to_string(), |a| format!("{} ({id})", a.name))
    };
    let mut out = String::new();
    for d in rows {
        let when = d.sent_at.as_deref().unwrap_or(&d.created_at);
        out.push_str(&format!(
            "#{:<6} {:<13} {}  {} → {}\n        {}\n",
            d.id,
            status_vi(&d.status),
            report::local_time(when, tz),
            name(&d.agency),
            d.recipients.join(", "),
            d.subject
        ));
        if !d.items.is_empty() {
            let items: Vec<String> = d
                .items
                .iter()
                .map(|i| format!("{} {} ({}, {})", i.plan, i.task, i.role.vi(), i.kind.vi()))
                .collect();
            out.push_str(&format!("        {}\n", items.join("; ")));
        }
        if let Some(e) = &d.last_error {
            out.push_str(&format!("        lỗi (lần thử {}): {e}\n", d.attempts));
        }
        if let (Some(next), "retrying" | "pending") = (&d.next_attempt_at, d.status.as_str()) {
            if d.attempts > 0 {
                out.push_str(&format!(
                    "        thử lại lúc {}\n",
                    report::local_time(next, tz)
                ));
            }
        }
    }
    if rows.is_empty() {
        let what = if trial { "thư gửi thử" } else { "thư" };
        out.push_str(&match status {
            Some(s) => format!("Không có {what} nào ở trạng thái {}.\n", status_vi(s)),
            None if trial => "Chưa có thư gửi thử nào.\n".to_string(),
            None => "Chưa có lần gửi nào.\n".to_string(),
        });
    }
    out
}

/// `history --status skipped` as text: `rows` (the newest of `all`), each with its reason,
/// then how many `all` holds by reason, as `run --once` counts them.
fn render_skipped(
    config: &config::Config,
    rows: &[report::SkippedSlot],
    all: &[report::SkippedSlot],
    trial: bool,
) -> String {
    use nhacviec::schedule::{Kind, Role};
    let horizon = format!("cũ hơn catch_up_days = {} ngày", config.catch_up_days);
    let reason_vi = |r: report::SkipReason| match r {
        report::SkipReason::Superseded => "bị thay bằng lời nhắc sau",
        report::SkipReason::Horizon => horizon.as_str(),
    };
    let name = |id: &str| {
        nhacviec::text::printable(config.agency(id).map_or(id, |a| a.name.as_str())).into_owned()
    };
    let mut out = String::new();
    for s in rows {
        let role = match s.role.as_str() {
            "lead" => Role::Lead.vi(),
            "support" => Role::Support.vi(),
            "monitor" => Role::Monitor.vi(),
            other => other,
        };
        let kind = match (s.kind.as_str(), s.n) {
            ("before", Some(d)) => format!("{} {d} ngày", Kind::Before.vi()),
            ("before", None) => Kind::Before.vi().to_string(),
            ("due", _) => Kind::Due.vi().to_string(),
            ("overdue", Some(k)) => format!("{} (lần {k})", Kind::Overdue.vi()),
            ("overdue", None) => Kind::Overdue.vi().to_string(),
            ("escalation", _) => Kind::Escalation.vi().to_string(),
            (other, _) => other.to_string(),
        };
        let deadline = s.deadline.map_or_else(|| "?".to_string(), dmy);
        let about = if s.about != s.agency {
            format!("  [{}]", name(&s.about))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}  {} {:<6} {} ({}) {role:<9} {kind:<17} hạn {deadline}{about}\n        bỏ qua: {}\n",
            report::local_time(&s.recorded_at, config.timezone),
            nhacviec::text::printable(&s.plan),
            nhacviec::text::printable(&s.task),
            name(&s.agency),
            nhacviec::text::printable(&s.agency),
            reason_vi(s.reason)
        ));
    }
    if all.is_empty() {
        out.push_str(if trial {
            "Chế độ chạy thử không bỏ qua lời nhắc nào.\n"
        } else {
            "Không có lời nhắc nào bị bỏ qua.\n"
        });
        return out;
    }
    let superseded = all
        .iter()
        .filter(|s| s.reason == report::SkipReason::Superseded)
        .count();
    out.push_str(&format!(
        "Tổng cộng {} lời nhắc bị bỏ qua: {superseded} {}, {} {}.\n",
        all.len(),
        reason_vi(report::SkipReason::Superseded),
        all.len() - superseded,
        reason_vi(report::SkipReason::Horizon),
    ));
    if rows.len() < all.len() {
        out.push_str(&format!(
            "Chỉ liệt kê {} lời nhắc ghi gần nhất: xem hết bằng --limit {}.\n",
            rows.len(),
            all.len()
        ));
    }
    out
}

/// `run`: one pass with `--once`, else a pass at start (catch-up) and at every cron tick,
/// retries in between, until SIGINT/SIGTERM.
async fn run_service(
    dir: &std::path::Path,
    once: bool,
    now: Option<&str>,
) -> anyhow::Result<ExitCode> {
    if !once {
        nhacviec::daemon::run(dir).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let analysis = load_valid(dir)?;
    let config = analysis.config;
    let links = nhacviec::web::links_for(&config)?;
    let templates = nhacviec::render::Templates::new(&analysis.templates)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.template, e.message))?
        .with_links(links);
    // `--now` decides what is due; sending and retry times follow the real clock.
    let at = now_in(config.timezone, now)?;
    let file_transport = config.email.transport == nhacviec::config::Transport::File;
    let (p, state) = nhacviec::daemon::once(dir, config, templates, at).await?;
    print!("{}", render_pass(&p, &state, file_transport));
    // A script or a timer unit sees that something did not go out.
    Ok(if p.dead > 0 || p.retrying > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `nhacviec web`: the agencies' pages alone, until SIGTERM or ^C.
async fn serve_pages(dir: &std::path::Path, now: Option<&str>) -> anyhow::Result<ExitCode> {
    let config = load_valid(dir)?.config;
    let Some(settings) = config.web.clone() else {
        anyhow::bail!(
            "nhacviec.toml chưa có [web] (listen, public_url): không có trang nào để phục vụ"
        );
    };
    let signer = nhacviec::web::signer_from_env(settings.link_days)?.ok_or_else(|| {
        anyhow::anyhow!("chưa có khóa ký liên kết: đặt biến môi trường NHACVIEC_LINK_SECRET hoặc tệp $CREDENTIALS_DIRECTORY/link-secret (ví dụ tạo bằng `openssl rand -hex 32`)")
    })?;
    let fixed = match now {
        Some(_) => Some(now_in(config.timezone, now)?.with_timezone(&chrono::Utc)),
        None => None,
    };
    let state = nhacviec::deliver::state_dir(dir, &config)?;
    nhacviec::store::create_private_dir(&state)
        .with_context(|| format!("tạo thư mục trạng thái {}", state.display()))?;
    let db = state.join(nhacviec::daemon::DB_FILE);
    // Created (and migrated) if new; then a side connection, as beside a running service.
    if !nhacviec::store::exists(&db)? {
        drop(nhacviec::store::Store::open_writer(&db)?);
    }
    let _server = nhacviec::web::launch(std::sync::Arc::new(config), &db, signer, fixed)?;
    eprintln!(
        "Trang trả lời nhắc việc: {} (nghe trên {}); dừng bằng Ctrl+C",
        settings.public_url, settings.listen
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary of `run --once`: what this pass recorded, sent and skipped; with the file
/// transport, where the messages are.
fn render_pass(
    p: &nhacviec::deliver::Pass,
    state: &std::path::Path,
    file_transport: bool,
) -> String {
    if let Some(at) = p.deferred_until {
        return format!(
            "Ngoài giờ gửi; lần gửi tới: {}\nTrạng thái: {}\n",
            at.format("%H:%M %d/%m/%Y"),
            state.display()
        );
    }
    let mut out = format!(
        "Lần kiểm tra này ghi mới {} thư; gửi {}, chờ thử lại {}, thất bại {}.\n",
        p.queued, p.sent, p.retrying, p.dead
    );
    if p.skipped + p.stale + p.suppressed > 0 {
        out.push_str(&format!(
            "Bỏ qua {} lời nhắc đã có lời nhắc mới hơn, {} lời nhắc cũ hơn hạn gửi bù (catch_up_days), {} lời nhắc của cơ quan đã hoàn thành.\n",
            p.skipped, p.stale, p.suppressed
        ));
    }
    if p.dead > 0 || p.retrying > 0 {
        out.push_str("Có thư chưa gửi được: xem `nhacviec history --status dead` và `--status retrying`; gửi lại bằng `nhacviec retry`.\n");
    }
    if file_transport {
        out.push_str(&format!(
            "Thư email ghi thành tệp .eml (transport = \"file\", chưa gửi đi đâu) trong thư mục {}\n",
            nhacviec::channels::email::mail_dir(state).display()
        ));
    }
    out.push_str(&format!("Trạng thái: {}\n", state.display()));
    out
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
