//! The agencies' calendar feeds (`/a/{feed token}/lich.ics`) read by an independent parser
//! (Python's `icalendar`): one all-day event per deadline, the dates of `check --format json`,
//! an alarm before each open one, and an extension moving the same event (same UID, a higher
//! SEQUENCE) rather than adding one.

use crate::support::answers::date;
use crate::support::site::{sample_config, signer, with_web, Site};

use chrono::{DateTime, TimeZone, Utc};
use nhacviec::store::Store;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// 08:00 on 01/06/2022 in Hậu Giang.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 6, 1, 1, 0, 0).unwrap()
}

fn site(seed: impl FnOnce(&std::path::Path)) -> Site {
    Site::start(with_web(sample_config(), None), now(), seed)
}

/// The events of a feed as Python's icalendar reads them: uid → (date, sequence, summary,
/// description, alarm trigger).
fn parse(ics: &str) -> BTreeMap<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lich.ics");
    std::fs::write(&file, ics).unwrap();
    let script = r#"
import json, sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
out = {}
for e in cal.walk('VEVENT'):
    start = e.decoded('DTSTART'); end = e.decoded('DTEND')
    alarms = [str(a.decoded('TRIGGER')) for a in e.walk('VALARM')]
    out[str(e['UID'])] = {
        'start': start.isoformat(), 'end': end.isoformat(),
        'all_day': not hasattr(start, 'hour'),
        'sequence': int(e.get('SEQUENCE', 0)),
        'summary': str(e['SUMMARY']), 'description': str(e['DESCRIPTION']),
        'alarms': alarms,
    }
