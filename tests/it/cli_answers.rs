//! The agencies' answers from the admin's side, end to end: `responses` lists what the store
//! holds (text and JSON, filters, withdrawn and granted marks), `extend` moves one agency's
//! deadline under the dashboard's rule (the decision's document required; refusals of what it
//! cannot move) and tells the agency (a delivery queued, sent by the next pass), `status` and
//! `preview` see the answers.

use crate::support::answers::{answer, at, date};
use crate::support::cli::Env;

use nhacviec::answers::{Action, NewResponse};
use nhacviec::store::Store;
use serde_json::Value;
use std::fs;

const NOW: &str = "2022-05-25T08:00:00+07:00";

/// `extend --now NOW --agency <agency> --task <task>` and `extra`.
fn extend_args<'a>(agency: &'a str, task: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["extend", "--now", NOW, "--agency", agency, "--task", task];
    args.extend(extra);
    args
}

/// Sở Nội vụ: 8.8 done (a report), 8.6 progress then withdrawn, 10.1 asks for more time;
/// Sở Tư pháp: 8.8 progress. Returns the ids in that order.
fn seed(env: &Env) -> Vec<i64> {
    let store = Store::open_writer(&env.db()).unwrap();
    let mut ids = Vec::new();
    let done = NewResponse {
        deadline: Some(date("2022-05-31")),
        done_on: Some(date("2022-05-20")),
        doc_ref: Some("Báo cáo số 12/BC-SNV".into()),
        note: Some(format!("Đã triển khai xong {}", "rất dài ".repeat(30))),
        ..answer("so-noi-vu", "8.8", Action::Done, "n1")
    };
    ids.push(
        store
            .record_response(&done, at("2022-05-20T02:30:00Z"))
            .unwrap(),
    );
    let progress = NewResponse {
        percent: Some(40),
        ..answer("so-noi-vu", "8.6", Action::Progress, "n2")
    };
    let id = store
        .record_response(&progress, at("2022-05-21T03:00:00Z"))
        .unwrap();
    assert!(store
        .undo_response(
            id,
            "so-noi-vu",
            at("2022-05-21T00:00:00Z"),
            at("2022-05-21T03:05:00Z")
        )
        .unwrap());
    ids.push(id);
    let asked = NewResponse {
        deadline: Some(date("2022-06-18")),
        proposed: Some(date("2022-07-31")),
        note: Some("Chờ số liệu của các huyện".into()),
        ..answer("so-noi-vu", "10.1", Action::Extension, "n3")
    };
    ids.push(
        store
            .record_response(&asked, at("2022-05-22T01:00:00Z"))
            .unwrap(),
    );
    let other = NewResponse {
        percent: Some(70),
        ..answer("so-tu-phap", "8.8", Action::Progress, "n4")
    };
    ids.push(
        store
            .record_response(&other, at("2022-05-23T01:00:00Z"))
            .unwrap(),
    );
    ids
}

#[test]
fn responses_without_a_database_are_none() {
    let env = Env::new();
    let out = env.expect(0, &["responses"]);
    assert!(out.contains("Chưa có trả lời nào"), "{out}");
    assert_eq!(env.json(&["responses"]), serde_json::json!([]));
    let out = env.expect(0, &["responses", "--pending"]);
    assert!(out.contains("Không có đề nghị gia hạn nào"), "{out}");
    assert!(!env.db().exists(), "listing must not create the database");
}

