//! The agencies' pages (`[web]`): `GET /a/{token}` shows an agency its tasks; POST forms record
//! "đã hoàn thành", progress, an extension request, or withdraw its last answer. Edge: reads
//! the store (connections of its own, beside the service's, used off the request thread:
//! [`Web::run`]), the clock and the network; what a
//! page shows is `answers::agency_view`, what an answer does is the schedule's business at the
//! next pass (the service notices the store's answers changed and rebuilds).
//!
//! No accounts: the signed link is the credential. Every form carries a CSRF token bound to the
//! link and a one-time nonce (a form posted twice is stored once). A bad, tampered or unknown
//! token gets the same 404 as a missing page; an expired one says how to get a fresh link.

mod dashboard;
mod error;
mod extract;
mod forms;
pub mod guard;
mod monitor;
mod page;
mod review;
mod timeline;
mod upload;

use crate::answers::{self, Response};
use crate::clock::Clock;
use crate::config::Config;
use crate::links::{self, Signer};
use crate::store::{Answers, Store};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
pub use error::WebError;
use extract::{AgencyLink, FeedLink};
use guard::Reason;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Request bodies above this are refused (a form is a few hundred bytes; notes are capped at
/// [`page::MAX_TEXT`] characters).
pub const MAX_BODY: usize = 32 * 1024;
pub use guard::RATE_PER_MINUTE;
const MAX_CONNECTIONS: usize = 256;
/// Connections to the database the pages hold at most (opened as requests need them): a
/// workbook's reads on one never hold up an agency's page on another.
const MAX_STORES: usize = 4;

/// What the pages need: the config (replaced on reload), the store, the signer, the clock.
#[derive(Clone)]
pub struct Web {
    inner: Arc<Inner>,
}

struct Inner {
    config: RwLock<Arc<Config>>,
    stores: Stores,
    signer: Signer,
    /// The system clock, a fixed time (`nhacviec web --now`) or the service's shifted clock
    /// (`nhacviec run --now`).
    clock: Clock,
    /// The limits' clock: monotonic, advancing under `--now` too.
    started: std::time::Instant,
    guards: Mutex<Guards>,
    /// The config with every answer laid over it, shared by the pages until an answer is
    /// recorded (the store's answers version changes) or the config is reloaded: one per
    /// config asked for (the settings' and the offices' scoped ones), the latest first.
    overlaid: Mutex<Vec<Arc<Overlaid>>>,
    /// The configs of the offices' scoped dashboard links, made once per config loaded.
    scoped: Mutex<Scoped>,
    /// The dashboard's figures, per config, plan, date and what the store held.
    figures: Mutex<Vec<(monitor::FiguresKey, Arc<crate::overview::Overview>)>>,
    /// `nhacviec_web_rejected_total{reason}` (registered with `/metrics` by the service).
    rejected: Family<crate::health::ReasonLabel, Counter>,
}

/// The answered config of one config and answers version, and the agencies' cards made on it.
struct Overlaid {
    /// The config it was laid over (held, so its address names it while cached).
    config: Arc<Config>,
    version: String,
    answered: Arc<Config>,
    cards: Mutex<Cards>,
    /// The files attached to answers (each recorded with its answer: a new one is a new
    /// version), read once.
    evidence: std::sync::OnceLock<Arc<Evidence>>,
    /// Agencies' pages rendered, each request only filling in its own values.
    pages: Mutex<Pages>,
}

/// Bytes of rendered pages kept per answered config; past it they are dropped and made again.
const MAX_PAGE_BYTES: usize = 16 << 20;

/// Pages by agency, day, view (the monitoring office's read-only one or the agency's) and query.
#[derive(Default)]
struct Pages {
    by_key: std::collections::HashMap<(String, NaiveDate, bool, String), Arc<page::Marked>>,
    bytes: usize,
}

/// `p`'s page, from one rendered earlier for the same agency, day, view, query and answers
/// when there is one still standing; rendered and kept otherwise.
pub(crate) fn agency_page(shown: &Shown, p: &page::AgencyPage<'_>) -> String {
    let Some(asked) = p.query.kept_as() else {
        return page::agency(p);
    };
    let key = (p.agency.to_string(), p.today, p.read_only, asked);
    let kept = lock(&shown.kept.pages)
        .by_key
        .get(&key)
        .filter(|m| m.until.is_none_or(|t| p.now < t))
        .cloned();
    let marked = match kept {
        Some(m) => m,
        None => {
            let m = Arc::new(page::marked(p));
            let mut pages = lock(&shown.kept.pages);
            if pages.bytes + m.bytes() > MAX_PAGE_BYTES {
                *pages = Pages::default();
            }
            pages.bytes += m.bytes();
            if let Some(old) = pages.by_key.insert(key, m.clone()) {
                pages.bytes -= old.bytes();
            }
            m
        }
    };
    marked.fill(&page::Values::of(p))
}

type Evidence = std::collections::HashMap<i64, crate::evidence::Evidence>;

/// Configs overlaid kept at once: the settings' and a few offices' scoped ones.
const MAX_OVERLAID: usize = 4;
/// Cards kept across agencies (a department's page has 1,500, a district's a few hundred):
/// the pages asked for lately render from memory, older ones are made again.
const MAX_CARDS: usize = 20_000;

/// Agencies' cards of one answered config, per agency and day (a card's days count from
/// today), the oldest made first out once [`MAX_CARDS`] are held.
#[derive(Default)]
struct Cards {
    by_agency: std::collections::HashMap<(String, NaiveDate), Arc<Vec<answers::TaskView>>>,
    order: std::collections::VecDeque<(String, NaiveDate)>,
    held: usize,
}

impl Cards {
    fn get(&self, agency: &str, today: NaiveDate) -> Option<Arc<Vec<answers::TaskView>>> {
        self.by_agency.get(&(agency.to_string(), today)).cloned()
    }

    fn put(&mut self, agency: &str, today: NaiveDate, views: Arc<Vec<answers::TaskView>>) {
        let key = (agency.to_string(), today);
        self.held += views.len();
        if let Some(old) = self.by_agency.insert(key.clone(), views) {
            self.held -= old.len();
        } else {
            self.order.push_back(key);
        }
        // The newest stays even alone over the budget.
        while self.held > MAX_CARDS && self.order.len() > 1 {
            if let Some(k) = self.order.pop_front() {
                if let Some(v) = self.by_agency.remove(&k) {
                    self.held -= v.len();
                }
            }
        }
    }
}

/// The offices' scoped configs (`Config::monitored_by`) of one config.
#[derive(Default)]
struct Scoped {
    base: Option<Arc<Config>>,
    by_office: std::collections::HashMap<String, Arc<Config>>,
}

/// The pages' connections to the database, beside the service's writer: lent one per use, at
/// most [`MAX_STORES`] (a request past them waits for one to come back).
struct Stores {
    location: crate::store::Location,
    /// The first connection's clock, given to those opened after it.
    clock: Clock,
    pool: Mutex<Pool>,
    returned: std::sync::Condvar,
    /// Held while an answer is checked against the day's cap and recorded, so two answers
    /// posted at once cannot both pass the check.
    answering: Mutex<()>,
}

struct Pool {
    idle: Vec<Store>,
    open: usize,
}

/// A connection lent out; back to the pool when dropped (a panic included).
struct Lent<'a> {
    stores: &'a Stores,
    store: Option<Store>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            lock(&self.stores.pool).idle.push(store);
            self.stores.returned.notify_one();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Stores {
    fn new(store: Store) -> Stores {
        Stores {
            location: store.location(),
            clock: store.clock(),
            pool: Mutex::new(Pool {
                idle: vec![store],
                open: 1,
            }),
            returned: std::sync::Condvar::new(),
            answering: Mutex::new(()),
        }
    }

    /// An idle connection, a new one while under [`MAX_STORES`], else the next one returned.
    /// Blocks: called on the blocking pool only ([`Web::run`]).
    fn lend(&self) -> Lent<'_> {
        let mut pool = lock(&self.pool);
        loop {
            if let Some(store) = pool.idle.pop() {
                return Lent {
                    stores: self,
                    store: Some(store),
                };
            }
            if pool.open < MAX_STORES {
                pool.open += 1;
                drop(pool);
                match Store::open_side_at(&self.location).map(|s| s.with_clock(self.clock)) {
                    Ok(store) => {
                        return Lent {
                            stores: self,
                            store: Some(store),
                        }
                    }
                    // The ones open still serve (at least the first is never closed).
                    Err(e) => {
                        tracing::warn!(error = %e, "trang: không mở thêm được kết nối cơ sở dữ liệu");
                        pool = lock(&self.pool);
                        pool.open -= 1;
                    }
                }
            } else {
                pool = self
                    .returned
                    .wait(pool)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }
    }
}

#[derive(Default)]
struct Guards {
    rate: guard::RateLimiter,
    log: guard::RejectLog,
    keys: guard::KeyGuard,
}

impl Web {
    /// The pages on `store` (a connection beside the service's writer; up to [`MAX_STORES`]
    /// are opened to its path as requests need them).
    pub fn new(config: Arc<Config>, store: Store, signer: Signer, clock: impl Into<Clock>) -> Web {
        Web::counted(config, store, signer, clock, Family::default())
    }

    /// The pages, counting refused requests in `rejected` (the service's metrics).
    pub fn counted(
        config: Arc<Config>,
        store: Store,
        signer: Signer,
        clock: impl Into<Clock>,
        rejected: Family<crate::health::ReasonLabel, Counter>,
    ) -> Web {
        Web {
            inner: Arc::new(Inner {
                config: RwLock::new(config),
                stores: Stores::new(store),
                signer,
                clock: clock.into(),
                started: std::time::Instant::now(),
                guards: Mutex::new(Guards::default()),
                overlaid: Mutex::new(Vec::new()),
                scoped: Mutex::new(Scoped::default()),
                figures: Mutex::new(Vec::new()),
                rejected,
            }),
        }
    }

    /// A reloaded config: the next request sees it.
    pub fn set_config(&self, config: Arc<Config>) {
        if let Ok(mut c) = self.inner.config.write() {
            *c = config;
        }
        // What was made of the config replaced is never asked for again.
        lock(&self.inner.overlaid).clear();
        *lock(&self.inner.scoped) = Scoped::default();
        lock(&self.inner.figures).clear();
    }

    /// The plans `office` monitors of `config` (an office's dashboard link), made once per
    /// config: the same one each request, so what is kept for it is found again.
    pub(crate) fn scoped(&self, config: &Arc<Config>, office: &str) -> Arc<Config> {
        let mut scoped = lock(&self.inner.scoped);
        if !scoped.base.as_ref().is_some_and(|b| Arc::ptr_eq(b, config)) {
            *scoped = Scoped {
                base: Some(config.clone()),
                by_office: Default::default(),
            };
        }
        // A few offices' at once (each a copy of the config's agencies).
        if scoped.by_office.len() >= MAX_OVERLAID && !scoped.by_office.contains_key(office) {
            scoped.by_office.clear();
        }
        scoped
            .by_office
            .entry(office.to_string())
            .or_insert_with(|| Arc::new(config.monitored_by(office)))
            .clone()
    }

    fn config(&self) -> Arc<Config> {
        match self.inner.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Seconds of the limits' clock.
    fn secs(&self) -> u64 {
        self.inner.started.elapsed().as_secs()
    }

    fn guards<T>(&self, f: impl FnOnce(&mut Guards) -> T) -> T {
        match self.inner.guards.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Counts a request of the link; false once over the limit for this minute (counted in
    /// the metrics and the minute's summary, not logged one by one).
    fn allow(&self, log_id: &str) -> bool {
        let secs = self.secs();
        let allowed = self.guards(|g| g.rate.allow(log_id, secs));
        if !allowed {
            self.reject(Reason::RateLimited, log_id, None, "");
        }
        allowed
    }

    /// A refused request: counted by reason; logged in full only among the first few of the
    /// minute, the rest in one line a minute ([`Web::flush_log`]).
    fn reject(&self, reason: Reason, log_id: &str, agency: Option<&str>, message: &str) {
        self.inner
            .rejected
            .get_or_create(&crate::health::ReasonLabel {
                reason: reason.label().to_string(),
            })
            .inc();
        let secs = self.secs();
        let (full, ended) = self.guards(|g| g.log.note(reason, secs));
        if let Some(summary) = ended {
            log_summary(&summary);
        }
        if full {
            match reason {
                Reason::UnknownAgency => {
                    tracing::warn!(link = %log_id, agency = agency.unwrap_or(""), reason = reason.label(), "{message}")
                }
                _ => {
                    tracing::info!(link = %log_id, agency = agency.unwrap_or(""), reason = reason.label(), "{message}")
                }
            }
        }
    }

    /// The summary line of the minute that ended, if it had rejections not logged in full.
    pub fn flush_log(&self) {
        let secs = self.secs();
        if let Some(summary) = self.guards(|g| g.log.flush(secs)) {
            log_summary(&summary);
        }
    }

    /// `f` on a connection of the pool. Blocks: on the blocking pool only ([`Web::run`]).
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let lent = self.inner.stores.lend();
        match &lent.store {
            Some(store) => f(store),
            // Never: a `Lent` holds its store until dropped.
            None => unreachable!("a lent connection is held until dropped"),
        }
    }

    /// [`Web::with_store`] seen as the agencies' answers: what the pages and the office's
    /// decisions read and record.
    fn with_answers<T>(&self, f: impl FnOnce(&dyn Answers) -> T) -> T {
        self.with_store(|s| f(s))
    }

    /// [`Web::with_store`] while no other answer is being checked and recorded.
    fn answering<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let _one = lock(&self.inner.stores.answering);
        self.with_store(f)
    }

    /// Runs `f` (the store, figures, a workbook, a page's rendering) on the runtime's blocking
    /// pool: the thread that accepts and answers requests never waits for it, so a workbook
    /// being built does not hold up another agency's page.
    pub(crate) async fn run(
        &self,
        f: impl FnOnce(&Web) -> Result<HttpResponse, WebError> + Send + 'static,
    ) -> Result<HttpResponse, WebError> {
        let web = self.clone();
        match tokio::task::spawn_blocking(move || f(&web)).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!(error = %e, "trang: xử lý yêu cầu thất bại");
                Err(WebError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Tạm thời không xem được",
                    "Máy chủ gặp sự cố. Vui lòng thử lại sau ít phút.",
                ))
            }
        }
    }
}

