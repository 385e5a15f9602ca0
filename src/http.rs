//! The HTTP server kit of `/healthz` (`health`) and the pages (`web`): our own accept loop on
//! hyper ([`serve_app`]: a header-read timeout and a bounded drain, which `axum::serve` lacks),
//! a listener bounding its connections ([`Limited`]) whose connections end when idle or when a
//! request trickles in too long ([`Timed`]), and a server on a thread and runtime of its own
//! ([`Server`]) that drains when dropped.

use axum::Router;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// No request takes longer than this to arrive, however slowly it trickles bytes: a probe or a
/// scrape takes milliseconds, and clients trickling a byte at a time (slowloris) hold a
/// slot this long at most. Counted from the first byte of each request on a connection, so a
/// kept-alive connection (a browser, a scraper) is never cut between or in the middle of its
/// requests' answers; a slow answer is bounded by the listener's idle time instead.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(15);
/// A request's headers must all arrive within this, counted from when the connection waits for
/// them (a client sending half a request line is cut; an idle kept-alive connection too).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// When a server stops (SIGTERM), it accepts no more connections and lets the requests in flight
/// finish for up to this long; then the rest are cut.
pub const DRAIN: Duration = Duration::from_secs(2);

/// What ends a server's accepting: the [`Server`] dropped.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Serves `app` on `listener` (HTTP/1.1) until `stop`: then accepts no more and lets the
/// requests in flight finish for up to [`DRAIN`]. Each request carries
/// `ConnectInfo(info(peer))`. Our own loop rather than `axum::serve`, which has neither a
/// header-read timeout nor a bounded drain.
pub async fn serve_app<C>(
    mut listener: Limited,
    app: Router,
    info: fn(std::net::SocketAddr) -> C,
    stop: impl Future<Output = ()> + Send,
) where
    C: Clone + Send + Sync + 'static,
{
    use axum::serve::Listener as _;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (io, addr) = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut stop => break,
        };
        let app = app.clone();
        let peer = info(addr);
        let service = hyper::service::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer.clone()));
                let answered = tower::ServiceExt::oneshot(app.clone(), req);
                async move { answered.await.map(no_allow_on_404) }
            },
        );
        let conn =
            graceful.watch(builder.serve_connection(hyper_util::rt::TokioIo::new(io), service));
        tokio::spawn(async move {
            // A connection's errors (reset, timed out, malformed) are the client's business.
            let _ = conn.await;
        });
    }
    // No more accepting: new connections are refused by the kernel from here.
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

/// axum names the methods a path takes (`Allow`) even when the path's own fallback answers
/// 404; a 404 must not say which actions exist, so the header goes (after every layer of the
/// router, where axum adds it).
fn no_allow_on_404(mut resp: axum::response::Response) -> axum::response::Response {
    if resp.status() == axum::http::StatusCode::NOT_FOUND {
        resp.headers_mut().remove(axum::http::header::ALLOW);
    }
    resp
}

/// The HTTP listener on a thread and runtime of its own, so that it answers whatever the
/// service loop is doing (a long tick, a reload). When dropped it stops accepting and waits
/// for the requests in flight, up to [`DRAIN`].
pub struct Server {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Server {
    /// Runs `serve` on `listener` on a thread and runtime of its own until dropped (also the
    /// agencies' pages, `web::Server`); `serve` stops accepting when its [`Stop`] completes.
    pub fn spawn<F, Fut>(
        name: &str,
        listener: std::net::TcpListener,
        serve: F,
    ) -> std::io::Result<Server>
    where
        F: FnOnce(tokio::net::TcpListener, Stop) -> Fut + Send + 'static,
        Fut: Future<Output = std::io::Result<()>>,
    {
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (finished, done) = std::sync::mpsc::channel::<()>();
        let thread = name.to_string();
        std::thread::Builder::new()
            .name(thread.clone())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, listener = %thread, "máy nghe HTTP gặp lỗi");
                            return;
                        }
                    };
                    // A sender dropped without a word stops the server too.
                    let stop: Stop = Box::pin(async move {
                        let _ = stopped.await;
                    });
                    if let Err(e) = serve(listener, stop).await {
                        tracing::error!(error = %e, listener = %thread, "máy nghe HTTP dừng");
                    }
                });
                // The connections still open past the drain are cut with the runtime.
                drop(runtime);
                let _ = finished.send(());
            })?;
        Ok(Server {
            stop: Some(stop),
            done,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            // The drain, and a little for the thread to end; never longer (an exit must not
            // hang on a client).
            let _ = self.done.recv_timeout(DRAIN + Duration::from_millis(300));
        }
    }
}

