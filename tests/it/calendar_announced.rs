//! The official holiday schedules as data: announced Tết breaks and make-up days, no weekend
//! compensation before 1995, `calendar --year` naming its source, and the warning `check`
//! gives for deadlines near a Tết not announced yet.

use crate::support::{copy_dir, repo};

use assert_cmd::Command;
use chrono::NaiveDate;
use nhacviec::calendar::{Calendar, DayKind, Overrides};
use serde_json::Value;
use std::fs;
use std::path::Path;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn calendar(years: std::ops::RangeInclusive<i32>) -> Calendar {
    Calendar::new(Overrides::default(), years)
}

/// Every day from `from` to `to` is off.
fn off_exactly(cal: &Calendar, from: NaiveDate, to: NaiveDate) {
    for day in from.iter_days().take_while(|x| *x <= to) {
        assert!(!cal.is_working_day(day), "{day} should be off");
    }
}

#[test]
fn announced_tet_breaks() {
    let cal = calendar(2010..=2026);
    // (first weekday off, last weekday off, first working day after)
    let cases = [
        // Tết Canh Dần: 13/2–21/2/2010, Friday 19/2 swapped for Saturday 27/2.
        (d(2010, 2, 15), d(2010, 2, 19), d(2010, 2, 22)),
        // 2014: 28/1–5/2 (Công văn 10525/VPCP-KGVX).
        (d(2014, 1, 28), d(2014, 2, 5), d(2014, 2, 6)),
        // 2019: 2/2–10/2 (Thông báo 3238/TB-LĐTBXH).
        (d(2019, 2, 4), d(2019, 2, 8), d(2019, 2, 11)),
        // 2021: 10/2–16/2 (Công văn 9895/VPCP-KGVX): 10/2 off, 17/2 worked.
        (d(2021, 2, 10), d(2021, 2, 16), d(2021, 2, 17)),
        // 2025: 25/1–2/2, the Tết days 27/1–31/1; Monday 3/2 worked.
        (d(2025, 1, 27), d(2025, 1, 31), d(2025, 2, 3)),
        // 2026: 14/2–22/2.
        (d(2026, 2, 16), d(2026, 2, 20), d(2026, 2, 23)),
    ];
    for (first, last, back) in cases {
        off_exactly(&cal, first, last);
        assert!(cal.is_working_day(back), "{back} should be worked");
        assert_eq!(cal.on_or_after(first), back);
    }
}

#[test]
fn make_up_saturdays_are_working_days() {
    let cal = calendar(2014..=2026);
    for day in [
        d(2014, 1, 25),
        d(2014, 2, 8),
        d(2015, 2, 14),
        d(2019, 1, 5),
        d(2019, 5, 4),
        d(2024, 5, 4),
        d(2025, 4, 26),
        d(2026, 1, 10),
        d(2026, 8, 22),
    ] {
        assert!(cal.is_working_day(day), "{day}");
        let listed = cal.year(day.format("%Y").to_string().parse().unwrap());
        let entry = listed.iter().find(|x| x.date == day).unwrap();
        assert_eq!(entry.kind, DayKind::Workday, "{day}");
    }
    // Sunday 30/1/2011 was worked too, in exchange for Tuesday 1/2.
    let cal = calendar(2011..=2011);
    assert!(cal.is_working_day(d(2011, 1, 30)));
    assert!(!cal.is_working_day(d(2011, 2, 1)));
    // A make-up day in the year before its break: Saturday 27/12/2014 for Friday 2/1/2015.
    let cal = calendar(2014..=2015);
    assert!(cal.is_working_day(d(2014, 12, 27)));
    assert!(!cal.is_working_day(d(2015, 1, 2)));
}

#[test]
fn no_compensation_before_1995() {
    // 1/1/1994 was a Saturday: Monday 3/1/1994 was worked.
    let cal = calendar(1994..=1995);
    assert!(cal.is_working_day(d(1994, 1, 3)));
    assert!(!cal.year(1994).iter().any(|x| x.kind == DayKind::DayOff));
    // 1/1/1995 was a Sunday: Monday 2/1/1995 off, by the 1994 Labour Code.
    assert!(!cal.is_working_day(d(1995, 1, 2)));
}

#[test]
fn national_day_companion_follows_the_announcement() {
    let cal = calendar(2021..=2026);
    // 2021: 2/9 and 3/9; 2024: 2/9 and 3/9; 2025: 1/9 and 2/9; 2026: 1/9, 2/9, and
    // Monday 31/8 swapped for Saturday 22/8.
    for (y, m, day) in [
        (2021, 9, 3),
        (2024, 9, 3),
        (2025, 9, 1),
        (2026, 8, 31),
        (2026, 9, 1),
    ] {
        assert!(!cal.is_working_day(d(y, m, day)), "{day}/{m}/{y}");
    }
    assert!(cal.is_working_day(d(2021, 9, 1)));
    assert!(cal.is_working_day(d(2025, 9, 3)));
}

