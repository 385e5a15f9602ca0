//! The store seen by role (issue 28): what each consumer needs of it, as a trait, so a
//! consumer depends on its role and not on the whole [`Store`] (and a test can hand it a fake).
//!
//! | role | who uses it |
//! |---|---|
//! | [`Outbox`] (the send side: record, read what is ready, mark) | `deliver::send_ready*`, `deliver::record`, `channels::zalo::queue_stop_alert` |
//! | [`OutboxAdmin`] (what the admin reads and requeues) | `history`, `retry` (CLI) |
//! | [`Answers`] (the agencies' answers and the decisions on them) | the pages (`web`), `deliver::Engine`, `responses` (CLI) |
//! | [`ZaloTokens`] (tokens, the channel's stop and quota) | `channels::{Senders, Sender, zalo}` |
//! | [`ChangeFeed`] (another process committed) | the daemon's poll |
//!
//! Leadership is its own type already (`pg::Leadership`, `lead::Lead`). Meta entries
//! (`Store::get`/`put`, generic over [`super::Entry`]) have no trait: a generic method makes a
//! trait unusable as `dyn`, so each role offers the entries it needs as plain methods instead
//! (`ZaloTokens::zalo_stopped`, `Outbox::take_breaker_reset`). Likewise `Store::batch` is
//! generic over its result; [`Outbox::in_one_transaction`] is its `dyn` form.
//!
//! Every method here delegates to the inherent one of [`Store`], which holds the SQL.

use super::meta::{
    ResetBreaker, StopAlert, ZaloQuotaDay, ZaloQuotaRemaining, ZaloStopAlert, ZaloStopped,
};
use super::{
    HistoryFilter, Ledger, PageAnswers, Put, RecordError, RefusalSpell, Requeued, ResponseFilter,
    Result, Share, StatusCounts, Store, TickEnd,
};
use crate::answers::{Extension, NewResponse, Response};
use crate::config::Channel;
use crate::messages::NewDelivery;
use crate::outbox::{Delivery, Recorded};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

/// A stored Zalo token pair: (access token, refresh token, access expiry).
pub type ZaloToken = (Option<String>, String, Option<DateTime<Utc>>);

