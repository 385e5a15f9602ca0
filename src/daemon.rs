//! `nhacviec run`: the service. tokio-cron-scheduler fires the reminder and report schedules;
//! a tick only says "look now" and the evaluation is state-based, so missed, merged or doubled
//! fires change nothing. One loop owns the store and handles, in turn: ticks, retries, reloads
//! (SIGHUP or a change under the config directory), the systemd watchdog and SIGTERM/SIGINT.
//! Because it is one loop, a reload never interrupts a delivery in flight.

use crate::channels::Senders;
use crate::config::{self, Analysis, Config};
use crate::deliver::{self, Engine};
use crate::render::Templates;
use crate::store::{ChangeFeed, DeliveryStatus, Store};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sd_notify::NotifyState;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::clock::Clock;
use chrono::SubsecRound as _;

pub const DB_FILE: &str = "nhacviec.db";

/// How often the service checks whether another process (`nhacviec retry`) changed the
/// outbox: a cheap pragma, so requeued deliveries go out within this long.
const RETRY_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A `[schedule] reminders` tick: reminders and reports.
    Tick,
    /// A `[schedule] report` tick: the reports only, so reminders go out at their own times,
    /// the ones `preview` announces.
    Report,
    ConfigChanged,
}

/// The running configuration and what is derived from it.
struct Live {
    config: Arc<Config>,
    templates: Arc<Templates>,
    senders: Senders,
    /// The calendar and the schedule, built at load and reload.
    engine: Arc<Engine>,
    /// The agencies' pages, when served: told of each reloaded config.
    web: Option<crate::web::Web>,
    /// The ticks of the current cron expressions.
    jobs: Vec<Ticker>,
    /// The service's clock: the system's, or shifted to `run --now`'s start.
    clock: Clock,
    /// The state directory in use: a reload may not move it (the store stays open on it).
    state: PathBuf,
}

use crate::health::{ChannelLabel, Health, ResultLabel};
use crate::lead::{self, Lead, Role, Step};

fn notify(states: &[NotifyState]) {
    // Outside systemd there is no socket: nothing to do.
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// Why a config could not be loaded (at start or reload).
#[derive(Debug, thiserror::Error)]
enum LoadError {
    /// The config's errors, each as "file:line:column: message"; `unreadable` when one of
    /// them is a file or directory that could not be read (`Diagnostic::unreadable`).
    #[error("{}", .errors.join("; "))]
    Config {
        errors: Vec<String>,
        unreadable: bool,
    },
    #[error("{0}")]
    Links(String),
    #[error("{template}: {message}")]
    Template { template: String, message: String },
}

impl LoadError {
    /// A file that could not be read (a save in progress, a mount coming back) is worth
    /// another try; a config with mistakes in it is not.
    fn worth_retrying(&self) -> bool {
        match self {
            LoadError::Config { unreadable, .. } => *unreadable,
            LoadError::Links(_) | LoadError::Template { .. } => false,
        }
    }
}

fn load(dir: &Path) -> Result<(Analysis, Templates), LoadError> {
    let analysis = config::load(dir);
    if analysis.has_errors() {
        let errors: Vec<String> = analysis
            .errors()
            .map(|d| format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message))
            .collect();
        let unreadable = analysis.errors().any(|d| d.unreadable);
        return Err(LoadError::Config { errors, unreadable });
    }
    let links =
        crate::web::links_for(&analysis.config).map_err(|e| LoadError::Links(e.to_string()))?;
    let templates = Templates::new(&analysis.templates)
        .map_err(|e| LoadError::Template {
            template: e.template,
            message: e.message,
        })?
        .with_links(links);
    Ok((analysis, templates))
}

/// What fires one cron expression's ticks: a job of the scheduler on the system clock, or a
/// task of ours on a shifted clock (tokio-cron-scheduler reads the system clock only).
enum Ticker {
    Scheduled(uuid::Uuid),
    Shifted(tokio::task::AbortHandle),
}

impl Ticker {
    async fn stop(self, sched: &JobScheduler) {
        match self {
            Ticker::Scheduled(id) => {
                let _ = sched.remove(&id).await;
            }
            Ticker::Shifted(task) => task.abort(),
        }
    }
}

async fn add_jobs(
    sched: &JobScheduler,
    config: &Config,
    tx: &mpsc::Sender<Event>,
    clock: Clock,
) -> anyhow::Result<Vec<Ticker>> {
    let mut ids = Vec::new();
    let mut jobs = vec![(config.reminders.as_str(), Event::Tick)];
    if config.report != config.reminders {
        jobs.push((config.report.as_str(), Event::Report));
    }
    for (expr, event) in jobs {
        let tx = tx.clone();
        if !clock.is_system() {
            let cron = config::parse_cron(expr).with_context(|| format!("cron \"{expr}\""))?;
            let task = tokio::spawn(shifted_ticks(cron, config.timezone, clock, event, tx));
            ids.push(Ticker::Shifted(task.abort_handle()));
            continue;
        }
        let job = Job::new_async_tz(expr, config.timezone, move |_id, _lock| {
            let tx = tx.clone();
            Box::pin(async move {
                // A full channel means a tick is already waiting: merging them is fine.
                let _ = tx.try_send(event);
            })
        })
        .with_context(|| format!("cron \"{expr}\""))?;
        ids.push(Ticker::Scheduled(
            sched.add(job).await.context("adding a cron job")?,
        ));
    }
    Ok(ids)
}

/// The ticks of `cron` on a shifted clock: sleeps until its next occurrence on that clock,
/// then says "look now" as the scheduler's job does. A sleep is never longer than a minute,
/// so a jump of the system clock moves the ticks with it within a minute.
async fn shifted_ticks(
    cron: croner::Cron,
    tz: Tz,
    clock: Clock,
    event: Event,
    tx: mpsc::Sender<Event>,
) {
    let mut after = clock.now().trunc_subsecs(0).with_timezone(&tz);
    loop {
        let Ok(next) = cron.find_next_occurrence(&after, false) else {
            return;
        };
        loop {
            let left = (next.with_timezone(&Utc) - clock.now()).to_std();
            match left {
                Ok(left) if !left.is_zero() => {
                    tokio::time::sleep(left.min(Duration::from_secs(60))).await
                }
                _ => break,
            }
        }
        // A full channel means a tick is already waiting: merging them is fine.
        let _ = tx.try_send(event);
        after = next;
    }
}

