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
    let snv = rows
        .iter()
        .find(|r| &r[1] == "8.8" && &r[3] == "Sở Nội vụ")
        .unwrap();
    assert_eq!(&snv[9], "20/05/2022");

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
