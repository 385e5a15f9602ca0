//! The durable state: which reminder slots were handled, and every delivery (one digest to one
//! agency over one channel) with its status. SQLite in WAL mode with `synchronous=FULL`, or
//! PostgreSQL for two servers (`store::db`, `store::pg_schema`); every change in a
//! transaction; this database is the only place state lives.

use crate::clock::Clock;
use crate::config::Channel;
pub use crate::messages::{Attachment, NewDelivery};
pub use crate::outbox::{Delivery, DeliveryStatus, Recorded};
use crate::schedule::{Handled, Item, Tick};
use chrono::{DateTime, NaiveDate, Utc};
use db::{args, Db, Row};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long [`Store::open_writer`] waits for a lock held for moments before it says
/// [`StoreError::Locked`], and how often it looks again.
const LOCK_PATIENCE: Duration = Duration::from_millis(500);
const LOCK_POLL: Duration = Duration::from_millis(20);

/// How long a delivery claimed by a PostgreSQL session for sending stays its own when that
/// session neither marks it nor ends (a hung process): then another leader may send it.
const CLAIM_LEASE: Duration = Duration::from_secs(600);

/// Deliveries decided from which the outbox is vacuumed when the service goes idle
/// ([`Store::tidy_if_due`]).
pub const TIDY_AFTER: usize = 1000;

mod answers;
mod copy;
pub(crate) mod db;
mod evidence;
pub mod marks;
pub mod meta;
mod pg_bulk;
pub mod pg_marks;
pub mod pg_schema;
mod refusals;
mod roles;
pub use answers::{PageAnswers, RecordError, ResponseFilter};
pub use copy::{copy_to_postgres, CopyError, CopyReport};
pub use evidence::NewEvidence;
pub use meta::{Entry, Put, RefusalSpell};
pub use roles::{Answers, ChangeFeed, Outbox, OutboxAdmin, ZaloToken, ZaloTokens};

/// Schema migrations, in order; `PRAGMA user_version` is how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: slots handled, deliveries, and a little metadata.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE slots (
        key TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('queued', 'skipped', 'suppressed')),
        delivery_id INTEGER REFERENCES deliveries(id),
        recorded_at TEXT NOT NULL
     );
     CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tick_at TEXT NOT NULL,
        agency TEXT NOT NULL,
        channel TEXT NOT NULL,
        recipients TEXT NOT NULL,
        subject TEXT NOT NULL,
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL,
        items TEXT NOT NULL,
        thread TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'retrying', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
     );
     CREATE INDEX deliveries_status ON deliveries (status, next_attempt_at);
     CREATE INDEX deliveries_agency ON deliveries (agency);",
    // 2: whether a failed delivery has been reported to the admin.
    "ALTER TABLE deliveries ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;",
    // 3: the Zalo token pair (the refresh token is single-use: only ever one row).
    "CREATE TABLE zalo_token (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        access_token TEXT,
        refresh_token TEXT NOT NULL,
        expires_at TEXT,
        updated_at TEXT NOT NULL
     );",
    // 4: message bodies apart from the delivery's status: marking a delivery sent rewrote its
    // whole row, bodies included (tens of KB into the WAL for each mark).
    "CREATE TABLE delivery_bodies (
        id INTEGER PRIMARY KEY REFERENCES deliveries(id),
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL
     );
     INSERT INTO delivery_bodies (id, body_text, body_html) SELECT id, body_text, body_html FROM deliveries;
     UPDATE deliveries SET body_text = '', body_html = '';",
    // 5: what is ready to send, in order, without sorting every pending delivery each time.
    "CREATE INDEX deliveries_ready ON deliveries (id, next_attempt_at) WHERE status IN ('pending', 'retrying');",
    // 6: why a slot was skipped: 'superseded' (a later reminder of the same stream went
    // instead) or 'horizon' (older than the catch-up horizon when first seen).
    "ALTER TABLE slots ADD COLUMN reason TEXT;",
    // 7: `retry --dead` gives a dead delivery a fresh give-up budget by restarting
    // `created_at` (what `give_up_after_hours` counts from); the first one is kept here.
    "ALTER TABLE deliveries ADD COLUMN first_created_at TEXT;",
    // 8: what agencies answer on their pages (an audit trail: rows are never deleted; an undo
    // sets `undone_at`), and the extensions granted.
    "CREATE TABLE responses (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agency TEXT NOT NULL,
        plan TEXT NOT NULL,
        task TEXT NOT NULL,
        deadline TEXT,
        action TEXT NOT NULL CHECK (action IN ('done', 'progress', 'extension')),
        done_on TEXT,
        doc_ref TEXT,
        note TEXT,
        percent INTEGER CHECK (percent BETWEEN 0 AND 100),
        proposed TEXT,
        created_at TEXT NOT NULL,
        key_id TEXT NOT NULL,
        client TEXT,
        user_agent TEXT,
        nonce TEXT NOT NULL UNIQUE,
        undone_at TEXT,
        granted INTEGER REFERENCES extensions(id)
     );
     CREATE INDEX responses_agency ON responses (agency, plan, task);
     CREATE TABLE extensions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agency TEXT NOT NULL,
        plan TEXT NOT NULL,
        task TEXT NOT NULL,
        from_deadline TEXT NOT NULL,
        to_deadline TEXT NOT NULL,
        doc_ref TEXT,
        granted_at TEXT NOT NULL
     );",
    // 9: an extension request the monitoring office refused: when, and why (told the agency).
    "ALTER TABLE responses ADD COLUMN refused_at TEXT;
     ALTER TABLE responses ADD COLUMN refusal TEXT;",
    // 10: a file sent with an email (the weekly report's workbook), beside the bodies.
    "ALTER TABLE delivery_bodies ADD COLUMN attachment_name TEXT;
     ALTER TABLE delivery_bodies ADD COLUMN attachment_type TEXT;
     ALTER TABLE delivery_bodies ADD COLUMN attachment BLOB;",
    // 11: an answer bound to exactly the occurrence it names (1 for every answer from now on);
    // 0 for those stored before, whose completion of a recurring task covered the periods up
    // to it.
    "ALTER TABLE responses ADD COLUMN exact INTEGER NOT NULL DEFAULT 0;",
    // 12: a file attached to an answer (evidence), stored once by its SHA-256 under
    // `<state>/evidence/`; one row per answer that carried it.
    "CREATE TABLE evidence (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        response_id INTEGER NOT NULL REFERENCES responses(id),
        sha256 TEXT NOT NULL,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size > 0),
        stored_at TEXT NOT NULL
     );
     CREATE INDEX evidence_response ON evidence (response_id);
     CREATE INDEX evidence_sha256 ON evidence (sha256);",
    // 13: who answered (name and position, asked on every answer from now on), and the
    // monitoring office's review of a completion: confirmed, or returned with its reason.
    "ALTER TABLE responses ADD COLUMN person TEXT;
     ALTER TABLE responses ADD COLUMN position TEXT;
     ALTER TABLE responses ADD COLUMN reviewed_at TEXT;
     ALTER TABLE responses ADD COLUMN review TEXT CHECK (review IN ('confirmed', 'returned'));
     ALTER TABLE responses ADD COLUMN review_reason TEXT;",
    // 14: the files sent with an email, any number, in order (the weekly report's workbook and
    // the report to sign). Migration 10's one file per delivery moves here as its first; its
    // columns are left empty.
    "CREATE TABLE delivery_attachments (
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (delivery_id, seq)
     );
     INSERT INTO delivery_attachments (delivery_id, seq, name, media_type, bytes)
        SELECT id, 0, attachment_name, attachment_type, attachment FROM delivery_bodies
        WHERE attachment_name IS NOT NULL AND attachment_type IS NOT NULL AND attachment IS NOT NULL;
     UPDATE delivery_bodies SET attachment_name = NULL, attachment_type = NULL, attachment = NULL
        WHERE attachment IS NOT NULL;",
    // 15: trial mode's own ledger (`Ledger::Trial`): the slots a trial pass handled, apart
    // from the real ones so that a rehearsal never consumes a real reminder; and which
    // deliveries went to the trial address.
    "ALTER TABLE deliveries ADD COLUMN trial INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE trial_slots (
        key TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('queued', 'skipped', 'suppressed')),
        delivery_id INTEGER REFERENCES deliveries(id),
        recorded_at TEXT NOT NULL,
        reason TEXT
     );",
    // 16: bounded answers (issue 30). An agency has one pending extension request per
    // occurrence: a new one supersedes the pending ones (`superseded_by`, and `undone_at` so
    // every reader already leaves them out; rows are kept). The latest answer (not withdrawn)
    // of each occurrence kept in `response_heads` by triggers, so that pages read the answers
    // they show, not all of them; indexes for the daily cap and the completions.
    "ALTER TABLE responses ADD COLUMN superseded_by INTEGER REFERENCES responses(id);
     UPDATE responses SET superseded_by = (
            SELECT MAX(r2.id) FROM responses r2
            WHERE r2.agency = responses.agency AND r2.plan = responses.plan
              AND r2.task = responses.task AND r2.deadline IS responses.deadline
              AND r2.action = 'extension' AND r2.undone_at IS NULL
              AND r2.granted IS NULL AND r2.refused_at IS NULL),
          undone_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
        WHERE action = 'extension' AND undone_at IS NULL AND granted IS NULL AND refused_at IS NULL
          AND id < (SELECT MAX(r2.id) FROM responses r2
            WHERE r2.agency = responses.agency AND r2.plan = responses.plan
              AND r2.task = responses.task AND r2.deadline IS responses.deadline
              AND r2.action = 'extension' AND r2.undone_at IS NULL
              AND r2.granted IS NULL AND r2.refused_at IS NULL);
     CREATE INDEX responses_occurrence ON responses (agency, plan, task, deadline, id)
        WHERE undone_at IS NULL;
     CREATE INDEX responses_day ON responses (agency, created_at);
     CREATE INDEX responses_done ON responses (id) WHERE action = 'done' AND undone_at IS NULL;
     CREATE INDEX responses_pending ON responses (id)
        WHERE action = 'extension' AND undone_at IS NULL AND granted IS NULL AND refused_at IS NULL;
     CREATE TABLE response_heads (
        agency TEXT NOT NULL,
        plan TEXT NOT NULL,
        task TEXT NOT NULL,
        deadline TEXT NOT NULL,
        response_id INTEGER NOT NULL,
        PRIMARY KEY (agency, plan, task, deadline)
     ) WITHOUT ROWID;
     INSERT INTO response_heads
        SELECT agency, plan, task, COALESCE(deadline, ''), MAX(id) FROM responses
        WHERE undone_at IS NULL GROUP BY agency, plan, task, COALESCE(deadline, '');
     CREATE TRIGGER responses_supersede AFTER INSERT ON responses
        WHEN NEW.action = 'extension' AND NEW.undone_at IS NULL
     BEGIN
        UPDATE responses SET undone_at = NEW.created_at, superseded_by = NEW.id
        WHERE agency = NEW.agency AND plan = NEW.plan AND task = NEW.task
          AND deadline IS NEW.deadline AND action = 'extension' AND id < NEW.id
          AND undone_at IS NULL AND granted IS NULL AND refused_at IS NULL;
     END;
     CREATE TRIGGER response_heads_insert AFTER INSERT ON responses WHEN NEW.undone_at IS NULL
     BEGIN
        INSERT OR REPLACE INTO response_heads
        VALUES (NEW.agency, NEW.plan, NEW.task, COALESCE(NEW.deadline, ''), NEW.id);
     END;
     CREATE TRIGGER response_heads_undo AFTER UPDATE OF undone_at ON responses
     BEGIN
        DELETE FROM response_heads WHERE agency = NEW.agency AND plan = NEW.plan
          AND task = NEW.task AND deadline = COALESCE(NEW.deadline, '');
        INSERT INTO response_heads
          SELECT agency, plan, task, COALESCE(deadline, ''), MAX(id) FROM responses
          WHERE agency = NEW.agency AND plan = NEW.plan AND task = NEW.task
            AND deadline IS NEW.deadline AND undone_at IS NULL
          GROUP BY agency, plan, task, COALESCE(deadline, '');
     END;",
    // 17: a delivery handed over to another channel (a Zalo or webhook message that went by
    // email instead) says so in a column, the email delivery's id, instead of in its error's
    // text; `retry --dead` leaves such a delivery dead. Rows from before are read from the text
    // `deliver` wrote, "chuyển sang email (#id): ..." (0 when the id does not read).
    "ALTER TABLE deliveries ADD COLUMN handed_over INTEGER;
     UPDATE deliveries SET handed_over = CAST(
            substr(last_error, 21, instr(substr(last_error, 21), ')') - 1) AS INTEGER)
        WHERE status = 'dead' AND last_error LIKE 'chuyển sang email (#%';",
    // 18: on PostgreSQL, which session claimed a delivery to send it, until when (two
    // leaders at once never send one delivery twice: `Store::ready`). Unused on SQLite, whose
    // one writer is the only sender; kept alike so that `store copy` moves rows as they are.
    "ALTER TABLE deliveries ADD COLUMN claimed_by INTEGER;
     ALTER TABLE deliveries ADD COLUMN claimed_until TEXT;",
    // 19: on PostgreSQL the files attached to answers are kept in the database, once per
    // content, so that every server's pages serve them (`Store::evidence_bytes`). Empty on
    // SQLite, whose files stay under `evidence/`; `store copy` fills it from there.
    "CREATE TABLE evidence_files (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);",
];

/// The schema version from which `deliveries.handed_over` exists (migration 17).
const HANDED_OVER_SCHEMA: i64 = 17;

/// Which record of what was handled a pass reads and writes. Trial mode ([`Config::trial`]:
/// `[email] redirect_all_to`) is a rehearsal with a ledger of its own: its slot keys in
/// `trial_slots`, its meta (watermark, schedule fingerprint, weekly report and daily summary
/// times) under keys prefixed `trial:`, its deliveries flagged `trial`. A trial pass counts a
/// slot as handled when either ledger has it (it shows what is still to send); a real pass
/// counts only the real ledger, so switching trial mode off leaves every real reminder and
/// report to go out as usual.
///
/// [`Config::trial`]: crate::config::Config::trial
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ledger {
    #[default]
    Real,
    Trial,
}

impl Ledger {
    /// The ledger a pass under `config` uses.
    pub fn of(config: &crate::config::Config) -> Ledger {
        if config.trial() {
            Ledger::Trial
        } else {
            Ledger::Real
        }
    }

