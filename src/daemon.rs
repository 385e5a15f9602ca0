//! `nhacviec run`: the service. tokio-cron-scheduler fires the reminder and report schedules;
//! a tick only says "look now" and the evaluation is state-based, so missed, merged or doubled
//! fires change nothing. One loop owns the store and handles, in turn: ticks, retries, reloads
//! (SIGHUP or a change under the config directory), the systemd watchdog and SIGTERM/SIGINT.
//! Because it is one loop, a reload never interrupts a delivery in flight.

use crate::channels::Senders;
use crate::config::{self, Analysis, Config};
use crate::deliver::{self, Engine};
use crate::render::Templates;
use crate::store::Store;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sd_notify::NotifyState;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};

pub const DB_FILE: &str = "nhacviec.db";

/// How often the service checks whether another process (`nhacviec retry`) changed the
/// outbox: a cheap pragma, so requeued deliveries go out within this long.
const RETRY_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Tick,
    ConfigChanged,
}

/// The running configuration and what is derived from it.
struct Live {
    config: Config,
    templates: Templates,
    senders: Senders,
    /// The calendar and the schedule, built at load and reload.
    engine: Engine,
    /// The scheduler's jobs for the current cron expressions.
    jobs: Vec<uuid::Uuid>,
}

use crate::health::{ChannelLabel, Health, ResultLabel};

fn notify(states: &[NotifyState]) {
    // Outside systemd there is no socket: nothing to do.
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

fn load(dir: &Path) -> Result<(Analysis, Templates), String> {
    let analysis = config::load(dir);
    if analysis.has_errors() {
        let errors: Vec<String> = analysis
            .errors()
            .map(|d| format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message))
            .collect();
        return Err(errors.join("; "));
    }
    let templates = Templates::new(&analysis.templates)
        .map_err(|e| format!("{}: {}", e.template, e.message))?;
    Ok((analysis, templates))
}

async fn add_jobs(
    sched: &JobScheduler,
    config: &Config,
    tx: &mpsc::Sender<Event>,
) -> anyhow::Result<Vec<uuid::Uuid>> {
    let mut ids = Vec::new();
    let exprs: BTreeSet<&str> = [config.reminders.as_str(), config.report.as_str()]
        .into_iter()
        .collect();
    for expr in exprs {
        let tx = tx.clone();
        let job = Job::new_async_tz(expr, config.timezone, move |_id, _lock| {
            let tx = tx.clone();
            Box::pin(async move {
                // A full channel means a tick is already waiting: merging them is fine.
                let _ = tx.try_send(Event::Tick);
            })
        })
        .with_context(|| format!("cron \"{expr}\""))?;
        ids.push(sched.add(job).await.context("adding a cron job")?);
    }
    Ok(ids)
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

/// One pass: evaluate now, record, send what is ready. A failure (a full disk, a broken
/// store) is logged and shown in health; the service keeps running and retries next tick.
async fn pass(live: &mut Live, store: &mut Store, health: &Health) {
    let started = std::time::Instant::now();
    let now = Utc::now().with_timezone(&live.config.timezone);
    match try_pass(live, store, health, now).await {
        Ok(_) => {
            health
                .metrics
                .tick_seconds
                .observe(started.elapsed().as_secs_f64());
            health.metrics.last_tick.set(Utc::now().timestamp() as f64);
            health.update(|s| {
                s.last_tick = Some(Utc::now());
                s.store_error = None;
            });
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "tick failed; will try again at the next one");
            health.update(|s| s.store_error = Some(format!("{e:#}")));
        }
    }
    update_counts(store, health);
}

