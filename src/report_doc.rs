//! The report the Chánh Văn phòng signs: "Báo cáo tình hình thực hiện Kế hoạch số …" as a .docx
//! in the administrative format of Nghị định 30/2020/NĐ-CP (Phụ lục I), built from an
//! [`Overview`] (the dashboard's figures) and the answers of the period. Pure: bytes out.
//! The reporting period of Nghị định 09/2019/NĐ-CP (data from the 15th of the month before the
//! period to the 14th of its last month) is [`period`].

use crate::answers::{Action, Extension, Response};
use crate::config::Config;
use crate::dates::dmy;
use crate::overview::{Counts, Overview, Row};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use docx_rs::{
    AlignmentType, BorderType, Docx, PageMargin, PageOrientationType, Paragraph, ParagraphBorder,
    ParagraphBorderPosition, ParagraphBorders, Run, RunFonts, Section, Table, TableCell, TableRow,
    WidthType,
};

/// Body text size: 14 pt (half-points).
const SIZE: usize = 28;
/// Tables and the recipients: 12 pt / 11 pt.
const SMALL: usize = 24;
const TINY: usize = 22;
const FONT: &str = "Times New Roman";
/// A4 in twips, and the margins (top and bottom 20 mm, left 30 mm, right 20 mm).
const A4_W: u32 = 11906;
const A4_H: u32 = 16838;
const MM20: i32 = 1134;
const MM30: i32 = 1701;
/// The text width of a portrait page: 210 − 30 − 20 mm.
const TEXT_W: usize = 9071;
/// The text width of a landscape page: 297 − 30 − 20 mm.
const TEXT_W_LANDSCAPE: usize = 14003;

/// The reporting periods of Nghị định 09/2019/NĐ-CP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ky {
    Month,
    Quarter,
    Half,
    Year,
}

impl Ky {
    /// `thang`, `quy`, `6thang`, `nam` (the CLI's words).
    pub fn parse(s: &str) -> Option<Ky> {
        match s.trim() {
            "thang" | "tháng" => Some(Ky::Month),
            "quy" | "quý" => Some(Ky::Quarter),
            "6thang" | "6tháng" => Some(Ky::Half),
            "nam" | "năm" => Some(Ky::Year),
            _ => None,
        }
    }
}

/// The dates the figures cover, and how the document names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// "tháng 6 năm 2022", "quý II năm 2022", "6 tháng đầu năm 2022", "năm 2022", or
    /// "từ ngày 01/06/2022 đến ngày 30/06/2022".
    pub label: String,
}

impl Period {
    /// A period given by its two dates.
    pub fn between(from: NaiveDate, to: NaiveDate) -> Period {
        Period {
            from,
            to,
            label: format!("từ ngày {} đến ngày {}", dmy(from), dmy(to)),
        }
    }
}

fn day(year: i32, month: u32, d: u32) -> NaiveDate {
    // Months 1–12 and days 14–15 always exist; the fallback is never taken.
    NaiveDate::from_ymd_opt(year, month, d).unwrap_or(NaiveDate::MIN)
}

/// The 15th of the month before `month` of `year` (December of the year before for January).
fn fifteenth_before(year: i32, month: u32) -> NaiveDate {
    if month == 1 {
        day(year - 1, 12, 15)
    } else {
        day(year, month - 1, 15)
    }
}

