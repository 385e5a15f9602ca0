//! The delivery shell: a tick asks the schedule what is due, has `outbox` make the deliveries,
//! and records them in the store (one transaction, before anything is sent); then every ready
//! delivery is sent through its channel and marked as `outbox::after_attempt` decides (sent,
//! retrying with backoff, dead, or handed to email). A crash at any point loses nothing:
//! pending and retrying deliveries are picked up on restart; a message in flight at the crash
//! may go twice, with the same Message-ID.

use crate::calendar::Calendar;
use crate::channels::Senders;
use crate::config::{Channel, Config};
use crate::messages;
use crate::outbox::refusals::Refusals;
use crate::outbox::{self, Next};
use crate::render::{TemplateError, Templates};
use crate::schedule::{Schedule, SlotKey, Tick};
use crate::store::pg_marks::PgMarks;
use crate::store::{
    meta, Answers, Ledger, Outbox, Put, Share, Store, StoreError, TickEnd, ZaloTokens,
};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod read_ahead;
use read_ahead::ReadAhead;

/// Why a pass failed. Each is shown to the admin (log, `/healthz`), in Vietnamese.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}{}: {}", .0.template, .0.line.map(|l| format!(":{l}")).unwrap_or_default(), .0.message)]
    Template(#[from] TemplateError),
    #[error("không đọc được trạng thái đã gửi từ cơ sở dữ liệu; bỏ qua lần kiểm tra này")]
    Lookup,
    #[error("luồng ghi của lượt gửi dừng bất thường; lượt sau tính lại phần chưa ghi")]
    Recorder,
    #[error("[schedule] report: {0}")]
    ReportCron(#[from] crate::config::CronError),
    #[error("NHACVIEC_STATE_DIR để trống (hoặc chỉ có khoảng trắng): đặt đường dẫn thư mục trạng thái, hoặc bỏ biến này để dùng khóa state_dir trong nhacviec.toml")]
    EmptyStateDir,
}

impl From<crate::channels::zalo::AlertError> for DeliverError {
    fn from(e: crate::channels::zalo::AlertError) -> DeliverError {
        match e {
            crate::channels::zalo::AlertError::Store(e) => DeliverError::Store(e),
            crate::channels::zalo::AlertError::Template(e) => DeliverError::Template(e),
        }
    }
}

/// How far ahead deadlines are expanded: reminders come at most this long before a deadline.
const WINDOW_DAYS: u64 = 400;
/// Built this much further, so the schedule is rebuilt about monthly, not every day.
const SLACK_DAYS: u64 = crate::forecast::SLACK_DAYS;

/// What ticks evaluate against: the calendar and every reminder slot of a config, built when
/// the config is loaded and kept until it changes or the window must move forward. A tick
/// then costs the slots in its window, not the size of the plans.
pub struct Engine {
    pub calendar: Calendar,
    pub schedule: Schedule,
    /// Deadlines are expanded up to here.
    until: NaiveDate,
    /// The config with the agencies' answers laid over it, and the store's answers version it
    /// was built from (`None`: built without them).
    answered: Option<(Arc<Config>, String)>,
}

impl Engine {
    /// Builds the calendar and the schedule of `config` as seen on `today`.
    pub fn build(config: &Config, today: NaiveDate) -> Engine {
        let until = today
            .checked_add_days(Days::new(WINDOW_DAYS + SLACK_DAYS))
            .unwrap_or(today);
        let first_year = config
            .plans
            .iter()
            .map(|p| p.issued.year())
            .min()
            .unwrap_or(today.year());
        let calendar = Calendar::new(
            config.calendar.clone(),
            first_year.min(today.year()) - 1..=until.year() + 1,
        );
        // Nothing dated before the catch-up horizon can be sent: the kept schedule starts
        // there (a month earlier, so the stale ones of the last month are still recorded).
        let from = crate::forecast::schedule_from(config, today);
        let schedule = Schedule::build_from(config, &calendar, from, until);
        Engine {
            calendar,
            schedule,
            until,
            answered: None,
        }
    }

    /// Builds with the agencies' answers (`store.answers()`) laid over `config`: completions
    /// stop reminders, extensions move deadlines. `version` is `store.answers_version()`.
    pub fn build_answered(
        config: &Config,
        today: NaiveDate,
        responses: &[crate::answers::Response],
        extensions: &[crate::answers::Extension],
        version: String,
    ) -> Engine {
        let answered = crate::answers::overlaid(config, responses, extensions);
        let mut engine = Engine::build(&answered, today);
        engine.answered = Some((Arc::new(answered), version));
        engine
    }

    /// [`Engine::build_answered`] with the store's answers as they are now: the engine a pass
    /// on `today` uses as it is, so a start or a `run --once` builds the schedule once, not
    /// once without the answers and again at its first pass.
    pub fn build_with_store(
        config: &Config,
        store: &dyn Answers,
        today: NaiveDate,
    ) -> Result<Engine, StoreError> {
        let version = store.answers_version()?;
        let (responses, extensions) = store.answers()?;
        Ok(Engine::build_answered(
            config,
            today,
            &responses,
            &extensions,
            version,
        ))
    }

    /// Whether this engine is current for `today` and the store's answers `version`.
    pub fn current(&self, today: NaiveDate, version: &str) -> bool {
        self.covers(today) && self.answered.as_ref().is_some_and(|(_, v)| v == version)
    }

    /// The config this engine's schedule was built from: `base` with the answers laid over it.
    pub fn config<'a>(&'a self, base: &'a Config) -> &'a Config {
        self.answered.as_ref().map_or(base, |(c, _)| c)
    }

    /// The engine a pass at `today` works with: this one if current, else one rebuilt from
    /// the store's answers.
    pub fn rebuild_if_stale(
        &self,
        config: &Config,
        store: &dyn Answers,
        today: NaiveDate,
    ) -> Result<Option<Engine>, StoreError> {
        let version = store.answers_version()?;
        if self.current(today, &version) {
            return Ok(None);
        }
        if let Some((_, before)) = self.answered.as_ref().filter(|(_, v)| *v != version) {
            tracing::info!(event = "answers_changed", before = %before, version = %version, "các cơ quan có câu trả lời mới: lập lại lịch nhắc");
        }
        // The overlay reads completions and grants only: not every progress note.
        let (responses, extensions) = store.shown_answers(None, None)?;
        Ok(Some(Engine::build_answered(
            config,
            today,
            &responses,
            &extensions,
            version,
        )))
    }

    /// Whether this engine still covers `today`'s window (and was not built for a later day:
    /// the clock went back).
    pub fn covers(&self, today: NaiveDate) -> bool {
        let needed = today.checked_add_days(Days::new(WINDOW_DAYS));
        let built_for = self
            .until
            .checked_sub_days(Days::new(WINDOW_DAYS + SLACK_DAYS));
        needed.is_some_and(|n| n <= self.until) && built_for.is_some_and(|b| b <= today)
    }

    /// `now` if deliveries may go out now (a working day, inside `[schedule] send_hours`),
    /// else when they may next.
    pub fn next_open(&self, config: &Config, now: DateTime<Tz>) -> DateTime<Tz> {
        use chrono::TimeZone;
        let local = now.naive_local();
        let open = config.send_hours.next_open(&self.calendar, local);
        if open == local {
            return now;
        }
        // The opening as a time of that zone (earliest, should a zone repeat that hour).
        now.timezone()
            .from_local_datetime(&open)
            .earliest()
            .unwrap_or(now)
    }

    /// When a pass at `now`, outside the send hours, should run: the next opening, or the
    /// reminders' next cron tick if it falls in that opening's day and hours
    /// (`forecast::runs_at`, the rule `preview` simulates).
    pub fn deferred_to(&self, config: &Config, now: DateTime<Tz>) -> DateTime<Tz> {
        match crate::config::parse_cron(&config.reminders) {
            Ok(cron) => crate::forecast::runs_at(config, &self.calendar, &cron, now),
            Err(_) => self.next_open(config, now),
        }
    }

    /// This engine if it covers `today`, else a new one.
    pub fn refresh(&mut self, config: &Config, today: NaiveDate) {
        if !self.covers(today) {
            *self = Engine::build(config, today);
        }
    }
}

/// The state directory: `NHACVIEC_STATE_DIR`, else `state_dir` (relative to the config
/// directory), else `var` in the config directory. The variable set but empty is an error:
/// it would put the database, its lock and the mail in the current directory.
pub fn state_dir(config_dir: &Path, config: &Config) -> Result<PathBuf, DeliverError> {
    state_dir_from(std::env::var_os("NHACVIEC_STATE_DIR"), config_dir, config)
}

/// Empty, or only white space: a value left by a template or a stray `export X=" "`, never
/// a directory anyone meant.
fn is_blank(value: &std::ffi::OsStr) -> bool {
    value
        .as_encoded_bytes()
        .iter()
        .all(|b| b.is_ascii_whitespace())
}

fn state_dir_from(
    var: Option<std::ffi::OsString>,
    config_dir: &Path,
    config: &Config,
) -> Result<PathBuf, DeliverError> {
    match var {
        Some(dir) if is_blank(&dir) => Err(DeliverError::EmptyStateDir),
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(config_dir.join(config.state_dir.as_deref().unwrap_or("var"))),
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Deliveries recorded by the tick.
    pub queued: usize,
    /// Slots recorded as skipped (superseded by a later one after downtime).
    pub skipped: usize,
    /// Slots recorded as skipped for being older than the catch-up horizon.
    pub stale: usize,
    /// Slots recorded as suppressed (the agency had completed the task).
    pub suppressed: usize,
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
    /// Send attempts by channel: (sent, failed), for the metrics.
    pub by_channel: BTreeMap<Channel, (usize, usize)>,
    /// Waiting deliveries set aside because every plan they are about has been closed.
    pub withdrawn: usize,
    /// Set when the pass fell outside the send hours and did nothing: when it may run.
    pub deferred_until: Option<DateTime<Tz>>,
}

impl Pass {
    fn attempted(&mut self, channel: Channel, sent: bool) {
        let (ok, failed) = self.by_channel.entry(channel).or_default();
        if sent {
            *ok += 1;
        } else {
            *failed += 1;
        }
    }
}

/// One tick: evaluates `now` against the store and records the digests (not yet sent). In
/// trial mode against the trial ledger ([`Ledger`]), so that a rehearsal consumes no real
/// reminder. [`plan`] then [`record`], nothing sent meanwhile.
pub fn tick(
    engine: &Engine,
    config: &Config,
    templates: &Templates,
    store: &mut Store,
    now: DateTime<Tz>,
) -> Result<Pass, DeliverError> {
    let planned = plan(engine, config, store, now)?;
    record(
        planned,
        config,
        templates,
        store,
        &AtomicBool::new(false),
        |_| {},
    )
}

/// A tick decided and not yet recorded ([`plan`]): [`record`] writes it a batch at a time.
#[derive(Debug)]
pub struct Planned {
    mode: Ledger,
    now: DateTime<Tz>,
    due: Tick,
    watermark: NaiveDate,
    fingerprint: String,
    full: bool,
    evaluated: std::time::Duration,
    /// Nothing due and the watermark and fingerprint as stored: nothing to record (a quiet
    /// tick writes nothing; on PostgreSQL that spares a transaction a tick).
    unchanged: bool,
}

impl Planned {
    /// The digests due (before a long one is cut into parts, one per address).
    pub fn digests(&self) -> usize {
        self.due.digests.len()
    }
}

/// Digests rendered and recorded per transaction ([`record`]): the first batch small, so the
/// first messages leave soon after the evaluation; the later ones larger (one fsync each).
pub const FIRST_BATCH: usize = 32;
pub const BATCH: usize = 256;

/// The evaluation half of a tick: what is due at `now` against the store's ledger, and the
/// watermark and fingerprint to write once all of it is recorded.
pub fn plan(
    engine: &Engine,
    config: &Config,
    store: &Store,
    now: DateTime<Tz>,
) -> Result<Planned, DeliverError> {
    let started = std::time::Instant::now();
    let today = now.date_naive();
    let schedule = &engine.schedule;
    let mode = Ledger::of(config);
    let ledger = store.ledger(mode);
    let watermark = ledger.watermark()?;
    // A watermark after today means the clock went back, and a changed schedule may have new
    // slots at or before the watermark: in both cases look at everything again.
    let recorded = ledger.fingerprint()?;
    let since = crate::forecast::since(schedule, watermark, recorded.as_deref(), today);
    // Nothing older than the catch-up horizon goes out (a first start, downtime, a config
    // change bringing back old slots): it is recorded as skipped.
    let horizon = crate::forecast::horizon(config, today);
    let due = schedule.due_within(&ledger, today, since, horizon);
    if store.take_lookup_failure() {
        return Err(DeliverError::Lookup);
    }
    let new_watermark = watermark.map_or(today, |w| w.max(today));
    let fingerprint = schedule.fingerprint_through(new_watermark);
    let unchanged = due.digests.is_empty()
        && due.skipped.is_empty()
        && due.stale.is_empty()
        && due.suppressed.is_empty()
        && watermark == Some(new_watermark)
        && recorded.as_deref() == Some(fingerprint.as_str());
    Ok(Planned {
        mode,
        now,
        due,
        watermark: new_watermark,
        fingerprint,
        full: since.is_none(),
        evaluated: started.elapsed(),
        unchanged,
    })
}

/// The recording half of a tick: renders the digests and records them a batch at a time, each
/// batch one transaction committed durably (then `committed` is given its deliveries as
/// recorded: they may be sent, and on PostgreSQL they are claimed for the pass). The slots
/// decided without a message (superseded, stale, suppressed) go with the first batch: a slot
/// superseded by one recorded in any batch is handled by then, so a pass that stops between
/// batches cannot leave it to be sent later. The watermark and fingerprint go with the last:
/// until then the next pass evaluates again and finds what was recorded handled. `stop` set
/// ends the recording between batches.
pub fn record(
    planned: Planned,
    config: &Config,
    templates: &Templates,
    store: &mut dyn Outbox,
    stop: &AtomicBool,
    mut committed: impl FnMut(Vec<outbox::Delivery>),
) -> Result<Pass, DeliverError> {
    let started = std::time::Instant::now();
    let Planned {
        mode,
        now,
        due,
        watermark,
        fingerprint,
        full,
        evaluated,
        unchanged,
    } = planned;
    if unchanged {
        return Ok(Pass::default());
    }
    let today = now.date_naive();
    let tick_at = now.with_timezone(&Utc);
    let domain = outbox::domain_of(&config.email.from);
    let Tick {
        digests,
        skipped,
        stale,
        suppressed,
    } = due;
    let mut pass = Pass {
        skipped: skipped.len(),
        stale: stale.len(),
        suppressed: suppressed.len(),
        ..Pass::default()
    };
    let batches = batches(digests.len());
    let slots = slots_by_batch(&batches, &digests, skipped, stale, suppressed);
    let (mut rendering, mut writing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for (i, range) in batches.iter().enumerate() {
        if i > 0 && stop.load(Ordering::SeqCst) {
            tracing::info!(
                queued = pass.queued,
                "đang dừng giữa lượt ghi: phần chưa ghi sẽ được tính lại ở lượt sau"
            );
            return Ok(pass);
        }
        let t = std::time::Instant::now();
        let deliveries = messages::digests_of(config, templates, &digests[range.clone()], today)?;
        rendering += t.elapsed();
        let last = i + 1 == batches.len();
        let end = last.then_some(TickEnd {
            mode,
            watermark,
            fingerprint: &fingerprint,
        });
        let t = std::time::Instant::now();
        let recorded = record_shares(
            store, config, mode, tick_at, deliveries, &slots[i], end, &domain,
        )?;
        writing += t.elapsed();
        pass.queued += recorded.len();
        committed(recorded);
    }
    tracing::debug!(
        due_millis = evaluated.as_millis() as u64,
        render_millis = rendering.as_millis() as u64,
        record_millis = writing.as_millis() as u64,
        total_millis = (evaluated + started.elapsed()).as_millis() as u64,
        batches = batches.len(),
        full,
        trial = mode == Ledger::Trial,
        "tick phases"
    );
    Ok(pass)
}

/// The digests of each batch: [`FIRST_BATCH`], then [`BATCH`] at a time; one empty batch when
/// none is due (the slots and the watermark are still recorded).
fn batches(n: usize) -> Vec<std::ops::Range<usize>> {
    let first = n.min(FIRST_BATCH);
    let mut out = Vec::with_capacity(1 + (n - first).div_ceil(BATCH));
    out.push(0..first);
    let mut at = first;
    while at < n {
        let end = (at + BATCH).min(n);
        out.push(at..end);
        at = end;
    }
    out
}

/// The slots each batch records beside its deliveries. A superseded slot goes with the batch
/// of the digest carrying its stream's latest slot (a pass ended between batches then leaves
/// both or neither: never the earlier one alone unhandled, to be sent by the next pass); the
/// others (a stream's latest stale, suppressed) with the first. So the first batch stays
/// small after a catch-up that supersedes hundreds of thousands of slots.
fn slots_by_batch(
    batches: &[std::ops::Range<usize>],
    digests: &[crate::schedule::Digest],
    skipped: Vec<String>,
    stale: Vec<String>,
    suppressed: Vec<String>,
) -> Vec<Tick> {
    let mut out = vec![Tick::default(); batches.len()];
    let mut batch_of = std::collections::HashMap::new();
    for (i, range) in batches.iter().enumerate() {
        for digest in &digests[range.clone()] {
            for item in &digest.items {
                batch_of.insert(crate::schedule::stream_of(&item.key), i);
            }
        }
    }
    for key in skipped {
        let i = batch_of
            .get(&crate::schedule::stream_of(&key))
            .copied()
            .unwrap_or(0);
        out[i].skipped.push(key);
    }
    out[0].stale = stale;
    out[0].suppressed = suppressed;
    out
}

/// Records one batch, in trial mode in two shares ([`split_trial`]), and gives back its
/// deliveries as recorded.
#[allow(clippy::too_many_arguments)]
fn record_shares(
    store: &mut dyn Outbox,
    config: &Config,
    mode: Ledger,
    tick_at: DateTime<Utc>,
    deliveries: Vec<messages::NewDelivery>,
    slots: &Tick,
    end: Option<TickEnd<'_>>,
    domain: &str,
) -> Result<Vec<outbox::Delivery>, StoreError> {
    // The deliveries in the order they were recorded (the shares' order).
    let (recorded, deliveries) = match mode {
        Ledger::Real => {
            let share = Share {
                ledger: Ledger::Real,
                deliveries: &deliveries,
                tick: slots,
            };
            let recorded = store.record_batch_to_send(tick_at, &[share], end, domain)?;
            (recorded, deliveries)
        }
        Ledger::Trial => {
            let ((real, real_tick), (trial, trial_tick)) = split_trial(config, &deliveries, slots);
            let shares = [
                Share {
                    ledger: Ledger::Real,
                    deliveries: &real,
                    tick: &real_tick,
                },
                Share {
                    ledger: Ledger::Trial,
                    deliveries: &trial,
                    tick: &trial_tick,
                },
            ];
            let recorded = store.record_batch_to_send(tick_at, &shares, end, domain)?;
            (recorded, real.into_iter().chain(trial).collect())
        }
    };
    if recorded.len() != deliveries.len() {
        return Err(StoreError::NoRow);
    }
    Ok(deliveries
        .into_iter()
        .zip(recorded)
        .map(|(d, r)| outbox::Delivery::recorded(d, tick_at, r))
        .collect())
}

/// A trial tick's deliveries and slots in two shares: (real, trial). Trial mode redirects
/// email only ([`Ledger::redirects`]): an agency reached by Zalo or a webhook gets its
/// reminders for real, so they and that agency's skipped and suppressed slots are the real
/// ledger's (else its next real pass would send them again, or bring back a slot superseded
/// here as the latest of its stream).
#[allow(clippy::type_complexity)]
fn split_trial(
    config: &Config,
    deliveries: &[messages::NewDelivery],
    tick: &Tick,
) -> (
    (Vec<messages::NewDelivery>, Tick),
    (Vec<messages::NewDelivery>, Tick),
) {
    let (trial_deliveries, real_deliveries): (Vec<_>, Vec<_>) = deliveries
        .iter()
        .cloned()
        .partition(|d| Ledger::Trial.redirects(d.channel));
    // A slot key names its recipient (`SlotKey::agency`); one that does not read is trial's.
    let redirected = |key: &String| {
        key.parse::<SlotKey>()
            .ok()
            .is_none_or(|k| Ledger::Trial.redirects(messages::channel_for(config, &k.agency)))
    };
    let part = |keys: &[String]| -> (Vec<String>, Vec<String>) {
        let (trial, real): (Vec<String>, Vec<String>) = keys.iter().cloned().partition(redirected);
        (real, trial)
    };
    let (real_skipped, trial_skipped) = part(&tick.skipped);
    let (real_stale, trial_stale) = part(&tick.stale);
    let (real_suppressed, trial_suppressed) = part(&tick.suppressed);
    (
        (
            real_deliveries,
            Tick {
                digests: Vec::new(),
                skipped: real_skipped,
                stale: real_stale,
                suppressed: real_suppressed,
            },
        ),
        (
            trial_deliveries,
            Tick {
                digests: Vec::new(),
                skipped: trial_skipped,
                stale: trial_stale,
                suppressed: trial_suppressed,
            },
        ),
    )
}

/// Whose report times a weekly report to `monitor` keeps (`meta::WeeklyReportAt`): `None`
/// for the settings' monitor (the state stores kept before plans had offices of their own),
/// the agency for another.
fn report_office<'a>(config: &Config, monitor: &'a str) -> Option<&'a str> {
    (Some(monitor) != config.monitor.as_deref()).then_some(monitor)
}

/// The weekly report to `monitor` for the report time `due`, if not made yet: made (queued),
/// or noted as passed while stopped. Returns how many deliveries were queued.
#[allow(clippy::too_many_arguments)]
fn weekly_report_of(
    engine: &Engine,
    config: &Config,
    links: Option<&crate::links::Signer>,
    store: &mut Store,
    now: DateTime<Tz>,
    due: DateTime<Tz>,
    monitor: &str,
    global_last: Option<DateTime<Utc>>,
) -> Result<usize, DeliverError> {
    use chrono::SubsecRound;
    let domain = outbox::domain_of(&config.email.from);
    let mode = Ledger::of(config);
    let office = report_office(config, monitor);
    let (at_entry, from_entry) = (
        meta::WeeklyReportAt(office),
        meta::WeeklyReportWeekFrom(office),
    );
    // Trial mode keeps its own report times (a rehearsal must not consume the real report),
    // starting from the real ones: a trial of an established service is not a fresh store.
    let own_last = store.get_in(mode, &at_entry)?;
    let real_last = match mode {
        // A service run in trial mode so far is not a fresh store: the trial's report times
        // say the service was up, so this morning's real report goes.
        Ledger::Real => store.get_in(Ledger::Trial, &at_entry)?,
        Ledger::Trial => store
            .get(&at_entry)?
            .or(store.get(&meta::WeeklyReportAt(None))?),
    };
    let last = own_last.or(global_last).or(real_last);
    // Whole seconds: croner keeps the sub-second part of `now`, which would make every
    // pass look like a new report time.
    let due_at = due.with_timezone(&Utc).trunc_subsecs(0);
    // The report goes out for its own time, not as a side effect of a start: a fresh store
    // only notes the latest report time, and one missed for more than its day is noted
    // as skipped, not sent.
    let fresh = last.is_none();
    // Missed: the day it could first go out (its time, or the next opening of the send
    // hours: a report due on a day off goes the next working morning) has passed.
    let could_go = config
        .send_hours
        .next_open(&engine.calendar, due.naive_local());
    let missed = could_go.date() < now.date_naive();
    let made = own_last.is_some_and(|l| l >= due_at);
    if made {
        // Already made for this report time.
        return Ok(0);
    }
    // No plan of this office in force: no report (noted, so it is not made late either).
    if !config.reports_to(monitor, due.date_naive()) {
        store.put_in(mode, &at_entry, &due_at)?;
        return Ok(0);
    }
    if fresh || missed {
        if fresh {
            tracing::info!(report_at = %due.to_rfc3339(), %monitor, fresh, event = "report_missed", "lần chạy đầu: báo cáo tuần đầu tiên gửi vào giờ báo cáo tới, không gửi bù giờ đã qua");
        } else {
            tracing::info!(report_at = %due.to_rfc3339(), %monitor, fresh, event = "report_missed", "giờ gửi báo cáo tuần đã qua khi dịch vụ dừng: không gửi bù");
        }
        // What was recorded since the last report made waits for the next one made.
        if let (Some(last), None) = (last, store.get_in(mode, &from_entry)?) {
            store.put_in(mode, &from_entry, &last)?;
        }
        store.put_in(mode, &at_entry, &due_at)?;
        return Ok(0);
    }
    // The week: from the previous report time (included) to this one (excluded), on the
    // times answers and decisions were recorded; this report time is the cron occurrence,
    // not `now`, so what comes between them is next week's.
    let to = due_at;
    let real_from = match mode {
        Ledger::Real => None,
        Ledger::Trial => store.get(&from_entry)?,
    };
    let from = store
        .get_in(mode, &from_entry)?
        .or(real_from)
        .or(last)
        .filter(|from| *from < to)
        .unwrap_or(to - chrono::Duration::days(7));
    let scoped = config.monitored_by(monitor);
    let (responses, extensions) = store.answers()?;
    let last = store.last_reminders()?;
    let mail = messages::weekly::assemble_weekly_report(
        &scoped,
        links,
        monitor,
        now,
        from..to,
        &responses,
        &extensions,
        &last,
    )?;
    if mail.is_empty() {
        return Ok(0);
    }
    store.record_extra_at(
        mode,
        &mail,
        &[],
        &[
            Put::of(mode, &at_entry, &due_at),
            Put::of(mode, &from_entry, &due_at),
        ],
        &domain,
        now.with_timezone(&Utc),
    )?;
    Ok(mail.len())
}

/// The messages that are not reminders, each made once per period (state-based, like ticks):
/// the weekly report to the monitoring agency, and the daily summary of failed deliveries to
/// the admin. Returns how many deliveries were queued.
pub fn reports(
    engine: &Engine,
    config: &Config,
    links: Option<&crate::links::Signer>,
    store: &mut Store,
    now: DateTime<Tz>,
) -> Result<usize, DeliverError> {
    let domain = outbox::domain_of(&config.email.from);
    let mode = Ledger::of(config);
    let mut queued = 0;
    // Weekly report: the latest report time at or before now, if not made yet; one to each
    // monitoring office (`Config::monitors`), of the plans it monitors.
    let cron = crate::config::parse_cron(&config.report)?;
    if let Ok(due) = cron.find_previous_occurrence(&now, true) {
        // A plan's own office added to a running service starts from the settings' office's
        // state, not as a fresh store (which would only note its first report time).
        let global_last = store.ledger(mode).get(&meta::WeeklyReportAt(None))?;
        for monitor in config.monitors() {
            queued +=
                weekly_report_of(engine, config, links, store, now, due, monitor, global_last)?;
        }
    }
    // Daily failure summary to the admin. Trial mode's tells the trial deliveries' failures
    // only, on a day of its own: the real failures and the mail server's spells of refusal
    // wait for the real summary.
    let today = now.date_naive();
    let ledger = store.ledger(mode);
    if config.email.admin.is_some() && ledger.get(&meta::AdminSummaryDay)? != Some(today) {
        let (dead, stuck) = ledger.failures_to_report()?;
        let failed = |list: &[outbox::Delivery]| -> Vec<messages::FailedDelivery> {
            list.iter().map(messages::FailedDelivery::from).collect()
        };
        let refused = match mode {
            Ledger::Real => store
                .refusal_spells()?
                .iter()
                .map(|s| {
                    messages::RefusalSpell::local(&s.since, &s.until, &s.error, config.timezone)
                })
                .collect(),
            Ledger::Trial => Vec::new(),
        };
        if !dead.is_empty() || !stuck.is_empty() || !refused.is_empty() {
            let mail = messages::failure_summary(
                &config.email,
                &failed(&dead),
                &failed(&stuck),
                &refused,
                now.date_naive(),
            )?;
            let ids: Vec<i64> = dead.iter().map(|d| d.id).collect();
            let mut told = vec![Put::of(mode, &meta::AdminSummaryDay, &today)];
            if mode == Ledger::Real {
                told.push(Put::of(mode, &meta::EmailRefusedSpells, &Vec::new()));
            }
            store.record_extra_at(mode, &mail, &ids, &told, &domain, now.with_timezone(&Utc))?;
            queued += mail.len();
        }
    }
    Ok(queued)
}

/// Sends every ready delivery (up to the pool size at once) and records each outcome: the
/// outbox role, and where Zalo keeps its tokens (a `Store` is both).
pub async fn send_ready<S: Outbox + ZaloTokens>(
    store: &S,
    senders: &Senders,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Pass, DeliverError> {
    send_ready_until(store, senders, config, now, &AtomicBool::new(false)).await
}

/// [`send_ready`], stopping early once `stop` is set (the service is asked to stop): the
/// deliveries in flight end and are marked, the others are not started and stay queued
/// (pending or retrying) for the next start.
pub async fn send_ready_until<S: Outbox + ZaloTokens>(
    store: &S,
    senders: &Senders,
    config: &Config,
    now: DateTime<Utc>,
    stop: &AtomicBool,
) -> Result<Pass, DeliverError> {
    send_ready_while(store, senders, config, now, stop, None).await
}

/// What a pass records beside its sends ([`record_and_send`]).
pub struct Recording {
    pub engine: Arc<Engine>,
    /// The loaded config (the engine lays the agencies' answers over it).
    pub config: Arc<Config>,
    pub templates: Arc<Templates>,
    /// The tick to record; `None` on a report tick (the reports only).
    pub planned: Option<Planned>,
    pub now: DateTime<Tz>,
}

/// What the recording side of a pass did.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The tick's counts (queued, skipped, stale, suppressed).
    pub tick: Pass,
    /// Reports and failure summaries queued.
    pub reports: usize,
}

/// One pass's recording and sending, overlapping. The tick is rendered and recorded a batch
/// at a time ([`record`]) on a blocking thread through a second connection to the database,
/// then the reports; meanwhile the sends read the outbox through `store`. A batch is visible
/// to `store` only once committed (synchronous=FULL), so nothing is sent before it is
/// durable; each commit wakes the sends, which end once the recording has ended and nothing
/// is ready. `committed` is told each batch's number of deliveries, on the recording thread
/// (tests hold the recording there). `stop` ends both between batches and deliveries.
pub async fn record_and_send(
    recording: Recording,
    store: &Store,
    senders: &Senders,
    config: &Config,
    now: DateTime<Utc>,
    stop: Arc<AtomicBool>,
    mut committed: impl FnMut(usize) + Send + 'static,
) -> (Result<Recorded, DeliverError>, Result<Pass, DeliverError>) {
    let (location, clock) = (store.location(), store.clock());
    let (wake, woken) = tokio::sync::watch::channel(0usize);
    // At most `HANDED_AHEAD` batches wait in memory for the sends: a recording faster than
    // the sends (files, a slow server) waits for them rather than holding the whole tick.
    let (handing, handed) = std::sync::mpsc::sync_channel(HANDED_AHEAD);
    let halt = stop.clone();
    // The recording's connection, kept from the last pass (opening one costs more than a
    // national tick with nothing due).
    let kept = store.take_recorder();
    let recorder = tokio::task::spawn_blocking(move || {
        let Recording {
            engine,
            config,
            templates,
            planned,
            now,
        } = recording;
        let config = engine.config(&config);
        // The second connection of this process: the writer's lock is held by `store`.
        let mut side = match kept {
            Some(side) => side,
            None => match Store::open_side_at(&location) {
                Ok(side) => side.with_clock(clock),
                Err(e) => return (None, Err(DeliverError::from(e))),
            },
        };
        let run = || -> Result<Recorded, DeliverError> {
            let mut recorded = Recorded::default();
            if let Some(planned) = planned {
                recorded.tick = record(planned, config, &templates, &mut side, &halt, |batch| {
                    let n = batch.len();
                    // The sends gone (the pass failed): recorded all the same, and this
                    // session's claims let go of when the pass ends.
                    let _ = handing.send(batch);
                    wake.send_modify(|c| *c += n);
                    committed(n);
                })?;
            }
            if halt.load(Ordering::SeqCst) {
                return Ok(recorded);
            }
            recorded.reports = reports(&engine, config, templates.links.as_ref(), &mut side, now)?;
            Ok(recorded)
            // `wake` dropped: the sends stop waiting for more.
        };
        let result = run();
        // A connection whose recording failed is not kept: the next pass opens another.
        (result.is_ok().then_some(side), result)
    });
    // Checkpoints on the recording's connection, off the sending thread.
    let checkpoints = store.checkpoint_on_commit(false);
    let sending = send_ready_while(
        store,
        senders,
        config,
        now,
        &stop,
        Some(Beside {
            woken,
            clock,
            handed,
        }),
    );
    let (recorded, mut sent) = tokio::join!(recorder, sending);
    if let Err(e) = checkpoints.and_then(|()| store.checkpoint_on_commit(true)) {
        sent = sent.and(Err(e.into()));
    }
    let recorded = match recorded {
        Ok((kept, recorded)) => {
            // What it recorded for these sends and they did not attempt (a stop) is free for
            // whoever sends next; if it cannot let go, its connection goes, and its claims.
            let kept = kept.filter(|side| match side.release_claims() {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "chưa trả lại được các thư đã ghi mà chưa gửi: đóng kết nối ghi");
                    false
                }
            });
            store.keep_recorder(kept);
            recorded
        }
        Err(e) => {
            tracing::error!(error = %e, "the recording thread panicked");
            Err(DeliverError::Recorder)
        }
    };
    (recorded, sent)
}

