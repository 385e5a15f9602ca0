//! `nhacviec check` end to end: exit codes, the JSON report over the shipped Plan 50, and
//! diagnostics that point at the right file, line and column.

use crate::support::{copy_dir, repo};

use assert_cmd::Command;
use std::fs;
use std::path::Path;

fn nhacviec() -> Command {
    let mut cmd = Command::cargo_bin("nhacviec").unwrap();
    cmd.current_dir(repo()).env_remove("NHACVIEC_CONFIG");
    cmd
}

/// A copy of the shipped config in a temporary directory, to break on purpose.
fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), dir.path());
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// 1-based line of the first occurrence of `needle` in a file.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = fs::read_to_string(path).unwrap();
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {}", path.display()));
    text[..at].matches('\n').count() + 1
}

/// The messages of `json[key]` ("errors" or "warnings").
fn messages_of(json: &serde_json::Value, key: &str) -> Vec<String> {
    json[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

fn check_json(dir: &Path) -> (i32, serde_json::Value) {
    let out = nhacviec()
        .arg("--config")
        .arg(dir)
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).expect("check --format json prints JSON");
    (out.status.code().unwrap(), json)
}

#[test]
fn shipped_config_is_clean() {
    let out = nhacviec().arg("check").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("  8.6   Tháng 3/2022  →  hạn 31/03/2022\n"),
        "{text}"
    );
    assert!(
        text.contains("theo cấp: cấp tỉnh 31/05/2022; cấp huyện 30/11/2022; cấp xã 31/05/2023"),
        "{text}"
    );
    assert!(text.contains("0 lỗi, 0 cảnh báo"), "{text}");
}

#[test]
fn plan_50_json_snapshot() {
    let out = nhacviec()
        .args(["--config", "config", "check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_json_snapshot!("plan_50_check", json);
}

#[test]
fn config_from_environment_variable() {
    let dir = sample_copy();
    let out = nhacviec()
        .env("NHACVIEC_CONFIG", dir.path())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let missing = nhacviec()
        .env("NHACVIEC_CONFIG", "/nonexistent/nhacviec")
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("không tìm thấy thư mục cấu hình"));
}

#[test]
fn misspelt_agency_points_at_its_line_with_a_suggestion() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(
        &plan,
        "lead = [\"Công an tỉnh\", \"Sở Thông tin và Truyền thông\"]",
        "lead = [\"Công an tỉnh\", \"Sở Thông tin và Truyền thôn\"]",
    );
    let line = line_of(&plan, "Truyền thôn\"]");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let err = &json["errors"][0];
    assert_eq!(err["line"], line);
    assert_eq!(err["column"], 25, "{err}");
    assert!(err["file"]
        .as_str()
        .unwrap()
        .ends_with("plans/50-KH-UBND-2022.toml"));
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("Sở Thông tin và Truyền thôn"));
    assert!(err["help"]
        .as_str()
        .unwrap()
        .contains("có phải là \"Sở Thông tin và Truyền thông\""));
}

#[test]
fn toml_syntax_and_unknown_keys_are_located() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(
        &plan,
        "time = \"Tháng 3/2022\"",
        "time = \"Tháng 3/2022\"\ndeadline = 2022-03-31",
    );
    let line = line_of(&plan, "deadline = 2022");
    let out = nhacviec()
        .arg("--config")
        .arg(dir.path())
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("50-KH-UBND-2022.toml:{line}:1\n")),
        "{text}"
    );
    assert!(
        text.contains("khóa `deadline` không được dùng ở đây"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{line} | deadline = 2022-03-31\n")),
        "{text}"
    );

    let agencies = dir.path().join("agencies.toml");
    edit(&agencies, "name = \"Sở Tư pháp\"", "name = \"Sở Tư pháp");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let errors = json["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["file"].as_str().unwrap().ends_with("agencies.toml")
                && e["line"] == line_of(&agencies, "name = \"Sở Tư pháp")),
        "{errors:?}"
    );
}

