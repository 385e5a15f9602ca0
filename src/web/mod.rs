//! The agencies' pages (`[web]`): `GET /a/{token}` shows an agency its tasks; POST forms record
//! "đã hoàn thành", progress, an extension request, or withdraw its last answer. Edge: reads
//! the store (its own connection, beside the service's), the clock and the network; what a
//! page shows is `answers::agency_view`, what an answer does is the schedule's business at the
//! next pass (the service notices the store's answers changed and rebuilds).
//!
//! No accounts: the signed link is the credential. Every form carries a CSRF token bound to the
//! link and a one-time nonce (a form posted twice is stored once). A bad, tampered or unknown
//! token gets the same 404 as a missing page; an expired one says how to get a fresh link.

// Handlers return their error page at once; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod dashboard;
mod forms;
pub mod guard;
mod monitor;
mod page;
mod review;
mod timeline;
mod upload;

use crate::answers::{self, Response};
use crate::config::Config;
use crate::links::{self, Link, LinkError, Signer};
use crate::store::Store;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
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
    /// A fixed time (`nhacviec web --now`), else the clock.
    now: Option<DateTime<Utc>>,
    /// The limits' clock: monotonic, advancing under `--now` too.
    started: std::time::Instant,
    guards: Mutex<Guards>,
    /// `nhacviec_web_rejected_total{reason}` (registered with `/metrics` by the service).
    rejected: Family<crate::health::ReasonLabel, Counter>,
}

