//! End to end in a real browser (Debian's chromium over WebDriver): a tick writes .eml files,
//! the link is taken from a real message, opened at 360 px and 1280 px; the agency marks a
//! task done and asks for more time; the admin grants it with `nhacviec extend`; `status`,
//! `preview` and the next tick change accordingly. Screenshots go to
//! `target/screenshots/` (the committed ones in docs/screenshots/ are copies, looked at).

use crate::support::webdriver::Driver;
use crate::support::{copy_dir, free_port, repo};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "browser test link secret, 32+ chars";
const AGENCY: &str = "so-noi-vu";

struct Env {
    _tmp: tempfile::TempDir,
    cfg: PathBuf,
    port: u16,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("config");
        copy_dir(&repo().join("config"), &cfg);
        let port = free_port();
        let settings = cfg.join("nhacviec.toml");
        let text = fs::read_to_string(&settings)
            .unwrap()
            .replace("state_dir = \"../var\"", "state_dir = \"state\"");
        let text = format!(
            "{text}\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
        );
        fs::write(settings, text).unwrap();
        Env {
            _tmp: tmp,
            cfg,
            port,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nhacviec"));
        c.env("NHACVIEC_LINK_SECRET", SECRET)
            .env_remove("NHACVIEC_STATE_DIR")
            .env_remove("RUST_LOG")
            .arg("--config")
            .arg(&self.cfg)
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "nhacviec {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8(self.run(args).stdout).unwrap()
    }

    fn mails(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.cfg.join("state/mail")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "eml") {
                let text = fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
        out.sort();
        out
    }
}

/// The pages served by `nhacviec web --now`, stopped when dropped.
struct Pages(Child);

impl Drop for Pages {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(env: &Env, now: &str) -> Pages {
    let child = env
        .command(&["web", "--now", now])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", env.port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nhacviec web did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Pages(child)
}

/// The message to `to`, parsed.
fn mail_to<'a>(mails: &'a [(PathBuf, String)], to: &str) -> &'a (PathBuf, String) {
    mails
        .iter()
        .find(|(_, m)| {
            mail_parser::MessageParser::default()
                .parse(m.as_bytes())
                .and_then(|p| {
                    p.to()
                        .and_then(|t| t.first())
                        .and_then(|a| a.address())
                        .map(|a| a == to)
                })
                .unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("no message to {to}"))
}

