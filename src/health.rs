//! The optional HTTP listener (`[http] listen`, loopback only): `/healthz` for probes and
//! `/metrics` in Prometheus text format. The service loop updates [`Health`]; the handlers
//! only read it.

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
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
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
}

/// Shared between the service loop and the HTTP handlers.
#[derive(Clone, Default)]
pub struct Health {
    pub status: Arc<Mutex<Status>>,
    pub metrics: Arc<Metrics>,
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

    /// Healthy: the store works and the last tick is not older than the tick that should
    /// have followed it, with a grace period.
    pub fn healthy(&self, now: DateTime<Utc>) -> bool {
        let s = self.snapshot();
        let overdue = match (s.last_tick, s.next_tick) {
            (Some(_), Some(next)) => now > next + chrono::Duration::minutes(5),
            (None, _) => true,
            _ => false,
        };
        s.store_error.is_none() && !overdue
    }
}

async fn healthz(State(h): State<Health>) -> impl IntoResponse {
    let ok = h.healthy(Utc::now());
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

/// Serves `/healthz` and `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, health: Health) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(health);
    axum::serve(listener, app).await
}
