//! `nhacviec responses`: the agencies' answers (done, progress, extension requests), with
//! their attached files.

use super::args::Format;
use super::output::Out;
use super::state::State;
use super::{dmy, resolve, shorten};
use nhacviec::answers::Response;
use nhacviec::config::{self, Config};
use nhacviec::evidence::Evidence;
use nhacviec::store::Answers;
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        agency,
        plan,
        pending,
        format,
    } = args;
    // Readable when the config has errors, like `history`.
    let analysis = config::load(dir);
    let config = &analysis.config;
    let (agency, plan) = resolve::filters(config, agency.as_deref(), plan.as_deref())?;
    let (rows, evidence) = match State::of(dir, config)?.reader()? {
        Some(store) => {
            let rows = Answers::responses(
                &store,
                &nhacviec::store::ResponseFilter {
                    agency: agency.as_deref(),
                    plan: plan.as_deref(),
                    pending_extensions: pending,
                },
            )?;
            (rows, store.evidence()?)
        }
        None => (Vec::new(), Default::default()),
    };
    match format {
        Format::Json => {
            /// A response with its attached file (`null` when none).
            #[derive(serde::Serialize)]
            struct WithEvidence<'a> {
                #[serde(flatten)]
                response: &'a Response,
                evidence: Option<&'a Evidence>,
            }
            let rows: Vec<WithEvidence<'_>> = rows
                .iter()
                .map(|r| WithEvidence {
                    response: r,
                    evidence: evidence.get(&r.id),
                })
                .collect();
            out.json(&rows)?
        }
        Format::Text => out.print(render(config, &rows, &evidence, pending))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `responses` as text: one line each, times in the config's zone.
fn render(
    config: &Config,
    rows: &[Response],
    evidence: &HashMap<i64, Evidence>,
    pending: bool,
) -> String {
    use nhacviec::text::printable;
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
            values.push(format!("tệp kèm: {}", printable(&e.label())));
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
            printable(&name(&r.agency)),
            printable(&r.plan),
            printable(&r.task),
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
