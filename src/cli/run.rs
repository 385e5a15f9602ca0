//! `nhacviec run` (the service, or one pass with `--once`) and `nhacviec web` (the pages
//! alone).

use super::args::now_in;
use super::load_valid;
use super::output::Out;
use super::state::State;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Chỉ chạy một lần kiểm tra và gửi rồi thoát
    #[arg(long)]
    once: bool,
    /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống. Với --once: một lượt tại
    /// thời điểm này. Không có --once: dịch vụ chạy như thể khởi động lúc này, đồng hồ chạy
    /// tiếp theo thời gian thực (để diễn tập: lịch cron, giờ gửi, liên kết)
    #[arg(long)]
    now: Option<String>,
}

#[derive(clap::Args)]
pub struct WebArgs {
    /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống: thời hạn liên kết và
    /// "hôm nay" của các trang tính theo thời điểm này
    #[arg(long)]
    now: Option<String>,
}

pub fn run(dir: &Path, Args { once, now }: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime()?;
    let result = runtime.block_on(service(dir, once, now.as_deref(), out));
    // Stopped: do not wait on blocking threads still winding down (the file watcher, a worker
    // past its grace); the store's last transaction is committed or rolled back.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

pub fn web(dir: &Path, WebArgs { now }: WebArgs, out: &Out) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime()?;
    runtime.block_on(serve_pages(dir, now.as_deref(), out))
}

/// `run`: one pass with `--once`, else a pass at start (catch-up) and at every cron tick,
/// retries in between, until SIGINT/SIGTERM.
async fn service(dir: &Path, once: bool, now: Option<&str>, out: &Out) -> anyhow::Result<ExitCode> {
    // Two servers on one PostgreSQL database: one leads, the others stand by.
    let pg = nhacviec::pg::DatabaseUrl::from_env()?;
    if !once {
        // A time written without an offset is the config's local time.
        let clock = match now {
            None => nhacviec::clock::Clock::System,
            Some(_) => {
                let config = load_valid(dir, out)?.config;
                let start = now_in(config.timezone, now)?.with_timezone(&chrono::Utc);
                nhacviec::clock::Clock::starting_at(start)
            }
        };
        let lead = match &pg {
            Some(url) => {
                nhacviec::lead::Lead::Shared(Box::new(nhacviec::pg::Leadership::new(url.clone())))
            }
            None => nhacviec::lead::Lead::Solo,
        };
        nhacviec::daemon::run_on(dir, clock, lead, pg).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let analysis = load_valid(dir, out)?;
    let config = analysis.config;
    let links = nhacviec::web::links_for(&config)?;
    let templates = nhacviec::render::Templates::new(&analysis.templates)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.template, e.message))?
        .with_links(links);
    // `--now` decides what is due; sending and retry times follow the real clock.
    let at = now_in(config.timezone, now)?;
    let file_transport = config.email.transport == nhacviec::config::Transport::File;
    let (p, state) = nhacviec::daemon::once(dir, config, templates, at).await?;
    out.print(render_pass(&p, &state, file_transport))?;
    // A script or a timer unit sees that something did not go out.
    Ok(if p.dead > 0 || p.retrying > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `nhacviec web`: the agencies' pages alone, until SIGTERM or ^C.
async fn serve_pages(dir: &Path, now: Option<&str>, out: &Out) -> anyhow::Result<ExitCode> {
    let config = load_valid(dir, out)?.config;
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
    let state = State::of(dir, &config)?;
    state.create()?;
    // Created (and migrated) if new; then a side connection, as beside a running service.
    if !state.exists()? {
        drop(nhacviec::store::Store::open_writer(&state.db)?);
    }
    let _server =
        nhacviec::web::launch(std::sync::Arc::new(config), state.location(), signer, fixed)?;
    out.eprintln(format_args!(
        "Trang trả lời nhắc việc: {} (nghe trên {}); dừng bằng Ctrl+C",
        settings.public_url, settings.listen
    ))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary of `run --once`: what this pass recorded, sent and skipped; with the file
/// transport, where the messages are.
fn render_pass(p: &nhacviec::deliver::Pass, state: &Path, file_transport: bool) -> String {
    if let Some(at) = p.deferred_until {
        return format!(
            "Ngoài giờ gửi; lần gửi tới: {}\nTrạng thái: {}\n",
            nhacviec::dates::hm_dmy(&at),
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
