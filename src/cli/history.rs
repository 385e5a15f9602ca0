//! `nhacviec history`: what was sent, when, to whom, what failed; or the reminders the passes
//! skipped and why.

use super::args::{Format, HistoryStatus};
use super::output::Out;
use super::state::State;
use super::{dmy, resolve};
use nhacviec::config::{self, Config};
use nhacviec::report::{SkipReason, SkippedSlot};
use nhacviec::store::{Delivery, DeliveryStatus, Ledger, OutboxAdmin};
use nhacviec::text::printable;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
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
    #[arg(long, value_enum)]
    status: Option<HistoryStatus>,
    /// Chỉ những gì chế độ chạy thử ([email] redirect_all_to) đã gửi (đến địa chỉ thử)
    /// hoặc bỏ qua; mặc định: chỉ việc gửi thật
    #[arg(long)]
    trial: bool,
    /// Số dòng tối đa
    #[arg(long, default_value_t = 200)]
    limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        task,
        agency,
        plan,
        status,
        trial,
        limit,
        format,
    } = args;
    // What was sent stays readable when the config has errors: names resolve against the
    // best-effort config.
    let analysis = config::load(dir);
    let config = &analysis.config;
    let (agency, plan) = resolve::filters(config, agency.as_deref(), plan.as_deref())?;
    let state = State::of(dir, config)?;
    let Some(opened) = state.reader()? else {
        // No pass yet: nothing sent or skipped (the state directory is not created).
        match format {
            Format::Json => out.println("[]")?,
            Format::Text => out.println(format_args!(
                "Chưa có lần gửi nào: dịch vụ chưa chạy lần nào ({}).",
                state.db.display()
            ))?,
        }
        return Ok(ExitCode::SUCCESS);
    };
    // What the admin reads of the outbox, and nothing else.
    let store: &dyn OutboxAdmin = &opened;
    let ledger = if trial { Ledger::Trial } else { Ledger::Real };
    let Some(delivery_status) = status.map_or(Some(None), |s| s.delivery().map(Some)) else {
        let keep = |key: &str, _: Option<&str>, _: &str| {
            SkippedSlot::parse(key, SkipReason::Superseded, "").is_some_and(|s| {
                plan.as_ref().is_none_or(|p| *p == s.plan)
                    && task.as_ref().is_none_or(|t| *t == s.task)
                    && agency.as_ref().is_none_or(|a| *a == s.agency)
            })
        };
        // Every one the passes recorded, counted by reason (what `run --once` said), then the
        // newest `limit` listed.
        let all: Vec<SkippedSlot> = store
            .skipped_slots(ledger, usize::MAX, &keep)?
            .into_iter()
            .filter_map(|(key, reason, at)| {
                SkippedSlot::parse(&key, SkipReason::from_stored(reason.as_deref()), &at)
            })
            .collect();
        let rows = &all[..all.len().min(limit)];
        match format {
            Format::Json => out.json(&rows)?,
            Format::Text => out.print(render_skipped(config, rows, &all, trial))?,
        }
        return Ok(ExitCode::SUCCESS);
    };
    let rows = store.history_filtered(&nhacviec::store::HistoryFilter {
        plan: plan.as_deref(),
        task: task.as_deref(),
        agency: agency.as_deref(),
        status: delivery_status,
        limit,
        ledger,
    })?;
    match format {
        Format::Json => out.json(&rows)?,
        Format::Text => {
            out.print(render_history(config, &rows, delivery_status, trial))?;
            let trial_made = store.trial_deliveries()?;
            if !trial && trial_made > 0 {
                out.println(format_args!(
                    "Có {trial_made} thư gửi ở chế độ chạy thử (đến địa chỉ thử [email] redirect_all_to), không liệt kê ở đây: xem bằng `nhacviec history --trial`."
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A delivery's status as the admin reads it.
fn status_vi(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "chờ gửi",
        DeliveryStatus::Sent => "đã gửi",
        DeliveryStatus::Retrying => "đang thử lại",
        DeliveryStatus::Dead => "thất bại",
    }
}

/// `history` as text: times in the config's zone, the plan with every task.
fn render_history(
    config: &Config,
    rows: &[Delivery],
    status: Option<DeliveryStatus>,
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
        let when = d.sent_at.unwrap_or(d.created_at);
        out.push_str(&format!(
            "#{:<6} {:<13} {}  {} → {}\n        {}\n",
            d.id,
            status_vi(d.status),
            nhacviec::dates::local_instant(&when, tz),
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
        if let (Some(next), true) = (&d.next_attempt_at, d.status.is_waiting()) {
            if d.attempts > 0 {
                out.push_str(&format!(
                    "        thử lại lúc {}\n",
                    nhacviec::dates::local_instant(next, tz)
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
    config: &Config,
    rows: &[SkippedSlot],
    all: &[SkippedSlot],
    trial: bool,
) -> String {
    let horizon = format!("cũ hơn catch_up_days = {} ngày", config.catch_up_days);
    let reason_vi = |r: SkipReason| match r {
        SkipReason::Superseded => "bị thay bằng lời nhắc sau",
        SkipReason::Horizon => horizon.as_str(),
    };
    let name = |id: &str| printable(config.agency(id).map_or(id, |a| a.name.as_str())).into_owned();
    let mut out = String::new();
    for s in rows {
        let role = s.role.vi();
        let kind = s.kind_vi();
        let deadline = dmy(s.deadline);
        let about = if s.about != s.agency {
            format!("  [{}]", name(&s.about))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}  {} {:<6} {} ({}) {role:<9} {kind:<17} hạn {deadline}{about}\n        bỏ qua: {}\n",
            nhacviec::dates::local_time(&s.recorded_at, config.timezone),
            printable(&s.plan),
            printable(&s.task),
            name(&s.agency),
            printable(&s.agency),
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
        .filter(|s| s.reason == SkipReason::Superseded)
        .count();
    out.push_str(&format!(
        "Tổng cộng {} lời nhắc bị bỏ qua: {superseded} {}, {} {}.\n",
        all.len(),
        reason_vi(SkipReason::Superseded),
        all.len() - superseded,
        reason_vi(SkipReason::Horizon),
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
