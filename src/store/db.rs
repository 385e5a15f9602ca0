//! One SQL connection, SQLite or PostgreSQL. The store's queries are written once, in
//! SQLite's text with numbered parameters (`?1`), and run on either: for PostgreSQL the
//! parameters become `$1`, `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING` and `INDEXED
//! BY` hints go; the few queries that differ more (JSON, bulk inserts) branch on
//! [`Db::is_pg`]. Values cross as [`Value`] and are read back through [`Col`], so a boolean
//! or a count reads the same from both (PostgreSQL's columns are `BIGINT` where SQLite's are
//! `INTEGER`).

use super::{Result, StoreError};
use crate::pg::DatabaseUrl;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A query's parameter.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value<'_> {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<usize> for Value<'_> {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl From<&i64> for Value<'_> {
    fn from(v: &i64) -> Self {
        Value::Int(*v)
    }
}
impl From<&bool> for Value<'_> {
    fn from(v: &bool) -> Self {
        Value::Int((*v).into())
    }
}

/// Parameters as a slice of [`Value`]s: `args![a, b]`.
macro_rules! args {
    () => { &[] as &[$crate::store::db::Value<'_>] };
    ($($v:expr),+ $(,)?) => { &[$($crate::store::db::Value::from($v)),+] as &[$crate::store::db::Value<'_>] };
}
pub(crate) use args;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl postgres::types::ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::Type;
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => Err(format!("số nguyên cho cột kiểu {ty}").into()),
            },
            Value::Text(s) => s.as_ref().to_sql(ty, out),
            Value::Blob(b) => b.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A value read from a row, from either database.
pub trait Col: Sized {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self>;
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error>;
}

fn pg_int(row: &postgres::Row, i: usize) -> std::result::Result<Option<i64>, postgres::Error> {
    use postgres::types::Type;
    match *row.columns()[i].type_() {
        Type::INT4 => Ok(row.try_get::<_, Option<i32>>(i)?.map(i64::from)),
        Type::INT2 => Ok(row.try_get::<_, Option<i16>>(i)?.map(i64::from)),
        Type::BOOL => Ok(row.try_get::<_, Option<bool>>(i)?.map(i64::from)),
        _ => row.try_get::<_, Option<i64>>(i),
    }
}

impl Col for Option<i64> {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        pg_int(row, i)
    }
}
impl Col for i64 {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        // A NULL where a number must be: let the driver say so.
        match pg_int(row, i)? {
            Some(v) => Ok(v),
            None => row.try_get::<_, i64>(i),
        }
    }
}
impl Col for u32 {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        let v = i64::pg(row, i)?;
        Ok(u32::try_from(v.max(0)).unwrap_or(u32::MAX))
    }
}
impl Col for Option<u8> {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        Ok(pg_int(row, i)?.map(|v| u8::try_from(v.clamp(0, 255)).unwrap_or(u8::MAX)))
    }
}
impl Col for bool {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        Ok(i64::pg(row, i)? != 0)
    }
}
impl Col for Option<String> {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        row.try_get(i)
    }
}
impl Col for String {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        row.try_get(i)
    }
}
impl Col for Vec<u8> {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        row.try_get(i)
    }
}
impl Col for Option<Vec<u8>> {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> std::result::Result<Self, postgres::Error> {
        row.try_get(i)
    }
}

/// A row of a result, from either database.
pub enum Row<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    pub fn get<T: Col>(&self, i: usize) -> Result<T> {
        match self {
            Row::Lite(r) => Ok(T::lite(r, i)?),
            Row::Pg(r) => T::pg(r, i).map_err(StoreError::from_pg),
        }
    }
}

/// A PostgreSQL session with its prepared statements (each query is prepared once per
/// connection, like rusqlite's `prepare_cached`).
pub struct PgConn {
    /// Taken only when dropped (see `Drop`).
    inner: RefCell<Option<PgInner>>,
    /// Notifications seen on this session from others: its change feed's version.
    seen: Cell<i64>,
    /// This session's server process: its own notifications are not news to it (SQLite's
    /// `data_version` changes only on another connection's commits).
    pid: Cell<i32>,
    /// Where to connect again when the session is lost (the server restarted, the network).
    url: DatabaseUrl,
    /// Subscribed to the change feed (again after a reconnection).
    listening: Cell<bool>,
    /// A transaction is open: a session lost in it is not replaced (what follows would run
    /// outside the transaction); the transaction fails, and the next use connects again.
    in_tx: Cell<bool>,
    /// The last error said the session is gone (the client may not know it is closed).
    broken: Cell<bool>,
    /// Statements this session ran that may have written: with the change feed, whether
    /// something may have changed since a figure was read (`Db::changes`).
    writes: Cell<u64>,
}