    /// The meta key `key` is kept under in this ledger (`meta::Entry::key` is the real one's).
    fn key(self, key: &str) -> String {
        match self {
            Ledger::Real => key.to_string(),
            Ledger::Trial => format!("trial:{key}"),
        }
    }

    /// Whether a delivery over `channel` recorded in this ledger goes to the trial address:
    /// trial mode redirects email only (`messages::digests`, `outbox::fallback`); Zalo and
    /// webhook messages reach the agencies all the same, so they are real deliveries.
    pub fn redirects(self, channel: Channel) -> bool {
        self == Ledger::Trial && channel == Channel::Email
    }

    fn slots_table(self) -> &'static str {
        match self {
            Ledger::Real => "slots",
            Ledger::Trial => "trial_slots",
        }
    }
}

/// One ledger's share of a tick: the deliveries made, the slots they carry, and the slots
/// skipped and suppressed (`Tick::digests` is not read: the deliveries carry the items).
#[derive(Debug, Clone, Copy)]
pub struct Share<'a> {
    pub ledger: Ledger,
    pub deliveries: &'a [NewDelivery],
    pub tick: &'a Tick,
}

/// What the last batch of a tick writes ([`Store::record_batch`]): `mode`'s watermark and
/// the schedule's fingerprint through it.
#[derive(Debug, Clone, Copy)]
pub struct TickEnd<'a> {
    pub mode: Ledger,
    pub watermark: NaiveDate,
    pub fingerprint: &'a str,
}

/// The store seen through one [`Ledger`] ([`Store::ledger`]): what it counts as handled
/// (`schedule::Handled`), its watermark and schedule fingerprint, its meta. What a pass, and a
/// preview that starts where the service left off, evaluate against.
pub struct LedgerView<'a> {
    store: &'a Store,
    ledger: Ledger,
}

impl LedgerView<'_> {
    pub fn kind(&self) -> Ledger {
        self.ledger
    }

    /// The last day whose ticks this ledger fully recorded: slots dated up to it are all
    /// handled in it (in trial mode, in it or in the real one).
    pub fn watermark(&self) -> Result<Option<NaiveDate>> {
        self.get(&meta::Watermark)
    }

    /// The schedule's fingerprint through the watermark when it was recorded
    /// (`Schedule::fingerprint_through`).
    pub fn fingerprint(&self) -> Result<Option<String>> {
        self.get(&meta::SlotsFingerprint)
    }

    /// This ledger as `forecast` reads it (`preview`, `check`, the reload log): what it
    /// handled, its watermark and fingerprint. In trial mode a preview then shows what the
    /// trial passes will still send.
    pub fn forecast(&self) -> Result<crate::forecast::Ledger<'_>> {
        // The settings' monitor's report times (a plan's own office keeps its own, alike); a
        // real ledger after a trial one counts the trial's (`deliver::weekly_report_of`).
        let settings = meta::WeeklyReportAt(None);
        let last_report = match self.get(&settings)? {
            Some(at) => Some(at),
            None if self.ledger == Ledger::Real => self.store.get_in(Ledger::Trial, &settings)?,
            None => self.store.get(&settings)?,
        };
        Ok(crate::forecast::Ledger {
            handled: self,
            watermark: self.watermark()?,
            fingerprint: self.fingerprint()?,
            last_report,
        })
    }

    /// This ledger's value of a meta entry (trial mode's own for the entries kept per ledger).
    pub fn get<E: Entry>(&self, entry: &E) -> Result<Option<E::Value>> {
        self.store.get_in(self.ledger, entry)
    }

    /// The failures this ledger's daily summary has not told: dead deliveries not yet
    /// reported, and deliveries still retrying after three attempts. Trial mode's summary
    /// tells the trial deliveries' only, leaving the real ones to the real summary.
    pub fn failures_to_report(&self) -> Result<(Vec<Delivery>, Vec<Delivery>)> {
        let trial = self.ledger == Ledger::Trial;
        let dead = self.store.select(
            "WHERE status = ?2 AND reported = 0 AND trial = ?1 ORDER BY id",
            args![trial, DeliveryStatus::Dead.as_str()],
        )?;
        let stuck = self.store.select(
            "WHERE status = ?2 AND attempts >= 3 AND trial = ?1 ORDER BY id",
            args![trial, DeliveryStatus::Retrying.as_str()],
        )?;
        Ok((dead, stuck))
    }
}

/// Keys per bulk lookup (`LedgerView::handled_among`).
const PREFETCH_CHUNK: usize = 20_000;

impl LedgerView<'_> {
    /// [`Handled::handled_among`] on SQLite: the keys as one JSON array per chunk, joined to
    /// the ledger in one statement. One key per statement made each lookup a read transaction
    /// of its own (shared-memory locks taken and released: most of a catch-up's evaluation).
    fn handled_among_lite(
        &self,
        conn: &rusqlite::Connection,
        keys: &[&str],
    ) -> Option<HashSet<String>> {
        let sql = match self.ledger {
            Ledger::Real => "SELECT s.key FROM json_each(?1) j JOIN slots s ON s.key = j.value",
            Ledger::Trial => {
                "SELECT s.key FROM json_each(?1) j JOIN slots s ON s.key = j.value
                 UNION SELECT t.key FROM json_each(?1) j JOIN trial_slots t ON t.key = j.value"
            }
        };
        let mut found = HashSet::new();
        for chunk in keys.chunks(PREFETCH_CHUNK) {
            let json = serde_json::to_string(chunk).ok()?;
            let mut stmt = conn.prepare_cached(sql).ok()?;
            let rows = stmt.query_map([json], |r| r.get::<_, String>(0)).ok()?;
            for key in rows {
                found.insert(key.ok()?);
            }
        }
        Some(found)
    }
}

impl Handled for LedgerView<'_> {
    /// `None` when the store fails: the keys are then asked one by one, where a failure is
    /// noted (`is_handled`).
    fn handled_among(&self, keys: &[&str]) -> Option<HashSet<String>> {
        if keys.is_empty() {
            return Some(HashSet::new());
        }
        if let Some(conn) = self.store.db.lite() {
            return self.handled_among_lite(conn, keys);
        }
        let sql = match self.ledger {
            Ledger::Real => "SELECT key FROM slots WHERE key = ANY($1::text[])",
            Ledger::Trial => {
                "SELECT key FROM slots WHERE key = ANY($1::text[]) UNION SELECT key FROM trial_slots WHERE key = ANY($1::text[])"
            }
        };
        let mut found = HashSet::new();
        for chunk in keys.chunks(PREFETCH_CHUNK) {
            let rows = self.store.db.with_pg(|c| {
                c.query(sql, &[&chunk]).map(|rows| {
                    rows.iter()
                        .map(|r| r.get::<_, String>(0))
                        .collect::<Vec<_>>()
                })
            })?;
            found.extend(rows.ok()?);
        }
        Some(found)
    }

    fn is_handled(&self, key: &str) -> bool {
        let sql = match self.ledger {
            Ledger::Real => "SELECT 1 FROM slots WHERE key = ?1",
            Ledger::Trial => {
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM slots WHERE key = ?1) OR EXISTS (SELECT 1 FROM trial_slots WHERE key = ?1)"
            }
        };
        let found = self.store.db.exists(sql, args![key]);
        // If the store cannot answer, treat the slot as handled for now, and remember: the
        // tick must then fail rather than record (and advance the watermark past) a slot it
        // never looked at.
        found.unwrap_or_else(|_| {
            self.store.lookup_failed.set(true);
            true
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("không mở được cơ sở dữ liệu {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("cơ sở dữ liệu {path} đang được một tiến trình nhacviec khác dùng (chỉ một tiến trình `run` được chạy cùng lúc)")]
    Locked { path: PathBuf },
    #[error("cơ sở dữ liệu có phiên bản cấu trúc {found}, mới hơn phiên bản {known} mà chương trình này biết: hãy dùng bản nhacviec mới hơn")]
    NewerSchema { found: i64, known: i64 },
    /// A PostgreSQL database holding another application's tables: never touched.
    #[error("cơ sở dữ liệu PostgreSQL này đã có bảng {tables} của ứng dụng khác mà không có bảng nhacviec_schema: đây không phải cơ sở dữ liệu của nhacviec, chương trình không dùng và không sửa nó (hãy tạo một cơ sở dữ liệu trống riêng cho nhacviec)")]
    Foreign { tables: String },
    #[error("cơ sở dữ liệu {path} có phiên bản cấu trúc {found} (số âm): đây không phải cơ sở dữ liệu của nhacviec hoặc tệp đã bị sửa; không dùng tệp này")]
    BadSchema { path: PathBuf, found: i64 },
    #[error(
        "ổ đĩa chứa cơ sở dữ liệu đã đầy: giải phóng dung lượng rồi chạy lại (không mất dữ liệu)"
    )]
    Full,
    #[error("cơ sở dữ liệu chỉ đọc: kiểm tra quyền ghi của thư mục trạng thái")]
    ReadOnly,
    #[error("lỗi đọc ghi đĩa của cơ sở dữ liệu (thường do ổ đĩa đầy): giải phóng dung lượng hoặc kiểm tra ổ đĩa rồi chạy lại (dữ liệu đã ghi không mất)")]
    Io,
    #[error("lỗi cơ sở dữ liệu: {0}")]
    Sql(rusqlite::Error),
    /// PostgreSQL could not be reached or refused us (see [`crate::pg::PgError`]).
    #[error("{0}")]
    Postgres(crate::pg::PgError),
    #[error("lỗi cơ sở dữ liệu PostgreSQL: {}", pg_text(.0))]
    PgQuery(postgres::Error),
    /// Another service recorded some of this batch's reminders first (two leaders at once on
    /// PostgreSQL): nothing of the batch is written; the next pass finds them handled.
    #[error("một máy khác vừa ghi {slots} lời nhắc của lượt này (hai máy cùng dẫn đầu trong giây lát): lượt này không ghi gì, lượt sau tính lại")]
    RecordedElsewhere { slots: i64 },
    /// A query that must return a row returned none.
    #[error("lỗi cơ sở dữ liệu: không có dòng nào")]
    NoRow,
    /// A value this program wrote that does not read back (a newer version's, or an edited
    /// row): an error naming the value, never a silent default.
    #[error("cơ sở dữ liệu có giá trị không đọc được: {0}")]
    Malformed(String),
    /// A meta value this program wrote that does not read back (`meta::Entry`).
    #[error("cơ sở dữ liệu có giá trị không đọc được ở mục {key}: {value:?}")]
    Meta { key: String, value: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        match e.sqlite_error_code() {
            Some(DiskFull) => StoreError::Full,
            Some(ReadOnly) => StoreError::ReadOnly,
            Some(SystemIoFailure) => StoreError::Io,
            _ => StoreError::Sql(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    pub(crate) fn from_pg(e: postgres::Error) -> StoreError {
        StoreError::PgQuery(e)
    }

    /// Whether the database refused a row for a unique key (a form's nonce sent twice).
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) => {
                f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            }
            StoreError::PgQuery(e) => {
                e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }

    /// Whether the database itself is out of reach (PostgreSQL's server or network): trying
    /// again later may succeed.
    pub fn worth_retrying(&self) -> bool {
        match self {
            StoreError::Postgres(e) => e.worth_retrying(),
            // The session or server gone (57: shut down, 08: connection), out of resources
            // (53), or a transaction that lost a race (40: serialization, deadlock).
            StoreError::PgQuery(e) => {
                db::session_lost(e)
                    || e.code().is_some_and(|c| {
                        ["53", "40"].iter().any(|class| c.code().starts_with(class))
                    })
            }
            StoreError::Full | StoreError::Io => true,
            _ => false,
        }
    }
}

fn pg_text(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

/// Where the state is: the SQLite database file, or a PostgreSQL database (`pg`), beside
/// which `path`'s directory still holds the answers' attached files.
#[derive(Clone, Debug)]
pub struct Location {
    pub path: PathBuf,
    pub pg: Option<crate::pg::DatabaseUrl>,
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location {
            path: path.to_path_buf(),
            pg: None,
        }
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::from(path.as_path())
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location { path, pg: None }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pg {
            Some(url) => write!(f, "{url}"),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

pub struct Store {
    db: Db,
    path: PathBuf,
    /// The PostgreSQL database, when the state is there.
    pg: Option<crate::pg::DatabaseUrl>,
    /// Held for the life of a writer: one `run` per database.
    _lock: Option<File>,
    /// Random per database, so Message-IDs stay unique if a database is ever recreated.
    instance: String,
    /// A slot lookup failed since the last check (see [`Store::take_lookup_failure`]).
    lookup_failed: std::cell::Cell<bool>,
    /// Deliveries claimed on PostgreSQL since the last `release_claims`: a pass that claimed
    /// nothing (a quiet tick) lets go of nothing (the statement read every delivery).
    claimed: std::cell::Cell<bool>,
    /// Deliveries decided (PostgreSQL) since the outbox was last vacuumed
    /// ([`Store::tidy_if_due`]).
    untidy: std::cell::Cell<usize>,
    /// The clock the rows' own times are read from (created, ready at, tokens): the system's,
    /// or the service's shifted one (`run --now`), so what it records is ready on its clock.
    clock: Clock,
    /// The schema version the database had when opened: a reader does not migrate, and reads
    /// an older database as the migrations would have left it.
    schema: i64,
    /// A writer's second connection, kept between passes for their recording
    /// (`deliver::record_and_send`).
    recorder: std::cell::RefCell<Option<Box<Store>>>,
    /// The service's own PostgreSQL session: its marks after sending do not wait for the
    /// disk (`normal_sync`), like SQLite's.
    pg_async_marks: bool,
    /// The last counts by status, at a `Db::changes` mark (PostgreSQL).
    counts_cache: std::cell::RefCell<Option<((u64, i64), StatusCounts)>>,
}

/// Delivery `id`'s Message-ID: the same at every attempt, so a resend after a crash is the
/// same message.
fn message_id(instance: &str, id: i64, domain: &str) -> String {
    format!("<nhacviec.{instance}.{id}@{domain}>")
}

/// Inserts a pending delivery and gives it its Message-ID, derived from the row so that a
/// resend after a crash carries the same one.
#[allow(clippy::too_many_arguments)]
fn insert_delivery(
    tx: &Db,
    instance: &str,
    domain: &str,
    d: &NewDelivery,
    tick_at: &str,
    items: &str,
    now: &str,
    trial: bool,
) -> Result<i64> {
    if tx.is_pg() {
        let ids = insert_deliveries_pg(
            tx,
            instance,
            domain,
            std::slice::from_ref(d),
            &|_| trial,
            Some(items),
            tick_at,
            now,
            None,
        )?;
        return ids.first().copied().ok_or(StoreError::NoRow);
    }
    // The id is known before the row is written (the write lock is held: see
    // `next_delivery_id`), so the row goes in with its Message-ID in one statement.
    let id = next_delivery_id(tx)?;
    insert_delivery_lite(tx, id, instance, domain, d, tick_at, items, now, trial)
}

/// [`insert_delivery`] on SQLite as delivery `id` (the next one: `next_delivery_id`, or one
/// past the last this transaction wrote).
#[allow(clippy::too_many_arguments)]
fn insert_delivery_lite(
    tx: &Db,
    id: i64,
    instance: &str,
    domain: &str,
    d: &NewDelivery,
    tick_at: &str,
    items: &str,
    now: &str,
    trial: bool,
) -> Result<i64> {
    let message_id = message_id(instance, id, domain);
    tx.execute(
        "INSERT INTO deliveries (id, tick_at, agency, channel, recipients, subject, body_text, body_html, items, thread, message_id, status, created_at, next_attempt_at, trial)
         VALUES (?11, ?1, ?2, ?3, ?4, ?5, '', '', ?6, ?7, ?12, ?10, ?8, ?8, ?9)",
        args![
            tick_at,
            &d.agency,
            d.channel.name(),
            serde_json::to_string(&d.recipients).unwrap_or_default(),
            &d.subject,
            items,
            &d.thread,
            now,
            trial,
            DeliveryStatus::Pending.as_str(),
            id,
            message_id,
        ],
    )?;
    tx.execute(
        "INSERT INTO delivery_bodies (id, body_text, body_html) VALUES (?1, ?2, ?3)",
        args![id, &d.body_text, &d.body_html],
    )?;
    insert_attachments(tx, id, d)?;
    Ok(id)
}

/// The id SQLite's AUTOINCREMENT would give the next delivery: past the highest ever given
/// (`sqlite_sequence`, so an id is never reused after a delete) and the highest present.
/// Only inside a transaction that holds the write lock, so no other connection takes it.
fn next_delivery_id(tx: &Db) -> Result<i64> {
    tx.query_row(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'), 0),
                    COALESCE((SELECT MAX(id) FROM deliveries), 0)) + 1",
        args![],
        |r| r.get(0),
    )
}

/// A delivery's files, in order.
fn insert_attachments(tx: &Db, id: i64, d: &NewDelivery) -> Result<()> {
    for (seq, a) in d.attachments.iter().enumerate() {
        tx.execute(
            "INSERT INTO delivery_attachments (delivery_id, seq, name, media_type, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![id, seq, &a.name, &a.content_type, &a.bytes],
        )?;
    }
    Ok(())
}

/// Deliveries on PostgreSQL in three statements, not three per delivery: their ids taken from
/// the sequence, the rows (with their Message-IDs) and their bodies as arrays. `trial` says
/// which go to the trial address; `items` the stored items of all, else each one's own. Their
/// ids, in order.
#[allow(clippy::too_many_arguments)]
fn insert_deliveries_pg(
    tx: &Db,
    instance: &str,
    domain: &str,
    deliveries: &[NewDelivery],
    trial: &dyn Fn(&NewDelivery) -> bool,
    items: Option<&str>,
    tick_at: &str,
    now: &str,
    claimed_until: Option<&str>,
) -> Result<Vec<i64>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let n = deliveries.len() as i64;
    let mut ids: Vec<i64> = tx.query_map(
        "SELECT nextval(pg_get_serial_sequence('deliveries', 'id')) FROM generate_series(1, ?1)",
        args![n],
        |r| r.get(0),
    )?;
    ids.sort_unstable();
    let agencies: Vec<&str> = deliveries.iter().map(|d| d.agency.as_str()).collect();
    let channels: Vec<&str> = deliveries.iter().map(|d| d.channel.name()).collect();
    let recipients: Vec<String> = deliveries
        .iter()
        .map(|d| serde_json::to_string(&d.recipients).unwrap_or_default())
        .collect();
    let subjects: Vec<&str> = deliveries.iter().map(|d| d.subject.as_str()).collect();
    let items: Vec<String> = deliveries
        .iter()
        .map(|d| match items {
            Some(items) => items.to_string(),
            None => serde_json::to_string(&d.items).unwrap_or_default(),
        })
        .collect();
    let threads: Vec<&str> = deliveries.iter().map(|d| d.thread.as_str()).collect();
    let message_ids: Vec<String> = ids
        .iter()
        .map(|id| message_id(instance, *id, domain))
        .collect();
    let trials: Vec<i64> = deliveries.iter().map(|d| i64::from(trial(d))).collect();
    let texts: Vec<&str> = deliveries.iter().map(|d| d.body_text.as_str()).collect();
    let htmls: Vec<&str> = deliveries.iter().map(|d| d.body_html.as_str()).collect();
    let pending = DeliveryStatus::Pending.as_str();
    let written = tx.with_pg(|c| {
        c.execute(
            "INSERT INTO deliveries (id, tick_at, agency, channel, recipients, subject, body_text, body_html, items, thread, message_id, status, created_at, next_attempt_at, trial, claimed_by, claimed_until)
             SELECT id, $2, agency, channel, recipients, subject, '', '', items, thread, message_id, $10, $11, $11, trial,
                    CASE WHEN $13::text IS NOT NULL THEN pg_backend_pid() END, $13
             FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $12::bigint[])
                  AS t(id, agency, channel, recipients, subject, items, thread, message_id, trial)",
            &[&ids, &tick_at, &agencies, &channels, &recipients, &subjects, &items, &threads, &message_ids, &pending, &now, &trials, &claimed_until],
        )
        .map(|_| ())
    });
    if let Some(written) = written {
        written?;
    }
    pg_bulk::insert_bodies(tx, &ids, &texts, &htmls)?;
    for (id, d) in ids.iter().zip(deliveries) {
        insert_attachments(tx, *id, d)?;
    }
    Ok(ids)
}

/// Files the program creates are readable by its user only (Zalo tokens, message bodies),
/// whatever the umask.
pub const FILE_MODE: u32 = 0o600;
/// Directories it creates, likewise.
pub const DIR_MODE: u32 = 0o700;

/// Writes `bytes` at `path` whole or not at all, and durably: a temporary file beside it with
/// exactly `mode` (set again after creation: the umask may only have narrowed it), its data
/// synced, renamed over `path`, the directory synced. A reader never sees half a file; a
/// crash leaves the old file or the new one; a failure leaves no temporary file behind.
/// (Delivery's .eml files share their syncs across a pass instead: `channels::email`.)
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("nhacviec"),
        uuid::Uuid::new_v4().simple()
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Creates `dir` and its missing parents, each new one [`DIR_MODE`]; an existing directory
/// keeps its mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            create_private_dir(parent)?;
        }
    }
    match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {
            // The umask may have taken bits the owner needs.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes an existing file [`FILE_MODE`] when it is open to others (files made by an
/// earlier version, under the umask); a missing one is left missing.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o777 != FILE_MODE => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `path` with `suffix` appended to its file name (`nhacviec.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// A `file:` URI for `path` with `query` (SQLite URI filenames: `?`, `#` and `%` escaped).
fn sqlite_uri(path: &Path, query: &str) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

/// The schema version, read before anything writes: a database this program cannot use
/// (newer, or not ours) is refused untouched.
fn check_version(conn: &Connection, path: &Path) -> Result<i64> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version < 0 {
        return Err(StoreError::BadSchema {
            path: path.to_path_buf(),
            found: version,
        });
    }
    if version > known {
        return Err(StoreError::NewerSchema {
            found: version,
            known,
        });
    }
    Ok(version)
}

