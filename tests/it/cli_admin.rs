//! The admin's commands end to end (issue 13): `--agency` by id, name or alias (an unknown one
//! is exit 1 with the nearest names), `--plan`, `retry` (empty, retrying, dead, beside a running
//! service), `history` in local time, per-status empty answers and skipped slots, and what
//! `run --once` says and exits with.

use crate::support::cli::Env;
use crate::support::free_port;
use crate::support::smtp::Smtp;

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fs;
use std::time::{Duration, Instant};

const NOW: &str = "2022-05-25T08:00:00+07:00";
const STP: &str = "so-tu-phap@haugiang.example";

/// A second plan that also has a task "IV.1", led by Sở Tư pháp.
fn add_second_plan(env: &Env) {
    fs::write(
        env.cfg.join("plans/12-KH-UBND-2022.toml"),
        r#"[plan]
number = "12/KH-UBND"
title = "Kế hoạch thử"
issuer = "UBND tỉnh Hậu Giang"
issued = 2022-05-02

[[task]]
id = "IV.1"
title = "Báo cáo kết quả"
lead = ["Sở Tư pháp"]
support = []
time = "Trước ngày 31/5/2022"
"#,
    )
    .unwrap();
}

#[test]
fn an_unknown_agency_is_exit_1_with_the_nearest_names() {
    let env = Env::new();
    for cmd in [
        &["preview", "--from", "2022-05-01"][..],
        &["status", "--now", "2022-05-01"],
        &["history"],
        &["send-test"],
        &["retry"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--agency", "Sở Tư phápp"]);
        let out = env.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("không có cơ quan mã \"Sở Tư phápp\""),
            "{stderr}"
        );
        assert!(
            stderr.contains("gần nhất: Sở Tư pháp (so-tu-phap)"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "an answer for nobody: {args:?}");
    }
    // A group is not one agency.
    let out = env.run(&["status", "--agency", "UBND cấp huyện"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("là nhóm cơ quan"));
}

#[test]
fn agency_and_plan_are_found_without_diacritics_or_case_and_an_ambiguous_one_lists_the_candidates()
{
    let env = Env::new();
    add_second_plan(&env);
    let rows = |args: &[&str]| {
        let mut all = vec!["status", "--now", "2022-05-25"];
        all.extend_from_slice(args);
        env.json(&all)
    };
    let agencies = |v: &Value| -> Vec<String> {
        let mut a: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["agency"].as_str().unwrap().to_string())
            .collect();
        a.dedup();
        a
    };
    assert_eq!(agencies(&rows(&["--agency", "so noi vu"])), ["so-noi-vu"]);
    assert_eq!(agencies(&rows(&["--agency", "SỞ NỘI VỤ"])), ["so-noi-vu"]);
    // The dashboard's search: a part of the name, when it is one agency's.
    assert_eq!(agencies(&rows(&["--agency", "tu phap"])), ["so-tu-phap"]);
    // Several: exit 2, the candidates named.
    let out = env.run(&["status", "--now", "2022-05-25", "--agency", "so t"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("có thể là") && err.contains("Sở Tư pháp (so-tu-phap)"),
        "{err}"
    );
    assert!(err.contains("Sở Tài chính (so-tai-chinh)"), "{err}");
    assert!(out.stdout.is_empty());
    // An exact id, name or alias is taken as it is, before any search.
    // ("chau thanh" is in two names; the exact name is one of them.)
    assert_eq!(
        agencies(&rows(&["--agency", "UBND huyện Châu Thành"])),
        ["ubnd-h-chau-thanh"]
    );
    assert_eq!(
        agencies(&rows(&["--agency", "ubnd huyen chau thanh"])),
        ["ubnd-h-chau-thanh"]
    );
    let out = env.run(&["status", "--now", "2022-05-25", "--agency", "chau thanh"]);
    assert_eq!(out.status.code(), Some(2));
    // Plans: any case, without diacritics, or a part of one number or title.
    let plans = |v: &Value| -> Vec<String> {
        let mut p: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["plan"].as_str().unwrap().to_string())
            .collect();
        p.sort();
        p.dedup();
        p
    };
    assert_eq!(plans(&rows(&["--plan", "50/kh-ubnd"])), ["50/KH-UBND"]);
    assert_eq!(plans(&rows(&["--plan", "Kế hoạch thử"])), ["12/KH-UBND"]);
    let out = env.run(&["status", "--now", "2022-05-25", "--plan", "kh-ubnd"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("12/KH-UBND") && err.contains("50/KH-UBND"),
        "{err}"
    );
}

#[test]
fn an_agency_is_named_by_id_name_or_alias() {
    let env = Env::new();
    let preview = |agency: &str| {
        env.json(&[
            "preview",
            "--from",
            "2022-05-01",
            "--days",
            "40",
            "--agency",
            agency,
        ])
    };
    let by_id = preview("so-tttt");
    assert!(!by_id.as_array().unwrap().is_empty());
    assert!(by_id
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["agency"] == "so-tttt"));
    // The name in another case and spacing, the alias, "UBND" spelled out: as plan files do.
    assert_eq!(preview("sở thông tin và  truyền thông"), by_id);
    assert_eq!(preview("Sở TT&TT"), by_id);
    let vp = env.json(&[
        "status",
        "--now",
        "2022-05-01",
        "--agency",
        "Văn phòng Ủy ban nhân dân tỉnh",
    ]);
    assert!(vp
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["agency"] == "vp-ubnd-tinh"));
    assert_eq!(
        vp,
        env.json(&["status", "--now", "2022-05-01", "--agency", "VP UBND tỉnh"])
    );
}

