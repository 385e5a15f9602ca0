//! The monitoring office's workbook (.xlsx, rust_xlsxwriter) and its CSV: what
//! `nhacviec export`, the dashboard's download and the weekly report's attachment carry. Pure:
//! an [`Overview`] in, bytes out (the caller writes the file).
//!
//! Sheets: "Tổng hợp" (per plan, then per agency), then one per plan with every task × agency
//! row. Vietnamese headers, dates as Excel dates shown dd/mm/yyyy, header row frozen, filters
//! on, columns sized. Every sheet prints on landscape A4, one page wide, its title row (the
//! plan, or "Tổng hợp", and the as-of date) and header row repeated on each page, "Trang n/N"
//! in the footer.

use crate::config::Config;
use crate::overview::{Counts, Overview, Row};
use crate::schedule::natural_key;
use chrono::NaiveDate;
use rust_xlsxwriter::{Color, Format, FormatAlign, Workbook, Worksheet, XlsxError};

#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error("không tạo được tệp Excel: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("không tạo được tệp CSV: {0}")]
    Csv(String),
}

/// The media type of an .xlsx file.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The file name of the figures as of `as_of`, with extension `ext` ("xlsx", "csv"): the
/// same for the export, the dashboard's download and the weekly report's attachment.
pub fn file_name(as_of: NaiveDate, ext: &str) -> String {
    format!("tinh-hinh-{as_of}.{ext}")
}

/// The task × agency columns, in order, with their widths. "Hạn" is the deadline the state
/// is about (after any extension); the next four say where the plan put it and the decision
/// that moved it (empty when no extension did).
const ROW_COLUMNS: [(&str, f64); 19] = [
    ("Kế hoạch", 16.0),
    ("Số TT", 7.0),
    ("Nhiệm vụ", 48.0),
    ("Cơ quan", 30.0),
    ("Vai trò", 10.0),
    ("Thời gian (theo kế hoạch)", 28.0),
    ("Hạn", 12.0),
    ("Hạn theo kế hoạch", 12.0),
    ("Hạn đã gia hạn", 12.0),
    ("Văn bản gia hạn", 26.0),
    ("Ngày quyết định", 12.0),
    ("Trạng thái", 24.0),
    ("Số ngày quá hạn", 9.0),
    ("Ngày hoàn thành", 12.0),
    ("Số văn bản báo cáo", 22.0),
    ("Trả lời gần nhất", 36.0),
    ("Ngày trả lời", 12.0),
    ("Lần nhắc gần nhất", 12.0),
    ("Xác nhận hoàn thành", 14.0),
];

/// The state columns of the summaries, in the order the Government office reports them.
const COUNT_HEADERS: [&str; 8] = [
    "Hoàn thành đúng hạn",
    "Hoàn thành quá hạn",
    "Chưa hoàn thành, trong hạn",
    "Chưa hoàn thành, quá hạn",
    "Chưa đến hạn",
    "Không có hạn",
    "Chưa xong khi KH kết thúc",
    "Tỷ lệ đúng hạn",
];

fn count_values(c: &Counts) -> [usize; 7] {
    [
        c.done_on_time,
        c.done_late,
        c.open,
        c.overdue,
        c.not_due,
        c.undated,
        c.closed,
    ]
}