/// The period of kind `ky` that the month of `d` belongs to, as Nghị định 09/2019/NĐ-CP
/// (Điều 12) sets its data: from the 15th of the month before the period to the 14th of its
/// last month.
pub fn period(ky: Ky, d: NaiveDate) -> Period {
    let (y, m) = (d.year(), d.month());
    let (first, last, label) = match ky {
        Ky::Month => (m, m, format!("tháng {m} năm {y}")),
        Ky::Quarter => {
            let q = (m - 1) / 3 + 1;
            let roman = ["I", "II", "III", "IV"][(q - 1) as usize];
            (3 * q - 2, 3 * q, format!("quý {roman} năm {y}"))
        }
        Ky::Half if m <= 6 => (1, 6, format!("6 tháng đầu năm {y}")),
        Ky::Half => (7, 12, format!("6 tháng cuối năm {y}")),
        Ky::Year => (1, 12, format!("năm {y}")),
    };
    Period {
        from: fifteenth_before(y, first),
        to: day(y, last, 14),
        label,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportDocError {
    #[error("không tạo được tệp .docx: {0}")]
    Pack(String),
}

/// What the document is made of.
pub struct Input<'a> {
    /// The config as written (names, plans, `[report]`).
    pub config: &'a Config,
    /// The figures as of the period's end (`overview::compute_as_of`).
    pub overview: &'a Overview,
    pub period: Period,
    /// Every response and grant; those recorded in the period are listed.
    pub responses: &'a [Response],
    pub extensions: &'a [Extension],
}

fn run(text: &str) -> Run {
    Run::new()
        .add_text(text)
        .fonts(
            RunFonts::new()
                .ascii(FONT)
                .hi_ansi(FONT)
                .east_asia(FONT)
                .cs(FONT),
        )
        .size(SIZE)
}

fn para(text: &str) -> Paragraph {
    Paragraph::new().add_run(run(text))
}

fn centered(text: &str, size: usize, bold: bool) -> Paragraph {
    let mut r = run(text).size(size);
    if bold {
        r = r.bold();
    }
    Paragraph::new().add_run(r).align(AlignmentType::Center)
}

/// A body paragraph: justified, first line indented 1 cm.
fn body(text: &str) -> Paragraph {
    para(text).align(AlignmentType::Both).indent(
        None,
        Some(docx_rs::SpecialIndentType::FirstLine(567)),
        None,
        None,
    )
}

fn heading(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).bold())
        .align(AlignmentType::Both)
        .indent(
            None,
            Some(docx_rs::SpecialIndentType::FirstLine(567)),
            None,
            None,
        )
}

/// A short horizontal rule: an empty paragraph with a bottom border, indented from both sides.
fn rule(indent: i32) -> Paragraph {
    let mut p =
        Paragraph::new()
            .add_run(run("").size(4))
            .indent(Some(indent), None, Some(indent), None);
    p.property = p.property.set_borders(
        ParagraphBorders::with_empty().set(
            ParagraphBorder::new(ParagraphBorderPosition::Bottom)
                .val(BorderType::Single)
                .size(6)
                .space(1),
        ),
    );
    p
}

fn cell(text: &str, width: usize, bold: bool) -> TableCell {
    let mut r = run(text).size(SMALL);
    if bold {
        r = r.bold();
    }
    TableCell::new()
        .add_paragraph(Paragraph::new().add_run(r))
        .width(width, WidthType::Dxa)
}

fn table(head: &[&str], widths: &[usize], rows: Vec<Vec<String>>) -> Table {
    let mut out = vec![TableRow::new(
        head.iter()
            .zip(widths)
            .map(|(h, w)| cell(h, *w, true))
            .collect(),
    )];
    for r in rows {
        out.push(TableRow::new(
            r.iter()
                .zip(widths)
                .map(|(t, w)| cell(t, *w, false))
                .collect(),
        ));
    }
    Table::new(out).set_grid(widths.to_vec())
}

fn local(at: DateTime<Utc>, config: &Config) -> NaiveDate {
    at.with_timezone(&config.timezone).date_naive()
}

fn in_period(at: DateTime<Utc>, input: &Input<'_>) -> bool {
    let d = local(at, input.config);
    input.period.from <= d && d <= input.period.to
}

fn agency_name(config: &Config, id: &str) -> String {
    config
        .agency(id)
        .map_or_else(|| id.to_string(), |a| a.name.clone())
}

fn task_title(config: &Config, plan: &str, task: &str) -> String {
    config
        .task(plan, task)
        .map_or_else(|| task.to_string(), |t| t.title.clone())
}

/// The figures of `counts` in a sentence.
pub fn counts_sentence(counts: &Counts) -> String {
    format!(
        "{} lượt giao cơ quan chủ trì; đã hoàn thành {} (đúng hạn {}, trễ hạn {}); chưa hoàn thành {} (trong hạn {}, quá hạn {}); chưa đến hạn {}; không có hạn {}; tỷ lệ hoàn thành đúng hạn {}.",
        counts.total(),
        counts.done(),
        counts.done_on_time,
        counts.done_late,
        counts.open + counts.overdue,
        counts.open,
        counts.overdue,
        counts.not_due,
        counts.undated,
        counts.on_time_vi()
    )
}