/// Whether the database at `path` exists: `Err` when that cannot be told (a state directory
/// this user may not enter), so a reader never mistakes a database it cannot see for none at
/// all (and reports "nothing sent yet" or warns of a first start that is not one).
pub fn exists(path: &Path) -> Result<bool> {
    path.try_exists().map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        reason: if e.kind() == std::io::ErrorKind::PermissionDenied {
            "không có quyền đọc thư mục trạng thái: chạy lệnh bằng người dùng của dịch vụ (sudo -u nhacviec nhacviec ...)".into()
        } else {
            e.to_string()
        },
    })
}

/// Whether a process holds the database at `path` as its writer (the service, or a `run
/// --once`): its lock file is locked. Nothing is created; the lock is let go at once.
pub fn writer_active(path: &Path) -> bool {
    let Ok(lock) = std::fs::OpenOptions::new()
        .write(true)
        .open(path.with_extension("lock"))
    else {
        return false;
    };
    matches!(lock.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// SQLite's busy handler (see `Store::configure`): `true` to try again after 200 µs.
fn wait_for_lock(attempts: i32) -> bool {
    std::thread::sleep(Duration::from_micros(200));
    attempts < 25_000
}

impl Store {
    /// Opens (creating if needed) the database for the process that ticks and delivers. Only
    /// one such process at a time: a second gets [`StoreError::Locked`].
    pub fn open_writer(path: &Path) -> Result<Store> {
        use std::os::unix::fs::OpenOptionsExt;
        let open_error = |e: std::io::Error| StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("không tạo được thư mục {}: {e}", dir.display()),
            })?;
        }
        let lock_path = path.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(FILE_MODE)
            .open(&lock_path)
            .map_err(open_error)?;
        make_private(&lock_path).map_err(open_error)?;
        // A lock held for moments is not a second writer: a process that is just exiting, or
        // a child another thread forked while the lock was open (it holds the descriptor
        // until its exec), lets go within milliseconds. Wait that long before refusing.
        let mut waited = Duration::ZERO;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if waited < LOCK_PATIENCE => {
                    std::thread::sleep(LOCK_POLL);
                    waited += LOCK_POLL;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        path: path.to_path_buf(),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::Open {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        // The database is created here, private; SQLite gives its -wal and -shm the mode of
        // the database file.
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(FILE_MODE)
            .open(path)
            .map_err(open_error)?;
        for p in [
            path.to_path_buf(),
            with_suffix(path, "-wal"),
            with_suffix(path, "-shm"),
        ] {
            make_private(&p).map_err(open_error)?;
        }
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        check_version(&conn, path)?;
        let mut store = Store::new(
            Db::Lite(conn),
            path,
            None,
            Some(lock),
            MIGRATIONS.len() as i64,
        );
        store.configure()?;
        store.migrate()?;
        store.instance = store.instance_id()?;
        // Marks a crash left in the log (see `marks`), before anything reads the outbox.
        store.fold_mark_log()?;
        Ok(store)
    }

    /// Opens the database to change one small thing (`zalo login`) beside a running writer;
    /// creates it if there is none yet.
    pub fn open_side(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Store::open_writer(path);
        }
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        check_version(&conn, path)?;
        let mut store = Store::new(Db::Lite(conn), path, None, None, MIGRATIONS.len() as i64);
        store.configure()?;
        store.migrate()?;
        // A side connection queues messages too (the dashboard's decisions, `extend`): their
        // Message-IDs carry the database's instance like the writer's.
        store.instance = store.instance_id()?;
        Ok(store)
    }

    /// Opens an existing database to read (`history`), alongside a running writer. It never
    /// writes or creates a file: with no `-wal` file (no writer open, everything in the
    /// database file) it reads the file as immutable, so a database on a read-only mount or
    /// in a directory this user cannot write is readable; with one, it joins the writer's WAL
    /// read-only.
    pub fn open_reader(path: &Path) -> Result<Store> {
        if !exists(path)? {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                reason: "chưa có (chưa chạy lần nào)".into(),
            });
        }
        let query = if with_suffix(path, "-wal").exists() {
            "mode=ro"
        } else {
            "mode=ro&immutable=1"
        };
        let conn = Connection::open_with_flags(
            sqlite_uri(path, query),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let schema = check_version(&conn, path)?;
        Ok(Store::new(Db::Lite(conn), path, None, None, schema))
    }

    fn new(
        db: Db,
        path: &Path,
        pg: Option<crate::pg::DatabaseUrl>,
        lock: Option<File>,
        schema: i64,
    ) -> Store {
        Store {
            db,
            path: path.to_path_buf(),
            pg,
            _lock: lock,
            instance: String::new(),
            lookup_failed: std::cell::Cell::new(false),
            claimed: std::cell::Cell::new(false),
            untidy: std::cell::Cell::new(0),
            clock: Clock::System,
            recorder: std::cell::RefCell::new(None),
            schema,
            pg_async_marks: false,
            counts_cache: Default::default(),
        }
    }

    /// Where this store is: another connection to it is opened with this.
    pub fn location(&self) -> Location {
        Location {
            path: self.path.clone(),
            pg: self.pg.clone(),
        }
    }

    /// The SQLite connection, for tests that look at the rows themselves.
    #[cfg(test)]
    fn conn(&self) -> &rusqlite::Connection {
        self.db.lite().expect("an SQLite store")
    }

    /// Whether the state is in PostgreSQL (two servers) rather than SQLite.
    pub fn is_shared(&self) -> bool {
        self.pg.is_some()
    }

    /// A PostgreSQL store: the schema made or brought up to date (a newer one is refused
    /// before anything is written), the change feed listened to when `listen`.
    fn open_pg(path: &Path, url: &crate::pg::DatabaseUrl, listen: bool) -> Result<Store> {
        let db = Db::Pg(Box::new(db::PgConn::connect(url)?));
        let schema = pg_schema::migrate(&db)?;
        if listen {
            db.listen()?;
        }
        let mut store = Store::new(db, path, Some(url.clone()), None, schema);
        store.pg_async_marks = listen;
        store.instance = store.instance_id()?;
        Ok(store)
    }

    /// A PostgreSQL store to read, as [`Store::open_reader`]: nothing migrated or written
    /// (an older schema is read as it is), an empty database is no store yet.
    fn open_pg_reader(path: &Path, url: &crate::pg::DatabaseUrl) -> Result<Store> {
        let db = Db::Pg(Box::new(db::PgConn::connect(url)?));
        let schema = pg_schema::version(&db)?;
        if schema == 0 {
            return Err(StoreError::Open {
                path: PathBuf::from(url.to_string()),
                reason: "chưa có (chưa chạy lần nào)".into(),
            });
        }
        let mut store = Store::new(db, path, Some(url.clone()), None, schema);
        store.instance = store.get(&meta::Instance)?.unwrap_or_default();
        Ok(store)
    }

    /// Opens the store at `at` for the service (see [`Store::open_writer`]); on PostgreSQL
    /// every instance opens it alike (the leader is chosen apart, `pg::Leadership`).
    pub fn open_writer_at(at: &Location) -> Result<Store> {
        match &at.pg {
            Some(url) => Store::open_pg(&at.path, url, true),
            None => Store::open_writer(&at.path),
        }
    }

    /// A connection beside the service's (see [`Store::open_side`]).
    pub fn open_side_at(at: &Location) -> Result<Store> {
        match &at.pg {
            Some(url) => Store::open_pg(&at.path, url, false),
            None => Store::open_side(&at.path),
        }
    }

    /// A connection to read (see [`Store::open_reader`]).
    pub fn open_reader_at(at: &Location) -> Result<Store> {
        match &at.pg {
            Some(url) => Store::open_pg_reader(&at.path, url),
            None => Store::open_reader(&at.path),
        }
    }

    /// Whether a slot lookup failed since the last call.
    pub fn take_lookup_failure(&self) -> bool {
        self.lookup_failed.replace(false)
    }

    /// This connection with its rows' times read from `clock` (see [`Store`]'s `clock`).
    pub fn with_clock(mut self, clock: Clock) -> Store {
        self.clock = clock;
        self
    }

    /// The clock this connection's rows are stamped with.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    fn now_text(&self) -> String {
        self.clock.now().to_rfc3339()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&mut self) -> Result<()> {
        let Db::Lite(conn) = &mut self.db else {
            return Ok(());
        };
        // Waits for another connection's write lock (a pass's recording beside its sends) in
        // short steps, about 5 s in all: SQLite's own handler sleeps up to 100 ms a step, and
        // the sends, waiting out a batch being recorded, overslept it by tens of milliseconds.
        conn.busy_handler(Some(wait_for_lock))?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Two levels of durability. What is recorded before sending (the outbox, tokens) is
        // committed with synchronous=FULL (see `durable`): it survives a power cut. Marks
        // after sending ("sent", "retrying") use NORMAL, which WAL keeps through a crash of
        // the process; a power cut can only undo a mark, so a message may go twice (with the
        // same Message-ID), never be lost. One fsync per sent message would cap delivery at
        // the disk's sync rate.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Up to 64 MB of page cache (the default is 2 MB): a catch-up records hundreds of
        // thousands of slot keys in random order, and with a small cache each insert read its
        // index pages back from the OS. Pages are allocated only as used and handed back when
        // the service goes idle (`release_memory`).
        conn.pragma_update(None, "cache_size", -65536)?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let Db::Lite(conn) = &mut self.db else {
            return Ok(());
        };
        let version = check_version(conn, &self.path)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn instance_id(&self) -> Result<String> {
        if let Some(id) = self.get(&meta::Instance)? {
            return Ok(id);
        }
        // A side connection may open a database whose writer never gave it one yet, at the
        // same moment as the writer: the first insert wins, both read it.
        self.db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            args![
                meta::Instance.key().as_ref(),
                format!("{:016x}", rand_u64())
            ],
        )?;
        self.get(&meta::Instance)?.ok_or_else(|| StoreError::Meta {
            key: meta::Instance.key().into_owned(),
            value: String::new(),
        })
    }

    /// The store seen through `ledger`: what a pass in that mode counts as handled, its
    /// watermark and fingerprint. `store.ledger(Ledger::of(config))` is what a pass uses.
    pub fn ledger(&self, ledger: Ledger) -> LedgerView<'_> {
        LedgerView {
            store: self,
            ledger,
        }
    }

    /// The real ledger's watermark (see [`LedgerView::watermark`]).
    pub fn watermark(&self) -> Result<Option<NaiveDate>> {
        self.ledger(Ledger::Real).watermark()
    }

    /// Forgets both ledgers' watermarks (after a config change: moved deadlines may add past
    /// slots).
    pub fn reset_watermark(&self) -> Result<()> {
        let tx = self.db.begin()?;
        for ledger in [Ledger::Real, Ledger::Trial] {
            delete_meta(&tx, &ledger.key(&meta::Watermark.key()))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many deliveries trial mode made (`history` points at them).
    pub fn trial_deliveries(&self) -> Result<usize> {
        let n: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE trial = 1",
            args![],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// The real ledger's value of a meta entry (the only one, for those not kept per
    /// ledger).
    pub fn get<E: Entry>(&self, entry: &E) -> Result<Option<E::Value>> {
        self.get_in(Ledger::Real, entry)
    }

    /// `ledger`'s value of a meta entry.
    pub fn get_in<E: Entry>(&self, ledger: Ledger, entry: &E) -> Result<Option<E::Value>> {
        let key = ledger.key(&entry.key());
        let text: Option<String> =
            self.db
                .query_opt("SELECT value FROM meta WHERE key = ?1", args![&key], |r| {
                    r.get(0)
                })?;
        text.map(|value| entry.decode(&value).ok_or(StoreError::Meta { key, value }))
            .transpose()
    }

    /// Sets a meta entry (the real ledger's).
    pub fn put<E: Entry>(&self, entry: &E, value: &E::Value) -> Result<()> {
        self.put_in(Ledger::Real, entry, value)
    }

    /// Sets `ledger`'s meta entry.
    pub fn put_in<E: Entry>(&self, ledger: Ledger, entry: &E, value: &E::Value) -> Result<()> {
        set_meta(&self.db, &Put::of(ledger, entry, value))
    }

    /// Removes a meta entry (the real ledger's).
    pub fn remove<E: Entry>(&self, entry: &E) -> Result<()> {
        delete_meta(&self.db, &entry.key())
    }

    /// Moves every delivery of `channel` that is ready at `now` to `at`, without counting an
    /// attempt: the server refuses every message, so the rest of the pass waits with the one
    /// that was refused.
    pub fn postpone_channel(
        &self,
        channel: crate::config::Channel,
        now: DateTime<Utc>,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<usize> {
        self.db.execute(
            "UPDATE deliveries SET next_attempt_at = ?3, last_error = ?4 WHERE status IN ('pending', 'retrying') AND channel = ?1 AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)",
            args![channel.name(), now.to_rfc3339(), at.to_rfc3339(), why],
        )
    }

    /// A transaction that inserts deliveries: on SQLite it takes the write lock at once, as
    /// their ids are read before they are written (`next_delivery_id`); on PostgreSQL the ids
    /// come from the sequence.
    fn begin_deliveries(&self) -> Result<db::Tx<'_>> {
        if self.db.is_pg() {
            self.db.begin()
        } else {
            self.db.begin_write()
        }
    }

    /// Whether this connection's commits checkpoint the WAL into the database (SQLite's
    /// default, every 1000 pages). A pass's sends leave it to its recording's connection: a
    /// checkpoint copies pages and syncs the database file, on the thread that sends.
    pub fn checkpoint_on_commit(&self, yes: bool) -> Result<()> {
        let pages = if yes { 1000 } else { 0 };
        if let Some(conn) = self.db.lite() {
            conn.pragma_update(None, "wal_autocheckpoint", pages)?;
        }
        Ok(())
    }

    /// The next commit reaches the disk before it returns (see `configure`).
    fn full_sync(&self) -> Result<()> {
        match self.db.lite() {
            Some(conn) => conn.pragma_update(None, "synchronous", "FULL")?,
            // PostgreSQL's own: the commit waits for its WAL on disk.
            None => self.db.batch("SET synchronous_commit = on")?,
        }
        Ok(())
    }

    /// Back to WAL's crash-safe NORMAL for marks after sending.
    fn normal_sync(&self) -> Result<()> {
        match self.db.lite() {
            Some(conn) => conn.pragma_update(None, "synchronous", "NORMAL")?,
            // Marks after sending, as on SQLite: not waiting for the disk. A crash of the
            // database server may undo the last marks (a message sent again, with its
            // Message-ID), never a record.
            None if self.pg_async_marks => self.db.batch("SET synchronous_commit = off")?,
            None => {}
        }
        Ok(())
    }

    /// Records one batch of a tick in one transaction (committed with synchronous=FULL before
    /// it returns, so its deliveries may be sent at once): each share's deliveries with the
    /// slots they carry, and its skipped and suppressed slots. The batch carrying `end` writes
    /// the watermark and fingerprint too: a pass that stops between batches leaves them as
    /// they were, and the next one evaluates again, finding the recorded slots handled.
    pub fn record_batch(
        &mut self,
        tick_at: DateTime<Utc>,
        shares: &[Share<'_>],
        end: Option<TickEnd<'_>>,
        domain: &str,
    ) -> Result<Vec<i64>> {
        let recorded = self.record_batch_as(tick_at, shares, end, domain, false)?;
        Ok(recorded.iter().map(|r| r.id).collect())
    }

    /// [`Store::record_batch`] for a pass that sends what it records at once: what each
    /// delivery was recorded with, in the shares' order, so the pass need not read them back
    /// (`Delivery::recorded`); on PostgreSQL claimed by this session (as [`Store::ready`]
    /// would), until marked or [`Store::release_claims`].
    pub fn record_batch_to_send(
        &mut self,
        tick_at: DateTime<Utc>,
        shares: &[Share<'_>],
        end: Option<TickEnd<'_>>,
        domain: &str,
    ) -> Result<Vec<Recorded>> {
        self.record_batch_as(tick_at, shares, end, domain, true)
    }

    fn record_batch_as(
        &mut self,
        tick_at: DateTime<Utc>,
        shares: &[Share<'_>],
        end: Option<TickEnd<'_>>,
        domain: &str,
        to_send: bool,
    ) -> Result<Vec<Recorded>> {
        let at = self.clock.now();
        let now = at.to_rfc3339();
        let lease = (to_send && self.db.is_pg()).then(|| {
            (at + chrono::Duration::from_std(CLAIM_LEASE).unwrap_or_default()).to_rfc3339()
        });
        self.full_sync()?;
        let tx = self.begin_deliveries()?;
        if self.db.is_pg() {
            recording_turn(&tx)?;
        }
        let mut recorded = Vec::new();
        let mut next_id: Option<i64> = None;
        let tick_text = tick_at.to_rfc3339();
        for share in shares {
            let tick = share.tick;
            // Every slot this tick handles, inserted in key order: in the order they come, a
            // catch-up's hundreds of thousands of keys land all over the index, and each
            // insert reads and rewrites pages at random.
            let mut slots: Vec<(&str, &str, Option<i64>, Option<&str>)> =
                Vec::with_capacity(tick.skipped.len() + tick.stale.len() + tick.suppressed.len());
            let made = if self.db.is_pg() {
                insert_deliveries_pg(
                    &tx,
                    &self.instance,
                    domain,
                    share.deliveries,
                    &|d| share.ledger.redirects(d.channel),
                    None,
                    &tick_text,
                    &now,
                    lease.as_deref(),
                )?
            } else {
                Vec::new()
            };
            for (n, d) in share.deliveries.iter().enumerate() {
                let id = if tx.is_pg() {
                    made.get(n).copied().ok_or(StoreError::NoRow)?
                } else {
                    // The next id asked once a batch: this transaction holds the write lock,
                    // so each row it writes takes the one after the last.
                    let id = match next_id {
                        Some(id) => id,
                        None => next_delivery_id(&tx)?,
                    };
                    next_id = Some(id + 1);
                    insert_delivery_lite(
                        &tx,
                        id,
                        &self.instance,
                        domain,
                        d,
                        &tick_text,
                        &serde_json::to_string(&d.items).unwrap_or_default(),
                        &now,
                        share.ledger.redirects(d.channel),
                    )?
                };
                slots.extend(
                    d.items
                        .iter()
                        .map(|i| (i.key.as_str(), "queued", Some(id), None)),
                );
                recorded.push(Recorded {
                    id,
                    message_id: message_id(&self.instance, id, domain),
                    created_at: at,
                    trial: share.ledger.redirects(d.channel),
                });
            }
            slots.extend(
                tick.skipped
                    .iter()
                    .map(|k| (k.as_str(), "skipped", None, Some("superseded"))),
            );
            slots.extend(
                tick.stale
                    .iter()
                    .map(|k| (k.as_str(), "skipped", None, Some("horizon"))),
            );
            slots.extend(
                tick.suppressed
                    .iter()
                    .map(|k| (k.as_str(), "suppressed", None, None)),
            );
            slots.sort_by(|a, b| a.0.cmp(b.0));
            insert_slots(&tx, share.ledger.slots_table(), &slots, &now)?;
        }
        if let Some(end) = end {
            set_meta(&tx, &Put::of(end.mode, &meta::Watermark, &end.watermark))?;
            // The schedule the watermark was computed against (see
            // `Schedule::fingerprint_through`).
            set_meta(
                &tx,
                &Put::of(
                    end.mode,
                    &meta::SlotsFingerprint,
                    &end.fingerprint.to_string(),
                ),
            )?;
        }
        tx.commit()?;
        self.normal_sync()?;
        if lease.is_some() && !recorded.is_empty() {
            self.claimed.set(true);
        }
        Ok(recorded)
    }

    /// Records deliveries that are not part of a tick (a report, one per address), the
    /// failures they report, and the metadata saying they were made, in one transaction.
    /// `ledger` is the pass's: in trial mode an email is a trial delivery.
    pub fn record_extra(
        &self,
        ledger: Ledger,
        deliveries: &[NewDelivery],
        reported: &[i64],
        meta: &[Put],
        domain: &str,
    ) -> Result<Vec<i64>> {
        self.record_extra_at(ledger, deliveries, reported, meta, domain, self.clock.now())
    }

    /// [`Store::record_extra`] made by the pass at `at` (a report under `run --once --now`
    /// says the time of its pass, as reminders do).
    pub fn record_extra_at(
        &self,
        ledger: Ledger,
        deliveries: &[NewDelivery],
        reported: &[i64],
        meta: &[Put],
        domain: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        // The pass's time; the row's creation is the clock's (retries count from it).
        let (tick_at, now) = (at.to_rfc3339(), self.now_text());
        // `&self`: the sender side records fallbacks and alerts while it holds the store.
        self.full_sync()?;
        let tx = self.begin_deliveries()?;
        let mut ids = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            ids.push(insert_delivery(
                &tx,
                &self.instance,
                domain,
                d,
                &tick_at,
                "[]",
                &now,
                ledger.redirects(d.channel),
            )?);
        }
        for r in reported {
            tx.execute("UPDATE deliveries SET reported = 1 WHERE id = ?1", args![r])?;
        }
        for put in meta {
            set_meta(&tx, put)?;
        }
        tx.commit()?;
        self.normal_sync()?;
        Ok(ids)
    }

    /// The stored Zalo token pair: (access token, refresh token, access expiry).
    #[allow(clippy::type_complexity)]
    pub fn zalo_token(&self) -> Result<Option<(Option<String>, String, Option<DateTime<Utc>>)>> {
        self.db.query_opt(
            "SELECT access_token, refresh_token, expires_at FROM zalo_token WHERE id = 1",
            args![],
            |r| {
                let exp: Option<String> = r.get(2)?;
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    exp.and_then(|e| DateTime::parse_from_rfc3339(&e).ok())
                        .map(|e| e.with_timezone(&Utc)),
                ))
            },
        )
    }

    /// Stores a token pair, durably, before it is used (the old refresh token is dead now).
    pub fn set_zalo_token(
        &self,
        access: Option<&str>,
        refresh: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let tx = self.db.begin()?;
        tx.execute(
            "INSERT INTO zalo_token (id, access_token, refresh_token, expires_at, updated_at) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET access_token = excluded.access_token, refresh_token = excluded.refresh_token,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            args![access, refresh, expires_at.map(|e| e.to_rfc3339()), self.now_text()],
        )?;
        delete_meta(&tx, &meta::ZaloStopped.key())?;
        tx.commit()?;
        self.normal_sync()?;
        Ok(())
    }

    /// Failures the admin has not been told of: dead deliveries not yet reported, and
    /// deliveries still retrying after three attempts (reported again each day until settled).
    /// The real ledger's (see [`LedgerView::failures_to_report`]).
    pub fn failures_to_report(&self) -> Result<(Vec<Delivery>, Vec<Delivery>)> {
        self.ledger(Ledger::Real).failures_to_report()
    }

    /// Deliveries to attempt now: pending, or retrying whose next attempt has come.
    pub fn ready(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        self.ready_after(now, limit, 0)
    }

    /// [`Store::ready`] past the delivery `after`: a pass reads on from what it read last, so
    /// that a message it sent and marked in the log (`marks`), not yet folded into its row,
    /// is not read again; on PostgreSQL, that what it has read ahead and is still sending
    /// (`deliver`'s read-ahead) is not claimed again.
    pub fn ready_after(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        after: i64,
    ) -> Result<Vec<Delivery>> {
        if self.db.is_pg() {
            return self.claim_ready(now, limit, after);
        }
        // The ids first, in order from the partial index of what is waiting: ordering whole
        // rows, or every pending id, at each call made a pass quadratic in its size.
        self.select(
            "WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_ready WHERE status IN ('pending', 'retrying') AND (next_attempt_at IS NULL OR next_attempt_at <= ?1) AND id > ?3 ORDER BY id LIMIT ?2) ORDER BY id",
            args![now.to_rfc3339(), limit, after],
        )
    }

    /// The marks in `marks` (sent at their times) written into their rows, in one
    /// transaction; a row no longer waiting (already marked, or decided otherwise) is left
    /// as it is, so folding one twice changes nothing. How many rows changed. SQLite's mark
    /// log only (`store::marks`): PostgreSQL has none, and changes nothing here.
    pub fn fold_marks(&self, marks: &[(i64, DateTime<Utc>)]) -> Result<usize> {
        let Some(conn) = self.db.lite().filter(|_| !marks.is_empty()) else {
            return Ok(0);
        };
        let rows: Vec<(i64, String)> = marks
            .iter()
            .map(|(id, at)| (*id, at.to_rfc3339()))
            .collect();
        let json =
            serde_json::to_string(&rows).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let tx = self.db.begin_write()?;
        // One statement for all of them: each statement builds a temporary index for the
        // table's `CHECK (status IN (...))` (see `insert_slots_lite`). The `+` keeps the
        // status index out of the plan: through it, each mark scanned every waiting row.
        let changed = conn.execute(
            "UPDATE deliveries SET status = ?1, sent_at = j.value ->> 1, attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL, claimed_by = NULL
             FROM json_each(?2) j
             WHERE deliveries.id = j.value ->> 0 AND +deliveries.status IN ('pending', 'retrying')",
            rusqlite::params![DeliveryStatus::Sent.as_str(), json],
        )?;
        tx.commit()?;
        Ok(changed)
    }

    /// Every mark in the log beside this SQLite database folded into its row, durably, then
    /// the log emptied (see `marks`). Only by the writer (it holds the state's lock, so no
    /// pass appends meanwhile). How many rows changed.
    pub fn fold_mark_log(&self) -> Result<usize> {
        if self.db.is_pg() {
            return Ok(0);
        }
        let io = |e: std::io::Error| StoreError::Open {
            path: marks::path_of(&self.path),
            reason: e.to_string(),
        };
        let logged = marks::read(&self.path).map_err(io)?;
        if logged.is_empty() {
            // Emptied all the same: a torn line a crash left would join the next mark's.
            marks::clear(&self.path).map_err(io)?;
            return Ok(0);
        }
        self.full_sync()?;
        let folded = self.fold_marks(&logged);
        self.normal_sync()?;
        let folded = folded?;
        marks::clear(&self.path).map_err(io)?;
        Ok(folded)
    }

    /// [`Store::ready`] on PostgreSQL, where two leaders may run at once (a lead lost and
    /// taken while the old one still sends): the rows are claimed for this session
    /// (`claimed_by`, its server process) with row locks, so no other session claims them
    /// until this one marks them or ends, or `CLAIM_LEASE` passes.
    fn claim_ready(&self, now: DateTime<Utc>, limit: usize, after: i64) -> Result<Vec<Delivery>> {
        let until = now + chrono::Duration::from_std(CLAIM_LEASE).unwrap_or_default();
        // The rows claimed and returned whole by one statement.
        let (columns, _) = self.delivery_columns();
        let mut claimed = self.deliveries_by(
            &format!(
                "UPDATE deliveries SET claimed_by = pg_backend_pid(), claimed_until = ?3
                 WHERE id IN (SELECT id FROM deliveries
                     WHERE status IN ('pending', 'retrying') AND (next_attempt_at IS NULL OR next_attempt_at <= ?1) AND id > ?4
                       AND (claimed_by IS NULL OR claimed_by = pg_backend_pid() OR claimed_until <= ?1
                            OR claimed_by NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL))
                     ORDER BY id LIMIT ?2 FOR UPDATE SKIP LOCKED)
                 RETURNING {columns}"
            ),
            args![now.to_rfc3339(), limit, until.to_rfc3339(), after],
        )?;
        if !claimed.is_empty() {
            self.claimed.set(true);
        }
        // `RETURNING` keeps no order.
        claimed.sort_unstable_by_key(|d| d.id);
        Ok(claimed)
    }

    /// Gives back the page cache this connection holds (up to 2 MB by default); it refills from
    /// the OS cache on the next pass. Called when the service goes idle between ticks.
    pub fn release_memory(&self) {
        if let Some(Err(e)) = self.db.lite().map(|c| c.release_memory()) {
            tracing::debug!(error = %e, "sqlite release_memory");
        }
        if let Some(side) = self.recorder.borrow().as_ref() {
            side.release_memory();
        }
    }

    /// The connection kept for recording passes beside this one, if any (taken: given back
    /// with [`Store::keep_recorder`]).
    pub fn take_recorder(&self) -> Option<Store> {
        self.recorder.borrow_mut().take().map(|s| *s)
    }

    /// Keeps `side` for the next pass's recording.
    pub fn keep_recorder(&self, side: Option<Store>) {
        *self.recorder.borrow_mut() = side.map(Box::new);
    }

    /// When the next retry is due, if any delivery is waiting.
    pub fn next_attempt(&self) -> Result<Option<DateTime<Utc>>> {
        // The statuses written out: the partial index `deliveries_ready` is matched on this text.
        self.db.query_row(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status IN ('pending', 'retrying')",
            args![],
            |r| stored_instant_opt(r, 0),
        )
    }

    /// Runs `f` in one transaction: marks of attempts that ended together commit at once.
    pub fn batch<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let tx = self.db.begin()?;
        let out = f()?;
        tx.commit()?;
        Ok(out)
    }

    /// A transaction that takes the write lock at once (`BEGIN IMMEDIATE`): one that reads
    /// and then writes (is this request still pending?) on a side connection, beside the
    /// pages' other connections, waits its turn and then sees what the one before it wrote,
    /// instead of failing at its first write when another committed meanwhile.
    fn write_transaction(&self) -> Result<db::Tx<'_>> {
        self.db.begin_write()
    }

    /// A read transaction: one snapshot of what is read in it.
    fn read_snapshot(&self) -> Result<db::Tx<'_>> {
        self.db.begin_snapshot()
    }

    pub fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.db.execute("UPDATE deliveries SET status = ?3, sent_at = ?1, attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL, claimed_by = NULL WHERE id = ?2",
            args![at.to_rfc3339(), id, DeliveryStatus::Sent.as_str()])?;
        Ok(())
    }

    /// SQLite, the connection folding the mark log: its commits do not wait for the disk
    /// (NORMAL) and leave the WAL's checkpoints to the recording's connection (see
    /// `checkpoint_on_commit`), so a fold never waits for one. PostgreSQL's marks set their
    /// own session so (`pg_marks`); nothing here.
    pub fn marks_without_waiting(&self) -> Result<()> {
        if let Some(conn) = self.db.lite() {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        Ok(())
    }

    /// Lets go of the deliveries this session claimed and did not mark (a pass stopped: a
    /// lead lost, SIGTERM, a channel postponed), so another leader sends them at once rather
    /// than after `CLAIM_LEASE`. Nothing on SQLite, which claims nothing.
    pub fn release_claims(&self) -> Result<()> {
        if self.db.is_pg() && self.claimed.get() {
            // Only what still waits can be claimed again (the status index, not every row).
            self.db.execute(
                "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL
                 WHERE claimed_by = pg_backend_pid() AND status IN ('pending', 'retrying')",
                args![],
            )?;
            self.claimed.set(false);
        }
        Ok(())
    }

    /// Counts `n` deliveries decided (sent, retrying, dead) towards the next
    /// [`Store::tidy_if_due`]. Nothing on SQLite, whose rows are updated in place.
    pub fn note_decided(&self, n: usize) {
        if self.db.is_pg() {
            self.untidy.set(self.untidy.get().saturating_add(n));
        }
    }

    /// PostgreSQL, once [`TIDY_AFTER`] deliveries or more were decided since the last time:
    /// their old row versions cleared now (`VACUUM`), not when autovacuum comes. Until then
    /// each quiet tick's reads of what waits (`next_attempt`, the claim) step over every one
    /// of them in the status indexes: 4.6 ms a read after the national catch-up. The service
    /// calls it when it goes idle, after the pass (a `run --once` has no quiet tick after its
    /// pass and leaves them to autovacuum). Skipped when another vacuum holds the table.
    /// Whether it vacuumed.
    pub fn tidy_if_due(&self) -> Result<bool> {
        if self.untidy.get() < TIDY_AFTER {
            return Ok(false);
        }
        self.db
            .batch("VACUUM (SKIP_LOCKED, ANALYZE) deliveries, delivery_bodies")?;
        self.untidy.set(0);
        Ok(true)
    }

    /// [`Store::mark_sent`] for several at once: one statement on PostgreSQL.
    pub fn mark_sent_all(&self, ids: &[i64], at: DateTime<Utc>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let at = at.to_rfc3339();
        let sent = DeliveryStatus::Sent.as_str();
        let marked = self
            .db
            .with_pg(|c| c.execute(pg_marks::MARK_SENT, &[&at, &ids, &sent]));
        if let Some(marked) = marked {
            marked?;
            return Ok(());
        }
        // On SQLite one transaction for them, unless the caller's is open.
        let tx = match self.db.lite() {
            Some(conn) if ids.len() > 1 && conn.is_autocommit() => Some(self.db.begin()?),
            _ => None,
        };
        for id in ids {
            self.db.execute("UPDATE deliveries SET status = ?3, sent_at = ?1, attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL, claimed_by = NULL WHERE id = ?2",
                args![at.as_str(), *id, sent])?;
        }
        if let Some(tx) = tx {
            tx.commit()?;
        }
        Ok(())
    }

    pub fn mark_retry(&self, id: i64, next: DateTime<Utc>, error: &str) -> Result<()> {
        self.db.execute("UPDATE deliveries SET status = ?4, attempts = attempts + 1, next_attempt_at = ?1, last_error = ?2, claimed_by = NULL WHERE id = ?3",
            args![next.to_rfc3339(), error, id, DeliveryStatus::Retrying.as_str()])?;
        Ok(())
    }

    /// Makes a delivery ready at `at` (a fallback goes out in the same pass).
    pub fn make_ready(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.db.execute(
            "UPDATE deliveries SET next_attempt_at = ?1, claimed_by = NULL WHERE id = ?2",
            args![at.to_rfc3339(), id],
        )?;
        Ok(())
    }

    /// A failure that needs no report (a plan closed since it was queued).
    pub fn mark_reported(&self, id: i64) -> Result<()> {
        self.db.execute(
            "UPDATE deliveries SET reported = 1 WHERE id = ?1",
            args![id],
        )?;
        Ok(())
    }

    pub fn mark_dead(&self, id: i64, error: &str) -> Result<()> {
        self.db.execute("UPDATE deliveries SET status = ?3, attempts = attempts + 1, next_attempt_at = NULL, last_error = ?1, claimed_by = NULL WHERE id = ?2",
            args![error, id, DeliveryStatus::Dead.as_str()])?;
        Ok(())
    }

    /// Closes a delivery whose message went out on another channel as `instead`: dead,
    /// needing no report, and never requeued (`handed_over`).
    pub fn mark_handed_over(&self, id: i64, instead: i64, error: &str) -> Result<()> {
        self.db.execute("UPDATE deliveries SET status = ?4, attempts = attempts + 1, next_attempt_at = NULL, last_error = ?1, reported = 1, handed_over = ?3, claimed_by = NULL WHERE id = ?2",
            args![error, id, instead, DeliveryStatus::Dead.as_str()])?;
        Ok(())
    }

    /// Counts by status.
    /// Changes when another connection commits (a `retry` beside the running service): the
    /// service polls it to notice requeued deliveries at once.
    pub fn data_version(&self) -> Result<i64> {
        self.db.data_version()
    }

    pub fn counts(&self) -> Result<StatusCounts> {
        // On PostgreSQL the count reads every delivery across the network, twice a tick:
        // kept while neither this session nor another changed anything.
        let mark = self.db.changes()?;
        if let (Some(mark), Some((at, counts))) = (mark, self.counts_cache.borrow().as_ref()) {
            if mark == *at {
                return Ok(counts.clone());
            }
        }
        let counts = self.count_statuses()?;
        if let Some(mark) = mark {
            *self.counts_cache.borrow_mut() = Some((mark, counts.clone()));
        }
        Ok(counts)
    }

    fn count_statuses(&self) -> Result<StatusCounts> {
        let mut counts: Vec<(DeliveryStatus, i64)> = self.db.query_map(
            "SELECT status, COUNT(*) FROM deliveries GROUP BY status",
            args![],
            |r| Ok((stored_status(r, 0)?, r.get(1)?)),
        )?;
        counts.sort_unstable();
        Ok(StatusCounts(counts))
    }

    /// Deliveries, newest first, filtered.
    pub fn history(
        &self,
        agency: Option<&str>,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        self.history_of(None, agency, status, limit)
    }

    /// Deliveries, newest first, filtered by task too (in SQL, before the limit).
    pub fn history_of(
        &self,
        task: Option<&str>,
        agency: Option<&str>,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        // The item's field as its JSON text, found as written: a LIKE pattern read `_` and
        // `%` in a task's id as wildcards, ignored ASCII case on SQLite and read `\` (in the
        // JSON of a quote) as an escape on PostgreSQL.
        let needle =
            task.map(|t| format!("\"task\":{}", serde_json::to_string(t).unwrap_or_default()));
        let clause = if self.db.is_pg() {
            "WHERE (?1 IS NULL OR agency = ?1) AND (?2 IS NULL OR status = ?2) AND (?4 IS NULL OR strpos(items, ?4) > 0) ORDER BY id DESC LIMIT ?3"
        } else {
            "WHERE (?1 IS NULL OR agency = ?1) AND (?2 IS NULL OR status = ?2) AND (?4 IS NULL OR instr(items, ?4) > 0) ORDER BY id DESC LIMIT ?3"
        };
        self.select(
            clause,
            args![agency, status.map(DeliveryStatus::as_str), limit, needle],
        )
    }

    fn select(&self, clause: &str, args: &[db::Value<'_>]) -> Result<Vec<Delivery>> {
        let (columns, from) = self.delivery_columns();
        self.deliveries_by(&format!("SELECT {columns} FROM {from} {clause}"), args)
    }

    /// The columns a [`Delivery`] is read from, in [`Store::deliveries_by`]'s order, and the
    /// tables they come from.
    fn delivery_columns(&self) -> (String, &'static str) {
        // On SQLite the bodies joined once (`id` in `clause` is then the two tables' own): a
        // subquery per body column read each body's row twice. On PostgreSQL the subqueries,
        // run for the rows chosen only: a join planned before the tables' statistics exist
        // read every body (18 ms a quiet tick).
        let (bodies, from) = if self.db.is_pg() {
            (
                "(SELECT body_text FROM delivery_bodies b WHERE b.id = deliveries.id),
                 (SELECT body_html FROM delivery_bodies b WHERE b.id = deliveries.id)",
                "deliveries",
            )
        } else {
            (
                "delivery_bodies.body_text, delivery_bodies.body_html",
                "deliveries LEFT JOIN delivery_bodies USING (id)",
            )
        };
        let columns = format!(
            "id, tick_at, agency, channel, recipients, subject, {bodies},
                items, thread, message_id, status, attempts, next_attempt_at, last_error, created_at, sent_at, trial,
                {handed_over}",
            // Before migration 17 (a state not yet opened by a writer of this version, read by
            // `history`): what the migration would fill the column with, from the text.
            handed_over = if self.schema >= HANDED_OVER_SCHEMA {
                "handed_over"
            } else {
                "CASE WHEN status = 'dead' AND last_error LIKE 'chuyển sang email (#%' THEN CAST(substr(last_error, 21, instr(substr(last_error, 21), ')') - 1) AS INTEGER) END"
            }
        );
        (columns, from)
    }

    /// The deliveries `sql` returns ([`Store::delivery_columns`]), with their attachments.
    fn deliveries_by(&self, sql: &str, args: &[db::Value<'_>]) -> Result<Vec<Delivery>> {
        let mut out = self.db.query_map(sql, args, |r| {
            let recipients: String = r.get(4)?;
            let items: String = r.get(8)?;
            let channel: String = r.get(3)?;
            // Written by this program: an unknown name means a newer version wrote the row.
            let channel = Channel::from_name(&channel)
                .ok_or_else(|| malformed(3, format!("kênh \"{channel}\" không rõ")))?;
            Ok(Delivery {
                id: r.get(0)?,
                tick_at: stored_instant(r, 1)?,
                agency: r.get(2)?,
                channel,
                recipients: serde_json::from_str(&recipients).unwrap_or_default(),
                subject: r.get(5)?,
                body_text: r.get::<Option<String>>(6)?.unwrap_or_default(),
                body_html: r.get::<Option<String>>(7)?.unwrap_or_default(),
                items: serde_json::from_str::<Vec<StoredItem>>(&items)
                    .unwrap_or_default()
                    .into_iter()
                    .map(StoredItem::into_item)
                    .collect(),
                thread: r.get(9)?,
                message_id: r.get(10)?,
                status: stored_status(r, 11)?,
                attempts: r.get(12)?,
                next_attempt_at: stored_instant_opt(r, 13)?,
                last_error: r.get(14)?,
                created_at: stored_instant(r, 15)?,
                sent_at: stored_instant_opt(r, 16)?,
                trial: r.get(17)?,
                handed_over: r.get(18)?,
                attachments: vec![],
            })
        })?;
        if out.is_empty() {
            // A quiet tick's read: no second round trip.
            return Ok(out);
        }
        if self.db.is_pg() {
            // One query for the lot, not one per delivery.
            let ids: Vec<i64> = out.iter().map(|d| d.id).collect();
            let files = self.db.with_pg(|c| {
                c.query(
                    "SELECT delivery_id, name, media_type, bytes FROM delivery_attachments WHERE delivery_id = ANY($1) ORDER BY delivery_id, seq",
                    &[&ids],
                )
            });
            if let Some(files) = files {
                let mut by_id: std::collections::HashMap<i64, Vec<Attachment>> =
                    std::collections::HashMap::new();
                for r in files? {
                    by_id.entry(r.get(0)).or_default().push(Attachment {
                        name: r.get(1),
                        content_type: r.get(2),
                        bytes: r.get(3),
                    });
                }
                for d in &mut out {
                    d.attachments = by_id.remove(&d.id).unwrap_or_default();
                }
                return Ok(out);
            }
        }
        for d in &mut out {
            d.attachments = self.db.query_map(
                "SELECT name, media_type, bytes FROM delivery_attachments WHERE delivery_id = ?1 ORDER BY seq",
                args![d.id],
                |r| {
                    Ok(Attachment {
                        name: r.get(0)?,
                        content_type: r.get(1)?,
                        bytes: r.get(2)?,
                    })
                },
            )?;
        }
        Ok(out)
    }

    /// Deliveries, newest first, filtered by plan and task (the same item must match both),
    /// agency and status, in SQL before the limit.
    pub fn history_filtered(&self, f: &HistoryFilter<'_>) -> Result<Vec<Delivery>> {
        let clause = if self.db.is_pg() {
            "WHERE (?1::text IS NULL OR agency = ?1) AND (?2::text IS NULL OR status = ?2) AND trial = ?6
               AND ((?4::text IS NULL AND ?5::text IS NULL) OR EXISTS (SELECT 1 FROM jsonb_array_elements(deliveries.items::jsonb) i
                    WHERE (?4::text IS NULL OR i.value->>'plan' = ?4)
                      AND (?5::text IS NULL OR i.value->>'task' = ?5)))
             ORDER BY id DESC LIMIT ?3"
        } else {
            "WHERE (?1 IS NULL OR agency = ?1) AND (?2 IS NULL OR status = ?2) AND trial = ?6
               AND ((?4 IS NULL AND ?5 IS NULL) OR EXISTS (SELECT 1 FROM json_each(deliveries.items) i
                    WHERE (?4 IS NULL OR json_extract(i.value, '$.plan') = ?4)
                      AND (?5 IS NULL OR json_extract(i.value, '$.task') = ?5)))
             ORDER BY id DESC LIMIT ?3"
        };
        self.select(
            clause,
            args![
                f.agency,
                f.status.map(DeliveryStatus::as_str),
                f.limit,
                f.plan,
                f.task,
                f.ledger == Ledger::Trial
            ],
        )
    }

    /// Slots `ledger` recorded as skipped (superseded and older than the horizon alike),
    /// newest first: (key, reason, recorded_at), up to `limit` of those `keep` accepts (the
    /// key is parsed by the caller, so filtering happens there).
    #[allow(clippy::type_complexity)]
    pub fn skipped_slots(
        &self,
        ledger: Ledger,
        limit: usize,
        keep: &dyn Fn(&str, Option<&str>, &str) -> bool,
    ) -> Result<Vec<(String, Option<String>, String)>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.db.query_each(
            &format!(
                "SELECT key, reason, recorded_at FROM {} WHERE status = 'skipped' ORDER BY recorded_at DESC, key",
                ledger.slots_table()
            ),
            args![],
            |r| {
                let (key, reason, at): (String, Option<String>, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?);
                if keep(&key, reason.as_deref(), &at) {
                    out.push((key, reason, at));
                }
                Ok(out.len() < limit)
            },
        )?;
        Ok(out)
    }

    /// `retry`: makes retrying deliveries (and, with `dead`, dead ones) ready at `now`, in one
    /// transaction, beside a running service (which notices by `data_version`). A dead
    /// delivery goes back to pending with a fresh give-up budget: `after_attempt` counts
    /// `give_up_after_hours` from `created_at`, so that restarts at `now` and the first time
    /// is kept in `first_created_at`; it is reported again if it dies again. Deliveries that
    /// were handed over to email (a Zalo or webhook fallback) are not sent twice.
    pub fn requeue(
        &self,
        dead: bool,
        agency: Option<&str>,
        plan: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Requeued> {
        let matches = if self.db.is_pg() {
            "(?1::text IS NULL OR agency = ?1) AND (?2::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(deliveries.items::jsonb) i WHERE i.value->>'plan' = ?2))"
        } else {
            "(?1 IS NULL OR agency = ?1) AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(deliveries.items) i WHERE json_extract(i.value, '$.plan') = ?2))"
        };
        let at = now;
        let now = now.to_rfc3339();
        self.full_sync()?;
        let tx = self.db.begin()?;
        let retrying = tx.execute(
            &format!("UPDATE deliveries SET next_attempt_at = ?3 WHERE (status = 'retrying' OR (status = 'pending' AND next_attempt_at > ?3)) AND {matches}"),
            args![agency, plan, &now],
        )?;
        let (revived, handed_over) = if dead {
            let dead = DeliveryStatus::Dead.as_str();
            let handed_over: i64 = tx.query_row(
                &format!("SELECT COUNT(*) FROM deliveries WHERE status = ?3 AND handed_over IS NOT NULL AND {matches}"),
                args![agency, plan, dead],
                |r| r.get(0),
            )?;
            let revived = tx.execute(
                &format!(
                    "UPDATE deliveries SET status = ?5, next_attempt_at = ?3, reported = 0,
                        first_created_at = COALESCE(first_created_at, created_at), created_at = ?3
                     WHERE status = ?4 AND handed_over IS NULL AND {matches}"
                ),
                args![agency, plan, &now, dead, DeliveryStatus::Pending.as_str()],
            )?;
            (revived, handed_over as usize)
        } else {
            (0, 0)
        };
        // The admin says the cause is fixed: the service tries the server again at once,
        // even if its session breaker is open.
        set_meta(&tx, &Put::of(Ledger::Real, &meta::ResetBreaker, &at))?;
        tx.commit()?;
        self.normal_sync()?;
        Ok(Requeued {
            retrying,
            dead: revived,
            handed_over,
        })
    }
}

/// Items as stored (the key is kept, unlike in the JSON reports).
#[derive(serde::Deserialize)]
struct StoredItem {
    plan: String,
    task: String,
    role: crate::schedule::Role,
    kind: crate::schedule::Kind,
    days: i64,
    deadline: NaiveDate,
    /// Absent in items stored before occurrences were recorded: the deadline then.
    #[serde(default)]
    planned: Option<NaiveDate>,
    agency: Option<String>,
}

impl StoredItem {
    fn into_item(self) -> Item {
        Item {
            plan: self.plan,
            task: self.task,
            role: self.role,
            kind: self.kind,
            days: self.days,
            deadline: self.deadline,
            planned: self.planned.unwrap_or(self.deadline),
            agency: self.agency,
            key: String::new(),
        }
    }
}

/// What `history` filters on (ids and numbers as stored: resolve them first).
#[derive(Debug, Default, Clone, Copy)]
pub struct HistoryFilter<'a> {
    pub plan: Option<&'a str>,
    pub task: Option<&'a str>,
    pub agency: Option<&'a str>,
    pub status: Option<DeliveryStatus>,
    pub limit: usize,
    /// Whose deliveries: the real ones, or trial mode's.
    pub ledger: Ledger,
}

/// What `retry` requeued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Requeued {
    /// Retrying deliveries made ready now.
    pub retrying: usize,
    /// Dead deliveries back to pending, with a fresh give-up budget.
    pub dead: usize,
    /// Dead deliveries left alone: their message went by email instead.
    pub handed_over: usize,
}