/// The link secret: `NHACVIEC_LINK_SECRET` (or `$CREDENTIALS_DIRECTORY/link-secret`), and the
/// previous one during a rotation (`NHACVIEC_LINK_SECRET_PREVIOUS`, `link-secret-previous`).
pub fn signer_from_env(days: u32) -> anyhow::Result<Option<Signer>> {
    use crate::channels::secret::{LINK_SECRET, LINK_SECRET_PREVIOUS};
    let Some(current) = LINK_SECRET.read_checked().map_err(anyhow::Error::msg)? else {
        return Ok(None);
    };
    let current = links::Key::new(&current)
        .map_err(|e| anyhow::anyhow!("{} ({}): {e}", LINK_SECRET.env, LINK_SECRET.file))?;
    let previous = match LINK_SECRET_PREVIOUS.read() {
        Some(p) => Some(links::Key::new(&p).map_err(|e| {
            anyhow::anyhow!(
                "{} ({}): {e}",
                LINK_SECRET_PREVIOUS.env,
                LINK_SECRET_PREVIOUS.file
            )
        })?),
        None => None,
    };
    Ok(Some(Signer {
        current,
        previous,
        days,
    }))
}

/// The signer for digests' links: only when `[web]` is configured (else `None`, and a link
/// secret alone does nothing).
pub fn links_for(config: &Config) -> anyhow::Result<Option<Signer>> {
    match &config.web {
        Some(w) => signer_from_env(w.link_days),
        None => Ok(None),
    }
}

