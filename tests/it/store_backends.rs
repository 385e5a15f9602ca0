//! The store on both backends (issue 28): SQLite in a temporary directory and PostgreSQL on
//! the private cluster (`support::postgres`, a database whose own collation is Vietnamese),
//! driven through the same public API, must say the same things. Then what only PostgreSQL
//! has: sessions claiming deliveries, the schema's version and owner checked before anything
//! is written, connection errors in words.

use crate::pipeline::{config, june_first};
use crate::support::postgres::cluster;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use nhacviec::answers::{Action, NewResponse, Response};
use nhacviec::channels::Senders;
use nhacviec::config::Channel;
use nhacviec::deliver::{self, Engine, Recording};
use nhacviec::messages::{Decision, NewDelivery};
use nhacviec::outbox::DeliveryStatus;
use nhacviec::pg::DatabaseUrl;
use nhacviec::render::Templates;
use nhacviec::schedule::{Handled, Item, Kind, Role, Tick};
use nhacviec::store::meta::{self, Entry as _};
use nhacviec::store::{
    Attachment, HistoryFilter, NewEvidence, Put, RecordError, Requeued, ResponseFilter, Share,
    StoreError, TickEnd,
};
use nhacviec::store::{Ledger, Location, Store};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A fresh store of each kind, with the temporary directory its files go in (made on a
/// thread of its own: the cluster's sync client may not run inside an async test).
fn backends() -> Vec<(&'static str, Location, tempfile::TempDir)> {
    std::thread::spawn(make_backends).join().unwrap()
}

fn make_backends() -> Vec<(&'static str, Location, tempfile::TempDir)> {
    let sqlite = tempfile::tempdir().unwrap();
    let pg = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&vietnamese_database(), "test").unwrap();
    vec![
        (
            "sqlite",
            Location::from(sqlite.path().join("nhacviec.db")),
            sqlite,
        ),
        (
            "postgresql",
            Location {
                path: pg.path().join("nhacviec.db"),
                pg: Some(url),
            },
            pg,
        ),
    ]
}

/// A new database whose default collation is Vietnamese (ICU), as a server set up in
/// Vietnam may have: text that must compare byte by byte, as SQLite's does, says so in the
/// schema (`COLLATE "C"`), whatever the database's default. Its connection string.
fn vietnamese_database() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let c = cluster();
    let name = format!(
        "vi_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(
        &c.url_with("postgres", crate::support::postgres::PASSWORD),
        postgres::NoTls,
    )
    .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'vi-VN'"
        ))
        .unwrap();
    let text = c.url_with(&name, crate::support::postgres::PASSWORD);
    let mut db = postgres::Client::connect(&text, postgres::NoTls).unwrap();
    let vietnamese: bool = db
        .query_one("SELECT 'đ' < 'e' AND 'a' < 'B'", &[])
        .unwrap()
        .get(0);
    assert!(vietnamese, "the database's own order is Vietnamese");
    text
}

/// One pass at 1/6/2022 08:00 as the service makes it: its digests recorded and sent.
async fn pass(
    store: &Store,
    config: &Arc<nhacviec::config::Config>,
    senders: &Senders,
) -> (deliver::Recorded, deliver::Pass) {
    let engine = Arc::new(Engine::build(config, june_first().date_naive()));
    let planned = deliver::plan(&engine, config, store, june_first()).unwrap();
    let recording = Recording {
        engine,
        config: config.clone(),
        templates: Arc::new(Templates::new(&[]).unwrap()),
        planned: Some(planned),
        now: june_first(),
    };
    let (recorded, sent) = deliver::record_and_send(
        recording,
        store,
        senders,
        config,
        chrono::Utc::now(),
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )
    .await;
    (recorded.unwrap(), sent.unwrap())
}

#[tokio::test(flavor = "current_thread")]
async fn a_pass_records_and_sends_alike_on_both_and_the_next_finds_it_handled() {
    let agencies = deliver::FIRST_BATCH + 10;
    let config = Arc::new(config(agencies, false));
    for (name, at, dir) in backends() {
        let store = Store::open_writer_at(&at).unwrap();
        let senders = Senders::new(&config, dir.path()).unwrap();
        let (recorded, sent) = pass(&store, &config, &senders).await;
        assert_eq!(recorded.tick.queued, agencies, "{name}");
        assert_eq!(sent.sent, agencies, "{name}");
        let counts = store.counts().unwrap();
        assert_eq!(counts.of(DeliveryStatus::Sent), agencies as i64, "{name}");
        assert_eq!(counts.waiting(), 0, "{name}");
        assert_eq!(
            store.ledger(Ledger::Real).watermark().unwrap(),
            Some(june_first().date_naive()),
            "{name}"
        );
        // Message-IDs carry the database's instance and the row's id.
        let history = store.history(None, None, 1000).unwrap();
        assert_eq!(history.len(), agencies, "{name}");
        assert!(
            history
                .iter()
                .all(|d| d.message_id.starts_with("<nhacviec.") && d.sent_at.is_some()),
            "{name}"
        );
        // A second pass finds everything handled.
        let (again, sent) = pass(&store, &config, &senders).await;
        assert_eq!(again.tick.queued, 0, "{name}");
        assert_eq!(sent.sent, 0, "{name}");
    }
}

// ---- The store's public API, the same assertions on each backend. ----

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

/// A message to `agency` over `channel` about the given (plan, task, slot key) items.
fn message(agency: &str, channel: Channel, items: &[(&str, &str, &str)]) -> NewDelivery {
    NewDelivery {
        agency: agency.into(),
        channel,
        recipients: vec![format!("{agency}@tinh.example")],
        subject: format!("Nhắc việc {agency}"),
        body_text: "Nội dung".into(),
        body_html: "<p>Nội dung</p>".into(),
        items: items
            .iter()
            .map(|(plan, task, key)| Item {
                plan: plan.to_string(),
                task: task.to_string(),
                role: Role::Lead,
                kind: Kind::Due,
                days: 0,
                deadline: day(6, 30),
                planned: day(6, 30),
                agency: None,
                key: key.to_string(),
            })
            .collect(),
        thread: format!("th.{agency}"),
        attachments: vec![],
    }
}

fn mail(agency: &str) -> NewDelivery {
    message(agency, Channel::Email, &[])
}

fn ids(ds: &[nhacviec::store::Delivery]) -> Vec<i64> {
    ds.iter().map(|d| d.id).collect()
}

fn of(store: &Store, id: i64) -> nhacviec::store::Delivery {
    store
        .history(None, None, 1000)
        .unwrap()
        .into_iter()
        .find(|d| d.id == id)
        .unwrap()
}

#[test]
fn meta_entries_and_both_ledgers_keys_read_back_alike() {
    for (name, at, _dir) in backends() {
        let store = Store::open_writer_at(&at).unwrap();
        assert_eq!(store.get(&meta::AdminSummaryDay).unwrap(), None, "{name}");
        store.put(&meta::AdminSummaryDay, &day(6, 2)).unwrap();
        store.put(&meta::AdminSummaryDay, &day(6, 3)).unwrap();
        assert_eq!(
            store.get(&meta::AdminSummaryDay).unwrap(),
            Some(day(6, 3)),
            "{name}: the second put replaces the first"
        );
        store.remove(&meta::AdminSummaryDay).unwrap();
        assert_eq!(store.get(&meta::AdminSummaryDay).unwrap(), None, "{name}");
        // JSON values and per-office keys.
        let spell = nhacviec::store::RefusalSpell {
            since: "2026-06-01T02:00:00+00:00".into(),
            until: String::new(),
            error: "535 sai mật khẩu".into(),
        };
        store.put(&meta::EmailRefused, &spell).unwrap();
        assert_eq!(
            store.get(&meta::EmailRefused).unwrap(),
            Some(spell),
            "{name}"
        );
        let office = meta::WeeklyReportAt(Some("vp-ubnd"));
        store.put(&office, &t0()).unwrap();
        assert_eq!(store.get(&office).unwrap(), Some(t0()), "{name}");
        assert_eq!(
            store.get(&meta::WeeklyReportAt(None)).unwrap(),
            None,
            "{name}"
        );
        // Trial mode's keys stay apart from the real ones.
        store
            .put_in(Ledger::Trial, &meta::Watermark, &day(6, 5))
            .unwrap();
        store.put(&meta::Watermark, &day(6, 4)).unwrap();
        assert_eq!(store.watermark().unwrap(), Some(day(6, 4)), "{name}");
        assert_eq!(
            store.ledger(Ledger::Trial).watermark().unwrap(),
            Some(day(6, 5)),
            "{name}"
        );
        assert_eq!(
            store.get_in(Ledger::Trial, &meta::Watermark).unwrap(),
            Some(day(6, 5)),
            "{name}"
        );
        assert_eq!(
            store
                .ledger(Ledger::Trial)
                .get(&meta::AdminSummaryDay)
                .unwrap(),
            None,
            "{name}"
        );
        // Written with deliveries in one transaction.
        store
            .record_extra(
                Ledger::Trial,
                &[],
                &[],
                &[Put::of(Ledger::Trial, &meta::AdminSummaryDay, &day(6, 6))],
                "tinh.example",
            )
            .unwrap();
        assert_eq!(
            store
                .ledger(Ledger::Trial)
                .get(&meta::AdminSummaryDay)
                .unwrap(),
            Some(day(6, 6)),
            "{name}"
        );
        assert_eq!(store.get(&meta::AdminSummaryDay).unwrap(), None, "{name}");
        // Both watermarks forgotten at once.
        store.reset_watermark().unwrap();
        assert_eq!(store.watermark().unwrap(), None, "{name}");
        assert_eq!(
            store.ledger(Ledger::Trial).watermark().unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            store
                .ledger(Ledger::Trial)
                .get(&meta::AdminSummaryDay)
                .unwrap(),
            Some(day(6, 6)),
            "{name}: only watermarks go"
        );
        // The database's instance, given at the first open, is kept.
        let instance = store.get(&meta::Instance).unwrap().unwrap();
        assert_eq!(instance.len(), 16, "{name}");
        drop(store);
        let again = Store::open_side_at(&at).unwrap();
        assert_eq!(
            again.get(&meta::Instance).unwrap(),
            Some(instance),
            "{name}"
        );
        assert_eq!(meta::Instance.key(), "instance");
    }
}

