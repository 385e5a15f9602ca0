//! A time staged by agency ("Sở Nội vụ: trước 31/7; Sở Tài chính: trước 30/6"): each lead is
//! reminded of its own stage only, a stage whose name is no agency applies to everyone with a
//! warning, and a lead with no stage of its own is told of every stage, with a warning.

use crate::support::{copy_dir, repo};

use std::fs;
use std::path::Path;

fn plan(dir: &Path, time: &str, lead: &str) {
    let text = format!(
        "[plan]\nnumber = \"7/KH-UBND\"\ntitle = \"Kế hoạch thử\"\nissuer = \"UBND tỉnh Hậu Giang\"\nissued = 2022-03-24\n\n[[task]]\nid = \"1\"\ntitle = \"Báo cáo kết quả\"\nlead = {lead}\ntime = \"{time}\"\n"
    );
    fs::write(dir.join("plans/7-KH-UBND-2022.toml"), text).unwrap();
}

fn nhacviec(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = assert_cmd::Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .arg("--config")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Each (agency, deadline) of task 1 of the test plan, as `status` gives them.
fn deadlines(dir: &Path) -> Vec<(String, String)> {
    let (ok, out) = nhacviec(
        dir,
        &[
            "status",
            "--plan",
            "7/KH-UBND",
            "--now",
            "2022-04-01",
            "--format",
            "json",
        ],
    );
    assert!(ok, "{out}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut out: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "lead")
        .map(|r| {
            (
                r["agency"].as_str().unwrap().to_string(),
                r["deadline"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn each_lead_is_reminded_of_its_own_stage() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), tmp.path());
    plan(
        tmp.path(),
        "Sở Nội vụ: trước 31/7/2022; Sở Tài chính: trước 30/6/2022",
        "[\"Sở Nội vụ\", \"Sở Tài chính\"]",
    );
    let (ok, out) = nhacviec(tmp.path(), &["check", "--deny-warnings"]);
    assert!(ok, "{out}");
    assert_eq!(
        deadlines(tmp.path()),
        [
            ("so-noi-vu".to_string(), "2022-07-30".to_string()),
            ("so-tai-chinh".to_string(), "2022-06-29".to_string()),
        ]
    );
    // The preview's reminders follow: Sở Tài chính is not reminded of the July stage.
    let (ok, out) = nhacviec(
        tmp.path(),
        &[
            "preview",
            "--from",
            "2022-07-20",
            "--to",
            "2022-07-31",
            "--plan",
            "7/KH-UBND",
            "--agency",
            "so-tai-chinh",
        ],
    );
    assert!(ok, "{out}");
    assert!(!out.contains("30/07/2022"), "{out}");
}

#[test]
fn a_stage_of_a_group_reaches_its_members_and_unknown_names_are_warned() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), tmp.path());
    // "UBND cấp huyện" is a group: each district's UBND gets the June stage.
    plan(
        tmp.path(),
        "UBND cấp huyện: trước 30/6/2022; Sở Nội vụ: trước 31/7/2022",
        "[\"UBND cấp huyện\", \"Sở Nội vụ\"]",
    );
    let got = deadlines(tmp.path());
    assert!(
        got.contains(&("so-noi-vu".to_string(), "2022-07-30".to_string())),
        "{got:?}"
    );
    assert!(
        got.contains(&("ubnd-h-long-my".to_string(), "2022-06-29".to_string())),
        "{got:?}"
    );
    assert!(!got.contains(&("ubnd-h-long-my".to_string(), "2022-07-30".to_string())));
    // A name that is no agency: its stage is everyone's, and `check` says so; a lead with no
    // stage of its own is reminded of every stage, and `check` says that too.
    plan(
        tmp.path(),
        "Ban Chỉ đạo XYZ: trước 30/6/2022; Sở Nội vụ: trước 31/7/2022",
        "[\"Sở Nội vụ\", \"Sở Tài chính\"]",
    );
    let (_, out) = nhacviec(tmp.path(), &["check"]);
    assert!(
        out.contains("mốc của \"Ban Chỉ đạo XYZ\" không ứng với cơ quan"),
        "{out}"
    );
    let got = deadlines(tmp.path());
    assert!(
        got.contains(&("so-tai-chinh".to_string(), "2022-06-29".to_string())),
        "{got:?}"
    );
    assert!(
        !got.contains(&("so-tai-chinh".to_string(), "2022-07-30".to_string())),
        "{got:?}"
    );
}

/// Levels are the config's data, not words the parser knows: a province that names its levels
/// "cấp sở" and "cấp phường" gets its staged times read by those names (each stage "từ ngày
/// D" due the day before, as for the shipped levels).
#[test]
fn a_time_staged_by_levels_the_config_names_is_read_by_those_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config");
    fs::create_dir_all(dir.join("plans")).unwrap();
    fs::write(
        dir.join("agencies.toml"),
        "[[level]]\nid = \"so\"\nname = \"cấp sở\"\naliases = [\"sở\"]\n\n\
         [[level]]\nid = \"phuong\"\nname = \"cấp phường\"\naliases = [\"phường\"]\n\n\
         [[agency]]\nid = \"vp\"\nname = \"Văn phòng UBND tỉnh\"\nlevel = \"so\"\nemail = [\"vp@x.example\"]\n\n\
         [[agency]]\nid = \"so-a\"\nname = \"Sở A\"\nlevel = \"so\"\nemail = [\"a@x.example\"]\n\n\
         [[agency]]\nid = \"phuong-b\"\nname = \"UBND phường B\"\nlevel = \"phuong\"\nemail = [\"b@x.example\"]\n",
    )
    .unwrap();
    plan(
        &dir,
        "cấp sở từ ngày 01/6/2022; cấp phường từ ngày 01/12/2022",
        "[\"so-a\", \"phuong-b\"]",
    );
    let (ok, out) = nhacviec(&dir, &["check", "--now", "2022-04-01"]);
    assert!(ok, "{out}");
    assert_eq!(
        deadlines(&dir),
        [
            ("phuong-b".to_string(), "2022-11-30".to_string()),
            ("so-a".to_string(), "2022-05-31".to_string()),
        ]
    );
}
