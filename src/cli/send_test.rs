//! `nhacviec send-test`: a sample reminder (marked THƯ THỬ) to one agency, through the channel
//! and the templates a real one takes.

use super::args::{now_in, Channel};
use super::output::Out;
use super::state::State;
use super::{load_valid, resolve, shorten};
use chrono::Utc;
use nhacviec::config::{self, Config};
use nhacviec::outbox::Delivery;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Cơ quan (mã, tên hoặc bí danh)
    #[arg(long)]
    agency: String,
    /// Kênh gửi
    #[arg(long, value_enum, default_value_t = Channel::Email)]
    channel: Channel,
    /// Gửi đến địa chỉ email này thay cho cơ quan (thư vẫn là mẫu của cơ quan đó)
    #[arg(long)]
    to: Option<String>,
    /// "Bây giờ" (RFC 3339 hoặc ngày): các nhiệm vụ đang mở tính đến thời điểm này
    #[arg(long)]
    now: Option<String>,
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        agency,
        channel,
        to,
        now,
    } = args;
    let channel = config::Channel::from(channel);
    let analysis = load_valid(dir, out)?;
    let config = &analysis.config;
    // Links signed as a real digest's, when [web] and the link secret are there.
    let links = nhacviec::web::links_for(config)?;
    let templates = nhacviec::render::Templates::new(&analysis.templates)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.template, e.message))?
        .with_links(links);
    let agency = resolve::agency(config, &agency)?;
    let at = now_in(config.timezone, now.as_deref())?;
    let state = State::of(dir, config)?;
    // The agencies' answers count: a task reported done is not in the sample.
    let answered = state.answered(config)?;
    let sample = match nhacviec::messages::sample(
        &answered,
        &templates,
        &agency,
        channel,
        to.as_deref(),
        at.date_naive(),
    ) {
        Ok(s) => s,
        Err(e) => return outcome(out, Err(anyhow::anyhow!("{e}"))),
    };
    let agency_name = config.agency_name(&agency);
    let to = sample.recipients.join(", ");
    let items = sample.items.len();
    let now = Utc::now();
    let d = Delivery::unrecorded(
        sample,
        now,
        &nhacviec::outbox::domain_of(&config.email.from),
    );
    let runtime = super::runtime()?;
    // The SMTP pool needs the runtime when it is built.
    let _enter = runtime.enter();
    let sender = nhacviec::channels::Sender::build(channel, config, &state.dir)?;
    // Zalo's tokens live in the store, used exactly as the service does.
    let store = state.side()?;
    let sent = runtime.block_on(sender.send(&store, &d, now));
    let what = format!(
        "thư thử (mẫu thư nhắc của {agency_name}, {items} mục, \"{}\")",
        shorten(&d.subject, 120)
    );
    let done = sent
        .map(|()| sent_to(config, channel, &d, &state, &what, &to))
        .map_err(|e| anyhow::anyhow!("{e}"));
    outcome(out, done)
}

/// Where the sample went, as the admin needs to find it.
fn sent_to(
    config: &Config,
    channel: config::Channel,
    d: &Delivery,
    state: &State,
    what: &str,
    to: &str,
) -> String {
    match channel {
        config::Channel::Email => {
            let redirected = if config.email.redirect_all_to.is_some() {
                " (chế độ thử: redirect_all_to)"
            } else {
                ""
            };
            let how = match &config.email.transport {
                config::Transport::File => format!(
                    "ghi thành tệp {}",
                    nhacviec::channels::email::eml_path(&state.dir, d.id).display()
                ),
                config::Transport::Smtp { host, port, .. } => {
                    format!("qua máy chủ SMTP {host}:{port}")
                }
            };
            format!("Đã gửi {what} đến {to}{redirected}, kênh email, {how}")
        }
        config::Channel::Zalo => format!("Đã gửi {what} qua Zalo đến {}", d.agency),
        config::Channel::Webhook => format!(
            "Đã gửi {what} đến webhook {}",
            config.webhook.as_ref().map_or(String::new(), |w| {
                nhacviec::channels::redact_url(&w.url)
            })
        ),
    }
}

/// Prints how a `send-test` went: what was sent, or why not (exit code 1).
fn outcome(out: &Out, sent: anyhow::Result<String>) -> anyhow::Result<ExitCode> {
    Ok(match sent {
        Ok(done) => {
            out.println(done)?;
            ExitCode::SUCCESS
        }
        Err(e) => {
            out.eprintln(format_args!("lỗi: gửi thử không thành công: {e}"))?;
            ExitCode::from(1)
        }
    })
}