#[test]
fn a_delivery_goes_through_its_states_alike() {
    for (name, at, _dir) in backends() {
        let store = Store::open_writer_at(&at).unwrap();
        let mut report = mail("vp");
        report.attachments = vec![
            Attachment {
                name: "tinh-hinh.xlsx".into(),
                content_type: "application/octet-stream".into(),
                bytes: vec![0, 1, 2, 255],
            },
            Attachment {
                name: "bao-cao.docx".into(),
                content_type: "application/octet-stream".into(),
                bytes: b"PK".to_vec(),
            },
        ];
        let made = store
            .record_extra_at(
                Ledger::Real,
                &[
                    report,
                    message("b", Channel::Zalo, &[]),
                    mail("c"),
                    message("d", Channel::Webhook, &[]),
                ],
                &[],
                &[],
                "tinh.example",
                t0(),
            )
            .unwrap();
        let now = Utc::now() + Duration::minutes(1);
        let ready = store.ready(now, 10).unwrap();
        assert_eq!(ids(&ready), made, "{name}");
        assert!(
            ready.iter().all(|d| d.status == DeliveryStatus::Pending
                && d.tick_at == t0()
                && d.attempts == 0),
            "{name}"
        );
        assert_eq!(ready[0].attachments.len(), 2, "{name}");
        assert_eq!(ready[0].attachments[0].bytes, [0, 1, 2, 255], "{name}");
        assert_eq!(ready[0].attachments[1].name, "bao-cao.docx", "{name}");
        assert_eq!(ready[0].body_html, "<p>Nội dung</p>", "{name}");
        assert_eq!(ready[1].channel, Channel::Zalo, "{name}");
        assert_eq!(ids(&store.ready(now, 2).unwrap()), made[..2], "{name}");
        assert!(
            store
                .ready(Utc::now() - Duration::hours(1), 10)
                .unwrap()
                .is_empty(),
            "{name}: not ready before it was made"
        );

        let retry_at = now + Duration::hours(1);
        store.mark_sent(made[0], now).unwrap();
        store.mark_retry(made[1], retry_at, "421 bận").unwrap();
        store.mark_dead(made[2], "550 không có hộp thư").unwrap();
        store
            .mark_handed_over(made[3], made[0], "chuyển sang email")
            .unwrap();
        let counts = store.counts().unwrap();
        assert_eq!(
            (
                counts.of(DeliveryStatus::Sent),
                counts.of(DeliveryStatus::Retrying),
                counts.of(DeliveryStatus::Dead),
                counts.waiting()
            ),
            (1, 1, 2, 1),
            "{name}"
        );
        assert!(store.ready(now, 10).unwrap().is_empty(), "{name}");
        assert_eq!(store.next_attempt().unwrap(), Some(retry_at), "{name}");
        let later = store.ready(retry_at, 10).unwrap();
        assert_eq!(ids(&later), [made[1]], "{name}");
        assert_eq!(
            (
                later[0].status,
                later[0].attempts,
                later[0].last_error.as_deref()
            ),
            (DeliveryStatus::Retrying, 1, Some("421 bận")),
            "{name}"
        );
        let sent = of(&store, made[0]);
        assert_eq!((sent.sent_at, sent.attempts), (Some(now), 1), "{name}");
        assert_eq!(of(&store, made[3]).handed_over, Some(made[0]), "{name}");
        assert_eq!(of(&store, made[2]).handed_over, None, "{name}");

        // A fallback made ready in the same pass.
        store.make_ready(made[1], now).unwrap();
        assert_eq!(ids(&store.ready(now, 10).unwrap()), [made[1]], "{name}");
        // The server refuses everything: the channel waits, no attempt counted.
        let wait = now + Duration::hours(3);
        assert_eq!(
            store
                .postpone_channel(Channel::Email, now, wait, "máy chủ từ chối")
                .unwrap(),
            0,
            "{name}"
        );
        assert_eq!(
            store
                .postpone_channel(Channel::Zalo, now, wait, "máy chủ từ chối")
                .unwrap(),
            1,
            "{name}"
        );
        assert!(store.ready(now, 10).unwrap().is_empty(), "{name}");
        assert_eq!(store.next_attempt().unwrap(), Some(wait), "{name}");
        let postponed = of(&store, made[1]);
        assert_eq!(
            (postponed.attempts, postponed.last_error.as_deref()),
            (1, Some("máy chủ từ chối")),
            "{name}"
        );

        // Failures for the admin: the dead one (handed over needs no report), then stuck
        // after three attempts.
        let (dead, stuck) = store.failures_to_report().unwrap();
        assert_eq!((ids(&dead), ids(&stuck)), (vec![made[2]], vec![]), "{name}");
        store.mark_retry(made[1], wait, "421").unwrap();
        store.mark_retry(made[1], wait, "421").unwrap();
        let (_, stuck) = store.failures_to_report().unwrap();
        assert_eq!(ids(&stuck), [made[1]], "{name}");
        let summary = store
            .record_extra(
                Ledger::Real,
                &[mail("admin")],
                &[made[2]],
                &[Put::of(Ledger::Real, &meta::AdminSummaryDay, &day(6, 1))],
                "tinh.example",
            )
            .unwrap();
        let (dead, _) = store.failures_to_report().unwrap();
        assert!(dead.is_empty(), "{name}: reported");
        assert_eq!(store.get(&meta::AdminSummaryDay).unwrap(), Some(day(6, 1)));
        store.mark_dead(summary[0], "550").unwrap();
        store.mark_reported(summary[0]).unwrap();
        assert!(store.failures_to_report().unwrap().0.is_empty(), "{name}");

        // Trial mode: its emails are trial deliveries, reported by its own summary only.
        let trial = store
            .record_extra(
                Ledger::Trial,
                &[mail("t"), message("z", Channel::Zalo, &[])],
                &[],
                &[],
                "tinh.example",
            )
            .unwrap();
        assert_eq!(store.trial_deliveries().unwrap(), 1, "{name}");
        assert!(
            of(&store, trial[0]).trial && !of(&store, trial[1]).trial,
            "{name}"
        );
        store.mark_dead(trial[0], "550").unwrap();
        store.mark_dead(trial[1], "-230").unwrap();
        let (real_dead, _) = store.failures_to_report().unwrap();
        let (trial_dead, _) = store.ledger(Ledger::Trial).failures_to_report().unwrap();
        assert_eq!(ids(&real_dead), [trial[1]], "{name}");
        assert_eq!(ids(&trial_dead), [trial[0]], "{name}");
        // Message-IDs carry the database's instance and the row.
        let instance = store.get(&meta::Instance).unwrap().unwrap();
        assert_eq!(
            of(&store, trial[0]).message_id,
            format!("<nhacviec.{instance}.{}@tinh.example>", trial[0]),
            "{name}"
        );
    }
}

#[test]
fn a_batch_whose_slots_were_partly_recorded_before_still_records_ignoring_those() {
    for (name, at, _dir) in backends() {
        let mut store = Store::open_writer_at(&at).unwrap();
        let real = |deliveries, tick| Share {
            ledger: Ledger::Real,
            deliveries,
            tick,
        };
        let earlier = Tick {
            skipped: vec!["s1".into(), "s2".into()],
            ..Tick::default()
        };
        store
            .record_batch(t0(), &[real(&[], &earlier)], None, "tinh.example")
            .unwrap();
        // A later batch carries two of those again (s2 now older than the horizon), new
        // slots around them, a delivery, and a trial share whose ledger has none of them
        // (on PostgreSQL: one bulk write undone and done again, the next one not).
        let later = Tick {
            skipped: vec!["s0".into(), "s1".into(), "s3".into()],
            stale: vec!["s2".into()],
            ..Tick::default()
        };
        let digests = [message("a", Channel::Email, &[("1/KH", "1", "k1")])];
        let trial = [message("b", Channel::Email, &[("1/KH", "1", "k2")])];
        let trial_tick = Tick {
            skipped: vec!["s1".into()],
            ..Tick::default()
        };
        let made = store
            .record_batch(
                t0(),
                &[
                    real(&digests, &later),
                    Share {
                        ledger: Ledger::Trial,
                        deliveries: &trial,
                        tick: &trial_tick,
                    },
                ],
                None,
                "tinh.example",
            )
            .unwrap();
        assert_eq!(made.len(), 2, "{name}");
        assert_eq!(store.history(None, None, 10).unwrap().len(), 2, "{name}");
        let realv = store.ledger(Ledger::Real);
        for key in ["s0", "s1", "s2", "s3", "k1"] {
            assert!(realv.is_handled(key), "{name} {key}");
        }
        assert!(!realv.is_handled("k2"), "{name}");
        let trialv = store.ledger(Ledger::Trial);
        assert!(trialv.is_handled("s1") && trialv.is_handled("k2"), "{name}");
        // The slots recorded before are kept as they were: s2 superseded, not past the horizon.
        let mut skipped: Vec<(String, Option<String>)> = store
            .skipped_slots(Ledger::Real, 10, &|_, _, _| true)
            .unwrap()
            .into_iter()
            .map(|(k, r, _)| (k, r))
            .collect();
        skipped.sort();
        let superseded = || Some("superseded".to_string());
        assert_eq!(
            skipped,
            vec![
                ("s0".into(), superseded()),
                ("s1".into(), superseded()),
                ("s2".into(), superseded()),
                ("s3".into(), superseded()),
            ],
            "{name}"
        );
        // On PostgreSQL a batch carrying a delivered reminder recorded before (another
        // leader's) is still refused whole, its superseded slots recorded before or not.
        if at.pg.is_some() {
            let again = [message("c", Channel::Email, &[("1/KH", "1", "k1")])];
            let result = store.record_batch(t0(), &[real(&again, &later)], None, "tinh.example");
            assert!(
                matches!(result, Err(StoreError::RecordedElsewhere { slots: 1 })),
                "{result:?}"
            );
            assert_eq!(store.history(None, None, 10).unwrap().len(), 2, "{name}");
            // A catch-up's batch, its first key recorded before: the bulk write refused early
            // in a long stream is done again, the rest recorded.
            let mut many: Vec<String> = (0..30_000).map(|n| format!("t{n:05}")).collect();
            many.insert(0, "s1".into());
            let big = Tick {
                skipped: many,
                ..Tick::default()
            };
            let more = [message("d", Channel::Email, &[("1/KH", "1", "k3")])];
            let made = store
                .record_batch(t0(), &[real(&more, &big)], None, "tinh.example")
                .unwrap();
            assert_eq!(made.len(), 1, "{name}");
            let realv = store.ledger(Ledger::Real);
            for key in ["k3", "t00000", "t29999"] {
                assert!(realv.is_handled(key), "{name} {key}");
            }
            assert_eq!(
                store
                    .skipped_slots(Ledger::Real, 100_000, &|_, _, _| true)
                    .unwrap()
                    .len(),
                30_004,
                "{name}"
            );
        }
    }
}

