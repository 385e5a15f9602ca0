//! The agencies' pages over real HTTP: links (valid, tampered, expired), each form and its bad
//! inputs (each a 4xx with a Vietnamese message, nothing stored), replays, escaping, undo, and
//! what a completion and an extension do to the schedule.

use crate::support::site::{sample_config, signer, with_web, Site};

use chrono::{DateTime, TimeZone, Utc};
use nhacviec::store::{ResponseFilter, Store};

/// 08:00 on 01/06/2022 in Hậu Giang.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 6, 1, 1, 0, 0).unwrap()
}

async fn site() -> Site {
    Site::start(sample_config(), now(), |_| {})
}

trait Stored {
    fn stored(&self) -> Vec<nhacviec::answers::Response>;
}

impl Stored for Site {
    fn stored(&self) -> Vec<nhacviec::answers::Response> {
        Store::open_reader(&self.db)
            .unwrap()
            .responses(&ResponseFilter::default())
            .unwrap()
    }
}

/// The hidden value `name` of the form posting to `action` on the page, for task `task`.
fn hidden(page: &str, action: &str, task: &str, name: &str) -> String {
    let forms: Vec<&str> = page.split("<form ").skip(1).collect();
    let form = forms
        .iter()
        .find(|f| {
            f.contains(&format!("/{action}\""))
                && (task.is_empty() || f.contains(&format!("name=\"task\" value=\"{task}\"")))
        })
        .unwrap_or_else(|| panic!("no {action} form for {task}"));
    let at = form.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    unescape(form[at..].split('"').next().unwrap())
}

/// What a browser reads from minijinja's HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn token(agency: &str) -> String {
    signer().sign(agency, now())
}