/// "Trả lời gần nhất" as one line: "Đề nghị gia hạn: chờ văn bản của Sở".
pub fn answer_text(row: &Row) -> String {
    row.latest_response.as_ref().map_or_else(String::new, |a| {
        let mut s = capitalise(a.action.vi());
        if !a.occurrence.is_empty() {
            s.push_str(&format!(" ({})", a.occurrence));
        }
        if !a.who.is_empty() {
            s.push_str(&format!(", {}", a.who));
        }
        if let Some(p) = a.percent {
            s.push_str(&format!(" ({p}%)"));
        }
        if let Some(n) = a.note.as_deref().filter(|n| !n.trim().is_empty()) {
            s.push_str(": ");
            s.push_str(n.trim());
        }
        s
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique in the book.
fn sheet_name(plan: &str, taken: &mut Vec<String>) -> String {
    let clean: String = plan
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .collect();
    let clean = clean.trim_matches('\'').trim();
    let base: String = format!("KH {clean}").chars().take(31).collect();
    let mut name = base.clone();
    let mut n = 2;
    while taken
        .iter()
        .any(|t| t.to_lowercase() == name.to_lowercase())
    {
        let suffix = format!(" ({n})");
        let keep = 31 - suffix.chars().count();
        name = base.chars().take(keep).collect::<String>() + &suffix;
        n += 1;
    }
    taken.push(name.clone());
    name
}

struct Formats {
    title: Format,
    header: Format,
    date: Format,
    wrap: Format,
    percent: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Top)
                .set_background_color(Color::RGB(0xDCE6F1)),
            date: Format::new().set_num_format("dd/mm/yyyy"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            percent: Format::new().set_num_format("0.0%"),
        }
    }
}

/// The print setup of every sheet: landscape A4, one page wide (as many long as it takes),
/// rows `first..=last` repeated at the top of each page, the page number in the footer.
fn print_setup(ws: &mut Worksheet, first: u32, last: u32) -> Result<(), XlsxError> {
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(first, last)?;
    ws.set_footer("&CTrang &P/&N");
    Ok(())
}

/// A plan sheet's title row: the plan and the date of the figures.
pub fn plan_title(citation: &str, as_of: NaiveDate) -> String {
    format!(
        "Tình hình thực hiện {citation} đến ngày {}",
        crate::dates::dmy(as_of)
    )
}

fn headers(ws: &mut Worksheet, row: u32, names: &[&str], f: &Formats) -> Result<(), XlsxError> {
    for (col, name) in names.iter().enumerate() {
        ws.write_string_with_format(row, col as u16, *name, &f.header)?;
    }
    Ok(())
}

fn date(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    d: Option<NaiveDate>,
    f: &Formats,
) -> Result<(), XlsxError> {
    if let Some(d) = d {
        ws.write_datetime_with_format(row, col, d, &f.date)?;
    }
    Ok(())
}

/// The workbook of `overview`.
pub fn xlsx(config: &Config, overview: &Overview) -> Result<Vec<u8>, WorkbookError> {
    let f = Formats::new();
    let mut book = Workbook::new();
    let tz = config.timezone;

    // Summary: per plan, then per agency.
    let ws = book.add_worksheet();
    ws.set_name("Tổng hợp")?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "Tổng hợp tình hình thực hiện kế hoạch đến ngày {}",
            crate::dates::dmy(overview.as_of)
        ),
        &f.title,
    )?;
    ws.write_string(
        1,
        0,
        "Số liệu tính theo nhiệm vụ của cơ quan chủ trì (một nhiệm vụ có hai cơ quan chủ trì tính hai lần). Tỷ lệ đúng hạn = hoàn thành đúng hạn / (hoàn thành + quá hạn). Chưa hoàn thành, trong hạn: đã đến lúc nhắc (hạn trong số ngày nhắc trước của nhiệm vụ); chưa đến hạn: hạn còn xa hơn lần nhắc đầu tiên; không có hạn: thường xuyên, khi có yêu cầu.",
    )?;
    let mut r = 3u32;
    let plan_head: Vec<&str> = ["Kế hoạch", "Ngày ban hành", "Số nhiệm vụ", "Tổng lượt giao"]
        .into_iter()
        .chain(COUNT_HEADERS)
        .chain(["Đã xác nhận hoàn thành"])
        .collect();
    headers(ws, r, &plan_head, &f)?;
    for p in &overview.plans {
        r += 1;
        ws.write_string_with_format(r, 0, &p.citation, &f.wrap)?;
        date(ws, r, 1, Some(p.issued), &f)?;
        ws.write_number(r, 2, p.tasks as f64)?;
        ws.write_number(r, 3, p.counts.total() as f64)?;
        write_counts(ws, r, 4, &p.counts, &f)?;
        ws.write_number(r, 12, p.counts.confirmed as f64)?;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "Tổng cộng", &f.header)?;
    ws.write_number(r, 3, overview.totals.total() as f64)?;
    write_counts(ws, r, 4, &overview.totals, &f)?;
    ws.write_number(r, 12, overview.totals.confirmed as f64)?;

    r += 3;
    let agency_head: Vec<&str> = ["Cơ quan", "Chủ trì", "Phối hợp"]
        .into_iter()
        .chain(COUNT_HEADERS)
        .chain(["Trả lời gần nhất", "Ngày trả lời"])
        .collect();
    let first = r;
    headers(ws, r, &agency_head, &f)?;
    for a in &overview.agencies {
        r += 1;
        ws.write_string(r, 0, &a.name)?;
        ws.write_number(r, 1, a.lead as f64)?;
        ws.write_number(r, 2, a.support as f64)?;
        write_counts(ws, r, 3, &a.counts, &f)?;
        if let Some(l) = &a.latest_response {
            ws.write_string(
                r,
                11,
                format!(
                    "{} nhiệm vụ {} ({})",
                    capitalise(l.action.vi()),
                    l.task,
                    l.plan
                ),
            )?;
            date(ws, r, 12, Some(l.at.with_timezone(&tz).date_naive()), &f)?;
        }
    }
    if r > first {
        ws.autofilter(first, 0, r, (agency_head.len() - 1) as u16)?;
    }
    ws.set_column_width(0, 48)?;
    for c in 1..agency_head.len() as u16 {
        ws.set_column_width(c, 13)?;
    }
    ws.set_column_width(11, 36)?;
    ws.set_row_height(3, 45)?;
    ws.set_row_height(first, 45)?;
    print_setup(ws, 0, 0)?;

    // One sheet per plan.
    let mut taken = vec!["Tổng hợp".to_string()];
    for p in &overview.plans {
        let ws = book.add_worksheet();
        ws.set_name(sheet_name(&p.plan, &mut taken))?;
        let names: Vec<&str> = ROW_COLUMNS.iter().map(|(n, _)| *n).collect();
        ws.write_string_with_format(0, 0, plan_title(&p.citation, overview.as_of), &f.title)?;
        headers(ws, 1, &names, &f)?;
        let mut r = 1u32;
        // In the plan's order: leaders read it beside the plan; the filter sorts by state.
        let mut rows: Vec<&Row> = overview
            .rows
            .iter()
            .filter(|x| x.status.plan == p.plan)
            .collect();
        rows.sort_by(|a, b| {
            (natural_key(&a.status.task), a.status.role, &a.agency_name).cmp(&(
                natural_key(&b.status.task),
                b.status.role,
                &b.agency_name,
            ))
        });
        for row in rows {
            r += 1;
            write_row(ws, r, row, tz, &f)?;
        }
        for (c, (_, w)) in ROW_COLUMNS.iter().enumerate() {
            ws.set_column_width(c as u16, *w)?;
        }
        ws.set_row_height(1, 30)?;
        ws.set_freeze_panes(2, 0)?;
        ws.autofilter(1, 0, r.max(2), (ROW_COLUMNS.len() - 1) as u16)?;
        print_setup(ws, 0, 1)?;
    }
    Ok(book.save_to_buffer()?)
}

