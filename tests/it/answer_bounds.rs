//! Bounded answers (issue 30): one pending extension request per occurrence (a new one
//! supersedes it, kept), `[web] max_answers_per_day` (a 429, nothing stored), an answer whose
//! task a reload removed is refused, and the answers the pages read (`Store::shown_answers`)
//! give what every answer gives.

use crate::support::site::{sample_config, signer, with_web, Site};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use nhacviec::answers::{self, Action, NewResponse};
use nhacviec::links::MONITOR;
use nhacviec::store::{ResponseFilter, Store};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const ADMIN_KEY: &str = "khoa-trang-theo-doi-cua-van-phong-ubnd";

/// 08:00 on 01/06/2022 in Hậu Giang.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 6, 1, 1, 0, 0).unwrap()
}

fn token(agency: &str) -> String {
    signer().sign(agency, now())
}

fn stored(site: &Site) -> Vec<answers::Response> {
    Store::open_reader(&site.db)
        .unwrap()
        .responses(&ResponseFilter::default())
        .unwrap()
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

/// The hidden value `name` of the form posting to `action` for task `task`.
fn hidden(page: &str, action: &str, task: &str, name: &str) -> String {
    let form = page
        .split("<form ")
        .skip(1)
        .find(|f| {
            f.contains(&format!("/{action}\""))
                && f.contains(&format!("name=\"task\" value=\"{task}\""))
        })
        .unwrap_or_else(|| panic!("no {action} form for {task}"));
    let at = form.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    unescape(form[at..].split('"').next().unwrap())
}

/// Posts the form `action` of task 9.2 from a freshly loaded page, with `extra` fields.
async fn answer(site: &Site, action: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let t = token("so-noi-vu");
    let (_, page) = site.get(&format!("/a/{t}")).await;
    let mut form: Vec<(String, String)> = ["csrf", "nonce", "plan", "deadline"]
        .iter()
        .map(|k| (k.to_string(), hidden(&page, action, "9.2", k)))
        .collect();
    form.push(("task".into(), "9.2".into()));
    form.push(("ho_ten".into(), "Nguyễn Văn A".into()));
    form.push(("chuc_vu".into(), "Chuyên viên".into()));
    form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    site.post(&format!("/a/{t}/{action}"), &pairs).await
}

fn progress(agency: &str, nonce: &str) -> NewResponse {
    NewResponse {
        agency: agency.into(),
        plan: "50/KH-UBND".into(),
        task: "9.2".into(),
        deadline: NaiveDate::from_ymd_opt(2022, 12, 31),
        action: Action::Progress,
        done_on: None,
        doc_ref: None,
        note: Some("đang làm".into()),
        percent: Some(10),
        proposed: None,
        key_id: "k1".into(),
        client: None,
        user_agent: None,
        nonce: nonce.into(),
        who: Default::default(),
    }
}

#[tokio::test]
async fn a_second_extension_request_supersedes_the_first_and_a_decision_mails_once() {
    let config = with_web(
        sample_config(),
        Some(Sha256::digest(ADMIN_KEY.as_bytes()).into()),
    );
    let site = Site::start(config, now(), |_| {});
    // The page offers no second request while one is pending; two tabs (or a script) post
    // the same form twice.
    let t = token("so-noi-vu");
    let (_, page) = site.get(&format!("/a/{t}")).await;
    for (nonce, proposed, reason) in [
        ("tab-1", "31/01/2023", "thiếu kinh phí"),
        ("tab-2", "28/02/2023", "chờ số liệu"),
    ] {
        let csrf = hidden(&page, "extend", "9.2", "csrf");
        let deadline = hidden(&page, "extend", "9.2", "deadline");
        let form = [
            ("csrf", csrf.as_str()),
            ("nonce", nonce),
            ("plan", "50/KH-UBND"),
            ("task", "9.2"),
            ("deadline", deadline.as_str()),
            ("ho_ten", "Nguyễn Văn A"),
            ("chuc_vu", "Chuyên viên"),
            ("proposed", proposed),
            ("reason", reason),
        ];
        let (st, body) = site.post(&format!("/a/{t}/extend"), &form).await;
        assert_eq!(st, 303, "{body}");
    }
    let all = stored(&site);
    assert_eq!(all.len(), 2, "both kept: the first is not deleted");
    assert!(all[0].undone_at.is_some(), "the first is superseded");
    assert!(all[1].undone_at.is_none());
    let pending = Store::open_reader(&site.db)
        .unwrap()
        .responses(&ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        pending.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![all[1].id],
        "one pending request: the latest"
    );
    // The agency's page names the latest request.
    let (_, page) = site.get(&format!("/a/{}", token("so-noi-vu"))).await;
    assert!(unescape(&page).contains("28/02/2023"), "{page}");

    let admin = format!("/theo-doi/{}", signer().sign(MONITOR, now()));
    let (_, dash) = site.get(&admin).await;
    let dash = unescape(&dash);
    assert!(dash.contains("Đề nghị gia hạn chờ xem xét (1)"), "{dash}");
    let at = dash.find(&format!("action=\"{admin}/tu-choi")).unwrap();
    let rest = &dash[at..];
    let v = rest.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = &rest[v..v + rest[v..].find('"').unwrap()];
    // The superseded request cannot be decided: nothing written, nothing mailed.
    let first = all[0].id.to_string();
    let (st, _) = site
        .post(
            &format!("{admin}/tu-choi"),
            &[
                ("csrf", csrf),
                ("request", &first),
                ("reason", "Không đủ căn cứ"),
            ],
        )
        .await;
    assert_eq!(st, 409);
    let latest = all[1].id.to_string();
    let (st, body) = site
        .post(
            &format!("{admin}/tu-choi"),
            &[
                ("csrf", csrf),
                ("request", &latest),
                ("reason", "Không đủ căn cứ"),
            ],
        )
        .await;
    assert_eq!(st, 303, "{body}");
    let told = Store::open_reader(&site.db)
        .unwrap()
        .history(Some("so-noi-vu"), None, 10)
        .unwrap();
    assert_eq!(told.len(), 1, "the agency is told once");
    let (_, dash) = site.get(&admin).await;
    assert!(unescape(&dash).contains("Đề nghị gia hạn chờ xem xét (0)"));
}

#[tokio::test]
async fn answers_past_the_days_cap_get_a_429_and_nothing_is_stored() {
    let site = Site::start(with_web(sample_config(), None), now(), |db| {
        let store = Store::open_writer(db).unwrap();
        // Yesterday (31/05, local): 50 answers, the last at 23:30, do not count today.
        for i in 0..50 {
            let at = Utc.with_ymd_and_hms(2022, 5, 31, 16, 30, 0).unwrap() - Duration::minutes(i);
            store
                .record_response(&progress("so-noi-vu", &format!("y{i}")), at)
                .unwrap();
        }
        // Today from 00:30 local (17:30 UTC the day before): 48, and another agency's.
        for i in 0..48 {
            let at = Utc.with_ymd_and_hms(2022, 5, 31, 17, 30, 0).unwrap() + Duration::minutes(i);
            store
                .record_response(&progress("so-noi-vu", &format!("t{i}")), at)
                .unwrap();
        }
        store
            .record_response(&progress("so-tu-phap", "other"), now())
            .unwrap();
    });
    let note = [("note", "đã xong phần khảo sát"), ("percent", "40")];
    // The 49th and 50th of the day are stored.
    for _ in 0..2 {
        let (st, body) = answer(&site, "progress", &note).await;
        assert_eq!(st, 303, "{body}");
    }
    assert_eq!(stored(&site).len(), 50 + 48 + 1 + 2);
    // The 51st: refused, in Vietnamese, nothing stored.
    let (st, body) = answer(&site, "progress", &note).await;
    assert_eq!(st, 429, "{body}");
    let body = unescape(&body);
    assert!(
        body.contains(
            "Đã ghi nhận quá nhiều câu trả lời hôm nay (50 câu trả lời, tối đa 50 mỗi ngày"
        ),
        "{body}"
    );
    assert_eq!(stored(&site).len(), 50 + 48 + 1 + 2);
    // A completion too.
    let (st, _) = answer(&site, "done", &[("done_on", "01/06/2022")]).await;
    assert_eq!(st, 429);
    assert_eq!(stored(&site).len(), 50 + 48 + 1 + 2);
}

#[tokio::test]
async fn the_cap_follows_the_setting() {
    let mut config = with_web(sample_config(), None);
    if let Some(w) = config.web.as_mut() {
        w.max_answers_per_day = 2;
    }
    let site = Site::start(config, now(), |_| {});
    let note = [("note", "đang làm")];
    for _ in 0..2 {
        assert_eq!(answer(&site, "progress", &note).await.0, 303);
    }
    assert_eq!(answer(&site, "progress", &note).await.0, 429);
    assert_eq!(stored(&site).len(), 2);
}

#[tokio::test]
async fn an_answer_whose_task_a_reload_removed_is_refused() {
    let config = with_web(sample_config(), None);
    let site = Site::start(config.clone(), now(), |_| {});
    let t = token("so-noi-vu");
    let (_, page) = site.get(&format!("/a/{t}")).await;
    let form: Vec<(&str, String)> = vec![
        ("csrf", hidden(&page, "progress", "9.2", "csrf")),
        ("nonce", hidden(&page, "progress", "9.2", "nonce")),
        ("plan", "50/KH-UBND".into()),
        ("task", "9.2".into()),
        ("deadline", hidden(&page, "progress", "9.2", "deadline")),
        ("ho_ten", "Nguyễn Văn A".into()),
        ("chuc_vu", "Chuyên viên".into()),
        ("note", "đang làm".into()),
    ];
    // A reload between the page and the answer: the task is no longer in the plan.
    let mut reloaded = config.clone();
    for plan in &mut reloaded.plans {
        plan.tasks.retain(|t| t.id != "9.2");
    }
    site.web.set_config(Arc::new(reloaded));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, body) = site.post(&format!("/a/{t}/progress"), &pairs).await;
    assert!(st == 403 || st == 409, "{st}: {body}");
    assert!(
        unescape(&body).contains("không còn trong kế hoạch"),
        "{body}"
    );
    assert!(
        stored(&site).is_empty(),
        "nothing stored against the missing task"
    );
    // Put back, the same form is stored.
    site.web.set_config(Arc::new(config));
    let (st, body) = site.post(&format!("/a/{t}/progress"), &pairs).await;
    assert_eq!(st, 303, "{body}");
    assert_eq!(stored(&site).len(), 1);
}