#[tokio::test]
async fn the_page_lists_the_agencys_tasks_with_strict_headers() {
    let s = site().await;
    let r = s
        .client
        .get(format!("{}/a/{}", s.base, token("so-noi-vu")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = unescape(&r.text().await.unwrap());
    assert!(page.contains("Sở Nội vụ"), "{page}");
    assert!(page.contains(
        "Kế hoạch số 50/KH-UBND ngày 24/03/2022 của UBND tỉnh Hậu Giang về kiểm soát thủ tục hành chính"
    ));
    assert!(page.contains("Đã hoàn thành") && page.contains("Đề nghị gia hạn"));
    assert!(!page.contains("<script"));
}

#[tokio::test]
async fn bad_links_get_the_same_404_and_expired_ones_say_how_to_get_a_new_one() {
    let s = site().await;
    let (status, missing) = s.get("/nothing-here").await;
    assert_eq!(status, 404);
    let good = token("so-noi-vu");
    let mut tampered: Vec<char> = good.chars().collect();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    for bad in [tampered.as_str(), &good[..good.len() - 3], "x"] {
        let (status, body) = s.get(&format!("/a/{bad}")).await;
        assert_eq!(status, 404, "{bad}");
        assert_eq!(body, missing);
    }
    let old = signer().sign("so-noi-vu", now() - chrono::Duration::days(61));
    let (status, body) = s.get(&format!("/a/{old}")).await;
    assert_eq!(status, 410);
    assert!(
        body.contains("hết hạn") && body.contains("thư nhắc việc tiếp theo"),
        "{body}"
    );
    assert!(
        body.contains("Văn phòng UBND tỉnh"),
        "the monitor's contact: {body}"
    );
}

#[tokio::test]
async fn done_is_recorded_once_with_its_audit_fields_and_can_be_undone() {
    let s = site().await;
    let t = token("so-noi-vu");
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let task = "9.2";
    let csrf = hidden(&page, "done", task, "csrf");
    let nonce = hidden(&page, "done", task, "nonce");
    let deadline = hidden(&page, "done", task, "deadline");
    let plan = hidden(&page, "done", task, "plan");
    let form = |done_on: &'static str, note: String| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("nonce".to_string(), nonce.clone()),
            ("plan".to_string(), plan.clone()),
            ("task".to_string(), task.to_string()),
            ("deadline".to_string(), deadline.clone()),
            ("done_on".to_string(), done_on.to_string()),
            ("doc_ref".to_string(), "Báo cáo số 12/BC-SNV".to_string()),
            ("note".to_string(), note),
            ("ho_ten".to_string(), "Nguyễn Văn A".to_string()),
            ("chuc_vu".to_string(), "Chuyên viên Phòng CCHC".to_string()),
        ]
    };
    let post = |f: Vec<(String, String)>| {
        let s = &s;
        let t = t.clone();
        async move {
            let pairs: Vec<(&str, &str)> =
                f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            s.post(&format!("/a/{t}/done"), &pairs).await
        }
    };
    // Refusals: nothing stored.
    let (st, body) = post(form("2022-06-02", "x".into())).await;
    assert_eq!(st, 422, "future date: {body}");
    assert!(body.contains("ở tương lai"));
    let (st, body) = post(form("2022-03-01", "x".into())).await;
    assert_eq!(st, 422, "before the plan: {body}");
    assert!(body.contains("trước ngày ban hành kế hoạch"));
    let (st, body) = post(form("2022-05-30", "x".repeat(1 << 20))).await;
    assert_eq!(st, 413, "{body}");
    let (st, _) = post(form("2022-05-30", "x".repeat(3000))).await;
    assert_eq!(st, 422);
    let mut no_csrf = form("2022-05-30", "x".into());
    no_csrf[0].1 = "00".into();
    assert_eq!(post(no_csrf).await.0, 403);
    let mut other_task = form("2022-05-30", "x".into());
    other_task[3].1 = "99.9".into();
    assert_eq!(post(other_task).await.0, 403);
    // An occurrence that is not one of the agency's open ones, or not a date at all.
    let mut forged = form("2022-05-30", "x".into());
    forged[4].1 = "2022-07-15".into();
    let (st, body) = post(forged).await;
    let body = unescape(&body);
    assert_eq!(st, 409, "{body}");
    assert!(body.contains("không phải một kỳ hạn đang mở"), "{body}");
    assert!(
        body.contains("Các kỳ hạn đang mở: hạn 31/12/2022"),
        "{body}"
    );
    let mut garbled = form("2022-05-30", "x".into());
    garbled[4].1 = "31/12/2022'--".into();
    assert_eq!(post(garbled).await.0, 400);
    // Dates as Vietnamese write them; anything else is refused with the form to use.
    for bad in [
        "12027-03-10",
        "05/30/2022",
        "30.05.2022",
        "30/05/22",
        "2022-5-30",
    ] {
        let (st, body) = post(form(bad, "x".into())).await;
        let body = unescape(&body);
        assert_eq!(st, 422, "{bad}: {body}");
        assert!(body.contains("ngày/tháng/năm"), "{bad}: {body}");
    }
    assert!(s.stored().is_empty());

    // Accepted, once (dd/mm/yyyy); the note is kept as text and shown escaped.
    let (st, loc) = post(form("30/05/2022", "<script>alert(1)</script> xong".into())).await;
    assert_eq!(st, 303, "{loc}");
    assert_eq!(
        loc,
        format!("/a/{t}?ghi-nhan=1&muc=50%2FKH-UBND%7C9.2%7C2022-12-31#thong-bao")
    );
    let (_, confirmed) = s.get(&loc).await;
    let confirmed = unescape(&confirmed);
    assert!(
        confirmed.contains("Đã ghi nhận: Nhiệm vụ 9.2 — hạn 31/12/2022 (Kế hoạch số 50/KH-UBND) đã hoàn thành ngày 30/05/2022 (văn bản Báo cáo số 12/BC-SNV)"),
        "the confirmation names the task and the occurrence: {confirmed}"
    );
    assert!(
        confirmed.contains("id=\"muc\"") && confirmed.contains("Đã hoàn thành ngày 30/05/2022"),
        "the updated card comes first"
    );
    // Answering the same occurrence again is refused: it is done.
    let mut again = form("2022-05-30", "x".into());
    again[1].1 = "another-nonce".into();
    let (st, body) = post(again).await;
    let body = unescape(&body);
    assert_eq!(st, 409, "{body}");
    assert!(
        body.contains("đã được báo hoàn thành ngày 30/05/2022"),
        "{body}"
    );
    let (st, body) = post(form("2022-05-30", "again".into())).await;
    assert_eq!(st, 409, "replayed: {body}");
    let stored = s.stored();
    assert_eq!(stored.len(), 1);
    let r = &stored[0];
    assert_eq!((r.agency.as_str(), r.task.as_str()), ("so-noi-vu", task));
    assert_eq!(r.done_on.unwrap().to_string(), "2022-05-30");
    assert_eq!(r.note.as_deref(), Some("<script>alert(1)</script> xong"));
    assert_eq!(r.client.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.key_id, signer().current.id_hex());
    let (_, page) = s.get(&loc).await;
    assert!(page.contains("Đã ghi nhận"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!page.contains("<script>alert"));

    // Another agency cannot withdraw it; the agency can.
    let other = token("so-tai-chinh");
    let (_, other_page) = s.get(&format!("/a/{other}")).await;
    let other_csrf = other_page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .map(|v| v.split('"').next().unwrap().to_string());
    let _ = other_csrf;
    let undo_csrf = hidden(&page, "undo", "", "csrf");
    let id = r.id.to_string();
    let (st, _) = s
        .post(
            &format!("/a/{other}/undo"),
            &[("csrf", undo_csrf.as_str()), ("response", id.as_str())],
        )
        .await;
    assert_eq!(st, 403, "CSRF of another link");
    let (st, loc) = s
        .post(
            &format!("/a/{t}/undo"),
            &[("csrf", undo_csrf.as_str()), ("response", id.as_str())],
        )
        .await;
    assert_eq!(st, 303, "{loc}");
    assert!(s.stored()[0].undone_at.is_some());
}

#[tokio::test]
async fn progress_and_extension_requests_are_checked() {
    let s = site().await;
    let t = token("so-noi-vu");
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let task = "9.2";
    let base = |action: &str| {
        vec![
            ("csrf", hidden(&page, action, task, "csrf")),
            ("nonce", hidden(&page, action, task, "nonce")),
            ("plan", hidden(&page, action, task, "plan")),
            ("task", task.to_string()),
            ("deadline", hidden(&page, action, task, "deadline")),
            ("ho_ten", "Nguyễn Văn A".to_string()),
            ("chuc_vu", "Chuyên viên".to_string()),
        ]
    };
    let send = |action: &'static str, extra: Vec<(&'static str, String)>| {
        let mut f = base(action);
        f.extend(extra);
        let s = &s;
        let t = t.clone();
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.post(&format!("/a/{t}/{action}"), &pairs).await
        }
    };
    assert_eq!(send("progress", vec![]).await.0, 422, "no text");
    assert_eq!(
        send(
            "progress",
            vec![("note", "đang làm".into()), ("percent", "150".into())]
        )
        .await
        .0,
        422
    );
    let deadline = hidden(&page, "extend", task, "deadline");
    let (st, body) = send(
        "extend",
        vec![
            ("proposed", deadline.clone()),
            ("reason", "thiếu kinh phí".into()),
        ],
    )
    .await;
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("phải sau hạn hiện tại"));
    assert_eq!(
        send("extend", vec![("proposed", "2023-01-31".into())])
            .await
            .0,
        422,
        "no reason"
    );
    let (st, body) = send(
        "extend",
        vec![
            ("proposed", "31/12/9999".into()),
            ("reason", "thiếu kinh phí".into()),
        ],
    )
    .await;
    assert_eq!(st, 422, "out of range: {body}");
    // One day past the default bound ([web] max_extension_days = 365).
    let due = chrono::NaiveDate::parse_from_str(&deadline, "%Y-%m-%d").unwrap();
    let too_far = due + chrono::Duration::days(366);
    let (st, body) = send(
        "extend",
        vec![
            ("proposed", too_far.format("%d/%m/%Y").to_string()),
            ("reason", "thiếu kinh phí".into()),
        ],
    )
    .await;
    assert_eq!(st, 422, "too far: {body}");
    assert!(body.contains("tối đa 365 ngày sau hạn hiện tại"), "{body}");
    assert!(s.stored().is_empty());
    assert_eq!(
        send(
            "progress",
            vec![("note", "đang làm".into()), ("percent", "40".into())]
        )
        .await
        .0,
        303
    );
    assert_eq!(
        send(
            "extend",
            vec![
                ("proposed", "31/01/2023".into()),
                ("reason", "thiếu kinh phí".into())
            ]
        )
        .await
        .0,
        303
    );
    let stored = s.stored();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].percent, Some(40));
    assert_eq!(stored[1].proposed.unwrap().to_string(), "2023-01-31");
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let page = unescape(&page);
    assert!(
        page.contains("đến 31/01/2023, đang chờ cơ quan theo dõi xem xét"),
        "{page}"
    );
}

