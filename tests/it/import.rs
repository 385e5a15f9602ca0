//! `nhacviec import`: the Plan 50 text and the same plan as a .docx give what the hand-written
//! config says; other layouts (tables, shared lines, colon lists) read task by task; garbage
//! is refused and nothing is written.

use crate::support::{copy_dir, repo};

use assert_cmd::Command;
use nhacviec::import::{import, split_agencies, Names};
use serde_json::Value;
use std::fs;
use std::io::Write;
use std::path::Path;

/// The plan text (a copy of shared/plan/, so the tests need nothing outside the repository).
const PLAN_50: &str = "tests/data/ke-hoach-50-KH-UBND-2022-hau-giang.txt";

fn plan_50_text() -> Vec<u8> {
    fs::read(repo().join(PLAN_50)).unwrap()
}

fn sample_config() -> nhacviec::config::Config {
    nhacviec::config::load(&repo().join("config")).config
}

fn check_tasks(config_dir: &Path) -> Vec<Value> {
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .arg("--config")
        .arg(config_dir)
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["tasks"].as_array().unwrap().clone()
}

/// What must agree between an imported and a hand-written plan.
fn essence(t: &Value) -> Value {
    let mut deadline = t["deadline"].clone();
    if deadline["kind"] == "recurring" {
        // 10.1 "Theo định kỳ": the hand-written file adds the reporting rule the text lacks.
        deadline = serde_json::json!({"kind": "recurring"});
    }
    serde_json::json!({"id": t["id"], "lead": t["lead"], "support": t["support"], "deadline": deadline})
}

#[test]
fn plan_50_text_imports_like_the_hand_written_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let draft = cfg.join("plans/50-KH-UBND-2022.toml");
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .current_dir(repo())
        .args(["import", PLAN_50, "--out"])
        .arg(&draft)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("Đã đọc 30 nhiệm vụ"), "{summary}");
    assert!(
        summary.contains("các đơn vị liên quan"),
        "the vague name is reported: {summary}"
    );
    let text = fs::read_to_string(&draft).unwrap();
    assert!(text.contains("number = \"50/KH-UBND\""), "{text}");
    assert!(text.contains("issued = 2022-03-24"), "{text}");
    assert!(text.contains("issuer = \"UBND tỉnh Hậu Giang\""), "{text}");
    assert!(text.contains("title = \"Kế hoạch Kiểm soát thủ tục hành chính, thực hiện cơ chế một cửa, một cửa liên thông và chuyển đổi số năm 2022\""), "{text}");
    assert!(
        text.contains("# CẦN XEM: \"các đơn vị liên quan\""),
        "{text}"
    );
    let imported: Vec<Value> = check_tasks(&cfg).iter().map(essence).collect();
    let hand: Vec<Value> = check_tasks(&repo().join("config"))
        .iter()
        .map(essence)
        .collect();
    assert_eq!(imported.len(), hand.len());
    for (a, b) in imported.iter().zip(&hand) {
        assert_eq!(a, b);
    }
}

/// A minimal .docx: each line a paragraph, lines with `|` as one table.
fn docx(text: &str) -> Vec<u8> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let para = |s: &str| {
        format!(
            "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
            esc(s)
        )
    };
    let mut body = String::new();
    let mut rows: Vec<String> = Vec::new();
    let flush = |rows: &mut Vec<String>, body: &mut String| {
        if !rows.is_empty() {
            body.push_str(&format!("<w:tbl>{}</w:tbl>", rows.join("")));
            rows.clear();
        }
    };
    for line in text.lines() {
        if line.matches('|').count() >= 2 {
            let cells: String = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|c| format!("<w:tc>{}</w:tc>", para(c.trim())))
                .collect();
            rows.push(format!("<w:tr>{cells}</w:tr>"));
        } else {
            flush(&mut rows, &mut body);
            body.push_str(&para(line));
        }
    }
    flush(&mut rows, &mut body);
    let document = format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>");
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("[Content_Types].xml", opts).unwrap();
    zip.write_all(b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>").unwrap();
    zip.start_file("word/document.xml", opts).unwrap();
    zip.write_all(document.as_bytes()).unwrap();
    zip.finish().unwrap();
    buf.into_inner()
}

/// (id, lead, support, time) of each imported task.
type TaskSummary = (String, Vec<String>, Vec<String>, Option<String>);

fn summary_of(i: &nhacviec::import::Import) -> Vec<TaskSummary> {
    i.tasks
        .iter()
        .map(|t| {
            (
                t.id.clone(),
                t.lead.iter().map(|(n, _)| n.clone()).collect(),
                t.support.iter().map(|(n, _)| n.clone()).collect(),
                t.time.clone(),
            )
        })
        .collect()
}

