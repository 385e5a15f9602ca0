//! `nhacviec store copy` (issue 28): a service's SQLite state moved into an empty PostgreSQL
//! database on the private cluster (`support::postgres`), then read back through the store's
//! public API: the same deliveries and Message-IDs, the same answers, the same ledger.

use crate::support::answers::{answer, at, date, seed};
use crate::support::cli::{Env, NOW};
use crate::support::postgres::{cluster, PASSWORD};
use assert_cmd::Command;
use nhacviec::answers::{Action, NewResponse};
use nhacviec::pg::DatabaseUrl;
use nhacviec::store::{
    copy_to_postgres, CopyError, Ledger, Location, NewDelivery, ResponseFilter, Store,
};
use std::path::Path;

const TRIAL_LINE: &str = "# redirect_all_to = \"thu-nghiem@haugiang.example\"";

/// The tables a copy moves, `response_heads` (built by a trigger, compared) last.
const TABLES: &[&str] = &[
    "meta",
    "zalo_token",
    "deliveries",
    "delivery_bodies",
    "delivery_attachments",
    "slots",
    "trial_slots",
    "extensions",
    "responses",
    "evidence",
    "response_heads",
];

/// A fresh database on the cluster (its sync client off any runtime).
fn fresh() -> String {
    std::thread::spawn(|| cluster().fresh_database())
        .join()
        .unwrap()
}

fn url(text: &str) -> DatabaseUrl {
    DatabaseUrl::parse(text, "test").unwrap()
}

fn pg_at(env: &Env, text: &str) -> Location {
    Location {
        path: env.db(),
        pg: Some(url(text)),
    }
}

fn run_once(env: &Env) {
    let out = env.run(&["run", "--once", "--now", NOW]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A state as a service leaves it: a trial pass then a real pass of the sample config at NOW
/// (deliveries sent as .eml files, slots in both ledgers, watermarks), the agencies' answers
/// (a completion, progress, an extension request superseded by a second that was granted, an
/// answer withdrawn, a file attached), a Zalo token and a report with two files.
fn service_state() -> Env {
    let env = Env::new();
    env.edit("nhacviec.toml", |t| t.replace(TRIAL_LINE, &TRIAL_LINE[2..]));
    run_once(&env);
    env.edit("nhacviec.toml", |t| t.replace(&TRIAL_LINE[2..], TRIAL_LINE));
    run_once(&env);
    let db = env.db();
    seed(&db);
    let mut store = Store::open_writer(&db).unwrap();
    let again = NewResponse {
        deadline: Some(date("2022-06-18")),
        proposed: Some(date("2022-08-15")),
        ..answer("so-noi-vu", "10.1", Action::Extension, "m4")
    };
    store
        .record_response(&again, at("2022-05-23T03:00:00Z"))
        .unwrap();
    let withdrawn = NewResponse {
        percent: Some(80),
        ..answer("so-tu-phap", "8.8", Action::Progress, "m5")
    };
    let id = store
        .record_response(&withdrawn, at("2022-05-24T01:00:00Z"))
        .unwrap();
    assert!(store
        .undo_response(
            id,
            "so-tu-phap",
            at("2022-05-24T00:00:00Z"),
            at("2022-05-24T01:05:00Z")
        )
        .unwrap());
    let bytes = [b"%PDF-1.4\n".as_slice(), &[b'x'; 500]].concat();
    let sha = nhacviec::evidence::sha256_hex(&bytes);
    let file = nhacviec::store::NewEvidence {
        name: "bao-cao.pdf",
        kind: nhacviec::evidence::Kind::Pdf,
        sha256: &sha,
        bytes: &bytes,
    };
    let with_file = NewResponse {
        deadline: Some(date("2022-05-31")),
        done_on: Some(date("2022-05-24")),
        ..answer("so-tu-phap", "8.8", Action::Done, "m6")
    };
    store
        .record_response_with_evidence(&with_file, Some(&file), 1 << 30, at("2022-05-24T02:00:00Z"))
        .unwrap();
    store
        .grant_extension(
            "so-noi-vu",
            "50/KH-UBND",
            "10.1",
            date("2022-06-18"),
            date("2022-07-31"),
            Some("Công văn số 9/UBND"),
            at("2022-05-24T03:00:00Z"),
        )
        .unwrap();
    store
        .set_zalo_token(
            Some("truy-cap"),
            "lam-moi",
            Some(at("2022-05-26T00:00:00Z")),
        )
        .unwrap();
    let report = NewDelivery {
        agency: "vp-ubnd-tinh".into(),
        channel: nhacviec::config::Channel::Email,
        recipients: vec!["theo-doi@haugiang.example".into()],
        subject: "Báo cáo tuần".into(),
        body_text: "x".into(),
        body_html: "<p>x</p>".into(),
        items: vec![],
        thread: "bao-cao".into(),
        attachments: vec![
            nhacviec::store::Attachment {
                name: "tinh-hinh.xlsx".into(),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    .into(),
                bytes: vec![0, 1, 2, 255],
            },
            nhacviec::store::Attachment {
                name: "bao-cao.docx".into(),
                content_type: "application/octet-stream".into(),
                bytes: vec![9; 3000],
            },
        ],
    };
    store
        .record_extra(Ledger::Real, &[report], &[], &[], "haugiang.example")
        .unwrap();
    env
}

fn count_lite(db: &Path, table: &str) -> u64 {
    query_lite(db, &format!("SELECT COUNT(*) FROM {table}"))
}

fn query_lite(db: &Path, sql: &str) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

/// A number the PostgreSQL database at `text` answers `sql` with.
fn query_pg(text: &str, sql: &str) -> i64 {
    let (text, sql) = (text.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&text, postgres::NoTls).unwrap();
        c.query_one(&sql, &[]).unwrap().get(0)
    })
    .join()
    .unwrap()
}