#[test]
fn unreadable_time_is_an_error_at_the_word_unless_due_is_given() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(&plan, "time = \"Quý I/2022\"", "time = \"Quý V/2022\"");
    let line = line_of(&plan, "Quý V/2022");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let err = &json["errors"][0];
    assert_eq!(
        (err["line"].as_u64(), err["column"].as_u64()),
        (Some(line as u64), Some(13)),
        "{err}"
    );
    assert!(err["message"].as_str().unwrap().contains("Quý V"), "{err}");

    edit(
        &plan,
        "time = \"Quý V/2022\"",
        "time = \"Quý V/2022\"\ndue = 2022-03-31",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 0, "{json}");
    let task = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "9.1")
        .unwrap();
    assert_eq!(task["deadline"]["due"], "2022-03-31");
}

#[test]
fn warnings_exit_zero_unless_denied() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    // The year left out is the plan's year: a warning, not an error.
    edit(&plan, "time = \"Tháng 6/2022\"", "time = \"trong tháng 6\"");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 0);
    let w = json["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w["message"]
            .as_str()
            .unwrap()
            .contains("năm của kế hoạch (2022)")),
        "{w:?}"
    );
    let task = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "8.7")
        .unwrap();
    assert_eq!(task["deadline"]["due"], "2022-06-30");
    let denied = nhacviec()
        .arg("--config")
        .arg(dir.path())
        .args(["check", "--deny-warnings"])
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn agency_errors() {
    let dir = sample_copy();
    let agencies = dir.path().join("agencies.toml");
    edit(
        &agencies,
        "email = [\"so-tu-phap@haugiang.example\"]",
        "email = [\"so-tu-phap@\"]",
    );
    edit(
        &agencies,
        "zalo_phone = \"0900000001\"",
        "zalo_phone = \"12345\"",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let messages = messages_of(&json, "errors");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("email \"so-tu-phap@\" không hợp lệ")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("số điện thoại Zalo \"12345\" không hợp lệ")),
        "{messages:?}"
    );
}

#[test]
fn groups_that_contain_themselves_and_contactless_agencies() {
    let dir = sample_copy();
    let agencies = dir.path().join("agencies.toml");
    let mut text = fs::read_to_string(&agencies).unwrap();
    text.push_str("\n[[group]]\nid = \"vong-a\"\nname = \"Vòng A\"\nmembers = [\"vong-b\"]\n\n[[group]]\nid = \"vong-b\"\nname = \"Vòng B\"\nmembers = [\"vong-a\", \"so-tu-phap\"]\n");
    text.push_str("\n[[agency]]\nid = \"so-moi\"\nname = \"Sở Mới\"\nlevel = \"tinh\"\n");
    text.push_str("\n[[agency]]\nid = \"so-tu-phap\"\nname = \"Sở Tư pháp 2\"\nlevel = \"tinh\"\nemail = [\"a@b.example\"]\n");
    fs::write(&agencies, text).unwrap();
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let messages = messages_of(&json, "errors");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("nhóm chứa chính nó: vong-a → vong-b → vong-a")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("\"Sở Mới\" không có cách liên lạc nào")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("\"so-tu-phap\" bị trùng")),
        "{messages:?}"
    );
    let warnings = messages_of(&json, "warnings");
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("không nhiệm vụ nào nhắc đến cơ quan \"Sở Mới\"")),
        "{warnings:?}"
    );
}

#[test]
fn duplicate_task_ids_and_deadlines_before_the_plan() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(&plan, "id = \"8.7\"", "id = \"8.6\"");
    edit(&plan, "time = \"Quý I/2022\"", "time = \"Tháng 2/2022\"");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    assert!(json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("nhiệm vụ \"8.6\" bị trùng mã")));
    assert!(json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("hạn 28/02/2022 của nhiệm vụ 9.1 trước ngày ban hành")));
}

#[test]
fn periodic_without_recurrence_is_a_warning() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    let text = fs::read_to_string(&plan).unwrap();
    let start = text.find("recurrence = ").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    fs::write(&plan, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 0);
    assert!(json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["message"].as_str().unwrap().contains("10.1")));
    edit(
        &plan,
        "time = \"Theo định kỳ\"",
        "time = \"Theo định kỳ\"\nrecurrence = \"FREQ=SOMETIMES\"",
    );
    let (code, _) = check_json(dir.path());
    assert_eq!(code, 1);
}