/// The pages keep the answered config between requests (issue 31): an answer recorded by
/// another connection (the service, the CLI) shows on the next page, and so does a reload.
#[tokio::test]
async fn a_page_shows_an_answer_recorded_since_the_last_page_and_a_reloaded_config() {
    let config = with_web(sample_config(), None);
    let site = Site::start(config.clone(), now(), |_| {});
    let t = token("so-noi-vu");
    let done = "Đã hoàn thành ngày 30/05/2022";
    let page = |query: &'static str| {
        let (site, t) = (&site, &t);
        async move {
            let (st, body) = site.get(&format!("/a/{t}{query}")).await;
            assert_eq!(st, 200);
            unescape(&body)
        }
    };
    assert!(!page("?tinh-trang=tat-ca").await.contains(done));
    let mut r = progress("so-noi-vu", "done-by-cli");
    r.action = Action::Done;
    r.done_on = NaiveDate::from_ymd_opt(2022, 5, 30);
    r.percent = None;
    let id = Store::open_writer(&site.db)
        .unwrap()
        .record_response(&r, now())
        .unwrap();
    let answered = page("?tinh-trang=da-xong").await;
    assert!(answered.contains(done), "{answered}");
    // A reload: the task's new title, the completion still over it.
    let mut reloaded = config.clone();
    for plan in &mut reloaded.plans {
        for task in &mut plan.tasks {
            if task.id == "9.2" {
                task.title = "Nhiệm vụ được đổi tên khi nạp lại cấu hình".into();
            }
        }
    }
    site.web.set_config(Arc::new(reloaded));
    let after = page("?tinh-trang=da-xong").await;
    assert!(
        after.contains("Nhiệm vụ được đổi tên khi nạp lại cấu hình") && after.contains(done),
        "{after}"
    );
    // Withdrawn: open again on the next page.
    assert!(Store::open_writer(&site.db)
        .unwrap()
        .undo_response(id, "so-noi-vu", now() - Duration::hours(1), now())
        .unwrap());
    assert!(!page("?tinh-trang=tat-ca").await.contains(done));
}