/// The batches a recording committed, as recorded, handed to the sends beside it in order.
type Handed = std::sync::mpsc::Receiver<Vec<outbox::Delivery>>;

/// How many recorded batches may wait for the sends ([`record_and_send`]): about 2,000
/// deliveries and their bodies.
pub const HANDED_AHEAD: usize = 8;

/// A recording beside the sends ([`record_and_send`]).
struct Beside {
    /// Bumped at each commit, once its batch is in `handed`; closed when the recording ends.
    woken: tokio::sync::watch::Receiver<usize>,
    /// The store's: what the recording committed is ready at its time.
    clock: crate::clock::Clock,
    handed: Handed,
}

/// [`send_ready_until`]; with `recording`, also what a recording beside it commits meanwhile,
/// handed over as recorded (not read back), until it ends and nothing is ready.
async fn send_ready_while<S: Outbox + ZaloTokens>(
    store: &S,
    senders: &Senders,
    config: &Config,
    mut now: DateTime<Utc>,
    stop: &AtomicBool,
    recording: Option<Beside>,
) -> Result<Pass, DeliverError> {
    use futures_util::StreamExt;
    let stopping = || stop.load(Ordering::SeqCst);
    // Each channel bounds its own deliveries in flight (the SMTP pool, more for files).
    let pool = senders.parallelism();
    let domain = outbox::domain_of(&config.email.from);
    let mode = Ledger::of(config);
    let mut pass = Pass::default();
    // Where a pass's time goes (debug log): reading the outbox, marking outcomes.
    let (mut reading, mut marking) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut reads = 0usize;
    // Summed over the sends: their attempts, and their waits for their marks.
    let (sending, waiting) = (
        std::sync::atomic::AtomicU64::new(0),
        std::sync::atomic::AtomicU64::new(0),
    );
    let started = std::time::Instant::now();
    // `nhacviec retry` asks for an attempt now, even past the session breaker.
    if store.take_breaker_reset()? {
        senders.reset_breakers();
    }
    let clock = recording.as_ref().map(|b| b.clock).unwrap_or_default();
    let (handed, mut recording) = match recording {
        Some(b) => (Some(b.handed), Some(b.woken)),
        None => (None, None),
    };
    // The recording's batches are taken once the reads have found what waited before it
    // (older, so lower ids): the reads then go on past them, never walking over them again.
    let mut drained = false;
    // Every delivery this pass took, read or handed: none is attempted twice in one pass
    // (a read between a batch's commit and its hand-over, on SQLite, finds it too).
    let mut taken: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let refusals = Refusals::default();
    // A message sent is marked by `Marker` before its slot in the pool is free, without
    // holding up the other sends in flight (on SQLite a line in the mark log, never waiting
    // for a batch being recorded). Started with the first message to send (a quiet tick
    // opens no connection).
    let mut marker: Option<Marker> = None;
    // Marks a pass before left in SQLite's log, in their rows before the outbox is read.
    store.fold_mark_log()?;
    // What this pass has read: it reads on from there (see `Outbox::ready_after`).
    let mut read_up_to = 0;
    // PostgreSQL: the next batch read while this one is sent, once there is one to send.
    let mut ahead: Option<ReadAhead> = None;
    let mut next: Option<read_ahead::Pending> = None;
    let mut read_alone = false;
    let limit = (pool * 32).clamp(64, 256);
    loop {
        if stopping() {
            tracing::info!("đang dừng: thư chưa gửi vẫn chờ trong hộp thư đi");
            break;
        }
        let t = std::time::Instant::now();
        // Seen before reading: a commit after this read wakes the wait below. A delivery is
        // ready from when it was recorded: those recorded since the pass began are read with
        // the clock's time.
        if let Some(r) = recording.as_mut() {
            r.borrow_and_update();
            now = now.max(clock.now());
        }
        // The recording's next batch as it was recorded: nothing read back (on PostgreSQL
        // it is claimed already, by the recording's session).
        let given = match handed.as_ref().filter(|_| drained) {
            Some(h) => h.try_recv().ok(),
            None => None,
        };
        let given_batch = given.is_some();
        let (batch, early) = match given {
            Some(batch) => (batch, false),
            // Nothing handed yet while the recording goes on: its next commit, or its end.
            None if drained && handed.is_some() && recording.is_some() => {
                if let Some(r) = recording.as_mut() {
                    if r.changed().await.is_err() {
                        recording = None;
                        now = now.max(clock.now());
                    }
                }
                continue;
            }
            // Read well ahead of the pool: each read on this connection holds the sends up
            // (the runtime's thread) and each group sent drains the pool at its end; 64 at a
            // time was a fifth of the pass on PostgreSQL.
            None => {
                let read = match next.take() {
                    Some(read) => match read.get().await {
                        Some(batch) => (batch?, true),
                        // The reader's connection is gone: on this one from here.
                        None => {
                            read_alone = true;
                            if let Some(gone) = ahead.take() {
                                gone.finish()?;
                            }
                            (store.ready_after(now, limit, read_up_to)?, false)
                        }
                    },
                    None => (store.ready_after(now, limit, read_up_to)?, false),
                };
                reading += t.elapsed();
                reads += 1;
                drained |= read.0.len() < limit;
                read
            }
        };
        let got = batch.len();
        read_up_to = batch.iter().map(|d| d.id).fold(read_up_to, i64::max);
        let batch: Vec<outbox::Delivery> =
            batch.into_iter().filter(|d| taken.insert(d.id)).collect();
        // Taken already (or an empty commit): on to what comes next.
        if batch.is_empty() && (given_batch || got > 0) {
            continue;
        }
        // Read ahead with an earlier time: what the recording committed since is read now.
        if batch.is_empty() && early {
            continue;
        }
        if batch.is_empty() {
            match recording.as_mut() {
                // The next batch committed, or the recording ended: read again.
                Some(r) => {
                    if r.changed().await.is_err() {
                        recording = None;
                        // After the recording's last commit: what it recorded is ready.
                        now = now.max(clock.now());
                    }
                    continue;
                }
                None => break,
            }
        }
        // A plan closed after its reminders were queued sends nothing more: they are set
        // aside (dead, with the reason, not reported as failures), not sent.
        let (withdrawn, batch): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|d| (outbox::withdrawn(config, &d), d))
            .partition(|(why, _)| why.is_some());
        let batch: Vec<Arc<outbox::Delivery>> = batch
            .into_iter()
            .map(|(_, d)| std::sync::Arc::new(d))
            .collect();
        if marker.is_none() && !batch.is_empty() {
            marker = store.location().and_then(|at| Marker::start(&at));
        }
        if ahead.is_none() && !read_alone && !given_batch && !stopping() {
            ahead = store.location().and_then(|at| ReadAhead::start(&at));
        }
        // The next batch, past this one, read while this one is sent (at the recording's
        // time: what it committed is ready); not while the recording hands its batches over.
        if let Some(reader) = ahead.as_ref().filter(|_| !given_batch) {
            let at = recording.as_ref().map_or(now, |_| now.max(clock.now()));
            next = Some(reader.read(at, limit, read_up_to));
        }
        let marker = marker.as_ref();
        if !withdrawn.is_empty() {
            store.in_one_transaction(&mut || {
                for (why, d) in &withdrawn {
                    store.mark_dead(d.id, why.as_deref().unwrap_or_default())?;
                    store.mark_reported(d.id)?;
                }
                Ok(())
            })?;
            pass.withdrawn += withdrawn.len();
        }
        // At most `pool` in flight, each marked as soon as it completes: a crash can only
        // resend what was in flight (at-least-once, bounded by each channel's limit; a
        // resent file replaces the same one).
        let refusals = &refusals;
        let (sending, waiting) = (&sending, &waiting);
        let results = futures_util::stream::iter(batch.iter())
            .map(|d| async move {
                // Not started once the service is stopping, or once its channel's server
                // refuses every message: it stays queued.
                if stopping() || refusals.is_stopped(d.channel) {
                    return None;
                }
                let t = std::time::Instant::now();
                let outcome = senders.send(store, d, now).await;
                sending.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                let t = std::time::Instant::now();
                let marked = match (&outcome, marker) {
                    (Ok(()), Some(m)) => m.mark_sent(d.id, now).await,
                    _ => false,
                };
                waiting.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                Some((d, outcome, marked))
            })
            .buffer_unordered(pool)
            .filter_map(|r| async move { r });
        let mut results = std::pin::pin!(results);
        while let Some(first) = results.next().await {
            // The attempts that ended together are marked in one transaction (each is still
            // marked before more are started than the pool allows).
            let mut ended = vec![first];
            while let Some(Some(more)) = futures_util::FutureExt::now_or_never(results.next()) {
                ended.push(more);
            }
            let t = std::time::Instant::now();
            let mut decided = Vec::new();
            for (d, outcome, marked) in ended {
                pass.attempted(d.channel, outcome.is_ok());
                let id = d.id;
                for (d, outcome) in refusals.sort(d, outcome, now) {
                    let next = outbox::after_attempt(config, &d, outcome, now);
                    if marked && d.id == id && matches!(next, Next::Sent) {
                        // Marked by the marker already.
                        pass.sent += 1;
                        continue;
                    }
                    decided.push((d, next));
                }
            }
            apply(store, mode, &domain, &mut pass, decided, now)?;
            marking += t.elapsed();
        }
        // A channel whose server refuses every message: the rest of its deliveries wait with
        // the refused one instead of being tried one by one.
        for (channel, at, why) in refusals.stopped() {
            let held = store.postpone_channel(channel, now, at, &format!("chưa gửi: {why}"))?;
            if held > 0 {
                tracing::info!(channel = channel.name(), held, retry_at = %at, event = "server_refuses", "máy chủ từ chối mọi thư: phần còn lại của lượt gửi chờ");
            }
        }
    }
    // Refusals held back to see whether they were the server's: too few to tell are the
    // messages' own (dead), the same for every message is the server's (waiting).
    let rest: Vec<_> = refusals
        .finish(now)
        .into_iter()
        .map(|(d, outcome)| {
            let next = outbox::after_attempt(config, &d, outcome, now);
            (d, next)
        })
        .collect();
    apply(store, mode, &domain, &mut pass, rest, now)?;
    if let Some(marker) = marker.take() {
        marker.finish(store)?;
    }
    // What this pass claimed and did not attempt (stopped, postponed, read ahead) is free for
    // whoever leads next.
    if let Some(reader) = ahead.take() {
        reader.finish()?;
    }
    store.release_claims()?;
    // Old row versions to clear when the service goes idle (PostgreSQL).
    store.note_decided(pass.sent + pass.retrying + pass.dead);
    note_server_refusal(store, &refusals, now)?;
    senders.close_idle().await;
    if pass.sent + pass.retrying + pass.dead > 0 {
        tracing::debug!(
            read_millis = reading.as_millis() as u64,
            reads,
            mark_millis = marking.as_millis() as u64,
            attempt_millis = sending.load(Ordering::Relaxed) / 1000,
            mark_wait_millis = waiting.load(Ordering::Relaxed) / 1000,
            total_millis = started.elapsed().as_millis() as u64,
            in_flight = pool,
            "send phases"
        );
    }
    if !stopping() {
        crate::channels::zalo::queue_stop_alert(store, config)?;
    }
    Ok(pass)
}