#[test]
fn bad_timezone_and_wrong_types() {
    let dir = sample_copy();
    edit(
        &dir.path().join("nhacviec.toml"),
        "timezone = \"Asia/Ho_Chi_Minh\"",
        "timezone = \"Asia/Hanoi\"",
    );
    edit(
        &dir.path().join("plans/50-KH-UBND-2022.toml"),
        "id = \"8.6\"",
        "id = 8.6",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let messages = messages_of(&json, "errors");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("múi giờ \"Asia/Hanoi\" không tồn tại")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("cần chuỗi") && m.contains("số thực")),
        "{messages:?}"
    );
}

#[test]
fn a_date_in_quotes_says_how_to_write_it_and_hides_nothing_else() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(&plan, "issued = 2022-03-24", "issued = \"24/3/2022\"");
    // Another type error, and a semantic one, further down the same file.
    edit(
        &plan,
        "lead = [\"Văn phòng UBND tỉnh\"]",
        "lead = \"Văn phòng UBND tỉnh\"",
    );
    edit(&plan, "lead = [\"Sở Nội vụ\"]", "lead = [\"Sở Nội vụu\"]");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let errors = json["errors"].as_array().unwrap();
    let help = |needle: &str| {
        errors
            .iter()
            .find(|e| e["message"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {errors:?}"))["help"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        help("chuỗi \"24/3/2022\""),
        "ngày viết dạng 2026-06-15 (không có dấu ngoặc kép); ở đây: 2022-03-24"
    );
    assert!(help("cần danh sách").contains("[\"Sở Nội vụ\", \"Sở Tư pháp\"]"));
    assert!(!help("Sở Nội vụu").is_empty());
    assert_eq!(errors.len(), 3, "{errors:?}");
    // The plan is read with the date meant, and counted.
    assert_eq!(json["plans"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["plans"][0]["issued"], "2022-03-24", "{json}");
}

#[test]
fn a_plan_saved_decomposed_reads_as_composed() {
    use unicode_normalization::UnicodeNormalization;
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    let nfd: String = fs::read_to_string(&plan).unwrap().nfd().collect();
    assert!(nfd.contains("Sở Nội vụ".nfd().collect::<String>().as_str()));
    assert!(!nfd.contains("Sở Nội vụ"));
    fs::write(&plan, nfd).unwrap();
    // Every lead and support name resolves as before: no error, no warning.
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 0, "{json}");
    assert!(messages_of(&json, "warnings").is_empty(), "{json}");
    let title = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "9.1")
        .unwrap()["title"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        title.starts_with("Xây dựng, ban hành Kế hoạch tuyên truyền"),
        "{title}"
    );
    let out = nhacviec()
        .arg("--config")
        .arg(dir.path())
        .args(["status", "--now", "2022-05-25", "--agency", "Sở Nội vụ"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("9.1"), "{text}");
    assert_eq!(text.nfc().collect::<String>(), text, "output in NFC");
}

#[test]
fn web_without_the_link_secret_is_a_warning() {
    let dir = sample_copy();
    let settings = dir.path().join("nhacviec.toml");
    let text = fs::read_to_string(&settings).unwrap()
        + "\n[web]\nlisten = \"127.0.0.1:8088\"\npublic_url = \"https://nhacviec.example.vn\"\n";
    fs::write(&settings, text).unwrap();
    let check = |secret: Option<&str>| {
        let mut cmd = nhacviec();
        cmd.env_remove("NHACVIEC_LINK_SECRET")
            .env_remove("CREDENTIALS_DIRECTORY");
        if let Some(s) = secret {
            cmd.env("NHACVIEC_LINK_SECRET", s);
        }
        let out = cmd
            .arg("--config")
            .arg(dir.path())
            .args(["check", "--format", "json"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), json)
    };
    let (code, json) = check(None);
    assert_eq!(code, 0, "a warning: {json}");
    let warnings = json["warnings"].as_array().unwrap();
    let w = warnings
        .iter()
        .find(|w| {
            w["message"]
                .as_str()
                .unwrap()
                .contains("chưa có khóa ký liên kết")
        })
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("không kèm liên kết"),
        "{w}"
    );
    assert!(
        w["file"].as_str().unwrap().ends_with("nhacviec.toml"),
        "{w}"
    );
    assert!(
        w["help"].as_str().unwrap().contains("openssl rand -hex 32"),
        "{w}"
    );
    let (_, json) = check(Some("0123456789abcdef0123456789abcdef"));
    assert!(
        !json["warnings"].to_string().contains("khóa ký liên kết"),
        "{json}"
    );
}

