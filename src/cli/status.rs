//! `nhacviec status`: each task's deadline and state per agency, and the totals the
//! dashboard, the workbook and the weekly report give for the same date.

use super::args::{now_in, Format};
use super::output::Out;
use super::state::State;
use super::{load_valid, resolve};
use chrono::NaiveDate;
use nhacviec::answers::{self, Response};
use nhacviec::report;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        now,
        agency,
        plan,
        totals: totals_only,
        format,
    } = args;
    let analysis = load_valid(dir, out)?;
    let today = now_in(analysis.config.timezone, now.as_deref())?.date_naive();
    // The agencies' reports and the extensions laid over, as they stood that day (what the
    // dashboard and `export` show for the same date).
    let (mut responses, extensions) = State::of(dir, &analysis.config)?.answers()?;
    let answered =
        nhacviec::overview::answered_as_of(&analysis.config, &responses, &extensions, today);
    let config = &answered;
    let tz = config.timezone;
    responses.retain(|r| r.created_at.with_timezone(&tz).date_naive() <= today);
    let (agency, plan) = resolve::filters(config, agency.as_deref(), plan.as_deref())?;
    let mut rows = report::status(config, today, agency.as_deref());
    if let Some(plan) = &plan {
        rows.retain(|r| r.plan == *plan);
    }
    // The totals are the overview's, as the dashboard, the workbook and the weekly report
    // count: lead assignments, the coordinators' rows apart.
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
            out.print(report::render_status_text(config, &[], today, &totals))?
        }
        Format::Text => out.print(report::render_status_text(config, &rows, today, &totals))?,
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
            out.json(&Totals {
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
                    latest_response: answers::latest_about(
                        &responses,
                        &row.agency,
                        &row.plan,
                        &row.task,
                        row.occurrence,
                    ),
                })
                .collect();
            out.json(&rows)?
        }
    }
    Ok(ExitCode::SUCCESS)
}
