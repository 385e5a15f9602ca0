//! The agencies' responses and the extensions granted: recorded with their audit fields, read
//! back for the schedule's overlay, the pages and `nhacviec responses`.

use super::db::{args, Db, Row};
use super::{Result, Store, StoreError};
use crate::answers::{Action, Extension, NewResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};

/// Why a response was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The same form was posted before (its nonce is taken): nothing new to store.
    #[error("biểu mẫu này đã được gửi")]
    Replayed,
    /// The attached file would take the evidence files past `[web] upload_quota_mb`.
    #[error("tệp kèm {size} byte vượt hạn mức lưu trữ tệp kèm ({used} / {quota} byte đã dùng)")]
    Quota { size: u64, used: u64, quota: u64 },
    /// The attached file could not be written (nothing recorded).
    #[error("không ghi được tệp kèm: {0}")]
    File(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an agency's page reads ([`Store::page_answers`]).
#[derive(Debug)]
pub struct PageAnswers {
    /// [`Store::answers_version`] when read.
    pub version: String,
    /// The agency's own answers the page shows.
    pub mine: Vec<Response>,
    /// The responses and grants the overlay needs, unless the version was the one known.
    pub overlay: Option<(Vec<Response>, Vec<Extension>)>,
}

/// Which responses to list.
#[derive(Debug, Default, Clone)]
pub struct ResponseFilter<'a> {
    pub agency: Option<&'a str>,
    pub plan: Option<&'a str>,
    /// Only extension requests not granted and not withdrawn.
    pub pending_extensions: bool,
}

