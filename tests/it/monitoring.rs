//! The monitoring office's figures end to end: `export` writes a workbook that a real reader
//! (calamine) reads back with the same figures as `status --format json`, dates as Excel dates;
//! the CSV carries the same rows; an as-of date before any plan gives an empty report, not an
//! error.

use crate::support::answers::{date, seed};
use crate::support::cli::Env;

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

/// A plan sheet's column names: the row whose first cell is exactly "Kế hoạch" (below the
/// sheet's title row).
fn header_of(sheet: &Range<Data>) -> Vec<String> {
    sheet
        .rows()
        .find(|r| text(r.first()) == "Kế hoạch")
        .expect("the header row")
        .iter()
        .map(|c| text(Some(c)))
        .collect()
}

/// How many rows a plan sheet has below its header row.
fn rows_below_header(sheet: &Range<Data>) -> usize {
    sheet
        .rows()
        .skip_while(|r| text(r.first()) != "Kế hoạch")
        .skip(1)
        .count()
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
    // Its title row names the plan and the date; the header row follows.
    let title = text(sheet.get((0, 0)));
    assert!(
        title.contains("Kế hoạch số 50") && title.contains("25/05/2022"),
        "{title}"
    );
    let head = header_of(&sheet);
    assert_eq!(head[0], "Kế hoạch");
    assert!(head.contains(&"Số văn bản báo cáo".to_string()));
    assert_eq!(rows_below_header(&sheet), status.as_array().unwrap().len());
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
    // RFC 4180 with every cell quoted: no list separator (`,` or Vietnamese Windows' `;`) can
    // split one.
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.ends_with("\r\n"));
    for line in text.split_terminator("\r\n").filter(|l| !l.is_empty()) {
        assert!(line.starts_with('"') && line.ends_with('"'), "{line}");
    }
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
    let head = header_of(&sheet);
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
    let analysis = nhacviec::config::load(&crate::support::repo().join("config"));
    assert!(!analysis.has_errors());
    let config = analysis.config;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nhacviec.db");
    drop(Store::open_writer(&db).unwrap());
    seed(&db);
    let mut store = Store::open_writer(&db).unwrap();
    let granted = crate::support::answers::at("2022-05-28T02:00:00Z");
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

/// The weekly reports the service wrote as .eml files (file transport), by the date in their
/// subject ("… đến ngày 30/05/2022"): (subject, plain text).
fn weekly_reports(state: &std::path::Path) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for entry in std::fs::read_dir(state.join("mail")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let subject = mail.subject().unwrap_or_default().to_string();
        let Some(rest) = subject.strip_prefix("[Nhắc việc] Báo cáo tuần đến ngày ")
        else {
            continue;
        };
        let day = rest[..10].to_string();
        let text = mail.body_text(0).unwrap().replace("\r\n", "\n");
        out.entry(day).or_default().push((subject, text));
    }
    out
}

/// `[report] attach_docx = true`: the weekly report's .eml carries the workbook and the report
/// to sign, its period the week's, each readable.
#[test]
fn the_weekly_report_carries_the_workbook_and_the_docx_when_asked() {
    let env = Env::new();
    env.edit("nhacviec.toml", |t| {
        assert!(t.contains("attach_docx = false"));
        t.replace("attach_docx = false", "attach_docx = true")
    });
    env.expect(0, &["run", "--once", "--now", "2022-05-16T08:00:00+07:00"]);
    env.expect(0, &["run", "--once", "--now", "2022-05-23T08:00:00+07:00"]);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(env.state().join("mail")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        if !mail
            .subject()
            .unwrap_or_default()
            .starts_with("[Nhắc việc] Báo cáo tuần đến ngày 23/05/2022")
        {
            continue;
        }
        let files: Vec<(String, Vec<u8>)> = mail
            .attachments()
            .map(|a| {
                (
                    mail_parser::MimeHeaders::attachment_name(a)
                        .unwrap_or_default()
                        .to_string(),
                    a.contents().to_vec(),
                )
            })
            .collect();
        let text = mail.body_text(0).unwrap().to_string();
        found.push((files, text));
    }
    assert_eq!(found.len(), 1, "one weekly report on 23/05");
    let (files, text) = &found[0];
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["tinh-hinh-2022-05-23.xlsx", "bao-cao-2022-05-23.docx"]
    );
    assert!(
        text.contains("tệp đính kèm bao-cao-2022-05-23.docx"),
        "{text}"
    );
    let mut wb = book(files[0].1.clone());
    assert!(wb.worksheet_range("Tổng hợp").is_ok());
    // The document opens with python-docx and states the week as its period.
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("bao-cao.docx");
    std::fs::write(&doc, &files[1].1).unwrap();
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import docx, sys; print('\\n'.join(p.text for p in docx.Document(sys.argv[1]).paragraphs))",
        ])
        .arg(&doc)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let body = String::from_utf8_lossy(&py.stdout);
    assert!(body.contains("BÁO CÁO"), "{body}");
    assert!(
        body.contains("Thời gian chốt số liệu: từ ngày 16/05/2022 đến ngày 23/05/2022."),
        "{body}"
    );
}

