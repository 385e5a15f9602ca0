//! Files attached to answers: each stored once, by its SHA-256, under `<state>/evidence/`
//! (`ab/cdef….pdf`; files 0600, directories 0700; written to a temporary file, synced, then
//! renamed), and one `evidence` row per answer that carried it. The answer and its row are
//! one transaction; a file no row references after a failure is removed.

use super::answers::RecordError;
use super::db::{args, Row};
use super::{create_private_dir, Result, Store, FILE_MODE};
use crate::answers::NewResponse;
use crate::evidence::{Evidence, Kind};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::PathBuf;

/// A file checked by [`crate::evidence::check`], about to be stored with its answer.
pub struct NewEvidence<'a> {
    /// As the agency named it (cleaned).
    pub name: &'a str,
    pub kind: Kind,
    pub sha256: &'a str,
    pub bytes: &'a [u8],
}

fn evidence_row(r: &Row<'_>) -> Result<Evidence> {
    let stored_at: String = r.get(5)?;
    Ok(Evidence {
        response_id: r.get(0)?,
        sha256: r.get(1)?,
        name: r.get(2)?,
        media_type: r.get(3)?,
        size: u64::try_from(r.get::<i64>(4)?).unwrap_or(0),
        stored_at: DateTime::parse_from_rfc3339(&stored_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default(),
    })
}

const EVIDENCE_COLUMNS: &str = "response_id, sha256, name, media_type, size, stored_at";

impl Store {
    /// Where attached files lie: `evidence/` beside the database.
    pub fn evidence_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| PathBuf::from("evidence"), |d| d.join("evidence"))
    }

    /// The file of content `sha256` stored as `kind`.
    pub fn evidence_path(&self, sha256: &str, kind: Kind) -> PathBuf {
        self.evidence_dir()
            .join(Evidence::relative_path(sha256, kind))
    }

    /// Bytes the stored files take (each content once).
    pub fn evidence_used(&self) -> Result<u64> {
        let used: i64 = self.db.query_row(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM (SELECT sha256, MAX(size) AS size FROM evidence GROUP BY sha256) AS per_file",
            args![],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(used).unwrap_or(0))
    }

    fn evidence_referenced(&self, sha256: &str) -> Result<bool> {
        self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = ?1)",
            args![sha256],
            |r| r.get(0),
        )
    }

    /// Records a response with its attached file, if any: the file first (unless that
    /// content is stored already), then the response and the evidence row in one transaction.
    /// Over `quota` bytes of files: refused, nothing written. When the transaction fails (a
    /// replayed form, a full disk), a file no row references is removed again.
    pub fn record_response_with_evidence(
        &self,
        r: &NewResponse,
        file: Option<&NewEvidence<'_>>,
        quota: u64,
        now: DateTime<Utc>,
    ) -> std::result::Result<i64, RecordError> {
        let Some(file) = file else {
            return self.record_response(r, now);
        };
        let size = file.bytes.len() as u64;
        let known = self.evidence_referenced(file.sha256)?;
        if !known {
            let used = self.evidence_used()?;
            if used.saturating_add(size) > quota {
                return Err(RecordError::Quota { size, used, quota });
            }
        }
        if self.db.is_pg() {
            return self.record_response_with_evidence_in_db(r, file, now);
        }
        let path = self.evidence_path(file.sha256, file.kind);
        if !path.is_file() {
            if let Some(dir) = path.parent() {
                create_private_dir(dir).map_err(RecordError::File)?;
            }
            super::write_atomically(&path, file.bytes, FILE_MODE).map_err(RecordError::File)?;
        }
        let recorded = (|| {
            let tx = self.db.begin()?;
            let id = self.record_response(r, now)?;
            tx.execute(
                "INSERT INTO evidence (response_id, sha256, name, media_type, size, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![
                    id,
                    file.sha256,
                    file.name,
                    file.kind.media_type(),
                    i64::try_from(size).unwrap_or(i64::MAX),
                    now.to_rfc3339()
                ],
            )?;
            tx.commit()?;
            Ok::<_, RecordError>(id)
        })();
        if recorded.is_err() && !self.evidence_referenced(file.sha256).unwrap_or(true) {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(error = %e, path = %path.display(), "tệp kèm còn lại sau khi ghi thất bại");
            }
        }
        recorded
    }

    /// [`Store::record_response_with_evidence`] on PostgreSQL: the file's bytes in the
    /// database (`evidence_files`, once per content), with the answer and its row in one
    /// transaction, so both servers' pages serve it and nothing is left over on a failure.
    fn record_response_with_evidence_in_db(
        &self,
        r: &NewResponse,
        file: &NewEvidence<'_>,
        now: DateTime<Utc>,
    ) -> std::result::Result<i64, RecordError> {
        let tx = self.db.begin()?;
        let id = self.record_response(r, now)?;
        tx.execute(
            "INSERT OR IGNORE INTO evidence_files (sha256, bytes) VALUES (?1, ?2)",
            args![file.sha256, file.bytes],
        )?;
        tx.execute(
            "INSERT INTO evidence (response_id, sha256, name, media_type, size, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![
                id,
                file.sha256,
                file.name,
                file.kind.media_type(),
                i64::try_from(file.bytes.len()).unwrap_or(i64::MAX),
                now.to_rfc3339()
            ],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The stored bytes of the file of content `sha256` stored as `kind`: from the database
    /// on PostgreSQL, from `evidence/` on SQLite. `None` when it is not there (a file removed
    /// by hand); an unreadable one is logged.
    pub fn evidence_bytes(&self, sha256: &str, kind: Kind) -> Result<Option<Vec<u8>>> {
        if self.db.is_pg() {
            return self.db.query_opt(
                "SELECT bytes FROM evidence_files WHERE sha256 = ?1",
                args![sha256],
                |r| r.get(0),
            );
        }
        let path = self.evidence_path(sha256, kind);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) => {
                tracing::error!(sha256, error = %e, path = %path.display(), "tệp kèm mất hoặc không đọc được");
                Ok(None)
            }
        }
    }

    /// The files attached to answers, by response id.
    pub fn evidence(&self) -> Result<HashMap<i64, Evidence>> {
        let rows = self.db.query_map(
            &format!("SELECT {EVIDENCE_COLUMNS} FROM evidence ORDER BY id"),
            args![],
            evidence_row,
        )?;
        let mut out = HashMap::new();
        for e in rows {
            out.insert(e.response_id, e);
        }
        Ok(out)
    }

    /// The file of content `sha256` attached to an answer of `agency` (any agency's when
    /// `None`: the monitoring office), if there is one.
    pub fn evidence_of(&self, sha256: &str, agency: Option<&str>) -> Result<Option<Evidence>> {
        self.db.query_opt(
            "SELECT e.response_id, e.sha256, e.name, e.media_type, e.size, e.stored_at
                 FROM evidence e JOIN responses r ON r.id = e.response_id
                 WHERE e.sha256 = ?1 AND (?2 IS NULL OR r.agency = ?2)
                 ORDER BY e.id DESC LIMIT 1",
            args![sha256, agency],
            evidence_row,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Action;

    fn response(nonce: &str) -> NewResponse {
        NewResponse {
            agency: "so-noi-vu".into(),
            plan: "50/KH-UBND".into(),
            task: "9.2".into(),
            deadline: None,
            action: Action::Progress,
            done_on: None,
            doc_ref: None,
            note: Some("đang làm".into()),
            percent: None,
            proposed: None,
            key_id: "k1".into(),
            client: None,
            user_agent: None,
            nonce: nonce.into(),
            who: Default::default(),
        }
    }

    #[test]
    fn a_file_is_stored_once_privately_and_removed_when_its_answer_is_not_recorded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&dir.path().join("nhacviec.db")).unwrap();
        let bytes = b"%PDF-1.4 test".to_vec();
        let sha = crate::evidence::sha256_hex(&bytes);
        let file = NewEvidence {
            name: "bao-cao.pdf",
            kind: Kind::Pdf,
            sha256: &sha,
            bytes: &bytes,
        };
        let now = Utc::now();
        let a = store
            .record_response_with_evidence(&response("n1"), Some(&file), 1 << 20, now)
            .unwrap();
        let b = store
            .record_response_with_evidence(&response("n2"), Some(&file), 1 << 20, now)
            .unwrap();
        let path = store.evidence_path(&sha, Kind::Pdf);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let sub = path.parent().unwrap();
        assert_eq!(
            std::fs::metadata(sub).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::read_dir(sub).unwrap().count(),
            1,
            "no temporary file left"
        );
        let all = store.evidence().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[&a].sha256, sha);
        assert_eq!(all[&b].size, bytes.len() as u64);
        assert_eq!(
            store.evidence_used().unwrap(),
            bytes.len() as u64,
            "counted once"
        );
        assert!(store
            .evidence_of(&sha, Some("so-noi-vu"))
            .unwrap()
            .is_some());
        assert!(store
            .evidence_of(&sha, Some("so-tai-chinh"))
            .unwrap()
            .is_none());
        assert!(store.evidence_of(&sha, None).unwrap().is_some());

        // A replayed form with a new file: refused, and the new file does not stay.
        let other = b"%PDF-1.4 another".to_vec();
        let other_sha = crate::evidence::sha256_hex(&other);
        let replay = NewEvidence {
            name: "khac.pdf",
            kind: Kind::Pdf,
            sha256: &other_sha,
            bytes: &other,
        };
        let err = store
            .record_response_with_evidence(&response("n1"), Some(&replay), 1 << 20, now)
            .unwrap_err();
        assert!(matches!(err, RecordError::Replayed), "{err}");
        assert!(!store.evidence_path(&other_sha, Kind::Pdf).exists());
        // The file already referenced stays after a failed replay of it.
        assert!(store
            .record_response_with_evidence(&response("n2"), Some(&file), 1 << 20, now)
            .is_err());
        assert!(path.exists());
        assert_eq!(store.evidence().unwrap().len(), 2);

        // Over the quota: refused before anything is written.
        let err = store
            .record_response_with_evidence(&response("n3"), Some(&replay), 20, now)
            .unwrap_err();
        assert!(
            matches!(
                err,
                RecordError::Quota {
                    used: 13,
                    quota: 20,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!store.evidence_path(&other_sha, Kind::Pdf).exists());
        assert_eq!(store.responses(&Default::default()).unwrap().len(), 2);
    }
}
