//! The monitoring office's paths at province scale, as users run them: the dashboard page and
//! the workbook download over HTTP from the service's own web server (store, overlay, figures,
//! rendering, the network), and the weekly report's making. Figures: docs/PERFORMANCE.md.
//!
//! The fixture: 1,000 agencies (34 departments, 100 districts, 866 communes), 50 plans of 30
//! tasks; each task led by a department (a third also by every district) and coordinated by
//! every department, about 100,000 task × agency rows; 2,000 answers in the store.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use nhacviec::answers::{Action, NewResponse};
use nhacviec::config::{analyze, Source, Sources};
use nhacviec::links::{Key, Signer, MONITOR};
use nhacviec::store::Store;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TIMES: &[&str] = &[
    "Quý II/2022",
    "Tháng 3/2022",
    "Năm 2022",
    "Thường xuyên",
    "Trước ngày 15/12/2022",
    "Quý III, IV/2022",
    "Định kỳ hằng quý (trước ngày 15 của tháng cuối quý)",
    "Khi có yêu cầu",
];

fn province() -> Sources {
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
    for (id, level) in [("so-nganh", "tinh"), ("cac-huyen", "huyen")] {
        agencies.push_str(&format!(
            "[[group]]\nid = \"{id}\"\nname = \"Nhóm {id}\"\nlevel = \"{level}\"\n\n"
        ));
    }
    let plans = (0..50)
        .map(|p| {
            let mut text = format!(
                "[plan]\nnumber = \"{p}/KH-UBND\"\ntitle = \"Kế hoạch thực hiện nhiệm vụ số {p}\"\nissuer = \"UBND tỉnh\"\nissued = 2022-03-24\n\n"
            );
            for t in 0..30 {
                let lead = (p * 30 + t) % 34;
                let districts = if t % 3 == 0 { ", \"cac-huyen\"" } else { "" };
                text.push_str(&format!(
                    "[[task]]\nid = \"{t}\"\ntitle = \"Nhiệm vụ {t} của kế hoạch {p}: triển khai, kiểm tra và báo cáo kết quả thực hiện\"\nlead = [\"a{lead}\"{districts}]\nsupport = [\"so-nganh\"]\ntime = \"{}\"\n\n",
                    TIMES[(p + t) % TIMES.len()]
                ));
            }
            Source::new(format!("plans/{p}.toml"), text)
        })
        .collect();
    Sources::in_memory(None, Source::new("agencies.toml", agencies), plans)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// 2,000 answers: completions, progress, extension requests.
fn answers(store: &Store) {
    for i in 0..2_000usize {
        let action = [Action::Done, Action::Progress, Action::Extension][i % 3];
        let r = NewResponse {
            agency: format!("a{}", i % 34),
            plan: format!("{}/KH-UBND", i % 50),
            task: format!("{}", i % 30),
            deadline: NaiveDate::from_ymd_opt(2022, 6, 30),
            action,
            done_on: (action == Action::Done)
                .then(|| NaiveDate::from_ymd_opt(2022, 6, 20).unwrap()),
            doc_ref: Some(format!("Báo cáo số {i}/BC")),
            note: Some("Đã triển khai".into()),
            percent: (action == Action::Progress).then_some(60),
            proposed: (action == Action::Extension)
                .then(|| NaiveDate::from_ymd_opt(2022, 9, 30).unwrap()),
            key_id: "k".into(),
            client: None,
            user_agent: None,
            nonce: format!("n{i}"),
            who: Default::default(),
        };
        store
            .record_response(&r, at("2022-06-25T02:00:00Z"))
            .unwrap();
    }
}

fn benches(c: &mut Criterion) {
    let analysis = analyze(&province());
    assert!(!analysis.has_errors(), "{:?}", analysis.errors().next());
    let config = analysis.config;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nhacviec.db");
    answers(&Store::open_writer(&db).unwrap());
    let now = Utc.with_ymd_and_hms(2022, 7, 1, 1, 0, 0).unwrap();
    let signer = Signer {
        current: Key::new("a benchmark secret long enough").unwrap(),
        previous: None,
        days: 60,
    };
    let key = signer.sign(MONITOR, now);
    let web = nhacviec::web::Web::new(
        Arc::new(config.clone()),
        Store::open_side(&db).unwrap(),
        signer,
        Some(now),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let _server = nhacviec::web::start(listener, web).unwrap();
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| -> usize {
        let r = http.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().unwrap().len()
    };

    let store = Store::open_reader(&db).unwrap();
    let (responses, extensions) = store.answers().unwrap();
    let answered = nhacviec::answers::overlaid(&config, &responses, &extensions);
    let as_of = NaiveDate::from_ymd_opt(2022, 7, 1).unwrap();
    let overview = nhacviec::overview::compute(
        &answered,
        as_of,
        None,
        &responses,
        &extensions,
        &Default::default(),
    );
    eprintln!(
        "fixture: {} agencies, {} plans, {} task × agency rows; page {} bytes, workbook {} bytes",
        config.agencies.len(),
        config.plans.len(),
        overview.rows.len(),
        get(&format!("/theo-doi/{key}")),
        get(&format!("/theo-doi/{key}/bang-tinh.xlsx"))
    );

    for agency in ["a40", "a0"] {
        for downloading in [false, true] {
            let (p50, p99, max) = pages_during_downloads(&base, now, agency, downloading);
            eprintln!(
                "agency page {agency}{}: p50 {p50:?}, p99 {p99:?}, max {max:?} (200 requests)",
                if downloading {
                    " while workbooks download back to back"
                } else {
                    " alone"
                }
            );
        }
    }

    let mut g = c.benchmark_group("monitoring");
    g.sample_size(10);
    // The rate limit (30 requests a minute per link) would refuse a benchmark's loop: each
    // iteration uses a link of its own.
    let mut n = 0u32;
    let mut fresh = || {
        n += 1;
        nhacviec::links::Signer {
            current: Key::new("a benchmark secret long enough").unwrap(),
            previous: None,
            days: 60,
        }
        .sign(MONITOR, now - chrono::Duration::seconds(i64::from(n)))
    };
    g.bench_function("dashboard page over HTTP (all 50 plans)", |b| {
        b.iter(|| black_box(get(&format!("/theo-doi/{}", fresh()))))
    });
    g.bench_function(
        "dashboard page over HTTP (one plan, with its timeline)",
        |b| b.iter(|| black_box(get(&format!("/theo-doi/{}?ke-hoach=7/KH-UBND", fresh())))),
    );
    g.bench_function("workbook download over HTTP (all 50 plans)", |b| {
        b.iter(|| black_box(get(&format!("/theo-doi/{}/bang-tinh.xlsx", fresh()))))
    });
    g.bench_function("figures alone (overview::compute)", |b| {
        b.iter(|| {
            black_box(nhacviec::overview::compute(
                &answered,
                as_of,
                None,
                &responses,
                &extensions,
                &Default::default(),
            ))
        })
    });
    g.bench_function("weekly report (figures, workbook, message)", |b| {
        b.iter(|| {
            let o = nhacviec::overview::compute(
                &answered,
                as_of,
                None,
                &responses,
                &extensions,
                &Default::default(),
            );
            let bytes = nhacviec::workbook::xlsx(&answered, &o).unwrap();
            black_box(
                nhacviec::messages::weekly_report(
                    &answered,
                    "a0",
                    &o,
                    &nhacviec::messages::Week {
                        from: now - chrono::Duration::days(7),
                        to: now,
                        responses: &responses,
                        extensions: &extensions,
                    },
                    None,
                    vec![nhacviec::messages::Attachment {
                        name: "x.xlsx".into(),
                        content_type: nhacviec::workbook::XLSX_TYPE.into(),
                        bytes,
                    }],
                )
                .unwrap(),
            )
        })
    });
    g.finish();
}

/// A link of `agency` signed `n` seconds before `now`: each request its own (the rate limit
/// allows 30 requests a minute per link).
fn link(agency: &str, now: DateTime<Utc>, n: u32) -> String {
    Signer {
        current: Key::new("a benchmark secret long enough").unwrap(),
        previous: None,
        days: 60,
    }
    .sign(agency, now - chrono::Duration::seconds(i64::from(n)))
}

/// 200 requests of `agency`'s page, one after another, while (with `downloading`) another
/// client downloads the full workbook back to back, each of another date (its figures
/// computed): the pages' latency p50, p99 and max (issue 29: an agency page's p99 under 100 ms
/// while a workbook downloads). The first request of the day makes the agency's cards, the
/// others render them from memory (issue 31).
fn pages_during_downloads(
    base: &str,
    now: DateTime<Utc>,
    agency: &str,
    downloading: bool,
) -> (Duration, Duration, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let downloads = downloading.then(|| {
        let (stop, base) = (stop.clone(), base.to_string());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut n = 10_000;
            let mut done = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // A date of its own each time: the figures computed for every workbook, not
                // read from those the pages keep (the worst case for the page beside it).
                let r = http
                    .get(format!(
                        "{base}/theo-doi/{}/bang-tinh.xlsx?ngay={:02}/06/2022",
                        link(MONITOR, now, n),
                        1 + n % 30
                    ))
                    .send()
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().unwrap();
                done += 1;
            }
            done
        })
    });
    // The first download under way.
    if downloading {
        std::thread::sleep(Duration::from_millis(300));
    }
    let http = reqwest::blocking::Client::new();
    let mut times: Vec<Duration> = (0..200)
        .map(|n| {
            let started = Instant::now();
            let r = http
                .get(format!("{base}/a/{}", link(agency, now, 20_000 + n)))
                .send()
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().unwrap();
            started.elapsed()
        })
        .collect();
    stop.store(true, Ordering::Relaxed);
    if let Some(d) = downloads {
        let done = d.join().unwrap();
        assert!(done >= 1, "a workbook downloaded meanwhile");
    }
    times.sort();
    (times[100], times[197], times[199])
}

criterion_group!(monitoring, benches);
criterion_main!(monitoring);