#[test]
fn what_is_recorded_after_a_report_is_in_the_next_one_once() {
    use nhacviec::answers::{Action, NewResponse};
    let env = Env::new();
    let run = |now: &str| {
        env.expect(0, &["run", "--once", "--now", now]);
    };
    // A first start notes Monday 16/05's report time; Monday 23/05's report goes at 08:00.
    run("2022-05-16T08:00:00+07:00");
    run("2022-05-23T08:00:00+07:00");
    // Monday 23/05 at 10:24, after that report: Văn phòng UBND tỉnh reports the first quarter's
    // report (10.1, due 18/03) done on 20/04, a month before; and Sở Nội vụ's 9.2 is extended.
    let store = nhacviec::store::Store::open_writer(&env.db()).unwrap();
    let done = NewResponse {
        deadline: Some(date("2022-03-18")),
        done_on: Some(date("2022-04-20")),
        doc_ref: Some("Báo cáo số 45/BC-VP".into()),
        ..crate::support::answers::answer("vp-ubnd-tinh", "10.1", Action::Done, "w1")
    };
    store
        .record_response(&done, crate::support::answers::at("2022-05-23T03:24:00Z"))
        .unwrap();
    drop(store);
    env.expect(
        0,
        &[
            "extend",
            "--agency",
            "so-noi-vu",
            "--task",
            "9.2",
            "--to",
            "31/03/2023",
            "--ref",
            "Công văn số 77/UBND-KSTT",
            "--now",
            "2022-05-23T10:24:00+07:00",
        ],
    );
    run("2022-05-30T08:00:00+07:00");
    run("2022-06-06T08:00:00+07:00");

    let reports = weekly_reports(&env.state());
    assert_eq!(
        reports.keys().collect::<Vec<_>>(),
        vec!["06/06/2022", "23/05/2022", "30/05/2022"],
        "one report a Monday, the first start's noted only"
    );
    let text = |day: &str| {
        let made = &reports[day];
        assert_eq!(made.len(), 1, "one address, one message: {made:?}");
        made[0].1.clone()
    };
    let (before, week, after) = (text("23/05/2022"), text("30/05/2022"), text("06/06/2022"));
    let completion = "10.1 (50/KH-UBND) Văn phòng UBND tỉnh: hoàn thành quá hạn ngày 20/04/2022 \
                      (kỳ Quý I/2022, hạn 18/03/2022), Báo cáo số 45/BC-VP, báo ngày 23/05/2022";
    let extension = "9.2 (50/KH-UBND) Sở Nội vụ: gia hạn từ 31/12/2022 đến 31/03/2023 \
                     (Công văn số 77/UBND-KSTT)";
    // Monday 30/05: each once, in the week that says where it starts and ends.
    assert!(
        week.contains("ghi nhận từ 07:30 23/05/2022 đến 07:30 30/05/2022"),
        "{week}"
    );
    assert_eq!(week.matches(completion).count(), 1, "{week}");
    assert_eq!(week.matches(extension).count(), 1, "{week}");
    assert!(week.contains("- Báo hoàn thành: 1\n"), "{week}");
    assert!(week.contains("- Được gia hạn: 1\n"), "{week}");
    // Not in the report made before they were recorded, nor in the one after.
    assert!(
        after.contains("ghi nhận từ 07:30 30/05/2022 đến 07:30 06/06/2022"),
        "{after}"
    );
    for other in [&before, &after] {
        assert!(!other.contains("45/BC-VP"), "{other}");
        assert!(!other.contains("77/UBND-KSTT"), "{other}");
        assert!(other.contains("- Báo hoàn thành: 0\n"), "{other}");
    }
}

