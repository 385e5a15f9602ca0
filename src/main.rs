//! The `nhacviec` command line: the imperative shell around the library. It reads the config
//! and the clock; everything it prints is computed by the library's pure functions. This file
//! only parses and dispatches: each command lives in `cli/`, and prints through
//! `cli::output::Out`, which escapes what it prints.

mod cli;

use clap::{Parser, Subcommand};
use cli::output::Out;
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
    Check(cli::check::Args),
    /// Lịch nghỉ lễ, nghỉ bù và làm bù của một năm
    Calendar(cli::calendar::Args),
    /// Xem trước các lời nhắc sẽ gửi trong một khoảng thời gian
    Preview(cli::preview::Args),
    /// Chạy dịch vụ nhắc việc: kiểm tra theo lịch, ghi vào hộp thư đi rồi gửi
    Run(cli::run::Args),
    /// Chỉ phục vụ trang trả lời của các cơ quan và trang theo dõi ([web]), không gửi nhắc
    /// việc (dịch vụ `run` cũng phục vụ các trang này; lệnh này dùng khi chạy riêng hoặc để thử)
    Web(cli::run::WebArgs),
    /// In liên kết trang theo dõi của cơ quan theo dõi (/theo-doi/…), ký bằng khóa liên kết,
    /// dùng được link_days ngày
    AdminLink(cli::admin_link::Args),
    /// Nhập kế hoạch từ văn bản (.docx hoặc văn bản thuần) thành bản nháp TOML
    Import(cli::import::Args),
    /// Gửi thử một thư mẫu (ghi rõ "THƯ THỬ") cho một cơ quan qua kênh đã cấu hình: các
    /// nhiệm vụ đang mở thật của cơ quan, mẫu thư và liên hệ như thư nhắc thật
    SendTest(cli::send_test::Args),
    /// Zalo: lưu token đăng nhập, xem trạng thái
    Zalo {
        #[command(subcommand)]
        command: cli::zalo::Command,
    },
    /// Lịch sử gửi: đã gửi gì, khi nào, cho ai, lỗi gì
    History(cli::history::Args),
    /// Tình hình thực hiện: hạn và trạng thái của từng nhiệm vụ, từng cơ quan
    Status(cli::status::Args),
    /// Xuất bảng theo dõi cho cơ quan theo dõi: Excel (.xlsx: sheet tổng hợp, mỗi kế hoạch
    /// một sheet) hoặc CSV
    Export(cli::export::Args),
    /// Trả lời của các cơ quan: đã hoàn thành, cập nhật tiến độ, đề nghị gia hạn
    Responses(cli::responses::Args),
    /// Gia hạn một nhiệm vụ cho một cơ quan (theo văn bản cho phép); chạy được khi dịch vụ
    /// đang chạy
    Extend(cli::extend::Args),
    /// Gửi lại ngay các thư đang chờ thử lại (và với --dead, cả thư đã thất bại); chạy được
    /// khi dịch vụ đang chạy
    Retry(cli::retry::Args),
    /// Trạng thái: chép sang PostgreSQL (`store copy`) để chạy hai máy chủ
    Store {
        #[command(subcommand)]
        command: cli::store::Command,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_)) {
        // A command's output piped into `head` ends quietly, as other command-line tools do,
        // instead of a panic on the closed pipe. The service keeps Rust's default (a write
        // to a closed socket is an error to handle, not a signal that kills it).
        // SAFETY: restores the default disposition of one signal before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    cli::logs::init(cli::logs::timezone(&cli.config));
    let out = Out::new();
    match run(cli, &out) {
        Ok(code) => code,
        Err(e) => {
            // Through the writer too: an error may quote the config, an argument or a server.
            // Nothing is left to tell if stderr itself fails.
            let _ = out.eprintln(format_args!("lỗi: {e:#}"));
            // A wrong argument (an unknown agency or plan) is the admin's to fix: exit 1.
            if e.downcast_ref::<cli::Refused>().is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

fn run(cli: Cli, out: &Out) -> anyhow::Result<ExitCode> {
    let dir = &cli.config;
    match cli.command {
        Command::Check(args) => cli::check::run(dir, args, out),
        Command::Calendar(args) => cli::calendar::run(dir, args, out),
        Command::Preview(args) => cli::preview::run(dir, args, out),
        Command::Run(args) => cli::run::run(dir, args, out),
        Command::Web(args) => cli::run::web(dir, args, out),
        Command::AdminLink(args) => cli::admin_link::run(dir, args, out),
        Command::Import(args) => cli::import::run(dir, args, out),
        Command::SendTest(args) => cli::send_test::run(dir, args, out),
        Command::Zalo { command } => cli::zalo::run(dir, command, out),
        Command::History(args) => cli::history::run(dir, args, out),
        Command::Status(args) => cli::status::run(dir, args, out),
        Command::Export(args) => cli::export::run(dir, args, out),
        Command::Responses(args) => cli::responses::run(dir, args, out),
        Command::Extend(args) => cli::extend::run(dir, args, out),
        Command::Retry(args) => cli::retry::run(dir, args, out),
        Command::Store { command } => cli::store::run(dir, command, out),
    }
}