/// The marks of messages sent, beside the sending thread: a send's mark is written before
/// its place in the pool is free, without holding the runtime's thread or waiting for the
/// database's write lock.
enum Marker {
    /// PostgreSQL: a connection of their own on the sending runtime, awaited by the send;
    /// the marks waiting together go in one statement.
    Pg(PgMarks),
    /// SQLite: a line in the state's mark log (`store::marks`), folded into the rows by a
    /// thread of its own every [`FOLD_EVERY`] and all of it when the pass ends.
    Log(MarkLog),
}

/// How often marks logged during a pass are folded into their rows (the dashboard and
/// `status` see a message sent within this).
const FOLD_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Messages sent, with the time they are marked sent at.
type Marks = Vec<(i64, DateTime<Utc>)>;

struct MarkLog {
    log: crate::store::marks::MarkLog,
    logged: Arc<std::sync::Mutex<Marks>>,
    /// Dropped to end the folding thread, which then folds the whole log.
    ticking: Option<std::sync::mpsc::Sender<()>>,
    folder: Option<std::thread::JoinHandle<Result<usize, StoreError>>>,
}

impl Marker {
    fn start(at: &crate::store::Location) -> Option<Marker> {
        if at.pg.is_none() {
            return MarkLog::start(at).map(Marker::Log);
        }
        at.pg.as_ref().map(|url| Marker::Pg(PgMarks::start(url)))
    }

