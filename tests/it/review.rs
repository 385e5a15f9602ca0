//! Accountability over real HTTP: every answer says who gave it (asked, remembered for the
//! link in a cookie, stored and shown); the monitoring office confirms a reported completion or
//! returns it with a reason (it reopens, the agency is told and reads why on its page); and the
//! office reads an agency's page without its forms, never acting as the agency.

use crate::support::answers::seed;
use crate::support::site::{sample_config, signer, with_web, Site};

use chrono::{DateTime, TimeZone, Utc};
use nhacviec::links::MONITOR;
use nhacviec::store::{ResponseFilter, Store};

/// 08:00 on 01/06/2022 in Hậu Giang.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 6, 1, 1, 0, 0).unwrap()
}

fn stored(s: &Site) -> Vec<nhacviec::answers::Response> {
    Store::open_reader(&s.db)
        .unwrap()
        .responses(&ResponseFilter::default())
        .unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the hidden field `name` in the form posting to `action` for `task`.
fn hidden(page: &str, action: &str, task: &str, name: &str) -> String {
    let form = page
        .split("<form ")
        .skip(1)
        .find(|f| {
            f.contains(&format!("/{action}\""))
                && (task.is_empty() || f.contains(&format!("name=\"task\" value=\"{task}\"")))
        })
        .unwrap_or_else(|| panic!("no {action} form for {task}"));
    let at = form.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    unescape(form[at..].split('"').next().unwrap())
}

#[tokio::test]
async fn who_answered_is_asked_remembered_and_shown() {
    let s = Site::start(sample_config(), now(), |_| {});
    let t = signer().sign("so-noi-vu", now());
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let form = |name: &str, position: &str| {
        vec![
            ("csrf".to_string(), hidden(&page, "done", "9.2", "csrf")),
            ("nonce".to_string(), format!("w-{name}-{position}")),
            ("plan".to_string(), "50/KH-UBND".to_string()),
            ("task".to_string(), "9.2".to_string()),
            ("deadline".to_string(), "2022-12-31".to_string()),
            ("done_on".to_string(), "01/06/2022".to_string()),
            ("ho_ten".to_string(), name.to_string()),
            ("chuc_vu".to_string(), position.to_string()),
        ]
    };
    let post = |f: Vec<(String, String)>| {
        let s = &s;
        let t = t.clone();
        async move {
            s.client
                .post(format!("{}/a/{t}/done", s.base))
                .form(&f)
                .send()
                .await
                .unwrap()
        }
    };
    for (name, position) in [("", "Chuyên viên"), ("Nguyễn Văn A", ""), ("  ", "  ")] {
        let r = post(form(name, position)).await;
        assert_eq!(r.status(), 422, "{name:?} {position:?}");
        let body = unescape(&r.text().await.unwrap());
        assert!(body.contains("họ tên và chức vụ"), "{body}");
    }
    assert!(stored(&s).is_empty(), "nothing stored without a name");

    let r = post(form("Nguyễn Văn A", "Chuyên viên Phòng CCHC")).await;
    assert_eq!(r.status(), 303);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("nv_nguoi="), "{cookie}");
    assert!(
        cookie.contains(&format!("Path=/a/{t};"))
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let who = &stored(&s)[0].who;
    assert_eq!(
        (who.name.as_str(), who.position.as_str()),
        ("Nguyễn Văn A", "Chuyên viên Phòng CCHC")
    );
    // Back on the page with the cookie: the forms are filled in, the answer says who.
    let value = cookie.split(';').next().unwrap().to_string();
    let page = s
        .client
        .get(format!("{}/a/{t}", s.base))
        .header("cookie", value)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = unescape(&page);
    assert!(
        page.contains("name=\"ho_ten\" value=\"Nguyễn Văn A\"")
            && page.contains("name=\"chuc_vu\" value=\"Chuyên viên Phòng CCHC\""),
        "prefilled"
    );
    assert!(
        page.contains("— Nguyễn Văn A, Chuyên viên Phòng CCHC"),
        "the answer names who gave it"
    );
    // A garbled cookie fills nothing in.
    let page = s
        .client
        .get(format!("{}/a/{t}", s.base))
        .header("cookie", "nv_nguoi=%ZZ%00")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn the_office_confirms_or_returns_a_completion_and_reads_without_acting() {
    let s = Site::start(with_web(sample_config(), None), now(), seed);
    let admin = format!("/theo-doi/{}", signer().sign(MONITOR, now()));
    let (st, page) = s.get(&admin).await;
    assert_eq!(st, 200);
    let page = unescape(&page);
    assert!(
        page.contains("Báo hoàn thành chờ xác nhận (1)"),
        "the seeded 8.8: {page}"
    );
    let csrf = |action: &str| hidden(&page, action, "", "csrf");
    let id = stored(&s)
        .iter()
        .find(|r| r.task == "8.8" && r.agency == "so-noi-vu")
        .unwrap()
        .id
        .to_string();
    // A return needs its reason.
    let (st, body) = s
        .post(
            &format!("{admin}/tra-lai"),
            &[("csrf", &csrf("tra-lai")), ("completion", &id)],
        )
        .await;
    assert_eq!(st, 400, "{body}");
    let (st, to) = s
        .post(
            &format!("{admin}/tra-lai"),
            &[
                ("csrf", &csrf("tra-lai")),
                ("completion", &id),
                ("reason", "Thiếu số liệu của cấp huyện"),
            ],
        )
        .await;
    assert_eq!(st, 303, "{to}");
    assert!(to.ends_with("?ok=returned#xac-nhan"), "{to}");
    let r = stored(&s)
        .into_iter()
        .find(|r| r.id.to_string() == id)
        .unwrap();
    assert!(r.returned());
    // The agency is told: a message queued to its mailbox.
    let told = Store::open_reader(&s.db)
        .unwrap()
        .history(Some("so-noi-vu"), None, 10)
        .unwrap();
    assert!(
        told.iter().any(|d| d.subject.contains("bị trả lại")),
        "{:?}",
        told.iter().map(|d| &d.subject).collect::<Vec<_>>()
    );
    // Twice, or confirming what was returned: refused, nothing changes.
    let (st, _) = s
        .post(
            &format!("{admin}/xac-nhan"),
            &[("csrf", &csrf("xac-nhan")), ("completion", &id)],
        )
        .await;
    assert_eq!(st, 409);
    // The agency reads why, and 8.8 is open again.
    let t = signer().sign("so-noi-vu", now());
    let (_, agency_page) = s.get(&format!("/a/{t}")).await;
    let agency_page = unescape(&agency_page);
    assert!(
        agency_page.contains("đã trả lại báo cáo hoàn thành")
            && agency_page.contains("Thiếu số liệu của cấp huyện"),
        "{agency_page}"
    );
    let csrf_done = hidden(&agency_page, "done", "8.8", "csrf");
    let (st, _) = s
        .post(
            &format!("/a/{t}/done"),
            &[
                ("csrf", csrf_done.as_str()),
                ("nonce", "again"),
                ("plan", "50/KH-UBND"),
                ("task", "8.8"),
                ("deadline", "2022-05-31"),
                ("done_on", "01/06/2022"),
                ("doc_ref", "Báo cáo số 15/BC-SNV"),
                ("ho_ten", "Nguyễn Văn A"),
                ("chuc_vu", "Chuyên viên"),
            ],
        )
        .await;
    assert_eq!(st, 303, "answered again");
    let again = stored(&s)
        .into_iter()
        .filter(|r| r.task == "8.8" && r.agency == "so-noi-vu")
        .max_by_key(|r| r.id)
        .unwrap();
    let again_id = again.id.to_string();
    let (st, to) = s
        .post(
            &format!("{admin}/xac-nhan"),
            &[("csrf", &csrf("xac-nhan")), ("completion", &again_id)],
        )
        .await;
    assert_eq!(st, 303, "{to}");
    let (st, _) = s
        .post(
            &format!("{admin}/xac-nhan"),
            &[("csrf", &csrf("xac-nhan")), ("completion", &again_id)],
        )
        .await;
    assert_eq!(st, 409, "confirming twice");
    let (_, page) = s.get(&admin).await;
    let page = unescape(&page);
    assert!(page.contains("Báo hoàn thành chờ xác nhận (0)"), "{page}");

    // The agencies' table links a read-only view: no form, nothing to act with.
    let view = format!("{admin}/co-quan/so-noi-vu");
    assert!(
        page.contains(&format!("href=\"{view}\"")),
        "the table links the view"
    );
    assert!(
        !page.contains("href=\"/a/"),
        "no agency link on the dashboard"
    );
    let (st, ro) = s.get(&view).await;
    assert_eq!(st, 200);
    let ro = unescape(&ro);
    assert!(ro.contains("Cơ quan theo dõi đang xem trang của cơ quan này"));
    assert!(
        !ro.contains("method=\"post\""),
        "no form in the office's view"
    );
    assert!(ro.contains("Sở Nội vụ") && ro.contains("Nhiệm vụ 8.8"));
    assert_eq!(s.get(&format!("{admin}/co-quan/khong-co")).await.0, 404);
    assert_eq!(s.get("/theo-doi/sai-khoa/co-quan/so-noi-vu").await.0, 404);

    // A link scoped to an office that monitors no plan reviews nothing.
    let token = signer().sign(&nhacviec::links::monitor_scope("so-tttt"), now());
    let link = signer().verify(&token, now()).unwrap();
    let scoped_csrf = signer().csrf(&link, "tra-lai");
    let other = stored(&s)
        .iter()
        .find(|r| r.action == nhacviec::answers::Action::Done && r.review.is_none())
        .map(|r| r.id)
        .unwrap_or(1)
        .to_string();
    let (st, body) = s
        .post(
            &format!("/theo-doi/{token}/tra-lai"),
            &[
                ("csrf", scoped_csrf.as_str()),
                ("completion", other.as_str()),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(st, 403, "another office's plan: {body}");
}