/// Rows of `table` in the PostgreSQL database at `text` (none when it has no such table).
fn count_pg(text: &str, table: &str) -> Option<i64> {
    let (text, table) = (text.to_string(), table.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&text, postgres::NoTls).unwrap();
        let exists: bool = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = $1)",
                &[&table],
            )
            .unwrap()
            .get(0);
        exists.then(|| {
            c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .unwrap()
                .get(0)
        })
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_copied_state_reads_the_same_on_postgresql_and_the_next_pass_records_nothing() {
    let env = service_state();
    let db = env.db();
    let target = fresh();
    let report = copy_to_postgres(&db, &url(&target)).unwrap();

    // Every table, counted on both sides.
    let named: Vec<&str> = report.tables.iter().map(|t| t.0).collect();
    assert_eq!(named, TABLES);
    for table in TABLES {
        let rows = count_lite(&db, table);
        assert_eq!(report.rows(table), Some(rows), "{table}");
        assert_eq!(count_pg(&target, table), Some(rows as i64), "{table}");
    }
    for table in TABLES {
        assert!(report.rows(table).unwrap() > 0, "the state has {table}");
    }
    assert_eq!(report.rows("delivery_attachments"), Some(2));
    // The request superseded by the second keeps its link (written after every response).
    let superseded = "SELECT COUNT(*) FROM responses WHERE superseded_by IS NOT NULL";
    assert_eq!(query_lite(&db, superseded), 1);
    assert_eq!(query_pg(&target, superseded), 1);
    assert_eq!(report.evidence_rows, 1);
    assert_eq!(report.evidence_dir, env.state().join("evidence"));
    // The file itself moves into the database: the second server serves it too.
    assert_eq!(report.evidence_files, 1);
    assert!(report.evidence_missing.is_empty());
    assert_eq!(query_pg(&target, "SELECT COUNT(*) FROM evidence_files"), 1);

    let lite = Store::open_reader(&db).unwrap();
    let pg = Store::open_writer_at(&pg_at(&env, &target)).unwrap();
    // The same deliveries, their bodies and files, and Message-IDs with the same instance.
    let history = lite.history(None, None, 100_000).unwrap();
    assert_eq!(pg.history(None, None, 100_000).unwrap(), history);
    let instance = report.instance.clone().unwrap();
    assert!(history
        .iter()
        .all(|d| d.message_id.starts_with(&format!("<nhacviec.{instance}."))));
    assert!(history.iter().any(|d| d.attachments.len() == 2));
    // The same answers, as pages and the CLI read them; the same files and token.
    assert_eq!(
        pg.responses(&ResponseFilter::default()).unwrap(),
        lite.responses(&ResponseFilter::default()).unwrap()
    );
    for agency in ["so-noi-vu", "so-tu-phap"] {
        let (a, b) = (
            lite.page_answers(agency, None).unwrap(),
            pg.page_answers(agency, None).unwrap(),
        );
        assert_eq!(b.mine, a.mine, "{agency}");
        assert_eq!(b.overlay, a.overlay, "{agency}");
        assert_eq!(b.version, a.version, "{agency}");
    }
    assert_eq!(pg.evidence().unwrap(), lite.evidence().unwrap());
    for e in lite.evidence().unwrap().values() {
        let kind = nhacviec::evidence::Kind::from_media_type(&e.media_type).unwrap();
        assert_eq!(
            pg.evidence_bytes(&e.sha256, kind).unwrap(),
            lite.evidence_bytes(&e.sha256, kind).unwrap(),
            "the file's bytes, from the database"
        );
        assert!(pg.evidence_bytes(&e.sha256, kind).unwrap().is_some());
    }
    assert_eq!(pg.zalo_token().unwrap(), lite.zalo_token().unwrap());
    for ledger in [Ledger::Real, Ledger::Trial] {
        let (a, b) = (lite.ledger(ledger), pg.ledger(ledger));
        assert_eq!(b.watermark().unwrap(), a.watermark().unwrap());
        assert_eq!(b.fingerprint().unwrap(), a.fingerprint().unwrap());
    }

    // The ledger moved: the same pass on PostgreSQL finds everything handled.
    let analysis = nhacviec::config::load(&env.cfg);
    let config = std::sync::Arc::new(analysis.config);
    let now = nhacviec::dates::parse_now(NOW, config.timezone).unwrap();
    let engine = std::sync::Arc::new(nhacviec::deliver::Engine::build(&config, now.date_naive()));
    let planned = nhacviec::deliver::plan(&engine, &config, &pg, now).unwrap();
    let recording = nhacviec::deliver::Recording {
        engine,
        config: config.clone(),
        templates: std::sync::Arc::new(
            nhacviec::render::Templates::new(&analysis.templates).unwrap(),
        ),
        planned: Some(planned),
        now,
    };
    let senders = nhacviec::channels::Senders::new(&config, &env.state()).unwrap();
    let (recorded, sent) = nhacviec::deliver::record_and_send(
        recording,
        &pg,
        &senders,
        &config,
        chrono::Utc::now(),
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        |_| {},
    )
    .await;
    let (recorded, sent) = (recorded.unwrap(), sent.unwrap());
    assert_eq!(recorded.tick.queued, 0);
    assert_eq!(recorded.tick.skipped + recorded.tick.stale, 0);
    // What was waiting in the outbox (the report, recorded after the pass) goes out from there.
    let waiting = history
        .iter()
        .filter(|d| d.status == nhacviec::outbox::DeliveryStatus::Pending)
        .count();
    assert_eq!(waiting, 1);
    assert_eq!(sent.sent, waiting);
    assert_eq!(
        count_pg(&target, "slots"),
        Some(count_lite(&db, "slots") as i64)
    );

    // A new delivery gets an id past the copied ones, and the copied instance.
    let last = history.iter().map(|d| d.id).max().unwrap();
    let mail = NewDelivery {
        agency: "so-noi-vu".into(),
        channel: nhacviec::config::Channel::Email,
        recipients: vec!["snv@haugiang.example".into()],
        subject: "Thông báo".into(),
        body_text: "x".into(),
        body_html: "<p>x</p>".into(),
        items: vec![],
        thread: "snv".into(),
        attachments: vec![],
    };
    let ids = pg
        .record_extra(Ledger::Real, &[mail], &[], &[], "haugiang.example")
        .unwrap();
    assert!(ids[0] > last, "{} after {last}", ids[0]);
    let new = &pg.history(None, None, 1).unwrap()[0];
    assert_eq!(
        new.message_id,
        format!("<nhacviec.{instance}.{}@haugiang.example>", ids[0])
    );
    drop(pg);

    // A second copy into it is refused and changes nothing.
    let deliveries = count_pg(&target, "deliveries");
    let e = copy_to_postgres(&db, &url(&target)).unwrap_err();
    assert!(matches!(e, CopyError::TargetNotEmpty { .. }), "{e}");
    assert!(e.refused());
    let text = e.to_string();
    assert!(text.contains("không trống"), "{text}");
    assert!(text.contains("bảng deliveries có"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert_eq!(count_pg(&target, "deliveries"), deliveries);
}

/// A small state made through the store: one delivery, one answer.
fn small_state(db: &Path) {
    let store = Store::open_writer(db).unwrap();
    let mail = NewDelivery {
        agency: "so-noi-vu".into(),
        channel: nhacviec::config::Channel::Email,
        recipients: vec!["snv@haugiang.example".into()],
        subject: "Nhắc việc".into(),
        body_text: "x".into(),
        body_html: "<p>x</p>".into(),
        items: vec![],
        thread: "snv".into(),
        attachments: vec![],
    };
    store
        .record_extra(Ledger::Real, &[mail], &[], &[], "haugiang.example")
        .unwrap();
    store
        .record_response(
            &answer("so-noi-vu", "8.8", Action::Progress, "s1"),
            at("2022-05-20T02:30:00Z"),
        )
        .unwrap();
}

#[test]
fn a_missing_busy_or_older_state_is_refused_and_the_target_is_not_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let target = fresh();
    let untouched =
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()";

    let none = tmp.path().join("chua-co").join("nhacviec.db");
    let e = copy_to_postgres(&none, &url(&target)).unwrap_err();
    assert!(
        matches!(e, CopyError::NoSource { .. }) && e.refused(),
        "{e}"
    );
    assert!(e.to_string().contains("chua-co"), "{e}");
    assert!(!none.exists(), "nothing created");

    let db = tmp.path().join("nhacviec.db");
    small_state(&db);
    {
        // A service holds it.
        let _service = Store::open_writer(&db).unwrap();
        let e = copy_to_postgres(&db, &url(&target)).unwrap_err();
        assert!(
            matches!(e, CopyError::SourceBusy { .. }) && e.refused(),
            "{e}"
        );
        assert!(e.to_string().contains("dừng dịch vụ"), "{e}");
    }
    // A state at an older schema: upgraded by a start of the service first.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TABLE evidence_files;
         ALTER TABLE deliveries DROP COLUMN claimed_by;
         ALTER TABLE deliveries DROP COLUMN claimed_until;
         PRAGMA user_version = 17;",
    )
    .unwrap();
    drop(conn);
    let e = copy_to_postgres(&db, &url(&target)).unwrap_err();
    assert!(
        matches!(e, CopyError::OldSchema { found: 17, .. }) && e.refused(),
        "{e}"
    );
    assert!(e.to_string().contains("run --once"), "{e}");
    assert_eq!(query_pg(&target, untouched), 0);

    // Upgraded (any writer's opening does it), it goes.
    drop(Store::open_writer(&db).unwrap());
    let report = copy_to_postgres(&db, &url(&target)).unwrap();
    assert_eq!(report.rows("deliveries"), Some(1));
    assert_eq!(report.rows("responses"), Some(1));
    assert_eq!(report.rows("response_heads"), Some(1));
}