/// A small deterministic generator (no dependency for a test's choices).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[test]
fn the_answers_pages_read_give_what_every_answer_gives() {
    let config = sample_config();
    let today = NaiveDate::from_ymd_opt(2022, 11, 20).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_writer(&dir.path().join("s.db")).unwrap();
    // Every agency's occurrences (as the page lists them with no answer yet).
    let mut occurrences = Vec::new();
    for agency in &config.agencies {
        for v in answers::agency_view(&config, &agency.id, today, &[]) {
            occurrences.push((agency.id.clone(), v.plan, v.task, v.occurrence));
        }
    }
    assert!(occurrences.len() > 50, "{}", occurrences.len());
    let mut rng = Lcg(7);
    let start = Utc.with_ymd_and_hms(2022, 4, 1, 2, 0, 0).unwrap();
    for i in 0..3000 {
        let (agency, plan, task, deadline) = &occurrences[rng.next(occurrences.len())];
        let at = start + Duration::minutes(i * 97);
        let action = match rng.next(10) {
            0 | 1 => Action::Done,
            2 | 3 => Action::Extension,
            _ => Action::Progress,
        };
        let day = at.date_naive();
        let new = NewResponse {
            agency: agency.clone(),
            plan: plan.clone(),
            task: task.clone(),
            deadline: *deadline,
            action,
            done_on: (action == Action::Done).then_some(day),
            doc_ref: (rng.next(2) == 0).then(|| format!("{i}/BC")),
            note: Some(format!("ghi chú {i}")),
            percent: None,
            proposed: deadline.map(|d| d + Duration::days(30)),
            key_id: "k".into(),
            client: None,
            user_agent: None,
            nonce: format!("n{i}"),
            who: Default::default(),
        };
        let id = store.record_response(&new, at).unwrap();
        match rng.next(12) {
            0 => {
                store.undo_response(id, agency, at, at).unwrap();
            }
            1 if action == Action::Done => {
                let confirmed = rng.next(2) == 0;
                store
                    .review_completion(
                        id,
                        confirmed,
                        Some("thiếu"),
                        &[],
                        "x",
                        at + Duration::hours(30),
                    )
                    .unwrap();
            }
            2 if action == Action::Extension => {
                if let Some(d) = deadline {
                    store
                        .grant_extension(agency, plan, task, *d, *d + Duration::days(20), None, at)
                        .unwrap();
                }
            }
            3 if action == Action::Extension => {
                let r = store.response(id).unwrap().unwrap();
                let refused = nhacviec::messages::Decision::Refused {
                    reason: "không".into(),
                };
                store.decide_extension(&r, &refused, &[], "x", at).unwrap();
            }
            _ => {}
        }
    }
    let (all, ext) = store.answers().unwrap();
    assert_eq!(all.len(), 3000);
    // The dashboard's figures, today and on past dates.
    for as_of in ["2022-11-20", "2022-09-15", "2022-06-02", "2022-04-01"] {
        let as_of: NaiveDate = as_of.parse().unwrap();
        let before = as_of
            .succ_opt()
            .and_then(|d| answers::day_start(config.timezone, d));
        let (shown, shown_ext) = store.shown_answers(None, before).unwrap();
        assert!(
            shown.len() < all.len() / 2,
            "{} of {}",
            shown.len(),
            all.len()
        );
        let last = std::collections::HashMap::new();
        let full = nhacviec::overview::compute_as_of(&config, as_of, None, &all, &ext, &last);
        let read =
            nhacviec::overview::compute_as_of(&config, as_of, None, &shown, &shown_ext, &last);
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::to_value(&full).unwrap(),
            "as of {as_of}"
        );
    }
    // The pages' overlay, made once from the first agency's read and shared by every page
    // while the answers' version stays (`web::answered`).
    let first = store.page_answers(&config.agencies[0].id, None).unwrap();
    let (shared_all, shared_ext) = first
        .overlay
        .expect("no version known: the overlay's answers");
    let shared = answers::overlaid(&config, &shared_all, &shared_ext);
    // Each agency's page.
    for agency in &config.agencies {
        let page = store
            .page_answers(&agency.id, Some(&first.version))
            .unwrap();
        assert!(page.overlay.is_none(), "the version known: {}", agency.id);
        let from_cache = answers::agency_view(&shared, &agency.id, today, &page.mine);
        let full_config = answers::overlaid(&config, &all, &ext);
        let mine: Vec<_> = all
            .iter()
            .filter(|r| r.agency == agency.id)
            .cloned()
            .collect();
        let full = answers::agency_view(&full_config, &agency.id, today, &mine);
        let (shown, shown_ext) = store.shown_answers(Some(&agency.id), None).unwrap();
        let read_config = answers::overlaid(&config, &shown, &shown_ext);
        let mine: Vec<_> = shown
            .iter()
            .filter(|r| r.agency == agency.id)
            .cloned()
            .collect();
        let read = answers::agency_view(&read_config, &agency.id, today, &mine);
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::to_value(&full).unwrap(),
            "{}",
            agency.id
        );
        assert_eq!(
            serde_json::to_value(&from_cache).unwrap(),
            serde_json::to_value(&full).unwrap(),
            "the shared overlay, {}",
            agency.id
        );
        assert_eq!(
            format!("{:?}", read_config.plans),
            format!("{:?}", full_config.plans),
            "the overlay of {}",
            agency.id
        );
    }
}

