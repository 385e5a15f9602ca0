//! `nhacviec retry`: deliveries waiting for a retry (and with `--dead`, the failed ones) put
//! back to be sent at once, beside a running service.

use super::args::now_in;
use super::output::Out;
use super::resolve;
use super::state::State;
use chrono::Utc;
use nhacviec::store::OutboxAdmin;
use nhacviec::{config, report};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        dead,
        agency,
        plan,
        now,
    } = args;
    // Filters resolve against the best-effort config, like `history`.
    let analysis = config::load(dir);
    let config = &analysis.config;
    let (agency, plan) = resolve::filters(config, agency.as_deref(), plan.as_deref())?;
    let state = State::of(dir, config)?;
    if !state.exists()? {
        out.println(format_args!(
            "Không có thư nào cần gửi lại (chưa có cơ sở dữ liệu {}).",
            state.db.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    // Beside a running service, as `zalo login`: one short transaction; the service sees the
    // commit (PRAGMA data_version) and sends at once.
    let store: &dyn OutboxAdmin = &state.side()?;
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
        store.counts()?.of(nhacviec::store::DeliveryStatus::Dead)
    };
    out.print(render(&done, dead, held, dead_left))?;
    Ok(ExitCode::SUCCESS)
}

/// What `retry` did, per status.
fn render(
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
                ".\nĐang ngoài giờ gửi ([schedule] send_hours): dịch vụ sẽ gửi lúc {} {}.\n",
                at.format("%H:%M"),
                nhacviec::dates::dmy(at.date())
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