/// The pages' connections to the database, beside the service's writer: lent one per use, at
/// most [`MAX_STORES`] (a request past them waits for one to come back).
struct Stores {
    path: std::path::PathBuf,
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
            path: store.path().to_path_buf(),
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
                match Store::open_side(&self.path) {
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
    pub fn new(
        config: Arc<Config>,
        store: Store,
        signer: Signer,
        now: Option<DateTime<Utc>>,
    ) -> Web {
        Web::counted(config, store, signer, now, Family::default())
    }

    /// The pages, counting refused requests in `rejected` (the service's metrics).
    pub fn counted(
        config: Arc<Config>,
        store: Store,
        signer: Signer,
        now: Option<DateTime<Utc>>,
        rejected: Family<crate::health::ReasonLabel, Counter>,
    ) -> Web {
        Web {
            inner: Arc::new(Inner {
                config: RwLock::new(config),
                stores: Stores::new(store),
                signer,
                now,
                started: std::time::Instant::now(),
                guards: Mutex::new(Guards::default()),
                rejected,
            }),
        }
    }

    /// A reloaded config: the next request sees it.
    pub fn set_config(&self, config: Arc<Config>) {
        if let Ok(mut c) = self.inner.config.write() {
            *c = config;
        }
    }

    fn config(&self) -> Arc<Config> {
        match self.inner.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.now.unwrap_or_else(Utc::now)
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
        f: impl FnOnce(&Web) -> HttpResponse + Send + 'static,
    ) -> HttpResponse {
        let web = self.clone();
        match tokio::task::spawn_blocking(move || f(&web)).await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::error!(error = %e, "trang: xử lý yêu cầu thất bại");
                html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page::error(
                        "Tạm thời không xem được",
                        "Máy chủ gặp sự cố. Vui lòng thử lại sau ít phút.",
                    ),
                )
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

/// The 429 page of a link used too often.
fn too_many(message: &str) -> HttpResponse {
    let mut resp = html(
        StatusCode::TOO_MANY_REQUESTS,
        page::error("Quá nhiều yêu cầu", message),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    resp
}

pub fn router(web: Web) -> Router {
    Router::new()
        .route("/a/{token}", get(show))
        // The forms' bodies are bounded by `forms::post` itself (`upload::read_form`: a
        // multipart body up to `[web] max_upload_mb`), not by axum's default 2 MB.
        .route(
            "/a/{token}/{action}",
            get(calendar_feed)
                .post(forms::post)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/a/{token}/tep/{sha256}", get(upload::agency_download))
        .route("/theo-doi/{key}", get(monitor::show))
        .route("/theo-doi/{key}/bang-tinh.xlsx", get(monitor::workbook))
        .route("/theo-doi/{key}/bao-cao.docx", get(monitor::report))
        .route("/theo-doi/{key}/tep/{sha256}", get(monitor::evidence))
        .route(
            "/theo-doi/{key}/xac-nhan",
            axum::routing::post(review::post),
        )
        .route("/theo-doi/{key}/tra-lai", axum::routing::post(review::post))
        .route("/theo-doi/{key}/co-quan/{agency}", get(review::agency))
        .route(
            "/theo-doi/{key}/{action}",
            axum::routing::post(monitor::decide),
        )
        .route("/style.css", get(style))
        .fallback(not_found)
        .with_state(web)
}

/// Serves the pages on `listener` until `stop`, then lets the requests in flight finish for
/// up to `health::DRAIN`; writes the minute's summary of refused requests each minute.
pub async fn serve(
    listener: tokio::net::TcpListener,
    web: Web,
    stop: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let listener = crate::health::Limited::new(listener, MAX_CONNECTIONS, Duration::from_secs(30));
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
    crate::health::serve_app(listener, router(web.clone()), Peer, stop).await;
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
pub type Server = crate::health::Server;

/// Starts serving the pages on `listener` (already bound).
pub fn start(listener: std::net::TcpListener, web: Web) -> std::io::Result<Server> {
    crate::health::Server::spawn("nhacviec-web", listener, move |l, stop| serve(l, web, stop))
}

/// Serves the pages of `config` (which has `[web]`) on its `listen` address, with a
/// connection of their own to the database at `db` (beside the service's writer).
pub fn launch(
    config: Arc<Config>,
    db: &std::path::Path,
    signer: Signer,
    now: Option<DateTime<Utc>>,
) -> anyhow::Result<(Web, Server)> {
    launch_counted(config, db, signer, now, Family::default())
}

/// [`launch`], counting refused requests in the service's metrics.
pub fn launch_counted(
    config: Arc<Config>,
    db: &std::path::Path,
    signer: Signer,
    now: Option<DateTime<Utc>>,
    rejected: Family<crate::health::ReasonLabel, Counter>,
) -> anyhow::Result<(Web, Server)> {
    use anyhow::Context as _;
    let listen = config
        .web
        .as_ref()
        .map(|w| w.listen)
        .ok_or_else(|| anyhow::anyhow!("nhacviec.toml chưa có [web]"))?;
    let store = Store::open_side(db)?;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("không nghe được trên {listen} ([web] listen)"))?;
    let web = Web::counted(config, store, signer, now, rejected);
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

async fn not_found() -> HttpResponse {
    html(StatusCode::NOT_FOUND, page::not_found())
}

/// The link of a request, checked: `Err` is the page to answer with.
pub(crate) fn open_link(
    web: &Web,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(Link, Arc<Config>), HttpResponse> {
    let id = links::log_id(token);
    if !web.allow(&id) {
        return Err(too_many("Liên kết này được dùng quá nhiều lần trong một phút. Vui lòng chờ một phút rồi thử lại."));
    }
    let config = web.config();
    match web.inner.signer.verify(token, now) {
        Ok(link) if config.agency(&link.agency).is_some() => Ok((link, config)),
        Ok(link) => {
            web.reject(
                Reason::UnknownAgency,
                &id,
                Some(&link.agency),
                "trang: liên kết của cơ quan không còn trong cấu hình",
            );
            Err(not_found_page())
        }
        Err(LinkError::Invalid) => {
            web.reject(Reason::Invalid, &id, None, "trang: liên kết không hợp lệ");
            Err(not_found_page())
        }
        Err(LinkError::Expired { agency, expired }) => {
            web.reject(
                Reason::Expired,
                &id,
                Some(&agency),
                "trang: liên kết hết hạn",
            );
            Err(html(
                StatusCode::GONE,
                page::expired(&config, &agency, expired),
            ))
        }
    }
}

fn not_found_page() -> HttpResponse {
    html(StatusCode::NOT_FOUND, page::not_found())
}

/// Today in the config's timezone.
pub(crate) fn today(config: &Config, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&config.timezone).date_naive()
}

/// The config with the store's answers over it, and the agency's responses.
pub(crate) fn answered(
    web: &Web,
    config: &Config,
    agency: &str,
) -> Result<(Config, Vec<Response>), HttpResponse> {
    // What the page shows: every completion (the overlay), this agency's latest answer of
    // each occurrence and its pending requests; not every answer ever given.
    let loaded = web.with_store(|s| {
        let (all, ext) = s.shown_answers(Some(agency), None)?;
        Ok::<_, crate::store::StoreError>((all, ext))
    });
    match loaded {
        Ok((all, ext)) => {
            let c = answers::overlaid(config, &all, &ext);
            let mine = all.into_iter().filter(|r| r.agency == agency).collect();
            Ok((c, mine))
        }
        Err(e) => {
            tracing::error!(error = %e, event = "store_error", "trang: không đọc được cơ sở dữ liệu");
            Err(html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::error("Tạm thời không xem được", "Máy chủ đang bận hoặc gặp sự cố lưu trữ. Vui lòng thử lại sau ít phút; nếu vẫn lỗi, liên hệ cơ quan theo dõi."),
            ))
        }
    }
}

async fn show(
    State(web): State<Web>,
    Path(token): Path<String>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> HttpResponse {
    web.clone()
        .run(move |web| show_now(web, &token, &uri, &headers))
        .await
}

fn show_now(
    web: &Web,
    token: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> HttpResponse {
    let web = web.clone();
    let now = web.now();
    let (link, config) = match open_link(&web, &token, now) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let (answered, mut responses) = match answered(&web, &config, &link.agency) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let today = today(&config, now);
    let views = answers::agency_view(&answered, &link.agency, today, &responses);
    let query = page::PageQuery::parse(uri.query());
    // The answer the notice names, when a later one of its occurrence took its place.
    if let Some(id) = query
        .recorded
        .filter(|id| !responses.iter().any(|r| r.id == *id))
    {
        if let Ok(Some(r)) = web.with_store(|s| s.response(id)) {
            if r.agency == link.agency {
                responses.push(r);
            }
        }
    }
    html(
        StatusCode::OK,
        page::agency(&page::AgencyPage {
            config: &answered,
            signer: &web.inner.signer,
            link: &link,
            agency: &link.agency,
            base: format!("/a/{token}"),
            files: format!("/a/{token}"),
            // The feed's own read-only token: a calendar provider holding it cannot answer.
            feed: Some(format!(
                "/a/{}/lich.ics",
                web.inner.signer.sign_feed(&link.agency, now)
            )),
            today,
            now,
            views: &views,
            responses: &responses,
            evidence: &upload::attached(&web),
            query: &query,
            who: forms::remembered(headers),
            read_only: false,
        }),
    )
}

/// `GET /a/{feed token}/lich.ics`: the agency's deadlines as an iCalendar feed. Only a feed's
/// token opens it (`links::Signer::verify_feed`, [`links::FEED_DAYS`]); an answer link is the
/// same 404 as a forged one, so the URL in a calendar is never one that answers.
async fn calendar_feed(
    State(web): State<Web>,
    Path((token, file)): Path<(String, String)>,
) -> HttpResponse {
    if file != "lich.ics" {
        return not_found_page();
    }
    web.clone()
        .run(move |web| calendar_feed_now(web, &token))
        .await
}

fn calendar_feed_now(web: &Web, token: &str) -> HttpResponse {
    let web = web.clone();
    let now = web.now();
    let id = links::log_id(&token);
    if !web.allow(&id) {
        return too_many("Vui lòng chờ một phút rồi thử lại.");
    }
    let config = web.config();
    let agency = match web.inner.signer.verify_feed(&token, now) {
        Ok(link) => link.agency,
        Err(LinkError::Expired { agency, .. }) => {
            web.reject(
                Reason::Expired,
                &id,
                Some(&agency),
                "trang: lịch với địa chỉ hết hạn",
            );
            return not_found_page();
        }
        Err(LinkError::Invalid) => {
            web.reject(
                Reason::Invalid,
                &id,
                None,
                "trang: lịch với địa chỉ không hợp lệ",
            );
            return not_found_page();
        }
    };
    if config.agency(&agency).is_none() {
        web.reject(
            Reason::UnknownAgency,
            &id,
            Some(&agency),
            "trang: lịch của cơ quan không còn trong cấu hình",
        );
        return not_found_page();
    }
    let (answered, _) = match answered(&web, &config, &agency) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let body = crate::ics::feed(&answered, &agency, today(&config, now), now);
    (
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
        .into_response()
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