/// A page kept for the agency (issue 31) serves each of its links with that link's own
/// values: its path in the forms, CSRF tokens that post, fresh nonces, its expiry; a post with
/// the second link's form shows on the first link's next page.
#[tokio::test]
async fn a_kept_page_serves_each_link_its_own_forms() {
    let config = with_web(sample_config(), None);
    let site = Site::start(config, now(), |_| {});
    let first = signer().sign("so-noi-vu", now());
    let second = signer().sign("so-noi-vu", now() - Duration::days(10));
    let (_, a) = site.get(&format!("/a/{first}")).await;
    let (_, b) = site.get(&format!("/a/{second}")).await;
    let (a, b) = (unescape(&a), unescape(&b));
    assert!(a.contains(&format!("action=\"/a/{first}/done\"")), "{a}");
    assert!(b.contains(&format!("action=\"/a/{second}/done\"")), "{b}");
    assert!(
        !b.contains(&first),
        "nothing of the first link in the second's page"
    );
    assert!(
        b.contains("dùng được đến ngày 21/07/2022"),
        "the second link's own expiry"
    );
    assert!(a.contains("dùng được đến ngày 31/07/2022"));
    let (csrf_a, csrf_b) = (
        hidden(&a, "done", "9.2", "csrf"),
        hidden(&b, "done", "9.2", "csrf"),
    );
    assert_ne!(csrf_a, csrf_b);
    assert_ne!(
        hidden(&b, "done", "9.2", "nonce"),
        hidden(&a, "done", "9.2", "nonce")
    );
    // The second link's progress form posts.
    let form: Vec<(String, String)> = ["csrf", "nonce", "plan", "deadline"]
        .iter()
        .map(|k| (k.to_string(), hidden(&b, "progress", "9.2", k)))
        .chain([
            ("task".to_string(), "9.2".to_string()),
            ("note".to_string(), "Đã giao phòng chuyên môn".to_string()),
            ("ho_ten".to_string(), "Nguyễn Văn B".to_string()),
            ("chuc_vu".to_string(), "Chuyên viên".to_string()),
        ])
        .collect();
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (code, body) = site.post(&format!("/a/{second}/progress"), &pairs).await;
    assert_eq!(code, 303, "{body}");
    let (_, again) = site.get(&format!("/a/{first}")).await;
    assert!(
        unescape(&again).contains("Đã giao phòng chuyên môn"),
        "the answer on the first link's next page"
    );
}