#[test]
fn a_broken_agencies_file_is_one_error_not_a_flood() {
    let dir = sample_copy();
    edit(
        &dir.path().join("agencies.toml"),
        "zalo_phone = \"0900000002\"",
        "zalo_phone = 0900000002",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let errors = messages_of(&json, "errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("không được bắt đầu bằng 0"),
        "{errors:?}"
    );
    assert!(messages_of(&json, "warnings").is_empty());
}

#[test]
fn a_plan_date_with_a_time_still_checks_the_tasks() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(&plan, "issued = 2022-03-24", "issued = 2022-03-24T08:00:00");
    edit(&plan, "time = \"Quý I/2022\"", "time = \"Quý V/2022\"");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let errors = messages_of(&json, "errors");
    assert!(
        errors.iter().any(|m| m.contains("không ghi giờ")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|m| m.contains("Quý V")), "{errors:?}");
    let task = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "9.1")
        .unwrap();
    assert_eq!(task["deadline"]["kind"], "unreadable");
}

#[test]
fn syntax_errors_are_in_vietnamese_with_hints() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(&plan, "id = \"8.6\"", "id = \u{201c}8.6\u{201d}");
    let out = nhacviec()
        .arg("--config")
        .arg(dir.path())
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("chuỗi phải nằm trong dấu ngoặc kép"),
        "{text}"
    );
    assert!(text.contains("dấu ngoặc kép thẳng"), "{text}");
}

#[test]
fn bad_schedule_policy_and_calendar_settings_are_located() {
    let dir = sample_copy();
    let settings = dir.path().join("nhacviec.toml");
    edit(
        &settings,
        "reminders = \"0 0 8 * * Mon-Fri\"",
        "reminders = \"0 0 8 15 * Mon\"",
    );
    edit(
        &settings,
        "before = [14, 7, 3, 1, 0]",
        "before = [14, 7, -3, 7, 0]",
    );
    edit(
        &settings,
        "support = [\"first\", \"due\"]",
        "support = [\"first\", \"sometimes\"]",
    );
    edit(
        &settings,
        "{ date = 2023-01-20, name",
        "{ date = 2023-01-20T08:00:00, name",
    );
    edit(&settings, "count = \"calendar\"", "count = \"lunar\"");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let errors = json["errors"].as_array().unwrap();
    let at = |needle: &str| -> (String, u64) {
        let e = errors
            .iter()
            .find(|e| e["message"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no error with {needle:?} in {errors:?}"));
        (
            e["file"].as_str().unwrap().to_string(),
            e["line"].as_u64().unwrap(),
        )
    };
    let line = |needle: &str| line_of(&settings, needle) as u64;
    assert_eq!(
        at("cả ngày trong tháng và thứ trong tuần").1,
        line("reminders = ")
    );
    assert!(at("cả ngày trong tháng").0.ends_with("nhacviec.toml"));
    assert_eq!(at("không phải -3").1, line("before = "));
    assert_eq!(at("số ngày 7 ghi hai lần").1, line("before = "));
    assert_eq!(at("\"sometimes\"").1, line("support = "));
    assert_eq!(at("ngày không hợp lệ").1, line("2023-01-20T08"));
    assert_eq!(at("cách đếm ngày \"lunar\"").1, line("count = "));

    let dir = sample_copy();
    let settings = dir.path().join("nhacviec.toml");
    edit(
        &settings,
        "reminders = \"0 0 8 * * Mon-Fri\"",
        "reminders = \"every morning\"",
    );
    edit(
        &settings,
        "monitor = \"vp-ubnd-tinh\"",
        "monitor = \"vp-ubnd\"",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let messages = messages_of(&json, "errors");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("biểu thức cron cần 6 trường")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("cơ quan theo dõi (monitor) \"vp-ubnd\"")),
        "{messages:?}"
    );
}

#[test]
fn policy_overrides_per_plan_and_task() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    edit(
        &plan,
        "issued = 2022-03-24\n",
        "issued = 2022-03-24\n\n[policy]\nbefore = [10, 0]\n",
    );
    edit(
        &plan,
        "time = \"Tháng 3/2022\"",
        "time = \"Tháng 3/2022\"\npolicy = { before = [2], overdue_times = -1 }",
    );
    let line = line_of(&plan, "overdue_times = -1");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let err = &json["errors"][0];
    assert_eq!(err["line"], line, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("số lần nhắc quá hạn"),
        "{err}"
    );
}