/// The send side of the outbox: deliveries recorded, read when ready, marked after their
/// attempt. Statuses and times follow `outbox::after_attempt`.
pub trait Outbox {
    /// A tick's batch, one transaction, durable before it returns, recorded for the pass that
    /// sends it: what each delivery was recorded with, in the shares' order
    /// ([`Store::record_batch_to_send`]).
    fn record_batch_to_send(
        &mut self,
        tick_at: DateTime<Utc>,
        shares: &[Share<'_>],
        end: Option<TickEnd<'_>>,
        domain: &str,
    ) -> Result<Vec<Recorded>>;
    /// Deliveries outside a tick (reports, fallbacks, alerts) ([`Store::record_extra`]).
    fn record_extra(
        &self,
        ledger: Ledger,
        deliveries: &[NewDelivery],
        reported: &[i64],
        meta: &[Put],
        domain: &str,
    ) -> Result<Vec<i64>>;
    /// [`Outbox::record_extra`] made by the pass at `at`.
    fn record_extra_at(
        &self,
        ledger: Ledger,
        deliveries: &[NewDelivery],
        reported: &[i64],
        meta: &[Put],
        domain: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>>;
    /// At most `limit` deliveries to attempt at `now`, oldest first.
    fn ready(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>>;
    /// [`Outbox::ready`] for those past the delivery `after` (a pass reads on from what it
    /// read last: what it sent may not be marked in its row yet).
    fn ready_after(&self, now: DateTime<Utc>, limit: usize, after: i64) -> Result<Vec<Delivery>> {
        Ok(self
            .ready(now, usize::MAX)?
            .into_iter()
            .filter(|d| d.id > after)
            .take(limit)
            .collect())
    }
    /// When the earliest waiting delivery is due.
    fn next_attempt(&self) -> Result<Option<DateTime<Utc>>>;
    /// Runs `marks` in one transaction (attempts that ended together commit at once).
    fn in_one_transaction(&self, marks: &mut dyn FnMut() -> Result<()>) -> Result<()>;
    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<()>;
    /// Marks left in SQLite's mark log written into their rows (`store::marks`).
    fn fold_mark_log(&self) -> Result<usize> {
        Ok(0)
    }
    /// Lets go of what this session claimed and did not mark (the end of a pass).
    fn release_claims(&self) -> Result<()> {
        Ok(())
    }
    /// Counts deliveries decided by a pass, towards clearing their old row versions when
    /// the service goes idle (`Store::tidy_if_due`).
    fn note_decided(&self, _n: usize) {}
    /// Where the outbox is, for a connection of its own beside this one that marks what was
    /// sent (`deliver`'s marker); `None`: the marks go through this one.
    fn location(&self) -> Option<crate::store::Location> {
        None
    }
    /// Several sent at `at`: one statement where the store can.
    fn mark_sent_all(&self, ids: &[i64], at: DateTime<Utc>) -> Result<()> {
        ids.iter().try_for_each(|id| self.mark_sent(*id, at))
    }
    fn mark_retry(&self, id: i64, next: DateTime<Utc>, error: &str) -> Result<()>;
    fn mark_dead(&self, id: i64, error: &str) -> Result<()>;
    /// Dead because its message went out as `instead`: never reported, never requeued.
    fn mark_handed_over(&self, id: i64, instead: i64, error: &str) -> Result<()>;
    fn make_ready(&self, id: i64, at: DateTime<Utc>) -> Result<()>;
    fn mark_reported(&self, id: i64) -> Result<()>;
    /// Moves `channel`'s deliveries ready at `now` to `at`, counting no attempt.
    fn postpone_channel(
        &self,
        channel: Channel,
        now: DateTime<Utc>,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<usize>;
    /// Whether `nhacviec retry` asked for the session breaker to close; the ask is consumed.
    fn take_breaker_reset(&self) -> Result<bool>;
    /// Notes that the mail server refuses every message; whether the spell starts now.
    fn note_email_refused(&self, error: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Ends the spell in progress (mail went through), if there was one.
    fn end_email_refusal(&self, now: DateTime<Utc>) -> Result<Option<RefusalSpell>>;
}

/// What the admin reads of the outbox and does to it: `history`, `retry`, the counts.
pub trait OutboxAdmin {
    fn counts(&self) -> Result<StatusCounts>;
    fn history(
        &self,
        agency: Option<&str>,
        status: Option<crate::outbox::DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>>;
    fn history_filtered(&self, f: &HistoryFilter<'_>) -> Result<Vec<Delivery>>;
    /// Skipped slots of `ledger`, newest first: (key, reason, recorded at), those `keep` takes.
    #[allow(clippy::type_complexity)]
    fn skipped_slots(
        &self,
        ledger: Ledger,
        limit: usize,
        keep: &dyn Fn(&str, Option<&str>, &str) -> bool,
    ) -> Result<Vec<(String, Option<String>, String)>>;
    /// How many deliveries trial mode made.
    fn trial_deliveries(&self) -> Result<usize>;
    /// Dead deliveries not yet reported, and those retrying after three attempts.
    fn failures_to_report(&self) -> Result<(Vec<Delivery>, Vec<Delivery>)>;
    /// Retrying (and with `dead`, dead) deliveries made ready at `now`.
    fn requeue(
        &self,
        dead: bool,
        agency: Option<&str>,
        plan: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Requeued>;
}

/// The agencies' answers (an audit trail) and the office's decisions on them.
pub trait Answers {
    fn record_response(
        &self,
        r: &NewResponse,
        now: DateTime<Utc>,
    ) -> std::result::Result<i64, RecordError>;
    fn undo_response(
        &self,
        id: i64,
        agency: &str,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    fn response(&self, id: i64) -> Result<Option<Response>>;
    fn responses(&self, f: &ResponseFilter<'_>) -> Result<Vec<Response>>;
    /// An extension granted and the agency's message, one transaction.
    fn grant_extension_and_tell(
        &self,
        grant: &crate::extension::Grant,
        messages: &[NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// A request granted or refused and the agency's message, one transaction.
    fn decide_extension(
        &self,
        request: &Response,
        decision: &crate::messages::Decision,
        messages: &[NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// A completion confirmed or returned and the agency's message, one transaction.
    fn review_completion(
        &self,
        id: i64,
        confirmed: bool,
        reason: Option<&str>,
        messages: &[NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// What the pages show: the latest answer per occurrence, completions, pending requests.
    fn shown_answers(
        &self,
        agency: Option<&str>,
        before: Option<DateTime<Utc>>,
    ) -> Result<(Vec<Response>, Vec<Extension>)>;
    fn page_answers(&self, agency: &str, known: Option<&str>) -> Result<PageAnswers>;
    /// Changes with every answer, undo and decision: what the service compares to rebuild.
    fn answers_version(&self) -> Result<String>;
    /// [`Answers::answers_version`] and the reminders sent: what the dashboard's figures read.
    fn figures_version(&self) -> Result<String>;
    /// How many answers `agency` gave in [from, to).
    fn answers_between(&self, agency: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<u32>;
    /// The pass time of the latest reminder sent per (agency, plan, task).
    fn last_reminders(&self) -> Result<HashMap<(String, String, String), DateTime<Utc>>>;
    fn extensions(&self) -> Result<Vec<Extension>>;
    /// Every response and extension.
    fn answers(&self) -> Result<(Vec<Response>, Vec<Extension>)>;
}

/// The Zalo channel's state: its single-use token pair, whether it stopped (and the admin's
/// alert of it), the ZNS quota Zalo last reported.
pub trait ZaloTokens {
    fn zalo_token(&self) -> Result<Option<ZaloToken>>;
    /// Stores a pair durably before it is used; a stopped channel starts again.
    fn set_zalo_token(
        &self,
        access: Option<&str>,
        refresh: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// Why the channel stopped, if it did.
    fn zalo_stopped(&self) -> Result<Option<String>>;
    /// Stops the channel for `reason`, the admin's alert pending.
    fn stop_zalo(&self, reason: &str) -> Result<()>;
    fn zalo_stop_alert(&self) -> Result<Option<StopAlert>>;
    fn set_zalo_stop_alert(&self, alert: StopAlert) -> Result<()>;
    /// The quota Zalo last reported: (its day, in the config's zone; the remaining count's text).
    fn zalo_quota(&self) -> Result<(Option<NaiveDate>, Option<String>)>;
    /// Notes the quota `remaining` on `day` (both written even when one fails).
    fn note_zalo_quota(&self, remaining: &str, day: NaiveDate) -> Result<()>;
}

/// Whether another process committed since last looked (`nhacviec retry` beside the service):
/// SQLite's `data_version`, PostgreSQL's NOTIFY feed.
pub trait ChangeFeed {
    fn data_version(&self) -> Result<i64>;
}

impl Outbox for Store {
    fn record_batch_to_send(
        &mut self,
        tick_at: DateTime<Utc>,
        shares: &[Share<'_>],
        end: Option<TickEnd<'_>>,
        domain: &str,
    ) -> Result<Vec<Recorded>> {
        Store::record_batch_to_send(self, tick_at, shares, end, domain)
    }

    fn record_extra(
        &self,
        ledger: Ledger,
        deliveries: &[NewDelivery],
        reported: &[i64],
        meta: &[Put],
        domain: &str,
    ) -> Result<Vec<i64>> {
        Store::record_extra(self, ledger, deliveries, reported, meta, domain)
    }

    fn record_extra_at(
        &self,
        ledger: Ledger,
        deliveries: &[NewDelivery],
        reported: &[i64],
        meta: &[Put],
        domain: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        Store::record_extra_at(self, ledger, deliveries, reported, meta, domain, at)
    }

    fn ready(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        Store::ready(self, now, limit)
    }

    fn ready_after(&self, now: DateTime<Utc>, limit: usize, after: i64) -> Result<Vec<Delivery>> {
        Store::ready_after(self, now, limit, after)
    }

    fn next_attempt(&self) -> Result<Option<DateTime<Utc>>> {
        Store::next_attempt(self)
    }

    fn in_one_transaction(&self, marks: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        Store::batch(self, marks)
    }

    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        Store::mark_sent(self, id, at)
    }

    fn fold_mark_log(&self) -> Result<usize> {
        Store::fold_mark_log(self)
    }

    fn mark_sent_all(&self, ids: &[i64], at: DateTime<Utc>) -> Result<()> {
        Store::mark_sent_all(self, ids, at)
    }

    fn release_claims(&self) -> Result<()> {
        Store::release_claims(self)
    }

    fn note_decided(&self, n: usize) {
        Store::note_decided(self, n)
    }

    fn location(&self) -> Option<crate::store::Location> {
        Some(Store::location(self))
    }

    fn mark_retry(&self, id: i64, next: DateTime<Utc>, error: &str) -> Result<()> {
        Store::mark_retry(self, id, next, error)
    }

    fn mark_dead(&self, id: i64, error: &str) -> Result<()> {
        Store::mark_dead(self, id, error)
    }

    fn mark_handed_over(&self, id: i64, instead: i64, error: &str) -> Result<()> {
        Store::mark_handed_over(self, id, instead, error)
    }

    fn make_ready(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        Store::make_ready(self, id, at)
    }

    fn mark_reported(&self, id: i64) -> Result<()> {
        Store::mark_reported(self, id)
    }

    fn postpone_channel(
        &self,
        channel: Channel,
        now: DateTime<Utc>,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<usize> {
        Store::postpone_channel(self, channel, now, at, why)
    }

    fn take_breaker_reset(&self) -> Result<bool> {
        let asked = self.get(&ResetBreaker)?.is_some();
        if asked {
            self.remove(&ResetBreaker)?;
        }
        Ok(asked)
    }

    fn note_email_refused(&self, error: &str, now: DateTime<Utc>) -> Result<bool> {
        Store::note_email_refused(self, error, now)
    }

    fn end_email_refusal(&self, now: DateTime<Utc>) -> Result<Option<RefusalSpell>> {
        Store::end_email_refusal(self, now)
    }
}

impl OutboxAdmin for Store {
    fn counts(&self) -> Result<StatusCounts> {
        Store::counts(self)
    }

    fn history(
        &self,
        agency: Option<&str>,
        status: Option<crate::outbox::DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        Store::history(self, agency, status, limit)
    }

    fn history_filtered(&self, f: &HistoryFilter<'_>) -> Result<Vec<Delivery>> {
        Store::history_filtered(self, f)
    }

    fn skipped_slots(
        &self,
        ledger: Ledger,
        limit: usize,
        keep: &dyn Fn(&str, Option<&str>, &str) -> bool,
    ) -> Result<Vec<(String, Option<String>, String)>> {
        Store::skipped_slots(self, ledger, limit, keep)
    }

    fn trial_deliveries(&self) -> Result<usize> {
        Store::trial_deliveries(self)
    }

    fn failures_to_report(&self) -> Result<(Vec<Delivery>, Vec<Delivery>)> {
        Store::failures_to_report(self)
    }

    fn requeue(
        &self,
        dead: bool,
        agency: Option<&str>,
        plan: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Requeued> {
        Store::requeue(self, dead, agency, plan, now)
    }
}

impl Answers for Store {
    fn record_response(
        &self,
        r: &NewResponse,
        now: DateTime<Utc>,
    ) -> std::result::Result<i64, RecordError> {
        Store::record_response(self, r, now)
    }

    fn undo_response(
        &self,
        id: i64,
        agency: &str,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Store::undo_response(self, id, agency, not_before, now)
    }

    fn response(&self, id: i64) -> Result<Option<Response>> {
        Store::response(self, id)
    }

    fn responses(&self, f: &ResponseFilter<'_>) -> Result<Vec<Response>> {
        Store::responses(self, f)
    }

    fn grant_extension_and_tell(
        &self,
        grant: &crate::extension::Grant,
        messages: &[NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Store::grant_extension_and_tell(self, grant, messages, domain, now)
    }

    fn decide_extension(
        &self,
        request: &Response,
        decision: &crate::messages::Decision,
        messages: &[NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Store::decide_extension(self, request, decision, messages, domain, now)
    }

    fn review_completion(
        &self,
        id: i64,
        confirmed: bool,
        reason: Option<&str>,
        messages: &[NewDelivery],
        domain: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Store::review_completion(self, id, confirmed, reason, messages, domain, now)
    }

    fn shown_answers(
        &self,
        agency: Option<&str>,
        before: Option<DateTime<Utc>>,
    ) -> Result<(Vec<Response>, Vec<Extension>)> {
        Store::shown_answers(self, agency, before)
    }

    fn page_answers(&self, agency: &str, known: Option<&str>) -> Result<PageAnswers> {
        Store::page_answers(self, agency, known)
    }

    fn answers_version(&self) -> Result<String> {
        Store::answers_version(self)
    }

    fn figures_version(&self) -> Result<String> {
        Store::figures_version(self)
    }

    fn answers_between(&self, agency: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<u32> {
        Store::answers_between(self, agency, from, to)
    }

    fn last_reminders(&self) -> Result<HashMap<(String, String, String), DateTime<Utc>>> {
        Store::last_reminders(self)
    }

    fn extensions(&self) -> Result<Vec<Extension>> {
        Store::extensions(self)
    }

    fn answers(&self) -> Result<(Vec<Response>, Vec<Extension>)> {
        Store::answers(self)
    }
}

impl ZaloTokens for Store {
    fn zalo_token(&self) -> Result<Option<ZaloToken>> {
        Store::zalo_token(self)
    }

    fn set_zalo_token(
        &self,
        access: Option<&str>,
        refresh: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        Store::set_zalo_token(self, access, refresh, expires_at)
    }

    fn zalo_stopped(&self) -> Result<Option<String>> {
        self.get(&ZaloStopped)
    }

    fn stop_zalo(&self, reason: &str) -> Result<()> {
        self.put(&ZaloStopped, &reason.to_string())?;
        self.put(&ZaloStopAlert, &StopAlert::Pending)
    }

    fn zalo_stop_alert(&self) -> Result<Option<StopAlert>> {
        self.get(&ZaloStopAlert)
    }

    fn set_zalo_stop_alert(&self, alert: StopAlert) -> Result<()> {
        self.put(&ZaloStopAlert, &alert)
    }

    fn zalo_quota(&self) -> Result<(Option<NaiveDate>, Option<String>)> {
        Ok((self.get(&ZaloQuotaDay)?, self.get(&ZaloQuotaRemaining)?))
    }

    fn note_zalo_quota(&self, remaining: &str, day: NaiveDate) -> Result<()> {
        let remaining = self.put(&ZaloQuotaRemaining, &remaining.to_string());
        let day = self.put(&ZaloQuotaDay, &day);
        remaining.and(day)
    }
}

impl ChangeFeed for Store {
    fn data_version(&self) -> Result<i64> {
        Store::data_version(self)
    }
}
