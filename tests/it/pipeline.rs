//! A pass records its tick in batches and sends each batch once it is committed
//! (`deliver::record_and_send`): the first messages leave before the last batch is recorded,
//! and a pass that ends between batches (a failed write, a stop) loses and duplicates nothing:
//! the next one finds the recorded slots handled and records the rest.

use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;
use nhacviec::channels::Senders;
use nhacviec::config::{analyze, Config, Source, Sources};
use nhacviec::deliver::{self, Engine, Recording};
use nhacviec::outbox::DeliveryStatus;
use nhacviec::render::Templates;
use nhacviec::store::{Ledger, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Agencies, each with one digest due on 1/6/2022: two batches (the first, and the rest with
/// the watermark).
const AGENCIES: usize = deliver::FIRST_BATCH + 10;

/// `n` agencies of one level, one task for all of them due on 1/6/2022 (mail to files).
pub(crate) fn config(n: usize, trial: bool) -> Config {
    let mut agencies = String::from("[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\n");
    for i in 0..n {
        agencies.push_str(&format!(
            "\n[[agency]]\nid = \"a{i}\"\nname = \"Cơ quan {i}\"\nlevel = \"tinh\"\nemail = [\"a{i}@tinh.example\"]\n"
        ));
    }
    agencies.push_str("\n[[group]]\nid = \"all\"\nname = \"Tất cả\"\nlevel = \"tinh\"\n");
    let plan = "[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\n\n[[task]]\nid = \"1\"\ntitle = \"Việc\"\nlead = [\"all\"]\ndue = 2022-06-01\n";
    let settings = trial.then(|| {
        Source::new(
            "nhacviec.toml",
            "[email]\nredirect_all_to = \"thu@tinh.example\"\n",
        )
    });
    let analysis = analyze(&Sources::in_memory(
        settings,
        Source::new("agencies.toml", agencies),
        vec![Source::new("plans/1.toml", plan)],
    ));
    assert!(
        !analysis.has_errors(),
        "{:?}",
        analysis.errors().collect::<Vec<_>>()
    );
    analysis.config
}

pub(crate) fn june_first() -> DateTime<Tz> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2022, 6, 1, 8, 0, 0)
        .unwrap()
}

struct Setup {
    _tmp: tempfile::TempDir,
    state: PathBuf,
    store: Store,
    senders: Senders,
    engine: Arc<Engine>,
    config: Arc<Config>,
    templates: Arc<Templates>,
}

fn setup(trial: bool) -> Setup {
    setup_of(AGENCIES, trial)
}

fn setup_of(agencies: usize, trial: bool) -> Setup {
    setup_with(agencies, trial, |_| {})
}

/// `agencies` digests to send, the config then changed by `edit`.
fn setup_with(agencies: usize, trial: bool, edit: impl FnOnce(&mut Config)) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().to_path_buf();
    let mut config = config(agencies, trial);
    edit(&mut config);
    let store = Store::open_writer(&state.join("nhacviec.db")).unwrap();
    let senders = Senders::new(&config, &state).unwrap();
    let engine = Engine::build(&config, june_first().date_naive());
    Setup {
        _tmp: tmp,
        state,
        store,
        senders,
        engine: Arc::new(engine),
        config: Arc::new(config),
        templates: Arc::new(Templates::new(&[]).unwrap()),
    }
}

impl Setup {
    /// One pass at 1/6/2022 08:00, as the service makes it; `committed` runs after each batch.
    async fn pass(
        &self,
        stop: Arc<AtomicBool>,
        committed: impl FnMut(usize) + Send + 'static,
    ) -> (
        Result<deliver::Recorded, deliver::DeliverError>,
        deliver::Pass,
    ) {
        let now = june_first();
        let planned = deliver::plan(&self.engine, &self.config, &self.store, now).unwrap();
        let recording = Recording {
            engine: self.engine.clone(),
            config: self.config.clone(),
            templates: self.templates.clone(),
            planned: Some(planned),
            now,
        };
        let (recorded, sent) = deliver::record_and_send(
            recording,
            &self.store,
            &self.senders,
            &self.config,
            chrono::Utc::now(),
            stop,
            committed,
        )
        .await;
        (recorded, sent.unwrap())
    }

