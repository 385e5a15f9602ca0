//! Which instance of the service sends (issue 28, active/passive). With SQLite the one
//! service always leads ([`Lead::Solo`]); on a PostgreSQL database shared by several `run`
//! instances ([`Lead::Shared`]) the one holding `pg::Leadership`'s lock leads and the others
//! stand by. A thread of its own checks the lock every [`LEAD_CHECK`] (the `postgres` client is
//! synchronous and panics inside the runtime) and publishes what it saw; the daemon's loop
//! follows with [`step`], pure: the leader alone evaluates, records and sends.

use crate::pg::Leadership;
use serde::Serialize;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;
use tokio::sync::watch;

/// How often the leader checks that it still leads and a standby tries to take the lead: a
/// takeover comes within three of these after the leader's session ends.
pub const LEAD_CHECK: Duration = Duration::from_secs(5);
/// The longest wait between checks while the database cannot be reached (doubling from
/// [`LEAD_CHECK`]).
pub const LEAD_RETRY_MAX: Duration = Duration::from_secs(60);

/// How this service learns whether it leads.
pub enum Lead {
    /// One service on its own state (SQLite): always the leader, nothing checked.
    Solo,
    /// One of any number on one PostgreSQL database: leads while it holds the lock.
    Shared(Box<Leadership>),
}

/// What `/healthz` says this instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Evaluates, records and sends (with SQLite, always).
    #[default]
    Leader,
    /// Serves the pages, health and reloads; sends nothing.
    Standby,
}

/// What the checks found so far: published by the checking thread after each check that
/// changed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seen {
    /// Whether the last check found this instance leading.
    pub leading: bool,
    /// How many times it took the lock: a lead lost and taken again between two looks of the
    /// loop is a new term, so the loop still stops what it was doing.
    pub term: u64,
    /// The last check's error (Vietnamese, the address without its password); `None` once a
    /// check worked.
    pub error: Option<String>,
    /// Checks failed in a row.
    pub failures: u32,
    /// Whether a check was made at all (the start waits for the first).
    pub checked: bool,
}

impl Seen {
    /// The solo service's view: leading from the start, never checked again.
    pub fn solo() -> Seen {
        Seen {
            leading: true,
            checked: true,
            ..Seen::default()
        }
    }

    /// The view after one check (`Ok(leads)` or its error), and how long to wait before the
    /// next: [`LEAD_CHECK`], or a backoff doubling to [`LEAD_RETRY_MAX`] while checks fail. A
    /// failed check means not leading: the session, and the lock with it, may be gone.
    pub fn after(&self, check: Result<bool, String>) -> (Seen, Duration) {
        match check {
            Ok(leading) => {
                let term = if leading && !self.leading {
                    self.term.saturating_add(1)
                } else {
                    self.term
                };
                let seen = Seen {
                    leading,
                    term,
                    error: None,
                    failures: 0,
                    checked: true,
                };
                (seen, LEAD_CHECK)
            }
            Err(error) => {
                let failures = self.failures.saturating_add(1);
                let wait = LEAD_CHECK
                    .saturating_mul(1 << (failures - 1).min(16))
                    .min(LEAD_RETRY_MAX);
                let seen = Seen {
                    leading: false,
                    term: self.term,
                    error: Some(error),
                    failures,
                    checked: true,
                };
                (seen, wait)
            }
        }
    }
}

/// What the loop does when it looks at the checks' view, given the term it leads in (`None`:
/// it stands by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing changed.
    Stay,
    /// It takes the lead in this term: a start pass at once (catch-up), then the ticks.
    Take(u64),
    /// It no longer leads: stop sending at once, stand by.
    Lose,
    /// It lost the lead and took it again since it last looked: stop what it was doing, then
    /// lead in the new term.
    Retake(u64),
}

/// The loop's next step from `leads_in` (the term it leads in, or `None`) and the checks'
/// view.
pub fn step(leads_in: Option<u64>, seen: &Seen) -> Step {
    match (leads_in, seen.leading) {
        (Some(term), true) if term == seen.term => Step::Stay,
        (Some(_), true) => Step::Retake(seen.term),
        (Some(_), false) => Step::Lose,
        (None, true) => Step::Take(seen.term),
        (None, false) => Step::Stay,
    }
}

/// The loop's end of the checks: the latest view, and a wake-up when it changes. Dropping it
/// ends the checking thread at its next wait, closing the lock's connection (the lead goes to
/// another instance).
pub struct Watch {
    rx: watch::Receiver<Seen>,
    /// Solo: nobody publishes, the sender is kept so the view never closes.
    solo: Option<watch::Sender<Seen>>,
    /// Dropped with the watch: tells the checking thread to end.
    _stop: Option<mpsc::Sender<()>>,
    /// The checking thread ended (it panicked): this instance no longer leads.
    gone: bool,
}