/// Between events the service sleeps for hours: it hands back what a pass left in caches and
/// in the allocator's free lists, so its resident memory stays that of an idle process.
fn idle(store: &Store) {
    store.release_memory();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn update_counts(store: &Store, health: &Health) {
    let counts = store.counts().unwrap_or_default();
    let count = |k: &str| counts.iter().find(|(s, _)| s == k).map_or(0, |(_, n)| *n);
    let (pending, dead) = (count("pending") + count("retrying"), count("dead"));
    health.metrics.pending.set(pending);
    health.metrics.dead.set(dead);
    health.update(|s| {
        s.pending = pending;
        s.dead = dead;
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

/// One pass at `now`: evaluate what is due and record it, queue the reports, then send what
/// is ready (retry times follow the real clock). The service runs it at start and at every
/// tick; `run --once` runs exactly this.
async fn try_pass(
    live: &mut Live,
    store: &mut Store,
    health: &Health,
    now: DateTime<Tz>,
) -> anyhow::Result<deliver::Pass> {
    let started = std::time::Instant::now();
    live.engine.refresh(&live.config, now.date_naive());
    // Outside the send hours (or on a day off) the whole pass waits for the next opening:
    // evaluated then, the digests say that day's date and go out at once.
    let opens = live.engine.next_open(&live.config, now);
    let opens = if opens > now {
        live.engine.deferred_to(&live.config, now)
    } else {
        opens
    };
    health.update(|s| s.sending_paused_until = (opens > now).then(|| opens.with_timezone(&Utc)));
    if opens > now {
        tracing::info!(
            opens = %opens.to_rfc3339(),
            send_hours = %live.config.send_hours.describe(),
            "outside send hours: the pass waits for the next opening"
        );
        return Ok(deliver::Pass {
            deferred_until: Some(opens),
            ..deliver::Pass::default()
        });
    }
    let mut p = deliver::tick(&live.engine, &live.config, &live.templates, store, now)?;
    let reports = deliver::reports(&live.engine, &live.config, store, now)?;
    let (fallbacks, why) = live.templates.take_fallbacks();
    if let Some(why) = why {
        health.metrics.template_fallbacks.inc_by(fallbacks);
        let at = now.format("%H:%M %d/%m/%Y");
        health.update(|s| s.last_template_error = Some(format!("{at}: {why}")));
    }
    let evaluated = started.elapsed();
    let sent = deliver::send_ready(store, &live.senders, &live.config, Utc::now()).await?;
    count_sends(health, &sent);
    // queued: digests recorded now; skipped: missed slots superseded by a later one of the
    // same reminder; stale: older than the catch-up horizon; suppressed: the agency was done.
    tracing::info!(
        queued = p.queued,
        reports,
        skipped_superseded = p.skipped,
        skipped_stale = p.stale,
        catch_up_days = live.config.catch_up_days,
        suppressed = p.suppressed,
        sent = sent.sent,
        retrying = sent.retrying,
        dead = sent.dead,
        evaluate_millis = evaluated.as_millis() as u64,
        send_millis = (started.elapsed() - evaluated).as_millis() as u64,
        millis = started.elapsed().as_millis() as u64,
        "tick"
    );
    p.queued += reports;
    p.sent = sent.sent;
    p.retrying = sent.retrying;
    p.dead = sent.dead;
    p.by_channel = sent.by_channel;
    Ok(p)
}

/// `run --once`: one pass of the service at `now` on a loaded config, then stop.
pub async fn once(
    dir: &Path,
    config: Config,
    templates: Templates,
    now: DateTime<Tz>,
) -> anyhow::Result<(deliver::Pass, PathBuf)> {
    let state = deliver::state_dir(dir, &config);
    let mut store = Store::open_writer(&state.join(DB_FILE))?;
    let senders = Senders::new(&config, &state)?;
    let engine = Engine::build(&config, now.date_naive());
    let mut live = Live {
        config,
        templates,
        senders,
        engine,
        jobs: Vec::new(),
    };
    let pass = try_pass(&mut live, &mut store, &Health::default(), now).await?;
    Ok((pass, state))
}

fn status_line(store: &Store, next: Option<DateTime<chrono_tz::Tz>>, health: &Health) -> String {
    let (reload_failed, paused) = health
        .status
        .lock()
        .map(|s| {
            (
                !s.last_reload_ok && s.last_reload.is_some(),
                s.sending_paused_until,
            )
        })
        .unwrap_or((false, None));
    let counts = store.counts().unwrap_or_default();
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    let waiting = count("pending") + count("retrying");
    let tz = next.map(|n| n.timezone());
    let next = next.map_or_else(
        || "không rõ".to_string(),
        |t| t.format("%H:%M %d/%m").to_string(),
    );
    let mut line = format!(
        "{waiting} chờ gửi, {} thất bại, lần kiểm tra tiếp theo {next}",
        count("dead")
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

/// Runs the service until SIGTERM or SIGINT.
pub async fn run(dir: &Path) -> anyhow::Result<()> {
    // Signals are registered before READY=1, so a reload or stop right after start is seen.
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let (analysis, templates) = load(dir).map_err(|e| anyhow::anyhow!("cấu hình có lỗi: {e}"))?;
    let config = analysis.config;
    let state: PathBuf = deliver::state_dir(dir, &config);
    let mut store = Store::open_writer(&state.join(DB_FILE))?;
    let senders = Senders::new(&config, &state)?;
    let engine = Engine::build(
        &config,
        Utc::now().with_timezone(&config.timezone).date_naive(),
    );
    let (tx, mut rx) = mpsc::channel::<Event>(4);
    let sched = JobScheduler::new()
        .await
        .context("starting the scheduler")?;
    let jobs = add_jobs(&sched, &config, &tx).await?;
    let mut live = Live {
        config,
        templates,
        senders,
        engine,
        jobs,
    };
    sched.start().await.context("starting the scheduler")?;
    let _watcher = watch(dir, tx.clone())?;
    let health = Health::default();
    // The HTTP listener, when configured: bound before READY so probes work at once.
    let _http = match live.config.http_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            tracing::info!(%addr, "health and metrics listening");
            Some(tokio::spawn(crate::health::serve(listener, health.clone())))
        }
        None => None,
    };
    tracing::info!(config = %dir.display(), state = %state.display(), reminders = %live.config.reminders, report = %live.config.report, "nhacviec starting");
    // Catch up at once: whatever was missed while down goes out now.
    pass(&mut live, &mut store, &health).await;
    idle(&store);
    let next_tick = |live: &Live| {
        config::parse_cron(&live.config.reminders)
            .ok()
            .and_then(|c| {
                c.find_next_occurrence(&Utc::now().with_timezone(&live.config.timezone), false)
                    .ok()
            })
    };
    let next = next_tick(&live);
    health.update(|s| s.next_tick = next.map(|t| t.with_timezone(&Utc)));
    let status = status_line(&store, next, &health);
    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
    let watchdog = sd_notify::watchdog_enabled();
    let mut watchdog_timer =
        tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |d| d / 2));
    let mut poll = tokio::time::interval(RETRY_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen_version = store.data_version().ok();
    loop {
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
            Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or_default(),
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
        let mut pinged = false;
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::Tick) => pass(&mut live, &mut store, &health).await,
                Some(Event::ConfigChanged) => reload(dir, &mut live, &sched, &tx, &health, "file change").await,
                None => break,
            },
            _ = hup.recv() => reload(dir, &mut live, &sched, &tx, &health, "SIGHUP").await,
            _ = term.recv() => {
                tracing::info!("SIGTERM: stopping");
                break;
            }
            _ = int.recv() => {
                tracing::info!("SIGINT: stopping");
                break;
            }
            _ = poll.tick() => {
                // Another process committed (a `retry`): look at the outbox again at once.
                let version = store.data_version().ok();
                pinged = true;
                if version == seen_version {
                    continue;
                }
                seen_version = version;
            }
            _ = tokio::time::sleep(retry_in) => {
                let now = Utc::now().with_timezone(&live.config.timezone);
                let opens = live.engine.next_open(&live.config, now);
                if deferred.is_some_and(|d| d <= Utc::now()) || opens > now {
                    // The pass deferred by the send hours (or a retry woken too early).
                    pass(&mut live, &mut store, &health).await;
                } else { match deliver::send_ready(&store, &live.senders, &live.config, Utc::now()).await {
                    Ok(sent) => {
                        count_sends(&health, &sent);
                        health.update(|s| s.store_error = None);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "retrying deliveries failed; pausing sends for a minute");
                        health.update(|s| s.store_error = Some(e.to_string()));
                    }
                } }
                update_counts(&store, &health);
            }
            _ = watchdog_timer.tick(), if watchdog.is_some() => {
                // Pinged from the loop itself: a stuck loop stops the pings and systemd restarts us.
                notify(&[NotifyState::Watchdog]);
                pinged = true;
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
    notify(&[NotifyState::Stopping]);
    let mut sched = sched;
    let _ = sched.shutdown().await;
    // Deliveries not yet attempted stay pending in the database for the next start.
    drop(store);
    tracing::info!("stopped");
    Ok(())
}

async fn reload(
    dir: &Path,
    live: &mut Live,
    sched: &JobScheduler,
    tx: &mpsc::Sender<Event>,
    health: &Health,
    why: &str,
) {
    let mono = sd_notify::NotifyState::monotonic_usec_now().ok();
    let mut states = vec![NotifyState::Reloading];
    if let Some(m) = mono {
        states.push(m);
    }
    notify(&states);
    match load(dir) {
        Err(e) => {
            tracing::error!(trigger = why, errors = %e, "config reload failed; keeping the running config");
            reload_result(health, Err(e));
        }
        Ok((analysis, templates)) => {
            let new = analysis.config;
            let state = deliver::state_dir(dir, &new);
            match Senders::new(&new, &state) {
                Err(e) => {
                    tracing::error!(trigger = why, error = %e, "config reload failed; keeping the running config");
                    reload_result(health, Err(e.to_string()));
                }
                Ok(senders) => {
                    let summary = summary(&live.config, &new);
                    if new.reminders != live.config.reminders
                        || new.report != live.config.report
                        || new.timezone != live.config.timezone
                    {
                        for id in live.jobs.drain(..) {
                            let _ = sched.remove(&id).await;
                        }
                        match add_jobs(sched, &new, tx).await {
                            Ok(ids) => live.jobs = ids,
                            Err(e) => {
                                tracing::error!(error = %e, "could not schedule the new cron")
                            }
                        }
                    }
                    live.engine =
                        Engine::build(&new, Utc::now().with_timezone(&new.timezone).date_naive());
                    live.config = new;
                    live.templates = templates;
                    live.senders = senders;
                    reload_result(health, Ok(()));
                    tracing::info!(trigger = why, changes = %summary, "config reloaded");
                    // New or moved deadlines may be due already.
                    let _ = tx.try_send(Event::Tick);
                }
            }
        }
    }
    notify(&[NotifyState::Ready]);
}

fn reload_result(health: &Health, result: Result<(), String>) {
    let label = ResultLabel {
        result: if result.is_ok() { "ok" } else { "error" }.into(),
    };
    health.metrics.reloads.get_or_create(&label).inc();
    health.update(|s| {
        s.last_reload_ok = result.is_ok();
        s.last_reload = Some(match result {
            Ok(()) => format!("ok {}", Utc::now().to_rfc3339()),
            Err(e) => e,
        });
    });
}
