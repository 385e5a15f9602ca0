//! Answers as agencies give them on their pages, recorded straight into a store: the seed of
//! the monitoring tests.

use chrono::{DateTime, NaiveDate, Utc};
use nhacviec::answers::{Action, NewResponse};
use nhacviec::store::Store;
use std::path::Path;

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn answer(agency: &str, task: &str, action: Action, nonce: &str) -> NewResponse {
    NewResponse {
        agency: agency.into(),
        plan: "50/KH-UBND".into(),
        task: task.into(),
        deadline: None,
        action,
        done_on: None,
        doc_ref: None,
        note: None,
        percent: None,
        proposed: None,
        key_id: "k1".into(),
        client: None,
        user_agent: None,
        nonce: nonce.into(),
        who: Default::default(),
    }
}

/// Sở Nội vụ reports 8.8 done (with its report's number) and asks for more time on 10.1; Sở
/// Tư pháp reports progress on 8.8.
pub fn seed(db: &Path) {
    let store = Store::open_writer(db).unwrap();
    let done = NewResponse {
        deadline: Some(date("2022-05-31")),
        done_on: Some(date("2022-05-20")),
        doc_ref: Some("Báo cáo số 12/BC-SNV".into()),
        ..answer("so-noi-vu", "8.8", Action::Done, "m1")
    };
    store
        .record_response(&done, at("2022-05-20T02:30:00Z"))
        .unwrap();
    let asked = NewResponse {
        deadline: Some(date("2022-06-18")),
        proposed: Some(date("2022-07-31")),
        note: Some("Chờ số liệu của các huyện".into()),
        ..answer("so-noi-vu", "10.1", Action::Extension, "m2")
    };
    store
        .record_response(&asked, at("2022-05-22T01:00:00Z"))
        .unwrap();
    let progress = NewResponse {
        percent: Some(70),
        ..answer("so-tu-phap", "8.8", Action::Progress, "m3")
    };
    store
        .record_response(&progress, at("2022-05-23T01:00:00Z"))
        .unwrap();
}