#[test]
fn a_report_missed_while_stopped_leaves_its_week_to_the_next_report_made() {
    use nhacviec::deliver::{reports, Engine};
    use nhacviec::store::Store;
    let config = crate::support::site::sample_config();
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let engine = Engine::build(&config, date("2022-05-01"));
    let at = |day: &str| {
        use chrono::TimeZone;
        let d = date(day);
        chrono_tz::Asia::Ho_Chi_Minh
            .from_local_datetime(&d.and_hms_opt(8, 0, 0).unwrap())
            .unwrap()
    };
    // Noted at the first start, made on 23/05.
    assert_eq!(
        reports(&engine, &config, None, &mut store, at("2022-05-16")).unwrap(),
        0
    );
    assert_eq!(
        reports(&engine, &config, None, &mut store, at("2022-05-23")).unwrap(),
        1
    );
    // An extension granted on Tuesday 24/05; the service is stopped over Monday 30/05, whose
    // report is noted on Tuesday, not sent.
    store
        .grant_extension(
            "so-noi-vu",
            "50/KH-UBND",
            "9.2",
            date("2022-12-31"),
            date("2023-03-31"),
            Some("Công văn số 78/UBND-KSTT"),
            crate::support::answers::at("2022-05-24T02:00:00Z"),
        )
        .unwrap();
    assert_eq!(
        reports(&engine, &config, None, &mut store, at("2022-05-31")).unwrap(),
        0
    );
    // The next report made, on 06/06, lists it: its week starts at the last report made.
    assert_eq!(
        reports(&engine, &config, None, &mut store, at("2022-06-06")).unwrap(),
        1
    );
    let made = store.history(Some("vp-ubnd-tinh"), None, 5).unwrap();
    assert_eq!(made.len(), 2);
    let text = &made[0].body_text;
    assert!(
        made[0].subject.contains("đến ngày 06/06/2022"),
        "{}",
        made[0].subject
    );
    assert!(
        text.contains("ghi nhận từ 07:30 23/05/2022 đến 07:30 06/06/2022"),
        "{text}"
    );
    assert!(text.contains("Công văn số 78/UBND-KSTT"), "{text}");
    assert!(
        !made[1].body_text.contains("78/UBND"),
        "{}",
        made[1].body_text
    );
}

/// `seed`, and Sở Nội vụ's 9.2 (due 31/12/2022) extended to 31/03/2023 on 01/06/2022.
fn seed_with_extension(db: &std::path::Path) {
    seed(db);
    nhacviec::store::Store::open_writer(db)
        .unwrap()
        .grant_extension(
            "so-noi-vu",
            "50/KH-UBND",
            "9.2",
            date("2022-12-31"),
            date("2023-03-31"),
            Some("Công văn số 80/UBND-KSTT"),
            crate::support::answers::at("2022-06-01T02:00:00Z"),
        )
        .unwrap();
}

/// The numbers of the dashboard's table row whose header starts with `head`.
fn page_row(html: &str, head: &str) -> Vec<String> {
    let start = html
        .find(&format!("<th scope=\"row\">{head}"))
        .unwrap_or_else(|| panic!("no row {head}"));
    let row = &html[start..start + html[start..].find("</tr>").unwrap()];
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find("</td>").unwrap()].to_string()
        })
        .collect()
}

/// The on-time rate as the readers print it ("33,3%", "—").
fn rate_vi(rate: &Value) -> String {
    rate.as_f64().map_or_else(
        || "—".to_string(),
        |r| format!("{:.1}%", r * 100.0).replace('.', ","),
    )
}