fn write_counts(
    ws: &mut Worksheet,
    r: u32,
    col: u16,
    c: &Counts,
    f: &Formats,
) -> Result<(), XlsxError> {
    for (i, v) in count_values(c).iter().enumerate() {
        ws.write_number(r, col + i as u16, *v as f64)?;
    }
    if let Some(rate) = c.on_time_rate() {
        ws.write_number_with_format(r, col + 7, rate, &f.percent)?;
    }
    Ok(())
}

fn write_row(
    ws: &mut Worksheet,
    r: u32,
    row: &Row,
    tz: chrono_tz::Tz,
    f: &Formats,
) -> Result<(), XlsxError> {
    let s = &row.status;
    ws.write_string(r, 0, &s.plan)?;
    ws.write_string(r, 1, &s.task)?;
    ws.write_string(r, 2, &row.title)?;
    ws.write_string(r, 3, &row.agency_name)?;
    ws.write_string(r, 4, s.role.vi())?;
    ws.write_string(r, 5, &row.time_text)?;
    date(ws, r, 6, s.deadline, f)?;
    date(ws, r, 7, planned_deadline(row), f)?;
    if let Some(e) = &row.extension {
        date(ws, r, 8, Some(e.to), f)?;
        if let Some(doc) = &e.doc_ref {
            ws.write_string(r, 9, doc)?;
        }
        date(ws, r, 10, Some(e.decided_on), f)?;
    }
    ws.write_string(r, 11, s.state.vi())?;
    if let Some(d) = row.days_overdue {
        ws.write_number(r, 12, d as f64)?;
    }
    date(ws, r, 13, s.done, f)?;
    if let Some(d) = &row.doc_ref {
        ws.write_string(r, 14, d)?;
    }
    let answer = answer_text(row);
    if !answer.is_empty() {
        ws.write_string(r, 15, &answer)?;
    }
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).date_naive();
    date(
        ws,
        r,
        16,
        row.latest_response.as_ref().map(|a| local(a.at)),
        f,
    )?;
    date(ws, r, 17, row.last_reminder.map(local), f)?;
    let confirmation = confirmation_text(row);
    if !confirmation.is_empty() {
        ws.write_string(r, 18, confirmation)?;
    }
    Ok(())
}

