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
use crate::store::{meta, Ledger, Put, Share, Store, StoreError};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Why a pass failed. Each is shown to the admin (log, `/healthz`), in Vietnamese.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}{}: {}", .0.template, .0.line.map(|l| format!(":{l}")).unwrap_or_default(), .0.message)]
    Template(#[from] TemplateError),
    #[error("không đọc được trạng thái đã gửi từ cơ sở dữ liệu; bỏ qua lần kiểm tra này")]
    Lookup,
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
        store: &Store,
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
        store: &Store,
        today: NaiveDate,
    ) -> Result<Option<Engine>, StoreError> {
        let version = store.answers_version()?;
        if self.current(today, &version) {
            return Ok(None);
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
/// reminder.
pub fn tick(
    engine: &Engine,
    config: &Config,
    templates: &Templates,
    store: &mut Store,
    now: DateTime<Tz>,
) -> Result<Pass, DeliverError> {
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
    let result = schedule.due_within(&ledger, today, since, horizon);
    if store.take_lookup_failure() {
        return Err(DeliverError::Lookup);
    }
    let evaluated = started.elapsed();
    let deliveries = messages::digests(config, templates, &result, today)?;
    let rendered = started.elapsed();
    let new_watermark = watermark.map_or(today, |w| w.max(today));
    let split;
    let shares = match mode {
        Ledger::Real => vec![Share {
            ledger: Ledger::Real,
            deliveries: &deliveries,
            tick: &result,
        }],
        Ledger::Trial => {
            split = split_trial(config, &deliveries, &result);
            let ((real, real_tick), (trial, trial_tick)) = &split;
            vec![
                Share {
                    ledger: Ledger::Real,
                    deliveries: real,
                    tick: real_tick,
                },
                Share {
                    ledger: Ledger::Trial,
                    deliveries: trial,
                    tick: trial_tick,
                },
            ]
        }
    };
    let ids = store.record_tick(
        mode,
        now.with_timezone(&Utc),
        &shares,
        new_watermark,
        &schedule.fingerprint_through(new_watermark),
        &outbox::domain_of(&config.email.from),
    )?;
    tracing::debug!(
        due_millis = evaluated.as_millis() as u64,
        render_millis = (rendered - evaluated).as_millis() as u64,
        record_millis = (started.elapsed() - rendered).as_millis() as u64,
        full = since.is_none(),
        trial = mode == Ledger::Trial,
        "tick phases"
    );
    Ok(Pass {
        queued: ids.len(),
        skipped: result.skipped.len(),
        stale: result.stale.len(),
        suppressed: result.suppressed.len(),
        ..Pass::default()
    })
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

/// Sends every ready delivery (up to the pool size at once) and records each outcome.
pub async fn send_ready(
    store: &Store,
    senders: &Senders,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Pass, DeliverError> {
    send_ready_until(store, senders, config, now, &AtomicBool::new(false)).await
}

/// [`send_ready`], stopping early once `stop` is set (the service is asked to stop): the
/// deliveries in flight end and are marked, the others are not started and stay queued
/// (pending or retrying) for the next start.
pub async fn send_ready_until(
    store: &Store,
    senders: &Senders,
    config: &Config,
    now: DateTime<Utc>,
    stop: &AtomicBool,
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
    let started = std::time::Instant::now();
    // `nhacviec retry` asks for an attempt now, even past the session breaker.
    if store.get(&meta::ResetBreaker)?.is_some() {
        senders.reset_breakers();
        store.remove(&meta::ResetBreaker)?;
    }
    let refusals = Refusals::default();
    loop {
        if stopping() {
            tracing::info!("đang dừng: thư chưa gửi vẫn chờ trong hộp thư đi");
            break;
        }
        let t = std::time::Instant::now();
        let batch = store.ready(now, (pool * 4).max(64))?;
        reading += t.elapsed();
        if batch.is_empty() {
            break;
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
        if !withdrawn.is_empty() {
            store.batch(|| {
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
        let results = futures_util::stream::iter(batch.iter())
            .map(|d| async move {
                // Not started once the service is stopping, or once its channel's server
                // refuses every message: it stays queued.
                if stopping() || refusals.is_stopped(d.channel) {
                    return None;
                }
                Some((d, senders.send(store, d, now).await))
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
            for (d, outcome) in ended {
                pass.attempted(d.channel, outcome.is_ok());
                for (d, outcome) in refusals.sort(d, outcome, now) {
                    let next = outbox::after_attempt(config, &d, outcome, now);
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
    note_server_refusal(store, &refusals, now)?;
    senders.close_idle().await;
    if pass.sent + pass.retrying + pass.dead > 0 {
        tracing::debug!(
            read_millis = reading.as_millis() as u64,
            mark_millis = marking.as_millis() as u64,
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

/// Marks the decided outcomes: in one transaction, then each fallback in its own.
fn apply(
    store: &Store,
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
    store.batch(|| {
        for (d, next) in marks {
            mark(store, mode, domain, pass, &d, next, now)?;
        }
        Ok(())
    })?;
    for (d, next) in fallbacks {
        mark(store, mode, domain, pass, &d, next, now)?;
    }
    Ok(())
}

/// Tells the admin once that the mail server refuses every message (log, `/healthz`, the
/// metric read from the store's note), and keeps the spell for the daily summary once mail
/// goes through again.
fn note_server_refusal(
    store: &Store,
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
    store: &Store,
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