#[test]
fn config_still_overrides_an_announcement() {
    // The admin works Monday 16/2/2026 (an announced Tết day) and takes 23/2 off.
    let overrides = Overrides {
        days_off: vec![(d(2026, 2, 23), "Nghỉ theo quyết định của tỉnh".into())],
        workdays: vec![(d(2026, 2, 16), "Trực Tết".into())],
    };
    let cal = Calendar::new(overrides, 2026..=2026);
    assert!(cal.is_working_day(d(2026, 2, 16)));
    assert!(!cal.is_working_day(d(2026, 2, 23)));
}

fn nhacviec() -> Command {
    let mut cmd = Command::cargo_bin("nhacviec").unwrap();
    cmd.current_dir(repo()).env_remove("NHACVIEC_CONFIG");
    cmd
}

fn json(config: &Path, args: &[&str]) -> Value {
    let mut cmd = nhacviec();
    cmd.arg("--config").arg(config);
    let out = cmd.args(args).args(["--format", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn calendar_lists_make_up_days_and_names_its_source() {
    let y2019 = json(Path::new("config"), &["calendar", "--year", "2019"]);
    assert_eq!(y2019["announced"], true);
    assert!(y2019["source"].as_str().unwrap().contains("3238/TB-LĐTBXH"));
    let days = y2019["days"].as_array().unwrap();
    assert!(days
        .iter()
        .any(|x| x["date"] == "2019-05-04" && x["kind"] == "workday"));
    assert!(days
        .iter()
        .any(|x| x["date"] == "2019-04-29" && x["kind"] == "day_off"));

    let y2027 = json(Path::new("config"), &["calendar", "--year", "2027"]);
    assert_eq!(y2027["announced"], false);
    assert!(y2027["source"]
        .as_str()
        .unwrap()
        .contains("Bộ luật Lao động"));

    let text = nhacviec()
        .args(["--config", "config", "calendar", "--year", "2014"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("10525/VPCP-KGVX"), "{text}");
    assert!(
        text.contains("thứ Bảy   25/01/2014 làm bù"),
        "make-up Saturday listed: {text}"
    );
}

/// The shipped config with its plan replaced by one whose single task is due on `time`.
fn config_with_deadline(time: &str, calendar: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), dir.path());
    let plans = dir.path().join("plans");
    fs::remove_dir_all(&plans).unwrap();
    fs::create_dir_all(&plans).unwrap();
    fs::write(
        plans.join("12-KH-UBND-2026.toml"),
        format!(
            "[plan]\nnumber = \"12/KH-UBND\"\ntitle = \"Kế hoạch thử\"\nissuer = \"UBND tỉnh Hậu Giang\"\n\
             issued = 2026-10-01\n\n[[task]]\nid = \"1\"\ntitle = \"Báo cáo kết quả\"\n\
             lead = [\"Văn phòng UBND tỉnh\"]\ntime = \"{time}\"\n"
        ),
    )
    .unwrap();
    if !calendar.is_empty() {
        let settings = dir.path().join("nhacviec.toml");
        let text = fs::read_to_string(&settings).unwrap();
        let entry = "{ date = 2023-01-20, name = \"Nghỉ Tết Nguyên đán (29 tháng Chạp, theo thông báo)\" },";
        assert!(text.contains(entry));
        let text = text.replace(entry, &format!("{entry}\n  {calendar}"));
        fs::write(settings, text).unwrap();
    }
    dir
}

fn tet_warnings(report: &Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .filter(|m| m.contains("lịch nghỉ Tết"))
        .collect()
}

const WARNING_2027: &str =
    "lịch nghỉ Tết năm 2027 chưa được công bố: thêm [calendar] khi có thông báo";

#[test]
fn check_warns_of_a_deadline_near_an_unannounced_tet() {
    // Tết 2027 is 6/2 (the eve 5/2): a deadline on 1/2 is within 10 days.
    let near = config_with_deadline("Trước ngày 01/02/2027", "");
    let report = json(near.path(), &["check"]);
    assert_eq!(tet_warnings(&report), vec![WARNING_2027.to_string()]);
    let help = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["message"] == WARNING_2027)
        .unwrap()["help"]
        .as_str()
        .unwrap()
        .to_string();
    // "Trước ngày 01/02" is due the day before.
    assert!(help.contains("hạn 31/01/2027"), "{help}");
    // The text report shows it and counts it.
    let text = nhacviec()
        .arg("--config")
        .arg(near.path())
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(WARNING_2027), "{text}");
    let count = report["warnings"].as_array().unwrap().len();
    assert!(text.contains(&format!("0 lỗi, {count} cảnh báo")), "{text}");
    // `calendar --year 2027` says it too.
    let cal = json(near.path(), &["calendar", "--year", "2027"]);
    assert_eq!(cal["warnings"][0]["message"], WARNING_2027);

    // A deadline in June 2027 is nowhere near Tết.
    let june = config_with_deadline("Trước ngày 15/06/2027", "");
    assert!(tet_warnings(&json(june.path(), &["check"])).is_empty());

    // Once the admin enters the announcement in [calendar], the warning goes.
    let entered = config_with_deadline(
        "Trước ngày 01/02/2027",
        "{ date = 2027-02-04, name = \"Nghỉ Tết Nguyên đán (theo thông báo)\" },",
    );
    assert!(tet_warnings(&json(entered.path(), &["check"])).is_empty());
}
