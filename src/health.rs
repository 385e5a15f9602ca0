//! The optional HTTP listener (`[http] listen`, loopback only): `/healthz` for probes and
//! `/metrics` in Prometheus text format. The service loop updates [`Health`]; the handlers
//! only read it.

use crate::http::{Limited, Server};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

/// Why the pages refused a request (`web::guard::Reason::label`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

/// Counters and gauges, registered once.
pub struct Metrics {
    pub registry: Registry,
    pub sent: Family<ChannelLabel, Counter>,
    pub failed: Family<ChannelLabel, Counter>,
    pub pending: Gauge,
    pub dead: Gauge,
    pub tick_seconds: Histogram,
    pub last_tick: Gauge<f64, AtomicU64>,
    pub reloads: Family<ResultLabel, Counter>,
    pub template_fallbacks: Counter,
    /// 1 while the mail server refuses every message (login, certificate, sender).
    pub email_refused: Gauge,
    /// Requests the agencies' pages and the dashboard refused, by reason (invalid, expired,
    /// rate_limited, …): counted rather than logged one by one.
    pub web_rejected: Family<ReasonLabel, Counter>,
    /// 1 while this instance leads (evaluates, records, sends), 0 while it stands by (issue
    /// 28; always 1 with SQLite).
    pub leader: Gauge,
    /// How many times this instance took the lead from standby (a start as leader is not one).
    pub takeovers: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nhacviec");
        let sent = Family::<ChannelLabel, Counter>::default();
        let failed = Family::<ChannelLabel, Counter>::default();
        let pending = Gauge::default();
        let dead = Gauge::default();
        let tick_seconds = Histogram::new([0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0]);
        let last_tick = Gauge::<f64, AtomicU64>::default();
        let reloads = Family::<ResultLabel, Counter>::default();
        let template_fallbacks = Counter::default();
        let email_refused = Gauge::default();
        let web_rejected = Family::<ReasonLabel, Counter>::default();
        let leader = Gauge::default();
        let takeovers = Counter::default();
        registry.register(
            "leader",
            "1 while this instance leads (evaluates, records and sends), 0 while it stands by; 1 with SQLite",
            leader.clone(),
        );
        registry.register(
            "takeovers",
            "Times this instance took the lead from standby (another's session ended)",
            takeovers.clone(),
        );
        registry.register(
            "web_rejected",
            "Requests the agencies' pages and the dashboard refused, by reason",
            web_rejected.clone(),
        );
        registry.register(
            "email_server_refusing",
            "1 while the mail server refuses every message (login, certificate, sender); mail waits",
            email_refused.clone(),
        );
        registry.register(
            "template_fallbacks",
            "Digests sent with the shipped templates because the configured ones failed on them",
            template_fallbacks.clone(),
        );
        registry.register(
            "reminders_sent",
            "Digests delivered, by channel",
            sent.clone(),
        );
        registry.register(
            "deliveries_failed",
            "Delivery attempts that failed, by channel",
            failed.clone(),
        );
        registry.register(
            "deliveries_pending",
            "Deliveries waiting to be sent or retried",
            pending.clone(),
        );
        registry.register(
            "deliveries_dead",
            "Deliveries that failed permanently",
            dead.clone(),
        );
        registry.register(
            "tick_duration_seconds",
            "Time to evaluate, record and send one tick",
            tick_seconds.clone(),
        );
        registry.register(
            "last_successful_tick_timestamp_seconds",
            "Unix time of the last tick that completed",
            last_tick.clone(),
        );
        registry.register(
            "config_reloads",
            "Config reloads, by result",
            reloads.clone(),
        );
        Metrics {
            registry,
            sent,
            failed,
            pending,
            dead,
            tick_seconds,
            last_tick,
            reloads,
            template_fallbacks,
            email_refused,
            web_rejected,
            leader,
            takeovers,
        }
    }
}