#[test]
fn history_and_skipped_slots_filter_alike() {
    for (name, at, _dir) in backends() {
        let mut store = Store::open_writer_at(&at).unwrap();
        let real = [
            message("a", Channel::Email, &[("1/KH", "1", "k1")]),
            message("b", Channel::Zalo, &[("1/KH", "2", "k2")]),
            message(
                "a",
                Channel::Email,
                &[("2/KH", "1", "k3"), ("1/KH", "2", "k5")],
            ),
        ];
        let tick = Tick {
            skipped: vec!["s1".into()],
            stale: vec!["s2".into()],
            suppressed: vec!["s3".into()],
            ..Tick::default()
        };
        let trial = [message("c", Channel::Email, &[("1/KH", "1", "k4")])];
        let made = store
            .record_batch(
                t0(),
                &[
                    Share {
                        ledger: Ledger::Real,
                        deliveries: &real,
                        tick: &tick,
                    },
                    Share {
                        ledger: Ledger::Trial,
                        deliveries: &trial,
                        tick: &Tick::default(),
                    },
                ],
                Some(TickEnd {
                    mode: Ledger::Real,
                    watermark: day(6, 1),
                    fingerprint: "fp",
                }),
                "tinh.example",
            )
            .unwrap();
        assert_eq!(made.len(), 4, "{name}");
        let (d1, d2, d3, d4) = (made[0], made[1], made[2], made[3]);
        // Recording the same keys again keeps the first (no error, no second row).
        store
            .record_batch(
                t0(),
                &[Share {
                    ledger: Ledger::Real,
                    deliveries: &[],
                    tick: &tick,
                }],
                None,
                "tinh.example",
            )
            .unwrap();
        let realv = store.ledger(Ledger::Real);
        let trialv = store.ledger(Ledger::Trial);
        for key in ["k1", "k2", "k3", "s1", "s2", "s3"] {
            assert!(
                realv.is_handled(key) && trialv.is_handled(key),
                "{name} {key}"
            );
        }
        assert!(!realv.is_handled("k4") && trialv.is_handled("k4"), "{name}");
        assert!(
            !store.is_handled("nope") && !store.take_lookup_failure(),
            "{name}"
        );
        assert_eq!(realv.watermark().unwrap(), Some(day(6, 1)), "{name}");
        assert_eq!(
            realv.fingerprint().unwrap().as_deref(),
            Some("fp"),
            "{name}"
        );
        assert_eq!(trialv.watermark().unwrap(), None, "{name}");

        let history = |a: Option<&str>, s: Option<DeliveryStatus>, limit| {
            ids(&store.history(a, s, limit).unwrap())
        };
        assert_eq!(history(None, None, 10), [d4, d3, d2, d1], "{name}");
        assert_eq!(history(Some("a"), None, 10), [d3, d1], "{name}");
        assert_eq!(
            history(None, Some(DeliveryStatus::Pending), 1),
            [d4],
            "{name}"
        );
        assert!(
            history(None, Some(DeliveryStatus::Sent), 10).is_empty(),
            "{name}"
        );
        let of_task = |t| ids(&store.history_of(Some(t), None, None, 10).unwrap());
        assert_eq!(of_task("1"), [d4, d3, d1], "{name}");
        assert_eq!(of_task("2"), [d3, d2], "{name}");
        assert!(of_task("9").is_empty(), "{name}");
        let filtered = |f: HistoryFilter<'_>| {
            ids(&store
                .history_filtered(&HistoryFilter { limit: 10, ..f })
                .unwrap())
        };
        // Plan and task must match in one item.
        let one_one = HistoryFilter {
            plan: Some("1/KH"),
            task: Some("1"),
            ..HistoryFilter::default()
        };
        assert_eq!(filtered(one_one), [d1], "{name}");
        assert_eq!(
            filtered(HistoryFilter {
                ledger: Ledger::Trial,
                ..one_one
            }),
            [d4],
            "{name}"
        );
        assert_eq!(
            filtered(HistoryFilter {
                plan: Some("2/KH"),
                ..HistoryFilter::default()
            }),
            [d3],
            "{name}"
        );
        assert_eq!(
            filtered(HistoryFilter {
                task: Some("2"),
                ..HistoryFilter::default()
            }),
            [d3, d2],
            "{name}"
        );
        assert_eq!(
            filtered(HistoryFilter {
                agency: Some("b"),
                status: Some(DeliveryStatus::Pending),
                ..HistoryFilter::default()
            }),
            [d2],
            "{name}"
        );
        assert!(filtered(HistoryFilter {
            agency: Some("b"),
            status: Some(DeliveryStatus::Sent),
            ..HistoryFilter::default()
        })
        .is_empty());
        assert_eq!(filtered(HistoryFilter::default()), [d3, d2, d1], "{name}");
        let items = &store.history(Some("a"), None, 1).unwrap()[0].items;
        assert_eq!(
            items
                .iter()
                .map(|i| (i.plan.as_str(), i.task.as_str(), i.planned))
                .collect::<Vec<_>>(),
            [("2/KH", "1", day(6, 30)), ("1/KH", "2", day(6, 30))],
            "{name}"
        );

        let skipped = |ledger, limit, keep: &dyn Fn(&str, Option<&str>, &str) -> bool| {
            store
                .skipped_slots(ledger, limit, keep)
                .unwrap()
                .into_iter()
                .map(|(k, r, _)| (k, r))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            skipped(Ledger::Real, 10, &|_, _, _| true),
            [
                ("s1".to_string(), Some("superseded".to_string())),
                ("s2".to_string(), Some("horizon".to_string()))
            ],
            "{name}"
        );
        assert_eq!(
            skipped(Ledger::Real, 10, &|_, r, _| r == Some("horizon")).len(),
            1,
            "{name}"
        );
        assert_eq!(skipped(Ledger::Real, 1, &|_, _, _| true).len(), 1, "{name}");
        assert!(
            skipped(Ledger::Real, 0, &|_, _, _| true).is_empty(),
            "{name}"
        );
        assert!(
            skipped(Ledger::Trial, 10, &|_, _, _| true).is_empty(),
            "{name}"
        );

        // The dashboard's last reminders: sent ones, trial mode's left out.
        let before = store.last_reminders().unwrap();
        assert!(before.is_empty(), "{name}: nothing sent yet");
        for id in &made {
            store.mark_sent(*id, t0()).unwrap();
        }
        let last = store.last_reminders().unwrap();
        let key = |a: &str, p: &str, t: &str| (a.to_string(), p.to_string(), t.to_string());
        assert_eq!(last.len(), 4, "{name}: {last:?}");
        for k in [
            key("a", "1/KH", "1"),
            key("b", "1/KH", "2"),
            key("a", "2/KH", "1"),
            key("a", "1/KH", "2"),
        ] {
            assert_eq!(last.get(&k), Some(&t0()), "{name} {k:?}");
        }
    }
}

