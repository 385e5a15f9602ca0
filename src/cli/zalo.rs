//! `nhacviec zalo`: the OA's refresh token stored, and the channel's state.

use super::output::Out;
use super::state::State;
use anyhow::{bail, Context as _};
use nhacviec::config;
use nhacviec::store::ZaloTokens;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Lưu refresh token lấy từ trang quản lý Zalo (đọc từ stdin nếu không ghi)
    Login {
        #[arg(long)]
        refresh_token: Option<String>,
    },
    /// Hạn của token, hạn mức còn lại, kênh có đang dừng không
    Status,
}

pub fn run(dir: &Path, command: Command, out: &Out) -> anyhow::Result<ExitCode> {
    let analysis = config::load(dir);
    let state = State::of(dir, &analysis.config)?;
    match command {
        Command::Login { refresh_token } => {
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
            state.side()?.set_zalo_token(None, token, None)?;
            out.println("Đã lưu refresh token; lần gửi Zalo tới sẽ lấy access token mới.")?;
        }
        Command::Status => {
            let store: &dyn ZaloTokens = &state.open_reader()?;
            match store.zalo_token()? {
                None => out.println("Chưa đăng nhập Zalo (nhacviec zalo login).")?,
                Some((access, _, expires)) => out.println(format_args!(
                    "Access token: {}; hết hạn: {}",
                    if access.is_some() { "có" } else { "chưa có" },
                    expires.map_or("chưa biết".into(), |e| nhacviec::dates::hm_dmy(
                        &e.with_timezone(&analysis.config.timezone)
                    ))
                ))?,
            }
            if let (day, Some(q)) = store.zalo_quota()? {
                out.println(format_args!(
                    "Hạn mức ZNS còn lại: {q} (ngày {})",
                    day.map(|d| d.to_string()).unwrap_or_default()
                ))?;
            }
            match store.zalo_stopped()? {
                Some(reason) => out.println(format_args!("Kênh Zalo ĐANG DỪNG: {reason}"))?,
                None => out.println("Kênh Zalo hoạt động.")?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