/// What `/healthz` reports.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Status {
    pub last_tick: Option<DateTime<Utc>>,
    /// When the next scheduled tick is expected: a last tick older than the one before it
    /// (plus a grace period) means the service is stuck.
    pub next_tick: Option<DateTime<Utc>>,
    pub last_reload: Option<String>,
    pub last_reload_ok: bool,
    pub pending: i64,
    pub dead: i64,
    /// Set while the store cannot be used (disk full, read-only...).
    pub store_error: Option<String>,
    /// The latest error of the admins' templates on a real digest (that digest went out with
    /// the shipped templates), with when it happened.
    pub last_template_error: Option<String>,
    /// Set while deliveries wait for the send hours: when they open.
    pub sending_paused_until: Option<DateTime<Utc>>,
    /// Set while the mail server refuses every message: since when, and its reply. Mail
    /// waits (nothing is given up); the service stays healthy, the admin must act.
    pub email_refused: Option<serde_json::Value>,
    /// With `[web]`: whether reminders carry links and the agencies' pages run (false
    /// without the link secret); `None` without `[web]`.
    pub web_links: Option<bool>,
    /// Why `web_links` is false (Vietnamese, for the admin).
    pub web_links_off: Option<String>,
    /// Whether this instance sends ("leader") or stands by ("standby", another instance on
    /// the same PostgreSQL database sends); "leader" with SQLite.
    pub role: crate::lead::Role,
    /// Set while the database holding the leader's lock cannot be reached (Vietnamese, the
    /// address without its password): this instance sends nothing meanwhile.
    pub lead_error: Option<String>,
}

/// Shared between the service loop and the HTTP handlers.
#[derive(Clone, Default)]
pub struct Health {
    pub status: Arc<Mutex<Status>>,
    pub metrics: Arc<Metrics>,
    /// The service's clock: the status's times are on it (`run --now` shifts it).
    pub clock: crate::clock::Clock,
}

impl Health {
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    fn snapshot(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Healthy: the store works, the leader's lock can be checked, and a leader's last tick
    /// is not older than the tick that should have followed it, with a grace period (a
    /// standby makes no tick: it is healthy while it can take over).
    pub fn healthy(&self, now: DateTime<Utc>) -> bool {
        let s = self.snapshot();
        let overdue = s.role == crate::lead::Role::Leader
            && match (s.last_tick, s.next_tick) {
                (Some(_), Some(next)) => now > next + chrono::Duration::minutes(5),
                (None, _) => true,
                _ => false,
            };
        s.store_error.is_none() && s.lead_error.is_none() && !overdue
    }
}

async fn healthz(State(h): State<Health>) -> impl IntoResponse {
    let ok = h.healthy(h.clock.now());
    let body = serde_json::to_string_pretty(&serde_json::json!({
        "ok": ok,
        "status": h.snapshot(),
    }))
    .unwrap_or_default();
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, [(header::CONTENT_TYPE, "application/json")], body)
}

async fn metrics(State(h): State<Health>) -> impl IntoResponse {
    let mut out = String::new();
    match prometheus_client::encoding::text::encode(&mut out, &h.metrics.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            out,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            String::new(),
        ),
    }
}

/// At most this many connections are served at once; more wait in the kernel's backlog (they
/// hold no file descriptor of ours), so idle clients cannot exhaust the service's descriptors.
pub const MAX_CONNECTIONS: usize = 64;
/// A connection that neither sends nor takes a byte for this long is closed: a request's
/// headers must arrive within it, and an idle keep-alive connection ends after it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `/healthz` and `/metrics` on `listener` until `stop`, with [`MAX_CONNECTIONS`],
/// [`IDLE_TIMEOUT`] and the kit's request age and header-read limits (`http`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Health,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_limited(
        listener,
        health,
        MAX_CONNECTIONS,
        IDLE_TIMEOUT,
        crate::http::MAX_CONNECTION_AGE,
        stop,
    )
    .await
}

async fn serve_limited(
    listener: tokio::net::TcpListener,
    health: Health,
    max: usize,
    idle: Duration,
    age: Duration,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(health);
    let listener = Limited::aged(listener, max, idle, age);
    crate::http::serve_app(listener, app, |addr| addr, stop).await;
    Ok(())
}