fn date(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

fn time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

const RESPONSE_COLUMNS: &str = "id, agency, plan, task, deadline, action, done_on, doc_ref, note, percent, proposed, created_at, key_id, client, user_agent, undone_at, granted, refused_at, refusal, exact, person, position, reviewed_at, review, review_reason";

fn response_row(r: &Row<'_>) -> Result<Option<Response>> {
    let action: String = r.get(5)?;
    let Some(action) = Action::from_name(&action) else {
        return Ok(None);
    };
    Ok(Some(Response {
        id: r.get(0)?,
        agency: r.get(1)?,
        plan: r.get(2)?,
        task: r.get(3)?,
        deadline: date(r.get(4)?),
        action,
        done_on: date(r.get(6)?),
        doc_ref: r.get(7)?,
        note: r.get(8)?,
        percent: r.get::<Option<i64>>(9)?.and_then(|p| u8::try_from(p).ok()),
        proposed: date(r.get(10)?),
        created_at: time(r.get(11)?).unwrap_or_default(),
        key_id: r.get(12)?,
        client: r.get(13)?,
        user_agent: r.get(14)?,
        undone_at: time(r.get(15)?),
        granted: r.get(16)?,
        refused_at: time(r.get(17)?),
        refusal: r.get(18)?,
        exact: r.get::<i64>(19)? != 0,
        who: crate::answers::Who {
            name: r.get::<Option<String>>(20)?.unwrap_or_default(),
            position: r.get::<Option<String>>(21)?.unwrap_or_default(),
        },
        review: match (time(r.get(22)?), r.get::<Option<String>>(23)?) {
            (Some(at), Some(kind)) => Some(crate::answers::Review {
                at,
                confirmed: kind == "confirmed",
                reason: r.get(24)?,
            }),
            _ => None,
        },
    }))
}

/// Inserts a grant and marks the pending requests for that deadline answered.
#[allow(clippy::too_many_arguments)]
fn grant_in(
    tx: &Db,
    agency: &str,
    plan: &str,
    task: &str,
    from: NaiveDate,
    to: NaiveDate,
    doc_ref: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id: i64 = tx.query_row(
        "INSERT INTO extensions (agency, plan, task, from_deadline, to_deadline, doc_ref, granted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        args![agency, plan, task, from.to_string(), to.to_string(), doc_ref, now.to_rfc3339()],
        |r| r.get(0),
    )?;
    tx.execute(
        "UPDATE responses SET granted = ?1
         WHERE agency = ?2 AND plan = ?3 AND task = ?4 AND action = 'extension'
           AND undone_at IS NULL AND granted IS NULL AND refused_at IS NULL AND (deadline IS NULL OR deadline = ?5)",
        args![id, agency, plan, task, from.to_string()],
    )?;
    Ok(id)
}

impl Store {
    /// Records a response; a form posted twice (same nonce) is refused as `Replayed`.
    pub fn record_response(
        &self,
        r: &NewResponse,
        now: DateTime<Utc>,
    ) -> std::result::Result<i64, RecordError> {
        let res = self.db.query_row(
            "INSERT INTO responses (agency, plan, task, deadline, action, done_on, doc_ref, note, percent, proposed, created_at, key_id, client, user_agent, nonce, exact, person, position)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, ?16, ?17) RETURNING id",
            args![
                &r.agency,
                &r.plan,
                &r.task,
                r.deadline.map(|d| d.to_string()),
                r.action.name(),
                r.done_on.map(|d| d.to_string()),
                r.doc_ref.as_deref(),
                r.note.as_deref(),
                r.percent.map(i64::from),
                r.proposed.map(|d| d.to_string()),
                now.to_rfc3339(),
                &r.key_id,
                r.client.as_deref(),
                r.user_agent.as_deref(),
                &r.nonce,
                Some(r.who.name.as_str()).filter(|n| !n.is_empty()),
                Some(r.who.position.as_str()).filter(|p| !p.is_empty()),
            ],
            |r| r.get::<i64>(0),
        );
        match res {
            Ok(id) => Ok(id),
            Err(e) if e.is_unique_violation() => Err(RecordError::Replayed),
            Err(e) => Err(RecordError::Store(e)),
        }
    }

    /// Withdraws `agency`'s response `id` if it is its latest on that occurrence (task and
    /// deadline), made after
    /// `not_before`, and not already withdrawn or granted. Whether it was.
    pub fn undo_response(
        &self,
        id: i64,
        agency: &str,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let same_deadline = if self.db.is_pg() {
            "r2.deadline IS NOT DISTINCT FROM responses.deadline"
        } else {
            "r2.deadline IS responses.deadline"
        };
        let n = self.db.execute(
            &format!("UPDATE responses SET undone_at = ?1
             WHERE id = ?2 AND agency = ?3 AND undone_at IS NULL AND granted IS NULL AND refused_at IS NULL AND review IS NULL AND created_at >= ?4
               AND id = (SELECT MAX(id) FROM responses r2 WHERE r2.agency = responses.agency
                         AND r2.plan = responses.plan AND r2.task = responses.task
                         AND {same_deadline} AND r2.undone_at IS NULL)"),
            args![now.to_rfc3339(), id, agency, not_before.to_rfc3339()],
        )?;
        Ok(n == 1)
    }

    pub fn response(&self, id: i64) -> Result<Option<Response>> {
        Ok(self
            .db
            .query_opt(
                &format!("SELECT {RESPONSE_COLUMNS} FROM responses WHERE id = ?1"),
                args![id],
                response_row,
            )?
            .flatten())
    }

    /// Responses, oldest first.
    pub fn responses(&self, f: &ResponseFilter<'_>) -> Result<Vec<Response>> {
        let rows = self.db.query_map(
            &format!(
                "SELECT {RESPONSE_COLUMNS} FROM responses
             WHERE (?1 IS NULL OR agency = ?1) AND (?2 IS NULL OR plan = ?2)
               AND (?3 = 0 OR (action = 'extension' AND undone_at IS NULL AND granted IS NULL AND refused_at IS NULL))
             ORDER BY id"
            ),
            args![f.agency, f.plan, i64::from(f.pending_extensions)],
            response_row,
        )?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Grants an extension: `agency`'s deadline `from` of the task moves to `to`; pending
    /// requests for that deadline are marked answered. One transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn grant_extension(
        &mut self,
        agency: &str,
        plan: &str,
        task: &str,
        from: NaiveDate,
        to: NaiveDate,
        doc_ref: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let tx = self.db.begin()?;
        let id = grant_in(&tx, agency, plan, task, from, to, doc_ref, now)?;
        tx.commit()?;
        Ok(id)
    }

    /// Records `grant` (checked by `extension::check`) and the messages telling the agency, in
    /// one transaction: both or neither. Pending requests for that deadline are marked
    /// answered, as by [`Store::grant_extension`]. The grant's id.
    pub fn grant_extension_and_tell(
        &self,
        grant: &crate::extension::Grant,
        messages: &[crate::messages::NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        self.full_sync()?;
        let tx = self.write_transaction()?;
        let id = grant_in(
            &tx,
            &grant.agency,
            &grant.plan,
            &grant.task,
            grant.from,
            grant.to,
            Some(&grant.doc_ref),
            now,
        )?;
        let stamp = self.now_text();
        for d in messages {
            super::insert_delivery(&tx, &self.instance, domain, d, &stamp, "[]", &stamp, false)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// The monitoring office's decision on the extension request `request` and the messages
    /// telling the agency, in one transaction: both or neither. False (nothing written) when
    /// the request is no longer pending (withdrawn, or decided meanwhile).
    pub fn decide_extension(
        &self,
        request: &Response,
        decision: &crate::messages::Decision,
        messages: &[crate::messages::NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.full_sync()?;
        let tx = self.write_transaction()?;
        let pending: i64 = tx.query_row(
            "SELECT COUNT(*) FROM responses WHERE id = ?1 AND action = 'extension'
               AND undone_at IS NULL AND granted IS NULL AND refused_at IS NULL",
            args![request.id],
            |r| r.get(0),
        )?;
        if pending != 1 {
            return Ok(false);
        }
        match decision {
            crate::messages::Decision::Granted { to, doc_ref } => {
                let from = request.deadline.unwrap_or(*to);
                let id = grant_in(
                    &tx,
                    &request.agency,
                    &request.plan,
                    &request.task,
                    from,
                    *to,
                    doc_ref.as_deref(),
                    now,
                )?;
                // This request too, whatever deadline it named.
                tx.execute(
                    "UPDATE responses SET granted = ?1 WHERE id = ?2",
                    args![id, request.id],
                )?;
            }
            crate::messages::Decision::Refused { reason } => {
                tx.execute(
                    "UPDATE responses SET refused_at = ?1, refusal = ?2 WHERE id = ?3",
                    args![now.to_rfc3339(), reason.as_str(), request.id],
                )?;
            }
        }
        let stamp = self.now_text();
        for d in messages {
            super::insert_delivery(&tx, &self.instance, domain, d, &stamp, "[]", &stamp, false)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// The monitoring office's review of the completion `id`: confirmed, or returned with its
    /// reason (it then counts for nothing), and the messages telling the agency, in one
    /// transaction. False (nothing written) when it is not a completion waiting for review
    /// (withdrawn, reviewed already, or not a completion).
    pub fn review_completion(
        &self,
        id: i64,
        confirmed: bool,
        reason: Option<&str>,
        messages: &[crate::messages::NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.full_sync()?;
        let tx = self.write_transaction()?;
        let n = tx.execute(
            "UPDATE responses SET reviewed_at = ?1, review = ?2, review_reason = ?3
             WHERE id = ?4 AND action = 'done' AND undone_at IS NULL AND review IS NULL",
            args![
                now.to_rfc3339(),
                if confirmed { "confirmed" } else { "returned" },
                reason,
                id
            ],
        )?;
        if n != 1 {
            return Ok(false);
        }
        let stamp = self.now_text();
        for d in messages {
            super::insert_delivery(&tx, &self.instance, domain, d, &stamp, "[]", &stamp, false)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// When a reminder about each (agency, plan, task) last went out: the time of the pass
    /// that made it (the service's `now`, which `--now` sets), sent deliveries only; trial
    /// mode's (to the trial address) reached no agency and are left out.
    pub fn last_reminders(
        &self,
    ) -> Result<std::collections::HashMap<(String, String, String), DateTime<Utc>>> {
        let sql = if self.db.is_pg() {
            "SELECT d.agency, i.value->>'plan', i.value->>'task', MAX(d.tick_at)
             FROM deliveries d, jsonb_array_elements(d.items::jsonb) i
             WHERE d.status = ?1 AND d.trial = 0
             GROUP BY 1, 2, 3"
        } else {
            "SELECT d.agency, json_extract(i.value, '$.plan'), json_extract(i.value, '$.task'), MAX(d.tick_at)
             FROM deliveries d, json_each(d.items) i
             WHERE d.status = ?1 AND d.trial = 0
             GROUP BY 1, 2, 3"
        };
        let rows = self
            .db
            .query_map(sql, args![super::DeliveryStatus::Sent.as_str()], |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<Option<String>>(1)?,
                    r.get::<Option<String>>(2)?,
                    r.get::<Option<String>>(3)?,
                ))
            })?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            if let (agency, Some(plan), Some(task), Some(at)) = row {
                if let Some(at) = time(Some(at)) {
                    out.insert((agency, plan, task), at);
                }
            }
        }
        Ok(out)
    }

    /// Every extension granted, oldest first.
    pub fn extensions(&self) -> Result<Vec<Extension>> {
        let rows = self.db.query_map(
            "SELECT id, agency, plan, task, from_deadline, to_deadline, doc_ref, granted_at FROM extensions ORDER BY id",
            args![],
            |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
                r.get::<Option<String>>(4)?,
                r.get::<Option<String>>(5)?,
                r.get::<Option<String>>(6)?,
                r.get::<Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, agency, plan, task, from, to, doc_ref, at) = row;
            if let (Some(from), Some(to)) = (date(from), date(to)) {
                out.push(Extension {
                    id,
                    agency,
                    plan,
                    task,
                    from,
                    to,
                    doc_ref,
                    granted_at: time(at).unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// Changes whenever a response or an extension is recorded or withdrawn: the service
    /// rebuilds its schedule when it does.
    pub fn answers_version(&self) -> Result<String> {
        self.db.query_row(
            "SELECT (SELECT COALESCE(MAX(id), 0) || '.' || COUNT(undone_at) || '.' || COUNT(granted) || '.' || COUNT(refused_at) || '.' || COUNT(review) FROM responses)
                    || '/' || (SELECT COALESCE(MAX(id), 0) FROM extensions)",
            args![],
            |r| r.get(0),
        )
    }

    /// Changes whenever an answer is recorded or withdrawn or a reminder is marked sent: what
    /// the dashboard's figures read ([`Store::answers_version`], [`Store::last_reminders`]), in
    /// one snapshot.
    pub fn figures_version(&self) -> Result<String> {
        let tx = self.read_snapshot()?;
        let answers = self.answers_version()?;
        let sent: String = self.db.query_row(
            "SELECT COUNT(*) || '.' || COALESCE(MAX(id), 0) FROM deliveries WHERE status = 'sent'",
            args![],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(format!("{answers}/{sent}"))
    }

    /// The responses and extensions the overlay needs.
    pub fn answers(&self) -> Result<(Vec<Response>, Vec<Extension>)> {
        Ok((
            self.responses(&ResponseFilter::default())?,
            self.extensions()?,
        ))
    }

    /// What the pages show, without reading every answer ever given: every completion not
    /// withdrawn (of every agency: the overlay reads them), and of `agency` (every agency when
    /// `None`) the latest answer not withdrawn of each occurrence and the pending extension
    /// requests; every grant. Laid over a config, and read for the latest answer of an
    /// occurrence, a task or an agency, a completion, a pending request, it gives what
    /// [`Store::answers`] gives. `before`: answers made from then on are not known (the
    /// dashboard's past dates), so each occurrence's latest is the latest made before it.
    pub fn shown_answers(
        &self,
        agency: Option<&str>,
        before: Option<DateTime<Utc>>,
    ) -> Result<(Vec<Response>, Vec<Extension>)> {
        Ok((self.shown(agency, before, false)?, self.extensions()?))
    }

    /// What an agency's page reads, in one snapshot: the answers' version
    /// ([`Store::answers_version`]), the agency's own answers (its latest of each occurrence,
    /// its completions, its pending requests: [`Store::shown_answers`]'s of that agency) and,
    /// unless `known` is that version, what the overlay needs (every completion, every grant).
    pub fn page_answers(&self, agency: &str, known: Option<&str>) -> Result<PageAnswers> {
        // One read transaction: the version names the answers read with it.
        let tx = self.read_snapshot()?;
        let version = self.answers_version()?;
        let read = if known == Some(version.as_str()) {
            PageAnswers {
                mine: self.shown(Some(agency), None, true)?,
                overlay: None,
                version,
            }
        } else {
            let all = self.shown(Some(agency), None, false)?;
            PageAnswers {
                mine: all.iter().filter(|r| r.agency == agency).cloned().collect(),
                overlay: Some((all, self.extensions()?)),
                version,
            }
        };
        tx.commit()?;
        Ok(read)
    }

    /// [`Store::shown_answers`]'s responses; `only`: of `agency` alone (its completions, not
    /// every agency's).
    fn shown(
        &self,
        agency: Option<&str>,
        before: Option<DateTime<Utc>>,
        only: bool,
    ) -> Result<Vec<Response>> {
        let before = before.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
        // An occurrence's head made after `before`: the latest known then is an earlier one,
        // found by the index of each occurrence's answers (rare: a past date asked for).
        let later: bool = match &before {
            None => false,
            Some(b) => self.db.query_row(
                "SELECT EXISTS (SELECT 1 FROM response_heads h JOIN responses r ON r.id = h.response_id
                   WHERE (?1 IS NULL OR h.agency = ?1) AND r.created_at >= ?2)",
                args![agency, b.as_str()],
                |r| r.get(0),
            )?,
        };
        let heads = if later {
            "SELECT MAX(id) FROM responses WHERE undone_at IS NULL AND (?1 IS NULL OR agency = ?1)
               AND created_at < ?2 GROUP BY agency, plan, task, deadline"
        } else if self.db.is_pg() {
            "SELECT response_id FROM response_heads WHERE (?1::text IS NULL OR agency = ?1) AND (?2::text IS NULL OR TRUE)"
        } else {
            "SELECT response_id FROM response_heads WHERE (?1 IS NULL OR agency = ?1) AND ?2 IS ?2"
        };
        // Cached: the pages ask for it at every request.
        let rows = self.db.query_map(
            &format!(
                "SELECT {RESPONSE_COLUMNS} FROM responses WHERE id IN (
                {heads}
                UNION SELECT id FROM responses WHERE action = 'done' AND undone_at IS NULL
                  AND (?3 = 0 OR agency = ?1)
                UNION SELECT id FROM responses WHERE action = 'extension' AND undone_at IS NULL
                  AND granted IS NULL AND refused_at IS NULL AND (?1 IS NULL OR agency = ?1))
             ORDER BY id"
            ),
            args![agency, before, only],
            response_row,
        )?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// How many answers `agency` gave from `from` until before `to` (a day's, for `[web]
    /// max_answers_per_day`): withdrawn ones count, they were stored.
    pub fn answers_between(
        &self,
        agency: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u32> {
        let n: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM responses WHERE agency = ?1 AND created_at >= ?2 AND created_at < ?3",
            args![
                agency,
                from.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                to.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            ],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

/// What only SQLite's files show (columns, migrations); what the answers must do on either
/// backend is tested on both in `tests/it/store_backends.rs`.
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rusqlite::params;

    fn new(nonce: &str, action: Action) -> NewResponse {
        NewResponse {
            agency: "so-noi-vu".into(),
            plan: "50/KH-UBND".into(),
            task: "8.6".into(),
            deadline: NaiveDate::from_ymd_opt(2026, 6, 30),
            action,
            done_on: NaiveDate::from_ymd_opt(2026, 6, 1),
            doc_ref: Some("Báo cáo số 12/BC-SNV".into()),
            note: Some("<b>xong</b>".into()),
            percent: None,
            proposed: NaiveDate::from_ymd_opt(2026, 7, 31),
            key_id: "abcd1234".into(),
            client: Some("10.0.0.1".into()),
            user_agent: Some("test".into()),
            nonce: nonce.into(),
            who: Default::default(),
        }
    }

    fn ids(rs: &[Response]) -> Vec<i64> {
        rs.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_new_extension_request_supersedes_the_pending_one_of_its_occurrence_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_writer(&dir.path().join("s.db")).unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap();
        let t1 = t0 + chrono::Duration::hours(1);
        let first = store
            .record_response(&new("e1", Action::Extension), t0)
            .unwrap();
        let other = NewResponse {
            deadline: NaiveDate::from_ymd_opt(2026, 9, 30),
            ..new("e2", Action::Extension)
        };
        let other = store.record_response(&other, t0).unwrap();
        let v = store.answers_version().unwrap();
        let second = store
            .record_response(&new("e3", Action::Extension), t1)
            .unwrap();
        assert_ne!(store.answers_version().unwrap(), v, "the service rebuilds");
        let pending = ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        };
        assert_eq!(
            ids(&store.responses(&pending).unwrap()),
            vec![other, second]
        );
        let old = store.response(first).unwrap().unwrap();
        assert_eq!(old.undone_at, Some(t1), "kept, marked when replaced");
        let by: Option<i64> = store
            .conn()
            .query_row(
                "SELECT superseded_by FROM responses WHERE id = ?1",
                [first],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(by, Some(second));
        // A decided request stays as decided: a later one does not touch it.
        let from = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 7, 31).unwrap();
        let g = store
            .grant_extension("so-noi-vu", "50/KH-UBND", "8.6", from, to, None, t1)
            .unwrap();
        let third = store
            .record_response(&new("e4", Action::Extension), t1)
            .unwrap();
        let granted = store.response(second).unwrap().unwrap();
        assert_eq!((granted.granted, granted.undone_at), (Some(g), None));
        assert_eq!(ids(&store.responses(&pending).unwrap()), vec![other, third]);
        // Progress notes are never superseded.
        let p1 = store
            .record_response(&new("p1", Action::Progress), t1)
            .unwrap();
        store
            .record_response(&new("p2", Action::Progress), t1)
            .unwrap();
        assert!(store.response(p1).unwrap().unwrap().undone_at.is_none());
    }

    #[test]
    fn migration_16_keeps_the_latest_of_several_pending_requests_and_the_latest_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nhacviec.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &super::super::MIGRATIONS[..15] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 15).unwrap();
            for (i, action) in ["extension", "extension", "progress", "extension"]
                .iter()
                .enumerate()
            {
                conn.execute(
                    "INSERT INTO responses (agency, plan, task, deadline, action, created_at, key_id, nonce, exact)
                     VALUES ('a', 'p', 't', '2026-06-30', ?1, '2026-06-01T02:00:00+00:00', 'k', ?2, 1)",
                    params![action, format!("n{i}")],
                )
                .unwrap();
            }
        }
        let store = Store::open_writer(&path).unwrap();
        let pending = ResponseFilter {
            pending_extensions: true,
            ..Default::default()
        };
        assert_eq!(ids(&store.responses(&pending).unwrap()), vec![4]);
        assert_eq!(
            ids(&store.responses(&ResponseFilter::default()).unwrap()),
            vec![1, 2, 3, 4],
            "nothing deleted"
        );
        let by: Vec<Option<i64>> = (1..=4)
            .map(|id| {
                store
                    .conn()
                    .query_row(
                        "SELECT superseded_by FROM responses WHERE id = ?1",
                        [id],
                        |r| r.get(0),
                    )
                    .unwrap()
            })
            .collect();
        assert_eq!(by, vec![Some(4), Some(4), None, None]);
        assert_eq!(ids(&store.shown_answers(None, None).unwrap().0), vec![4]);
    }
}