    /// Whether `id` is now marked sent at `at`; `false`: the caller marks it.
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> bool {
        match self {
            Marker::Pg(marks) => marks.mark_sent(id, at).await,
            Marker::Log(log) => log.mark_sent(id, at),
        }
    }

    /// The pass's marks all in their rows (SQLite's log folded and emptied), or the error
    /// that kept them in the log (the next pass folds them before it reads the outbox).
    fn finish(self, store: &dyn Outbox) -> Result<(), StoreError> {
        match self {
            Marker::Pg(_) => Ok(()),
            Marker::Log(mut log) => match log.end() {
                Ok(_) => Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, "chưa ghi được dấu thư đã gửi: ghi lại trên kết nối chính");
                    store.fold_mark_log().map(|_| ())
                }
            },
        }
    }
}

impl MarkLog {
    fn start(at: &crate::store::Location) -> Option<MarkLog> {
        let log = match crate::store::marks::MarkLog::open(&at.path) {
            Ok(log) => log,
            // The sends mark on the pass's own connection instead.
            Err(e) => {
                tracing::warn!(error = %e, "không mở được tệp đánh dấu thư đã gửi");
                return None;
            }
        };
        let logged = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (ticking, ticks) = std::sync::mpsc::channel::<()>();
        let (at, taken) = (at.clone(), logged.clone());
        let folder = std::thread::Builder::new()
            .name("nhacviec-marks".into())
            .spawn(move || {
                let store = Store::open_side_at(&at)?;
                store.marks_without_waiting()?;
                let take = || std::mem::take(&mut *taken.lock().unwrap_or_else(|p| p.into_inner()));
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    ticks.recv_timeout(FOLD_EVERY)
                {
                    // A failure leaves them in the log, folded at the end.
                    if let Err(e) = store.fold_marks(&take()) {
                        tracing::warn!(error = %e, "chưa ghi được dấu thư đã gửi vào cơ sở dữ liệu: ghi lại khi hết lượt");
                    }
                }
                store.fold_mark_log()
            })
            .ok()?;
        Some(MarkLog {
            log,
            logged,
            ticking: Some(ticking),
            folder: Some(folder),
        })
    }

    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> bool {
        if let Err(e) = self.log.append(id, at) {
            tracing::warn!(error = %e, "không ghi được tệp đánh dấu thư đã gửi: đánh dấu trên kết nối chính");
            return false;
        }
        self.logged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, at));
        true
    }

    /// Ends the folding thread, which folds the whole log and empties it.
    fn end(&mut self) -> Result<usize, StoreError> {
        self.ticking = None;
        match self.folder.take().map(|f| f.join()) {
            Some(Ok(folded)) => folded,
            Some(Err(_)) => Err(StoreError::Io),
            None => Ok(0),
        }
    }
}