impl Watch {
    /// Starts following `lead`: for a shared database, a thread that checks the lock at once
    /// and then every [`LEAD_CHECK`].
    pub fn start(lead: Lead) -> std::io::Result<Watch> {
        match lead {
            Lead::Solo => {
                let (tx, rx) = watch::channel(Seen::solo());
                Ok(Watch {
                    rx,
                    solo: Some(tx),
                    _stop: None,
                    gone: false,
                })
            }
            Lead::Shared(leadership) => {
                let (tx, rx) = watch::channel(Seen::default());
                let (stop, stopped) = mpsc::channel();
                std::thread::Builder::new()
                    .name("nhacviec-lead".into())
                    .spawn(move || checks(*leadership, &tx, &stopped))?;
                Ok(Watch {
                    rx,
                    solo: None,
                    _stop: Some(stop),
                    gone: false,
                })
            }
        }
    }

    /// A watch fed by hand (tests): the views the checking thread would publish.
    #[cfg(test)]
    fn fed(first: Seen) -> (watch::Sender<Seen>, Watch) {
        let (tx, rx) = watch::channel(first);
        let (stop, _) = mpsc::channel();
        let watch = Watch {
            rx,
            solo: None,
            _stop: Some(stop),
            gone: false,
        };
        (tx, watch)
    }

    /// Whether the lead is checked at all (a shared database).
    pub fn shared(&self) -> bool {
        self.solo.is_none()
    }

    /// The latest view.
    pub fn seen(&self) -> Seen {
        if self.gone {
            return gone(&self.rx.borrow());
        }
        self.rx.borrow().clone()
    }

    /// A receiver of the view, for waiting on it beside the loop (the first check).
    pub fn subscribe(&self) -> watch::Receiver<Seen> {
        self.rx.clone()
    }

    /// Resolves when the view changes (once if the checking thread ended, then never).
    pub async fn changed(&mut self) {
        if self.gone {
            return std::future::pending().await;
        }
        if self.rx.changed().await.is_err() {
            self.gone = true;
        }
    }

    /// Resolves once the view says the lead held in `term` is lost.
    pub async fn lost(&mut self, term: u64) {
        let lost = |s: &Seen| matches!(step(Some(term), s), Step::Lose | Step::Retake(_));
        if self.gone || self.rx.wait_for(lost).await.is_err() {
            self.gone = true;
        }
    }
}

/// The view once the checking thread has ended: not leading.
fn gone(last: &Seen) -> Seen {
    Seen {
        leading: false,
        error: Some("luồng kiểm tra quyền dẫn đầu đã dừng".into()),
        ..last.clone()
    }
}

/// Waits for the first check (at start, before the first pass): its view.
pub async fn first(mut rx: watch::Receiver<Seen>) -> Seen {
    let seen = rx.wait_for(|s| s.checked).await.map(|s| s.clone());
    seen.unwrap_or_else(|_| gone(&rx.borrow()))
}