/// Whether the monitoring office confirmed a done row ("" for a row not done).
fn confirmation_text(row: &Row) -> &'static str {
    match (row.status.done, row.confirmed) {
        (None, _) => "",
        (Some(_), true) => "đã xác nhận",
        (Some(_), false) => "chờ xác nhận",
    }
}

/// The row's deadline as the plan gives it: before the extension that moved it, if any.
fn planned_deadline(row: &Row) -> Option<NaiveDate> {
    row.extension
        .as_ref()
        .map(|e| e.planned)
        .or(row.status.deadline)
}

/// A text cell as a spreadsheet will read it as text: one starting with what Excel or
/// LibreOffice take for a formula ("=", "+", "-", "@", a tab or a return) gets a leading
/// apostrophe. Agencies type the answers and report numbers that land here; a CSV opened by
/// double-click must not run them. (The .xlsx stores strings as strings: no need there.)
fn inert(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// Every task × agency row as CSV (UTF-8 with a byte-order mark, so Excel reads the
/// diacritics), the workbook's columns, dates dd/mm/yyyy. Every cell is quoted (RFC 4180, CRLF
/// lines): Vietnamese Windows lists with `;`, which the csv crate would leave unquoted, and a
/// cell split there could start a formula.
pub fn csv(config: &Config, overview: &Overview) -> Result<Vec<u8>, WorkbookError> {
    let tz = config.timezone;
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let err = |e: csv::Error| WorkbookError::Csv(e.to_string());
    w.write_record(ROW_COLUMNS.iter().map(|(n, _)| *n))
        .map_err(err)?;
    let dmy = |d: Option<NaiveDate>| d.map(crate::dates::dmy).unwrap_or_default();
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).date_naive();
    for row in &overview.rows {
        let s = &row.status;
        w.write_record([
            inert(&s.plan),
            inert(&s.task),
            inert(&row.title),
            inert(&row.agency_name),
            s.role.vi().to_string(),
            inert(&row.time_text),
            dmy(s.deadline),
            dmy(planned_deadline(row)),
            dmy(row.extension.as_ref().map(|e| e.to)),
            inert(
                row.extension
                    .as_ref()
                    .and_then(|e| e.doc_ref.as_deref())
                    .unwrap_or_default(),
            ),
            dmy(row.extension.as_ref().map(|e| e.decided_on)),
            s.state.vi().to_string(),
            row.days_overdue.map(|d| d.to_string()).unwrap_or_default(),
            dmy(s.done),
            inert(row.doc_ref.as_deref().unwrap_or_default()),
            inert(&answer_text(row)),
            dmy(row.latest_response.as_ref().map(|a| local(a.at))),
            dmy(row.last_reminder.map(local)),
            confirmation_text(row).to_string(),
        ])
        .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| WorkbookError::Csv(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_cell_that_reads_as_a_formula_is_kept_as_text() {
        assert_eq!(
            inert("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(inert("+1"), "'+1");
        assert_eq!(inert("-2+3"), "'-2+3");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("\t=1"), "'\t=1");
        assert_eq!(inert("Báo cáo số 12/BC-SNV"), "Báo cáo số 12/BC-SNV");
        assert_eq!(inert(""), "");
    }

    #[test]
    fn sheet_names_are_what_excel_accepts_and_unique() {
        let mut taken = vec!["Tổng hợp".to_string()];
        assert_eq!(sheet_name("50/KH-UBND", &mut taken), "KH 50-KH-UBND");
        assert_eq!(sheet_name("50:KH-UBND", &mut taken), "KH 50-KH-UBND (2)");
        let long = sheet_name(&"x".repeat(60), &mut taken);
        assert_eq!(long.chars().count(), 31);
        let again = sheet_name(&"x".repeat(60), &mut taken);
        assert!(
            again.ends_with(" (2)") && again.chars().count() == 31,
            "{again}"
        );
    }
}