struct PgInner {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

impl PgInner {
    fn statement(
        &mut self,
        sql: &str,
    ) -> std::result::Result<postgres::Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&to_pg(sql))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &str,
        args: &[Value<'_>],
    ) -> std::result::Result<Vec<postgres::Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = args
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        self.client.query(&statement, &params)
    }

    fn execute(
        &mut self,
        sql: &str,
        args: &[Value<'_>],
    ) -> std::result::Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = args
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        self.client.execute(&statement, &params)
    }
}

/// The channel every change the service must notice is notified on (see the PostgreSQL
/// schema's `nhacviec_changed` trigger): `Db::data_version`.
pub const CHANGES_CHANNEL: &str = "nhacviec_changes";

impl PgConn {
    pub fn connect(url: &DatabaseUrl) -> Result<PgConn> {
        let (client, pid) = off_runtime(|| session(url))?;
        Ok(PgConn {
            inner: RefCell::new(Some(PgInner {
                client,
                statements: HashMap::new(),
            })),
            seen: Cell::new(0),
            pid: Cell::new(pid),
            url: url.clone(),
            listening: Cell::new(false),
            in_tx: Cell::new(false),
            broken: Cell::new(false),
            writes: Cell::new(0),
        })
    }

    /// Runs `f` on the session, off any async runtime: the `postgres` client blocks on a
    /// runtime of its own, which tokio refuses inside another's context (the service's loop,
    /// its sends). There, `f` runs on a scoped thread while this one waits, as a SQLite call
    /// would block it.
    fn with<T: Send>(
        &self,
        f: impl FnOnce(&mut PgInner) -> std::result::Result<T, postgres::Error> + Send,
    ) -> Result<T> {
        let mut inner = self.inner.borrow_mut();
        let Some(inner) = inner.as_mut() else {
            return Err(StoreError::NoRow);
        };
        if (self.broken.get() || inner.client.is_closed()) && !self.in_tx.get() {
            self.reconnect(inner)?;
            self.broken.set(false);
        }
        off_runtime(move || f(inner)).map_err(|e| {
            if session_lost(&e) {
                self.broken.set(true);
            }
            StoreError::from_pg(e)
        })
    }

    /// A new session in place of a lost one: prepared statements are the old session's, the
    /// change feed is listened to again (what was notified meanwhile is missed: the service
    /// looks at the outbox on its next tick or retry anyway).
    fn reconnect(&self, inner: &mut PgInner) -> Result<()> {
        let listen = self.listening.get();
        let url = &self.url;
        let (client, pid) = off_runtime(move || {
            let (mut client, pid) = session(url)?;
            if listen {
                client
                    .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))
                    .map_err(StoreError::from_pg)?;
            }
            Ok::<_, StoreError>((client, pid))
        })?;
        let old = std::mem::replace(&mut inner.client, client);
        off_runtime(move || drop(old));
        inner.statements.clear();
        self.pid.set(pid);
        tracing::warn!(
            event = "database_reconnected",
            "đã kết nối lại cơ sở dữ liệu PostgreSQL (phiên trước bị mất)"
        );
        Ok(())
    }
}

/// Whether `e` says the session is gone: closed, an I/O error, or the server ending it
/// (SQLSTATE class 57: shut down; 08: connection exception).
pub(crate) fn session_lost(e: &postgres::Error) -> bool {
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    e.is_closed()
        || io
        || e.code().is_some_and(|c| {
            let c = c.code();
            c.starts_with("57") || c.starts_with("08")
        })
}

impl PgConn {
    fn wrote(&self) {
        self.writes.set(self.writes.get().wrapping_add(1));
    }
}

/// A session and its server process id.
fn session(url: &DatabaseUrl) -> Result<(postgres::Client, i32)> {
    let mut client = url.connect().map_err(StoreError::Postgres)?;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .map_err(StoreError::from_pg)?
        .get(0);
    Ok((client, pid))
}

impl Drop for PgConn {
    /// The client closes its session by blocking on its runtime: off any other's.
    fn drop(&mut self) {
        if let Some(inner) = self.inner.get_mut().take() {
            off_runtime(move || drop(inner));
        }
    }
}