#[test]
fn requeue_revives_what_it_should_and_leaves_handovers_alike() {
    for (name, at, _dir) in backends() {
        let mut store = Store::open_writer_at(&at).unwrap();
        // Recorded by a tick: a report's deliveries carry no items to filter on.
        let made = store
            .record_batch(
                t0(),
                &[Share {
                    ledger: Ledger::Real,
                    deliveries: &[
                        message("a", Channel::Email, &[("1/KH", "1", "r")]),
                        message("a", Channel::Email, &[("1/KH", "1", "d")]),
                        message("b", Channel::Email, &[("2/KH", "1", "d2")]),
                        message("a", Channel::Zalo, &[("1/KH", "1", "h")]),
                        message("b", Channel::Email, &[("2/KH", "1", "p")]),
                    ],
                    tick: &Tick::default(),
                }],
                None,
                "tinh.example",
            )
            .unwrap();
        let (r, d, d2, h, p) = (made[0], made[1], made[2], made[3], made[4]);
        let now = Utc::now() + Duration::minutes(1);
        let far = now + Duration::days(1);
        store.mark_retry(r, far, "421").unwrap();
        store.mark_dead(d, "550").unwrap();
        store.mark_dead(d2, "550").unwrap();
        store.mark_handed_over(h, d, "chuyển sang email").unwrap();
        store
            .postpone_channel(Channel::Email, now, far, "chờ")
            .unwrap();
        assert!(store.ready(now, 10).unwrap().is_empty(), "{name}");

        let requeued = store.requeue(false, None, None, now).unwrap();
        assert_eq!(
            requeued,
            Requeued {
                retrying: 2,
                dead: 0,
                handed_over: 0
            },
            "{name}"
        );
        assert_eq!(ids(&store.ready(now, 10).unwrap()), [r, p], "{name}");
        assert_eq!(store.get(&meta::ResetBreaker).unwrap(), Some(now), "{name}");
        assert_eq!(
            store
                .requeue(true, None, Some("3/KH"), now)
                .unwrap()
                .total(),
            0,
            "{name}"
        );
        let requeued = store.requeue(true, None, Some("2/KH"), now).unwrap();
        assert_eq!((requeued.dead, requeued.handed_over), (1, 0), "{name}");
        let requeued = store.requeue(true, Some("a"), None, now).unwrap();
        assert_eq!((requeued.dead, requeued.handed_over), (1, 1), "{name}");
        let revived = of(&store, d);
        assert_eq!(
            (revived.status, revived.created_at),
            (DeliveryStatus::Pending, now),
            "{name}: a fresh give-up budget"
        );
        assert_eq!(of(&store, h).status, DeliveryStatus::Dead, "{name}");
        assert_eq!(ids(&store.ready(now, 10).unwrap()), [r, d, d2, p], "{name}");
        // Revived ones are reported again if they die again.
        store.mark_dead(d, "550").unwrap();
        assert_eq!(ids(&store.failures_to_report().unwrap().0), [d], "{name}");
    }
}

#[test]
fn the_zalo_token_pair_is_kept_alike() {
    for (name, at, _dir) in backends() {
        let store = Store::open_writer_at(&at).unwrap();
        assert_eq!(store.zalo_token().unwrap(), None, "{name}");
        store
            .put(&meta::ZaloStopped, &"hết hạn".to_string())
            .unwrap();
        store
            .set_zalo_token(Some("truy-cap"), "lam-moi-1", Some(t0()))
            .unwrap();
        assert_eq!(
            store.zalo_token().unwrap(),
            Some((Some("truy-cap".into()), "lam-moi-1".into(), Some(t0()))),
            "{name}"
        );
        assert_eq!(
            store.get(&meta::ZaloStopped).unwrap(),
            None,
            "{name}: restarted"
        );
        store.set_zalo_token(None, "lam-moi-2", None).unwrap();
        assert_eq!(
            store.zalo_token().unwrap(),
            Some((None, "lam-moi-2".into(), None)),
            "{name}: one pair only"
        );
    }
}

fn answer(nonce: &str, action: Action) -> NewResponse {
    NewResponse {
        agency: "so-noi-vu".into(),
        plan: "50/KH-UBND".into(),
        task: "8.6".into(),
        deadline: Some(day(6, 30)),
        action,
        done_on: Some(day(6, 1)),
        doc_ref: Some("Báo cáo số 12/BC-SNV".into()),
        note: Some("<b>xong</b>".into()),
        percent: None,
        proposed: Some(day(7, 31)),
        key_id: "abcd1234".into(),
        client: Some("10.0.0.1".into()),
        user_agent: Some("thử".into()),
        nonce: nonce.into(),
        who: Default::default(),
    }
}

fn response_ids(rs: &[Response]) -> Vec<i64> {
    rs.iter().map(|r| r.id).collect()
}

#[test]
fn answers_are_recorded_withdrawn_and_decided_alike() {
    for (name, at, _dir) in backends() {
        let mut store = Store::open_writer_at(&at).unwrap();
        let t0 = t0();
        let hour = Duration::hours(1);
        let v0 = store.answers_version().unwrap();
        let f0 = store.figures_version().unwrap();
        let done = store
            .record_response(&answer("n1", Action::Done), t0)
            .unwrap();
        assert!(
            matches!(
                store.record_response(&answer("n1", Action::Done), t0),
                Err(RecordError::Replayed)
            ),
            "{name}"
        );
        let v1 = store.answers_version().unwrap();
        assert_ne!(v0, v1, "{name}");
        assert_ne!(store.figures_version().unwrap(), f0, "{name}");
        let got = store.response(done).unwrap().unwrap();
        assert_eq!(
            (
                got.action,
                got.deadline,
                got.note.as_deref(),
                got.client.as_deref(),
                got.created_at,
                got.exact,
                got.percent
            ),
            (
                Action::Done,
                Some(day(6, 30)),
                Some("<b>xong</b>"),
                Some("10.0.0.1"),
                t0,
                true,
                None
            ),
            "{name}"
        );
        assert_eq!(store.response(done + 1000).unwrap(), None, "{name}");
        // Another agency cannot withdraw it; a withdrawal older than the window is refused.
        assert!(
            !store.undo_response(done, "so-tai-chinh", t0, t0).unwrap(),
            "{name}"
        );
        assert!(!store
            .undo_response(done, "so-noi-vu", t0 + hour, t0)
            .unwrap());
        assert!(
            store.undo_response(done, "so-noi-vu", t0, t0).unwrap(),
            "{name}"
        );
        assert!(
            !store.undo_response(done, "so-noi-vu", t0, t0).unwrap(),
            "{name}"
        );
        assert_ne!(store.answers_version().unwrap(), v1, "{name}");
        assert_eq!(store.response(done).unwrap().unwrap().undone_at, Some(t0));

        // Progress with a percentage, and an answer about the whole task (no deadline).
        let progress = store
            .record_response(
                &NewResponse {
                    percent: Some(40),
                    ..answer("p1", Action::Progress)
                },
                t0,
            )
            .unwrap();
        assert_eq!(store.response(progress).unwrap().unwrap().percent, Some(40));
        let whole = store
            .record_response(
                &NewResponse {
                    deadline: None,
                    ..answer("w1", Action::Progress)
                },
                t0,
            )
            .unwrap();
        assert!(
            store.undo_response(whole, "so-noi-vu", t0, t0).unwrap(),
            "{name}"
        );

        // An extension request, superseded by a newer one of the same occurrence only.
        let pending = ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        };
        let first = store
            .record_response(&answer("e1", Action::Extension), t0)
            .unwrap();
        let other = store
            .record_response(
                &NewResponse {
                    deadline: Some(day(9, 30)),
                    ..answer("e2", Action::Extension)
                },
                t0,
            )
            .unwrap();
        let req = store
            .record_response(&answer("e3", Action::Extension), t0 + hour)
            .unwrap();
        assert_eq!(
            response_ids(&store.responses(&pending).unwrap()),
            [other, req],
            "{name}"
        );
        assert_eq!(
            store.response(first).unwrap().unwrap().undone_at,
            Some(t0 + hour),
            "{name}: superseded"
        );
        let elsewhere = store
            .record_response(
                &NewResponse {
                    agency: "so-tai-chinh".into(),
                    plan: "51/KH".into(),
                    ..answer("x1", Action::Progress)
                },
                t0,
            )
            .unwrap();
        let list = |agency, plan| {
            response_ids(
                &store
                    .responses(&ResponseFilter {
                        agency,
                        plan,
                        pending_extensions: false,
                    })
                    .unwrap(),
            )
        };
        assert_eq!(
            list(None, None),
            [done, progress, whole, first, other, req, elsewhere],
            "{name}"
        );
        assert_eq!(list(Some("so-tai-chinh"), None), [elsewhere], "{name}");
        assert_eq!(list(None, Some("51/KH")), [elsewhere], "{name}");
        assert!(
            list(Some("so-tai-chinh"), Some("50/KH-UBND")).is_empty(),
            "{name}"
        );

        // Granted: the pending request of that deadline is answered, and stays so.
        let v = store.answers_version().unwrap();
        let g = store
            .grant_extension(
                "so-noi-vu",
                "50/KH-UBND",
                "8.6",
                day(6, 30),
                day(7, 31),
                Some("CV 1"),
                t0,
            )
            .unwrap();
        assert_ne!(store.answers_version().unwrap(), v, "{name}");
        assert_eq!(response_ids(&store.responses(&pending).unwrap()), [other]);
        assert_eq!(
            store.response(req).unwrap().unwrap().granted,
            Some(g),
            "{name}"
        );
        assert!(
            !store.undo_response(req, "so-noi-vu", t0, t0).unwrap(),
            "{name}"
        );
        let ext = store.extensions().unwrap();
        assert_eq!(
            (
                ext[0].id,
                ext[0].from,
                ext[0].to,
                ext[0].doc_ref.as_deref(),
                ext[0].granted_at
            ),
            (g, day(6, 30), day(7, 31), Some("CV 1"), t0),
            "{name}"
        );

        // A grant and its message together.
        let grant = nhacviec::extension::Grant {
            agency: "so-noi-vu".into(),
            plan: "50/KH-UBND".into(),
            task: "8.6".into(),
            from: day(9, 30),
            before: day(9, 30),
            to: day(10, 31),
            doc_ref: "Công văn số 9/UBND".into(),
        };
        let v = store.answers_version().unwrap();
        let told = store
            .grant_extension_and_tell(&grant, &[mail("so-noi-vu")], "tinh.example", t0)
            .unwrap();
        assert_ne!(
            store.answers_version().unwrap(),
            v,
            "{name}: the service rebuilds"
        );
        assert_eq!(store.response(other).unwrap().unwrap().granted, Some(told));
        let ext = store.extensions().unwrap();
        assert_eq!(
            (ext.len(), ext[1].id, ext[1].to, ext[1].doc_ref.as_deref()),
            (2, told, day(10, 31), Some("Công văn số 9/UBND")),
            "{name}"
        );
        let message = store.history(Some("so-noi-vu"), None, 10).unwrap();
        assert_eq!(message.len(), 1, "{name}");
        assert_eq!(message[0].subject, "Nhắc việc so-noi-vu", "{name}");

        // Decisions: refused once, then no second decision and no second message.
        let r1 = store
            .record_response(&answer("d1", Action::Extension), t0)
            .unwrap();
        let request = store.response(r1).unwrap().unwrap();
        let refused = Decision::Refused {
            reason: "Quá muộn".into(),
        };
        let granted = Decision::Granted {
            to: day(8, 31),
            doc_ref: None,
        };
        assert!(store
            .decide_extension(&request, &refused, &[mail("so-noi-vu")], "tinh.example", t0)
            .unwrap());
        let r = store.response(r1).unwrap().unwrap();
        assert_eq!(
            (r.refused_at, r.refusal.as_deref()),
            (Some(t0), Some("Quá muộn")),
            "{name}"
        );
        assert!(!store
            .decide_extension(&request, &granted, &[mail("so-noi-vu")], "tinh.example", t0)
            .unwrap());
        assert_eq!(store.extensions().unwrap().len(), 2, "{name}");
        assert_eq!(store.history(Some("so-noi-vu"), None, 10).unwrap().len(), 2);
        // Granted: this request too, whatever deadline it named.
        let r2 = store
            .record_response(
                &NewResponse {
                    deadline: Some(day(12, 31)),
                    ..answer("d2", Action::Extension)
                },
                t0,
            )
            .unwrap();
        let request = store.response(r2).unwrap().unwrap();
        assert!(store
            .decide_extension(&request, &granted, &[], "tinh.example", t0)
            .unwrap());
        let g2 = store.response(r2).unwrap().unwrap().granted;
        assert!(g2.is_some(), "{name}");
        assert_eq!(
            store.extensions().unwrap().last().map(|e| e.to),
            Some(day(8, 31))
        );
        assert!(!store
            .decide_extension(&request, &refused, &[], "tinh.example", t0)
            .unwrap());
        // Withdrawn by the agency before the decision: nothing either.
        let r3 = store
            .record_response(&answer("d3", Action::Extension), t0)
            .unwrap();
        assert!(
            store.undo_response(r3, "so-noi-vu", t0, t0).unwrap(),
            "{name}"
        );
        let withdrawn = store.response(r3).unwrap().unwrap();
        assert!(!store
            .decide_extension(
                &withdrawn,
                &granted,
                &[mail("so-noi-vu")],
                "tinh.example",
                t0
            )
            .unwrap());
        assert_eq!(store.extensions().unwrap().len(), 3, "{name}");
        assert_eq!(store.history(Some("so-noi-vu"), None, 10).unwrap().len(), 2);

        // A completion reviewed: returned once, not twice; not a completion: false.
        let c = store
            .record_response(&answer("c1", Action::Done), t0 + hour)
            .unwrap();
        let v = store.answers_version().unwrap();
        assert!(store
            .review_completion(
                c,
                false,
                Some("Thiếu văn bản"),
                &[mail("so-noi-vu")],
                "tinh.example",
                t0
            )
            .unwrap());
        assert_ne!(store.answers_version().unwrap(), v, "{name}");
        let review = store.response(c).unwrap().unwrap().review.unwrap();
        assert_eq!(
            (review.at, review.confirmed, review.reason.as_deref()),
            (t0, false, Some("Thiếu văn bản")),
            "{name}"
        );
        assert!(!store
            .review_completion(c, true, None, &[], "tinh.example", t0)
            .unwrap());
        assert!(!store
            .review_completion(progress, true, None, &[], "tinh.example", t0)
            .unwrap());
        assert!(
            !store.undo_response(c, "so-noi-vu", t0, t0).unwrap(),
            "{name}: reviewed"
        );
        assert_eq!(store.history(Some("so-noi-vu"), None, 10).unwrap().len(), 3);
        let all = store.answers().unwrap();
        assert_eq!((all.0.len(), all.1.len()), (11, 3), "{name}");
    }
}