fn screenshots() -> PathBuf {
    let dir = repo().join("target/screenshots");
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_agency_answers_a_reminder_in_a_real_browser() {
    let env = Env::new();
    // 1. A tick on 01/06/2022 writes the digests as .eml files.
    env.run(&["run", "--once", "--now", "2022-06-01T08:00:00+07:00"]);
    let mails = env.mails();
    let (_, eml) = mail_to(&mails, "so-noi-vu@haugiang.example");
    let parsed = mail_parser::MessageParser::default()
        .parse(eml.as_bytes())
        .unwrap();
    let text = parsed.body_text(0).unwrap().to_string();
    let html = parsed.body_html(0).unwrap().to_string();
    let prefix = format!("http://127.0.0.1:{}/a/", env.port);
    let link: String = {
        let at = text
            .find(&prefix)
            .unwrap_or_else(|| panic!("no link in the text part:\n{text}"));
        text[at..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != ')')
            .collect()
    };
    assert!(
        html.replace("&#x2f;", "/").contains(&link),
        "the HTML part links the same page"
    );
    assert!(html.contains("Cập nhật kết quả thực hiện"));
    let shots = screenshots();
    let digest = shots.join("digest.html");
    fs::write(&digest, &html).unwrap();

    // 2. The page, as the agency's official opens it.
    let _pages = serve(&env, "2022-06-01T09:00:00+07:00");
    let mut b = Driver::start(1280, 900);
    b.go(&format!("file://{}", digest.display()));
    b.screenshot(800, &shots.join("digest-800.png"));
    // Below 600 px each task is a card.
    b.resize(360, 800);
    b.go(&format!("file://{}", digest.display()));
    b.screenshot(360, &shots.join("digest-360.png"));
    b.resize(1280, 900);
    b.go(&link);
    let page = b.text();
    assert!(page.contains("Sở Nội vụ"), "{page}");
    assert!(
        page.contains("Kế hoạch số 50/KH-UBND ngày 24/03/2022"),
        "{page}"
    );
    assert!(page.contains("Nhiệm vụ 9.1"), "{page}");
    b.screenshot(1280, &shots.join("agency-1280.png"));
    b.resize(360, 800);
    b.go(&link);
    b.screenshot(360, &shots.join("agency-360.png"));
    b.resize(1280, 900);
    b.go(&link);

    // 3. Task 9.1 (Quý I/2022, overdue) is done: the form opens, the date is today by
    // default, a document number is given.
    // The card of `task` (its first, the most overdue).
    let article = |task: &str| -> String { format!("article[data-task='{task}']") };
    let card = article("9.1");
    b.click(&format!("{card} details:nth-of-type(1) summary"));
    b.type_into(
        &format!("{card} form[action$='/done'] input[name=doc_ref]"),
        "Báo cáo số 45/BC-SNV",
    );
    b.type_into(
        &format!("{card} form[action$='/done'] input[name=ho_ten]"),
        "Nguyễn Văn A",
    );
    b.type_into(
        &format!("{card} form[action$='/done'] input[name=chuc_vu]"),
        "Chuyên viên",
    );
    b.click(&format!("{card} form[action$='/done'] button"));
    b.wait_url("?ghi-nhan=");
    let page = b.text();
    assert!(
        page.contains("Đã ghi nhận: Nhiệm vụ 9.1 — hạn 31/03/2022 (Kế hoạch số 50/KH-UBND) đã hoàn thành ngày 01/06/2022"),
        "{page}"
    );
    assert!(page.contains("Báo cáo số 45/BC-SNV"), "{page}");

    // 4. More time for 9.2 (Năm 2022): asked for 31/01/2023.
    let card = article("9.2");
    b.click(&format!("{card} details:nth-of-type(3) summary"));
    // Typed as Vietnamese write dates, whatever the browser's locale.
    b.type_into(
        &format!("{card} form[action$='/extend'] input[name=proposed]"),
        "31/01/2023",
    );
    b.type_into(
        &format!("{card} form[action$='/extend'] textarea[name=reason]"),
        "Chờ hướng dẫn của Bộ Nội vụ",
    );
    // The name given with the first answer is remembered for this link.
    let remembered = b.script(&format!(
        "return document.querySelector(\"{card} form[action$='/extend'] input[name=ho_ten]\").value"
    ));
    assert_eq!(remembered, serde_json::json!("Nguyễn Văn A"));
    b.click(&format!("{card} form[action$='/extend'] button"));
    b.wait_url("?ghi-nhan=2");
    let page = b.text();
    assert!(
        page.contains("đến 31/01/2023, đang chờ cơ quan theo dõi xem xét"),
        "{page}"
    );
    b.screenshot(1280, &shots.join("agency-answered-1280.png"));

    // 5. The monitoring office sees the request and grants it.
    let listed = env.stdout(&["responses", "--agency", AGENCY]);
    assert!(
        listed.contains("9.2") && listed.contains("31/01/2023"),
        "{listed}"
    );
    let granted = env.stdout(&[
        "extend",
        "--agency",
        AGENCY,
        "--task",
        "9.2",
        "--to",
        "31/01/2023",
        "--ref",
        "Công văn số 120/VP-KSTT",
        "--now",
        "2022-06-02T08:00:00+07:00",
    ]);
    assert!(granted.contains("31/01/2023"), "{granted}");

    // 6. status and preview reflect both; the next tick reminds Sở Nội vụ of neither.
    let status: serde_json::Value = serde_json::from_str(&env.stdout(&[
        "status",
        "--agency",
        AGENCY,
        "--format",
        "json",
        "--now",
        "2022-06-08T08:00:00+07:00",
    ]))
    .unwrap();
    let rows = status
        .as_array()
        .or_else(|| status["rows"].as_array())
        .unwrap();
    let row = |task: &str| {
        rows.iter()
            .find(|r| r["task"] == task && r["agency"] == AGENCY)
            .unwrap_or_else(|| panic!("no status row for {task}: {status}"))
    };
    assert_eq!(row("9.1")["done"], "2022-06-01", "{}", row("9.1"));
    assert_eq!(row("9.2")["deadline"], "2023-01-31", "{}", row("9.2"));
    let preview = env.stdout(&[
        "preview",
        "--agency",
        AGENCY,
        "--now",
        "2022-06-08T08:00:00+07:00",
        "--days",
        "400",
    ]);
    let lines_of = |task: &str| -> Vec<&str> {
        preview
            .lines()
            .filter(|l| l.contains(&format!("50/KH-UBND {task} ")))
            .collect()
    };
    // 9.2 now counts down to 31/01/2023; 9.1 (done) is not reminded again.
    assert!(!lines_of("9.2").is_empty(), "{preview}");
    assert!(
        lines_of("9.2").iter().all(|l| l.contains("hạn 31/01/2023")),
        "{:?}",
        lines_of("9.2")
    );
    assert!(lines_of("9.1").is_empty(), "{:?}", lines_of("9.1"));

    let before: Vec<PathBuf> = env.mails().into_iter().map(|(p, _)| p).collect();
    env.run(&["run", "--once", "--now", "2022-06-08T08:00:00+07:00"]);
    for (p, m) in env.mails() {
        if before.contains(&p) || !m.contains("so-noi-vu@haugiang.example") {
            continue;
        }
        let parsed = mail_parser::MessageParser::default()
            .parse(m.as_bytes())
            .unwrap();
        let text = parsed.body_text(0).unwrap_or_default().to_string();
        assert!(!text.contains("9.1"), "9.1 is done: {text}");
    }
    copy_to_docs(&shots);
}

/// With NHACVIEC_SCREENSHOTS=docs the screenshots are copied to docs/screenshots/ (to commit
/// them after looking at them).
fn copy_to_docs(shots: &Path) {
    if std::env::var("NHACVIEC_SCREENSHOTS").as_deref() == Ok("docs") {
        let docs = repo().join("docs/screenshots");
        fs::create_dir_all(&docs).unwrap();
        for name in [
            "digest-360.png",
            "digest-800.png",
            "agency-360.png",
            "agency-1280.png",
            "agency-answered-1280.png",
        ] {
            fs::copy(shots.join(name), docs.join(name)).unwrap();
        }
    }
}

/// The agency's page at 360 px: one column, nothing wider than the screen, the forms usable.
#[test]
fn the_agencys_page_reads_at_360_px_without_scrolling_sideways() {
    let env = Env::new();
    let _pages = serve(&env, "2022-06-01T09:00:00+07:00");
    let signer = nhacviec::links::Signer {
        current: nhacviec::links::Key::new(SECRET).unwrap(),
        previous: None,
        days: 60,
    };
    let issued = chrono::DateTime::parse_from_rfc3339("2022-06-01T08:00:00+07:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    // The monitoring office's page: its own tasks and the longest titles of the plan.
    let link = format!(
        "http://127.0.0.1:{}/a/{}",
        env.port,
        signer.sign("vp-ubnd-tinh", issued)
    );
    let mut b = Driver::start(360, 800);
    b.go(&link);
    let text = b.text();
    assert!(text.contains("Văn phòng UBND tỉnh"), "{text}");
    let width = b.script("return document.documentElement.scrollWidth");
    assert!(
        width.as_u64().unwrap() <= 360,
        "page is {width} px wide at 360 px"
    );
    // A form opens and its fields fit too.
    b.click("article details summary");
    let field = b.script(
        "return document.querySelector('article details[open] input, article details[open] textarea').getBoundingClientRect().right",
    );
    assert!(field.as_f64().unwrap() <= 360.0, "field ends at {field}");
    b.screenshot(360, &screenshots().join("monitor-360.png"));
}

/// The monitoring office's day in a real browser: the dashboard from `nhacviec admin-link`,
/// filtered to a date and an agency, the workbook downloaded from its link, an extension
/// request granted (the agency's message goes out at the next pass); then Monday's weekly
/// report as a mail client shows it. Screenshots of the dashboard and the report at 1280 and
/// 360 px.
#[test]
fn the_monitoring_office_follows_up_in_a_real_browser() {
    let env = Env::new();
    // Reminders go out on 01/06 (the dashboard shows when each agency was last reminded).
    env.run(&["run", "--once", "--now", "2022-06-01T08:00:00+07:00"]);
    let db = env.cfg.join("state").join(nhacviec::daemon::DB_FILE);
    {
        let store = nhacviec::store::Store::open_writer(&db).unwrap();
        let asked = nhacviec::answers::NewResponse {
            deadline: Some(crate::support::answers::date("2022-12-31")),
            proposed: Some(crate::support::answers::date("2023-01-31")),
            note: Some("Chờ hướng dẫn của Bộ Nội vụ".into()),
            ..crate::support::answers::answer(
                "so-noi-vu",
                "9.2",
                nhacviec::answers::Action::Extension,
                "b1",
            )
        };
        store
            .record_response(&asked, crate::support::answers::at("2022-06-01T03:00:00Z"))
            .unwrap();
    }
    let link = env
        .stdout(&["admin-link", "--now", "2022-06-02T08:00:00+07:00"])
        .trim()
        .to_string();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{}/theo-doi/", env.port)),
        "{link}"
    );
    let _pages = serve(&env, "2022-06-02T09:00:00+07:00");
    let shots = screenshots();

    let mut b = Driver::start(1280, 900);
    b.go(&link);
    let text = b.text();
    assert!(text.contains("Theo dõi thực hiện kế hoạch"), "{text}");
    assert!(text.contains("Số liệu đến ngày 02/06/2022"), "{text}");
    assert!(text.contains("Đề nghị gia hạn chờ xem xét (1)"), "{text}");
    assert!(text.contains("Chờ hướng dẫn của Bộ Nội vụ"), "{text}");
    assert!(
        text.contains("nhắc 01/06/2022"),
        "the last reminder: {text}"
    );
    b.screenshot(1280, &shots.join("dashboard-1280.png"));
    b.resize(360, 800);
    b.go(&link);
    let width = b.script("return document.body.scrollWidth");
    assert!(
        width.as_u64().unwrap() <= 360,
        "dashboard is {width} px wide at 360 px"
    );
    b.screenshot(360, &shots.join("dashboard-360.png"));
    b.resize(1280, 900);
    b.go(&link);

    // Filtered: as of 30/06/2022, agencies found by an unaccented name.
    b.script("document.querySelector('input[name=ngay]').value = '2022-06-30'");
    b.type_into("input[name=tim]", "noi vu");
    b.click(".filters button");
    b.wait_url("sap-xep=qua-han");
    let text = b.text();
    assert!(text.contains("Số liệu đến ngày 30/06/2022"), "{text}");
    assert!(text.contains("Theo cơ quan (1)"), "{text}");

    // The workbook, from the page's own link (for the date chosen).
    let href = b.script("return document.querySelector('a.download').href");
    let href = href.as_str().unwrap().to_string();
    assert!(href.contains("ngay=2022-06-30"), "{href}");
    let bytes = reqwest::blocking::get(&href)
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let summary = calamine::Reader::worksheet_range(&mut wb, "Tổng hợp").unwrap();
    assert!(format!("{:?}", summary.get((0, 0))).contains("30/06/2022"));

    // The request granted, with the document that allows it.
    b.go(&link);
    b.click("#gia-han details summary");
    b.script("document.querySelector('#gia-han input[name=to]').value = '2023-01-31'");
    b.type_into("#gia-han input[name=doc_ref]", "Công văn số 120/VP-KSTT");
    b.click("#gia-han form[action$='/gia-han'] button");
    b.wait_url("?ok=granted");
    let text = b.text();
    assert!(text.contains("Đã gia hạn"), "{text}");
    assert!(text.contains("Đề nghị gia hạn chờ xem xét (0)"), "{text}");
    let status: serde_json::Value = serde_json::from_str(&env.stdout(&[
        "status",
        "--agency",
        AGENCY,
        "--format",
        "json",
        "--now",
        "2022-06-02",
    ]))
    .unwrap();
    let row = status
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["task"] == "9.2")
        .unwrap();
    assert_eq!(row["deadline"], "2023-01-31");

    // The next pass tells Sở Nội vụ; Monday's pass sends the weekly report.
    let before = env.mails().len();
    env.run(&["run", "--once", "--now", "2022-06-02T08:30:00+07:00"]);
    let told = env
        .mails()
        .into_iter()
        .any(|(_, m)| m.contains("so-noi-vu@haugiang.example") && m.contains("gia h"));
    assert!(told && env.mails().len() > before, "the decision's message");
    env.run(&["run", "--once", "--now", "2022-06-06T08:00:00+07:00"]);
    let mails = env.mails();
    let (_, report) = mails
        .iter()
        .filter(|(_, m)| m.contains("vp-ubnd-tinh@haugiang.example"))
        .find(|(_, m)| {
            mail_parser::MessageParser::default()
                .parse(m.as_bytes())
                .and_then(|p| p.subject().map(|s| s.contains("Báo cáo tuần")))
                .unwrap_or(false)
        })
        .expect("the weekly report");
    let parsed = mail_parser::MessageParser::default()
        .parse(report.as_bytes())
        .unwrap();
    let html = parsed.body_html(0).unwrap().to_string();
    assert!(html.len() < 30_000, "{} bytes", html.len());
    assert!(html.contains("Được gia hạn: 1"), "{html}");
    let file = shots.join("weekly-report.html");
    fs::write(&file, &html).unwrap();
    b.go(&format!("file://{}", file.display()));
    b.screenshot(1280, &shots.join("weekly-1280.png"));
    b.resize(360, 800);
    b.go(&format!("file://{}", file.display()));
    b.screenshot(360, &shots.join("weekly-360.png"));
    if std::env::var("NHACVIEC_SCREENSHOTS").as_deref() == Ok("docs") {
        let docs = repo().join("docs/screenshots");
        fs::create_dir_all(&docs).unwrap();
        for name in [
            "dashboard-1280.png",
            "dashboard-360.png",
            "weekly-1280.png",
            "weekly-360.png",
        ] {
            fs::copy(shots.join(name), docs.join(name)).unwrap();
        }
    }
}