#[test]
fn a_reminder_schedule_that_misses_working_days_is_a_warning() {
    let dir = sample_copy();
    let settings = dir.path().join("nhacviec.toml");
    edit(
        &settings,
        "reminders = \"0 0 8 * * Mon-Fri\"",
        "reminders = \"0 0 8 * * Mon\"",
    );
    edit(
        &settings,
        "workdays = [\n",
        "workdays = [\n  { date = 2023-01-14, name = \"Làm bù\" },\n",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 0);
    let warnings = messages_of(&json, "warnings");
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("không chạy vào thứ Ba, thứ Tư, thứ Năm, thứ Sáu")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("ngày làm bù 14/01/2023")),
        "{warnings:?}"
    );
}

#[test]
fn webhook_settings_are_checked() {
    let dir = sample_copy();
    let settings = dir.path().join("nhacviec.toml");
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str(
        "\n[webhook]\nurl = \"http://chat.example.org/hook\"\nbody = '{\"text\": {{ text }}}'\n",
    );
    fs::write(&settings, text).unwrap();
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let errors = messages_of(&json, "errors");
    assert!(errors.iter().any(|m| m.contains("https://")), "{errors:?}");
    assert!(
        errors.iter().any(|m| m.contains("không phải JSON hợp lệ")),
        "{errors:?}"
    );

    let dir = sample_copy();
    edit(
        &dir.path().join("agencies.toml"),
        "channels = [\"zalo\", \"email\"]",
        "channels = [\"webhook\", \"email\"]",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    assert!(messages_of(&json, "errors")
        .iter()
        .any(|m| m.contains("chưa có [webhook] url")));
}

/// `(line, column)` of every error in `file` (a name the path ends with), in order.
fn places_in(json: &serde_json::Value, file: &str) -> Vec<(u64, u64)> {
    json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["file"].as_str().unwrap().ends_with(file))
        .map(|e| (e["line"].as_u64().unwrap(), e["column"].as_u64().unwrap()))
        .collect()
}

#[test]
fn every_error_of_a_plan_is_reported_not_only_the_first() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    // A syntax error in [plan], a misspelt key in a task, a wrong type further down.
    edit(
        &plan,
        "issuer = \"UBND tỉnh Hậu Giang\"",
        "issuer = UBND tỉnh Hậu Giang",
    );
    edit(
        &plan,
        "time = \"Quý II/2022\"",
        "time = \"Quý II/2022\"\ndeu = 2022-06-30",
    );
    edit(&plan, "id = \"8.6\"", "id = 8.6");
    let syntax = line_of(&plan, "issuer = UBND") as u64;
    let unknown = line_of(&plan, "deu = 2022") as u64;
    let wrong = line_of(&plan, "id = 8.6") as u64;
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        places_in(&json, "50-KH-UBND-2022.toml"),
        [(syntax, 10), (unknown, 1), (wrong, 6)],
        "{json:#}"
    );
    let errors = &json["errors"];
    assert_eq!(errors.as_array().unwrap().len(), 3, "{errors:#}");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("chuỗi phải nằm trong dấu ngoặc kép"));
    assert_eq!(errors[1]["message"], "khóa `deu` không được dùng ở đây");
    assert!(errors[1]["help"]
        .as_str()
        .unwrap()
        .starts_with("có phải là `due`?"));
    assert!(errors[2]["message"].as_str().unwrap().contains("cần chuỗi"));
}