#[tokio::test]
async fn status_the_dashboard_the_workbook_and_the_weekly_report_give_the_same_figures() {
    use crate::support::site::{sample_config, signer, with_web, Site};
    use nhacviec::deliver::{reports, Engine};
    use nhacviec::store::Store;
    let env = Env::new();
    seed_with_extension(&env.db());
    let now = crate::support::answers::at("2023-07-01T01:00:00Z");
    let site = Site::start(with_web(sample_config(), None), now, seed_with_extension);
    let admin = format!("/theo-doi/{}", signer().sign(nhacviec::links::MONITOR, now));
    // The weekly report every morning, so one can be made on each date.
    let mut config = sample_config();
    config.report = "0 0 7 * * *".into();

    for day in ["2022-06-30", "2022-12-31", "2023-06-30"] {
        let as_of = date(day);
        let dmy = as_of.format("%d/%m/%Y").to_string();

        // `status --totals`: lead assignments; the coordinators' rows apart.
        let status = env.json(&["status", "--now", day, "--totals"]);
        let t = &status["totals"];
        let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("{k} in {status}")) as usize;
        let states = [
            n("done_on_time"),
            n("done_late"),
            n("open"),
            n("overdue"),
            n("not_due"),
            n("undated"),
        ];
        assert_eq!(n("closed"), 0, "Plan 50 is not closed");
        let rows = env.json(&["status", "--now", day]);
        let rows = rows.as_array().unwrap();
        let counts = lead_counts(&Value::Array(rows.clone()));
        let of = |state: &str| counts.get(state).copied().unwrap_or(0);
        assert_eq!(status["lead"], states.iter().sum::<usize>());
        assert_eq!(
            status["lead"].as_u64().unwrap() + status["support"].as_u64().unwrap(),
            rows.len() as u64,
            "every row counted once, as lead or as coordinator"
        );
        assert_eq!(n("overdue"), of("open_overdue"));
        assert!(
            rows.iter().filter(|r| r["state"] == "open_overdue").count() > n("overdue"),
            "{day}: coordinators are late too, and not counted"
        );
        let printed = env.expect(0, &["status", "--now", day]);
        assert!(
            printed.contains(&format!(
                "Nhiệm vụ giao chủ trì ({} lượt): quá hạn {}; trong hạn {}; chưa đến hạn {}; \
                 không có hạn {}; hoàn thành đúng hạn {}; hoàn thành quá hạn {}; tỷ lệ đúng hạn {}.\n\
                 Phối hợp ({} lượt, không tính vào số liệu).",
                status["lead"],
                n("overdue"),
                n("open"),
                n("not_due"),
                n("undated"),
                n("done_on_time"),
                n("done_late"),
                rate_vi(&status["on_time_rate"]),
                status["support"]
            )),
            "{day}: {}",
            &printed[printed.len().saturating_sub(600)..]
        );

        // The dashboard, over HTTP: the plan's row (the only plan, so the totals).
        let (code, page) = site.get(&format!("{admin}?ngay={dmy}")).await;
        assert_eq!(code, 200, "{page}");
        let shown = page_row(&page, "Kế hoạch số 50/KH-UBND");
        let expected: Vec<String> = states
            .iter()
            .map(usize::to_string)
            .chain([rate_vi(&status["on_time_rate"]), n("confirmed").to_string()])
            .collect();
        assert_eq!(shown, expected, "{day}: the dashboard");

        // The workbook's summary: its "Tổng cộng" row.
        let out = env.cfg.join(format!("tinh-hinh-{day}.xlsx"));
        env.expect(
            0,
            &["export", "--as-of", day, "--out", out.to_str().unwrap()],
        );
        let mut wb = book(std::fs::read(&out).unwrap());
        let summary = wb.worksheet_range("Tổng hợp").unwrap();
        let header = row_of(&summary, "Kế hoạch").expect("the plans' header");
        let total = row_of(&summary, "Tổng cộng").expect("the totals' row");
        let cell = |name: &str| {
            let col = header.iter().position(|h| text(Some(h)) == name).unwrap();
            text(total.get(col))
        };
        assert_eq!(
            [
                "Hoàn thành đúng hạn",
                "Hoàn thành quá hạn",
                "Chưa hoàn thành, trong hạn",
                "Chưa hoàn thành, quá hạn",
                "Chưa đến hạn",
                "Không có hạn",
                "Tổng lượt giao",
            ]
            .map(cell)
            .to_vec(),
            states
                .iter()
                .chain([&states.iter().sum::<usize>()])
                .map(usize::to_string)
                .collect::<Vec<_>>(),
            "{day}: the workbook"
        );
        // The rate is a number shown as a percentage (empty when nothing has come due).
        let rate = cell("Tỷ lệ đúng hạn").parse::<f64>().ok();
        match status["on_time_rate"].as_f64() {
            Some(r) => assert!(
                rate.is_some_and(|x| (x - r).abs() < 1e-9),
                "{day}: {rate:?}"
            ),
            None => assert_eq!(rate, None, "{day}"),
        }
        assert_eq!(cell("Chưa xong khi KH kết thúc"), "0");

        // The weekly report made that morning: its subject and its plan's line.
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("nhacviec.db");
        drop(Store::open_writer(&db).unwrap());
        seed_with_extension(&db);
        let mut store = Store::open_writer(&db).unwrap();
        let day_before = (as_of - chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        store
            .put(&nhacviec::store::meta::WeeklyReportAt(None), &day_before)
            .unwrap();
        let morning = {
            use chrono::TimeZone;
            chrono_tz::Asia::Ho_Chi_Minh
                .from_local_datetime(&as_of.and_hms_opt(8, 0, 0).unwrap())
                .unwrap()
        };
        let engine = Engine::build(&config, as_of);
        assert_eq!(
            reports(&engine, &config, None, &mut store, morning).unwrap(),
            1
        );
        let report = store
            .history(Some("vp-ubnd-tinh"), None, 1)
            .unwrap()
            .remove(0);
        assert_eq!(
            report.subject,
            format!(
                "[Nhắc việc] Báo cáo tuần đến ngày {dmy}: {} quá hạn, {} đang trong hạn, {} đã \
                 hoàn thành (đúng hạn {})",
                n("overdue"),
                n("open"),
                n("done_on_time") + n("done_late"),
                rate_vi(&status["on_time_rate"])
            ),
            "{day}: the weekly report's subject"
        );
        let line = format!(
            "hoàn thành đúng hạn {}; hoàn thành quá hạn {}; chưa hoàn thành, trong hạn {}; chưa \
             hoàn thành, quá hạn {}; chưa đến hạn {}; không có hạn {}. Tỷ lệ đúng hạn: {}.",
            n("done_on_time"),
            n("done_late"),
            n("open"),
            n("overdue"),
            n("not_due"),
            n("undated"),
            rate_vi(&status["on_time_rate"])
        );
        assert!(
            report.body_text.contains(&line),
            "{day}: {line}\n{}",
            report.body_text
        );
    }
}

