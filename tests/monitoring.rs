//! The monitoring office's figures end to end: `export` writes a workbook that a real reader
//! (calamine) reads back with the same figures as `status --format json`, dates as Excel dates;
//! the CSV carries the same rows; an as-of date before any plan gives an empty report, not an
//! error.

mod support;
use support::answers::{date, seed};
use support::cli::Env;

use calamine::{open_workbook_from_rs, Data, Range, Reader, Xlsx};
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Cursor;

fn book(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes)).expect("a workbook calamine reads")
}

fn text(c: Option<&Data>) -> String {
    match c {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Empty) | None => String::new(),
        Some(other) => format!("{other:?}"),
    }
}

/// An Excel date cell as a date (serial days from 1899-12-30).
fn excel_date(c: Option<&Data>) -> Option<NaiveDate> {
    match c {
        Some(Data::DateTime(d)) if d.is_datetime() => {
            let base = date("1899-12-30");
            Some(base + chrono::Days::new(d.as_f64() as u64))
        }
        _ => None,
    }
}

fn row_of<'a>(range: &'a Range<Data>, first: &str) -> Option<&'a [Data]> {
    range
        .rows()
        .find(|r| text(r.first()).starts_with(first) && !first.is_empty())
}

/// States of the lead rows of `status --format json`, counted.
fn lead_counts(status: &Value) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in status.as_array().unwrap() {
        if r["role"] == "lead" {
            *out.entry(r["state"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    out
}

#[test]
fn the_workbook_reads_back_with_the_figures_of_status() {
    let env = Env::new();
    seed(&env.db());
    let out = env.cfg.join("bao-cao.xlsx");
    env.expect(
        0,
        &[
            "export",
            "--as-of",
            "25/05/2022",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let status = env.json(&["status", "--now", "2022-05-25"]);
    let counts = lead_counts(&status);
    let mut wb = book(std::fs::read(&out).unwrap());
    assert_eq!(wb.sheet_names(), vec!["Tổng hợp", "KH 50-KH-UBND"]);

    // The summary: the plan's row holds status's counts, in the order of the headers.
    let summary = wb.worksheet_range("Tổng hợp").unwrap();
    assert!(text(summary.get((0, 0))).contains("25/05/2022"));
    let header = row_of(&summary, "Kế hoạch").expect("the plans' header");
    let plan = row_of(&summary, "Kế hoạch số 50/KH-UBND").expect("the plan's row");
    let col = |name: &str| header.iter().position(|h| text(Some(h)) == name).unwrap();
    let n = |name: &str| text(plan.get(col(name))).parse::<usize>().unwrap();
    let of = |state: &str| counts.get(state).copied().unwrap_or(0);
    assert_eq!(n("Chưa hoàn thành, quá hạn"), of("open_overdue"));
    assert_eq!(n("Chưa hoàn thành, trong hạn"), of("open"));
    assert_eq!(n("Chưa đến hạn"), of("not_due"));
    assert_eq!(n("Không có hạn"), of("undated"));
    assert_eq!(n("Hoàn thành đúng hạn"), of("done_on_time"));
    assert_eq!(n("Hoàn thành đúng hạn"), 1, "Sở Nội vụ's report of 8.8");
    assert_eq!(n("Tổng lượt giao"), counts.values().sum::<usize>());
    assert_eq!(excel_date(plan.get(1)), Some(date("2022-03-24")));
    // The agencies' table: Sở Nội vụ listed with its one completion.
    let snv = row_of(&summary, "Sở Nội vụ").expect("Sở Nội vụ's row");
    let agency_header = row_of(&summary, "Cơ quan").unwrap();
    let acol = |name: &str| {
        agency_header
            .iter()
            .position(|h| text(Some(h)) == name)
            .unwrap()
    };
    assert_eq!(text(snv.get(acol("Hoàn thành đúng hạn"))), "1");
    assert!(text(snv.get(acol("Trả lời gần nhất"))).contains("10.1"));

    // The plan's sheet: every status row of the plan, the answer's fields on its row.
    let sheet = wb.worksheet_range("KH 50-KH-UBND").unwrap();
    let head: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| text(Some(c)))
        .collect();
    assert_eq!(head[0], "Kế hoạch");
    assert!(head.contains(&"Số văn bản báo cáo".to_string()));
    assert_eq!(sheet.rows().count() - 1, status.as_array().unwrap().len());
    let h = |name: &str| head.iter().position(|x| x == name).unwrap();
    let row = sheet
        .rows()
        .find(|r| text(r.get(1)) == "8.8" && text(r.get(3)) == "Sở Nội vụ")
        .expect("8.8 of Sở Nội vụ");
    assert_eq!(text(row.get(h("Trạng thái"))), "hoàn thành đúng hạn");
    assert_eq!(
        excel_date(row.get(h("Ngày hoàn thành"))),
        Some(date("2022-05-20"))
    );
    assert_eq!(excel_date(row.get(h("Hạn"))), Some(date("2022-05-31")));
    assert_eq!(
        text(row.get(h("Số văn bản báo cáo"))),
        "Báo cáo số 12/BC-SNV"
    );
    let tp = sheet
        .rows()
        .find(|r| text(r.get(1)) == "8.8" && text(r.get(3)) == "Sở Tư pháp")
        .expect("8.8 of Sở Tư pháp");
    assert!(text(tp.get(h("Trả lời gần nhất"))).contains("70%"));
    // An overdue row says by how many days.
    let late = sheet
        .rows()
        .find(|r| text(r.get(h("Trạng thái"))) == "chưa hoàn thành, quá hạn")
        .expect("an overdue row");
    let due = excel_date(late.get(h("Hạn"))).unwrap();
    assert_eq!(
        text(late.get(h("Số ngày quá hạn"))),
        (date("2022-05-25") - due).num_days().to_string()
    );
}

#[test]
fn the_csv_has_the_workbooks_rows_and_an_empty_date_is_not_an_error() {
    let env = Env::new();
    seed(&env.db());
    let out = env.cfg.join("bao-cao.csv");
    env.expect(
        0,
        &[
            "export",
            "--format",
            "csv",
            "--as-of",
            "2022-05-25",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let status = env.json(&["status", "--now", "2022-05-25"]);
    assert_eq!(rows.len(), status.as_array().unwrap().len());
    let head = reader.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let snv = rows
        .iter()
        .find(|r| &r[1] == "8.8" && &r[3] == "Sở Nội vụ")
        .unwrap();
    assert_eq!(&snv[col("Ngày hoàn thành")], "20/05/2022");

    // Before the plan was issued: no plan, no rows, still a workbook.
    let early = env.cfg.join("truoc.xlsx");
    env.expect(
        0,
        &[
            "export",
            "--as-of",
            "2021-01-01",
            "--out",
            early.to_str().unwrap(),
        ],
    );
    let wb = book(std::fs::read(&early).unwrap());
    assert_eq!(wb.sheet_names(), vec!["Tổng hợp"]);
    // A date that is not one is refused in Vietnamese.
    let out = env.run(&["export", "--as-of", "31/02/2022"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--as-of \"31/02/2022\" không hợp lệ"), "{err}");
}

#[test]
fn the_workbook_shows_an_extended_deadline_beside_the_plans() {
    let env = Env::new();
    seed(&env.db());
    // Sở Nội vụ's request on 10.1 granted on 24/05: 18/06 → 31/07.
    env.expect(
        0,
        &[
            "extend",
            "--now",
            "2022-05-24T09:00:00+07:00",
            "--agency",
            "so-noi-vu",
            "--task",
            "10.1",
            "--to",
            "31/07/2022",
            "--ref",
            "Công văn số 9/UBND-KT",
        ],
    );
    let out = env.cfg.join("bao-cao.xlsx");
    env.expect(
        0,
        &[
            "export",
            "--as-of",
            "25/05/2022",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let mut wb = book(std::fs::read(&out).unwrap());
    let sheet = wb.worksheet_range("KH 50-KH-UBND").unwrap();
    let head: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| text(Some(c)))
        .collect();
    let h = |name: &str| {
        head.iter()
            .position(|x| x == name)
            .unwrap_or_else(|| panic!("no column {name}: {head:?}"))
    };
    let row = |task: &str, agency: &str| {
        sheet
            .rows()
            .find(|r| text(r.get(1)) == task && text(r.get(3)) == agency)
            .unwrap_or_else(|| panic!("no row {task} {agency}"))
            .to_vec()
    };
    let moved = row("10.1", "Sở Nội vụ");
    assert_eq!(excel_date(moved.get(h("Hạn"))), Some(date("2022-07-31")));
    assert_eq!(
        excel_date(moved.get(h("Hạn theo kế hoạch"))),
        Some(date("2022-06-18"))
    );
    assert_eq!(
        excel_date(moved.get(h("Hạn đã gia hạn"))),
        Some(date("2022-07-31"))
    );
    assert_eq!(
        text(moved.get(h("Văn bản gia hạn"))),
        "Công văn số 9/UBND-KT"
    );
    assert_eq!(
        excel_date(moved.get(h("Ngày quyết định"))),
        Some(date("2022-05-24"))
    );
    // Another agency's row of the same task: the plan's deadline, nothing moved.
    let other = row("10.1", "Sở Tư pháp");
    assert_eq!(excel_date(other.get(h("Hạn"))), Some(date("2022-06-18")));
    assert_eq!(
        excel_date(other.get(h("Hạn theo kế hoạch"))),
        Some(date("2022-06-18"))
    );
    assert_eq!(excel_date(other.get(h("Hạn đã gia hạn"))), None);
    assert_eq!(text(other.get(h("Văn bản gia hạn"))), "");

    // As of the day before the decision, nothing was moved yet.
    let before = env.cfg.join("truoc.xlsx");
    env.expect(
        0,
        &[
            "export",
            "--as-of",
            "23/05/2022",
            "--out",
            before.to_str().unwrap(),
        ],
    );
    let mut wb = book(std::fs::read(&before).unwrap());
    let sheet = wb.worksheet_range("KH 50-KH-UBND").unwrap();
    let then = sheet
        .rows()
        .find(|r| text(r.get(1)) == "10.1" && text(r.get(3)) == "Sở Nội vụ")
        .unwrap();
    assert_eq!(excel_date(then.get(h("Hạn"))), Some(date("2022-06-18")));
    assert_eq!(excel_date(then.get(h("Hạn đã gia hạn"))), None);

    // The CSV carries the same.
    let bytes = env.expect(
        0,
        &[
            "export",
            "--format",
            "csv",
            "--as-of",
            "25/05/2022",
            "--out",
            "-",
        ],
    );
    let mut reader = csv::Reader::from_reader(bytes.trim_start_matches('\u{feff}').as_bytes());
    let head = reader.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let moved = rows
        .iter()
        .find(|r| &r[1] == "10.1" && &r[3] == "Sở Nội vụ")
        .unwrap();
    assert_eq!(
        (
            &moved[col("Hạn")],
            &moved[col("Hạn theo kế hoạch")],
            &moved[col("Hạn đã gia hạn")],
            &moved[col("Văn bản gia hạn")],
            &moved[col("Ngày quyết định")],
        ),
        (
            "31/07/2022",
            "18/06/2022",
            "31/07/2022",
            "Công văn số 9/UBND-KT",
            "24/05/2022"
        )
    );
}

/// 30/05/2022, the Monday of the weekly report, at `h`:`m` in Hậu Giang.
fn monday(h: u32, m: u32) -> chrono::DateTime<chrono_tz::Tz> {
    use chrono::TimeZone;
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2022, 5, 30, h, m, 0)
        .unwrap()
}

#[test]
fn the_weekly_report_of_plan_50_is_short_has_the_figures_and_the_workbook() {
    use nhacviec::deliver::Engine;
    use nhacviec::store::Store;
    let analysis = nhacviec::config::load(&support::repo().join("config"));
    assert!(!analysis.has_errors());
    let config = analysis.config;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nhacviec.db");
    drop(Store::open_writer(&db).unwrap());
    seed(&db);
    let mut store = Store::open_writer(&db).unwrap();
    let granted = support::answers::at("2022-05-28T02:00:00Z");
    store
        .grant_extension(
            "so-noi-vu",
            "50/KH-UBND",
            "10.1",
            date("2022-06-18"),
            date("2022-07-31"),
            Some("Công văn số 9/UBND"),
            granted,
        )
        .unwrap();
    let engine = Engine::build(&config, date("2022-05-01"));
    // A first start notes the report time; the next Monday's report goes out.
    nhacviec::deliver::reports(
        &engine,
        &config,
        None,
        &mut store,
        monday(7, 0) - chrono::Duration::days(7),
    )
    .unwrap();
    assert_eq!(
        nhacviec::deliver::reports(&engine, &config, None, &mut store, monday(7, 45)).unwrap(),
        1
    );
    let report = store
        .history(Some("vp-ubnd-tinh"), None, 1)
        .unwrap()
        .remove(0);

    // The subject's figures are the overview's (what the dashboard and the workbook show).
    let (responses, extensions) = store.answers().unwrap();
    let answered = nhacviec::answers::overlaid(&config, &responses, &extensions);
    let o = nhacviec::overview::compute(
        &answered,
        date("2022-05-30"),
        None,
        &responses,
        &extensions,
        &Default::default(),
    );
    assert!(
        report.subject.contains(&format!(
            "{} quá hạn, {} đang trong hạn",
            o.totals.overdue, o.totals.open
        )),
        "{}",
        report.subject
    );
    assert!(
        o.totals.undated > 0,
        "Plan 50 has continuous tasks, not counted as in time"
    );

    // As a mail client reads it: under 30 KB of HTML, the workbook attached and readable.
    let raw = nhacviec::channels::email::message(&report, &config.email)
        .unwrap()
        .formatted();
    let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let html = mail.body_html(0).unwrap();
    assert!(html.len() < 30_000, "{} bytes of HTML", html.len());
    let text = mail.body_text(0).unwrap();
    assert!(text.contains("CƠ QUAN CẦN LƯU Ý"), "{text}");
    assert!(
        text.contains("gia hạn từ 18/06/2022 đến 31/07/2022 (Công văn số 9/UBND)"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "NHIỆM VỤ QUÁ HẠN ({} nhiệm vụ",
            o.overdue_by_task().len()
        )),
        "{text}"
    );
    assert!(text.contains("không có hạn"), "{text}");
    let attachment = mail.attachment(0).expect("the workbook attached");
    assert_eq!(
        mail_parser::MimeHeaders::attachment_name(attachment),
        Some("tinh-hinh-2022-05-30.xlsx")
    );
    let mut wb = book(attachment.contents().to_vec());
    assert!(wb.worksheet_range("Tổng hợp").is_ok());
    std::fs::create_dir_all("target/screenshots").unwrap();
    std::fs::write("target/screenshots/weekly-report.html", html.as_bytes()).unwrap();
}

#[test]
fn a_dashboard_key_written_in_clear_is_an_error_at_its_line() {
    let env = Env::new();
    env.edit("nhacviec.toml", |t| {
        format!("{t}\n[web]\npublic_url = \"https://nhacviec.example\"\nadmin_token = \"mat-khau-cua-van-phong\"\n")
    });
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("admin_token phải là mã băm SHA-256"),
        "{text}"
    );
    assert!(
        text.contains("nhacviec.toml:"),
        "names the file and line: {text}"
    );
    assert!(text.contains("sha256sum"), "says how to make one: {text}");
    // Without [web] there is no dashboard link to print.
    let plain = Env::new();
    let out = plain.run(&["admin-link"]);
    assert_eq!(out.status.code(), Some(2), "the command could not run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("chưa có [web]"));
}