#[test]
fn every_error_of_every_file_is_located_in_the_text_report() {
    let dir = sample_copy();
    let settings = dir.path().join("nhacviec.toml");
    let agencies = dir.path().join("agencies.toml");
    edit(&settings, "pool_size = 4", "pool_size = \"4\"");
    edit(&settings, "reminders = \"0 0 8", "remiders = \"0 0 8");
    edit(&settings, "count = \"calendar\"", "cout = \"calendar\"");
    edit(
        &agencies,
        "email = [\"so-tu-phap@haugiang.example\"]",
        "emial = [\"so-tu-phap@haugiang.example\"]",
    );
    edit(&agencies, "name = \"Sở Nội vụ\"", "name = \"Sở Nội vụ");
    // `level` is required: misspelt, it is one error, not also "missing".
    edit(
        &agencies,
        "name = \"Sở Khoa học và Công nghệ\"\naliases = [\"Sở KH&CN\"]\nlevel",
        "name = \"Sở Khoa học và Công nghệ\"\naliases = [\"Sở KH&CN\"]\nlevle",
    );
    let expected = [
        (&settings, "pool_size = \"4\"", "sai kiểu giá trị"),
        (&settings, "remiders =", "có phải là `reminders`?"),
        (&settings, "cout =", "có phải là `count`?"),
        (&agencies, "emial =", "có phải là `email`?"),
        (&agencies, "name = \"Sở Nội vụ", "thiếu dấu ngoặc kép"),
        (&agencies, "levle =", "có phải là `level`?"),
    ];
    let out = nhacviec()
        .arg("--config")
        .arg(dir.path())
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (path, needle, said) in expected {
        let line = line_of(path, needle);
        let name = path.file_name().unwrap().to_str().unwrap();
        let at = text
            .find(&format!("{name}:{line}:"))
            .unwrap_or_else(|| panic!("{name}:{line} ({needle}) not reported:\n{text}"));
        let block = text[..at].rfind("lỗi:").map_or(&text[..], |s| &text[s..]);
        let block = &block[..block[5..].find("\nlỗi:").map_or(block.len(), |e| e + 5)];
        assert!(block.contains(said), "{said:?} not in\n{block}");
    }
    assert!(!text.contains("thiếu khóa bắt buộc"), "{text}");
    let (_, json) = check_json(dir.path());
    assert_eq!(
        messages_of(&json, "errors").len(),
        expected.len(),
        "{json:#}"
    );
}

#[test]
fn strict_turns_skipped_words_into_errors() {
    let dir = sample_copy();
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    // A document's number and date beside the deadline: read, skipped, said.
    edit(
        &plan,
        "time = \"Tháng 6/2022\"",
        "time = \"Thông báo số 45 ngày 3/5/2022, hoàn thành trước 30/6/2022\"",
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 0);
    let w = json["warnings"].as_array().unwrap();
    assert!(
        w.iter()
            .any(|w| w["message"].as_str().unwrap().contains(
                "đã bỏ qua số hiệu, ngày của văn bản: \"Thông báo số 45 ngày 3/5/2022\""
            )),
        "{w:?}"
    );
    let task = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "8.7")
        .unwrap();
    assert_eq!(task["deadline"]["due"], "2022-06-29");
    for flag in ["--strict", "--deny-warnings"] {
        let out = nhacviec()
            .arg("--config")
            .arg(dir.path())
            .args(["check", flag])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{flag}");
    }
}

/// The settings the .deb installs are the sample's but for the state directory, which is the
/// service's (`/var/lib/nhacviec`, as its unit's NHACVIEC_STATE_DIR), so commands typed by hand
/// read the service's database.
#[test]
fn the_packaged_settings_are_the_samples_but_the_state_dir() {
    let root = env!("CARGO_MANIFEST_DIR");
    let sample = std::fs::read_to_string(format!("{root}/config/nhacviec.toml")).unwrap();
    let packaged = std::fs::read_to_string(format!("{root}/deploy/nhacviec.toml")).unwrap();
    let cargo = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
    assert!(cargo.contains(r#"["deploy/nhacviec.toml", "etc/nhacviec/", "644"]"#));
    let unit = std::fs::read_to_string(format!("{root}/deploy/nhacviec.service")).unwrap();
    assert!(unit.contains("Environment=NHACVIEC_STATE_DIR=%S/nhacviec"));
    let keys = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let (sample, packaged) = (keys(&sample), keys(&packaged));
    let differ: Vec<(&String, &String)> = sample
        .iter()
        .zip(&packaged)
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(sample.len(), packaged.len());
    assert_eq!(
        differ,
        vec![(
            &"state_dir = \"../var\"".to_string(),
            &"state_dir = \"/var/lib/nhacviec\"".to_string()
        )]
    );
}
