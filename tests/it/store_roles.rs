//! The store's roles are a real seam (`store::roles`): `deliver::send_ready` runs on an outbox
//! kept in a `Vec`, no database, and marks each delivery as `outbox::after_attempt` says, a
//! Zalo message handed over to email included.

use crate::support::repo;
use chrono::{DateTime, TimeZone, Utc};
use nhacviec::channels::Senders;
use nhacviec::config::Channel;
use nhacviec::deliver;
use nhacviec::messages::NewDelivery;
use nhacviec::outbox::{Delivery, DeliveryStatus, Recorded};
use nhacviec::store::meta::StopAlert;
use nhacviec::store::{
    Ledger, Outbox, Put, RefusalSpell, Result, Share, TickEnd, ZaloToken, ZaloTokens,
};
use std::cell::{Cell, RefCell};

/// An outbox in memory: deliveries by id (1, 2, …), each mark applied to its row; no slots,
/// no meta, no ledgers.
#[derive(Default)]
struct VecOutbox {
    rows: RefCell<Vec<Delivery>>,
    transactions: Cell<usize>,
    refused: RefCell<Option<RefusalSpell>>,
    /// What Zalo would keep: nothing (never logged in), or a stop.
    stopped: RefCell<Option<String>>,
}

impl VecOutbox {
    fn add(&self, d: NewDelivery, at: DateTime<Utc>) -> i64 {
        let mut rows = self.rows.borrow_mut();
        let id = rows.len() as i64 + 1;
        let mut row = Delivery::unrecorded(d, at, "test.example");
        row.id = id;
        row.message_id = format!("<fake.{id}@test.example>");
        row.next_attempt_at = Some(at);
        rows.push(row);
        id
    }

    fn row(&self, id: i64) -> Delivery {
        self.rows.borrow()[id as usize - 1].clone()
    }

    fn with(&self, id: i64, f: impl FnOnce(&mut Delivery)) -> Result<()> {
        f(&mut self.rows.borrow_mut()[id as usize - 1]);
        Ok(())
    }
}

impl Outbox for VecOutbox {
    fn record_batch_to_send(
        &mut self,
        tick_at: DateTime<Utc>,
        shares: &[Share<'_>],
        _end: Option<TickEnd<'_>>,
        _domain: &str,
    ) -> Result<Vec<Recorded>> {
        Ok(shares
            .iter()
            .flat_map(|s| s.deliveries)
            .map(|d| {
                let row = self.row(self.add(d.clone(), tick_at));
                Recorded {
                    id: row.id,
                    message_id: row.message_id,
                    created_at: row.created_at,
                    trial: row.trial,
                }
            })
            .collect())
    }

    fn record_extra(
        &self,
        ledger: Ledger,
        deliveries: &[NewDelivery],
        reported: &[i64],
        meta: &[Put],
        domain: &str,
    ) -> Result<Vec<i64>> {
        self.record_extra_at(ledger, deliveries, reported, meta, domain, Utc::now())
    }

    fn record_extra_at(
        &self,
        _ledger: Ledger,
        deliveries: &[NewDelivery],
        _reported: &[i64],
        _meta: &[Put],
        _domain: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        Ok(deliveries.iter().map(|d| self.add(d.clone(), at)).collect())
    }

    fn ready(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        Ok(self
            .rows
            .borrow()
            .iter()
            .filter(|d| matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying))
            .filter(|d| d.next_attempt_at.is_none_or(|t| t <= now))
            .take(limit)
            .cloned()
            .collect())
    }

    fn next_attempt(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .rows
            .borrow()
            .iter()
            .filter(|d| matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying))
            .filter_map(|d| d.next_attempt_at)
            .min())
    }

    fn in_one_transaction(&self, marks: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.transactions.set(self.transactions.get() + 1);
        marks()
    }

    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.with(id, |d| {
            d.status = DeliveryStatus::Sent;
            d.attempts += 1;
            d.sent_at = Some(at);
            d.next_attempt_at = None;
        })
    }

    fn mark_retry(&self, id: i64, next: DateTime<Utc>, error: &str) -> Result<()> {
        self.with(id, |d| {
            d.status = DeliveryStatus::Retrying;
            d.attempts += 1;
            d.next_attempt_at = Some(next);
            d.last_error = Some(error.into());
        })
    }

    fn mark_dead(&self, id: i64, error: &str) -> Result<()> {
        self.with(id, |d| {
            d.status = DeliveryStatus::Dead;
            d.attempts += 1;
            d.next_attempt_at = None;
            d.last_error = Some(error.into());
        })
    }

    fn mark_handed_over(&self, id: i64, instead: i64, error: &str) -> Result<()> {
        self.mark_dead(id, error)?;
        self.with(id, |d| d.handed_over = Some(instead))
    }

    fn make_ready(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.with(id, |d| d.next_attempt_at = Some(at))
    }

    fn mark_reported(&self, _id: i64) -> Result<()> {
        Ok(())
    }

    fn postpone_channel(
        &self,
        channel: Channel,
        now: DateTime<Utc>,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<usize> {
        let ready: Vec<i64> = self
            .ready(now, usize::MAX)?
            .iter()
            .filter(|d| d.channel == channel)
            .map(|d| d.id)
            .collect();
        for &id in &ready {
            self.with(id, |d| {
                d.next_attempt_at = Some(at);
                d.last_error = Some(why.into());
            })?;
        }
        Ok(ready.len())
    }

    fn take_breaker_reset(&self) -> Result<bool> {
        Ok(false)
    }

    fn note_email_refused(&self, error: &str, now: DateTime<Utc>) -> Result<bool> {
        let started = self.refused.borrow().is_none();
        *self.refused.borrow_mut() = Some(RefusalSpell {
            since: now.to_rfc3339(),
            until: String::new(),
            error: error.into(),
        });
        Ok(started)
    }

    fn end_email_refusal(&self, now: DateTime<Utc>) -> Result<Option<RefusalSpell>> {
        Ok(self.refused.borrow_mut().take().map(|mut s| {
            s.until = now.to_rfc3339();
            s
        }))
    }
}