impl Requeued {
    pub fn total(&self) -> usize {
        self.retrying + self.dead
    }
}

fn set_meta(db: &Db, put: &Put) -> Result<()> {
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        args![&put.key, &put.value],
    )?;
    Ok(())
}

fn delete_meta(db: &Db, key: &str) -> Result<()> {
    db.execute("DELETE FROM meta WHERE key = ?1", args![key])?;
    Ok(())
}

/// PostgreSQL, where two leaders may record at once (one forced by hand, or an old leader's
/// batch committing after a new one planned): recordings take turns on a transaction lock,
/// and a batch whose reminders another already recorded is refused, so one reminder never
/// becomes two deliveries. The pass that gets [`StoreError::RecordedElsewhere`] fails and is
/// tried again, finding those slots handled.
fn recording_turn(tx: &Db) -> Result<()> {
    // The batch's reminders are looked for as its slots go in (`pg_bulk::insert_slots`).
    tx.batch(&format!(
        "SELECT pg_advisory_xact_lock({RECORDING_TURN}); {}",
        pg_bulk::FAST_COMPRESSION
    ))
}

/// The lock PostgreSQL recordings take turns on (`recording_turn`).
const RECORDING_TURN: i64 = 0x6e68_6163_7669_6503;

/// A tick's slot keys into `table`, each once (a key already there is kept): row by row on
/// SQLite, in one statement of arrays on PostgreSQL (a catch-up's 10⁵ keys would otherwise
/// cost as many round trips).
fn insert_slots(
    db: &Db,
    table: &str,
    slots: &[(&str, &str, Option<i64>, Option<&str>)],
    now: &str,
) -> Result<()> {
    if db.is_pg() {
        return pg_bulk::insert_slots(db, table, slots, now);
    }
    if let Some(conn) = db.lite() {
        return insert_slots_lite(conn, table, slots, now);
    }
    let sql = format!("INSERT OR IGNORE INTO {table} (key, status, delivery_id, recorded_at, reason) VALUES (?1, ?2, ?3, ?4, ?5)");
    for (key, status, id, reason) in slots {
        db.execute(&sql, args![*key, *status, *id, now, *reason])?;
    }
    Ok(())
}