impl Drop for MarkLog {
    /// A pass ended by an error folds its marks too (else the next pass in this process
    /// would read them as waiting: it folds the log first all the same).
    fn drop(&mut self) {
        if let Err(e) = self.end() {
            tracing::warn!(error = %e, "chưa ghi được dấu thư đã gửi: lượt sau ghi lại trước khi gửi");
        }
    }
}

/// Marks the decided outcomes: in one transaction, then each fallback in its own.
fn apply(
    store: &dyn Outbox,
    mode: Ledger,
    domain: &str,
    pass: &mut Pass,
    decided: Vec<(Arc<outbox::Delivery>, Next)>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if decided.is_empty() {
        return Ok(());
    }
    let (fallbacks, marks): (Vec<_>, Vec<_>) = decided
        .into_iter()
        .partition(|(_, next)| matches!(next, Next::Fallback { .. }));
    // The sent ones in one statement; alone, they need no transaction of their own.
    let (sent, mut marks): (Vec<_>, Vec<_>) = marks
        .into_iter()
        .partition(|(_, next)| matches!(next, Next::Sent));
    let sent: Vec<i64> = sent.iter().map(|(d, _)| d.id).collect();
    if marks.is_empty() {
        store.mark_sent_all(&sent, now)?;
    } else {
        store.in_one_transaction(&mut || {
            store.mark_sent_all(&sent, now)?;
            for (d, next) in marks.drain(..) {
                mark(store, mode, domain, pass, &d, next, now)?;
            }
            Ok(())
        })?;
    }
    pass.sent += sent.len();
    for (d, next) in fallbacks {
        mark(store, mode, domain, pass, &d, next, now)?;
    }
    Ok(())
}

