//! `nhacviec preview`: the reminders the service will send in a window, decided as its passes
//! decide them, on top of what it has already handled.

use super::args::{date_arg, now_in, Format};
use super::output::Out;
use super::state::State;
use super::{dmy, load_valid, resolve};
use anyhow::{bail, Context as _};
use chrono::{DateTime, Days};
use chrono_tz::Tz;
use nhacviec::config::{self, Config};
use nhacviec::report;
use nhacviec::schedule::SlotKey;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        from,
        to,
        days,
        agency,
        plan,
        task,
        now,
        format,
    } = args;
    let analysis = load_valid(dir, out)?;
    let state = State::of(dir, &analysis.config)?;
    // What the service would send: reports and extensions laid over the plans.
    let answered = state.answered(&analysis.config)?;
    let config = &answered;
    let (agency, plan) = resolve::filters(config, agency.as_deref(), plan.as_deref())?;
    let now = now_in(config.timezone, now.as_deref())?;
    // From the start of --from, or from now: a tick earlier today has already passed.
    let from_given = from.is_some();
    let (from, start) = match from {
        Some(s) => {
            let d = date_arg("--from", &s)?;
            let start = nhacviec::dates::parse_now(&d.to_string(), config.timezone)
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
    // On top of what the service has already handled, when the preview starts where it left
    // off (a preview of the past simulates from an empty history).
    let running = state.running();
    let store = state.reader()?.filter(|s| {
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
    // From now, the service not running: what its start sends comes first. A preview of given
    // dates shows the regular ticks.
    let starts = !from_given && !running;
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
    // The skipped keys under the same filters.
    let stale = stale
        .iter()
        .filter_map(|k| k.parse::<SlotKey>().ok())
        .filter(|k| {
            plan.as_deref().is_none_or(|p| k.plan == p)
                && task.as_deref().is_none_or(|t| k.task == t)
                && agency.as_deref().is_none_or(|a| k.agency == a)
        })
        .count();
    match format {
        Format::Text => {
            if !from_given {
                out.println(intro(config, running, start))?;
            }
            out.print(report::render_preview_text(config, &digests))?;
            if store.is_some() {
                out.println(format_args!(
                    "Đã tính những gì dịch vụ đã gửi hoặc bỏ qua ({}).",
                    state.db.display()
                ))?;
            }
            if stale > 0 {
                out.println(format_args!(
                    "Bỏ qua {stale} lời nhắc cũ hơn {} ngày (catch_up_days): không gửi bù.",
                    config.catch_up_days
                ))?;
            }
        }
        Format::Json => out.json(&digests)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// What a preview from now starts with: the service running (its next regular tick) or not
/// (a start now sends at once what is due, then the ticks).
fn intro(config: &Config, running: bool, now: DateTime<Tz>) -> String {
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
