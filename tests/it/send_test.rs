//! `send-test` end to end on the file transport (issue 26): the message says it is a test,
//! carries the agency's real open tasks as of `--now` with consistent days, the configured
//! contact, links only with `[web]` and the link secret, the escalation section only for the
//! office that monitors the plan, and `--to` sends it to that address alone.

use crate::support::cli::Env;

use assert_cmd::Command;
use std::fs;
use std::path::PathBuf;

const NOW: &str = "2022-05-25T08:00:00+07:00";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const MARK: &str = "THƯ THỬ — không cần thực hiện";

/// The sample config with the `[monitor]` contact; `[web]` when `web`.
fn env(web: bool) -> Env {
    let env = Env::new();
    env.edit("nhacviec.toml", |t| {
        let t = t.replace(
            "\nmonitor = \"vp-ubnd-tinh\"\n",
            "\n[monitor]\nagency = \"vp-ubnd-tinh\"\nname = \"Phòng Kiểm soát TTHC\"\nphone = \"0293 3876 543\"\nemail = \"kstthc@haugiang.example\"\n",
        );
        if web {
            format!("{t}\n[web]\nlisten = \"127.0.0.1:8088\"\npublic_url = \"https://nhacviec.haugiang.example\"\n")
        } else {
            t
        }
    });
    env
}