fn header(config: &Config) -> Table {
    let r = &config.report_doc;
    let or_dots = |s: &str| {
        if s.is_empty() {
            "……………".to_string()
        } else {
            s.to_string()
        }
    };
    let left_w = 3628;
    let right_w = TEXT_W - left_w;
    let left = TableCell::new()
        .add_paragraph(centered(&or_dots(&r.issuer[0]), 26, false))
        .add_paragraph(centered(&or_dots(&r.issuer[1]), 26, true))
        .add_paragraph(rule(1100))
        .add_paragraph(Paragraph::new())
        .add_paragraph(centered(
            &format!("Số:        /{}", or_dots(&r.number_prefix)),
            26,
            false,
        ))
        .width(left_w, WidthType::Dxa);
    let right = TableCell::new()
        .add_paragraph(centered("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 24, true))
        .add_paragraph(centered("Độc lập - Tự do - Hạnh phúc", SIZE, true))
        .add_paragraph(rule(1250))
        .add_paragraph(Paragraph::new())
        .add_paragraph(
            Paragraph::new()
                .add_run(
                    run(&format!(
                        "{}, ngày      tháng      năm 20   ",
                        or_dots(&r.place)
                    ))
                    .italic(),
                )
                .align(AlignmentType::Center),
        )
        .width(right_w, WidthType::Dxa);
    Table::without_borders(vec![TableRow::new(vec![left, right])])
        .set_grid(vec![left_w, right_w])
        .width(TEXT_W, WidthType::Dxa)
}

fn signature(config: &Config) -> Table {
    let r = &config.report_doc;
    let left_w = 4535;
    let right_w = TEXT_W - left_w;
    let mut left = TableCell::new()
        .add_paragraph(Paragraph::new().add_run(run("Nơi nhận:").size(SMALL).bold().italic()));
    for rec in &r.recipients {
        left = left.add_paragraph(para(&format!("- {rec};")).size(TINY));
    }
    left = left
        .add_paragraph(Paragraph::new().add_run(run("- Lưu: VT.").size(TINY)))
        .width(left_w, WidthType::Dxa);
    let mut right = TableCell::new();
    if r.signer_title.is_empty() {
        right = right.add_paragraph(centered("……………", SIZE, true));
    }
    for t in &r.signer_title {
        right = right.add_paragraph(centered(t, SIZE, true));
    }
    for _ in 0..4 {
        right = right.add_paragraph(Paragraph::new());
    }
    right = right
        .add_paragraph(centered("……………………", SIZE, true))
        .width(right_w, WidthType::Dxa);
    Table::without_borders(vec![TableRow::new(vec![left, right])])
        .set_grid(vec![left_w, right_w])
        .width(TEXT_W, WidthType::Dxa)
}

fn subject(input: &Input<'_>) -> String {
    let config = input.config;
    let plans: Vec<&crate::config::Plan> = input
        .overview
        .plans
        .iter()
        .filter_map(|p| config.plan(&p.plan))
        .collect();
    match plans.as_slice() {
        [one] => format!(
            "Tình hình thực hiện {} ({})",
            crate::answers::citation(one),
            input.period.label
        ),
        _ => format!(
            "Tình hình thực hiện các kế hoạch được theo dõi ({})",
            input.period.label
        ),
    }
}

fn completions<'a>(input: &Input<'a>) -> Vec<&'a Response> {
    let plans: Vec<&str> = input
        .overview
        .plans
        .iter()
        .map(|p| p.plan.as_str())
        .collect();
    let mut out: Vec<&Response> = input
        .responses
        .iter()
        .filter(|r| {
            r.action == Action::Done
                && r.undone_at.is_none()
                && plans.contains(&r.plan.as_str())
                && in_period(r.created_at, input)
        })
        .collect();
    out.sort_by_key(|r| (r.created_at, r.id));
    out
}

fn review_vi(r: &Response, config: &Config) -> String {
    match &r.review {
        Some(v) if v.confirmed => format!("Đã xác nhận ngày {}", dmy(local(v.at, config))),
        Some(v) => format!(
            "Trả lại ngày {}{}",
            dmy(local(v.at, config)),
            v.reason
                .as_deref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        ),
        None => "Chưa xác nhận".to_string(),
    }
}

/// Overdue lead rows grouped by agency (agencies by name), each group oldest deadline first.
fn overdue_by_agency(overview: &Overview) -> Vec<(&str, Vec<&Row>)> {
    let mut rows = overview.overdue();
    rows.sort_by(|a, b| {
        (a.agency_name.as_str(), a.status.deadline)
            .cmp(&(b.agency_name.as_str(), b.status.deadline))
    });
    let mut out: Vec<(&str, Vec<&Row>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((name, group)) if *name == r.agency_name => group.push(r),
            _ => out.push((&r.agency_name, vec![r])),
        }
    }
    out
}