/// Every .eml the service wrote: (To addresses, subject, plain text).
fn mails(state: &std::path::Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(state.join("mail")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let to: Vec<String> = mail
            .to()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.address().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            to.join(", "),
            mail.subject().unwrap_or_default().to_string(),
            mail.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
        ));
    }
    out
}

/// A plan that names its own monitoring office (`[plan] monitor`): its escalations and its
/// weekly report go there, the reminders of its tasks tell agencies to report there, and the
/// settings' office's report leaves it out.
#[test]
fn a_plan_with_its_own_monitor_sends_its_escalations_and_weekly_report_there() {
    let env = Env::new();
    std::fs::write(
        env.cfg.join("plans/60-KH-UBND-2022.toml"),
        r#"
[plan]
number = "60/KH-UBND"
title = "Kế hoạch chuyển đổi số năm 2022"
issuer = "UBND tỉnh Hậu Giang"
issued = 2022-04-01
monitor = "Sở TT&TT"

[[task]]
id = "1"
title = "Số hóa hồ sơ lưu trữ của Sở Tài chính"
lead = ["so-tai-chinh"]
due = 2022-05-09
"#,
    )
    .unwrap();
    let check = env.expect(0, &["check"]);
    assert!(
        check.contains("Sở Thông tin và Truyền thông"),
        "check names the plan's office: {check}"
    );
    // Monday 16/05: Sở Tài chính is 7 days late (escalation); the first start notes the
    // report times. Monday 23/05: the reports go.
    env.expect(0, &["run", "--once", "--now", "2022-05-16T08:00:00+07:00"]);
    env.expect(0, &["run", "--once", "--now", "2022-05-23T08:00:00+07:00"]);
    let all = mails(&env.state());
    let to = |addr: &str| -> Vec<&(String, String, String)> {
        all.iter().filter(|m| m.0.contains(addr)).collect()
    };
    let report_to = |addr: &str| -> String {
        let r: Vec<_> = to(addr)
            .into_iter()
            .filter(|m| {
                m.1.starts_with("[Nhắc việc] Báo cáo tuần đến ngày 23/05/2022")
            })
            .collect();
        assert_eq!(r.len(), 1, "one weekly report to {addr}: {r:?}");
        r[0].2.clone()
    };
    let tttt = report_to("so-tttt@haugiang.example");
    assert!(tttt.contains("60/KH-UBND"), "{tttt}");
    assert!(tttt.contains("Sở Tài chính"), "{tttt}");
    assert!(!tttt.contains("50/KH-UBND"), "only its plan: {tttt}");
    let vp = report_to("vp-ubnd-tinh@haugiang.example");
    assert!(vp.contains("50/KH-UBND"), "{vp}");
    assert!(
        !vp.contains("60/KH-UBND"),
        "not the other office's plan: {vp}"
    );
    assert!(!vp.contains("Số hóa hồ sơ lưu trữ"), "{vp}");

    // The escalation about Sở Tài chính goes to Sở TT&TT, not to the Văn phòng.
    let escalated = |addr: &str| {
        to(addr).into_iter().any(|m| {
            m.2.contains("Các nhiệm vụ có cơ quan chủ trì chưa hoàn thành")
                && m.2.contains("Kế hoạch số 60/KH-UBND")
        })
    };
    assert!(escalated("so-tttt@haugiang.example"), "{all:?}");
    assert!(!escalated("vp-ubnd-tinh@haugiang.example"));
    // Sở Tài chính's reminder of that task says where to report (its digest holds a task of
    // each plan: each plan's tasks name their office).
    let reminder = to("so-tai-chinh@haugiang.example")
        .into_iter()
        .find(|m| m.2.contains("Số hóa hồ sơ lưu trữ"))
        .expect("a reminder of plan 60's task");
    assert!(
        reminder
            .2
            .contains("Báo cáo kết quả các nhiệm vụ trên về Sở Thông tin và Truyền thông."),
        "{}",
        reminder.2
    );
    // Made once each: a second pass that day makes neither again.
    env.expect(0, &["run", "--once", "--now", "2022-05-23T09:00:00+07:00"]);
    let again = mails(&env.state());
    let reports = |m: &Vec<(String, String, String)>| {
        m.iter()
            .filter(|x| x.1.starts_with("[Nhắc việc] Báo cáo tuần"))
            .count()
    };
    assert_eq!(reports(&again), reports(&all));
    let meta = nhacviec::store::Store::open_writer(&env.db()).unwrap();
    use nhacviec::store::meta::WeeklyReportAt;
    let day = chrono::NaiveDate::from_ymd_opt(2022, 5, 23);
    assert!(meta
        .get(&WeeklyReportAt(Some("so-tttt")))
        .unwrap()
        .is_some_and(|t| Some(t.date_naive()) == day));
    assert!(meta
        .get(&WeeklyReportAt(None))
        .unwrap()
        .is_some_and(|t| Some(t.date_naive()) == day));

    // `admin-link --agency` (by alias): a link signed for that office's plans only.
    env.edit("nhacviec.toml", |t| {
        format!("{t}\n[web]\npublic_url = \"https://nhacviec.example\"\n")
    });
    let secret = "a test secret that is long enough";
    let admin_link = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("nhacviec")
            .unwrap()
            .env("NHACVIEC_LINK_SECRET", secret)
            .env_remove("NHACVIEC_CONFIG")
            .arg("--config")
            .arg(&env.cfg)
            .arg("admin-link")
            .args(args)
            .args(["--now", "2022-05-23T09:00:00+07:00"])
            .output()
            .unwrap()
    };
    let out = admin_link(&["--agency", "Sở TT&TT"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let url = String::from_utf8(out.stdout).unwrap();
    let token = url
        .trim()
        .strip_prefix("https://nhacviec.example/theo-doi/")
        .unwrap();
    let signer = nhacviec::links::Signer {
        current: nhacviec::links::Key::new(secret).unwrap(),
        previous: None,
        days: 60,
    };
    let now = chrono::DateTime::parse_from_rfc3339("2022-05-23T10:00:00+07:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(
        signer.verify(token, now).unwrap().agency,
        nhacviec::links::monitor_scope("so-tttt")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("60/KH-UBND"));
    // An office that monitors no plan gets no link.
    let out = admin_link(&["--agency", "so-tai-chinh"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("không theo dõi kế hoạch nào"),
        "{out:?}"
    );
}