/// Watches the config directory (not its files: editors like vim save by renaming over them,
/// which kills a watch on the file), debounced.
fn watch(dir: &Path, tx: mpsc::Sender<Event>) -> anyhow::Result<impl Drop> {
    use notify_debouncer_full::notify::RecursiveMode;
    let mut debouncer = notify_debouncer_full::new_debouncer(
        Duration::from_millis(500),
        None,
        move |result: notify_debouncer_full::DebounceEventResult| {
            let relevant = match &result {
                Ok(events) => events.iter().any(|e| {
                    e.paths.iter().any(|p| {
                        let name = p
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        // Config files, not editor swap or backup files.
                        (name.ends_with(".toml") || name.ends_with(".j2")) && !name.starts_with('.')
                    }) && !e.kind.is_access()
                }),
                Err(_) => false,
            };
            if relevant {
                let _ = tx.try_send(Event::ConfigChanged);
            }
        },
    )
    .context("starting the config watcher")?;
    debouncer
        .watch(dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    Ok(debouncer)
}

/// A failed pass (a full disk) is tried again after this, doubling at each failure up to
/// [`RETRY_MAX`]; a reload that failed for an I/O reason too.
const RETRY_FIRST: Duration = Duration::from_secs(30);
const RETRY_MAX: Duration = Duration::from_secs(15 * 60);
/// After SIGTERM, how long the work in progress may take to end (deliveries in flight marked)
/// before the service stops anyway: what was not recorded is redone at the next start.
const STOP_GRACE: Duration = Duration::from_millis(1000);

/// How long to wait before trying again after `failures` failures in a row (1 = the first).
pub fn retry_after(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    RETRY_FIRST.saturating_mul(1 << doublings).min(RETRY_MAX)
}

/// A retry scheduled after a failure: how many in a row, and when.
#[derive(Debug, Clone, Copy)]
struct Retry {
    failures: u32,
    at: tokio::time::Instant,
}

impl Retry {
    /// What follows an attempt: nothing after a success, the next backoff after a failure.
    fn after(previous: Option<Retry>, ok: bool) -> Option<Retry> {
        if ok {
            return None;
        }
        let failures = previous.map_or(1, |r| r.failures + 1);
        Some(Retry {
            failures,
            at: tokio::time::Instant::now() + retry_after(failures),
        })
    }

    fn due(this: Option<Retry>) -> bool {
        this.is_some_and(|r| r.at <= tokio::time::Instant::now())
    }
}

type WorkerJob = Box<dyn FnOnce() + Send>;

/// The thread that evaluates passes and builds configs, off the runtime's only thread: while
/// it works, the loop still answers signals and pings the watchdog (and the HTTP listener has
/// its own thread). Jobs run one at a time.
struct Worker {
    jobs: std::sync::mpsc::Sender<WorkerJob>,
}

impl Worker {
    fn start() -> anyhow::Result<Worker> {
        let (jobs, queue) = std::sync::mpsc::channel::<WorkerJob>();
        std::thread::Builder::new()
            .name("nhacviec-pass".into())
            .spawn(move || {
                for job in queue {
                    job();
                }
            })
            .context("starting the pass thread")?;
        Ok(Worker { jobs })
    }

    /// Runs `f` on the worker thread. An error only if `f` panicked (what it was given is
    /// lost: the service stops with that error and its supervisor restarts it).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: WorkerJob = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = done.send(out);
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the pass thread is gone"))?;
        match result.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(_)) => anyhow::bail!("a pass panicked"),
            Err(_) => anyhow::bail!("the pass thread is gone"),
        }
    }
}

/// Signals, the watchdog and the lead, answered by the loop between events and during any
/// long work.
struct Control {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    watchdog: Option<Duration>,
    watchdog_timer: tokio::time::Interval,
    /// Set once asked to stop, or once the lead is lost: sending loops check it between
    /// deliveries. A lost lead's is cleared by the loop once the work has ended.
    stop: Arc<AtomicBool>,
    /// A SIGHUP came during other work: reload next.
    hup_pending: bool,
    /// What the lead's checks see (`lead`).
    lead: lead::Watch,
    /// The term this instance leads in, as the loop last followed it; `None`: standby.
    leads_in: Option<u64>,
}

impl Control {
    fn new(lead: Lead) -> anyhow::Result<Control> {
        let watchdog = sd_notify::watchdog_enabled();
        let lead = lead::Watch::start(lead).context("starting the lead's checks")?;
        Ok(Control {
            hup: signal(SignalKind::hangup()).context("SIGHUP handler")?,
            term: signal(SignalKind::terminate()).context("SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("SIGINT handler")?,
            watchdog,
            watchdog_timer: tokio::time::interval(
                watchdog.map_or(Duration::from_secs(3600), |d| d / 2),
            ),
            stop: Arc::new(AtomicBool::new(false)),
            hup_pending: false,
            lead,
            leads_in: None,
        })
    }

    /// Runs `work` while answering SIGTERM/SIGINT (checked first), SIGHUP (noted for later)
    /// and the watchdog. `None` when asked to stop: `work` then has [`STOP_GRACE`] to end
    /// (sending loops stop between deliveries), after which it is dropped.
    /// A lead lost meanwhile sets `stop` too, and `work` is awaited to its end: the loop then
    /// follows the loss ([`follow_lead`]).
    async fn guard<F: std::future::Future>(&mut self, work: F) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        let mut lead_stopped = false;
        loop {
            tokio::select! {
                biased;
                _ = self.term.recv() => {
                    tracing::info!(event = "stopping", "nhận SIGTERM: đang dừng");
                    break;
                }
                _ = self.int.recv() => {
                    tracing::info!(event = "stopping", "nhận SIGINT: đang dừng");
                    break;
                }
                _ = self.watchdog_timer.tick(), if self.watchdog.is_some() => {
                    notify(&[NotifyState::Watchdog]);
                }
                _ = self.hup.recv() => self.hup_pending = true,
                // Another instance may be leading now: nothing more goes out from here.
                _ = self.lead.lost(self.leads_in.unwrap_or_default()), if self.leads_in.is_some() && !lead_stopped => {
                    lead_stopped = true;
                    self.stop.store(true, Ordering::SeqCst);
                }
                out = &mut work => return Some(out),
            }
        }
        self.stop.store(true, Ordering::SeqCst);
        notify(&[NotifyState::Stopping]);
        if tokio::time::timeout(STOP_GRACE, work).await.is_err() {
            tracing::info!("dừng giữa lượt gửi: phần chưa ghi sẽ làm lại ở lần khởi động sau");
        }
        None
    }
}

/// One pass of the service: evaluation and records on the worker thread (the store goes there
/// and back), then the sends here, which stop between deliveries once `stop` is set. A failure
/// (a full disk, a broken store) is logged and shown in health and gives `false`: the loop
/// tries again with backoff. An error only if the worker is lost.
async fn pass(
    worker: &Worker,
    live: &mut Live,
    store: Store,
    health: &Health,
    stop: &Arc<AtomicBool>,
    reminders: bool,
) -> anyhow::Result<(Store, bool)> {
    let started = std::time::Instant::now();
    let now = live.clock.now().with_timezone(&live.config.timezone);
    let (config, engine, h) = (live.config.clone(), live.engine.clone(), health.clone());
    let (store, evaluated) = worker
        .run(move || {
            let mut store = store;
            let result = evaluate(&config, &engine, &mut store, &h, now, reminders);
            (store, result)
        })
        .await?;
    if evaluated.is_ok() && stop.load(Ordering::SeqCst) {
        // The lead was lost (or a stop asked) during the evaluation: nothing is recorded, the
        // next leader evaluates again.
        return Ok((store, true));
    }
    let result = match evaluated {
        Ok(mut ev) => {
            if let Some(engine) = ev.rebuilt.take() {
                live.engine = Arc::new(engine);
            }
            finish(ev, &store, live, health, stop, now).await
        }
        Err(e) => Err(e),
    };
    let ok = match result {
        Ok(p) => {
            health
                .metrics
                .tick_seconds
                .observe(started.elapsed().as_secs_f64());
            health.metrics.last_tick.set(Utc::now().timestamp() as f64);
            // A pass deferred by the send hours did not use the store: an earlier store error
            // stands until a pass that does succeeds.
            let used_store = p.deferred_until.is_none();
            let at = live.clock.now();
            health.update(|s| {
                s.last_tick = Some(at);
                if used_store {
                    s.store_error = None;
                }
            });
            true
        }
        Err(e) => {
            tracing::error!(event = "pass_failed", error = %format!("{e:#}"), "lượt gửi thất bại; sẽ thử lại sau một khoảng chờ");
            health.update(|s| s.store_error = Some(format!("{e:#}")));
            false
        }
    };
    update_counts(&store, health);
    Ok((store, ok))
}

