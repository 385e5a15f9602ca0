//! The mail server's refusal of every message, as the store keeps it: the spell in progress
//! (meta [`EmailRefused`], read by `/healthz` and the metric) and the past spells waiting for
//! the admin's daily summary ([`EmailRefusedSpells`]). JSON in meta.

use super::meta::{EmailRefused, EmailRefusedSpells, RefusalSpell};
use super::{Result, Store};
use chrono::{DateTime, Utc};

impl Store {
    /// The spell in progress, if the mail server refuses every message now.
    pub fn email_refused(&self) -> Result<Option<RefusalSpell>> {
        self.get(&EmailRefused)
    }

    /// Notes that the server refuses every message with `error`: the spell starts at `now`
    /// unless one is in progress. Returns whether it started now.
    pub fn note_email_refused(&self, error: &str, now: DateTime<Utc>) -> Result<bool> {
        let current = self.email_refused()?;
        let started = current.is_none();
        let spell = RefusalSpell {
            since: current.map_or_else(|| now.to_rfc3339(), |c| c.since),
            until: String::new(),
            error: error.to_string(),
        };
        self.put(&EmailRefused, &spell)?;
        Ok(started)
    }

    /// Ends the spell in progress at `now` (mail went through): it joins the spells for the
    /// daily summary. Returns it, if there was one.
    pub fn end_email_refusal(&self, now: DateTime<Utc>) -> Result<Option<RefusalSpell>> {
        let Some(mut spell) = self.email_refused()? else {
            return Ok(None);
        };
        spell.until = now.to_rfc3339();
        let mut spells = self.refusal_spells()?;
        spells.push(spell.clone());
        self.batch(|| {
            self.put(&EmailRefusedSpells, &spells)?;
            self.remove(&EmailRefused)
        })?;
        Ok(Some(spell))
    }

    /// The past spells not yet told in a daily summary.
    pub fn refusal_spells(&self) -> Result<Vec<RefusalSpell>> {
        Ok(self.get(&EmailRefusedSpells)?.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spell_keeps_its_start_and_ends_in_the_list_for_the_summary() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(store
            .note_email_refused("535 a", t("2026-12-01T01:00:00Z"))
            .unwrap());
        assert!(!store
            .note_email_refused("535 b", t("2026-12-01T02:00:00Z"))
            .unwrap());
        let now = store.email_refused().unwrap().unwrap();
        assert_eq!(
            (now.since.as_str(), now.error.as_str()),
            ("2026-12-01T01:00:00+00:00", "535 b")
        );
        assert!(store
            .end_email_refusal(t("2026-12-01T03:00:00Z"))
            .unwrap()
            .is_some());
        assert_eq!(store.email_refused().unwrap(), None);
        assert_eq!(
            store.end_email_refusal(t("2026-12-01T04:00:00Z")).unwrap(),
            None
        );
        let spells = store.refusal_spells().unwrap();
        assert_eq!(spells.len(), 1);
        assert_eq!(spells[0].until, "2026-12-01T03:00:00+00:00");
        // The JSON the metric and older services read: {since, error}.
        store
            .note_email_refused("x", t("2026-12-02T01:00:00Z"))
            .unwrap();
        let raw: String = store
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'email_refused'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(raw, r#"{"since":"2026-12-02T01:00:00+00:00","error":"x"}"#);
    }
}
