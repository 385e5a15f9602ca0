//! Trial mode is a rehearsal (issue 26): with `[email] redirect_all_to` a pass sends to the
//! trial address and records what it handled in a ledger of its own, so switching it off
//! leaves every real reminder and report to go out; `history` shows the real ledger, `--trial`
//! the rehearsal; `history --status skipped` lists what `run --once` counted as skipped.

use crate::support::cli::Env;

use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const TRIAL: &str = "thu-nghiem@haugiang.example";
const T: &str = "2022-05-25T08:00:00+07:00";

fn trial_on(env: &Env) {
    env.edit("nhacviec.toml", |t| {
        t.replacen(
            "# redirect_all_to = \"thu-nghiem@haugiang.example\"",
            &format!("redirect_all_to = \"{TRIAL}\""),
            1,
        )
    });
    assert!(fs::read_to_string(env.cfg.join("nhacviec.toml"))
        .unwrap()
        .contains(&format!("\nredirect_all_to = \"{TRIAL}\"")));
}

fn trial_off(env: &Env) {
    env.edit("nhacviec.toml", |t| {
        t.replacen(
            &format!("\nredirect_all_to = \"{TRIAL}\""),
            "\n# redirect_all_to removed",
            1,
        )
    });
}

fn eml_files(env: &Env) -> BTreeSet<PathBuf> {
    fs::read_dir(env.state().join("mail"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

/// The `To` addresses of a message file.
fn to_of(path: &Path) -> Vec<String> {
    let raw = fs::read(path).unwrap();
    let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
    mail.to()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// "Bỏ qua A lời nhắc đã có lời nhắc mới hơn, B lời nhắc cũ hơn …" of `run --once`.
fn skipped_counts(out: &str) -> (usize, usize) {
    let line = out
        .lines()
        .find(|l| l.starts_with("Bỏ qua "))
        .unwrap_or_else(|| panic!("no skipped line: {out}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

fn by_reason(rows: &Value) -> (usize, usize) {
    let rows = rows.as_array().unwrap();
    let n = |r: &str| rows.iter().filter(|x| x["reason"] == r).count();
    (n("superseded"), n("horizon"))
}

#[test]
fn a_trial_pass_consumes_no_real_reminder_and_the_next_real_pass_sends_each_once() {
    let env = Env::new();
    trial_on(&env);
    let out = env.expect(0, &["run", "--once", "--now", T]);
    let trial_files = eml_files(&env);
    assert!(trial_files.len() > 5, "{out}");
    for f in &trial_files {
        assert_eq!(to_of(f), vec![TRIAL.to_string()], "{}", f.display());
    }
    // `history --trial` lists them, flagged; the default history has none and says where
    // they are.
    let trial = env.json(&["history", "--trial", "--limit", "10000"]);
    let trial = trial.as_array().unwrap();
    assert_eq!(trial.len(), trial_files.len());
    assert!(trial
        .iter()
        .all(|d| d["trial"] == true && d["recipients"] == serde_json::json!([TRIAL])));
    assert_eq!(env.json(&["history"]), Value::Array(vec![]));
    let text = env.expect(0, &["history"]);
    assert!(text.starts_with("Chưa có lần gửi nào.\n"), "{text}");
    assert!(
        text.contains(&format!(
            "Có {} thư gửi ở chế độ chạy thử",
            trial_files.len()
        )) && text.contains("nhacviec history --trial"),
        "{text}"
    );
    // What the rehearsal skipped is its own too, and what run --once counted.
    let (superseded, horizon) = skipped_counts(&out);
    assert!(superseded > 0 && horizon > 0, "{out}");
    let skipped = env.json(&[
        "history", "--status", "skipped", "--trial", "--limit", "100000",
    ]);
    assert_eq!(by_reason(&skipped), (superseded, horizon));
    assert_eq!(
        env.expect(0, &["history", "--status", "skipped"]),
        "Không có lời nhắc nào bị bỏ qua.\n"
    );

    // Trial mode off: every agency that got a trial message gets its real one, once, at its
    // own addresses.
    trial_off(&env);
    let config = nhacviec::config::load(&env.cfg).config;
    assert!(!config.trial());
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let agencies: BTreeSet<&str> = trial
        .iter()
        .map(|d| d["agency"].as_str().unwrap())
        .collect();
    for id in &agencies {
        for address in &config.agency(id).unwrap().email {
            *expected.entry(address.clone()).or_default() += 1;
        }
    }
    let out = env.expect(0, &["run", "--once", "--now", "2022-05-25T08:01:00+07:00"]);
    let real_files: BTreeSet<PathBuf> = eml_files(&env).difference(&trial_files).cloned().collect();
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for f in &real_files {
        for address in to_of(f) {
            *got.entry(address).or_default() += 1;
        }
    }
    assert_eq!(got, expected, "{out}");
    let real = env.json(&["history", "--limit", "10000"]);
    assert_eq!(real.as_array().unwrap().len(), real_files.len());
    assert!(real.as_array().unwrap().iter().all(|d| d["trial"] == false));
    // The real pass skipped what the rehearsal did, now in the real ledger.
    assert_eq!(skipped_counts(&out), (superseded, horizon));
    // A third pass sends nothing new.
    let out = env.expect(0, &["run", "--once", "--now", "2022-05-25T08:02:00+07:00"]);
    assert!(out.starts_with("Lần kiểm tra này ghi mới 0 thư"), "{out}");
    assert_eq!(eml_files(&env).len(), trial_files.len() + real_files.len());
}

#[test]
fn history_lists_every_skipped_slot_run_once_counted_for_both_reasons() {
    let env = Env::new();
    // Before any pass: nothing, said so, and no state directory made.
    assert_eq!(env.json(&["history"]), Value::Array(vec![]));
    assert_eq!(
        env.json(&["history", "--status", "skipped", "--trial"]),
        Value::Array(vec![])
    );
    assert!(env
        .expect(0, &["history"])
        .starts_with("Chưa có lần gửi nào: dịch vụ chưa chạy lần nào"));
    assert!(!env.state().exists());
    let out = env.expect(0, &["run", "--once", "--now", T]);
    let (superseded, horizon) = skipped_counts(&out);
    assert!(superseded > 0 && horizon > 0, "{out}");
    let rows = env.json(&["history", "--status", "skipped", "--limit", "100000"]);
    assert_eq!(
        rows.as_array().unwrap().len(),
        superseded + horizon,
        "{out}"
    );
    assert_eq!(by_reason(&rows), (superseded, horizon));
    // The text names each reason, and counts them all even when it lists only a few.
    let text = env.expect(0, &["history", "--status", "skipped", "--limit", "2"]);
    assert!(text.contains("bỏ qua: bị thay bằng lời nhắc sau"), "{text}");
    let all = env.expect(0, &["history", "--status", "skipped", "--limit", "100000"]);
    assert!(
        all.contains("bỏ qua: cũ hơn catch_up_days = 7 ngày"),
        "{all}"
    );
    assert!(
        text.contains(&format!(
            "Tổng cộng {} lời nhắc bị bỏ qua: {superseded} bị thay bằng lời nhắc sau, {horizon} cũ hơn catch_up_days = 7 ngày.",
            superseded + horizon
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Chỉ liệt kê 2 lời nhắc ghi gần nhất: xem hết bằng --limit {}.",
            superseded + horizon
        )),
        "{text}"
    );
    // Nothing in the trial ledger.
    assert_eq!(
        env.expect(0, &["history", "--status", "skipped", "--trial"]),
        "Chế độ chạy thử không bỏ qua lời nhắc nào.\n"
    );
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Tz> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
}

#[test]
fn a_trial_weekly_report_leaves_the_real_one_to_go_out_that_week() {
    use nhacviec::store::Store;
    let tmp = tempfile::tempdir().unwrap();
    let real = nhacviec::config::load(Path::new("config")).config;
    let mut trial = real.clone();
    trial.email.redirect_all_to = Some(TRIAL.into());
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let engine = nhacviec::deliver::Engine::build(&real, real_day(2022, 5, 1));
    let reports = |config: &nhacviec::config::Config, store: &mut Store, now| {
        nhacviec::deliver::reports(&engine, config, None, store, now).unwrap()
    };
    // A first start (real) on Wednesday notes Monday's report time.
    assert_eq!(reports(&real, &mut store, at(2022, 5, 25, 8, 0)), 0);
    // Trial mode over the next Monday: the report goes to the trial address, once.
    assert_eq!(reports(&trial, &mut store, at(2022, 5, 30, 7, 45)), 1);
    assert_eq!(reports(&trial, &mut store, at(2022, 5, 30, 8, 0)), 0);
    let made = store.history(Some("vp-ubnd-tinh"), None, 5).unwrap();
    assert_eq!(made.len(), 1);
    assert!(made[0].trial && made[0].recipients == [TRIAL.to_string()]);
    assert!(
        made[0].subject.contains("Báo cáo tuần"),
        "{}",
        made[0].subject
    );
    // Real mode the same morning: the real report still goes, to the monitor, once.
    assert_eq!(reports(&real, &mut store, at(2022, 5, 30, 9, 0)), 1);
    assert_eq!(reports(&real, &mut store, at(2022, 5, 30, 10, 0)), 0);
    let made = store.history(Some("vp-ubnd-tinh"), None, 5).unwrap();
    assert_eq!(made.len(), 2);
    assert!(!made[0].trial);
    assert_eq!(
        made[0].recipients,
        real.agency("vp-ubnd-tinh").unwrap().email
    );
    assert_ne!(made[0].recipients, [TRIAL.to_string()]);
}

/// A service run in trial mode from its first start, switched off on a report morning: the
/// real ledger has no report time yet, but the store is not a fresh one, and the real report
/// of that morning still goes.
#[test]
fn trial_mode_from_the_first_start_leaves_the_first_real_report_to_go() {
    use nhacviec::store::Store;
    let tmp = tempfile::tempdir().unwrap();
    let real = nhacviec::config::load(Path::new("config")).config;
    let mut trial = real.clone();
    trial.email.redirect_all_to = Some(TRIAL.into());
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let engine = nhacviec::deliver::Engine::build(&real, real_day(2022, 5, 1));
    let reports = |config: &nhacviec::config::Config, store: &mut Store, now| {
        nhacviec::deliver::reports(&engine, config, None, store, now).unwrap()
    };
    assert_eq!(reports(&trial, &mut store, at(2022, 5, 27, 8, 0)), 0);
    assert_eq!(reports(&trial, &mut store, at(2022, 5, 30, 7, 30)), 1);
    assert_eq!(reports(&real, &mut store, at(2022, 5, 30, 8, 0)), 1);
    assert_eq!(reports(&real, &mut store, at(2022, 5, 30, 9, 0)), 0);
    let made = store.history(Some("vp-ubnd-tinh"), None, 5).unwrap();
    assert!(!made[0].trial, "the real report, to the monitor");
    assert_eq!(
        made[0].recipients,
        real.agency("vp-ubnd-tinh").unwrap().email
    );
}

fn real_day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn a_trial_failure_summary_tells_the_trial_failures_and_leaves_the_real_summary() {
    use nhacviec::store::{Ledger, NewDelivery, Store};
    let tmp = tempfile::tempdir().unwrap();
    let real = nhacviec::config::load(Path::new("config")).config;
    let admin = real.email.admin.clone().unwrap();
    let mut trial = real.clone();
    trial.email.redirect_all_to = Some(TRIAL.into());
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let engine = nhacviec::deliver::Engine::build(&real, real_day(2022, 5, 1));
    let mail = |agency: &str| NewDelivery {
        agency: agency.into(),
        channel: nhacviec::config::Channel::Email,
        recipients: vec![format!("{agency}@haugiang.example")],
        subject: "Nhắc việc".into(),
        body_text: "x".into(),
        body_html: "<p>x</p>".into(),
        items: vec![],
        thread: format!("{agency}.t"),
        attachments: vec![],
    };
    for (ledger, agency) in [(Ledger::Trial, "so-noi-vu"), (Ledger::Real, "so-tu-phap")] {
        let ids = store
            .record_extra(ledger, &[mail(agency)], &[], &[], "haugiang.example")
            .unwrap();
        store.mark_dead(ids[0], "550 không có hộp thư").unwrap();
    }
    let reports = |config: &nhacviec::config::Config, store: &mut Store, now| {
        nhacviec::deliver::reports(&engine, config, None, store, now).unwrap()
    };
    // Trial mode: the summary of the trial failure, to the trial address, once that day.
    assert_eq!(reports(&trial, &mut store, at(2022, 5, 25, 8, 0)), 1);
    assert_eq!(reports(&trial, &mut store, at(2022, 5, 25, 9, 0)), 0);
    let told = &store.history(None, None, 1).unwrap()[0];
    assert!(told.trial && told.recipients == [TRIAL.to_string()]);
    assert!(
        told.body_text.contains("so-noi-vu") && !told.body_text.contains("so-tu-phap"),
        "{}",
        told.body_text
    );
    let (dead, _) = store.ledger(Ledger::Trial).failures_to_report().unwrap();
    assert!(dead.is_empty());
    // The real failure is still the real summary's, that same day.
    assert_eq!(store.failures_to_report().unwrap().0.len(), 1);
    assert_eq!(reports(&real, &mut store, at(2022, 5, 25, 9, 0)), 1);
    let told = &store.history(None, None, 1).unwrap()[0];
    assert!(!told.trial);
    assert_eq!(told.recipients, [admin]);
    assert!(told.body_text.contains("so-tu-phap"), "{}", told.body_text);
    assert_eq!(reports(&real, &mut store, at(2022, 5, 25, 10, 0)), 0);
}