/// Tells the admin once that the mail server refuses every message (log, `/healthz`, the
/// metric read from the store's note), and keeps the spell for the daily summary once mail
/// goes through again.
fn note_server_refusal(
    store: &dyn Outbox,
    refusals: &Refusals,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(why) = refusals.email_refused() {
        if store.note_email_refused(&why, now)? {
            tracing::error!(error = %why, event = "server_refuses", "máy chủ thư từ chối mọi thư: thư chờ, không thư nào bị bỏ; sửa máy chủ hoặc cấu hình rồi chạy `nhacviec retry`");
        }
    } else if refusals.email_delivered() {
        if let Some(spell) = store.end_email_refusal(now)? {
            tracing::info!(since = %spell.since, event = "server_accepts", "máy chủ thư nhận thư trở lại");
        }
    }
    Ok(())
}

/// Records what follows an attempt, as `outbox::after_attempt` decided.
fn mark(
    store: &dyn Outbox,
    mode: Ledger,
    domain: &str,
    pass: &mut Pass,
    d: &outbox::Delivery,
    next: Next,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match next {
        Next::Sent => {
            store.mark_sent(d.id, now)?;
            pass.sent += 1;
        }
        Next::Retry { at, error } => {
            tracing::warn!(delivery = d.id, agency = %d.agency, channel = d.channel.name(), %error, retry_at = %at, event = "retry", "gửi chưa được: sẽ thử lại");
            store.mark_retry(d.id, at, &error)?;
            pass.retrying += 1;
        }
        Next::Dead { error } => {
            tracing::error!(delivery = d.id, agency = %d.agency, channel = d.channel.name(), %error, event = "dead", "gửi thất bại hẳn: xem `nhacviec history --status dead`");
            store.mark_dead(d.id, &error)?;
            pass.dead += 1;
        }
        Next::Fallback { instead, error } => {
            let id = store.record_extra(mode, &[instead], &[], &[], domain)?;
            let id = id.first().copied().unwrap_or_default();
            store.make_ready(id, now)?;
            tracing::warn!(delivery = d.id, agency = %d.agency, channel = d.channel.name(), fallback = id, %error, event = "fallback", "chuyển sang gửi email");
            store.mark_handed_over(d.id, id, &format!("chuyển sang email (#{id}): {error}"))?;
            pass.dead += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_state_dir_variable_is_an_error_not_the_current_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let config = crate::config::load(&dir).config;
        for blank in ["", "   ", "\t", " \n "] {
            let err = state_dir_from(Some(blank.into()), &dir, &config).unwrap_err();
            assert!(
                err.to_string().starts_with("NHACVIEC_STATE_DIR để trống"),
                "{blank:?}: {err}"
            );
        }
        assert_eq!(
            state_dir_from(Some("/srv/nv".into()), &dir, &config).unwrap(),
            PathBuf::from("/srv/nv")
        );
        assert_eq!(
            state_dir_from(None, &dir, &config).unwrap(),
            dir.join("../var")
        );
    }

    #[test]
    fn a_trial_tick_keeps_what_goes_out_for_real_in_the_real_ledger() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut config = crate::config::load(&dir).config;
        config.email.redirect_all_to = Some("thu@x.example".into());
        config.webhook = Some(crate::config::WebhookSettings {
            url: "https://hook.example/nv".into(),
            headers: vec![],
            body: None,
            timeout_seconds: 10,
        });
        let hooked = config
            .agencies
            .iter_mut()
            .find(|a| a.id == "so-tu-phap")
            .unwrap();
        hooked.channels = vec![Channel::Webhook, Channel::Email];
        let made = |agency: &str, channel: Channel| messages::NewDelivery {
            agency: agency.into(),
            channel,
            recipients: vec![],
            subject: String::new(),
            body_text: String::new(),
            body_html: String::new(),
            items: vec![],
            thread: String::new(),
            attachments: vec![],
        };
        let key = |agency: &str| {
            SlotKey {
                plan: "50/KH-UBND",
                task: "8.6",
                deadline: NaiveDate::from_ymd_opt(2022, 3, 31).unwrap(),
                agency,
                role: crate::schedule::Role::Lead,
                kind: crate::schedule::Kind::Overdue,
                n: 1,
                about: agency,
            }
            .to_string()
        };
        let tick = Tick {
            digests: vec![],
            skipped: vec![key("so-tu-phap"), key("so-noi-vu")],
            stale: vec![key("so-noi-vu")],
            suppressed: vec![key("so-tu-phap")],
        };
        let deliveries = [
            made("so-tu-phap", Channel::Webhook),
            made("so-noi-vu", Channel::Email),
        ];
        let ((real, real_tick), (trial, trial_tick)) = split_trial(&config, &deliveries, &tick);
        assert_eq!(real.len(), 1);
        assert_eq!(real[0].channel, Channel::Webhook);
        assert_eq!(trial.len(), 1);
        assert_eq!(trial[0].agency, "so-noi-vu");
        assert_eq!(real_tick.skipped, [key("so-tu-phap")]);
        assert!(real_tick.stale.is_empty());
        assert_eq!(real_tick.suppressed, [key("so-tu-phap")]);
        assert_eq!(trial_tick.skipped, [key("so-noi-vu")]);
        assert_eq!(trial_tick.stale, [key("so-noi-vu")]);
        assert!(trial_tick.suppressed.is_empty());
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // lists of batches, one batch each
    fn a_tick_is_recorded_in_a_small_first_batch_then_larger_ones() {
        assert_eq!(
            batches(0),
            [0..0],
            "no digest: one batch for the slots and the watermark"
        );
        assert_eq!(batches(FIRST_BATCH), [0..FIRST_BATCH]);
        assert_eq!(
            batches(FIRST_BATCH + BATCH + 1),
            [
                0..FIRST_BATCH,
                FIRST_BATCH..FIRST_BATCH + BATCH,
                FIRST_BATCH + BATCH..FIRST_BATCH + BATCH + 1
            ]
        );
    }

    #[test]
    fn superseded_slots_go_with_the_batch_of_their_streams_latest() {
        let key = |agency: &str, kind: &str| {
            format!("50/KH-UBND|8.6|2022-06-01|{agency}|lead|{kind}|{agency}")
        };
        let digest = |agency: &str| crate::schedule::Digest {
            agency: agency.into(),
            items: vec![crate::schedule::Item {
                plan: "50/KH-UBND".into(),
                task: "8.6".into(),
                role: crate::schedule::Role::Lead,
                kind: crate::schedule::Kind::Due,
                days: 0,
                deadline: NaiveDate::from_ymd_opt(2022, 6, 1).unwrap(),
                planned: NaiveDate::from_ymd_opt(2022, 6, 1).unwrap(),
                agency: None,
                key: key(agency, "due0"),
            }],
        };
        let digests: Vec<_> = (0..FIRST_BATCH + 1)
            .map(|i| digest(&format!("a{i}")))
            .collect();
        let last = format!("a{FIRST_BATCH}");
        let slots = slots_by_batch(
            &batches(digests.len()),
            &digests,
            vec![
                key(&last, "before1"),
                key("a0", "before1"),
                key("gone", "before1"),
            ],
            vec![key("gone", "before2")],
            vec![],
        );
        assert_eq!(slots.len(), 2);
        assert_eq!(
            slots[0].skipped,
            [key("a0", "before1"), key("gone", "before1")]
        );
        assert_eq!(slots[0].stale, [key("gone", "before2")]);
        assert_eq!(slots[1].skipped, [key(&last, "before1")]);
    }

    /// A start builds its schedule once: the engine built with the store's answers is current
    /// for the first pass (which would otherwise build it again with them).
    #[test]
    fn the_engine_a_start_builds_is_the_one_its_first_pass_uses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let config = crate::config::load(&dir).config;
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
        let today = NaiveDate::from_ymd_opt(2022, 5, 25).unwrap();
        let engine = Engine::build_with_store(&config, &store, today).unwrap();
        assert!(engine
            .rebuild_if_stale(&config, &store, today)
            .unwrap()
            .is_none());
        // Without the answers, the first pass had to build again.
        let bare = Engine::build(&config, today);
        assert!(bare
            .rebuild_if_stale(&config, &store, today)
            .unwrap()
            .is_some());
    }
}
