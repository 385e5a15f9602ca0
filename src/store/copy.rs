//! `nhacviec store copy`: an SQLite state moved whole into an empty PostgreSQL database
//! (issue 28). The source is read in one snapshot, read-only, with the writer's lock held so
//! that no service starts meanwhile; the target's schema is made by [`Store::open_writer_at`];
//! every table goes over in one PostgreSQL transaction, in binary `COPY` batches, in an order
//! the foreign keys accept; then the identity sequences are set past the copied ids and each
//! table's rows are counted on both sides. Any failure rolls the transaction back: the target
//! keeps no row of the source.

use super::db::{args, Db, Value};
use super::meta::{Entry as _, Instance};
use super::{Location, Store, StoreError, MIGRATIONS};
use crate::pg::DatabaseUrl;
use postgres::types::{ToSql, Type};
use std::path::{Path, PathBuf};

/// A table copied: its name, the order its rows are read in, and whether its `id` is an
/// identity (a sequence to set past the copied ids).
struct Table {
    name: &'static str,
    order: &'static str,
    identity: bool,
}

/// In an order the foreign keys accept: deliveries before their bodies, attachments and slots;
/// extensions before the responses granted by them; responses before their evidence.
/// `responses` is read in id order, so that its trigger builds `response_heads` as the source
/// has it (checked after); its `superseded_by` (a later response) is set once all are in.
const TABLES: &[Table] = &[
    Table {
        name: "meta",
        order: "key",
        identity: false,
    },
    Table {
        name: "zalo_token",
        order: "id",
        identity: false,
    },
    Table {
        name: "deliveries",
        order: "id",
        identity: true,
    },
    Table {
        name: "delivery_bodies",
        order: "id",
        identity: false,
    },
    Table {
        name: "delivery_attachments",
        order: "delivery_id, seq",
        identity: false,
    },
    Table {
        name: "slots",
        order: "key",
        identity: false,
    },
    Table {
        name: "trial_slots",
        order: "key",
        identity: false,
    },
    Table {
        name: "extensions",
        order: "id",
        identity: true,
    },
    Table {
        name: "responses",
        order: "id",
        identity: true,
    },
    Table {
        name: "evidence",
        order: "id",
        identity: true,
    },
];

/// Built by the trigger on `responses`, not copied; compared with the source's.
const HEADS: &str = "response_heads";

/// Filled from the files under `evidence/` (empty in SQLite, where they are on disk).
const FILES: &str = "evidence_files";

/// The column of `responses` that names a later response: written once every response is in.
const SUPERSEDED_BY: &str = "superseded_by";

/// Rows per `COPY` statement, and about how many bytes: a national state has 10^6 slot keys;
/// a delivery's bodies and attachments weigh tens of kilobytes.
const BATCH_ROWS: usize = 20_000;
const BATCH_BYTES: usize = 16 << 20;

/// What was copied.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Each table and its rows, the same on both sides (counted after copying), in copy order;
    /// `response_heads` last.
    pub tables: Vec<(&'static str, u64)>,
    /// The database's instance (in every Message-ID), the same on both sides.
    pub instance: Option<String>,
    /// Where the answers' attached files were read from (`evidence/` beside the database).
    pub evidence_dir: PathBuf,
    /// Answers' files recorded (`evidence` rows).
    pub evidence_rows: u64,
    /// Files copied into the database (`evidence_files`, each content once).
    pub evidence_files: u64,
    /// Files an answer names that were not on disk (removed by hand): their rows are copied,
    /// their content cannot be.
    pub evidence_missing: Vec<String>,
}