#[test]
fn a_copy_that_fails_midway_leaves_no_row_and_can_be_run_again() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nhacviec.db");
    small_state(&db);
    // A value PostgreSQL's column cannot take (SQLite keeps text in an INTEGER column): the
    // copy fails at `deliveries`, after `meta` and `zalo_token` went in.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE deliveries SET attempts = 'ba'", [])
        .unwrap();
    let target = fresh();
    let e = copy_to_postgres(&db, &url(&target)).unwrap_err();
    assert!(
        matches!(e, CopyError::BadValue { .. }) && !e.refused(),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("bảng deliveries, cột attempts"), "{text}");
    assert!(text.contains("đã hủy"), "{text}");
    for table in TABLES {
        let left = if *table == "meta" {
            query_pg(&target, "SELECT COUNT(*) FROM meta WHERE key <> 'instance'")
        } else {
            count_pg(&target, table).unwrap()
        };
        assert_eq!(left, 0, "{table}");
    }
    // Mended, the same database takes the copy.
    conn.execute("UPDATE deliveries SET attempts = 3", [])
        .unwrap();
    drop(conn);
    let report = copy_to_postgres(&db, &url(&target)).unwrap();
    assert_eq!(report.rows("deliveries"), Some(1));
    assert_eq!(query_pg(&target, "SELECT attempts FROM deliveries"), 3);
    let instance = query_lite_text(&db, "SELECT value FROM meta WHERE key = 'instance'");
    assert_eq!(report.instance.as_deref(), Some(instance.as_str()));
}

