//! PostgreSQL's bulk recording (`Store::record_batch`): a batch's slot keys and its
//! deliveries' bodies by binary `COPY`, not as arrays through `INSERT .. SELECT unnest(..)`.
//! A `COPY` skips the statement's per-row work (`ON CONFLICT`'s speculative insertion, the
//! arrays built and taken apart) and writes its rows in batches: the catch-up's hundreds of
//! thousands of superseded keys cost half the server time they did, and the bodies, compressed
//! by LZ4, half again (docs/PERFORMANCE.md, "Recording by COPY").

use super::db::Db;
use super::{Result, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};

/// A slot as recorded: its key, status, delivery (queued ones) and why it was skipped.
pub(super) type SlotRow<'a> = (&'a str, &'a str, Option<i64>, Option<&'a str>);

/// Run with the recording turn, in its transaction: the bodies written in it compressed by
/// LZ4 where the server has it (PostgreSQL 14 and later, built with it, as Debian's are), not
/// the default pglz, which took half of their `COPY`'s time. Only for this transaction
/// (`set_config(.., true)`); elsewhere nothing changes. The values read back the same.
pub(super) const FAST_COMPRESSION: &str =
    "SELECT set_config('default_toast_compression', 'lz4', true)
     FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)";

/// A batch's slots into `table` (`slots` or `trial_slots`), under the recording turn
/// (`recording_turn`'s lock, taken before). Usually none is there yet: one `COPY` takes them
/// all, its unique key refusing any that is. Then (a batch partly recorded before: a
/// superseded key handled by an earlier pass's batch, or another leader's reminders) the
/// `COPY` is undone to its savepoint and the batch goes in as before: refused whole if any of
/// its delivered reminders is recorded ([`StoreError::RecordedElsewhere`]: one reminder never
/// becomes two deliveries), else each slot once, those there kept.
pub(super) fn insert_slots(db: &Db, table: &str, slots: &[SlotRow<'_>], now: &str) -> Result<()> {
    if slots.is_empty() {
        return Ok(());
    }
    db.batch("SAVEPOINT nhacviec_slots")?;
    let sql = format!(
        "COPY {table} (key, status, delivery_id, recorded_at, reason) FROM STDIN (FORMAT binary)"
    );
    let copied = with_client(db, |c| {
        let types = [Type::TEXT, Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT];
        let written = (|| {
            let mut w = BinaryCopyInWriter::new(c.copy_in(sql.as_str())?, &types);
            for (key, status, id, reason) in slots {
                let row: [&(dyn ToSql + Sync); 5] = [key, status, id, &now, reason];
                w.write(&row)?;
            }
            w.finish()
        })();
        match written {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Ok(false),
            Err(e) => Err(e),
        }
    })?;
    if copied {
        return db.batch("RELEASE SAVEPOINT nhacviec_slots");
    }
    db.batch("ROLLBACK TO SAVEPOINT nhacviec_slots")?;
    refuse_recorded(db, table, slots)?;
    insert_slots_ignoring(db, table, slots, now)
}

/// [`StoreError::RecordedElsewhere`] when any of the batch's delivered reminders (its
/// queued slots) is already in `table`.
fn refuse_recorded(db: &Db, table: &str, slots: &[SlotRow<'_>]) -> Result<()> {
    let keys: Vec<&str> = slots
        .iter()
        .filter(|s| s.2.is_some())
        .map(|s| s.0)
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE key = ANY($1::text[])");
    let taken = with_client(db, |c| {
        c.query_one(sql.as_str(), &[&keys])
            .map(|r| r.get::<_, i64>(0))
    })?;
    if taken > 0 {
        return Err(StoreError::RecordedElsewhere { slots: taken });
    }
    Ok(())
}

/// Each slot once, those already in `table` kept: one statement of arrays.
fn insert_slots_ignoring(db: &Db, table: &str, slots: &[SlotRow<'_>], now: &str) -> Result<()> {
    let keys: Vec<&str> = slots.iter().map(|s| s.0).collect();
    let statuses: Vec<&str> = slots.iter().map(|s| s.1).collect();
    let ids: Vec<Option<i64>> = slots.iter().map(|s| s.2).collect();
    let reasons: Vec<Option<&str>> = slots.iter().map(|s| s.3).collect();
    let sql = format!(
        "INSERT INTO {table} (key, status, delivery_id, recorded_at, reason)
         SELECT k, s, d, $4, r FROM unnest($1::text[], $2::text[], $3::bigint[], $5::text[]) AS t(k, s, d, r)
         ON CONFLICT DO NOTHING"
    );
    with_client(db, |c| {
        c.execute(sql.as_str(), &[&keys, &statuses, &ids, &now, &reasons])
            .map(|_| ())
    })
}

/// Deliveries' bodies (their ids taken from the sequence before) by one `COPY`.
pub(super) fn insert_bodies(db: &Db, ids: &[i64], texts: &[&str], htmls: &[&str]) -> Result<()> {
    with_client(db, |c| {
        let types = [Type::INT8, Type::TEXT, Type::TEXT];
        let mut w = BinaryCopyInWriter::new(
            c.copy_in(
                "COPY delivery_bodies (id, body_text, body_html) FROM STDIN (FORMAT binary)",
            )?,
            &types,
        );
        for ((id, text), html) in ids.iter().zip(texts).zip(htmls) {
            let row: [&(dyn ToSql + Sync); 3] = [id, text, html];
            w.write(&row)?;
        }
        w.finish().map(|_| ())
    })
}

fn with_client<T: Send>(
    db: &Db,
    f: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, postgres::Error> + Send,
) -> Result<T> {
    db.with_pg(f)
        .unwrap_or_else(|| Err(StoreError::Malformed("không phải PostgreSQL".into())))
}