/// `/healthz` and `/metrics` on a thread and runtime of their own, so that they answer whatever
/// the service loop is doing (a long tick, a reload), on `listener` (already bound, so a busy
/// address fails the start). Stops when dropped.
pub fn start(listener: std::net::TcpListener, health: Health) -> std::io::Result<Server> {
    Server::spawn("nhacviec-http", listener, move |l, stop| {
        serve(l, health, stop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::MAX_CONNECTION_AGE;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[test]
    fn a_standby_is_healthy_without_ticks_and_a_lock_that_cannot_be_checked_is_not() {
        let now = Utc::now();
        let health = Health::default();
        assert!(!health.healthy(now), "a leader that never ticked is not");
        health.update(|s| s.role = crate::lead::Role::Standby);
        assert!(health.healthy(now), "a standby makes no tick");
        let json = serde_json::to_value(health.snapshot()).unwrap();
        assert_eq!(json["role"], "standby");
        assert_eq!(json["lead_error"], serde_json::Value::Null);
        health.update(|s| s.lead_error = Some("không kết nối được".into()));
        assert!(!health.healthy(now), "the database unreachable is said");
        health.update(|s| {
            s.lead_error = None;
            s.role = crate::lead::Role::Leader;
            s.last_tick = Some(now);
            s.next_tick = Some(now + chrono::Duration::hours(1));
        });
        assert!(health.healthy(now));
        assert_eq!(
            serde_json::to_value(health.snapshot()).unwrap()["role"],
            "leader"
        );
    }

    #[tokio::test]
    async fn idle_connections_are_limited_and_closed_after_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let idle = Duration::from_millis(400);
        tokio::spawn(serve_limited(
            listener,
            Health::default(),
            2,
            idle,
            MAX_CONNECTION_AGE,
            std::future::pending(),
        ));
        // Two idle connections (no request) take every slot.
        let mut a = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _b = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = tokio::time::Instant::now();
        // A probe waits for a slot, and gets one once the idle ones are closed.
        let answer = tokio::time::timeout(Duration::from_secs(5), get(addr))
            .await
            .expect("the probe is answered once idle connections time out");
        assert!(
            answer.starts_with("HTTP/1.0 503") || answer.starts_with("HTTP/1.1 503"),
            "{answer}"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        // The idle connection was closed by the server.
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(2), a.read(&mut buf))
            .await
            .expect("closed by the server")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }

    /// One request's bytes on a kept-alive connection, and its answer read whole.
    async fn ask(s: &mut tokio::net::TcpStream) -> String {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&out);
            if let Some(head) = text.find("\r\n\r\n") {
                let len: usize = text[..head]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if out.len() >= head + 4 + len {
                    return text.into_owned();
                }
            }
        }
    }

    /// The age limit is per request: a kept-alive client asking again and again outlives it
    /// (a browser, the benchmark), a client trickling one request does not (slowloris).
    #[tokio::test]
    async fn the_age_limit_bounds_a_request_not_a_kept_alive_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Generous against a loaded machine: a request answered within the idle time, a
        // trickle that outlives the age limit several times over.
        let (idle, age) = (Duration::from_millis(1000), Duration::from_millis(1500));
        tokio::spawn(serve_limited(
            listener,
            Health::default(),
            4,
            idle,
            age,
            std::future::pending(),
        ));
        let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = tokio::time::Instant::now();
        let mut answers = 0;
        while started.elapsed() < age * 3 {
            assert!(ask(&mut kept).await.contains("HTTP/1.1"), "answered");
            answers += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(answers >= 10, "{answers}");
        // One request trickled a byte every 200 ms: cut by the age limit.
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = tokio::time::Instant::now();
        let mut cut = false;
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).await.is_err() {
                cut = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if started.elapsed() > age * 4 {
                break;
            }
        }
        let mut buf = [0u8; 16];
        let closed = matches!(
            tokio::time::timeout(Duration::from_secs(1), slow.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        );
        assert!(cut || closed, "the trickling request was not cut");
        assert!(started.elapsed() < age * 5, "{:?}", started.elapsed());
    }
}
