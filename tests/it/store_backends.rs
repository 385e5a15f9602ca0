//! The store on both backends (issue 28): SQLite in a temporary directory and PostgreSQL on
//! the private cluster (`support::postgres`), driven through the same public API, must say
//! the same things.

use crate::pipeline::{config, june_first};
use crate::support::postgres::cluster;
use nhacviec::channels::Senders;
use nhacviec::deliver::{self, Engine, Recording};
use nhacviec::outbox::DeliveryStatus;
use nhacviec::pg::DatabaseUrl;
use nhacviec::render::Templates;
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
    let url = DatabaseUrl::parse(&cluster().fresh_database(), "test").unwrap();
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