    fn db(&self) -> PathBuf {
        self.state.join("nhacviec.db")
    }

    fn mail_files(&self) -> usize {
        std::fs::read_dir(self.state.join("mail"))
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .count()
            })
            .unwrap_or(0)
    }

    /// Every delivery recorded, by agency: (deliveries, of them sent).
    fn by_agency(&self) -> BTreeMap<String, (usize, usize)> {
        let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for d in self.store.history(None, None, 100_000).unwrap() {
            let e = out.entry(d.agency).or_default();
            e.0 += 1;
            e.1 += usize::from(d.status == DeliveryStatus::Sent);
        }
        out
    }
}

/// How many deliveries another connection sees sent, waiting up to 30 s for at least one.
fn wait_for_a_send(db: &Path) -> usize {
    let reader = Store::open_reader(db).unwrap();
    for _ in 0..300 {
        let sent = reader.counts().unwrap().of(DeliveryStatus::Sent) as usize;
        if sent > 0 {
            return sent;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    0
}

#[tokio::test(flavor = "current_thread")]
async fn the_first_batch_is_sent_while_the_rest_is_still_being_recorded() {
    let s = setup(false);
    // Held after the first batch's commit until a message of it has left: a pass that sent
    // only once everything was recorded would never get there.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (db, log) = (s.db(), seen.clone());
    let hook = move |queued: usize| {
        let mut log = log.lock().unwrap();
        if log.is_empty() {
            let sent = wait_for_a_send(&db);
            let reader = Store::open_reader(&db).unwrap();
            let watermark = reader.ledger(Ledger::Real).watermark().unwrap();
            log.push((queued, sent, watermark));
        } else {
            log.push((queued, 0, None));
        }
    };
    let (recorded, sent) = s.pass(Arc::new(AtomicBool::new(false)), hook).await;
    let recorded = recorded.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "two batches: {seen:?}");
    let (first, sent_then, watermark_then) = seen[0];
    assert_eq!(first, deliver::FIRST_BATCH);
    assert!(
        sent_then > 0,
        "nothing left before the last batch was recorded"
    );
    assert_eq!(
        watermark_then, None,
        "the watermark goes with the last batch"
    );
    assert_eq!(recorded.tick.queued, AGENCIES);
    assert_eq!(sent.sent, AGENCIES);
    assert_eq!(s.mail_files(), AGENCIES);
    assert_eq!(
        s.store.ledger(Ledger::Real).watermark().unwrap(),
        Some(june_first().date_naive())
    );
}

/// Ends the recording after its first batch (`how`), then runs the next pass: every agency
/// gets its digest once.
async fn ended_between_batches(trial: bool, how: fn(&Path, &AtomicBool)) {
    let s = setup(trial);
    let ledger = if trial { Ledger::Trial } else { Ledger::Real };
    let stop = Arc::new(AtomicBool::new(false));
    let (db, halt, batches) = (s.db(), stop.clone(), Arc::new(Mutex::new(0)));
    let counted = batches.clone();
    let (recorded, sent) = s
        .pass(stop.clone(), move |_| {
            let mut n = counted.lock().unwrap();
            *n += 1;
            if *n == 1 {
                how(&db, &halt);
            }
        })
        .await;
    assert_eq!(*batches.lock().unwrap(), 1, "no batch after the failure");
    let first = match recorded {
        Ok(r) => r.tick.queued,
        Err(e) => {
            assert!(matches!(e, deliver::DeliverError::Store(_)), "{e}");
            deliver::FIRST_BATCH
        }
    };
    assert_eq!(first, deliver::FIRST_BATCH);
    // What was committed may have gone; nothing else was recorded, the watermark not moved.
    assert!(sent.sent <= deliver::FIRST_BATCH, "{sent:?}");
    assert_eq!(s.store.history(None, None, 1000).unwrap().len(), first);
    assert_eq!(s.store.ledger(ledger).watermark().unwrap(), None);
    // The next pass (the failure gone) records and sends the rest, once.
    let trigger = rusqlite::Connection::open(s.db()).unwrap();
    trigger
        .execute("DROP TRIGGER IF EXISTS fail_between", [])
        .unwrap();
    let (recorded, _) = s.pass(Arc::new(AtomicBool::new(false)), |_| {}).await;
    let again = recorded.unwrap().tick;
    assert_eq!(again.queued, AGENCIES - first);
    // The earlier reminders these digests supersede were left with them, not recorded
    // before: recorded alone, they would be handled; left alone, the next pass would send one.
    assert!(again.skipped >= AGENCIES - first, "{again:?}");
    let by_agency = s.by_agency();
    assert_eq!(by_agency.len(), AGENCIES);
    assert!(
        by_agency
            .values()
            .all(|&(made, sent)| made == 1 && sent == 1),
        "{by_agency:?}"
    );
    assert_eq!(s.mail_files(), AGENCIES);
    assert_eq!(
        s.store.ledger(ledger).watermark().unwrap(),
        Some(june_first().date_naive())
    );
    // And a third pass has nothing to add.
    let (recorded, sent) = s.pass(Arc::new(AtomicBool::new(false)), |_| {}).await;
    assert_eq!((recorded.unwrap().tick.queued, sent.sent), (0, 0));
}

/// The next write fails (as on a full disk): a trigger refuses new deliveries.
fn fail_the_next_write(db: &Path, _: &AtomicBool) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fail_between BEFORE INSERT ON deliveries BEGIN SELECT RAISE(ABORT, 'disk gone'); END;",
    )
    .unwrap();
}