#[test]
fn responses_list_in_text_and_json() {
    let env = Env::new();
    let ids = seed(&env);

    let out = env.expect(0, &["responses"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    // Local time (+07:00), the agency's name, the action in Vietnamese, the values.
    assert!(lines[0].starts_with(&format!("#{}", ids[0])), "{out}");
    assert!(lines[0].contains("20/05/2022 09:30"), "{out}");
    assert!(lines[0].contains("Sở Nội vụ (so-noi-vu)"), "{out}");
    assert!(lines[0].contains("KH 50/KH-UBND  nhiệm vụ 8.8"), "{out}");
    assert!(lines[0].contains("đã hoàn thành"), "{out}");
    assert!(lines[0].contains("hoàn thành ngày 20/05/2022"), "{out}");
    assert!(lines[0].contains("hạn 31/05/2022"), "{out}");
    assert!(lines[0].contains("Báo cáo số 12/BC-SNV"), "{out}");
    assert!(lines[0].contains('…'), "a long note is cut: {out}");
    assert!(lines[0].chars().count() < 400, "{out}");
    assert!(lines[1].contains("cập nhật tiến độ"), "{out}");
    assert!(lines[1].contains("tiến độ 40%"), "{out}");
    assert!(lines[1].contains("(đã rút lại)"), "{out}");
    assert!(lines[2].contains("đề nghị gia hạn"), "{out}");
    assert!(lines[2].contains("đề nghị hạn mới 31/07/2022"), "{out}");
    assert!(!lines[2].contains("(đã gia hạn)"), "{out}");
    assert!(lines[3].contains("Sở Tư pháp"), "{out}");

    let all = env.json(&["responses"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["id"], ids[0]);
    assert_eq!(all[0]["agency"], "so-noi-vu");
    assert_eq!(all[0]["action"], "done");
    assert_eq!(all[0]["done_on"], "2022-05-20");
    assert_eq!(all[0]["doc_ref"], "Báo cáo số 12/BC-SNV");
    assert!(all[1]["undone_at"].is_string());
    assert_eq!(all[2]["proposed"], "2022-07-31");
    assert_eq!(all[2]["granted"], Value::Null);

    // --agency by name or alias, --plan, --pending.
    let mine = env.json(&[
        "responses",
        "--agency",
        "Sở Tư pháp",
        "--plan",
        "50/kh-ubnd",
    ]);
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["agency"], "so-tu-phap");
    let pending = env.json(&["responses", "--pending"]);
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["task"], "10.1");
    let out = env.expect(0, &["responses", "--pending"]);
    assert!(out.contains("nhacviec extend"), "{out}");
    let err = env.refused(&["responses", "--agency", "Sở Không Có"]);
    assert!(err.contains("không có cơ quan"), "{err}");
}

#[test]
fn extend_moves_one_agencys_deadline() {
    let env = Env::new();
    seed(&env);
    let preview = |env: &Env| {
        env.expect(
            0,
            &[
                "preview",
                "--from",
                "2022-06-01",
                "--days",
                "30",
                "--agency",
                "so-noi-vu",
                "--task",
                "10.1",
                "--now",
                NOW,
            ],
        )
    };
    let before = preview(&env);
    assert!(before.contains("hạn 18/06/2022"), "{before}");
    assert_eq!(
        env.status_row("so-noi-vu", "10.1")["deadline"],
        "2022-06-18"
    );

    let out = env.expect(
        0,
        &extend_args(
            "Sở Nội vụ",
            "10.1",
            &["--to", "31/07/2022", "--ref", "Công văn số 123/UBND-KT"],
        ),
    );
    assert!(
        out.contains(
            "Đã gia hạn nhiệm vụ 10.1 (KH 50/KH-UBND) cho Sở Nội vụ: hạn 18/06/2022 → 31/07/2022 (Công văn số 123/UBND-KT). Lời nhắc sẽ được tính lại ở lần chạy tới."
        ),
        "{out}"
    );
    assert!(
        out.contains("Đề nghị gia hạn"),
        "the request is answered: {out}"
    );

    // That agency's deadline only.
    assert_eq!(
        env.status_row("so-noi-vu", "10.1")["deadline"],
        "2022-07-31"
    );
    assert_eq!(
        env.status_row("so-tu-phap", "10.1")["deadline"],
        "2022-06-18"
    );
    let after = preview(&env);
    assert_ne!(before, after);
    assert!(!after.contains("hạn 18/06/2022"), "{after}");

    // The request is marked granted and no longer pending.
    let out = env.expect(0, &["responses", "--agency", "so-noi-vu"]);
    assert!(
        out.lines()
            .any(|l| l.contains("10.1") && l.contains("(đã gia hạn)")),
        "{out}"
    );
    assert_eq!(env.json(&["responses", "--pending"]), serde_json::json!([]));

    // Again, from the moved deadline: --from is the plan's date, the message says both.
    let out = env.expect(
        0,
        &extend_args(
            "so-noi-vu",
            "10.1",
            &[
                "--plan",
                "50/KH-UBND",
                "--from",
                "18/06/2022",
                "--to",
                "2022-08-15",
                "--ref",
                "Công văn số 130/UBND-KT",
            ],
        ),
    );
    assert!(
        out.contains(
            "hạn 31/07/2022 → 15/08/2022 (hạn theo kế hoạch: 18/06/2022) (Công văn số 130/UBND-KT)"
        ),
        "{out}"
    );
    assert_eq!(
        env.status_row("so-noi-vu", "10.1")["deadline"],
        "2022-08-15"
    );

    // A date between the plan's and the one in force is not an extension: the dashboard's rule.
    let err = env.refused(&extend_args(
        "so-noi-vu",
        "10.1",
        &["--to", "01/08/2022", "--ref", "Công văn số 131/UBND-KT"],
    ));
    assert!(
        err.contains("hạn mới 01/08/2022 không sau hạn hiện tại 15/08/2022 (đã gia hạn từ hạn 18/06/2022 theo kế hoạch) của Sở Nội vụ"),
        "{err}"
    );
    assert_eq!(
        env.status_row("so-noi-vu", "10.1")["deadline"],
        "2022-08-15"
    );
}

#[test]
fn extend_tells_the_agency_as_the_dashboard_does() {
    let env = Env::new();
    seed(&env);
    let out = env.expect(
        0,
        &extend_args(
            "so-noi-vu",
            "10.1",
            &["--to", "31/07/2022", "--ref", "Công văn số 123/UBND-KT"],
        ),
    );
    assert!(
        out.contains("Đã báo Sở Nội vụ qua email: thư được gửi ở lần gửi tới"),
        "{out}"
    );
    // Queued in the outbox, in the agency's thread, answering its request.
    let told = env.json(&["history", "--agency", "so-noi-vu"]);
    let told = told.as_array().unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["status"], "pending");
    assert_eq!(
        told[0]["subject"],
        "[Nhắc việc] Nhiệm vụ 10.1 (50/KH-UBND): đồng ý gia hạn đến 31/07/2022"
    );
    assert_eq!(told[0]["recipients"][0], "so-noi-vu@haugiang.example");
    assert!(
        env.json(&["history", "--agency", "so-tu-phap"])
            .as_array()
            .unwrap()
            .is_empty(),
        "nobody else"
    );

    // The next pass sends it: the .eml says what moved, from what, by which document.
    env.expect(0, &["run", "--once", "--now", NOW]);
    let id = told[0]["id"].as_i64().unwrap();
    let eml = fs::read(env.state().join("mail").join(format!("{id:08}.eml"))).unwrap();
    let mail = mail_parser::MessageParser::default().parse(&eml).unwrap();
    let text = mail.body_text(0).unwrap();
    assert!(
        text.contains("trả lời đề nghị gia hạn của cơ quan về nhiệm vụ 10.1"),
        "{text}"
    );
    assert!(
        text.contains("ĐỒNG Ý gia hạn: hạn 18/06/2022 được dời đến ngày 31/07/2022."),
        "{text}"
    );
    assert!(text.contains("Văn bản: Công văn số 123/UBND-KT."), "{text}");
    assert_eq!(
        env.json(&["history", "--agency", "so-noi-vu"])[0]["status"],
        "sent"
    );
}