/// Whether the last pass waits for the send hours' opening.
fn paused(health: &Health) -> bool {
    health
        .status
        .lock()
        .map(|s| s.sending_paused_until.is_some())
        .unwrap_or(false)
}

/// Milliseconds for a log field.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Between events the service sleeps for hours: it hands back what a pass left in caches and
/// in the allocator's free lists, so its resident memory stays that of an idle process; after
/// large passes it clears the outbox's old row versions first (PostgreSQL), off the pass.
fn idle(store: &Store) {
    // After large passes, the outbox's old row versions cleared before the quiet ticks.
    if let Err(e) = store.tidy_if_due() {
        tracing::warn!(error = %e, "chưa dọn được bảng hộp thư đi sau lượt gửi lớn");
    }
    store.release_memory();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn update_counts(store: &Store, health: &Health) {
    let counts = store.counts().unwrap_or_default();
    let (pending, dead) = (counts.waiting(), counts.of(DeliveryStatus::Dead));
    health.metrics.pending.set(pending);
    health.metrics.dead.set(dead);
    let refused = store
        .get(&crate::store::meta::EmailRefused)
        .ok()
        .flatten()
        .and_then(|spell| serde_json::to_value(spell).ok());
    health
        .metrics
        .email_refused
        .set(i64::from(refused.is_some()));
    health.update(|s| {
        s.pending = pending;
        s.dead = dead;
        s.email_refused = refused;
    });
}

fn count_sends(health: &Health, sent: &deliver::Pass) {
    for (channel, (ok, failed)) in &sent.by_channel {
        let label = ChannelLabel {
            channel: channel.name().to_string(),
        };
        health.metrics.sent.get_or_create(&label).inc_by(*ok as u64);
        health
            .metrics
            .failed
            .get_or_create(&label)
            .inc_by(*failed as u64);
    }
}

/// Serves the agencies' pages when `[web]` is configured and the link secret is set; without
/// the secret the service runs on, without links or pages, and says so.
fn start_web(
    live: &mut Live,
    at: &crate::store::Location,
    health: &Health,
) -> anyhow::Result<Option<crate::web::Server>> {
    let Some(settings) = live.config.web.clone() else {
        return Ok(None);
    };
    // The signer the digests' links are made with (read once, at load).
    let Some(signer) = live.templates.links.clone() else {
        tracing::warn!(
            event = "web_off", "có [web] nhưng chưa đặt khóa liên kết NHACVIEC_LINK_SECRET (hoặc $CREDENTIALS_DIRECTORY/link-secret): thư nhắc không có liên kết trả lời, trang của các cơ quan tắt"
        );
        let off = crate::check::web_links_off(&live.config, &crate::check::LinkSecret::Absent);
        health.update(|s| (s.web_links, s.web_links_off) = (Some(false), off));
        return Ok(None);
    };
    health.update(|s| (s.web_links, s.web_links_off) = (Some(true), None));
    let (web, server) = crate::web::launch_counted(
        live.config.clone(),
        at.clone(),
        signer,
        live.clock,
        health.metrics.web_rejected.clone(),
    )?;
    tracing::info!(addr = %settings.listen, public_url = %settings.public_url, event = "web_listening", "trang trả lời của các cơ quan đang phục vụ");
    live.web = Some(web);
    Ok(Some(server))
}

/// What the evaluation of a pass found, before anything is recorded or sent.
struct Evaluated {
    /// Set when the pass falls outside the send hours: nothing else is done.
    deferred_until: Option<DateTime<Tz>>,
    /// The tick to record (`None` on a report tick).
    planned: Option<deliver::Planned>,
    /// The engine, when it had to be rebuilt for today's window.
    rebuilt: Option<Engine>,
    evaluated: Duration,
    catch_up_days: u32,
}

/// The synchronous half of a pass at `now`: outside the send hours, when to come back;
/// else what is due (no I/O but the store's reads; [`finish`] records and sends it).
fn evaluate(
    config: &Config,
    engine: &Engine,
    store: &mut Store,
    health: &Health,
    now: DateTime<Tz>,
    reminders: bool,
) -> anyhow::Result<Evaluated> {
    let started = std::time::Instant::now();
    let today = now.date_naive();
    // A new day's window, or answers from the agencies' pages since the last pass.
    let rebuilt = engine.rebuild_if_stale(config, store, today)?;
    let engine = rebuilt.as_ref().unwrap_or(engine);
    let config = engine.config(config);
    // Outside the send hours (or on a day off) the whole pass waits for the next opening:
    // evaluated then, the digests say that day's date and go out at once.
    let opens = engine.next_open(config, now);
    let opens = if opens > now {
        engine.deferred_to(config, now)
    } else {
        opens
    };
    health.update(|s| s.sending_paused_until = (opens > now).then(|| opens.with_timezone(&Utc)));
    let mut ev = Evaluated {
        deferred_until: None,
        planned: None,
        rebuilt: None,
        evaluated: Duration::ZERO,
        catch_up_days: config.catch_up_days,
    };
    if opens > now {
        tracing::info!(
            opens = %opens.to_rfc3339(),
            send_hours = %config.send_hours.describe(),
            event = "deferred", "ngoài giờ gửi: lượt gửi đợi đến giờ mở"
        );
        ev.deferred_until = Some(opens);
    } else if reminders {
        // A report tick makes the reports only: reminders keep to their own ticks.
        ev.planned = Some(deliver::plan(engine, config, store, now)?);
    }
    ev.rebuilt = rebuilt;
    ev.evaluated = started.elapsed();
    Ok(ev)
}

/// The asynchronous half of a pass: records the tick a batch at a time, then the reports, while
/// it sends what is ready (retry times follow the real clock), each batch as soon as it is
/// committed ([`deliver::record_and_send`]), until done or `stop` is set.
async fn finish(
    ev: Evaluated,
    store: &Store,
    live: &Live,
    health: &Health,
    stop: &Arc<AtomicBool>,
    now: DateTime<Tz>,
) -> anyhow::Result<deliver::Pass> {
    if let Some(at) = ev.deferred_until {
        return Ok(deliver::Pass {
            deferred_until: Some(at),
            ..deliver::Pass::default()
        });
    }
    let started = std::time::Instant::now();
    let recording = deliver::Recording {
        engine: live.engine.clone(),
        config: live.config.clone(),
        templates: live.templates.clone(),
        planned: ev.planned,
        now,
    };
    let (recorded, sent) = deliver::record_and_send(
        recording,
        store,
        &live.senders,
        &live.config,
        live.clock.now(),
        stop.clone(),
        |_| {},
    )
    .await;
    let (fallbacks, why) = live.templates.take_fallbacks();
    if let Some(why) = why {
        health.metrics.template_fallbacks.inc_by(fallbacks);
        let at = crate::dates::hm_dmy(&now);
        health.update(|s| s.last_template_error = Some(format!("{at}: {why}")));
    }
    // What was committed was sent (or stays queued) either way; a failed recording fails the
    // pass, retried with backoff, after the sends.
    let sent = sent?;
    count_sends(health, &sent);
    let deliver::Recorded {
        tick: mut p,
        reports,
    } = recorded?;
    // queued: digests recorded now; skipped: missed slots superseded by a later one of the
    // same reminder; stale: older than the catch-up horizon; suppressed: the agency was done.
    tracing::info!(
        queued = p.queued,
        reports,
        skipped_superseded = p.skipped,
        skipped_stale = p.stale,
        catch_up_days = ev.catch_up_days,
        suppressed = p.suppressed,
        sent = sent.sent,
        retrying = sent.retrying,
        dead = sent.dead,
        evaluate_millis = ev.evaluated.as_millis() as u64,
        send_millis = started.elapsed().as_millis() as u64,
        millis = (ev.evaluated + started.elapsed()).as_millis() as u64,
        event = "pass",
        "lượt gửi xong"
    );
    p.queued += reports;
    p.sent = sent.sent;
    p.retrying = sent.retrying;
    p.dead = sent.dead;
    p.by_channel = sent.by_channel;
    Ok(p)
}

/// One pass at `now`: evaluate what is due, record it and queue the reports while sending
/// what is ready. `run --once` runs exactly this; the service runs the same two halves.
async fn try_pass(
    live: &mut Live,
    store: &mut Store,
    health: &Health,
    now: DateTime<Tz>,
) -> anyhow::Result<deliver::Pass> {
    pass_at(live, store, health, now, true).await
}

/// [`try_pass`]; with `reminders` false, a report tick's (the reports only).
async fn pass_at(
    live: &mut Live,
    store: &mut Store,
    health: &Health,
    now: DateTime<Tz>,
    reminders: bool,
) -> anyhow::Result<deliver::Pass> {
    let mut ev = evaluate(&live.config, &live.engine, store, health, now, reminders)?;
    if let Some(engine) = ev.rebuilt.take() {
        live.engine = Arc::new(engine);
    }
    let stop = Arc::new(AtomicBool::new(false));
    finish(ev, store, live, health, &stop, now).await
}

/// `run --once`: one pass of the service at `now` on a loaded config, then stop.
pub async fn once(
    dir: &Path,
    config: Config,
    templates: Templates,
    now: DateTime<Tz>,
) -> anyhow::Result<(deliver::Pass, PathBuf)> {
    let state = deliver::state_dir(dir, &config)?;
    let location = crate::store::Location {
        path: state.join(DB_FILE),
        pg: crate::pg::DatabaseUrl::from_env()?,
    };
    let mut store = Store::open_writer_at(&location)?;
    let senders = Senders::new(&config, &state)?;
    let engine = Engine::build_with_store(&config, &store, now.date_naive())?;
    let mut live = Live {
        config: Arc::new(config),
        templates: Arc::new(templates),
        senders,
        engine: Arc::new(engine),
        web: None,
        jobs: Vec::new(),
        // `--now` decides what is due; sending and retry times follow the real clock.
        clock: Clock::System,
        state: state.clone(),
    };
    let pass = try_pass(&mut live, &mut store, &Health::default(), now).await?;
    Ok((pass, state))
}

fn status_line(store: &Store, next: Option<DateTime<chrono_tz::Tz>>, health: &Health) -> String {
    let (reload_failed, paused, standby) = health
        .status
        .lock()
        .map(|s| {
            (
                !s.last_reload_ok && s.last_reload.is_some(),
                s.sending_paused_until,
                s.role == Role::Standby,
            )
        })
        .unwrap_or((false, None, false));
    let counts = store.counts().unwrap_or_default();
    let waiting = counts.waiting();
    let tz = next.map(|n| n.timezone());
    let next = next.map_or_else(
        || "không rõ".to_string(),
        |t| t.format("%H:%M %d/%m").to_string(),
    );
    let mut line = format!(
        "{waiting} chờ gửi, {} thất bại, lần kiểm tra tiếp theo {next}",
        counts.of(DeliveryStatus::Dead)
    );
    if let (Some(at), Some(tz)) = (paused, tz) {
        line.push_str(&format!(
            "; ngoài giờ gửi, gửi lúc {}",
            at.with_timezone(&tz).format("%H:%M %d/%m")
        ));
    }
    if reload_failed {
        line.push_str("; cấu hình mới có lỗi, đang dùng cấu hình cũ");
    }
    if standby {
        line.push_str("; dự phòng: máy dẫn đầu gửi");
    }
    line
}

/// What changed between two configs, for the reload log.
fn summary(old: &Config, new: &Config) -> String {
    let tasks = |c: &Config| -> BTreeSet<String> {
        c.plans
            .iter()
            .flat_map(|p| {
                p.tasks
                    .iter()
                    .map(move |t| format!("{}#{}", p.number, t.id))
            })
            .collect()
    };
    let agencies =
        |c: &Config| -> BTreeSet<String> { c.agencies.iter().map(|a| a.id.clone()).collect() };
    let (ot, nt) = (tasks(old), tasks(new));
    let (oa, na) = (agencies(old), agencies(new));
    let changed_tasks = old
        .plans
        .iter()
        .flat_map(|p| p.tasks.iter().map(move |t| (p, t)))
        .filter(|(p, t)| {
            new.plans
                .iter()
                .find(|q| q.number == p.number)
                .and_then(|q| q.tasks.iter().find(|u| u.id == t.id))
                .is_some_and(|u| {
                    u.deadline != t.deadline
                        || u.lead != t.lead
                        || u.support != t.support
                        || u.done != t.done
                        || u.done_by != t.done_by
                })
        })
        .count();
    let changed_agencies = old
        .agencies
        .iter()
        .filter(|a| {
            new.agencies
                .iter()
                .find(|b| b.id == a.id)
                .is_some_and(|b| b != *a)
        })
        .count();
    format!(
        "tasks +{} -{} ~{}, agencies +{} -{} ~{}",
        nt.difference(&ot).count(),
        ot.difference(&nt).count(),
        changed_tasks,
        na.difference(&oa).count(),
        oa.difference(&na).count(),
        changed_agencies
    )
}

/// What woke the loop.
enum Wake {
    Stop,
    Hup,
    Watchdog,
    Event(Option<Event>),
    Poll,
    Timer,
    /// The lead's checks saw something new.
    Lead,
}

/// A pass under [`Control::guard`], its retry scheduled after a failure. `None`: stop.
async fn guarded_pass(
    ctl: &mut Control,
    worker: &Worker,
    live: &mut Live,
    store: Store,
    health: &Health,
    retry: &mut Option<Retry>,
    reminders: bool,
) -> anyhow::Result<Option<Store>> {
    let stop = ctl.stop.clone();
    let Some(result) = ctl
        .guard(pass(worker, live, store, health, &stop, reminders))
        .await
    else {
        return Ok(None);
    };
    let (store, ok) = result?;
    *retry = Retry::after(*retry, ok);
    if let Some(r) = retry {
        tracing::warn!(
            failures = r.failures,
            retry_in_secs = retry_after(r.failures).as_secs(),
            "lượt gửi sẽ được thử lại"
        );
    }
    Ok(Some(store))
}

/// Follows what the lead's checks saw. A loss stops sending and stands by (the stop flag, set
/// already if it came during a pass, is cleared once that work has ended: what it had not
/// marked stays in the outbox for the next leader). A lead taken makes a pass at once, the
/// start's catch-up; the ticks go on as usual. `None`: stop.
async fn follow_lead(
    ctl: &mut Control,
    worker: &Worker,
    live: &mut Live,
    store: Store,
    health: &Health,
    pass_retry: &mut Option<Retry>,
) -> anyhow::Result<Option<Store>> {
    let seen = ctl.lead.seen();
    let step = lead::step(ctl.leads_in, &seen);
    if matches!(step, Step::Lose | Step::Retake(_)) {
        ctl.stop.store(false, Ordering::SeqCst);
        ctl.leads_in = None;
        *pass_retry = None;
        set_role(health, Role::Standby);
        health.update(|s| s.sending_paused_until = None);
        tracing::warn!(
            event = "lead_lost",
            error = seen.error.as_deref().unwrap_or(""),
            "mất quyền dẫn đầu: dừng gửi ngay và chuyển sang dự phòng; thư chưa gửi vẫn chờ trong hàng đợi cho máy dẫn đầu"
        );
    }
    let (Step::Take(term) | Step::Retake(term)) = step else {
        return Ok(Some(store));
    };
    ctl.leads_in = Some(term);
    set_role(health, Role::Leader);
    health.metrics.takeovers.inc();
    tracing::info!(
        event = "lead_taken",
        term,
        "nhận quyền dẫn đầu: từ bây giờ máy này đánh giá, ghi và gửi; gửi bù ngay những gì đến hạn"
    );
    guarded_pass(ctl, worker, live, store, health, pass_retry, true).await
}

/// Says in health whether this instance leads.
fn set_role(health: &Health, role: Role) {
    health.metrics.leader.set(i64::from(role == Role::Leader));
    health.update(|s| s.role = role);
}

/// A reload under [`Control::guard`]; one that failed for an I/O reason is tried again with
/// backoff. `false`: stop.
#[allow(clippy::too_many_arguments)]
async fn guarded_reload(
    ctl: &mut Control,
    dir: &Path,
    worker: &Worker,
    live: &mut Live,
    sched: &JobScheduler,
    tx: &mpsc::Sender<Event>,
    health: &Health,
    why: &str,
    retry: &mut Option<Retry>,
    store: &Store,
) -> anyhow::Result<bool> {
    let Some(result) = ctl
        .guard(reload(dir, worker, live, sched, tx, health, why, store))
        .await
    else {
        return Ok(false);
    };
    let io_failure = result?;
    *retry = Retry::after(*retry, !io_failure);
    if let Some(r) = retry {
        tracing::warn!(
            failures = r.failures,
            retry_in_secs = retry_after(r.failures).as_secs(),
            "nạp lại cấu hình không đọc được tệp: sẽ thử lại"
        );
    }
    Ok(true)
}

/// Runs the service alone on its state (SQLite: always the leader) until SIGTERM or SIGINT.
pub async fn run(dir: &Path, clock: Clock) -> anyhow::Result<()> {
    run_with(dir, clock, Lead::Solo).await
}

/// Runs the service until SIGTERM or SIGINT. With [`Lead::Shared`] it is one of several on one
/// database: it evaluates, records and sends only while it leads; standing by, it keeps the
/// config, the pages, health and the signals, and takes the lead when the leader's session
/// ends (`lead`).
pub async fn run_with(dir: &Path, clock: Clock, lead: Lead) -> anyhow::Result<()> {
    run_on(dir, clock, lead, None).await
}

/// `/healthz` and `/metrics` on `listen`, when configured.
fn serve_health(
    listen: Option<std::net::SocketAddr>,
    health: &Health,
) -> anyhow::Result<Option<crate::http::Server>> {
    let Some(addr) = listen else {
        return Ok(None);
    };
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
    let server = crate::health::start(listener, health.clone())
        .with_context(|| format!("serving on {addr}"))?;
    tracing::info!(event = "health_listening", %addr, "/healthz và /metrics đang phục vụ");
    Ok(Some(server))
}

/// How long the service waits before trying an unreachable database again at start: 5 s
/// doubling up to a minute.
const OPEN_RETRY: Duration = Duration::from_secs(5);
const OPEN_RETRY_MAX: Duration = Duration::from_secs(60);

/// [`run_with`] on a state in PostgreSQL when `pg` is given (two servers: `lead` is then
/// `Lead::Shared` on the same database), else in the state directory's SQLite file.
pub async fn run_on(
    dir: &Path,
    clock: Clock,
    lead: Lead,
    pg: Option<crate::pg::DatabaseUrl>,
) -> anyhow::Result<()> {
    // Signals are registered before READY=1, so a reload or stop right after start is seen.
    // The lead's first check starts now, beside the load.
    let mut ctl = Control::new(lead)?;
    let worker = Worker::start()?;
    // Loading and building the schedule take seconds on a national config: on the worker,
    // with SIGTERM answered meanwhile.
    let d = dir.to_path_buf();
    // Where a start's time goes, at debug level (docs/PERFORMANCE.md "A start's first tick").
    let started = std::time::Instant::now();
    let loaded = ctl
        .guard(
            worker.run(move || load(&d).map(|(analysis, templates)| (analysis.config, templates))),
        )
        .await;
    let Some(loaded) = loaded else {
        tracing::info!(event = "stopped", "nhacviec đã dừng");
        return Ok(());
    };
    let (config, templates) = loaded?.map_err(|e| anyhow::anyhow!("cấu hình có lỗi: {e}"))?;
    let read = std::time::Instant::now();
    tracing::debug!(
        event = "config_read",
        millis = millis(read - started),
        "đã đọc cấu hình"
    );
    let state: PathBuf = deliver::state_dir(dir, &config)?;
    let location = crate::store::Location {
        path: state.join(DB_FILE),
        pg,
    };
    let health = Health {
        clock,
        ..Health::default()
    };
    // No reload has failed yet (`/healthz` said false before any reload).
    health.update(|s| s.last_reload_ok = true);
    // A shared database: standing by until the first check says otherwise.
    set_role(
        &health,
        if ctl.lead.shared() {
            Role::Standby
        } else {
            Role::Leader
        },
    );
    // The HTTP listener, when configured: bound before READY, so probes work at once, and
    // served from a thread of its own so that it answers during a tick. On PostgreSQL before
    // the store is opened (a database out of reach is said there while it is tried again); on
    // SQLite after, so a second `run` on the same state is told the state is in use, not that
    // the port is.
    let mut http = None;
    if location.pg.is_some() {
        http = serve_health(config.http_listen, &health)?;
    }
    // A database out of reach at start (its server restarting, the network): tried again
    // with backoff, SIGTERM answered meanwhile, rather than exiting into a restart loop.
    let mut wait = OPEN_RETRY;
    let store = loop {
        let at = location.clone();
        let Some(opened) = ctl
            .guard(worker.run(move || Store::open_writer_at(&at)))
            .await
        else {
            tracing::info!(event = "stopped", "nhacviec đã dừng");
            return Ok(());
        };
        match opened? {
            Ok(store) => {
                health.update(|s| s.store_error = None);
                break store.with_clock(clock);
            }
            Err(e) if location.pg.is_some() && e.worth_retrying() => {
                health.update(|s| s.store_error = Some(e.to_string()));
                tracing::warn!(event = "database_unreachable", error = %e, retry_secs = wait.as_secs(), "chưa kết nối được cơ sở dữ liệu: thử lại sau");
                if ctl.guard(tokio::time::sleep(wait)).await.is_none() {
                    tracing::info!(event = "stopped", "nhacviec đã dừng");
                    return Ok(());
                }
                wait = (wait * 2).min(OPEN_RETRY_MAX);
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(url) = &location.pg {
        tracing::info!(event = "database", url = %url, "trạng thái lưu trong cơ sở dữ liệu PostgreSQL (hai máy chủ)");
    } else {
        http = serve_health(config.http_listen, &health)?;
    }
    let _http = http;
    // The schedule built once, with the store's answers: the first pass uses it as it is.
    let built = ctl
        .guard(worker.run(move || {
            let today = clock.now().with_timezone(&config.timezone).date_naive();
            let engine = Engine::build_with_store(&config, &store, today);
            (config, store, engine)
        }))
        .await;
    let Some(built) = built else {
        tracing::info!(event = "stopped", "nhacviec đã dừng");
        return Ok(());
    };
    let (config, mut store, engine) = built?;
    let engine = engine?;
    tracing::debug!(
        event = "schedule_built",
        millis = millis(read.elapsed()),
        "đã lập lịch nhắc"
    );
    let senders = Senders::new(&config, &state)?;
    let (tx, mut rx) = mpsc::channel::<Event>(4);
    let sched = JobScheduler::new()
        .await
        .context("starting the scheduler")?;
    let jobs = add_jobs(&sched, &config, &tx, clock).await?;
    let mut live = Live {
        config: Arc::new(config),
        templates: Arc::new(templates),
        senders,
        engine: Arc::new(engine),
        web: None,
        jobs,
        clock,
        state: state.clone(),
    };
    sched.start().await.context("starting the scheduler")?;
    let _watcher = watch(dir, tx.clone())?;
    let _web = start_web(&mut live, &location, &health)?;
    tracing::info!(config = %dir.display(), state = %state.display(), reminders = %live.config.reminders, report = %live.config.report, trial = ?live.config.email.redirect_all_to, event = "start", "nhacviec khởi động");
    if !clock.is_system() {
        let now = clock.now().with_timezone(&live.config.timezone);
        tracing::warn!(now = %now.to_rfc3339(), event = "clock_shifted", "đồng hồ của dịch vụ được dời (--now): bây giờ là {} và chạy tiếp theo thời gian thực; hạn, giờ gửi, lịch cron và liên kết đều tính theo đồng hồ này", crate::dates::hm_dmy(&now));
    }
    let mut pass_retry: Option<Retry> = None;
    let mut reload_retry: Option<Retry> = None;
    // The first check of the lead (none with SQLite): a standby makes no start pass.
    let first = lead::first(ctl.lead.subscribe());
    let Some(seen) = ctl.guard(first).await else {
        return stopped(sched).await;
    };
    health.update(|s| s.lead_error = seen.error.clone());
    if seen.leading {
        ctl.leads_in = Some(seen.term);
        set_role(&health, Role::Leader);
        if ctl.lead.shared() {
            tracing::info!(
                event = "leader",
                "máy này giữ quyền dẫn đầu: đánh giá, ghi và gửi nhắc việc"
            );
        }
        // Catch up at once: whatever was missed while down goes out now.
        store = match guarded_pass(
            &mut ctl,
            &worker,
            &mut live,
            store,
            &health,
            &mut pass_retry,
            true,
        )
        .await?
        {
            Some(store) => store,
            None => return stopped(sched).await,
        };
    } else {
        tracing::info!(
            event = "standby",
            error = seen.error.as_deref().unwrap_or(""),
            check_secs = lead::LEAD_CHECK.as_secs(),
            "máy này dự phòng: máy dẫn đầu gửi nhắc việc; máy này phục vụ các trang và nhận quyền khi máy dẫn đầu dừng"
        );
    }
    tracing::debug!(
        event = "first_pass",
        since_config_read_millis = millis(read.elapsed()),
        "lượt gửi đầu tiên xong"
    );
    // Whether the pass waiting for the send hours' opening includes reminders (a report tick
    // outside the hours defers the reports only, and reminders keep to their own ticks).
    let mut deferred_reminders = paused(&health);
    idle(&store);
    let next_tick = |live: &Live| {
        config::parse_cron(&live.config.reminders)
            .ok()
            .and_then(|c| {
                // From the whole second: croner keeps the fraction it is given.
                let now = live.clock.now().trunc_subsecs(0);
                c.find_next_occurrence(&now.with_timezone(&live.config.timezone), false)
                    .ok()
            })
    };
    let next = next_tick(&live);
    health.update(|s| s.next_tick = next.map(|t| t.with_timezone(&Utc)));
    let status = status_line(&store, next, &health);
    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
    let mut poll = tokio::time::interval(RETRY_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen_version = None;
    changed_elsewhere(&store, &mut seen_version);
    let stop = ctl.stop.clone();
    loop {
        // The lead lost or taken since the loop last looked (a loss seen during a pass stopped
        // its sends already): followed before anything else.
        let seen = ctl.lead.seen();
        health.update(|s| s.lead_error = seen.error.clone());
        let lead_moved = lead::step(ctl.leads_in, &seen) != Step::Stay;
        let leading = ctl.leads_in.is_some();
        // While the store is failing (a full disk), sending is paused: a message sent but not
        // marked would otherwise be sent again at once, over and over.
        let store_failing = health
            .status
            .lock()
            .map(|s| s.store_error.is_some())
            .unwrap_or(false);
        // Retries wait for the send hours too; a pass deferred by them runs at the opening.
        let tz = live.config.timezone;
        let opening = |at: DateTime<Utc>| {
            live.engine
                .next_open(&live.config, at.with_timezone(&tz))
                .with_timezone(&Utc)
        };
        let deferred = health
            .status
            .lock()
            .ok()
            .and_then(|s| s.sending_paused_until);
        let wake = match store.next_attempt() {
            Ok(Some(at)) => Ok(Some(opening(at))),
            other => other,
        }
        .map(|retry| match (retry, deferred) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        });
        let retry_in = match wake {
            // A standby sends nothing: no retry or deferred pass wakes it.
            _ if !leading => Duration::from_secs(24 * 3600),
            Ok(Some(at)) => (at - live.clock.now()).to_std().unwrap_or_default(),
            Ok(None) => Duration::from_secs(24 * 3600),
            Err(e) => {
                health.update(|s| s.store_error = Some(e.to_string()));
                Duration::from_secs(60)
            }
        };
        let retry_in = if store_failing {
            retry_in.max(Duration::from_secs(60))
        } else {
            retry_in
        };
        // A failed pass or reload is tried again on its own backoff, not at the next cron.
        let retry_in = [pass_retry, reload_retry]
            .into_iter()
            .flatten()
            .map(|r| r.at.saturating_duration_since(tokio::time::Instant::now()))
            .fold(retry_in, Duration::min);
        let woke = if lead_moved {
            Wake::Lead
        } else if ctl.hup_pending {
            ctl.hup_pending = false;
            Wake::Hup
        } else {
            // Stopping first: back-to-back ticks (a per-second cron on a slow pass) never
            // starve SIGTERM.
            tokio::select! {
                biased;
                _ = ctl.term.recv() => {
                    tracing::info!(event = "stopping", "nhận SIGTERM: đang dừng");
                    Wake::Stop
                }
                _ = ctl.int.recv() => {
                    tracing::info!(event = "stopping", "nhận SIGINT: đang dừng");
                    Wake::Stop
                }
                _ = ctl.watchdog_timer.tick(), if ctl.watchdog.is_some() => Wake::Watchdog,
                _ = ctl.hup.recv() => Wake::Hup,
                _ = ctl.lead.changed() => Wake::Lead,
                ev = rx.recv() => Wake::Event(ev),
                _ = poll.tick() => Wake::Poll,
                _ = tokio::time::sleep(retry_in) => Wake::Timer,
            }
        };
        let mut pinged = false;
        match woke {
            Wake::Stop | Wake::Event(None) => break,
            Wake::Watchdog => {
                // Pinged from the loop itself: a stuck loop stops the pings and systemd
                // restarts us.
                notify(&[NotifyState::Watchdog]);
                pinged = true;
            }
            Wake::Hup | Wake::Event(Some(Event::ConfigChanged)) => {
                let why = if matches!(woke, Wake::Hup) {
                    "SIGHUP"
                } else {
                    "file change"
                };
                if !guarded_reload(
                    &mut ctl,
                    dir,
                    &worker,
                    &mut live,
                    &sched,
                    &tx,
                    &health,
                    why,
                    &mut reload_retry,
                    &store,
                )
                .await?
                {
                    break;
                }
            }
            Wake::Lead => {
                let followed = follow_lead(
                    &mut ctl,
                    &worker,
                    &mut live,
                    store,
                    &health,
                    &mut pass_retry,
                )
                .await?;
                store = match followed {
                    Some(store) => store,
                    None => return stopped(sched).await,
                };
                deferred_reminders = ctl.leads_in.is_some() && paused(&health);
            }
            // A standby's ticks say nothing: the leader makes the passes.
            Wake::Event(Some(Event::Tick | Event::Report)) if !leading => {}
            Wake::Event(Some(event @ (Event::Tick | Event::Report))) => {
                let full = event == Event::Tick;
                store = match guarded_pass(
                    &mut ctl,
                    &worker,
                    &mut live,
                    store,
                    &health,
                    &mut pass_retry,
                    full,
                )
                .await?
                {
                    Some(store) => store,
                    None => return stopped(sched).await,
                };
                if full {
                    deferred_reminders = paused(&health);
                }
            }
            Wake::Poll => {
                // Another process committed (a `retry`): look at the outbox again at once.
                pinged = true;
                if !changed_elsewhere(&store, &mut seen_version) {
                    continue;
                }
            }
            Wake::Timer if Retry::due(reload_retry) => {
                if !guarded_reload(
                    &mut ctl,
                    dir,
                    &worker,
                    &mut live,
                    &sched,
                    &tx,
                    &health,
                    "retry",
                    &mut reload_retry,
                    &store,
                )
                .await?
                {
                    break;
                }
            }
            // Nor do its timers, but a reload's retry.
            Wake::Timer if !leading => {}
            Wake::Timer => {
                let now = live.clock.now().with_timezone(&live.config.timezone);
                let opens = live.engine.next_open(&live.config, now);
                if Retry::due(pass_retry) || deferred.is_some_and(|d| d <= now) || opens > now {
                    // A failed pass tried again, the pass deferred by the send hours (or a
                    // retry woken too early): with reminders if the deferred pass had them.
                    let full = deferred_reminders || Retry::due(pass_retry);
                    store = match guarded_pass(
                        &mut ctl,
                        &worker,
                        &mut live,
                        store,
                        &health,
                        &mut pass_retry,
                        full,
                    )
                    .await?
                    {
                        Some(store) => store,
                        None => return stopped(sched).await,
                    };
                    if full {
                        deferred_reminders = paused(&health);
                    }
                } else {
                    let sending = deliver::send_ready_until(
                        &store,
                        &live.senders,
                        &live.config,
                        live.clock.now(),
                        &stop,
                    );
                    match ctl.guard(sending).await {
                        None => break,
                        Some(Ok(sent)) => {
                            count_sends(&health, &sent);
                            health.update(|s| s.store_error = None);
                        }
                        Some(Err(e)) => {
                            tracing::error!(error = %e, event = "retry_failed", "gửi lại thất bại; tạm dừng gửi một phút");
                            health.update(|s| s.store_error = Some(e.to_string()));
                        }
                    }
                }
                update_counts(&store, &health);
            }
        }
        if !pinged {
            idle(&store);
        }
        let next = next_tick(&live);
        health.update(|s| s.next_tick = next.map(|t| t.with_timezone(&Utc)));
        let status = status_line(&store, next, &health);
        notify(&[NotifyState::Status(&status)]);
    }
    // Deliveries not yet attempted stay pending in the database for the next start.
    drop(store);
    stopped(sched).await
}

/// The end of the service: the scheduler stopped (briefly: the stop must stay prompt).
async fn stopped(sched: JobScheduler) -> anyhow::Result<()> {
    notify(&[NotifyState::Stopping]);
    let mut sched = sched;
    let _ = tokio::time::timeout(Duration::from_millis(500), sched.shutdown()).await;
    tracing::info!(event = "stopped", "nhacviec đã dừng");
    Ok(())
}

/// Whether a reload's failure may be an I/O one (a file or directory unreadable, e.g. out of
/// descriptors, or a channel that could not be set up): worth trying again.
/// Reloads the config. `Ok(true)`: it failed in a way worth trying again (I/O). A config with
/// errors, or one that moves the state directory (that needs a restart), never replaces the
/// running one.
#[allow(clippy::too_many_arguments)]
async fn reload(
    dir: &Path,
    worker: &Worker,
    live: &mut Live,
    sched: &JobScheduler,
    tx: &mpsc::Sender<Event>,
    health: &Health,
    why: &str,
    store: &Store,
) -> anyhow::Result<bool> {
    let mono = sd_notify::NotifyState::monotonic_usec_now().ok();
    let mut states = vec![NotifyState::Reloading];
    if let Some(m) = mono {
        states.push(m);
    }
    notify(&states);
    let d = dir.to_path_buf();
    // The answers read here (the store stays on this thread), the engine built with them: the
    // next pass uses it as it is.
    let clock = live.clock;
    let answers = store
        .answers_version()
        .and_then(|v| store.answers().map(|(r, e)| (v, r, e)))
        .ok();
    let loaded = worker
        .run(move || {
            load(&d).map(|(analysis, templates)| {
                let config = analysis.config;
                let today = clock.now().with_timezone(&config.timezone).date_naive();
                let engine = match answers {
                    Some((version, responses, extensions)) => {
                        Engine::build_answered(&config, today, &responses, &extensions, version)
                    }
                    None => Engine::build(&config, today),
                };
                (config, templates, engine)
            })
        })
        .await?;
    let retry = match loaded {
        Err(e) => {
            tracing::error!(trigger = why, errors = %e, event = "reload_failed", "nạp lại cấu hình thất bại; vẫn dùng cấu hình đang chạy");
            let retry = e.worth_retrying();
            reload_result(health, Some(e.to_string()));
            retry
        }
        Ok((new, templates, engine)) => match deliver::state_dir(dir, &new) {
            Err(e) => {
                tracing::error!(trigger = why, error = %e, event = "reload_failed", "nạp lại cấu hình thất bại; vẫn dùng cấu hình đang chạy");
                reload_result(health, Some(e.to_string()));
                false
            }
            Ok(state) if state != live.state => {
                tracing::error!(
                    trigger = why,
                    running = %live.state.display(),
                    configured = %state.display(),
                    event = "reload_failed", "không nạp lại: state_dir đã đổi, cần khởi động lại dịch vụ; vẫn dùng cấu hình đang chạy"
                );
                reload_result(
                    health,
                    Some(format!(
                        "state_dir đã đổi ({} → {}): cần khởi động lại dịch vụ để dùng thư mục trạng thái mới; đang dùng cấu hình cũ",
                        live.state.display(),
                        state.display()
                    )),
                );
                false
            }
            Ok(state) => match Senders::new(&new, &state) {
                Err(e) => {
                    tracing::error!(trigger = why, error = %e, event = "reload_failed", "nạp lại cấu hình thất bại; vẫn dùng cấu hình đang chạy");
                    reload_result(health, Some(e.to_string()));
                    true
                }
                Ok(senders) => {
                    let summary = summary(&live.config, &new);
                    if new.reminders != live.config.reminders
                        || new.report != live.config.report
                        || new.timezone != live.config.timezone
                    {
                        for ticker in live.jobs.drain(..) {
                            ticker.stop(sched).await;
                        }
                        match add_jobs(sched, &new, tx, live.clock).await {
                            Ok(ids) => live.jobs = ids,
                            Err(e) => {
                                tracing::error!(error = %e, "không đặt được lịch cron mới")
                            }
                        }
                    }
                    live.engine = Arc::new(engine);
                    live.config = Arc::new(new);
                    if let Some(web) = &live.web {
                        web.set_config(live.config.clone());
                    }
                    live.templates = Arc::new(templates);
                    live.senders = senders;
                    reload_result(health, None);
                    // Nothing is sent now: what the new config makes due goes out at the next
                    // regular tick, which `preview` announces (a save never mails at once).
                    tracing::info!(
                        trigger = why,
                        changes = %summary,
                        event = "reloaded",
                        "đã nạp lại cấu hình; thay đổi có hiệu lực từ lần nhắc theo lịch tới"
                    );
                    log_late_entries(live, store);
                    false
                }
            },
        },
    };
    notify(&[NotifyState::Ready]);
    Ok(retry)
}

/// After a reload: what the next regular tick would send about deadlines that passed before
/// today and nobody was reminded of (a plan entered late), as `check` warns it.
fn log_late_entries(live: &Live, store: &Store) {
    let now = live.clock.now().with_timezone(&live.config.timezone);
    let view = store.ledger(crate::store::Ledger::of(&live.config));
    let Ok(ledger) = view.forecast() else {
        return;
    };
    // Told already: in either ledger (a reminder rehearsed in trial mode is not news).
    let known = store.ledger(crate::store::Ledger::Trial);
    let late = crate::forecast::late_entries_from(
        &live.config,
        &live.engine.calendar,
        &live.engine.schedule,
        &ledger,
        &known,
        now,
        false,
    );
    for e in late {
        tracing::warn!(
            event = "late_plan",
            plan = %e.plan,
            notices = e.notices,
            agencies = e.agencies.len(),
            at = %e.at.to_rfc3339(),
            "{}; {}",
            e.message_vi(&live.config, now.date_naive()),
            e.help_vi(now.date_naive())
        );
    }
}

/// Whether the change feed moved since `seen` (another process committed: a `retry`), which
/// becomes what it says now. A feed that cannot be read says `None`: a change once it reads
/// again.
fn changed_elsewhere(feed: &dyn ChangeFeed, seen: &mut Option<i64>) -> bool {
    let version = feed.data_version().ok();
    if version == *seen {
        return false;
    }
    *seen = version;
    true
}

/// Records a reload's outcome: `error` is why it failed, `None` when it took effect.
fn reload_result(health: &Health, error: Option<String>) {
    let label = ResultLabel {
        result: if error.is_none() { "ok" } else { "error" }.into(),
    };
    health.metrics.reloads.get_or_create(&label).inc();
    health.update(|s| {
        s.last_reload_ok = error.is_none();
        s.last_reload = Some(error.unwrap_or_else(|| format!("ok {}", Utc::now().to_rfc3339())));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A change feed another process moves (or that fails to read).
    struct Feed(std::cell::Cell<Option<i64>>);

    impl ChangeFeed for Feed {
        fn data_version(&self) -> crate::store::Result<i64> {
            self.0.get().ok_or(crate::store::StoreError::Meta {
                key: "data_version".into(),
                value: String::new(),
            })
        }
    }

    #[test]
    fn the_poll_sees_another_process_commit_once() {
        let feed = Feed(std::cell::Cell::new(Some(7)));
        let mut seen = None;
        assert!(changed_elsewhere(&feed, &mut seen), "the first look");
        assert!(
            !changed_elsewhere(&feed, &mut seen),
            "nothing committed since"
        );
        feed.0.set(Some(8));
        assert!(changed_elsewhere(&feed, &mut seen));
        assert_eq!(seen, Some(8));
        assert!(!changed_elsewhere(&feed, &mut seen));
        // Unreadable, then readable again: looked at once more, not missed.
        feed.0.set(None);
        assert!(changed_elsewhere(&feed, &mut seen));
        feed.0.set(Some(8));
        assert!(changed_elsewhere(&feed, &mut seen));
    }

    #[test]
    fn a_failed_pass_is_retried_after_30_s_doubling_to_15_min() {
        let secs: Vec<u64> = (1..=8).map(|n| retry_after(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(retry_after(u32::MAX), RETRY_MAX);
    }

    #[test]
    fn reload_failures_reading_files_are_worth_retrying() {
        // A copy of the sample config, its plans directory taken away (a mount not back yet).
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for sub in ["", "plans", "templates"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            for e in std::fs::read_dir(sample.join(sub)).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_file() {
                    std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
                }
            }
        }
        assert!(load(dir).is_ok());
        let plans = dir.join("plans");
        std::fs::rename(&plans, dir.join("away")).unwrap();
        let err = load(dir).err().unwrap();
        assert!(err.worth_retrying(), "{err}");
        std::fs::rename(dir.join("away"), &plans).unwrap();
        // A mistake in a file is not, whatever its words: this one says "không đọc được".
        let settings = dir.join("nhacviec.toml");
        let text = std::fs::read_to_string(&settings).unwrap();
        std::fs::write(&settings, format!("{text}\nbogus = 1\n")).unwrap();
        let err = load(dir).err().unwrap();
        assert!(!err.worth_retrying(), "{err}");
        let config = LoadError::Config {
            errors: vec!["plans/a.toml:3:9: không đọc được thời hạn trong \"sớm\"".into()],
            unreadable: false,
        };
        assert!(!config.worth_retrying());
        assert!(!LoadError::Links("bí mật quá ngắn".into()).worth_retrying());
    }

    /// A `[schedule] report` tick makes the weekly report and sends no reminder: reminders go
    /// at their own ticks, the times `preview` announces.
    #[tokio::test(flavor = "current_thread")]
    async fn a_report_tick_makes_the_report_and_no_reminder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let (analysis, templates) = load(&dir).unwrap();
        let config = analysis.config;
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open_writer(&tmp.path().join(DB_FILE)).unwrap();
        let tz = config.timezone;
        let at = |s: &str| crate::dates::parse_now(s, tz).unwrap();
        let engine =
            Engine::build_with_store(&config, &store, at("2022-05-27").date_naive()).unwrap();
        let mut live = Live {
            senders: Senders::new(&config, tmp.path()).unwrap(),
            config: Arc::new(config),
            templates: Arc::new(templates),
            engine: Arc::new(engine),
            web: None,
            jobs: Vec::new(),
            clock: Clock::System,
            state: tmp.path().to_path_buf(),
        };
        let health = Health::default();
        // The deliveries a pass made: (reminders, reports); a report carries no slot.
        let mut seen = 0;
        let mut made = |store: &Store| {
            let all = store.history(None, None, 100_000).unwrap();
            let new = &all[..all.len() - seen];
            seen = all.len();
            let reports = new.iter().filter(|d| d.items.is_empty()).count();
            (new.len() - reports, reports)
        };
        // Friday: a full pass (reminders; the first report time only noted).
        let friday = at("2022-05-27T08:00:00+07:00");
        pass_at(&mut live, &mut store, &health, friday, true)
            .await
            .unwrap();
        let (reminders, reports) = made(&store);
        assert!(reminders > 0);
        assert_eq!(reports, 0);
        // Monday 07:30, the report tick: the report, and none of Monday's reminders.
        let report_tick = at("2022-05-30T07:30:00+07:00");
        let p = pass_at(&mut live, &mut store, &health, report_tick, false)
            .await
            .unwrap();
        assert_eq!(p.queued, 1);
        assert_eq!(made(&store), (0, 1));
        // Monday 08:00, the reminders' tick: Monday's reminders.
        let monday = at("2022-05-30T08:00:00+07:00");
        pass_at(&mut live, &mut store, &health, monday, true)
            .await
            .unwrap();
        let (reminders, reports) = made(&store);
        assert!(reminders > 0);
        assert_eq!(reports, 0);
    }
}