fn log_summary(summary: &guard::Summary) {
    tracing::warn!(
        event = "web_rejected",
        total = summary.total(),
        unlogged = summary.unlogged(),
        invalid = summary.count(Reason::Invalid),
        expired = summary.count(Reason::Expired),
        unknown_agency = summary.count(Reason::UnknownAgency),
        rate_limited = summary.count(Reason::RateLimited),
        dashboard_key = summary.count(Reason::DashboardKey),
        dashboard_blocked = summary.count(Reason::DashboardBlocked),
        "trang: {} yêu cầu bị từ chối trong phút qua (liên kết hoặc khóa sai, hết hạn, quá nhiều yêu cầu), {} yêu cầu không ghi chi tiết; nhiều bất thường là dấu hiệu có người dò liên kết",
        summary.total(),
        summary.unlogged()
    );
}

/// A form's route: its POST, another method the same 404 as an unknown page.
fn answer_route(route: axum::routing::MethodRouter<Web>) -> axum::routing::MethodRouter<Web> {
    route.fallback(not_found)
}

pub fn router(web: Web) -> Router {
    use axum::routing::post;
    // The agencies' forms' bodies are bounded by `forms` itself (`upload::read_form`: a
    // multipart body up to `[web] max_upload_mb`), not by axum's default 2 MB. Another method
    // on these paths is the same 404 as an unknown page (GET was before; PUT or DELETE got
    // 405 before), so a path says nothing about which actions exist.
    let form = |answer| answer_route(answer).layer(axum::extract::DefaultBodyLimit::disable());
    Router::new()
        .route(links::paths::AGENCY, get(show))
        .route(links::paths::FEED, get(calendar_feed).fallback(not_found))
        .route(links::paths::DONE, form(post(forms::done)))
        .route(links::paths::PROGRESS, form(post(forms::progress)))
        .route(links::paths::EXTEND, form(post(forms::extend)))
        .route(links::paths::UNDO, form(post(forms::undo)))
        .route(links::paths::AGENCY_FILE, get(upload::agency_download))
        .route(links::paths::MONITOR, get(monitor::show))
        .route(links::paths::WORKBOOK, get(monitor::workbook))
        .route(links::paths::REPORT, get(monitor::report))
        .route(links::paths::MONITOR_FILE, get(monitor::evidence))
        .route(links::paths::CONFIRM, post(review::confirm))
        .route(links::paths::RETURN, post(review::send_back))
        .route(links::paths::MONITOR_AGENCY, get(review::agency))
        .route(links::paths::GRANT, post(monitor::grant))
        .route(links::paths::REFUSE, post(monitor::refuse_request))
        .route("/style.css", get(style))
        .fallback(not_found)
        .with_state(web)
}