/// The page an official reads: the card the reminder named first and open, the rest grouped
/// by plan with the plan cited once, finished cards folded under a count, filters without
/// scripts, and a reminder's item that is no longer open said so.
#[tokio::test]
async fn the_page_opens_at_the_reminded_card_and_groups_the_rest() {
    let s = site().await;
    let t = token("so-noi-vu");
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let page = unescape(&page);
    let citation = "Kế hoạch số 50/KH-UBND ngày 24/03/2022 của UBND tỉnh Hậu Giang";
    assert_eq!(page.matches(citation).count(), 1, "cited once: {page}");
    assert!(
        !page.contains("id=\"muc\""),
        "no focus without a reminder's item"
    );
    // The reminder's item: 9.2 (Năm 2022) first, open, ahead of the overdue ones.
    let focus = "50%2FKH-UBND%7C9.2%7C2022-12-31";
    let (st, page) = s.get(&format!("/a/{t}?muc={focus}")).await;
    assert_eq!(st, 200);
    let page = unescape(&page);
    let first = page.find("<article").unwrap();
    assert!(
        page[first..].starts_with("<article class=\"task focused\" id=\"muc\" data-plan=\"50/KH-UBND\" data-task=\"9.2\" data-deadline=\"2022-12-31\">"),
        "{}",
        &page[first..first + 200]
    );
    assert!(page[first..].contains("<details open>"));
    assert!(page.contains("Các việc khác chưa hoàn thành"));
    assert_eq!(
        page.matches("data-task=\"9.2\"").count(),
        1,
        "not listed twice"
    );
    // Done: its card folds under a count; asked for, it is listed.
    let csrf = hidden(&page, "done", "9.2", "csrf");
    let (st, _) = s
        .post(
            &format!("/a/{t}/done"),
            &[
                ("csrf", csrf.as_str()),
                ("nonce", "n-layout"),
                ("plan", "50/KH-UBND"),
                ("task", "9.2"),
                ("deadline", "2022-12-31"),
                ("done_on", "01/06/2022"),
                ("ho_ten", "Nguyễn Văn A"),
                ("chuc_vu", "Chuyên viên"),
            ],
        )
        .await;
    assert_eq!(st, 303);
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let page = unescape(&page);
    assert!(
        page.contains("<summary>Đã hoàn thành gần đây (1)</summary>"),
        "{page}"
    );
    let (_, done) = s.get(&format!("/a/{t}?tinh-trang=da-xong")).await;
    let done = unescape(&done);
    assert_eq!(done.matches("<article").count(), 1, "{done}");
    assert!(done.contains("data-task=\"9.2\"") && !done.contains("Đã hoàn thành gần đây"));
    let (_, overdue) = s.get(&format!("/a/{t}?tinh-trang=qua-han")).await;
    let overdue = unescape(&overdue);
    assert!(overdue.matches("<article").count() >= 1);
    assert!(
        overdue
            .split("<article")
            .skip(1)
            .all(|c| c.starts_with(" class=\"task overdue")),
        "only overdue cards"
    );
    let (_, other_plan) = s.get(&format!("/a/{t}?ke-hoach=99%2FKH")).await;
    assert!(unescape(&other_plan).contains("Không có việc nào khớp bộ lọc"));
    // A reminder's item that is not open any more (or forged) is said so; the page still shows.
    let (st, page) = s
        .get(&format!("/a/{t}?muc=50%2FKH-UBND%7C9.2%7C2022-07-15"))
        .await;
    assert_eq!(st, 200);
    assert!(
        unescape(&page)
            .contains("hạn 15/07/2022, được nêu trong liên kết, không phải một kỳ hạn của cơ quan"),
        "{page}"
    );
    let (st, _) = s.get(&format!("/a/{t}?muc=%00%7C%7C")).await;
    assert_eq!(st, 200, "a garbled item is ignored");
}

