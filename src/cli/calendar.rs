//! `nhacviec calendar`: a year's holidays, days off in lieu and make-up working days.

use super::args::Format;
use super::output::Out;
use anyhow::bail;
use nhacviec::{config, report};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Năm, ví dụ 2022
    #[arg(long)]
    year: i32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(dir: &Path, Args { year, format }: Args, out: &Out) -> anyhow::Result<ExitCode> {
    if !(1900..=2100).contains(&year) {
        bail!("năm {year} nằm ngoài khoảng 1900–2100");
    }
    // The calendar needs only the settings; a broken plan should not hide it.
    let analysis = config::load(dir);
    let calendar = nhacviec::calendar::Calendar::new(analysis.config.calendar.clone(), year..=year);
    let warnings = nhacviec::check::unannounced_tet_in(&analysis.config, &calendar, year);
    let year = report::CalendarYear {
        year,
        announced: nhacviec::calendar::announced::announcement(year).is_some(),
        source: nhacviec::calendar::schedule_source(year),
        days: calendar.year(year),
        warnings: warnings.into_iter().collect(),
    };
    match format {
        Format::Text => out.print(report::render_calendar_text(&year))?,
        Format::Json => out.json(&year)?,
    }
    Ok(ExitCode::SUCCESS)
}