/// The document's bytes.
pub fn docx(input: &Input<'_>) -> Result<Vec<u8>, ReportDocError> {
    let config = input.config;
    let overview = input.overview;
    let mut s = Section::new()
        .page_size(docx_rs::PageSize::new().size(A4_W, A4_H))
        .page_margin(margins());
    s = s
        .add_table(header(config))
        .add_paragraph(Paragraph::new())
        .add_paragraph(centered("BÁO CÁO", SIZE, true))
        .add_paragraph(centered(&subject(input), SIZE, true))
        .add_paragraph(rule(3000))
        .add_paragraph(
            Paragraph::new()
                .add_run(
                    run(&format!(
                        "Thời gian chốt số liệu: từ ngày {} đến ngày {}.",
                        dmy(input.period.from),
                        dmy(input.period.to)
                    ))
                    .italic(),
                )
                .align(AlignmentType::Center),
        );

    // I.
    s = s.add_paragraph(heading("I. TÌNH HÌNH TRIỂN KHAI"));
    for p in &overview.plans {
        let cited = config
            .plan(&p.plan)
            .map_or_else(|| p.citation.clone(), crate::answers::citation);
        s = s.add_paragraph(body(&format!(
            "{cited}: {} nhiệm vụ, {}",
            p.tasks,
            counts_sentence(&p.counts)
        )));
    }
    s = s.add_paragraph(body(&format!(
        "Tính đến ngày {}, tổng cộng: {}",
        dmy(overview.as_of),
        counts_sentence(&overview.totals)
    )));
    let widths = [2071, 900, 1000, 1000, 1000, 900, 1000, 1200];
    let mut rows: Vec<Vec<String>> = overview
        .plans
        .iter()
        .map(|p| figures_row(&p.plan, &p.counts))
        .collect();
    rows.push(figures_row("Tổng cộng", &overview.totals));
    s = s.add_table(table(
        &[
            "Kế hoạch",
            "Lượt giao",
            "Xong đúng hạn",
            "Xong trễ hạn",
            "Trong hạn",
            "Quá hạn",
            "Chưa đến hạn",
            "Tỷ lệ đúng hạn",
        ],
        &widths,
        rows,
    ));

    // II.
    s = s.add_paragraph(heading("II. KẾT QUẢ THỰC HIỆN TRONG KỲ"));
    let done = completions(input);
    if done.is_empty() {
        s = s.add_paragraph(body(
            "Trong kỳ không có cơ quan nào báo cáo hoàn thành nhiệm vụ.",
        ));
    } else {
        s = s.add_paragraph(body(&format!(
            "Trong kỳ có {} lượt báo cáo hoàn thành nhiệm vụ:",
            done.len()
        )));
        for (i, r) in done.iter().enumerate() {
            let who = r.who.vi();
            s = s.add_paragraph(body(&format!(
                "{}. {} — nhiệm vụ {} ({}): báo cáo ngày {}{}{}; {}.",
                i + 1,
                agency_name(config, &r.agency),
                r.task,
                task_title(config, &r.plan, &r.task),
                dmy(local(r.created_at, config)),
                r.doc_ref
                    .as_deref()
                    .map(|d| format!(", văn bản {d}"))
                    .unwrap_or_default(),
                if who.is_empty() {
                    String::new()
                } else {
                    format!(", người báo cáo {who}")
                },
                review_vi(r, config)
            )));
        }
    }

    // III.
    s = s.add_paragraph(heading("III. NHIỆM VỤ CHẬM TIẾN ĐỘ"));
    let late = overdue_by_agency(overview);
    if late.is_empty() {
        s = s.add_paragraph(body("Không có nhiệm vụ quá hạn."));
    }
    for (name, rows) in late {
        // One paragraph per agency: its overdue tasks, days late, and the last reminder.
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "nhiệm vụ {} (hạn {}, quá {} ngày)",
                    r.status.task,
                    r.status.deadline.map_or_else(|| "—".to_string(), dmy),
                    r.days_overdue.unwrap_or(0)
                )
            })
            .collect();
        let last = rows
            .iter()
            .filter_map(|r| r.last_reminder)
            .max()
            .map_or_else(|| "chưa nhắc".to_string(), |t| dmy(local(t, config)));
        s = s.add_paragraph(body(&format!(
            "- {name}: {}; nhắc gần nhất: {last}.",
            items.join("; ")
        )));
    }
    // IV.
    s = s.add_paragraph(heading("IV. GIA HẠN"));
    let plans: Vec<&str> = overview.plans.iter().map(|p| p.plan.as_str()).collect();
    let asked: Vec<&Response> = input
        .responses
        .iter()
        .filter(|r| {
            r.action == Action::Extension
                && r.undone_at.is_none()
                && plans.contains(&r.plan.as_str())
                && in_period(r.created_at, input)
        })
        .collect();
    let granted: Vec<&Extension> = input
        .extensions
        .iter()
        .filter(|e| plans.contains(&e.plan.as_str()) && in_period(e.granted_at, input))
        .collect();
    if asked.is_empty() && granted.is_empty() {
        s = s.add_paragraph(body("Trong kỳ không có đề nghị gia hạn."));
    }
    for r in &asked {
        let state = if r.granted.is_some() {
            "đã gia hạn".to_string()
        } else if let Some(at) = r.refused_at {
            format!(
                "không đồng ý ngày {}{}",
                dmy(local(at, config)),
                r.refusal
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            )
        } else {
            "đang chờ xem xét".to_string()
        };
        s = s.add_paragraph(body(&format!(
            "- {} đề nghị gia hạn nhiệm vụ {} ({}) ngày {}{}: {}.",
            agency_name(config, &r.agency),
            r.task,
            task_title(config, &r.plan, &r.task),
            dmy(local(r.created_at, config)),
            r.proposed
                .map(|d| format!(" đến ngày {}", dmy(d)))
                .unwrap_or_default(),
            state
        )));
    }
    for e in &granted {
        s = s.add_paragraph(body(&format!(
            "- Gia hạn cho {}, nhiệm vụ {} ({}): từ hạn {} đến ngày {}, theo {}.",
            agency_name(config, &e.agency),
            e.task,
            task_title(config, &e.plan, &e.task),
            dmy(e.from),
            dmy(e.to),
            e.doc_ref.as_deref().unwrap_or("(chưa ghi văn bản)")
        )));
    }

    // V.
    s = s
        .add_paragraph(heading("V. ĐỀ XUẤT, KIẾN NGHỊ"))
        .add_paragraph(body("……………………………………………………………………………………"))
        .add_paragraph(Paragraph::new())
        .add_table(signature(config));

    // The appendix: landscape, the task × agency table of each plan.
    let mut doc = Docx::new()
        .default_fonts(
            RunFonts::new()
                .ascii(FONT)
                .hi_ansi(FONT)
                .east_asia(FONT)
                .cs(FONT),
        )
        .default_size(SIZE)
        .add_section(s)
        .page_size(A4_H, A4_W)
        .page_orient(PageOrientationType::Landscape)
        .page_margin(margins());
    doc = doc
        .add_paragraph(centered("PHỤ LỤC", SIZE, true))
        .add_paragraph(centered(
            &format!(
                "Tình hình thực hiện từng nhiệm vụ của các cơ quan đến ngày {}",
                dmy(overview.as_of)
            ),
            SIZE,
            false,
        ))
        .add_paragraph(Paragraph::new());
    // "Hạn" holds dd/mm/yyyy on one line.
    let widths = [900, 3903, 2900, 1600, 2100, 2600];
    for p in &overview.plans {
        doc = doc.add_paragraph(
            Paragraph::new().add_run(run(&format!("Kế hoạch số {}", p.plan)).bold()),
        );
        let rows: Vec<Vec<String>> = overview
            .rows
            .iter()
            .filter(|r| r.status.plan == p.plan)
            .map(|r| {
                vec![
                    r.status.task.clone(),
                    r.title.clone(),
                    format!(
                        "{}{}",
                        r.agency_name,
                        if r.status.role == crate::schedule::Role::Lead {
                            ""
                        } else {
                            " (phối hợp)"
                        }
                    ),
                    r.status.deadline.map_or_else(|| "—".to_string(), dmy),
                    r.status.state.vi().to_string(),
                    r.doc_ref.clone().unwrap_or_default(),
                ]
            })
            .collect();
        doc = doc.add_table(table(
            &[
                "STT",
                "Nhiệm vụ",
                "Cơ quan",
                "Hạn",
                "Tình trạng",
                "Văn bản báo cáo",
            ],
            &widths,
            rows,
        ));
        debug_assert_eq!(widths.iter().sum::<usize>(), TEXT_W_LANDSCAPE);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut out)
        .map_err(|e| ReportDocError::Pack(e.to_string()))?;
    Ok(out.into_inner())
}