/// Runs `send-test` with the link secret set; expects success; returns stdout.
fn send(env: &Env, args: &[&str]) -> String {
    let out = Command::cargo_bin("nhacviec")
        .unwrap()
        .env_remove("NHACVIEC_STATE_DIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("NHACVIEC_LINK_SECRET", SECRET)
        .arg("--config")
        .arg(&env.cfg)
        .arg("send-test")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Mail {
    path: PathBuf,
    to: Vec<String>,
    subject: String,
    text: String,
    html: String,
}

fn mails(env: &Env) -> Vec<Mail> {
    let dir = env.state().join("mail");
    let mut out = Vec::new();
    for e in fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let raw = fs::read(&path).unwrap();
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        out.push(Mail {
            to: m
                .to()
                .map(|t| {
                    t.iter()
                        .filter_map(|a| a.address())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            subject: m.subject().unwrap_or_default().to_string(),
            text: m.body_text(0).unwrap().to_string(),
            html: m.body_html(0).unwrap().to_string(),
            path,
        });
    }
    out
}

/// The one message written by the last `send-test` (the directory is emptied before each).
fn only_mail(env: &Env) -> Mail {
    let mut all = mails(env);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn clear(env: &Env) {
    let _ = fs::remove_dir_all(env.state().join("mail"));
}

/// "Hạn: dd/mm/yyyy (…)" lines of the text part.
fn deadline_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Hạn:"))
        .collect()
}

#[test]
fn the_sample_is_marked_and_carries_the_agencys_real_open_tasks() {
    let env = env(false);
    let out = send(&env, &["--agency", "Sở Tư pháp", "--now", NOW]);
    let m = only_mail(&env);
    assert!(m.subject.starts_with(MARK), "{}", m.subject);
    assert!(m.text.trim_start().starts_with(MARK), "{}", m.text);
    assert!(m.html.contains(MARK));
    assert_eq!(m.to, vec!["so-tu-phap@haugiang.example".to_string()]);
    // What was sent, to whom, through which channel, and the file.
    assert!(out.contains("so-tu-phap@haugiang.example"), "{out}");
    assert!(out.contains("kênh email"), "{out}");
    assert!(out.contains(&m.path.display().to_string()), "{out}");
    // Named apart from the deliveries' numbered files.
    let name = m.path.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("thu-thu-") && name.ends_with(".eml"),
        "{name}"
    );
    // The tasks are the plan's, as status shows them open for Sở Tư pháp on that day: IV.1
    // (overdue since 30/04) and 8.8 (due 31/05), each with one consistent day count.
    assert!(m.text.contains("Nhiệm vụ IV.1"), "{}", m.text);
    assert!(m.text.contains("Nhiệm vụ 8.8"), "{}", m.text);
    assert!(!m.text.contains("không có thật"));
    let lines = deadline_lines(&m.text);
    assert!(!lines.is_empty());
    for l in &lines {
        assert_ne!(
            l.contains("quá hạn"),
            l.contains("còn") || l.contains("hôm nay"),
            "{l}"
        );
    }
    assert!(
        lines.contains(&"Hạn: 30/04/2022 (quá hạn 25 ngày)"),
        "{lines:?}"
    );
    assert!(lines.contains(&"Hạn: 31/05/2022 (còn 6 ngày)"), "{lines:?}");
    // The configured contact, not a made-up one; no escalation section for a lead agency;
    // no link without [web].
    assert!(m.text.contains("Phòng Kiểm soát TTHC"), "{}", m.text);
    assert!(m.text.contains("0293 3876 543"), "{}", m.text);
    assert!(m.text.contains("kstthc@haugiang.example"), "{}", m.text);
    assert!(!m.text.contains("example.org"));
    assert!(!m.text.contains("chưa hoàn thành:"), "{}", m.text);
    assert!(!m.text.contains("/a/"), "{}", m.text);
    assert!(!m.html.replace("&#x2f;", "/").contains("/a/"), "{}", m.html);
}

#[test]
fn the_monitoring_office_gets_the_escalation_section() {
    let env = env(false);
    send(&env, &["--agency", "vp-ubnd-tinh", "--now", NOW]);
    let m = only_mail(&env);
    assert!(m.subject.starts_with(MARK), "{}", m.subject);
    assert!(
        m.text
            .contains("Các nhiệm vụ có cơ quan chủ trì chưa hoàn thành"),
        "{}",
        m.text
    );
    assert!(
        // IV.1, 25 days late (within the overdue reminders: 4 × 7 days); lateness of earlier
        // deadlines, no longer told, is left out.
        m.text.contains("Nhiệm vụ IV.1 - Kế hoạch số 50/KH-UBND, hạn 30/04/2022 (quá hạn 25 ngày) — 27 cơ quan chưa hoàn thành"),
        "{}",
        m.text
    );
}

#[test]
fn with_web_and_the_secret_the_items_link_to_the_agencys_page() {
    let env = env(true);
    send(&env, &["--agency", "so-tu-phap", "--now", NOW]);
    let m = only_mail(&env);
    let page = "https://nhacviec.haugiang.example/a/";
    assert!(m.text.contains(page), "{}", m.text);
    // minijinja's HTML escaping writes "/" as "&#x2f;".
    assert!(m.html.replace("&#x2f;", "/").contains(page), "{}", m.html);
    assert!(m.text.contains("?muc="), "{}", m.text);
    // Sent to someone else (`--to`): no signed link that could answer for the agency.
    clear(&env);
    send(
        &env,
        &[
            "--agency",
            "so-tu-phap",
            "--to",
            "thu@khac.example",
            "--now",
            NOW,
        ],
    );
    let m = only_mail(&env);
    assert!(!m.text.contains("/a/"), "{}", m.text);
    assert!(!m.html.replace("&#x2f;", "/").contains("/a/"), "{}", m.html);
}

/// Years after the shipped plan ended, the sample shows nothing the service would not send:
/// no deadline long past, but the example item.
#[test]
fn a_sample_never_shows_what_the_service_no_longer_reminds() {
    let env = env(false);
    send(
        &env,
        &[
            "--agency",
            "so-noi-vu",
            "--now",
            "2026-12-07T09:00:00+07:00",
        ],
    );
    let m = only_mail(&env);
    assert!(!m.text.contains("quá hạn 1"), "{}", m.text);
    assert!(m.text.contains("không có thật"), "{}", m.text);
}

#[test]
fn to_sends_the_agencys_sample_to_that_address_only() {
    let env = env(false);
    let out = send(
        &env,
        &[
            "--agency",
            "Sở Tư pháp",
            "--to",
            "thu@khac.example",
            "--now",
            NOW,
        ],
    );
    let m = only_mail(&env);
    assert_eq!(m.to, vec!["thu@khac.example".to_string()]);
    assert!(m.text.contains("gửi cho Sở Tư pháp"), "{}", m.text);
    assert!(m.text.contains("Nhiệm vụ IV.1"), "{}", m.text);
    assert!(
        out.contains("thu@khac.example") && !out.contains("so-tu-phap@"),
        "{out}"
    );
    clear(&env);
    // Not an address: refused in Vietnamese, nothing written.
    let bad = env.refused(&["send-test", "--agency", "so-tu-phap", "--to", "thu khác"]);
    assert!(bad.contains("không phải một địa chỉ email hợp lệ"), "{bad}");
    assert!(!env.state().join("mail").exists() || mails(&env).is_empty());
    // Trial mode still redirects, naming the address it was meant for.
    env.edit("nhacviec.toml", |t| {
        t.replace(
            "\n[email]\n",
            "\n[email]\nredirect_all_to = \"thu-nghiem@haugiang.example\"\n",
        )
    });
    send(
        &env,
        &[
            "--agency",
            "so-tu-phap",
            "--to",
            "thu@khac.example",
            "--now",
            NOW,
        ],
    );
    let m = only_mail(&env);
    assert_eq!(m.to, vec!["thu-nghiem@haugiang.example".to_string()]);
    assert!(m.text.contains("thu@khac.example"), "{}", m.text);
}
