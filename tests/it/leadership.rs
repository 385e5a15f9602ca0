//! Two servers on one PostgreSQL database (issue 28): the leader's lock on a private cluster
//! (`support::postgres`), and the connection's errors in words.

use crate::support::postgres::{cluster, PASSWORD};
use nhacviec::pg::{DatabaseUrl, Leadership, PgError};
use std::time::{Duration, Instant};

fn url(text: &str) -> DatabaseUrl {
    DatabaseUrl::parse(text, "NHACVIEC_DATABASE_URL").unwrap()
}

/// Calls `check` every 200 ms until it leads; the time it took.
fn takes_over(standby: &mut Leadership, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if standby.check().unwrap() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "the standby did not take over within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn one_instance_leads_and_another_takes_over_when_its_session_ends() {
    let db = url(&cluster().fresh_database());
    let mut first = Leadership::new(db.clone());
    let mut second = Leadership::new(db.clone());
    assert!(first.check().unwrap(), "the first to ask leads");
    assert!(!second.check().unwrap(), "the lock is not shared");
    assert!(
        first.check().unwrap(),
        "a leader stays one while its session lives"
    );
    assert!(!second.check().unwrap());

    // The leader's process ends (dropped here, SIGKILL in the failover test): its session
    // ends and the standby's next check leads.
    drop(first);
    takes_over(&mut second, Duration::from_secs(15));
    assert!(second.leading());

    // A third instance starting now is a standby.
    let mut third = Leadership::new(db);
    assert!(!third.check().unwrap());
}

#[test]
fn a_leader_whose_session_is_ended_by_the_server_knows_it_no_longer_leads() {
    let db = url(&cluster().fresh_database());
    let mut leader = Leadership::new(db.clone());
    let mut standby = Leadership::new(db.clone());
    assert!(leader.check().unwrap());
    let pid = leader.session_pid().unwrap().unwrap();
    // An operator (or a network cut noticed by the server) ends the leader's session.
    let mut admin = db.connect().unwrap();
    let row = admin
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap();
    assert!(row.get::<_, bool>(0));
    takes_over(&mut standby, Duration::from_secs(15));
    // The old leader's next check fails or finds it standby: never two leaders.
    match leader.check() {
        Ok(leading) => assert!(!leading, "two leaders at once"),
        Err(e) => assert!(e.worth_retrying(), "{e}"),
    }
    assert!(!leader.leading());
    assert!(standby.check().unwrap());
}

#[test]
fn connection_errors_are_said_in_words_and_a_password_never_shown() {
    let c = cluster();
    let wrong = url(&c.url_with("postgres", "sai-mat-khau"));
    let e = wrong.connect().err().expect("a wrong password is refused");
    assert!(matches!(e, PgError::Refused { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("từ chối đăng nhập"), "{text}");
    assert!(
        !text.contains("sai-mat-khau"),
        "the password is shown: {text}"
    );
    assert!(!e.worth_retrying(), "a refused password waits for a person");

    let missing = url(&c.url_with("khong_co", PASSWORD));
    let e = missing.connect().err().expect("a missing database");
    assert!(matches!(e, PgError::NoDatabase { .. }), "{e:?}");
    assert!(e.to_string().contains("createdb"), "{e}");

    let port = crate::support::free_port();
    let down = url(&format!(
        "postgres://nhacviec:{PASSWORD}@127.0.0.1:{port}/nhacviec"
    ));
    let e = down.connect().err().expect("nobody listens there");
    assert!(matches!(e, PgError::Unreachable { .. }), "{e:?}");
    assert!(e.worth_retrying(), "a server down is tried again");
    assert!(e.to_string().contains("không nhận kết nối"), "{e}");
    assert!(!e.to_string().contains(PASSWORD), "{e}");
    assert_eq!(
        down.to_string(),
        format!("postgres://nhacviec:***@127.0.0.1:{port}/nhacviec")
    );
    assert!(!format!("{down:?}").contains(PASSWORD));

    for bad in ["mysql://x@h/db", "postgres://", "postgres://h:notaport/db"] {
        let e = DatabaseUrl::parse(bad, "NHACVIEC_DATABASE_URL")
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(e.to_string().contains("không hợp lệ"), "{e}");
        assert!(e.to_string().contains("NHACVIEC_DATABASE_URL"), "{e}");
    }
}
