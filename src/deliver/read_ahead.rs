//! PostgreSQL: the outbox's next deliveries read and claimed on a connection and thread of
//! their own while the ones read before are sent. On the pass's own connection each read held
//! the sends up (the runtime's thread) and let the pool drain: a fifth of a large pass.
//!
//! Its claims are its connection's (`claimed_by`, see `Store::claim_ready`): another leader
//! skips them while it lives, and takes them if it dies. It lets go of what it claimed and the
//! pass did not attempt when the pass ends ([`ReadAhead::finish`]).

use crate::outbox::Delivery;
use crate::store::{Location, Store, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

type Read = Result<Vec<Delivery>, StoreError>;

/// A read asked for: at `now`, at most `limit`, past the delivery `after`.
struct Request {
    now: DateTime<Utc>,
    limit: usize,
    after: i64,
    answer: oneshot::Sender<Read>,
}

/// Dropped without [`ReadAhead::finish`] (a pass ending in an error), its thread still ends on
/// its own once the requests close, releasing its claims.
pub(super) struct ReadAhead {
    requests: std::sync::mpsc::Sender<Request>,
    thread: std::thread::JoinHandle<Result<(), StoreError>>,
}

/// A read under way; `None` when the reader is gone (its connection lost): the pass reads on
/// its own connection instead.
pub(super) struct Pending(oneshot::Receiver<Read>);

impl Pending {
    pub(super) async fn get(self) -> Option<Read> {
        self.0.await.ok()
    }
}

impl ReadAhead {
    /// Started for a PostgreSQL outbox (SQLite's reads are in-process and short). It connects
    /// on its own thread: if it cannot, its reads come back `None` and the pass reads on its
    /// own connection, as before.
    pub(super) fn start(at: &Location) -> Option<ReadAhead> {
        at.pg.as_ref()?;
        let (requests, asked) = std::sync::mpsc::channel::<Request>();
        let at = at.clone();
        let thread = std::thread::Builder::new()
            .name("nhacviec-reads".into())
            .spawn(move || {
                let store = match Store::open_side_at(&at) {
                    Ok(store) => store,
                    Err(e) => {
                        tracing::warn!(error = %e, "không mở được kết nối đọc trước hộp thư đi: đọc trên kết nối chính");
                        return Ok(());
                    }
                };
                while let Ok(r) = asked.recv() {
                    let _ = r.answer.send(store.ready_after(r.now, r.limit, r.after));
                }
                // What it claimed and the pass did not attempt is free for whoever sends next.
                store.release_claims()
            })
            .map_err(|e| tracing::warn!(error = %e, "không mở được luồng đọc hộp thư đi"))
            .ok()?;
        Some(ReadAhead { requests, thread })
    }

    /// Asks for the next read; its answer comes while the caller sends.
    pub(super) fn read(&self, now: DateTime<Utc>, limit: usize, after: i64) -> Pending {
        let (answer, answered) = oneshot::channel();
        // If the thread is gone, `answer` is dropped with the request: `Pending::get` says so.
        let _ = self.requests.send(Request {
            now,
            limit,
            after,
            answer,
        });
        Pending(answered)
    }

    /// Ends the reader, once it has let go of its claims (waits for a read under way).
    pub(super) fn finish(self) -> Result<(), StoreError> {
        drop(self.requests);
        // A panic on its thread: its connection closed with it, and with it its claims.
        self.thread.join().unwrap_or(Ok(()))
    }
}
