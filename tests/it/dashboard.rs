//! The monitoring office's dashboard over real HTTP: who gets in (a signed admin link or the
//! configured key; anything else the same 404), the figures as of a date agree with `status`
//! and with the workbook it serves, bad dates are refused in Vietnamese, both decisions on an
//! extension request are recorded and queue a message to the agency, a grant must pass the
//! deadline in force (the rule of `nhacviec extend`), a moved deadline is shown beside the
//! plan's, and at scale the agencies and the overdue list are paged.

use crate::support::answers::{date, seed};
use crate::support::site::{sample_config, signer, with_web, Site};

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::{DateTime, TimeZone, Utc};
use nhacviec::answers::Action;
use nhacviec::links::MONITOR;
use nhacviec::report::State;
use nhacviec::store::{ResponseFilter, Store};
use sha2::{Digest, Sha256};

const ADMIN_KEY: &str = "khoa-trang-theo-doi-cua-van-phong-ubnd";

/// 08:00 on 25/05/2022 in Hậu Giang.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 5, 25, 1, 0, 0).unwrap()
}

struct Dashboard {
    site: Site,
    config: nhacviec::config::Config,
}

impl std::ops::Deref for Dashboard {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
}

/// The sample config with `[web]` and the admin key, the answers of `seed` in its store.
async fn site() -> Dashboard {
    let config = with_web(
        sample_config(),
        Some(Sha256::digest(ADMIN_KEY.as_bytes()).into()),
    );
    Dashboard {
        site: Site::start(config.clone(), now(), seed),
        config,
    }
}

/// The admin link `nhacviec admin-link` prints, as a path.
fn admin_path() -> String {
    format!("/theo-doi/{}", signer().sign(MONITOR, now()))
}

/// The numbers of the table row whose header starts with `head`.
fn row_numbers(html: &str, head: &str) -> Vec<String> {
    let start = html
        .find(&format!("<th scope=\"row\">{head}"))
        .unwrap_or_else(|| panic!("no row {head}"));
    let row = &html[start..start + html[start..].find("</tr>").unwrap()];
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find("</td>").unwrap()].to_string()
        })
        .collect()
}