#[tokio::test]
async fn extension_requests_are_bounded_by_max_extension_days() {
    let mut config = with_web(sample_config(), None);
    if let Some(w) = config.web.as_mut() {
        w.max_extension_days = 30;
    }
    let s = Site::start(config, now(), |_| {});
    let t = token("so-noi-vu");
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let task = "9.2";
    let deadline = hidden(&page, "extend", task, "deadline");
    let due = chrono::NaiveDate::parse_from_str(&deadline, "%Y-%m-%d").unwrap();
    let send = |proposed: chrono::NaiveDate| {
        let f = vec![
            ("csrf", hidden(&page, "extend", task, "csrf")),
            ("nonce", hidden(&page, "extend", task, "nonce")),
            ("plan", hidden(&page, "extend", task, "plan")),
            ("task", task.to_string()),
            ("deadline", deadline.clone()),
            ("ho_ten", "Nguyễn Văn A".to_string()),
            ("chuc_vu", "Chuyên viên".to_string()),
            ("proposed", proposed.format("%d/%m/%Y").to_string()),
            ("reason", "thiếu kinh phí".to_string()),
        ];
        let s = &s;
        let t = t.clone();
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.post(&format!("/a/{t}/extend"), &pairs).await
        }
    };
    let (st, body) = send(due + chrono::Duration::days(31)).await;
    assert_eq!(st, 422, "{body}");
    let body = unescape(&body);
    assert!(body.contains("tối đa 30 ngày sau hạn hiện tại"), "{body}");
    let last = (due + chrono::Duration::days(30))
        .format("%d/%m/%Y")
        .to_string();
    assert!(body.contains(&format!("muộn nhất ngày {last}")), "{body}");
    assert!(s.stored().is_empty());
    let (st, body) = send(due + chrono::Duration::days(30)).await;
    assert_eq!(st, 303, "{body}");
    assert_eq!(s.stored().len(), 1);
}

