//! `calendar`, `preview` and `status` end to end on the shipped config: the official 2022 and
//! 2023 schedules, the golden preview of Plan 50, completion, and the four states.

use crate::support::{copy_dir, repo};

use assert_cmd::Command;
use chrono::{Datelike, NaiveDate, Weekday};
use serde_json::Value;
use std::collections::HashSet;
use std::fs;
use std::path::Path;

fn run_json(config: &Path, args: &[&str]) -> Value {
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .current_dir(repo())
        .env_remove("NHACVIEC_CONFIG")
        .arg("--config")
        .arg(config)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Days off (weekdays not worked) of a year, from `calendar --format json`.
fn weekdays_off(year: i32) -> Vec<NaiveDate> {
    let json = run_json(
        Path::new("config"),
        &["calendar", "--year", &year.to_string()],
    );
    let mut out: Vec<NaiveDate> = json["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] != "workday")
        .map(|d| date(d["date"].as_str().unwrap()))
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect();
    out.sort();
    out
}

fn dates(list: &[&str]) -> Vec<NaiveDate> {
    list.iter().map(|d| date(d)).collect()
}

#[test]
fn official_schedule_2022() {
    // Tết Dương lịch 1–3/1; Tết 29/1–6/2; Giỗ Tổ 10/4 (Sunday) off 11/4; 30/4–3/5;
    // Quốc khánh 1/9–4/9 (Thursday 1/9 and Friday 2/9).
    assert_eq!(
        weekdays_off(2022),
        dates(&[
            "2022-01-03",
            "2022-01-31",
            "2022-02-01",
            "2022-02-02",
            "2022-02-03",
            "2022-02-04",
            "2022-04-11",
            "2022-05-02",
            "2022-05-03",
            "2022-09-01",
            "2022-09-02",
        ])
    );
}

#[test]
fn official_schedule_2023() {
    // 1/1 (Sunday) off 2/1; Tết 20/1–26/1; 29/4–3/5; Quốc khánh 1/9–4/9.
    assert_eq!(
        weekdays_off(2023),
        dates(&[
            "2023-01-02",
            "2023-01-20",
            "2023-01-23",
            "2023-01-24",
            "2023-01-25",
            "2023-01-26",
            "2023-05-01",
            "2023-05-02",
            "2023-05-03",
            "2023-09-01",
            "2023-09-04",
        ])
    );
    let json = run_json(Path::new("config"), &["calendar", "--year", "2023"]);
    let jan20 = json["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == "2023-01-20")
        .unwrap();
    assert_eq!(jan20["kind"], "day_off");
}

/// The preview as one line per item, for the golden file: readable against the plan.
fn preview_lines(json: &Value) -> String {
    let mut out = String::new();
    for d in json.as_array().unwrap() {
        let at = &d["at"].as_str().unwrap()[..10];
        for i in d["items"].as_array().unwrap() {
            out.push_str(&format!(
                "{at} {:<22} {:<5} {:<7} {:<10} {:>4} {}{}\n",
                d["agency"].as_str().unwrap(),
                i["task"].as_str().unwrap(),
                i["role"].as_str().unwrap(),
                i["kind"].as_str().unwrap(),
                i["days"],
                i["deadline"].as_str().unwrap(),
                i.get("agency")
                    .and_then(Value::as_str)
                    .map(|a| format!(" about {a}"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

#[test]
fn plan_50_preview_golden() {
    let json = run_json(
        Path::new("config"),
        &["preview", "--from", "2022-03-24", "--to", "30/06/2023"],
    );
    let calendar_off: HashSet<NaiveDate> = weekdays_off(2022)
        .into_iter()
        .chain(weekdays_off(2023))
        .collect();
    let mut seen = HashSet::new();
    for d in json.as_array().unwrap() {
        let at = chrono::DateTime::parse_from_rfc3339(d["at"].as_str().unwrap()).unwrap();
        let day = at.date_naive();
        // Every reminder on a working day, at 08:00 local time; the weekly reports at 07:30.
        assert!(
            !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !calendar_off.contains(&day),
            "{day}"
        );
        let time = at.format("%H:%M %z").to_string();
        if d["trigger"] == "report" {
            // Monday 07:30, or with the day's first tick when that Monday is a day off.
            assert!(
                time == "07:30 +0700" || (time == "08:00 +0700" && day.weekday() != Weekday::Mon),
                "{at}"
            );
            continue;
        }
        assert_eq!(time, "08:00 +0700");
        for i in d["items"].as_array().unwrap() {
            let key = (
                d["agency"].clone(),
                i["task"].clone(),
                i["deadline"].clone(),
                i["kind"].clone(),
                i["days"].clone(),
                i.get("agency").cloned(),
            );
            assert!(seen.insert(key.clone()), "sent twice: {key:?}");
            if i["kind"] == "before" || i["kind"] == "due" {
                assert!(i["days"].as_i64().unwrap() >= 0);
            }
        }
    }
    // 8.8 is staged: each lead level gets its own milestone.
    let lines = preview_lines(&json);
    let has = |needle: &str| lines.lines().any(|l| l.contains(needle));
    assert!(has("so-tttt                8.8   lead"));
    assert!(lines
        .lines()
        .filter(|l| l.contains(" 8.8 ") && l.contains("so-tttt ") && l.contains(" lead "))
        .all(|l| l.ends_with("2022-05-31")));
    assert!(lines
        .lines()
        .filter(|l| l.contains(" 8.8 ") && l.contains("ubnd-tp-vi-thanh ") && l.contains(" lead "))
        .all(|l| l.ends_with("2022-11-30")));
    assert!(lines
        .lines()
        .filter(|l| l.contains(" 8.8 ") && l.contains("ubnd-p1-vi-thanh ") && l.contains(" lead "))
        .all(|l| l.ends_with("2023-05-31")));
    // Coordinators get every milestone.
    for m in ["2022-05-31", "2022-11-30", "2023-05-31"] {
        assert!(
            lines
                .lines()
                .any(|l| l.contains(" 8.8 ") && l.contains("cong-an-tinh ") && l.ends_with(m)),
            "{m}"
        );
    }
    insta::assert_snapshot!("plan_50_preview", lines);
}

#[test]
fn completion_stops_reminders_and_sets_the_state() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), dir.path());
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    let text = fs::read_to_string(&plan).unwrap();
    let text = text.replacen(
        "time = \"Tháng 3/2022\"",
        "time = \"Tháng 3/2022\"\ndone_by = { \"cong-an-tinh\" = 2022-03-28, \"so-tttt\" = 2022-04-05 }",
        1,
    );
    fs::write(&plan, text).unwrap();
    let json = run_json(
        dir.path(),
        &[
            "preview",
            "--from",
            "2022-03-24",
            "--to",
            "2022-05-31",
            "--task",
            "8.6",
        ],
    );
    for d in json.as_array().unwrap() {
        let day = &d["at"].as_str().unwrap()[..10];
        if d["agency"] == "cong-an-tinh" {
            assert!(day < "2022-03-28", "reminded after completion: {day}");
        }
        for i in d["items"].as_array().unwrap() {
            if i.get("agency").and_then(Value::as_str) == Some("cong-an-tinh") {
                panic!("escalated a completed agency on {day}");
            }
        }
    }
    let status = run_json(dir.path(), &["status", "--now", "2022-04-10"]);
    let row = |agency: &str| {
        status
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == "8.6" && r["agency"] == agency)
            .unwrap()
            .clone()
    };
    assert_eq!(row("cong-an-tinh")["state"], "done_on_time");
    assert_eq!(row("so-tttt")["state"], "done_late");
    assert_eq!(row("so-tu-phap")["state"], "open_overdue");
    let row_8_7 = status
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["task"] == "8.7" && r["agency"] == "cong-an-tinh")
        .unwrap();
    // 30/06 is 81 days off on 10/04: not yet due (the first reminder is 14 days before).
    assert_eq!(row_8_7["state"], "not_due");
    assert_eq!(row_8_7["deadline"], "2022-06-30");
    // Overdue first.
    assert_eq!(status[0]["state"], "open_overdue");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .current_dir(repo())
        .args(["preview", "--from", "32/13/2022"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from \"32/13/2022\" không hợp lệ"));
}

#[test]
fn policy_overrides_change_the_reminders() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), dir.path());
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    let text = fs::read_to_string(&plan).unwrap();
    let text = text
        .replacen(
            "issued = 2022-03-24\n",
            "issued = 2022-03-24\n\n[policy]\nbefore = [10, 0]\noverdue_times = 1\n",
            1,
        )
        .replacen(
            "time = \"Tháng 3/2022\"",
            "time = \"Tháng 3/2022\"\npolicy = { before = [2, 0], support = [\"all\"] }",
            1,
        );
    fs::write(&plan, text).unwrap();
    let kinds = |task: &str, agency: &str| -> Vec<(String, i64)> {
        let json = run_json(
            dir.path(),
            &[
                "preview",
                "--from",
                "2022-03-24",
                "--to",
                "2022-12-31",
                "--task",
                task,
                "--agency",
                agency,
            ],
        );
        json.as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["items"].as_array().unwrap().clone())
            .map(|i| {
                (
                    i["kind"].as_str().unwrap().to_string(),
                    i["days"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    // Task 8.6 (due Thursday 31/3): 2 days before, on the day, then one overdue reminder (the
    // plan's overdue_times), for the lead and, with support = ["all"], for coordinators too.
    let expected = vec![
        ("before".to_string(), 2),
        ("due".to_string(), 0),
        ("overdue".to_string(), -7),
    ];
    assert_eq!(kinds("8.6", "so-tttt"), expected);
    assert_eq!(kinds("8.6", "so-tu-phap"), expected);
    // Task 8.7 (due Thursday 30/6) follows the plan's policy: 10 days before, the day, once after.
    assert_eq!(
        kinds("8.7", "cong-an-tinh"),
        vec![
            ("before".to_string(), 10),
            ("due".to_string(), 0),
            ("overdue".to_string(), -7)
        ]
    );
}