impl CopyReport {
    /// The rows of `table` copied.
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables.iter().find(|(t, _)| *t == table).map(|t| t.1)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("chưa có trạng thái SQLite ở {path}: không có gì để chép (kiểm tra state_dir hoặc NHACVIEC_STATE_DIR)")]
    NoSource { path: PathBuf },
    #[error("trạng thái {path} đang được một tiến trình nhacviec ghi (dịch vụ hoặc `run --once`): dừng dịch vụ (systemctl stop nhacviec) rồi chép lại")]
    SourceBusy { path: PathBuf },
    #[error("trạng thái {path} có phiên bản cấu trúc {found}, chương trình này dùng phiên bản {known}: khởi động dịch vụ một lần (hoặc chạy `nhacviec run --once`) để nâng cấp, dừng dịch vụ rồi chép lại")]
    OldSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cơ sở dữ liệu đích {url} không trống ({detail}): không chép gì; chỉ chép vào một cơ sở dữ liệu mới (createdb)")]
    TargetNotEmpty { url: String, detail: String },
    #[error("trạng thái {path} đã thay đổi trong khi chép (có tiến trình khác ghi, ví dụ `nhacviec web`): đã hủy, cơ sở dữ liệu đích không có dòng nào; dừng mọi tiến trình nhacviec rồi chép lại")]
    SourceChanged { path: PathBuf },
    #[error("đọc trạng thái {path}: {source}")]
    Source { path: PathBuf, source: StoreError },
    #[error("cơ sở dữ liệu đích {url}: {source}")]
    Target { url: String, source: StoreError },
    #[error("bảng {table}, cột {column}, dòng thứ {row}: giá trị {found} không hợp với kiểu {expected} của PostgreSQL; đã hủy, cơ sở dữ liệu đích không có dòng nào")]
    BadValue {
        table: &'static str,
        column: String,
        row: u64,
        found: &'static str,
        expected: String,
    },
    #[error("cấu trúc bảng {table} ở SQLite và PostgreSQL khác nhau ({detail}); đã hủy, cơ sở dữ liệu đích không có dòng nào")]
    Schema { table: &'static str, detail: String },
    #[error("kiểm tra sau khi chép: {what} (nguồn {source_rows}, đích {target_rows}); đã hủy, cơ sở dữ liệu đích không có dòng nào")]
    Mismatch {
        what: String,
        source_rows: u64,
        target_rows: u64,
    },
}

impl CopyError {
    /// Refused before anything was written: the admin's to fix (the service to stop, the
    /// state to upgrade, another database), not a failure of the copy.
    pub fn refused(&self) -> bool {
        matches!(
            self,
            CopyError::NoSource { .. }
                | CopyError::SourceBusy { .. }
                | CopyError::OldSchema { .. }
                | CopyError::TargetNotEmpty { .. }
        )
    }
}