#[test]
fn the_same_plan_as_docx_imports_identically() {
    let config = sample_config();
    let text = String::from_utf8(plan_50_text()).unwrap();
    let from_text = import(text.as_bytes(), &config).unwrap();
    let from_docx = import(&docx(&text), &config).unwrap();
    assert_eq!(summary_of(&from_text), summary_of(&from_docx));
    assert_eq!(from_text.draft.number, from_docx.draft.number);
    assert_eq!(from_text.draft.issued, from_docx.draft.issued);
}

#[test]
fn a_plan_laid_out_as_a_table() {
    let doc = "ỦY BAN NHÂN DÂN TỈNH HẬU GIANG\nSố: 12/KH-UBND\nHậu Giang, ngày 10 tháng 1 năm 2023\nKẾ HOẠCH\nKiểm soát thủ tục hành chính năm 2023\nPhụ lục\n\
| STT | Nội dung nhiệm vụ | Cơ quan chủ trì | Cơ quan phối hợp | Thời gian hoàn thành |\n\
|---|---|---|---|---|\n\
| I | CÔNG BỐ, CÔNG KHAI THỦ TỤC HÀNH CHÍNH | | | |\n\
| 1 | Công bố danh mục thủ tục hành chính | Văn phòng UBND tỉnh | Sở, Ban, ngành tỉnh | Quý I/2023 |\n\
| 2 | Rà soát quy trình nội bộ | các Sở: Tư pháp, Tài chính | Văn phòng UBND tỉnh | Quý III, IV/2023 |\n\
| 3 | Tuyên truyền | Sở Thông tin và Truyền thông | Báo Hậu Giang, Đài Phát thanh và Truyền hình Hậu Giang | Thường xuyên |\n";
    let i = import(doc.as_bytes(), &sample_config()).unwrap();
    assert_eq!(i.draft.number.as_deref(), Some("12/KH-UBND"));
    assert_eq!(
        i.draft.title.as_deref(),
        Some("Kế hoạch Kiểm soát thủ tục hành chính năm 2023")
    );
    let s = summary_of(&i);
    assert_eq!(s.len(), 3);
    assert_eq!(
        s[0],
        (
            "1".into(),
            vec!["Văn phòng UBND tỉnh".into()],
            vec!["Sở, Ban, ngành tỉnh".into()],
            Some("Quý I/2023".into())
        )
    );
    assert_eq!(
        s[1].1,
        vec!["Sở Tư pháp".to_string(), "Sở Tài chính".to_string()]
    );
    assert_eq!(
        s[2].2,
        vec![
            "Báo Hậu Giang".to_string(),
            "Đài Phát thanh và Truyền hình Hậu Giang".to_string()
        ]
    );
    assert!(
        i.tasks[1].reading.contains("31/12/2023"),
        "{}",
        i.tasks[1].reading
    );
    // The same table in a .docx.
    let d = import(&docx(doc), &sample_config()).unwrap();
    assert_eq!(summary_of(&d), s);
}

#[test]
fn shared_lines_unnumbered_items_and_lists() {
    let doc = "Số: 7/KH-UBND\nCần Thơ, ngày 2 tháng 2 năm 2023\nII. NỘI DUNG, NHIỆM VỤ\n\
1. Về kiểm soát quy định\nRà soát các quy định có thủ tục hành chính.\n\
- Cơ quan chủ trì: Sở Tư pháp.\n- Cơ quan phối hợp: Sở, Ban ngành tỉnh; UBND cấp huyện, UBND cấp xã.\n- Thời gian: Trước ngày 15/12/2023.\n\
2. Về số hóa\n2.1. Số hóa hồ sơ.\n2.2. Tái sử dụng kết quả số hóa.\n\
- Cơ quan chủ trì các nhiệm vụ: Sở, Ban, ngành tỉnh.\n- Thời gian: Quý II-III/2023.\n\
3. Về kiểm tra\nXây dựng kế hoạch kiểm tra.\n- Cơ quan chủ trì: Sở Nội vụ.\n- Thời gian: Quý I/2023.\n\
3.2. Tổ chức kiểm tra.\n- Cơ quan chủ trì: Sở Nội vụ.\n- Cơ quan phối hợp: các Sở: Tài chính, Khoa học và Công nghệ.\n- Thời gian: 6 tháng cuối năm 2023.\n\
Một dòng lạc đề không thuộc nhiệm vụ nào.\n";
    let i = import(doc.as_bytes(), &sample_config()).unwrap();
    let s = summary_of(&i);
    let ids: Vec<&str> = s.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(ids, ["1", "2.1", "2.2", "3.1", "3.2"]);
    assert_eq!(
        s[0].2,
        vec![
            "Sở, Ban ngành tỉnh".to_string(),
            "UBND cấp huyện".into(),
            "UBND cấp xã".into()
        ]
    );
    assert_eq!(s[1].1, vec!["Sở, Ban, ngành tỉnh".to_string()]);
    assert_eq!(s[2].3.as_deref(), Some("Quý II-III/2023"));
    assert_eq!(
        s[4].2,
        vec![
            "Sở Tài chính".to_string(),
            "Sở Khoa học và Công nghệ".into()
        ]
    );
    assert!(i
        .draft
        .not_understood
        .iter()
        .any(|(_, t)| t.starts_with("Một dòng lạc đề")));
    assert!(i.tasks.iter().all(|t| !t.reading.starts_with("KHÔNG")));
}