/// The texts of the messages to `to` written since `before` (paths), as a mail client reads
/// them.
fn new_texts_to(env: &Env, before: &[PathBuf], to: &str) -> Vec<String> {
    env.mails()
        .into_iter()
        .filter(|(p, m)| !before.contains(p) && m.contains(to))
        .map(|(_, m)| {
            let parsed = mail_parser::MessageParser::default()
                .parse(m.as_bytes())
                .unwrap();
            parsed.body_text(0).unwrap_or_default().to_string()
        })
        .collect()
}

/// The answer loop on a monthly task, as a clerk of Sở Nội vụ plays it on 07/12/2026: the
/// reminder names "Tháng 11/2026"; its button opens the page at that period's card (at 1280 and
/// 375 px); "done" closes November only; the next ticks leave November alone and remind
/// December; the following Monday's weekly report lists the completion once.
#[test]
fn a_monthly_period_is_answered_from_its_reminder() {
    let env = Env::new();
    fs::copy(
        repo().join("tests/data/plans/12-KH-UBND-2026-hang-thang.toml"),
        env.cfg.join("plans/12-KH-UBND-2026.toml"),
    )
    .unwrap();
    const MAILBOX: &str = "so-noi-vu@haugiang.example";
    // 1. Monday 07/12/2026, 08:00: the first pass reminds November (overdue since 24/11).
    env.run(&["run", "--once", "--now", "2026-12-07T08:00:00+07:00"]);
    let mails = env.mails();
    let (_, eml) = mail_to(&mails, MAILBOX);
    let parsed = mail_parser::MessageParser::default()
        .parse(eml.as_bytes())
        .unwrap();
    let text = parsed.body_text(0).unwrap().to_string();
    assert!(
        text.contains("Hạn: Tháng 11/2026 — 24/11/2026 (quá hạn 13 ngày)"),
        "{text}"
    );
    let html = parsed
        .body_html(0)
        .unwrap()
        .to_string()
        .replace("&#x2f;", "/");
    // The button: the first link of the HTML part, to the November card.
    let button: String = {
        let at = html.find("Cập nhật kết quả thực hiện").expect("the button");
        let start = html[..at].rfind("href=\"").unwrap() + 6;
        html[start..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&")
    };
    assert!(
        button.ends_with("?muc=12%2FKH-UBND%7C1%7C2026-11-24#muc"),
        "{button}"
    );
    assert!(
        text.contains(&format!("Trả lời: {button}")),
        "the text part links the item too: {text}"
    );
    assert!(
        text.contains("Sở Thông tin và Truyền thông"),
        "the plan's own office is named: {text}"
    );
    // Sở Nội vụ is 13 days late on November: the plan's office is told, not the settings' one.
    let body = |eml: &str| {
        mail_parser::MessageParser::default()
            .parse(eml.as_bytes())
            .and_then(|p| p.body_text(0).map(|t| t.to_string()))
            .unwrap_or_default()
    };
    let (_, escalation) = mail_to(&mails, "so-tttt@haugiang.example");
    let escalation = body(escalation);
    assert!(
        escalation.contains("12/KH-UBND") && escalation.contains("Sở Nội vụ"),
        "{escalation}"
    );
    // The sample plan ended with 2022: the office gets nothing, in particular no escalation.
    let to_office = mails.iter().filter(|(_, m)| {
        mail_parser::MessageParser::default()
            .parse(m.as_bytes())
            .and_then(|p| {
                p.to()
                    .and_then(|t| t.first())
                    .and_then(|a| a.address())
                    .map(|a| a == "vp-ubnd-tinh@haugiang.example")
            })
            .unwrap_or(false)
    });
    assert!(
        to_office
            .clone()
            .all(|(_, m)| !body(m).contains("12/KH-UBND")),
        "no escalation of 12/KH-UBND to Văn phòng UBND tỉnh"
    );

    let shots = screenshots();
    let pages = serve(&env, "2026-12-07T09:00:00+07:00");
    // 2. The button lands on the November card, in view, its "done" form open.
    let mut b = Driver::start(1280, 900);
    for (width, height, name) in [(1280, 900, "period-1280.png"), (375, 812, "period-375.png")] {
        b.resize(width, height);
        b.go(&button);
        let landed = b.script(
            "const c = document.getElementById('muc'); const r = c.getBoundingClientRect(); \
             return [c.dataset.plan, c.dataset.task, c.dataset.deadline, Math.round(r.top) >= 0 && r.top < window.innerHeight, \
                     c.querySelector('details').open, c.querySelector('.period').textContent]",
        );
        assert_eq!(
            landed,
            serde_json::json!([
                "12/KH-UBND",
                "1",
                "2026-11-24",
                true,
                true,
                "Tháng 11/2026 — hạn 24/11/2026"
            ]),
            "at {width} px"
        );
        b.screenshot_view(&shots.join(name));
    }
    // December is its own card, and 2022 tasks wait below.
    let page = b.text();
    assert!(page.contains("Tháng 12/2026 — hạn 24/12/2026"), "{page}");
    assert!(
        !page.contains("Tháng 10/2026"),
        "periods before reminders_from are nobody's: {page}"
    );

    // 3. Done, with a name, the report's number and the report itself (a PDF): November only.
    //    The office returns it (a missing annex); the clerk reads why and answers again; the
    //    office confirms.
    let pdf = env.cfg.join("bao-cao-thang-11.pdf");
    fs::write(&pdf, b"%PDF-1.4\n% monthly report\n%%EOF\n").unwrap();
    let done_form = |b: &Driver, doc: &str| {
        b.type_into("#muc form[action$='/done'] input[name=doc_ref]", doc);
        // Filled in from the link's cookie after the first answer: typed only when empty.
        let filled = b.script(
            "return document.querySelector(\"#muc form[action$='/done'] input[name=ho_ten]\").value",
        );
        if filled == serde_json::json!("") {
            b.type_into(
                "#muc form[action$='/done'] input[name=ho_ten]",
                "Trần Thị B",
            );
            b.type_into(
                "#muc form[action$='/done'] input[name=chuc_vu]",
                "Chuyên viên Phòng CCHC",
            );
        } else {
            assert_eq!(filled, serde_json::json!("Trần Thị B"), "remembered");
        }
        b.type_into(
            "#muc form[action$='/done'] input[name=tep]",
            pdf.to_str().unwrap(),
        );
        b.click("#muc form[action$='/done'] button");
    };
    b.resize(1280, 900);
    b.go(&button);
    done_form(&b, "Báo cáo số 240/BC-SNV");
    b.wait_url("?ghi-nhan=1");
    let admin = env
        .stdout(&["admin-link", "--now", "2026-12-07T10:00:00+07:00"])
        .trim()
        .to_string();
    b.go(&format!("{admin}#xac-nhan"));
    let review = b.text();
    assert!(
        review.contains("Báo hoàn thành chờ xác nhận (1)")
            && review.contains("Sở Nội vụ: nhiệm vụ 1 — Tháng 11/2026 — hạn 24/11/2026")
            && review.contains("Trần Thị B, Chuyên viên Phòng CCHC")
            && review.contains("bao-cao-thang-11.pdf"),
        "{review}"
    );
    b.screenshot_view(&shots.join("review-1280.png"));
    b.resize(375, 812);
    b.go(&format!("{admin}#xac-nhan"));
    b.screenshot_view(&shots.join("review-375.png"));
    b.resize(1280, 900);
    b.go(&format!("{admin}#xac-nhan"));
    b.click("#xac-nhan details summary");
    b.type_into(
        "#xac-nhan form[action$='/tra-lai'] textarea[name=reason]",
        "Thiếu phụ lục số liệu của cấp huyện",
    );
    b.click("#xac-nhan form[action$='/tra-lai'] button");
    b.wait_url("?ok=returned");
    assert!(b.text().contains("Đã trả lại báo cáo hoàn thành"));
    // The clerk's page: November open again, with the reason.
    b.go(&button);
    let reopened = b.text();
    assert!(
        reopened.contains("đã trả lại báo cáo hoàn thành")
            && reopened.contains("Thiếu phụ lục số liệu của cấp huyện"),
        "{reopened}"
    );
    done_form(&b, "Báo cáo số 245/BC-SNV");
    b.wait_url("?ghi-nhan=2");
    let page = b.text();
    assert!(
        page.contains("Đã ghi nhận: Nhiệm vụ 1 — Tháng 11/2026 — hạn 24/11/2026 (Kế hoạch số 12/KH-UBND) đã hoàn thành ngày 07/12/2026 (văn bản Báo cáo số 245/BC-SNV)"),
        "{page}"
    );
    let in_view = b.script(
        "const n = document.getElementById('thong-bao').getBoundingClientRect(); \
         const c = document.getElementById('muc').getBoundingClientRect(); \
         return Math.round(n.top) >= 0 && c.top < window.innerHeight",
    );
    assert_eq!(
        in_view,
        serde_json::json!(true),
        "the notice, the card under it"
    );
    let card = b.script(
        "const c = document.getElementById('muc'); return [c.dataset.deadline, c.querySelector('.status').textContent]",
    );
    assert_eq!(
        card,
        serde_json::json!(["2026-11-24", "Đã hoàn thành ngày 07/12/2026"])
    );
    let december = b.script(
        "const c = document.querySelector(\"article[data-plan='12/KH-UBND'][data-deadline='2026-12-24']\"); \
         return c && !c.classList.contains('done') && c.querySelector(\"form[action$='/done']\") !== null",
    );
    assert_eq!(december, serde_json::json!(true), "December stays open");
    b.screenshot_view(&shots.join("period-done-1280.png"));
    // The office confirms the second report, then reads the agency's page as it stands,
    // without its forms.
    b.go(&format!("{admin}#xac-nhan"));
    b.click("#xac-nhan form[action$='/xac-nhan'] button");
    b.wait_url("?ok=confirmed");
    assert!(b.text().contains("Báo hoàn thành chờ xác nhận (0)"));
    let view = b.script(
        "return Array.from(document.querySelectorAll('#co-quan a')).map(a => a.getAttribute('href')).find(h => h.endsWith('/co-quan/so-noi-vu'))",
    );
    // At the card the office asks about.
    let view = format!(
        "http://127.0.0.1:{}{}?muc=12%2FKH-UBND%7C1%7C2026-11-24#muc",
        env.port,
        view.as_str()
            .expect("the agencies' table links a read-only view")
    );
    for (width, height, name) in [
        (1280, 900, "readonly-1280.png"),
        (375, 812, "readonly-375.png"),
    ] {
        b.resize(width, height);
        b.go(&view);
        let ro = b.text();
        assert!(
            ro.contains("Cơ quan theo dõi đang xem trang của cơ quan này")
                && ro.contains("Cơ quan theo dõi đã xác nhận hoàn thành"),
            "{ro}"
        );
        let forms = b.script("return document.querySelectorAll('form[method=post]').length");
        assert_eq!(forms, serde_json::json!(0), "no form in the office's view");
        b.screenshot_view(&shots.join(name));
    }
    drop(pages);

    // 4. The next ticks: November is not reminded again, December is.
    let before: Vec<PathBuf> = env.mails().into_iter().map(|(p, _)| p).collect();
    env.run(&["run", "--once", "--now", "2026-12-14T08:00:00+07:00"]);
    let monday = new_texts_to(&env, &before, MAILBOX);
    // The return went out at this pass, its reason with it.
    assert!(
        monday
            .iter()
            .any(|t| t.contains("TRẢ LẠI") && t.contains("Thiếu phụ lục số liệu của cấp huyện")),
        "{monday:?}"
    );
    let monday: Vec<String> = monday
        .into_iter()
        .filter(|t| t.contains("xin nhắc"))
        .collect();
    assert!(
        monday.iter().all(|t| !t.contains("Tháng 11/2026")),
        "November is done: {monday:?}"
    );
    assert!(
        monday
            .iter()
            .any(|t| t.contains("Hạn: Tháng 12/2026 — 24/12/2026 (còn 10 ngày)")),
        "December's first reminder (10/12, caught up): {monday:?}"
    );
    let before: Vec<PathBuf> = env.mails().into_iter().map(|(p, _)| p).collect();
    env.run(&["run", "--once", "--now", "2026-12-17T08:00:00+07:00"]);
    let december = new_texts_to(&env, &before, MAILBOX);
    assert!(
        december
            .iter()
            .any(|t| t.contains("Hạn: Tháng 12/2026 — 24/12/2026 (còn 7 ngày)")),
        "{december:?}"
    );
    assert!(december.iter().all(|t| !t.contains("Tháng 11/2026")));
    let preview = env.stdout(&[
        "preview",
        "--agency",
        AGENCY,
        "--plan",
        "12/KH-UBND",
        "--now",
        "2026-12-17T09:00:00+07:00",
        "--days",
        "60",
    ]);
    assert!(!preview.contains("hạn 24/11/2026"), "{preview}");
    assert!(preview.contains("hạn 24/12/2026"), "{preview}");

    // 5. Monday 14/12's weekly report lists the completion, once; the next one does not. The
    //    plan has its own monitoring office (Sở TT&TT): its report goes there, and the settings'
    //    office's report leaves the plan out.
    env.run(&["run", "--once", "--now", "2026-12-21T08:00:00+07:00"]);
    let reports_to = |mailbox: &str| -> Vec<(String, String)> {
        env.mails()
            .into_iter()
            .filter_map(|(_, m)| {
                let p = mail_parser::MessageParser::default().parse(m.as_bytes())?;
                let subject = p.subject()?.to_string();
                let to = p
                    .to()
                    .and_then(|t| t.first())
                    .and_then(|a| a.address())
                    .map(str::to_string);
                (to.as_deref() == Some(mailbox) && subject.contains("Báo cáo tuần")).then(|| {
                    let text = p.body_text(0).unwrap_or_default().replace("\r\n", "\n");
                    (subject, text)
                })
            })
            .collect()
    };
    let reports = reports_to("so-tttt@haugiang.example");
    assert_eq!(reports.len(), 2, "14/12 and 21/12: {reports:?}");
    // The office's own plan (50/KH-UBND) ended in 2023: it gets no weekly report, and
    // none about 12/KH-UBND, which is Sở TT&TT's to follow.
    let office = reports_to("vp-ubnd-tinh@haugiang.example");
    for (_, t) in &office {
        let line = t.lines().find(|l| l.contains("12/KH-UBND"));
        assert!(
            line.is_none(),
            "the settings' office's report leaves Sở TT&TT's plan out: {line:?}"
        );
    }
    let listed = |text: &str| {
        text.lines()
            .filter(|l| {
                l.contains("hoàn thành quá hạn ngày 07/12/2026")
                    && l.contains("Báo cáo số 245/BC-SNV")
            })
            .count()
    };
    let (first, second) = (&reports[0].1, &reports[1].1);
    let (first, second) = if first.contains("đến 07:30 14/12/2026") {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(listed(first), 1, "{first}");
    assert!(
        first.contains(
            "Sở Nội vụ: hoàn thành quá hạn ngày 07/12/2026 (kỳ Tháng 11/2026, hạn 24/11/2026)"
        ),
        "{first}"
    );
    assert_eq!(listed(second), 0, "{second}");
    assert!(
        first.contains("- Trả lại báo cáo hoàn thành: 1\n")
            && first.contains("Thiếu phụ lục số liệu của cấp huyện")
            && first.contains("- Xác nhận hoàn thành: 1\n"),
        "the return and the confirmation: {first}"
    );
    assert!(
        first.contains("người báo: Trần Thị B, Chuyên viên Phòng CCHC"),
        "{first}"
    );
    // The report's figures are status's for its plan (as of its day).
    let status: serde_json::Value = serde_json::from_str(&env.stdout(&[
        "status",
        "--totals",
        "--plan",
        "12/KH-UBND",
        "--format",
        "json",
        "--now",
        "2026-12-14T08:00:00+07:00",
    ]))
    .unwrap();
    let t = &status["totals"];
    let line = format!(
        "hoàn thành đúng hạn {}; hoàn thành quá hạn {}; chưa hoàn thành, trong hạn {}; chưa hoàn thành, quá hạn {}; chưa đến hạn {}; không có hạn {}.",
        t["done_on_time"], t["done_late"], t["open"], t["overdue"], t["not_due"], t["undated"]
    );
    assert!(
        first.contains(&format!("năm 2026:\n  {line}")),
        "{line}\n{first}"
    );

    if std::env::var("NHACVIEC_SCREENSHOTS").as_deref() == Ok("docs") {
        let docs = repo().join("docs/screenshots");
        fs::create_dir_all(&docs).unwrap();
        for name in [
            "period-1280.png",
            "period-375.png",
            "period-done-1280.png",
            "review-1280.png",
            "review-375.png",
            "readonly-1280.png",
            "readonly-375.png",
        ] {
            fs::copy(shots.join(name), docs.join(name)).unwrap();
        }
    }
}