/// The checking thread: checks, publishes a changed view, waits, until the watch is dropped.
fn checks(mut leadership: Leadership, tx: &watch::Sender<Seen>, stop: &mpsc::Receiver<()>) {
    let mut seen = Seen::default();
    loop {
        let (next, wait) = seen.after(leadership.check().map_err(|e| e.to_string()));
        match &next.error {
            Some(error) => tracing::warn!(
                event = "lead_check_failed",
                error = %error,
                failures = next.failures,
                retry_in_secs = wait.as_secs(),
                "không kiểm tra được quyền dẫn đầu trên cơ sở dữ liệu: máy này không gửi, sẽ thử lại"
            ),
            None if seen.error.is_some() => tracing::info!(
                event = "lead_check_ok",
                "đã kết nối lại cơ sở dữ liệu để kiểm tra quyền dẫn đầu"
            ),
            None => {}
        }
        seen = next;
        tx.send_if_modified(|published| {
            let changed = *published != seen;
            if changed {
                *published = seen.clone();
            }
            changed
        });
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            // The service ended: the lock's connection closes with `leadership`.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The views after each of `checks`, from the start.
    fn views(checks: &[Result<bool, &str>]) -> Vec<(Seen, Duration)> {
        let mut seen = Seen::default();
        checks
            .iter()
            .map(|c| {
                let (next, wait) = seen.after(c.map_err(str::to_string));
                seen = next.clone();
                (next, wait)
            })
            .collect()
    }

    /// The loop's steps over `checks`, starting as a standby that looks after each check, and
    /// following each step as the daemon does.
    fn steps(checks: &[Result<bool, &str>]) -> Vec<Step> {
        let mut leads_in = None;
        views(checks)
            .into_iter()
            .map(|(seen, _)| {
                let s = step(leads_in, &seen);
                match s {
                    Step::Take(t) | Step::Retake(t) => leads_in = Some(t),
                    Step::Lose => leads_in = None,
                    Step::Stay => {}
                }
                s
            })
            .collect()
    }

    #[test]
    fn a_standby_takes_the_lead_when_its_check_gets_the_lock_and_keeps_it() {
        assert_eq!(
            steps(&[Ok(false), Ok(false), Ok(true), Ok(true), Ok(true)]),
            [
                Step::Stay,
                Step::Stay,
                Step::Take(1),
                Step::Stay,
                Step::Stay
            ]
        );
    }

    #[test]
    fn a_leader_whose_check_fails_or_finds_the_lock_gone_stops_at_once() {
        assert_eq!(
            steps(&[Ok(true), Err("kết nối bị đóng"), Ok(false), Ok(true)]),
            [Step::Take(1), Step::Lose, Step::Stay, Step::Take(2)]
        );
        assert_eq!(steps(&[Ok(true), Ok(false)]), [Step::Take(1), Step::Lose]);
    }

    #[test]
    fn a_lead_lost_and_taken_again_between_two_looks_is_a_new_term() {
        let v = views(&[Ok(true), Err("mất kết nối"), Ok(true)]);
        // The loop looked after the first check only: it leads in term 1.
        assert_eq!(step(Some(1), &v[0].0), Step::Stay);
        assert_eq!(step(Some(1), &v[2].0), Step::Retake(2));
        // Looking in between would have seen the loss.
        assert_eq!(step(Some(1), &v[1].0), Step::Lose);
    }

    #[test]
    fn failed_checks_are_retried_with_backoff_and_said_until_one_works() {
        let v = views(&[
            Err("a"),
            Err("b"),
            Err("c"),
            Err("d"),
            Err("e"),
            Err("f"),
            Ok(false),
        ]);
        let waits: Vec<u64> = v.iter().map(|(_, w)| w.as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60, 5]);
        assert_eq!(v[5].0.failures, 6);
        assert_eq!(v[5].0.error.as_deref(), Some("f"));
        assert!(v.iter().all(|(s, _)| s.checked && !s.leading));
        assert_eq!(v[6].0.error, None);
        assert_eq!(v[6].0.failures, 0);
        // A standby that cannot reach the database stays one: it never takes the lead.
        assert!(steps(&[Err("a"), Err("b")])
            .iter()
            .all(|s| *s == Step::Stay));
    }

    #[test]
    fn the_solo_service_leads_from_the_start_and_nothing_moves_it() {
        let solo = Seen::solo();
        assert!(solo.checked);
        assert_eq!(step(Some(solo.term), &solo), Step::Stay);
        assert_eq!(step(None, &solo), Step::Take(solo.term));
        let watch = Watch::start(Lead::Solo).unwrap();
        assert!(!watch.shared());
        assert_eq!(watch.seen(), solo);
    }

    /// What the loop's guard waits on during a pass: nothing while the lead is kept, the loss
    /// as soon as a check fails; a checking thread gone is a lost lead.
    #[tokio::test(flavor = "current_thread")]
    async fn a_pass_is_told_of_a_lost_lead_at_once_and_of_nothing_else() {
        let short = Duration::from_millis(50);
        let (leading, _) = Seen::default().after(Ok(true));
        let (tx, mut watch) = Watch::fed(leading.clone());
        assert!(tokio::time::timeout(short, watch.lost(1)).await.is_err());
        // Checks that keep the lead (a new failure count elsewhere would be a new view).
        tx.send_replace(leading.after(Ok(true)).0);
        assert!(tokio::time::timeout(short, watch.lost(1)).await.is_err());
        let (failed, _) = leading.after(Err("kết nối bị đóng".into()));
        tx.send_replace(failed.clone());
        tokio::time::timeout(short, watch.lost(1))
            .await
            .expect("a failed check is a lost lead");
        assert_eq!(step(Some(1), &watch.seen()), Step::Lose);
        // Taken again: a new term, still a loss for the term the pass ran in.
        tx.send_replace(failed.after(Ok(true)).0);
        tokio::time::timeout(short, watch.lost(1)).await.unwrap();
        assert!(tokio::time::timeout(short, watch.lost(2)).await.is_err());
        // The thread gone: the lead is lost, and the loop is woken once, not forever.
        drop(tx);
        tokio::time::timeout(short, watch.lost(2)).await.unwrap();
        let seen = watch.seen();
        assert!(!seen.leading && seen.error.is_some(), "{seen:?}");
        tokio::time::timeout(short, watch.changed())
            .await
            .unwrap_or(());
        assert!(tokio::time::timeout(short, watch.changed()).await.is_err());
    }

    #[test]
    fn a_view_that_did_not_change_is_not_published_again() {
        let (first, _) = Seen::default().after(Ok(true));
        let (again, _) = first.after(Ok(true));
        assert_eq!(first, again, "a kept lead is the same view: no wake-up");
        let (failing, _) = again.after(Err("x".into()));
        let (failing_again, _) = failing.after(Err("x".into()));
        assert_ne!(failing, failing_again, "the failure count moves");
    }
}