/// `f` where a blocking client may run (see [`PgConn::with`]).
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    } else {
        f()
    }
}

/// The connection.
pub enum Db {
    Lite(rusqlite::Connection),
    Pg(Box<PgConn>),
}

impl Db {
    pub fn is_pg(&self) -> bool {
        matches!(self, Db::Pg(_))
    }

    /// The SQLite connection, for what only SQLite has (pragmas).
    pub fn lite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Lite(c) => Some(c),
            Db::Pg(_) => None,
        }
    }

    pub fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<usize> {
        match self {
            Db::Lite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(args.iter()))?),
            Db::Pg(p) => {
                p.wrote();
                p.with(|i| i.execute(sql, args))
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// Runs statements without parameters, separated by `;`.
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Lite(c) => Ok(c.execute_batch(sql)?),
            Db::Pg(p) => {
                p.wrote();
                p.with(|i| i.client.batch_execute(sql))
            }
        }
    }

    /// Every row, each read by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.query_each(sql, args, |r| {
            out.push(f(r)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Reads rows by `f` until it returns `false`.
    pub fn query_each(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        match self {
            Db::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                while let Some(r) = rows.next()? {
                    if !f(&Row::Lite(r))? {
                        break;
                    }
                }
                Ok(())
            }
            Db::Pg(p) => {
                let rows = p.with(|i| i.query(sql, args))?;
                for r in &rows {
                    if !f(&Row::Pg(r))? {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// The first row, if any.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut out = None;
        self.query_each(sql, args, |r| {
            out = Some(f(r)?);
            Ok(false)
        })?;
        Ok(out)
    }

    /// The first row; none is an error.
    pub fn query_row<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, args, f)?.ok_or(StoreError::NoRow)
    }

    pub fn exists(&self, sql: &str, args: &[Value<'_>]) -> Result<bool> {
        Ok(self.query_opt(sql, args, |_| Ok(()))?.is_some())
    }

    /// A transaction on this connection (SQLite's deferred one).
    pub fn begin(&self) -> Result<Tx<'_>> {
        self.batch("BEGIN")?;
        Ok(self.opened())
    }

    /// The transaction just begun on this connection.
    fn opened(&self) -> Tx<'_> {
        self.set_in_tx(true);
        Tx {
            db: self,
            open: true,
        }
    }

    fn set_in_tx(&self, yes: bool) {
        if let Db::Pg(p) = self {
            p.in_tx.set(yes);
        }
    }

    /// A read transaction: what it reads is one snapshot (SQLite's deferred transaction; on
    /// PostgreSQL, repeatable read).
    pub fn begin_snapshot(&self) -> Result<Tx<'_>> {
        match self {
            Db::Lite(_) => self.batch("BEGIN")?,
            Db::Pg(_) => self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?,
        }
        Ok(self.opened())
    }

    /// A transaction that writes after reading: on SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`); on PostgreSQL such transactions take turns on a transaction-level
    /// advisory lock, so one sees what the one before it wrote.
    pub fn begin_write(&self) -> Result<Tx<'_>> {
        match self {
            Db::Lite(_) => self.batch("BEGIN IMMEDIATE")?,
            Db::Pg(_) => {
                self.batch("BEGIN")?;
                let tx = self.opened();
                // Begun: a lock that fails rolls it back (dropped), not left open on the
                // session for the next statement to fail in.
                tx.batch(&format!("SELECT pg_advisory_xact_lock({WRITE_TURN})"))?;
                return Ok(tx);
            }
        }
        Ok(self.opened())
    }

    /// The change feed's version: it changes when another connection committed something the
    /// service must notice (SQLite's `data_version`; on PostgreSQL, the notifications received
    /// on [`CHANGES_CHANNEL`], which [`Db::listen`] subscribed to).
    pub fn data_version(&self) -> Result<i64> {
        match self {
            Db::Lite(c) => Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?),
            Db::Pg(p) => {
                let own = p.pid.get();
                let n = p.with(|i| {
                    // An empty query reads what the server sent meanwhile.
                    i.client.batch_execute("")?;
                    let mut notifications = i.client.notifications();
                    let mut pending = notifications.iter();
                    use fallible_iterator::FallibleIterator;
                    let mut n = 0;
                    while let Some(note) = pending.next()? {
                        if note.process_id() != own {
                            n += 1;
                        }
                    }
                    Ok::<_, postgres::Error>(n)
                });
                let n = n?;
                p.seen.set(p.seen.get() + n as i64);
                Ok(p.seen.get())
            }
        }
    }

    /// On PostgreSQL, a mark that moves whenever this session or another may have changed
    /// something (its own statements that may write, and the change feed): a figure read at
    /// one mark is still true while it stays. `None` on SQLite, whose reads are cheap.
    pub fn changes(&self) -> Result<Option<(u64, i64)>> {
        match self {
            Db::Lite(_) => Ok(None),
            Db::Pg(p) => {
                let feed = self.data_version()?;
                Ok(Some((p.writes.get(), feed)))
            }
        }
    }

    /// Subscribes this PostgreSQL session to the change feed (nothing on SQLite).
    pub fn listen(&self) -> Result<()> {
        if let Db::Pg(p) = self {
            self.batch(&format!("LISTEN {CHANGES_CHANNEL}"))?;
            p.listening.set(true);
        }
        Ok(())
    }

    /// Runs `f` with the PostgreSQL client (bulk statements only it has), off the runtime.
    pub fn with_pg<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, postgres::Error> + Send,
    ) -> Option<Result<T>> {
        match self {
            Db::Lite(_) => None,
            Db::Pg(p) => {
                p.wrote();
                Some(p.with(|i| f(&mut i.client)))
            }
        }
    }
}