#[test]
fn pages_read_the_latest_answers_alike() {
    for (name, at, _dir) in backends() {
        let store = Store::open_writer_at(&at).unwrap();
        let t0 = t0();
        let daylen = Duration::days(1);
        let record = |r: NewResponse, at| store.record_response(&r, at).unwrap();
        let a = record(answer("a", Action::Progress), t0);
        let b = record(answer("b", Action::Progress), t0 + daylen);
        let c = record(answer("c", Action::Progress), t0 + daylen * 2);
        let w = record(
            NewResponse {
                deadline: None,
                ..answer("w", Action::Progress)
            },
            t0,
        );
        let x = record(
            NewResponse {
                agency: "so-tai-chinh".into(),
                ..answer("x", Action::Progress)
            },
            t0,
        );
        let shown = |agency: Option<&str>, before: Option<DateTime<Utc>>| {
            response_ids(&store.shown_answers(agency, before).unwrap().0)
        };
        assert_eq!(shown(None, None), [c, w, x], "{name}");
        assert_eq!(shown(Some("so-noi-vu"), None), [c, w], "{name}");
        assert_eq!(shown(None, Some(t0 + daylen * 2)), [b, w, x], "{name}");
        assert_eq!(shown(None, Some(t0 + daylen)), [a, w, x], "{name}");
        assert_eq!(
            shown(Some("so-noi-vu"), Some(t0 + daylen)),
            [a, w],
            "{name}"
        );
        assert_eq!(shown(None, Some(t0 + daylen * 9)), [c, w, x], "{name}");
        assert!(store
            .undo_response(c, "so-noi-vu", t0, t0 + daylen * 2)
            .unwrap());
        assert_eq!(shown(Some("so-noi-vu"), None), [b, w], "{name}");
        // Completions of every agency are read, for the overlay.
        let d = record(
            NewResponse {
                agency: "so-tai-chinh".into(),
                ..answer("d", Action::Done)
            },
            t0 + daylen,
        );
        record(
            NewResponse {
                agency: "so-tai-chinh".into(),
                ..answer("d2", Action::Progress)
            },
            t0 + daylen * 3,
        );
        assert_eq!(shown(Some("so-noi-vu"), None), [b, w, d], "{name}");
        assert_eq!(
            store
                .answers_between("so-noi-vu", t0, t0 + daylen * 2)
                .unwrap(),
            3,
            "{name}: a, w and b; withdrawn ones count"
        );
        assert_eq!(
            store
                .answers_between("so-noi-vu", t0 + daylen * 2, t0 + daylen * 3)
                .unwrap(),
            1,
            "{name}"
        );

        // An agency's page: its own answers, and the overlay unless the version is known.
        let page = store.page_answers("so-noi-vu", None).unwrap();
        assert_eq!(page.version, store.answers_version().unwrap(), "{name}");
        assert_eq!(response_ids(&page.mine), [b, w], "{name}");
        let (all, grants) = page.overlay.unwrap();
        assert_eq!(response_ids(&all), [b, w, d], "{name}");
        assert!(grants.is_empty(), "{name}");
        let again = store
            .page_answers("so-noi-vu", Some(&page.version))
            .unwrap();
        assert!(again.overlay.is_none(), "{name}");
        assert_eq!(response_ids(&again.mine), [b, w], "{name}");
        let other = store
            .page_answers("so-tai-chinh", Some(&page.version))
            .unwrap();
        assert_eq!(
            response_ids(&other.mine).len(),
            2,
            "{name}: its latest and its completion"
        );

        // The dashboard's figures change with an answer and with a reminder sent.
        let f = store.figures_version().unwrap();
        let sent = store
            .record_extra(Ledger::Real, &[mail("so-noi-vu")], &[], &[], "tinh.example")
            .unwrap();
        assert_eq!(store.figures_version().unwrap(), f, "{name}: not sent yet");
        store.mark_sent(sent[0], t0).unwrap();
        let f2 = store.figures_version().unwrap();
        assert_ne!(f2, f, "{name}");
        record(answer("e", Action::Progress), t0);
        assert_ne!(store.figures_version().unwrap(), f2, "{name}");
    }
}