#[test]
fn plan_filters_preview_status_and_history() {
    let env = Env::new();
    add_second_plan(&env);
    env.expect(0, &["check"]);
    // Both plans have a task IV.1: every line names its plan.
    let text = env.expect(
        0,
        &[
            "preview",
            "--from",
            "2022-05-02",
            "--to",
            "2022-05-31",
            "--agency",
            "so-tu-phap",
        ],
    );
    assert!(text.contains("    12/KH-UBND IV.1 "), "{text}");
    let only = env.json(&[
        "preview",
        "--from",
        "2022-05-02",
        "--to",
        "2022-05-31",
        "--plan",
        " 12/kh-ubnd ",
    ]);
    let items: Vec<&Value> = only
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["items"].as_array().unwrap())
        .collect();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i["plan"] == "12/KH-UBND"), "{only}");
    let status = env.json(&["status", "--now", "2022-05-20", "--plan", "50/KH-UBND"]);
    assert!(status.as_array().unwrap().len() > 10);
    assert!(status
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["plan"] == "50/KH-UBND"));
    let status = env.json(&["status", "--now", "2022-05-20", "--plan", "12/KH-UBND"]);
    assert_eq!(status.as_array().unwrap().len(), 1);
    // Unknown: exit 1 with the plans there are.
    let out = env.run(&["status", "--plan", "51/KH-UBND"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("không có kế hoạch \"51/KH-UBND\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("50/KH-UBND") && stderr.contains("12/KH-UBND"),
        "{stderr}"
    );
    for cmd in ["preview", "history", "retry"] {
        assert_eq!(
            env.run(&[cmd, "--plan", "51"]).status.code(),
            Some(1),
            "{cmd}"
        );
    }
    // History: the digest to Sở Tư pháp carries both plans; --plan and --task match one item.
    env.expect(0, &["run", "--once", "--now", NOW]);
    let h = env.json(&["history", "--plan", "12/kh-ubnd"]);
    assert_eq!(h.as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h[0]["agency"], "so-tu-phap");
    let text = env.expect(0, &["history", "--agency", "Sở Tư pháp"]);
    assert!(text.contains("12/KH-UBND IV.1 (chủ trì"), "{text}");
    let none = env.json(&["history", "--plan", "12/KH-UBND", "--task", "8.6"]);
    assert_eq!(none, Value::Array(vec![]));
    let all = env.json(&["history", "--plan", "50/KH-UBND"]);
    assert!(all.as_array().unwrap().len() > 1);
    assert!(all.as_array().unwrap().iter().all(|d| d["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["plan"] == "50/KH-UBND")));
}

#[test]
fn retry_with_nothing_to_requeue_says_so() {
    let env = Env::new();
    // No database yet.
    let text = env.expect(0, &["retry", "--dead"]);
    assert!(text.contains("Không có thư nào cần gửi lại"), "{text}");
    assert!(!env.state().join("nhacviec.db").exists());
    env.expect(0, &["run", "--once", "--now", NOW]);
    let text = env.expect(0, &["retry"]);
    assert_eq!(text, "Không có thư nào cần gửi lại.\n");
    let text = env.expect(0, &["retry", "--dead", "--plan", "50/KH-UBND"]);
    assert_eq!(text, "Không có thư nào cần gửi lại.\n");
}

#[test]
fn run_once_summary_and_exit_code_and_retrying_deliveries_requeued() {
    let env = Env::new();
    // Nothing listens on this port: every delivery is left retrying.
    let port = free_port();
    env.smtp(port);
    let out = env.expect(1, &["run", "--once", "--now", NOW]);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("Lần kiểm tra này ghi mới ") && first.contains("; gửi 0, chờ thử lại "),
        "{out}"
    );
    assert!(first.ends_with(", thất bại 0."), "{out}");
    let queued: usize = first["Lần kiểm tra này ghi mới ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(queued > 0);
    assert!(
        out.contains("lời nhắc cũ hơn hạn gửi bù (catch_up_days)"),
        "{out}"
    );
    let retrying = env.json(&["history", "--status", "retrying", "--limit", "1000"]);
    assert_eq!(retrying.as_array().unwrap().len(), queued);
    // Requeued for now; the summary counts by status.
    let text = env.expect(0, &["retry", "--agency", "Sở Tư pháp"]);
    assert!(
        text.starts_with("Đã đưa 1 thư vào hàng gửi ngay: 1 thư đang chờ thử lại."),
        "{text}"
    );
    // At night the answer says when the service will send them.
    let text = env.expect(
        0,
        &[
            "retry",
            "--agency",
            "Sở Tư pháp",
            "--now",
            "2022-05-25T23:00:00+07:00",
        ],
    );
    assert!(
        text.contains(
            "Đang ngoài giờ gửi ([schedule] send_hours): dịch vụ sẽ gửi lúc 07:30 26/05/2022."
        ),
        "{text}"
    );
    let text = env.expect(0, &["retry"]);
    assert!(
        text.starts_with(&format!(
            "Đã đưa {queued} thư vào hàng gửi ngay: {queued} thư đang chờ thử lại."
        )),
        "{text}"
    );
    let h = env.json(&["history", "--status", "retrying", "--limit", "1000"]);
    let now = Utc::now();
    for d in h.as_array().unwrap() {
        let next = DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().unwrap()).unwrap();
        assert!(next <= now, "{d}");
    }
    // With the file transport everything goes, and the pass says so with exit 0.
    env.file_transport(port);
    let out = env.expect(0, &["run", "--once", "--now", NOW]);
    assert!(
        out.starts_with(&format!(
            "Lần kiểm tra này ghi mới 0 thư; gửi {queued}, chờ thử lại 0, thất bại 0."
        )),
        "{out}"
    );
}

#[test]
fn with_the_file_transport_the_pass_names_the_folder_of_the_eml_files() {
    let env = Env::new();
    let out = env.run(&["run", "--once", "--now", NOW]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = env.state().join("mail");
    assert!(fs::read_dir(&dir).unwrap().count() > 0);
    let line = format!(
        "ghi thành tệp .eml (transport = \"file\", chưa gửi đi đâu) trong thư mục {}",
        dir.display()
    );
    assert!(stdout.contains(&line), "{stdout}");
    // The log says it too, with the number of files.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let logged = stderr
        .lines()
        .find(|l| l.contains("thư được ghi thành tệp .eml trong thư mục này"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(logged.contains(&dir.display().to_string()), "{logged}");
    // Over SMTP, no such line.
    let env = Env::new();
    env.smtp(free_port());
    let out = env.run(&["run", "--once", "--now", NOW]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(".eml"));
}

#[test]
fn run_once_outside_send_hours_says_when_it_will_send() {
    let env = Env::new();
    let out = env.expect(0, &["run", "--once", "--now", "2022-05-25T05:00:00+07:00"]);
    // The hours open at 07:30, and the day's reminder tick is at 08:00: the pass waits for it.
    assert!(
        out.starts_with("Ngoài giờ gửi; lần gửi tới: 08:00 25/05/2022"),
        "{out}"
    );
}

#[test]
fn a_dead_delivery_is_requeued_with_a_fresh_budget_and_sent() {
    let env = Env::new();
    let port = free_port();
    env.smtp(port);
    let inbox = env.cfg.parent().unwrap().join("inbox");
    let server = Smtp::start(port, &inbox, &["--reject", STP]);
    let out = env.expect(1, &["run", "--once", "--now", NOW]);
    assert!(out.contains(", thất bại 1."), "{out}");
    let dead = env.json(&["history", "--status", "dead"]);
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    assert_eq!(dead[0]["agency"], "so-tu-phap");
    let text = env.expect(0, &["history", "--status", "dead"]);
    assert!(
        text.contains("thất bại") && text.contains("(+07:00)"),
        "{text}"
    );
    assert!(text.contains("lỗi (lần thử 1)"), "{text}");
    // Without --dead a dead one stays dead (and the answer says how to retry it); another
    // plan or agency does not match.
    assert_eq!(
        env.expect(0, &["retry"]),
        "Không có thư nào cần gửi lại.\nCó 1 thư thất bại: thêm --dead để gửi lại cả những thư này (`nhacviec retry --dead`).\n"
    );
    assert_eq!(
        env.expect(0, &["retry", "--dead", "--agency", "so-tttt"]),
        "Không có thư nào cần gửi lại.\n"
    );
    drop(server);
    let _server = Smtp::start(port, &inbox, &[]);
    let text = env.expect(
        0,
        &[
            "retry",
            "--dead",
            "--agency",
            "Sở Tư pháp",
            "--plan",
            "50/KH-UBND",
        ],
    );
    assert!(
        text.starts_with("Đã đưa 1 thư vào hàng gửi ngay: 0 thư đang chờ thử lại, 1 thư thất bại"),
        "{text}"
    );
    let pending = env.json(&["history", "--status", "pending"]);
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["id"], dead[0]["id"]);
    // The give-up budget starts again now.
    let created = DateTime::parse_from_rfc3339(pending[0]["created_at"].as_str().unwrap()).unwrap();
    assert!(Utc::now().signed_duration_since(created) < chrono::Duration::minutes(5));
    let out = env.expect(0, &["run", "--once", "--now", NOW]);
    assert!(
        out.starts_with("Lần kiểm tra này ghi mới 0 thư; gửi 1, chờ thử lại 0, thất bại 0."),
        "{out}"
    );
    assert!(_server.recipients().iter().any(|r| r == STP));
    let sent = env.json(&["history", "--agency", "so-tu-phap"]);
    assert_eq!(sent[0]["status"], "sent");
    assert_eq!(
        env.expect(0, &["history", "--status", "dead"]),
        "Không có thư nào ở trạng thái thất bại.\n"
    );
}

#[test]
fn history_shows_local_times_and_answers_per_status() {
    let env = Env::new();
    env.expect(0, &["run", "--once", "--now", NOW]);
    let json = env.json(&["history", "--limit", "1"]);
    let sent_at = DateTime::parse_from_rfc3339(json[0]["sent_at"].as_str().unwrap()).unwrap();
    let tz: chrono_tz::Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
    let local = sent_at
        .with_timezone(&tz)
        .format("%H:%M %d/%m/%Y (+07:00)")
        .to_string();
    let text = env.expect(0, &["history", "--limit", "1"]);
    assert!(text.contains(&local), "{local} in {text}");
    assert!(text.contains("50/KH-UBND "), "{text}");
    // Another zone: the same instant in its own time.
    env.edit("nhacviec.toml", |t| {
        t.replace("\"Asia/Ho_Chi_Minh\"", "\"Asia/Tokyo\"")
    });
    let text = env.expect(0, &["history", "--limit", "1"]);
    let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
    let local = sent_at
        .with_timezone(&tokyo)
        .format("%H:%M %d/%m/%Y (+09:00)")
        .to_string();
    assert!(text.contains(&local), "{local} in {text}");
    assert_eq!(
        env.expect(0, &["history", "--status", "dead"]),
        "Không có thư nào ở trạng thái thất bại.\n"
    );
    assert_eq!(
        env.expect(0, &["history", "--status", "retrying"]),
        "Không có thư nào ở trạng thái đang thử lại.\n"
    );
    assert_eq!(
        env.json(&["history", "--status", "dead"]),
        Value::Array(vec![])
    );
}

#[test]
fn history_lists_skipped_slots_with_their_reason() {
    let env = Env::new();
    env.expect(0, &["run", "--once", "--now", NOW]);
    let rows = env.json(&["history", "--status", "skipped", "--limit", "100000"]);
    let rows = rows.as_array().unwrap();
    let reasons: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons.into_iter().collect::<Vec<_>>(),
        vec!["horizon", "superseded"]
    );
    for r in rows {
        assert_eq!(r["plan"], "50/KH-UBND");
        assert!(r["deadline"].as_str().unwrap() < "2022-06-01", "{r}");
        assert!(["before", "due", "overdue", "escalation"].contains(&r["kind"].as_str().unwrap()));
        let key = r["key"].as_str().unwrap();
        assert!(key.starts_with(&format!("50/KH-UBND|{}|", r["task"].as_str().unwrap())));
    }
    let text = env.expect(0, &["history", "--status", "skipped", "--limit", "100000"]);
    assert!(text.contains("bỏ qua: bị thay bằng lời nhắc sau"), "{text}");
    assert!(
        text.contains("bỏ qua: cũ hơn catch_up_days = 7 ngày"),
        "{text}"
    );
    assert!(text.contains("(+07:00)  50/KH-UBND 8.6 "), "{text}");
    // Filters apply to skipped slots too (an agency and task that have some).
    let (agency, task) = (
        rows[0]["agency"].as_str().unwrap(),
        rows[0]["task"].as_str().unwrap(),
    );
    let one = env.json(&[
        "history", "--status", "skipped", "--agency", agency, "--task", task, "--limit", "1000",
    ]);
    assert!(!one.as_array().unwrap().is_empty());
    assert!(one.as_array().unwrap().len() < rows.len());
    assert!(one
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["agency"] == agency && r["task"] == task));
    let limited = env.json(&["history", "--status", "skipped", "--limit", "3"]);
    assert_eq!(limited.as_array().unwrap().len(), 3);
    // None at all.
    let fresh = Env::new();
    fresh.expect(0, &["run", "--once", "--now", "2022-03-24T08:00:00+07:00"]);
    assert_eq!(
        fresh.expect(0, &["history", "--status", "skipped", "--task", "nope"]),
        "Không có lời nhắc nào bị bỏ qua.\n"
    );
}

#[test]
fn logs_have_local_offsets_and_no_colours_off_a_terminal() {
    let env = Env::new();
    let out = env.run(&["run", "--once", "--now", NOW]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escapes in a pipe: {stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("lượt gửi xong"))
        .unwrap_or_else(|| panic!("no tick line: {stderr}"));
    let stamp = line.split_whitespace().next().unwrap();
    // RFC 3339 with the offset written out (+hh:mm), not "Z".
    let parsed = DateTime::parse_from_rfc3339(stamp).unwrap();
    // In the config's timezone (Asia/Ho_Chi_Minh), whatever the machine's own.
    assert!(stamp.ends_with("+07:00"), "{stamp}");
    assert!(
        stamp.ends_with(&parsed.format("%:z").to_string()),
        "{stamp}"
    );
    assert!(!stderr.contains("tokio_cron_scheduler"), "{stderr}");
}

/// Sends at any hour on any day, so a service started now sends at once whatever the clock.
fn send_any_time(env: &Env) {
    env.edit("nhacviec.toml", |t| {
        t.replace("send_hours = \"07:30-17:00\"\n", "")
            .replace("[schedule]\n", "[schedule]\nsend_hours = \"always\"\n")
    });
}

#[test]
fn retry_beside_a_running_service_is_sent_at_once() {
    let env = Env::new();
    let port = free_port();
    env.smtp(port);
    let inbox = env.cfg.parent().unwrap().join("inbox");
    {
        let _server = Smtp::start(port, &inbox, &["--reject", STP]);
        env.expect(1, &["run", "--once", "--now", NOW]);
    }
    assert_eq!(
        env.json(&["history", "--status", "dead"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    env.file_transport(port);
    send_any_time(&env);
    env.expect(0, &["check"]);
    let mut service = std::process::Command::new(assert_cmd::cargo::cargo_bin("nhacviec"))
        .env_remove("NHACVIEC_STATE_DIR")
        .env_remove("NOTIFY_SOCKET")
        .env("NHACVIEC_LOG", "info")
        .arg("--config")
        .arg(&env.cfg)
        .arg("run")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = service.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    // The start-up pass is done when its line (event "pass") is logged.
    let until = Instant::now() + Duration::from_secs(30);
    let mut log = String::new();
    while !log.contains("lượt gửi xong") {
        let line = rx
            .recv_timeout(until.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the service did not start: {log}"));
        log.push_str(&line);
        log.push('\n');
    }
    // The file transport writes each delivery as mail/<id>.eml.
    let id = env.json(&["history", "--status", "dead"])[0]["id"]
        .as_i64()
        .unwrap();
    let eml = env.state().join("mail").join(format!("{id:08}.eml"));
    let to_stp = || fs::read_to_string(&eml).is_ok_and(|m| m.contains(&format!("\nTo: {STP}")));
    assert!(!to_stp(), "sent before the retry");
    let text = env.expect(0, &["retry", "--dead"]);
    assert!(text.contains("1 thư thất bại"), "{text}");
    let until = Instant::now() + Duration::from_secs(15);
    while !to_stp() {
        assert!(
            Instant::now() < until,
            "the running service did not send the requeued delivery"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let status = service.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let h = env.json(&["history", "--agency", "so-tu-phap"]);
    assert_eq!(h[0]["status"], "sent");
}