/// A TCP listener that accepts only while fewer than its permits' count of connections are
/// open, each wrapped in [`Timed`].
pub struct Limited {
    inner: tokio::net::TcpListener,
    permits: Arc<Semaphore>,
    idle: Duration,
    /// How long one request may take to arrive ([`MAX_CONNECTION_AGE`]).
    age: Duration,
}

impl Limited {
    /// At most `max` connections, each closed after `idle` without progress, a request
    /// arriving for at most [`MAX_CONNECTION_AGE`].
    pub fn new(inner: tokio::net::TcpListener, max: usize, idle: Duration) -> Limited {
        Limited::aged(inner, max, idle, MAX_CONNECTION_AGE)
    }

    /// [`Limited::new`] with the age limit `age`.
    pub fn aged(
        inner: tokio::net::TcpListener,
        max: usize,
        idle: Duration,
        age: Duration,
    ) -> Limited {
        Limited {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            idle,
            age,
        }
    }
}

impl axum::serve::Listener for Limited {
    type Io = Timed;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // The semaphore is never closed; should it be, serving goes on without a limit
            // rather than spinning.
            let permit = self.permits.clone().acquire_owned().await.ok();
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    return (Timed::new(stream, permit, self.idle, self.age), addr)
                }
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little
                    // rather than spin, as axum's own listener does.
                    tracing::warn!(error = %e, "máy nghe HTTP: không nhận được kết nối");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails with `TimedOut` once idle for too long, or when a request has been
/// arriving for too long, and gives its permit back when dropped.
pub struct Timed {
    inner: tokio::net::TcpStream,
    _permit: Option<OwnedSemaphorePermit>,
    idle: Duration,
    age: Duration,
    /// When the request being read began to arrive (the connection's start, or the first
    /// byte read after an answer was written).
    born: tokio::time::Instant,
    /// Whether the last progress was a write: the next read starts a new request.
    answered: bool,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Timed {
    fn new(
        inner: tokio::net::TcpStream,
        permit: Option<OwnedSemaphorePermit>,
        idle: Duration,
        age: Duration,
    ) -> Timed {
        let born = tokio::time::Instant::now();
        Timed {
            inner,
            _permit: permit,
            idle,
            age,
            born,
            answered: false,
            deadline: Box::pin(tokio::time::sleep_until(born + idle.min(age))),
        }
    }

    /// Progress was made: the idle clock starts again; while a request arrives, never past its
    /// age limit. A read after a write is the next request on a kept-alive connection.
    fn touched(&mut self, read: bool) {
        let now = tokio::time::Instant::now();
        if read && self.answered {
            self.born = now;
        }
        self.answered = !read;
        let idle = now + self.idle;
        let at = if read {
            idle.min(self.born + self.age)
        } else {
            idle
        };
        self.deadline.as_mut().reset(at);
    }

    /// `Pending` from the stream: an error if the deadline has passed.
    fn expired<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "HTTP connection idle or too old",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Timed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                self.touched(true);
                Poll::Ready(r)
            }
            Poll::Pending => self.expired(cx),
        }
    }
}

impl AsyncWrite for Timed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                self.touched(false);
                Poll::Ready(r)
            }
            Poll::Pending => self.expired(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => self.expired(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => self.expired(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                self.touched(false);
                Poll::Ready(r)
            }
            Poll::Pending => self.expired(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