/// Serves the pages on `listener` until `stop`, then lets the requests in flight finish for
/// up to `http::DRAIN`; writes the minute's summary of refused requests each minute.
pub async fn serve(
    listener: tokio::net::TcpListener,
    web: Web,
    stop: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let listener = crate::http::Limited::new(listener, MAX_CONNECTIONS, Duration::from_secs(30));
    let summaries = {
        let web = web.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                web.flush_log();
            }
        })
    };
    crate::http::serve_app(listener, router(web.clone()), Peer, stop).await;
    summaries.abort();
    if let Some(summary) = web.guards(|g| g.log.finish()) {
        log_summary(&summary);
    }
    Ok(())
}

/// The peer's address, as axum's connection info.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// The pages on a thread and runtime of their own (like `/healthz`). Stops when dropped.
pub type Server = crate::http::Server;

/// Starts serving the pages on `listener` (already bound).
pub fn start(listener: std::net::TcpListener, web: Web) -> std::io::Result<Server> {
    crate::http::Server::spawn("nhacviec-web", listener, move |l, stop| serve(l, web, stop))
}

/// Serves the pages of `config` (which has `[web]`) on its `listen` address, with a
/// connection of their own to the database at `db` (beside the service's writer).
pub fn launch(
    config: Arc<Config>,
    db: impl Into<crate::store::Location>,
    signer: Signer,
    clock: impl Into<Clock>,
) -> anyhow::Result<(Web, Server)> {
    launch_counted(config, db, signer, clock, Family::default())
}