#[test]
fn evidence_is_stored_once_and_found_alike() {
    use nhacviec::evidence::Kind as FileKind;
    for (name, at, _dir) in backends() {
        let store = Store::open_writer_at(&at).unwrap();
        let bytes = b"%PDF-1.4 thu".to_vec();
        let sha = nhacviec::evidence::sha256_hex(&bytes);
        let file = NewEvidence {
            name: "bao-cao.pdf",
            kind: FileKind::Pdf,
            sha256: &sha,
            bytes: &bytes,
        };
        let now = t0();
        assert_eq!(store.evidence_used().unwrap(), 0, "{name}");
        let a = store
            .record_response_with_evidence(
                &answer("n1", Action::Progress),
                Some(&file),
                1 << 20,
                now,
            )
            .unwrap();
        let b = store
            .record_response_with_evidence(
                &answer("n2", Action::Progress),
                Some(&file),
                1 << 20,
                now,
            )
            .unwrap();
        let plain = store
            .record_response_with_evidence(&answer("n3", Action::Progress), None, 0, now)
            .unwrap();
        assert_eq!(
            store.evidence_bytes(&sha, FileKind::Pdf).unwrap(),
            Some(bytes.clone()),
            "{name}"
        );
        // On PostgreSQL the file is in the database (every server serves it), not on disk.
        assert_eq!(
            store.evidence_path(&sha, FileKind::Pdf).exists(),
            name == "sqlite",
            "{name}"
        );
        let all = store.evidence().unwrap();
        assert_eq!(all.len(), 2, "{name}");
        assert!(!all.contains_key(&plain), "{name}");
        assert_eq!(
            (
                all[&a].sha256.as_str(),
                all[&b].size,
                all[&b].stored_at,
                all[&a].name.as_str()
            ),
            (sha.as_str(), bytes.len() as u64, now, "bao-cao.pdf"),
            "{name}"
        );
        assert_eq!(
            store.evidence_used().unwrap(),
            bytes.len() as u64,
            "{name}: once"
        );
        assert_eq!(
            store
                .evidence_of(&sha, Some("so-noi-vu"))
                .unwrap()
                .map(|e| e.response_id),
            Some(b),
            "{name}: the latest"
        );
        assert!(store
            .evidence_of(&sha, Some("so-tai-chinh"))
            .unwrap()
            .is_none());
        assert!(store.evidence_of(&sha, None).unwrap().is_some(), "{name}");
        assert!(
            store.evidence_of("khong-co", None).unwrap().is_none(),
            "{name}"
        );
        // A replayed form with a new file: refused, and the file does not stay.
        let other = b"%PDF-1.4 khac".to_vec();
        let other_sha = nhacviec::evidence::sha256_hex(&other);
        let replay = NewEvidence {
            name: "khac.pdf",
            kind: FileKind::Pdf,
            sha256: &other_sha,
            bytes: &other,
        };
        let err = store
            .record_response_with_evidence(
                &answer("n1", Action::Progress),
                Some(&replay),
                1 << 20,
                now,
            )
            .unwrap_err();
        assert!(matches!(err, RecordError::Replayed), "{name}: {err}");
        assert!(
            !store.evidence_path(&other_sha, FileKind::Pdf).exists(),
            "{name}"
        );
        assert_eq!(store.evidence().unwrap().len(), 2, "{name}");
        assert_eq!(
            store.evidence_bytes(&other_sha, FileKind::Pdf).unwrap(),
            None,
            "{name}: nothing of the replay stays"
        );
        // Over the quota: refused before anything is written.
        let err = store
            .record_response_with_evidence(&answer("n4", Action::Progress), Some(&replay), 20, now)
            .unwrap_err();
        assert!(
            matches!(
                err,
                RecordError::Quota {
                    used: 12,
                    quota: 20,
                    ..
                }
            ),
            "{name}: {err}"
        );
        assert_eq!(
            store.responses(&Default::default()).unwrap().len(),
            3,
            "{name}"
        );
    }
}

/// Polls `f` for up to 5 s until it holds: another session's commit reaches this one as a
/// notification, a moment after the commit returned.
fn soon(mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn data_version_changes_when_another_connection_commits_alike() {
    for (name, at, _dir) in backends() {
        let writer = Store::open_writer_at(&at).unwrap();
        let side = Store::open_side_at(&at).unwrap();
        let made = writer
            .record_extra(Ledger::Real, &[mail("a")], &[], &[], "tinh.example")
            .unwrap();
        writer
            .mark_retry(made[0], Utc::now() + Duration::days(1), "421")
            .unwrap();
        let seen = writer.data_version().unwrap();
        // Its own commits are not news to the service.
        writer.requeue(false, None, None, Utc::now()).unwrap();
        assert_eq!(writer.data_version().unwrap(), seen, "{name}");
        // `retry` beside the running service: noticed.
        writer
            .mark_retry(made[0], Utc::now() + Duration::days(1), "421")
            .unwrap();
        let seen = writer.data_version().unwrap();
        let requeued = side.requeue(false, None, None, Utc::now()).unwrap();
        assert_eq!(requeued.retrying, 1, "{name}");
        assert!(
            soon(|| writer.data_version().unwrap() != seen),
            "{name}: the service notices another's requeue"
        );
        let seen = writer.data_version().unwrap();
        assert_eq!(writer.data_version().unwrap(), seen, "{name}: nothing new");
        // An answer recorded by the pages' connection too.
        side.record_response(&answer("n1", Action::Done), t0())
            .unwrap();
        assert!(soon(|| writer.data_version().unwrap() != seen), "{name}");
    }
}

// ---- PostgreSQL only. ----

/// A fresh PostgreSQL database: its connection string (with the password) and its location.
fn pg_database() -> (String, Location, tempfile::TempDir) {
    let text = cluster().fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let at = Location {
        path: dir.path().join("nhacviec.db"),
        pg: Some(DatabaseUrl::parse(&text, "test").unwrap()),
    };
    (text, at, dir)
}

fn admin(text: &str) -> postgres::Client {
    postgres::Client::connect(text, postgres::NoTls).unwrap()
}

/// `n` deliveries waiting, recorded through `at`.
fn waiting(at: &Location, n: usize) -> Vec<i64> {
    let store = Store::open_writer_at(at).unwrap();
    let all: Vec<NewDelivery> = (0..n).map(|i| mail(&format!("co-quan-{i}"))).collect();
    store
        .record_extra(Ledger::Real, &all, &[], &[], "tinh.example")
        .unwrap()
}

#[test]
fn two_sessions_calling_ready_at_once_never_get_the_same_delivery() {
    let (_text, at, _dir) = pg_database();
    let made = waiting(&at, 300);
    let now = Utc::now() + Duration::minutes(1);
    let start = Arc::new(std::sync::Barrier::new(3));
    let sessions: Vec<_> = (0..3)
        .map(|_| {
            let (at, start) = (at.clone(), start.clone());
            std::thread::spawn(move || {
                let store = Store::open_side_at(&at).unwrap();
                start.wait();
                let mut got = Vec::new();
                loop {
                    let ready = store.ready(now, 7).unwrap();
                    if ready.is_empty() {
                        break;
                    }
                    for d in ready {
                        store.mark_sent(d.id, now).unwrap();
                        got.push(d.id);
                    }
                }
                got
            })
        })
        .collect();
    let got: Vec<Vec<i64>> = sessions.into_iter().map(|h| h.join().unwrap()).collect();
    let mut all: Vec<i64> = got.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, made, "each delivery once, every one: {got:?}");
    // All three took part (300 rows, 7 at a time: one session alone is unlikely).
    assert!(got.iter().filter(|g| !g.is_empty()).count() >= 2, "{got:?}");
}

#[test]
fn a_claim_is_kept_while_its_session_lives_and_freed_at_once_when_it_ends() {
    let (_text, at, _dir) = pg_database();
    let made = waiting(&at, 5);
    let now = Utc::now() + Duration::minutes(1);
    let first = Store::open_side_at(&at).unwrap();
    let second = Store::open_side_at(&at).unwrap();
    assert_eq!(ids(&first.ready(now, 3).unwrap()), made[..3]);
    assert_eq!(ids(&second.ready(now, 10).unwrap()), made[3..]);
    assert!(
        second.ready(now, 10).unwrap().len() == 2,
        "its own again, not the first's"
    );
    // Marked: no longer claimed; a retry made ready again is anyone's.
    first.mark_retry(made[0], now, "421").unwrap();
    let got = ids(&second.ready(now, 10).unwrap());
    assert_eq!(got, [made[0], made[3], made[4]]);
    // The first session ends: its claims go with it, long before the lease.
    drop(first);
    assert!(
        soon(|| second.ready(now, 10).unwrap().len() == 5),
        "the rows of a session that ended are taken at once"
    );
    // After the lease, a live session's claim is taken too (a hung process).
    let third = Store::open_side_at(&at).unwrap();
    assert!(third.ready(now, 10).unwrap().is_empty());
    let past_lease = now + Duration::minutes(11);
    assert_eq!(third.ready(past_lease, 10).unwrap().len(), 5);
}