/// Slots per statement on SQLite (`insert_slots_lite`).
const SLOTS_PER_INSERT: usize = 64;

/// [`insert_slots`] on SQLite: [`SLOTS_PER_INSERT`] rows per statement. The table's `CHECK
/// (status IN (...))` builds a temporary index of its values each time a statement runs: one
/// row per statement spent more on that than on inserting (a third of a catch-up's recording).
fn insert_slots_lite(
    conn: &rusqlite::Connection,
    table: &str,
    slots: &[(&str, &str, Option<i64>, Option<&str>)],
    now: &str,
) -> Result<()> {
    // `?1` is the time, the same for every row; each row binds four more.
    let sql = |rows: usize| {
        let values = (0..rows)
            .map(|r| {
                let p = 2 + 4 * r;
                format!("(?{p}, ?{}, ?{}, ?1, ?{})", p + 1, p + 2, p + 3)
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!("INSERT OR IGNORE INTO {table} (key, status, delivery_id, recorded_at, reason) VALUES {values}")
    };
    for chunk in slots.chunks(SLOTS_PER_INSERT) {
        let mut insert = conn.prepare_cached(&sql(chunk.len()))?;
        insert.raw_bind_parameter(1, now)?;
        for (r, (key, status, id, reason)) in chunk.iter().enumerate() {
            let p = 2 + 4 * r;
            insert.raw_bind_parameter(p, key)?;
            insert.raw_bind_parameter(p + 1, status)?;
            insert.raw_bind_parameter(p + 2, id)?;
            insert.raw_bind_parameter(p + 3, reason)?;
        }
        insert.raw_execute()?;
    }
    Ok(())
}

/// Deliveries by status (`/metrics`, the service's status line, `retry`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatusCounts(Vec<(DeliveryStatus, i64)>);

impl StatusCounts {
    pub fn of(&self, status: DeliveryStatus) -> i64 {
        self.0
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    /// Every status that has deliveries, with their number.
    pub fn all(&self) -> &[(DeliveryStatus, i64)] {
        &self.0
    }

    /// Still to go out: pending and retrying.
    pub fn waiting(&self) -> i64 {
        self.of(DeliveryStatus::Pending) + self.of(DeliveryStatus::Retrying)
    }
}

/// A value this program wrote that does not read back (a newer version's, or an edited
/// row): an error naming the value, never a silent default.
fn malformed(column: usize, why: String) -> StoreError {
    StoreError::Malformed(format!("cột {column}: {why}"))
}

fn stored_status(r: &Row<'_>, column: usize) -> Result<DeliveryStatus> {
    let s: String = r.get(column)?;
    s.parse()
        .map_err(|e: crate::outbox::UnknownStatus| malformed(column, e.to_string()))
}

/// A time as the store writes it (RFC 3339, `to_rfc3339`).
fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn stored_instant(r: &Row<'_>, column: usize) -> Result<DateTime<Utc>> {
    let s: String = r.get(column)?;
    parse_instant(&s).ok_or_else(|| malformed(column, format!("thời điểm \"{s}\" không đọc được")))
}

fn stored_instant_opt(r: &Row<'_>, column: usize) -> Result<Option<DateTime<Utc>>> {
    let s: Option<String> = r.get(column)?;
    s.map(|s| {
        parse_instant(&s)
            .ok_or_else(|| malformed(column, format!("thời điểm \"{s}\" không đọc được")))
    })
    .transpose()
}

/// The real ledger's: mode-aware callers use [`Store::ledger`].
impl Handled for Store {
    fn is_handled(&self, key: &str) -> bool {
        self.ledger(Ledger::Real).is_handled(key)
    }
}

/// A random number from the OS, for the database's instance id.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    /// A message queued through a side connection (the dashboard's decisions) has the same
    /// well-formed, unique Message-ID as the writer's: `<nhacviec.{instance}.{id}@{domain}>`.
    #[test]
    fn a_side_connection_gives_its_messages_the_databases_instance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        let writer = Store::open_writer(&path).unwrap();
        let instance = writer.instance.clone();
        assert_eq!(instance.len(), 16, "{instance}");
        let side = Store::open_side(&path).unwrap();
        let mail = NewDelivery {
            agency: "so-a".into(),
            channel: Channel::Email,
            recipients: vec!["a@x.example".into()],
            subject: "S".into(),
            body_text: "T".into(),
            body_html: String::new(),
            items: vec![],
            thread: "th".into(),
            attachments: vec![],
        };
        let ids = side
            .record_extra(Ledger::Real, &[mail], &[], &[], "x.example")
            .unwrap();
        let message_id: String = writer
            .conn()
            .query_row(
                "SELECT message_id FROM deliveries WHERE id = ?1",
                [ids[0]],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            message_id,
            format!("<nhacviec.{instance}.{}@x.example>", ids[0])
        );
    }

    /// Three messages waiting to be sent; their ids.
    fn three_waiting(store: &Store) -> Vec<i64> {
        store
            .record_extra(
                Ledger::Real,
                &[mail("a"), mail("b"), mail("c")],
                &[],
                &[],
                "x.example",
            )
            .unwrap()
    }

    /// A crash after messages were sent and logged, before their marks reached the rows:
    /// the next writer folds them before anything reads the outbox, and folding again (or a
    /// mark for a row decided otherwise meanwhile) changes nothing.
    #[test]
    fn marks_a_crash_left_in_the_log_are_folded_when_the_writer_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        let at = Utc::now() + chrono::Duration::minutes(1);
        let ids = {
            let writer = Store::open_writer(&path).unwrap();
            let ids = three_waiting(&writer);
            assert_eq!(ids.len(), 3);
            writer.mark_dead(ids[2], "hỏng").unwrap();
            let log = marks::MarkLog::open(&path).unwrap();
            log.append(ids[0], at).unwrap();
            log.append(ids[2], at).unwrap();
            assert_eq!(writer.ready(at, 10).unwrap().len(), 2, "not folded yet");
            ids
        };
        let writer = Store::open_writer(&path).unwrap();
        let ready: Vec<i64> = writer.ready(at, 10).unwrap().iter().map(|d| d.id).collect();
        assert_eq!(ready, [ids[1]]);
        let status = |id: i64| -> (String, i64) {
            writer
                .conn()
                .query_row(
                    "SELECT status, attempts FROM deliveries WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        assert_eq!(status(ids[0]), ("sent".into(), 1));
        assert_eq!(status(ids[2]).0, "dead", "decided otherwise: kept");
        assert!(marks::read(&path).unwrap().is_empty(), "the log is emptied");
        assert_eq!(writer.fold_marks(&[(ids[0], at)]).unwrap(), 0);
        assert_eq!(status(ids[0]), ("sent".into(), 1), "folded twice: once");
        drop(writer);
        // A crash in the middle of a mark's write, then a start: the torn line is dropped, so
        // the next mark is a line of its own.
        std::fs::write(marks::path_of(&path), format!("{} 2022-06-01T0", ids[1])).unwrap();
        let writer = Store::open_writer(&path).unwrap();
        marks::MarkLog::open(&path)
            .unwrap()
            .append(ids[1], at)
            .unwrap();
        assert_eq!(marks::read(&path).unwrap(), [(ids[1], at)]);
        drop(writer);
        drop(Store::open_writer(&path).unwrap());
        assert!(marks::read(&path).unwrap().is_empty());
    }

    /// A pass reads on from what it read: a row sent but not yet folded is not read again.
    #[test]
    fn ready_after_reads_past_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        let writer = Store::open_writer(&path).unwrap();
        let ids = three_waiting(&writer);
        let now = Utc::now() + chrono::Duration::minutes(1);
        let read = |after| -> Vec<i64> {
            writer
                .ready_after(now, 2, after)
                .unwrap()
                .iter()
                .map(|d| d.id)
                .collect()
        };
        assert_eq!(read(0), ids[..2]);
        assert_eq!(read(ids[1]), [ids[2]]);
        assert!(read(ids[2]).is_empty());
    }

    /// Slots go in many to a statement: every row of every chunk (a full one, a partial
    /// one), each key once, a key already there kept as it was; the bulk lookup finds them.
    #[test]
    fn slots_inserted_many_to_a_statement_are_all_there_once() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Store::open_writer(&dir.path().join("nhacviec.db")).unwrap();
        let keys: Vec<String> = (0..SLOTS_PER_INSERT * 2 + 5)
            .map(|n| format!("k{n:04}"))
            .collect();
        let first = [(keys[3].as_str(), "suppressed", None, None)];
        insert_slots(&writer.db, "slots", &first, "t0").unwrap();
        let mut slots: Vec<(&str, &str, Option<i64>, Option<&str>)> = keys
            .iter()
            .map(|k| (k.as_str(), "skipped", None, Some("superseded")))
            .collect();
        // The same key twice in one statement.
        slots.insert(1, (keys[0].as_str(), "skipped", None, Some("horizon")));
        insert_slots(&writer.db, "slots", &slots, "t1").unwrap();
        let count = |sql: &str| -> i64 { writer.db.query_row(sql, args![], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM slots") as usize, keys.len());
        assert_eq!(count("SELECT COUNT(*) FROM slots WHERE recorded_at = 't1' AND status = 'skipped' AND reason = 'superseded'") as usize, keys.len() - 1);
        assert_eq!(count("SELECT COUNT(*) FROM slots WHERE key = 'k0003' AND status = 'suppressed' AND recorded_at = 't0'"), 1);
        let asked: Vec<&str> = ["k0000", "k0132", "k9999"].into();
        let found = writer.ledger(Ledger::Real).handled_among(&asked).unwrap();
        assert_eq!(
            found,
            HashSet::from(["k0000".to_string(), "k0132".to_string()])
        );
    }

    #[test]
    fn write_atomically_replaces_whole_with_the_mode_and_leaves_nothing_on_failure() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bao-cao.xlsx");
        write_atomically(&path, b"old", 0o644).unwrap();
        write_atomically(&path, b"new whole", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new whole");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A directory where the file should be: the rename fails, no temporary file stays.
        let blocked = dir.path().join("thu-muc");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("x"), b"x").unwrap();
        assert!(write_atomically(&blocked, b"y", 0o600).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_version_3_database_keeps_its_bodies_when_they_move_to_their_own_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute(
                "INSERT INTO deliveries (tick_at, agency, channel, recipients, subject, body_text, body_html, items, thread, message_id, status, created_at, next_attempt_at)
                 VALUES ('2022-05-25T01:00:00+00:00', 'so-a', 'email', '[\"a@x.example\"]', 'S', 'văn bản', '<p>html</p>', '[]', 'th', '<m1@x>', 'retrying', '2022-05-25T01:00:00+00:00', '2022-05-25T01:00:00+00:00')",
                [],
            )
            .unwrap();
        }
        let store = Store::open_writer(&path).unwrap();
        let ready = store
            .ready(
                DateTime::parse_from_rfc3339("2022-05-26T00:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
                10,
            )
            .unwrap();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].body_text, "văn bản");
        assert_eq!(ready[0].body_html, "<p>html</p>");
        assert_eq!(ready[0].channel, Channel::Email);
        // The old columns no longer carry the bodies: a status change is a small write.
        let inline: String = store
            .conn()
            .query_row("SELECT body_text FROM deliveries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(inline, "");
    }

    #[test]
    fn a_version_13_attachment_is_kept_and_a_delivery_carries_its_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..13] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 13).unwrap();
            conn.execute(
                "INSERT INTO deliveries (tick_at, agency, channel, recipients, subject, body_text, body_html, items, thread, message_id, status, attempts, created_at)
                 VALUES ('2022-05-25T01:00:00+00:00', 'vp', 'email', '[\"vp@x\"]', 'S', '', '', '[]', 'th', '<m1@x>', 'pending', 0, '2022-05-25T01:00:00+00:00')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO delivery_bodies (id, body_text, body_html, attachment_name, attachment_type, attachment)
                 VALUES (1, 'T', '<p>T</p>', 'tinh-hinh.xlsx', 'application/x', X'504B0304')",
                [],
            )
            .unwrap();
        }
        let store = Store::open_writer(&path).unwrap();
        let file = |name: &str, bytes: &[u8]| Attachment {
            name: name.into(),
            content_type: "application/octet-stream".into(),
            bytes: bytes.to_vec(),
        };
        let old = &store.history(None, None, 10).unwrap()[0];
        assert_eq!(
            old.attachments,
            vec![Attachment {
                name: "tinh-hinh.xlsx".into(),
                content_type: "application/x".into(),
                bytes: b"PK\x03\x04".to_vec(),
            }]
        );
        let two = NewDelivery {
            agency: "vp".into(),
            channel: Channel::Email,
            recipients: vec!["vp@x".into()],
            subject: "Báo cáo tuần".into(),
            body_text: "T".into(),
            body_html: "<p>T</p>".into(),
            items: vec![],
            thread: "th2".into(),
            attachments: vec![file("a.xlsx", b"1"), file("b.docx", b"22")],
        };
        let none = NewDelivery {
            attachments: vec![],
            thread: "th3".into(),
            ..two.clone()
        };
        let ids = store
            .record_extra(Ledger::Real, &[two, none], &[], &[], "x")
            .unwrap();
        let all = store.history(None, None, 10).unwrap();
        let by_id = |id: i64| all.iter().find(|d| d.id == id).unwrap();
        assert_eq!(
            by_id(ids[0]).attachments,
            vec![file("a.xlsx", b"1"), file("b.docx", b"22")]
        );
        assert!(by_id(ids[1]).attachments.is_empty());
        assert_eq!(by_id(1).attachments.len(), 1, "the old file still there");
    }

    #[test]
    fn a_trial_pass_counts_both_ledgers_a_real_pass_only_its_own_and_watermarks_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_writer(&dir.path().join("nhacviec.db")).unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2022, 5, d).unwrap();
        let mail = |agency: &str, channel: Channel, key: &str| NewDelivery {
            agency: agency.into(),
            channel,
            recipients: vec![format!("{agency}@x")],
            subject: "Nhắc việc".into(),
            body_text: String::new(),
            body_html: String::new(),
            items: vec![Item {
                plan: "1/KH".into(),
                task: "1".into(),
                role: crate::schedule::Role::Lead,
                kind: crate::schedule::Kind::Due,
                days: 0,
                deadline: day(25),
                planned: day(25),
                agency: None,
                key: key.into(),
            }],
            thread: format!("{agency}.1"),
            attachments: vec![],
        };
        // A real pass on the 24th.
        let real_tick = Tick {
            skipped: vec!["real-skipped".into()],
            ..Tick::default()
        };
        let real_mail = [mail("a", Channel::Email, "real-sent")];
        store
            .record_batch(
                Utc::now(),
                &[Share {
                    ledger: Ledger::Real,
                    deliveries: &real_mail,
                    tick: &real_tick,
                }],
                Some(TickEnd {
                    mode: Ledger::Real,
                    watermark: day(24),
                    fingerprint: "fp-real",
                }),
                "x",
            )
            .unwrap();
        // A trial pass on the 25th: its email to the trial ledger, a Zalo message (a real
        // send in trial mode) to the real one.
        let trial_tick = Tick {
            stale: vec!["trial-stale".into()],
            ..Tick::default()
        };
        let trial_mail = [mail("b", Channel::Email, "trial-sent")];
        let zalo = [mail("c", Channel::Zalo, "zalo-sent")];
        let ids = store
            .record_batch(
                Utc::now(),
                &[
                    Share {
                        ledger: Ledger::Real,
                        deliveries: &zalo,
                        tick: &Tick::default(),
                    },
                    Share {
                        ledger: Ledger::Trial,
                        deliveries: &trial_mail,
                        tick: &trial_tick,
                    },
                ],
                Some(TickEnd {
                    mode: Ledger::Trial,
                    watermark: day(25),
                    fingerprint: "fp-trial",
                }),
                "x",
            )
            .unwrap();
        assert_eq!(ids.len(), 2);
        let real = store.ledger(Ledger::Real);
        let trial = store.ledger(Ledger::Trial);
        for key in ["real-sent", "real-skipped", "zalo-sent"] {
            assert!(real.is_handled(key) && trial.is_handled(key), "{key}");
        }
        for key in ["trial-sent", "trial-stale"] {
            assert!(!real.is_handled(key), "{key}: real mode sends it");
            assert!(trial.is_handled(key), "{key}");
        }
        assert!(!trial.is_handled("never"));
        assert_eq!(real.watermark().unwrap(), Some(day(24)));
        assert_eq!(real.fingerprint().unwrap().as_deref(), Some("fp-real"));
        assert_eq!(trial.watermark().unwrap(), Some(day(25)));
        assert_eq!(trial.fingerprint().unwrap().as_deref(), Some("fp-trial"));
        assert_eq!(store.watermark().unwrap(), Some(day(24)));
        let seen = trial.forecast().unwrap();
        assert_eq!(seen.watermark, Some(day(25)));
        assert!(seen.handled.is_handled("trial-sent") && seen.handled.is_handled("real-sent"));
        // Only the email of the trial pass went to the trial address; the dashboard's last
        // reminders ignore it once sent.
        let all = store.history(None, None, 10).unwrap();
        let flag = |agency: &str| all.iter().find(|d| d.agency == agency).unwrap().trial;
        assert!(!flag("a") && flag("b") && !flag("c"));
        assert_eq!(store.trial_deliveries().unwrap(), 1);
        for d in &all {
            store.mark_sent(d.id, Utc::now()).unwrap();
        }
        let last = store.last_reminders().unwrap();
        let has = |a: &str| last.contains_key(&(a.to_string(), "1/KH".into(), "1".into()));
        assert!(has("a") && !has("b") && has("c"));
        // History by ledger.
        let filter = |ledger| HistoryFilter {
            limit: 10,
            ledger,
            ..HistoryFilter::default()
        };
        let agencies = |ledger| -> Vec<String> {
            store
                .history_filtered(&filter(ledger))
                .unwrap()
                .into_iter()
                .map(|d| d.agency)
                .collect()
        };
        assert_eq!(agencies(Ledger::Real), ["c", "a"]);
        assert_eq!(agencies(Ledger::Trial), ["b"]);
        let skipped = |ledger| store.skipped_slots(ledger, 10, &|_, _, _| true).unwrap();
        assert_eq!(skipped(Ledger::Real)[0].0, "real-skipped");
        assert_eq!(skipped(Ledger::Trial)[0].0, "trial-stale");
        assert_eq!(skipped(Ledger::Trial)[0].1.as_deref(), Some("horizon"));
    }

    #[test]
    fn a_second_writer_is_refused_and_a_newer_schema_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/nhacviec.db");
        let first = Store::open_writer(&path).unwrap();
        assert!(matches!(
            Store::open_writer(&path),
            Err(StoreError::Locked { .. })
        ));
        drop(first);
        let store = Store::open_writer(&path).unwrap();
        let version: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        store
            .conn()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        drop(store);
        assert!(matches!(
            Store::open_writer(&path),
            Err(StoreError::NewerSchema { found: 99, .. })
        ));
    }

    #[test]
    fn a_version_6_database_upgrades_and_a_requeued_dead_delivery_gets_a_fresh_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..6] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 6).unwrap();
            let insert = |status: &str, error: &str, mid: &str| {
                conn.execute(
                    "INSERT INTO deliveries (tick_at, agency, channel, recipients, subject, body_text, body_html, items, thread, message_id, status, attempts, created_at, last_error, reported)
                     VALUES ('2022-05-25T01:00:00+00:00', 'so-a', 'email', '[]', 'S', '', '', '[{\"plan\":\"1/KH\",\"task\":\"1\"}]', 'th', ?1, ?2, 4, '2022-05-25T01:00:00+00:00', ?3, 1)",
                    params![mid, status, error],
                )
                .unwrap();
            };
            insert("dead", "bỏ sau 72 giờ thử lại: 421", "<m1@x>");
            insert("dead", "chuyển sang email (#9): -230", "<m2@x>");
            insert("sent", "", "<m3@x>");
        }
        let store = Store::open_side(&path).unwrap();
        let version: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let now = DateTime::parse_from_rfc3339("2022-06-10T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            store.requeue(false, None, None, now).unwrap(),
            Requeued::default()
        );
        assert_eq!(
            store.requeue(true, None, Some("2/KH"), now).unwrap(),
            Requeued::default()
        );
        let r = store
            .requeue(true, Some("so-a"), Some("1/KH"), now)
            .unwrap();
        assert_eq!(
            r,
            Requeued {
                retrying: 0,
                dead: 1,
                handed_over: 1
            }
        );
        let ready = store.ready(now, 10).unwrap();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].status, DeliveryStatus::Pending);
        // The give-up budget counts from the requeue; the first recording is kept.
        assert_eq!(ready[0].created_at, now);
        let (first, reported): (String, i64) = store
            .conn()
            .query_row(
                "SELECT first_created_at, reported FROM deliveries WHERE id = ?1",
                params![ready[0].id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(first, "2022-05-25T01:00:00+00:00");
        assert_eq!(reported, 0);
        // The old text became the column: the email delivery made instead.
        let handed: Vec<Option<i64>> = store
            .history(None, None, 10)
            .unwrap()
            .iter()
            .map(|d| d.handed_over)
            .collect();
        assert_eq!(handed, [None, Some(9), None]);
    }

    /// A state made by schema 16 keeps what its handovers meant: the column is filled from
    /// the text `deliver` wrote, the email delivery's id, 0 when it does not read, and a
    /// death by other words is no handover.
    #[test]
    fn a_version_16_state_learns_its_handovers_from_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..16] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 16).unwrap();
            for (status, error, mid) in [
                (
                    "dead",
                    "chuyển sang email (#12): -230 không có user id",
                    "<m1@x>",
                ),
                ("dead", "chuyển sang email (#?): lạ", "<m2@x>"),
                ("dead", "lỗi vĩnh viễn: 550", "<m3@x>"),
                ("retrying", "chuyển sang email (#4): chưa", "<m4@x>"),
            ] {
                conn.execute(
                    "INSERT INTO deliveries (tick_at, agency, channel, recipients, subject, body_text, body_html, items, thread, message_id, status, attempts, created_at, last_error)
                     VALUES ('2022-05-25T01:00:00+00:00', 'so-a', 'zalo', '[]', 'S', '', '', '[]', 'th', ?1, ?2, 1, '2022-05-25T01:00:00+00:00', ?3)",
                    params![mid, status, error],
                )
                .unwrap();
            }
        }
        // Read before any writer of this version opened it (`history` after an upgrade with
        // the service stopped): the same as after the migration.
        let handovers = |store: &Store| {
            let mut all: Vec<(String, Option<i64>)> = store
                .history(None, None, 10)
                .unwrap()
                .into_iter()
                .map(|d| (d.message_id, d.handed_over))
                .collect();
            all.sort();
            all
        };
        let before = handovers(&Store::open_reader(&path).unwrap());
        assert!(MIGRATIONS[HANDED_OVER_SCHEMA as usize - 1].contains("ADD COLUMN handed_over"));
        let store = Store::open_writer(&path).unwrap();
        let handed = handovers(&store);
        assert_eq!(before, handed);
        assert_eq!(
            handed,
            [
                ("<m1@x>".to_string(), Some(12)),
                ("<m2@x>".to_string(), Some(0)),
                ("<m3@x>".to_string(), None),
                ("<m4@x>".to_string(), None),
            ]
        );
        let r = store.requeue(true, None, None, Utc::now()).unwrap();
        assert_eq!((r.dead, r.handed_over), (1, 2));
    }

    fn mail(agency: &str) -> NewDelivery {
        NewDelivery {
            agency: agency.into(),
            channel: Channel::Zalo,
            recipients: vec![],
            subject: "S".into(),
            body_text: String::new(),
            body_html: String::new(),
            items: vec![],
            thread: format!("th.{agency}"),
            attachments: vec![],
        }
    }

    /// `retry --dead` reads the column, not the error's words: a handover whose text says
    /// anything stays dead, a death whose text looks like a handover is revived.
    #[test]
    fn a_handed_over_delivery_is_never_requeued_whatever_its_error_says() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&dir.path().join("nhacviec.db")).unwrap();
        let ids = store
            .record_extra(Ledger::Real, &[mail("a"), mail("b")], &[], &[], "x")
            .unwrap();
        let instead = store
            .record_extra(Ledger::Real, &[mail("a")], &[], &[], "x")
            .unwrap()[0];
        store
            .mark_handed_over(ids[0], instead, "gửi bằng kênh khác")
            .unwrap();
        store
            .mark_dead(ids[1], "chuyển sang email (#1): giả")
            .unwrap();
        let now = Utc::now();
        let r = store.requeue(true, None, None, now).unwrap();
        assert_eq!((r.dead, r.handed_over), (1, 1));
        let all = store.history(None, None, 10).unwrap();
        let of = |id: i64| all.iter().find(|d| d.id == id).unwrap();
        assert_eq!(of(ids[0]).status, DeliveryStatus::Dead);
        assert_eq!(of(ids[0]).handed_over, Some(instead));
        assert_eq!(of(ids[1]).status, DeliveryStatus::Pending);
        // Handed over needs no report to the admin.
        let (dead, _) = store.failures_to_report().unwrap();
        assert!(dead.is_empty(), "{dead:?}");
    }

    /// Each status is written and read back as itself (the table's CHECK accepts exactly
    /// these), and times come back as the instants written.
    #[test]
    fn every_status_and_time_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&dir.path().join("nhacviec.db")).unwrap();
        let at = DateTime::parse_from_rfc3339("2022-05-25T01:02:03.456+07:00")
            .unwrap()
            .with_timezone(&Utc);
        let ids = store
            .record_extra_at(
                Ledger::Real,
                &[mail("p"), mail("r"), mail("s"), mail("d")],
                &[],
                &[],
                "x",
                at,
            )
            .unwrap();
        store.mark_retry(ids[1], at, "421").unwrap();
        store.mark_sent(ids[2], at).unwrap();
        store.mark_dead(ids[3], "550").unwrap();
        let all = store.history(None, None, 10).unwrap();
        let of = |id: i64| all.iter().find(|d| d.id == id).unwrap();
        for (id, status) in ids.iter().zip(DeliveryStatus::ALL) {
            assert_eq!(of(*id).status, status);
            assert_eq!(of(*id).tick_at, at);
            let text: String = store
                .conn()
                .query_row("SELECT status FROM deliveries WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(text.parse(), Ok(status));
        }
        assert_eq!(of(ids[1]).next_attempt_at, Some(at));
        assert_eq!(of(ids[2]).sent_at, Some(at));
        let counts = store.counts().unwrap();
        assert_eq!(counts.waiting(), 2);
        assert_eq!(counts.of(DeliveryStatus::Dead), 1);
    }

    /// A stored time that does not read is an error naming it, not a silent default.
    #[test]
    fn a_malformed_stored_time_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&dir.path().join("nhacviec.db")).unwrap();
        store
            .record_extra(Ledger::Real, &[mail("a")], &[], &[], "x")
            .unwrap();
        store
            .conn()
            .execute("UPDATE deliveries SET created_at = 'hôm qua'", [])
            .unwrap();
        let err = store.history(None, None, 10).unwrap_err().to_string();
        assert!(
            err.contains("thời điểm \"hôm qua\" không đọc được"),
            "{err}"
        );
        store
            .conn()
            .execute(
                "UPDATE deliveries SET created_at = '2022-05-25T01:00:00+00:00', next_attempt_at = 'x'",
                [],
            )
            .unwrap();
        assert!(store.next_attempt().is_err());
    }
}