/// [`launch`], counting refused requests in the service's metrics.
pub fn launch_counted(
    config: Arc<Config>,
    db: impl Into<crate::store::Location>,
    signer: Signer,
    clock: impl Into<Clock>,
    rejected: Family<crate::health::ReasonLabel, Counter>,
) -> anyhow::Result<(Web, Server)> {
    use anyhow::Context as _;
    let listen = config
        .web
        .as_ref()
        .map(|w| w.listen)
        .ok_or_else(|| anyhow::anyhow!("nhacviec.toml chưa có [web]"))?;
    // The pages' fixed time (`web --now`) is what they show; the decisions' messages they
    // queue are stamped on the system clock, as a service reading them later expects. A
    // service's shifted clock stamps them on its own.
    let clock: Clock = clock.into();
    let stamps = match clock {
        Clock::Fixed(_) => Clock::System,
        other => other,
    };
    let store = Store::open_side_at(&db.into())?.with_clock(stamps);
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("không nghe được trên {listen} ([web] listen)"))?;
    let web = Web::counted(config, store, signer, clock, rejected);
    let server = start(listener, web.clone())
        .with_context(|| format!("không phục vụ được trên {listen} ([web] listen)"))?;
    Ok((web, server))
}

/// Headers on every page: no scripts at all, styles from this site only, not framed, not
/// cached (a page holds a credential in its URL and forms).
fn secure(mut resp: HttpResponse) -> HttpResponse {
    let h = resp.headers_mut();
    let pairs = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (k, v) in pairs {
        h.insert(k, HeaderValue::from_static(v));
    }
    resp
}