fn ask_to_stop(_: &Path, stop: &AtomicBool) {
    stop.store(true, Ordering::SeqCst);
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_failing_between_batches_loses_and_duplicates_nothing() {
    ended_between_batches(false, fail_the_next_write).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_stop_between_batches_loses_and_duplicates_nothing() {
    ended_between_batches(false, ask_to_stop).await;
}

#[tokio::test(flavor = "current_thread")]
async fn in_trial_mode_too() {
    ended_between_batches(true, fail_the_next_write).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_recording_faster_than_the_sends_waits_for_them() {
    // One message at a time to a real SMTP server (aiosmtpd, a few ms each), the batches
    // recorded 256 at a time: the recording would be far ahead, its batches all in memory,
    // if it did not wait.
    let batches = 4 + deliver::HANDED_AHEAD;
    let agencies = deliver::FIRST_BATCH + (batches - 1) * deliver::BATCH;
    let tmp = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let inbox = tmp.path().join("inbox");
    let server = crate::support::smtp::Smtp::start(port, &inbox, &[]);
    let s = setup_with(agencies, false, |c| {
        c.email.transport = nhacviec::config::Transport::Smtp {
            host: "127.0.0.1".into(),
            port,
            tls: nhacviec::config::Tls::None,
        };
        c.email.pool_size = 1;
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let hook = move |_: usize| {
        let accepted = std::fs::read_dir(&inbox)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .count()
            })
            .unwrap_or(0);
        log.lock().unwrap().push(accepted);
    };
    let (recorded, sent) = s.pass(Arc::new(AtomicBool::new(false)), hook).await;
    assert_eq!(recorded.unwrap().tick.queued, agencies);
    assert_eq!(sent.sent, agencies);
    assert_eq!(server.files("eml").len(), agencies);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), batches);
    // Batch k is handed over once at most `HANDED_AHEAD` wait: the sends have taken batch
    // k - HANDED_AHEAD, so every batch before that one was accepted by the server.
    for (i, &accepted) in seen.iter().enumerate() {
        let k = i + 1;
        let before = k.saturating_sub(deliver::HANDED_AHEAD + 1);
        let needed = if before == 0 {
            0
        } else {
            deliver::FIRST_BATCH + (before - 1) * deliver::BATCH
        };
        assert!(
            accepted >= needed,
            "batch {k} committed with {accepted} messages accepted, {needed} at least: {seen:?}"
        );
    }
}
