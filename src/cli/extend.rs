//! `nhacviec extend`: an extension granted by the dashboard's rule (`extension::check`),
//! recorded with the message telling the agency beside a running service, which sends it.

use super::args::{date_arg, now_in};
use super::output::Out;
use super::state::State;
use super::{dmy, load_valid, resolve, Refused};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use nhacviec::config::{self, Config};
use nhacviec::extension;
use nhacviec::messages::{Decision, DecisionAbout};
use nhacviec::outbox;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
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
}

/// What `extend` was asked, parsed.
struct Request<'a> {
    agency: &'a str,
    task: &'a str,
    plan: Option<&'a str>,
    to: NaiveDate,
    from: Option<NaiveDate>,
    /// The decision's document (`--ref`).
    doc_ref: &'a str,
    now: DateTime<Tz>,
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let analysis = load_valid(dir, out)?;
    let request = Request {
        agency: &args.agency,
        task: &args.task,
        plan: args.plan.as_deref(),
        to: date_arg("--to", &args.to)?,
        from: args
            .from
            .as_deref()
            .map(|f| date_arg("--from", f))
            .transpose()?,
        doc_ref: &args.doc_ref,
        now: now_in(analysis.config.timezone, args.now.as_deref())?,
    };
    let said = extend(dir, &analysis.config, &request, out)?;
    out.print(said)?;
    Ok(ExitCode::SUCCESS)
}

/// Checks the request against the config and the answers so far, records the grant and the
/// message telling the agency, and says what moved.
fn extend(dir: &Path, config: &Config, req: &Request<'_>, out: &Out) -> anyhow::Result<String> {
    let refused = |msg: String| anyhow::Error::from(Refused(msg));
    let agency = resolve::agency(config, req.agency)?;
    let agency_name = config.agency_name(&agency);
    let plan_filter = req.plan.map(|p| resolve::plan(config, p)).transpose()?;
    let plan = match extension::plans_with_task(config, plan_filter.as_deref(), req.task)[..] {
        [] => {
            return Err(refused(match &plan_filter {
                Some(p) => format!("kế hoạch {p} không có nhiệm vụ \"{}\"", req.task),
                None => format!("không kế hoạch nào có nhiệm vụ \"{}\"", req.task),
            }))
        }
        [one] => one,
        ref many => {
            let numbers: Vec<&str> = many.iter().map(|p| p.number.as_str()).collect();
            return Err(refused(format!(
                "nhiệm vụ {} có trong {} kế hoạch: {}; chọn một bằng --plan",
                req.task,
                numbers.len(),
                numbers.join(", ")
            )));
        }
    };
    let state = State::of(dir, config)?;
    let (responses, extensions) = state.answers()?;
    let answered = nhacviec::answers::overlaid(config, &responses, &extensions);
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
    let request = extension::request_answered(&responses, &grant);
    let now = req.now.with_timezone(&Utc);
    // The agency is told as the dashboard tells it: the same message, its page linked.
    let link =
        match nhacviec::web::links_for(config) {
            Ok(signer) => config.web.as_ref().zip(signer).map(|(w, s)| {
                nhacviec::links::Url::Agency(&s.sign(&agency, now)).at(&w.public_url)
            }),
            Err(e) => {
                out.eprintln(format_args!(
                    "cảnh báo: thư báo cơ quan không kèm liên kết đến trang của cơ quan: {e:#}"
                ))?;
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
    let messages = match nhacviec::messages::decision(config, about, &decision, link.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            out.eprintln(format_args!(
                "cảnh báo: không soạn được thư báo cơ quan: {e}"
            ))?;
            Vec::new()
        }
    };

    state.create()?;
    // Beside a running service: one short transaction; the service sees the answers change,
    // rebuilds its schedule and sends the message.
    state.side()?.grant_extension_and_tell(
        &grant,
        &messages,
        &outbox::domain_of(&config.email.from),
        now,
    )?;
    let mut said = format!(
        "Đã gia hạn nhiệm vụ {} (KH {}) cho {agency_name}: hạn {} → {}",
        grant.task,
        grant.plan,
        dmy(grant.before),
        dmy(grant.to)
    );
    if grant.before != grant.from {
        said.push_str(&format!(" (hạn theo kế hoạch: {})", dmy(grant.from)));
    }
    said.push_str(&format!(
        " ({}). Lời nhắc sẽ được tính lại ở lần chạy tới.\n",
        grant.doc_ref
    ));
    if let Some(asked) = request {
        said.push_str(&format!(
            "Đề nghị gia hạn của {agency_name} ngày {} đã được ghi là đã giải quyết.\n",
            dmy(asked
                .created_at
                .with_timezone(&config.timezone)
                .date_naive())
        ));
    }
    said.push_str(&match messages.first().map(|m| m.channel) {
        Some(channel) => format!(
            "Đã báo {agency_name} qua {}: thư được gửi ở lần gửi tới của dịch vụ (xem bằng nhacviec history --agency {agency}).\n",
            channel_vi(channel)
        ),
        None => format!(
            "Không báo được {agency_name} qua email, Zalo OA hay webhook: vui lòng báo bằng điện thoại hoặc văn bản.\n"
        ),
    });
    Ok(said)
}

/// A channel's name as the messages say it.
fn channel_vi(channel: config::Channel) -> &'static str {
    match channel {
        config::Channel::Email => "email",
        config::Channel::Zalo => "Zalo OA",
        config::Channel::Webhook => "webhook",
    }
}