pub(crate) fn html(status: StatusCode, body: String) -> HttpResponse {
    secure(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
    )
}

async fn style() -> HttpResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        page::STYLE,
    )
        .into_response()
}

async fn not_found() -> WebError {
    WebError::not_found()
}

/// Today in the config's timezone.
pub(crate) fn today(config: &Config, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&config.timezone).date_naive()
}

/// The config with the store's answers over it, and the agency's responses.
///
/// The overlay (a copy of the whole config) is made once per config and answers version and
/// shared by every page until an answer is recorded or the config reloaded; each request reads
/// only the version and the agency's own answers, in one snapshot.
pub(crate) fn answered(
    web: &Web,
    config: &Arc<Config>,
    agency: &str,
) -> Result<(Arc<Config>, Vec<Response>), WebError> {
    let (o, mine) = overlaid(web, config, agency)?;
    Ok((o.answered.clone(), mine))
}

/// What an agency's page shows: the answered config, the agency's cards as of `today` and its
/// responses. The cards are made once per config, answers version, agency and day, and kept
/// (up to [`MAX_CARDS`] across agencies): a page asked for again only renders.
pub(crate) struct Shown {
    pub answered: Arc<Config>,
    pub views: Arc<Vec<answers::TaskView>>,
    pub responses: Vec<Response>,
    pub evidence: Arc<Evidence>,
    /// What the pages keep for this config and answers version.
    kept: Arc<Overlaid>,
}

pub(crate) fn shown(
    web: &Web,
    config: &Arc<Config>,
    agency: &str,
    today: NaiveDate,
) -> Result<Shown, WebError> {
    let (o, responses) = overlaid(web, config, agency)?;
    // The responses were read in the snapshot that named `o`'s version: the cards made of
    // them are that version's.
    let kept = lock(&o.cards).get(agency, today);
    let views = match kept {
        Some(v) => v,
        None => {
            let v = Arc::new(answers::agency_view(&o.answered, agency, today, &responses));
            lock(&o.cards).put(agency, today, v.clone());
            v
        }
    };
    let evidence = match o.evidence.get() {
        Some(e) => e.clone(),
        None => match web.with_store(|s| s.evidence()) {
            Ok(e) => o.evidence.get_or_init(|| Arc::new(e)).clone(),
            // Shown without the files' links this once, read again next time.
            Err(e) => {
                tracing::error!(error = %e, "web: evidence read failed");
                Arc::default()
            }
        },
    };
    Ok(Shown {
        answered: o.answered.clone(),
        views,
        responses,
        evidence,
        kept: o,
    })
}