/// Copies the SQLite state at `source` into the empty PostgreSQL database `target` (its
/// schema made when missing): everything or nothing. Refused while a writer holds the state,
/// for a state not at this program's schema version, and for a target that holds rows (but
/// the `instance` its own opening wrote, replaced by the source's).
pub fn copy_to_postgres(source: &Path, target: &DatabaseUrl) -> Result<CopyReport, CopyError> {
    let from = |e: StoreError| CopyError::Source {
        path: source.to_path_buf(),
        source: e,
    };
    if !super::exists(source).map_err(from)? {
        return Err(CopyError::NoSource {
            path: source.to_path_buf(),
        });
    }
    // Held until the end: no service starts on the state while it is copied.
    let _lock = hold_writer_lock(source)?;
    // Marks a stopped service left in its log (`store::marks`, only ever written by a state at
    // this schema) go into their rows first: copied as waiting, those messages would go again.
    if !super::marks::read(source)
        .map_err(|e| {
            from(StoreError::Open {
                path: super::marks::path_of(source),
                reason: e.to_string(),
            })
        })?
        .is_empty()
    {
        Store::open_side(source)
            .and_then(|side| side.fold_mark_log())
            .map_err(from)?;
    }
    let before = stamp(source);
    let src = Store::open_reader(source).map_err(from)?;
    let known = MIGRATIONS.len() as i64;
    if src.schema != known {
        return Err(CopyError::OldSchema {
            path: source.to_path_buf(),
            found: src.schema,
            known,
        });
    }
    let Some(lite) = src.db.lite() else {
        return Err(from(StoreError::Malformed(
            "nguồn không phải SQLite".into(),
        )));
    };
    let url = target.to_string();
    let to = |e: StoreError| CopyError::Target {
        url: url.clone(),
        source: e,
    };
    let dst = Store::open_writer_at(&Location {
        path: source.to_path_buf(),
        pg: Some(target.clone()),
    })
    .map_err(to)?;
    let pg = &dst.db;

    // The source in one snapshot (nothing writes it: the lock; `stamp` checks the rest).
    lite.execute_batch("BEGIN").map_err(|e| from(e.into()))?;
    let tx = pg.begin().map_err(to)?;
    let names: Vec<&str> = TABLES
        .iter()
        .map(|t| t.name)
        .chain([HEADS, FILES])
        .collect();
    // Nobody writes the target meanwhile (a service started on it too early).
    tx.batch(&format!(
        "SET LOCAL lock_timeout = '10s'; LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
        names.join(", ")
    ))
    .map_err(to)?;
    refuse_if_not_empty(&tx, &url, &names)?;
    // The instance written by opening the target: the source's replaces it.
    tx.execute("DELETE FROM meta", args![]).map_err(to)?;

    let mut tables = Vec::new();
    let mut superseded: (Vec<i64>, Vec<i64>) = Default::default();
    for table in TABLES {
        let copied = copy_table(lite, &tx, table, &mut superseded).map_err(|e| match e {
            Failure::Source(e) => from(e),
            Failure::Target(e) => to(e),
            Failure::Copy(e) => e,
        })?;
        tables.push((table.name, copied));
    }
    if !superseded.0.is_empty() {
        let (ids, later) = &superseded;
        let set = with_client(&tx, |c| {
            c.execute(
                "UPDATE responses AS r SET superseded_by = u.s FROM unnest($1::bigint[], $2::bigint[]) AS u(id, s) WHERE r.id = u.id",
                &[ids as &(dyn ToSql + Sync), later],
            )
        })
        .map_err(to)?;
        check("responses.superseded_by", ids.len() as u64, set)?;
    }
    // The answers' files, from disk into the database: both servers serve them.
    let mut evidence_files = 0;
    let mut evidence_missing = Vec::new();
    let files = {
        let mut stmt = lite
            .prepare("SELECT sha256, MIN(media_type) FROM evidence GROUP BY sha256 ORDER BY sha256")
            .map_err(|e| from(e.into()))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| from(e.into()))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| from(e.into()))?
    };
    for (sha256, media_type) in files {
        let path = crate::evidence::Kind::from_media_type(&media_type)
            .map(|kind| src.evidence_path(&sha256, kind));
        match path.map(std::fs::read) {
            Some(Ok(bytes)) => {
                tx.execute(
                    &format!("INSERT INTO {FILES} (sha256, bytes) VALUES (?1, ?2)"),
                    args![sha256.as_str(), &bytes],
                )
                .map_err(to)?;
                evidence_files += 1;
            }
            _ => evidence_missing.push(sha256),
        }
    }
    for table in TABLES.iter().filter(|t| t.identity) {
        let last = last_id(lite, table.name).map_err(from)?;
        if last > 0 {
            tx.query_row(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{}', 'id'), ?1)",
                    table.name
                ),
                args![last],
                |r| r.get::<i64>(0),
            )
            .map_err(to)?;
        }
    }

    // Counted again on both sides.
    for (name, copied) in &tables {
        let in_source = count_lite(lite, name).map_err(from)?;
        let in_target = count_pg(&tx, name).map_err(to)?;
        check(&format!("bảng {name}: số dòng"), in_source, in_target)?;
        check(&format!("bảng {name}: số dòng đã chép"), in_source, *copied)?;
    }
    let standing = "SELECT COUNT(*) FROM responses WHERE undone_at IS NULL";
    check(
        "trả lời chưa rút",
        count_with(lite, standing).map_err(from)?,
        tx.query_row(standing, args![], |r| r.get::<i64>(0))
            .map_err(to)? as u64,
    )?;
    let heads_sql = format!(
        "SELECT agency, plan, task, deadline, response_id FROM {HEADS} ORDER BY agency, plan, task, deadline"
    );
    let src_heads = heads_lite(lite, &heads_sql).map_err(from)?;
    let dst_heads = tx
        .query_map(&heads_sql, args![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .map_err(to)?;
    if src_heads != dst_heads {
        let differ = src_heads
            .iter()
            .filter(|h| !dst_heads.contains(h))
            .count()
            .max(dst_heads.iter().filter(|h| !src_heads.contains(h)).count());
        return Err(CopyError::Mismatch {
            what: format!("bảng {HEADS} (trả lời mới nhất của mỗi lần hạn) khác ở {differ} dòng"),
            source_rows: src_heads.len() as u64,
            target_rows: dst_heads.len() as u64,
        });
    }
    tables.push((HEADS, dst_heads.len() as u64));
    let instance: Option<String> = tx
        .query_opt(
            "SELECT value FROM meta WHERE key = ?1",
            args![Instance.key().as_ref()],
            |r| r.get(0),
        )
        .map_err(to)?;
    if stamp(source) != before {
        return Err(CopyError::SourceChanged {
            path: source.to_path_buf(),
        });
    }
    tx.commit().map_err(to)?;
    let _ = lite.execute_batch("COMMIT");
    Ok(CopyReport {
        evidence_rows: tables
            .iter()
            .find(|(t, _)| *t == "evidence")
            .map_or(0, |t| t.1),
        tables,
        instance,
        evidence_dir: src.evidence_dir(),
        evidence_files,
        evidence_missing,
    })
}

/// Where a table's copy failed.
enum Failure {
    Source(StoreError),
    Target(StoreError),
    Copy(CopyError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Failure {
        Failure::Source(e.into())
    }
}

/// Copies `table`'s rows in `COPY` batches; the rows written. `responses`' `superseded_by`
/// goes into `superseded` instead (ids, later ids).
fn copy_table(
    lite: &rusqlite::Connection,
    pg: &Db,
    table: &Table,
    superseded: &mut (Vec<i64>, Vec<i64>),
) -> Result<u64, Failure> {
    let columns = pg_columns(pg, table.name).map_err(Failure::Target)?;
    let mut lite_columns: Vec<String> = lite
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{}')",
            table.name
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut pg_names: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
    lite_columns.sort();
    pg_names.sort();
    if lite_columns != pg_names {
        return Err(Failure::Copy(CopyError::Schema {
            table: table.name,
            detail: format!(
                "SQLite: {}; PostgreSQL: {}",
                lite_columns.join(", "),
                pg_names.join(", ")
            ),
        }));
    }
    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.0))
        .collect::<Vec<_>>()
        .join(", ");
    let types: Vec<Type> = columns.iter().map(|c| c.1.clone()).collect();
    let deferred = (table.name == "responses")
        .then(|| columns.iter().position(|c| c.0 == SUPERSEDED_BY))
        .flatten();
    let id_at = columns.iter().position(|c| c.0 == "id");
    let copy_sql = format!("COPY {} ({list}) FROM STDIN (FORMAT binary)", table.name);
    let mut stmt = lite.prepare(&format!(
        "SELECT {list} FROM {} ORDER BY {}",
        table.name, table.order
    ))?;
    let mut rows = stmt.query([])?;
    let mut batch: Vec<Vec<Value<'static>>> = Vec::new();
    let mut bytes = 0;
    let mut read = 0u64;
    let mut written = 0u64;
    while let Some(r) = rows.next()? {
        read += 1;
        let mut row = Vec::with_capacity(columns.len());
        for (i, (name, ty)) in columns.iter().enumerate() {
            let v = value(r.get_ref(i)?, ty).map_err(|found| {
                Failure::Copy(CopyError::BadValue {
                    table: table.name,
                    column: name.clone(),
                    row: read,
                    found,
                    expected: ty.to_string(),
                })
            })?;
            bytes += match &v {
                Value::Text(s) => s.len(),
                Value::Blob(b) => b.len(),
                _ => 8,
            };
            row.push(v);
        }
        if let Some(at) = deferred {
            if let (Value::Int(later), Some(Value::Int(id))) =
                (&row[at], id_at.and_then(|i| row.get(i)))
            {
                superseded.0.push(*id);
                superseded.1.push(*later);
                row[at] = Value::Null;
            }
        }
        batch.push(row);
        if batch.len() >= BATCH_ROWS || bytes >= BATCH_BYTES {
            written += copy_in(pg, &copy_sql, &types, &batch).map_err(Failure::Target)?;
            batch.clear();
            bytes = 0;
        }
    }
    if !batch.is_empty() {
        written += copy_in(pg, &copy_sql, &types, &batch).map_err(Failure::Target)?;
    }
    Ok(written)
}