print(json.dumps({'name': str(cal.get('X-WR-CALNAME')), 'events': out}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 with icalendar (scripts/test installs it)");
    assert!(
        out.status.success(),
        "icalendar could not read the feed: {}\n{ics}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["name"].as_str().unwrap().starts_with("Nhắc việc — "));
    serde_json::from_value(v["events"].clone()).unwrap()
}

/// `check --format json` of the sample config.
fn check() -> Value {
    let out = assert_cmd::Command::cargo_bin("nhacviec")
        .unwrap()
        .args(["--config", "config", "check", "--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_feed_has_each_deadline_of_check_as_an_all_day_event() {
    let site = site(|_| {});
    let token = signer().sign_feed("so-noi-vu", now());
    let (code, kind, bytes) = site.bytes(&format!("/a/{token}/lich.ics")).await;
    assert_eq!(code, 200);
    assert!(kind.starts_with("text/calendar"), "{kind}");
    let events = parse(&String::from_utf8(bytes).unwrap());

    // Every single-date task Sở Nội vụ leads or supports is one event on its date.
    let check = check();
    let mut expected = 0;
    for t in check["tasks"].as_array().unwrap() {
        let involved = ["lead", "support"]
            .iter()
            .any(|k| t[k].as_array().unwrap().iter().any(|a| a == "so-noi-vu"));
        if !involved {
            continue;
        }
        let id = t["id"].as_str().unwrap();
        let marker = format!("Hạn nhiệm vụ {id} (");
        let mine: Vec<&Value> = events
            .values()
            .filter(|e| e["summary"].as_str().unwrap().contains(&marker))
            .collect();
        match t["deadline"]["kind"].as_str().unwrap() {
            "due" => {
                expected += 1;
                assert_eq!(mine.len(), 1, "task {id}");
                assert_eq!(mine[0]["start"], t["deadline"]["due"], "task {id}");
                assert!(mine[0]["all_day"].as_bool().unwrap());
                let end = date(mine[0]["end"].as_str().unwrap());
                assert_eq!(
                    end,
                    date(t["deadline"]["due"].as_str().unwrap())
                        .succ_opt()
                        .unwrap()
                );
                let d = mine[0]["description"].as_str().unwrap();
                assert!(
                    d.contains(&format!("Thời gian: {}", t["time_text"].as_str().unwrap())),
                    "{d}"
                );
                assert!(d.contains("Vai trò: "), "{d}");
                assert!(d.contains("Kế hoạch số 50/KH-UBND"), "{d}");
                assert_eq!(mine[0]["alarms"], serde_json::json!(["-3 days, 0:00:00"]));
            }
            "continuous" | "on_request" => assert!(mine.is_empty(), "task {id} has no date"),
            _ => assert!(!mine.is_empty(), "task {id}: its dates are in the feed"),
        }
    }
    assert!(expected > 3, "the sample has dated tasks for Sở Nội vụ");
}

#[tokio::test]
async fn an_extension_moves_the_same_event() {
    let before = site(|_| {});
    let token = signer().sign_feed("so-noi-vu", now());
    let (_, _, bytes) = before.bytes(&format!("/a/{token}/lich.ics")).await;
    let old = parse(&String::from_utf8(bytes).unwrap());
    let (uid, event) = old
        .iter()
        .find(|(_, e)| {
            e["summary"]
                .as_str()
                .unwrap()
                .contains("Hạn nhiệm vụ 10.1 (")
                && e["start"] == "2022-06-18"
        })
        .expect("10.1's occurrence of 18/06");

    let after = site(|db| {
        let mut w = Store::open_writer(db).unwrap();
        w.grant_extension(
            "so-noi-vu",
            "50/KH-UBND",
            "10.1",
            date("2022-06-18"),
            date("2022-07-31"),
            Some("CV 1"),
            now(),
        )
        .unwrap();
    });
    let (_, _, bytes) = after.bytes(&format!("/a/{token}/lich.ics")).await;
    let new = parse(&String::from_utf8(bytes).unwrap());
    let moved = &new[uid];
    assert_eq!(moved["start"], "2022-07-31");
    assert!(moved["sequence"].as_i64().unwrap() > event["sequence"].as_i64().unwrap());
    assert!(moved["description"]
        .as_str()
        .unwrap()
        .contains("Đã gia hạn: từ 18/06/2022 đến 31/07/2022"));
    assert_eq!(new.len(), old.len(), "moved, not added");
}

#[tokio::test]
async fn only_a_feed_token_opens_a_feed_for_400_days_and_the_page_shares_no_answer_link() {
    let site = site(|_| {});
    let (_, unknown) = site.get("/khong-co").await;
    let token = signer().sign_feed("so-noi-vu", now());
    let (code, body) = site.get(&format!("/a/{token}x/lich.ics")).await;
    assert_eq!((code, body), (404, unknown.clone()));
    let (code, _) = site.get(&format!("/a/{token}/lich.txt")).await;
    assert_eq!(code, 404);
    // A subscription outlives a reminder's link (60 days): the feed's token lives 400 days...
    let old = signer().sign_feed("so-noi-vu", now() - chrono::Duration::days(399));
    let (code, _) = site.get(&format!("/a/{old}/lich.ics")).await;
    assert_eq!(code, 200);
    // ... not forever.
    let ancient = signer().sign_feed("so-noi-vu", now() - chrono::Duration::days(400));
    let (code, body) = site.get(&format!("/a/{ancient}/lich.ics")).await;
    assert_eq!((code, body), (404, unknown.clone()));
    // The reminder's link, which answers, is not a feed's token.
    let answer = signer().sign("so-noi-vu", now());
    let (code, body) = site.get(&format!("/a/{answer}/lich.ics")).await;
    assert_eq!((code, body), (404, unknown.clone()));
    // The agency's page offers the feed with its own token, and no URL to share carries the
    // answer link.
    let (_, page) = site.get(&format!("/a/{answer}")).await;
    assert!(
        page.contains(&format!("https://nhacviec.example/a/{token}/lich.ics")),
        "{page}"
    );
    assert!(!page.contains(&format!("{answer}/lich.ics")), "{page}");
    assert!(!page.contains(&format!("https://nhacviec.example/a/{answer}")));
}