fn overlaid(
    web: &Web,
    config: &Arc<Config>,
    agency: &str,
) -> Result<(Arc<Overlaid>, Vec<Response>), WebError> {
    let cached = lock(&web.inner.overlaid)
        .iter()
        .find(|o| Arc::ptr_eq(&o.config, config))
        .cloned();
    let failed = |e: crate::store::StoreError| {
        error::store_failed(
            &e,
            "trang: không đọc được cơ sở dữ liệu",
            "Tạm thời không xem được",
            "Máy chủ đang bận hoặc gặp sự cố lưu trữ. Vui lòng thử lại sau ít phút; nếu vẫn lỗi, liên hệ cơ quan theo dõi.",
        )
    };
    let read = web
        .with_answers(|s| s.page_answers(agency, cached.as_ref().map(|o| o.version.as_str())))
        .map_err(failed)?;
    let o = match (read.overlay, cached) {
        (None, Some(o)) => o,
        (overlay, _) => {
            // Without a version known the store always reads the overlay's answers; were it
            // not so, they are read here rather than a page shown without them.
            let (all, ext) = match overlay {
                Some(x) => x,
                None => web
                    .with_answers(|s| s.shown_answers(None, None))
                    .map_err(failed)?,
            };
            let o = Arc::new(Overlaid {
                config: config.clone(),
                version: read.version,
                answered: Arc::new(answers::overlaid(config, &all, &ext)),
                cards: Mutex::new(Cards::default()),
                evidence: std::sync::OnceLock::new(),
                pages: Mutex::new(Pages::default()),
            });
            let mut kept = lock(&web.inner.overlaid);
            kept.retain(|k| !Arc::ptr_eq(&k.config, config));
            kept.insert(0, o.clone());
            kept.truncate(MAX_OVERLAID);
            o
        }
    };
    Ok((o, read.mine))
}

/// `GET /a/{token}`: the agency's page.
async fn show(
    State(web): State<Web>,
    agency: AgencyLink,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<HttpResponse, WebError> {
    let now = web.now();
    web.run(move |web| {
        let AgencyLink {
            token,
            link,
            config,
        } = agency;
        let today = today(&config, now);
        let mut shown = shown(web, &config, &link.agency, today)?;
        let query = page::PageQuery::parse(uri.query());
        // The answer the notice names, when a later one of its occurrence took its place.
        if let Some(id) = query
            .recorded
            .filter(|id| !shown.responses.iter().any(|r| r.id == *id))
        {
            if let Ok(Some(r)) = web.with_answers(|s| s.response(id)) {
                if r.agency == link.agency {
                    shown.responses.push(r);
                }
            }
        }
        let base = links::Url::Agency(&token).path();
        Ok(html(
            StatusCode::OK,
            agency_page(
                &shown,
                &page::AgencyPage {
                    config: &shown.answered,
                    signer: &web.inner.signer,
                    link: &link,
                    agency: &link.agency,
                    files: base.clone(),
                    base,
                    // The feed's own read-only token: a calendar provider holding it cannot answer.
                    feed: Some(
                        links::Url::Feed(&web.inner.signer.sign_feed(&link.agency, now)).path(),
                    ),
                    today,
                    now,
                    views: &shown.views,
                    responses: &shown.responses,
                    evidence: &shown.evidence,
                    query: &query,
                    who: forms::remembered(&headers),
                    read_only: false,
                },
            ),
        ))
    })
    .await
}

/// `GET /a/{feed token}/lich.ics`: the agency's deadlines as an iCalendar feed. Only a feed's
/// token opens it (`links::Signer::verify_feed`, [`links::FEED_DAYS`]); an answer link is the
/// same 404 as a forged one, so the URL in a calendar is never one that answers.
async fn calendar_feed(State(web): State<Web>, feed: FeedLink) -> Result<HttpResponse, WebError> {
    let now = web.now();
    web.run(move |web| {
        let (answered, _) = answered(web, &feed.config, &feed.agency)?;
        let body = crate::ics::feed(&answered, &feed.agency, today(&feed.config, now), now);
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/calendar; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("inline; filename=\"lich.ics\""),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            body,
        )
            .into_response())
    })
    .await
}

/// The client's address: the peer, or what a trusted reverse proxy says it forwarded for.
pub(crate) fn client(config: &Config, peer: Peer, headers: &HeaderMap) -> Option<String> {
    let peer = peer.0.ip();
    let trusted = config
        .web
        .as_ref()
        .is_some_and(|w| w.trusted_proxy.contains(&peer));
    if trusted {
        if let Some(fwd) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|v| v.parse::<std::net::IpAddr>().ok())
        {
            return Some(fwd.to_string());
        }
    }
    Some(peer.to_string())
}