/// A source value as the target's column type takes it; else the kind of value found.
fn value(v: rusqlite::types::ValueRef<'_>, ty: &Type) -> Result<Value<'static>, &'static str> {
    use rusqlite::types::ValueRef;
    match (v, ty) {
        (ValueRef::Null, _) => Ok(Value::Null),
        (ValueRef::Integer(i), t) if *t == Type::INT8 => Ok(Value::Int(i)),
        (ValueRef::Text(t), ty) if *ty == Type::TEXT => std::str::from_utf8(t)
            .map(|s| Value::Text(s.to_owned().into()))
            .map_err(|_| "văn bản không phải UTF-8"),
        (ValueRef::Blob(b), ty) if *ty == Type::BYTEA => Ok(Value::Blob(b.to_vec().into())),
        (ValueRef::Integer(_), _) => Err("số nguyên"),
        (ValueRef::Real(_), _) => Err("số thực"),
        (ValueRef::Text(_), _) => Err("văn bản"),
        (ValueRef::Blob(_), _) => Err("dữ liệu nhị phân"),
    }
}

/// One binary `COPY` of `rows`; how many the server took.
fn copy_in(
    pg: &Db,
    sql: &str,
    types: &[Type],
    rows: &[Vec<Value<'static>>],
) -> Result<u64, StoreError> {
    with_client(pg, |c| {
        let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(c.copy_in(sql)?, types);
        for row in rows {
            let refs: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            writer.write(&refs)?;
        }
        writer.finish()
    })
}

fn with_client<T: Send>(
    pg: &Db,
    f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
) -> Result<T, StoreError> {
    pg.with_pg(f)
        .unwrap_or_else(|| Err(StoreError::Malformed("đích không phải PostgreSQL".into())))
}

/// The target table's columns, in order, with their types.
fn pg_columns(pg: &Db, table: &str) -> Result<Vec<(String, Type)>, StoreError> {
    pg.query_map(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
        args![table],
        |r| {
            let name: String = r.get(0)?;
            let ty = match r.get::<String>(1)?.as_str() {
                "bigint" => Type::INT8,
                "text" => Type::TEXT,
                "bytea" => Type::BYTEA,
                other => {
                    return Err(StoreError::Malformed(format!(
                        "cột {table}.{name} có kiểu {other}, không phải bigint, text hay bytea"
                    )))
                }
            };
            Ok((name, ty))
        },
    )
}

/// Rows that are not what an empty database holds: nothing but the `instance` its opening
/// wrote.
fn refuse_if_not_empty(pg: &Db, url: &str, tables: &[&str]) -> Result<(), CopyError> {
    let mut found = Vec::new();
    for table in tables {
        let n = if *table == "meta" {
            pg.query_row(
                "SELECT COUNT(*) FROM meta WHERE key <> ?1",
                args![Instance.key().as_ref()],
                |r| r.get::<i64>(0),
            )
        } else {
            count_pg(pg, table).map(|n| n as i64)
        }
        .map_err(|e| CopyError::Target {
            url: url.to_string(),
            source: e,
        })?;
        if n > 0 {
            found.push(format!("bảng {table} có {n} dòng"));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(CopyError::TargetNotEmpty {
            url: url.to_string(),
            detail: found.join(", "),
        })
    }
}

fn check(what: &str, source_rows: u64, target_rows: u64) -> Result<(), CopyError> {
    if source_rows == target_rows {
        Ok(())
    } else {
        Err(CopyError::Mismatch {
            what: what.to_string(),
            source_rows,
            target_rows,
        })
    }
}

fn count_pg(pg: &Db, table: &str) -> Result<u64, StoreError> {
    let n: i64 = pg.query_row(&format!("SELECT COUNT(*) FROM {table}"), args![], |r| {
        r.get(0)
    })?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn count_lite(lite: &rusqlite::Connection, table: &str) -> Result<u64, StoreError> {
    count_with(lite, &format!("SELECT COUNT(*) FROM {table}"))
}

fn count_with(lite: &rusqlite::Connection, sql: &str) -> Result<u64, StoreError> {
    let n: i64 = lite.query_row(sql, [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

type Head = (String, String, String, String, i64);

fn heads_lite(lite: &rusqlite::Connection, sql: &str) -> Result<Vec<Head>, StoreError> {
    let mut stmt = lite.prepare(sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The highest id `table` ever gave: its largest row's, or more when rows were deleted
/// (SQLite's AUTOINCREMENT never reuses one; nor must the target, or a Message-ID would).
fn last_id(lite: &rusqlite::Connection, table: &str) -> Result<i64, StoreError> {
    let max: Option<i64> =
        lite.query_row(&format!("SELECT MAX(id) FROM {table}"), [], |r| r.get(0))?;
    let has_sequence: bool = lite.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
        [],
        |r| r.get(0),
    )?;
    let seq: Option<i64> = if has_sequence {
        lite.query_row(
            "SELECT MAX(seq) FROM sqlite_sequence WHERE name = ?1",
            [table],
            |r| r.get(0),
        )?
    } else {
        None
    };
    Ok(max.unwrap_or(0).max(seq.unwrap_or(0)))
}

/// The writer's lock file, locked by this process for the copy: a service or `run --once`
/// holding it refuses the copy; one starting meanwhile is refused instead.
fn hold_writer_lock(path: &Path) -> Result<Option<std::fs::File>, CopyError> {
    let lock_path = path.with_extension("lock");
    let lock = match std::fs::OpenOptions::new().write(true).open(&lock_path) {
        Ok(f) => f,
        // No writer ever opened this state: none holds it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CopyError::Source {
                path: path.to_path_buf(),
                source: StoreError::Open {
                    path: lock_path,
                    reason: format!("{e} (chạy lệnh bằng người dùng của dịch vụ: sudo -u nhacviec nhacviec store copy …)"),
                },
            })
        }
    };
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => Err(CopyError::SourceBusy {
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(CopyError::Source {
            path: path.to_path_buf(),
            source: StoreError::Open {
                path: lock_path,
                reason: e.to_string(),
            },
        }),
    }
}

/// The database file's and its WAL's size and modification time: a side writer (`nhacviec
/// web`, `extend`) takes no lock, so a change during the copy is found by these.
fn stamp(path: &Path) -> Vec<Option<(u64, std::time::SystemTime)>> {
    [path.to_path_buf(), super::with_suffix(path, "-wal")]
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)))
        })
        .collect()
}