/// Each form has a route of its own: an action the pages do not know is the 404 of an unknown
/// page and stores nothing, even with a form an extension request would pass and a CSRF token
/// for that action (one handler used to dispatch on the action's name, its last arm the
/// extension request); a form's address opened with GET is a 404 too.
#[tokio::test]
async fn an_unknown_action_is_a_404_and_stores_nothing() {
    let s = site().await;
    let t = token("so-noi-vu");
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let task = "9.2";
    let link = signer().verify(&t, now()).unwrap();
    let due = hidden(&page, "extend", task, "deadline");
    for action in ["gia-han", "finish", "extension"] {
        let form = [
            ("csrf", signer().csrf(&link, action)),
            ("nonce", format!("n-{action}")),
            ("plan", hidden(&page, "extend", task, "plan")),
            ("task", task.to_string()),
            ("deadline", due.clone()),
            ("ho_ten", "Nguyễn Văn A".to_string()),
            ("chuc_vu", "Chuyên viên".to_string()),
            ("proposed", "30/12/2022".to_string()),
            ("reason", "Chờ ý kiến các sở".to_string()),
        ];
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = s.post(&format!("/a/{t}/{action}"), &pairs).await;
        assert_eq!(status, 404, "{action}: {body}");
        assert!(body.contains("Không tìm thấy trang"), "{body}");
    }
    assert!(s.stored().is_empty(), "{:?}", s.stored());
    for action in ["done", "progress", "extend", "undo"] {
        assert_eq!(s.get(&format!("/a/{t}/{action}")).await.0, 404, "{action}");
    }
    // Another method on a form or the feed is the same 404, naming no method that works.
    for (method, path) in [
        (reqwest::Method::GET, format!("/a/{t}/done")),
        (reqwest::Method::OPTIONS, format!("/a/{t}/extend")),
        (reqwest::Method::PUT, format!("/a/{t}/undo")),
        (reqwest::Method::POST, format!("/a/{t}/lich.ics")),
    ] {
        let r = s
            .client
            .request(method.clone(), format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{method} {path}");
        assert!(
            r.headers().get("allow").is_none(),
            "{method} {path}: {:?}",
            r.headers()
        );
    }
}