#[test]
fn agency_lists_split_as_the_plan_writes_them() {
    let names = Names::of(&sample_config());
    let got = |s: &str| split_agencies(s, &names);
    assert_eq!(
        got("Sở, Ban, ngành tỉnh; UBND cấp huyện"),
        vec![
            ("Sở, Ban, ngành tỉnh".into(), true),
            ("UBND cấp huyện".into(), true)
        ]
    );
    assert_eq!(
        got("Văn phòng UBND tỉnh, Sở Thông tin và Truyền thông"),
        vec![
            ("Văn phòng UBND tỉnh".into(), true),
            ("Sở Thông tin và Truyền thông".into(), true)
        ]
    );
    assert_eq!(
        got("Sở Ngoại vụ, Sở Tư pháp"),
        vec![("Sở Ngoại vụ".into(), false), ("Sở Tư pháp".into(), true)]
    );
}

#[test]
fn garbage_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("draft.toml");
    for (name, bytes) in [
        ("empty.txt", b"".to_vec()),
        ("binary.bin", vec![0u8, 159, 146, 150, 0, 1, 2]),
        ("scan.pdf", b"%PDF-1.4\n...".to_vec()),
        (
            "notes.txt",
            "Một văn bản không có nhiệm vụ nào.\nChỉ có lời.\n"
                .as_bytes()
                .to_vec(),
        ),
    ] {
        let input = tmp.path().join(name);
        fs::write(&input, bytes).unwrap();
        let out = Command::cargo_bin("nhacviec")
            .unwrap()
            .current_dir(repo())
            .arg("import")
            .arg(&input)
            .arg("--out")
            .arg(&out_path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("lỗi:"),
            "{name}"
        );
        assert!(!out_path.exists(), "{name}: nothing written");
    }
}