fn csrf(html: &str, form: &str) -> String {
    let at = html.find(&format!("action=\"{}", form)).unwrap();
    let rest = &html[at..];
    let v = rest.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    rest[v..v + rest[v..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn only_the_monitor_gets_in_and_the_rest_is_a_404() {
    let site = site().await;
    let (code, page) = site.get(&admin_path()).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Theo dõi thực hiện kế hoạch"));
    // The sample fits on one page: no paging.
    assert!(!page.contains("class=\"pager\""), "{page}");
    assert!(!page.contains("trang="), "{page}");
    let (code, _) = site.get(&format!("/theo-doi/{ADMIN_KEY}")).await;
    assert_eq!(code, 200, "the configured key opens it too");

    let (_, unknown) = site.get("/khong-co").await;
    for wrong in [
        format!("/theo-doi/{ADMIN_KEY}x"),
        format!("/theo-doi/{}", signer().sign("so-noi-vu", now())),
        "/theo-doi/".to_string(),
    ] {
        let (code, body) = site.get(&wrong).await;
        assert_eq!(code, 404, "{wrong}");
        assert_eq!(body, unknown, "{wrong}: the same page as anything unknown");
    }
    // The admin link is no agency's link.
    let (code, _) = site
        .get(&format!("/a/{}", signer().sign(MONITOR, now())))
        .await;
    assert_eq!(code, 404);
    let (code, _) = site.get(&format!("/a/{ADMIN_KEY}")).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn the_figures_agree_with_status_and_the_workbook() {
    let site = site().await;
    let (code, page) = site.get(&format!("{}?ngay=25/05/2022", admin_path())).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Số liệu đến ngày <strong>25/05/2022</strong>"));

    // `status`'s rows, with the answers laid over, as `nhacviec status` computes them.
    let store = Store::open_reader(&site.db).unwrap();
    let (responses, extensions) = store.answers().unwrap();
    let answered = nhacviec::answers::overlaid(&site.config, &responses, &extensions);
    let rows = nhacviec::report::status(&answered, date("2022-05-25"), None);
    let count = |s: State| {
        rows.iter()
            .filter(|r| r.state == s && r.role == nhacviec::schedule::Role::Lead)
            .count()
            .to_string()
    };
    let expected = vec![
        count(State::DoneOnTime),
        count(State::DoneLate),
        count(State::Open),
        count(State::OpenOverdue),
        count(State::NotDue),
        count(State::Undated),
    ];
    let shown = row_numbers(&page, "Kế hoạch số 50/KH-UBND");
    assert_eq!(shown[..6], expected[..], "the plan's row");
    assert_eq!(shown[0], "1", "Sở Nội vụ's completion counts");
    let overdue: usize = expected[3].parse().unwrap();
    assert!(page.contains(&format!("{overdue} lượt cơ quan chủ trì")));
    // The timeline is drawn, with the as-of line.
    assert!(
        page.contains("<svg") && page.contains("Tiến độ kế hoạch 50/KH-UBND đến ngày 25/05/2022")
    );
    // The pending request is listed with its reason, escaped.
    assert!(page.contains("Đề nghị gia hạn chờ xem xét (1)"));
    assert!(page.contains("Chờ số liệu của các huyện"));

    // The workbook it serves holds the same figures.
    let (code, kind, bytes) = site
        .bytes(&format!("{}/bang-tinh.xlsx?ngay=2022-05-25", admin_path()))
        .await;
    assert_eq!(code, 200);
    assert!(kind.starts_with("application/vnd.openxmlformats"), "{kind}");
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let summary = wb.worksheet_range("Tổng hợp").unwrap();
    let plan = summary
        .rows()
        .find(|r| matches!(r.first(), Some(Data::String(s)) if s.starts_with("Kế hoạch số 50")))
        .unwrap();
    let cells: Vec<String> = plan[4..10]
        .iter()
        .map(|c| match c {
            Data::Float(f) => f.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(cells, expected);

    // Per agency: Sở Nội vụ's row and its page link.
    let snv = row_numbers(&page, "Sở Nội vụ");
    assert_eq!(snv[2], "1", "done on time");
    assert!(page.contains("Trang của cơ quan"));
    // Sorted by name, found by name.
    let (_, found) = site
        .get(&format!("{}?tim=noi%20vu&sap-xep=ten", admin_path()))
        .await;
    assert!(
        found.contains("Theo cơ quan (1)"),
        "found by an unaccented name"
    );
}

/// The paragraphs and table cells of a .docx, read with python-docx.
fn docx_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bao-cao.docx");
    std::fs::write(&path, bytes).unwrap();
    let script = r#"
import docx, sys
d = docx.Document(sys.argv[1])
parts = [p.text for p in d.paragraphs]
parts += [c.text for t in d.tables for row in t.rows for c in row.cells]
print("\n".join(parts))
"#;
    let py = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    String::from_utf8(py.stdout).unwrap()
}

/// The dashboard's "Tải báo cáo (Word)": the report for the page's date and plan, as an
/// attachment python-docx opens, its figures as of that date.
#[tokio::test]
async fn the_report_button_serves_the_docx_of_the_pages_date_and_plan() {
    let site = site().await;
    let (code, page) = site
        .get(&format!(
            "{}?ngay=25/05/2022&ke-hoach=50/KH-UBND",
            admin_path()
        ))
        .await;
    assert_eq!(code, 200, "{page}");
    let link = page
        .split("href=\"")
        .map(|s| &s[..s.find('"').unwrap_or(0)])
        .find(|h| h.contains("/bao-cao.docx?"))
        .expect("the report link")
        .replace("&amp;", "&");
    assert!(page.contains("Tải báo cáo (Word)"));
    assert!(
        link.contains("ngay=2022-05-25") && link.contains("ke-hoach=50"),
        "{link}"
    );

    let (code, kind, disposition, bytes) = site.download(&link).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(
        kind,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert_eq!(
        disposition,
        "attachment; filename=\"bao-cao-2022-05-25.docx\""
    );
    assert!(bytes.starts_with(b"PK\x03\x04"));
    let text = docx_text(&bytes);
    assert!(text.contains("BÁO CÁO"), "{text}");
    assert!(text.contains("50/KH-UBND"), "{text}");
    assert!(text.contains("25/05/2022"), "{text}");
    // Sở Nội vụ's completion of 8.8 (seeded, 20/05/2022) is in the period's results.
    assert!(text.contains("Sở Nội vụ"), "{text}");

    // A bad date is refused in Vietnamese, no file.
    let (code, kind, _, _) = site
        .download(&format!("{}/bao-cao.docx?ngay=31/02/2022", admin_path()))
        .await;
    assert_eq!(code, 400);
    assert!(kind.starts_with("text/html"), "{kind}");
    // Without a valid link: the same 404 as any unknown page.
    let (code, _, _, _) = site.download("/theo-doi/khong-dung/bao-cao.docx").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn bad_dates_and_plans_are_refused_and_an_early_date_is_empty() {
    let site = site().await;
    for (q, says) in [
        ("ngay=31/02/2022", "không hợp lệ"),
        ("ngay=1990-01-01", "ngoài khoảng"),
        ("ngay=9999-01-01", "ngoài khoảng"),
        ("ke-hoach=99/KH-XYZ", "Không có kế hoạch"),
    ] {
        let (code, page) = site.get(&format!("{}?{q}", admin_path())).await;
        assert_eq!(code, 400, "{q}");
        assert!(page.contains(says), "{q}: {page}");
    }
    let (code, page) = site.get(&format!("{}?ngay=2021-01-01", admin_path())).await;
    assert_eq!(code, 200);
    assert!(page.contains("Chưa có kế hoạch nào ban hành đến ngày 01/01/2021"));
    let (code, page) = site.get(&format!("{}?ngay=2030-12-31", admin_path())).await;
    assert_eq!(code, 200, "the far future is a date like another");
    assert!(page.contains("31/12/2030"));
}

#[tokio::test]
async fn an_extension_is_granted_or_refused_and_the_agency_is_told() {
    let site = site().await;
    let (_, page) = site.get(&admin_path()).await;
    let grant = csrf(&page, &format!("{}/gia-han", admin_path()));
    let refuse_token = csrf(&page, &format!("{}/tu-choi", admin_path()));
    let store = Store::open_reader(&site.db).unwrap();
    let request = store
        .responses(&ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(request.len(), 1);
    let id = request[0].id.to_string();
    let path = format!("{}/gia-han", admin_path());

    // Refused inputs store nothing.
    for (form, code, says) in [
        (
            vec![
                ("csrf", "00"),
                ("request", id.as_str()),
                ("to", "2022-07-31"),
                ("doc_ref", "CV 1"),
            ],
            403,
            "Biểu mẫu không hợp lệ",
        ),
        (
            vec![
                ("csrf", grant.as_str()),
                ("request", id.as_str()),
                ("to", "2022-07-31"),
            ],
            400,
            "Cần số văn bản",
        ),
        (
            vec![
                ("csrf", grant.as_str()),
                ("request", id.as_str()),
                ("to", "2022-06-01"),
                ("doc_ref", "CV 1"),
            ],
            400,
            "Hạn mới 01/06/2022 không sau hạn hiện tại 18/06/2022 của Sở Nội vụ",
        ),
        (
            vec![
                ("csrf", grant.as_str()),
                ("request", "999"),
                ("to", "2022-07-31"),
                ("doc_ref", "CV 1"),
            ],
            409,
            "đã được trả lời",
        ),
    ] {
        let (status, body) = site.post(&path, &form).await;
        assert_eq!(status, code, "{form:?}: {body}");
        // minijinja's HTML escaping writes '/' as "&#x2f;".
        let body = body.replace("&#x2f;", "/");
        assert!(body.contains(says), "{form:?}: {body}");
    }
    assert!(store.extensions().unwrap().is_empty());

    let (status, location) = site
        .post(
            &path,
            &[
                ("csrf", grant.as_str()),
                ("request", id.as_str()),
                ("to", "31/07/2022"),
                ("doc_ref", "Công văn số 123/UBND-KT"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    assert!(location.ends_with("?ok=granted"), "{location}");
    let ext = store.extensions().unwrap();
    assert_eq!(ext.len(), 1);
    assert_eq!(
        (ext[0].agency.as_str(), ext[0].task.as_str()),
        ("so-noi-vu", "10.1")
    );
    assert_eq!(
        (ext[0].from, ext[0].to),
        (date("2022-06-18"), date("2022-07-31"))
    );
    // The agency is told, by email, in its thread.
    let told = store.history(None, None, 10).unwrap();
    let mail = told
        .iter()
        .find(|d| d.subject.contains("đồng ý gia hạn đến 31/07/2022"))
        .expect("the decision queued");
    assert_eq!(mail.agency, "so-noi-vu");
    // Its Message-ID names the database's instance, as the service's own messages do (the
    // pages' side connection once left it out: `<nhacviec..N@…>`).
    let instance = store
        .get(&nhacviec::store::meta::Instance)
        .unwrap()
        .expect("the writer gave one");
    assert_eq!(
        mail.message_id,
        format!("<nhacviec.{instance}.{}@haugiang.example>", mail.id),
    );
    // The message says which deadline moved, and by which document.
    assert!(
        mail.body_text
            .contains("ĐỒNG Ý gia hạn: hạn 18/06/2022 được dời đến ngày 31/07/2022.\nVăn bản: Công văn số 123/UBND-KT."),
        "{}",
        mail.body_text
    );
    // Deciding again is refused.
    let (status, _) = site
        .post(
            &path,
            &[
                ("csrf", grant.as_str()),
                ("request", id.as_str()),
                ("to", "2022-08-31"),
                ("doc_ref", "CV 2"),
            ],
        )
        .await;
    assert_eq!(status, 409);

    // A second request, refused with a reason.
    drop(store);
    {
        let w = Store::open_writer(&site.db).unwrap();
        let again = nhacviec::answers::NewResponse {
            deadline: Some(date("2022-05-31")),
            proposed: Some(date("2022-06-30")),
            note: Some("Thiếu kinh phí".into()),
            ..crate::support::answers::answer("so-tu-phap", "8.8", Action::Extension, "d2")
        };
        w.record_response(&again, now()).unwrap();
    }
    let store = Store::open_reader(&site.db).unwrap();
    let pending = store
        .responses(&ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        })
        .unwrap();
    let id2 = pending[0].id.to_string();
    let (status, body) = site
        .post(
            &format!("{}/tu-choi", admin_path()),
            &[("csrf", refuse_token.as_str()), ("request", id2.as_str())],
        )
        .await;
    assert_eq!(status, 400, "a refusal needs a reason: {body}");
    let (status, location) = site
        .post(
            &format!("{}/tu-choi", admin_path()),
            &[
                ("csrf", refuse_token.as_str()),
                ("request", id2.as_str()),
                ("reason", "Đã quá thời hạn đề nghị"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let r = store.response(pending[0].id).unwrap().unwrap();
    assert_eq!(r.refusal.as_deref(), Some("Đã quá thời hạn đề nghị"));
    assert!(
        store.extensions().unwrap().len() == 1,
        "nothing granted by a refusal"
    );
    let told = store.history(None, None, 10).unwrap();
    assert!(told
        .iter()
        .any(|d| d.agency == "so-tu-phap" && d.subject.contains("không đồng ý gia hạn")));
    let (_, page) = site.get(&admin_path()).await;
    assert!(page.contains("Đề nghị gia hạn chờ xem xét (0)"));
}

#[tokio::test]
async fn a_second_grant_must_pass_the_deadline_in_force_and_the_late_list_shows_both() {
    let site = site().await;
    {
        // The request of `seed` granted once already (18/06 → 31/07); the agency asks again
        // about the same deadline of the plan.
        let mut w = Store::open_writer(&site.db).unwrap();
        w.grant_extension(
            "so-noi-vu",
            "50/KH-UBND",
            "10.1",
            date("2022-06-18"),
            date("2022-07-31"),
            Some("Công văn số 123/UBND-KT"),
            now(),
        )
        .unwrap();
        let again = nhacviec::answers::NewResponse {
            deadline: Some(date("2022-06-18")),
            proposed: Some(date("2022-08-31")),
            note: Some("Còn thiếu số liệu".into()),
            ..crate::support::answers::answer("so-noi-vu", "10.1", Action::Extension, "d3")
        };
        w.record_response(&again, now()).unwrap();
    }
    let (_, page) = site.get(&admin_path()).await;
    let page = page.replace("&#x2f;", "/");
    // The request shows where the deadline stands, and the form starts after it.
    assert!(
        page.contains(
            "<dt>Hạn hiện tại</dt><dd>31/07/2022 (đã gia hạn; theo kế hoạch: 18/06/2022)</dd>"
        ),
        "{page}"
    );
    assert!(page.contains("min=\"2022-08-01\""), "{page}");
    let grant = csrf(&page, &format!("{}/gia-han", admin_path()));
    let store = Store::open_reader(&site.db).unwrap();
    let pending = store
        .responses(&ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(pending.len(), 1);
    let id = pending[0].id.to_string();
    let path = format!("{}/gia-han", admin_path());

    // After the plan's 18/06 but not after the 31/07 in force: the refusal of `nhacviec extend`.
    let (status, body) = site
        .post(
            &path,
            &[
                ("csrf", grant.as_str()),
                ("request", id.as_str()),
                ("to", "2022-07-15"),
                ("doc_ref", "Công văn số 140/UBND-KT"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let body = body.replace("&#x2f;", "/");
    assert!(
        body.contains("Hạn mới 15/07/2022 không sau hạn hiện tại 31/07/2022 (đã gia hạn từ hạn 18/06/2022 theo kế hoạch) của Sở Nội vụ (nhiệm vụ 10.1): gia hạn phải dời hạn về sau."),
        "{body}"
    );
    assert_eq!(store.extensions().unwrap().len(), 1, "nothing granted");
    assert!(
        store.history(None, None, 10).unwrap().is_empty(),
        "nobody told"
    );

    // Past it: granted, and the message says both dates.
    let (status, location) = site
        .post(
            &path,
            &[
                ("csrf", grant.as_str()),
                ("request", id.as_str()),
                ("to", "2022-08-15"),
                ("doc_ref", "Công văn số 140/UBND-KT"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let ext = store.extensions().unwrap();
    assert_eq!(
        (ext.len(), ext[1].from, ext[1].to),
        (2, date("2022-06-18"), date("2022-08-15"))
    );
    let told = store.history(Some("so-noi-vu"), None, 10).unwrap();
    assert_eq!(told.len(), 1);
    assert!(
        told[0].body_text.contains(
            "ĐỒNG Ý gia hạn: hạn 31/07/2022 (theo kế hoạch: 18/06/2022) được dời đến ngày 15/08/2022."
        ),
        "{}",
        told[0].body_text
    );

    // Sở Nội vụ coordinates 10.1; the overdue list is of leads. It leads 9.1 (31/03/2022):
    // moved to 30/06 and late after that, the list names the plan's deadline, the new one, the
    // document and the decision's day beside the agency.
    drop(store);
    Store::open_writer(&site.db)
        .unwrap()
        .grant_extension(
            "so-noi-vu",
            "50/KH-UBND",
            "9.1",
            date("2022-03-31"),
            date("2022-06-30"),
            Some("Công văn số 150/UBND-KT"),
            Utc.with_ymd_and_hms(2022, 5, 26, 2, 0, 0).unwrap(),
        )
        .unwrap();
    let (code, page) = site.get(&format!("{}?ngay=2022-08-20", admin_path())).await;
    assert_eq!(code, 200);
    let page = page.replace("&#x2f;", "/");
    let late = &page[page.find("<strong>9.1</strong>").expect("9.1 is late")..];
    let late = &late[..late.find("</tr>").unwrap()];
    assert!(
        late.contains("Sở Nội vụ <span class=\"when\">(hạn theo kế hoạch 31/03/2022, đã gia hạn đến 30/06/2022 theo Công văn số 150/UBND-KT, quyết định ngày 26/05/2022;"),
        "{late}"
    );
    let row_start = page[..page.find("<strong>9.1</strong>").unwrap()]
        .rfind("<tr>")
        .unwrap();
    assert!(
        page[row_start..].starts_with("<tr><td>30/06/2022</td><td class=\"late\">51 ngày</td>"),
        "late by the new date: {}",
        &page[row_start..row_start + 80]
    );
    // The workbook of that day says the same.
    let (code, _, bytes) = site
        .bytes(&format!("{}/bang-tinh.xlsx?ngay=2022-08-20", admin_path()))
        .await;
    assert_eq!(code, 200);
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = wb.worksheet_range("KH 50-KH-UBND").unwrap();
    // The header row is found by its first cell: a title row is above it.
    let head: Vec<String> = sheet
        .rows()
        .find(|r| r[0] == *"Kế hoạch")
        .expect("the header row")
        .iter()
        .map(|c| c.to_string())
        .collect();
    let h = |name: &str| head.iter().position(|x| x == name).unwrap();
    let row = |task: &str| {
        sheet
            .rows()
            .find(|r| r[1] == *task && r[3] == *"Sở Nội vụ")
            .unwrap()
    };
    assert_eq!(
        row("10.1")[h("Văn bản gia hạn")].to_string(),
        "Công văn số 140/UBND-KT"
    );
    let row = row("9.1");
    assert_eq!(
        row[h("Văn bản gia hạn")].to_string(),
        "Công văn số 150/UBND-KT"
    );
    assert!(
        matches!(&row[h("Hạn theo kế hoạch")], Data::DateTime(_)),
        "{:?}",
        row[h("Hạn theo kế hoạch")]
    );
}

/// `nhacviec admin-link --agency so-tttt`: a link to the plans Sở TT&TT monitors
/// (`[plan] monitor`) shows those only, in the page and the workbook, and refuses a decision on
/// another plan's request; the all-plans link still shows every plan.
#[tokio::test]
async fn a_link_scoped_to_one_office_shows_and_decides_for_its_plans_only() {
    let mut config = with_web(sample_config(), None);
    let mut own = config.plans[0].clone();
    own.number = "60/KH-UBND".into();
    own.title = "Kế hoạch chuyển đổi số của tỉnh".into();
    own.tasks.truncate(3);
    own.monitor = Some("so-tttt".into());
    config.plans.push(own);
    let site = Site::start(config, now(), seed);
    let scoped = format!(
        "/theo-doi/{}",
        signer().sign(&nhacviec::links::monitor_scope("so-tttt"), now())
    );
    let (code, page) = site.get(&scoped).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("60/KH-UBND"), "{page}");
    assert!(!page.contains("50/KH-UBND"), "another office's plan shown");
    // Its own plan by number, not the other.
    let (code, _) = site.get(&format!("{scoped}?ke-hoach=60/KH-UBND")).await;
    assert_eq!(code, 200);
    let (code, body) = site.get(&format!("{scoped}?ke-hoach=50/KH-UBND")).await;
    assert_eq!(code, 400, "{body}");
    // The workbook: the summary and its plan's sheet.
    let (code, _, bytes) = site.bytes(&format!("{scoped}/bang-tinh.xlsx")).await;
    assert_eq!(code, 200);
    let wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheets = wb.sheet_names();
    assert_eq!(sheets.len(), 2, "{sheets:?}");
    assert!(sheets.iter().all(|s| !s.contains("50")), "{sheets:?}");
    // The report: its plan only.
    let (code, _, _, bytes) = site.download(&format!("{scoped}/bao-cao.docx")).await;
    assert_eq!(code, 200);
    let text = docx_text(&bytes);
    assert!(text.contains("60/KH-UBND"), "{text}");
    assert!(
        !text.contains("50/KH-UBND"),
        "another office's plan in the report"
    );
    // The all-plans link shows both.
    let (_, all) = site.get(&admin_path()).await;
    assert!(all.contains("50/KH-UBND") && all.contains("60/KH-UBND"));

    // Sở Nội vụ's pending request is on plan 50: the scoped link may not decide it.
    let store = Store::open_reader(&site.db).unwrap();
    let request = store
        .responses(&ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(request[0].plan, "50/KH-UBND");
    let id = request[0].id.to_string();
    let key = &scoped["/theo-doi/".len()..];
    let link = signer().verify(key, now()).unwrap();
    for (action, form) in [
        (
            "gia-han",
            vec![("to", "31/07/2022"), ("doc_ref", "Công văn số 5/STTTT")],
        ),
        ("tu-choi", vec![("reason", "Không có căn cứ")]),
    ] {
        let path = format!("{scoped}/{action}");
        let csrf = signer().csrf(&link, action);
        let mut fields = vec![("csrf", csrf.as_str()), ("request", id.as_str())];
        fields.extend(form);
        let (status, body) = site.post(&path, &fields).await;
        assert_eq!(status, 403, "{action}: {body}");
        let body = body.replace("&#x2f;", "/");
        assert!(
            body.contains("thuộc Kế hoạch số 50/KH-UBND, không do cơ quan của quý vị theo dõi"),
            "{body}"
        );
    }
    assert!(store.extensions().unwrap().is_empty());
    let still = store
        .responses(&ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(still.len(), 1, "nothing decided");
}

/// A province-scale config: 1,000 agencies (34 departments, 100 districts, the rest communes),
/// `plans` plans of 30 tasks, each led by a department (a third also by every district; with
/// `communes`, another third by every commune) and coordinated by every department (as
/// `benches/monitoring.rs`, fewer plans).
fn province(plans: usize, communes: bool) -> nhacviec::config::Config {
    use nhacviec::config::{analyze, Source, Sources};
    let mut agencies = String::new();
    for (id, name) in [
        ("tinh", "cấp tỉnh"),
        ("huyen", "cấp huyện"),
        ("xa", "cấp xã"),
    ] {
        agencies.push_str(&format!("[[level]]\nid = \"{id}\"\nname = \"{name}\"\n\n"));
    }
    for i in 0..1_000 {
        let level = match i {
            0..34 => "tinh",
            34..134 => "huyen",
            _ => "xa",
        };
        agencies.push_str(&format!(
            "[[agency]]\nid = \"a{i}\"\nname = \"Cơ quan số {i}\"\nlevel = \"{level}\"\nemail = [\"a{i}@tinh.example\"]\n\n"
        ));
    }
    for (id, level) in [
        ("so-nganh", "tinh"),
        ("cac-huyen", "huyen"),
        ("cac-xa", "xa"),
    ] {
        agencies.push_str(&format!(
            "[[group]]\nid = \"{id}\"\nname = \"Nhóm {id}\"\nlevel = \"{level}\"\n\n"
        ));
    }
    let plans = (0..plans)
        .map(|p| {
            let mut text = format!(
                "[plan]\nnumber = \"{p}/KH-UBND\"\ntitle = \"Kế hoạch số {p}\"\nissuer = \"UBND tỉnh\"\nissued = 2022-03-24\n\n"
            );
            for t in 0..30 {
                let lead = (p * 30 + t) % 34;
                let districts = match t % 3 {
                    0 => ", \"cac-huyen\"",
                    1 if communes => ", \"cac-xa\"",
                    _ => "",
                };
                text.push_str(&format!(
                    "[[task]]\nid = \"{t}\"\ntitle = \"Nhiệm vụ {t} của kế hoạch {p}\"\nlead = [\"a{lead}\"{districts}]\nsupport = [\"so-nganh\"]\ntime = \"{}\"\n\n",
                    ["Quý II/2022", "Tháng 6/2022", "Năm 2022", "Trước ngày 15/12/2022"][(p + t) % 4]
                ));
            }
            Source::new(format!("plans/{p}.toml"), text)
        })
        .collect();
    let analysis = analyze(&Sources::in_memory(
        None,
        Source::new("agencies.toml", agencies),
        plans,
    ));
    assert!(!analysis.has_errors(), "{:?}", analysis.errors().next());
    analysis.config
}

/// The store, the figures and the workbook are built off the thread that answers requests: an
/// agency's page comes back while a province's workbook is still being built (they used to
/// share one thread, and every page waited for the download).
#[tokio::test]
async fn an_agency_page_is_answered_while_a_workbook_is_being_built() {
    let started = std::time::Instant::now();
    let config = with_web(province(10, false), None);
    let site = Site::start(config, now(), |_| {});
    let url = format!("{}{}/bang-tinh.xlsx", site.base, admin_path());
    let client = site.client.clone();
    let workbook = tokio::spawn(async move {
        let r = client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let bytes = r.bytes().await.unwrap();
        (bytes, std::time::Instant::now())
    });
    // Time for the workbook's request to reach the server and its building to start.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, page) = site
        .get(&format!("/a/{}", signer().sign("a0", now())))
        .await;
    let page_back = std::time::Instant::now();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Cơ quan số 0"), "{page}");
    let (bytes, workbook_back) = workbook.await.unwrap();
    eprintln!(
        "page {:?}, workbook {:?}",
        page_back - started,
        workbook_back - started
    );
    assert!(bytes.starts_with(b"PK"), "an .xlsx");
    assert!(
        page_back < workbook_back,
        "the agency's page waited for the workbook"
    );
}

/// The names in the agencies' table, in the order shown.
fn agency_rows(html: &str) -> Vec<String> {
    let table = &html[html.find("<section id=\"co-quan\">").unwrap()..];
    table
        .split("<tr><th scope=\"row\">")
        .skip(1)
        .map(|row| row[..row.find("</th>").unwrap()].to_string())
        .collect()
}

/// The page with its links' escapes undone (`&amp;`, `&#x2f;`).
fn unescaped(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// The `href` of the link whose text is `text` in the section `section`.
fn link_to(html: &str, section: &str, text: &str) -> String {
    let html = &html[html
        .find(&format!("<section id=\"{section}\">"))
        .unwrap_or_else(|| panic!("no section {section}"))..];
    let end = html
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text} in {section}"));
    let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
    let end = start + html[start..].find('"').unwrap();
    unescaped(&html[start..end])
}

/// At province scale (1,000 agencies, 300 tasks, all overdue on 15/01/2023) the dashboard is
/// paged: 100 agencies and 25 overdue tasks a page, what is not shown counted, the next page
/// reached by a link that keeps the date, plan, search and sort; the page stays under 300 KB
/// (every agency listed, it was over that).
#[tokio::test]
async fn a_province_dashboard_is_paged_and_its_links_keep_the_filters() {
    let config = with_web(province(10, true), None);
    let site = Site::start(config, now(), |_| {});
    let admin = admin_path();
    let (code, first) = site
        .get(&format!("{admin}?ngay=15/01/2023&sap-xep=ten"))
        .await;
    assert_eq!(code, 200, "{first}");
    assert!(first.len() < 300_000, "{} bytes", first.len());
    assert!(
        first.contains("Theo cơ quan (1000)"),
        "every agency counted"
    );
    let names = agency_rows(&first);
    assert_eq!(names.len(), 100);
    assert!(
        first.contains("Hiện cơ quan 1–100 trong 1000 (trang 1/10); 900 cơ quan khác"),
        "{first}"
    );
    assert!(
        first.contains("Hiện nhiệm vụ 1–25 trong 300 (trang 1/12); 275 nhiệm vụ khác"),
        "{first}"
    );
    assert!(!first.contains("Trang trước"), "no page before the first");

    // The next page: the next 100 names by name, the date and sort kept.
    let next = link_to(&first, "co-quan", "Trang sau ›");
    assert!(next.contains("ngay=2023-01-15"), "{next}");
    assert!(next.contains("sap-xep=ten"), "{next}");
    assert!(next.contains("trang=2"), "{next}");
    assert!(next.ends_with("#co-quan"), "{next}");
    let (code, second) = site.get(next.trim_end_matches("#co-quan")).await;
    assert_eq!(code, 200, "{second}");
    let more = agency_rows(&second);
    assert_eq!(more.len(), 100);
    assert!(
        names.last().unwrap() < more.first().unwrap(),
        "{names:?} then {more:?}"
    );
    assert!(second.contains("Hiện cơ quan 101–200 trong 1000 (trang 2/10)"));
    assert!(link_to(&second, "co-quan", "‹ Trang trước").contains("sap-xep=ten"));
    // The overdue list's pages keep the agencies' page, and the other way round.
    let overdue_next = link_to(&second, "qua-han", "Trang sau ›");
    assert!(overdue_next.contains("trang=2&"), "{overdue_next}");
    assert!(overdue_next.contains("trang-qua-han=2"), "{overdue_next}");
    assert!(overdue_next.ends_with("#qua-han"), "{overdue_next}");
    let (_, overdue_second) = site.get(overdue_next.trim_end_matches("#qua-han")).await;
    assert!(overdue_second.contains("Hiện nhiệm vụ 26–50 trong 300 (trang 2/12)"));
    assert!(
        link_to(&overdue_second, "co-quan", "Trang sau ›").contains("trang-qua-han=2"),
        "the agencies' links keep the overdue list's page"
    );
    // A sort starts the agencies again at their first page.
    assert!(
        unescaped(&second).contains(&format!(
            "href=\"{admin}?ngay=2023-01-15&sap-xep=qua-han#co-quan\""
        )),
        "{second}"
    );
    // Past the last page: the last.
    let (_, last) = site
        .get(&format!("{admin}?ngay=15/01/2023&sap-xep=ten&trang=99"))
        .await;
    assert!(last.contains("Hiện cơ quan 901–1000 trong 1000 (trang 10/10)"));

    // A search and a plan narrow the table, and the links keep them.
    let (code, found) = site
        .get(&format!(
            "{admin}?ngay=15/01/2023&ke-hoach=1/KH-UBND&tim=co%20quan%20so&sap-xep=ten"
        ))
        .await;
    assert_eq!(code, 200, "{found}");
    let next = link_to(&found, "co-quan", "Trang sau ›");
    for kept in [
        "ke-hoach=1%2FKH-UBND",
        "tim=co+quan+so",
        "sap-xep=ten",
        "trang=2",
    ] {
        assert!(next.contains(kept), "{kept} in {next}");
    }
    // A page that is not a number is refused in Vietnamese.
    let (code, bad) = site.get(&format!("{admin}?trang=hai")).await;
    assert_eq!(code, 400);
    assert!(bad.contains("Trang &quot;hai&quot; không hợp lệ"), "{bad}");
}

/// The figures are kept between requests (issue 31): an answer recorded by another connection
/// (the service, the CLI) shows on the next page, its sort and search pages too, and so does a
/// reloaded config.
#[tokio::test]
async fn the_figures_kept_show_an_answer_recorded_since_and_a_reloaded_config() {
    let site = site().await;
    let page = |query: &'static str| {
        let site = &site;
        async move {
            let (code, html) = site.get(&format!("{}{query}", admin_path())).await;
            assert_eq!(code, 200, "{html}");
            html
        }
    };
    let first = page("?ngay=25/05/2022").await;
    assert_eq!(row_numbers(&first, "Kế hoạch số 50/KH-UBND")[0], "1");
    // A lead's open occurrence of plan 50, reported done on time by another connection.
    let rows = nhacviec::report::status(&site.config, date("2022-05-25"), None);
    let open = rows
        .iter()
        .find(|r| {
            r.plan == "50/KH-UBND"
                && r.role == nhacviec::schedule::Role::Lead
                && r.agency != "so-noi-vu"
                && matches!(r.state, State::Open | State::NotDue)
                && r.deadline.is_some()
        })
        .expect("an open lead occurrence");
    let done = nhacviec::answers::NewResponse {
        deadline: r_deadline(open),
        done_on: Some(date("2022-05-24")),
        ..crate::support::answers::answer(&open.agency, &open.task, Action::Done, "kept-1")
    };
    Store::open_writer(&site.db)
        .unwrap()
        .record_response(&done, now() - chrono::Duration::hours(1))
        .unwrap();
    let after = page("?ngay=25/05/2022").await;
    assert_eq!(
        row_numbers(&after, "Kế hoạch số 50/KH-UBND")[0],
        "2",
        "the answer recorded since counts on the next page"
    );
    let sorted = page("?ngay=25/05/2022&sap-xep=ten").await;
    assert_eq!(row_numbers(&sorted, "Kế hoạch số 50/KH-UBND")[0], "2");
    // A reload renaming an agency: its new name on the next page, the answers still counted.
    let mut reloaded = site.config.clone();
    for a in &mut reloaded.agencies {
        if a.id == "so-noi-vu" {
            a.name = "Sở Nội vụ (tên mới khi nạp lại)".into();
        }
    }
    site.web.set_config(std::sync::Arc::new(reloaded));
    let renamed = page("?ngay=25/05/2022").await;
    assert_eq!(
        row_numbers(&renamed, "Sở Nội vụ (tên mới khi nạp lại)")[2],
        "1"
    );
    assert_eq!(row_numbers(&renamed, "Kế hoạch số 50/KH-UBND")[0], "2");
}

/// The occurrence a status row is about, as an answer names it (the plan's deadline).
fn r_deadline(r: &nhacviec::report::StatusRow) -> Option<chrono::NaiveDate> {
    r.occurrence.or(r.deadline)
}

/// A department coordinating 300 tasks sees them 100 a page, overdue and nearest deadlines
/// first, with a line saying how many are on the other pages and the links to them (the
/// filters kept); one plan chosen fits on one page.
#[tokio::test]
async fn an_agency_with_300_cards_sees_them_100_a_page_nearest_first() {
    let config = with_web(province(10, false), None);
    let site = Site::start(config, now(), |_| {});
    let path = format!("/a/{}", signer().sign("a0", now()));
    let cards = |html: &str| html.matches("<article class=\"task").count();
    let deadlines = |html: &str| -> Vec<String> {
        html.split("data-deadline=\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_string())
            .collect()
    };
    let (code, first) = site.get(&path).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(cards(&first), 100);
    let first = unescaped(&first);
    assert!(
        first.contains("300 việc chưa hoàn thành"),
        "every card counted"
    );
    assert!(
        first.contains("Hiện việc 1–100 trong 300 (trang 1/3), quá hạn và gần hạn nhất trước; 200 việc khác ở các trang khác"),
        "{first}"
    );
    assert!(!first.contains("Trang trước"));
    let next = format!("{path}?trang=2");
    assert!(first.contains(&format!("href=\"{next}\"")), "{first}");
    let (_, second) = site.get(&next).await;
    assert_eq!(cards(&second), 100);
    assert!(unescaped(&second).contains("Hiện việc 101–200 trong 300 (trang 2/3)"));
    // Nearest deadlines first: none on page 2 before the last of page 1.
    let (a, b) = (deadlines(&first), deadlines(&second));
    assert!(a.last().unwrap() <= b.first().unwrap(), "{a:?} then {b:?}");
    // Past the last page: the last.
    let (_, last) = site.get(&format!("{path}?trang=99")).await;
    assert!(unescaped(&last).contains("Hiện việc 201–300 trong 300 (trang 3/3)"));
    assert_eq!(cards(&last), 100);
    // One plan: its 30 cards, no pages; a page link keeps the plan.
    let (_, one) = site.get(&format!("{path}?ke-hoach=0%2FKH-UBND")).await;
    assert_eq!(cards(&one), 30);
    assert!(!one.contains("class=\"pager\""), "{one}");
    let (_, all) = site.get(&format!("{path}?tinh-trang=tat-ca")).await;
    assert!(
        unescaped(&all).contains(&format!("href=\"{path}?tinh-trang=tat-ca&trang=2\"")),
        "{all}"
    );
}