impl ZaloTokens for VecOutbox {
    fn zalo_token(&self) -> Result<Option<ZaloToken>> {
        Ok(None)
    }

    fn set_zalo_token(&self, _: Option<&str>, _: &str, _: Option<DateTime<Utc>>) -> Result<()> {
        *self.stopped.borrow_mut() = None;
        Ok(())
    }

    fn zalo_stopped(&self) -> Result<Option<String>> {
        Ok(self.stopped.borrow().clone())
    }

    fn stop_zalo(&self, reason: &str) -> Result<()> {
        *self.stopped.borrow_mut() = Some(reason.into());
        Ok(())
    }

    fn zalo_stop_alert(&self) -> Result<Option<StopAlert>> {
        Ok(None)
    }

    fn set_zalo_stop_alert(&self, _: StopAlert) -> Result<()> {
        Ok(())
    }

    fn zalo_quota(&self) -> Result<(Option<chrono::NaiveDate>, Option<String>)> {
        Ok((None, None))
    }

    fn note_zalo_quota(&self, _: &str, _: chrono::NaiveDate) -> Result<()> {
        Ok(())
    }
}

fn message(agency: &str, channel: Channel, to: &str) -> NewDelivery {
    NewDelivery {
        agency: agency.into(),
        channel,
        recipients: vec![to.into()],
        subject: format!("Nhắc việc {agency}"),
        body_text: "Nội dung nhắc việc.".into(),
        body_html: String::new(),
        items: vec![],
        thread: format!("<thread.{agency}@test.example>"),
        attachments: vec![],
    }
}

#[tokio::test]
async fn send_ready_marks_a_vec_outbox_as_after_attempt_says() {
    let tmp = tempfile::tempdir().unwrap();
    // The sample config: email to .eml files, no [zalo], no [webhook]; the provincial office
    // is reached by Zalo, then email.
    let config = nhacviec::config::load(&repo().join("config")).config;
    let senders = Senders::new(&config, &tmp.path().join("state")).unwrap();
    let now = Utc.with_ymd_and_hms(2022, 5, 25, 1, 0, 0).unwrap();
    let outbox = VecOutbox::default();
    let email = outbox.add(
        message("so-tu-phap", Channel::Email, "so-tu-phap@haugiang.example"),
        now,
    );
    let zalo = outbox.add(message("vp-ubnd-tinh", Channel::Zalo, "0900000001"), now);
    let webhook = outbox.add(message("so-noi-vu", Channel::Webhook, "hook"), now);

    let pass = deliver::send_ready(&outbox, &senders, &config, now)
        .await
        .unwrap();

    assert_eq!(outbox.row(email).status, DeliveryStatus::Sent);
    // Zalo is not configured: its message handed over to email, sent in the same pass.
    let z = outbox.row(zalo);
    assert_eq!(z.status, DeliveryStatus::Dead);
    let instead = z.handed_over.expect("handed over to email");
    let fallback = outbox.row(instead);
    assert_eq!(fallback.channel, Channel::Email);
    assert_eq!(fallback.recipients, ["vp-ubnd-tinh@haugiang.example"]);
    assert_eq!(fallback.status, DeliveryStatus::Sent);
    // A webhook not configured waits for a person: dead, with the reason.
    let w = outbox.row(webhook);
    assert_eq!(w.status, DeliveryStatus::Dead);
    assert!(
        w.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("webhook"),
        "{:?}",
        w.last_error
    );
    assert_eq!((pass.sent, pass.dead, pass.retrying), (2, 2, 0));
    assert!(outbox.transactions.get() > 0, "marks go in transactions");
    assert_eq!(outbox.next_attempt().unwrap(), None, "nothing left waiting");
    // The two emails went out as files.
    let emls = walk(&tmp.path().join("state"));
    assert_eq!(emls, 2, "one .eml per email sent");
}

/// .eml files under `dir`, at any depth.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        usize::from(p.extension().is_some_and(|x| x == "eml"))
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
