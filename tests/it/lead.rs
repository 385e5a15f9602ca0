//! Two services on one PostgreSQL database (issue 28, active/passive): `daemon::run_with` with
//! `Lead::Shared` in threads of this process, each on a state directory of its own, the
//! leader's lock on the private cluster (`support::postgres`). Only the leader sends; the
//! standby answers `/healthz` with its role and takes the lead when the leader's session ends.
//! Each test runs in a process of its own (`support::isolated`): the services register signal
//! handlers.

use crate::daemon::{eml_count, sending_always};
use crate::support::isolated;
use crate::support::postgres::cluster;
use crate::support::smtp::Smtp;
use nhacviec::clock::Clock;
use nhacviec::lead::Lead;
use nhacviec::pg::{DatabaseUrl, Leadership, LEADER_LOCK};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One service of the pair: its thread, its health port and its state directory.
struct Instance {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    port: u16,
    state: PathBuf,
    /// Why the service ended, if it ended on its own.
    ended: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Instance {
    /// The sample config in `dir` (a tick every second, sending at any hour), its health on a
    /// port of its own, run on a clock started on 01/06/2022 08:00 (the sample plan has
    /// quarters due), its lead on `url`.
    fn start(dir: &Path, url: &str) -> Instance {
        Instance::start_with(dir, url, |text| text)
    }

    /// [`Instance::start`], its settings' text changed by `edit` first.
    fn start_with(dir: &Path, url: &str, edit: impl FnOnce(String) -> String) -> Instance {
        let port = crate::support::free_port();
        let cfg = sending_always(
            dir,
            "* * * * * *",
            &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
        );
        let settings = cfg.join("nhacviec.toml");
        let text = std::fs::read_to_string(&settings).unwrap();
        std::fs::write(&settings, edit(text)).unwrap();
        let url = DatabaseUrl::parse(url, "NHACVIEC_DATABASE_URL").unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let ended = std::sync::Arc::new(std::sync::Mutex::new(None));
        let why = ended.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let start = chrono::DateTime::parse_from_rfc3339("2022-06-01T08:00:00+07:00")
                .unwrap()
                .with_timezone(&chrono::Utc);
            let lead = Lead::Shared(Box::new(Leadership::new(url)));
            let service = nhacviec::daemon::run_with(&cfg, Clock::starting_at(start), lead);
            // Stopped from the test: the service is dropped whole, as a killed process ends
            // (its lock's connection closes with it).
            let result = runtime.block_on(async {
                tokio::select! {
                    r = service => r,
                    _ = stopped => Ok(()),
                }
            });
            runtime.shutdown_timeout(Duration::from_millis(200));
            *why.lock().unwrap() = Some(format!("{result:?}"));
            result
        });
        Instance {
            stop: Some(stop),
            thread: Some(thread),
            port,
            state: dir.join("var"),
            ended,
        }
    }

    /// `/healthz`: (status code, body); `None` while nothing answers yet.
    fn health(&self) -> Option<(u16, String)> {
        get(self.port, "/healthz")
    }

    /// A line of `/metrics` starting with `name `: its value.
    fn metric(&self, name: &str) -> Option<f64> {
        let (_, body) = get(self.port, "/metrics")?;
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Waits until `/healthz` says `role`; its body.
    fn wait_role(&self, role: &str, within: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Some((_, body)) = self.health() {
                if body.contains(&format!("\"role\": \"{role}\"")) {
                    return body;
                }
            }
            self.assert_running();
            assert!(
                started.elapsed() < within,
                "not {role} within {within:?}: {:?}",
                self.health()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn assert_running(&self) {
        let thread = self.thread.as_ref().unwrap();
        assert!(
            !thread.is_finished(),
            "the service ended on its own: {:?}",
            self.ended.lock().unwrap()
        );
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A GET on loopback: (status code, body); `None` if nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((code, body))
}

/// The session holding (`granted`) or queued for the leader's lock in the test's database.
fn lock_pid(admin: &mut postgres::Client, granted: bool) -> Option<i32> {
    admin
        .query_opt(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted = $1 AND ((classid::bigint << 32) | objid::bigint) = $2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[&granted, &LEADER_LOCK],
        )
        .unwrap()
        .map(|r| r.get(0))
}

/// The lock taken by the test: held from when the leader's session ended until dropped.
struct Held {
    release: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.release.send(());
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// Ends the leader's session as the server would (an operator, a network cut) while the test
/// queues for the lock, so that the lock goes to the test and to no instance.
fn end_the_leaders_session(db: &DatabaseUrl, admin: &mut postgres::Client) -> Held {
    let leader_pid = lock_pid(admin, true).expect("the leader holds the lock");
    let (held, holding) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder_db = db.clone();
    let thread = std::thread::spawn(move || {
        let mut client = holder_db.connect().unwrap();
        client
            .query_one("SELECT pg_advisory_lock($1)", &[&LEADER_LOCK])
            .unwrap();
        held.send(()).unwrap();
        let _ = released.recv();
        // The lock ends with this session.
        drop(client);
    });
    wait_for(
        "the test queues for the lock",
        Duration::from_secs(10),
        || lock_pid(admin, false).is_some(),
    );
    let row = admin
        .query_one("SELECT pg_terminate_backend($1)", &[&leader_pid])
        .unwrap();
    assert!(row.get::<_, bool>(0));
    holding
        .recv_timeout(Duration::from_secs(10))
        .expect("the lock freed with the leader's session");
    Held {
        release,
        thread: Some(thread),
    }
}

/// Waits until `what` holds.
fn wait_for(what: &str, within: Duration, mut holds: impl FnMut() -> bool) {
    let started = Instant::now();
    while !holds() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn only_the_leader_sends_and_the_standby_takes_over_when_its_session_ends() {
    if isolated(
        "lead::only_the_leader_sends_and_the_standby_takes_over_when_its_session_ends",
        &[],
    ) {
        return;
    }
    let url = cluster().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));

    // The first to start leads and makes its start pass.
    let a = Instance::start(&dir_a, &url);
    let body = a.wait_role("leader", Duration::from_secs(60));
    wait_for(
        "the leader's start pass sends",
        Duration::from_secs(60),
        || eml_count(&a.state) > 0,
    );
    assert!(body.contains("\"lead_error\": null"), "{body}");

    // The second stands by: healthy, serving health, sending nothing whatever its ticks.
    let b = Instance::start(&dir_b, &url);
    let body = b.wait_role("standby", Duration::from_secs(60));
    assert!(body.contains("\"lead_error\": null"), "{body}");
    std::thread::sleep(Duration::from_secs(3));
    let (code, body) = b.health().unwrap();
    assert_eq!(code, 200, "a standby is healthy: {body}");
    assert!(body.contains("\"role\": \"standby\""), "{body}");
    assert_eq!(
        eml_count(&b.state),
        0,
        "the standby sent although its state has everything due"
    );
    assert_eq!(b.metric("nhacviec_leader"), Some(0.0));
    assert_eq!(a.metric("nhacviec_leader"), Some(1.0));
    assert_eq!(
        a.metric("nhacviec_takeovers_total"),
        Some(0.0),
        "leading from the start is no takeover"
    );
    let (code, _) = a.health().unwrap();
    assert_eq!(code, 200);

    // The leader's session is ended by the server (an operator, a network cut) while this
    // test queues for the lock: the lock goes to the test, and the old leader stands by.
    let db = DatabaseUrl::parse(&url, "test").unwrap();
    let mut admin = db.connect().unwrap();
    let held = end_the_leaders_session(&db, &mut admin);
    a.wait_role("standby", Duration::from_secs(15));
    // Healthy as a standby once its check works again (a check that failed on the ended
    // session says so meanwhile).
    wait_for(
        "the old leader a healthy standby",
        Duration::from_secs(15),
        || {
            a.health()
                .is_some_and(|(code, b)| code == 200 && b.contains("\"role\": \"standby\""))
        },
    );
    assert_eq!(a.metric("nhacviec_leader"), Some(0.0));
    let sent_by_a = eml_count(&a.state);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(eml_count(&a.state), sent_by_a, "a standby sends nothing");
    assert!(b.health().unwrap().1.contains("\"role\": \"standby\""));

    // The old leader ends (dropped whole, as a killed process), the lock is free again: the
    // standby takes the lead within 15 s and sends what is due.
    drop(a);
    let freed = Instant::now();
    drop(held);
    b.wait_role("leader", Duration::from_secs(15));
    let took = freed.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}");
    wait_for("the new leader sends", Duration::from_secs(30), || {
        eml_count(&b.state) > 0
    });
    assert_eq!(b.metric("nhacviec_leader"), Some(1.0));
    assert_eq!(b.metric("nhacviec_takeovers_total"), Some(1.0));
    // Healthy once its first pass as leader has ended.
    wait_for("the new leader healthy", Duration::from_secs(30), || {
        b.health()
            .is_some_and(|(code, body)| code == 200 && body.contains("\"last_tick\": \""))
    });
    assert!(
        lock_pid(&mut admin, true).is_some(),
        "the new leader holds the lock"
    );
}

#[test]
fn a_database_out_of_reach_leaves_the_service_standing_by_and_saying_so() {
    if isolated(
        "lead::a_database_out_of_reach_leaves_the_service_standing_by_and_saying_so",
        &[],
    ) {
        return;
    }
    let port = crate::support::free_port();
    let url = format!("postgres://nhacviec:mat-khau-bi-mat@127.0.0.1:{port}/nhacviec");
    let tmp = tempfile::tempdir().unwrap();
    let service = Instance::start(tmp.path(), &url);
    let body = service.wait_role("standby", Duration::from_secs(60));
    wait_for("the error in health", Duration::from_secs(30), || {
        service
            .health()
            .is_some_and(|(_, b)| b.contains("không kết nối được"))
    });
    let (code, body2) = service.health().unwrap();
    assert_eq!(code, 503, "{body2}");
    assert!(body2.contains("\"lead_error\": \""), "{body2}");
    assert!(
        !body2.contains("mat-khau-bi-mat"),
        "the password is shown: {body2}"
    );
    assert!(!body.contains("\"role\": \"leader\""), "{body}");
    // Still running, retrying, sending nothing: no crash loop.
    std::thread::sleep(Duration::from_secs(6));
    service.assert_running();
    assert_eq!(eml_count(&service.state), 0);
    assert_eq!(service.metric("nhacviec_leader"), Some(0.0));
}

#[test]
fn a_leader_losing_its_lead_mid_pass_stops_sending_and_sends_the_rest_when_it_leads_again() {
    if isolated(
        "lead::a_leader_losing_its_lead_mid_pass_stops_sending_and_sends_the_rest_when_it_leads_again",
        &[],
    ) {
        return;
    }
    let url = cluster().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    // A slow mail server, one message at a time: the start pass's 38 digests take 15 s.
    let smtp_port = crate::support::free_port();
    let server = Smtp::start(smtp_port, &tmp.path().join("inbox"), &["--slow", "0.4"]);
    let received = || server.files("eml").len();
    let service = Instance::start_with(&tmp.path().join("a"), &url, |text| {
        // The setting, not the comment above it that names it.
        let setting = "\ntransport = \"file\"\n";
        assert!(text.contains(setting) && text.contains("pool_size = 4"));
        text.replace(
            setting,
            &format!(
                "\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{smtp_port}\"\ntls = \"none\"\n"
            ),
        )
        .replace("pool_size = 4", "pool_size = 1")
    });
    service.wait_role("leader", Duration::from_secs(60));
    wait_for("the start pass sending", Duration::from_secs(60), || {
        received() >= 3
    });

    // Its session ends mid-pass: within a check it stands by and sends nothing more (the
    // message in flight aside); what it recorded and did not send stays queued.
    let db = DatabaseUrl::parse(&url, "test").unwrap();
    let mut admin = db.connect().unwrap();
    let held = end_the_leaders_session(&db, &mut admin);
    service.wait_role("standby", Duration::from_secs(15));
    let at_loss = received();
    std::thread::sleep(Duration::from_secs(3));
    let after = received();
    assert!(
        after <= at_loss + 1,
        "sent after the lead was lost: {at_loss} then {after}"
    );
    assert!(
        after < 38,
        "the pass ran to its end: the lost lead did not stop it (or this test came too late)"
    );
    wait_for(
        "the rest queued, in health",
        Duration::from_secs(15),
        || {
            service
                .health()
                .is_some_and(|(_, b)| !b.contains("\"pending\": 0,"))
        },
    );

    // The lock free again, it takes the lead back and sends the rest: every digest once.
    drop(held);
    service.wait_role("leader", Duration::from_secs(15));
    wait_for("the rest sent", Duration::from_secs(60), || {
        received() >= 38
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(received(), 38, "a digest sent twice or one too many");
    assert_eq!(service.metric("nhacviec_takeovers_total"), Some(1.0));
}