#[test]
fn more_styles_other_provinces_use() {
    let config = sample_config();
    // Items numbered "1.", "2." only; a title with "Phối hợp ...:"; lettered sub-items;
    // three-level numbering; a scoped range; "(chủ trì)" markers; a cited document's date.
    let doc = "Số: 3/KH-UBND\nAn Giang, ngày 5 tháng 1 năm 2023\nII. NHIỆM VỤ\n\
1. Kết nối hệ thống định danh.\n- Cơ quan chủ trì: Công an tỉnh.\n- Thời gian: Quý II/2023.\n\
2. Phối hợp kiểm tra: tại các huyện.\n- Cơ quan chủ trì: Sở Nội vụ (chủ trì), Sở Tư pháp.\n- Thời gian: Quý III/2023.\n\
3. Về rà soát\na) Rà soát quy định.\n- Cơ quan chủ trì: Sở Tư pháp.\n- Thời gian: Trước ngày 30/6/2023.\nb) Rà soát quy trình.\n- Cơ quan chủ trì: Sở Nội vụ.\n- Thời gian: Quý IV/2023.\n\
4. Về số hóa\n4.1. Số hóa\n4.1.1. Số hóa hồ sơ.\n4.1.2. Số hóa kết quả.\n\
4.2. Lưu trữ.\n4.3. Khai thác.\n- Cơ quan chủ trì Mục 4.1.1 đến 4.1.2: Sở Thông tin và Truyền thông.\n- Cơ quan chủ trì Mục 4.2 - 4.3: Văn phòng UBND tỉnh.\n- Thời gian: Năm 2023.\n\
III. KINH PHÍ\nKinh phí do ngân sách bảo đảm.\nIV. TỔ CHỨC THỰC HIỆN\n\
1. Sở Tư pháp căn cứ Quyết định số 12/QĐ-UBND ngày 10/01/2023 xây dựng kế hoạch trước ngày 15/12/2023.\n";
    let i = import(doc.as_bytes(), &config).unwrap();
    let s = summary_of(&i);
    let ids: Vec<&str> = s.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        ids,
        ["1", "2", "3.a", "3.b", "4.1.1", "4.1.2", "4.2", "4.3", "IV.1"],
        "{s:#?}"
    );
    assert_eq!(s[0].1, vec!["Công an tỉnh".to_string()]);
    assert_eq!(s[1].1, vec!["Sở Nội vụ".to_string(), "Sở Tư pháp".into()]);
    assert_eq!(
        (s[2].1.clone(), s[2].3.clone()),
        (
            vec!["Sở Tư pháp".to_string()],
            Some("Trước ngày 30/6/2023".into())
        )
    );
    assert_eq!(
        (s[3].1.clone(), s[3].3.clone()),
        (vec!["Sở Nội vụ".to_string()], Some("Quý IV/2023".into()))
    );
    assert_eq!(s[4].1, vec!["Sở Thông tin và Truyền thông".to_string()]);
    assert_eq!(s[5].1, vec!["Sở Thông tin và Truyền thông".to_string()]);
    assert_eq!(s[6].1, vec!["Văn phòng UBND tỉnh".to_string()]);
    assert_eq!(s[7].1, vec!["Văn phòng UBND tỉnh".to_string()]);
    assert!(s[4..8].iter().all(|t| t.3.as_deref() == Some("Năm 2023")));
    assert_eq!(
        s[8].3.as_deref(),
        Some("trước ngày 15/12/2023"),
        "not the cited decision's date"
    );
}

#[test]
fn merged_table_cells_in_a_docx() {
    // Word marks a vertically merged cell with <w:vMerge/> and leaves the later ones empty.
    let cell = |t: &str, merge: Option<&str>| {
        let m = match merge {
            Some("restart") => "<w:tcPr><w:vMerge w:val=\"restart\"/></w:tcPr>",
            Some(_) => "<w:tcPr><w:vMerge/></w:tcPr>",
            None => "",
        };
        format!("<w:tc>{m}<w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>")
    };
    let row = |cells: Vec<String>| format!("<w:tr>{}</w:tr>", cells.join(""));
    let table = format!(
        "<w:tbl>{}{}{}{}</w:tbl>",
        row(vec![
            cell("STT", None),
            cell("Nội dung", None),
            cell("Cơ quan chủ trì", None),
            cell("Thời gian", None)
        ]),
        row(vec![
            cell("1", None),
            cell("Kết nối", None),
            cell("Sở Tư pháp", Some("restart")),
            cell("Quý I/2023", None)
        ]),
        row(vec![
            cell("2", None),
            cell("Số hóa", None),
            cell("", Some("cont")),
            cell("Quý II/2023", Some("restart"))
        ]),
        row(vec![
            cell("3", None),
            cell("Lưu trữ", None),
            cell("", Some("cont")),
            cell("", Some("cont"))
        ]),
    );
    let document = format!("<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>Số: 1/KH-UBND</w:t></w:r></w:p>{table}</w:body></w:document>");
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    zip.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.write_all(document.as_bytes()).unwrap();
    zip.finish().unwrap();
    let i = import(&buf.into_inner(), &sample_config()).unwrap();
    let s = summary_of(&i);
    assert_eq!(s.len(), 3, "{s:#?}");
    assert!(
        s.iter().all(|t| t.1 == vec!["Sở Tư pháp".to_string()]),
        "{s:#?}"
    );
    assert_eq!(s[2].3.as_deref(), Some("Quý II/2023"));
}

#[test]
fn import_refuses_a_fifo_or_a_device_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("plan.docx");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    for path in [fifo.as_path(), std::path::Path::new("/dev/zero")] {
        let out = Command::cargo_bin("nhacviec")
            .unwrap()
            .current_dir(repo())
            .arg("import")
            .arg(path)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{path:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("không phải tệp thường"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A document past 64 MB is refused from its size, unread (a sparse file: nothing is written).
#[test]
fn a_document_over_64_mb_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join("ke-hoach.docx");
    fs::File::create(&doc).unwrap().set_len(64_000_001).unwrap();
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .arg("--config")
        .arg(repo().join("config"))
        .arg("import")
        .arg(&doc)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("64 MB"), "{err}");
    assert!(out.stdout.is_empty());
}
