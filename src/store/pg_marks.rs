//! PostgreSQL: the marks of messages sent, made on the sending runtime itself by the async
//! driver, on a connection of their own. A send's place in the pool waits for its mark; on a
//! thread of its own each mark crossed two threads more than the statement's round trip,
//! and the waits were as long as the sends (docs/PERFORMANCE.md, "Marks on the runtime").
//! The marks that wait together go in one statement.

use super::DeliveryStatus;
use crate::pg::DatabaseUrl;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

/// Several delivery ids marked sent at one time ($1 the time, $2 the ids, $3 the status).
pub(super) const MARK_SENT: &str = "UPDATE deliveries SET status = $3, sent_at = $1, attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL, claimed_by = NULL WHERE id = ANY($2)";

/// A mark asked for: the delivery, the time it was sent, and who waits for the answer.
type Mark = (i64, DateTime<Utc>, oneshot::Sender<bool>);

pub struct PgMarks {
    queue: mpsc::UnboundedSender<Mark>,
}

impl PgMarks {
    /// Connects in the background on the current runtime (the marks asked meanwhile wait for
    /// it). If it cannot, each mark answers `false` and its sender marks it on its own
    /// connection.
    pub fn start(url: &DatabaseUrl) -> PgMarks {
        let (queue, asked) = mpsc::unbounded_channel();
        tokio::spawn(serve(url.clone(), asked));
        PgMarks { queue }
    }

    /// Whether `id` is now marked sent at `at`; `false`: the caller marks it.
    pub async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> bool {
        let (done, marked) = oneshot::channel();
        if self.queue.send((id, at, done)).is_err() {
            return false;
        }
        marked.await.unwrap_or(false)
    }
}

/// Marks what is asked until the asking side is dropped (the pass ends).
async fn serve(url: DatabaseUrl, mut asked: mpsc::UnboundedReceiver<Mark>) {
    let client = match url.connect_async().await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "kết nối đánh dấu thư đã gửi bị ngắt");
                }
            });
            client
        }
        Err(e) => {
            tracing::warn!(error = %e, "không mở được kết nối đánh dấu thư đã gửi");
            return;
        }
    };
    // A mark is not waited on the disk for (SQLite's NORMAL): a crash of the database server
    // loses at most the last marks, whose messages go again with their Message-IDs.
    // A mark finds its rows by primary key, always: the statement is prepared once, and its
    // generic plan, made while the recording's first rows were all the table had, could scan
    // the whole table at each of its thousands of runs (in one run in three, 15 million rows
    // read and the pass half as fast again: docs/PERFORMANCE.md).
    let session = "SET synchronous_commit = off; SET enable_seqscan = off";
    let prepared = match client.batch_execute(session).await {
        Ok(()) => client.prepare(MARK_SENT).await,
        Err(e) => Err(e),
    };
    let statement = match prepared {
        Ok(statement) => statement,
        Err(e) => {
            tracing::warn!(error = %e, "không chuẩn bị được lệnh đánh dấu thư đã gửi");
            return;
        }
    };
    let sent = DeliveryStatus::Sent.as_str();
    while let Some(first) = asked.recv().await {
        let mut waiting = vec![first];
        while let Ok(more) = asked.try_recv() {
            waiting.push(more);
        }
        // One statement per time marked (a pass has one).
        let mut times: Vec<DateTime<Utc>> = waiting.iter().map(|w| w.1).collect();
        times.sort_unstable();
        times.dedup();
        let mut failed = Vec::new();
        for at in times {
            let ids: Vec<i64> = waiting.iter().filter(|w| w.1 == at).map(|w| w.0).collect();
            let text = at.to_rfc3339();
            if let Err(e) = client.execute(&statement, &[&text, &ids, &sent]).await {
                tracing::warn!(error = %e, "đánh dấu thư đã gửi chưa được: đánh dấu lại trên kết nối chính");
                failed.push(at);
            }
        }
        for (_, at, done) in waiting {
            let _ = done.send(!failed.contains(&at));
        }
    }
}