fn margins() -> PageMargin {
    PageMargin::new()
        .top(MM20)
        .bottom(MM20)
        .left(MM30)
        .right(MM20)
        .header(567)
        .footer(567)
}

fn figures_row(name: &str, c: &Counts) -> Vec<String> {
    vec![
        name.to_string(),
        c.total().to_string(),
        c.done_on_time.to_string(),
        c.done_late.to_string(),
        c.open.to_string(),
        c.overdue.to_string(),
        c.not_due.to_string(),
        c.on_time_vi(),
    ]
}

/// The media type of a .docx file.
pub const DOCX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// The period when none is asked (`export` without `--ky`/`--from`, the dashboard's button):
/// from the earliest issue date of the plans reported (`plan`, or every plan) to `as_of`.
pub fn since_issue(config: &Config, plan: Option<&str>, as_of: NaiveDate) -> Period {
    let issued = config
        .plans
        .iter()
        .filter(|p| plan.is_none_or(|n| p.number == n))
        .map(|p| p.issued)
        .min()
        .unwrap_or(as_of);
    Period::between(issued.min(as_of), as_of)
}

/// The file name `export` writes by default: "bao-cao-<yyyy-mm-dd>.docx".
pub fn file_name(as_of: NaiveDate) -> String {
    format!("bao-cao-{}.docx", as_of.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn periods_run_from_the_15th_before_to_the_14th_of_the_last_month() {
        let p = period(Ky::Month, d(2022, 6, 30));
        assert_eq!((p.from, p.to), (d(2022, 5, 15), d(2022, 6, 14)));
        assert_eq!(p.label, "tháng 6 năm 2022");
        let p = period(Ky::Month, d(2022, 1, 3));
        assert_eq!((p.from, p.to), (d(2021, 12, 15), d(2022, 1, 14)));
        let p = period(Ky::Quarter, d(2022, 6, 30));
        assert_eq!((p.from, p.to), (d(2022, 3, 15), d(2022, 6, 14)));
        assert_eq!(p.label, "quý II năm 2022");
        let p = period(Ky::Quarter, d(2022, 2, 1));
        assert_eq!((p.from, p.to), (d(2021, 12, 15), d(2022, 3, 14)));
        let p = period(Ky::Quarter, d(2022, 12, 31));
        assert_eq!((p.from, p.to), (d(2022, 9, 15), d(2022, 12, 14)));
        assert_eq!(p.label, "quý IV năm 2022");
        let p = period(Ky::Half, d(2022, 6, 30));
        assert_eq!((p.from, p.to), (d(2021, 12, 15), d(2022, 6, 14)));
        assert_eq!(p.label, "6 tháng đầu năm 2022");
        let p = period(Ky::Half, d(2022, 7, 1));
        assert_eq!((p.from, p.to), (d(2022, 6, 15), d(2022, 12, 14)));
        let p = period(Ky::Year, d(2022, 6, 30));
        assert_eq!((p.from, p.to), (d(2021, 12, 15), d(2022, 12, 14)));
        assert_eq!(p.label, "năm 2022");
    }

    #[test]
    fn ky_words_are_the_clis() {
        assert_eq!(Ky::parse("thang"), Some(Ky::Month));
        assert_eq!(Ky::parse("quy"), Some(Ky::Quarter));
        assert_eq!(Ky::parse("6thang"), Some(Ky::Half));
        assert_eq!(Ky::parse("nam"), Some(Ky::Year));
        assert_eq!(Ky::parse("tuan"), None);
    }

    #[test]
    fn the_sentence_adds_up() {
        let c = Counts {
            done_on_time: 4,
            done_late: 1,
            open: 2,
            overdue: 3,
            not_due: 1,
            undated: 0,
            closed: 0,
            confirmed: 0,
        };
        let s = counts_sentence(&c);
        assert!(s.starts_with("11 lượt giao"), "{s}");
        assert!(s.contains("đã hoàn thành 5 (đúng hạn 4, trễ hạn 1)"), "{s}");
        assert!(
            s.contains("chưa hoàn thành 5 (trong hạn 2, quá hạn 3)"),
            "{s}"
        );
        assert!(s.contains("tỷ lệ hoàn thành đúng hạn 50,0%"), "{s}");
    }
}