#[test]
fn extend_without_a_database_creates_it() {
    let env = Env::new();
    assert!(!env.db().exists());
    let out = env.expect(
        0,
        &extend_args("so-noi-vu", "8.8", &["--to", "15/06/2022", "--ref", "CV 7"]),
    );
    assert!(out.contains("hạn 31/05/2022 → 15/06/2022 (CV 7)"), "{out}");
    assert!(!out.contains("Đề nghị gia hạn"), "{out}");
    assert!(env.db().exists());
    assert_eq!(env.status_row("so-noi-vu", "8.8")["deadline"], "2022-06-15");
    // Nobody asked: the agency is told of a grant, not of an answer.
    let told = env.json(&["history", "--agency", "so-noi-vu"]);
    assert_eq!(
        told[0]["subject"],
        "[Nhắc việc] Nhiệm vụ 8.8 (50/KH-UBND): gia hạn đến 15/06/2022"
    );
}

#[test]
fn extend_refuses_what_it_cannot_move() {
    let env = Env::new();
    // (agency, task, further arguments, what the refusal says)
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "Sở Không Có",
            "10.1",
            &["--to", "31/07/2022"],
            "không có cơ quan",
        ),
        (
            "so-noi-vu",
            "99.9",
            &["--to", "31/07/2022"],
            "không kế hoạch nào có nhiệm vụ \"99.9\"",
        ),
        // Task 1: the provincial departments and the districts, not a commune.
        (
            "ubnd-x-hoa-tien",
            "1",
            &["--to", "31/01/2023"],
            "không chủ trì cũng không phối hợp nhiệm vụ 1",
        ),
        (
            "so-noi-vu",
            "10.1",
            &["--to", "01/06/2022"],
            "hạn mới 01/06/2022 không sau hạn hiện tại 18/06/2022",
        ),
        (
            "so-noi-vu",
            "10.1",
            &["--to", "18/06/2022"],
            "không sau hạn hiện tại",
        ),
        (
            "so-noi-vu",
            "10.1",
            &["--from", "01/06/2022", "--to", "31/07/2022"],
            "01/06/2022 không phải hạn của Sở Nội vụ",
        ),
        (
            "so-noi-vu",
            "4.1",
            &["--to", "31/07/2022"],
            "không có hạn cụ thể",
        ),
    ];
    for (agency, task, extra, says) in cases {
        let mut args = extend_args(agency, task, extra);
        args.extend(["--ref", "Công văn số 123/UBND-KT"]);
        let err = env.refused(&args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // The decision's document: required, not blank, at most 200 characters; 5 years at most.
    let long = "x".repeat(201);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--to", "31/07/2022", "--ref", "  "],
            "cần số văn bản cho phép gia hạn",
        ),
        (
            &["--to", "31/07/2022", "--ref", &long],
            "số văn bản cho phép gia hạn quá dài (201 ký tự; tối đa 200)",
        ),
        (
            &["--to", "19/06/2027", "--ref", "CV 1"],
            "gia hạn không quá 5 năm sau hạn hiện tại 18/06/2022, tức muộn nhất ngày 18/06/2027",
        ),
    ];
    for (extra, says) in cases {
        let args = extend_args("so-noi-vu", "10.1", extra);
        let err = env.refused(&args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // Nothing was written.
    assert!(!env.db().exists());

    // Without --ref, and with a bad date: usage errors (exit 2).
    let out = env.run(&extend_args("so-noi-vu", "10.1", &["--to", "31/07/2022"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ref"));
    let out = env.run(&extend_args(
        "so-noi-vu",
        "10.1",
        &["--to", "31/13/2022", "--ref", "CV 1"],
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to \"31/13/2022\" không hợp lệ"));
    assert!(!env.db().exists());
}

#[test]
fn extend_refuses_a_deadline_already_met() {
    let env = Env::new();
    seed(&env);
    // Sở Nội vụ reported 8.8 done on 20/05/2022.
    let err = env.refused(&extend_args(
        "so-noi-vu",
        "8.8",
        &["--to", "30/06/2022", "--ref", "CV 1"],
    ));
    assert!(
        err.contains(
            "Sở Nội vụ đã hoàn thành nhiệm vụ 8.8 (hạn 31/05/2022, hoàn thành ngày 20/05/2022)"
        ),
        "{err}"
    );
    let store = Store::open_reader(&env.db()).unwrap();
    assert!(store.extensions().unwrap().is_empty());
    assert!(
        store.history(None, None, 10).unwrap().is_empty(),
        "nobody told"
    );
}

#[test]
fn extend_asks_for_the_plan_when_two_have_the_task() {
    let env = Env::new();
    let plans = env.cfg.join("plans");
    let text = fs::read_to_string(plans.join("50-KH-UBND-2022.toml")).unwrap();
    assert!(text.contains("number = \"50/KH-UBND\""));
    fs::write(
        plans.join("51-KH-UBND-2022.toml"),
        text.replace("number = \"50/KH-UBND\"", "number = \"51/KH-UBND\""),
    )
    .unwrap();
    let err = env.refused(&extend_args(
        "so-noi-vu",
        "10.1",
        &["--to", "31/07/2022", "--ref", "CV 1"],
    ));
    assert!(
        err.contains(
            "nhiệm vụ 10.1 có trong 2 kế hoạch: 50/KH-UBND, 51/KH-UBND; chọn một bằng --plan"
        ),
        "{err}"
    );
    let out = env.expect(
        0,
        &extend_args(
            "so-noi-vu",
            "10.1",
            &[
                "--plan",
                "51/KH-UBND",
                "--to",
                "31/07/2022",
                "--ref",
                "CV 1",
            ],
        ),
    );
    assert!(out.contains("(KH 51/KH-UBND)"), "{out}");
    let rows = env.json(&["status", "--now", NOW, "--agency", "so-noi-vu"]);
    let deadline = |plan: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["plan"] == plan && r["task"] == "10.1")
            .unwrap()["deadline"]
            .clone()
    };
    assert_eq!(deadline("50/KH-UBND"), "2022-06-18");
    assert_eq!(deadline("51/KH-UBND"), "2022-07-31");
}

#[test]
fn status_shows_reports_and_the_latest_response() {
    let env = Env::new();
    let plain = env.status_row("so-noi-vu", "8.8");
    assert_eq!(plain["latest_response"], Value::Null);
    assert_eq!(plain["done"], Value::Null);
    let ids = seed(&env);

    let row = env.status_row("so-noi-vu", "8.8");
    // The report counts: done on 20/05, before the 31/05 deadline.
    assert_eq!(row["state"], "done_on_time");
    assert_eq!(row["done"], "2022-05-20");
    assert_eq!(row["deadline"], "2022-05-31");
    assert_eq!(row["role"], "lead");
    assert_eq!(row["latest_response"]["id"], ids[0]);
    assert_eq!(row["latest_response"]["action"], "done");
    // A withdrawn response is not the latest.
    assert_eq!(
        env.status_row("so-noi-vu", "8.6")["latest_response"],
        Value::Null
    );
    let asked = env.status_row("so-noi-vu", "10.1");
    assert_eq!(asked["latest_response"]["action"], "extension");
    // 18/06 is 24 days off: further than the first reminder (14 days before).
    assert_eq!(asked["state"], "not_due");
    // Another agency's answer is its own.
    let other = env.status_row("so-tu-phap", "8.8");
    assert_eq!(other["latest_response"]["percent"], 70);
    assert_ne!(other["state"], "done_on_time");
    // Every row keeps its keys and has the new one.
    for r in env.json(&["status", "--now", NOW]).as_array().unwrap() {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        for k in [
            "plan",
            "task",
            "agency",
            "role",
            "deadline",
            "state",
            "done",
            "latest_response",
        ] {
            assert!(keys.iter().any(|x| *x == k), "{k} missing in {r}");
        }
    }
    // The text report follows the overlay too.
    let out = env.expect(0, &["status", "--now", NOW, "--agency", "so-noi-vu"]);
    assert!(
        out.lines()
            .any(|l| l.contains(" 8.8 ") && l.contains("hoàn thành đúng hạn")),
        "{out}"
    );
}

#[test]
fn extend_refuses_a_closed_plan() {
    let env = Env::new();
    let path = env.cfg.join("plans").join("50-KH-UBND-2022.toml");
    let text = fs::read_to_string(&path).unwrap();
    let closed = text.replace(
        "issued = 2022-03-24\n",
        "issued = 2022-03-24\nstatus = \"closed\"\nclosed = 2022-05-01\n",
    );
    assert_ne!(text, closed);
    fs::write(&path, closed).unwrap();
    let err = env.refused(&extend_args(
        "so-noi-vu",
        "10.1",
        &["--to", "31/07/2022", "--ref", "CV 1"],
    ));
    assert!(
        err.contains("kế hoạch 50/KH-UBND đã kết thúc ngày 01/05/2022"),
        "{err}"
    );
    assert!(!env.db().exists());
}
