//! `nhacviec export --format docx` on the shipped config, read back with python-docx.

use std::process::Command;

fn nhacviec() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nhacviec"));
    c.arg("--config")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    c
}

#[test]
fn the_report_of_plan_50_reads_back_with_its_format_and_the_status_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bao-cao.docx");
    let run = nhacviec()
        .args(["export", "--format", "docx", "--plan", "50/KH-UBND"])
        .args(["--as-of", "30/06/2022", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let status = nhacviec()
        .args(["status", "--plan", "50/KH-UBND", "--now", "2022-06-30"])
        .args(["--totals", "--format", "json"])
        .output()
        .unwrap();
    assert!(status.status.success());
    let totals: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let script = r#"
import docx, json, sys
d = docx.Document(sys.argv[1])
secs = [dict(w=round(s.page_width.mm), h=round(s.page_height.mm), top=round(s.top_margin.mm),
             bottom=round(s.bottom_margin.mm), left=round(s.left_margin.mm),
             right=round(s.right_margin.mm), landscape=int(s.orientation)) for s in d.sections]
runs = [r for p in d.paragraphs for r in p.runs if r.text.strip()]
fonts = sorted({r.font.name for r in runs})
sizes = sorted({r.font.size.pt for p in d.paragraphs if p.text.strip() for r in p.runs if r.text.strip()})
head = d.tables[0]
cells = [c.text for c in head.rows[0].cells]
bold = {r.text: bool(r.bold) for c in head.rows[0].cells for p in c.paragraphs for r in p.runs}
table1 = [[c.text for c in row.cells] for row in d.tables[1].rows]
print(json.dumps(dict(secs=secs, fonts=fonts, sizes=sizes, cells=cells, bold=bold,
    text="\n".join(p.text for p in d.paragraphs), table1=table1)))
"#;
    let py = Command::new("python3")
        .args(["-c", script])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    // A4 portrait body, landscape appendix; margins 20/20/30/20 mm.
    let secs = v["secs"].as_array().unwrap();
    assert_eq!(secs.len(), 2, "{secs:?}");
    for (s, landscape) in secs.iter().zip([0, 1]) {
        assert_eq!(s["landscape"], landscape, "{s}");
        let (w, h) = if landscape == 1 {
            (297, 210)
        } else {
            (210, 297)
        };
        assert_eq!(
            (s["w"].as_i64(), s["h"].as_i64()),
            (Some(w), Some(h)),
            "{s}"
        );
        assert_eq!(s["top"], 20);
        assert_eq!(s["bottom"], 20);
        assert_eq!(s["left"], 30);
        assert_eq!(s["right"], 20);
    }
    assert_eq!(v["fonts"], serde_json::json!(["Times New Roman"]));
    for s in v["sizes"].as_array().unwrap() {
        let pt = s.as_f64().unwrap();
        assert!((11.0..=14.0).contains(&pt), "{pt}");
    }
    // The header table: issuer in two lines (the office bold), number, Quốc hiệu, Tiêu ngữ.
    let cells = v["cells"].as_array().unwrap();
    let left = cells[0].as_str().unwrap();
    let right = cells[1].as_str().unwrap();
    assert!(left.starts_with("UBND TỈNH HẬU GIANG\nVĂN PHÒNG"), "{left}");
    assert!(left.contains("/BC-VPUBND"), "{left}");
    assert_eq!(v["bold"]["VĂN PHÒNG"], true);
    assert_eq!(v["bold"]["UBND TỈNH HẬU GIANG"], false);
    assert!(
        right.starts_with("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"),
        "{right}"
    );
    assert_eq!(v["bold"]["Độc lập - Tự do - Hạnh phúc"], true);
    assert!(right.contains("Hậu Giang, ngày"), "{right}");
    let text = v["text"].as_str().unwrap();
    for section in [
        "BÁO CÁO",
        "Tình hình thực hiện Kế hoạch số 50/KH-UBND ngày 24/03/2022",
        "Thời gian chốt số liệu: từ ngày 24/03/2022 đến ngày 30/06/2022.",
        "I. TÌNH HÌNH TRIỂN KHAI",
        "II. KẾT QUẢ THỰC HIỆN TRONG KỲ",
        "III. NHIỆM VỤ CHẬM TIẾN ĐỘ",
        "IV. GIA HẠN",
        "V. ĐỀ XUẤT, KIẾN NGHỊ",
        "PHỤ LỤC",
    ] {
        assert!(text.contains(section), "{section} missing");
    }
    // The figures are status's.
    let t = &totals["totals"];
    let n = |k: &str| t[k].as_u64().unwrap();
    let sentence = format!(
        "{} lượt giao cơ quan chủ trì; đã hoàn thành {} (đúng hạn {}, trễ hạn {}); chưa hoàn thành {} (trong hạn {}, quá hạn {}); chưa đến hạn {}; không có hạn {};",
        totals["lead"],
        n("done_on_time") + n("done_late"),
        n("done_on_time"),
        n("done_late"),
        n("open") + n("overdue"),
        n("open"),
        n("overdue"),
        n("not_due"),
        n("undated")
    );
    assert!(text.contains(&sentence), "{sentence}\n{text}");
    let table1 = v["table1"].as_array().unwrap();
    let total_row: Vec<String> = table1
        .last()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(total_row[0], "Tổng cộng");
    assert_eq!(total_row[1], totals["lead"].to_string());
    assert_eq!(total_row[5], n("overdue").to_string());
}

#[test]
fn bad_input_is_refused_in_vietnamese_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bc.docx");
    let cases: [(&[&str], &str); 4] = [
        (&["--plan", "99/KH"], "không có kế hoạch"),
        (
            &["--ky", "tuan", "--as-of", "30/06/2022"],
            "không có; dùng thang",
        ),
        (&["--ky", "thang", "--as-of", "30/06/2099"], "chưa đến"),
        (
            &[
                "--ky",
                "thang",
                "--as-of",
                "20/01/2022",
                "--plan",
                "50/KH-UBND",
            ],
            "trước khi kế hoạch được ban hành",
        ),
    ];
    for (args, says) in cases {
        let run = nhacviec()
            .args(["export", "--format", "docx"])
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!out.exists());
    }
    // A directory, and an existing file without --force.
    let run = nhacviec()
        .args([
            "export",
            "--format",
            "docx",
            "--as-of",
            "30/06/2022",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("là một thư mục"));
    std::fs::write(&out, b"giu nguyen").unwrap();
    let args = [
        "export",
        "--format",
        "docx",
        "--as-of",
        "30/06/2022",
        "--out",
    ];
    let run = nhacviec().args(args).arg(&out).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"giu nguyen");
    let run = nhacviec()
        .args(args)
        .arg(&out)
        .arg("--force")
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(std::fs::read(&out).unwrap().starts_with(b"PK"));
    // Nothing but the file itself was left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn every_sheet_of_the_workbook_prints_landscape_a4_one_page_wide_with_its_titles() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tinh-hinh.xlsx");
    let run = nhacviec()
        .args(["export", "--plan", "50/KH-UBND", "--as-of", "30/06/2022"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let script = r#"
import openpyxl, json, sys
wb = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in wb.worksheets:
    out.append(dict(name=ws.title, orientation=ws.page_setup.orientation,
        paper=int(ws.page_setup.paperSize), fit=bool(ws.sheet_properties.pageSetUpPr.fitToPage),
        width=ws.page_setup.fitToWidth, height=ws.page_setup.fitToHeight,
        titles=ws.print_title_rows, footer=ws.oddFooter.center.text,
        title=ws.cell(row=1, column=1).value, header=ws.cell(row=2, column=1).value))
print(json.dumps(out))
"#;
    let py = Command::new("python3")
        .args(["-c", script])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    let sheets = v.as_array().unwrap();
    assert_eq!(sheets.len(), 2, "{v}");
    for s in sheets {
        assert_eq!(s["orientation"], "landscape", "{s}");
        assert_eq!(s["paper"], 9, "{s}");
        assert_eq!(s["fit"], true, "{s}");
        // fitToWidth is 1 when absent (ECMA-376): rust_xlsxwriter writes it only otherwise.
        assert_eq!(s["width"].as_i64().unwrap_or(1), 1, "{s}");
        assert_eq!(s["height"], 0, "{s}");
        assert_eq!(s["footer"], "Trang &P/&N", "{s}");
        let title = s["title"].as_str().unwrap();
        assert!(title.contains("30/06/2022"), "{s}");
    }
    let (summary, plan) = (&sheets[0], &sheets[1]);
    assert_eq!(summary["name"], "Tổng hợp");
    assert!(summary["title"].as_str().unwrap().starts_with("Tổng hợp"));
    assert_eq!(summary["titles"], "$1:$1");
    assert_eq!(plan["name"], "KH 50-KH-UBND");
    assert!(
        plan["title"].as_str().unwrap().contains("Kế hoạch số 50"),
        "{plan}"
    );
    assert_eq!(plan["header"], "Kế hoạch");
    assert_eq!(plan["titles"], "$1:$2");
}

/// LibreOffice (Debian `libreoffice-writer-nogui`, installed by scripts/test) converts the
/// report of Plan 50 as of 30/06/2022 to PDF; poppler's `pdfinfo` finds a two- to four-page
/// portrait A4 body, then the landscape appendix.
#[test]
fn libreoffice_prints_plan_50_as_a_two_to_four_page_body_and_a_landscape_appendix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bao-cao.docx");
    let run = nhacviec()
        .args(["export", "--format", "docx", "--plan", "50/KH-UBND"])
        .args(["--as-of", "30/06/2022", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // A profile of its own: a LibreOffice already running elsewhere is not disturbed.
    let profile = format!("-env:UserInstallation=file://{}/lo", dir.path().display());
    let convert = Command::new("soffice")
        .arg(&profile)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(&out)
        .output()
        .expect("soffice (libreoffice-writer-nogui; scripts/test installs it)");
    let pdf = dir.path().join("bao-cao.pdf");
    assert!(
        convert.status.success() && pdf.exists(),
        "{}{}",
        String::from_utf8_lossy(&convert.stdout),
        String::from_utf8_lossy(&convert.stderr)
    );
    let info = Command::new("pdfinfo")
        .args(["-f", "1", "-l", "10000"])
        .arg(&pdf)
        .output()
        .expect("pdfinfo (poppler-utils; scripts/test installs it)");
    assert!(info.status.success());
    let info = String::from_utf8_lossy(&info.stdout);
    // "Page    1 size:  595.304 x 841.89 pts (A4)": portrait when narrower than tall.
    let portrait: Vec<bool> = info
        .lines()
        .filter(|l| l.starts_with("Page ") && l.contains(" size: "))
        .map(|l| {
            let dims: Vec<f64> = l
                .split_once(" size: ")
                .unwrap()
                .1
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            assert!(l.contains("(A4)"), "{l}");
            dims[0] < dims[1]
        })
        .collect();
    let body = portrait.iter().take_while(|p| **p).count();
    assert!((2..=4).contains(&body), "{body} body pages:\n{info}");
    let appendix = &portrait[body..];
    assert!(
        !appendix.is_empty() && appendix.iter().all(|p| !p),
        "the appendix is landscape to the end:\n{info}"
    );
}