#[test]
fn a_newer_schema_is_refused_before_anything_is_written() {
    let (text, at, _dir) = pg_database();
    drop(Store::open_writer_at(&at).unwrap());
    let mut db = admin(&text);
    db.batch_execute("UPDATE nhacviec_schema SET version = 99; DELETE FROM meta")
        .unwrap();
    for open in [
        Store::open_writer_at,
        Store::open_side_at,
        Store::open_reader_at,
    ] {
        let err = open(&at).err().expect("a newer schema is refused");
        assert!(
            matches!(err, StoreError::NewerSchema { found: 99, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("mới hơn"), "{err}");
    }
    let meta: i64 = db
        .query_one("SELECT COUNT(*) FROM meta", &[])
        .unwrap()
        .get(0);
    assert_eq!(meta, 0, "no instance written");
    let version: i64 = db
        .query_one("SELECT version FROM nhacviec_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 99);
}

#[test]
fn a_database_with_foreign_tables_is_refused_untouched() {
    let (text, at, _dir) = pg_database();
    let mut db = admin(&text);
    db.batch_execute("CREATE TABLE meta (k TEXT); INSERT INTO meta VALUES ('của ứng dụng khác')")
        .unwrap();
    for _ in 0..2 {
        let err = Store::open_writer_at(&at).err().expect("not ours");
        assert!(
            matches!(&err, StoreError::Foreign { tables } if tables == "meta"),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("không phải cơ sở dữ liệu của nhacviec"),
            "{err}"
        );
    }
    let tables: Vec<String> = db
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tables, ["meta"], "nothing created beside it");
}

#[test]
fn connection_failures_reach_the_store_in_vietnamese() {
    use crate::support::postgres::{PASSWORD, USER};
    use nhacviec::pg::PgError;
    let c = cluster();
    let open = |text: String| {
        let at = Location {
            path: std::path::PathBuf::from("/nonexistent/nhacviec.db"),
            pg: Some(DatabaseUrl::parse(&text, "test").unwrap()),
        };
        Store::open_writer_at(&at).err().expect("refused")
    };
    let err = open(c.url_with("postgres", "sai-mat-khau"));
    assert!(
        matches!(err, StoreError::Postgres(PgError::Refused { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("từ chối đăng nhập"), "{err}");
    assert!(!err.to_string().contains("sai-mat-khau"), "{err}");
    assert!(!err.worth_retrying());

    let err = open(c.url_with("khong_co", PASSWORD));
    assert!(
        matches!(err, StoreError::Postgres(PgError::NoDatabase { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("createdb"), "{err}");

    let port = crate::support::free_port();
    let err = open(format!(
        "postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/nhacviec"
    ));
    assert!(
        matches!(err, StoreError::Postgres(PgError::Unreachable { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("không nhận kết nối"), "{err}");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    assert!(err.worth_retrying(), "a server down is tried again");
}

#[test]
fn a_task_is_found_in_history_as_written_alike() {
    for (name, at, _dir) in backends() {
        let mut store = Store::open_writer_at(&at).unwrap();
        let tasks = [r#"8"\6"#, "1_2", "1x2", "A", "a", "Đ.1"];
        let deliveries: Vec<NewDelivery> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| message("a", Channel::Email, &[("1/KH", t, &format!("k{i}"))]))
            .collect();
        let made = store
            .record_batch(
                t0(),
                &[Share {
                    ledger: Ledger::Real,
                    deliveries: &deliveries,
                    tick: &Tick::default(),
                }],
                None,
                "tinh.example",
            )
            .unwrap();
        for (task, id) in tasks.iter().zip(&made) {
            assert_eq!(
                ids(&store.history_of(Some(task), None, None, 10).unwrap()),
                [*id],
                "{name}: {task}"
            );
            assert_eq!(
                ids(&store
                    .history_filtered(&HistoryFilter {
                        task: Some(task),
                        limit: 10,
                        ..HistoryFilter::default()
                    })
                    .unwrap()),
                [*id],
                "{name}: {task}"
            );
        }
        assert!(store
            .history_of(Some("đ.1"), None, None, 10)
            .unwrap()
            .is_empty());
    }
}

/// Text the store orders (slot keys, times) orders byte by byte on both, whatever the
/// PostgreSQL database's collation (here Vietnamese: `đ` before `e`, `a` before `B`).
#[test]
fn text_is_ordered_byte_by_byte_alike() {
    for (name, at, _dir) in backends() {
        let mut store = Store::open_writer_at(&at).unwrap();
        let tick = Tick {
            skipped: vec!["b".into(), "đ".into(), "B".into(), "e".into(), "a".into()],
            ..Tick::default()
        };
        store
            .record_batch(
                t0(),
                &[Share {
                    ledger: Ledger::Real,
                    deliveries: &[],
                    tick: &tick,
                }],
                None,
                "tinh.example",
            )
            .unwrap();
        let keys: Vec<String> = store
            .skipped_slots(Ledger::Real, 10, &|_, _, _| true)
            .unwrap()
            .into_iter()
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(keys, ["B", "a", "b", "e", "đ"], "{name}");
        // Times as RFC 3339 text: a retry due at 10:00 is not ready at 09:59.
        let made = store
            .record_extra(Ledger::Real, &[mail("a")], &[], &[], "tinh.example")
            .unwrap();
        let ten = Utc.with_ymd_and_hms(2030, 1, 1, 10, 0, 0).unwrap();
        store.mark_retry(made[0], ten, "421").unwrap();
        assert!(store
            .ready(ten - Duration::minutes(1), 10)
            .unwrap()
            .is_empty());
        assert_eq!(ids(&store.ready(ten, 10).unwrap()), made, "{name}");
    }
}

#[test]
fn a_spell_of_refusals_is_kept_for_the_summary_alike() {
    for (name, at, _dir) in backends() {
        let store = Store::open_writer_at(&at).unwrap();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(store
            .note_email_refused("535 a", t("2026-12-01T01:00:00Z"))
            .unwrap());
        assert!(!store
            .note_email_refused("535 b", t("2026-12-01T02:00:00Z"))
            .unwrap());
        let now = store.email_refused().unwrap().unwrap();
        assert_eq!(
            (now.since.as_str(), now.error.as_str()),
            ("2026-12-01T01:00:00+00:00", "535 b"),
            "{name}"
        );
        assert!(store
            .end_email_refusal(t("2026-12-01T03:00:00Z"))
            .unwrap()
            .is_some());
        assert_eq!(store.email_refused().unwrap(), None, "{name}");
        assert_eq!(
            store.end_email_refusal(t("2026-12-01T04:00:00Z")).unwrap(),
            None
        );
        let spells = store.refusal_spells().unwrap();
        assert_eq!(spells.len(), 1, "{name}");
        assert_eq!(spells[0].until, "2026-12-01T03:00:00+00:00", "{name}");
        // A batch that fails leaves nothing.
        let failed: Result<(), StoreError> = store.batch(|| {
            store.put(&meta::ZaloStopped, &"x".to_string())?;
            Err(StoreError::NoRow)
        });
        assert!(failed.is_err());
        assert_eq!(store.get(&meta::ZaloStopped).unwrap(), None, "{name}");
    }
}

/// Two offices' clicks on the same request, each on its own side connection (the pages'
/// pool): one decision is recorded, the other is told it was decided, neither fails.
#[test]
fn two_decisions_of_one_request_at_once_record_one_and_fail_none_alike() {
    for (name, at, _dir) in backends() {
        let writer = Store::open_writer_at(&at).unwrap();
        for round in 0..10 {
            let id = writer
                .record_response(&answer(&format!("c{round}"), Action::Extension), t0())
                .unwrap();
            let request = writer.response(id).unwrap().unwrap();
            let start = Arc::new(std::sync::Barrier::new(2));
            let decided: Vec<bool> = (0..2)
                .map(|i| {
                    let (at, request, start) = (at.clone(), request.clone(), start.clone());
                    std::thread::spawn(move || {
                        let side = Store::open_side_at(&at).unwrap();
                        let decision = if i == 0 {
                            Decision::Refused {
                                reason: "lý do".into(),
                            }
                        } else {
                            Decision::Granted {
                                to: day(9, 30),
                                doc_ref: None,
                            }
                        };
                        start.wait();
                        side.decide_extension(
                            &request,
                            &decision,
                            &[mail("so-noi-vu")],
                            "tinh.example",
                            t0(),
                        )
                        .unwrap()
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect();
            assert_eq!(
                decided.iter().filter(|d| **d).count(),
                1,
                "{name} round {round}: {decided:?}"
            );
            let r = writer.response(id).unwrap().unwrap();
            assert!(
                r.granted.is_some() != r.refused_at.is_some(),
                "{name}: {r:?}"
            );
        }
        assert_eq!(
            writer.history(None, None, 100).unwrap().len(),
            10,
            "{name}: one message each"
        );
    }
}

#[test]
fn services_opening_a_new_database_at_once_make_one_schema_and_one_instance() {
    let (text, at, _dir) = pg_database();
    let start = Arc::new(std::sync::Barrier::new(4));
    let instances: Vec<String> = (0..4)
        .map(|_| {
            let (at, start) = (at.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let store = Store::open_writer_at(&at).unwrap();
                store.get(&meta::Instance).unwrap().unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(
        instances.iter().all(|i| *i == instances[0]),
        "{instances:?}"
    );
    let version: Vec<i64> = admin(&text)
        .query("SELECT version FROM nhacviec_schema", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(version, [19]);
}

/// A reader (`history`) never makes the store: none yet is an error, and nothing is created.
#[test]
fn a_reader_never_creates_the_store_alike() {
    for (name, at, _dir) in backends() {
        let err = Store::open_reader_at(&at).err().expect("no store yet");
        assert!(
            matches!(err, StoreError::Open { .. }) && err.to_string().contains("chưa có"),
            "{name}: {err}"
        );
        assert!(!err.to_string().contains(crate::support::postgres::PASSWORD));
        // Still none: a writer makes it (and its instance), then the reader reads it.
        let writer = Store::open_writer_at(&at).unwrap();
        let made = writer
            .record_extra(Ledger::Real, &[mail("a")], &[], &[], "tinh.example")
            .unwrap();
        let instance = writer.get(&meta::Instance).unwrap();
        drop(writer);
        let reader = Store::open_reader_at(&at).unwrap();
        assert_eq!(
            ids(&reader.history(None, None, 10).unwrap()),
            made,
            "{name}"
        );
        assert_eq!(reader.get(&meta::Instance).unwrap(), instance, "{name}");
    }
}

#[test]
fn two_leaders_recording_the_same_reminders_make_one_delivery_not_two() {
    let (_text, at, _dir) = pg_database();
    // Both planned the same tick before either recorded it (a lead lost and taken while
    // the old leader's batch was still being written, or two leaders forced by hand).
    let mut first = Store::open_writer_at(&at).unwrap();
    let mut second = Store::open_writer_at(&at).unwrap();
    let tick = Tick::default();
    let share = |deliveries| Share {
        ledger: Ledger::Real,
        deliveries,
        tick: &tick,
    };
    let digests = [
        message("a", Channel::Email, &[("1/KH", "1", "k-a")]),
        message("b", Channel::Email, &[("1/KH", "1", "k-b")]),
    ];
    first
        .record_batch(t0(), &[share(&digests)], None, "tinh.example")
        .unwrap();
    let err = second
        .record_batch(t0(), &[share(&digests[1..])], None, "tinh.example")
        .unwrap_err();
    assert!(
        matches!(
            err,
            nhacviec::store::StoreError::RecordedElsewhere { slots: 1 }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("một máy khác vừa ghi 1 lời nhắc"),
        "{err}"
    );
    assert_eq!(second.history(None, None, 100).unwrap().len(), 2);
    // A batch of other reminders goes through.
    let other = [message("c", Channel::Email, &[("1/KH", "1", "k-c")])];
    second
        .record_batch(t0(), &[share(&other)], None, "tinh.example")
        .unwrap();
    assert_eq!(first.history(None, None, 100).unwrap().len(), 3);
}

#[test]
fn recorded_bodies_are_compressed_by_lz4_where_the_server_has_it_and_read_back_whole() {
    let (text, at, _dir) = pg_database();
    let mut store = Store::open_writer_at(&at).unwrap();
    let mut digest = message("a", Channel::Email, &[("1/KH", "1", "k-a")]);
    // Large enough to be compressed (PostgreSQL compresses rows over about 2 KB).
    digest.body_text = "Kính gửi cơ quan: hạn nộp báo cáo tháng sáu. ".repeat(400);
    digest.body_html = format!("<p>{}</p>", digest.body_text);
    let tick = Tick::default();
    let share = Share {
        ledger: Ledger::Real,
        deliveries: std::slice::from_ref(&digest),
        tick: &tick,
    };
    let made = store
        .record_batch(t0(), &[share], None, "tinh.example")
        .unwrap();
    let mut admin = admin(&text);
    let has_lz4: bool = admin
        .query_one(
            "SELECT COALESCE(bool_or('lz4' = ANY(enumvals)), false) FROM pg_settings WHERE name = 'default_toast_compression'",
            &[],
        )
        .unwrap()
        .get(0);
    let method: Option<String> = admin
        .query_one(
            "SELECT pg_column_compression(body_html)::text FROM delivery_bodies WHERE id = $1",
            &[&made[0]],
        )
        .unwrap()
        .get(0);
    let expected = if has_lz4 { "lz4" } else { "pglz" };
    assert_eq!(method.as_deref(), Some(expected));
    let ready = store.ready(Utc::now() + Duration::minutes(1), 10).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].body_text, digest.body_text);
    assert_eq!(ready[0].body_html, digest.body_html);
}

#[test]
fn a_lost_session_is_replaced_and_a_transaction_it_cut_leaves_nothing_half_written() {
    let (text, at, _dir) = pg_database();
    let store = Store::open_writer_at(&at).unwrap();
    let first = waiting(&at, 3);
    // The server ends every session of the service (a restart, a failover of the database).
    let end_sessions = || {
        admin(&text)
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'nhacviec' AND datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
    };
    end_sessions();
    // The first use may learn of it (an error worth retrying); the next works on a new session.
    if let Err(e) = store.counts() {
        assert!(e.worth_retrying(), "{e:?}");
    }
    assert_eq!(store.counts().unwrap().waiting(), 3);
    // Cut inside a transaction: nothing of it stays, and the store works after.
    let now = Utc::now() + Duration::minutes(1);
    let result = store.batch(|| {
        store.mark_sent(first[0], now)?;
        end_sessions();
        store.mark_sent(first[1], now)
    });
    assert!(result.is_err(), "the cut transaction fails");
    let counts = store.counts().unwrap();
    assert_eq!(
        counts.waiting(),
        3,
        "nothing of the cut transaction was kept"
    );
    store.mark_sent(first[2], now).unwrap();
    assert_eq!(store.counts().unwrap().waiting(), 2);
}

#[test]
fn claims_a_pass_let_go_are_taken_at_once_by_another_live_session() {
    let (_text, at, _dir) = pg_database();
    waiting(&at, 5);
    let now = Utc::now() + Duration::minutes(1);
    let first = Store::open_side_at(&at).unwrap();
    let second = Store::open_side_at(&at).unwrap();
    assert_eq!(first.ready(now, 10).unwrap().len(), 5);
    assert!(
        second.ready(now, 10).unwrap().is_empty(),
        "claimed by a live session"
    );
    // The first's pass stopped (a lead lost) without sending them: it lets go.
    first.release_claims().unwrap();
    assert_eq!(second.ready(now, 10).unwrap().len(), 5);
}

#[test]
fn a_read_ahead_claims_past_what_its_pass_read_and_its_claims_go_when_it_lets_go() {
    let (_text, at, _dir) = pg_database();
    let made = waiting(&at, 10);
    let now = Utc::now() + Duration::minutes(1);
    // The pass's own connection reads first; its reader reads on past it (`deliver::read_ahead`)
    // while the first ones are still being sent (waiting, claimed by the pass).
    let pass = Store::open_side_at(&at).unwrap();
    let reader = Store::open_side_at(&at).unwrap();
    let first: Vec<i64> = pass.ready(now, 4).unwrap().iter().map(|d| d.id).collect();
    assert_eq!(first, made[..4]);
    let after = *first.last().unwrap();
    let ahead: Vec<i64> = reader
        .ready_after(now, 4, after)
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ahead, made[4..8], "past what the pass read, in order");
    // Its next read, while those are sent: not its own claims again.
    let next: Vec<i64> = reader
        .ready_after(now, 1, made[7])
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        next,
        made[8..9],
        "a read ahead claimed twice what is in flight"
    );
    // What the reader holds is not another leader's, nor is what the pass holds.
    let other = Store::open_side_at(&at).unwrap();
    let theirs: Vec<i64> = other.ready(now, 10).unwrap().iter().map(|d| d.id).collect();
    assert_eq!(theirs, made[9..], "only what nobody claimed");
    // The pass ends with the reader's batch not attempted: it lets go, the pass's own stay.
    other.release_claims().unwrap();
    reader.release_claims().unwrap();
    let now_free: Vec<i64> = other.ready(now, 10).unwrap().iter().map(|d| d.id).collect();
    assert_eq!(
        now_free,
        [&made[4..8], &made[8..]].concat(),
        "the reader's claims free at once, the pass's still held"
    );
}

#[test]
fn the_outbox_is_vacuumed_when_idle_once_enough_was_decided_and_sqlite_never() {
    let (text, at, _dir) = pg_database();
    let made = waiting(&at, 3);
    let store = Store::open_writer_at(&at).unwrap();
    store.mark_sent_all(&made, t0()).unwrap();
    let mut watch = admin(&text);
    let mut vacuums = || -> i64 {
        watch
            .query_one(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'deliveries'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    store.note_decided(nhacviec::store::TIDY_AFTER - 1);
    assert!(
        !store.tidy_if_due().unwrap(),
        "vacuumed before enough was decided"
    );
    store.note_decided(1);
    assert!(
        store.tidy_if_due().unwrap(),
        "not vacuumed once enough was decided"
    );
    assert!(soon(|| vacuums() == 1), "the outbox was not vacuumed");
    // The count starts again from nothing.
    assert!(
        !store.tidy_if_due().unwrap(),
        "vacuumed again with nothing decided since"
    );
    // SQLite updates its rows in place: nothing to clear.
    let dir = tempfile::tempdir().unwrap();
    let lite = Store::open_writer(&dir.path().join("nhacviec.db")).unwrap();
    lite.note_decided(10 * nhacviec::store::TIDY_AFTER);
    assert!(!lite.tidy_if_due().unwrap());
}

#[test]
fn a_batch_recorded_to_send_is_the_rows_a_read_returns_and_on_postgresql_held_for_its_pass() {
    for (name, at, _dir) in backends() {
        let mut writer = Store::open_writer_at(&at).unwrap();
        let real = [
            message("a", Channel::Email, &[("1/KH", "1", "k-a")]),
            message("b", Channel::Email, &[("1/KH", "2", "k-b")]),
        ];
        let trial = [message("c", Channel::Email, &[("1/KH", "3", "k-c")])];
        let (empty, trial_tick) = (Tick::default(), Tick::default());
        let shares = [
            Share {
                ledger: Ledger::Real,
                deliveries: &real,
                tick: &empty,
            },
            Share {
                ledger: Ledger::Trial,
                deliveries: &trial,
                tick: &trial_tick,
            },
        ];
        let recorded = writer
            .record_batch_to_send(t0(), &shares, None, "tinh.example")
            .unwrap();
        // What the pass sends without reading it back is what a read would have given it.
        let handed: Vec<nhacviec::store::Delivery> = real
            .iter()
            .chain(&trial)
            .cloned()
            .zip(recorded)
            .map(|(d, r)| nhacviec::store::Delivery::recorded(d, t0(), r))
            .collect();
        assert_eq!(
            handed.iter().map(|d| d.trial).collect::<Vec<_>>(),
            [false, false, true],
            "{name}"
        );
        let later = Utc::now() + Duration::minutes(1);
        let other = Store::open_side_at(&at).unwrap();
        if name == "postgresql" {
            // Claimed for the pass that recorded them: another session does not take them
            // while it lives, until it lets go of what it did not send.
            assert!(other.ready(later, 10).unwrap().is_empty(), "{name}");
            writer.mark_sent(handed[0].id, t0()).unwrap();
            writer.release_claims().unwrap();
            let read = other.ready(later, 10).unwrap();
            assert_eq!(read, handed[1..], "{name}");
        } else {
            assert_eq!(other.ready(later, 10).unwrap(), handed, "{name}");
        }
    }
}