/// The advisory lock PostgreSQL's write transactions take turns on (`Db::begin_write`).
const WRITE_TURN: i64 = 0x6e68_6163_7669_6501;

/// A transaction: committed by [`Tx::commit`], rolled back when dropped without.
pub struct Tx<'a> {
    db: &'a Db,
    open: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        let committed = self.db.batch("COMMIT");
        if committed.is_err() {
            // A COMMIT that failed may leave the transaction open (SQLite): never on to the
            // next statement.
            let _ = self.db.batch("ROLLBACK");
        }
        self.db.set_in_tx(false);
        committed
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.db.batch("ROLLBACK") {
                tracing::debug!(error = %e, "rollback");
            }
            self.db.set_in_tx(false);
        }
    }
}

/// SQLite's text of a query as PostgreSQL's: `?N` parameters as `$N`, `INSERT OR IGNORE` as
/// `ON CONFLICT DO NOTHING`, index hints dropped. Quoted text is left alone.
pub fn to_pg(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 24);
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
            out.push(c);
        } else if c == '?' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    let out = drop_index_hints(&out);
    // A parameter only compared to NULL has no type PostgreSQL can infer; every such one in
    // the store is text.
    let mut typed = String::with_capacity(out.len() + 16);
    let mut rest = out.as_str();
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - at - 1, |n| n);
        let end = at + 1 + digits;
        typed.push_str(&rest[..end]);
        if digits > 0 && rest[end..].starts_with(" IS NULL") {
            typed.push_str("::text");
        }
        rest = &rest[end..];
    }
    typed.push_str(rest);
    let mut out = typed;
    if let Some(at) = out.find("INSERT OR IGNORE INTO") {
        out.replace_range(at..at + "INSERT OR IGNORE INTO".len(), "INSERT INTO");
        match out.find(" RETURNING ") {
            Some(r) => out.insert_str(r, " ON CONFLICT DO NOTHING"),
            None => out.push_str(" ON CONFLICT DO NOTHING"),
        }
    }
    out
}

fn drop_index_hints(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(" INDEXED BY ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " INDEXED BY ".len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_becomes_postgresql_text() {
        assert_eq!(
            to_pg("SELECT 1 FROM t WHERE a = ?1 AND b = '?2' AND c = ?12"),
            "SELECT 1 FROM t WHERE a = $1 AND b = '?2' AND c = $12"
        );
        assert_eq!(
            to_pg("INSERT OR IGNORE INTO slots (key) VALUES (?1)"),
            "INSERT INTO slots (key) VALUES ($1) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            to_pg("INSERT OR IGNORE INTO m (k) VALUES (?1) RETURNING id"),
            "INSERT INTO m (k) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id"
        );
        assert_eq!(
            to_pg("SELECT 1 WHERE (?1 IS NULL OR a = ?1) AND (?2::text IS NULL OR b = ?2)"),
            "SELECT 1 WHERE ($1::text IS NULL OR a = $1) AND ($2::text IS NULL OR b = $2)"
        );
        assert_eq!(
            to_pg("SELECT id FROM deliveries INDEXED BY deliveries_ready WHERE x"),
            "SELECT id FROM deliveries WHERE x"
        );
    }
}