fn query_lite_text(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn cli(env: &Env) -> Command {
    let mut c = Command::cargo_bin("nhacviec").unwrap();
    c.env_remove("NHACVIEC_STATE_DIR")
        .env_remove("NHACVIEC_DATABASE_URL")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("NHACVIEC_LOG")
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(&env.cfg);
    c
}

fn texts(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_names_each_tables_rows_and_never_the_password() {
    let env = Env::new();
    run_once(&env);
    let deliveries = count_lite(&env.db(), "deliveries");
    let slots = count_lite(&env.db(), "slots");
    assert!(deliveries > 0 && slots > 0);

    // No address anywhere: refused, exit 1.
    let out = cli(&env).args(["store", "copy"]).output().unwrap();
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("chưa có cơ sở dữ liệu đích"), "{err}");

    let target = fresh();
    let out = cli(&env)
        .args(["store", "copy", "--to", &target])
        .output()
        .unwrap();
    let (said, err) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{said}{err}");
    for (table, rows) in [("deliveries", deliveries), ("slots", slots)] {
        let line = said
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("{table} in\n{said}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[1..3], [rows.to_string().as_str(), "dòng"], "{said}");
    }
    assert!(said.contains("Đã chép xong"), "{said}");
    assert!(said.contains("NHACVIEC_DATABASE_URL"), "{said}");
    assert!(
        said.contains(&env.state().join("evidence").display().to_string()),
        "{said}"
    );
    assert!(said.contains("postgres://nhacviec:***@127.0.0.1"), "{said}");
    assert!(
        !said.contains(PASSWORD) && !err.contains(PASSWORD),
        "{said}{err}"
    );
    assert_eq!(
        query_pg(&target, "SELECT COUNT(*) FROM deliveries"),
        deliveries as i64
    );

    // Again into it, the address from the environment this time: refused, exit 1.
    let out = cli(&env)
        .env("NHACVIEC_DATABASE_URL", &target)
        .args(["store", "copy"])
        .output()
        .unwrap();
    let (said, err) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{said}{err}");
    assert!(err.contains("không trống"), "{err}");
    assert!(
        !said.contains(PASSWORD) && !err.contains(PASSWORD),
        "{said}{err}"
    );
    assert_eq!(
        query_pg(&target, "SELECT COUNT(*) FROM deliveries"),
        deliveries as i64
    );

    // A server that refuses the password: exit 2, the password still not shown.
    let wrong = cluster().url_with("postgres", "sai-mat-khau");
    let out = cli(&env)
        .args(["store", "copy", "--to", &wrong])
        .output()
        .unwrap();
    let (said, err) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{said}{err}");
    assert!(err.contains("từ chối đăng nhập"), "{err}");
    assert!(!err.contains("sai-mat-khau"), "{err}");
}

/// A service stopped abruptly after sending leaves marks in its log (`store::marks`): the copy
/// writes them into their rows first, so the messages they mark are not sent again from
/// PostgreSQL.
#[test]
fn marks_a_stopped_service_left_in_its_log_are_copied_as_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nhacviec.db");
    small_state(&db);
    let sent_at = at("2022-06-01T01:00:05Z");
    nhacviec::store::marks::MarkLog::open(&db)
        .unwrap()
        .append(1, sent_at)
        .unwrap();
    assert_eq!(
        query_lite(
            &db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'"
        ),
        1
    );
    let target = fresh();
    copy_to_postgres(&db, &url(&target)).unwrap();
    assert_eq!(
        query_pg(
            &target,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'sent' AND attempts = 1"
        ),
        1
    );
    assert!(nhacviec::store::marks::read(&db).unwrap().is_empty());
}
