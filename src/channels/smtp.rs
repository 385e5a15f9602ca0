//! SMTP sessions with the configured server: our own pool of lettre connections (TCP_NODELAY
//! where we open the socket), opened one at a time, refused sessions behind a breaker, and each
//! message sent stage by stage (MAIL FROM, RCPT TO, DATA) so that a refusal is classified by
//! who it is about: the server or our account (the session, MAIL FROM: every message waits), one
//! recipient (dead), or this message (dead, unless the same refusal hits every message: see
//! `deliver`).

use super::tls_diag::{self, CertProblem};
use super::{error_chain, SendError};
use crate::config::{EmailSettings, Tls};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
#[allow(deprecated)]
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long the session breaker stays open after the server refused the session.
const BREAKER: Duration = Duration::from_secs(300);

/// How long a server may stay silent after the connection before we look whether it is
/// waiting for TLS (an smtps port given as smtp://).
const GREETING_PROBE: Duration = Duration::from_secs(4);

/// The SMTP server, its TLS settings and the open connections.
pub struct Smtp {
    host: String,
    port: u16,
    tls: Tls,
    /// Verification as configured (system roots, plus `ca_file`; any certificate when pinned:
    /// the pin is checked before anything is sent).
    params: TlsParameters,
    /// Any certificate: to fetch what the server presents, for a clear error.
    inspect: TlsParameters,
    pin: Option<String>,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: tokio::sync::Mutex<Vec<AsyncSmtpConnection>>,
    /// After the server refused the session itself (greeting, EHLO, TLS, AUTH): no new
    /// connection until then, with why. One failed login per breaker period, not one per
    /// delivery: fail2ban bans a client that fails AUTH five times.
    breaker: std::sync::Mutex<Option<(Instant, String)>>,
    /// Sessions are opened one at a time: deliveries starting together must not all try a
    /// login the server is about to refuse.
    opening: tokio::sync::Mutex<()>,
    pool_size: usize,
    timeout: Duration,
}

/// Why a session could not be opened: the server (or our settings for it) refused the session
/// itself, and the breaker opens; or something else (a network error, a timeout: retried).
enum Refused {
    Session(String),
    Other(SendError),
}

/// The step of a transaction a reply answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Mail,
    Rcpt,
    Data,
}

impl Smtp {
    pub fn new(
        settings: &EmailSettings,
        host: &str,
        port: u16,
        tls: Tls,
        credentials: Option<Credentials>,
    ) -> Result<Smtp, super::SetupError> {
        let setup = |reason: String| super::SetupError::Tls {
            host: host.to_string(),
            reason,
        };
        let mut builder = TlsParameters::builder(host.to_string());
        if settings.tls_pin_sha256.is_some() {
            // The pin is the whole trust: checked on the leaf before anything is sent.
            builder = builder
                .dangerous_accept_invalid_certs(true)
                .dangerous_accept_invalid_hostnames(true);
        } else if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| setup(format!("không đọc được ca_file {}: {e}", path.display())))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                setup(format!(
                    "ca_file {} không phải chứng chỉ PEM: {e}",
                    path.display()
                ))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let params = builder.build().map_err(|e| setup(e.to_string()))?;
        let inspect = TlsParameters::builder(host.to_string())
            .dangerous_accept_invalid_certs(true)
            .dangerous_accept_invalid_hostnames(true)
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(Smtp {
            host: host.to_string(),
            port,
            tls,
            params,
            inspect,
            pin: settings.tls_pin_sha256.clone(),
            credentials,
            hello: settings
                .helo()
                .map_or_else(ClientId::default, ClientId::Domain),
            idle: tokio::sync::Mutex::new(Vec::new()),
            breaker: std::sync::Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
            pool_size: settings.pool_size.max(1) as usize,
            timeout: Duration::from_secs(u64::from(settings.timeout_seconds)),
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Closes the breaker: the admin fixed the server or the password (`nhacviec retry`).
    pub fn reset_breaker(&self) {
        if let Ok(mut b) = self.breaker.lock() {
            *b = None;
        }
    }

    /// Ends every kept connection politely (QUIT): between passes, and at shutdown.
    pub async fn close_idle(&self) {
        let conns: Vec<AsyncSmtpConnection> = std::mem::take(&mut *self.idle.lock().await);
        for mut c in conns {
            if !c.has_broken() {
                let _ = tokio::time::timeout(Duration::from_secs(5), c.quit()).await;
            }
            c.abort().await;
        }
    }

    /// Opens a session (greeting, EHLO, TLS, login) and ends it with QUIT, sending nothing:
    /// `check --environment`. The breaker is neither consulted nor opened.
    pub async fn probe(&self) -> Result<String, super::ProbeError> {
        match self.open_session().await {
            Ok(mut conn) => {
                let tls = if conn.is_encrypted() || self.tls == Tls::StartTls {
                    "TLS"
                } else {
                    "không mã hóa"
                };
                let login = if self.credentials.is_some() {
                    ", đăng nhập được"
                } else {
                    ""
                };
                let _ = conn.quit().await;
                Ok(format!("{} trả lời, {tls}{login}", self.server()))
            }
            Err(Refused::Session(why)) => Err(super::ProbeError::Unusable(why)),
            Err(Refused::Other(e)) => Err(super::ProbeError::Unusable(e.reason().to_string())),
        }
    }

    /// A connection ready to send, unless the breaker is open. A refusal of the session is the
    /// server's problem, not any one delivery's: it never makes a delivery dead, and it opens
    /// the breaker.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let _one_at_a_time = self.opening.lock().await;
        let open = self
            .breaker
            .lock()
            .ok()
            .and_then(|b| b.clone())
            .filter(|(until, _)| Instant::now() < *until);
        if let Some((_, why)) = open {
            return Err(SendError::Server(format!(
                "{why} (chưa thử kết nối lại: chờ ít phút, hoặc chạy nhacviec retry sau khi sửa)"
            )));
        }
        match self.open_session().await {
            Ok(c) => Ok(c),
            Err(Refused::Session(why)) => {
                if let Ok(mut b) = self.breaker.lock() {
                    *b = Some((Instant::now() + BREAKER, why.clone()));
                }
                Err(SendError::Server(why))
            }
            Err(Refused::Other(e)) => Err(e),
        }
    }

    async fn open_session(&self) -> Result<AsyncSmtpConnection, Refused> {
        let server = self.server();
        let (mut conn, leaf) = match self.tls {
            Tls::Implicit => {
                // Our socket (TCP_NODELAY), made TLS by lettre, then handed to lettre as the
                // transport: lettre's own smtps connect leaves Nagle on, a 40 ms stall each
                // message.
                let tcp = self.tcp().await?;
                let _ = tcp.set_nodelay(true);
                let peer = tcp.peer_addr().ok();
                #[allow(deprecated)]
                let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
                match tokio::time::timeout(self.timeout, stream.upgrade_tls(self.params.clone()))
                    .await
                    .map_err(|_| self.no_answer())?
                {
                    Ok(()) => {}
                    Err(e) => {
                        return Err(match tls_diag::problem(&e) {
                            Some(p) => Refused::Session(self.tls_failure(p).await),
                            None => Refused::Other(self.unreachable(&e)),
                        })
                    }
                }
                let leaf = stream.peer_certificate().ok();
                let greeted = tokio::time::timeout(
                    self.timeout,
                    AsyncSmtpConnection::connect_with_transport(
                        Box::new(Upgraded { stream, peer }),
                        &self.hello,
                    ),
                )
                .await
                .map_err(|_| self.no_answer())?;
                match greeted {
                    Ok(c) => (c, leaf),
                    Err(e) if e.status().is_some() => return Err(self.greeting_refused(&e)),
                    Err(e) => return Err(Refused::Other(self.unreachable(&e))),
                }
            }
            Tls::StartTls | Tls::None => {
                let tcp = self.tcp().await?;
                let _ = tcp.set_nodelay(true);
                // A server silent after the connection may be waiting for TLS: an smtps port.
                let mut first = [0u8; 1];
                if tokio::time::timeout(GREETING_PROBE, tcp.peek(&mut first))
                    .await
                    .is_err()
                    && self.speaks_tls().await
                {
                    return Err(Refused::Session(format!(
                        "cổng {} của máy chủ thư {} dùng TLS ngay từ đầu: đổi url thành \"smtps://{server}\"",
                        self.port, self.host
                    )));
                }
                let greeted = tokio::time::timeout(
                    self.timeout,
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello),
                )
                .await
                .map_err(|_| self.no_answer())?;
                let mut conn = match greeted {
                    Ok(c) => c,
                    Err(e) if e.status().is_some() => return Err(self.greeting_refused(&e)),
                    Err(e) => return Err(Refused::Other(self.unreachable(&e))),
                };
                if self.tls == Tls::StartTls {
                    if !conn.can_starttls() {
                        // It greeted in plain text: not a TLS port, so smtps:// is not the fix.
                        return Err(Refused::Session(format!(
                            "máy chủ thư {server} không có STARTTLS ở cổng này (chào bằng văn bản thường, không mã hóa): {}",
                            self.no_starttls_fix()
                        )));
                    }
                    if let Err(e) = conn.starttls(self.params.clone(), &self.hello).await {
                        return Err(Refused::Session(match tls_diag::problem(&e) {
                            Some(p) => self.tls_failure(p).await,
                            None => format!(
                                "STARTTLS với máy chủ thư {server} thất bại: {}",
                                smtp_reply(&e)
                            ),
                        }));
                    }
                }
                let leaf = conn.peer_certificate().ok();
                (conn, leaf)
            }
        };
        if let Some(pin) = &self.pin {
            // Checked before anything is sent: no login, no message to a server not pinned.
            let seen = tls_diag::sha256_hex(&leaf.unwrap_or_default());
            if &seen != pin {
                conn.abort().await;
                return Err(Refused::Session(format!(
                    "chứng chỉ của máy chủ thư {server} có SHA-256 {seen}, khác [email] tls_pin_sha256 ({pin}); nếu máy chủ vừa đổi chứng chỉ, hỏi quản trị máy chủ thư rồi cập nhật tls_pin_sha256"
                )));
            }
        }
        if let Some(c) = &self.credentials {
            // One mechanism, so a wrong password is one failed login, not one per mechanism.
            let mechanism = if conn.server_info().supports_auth_mechanism(Mechanism::Plain) {
                Mechanism::Plain
            } else {
                Mechanism::Login
            };
            if let Err(e) = conn.auth(&[mechanism], c).await {
                conn.abort().await;
                return Err(Refused::Session(format!(
                    "đăng nhập máy chủ thư {server} thất bại ({}); kiểm tra [email] user và mật khẩu (NHACVIEC_SMTP_PASSWORD); thư vẫn chờ gửi",
                    smtp_reply(&e)
                )));
            }
        }
        Ok(conn)
    }

    async fn tcp(&self) -> Result<tokio::net::TcpStream, Refused> {
        tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| self.no_answer())?
        .map_err(|e| {
            Refused::Other(SendError::Transient(format!(
                "không kết nối được máy chủ thư {}: {e}",
                self.server()
            )))
        })
    }

    fn no_answer(&self) -> Refused {
        Refused::Other(SendError::Transient(format!(
            "máy chủ thư {} không trả lời sau {} giây",
            self.server(),
            self.timeout.as_secs()
        )))
    }

    fn unreachable(&self, e: &lettre::transport::smtp::Error) -> SendError {
        SendError::Transient(format!(
            "không kết nối được máy chủ thư {}: {}",
            self.server(),
            error_chain(e)
        ))
    }

    /// A 5xx to the greeting or EHLO (a HELO name refused, a client address blocked).
    fn greeting_refused(&self, e: &lettre::transport::smtp::Error) -> Refused {
        let reply = smtp_reply(e);
        if e.is_transient() {
            return Refused::Other(SendError::Transient(reply));
        }
        Refused::Session(format!(
            "máy chủ thư {} từ chối phiên gửi ở bước chào (EHLO), {reply}; nếu máy chủ đòi tên miền đầy đủ, đặt [email] helo_name",
            self.server()
        ))
    }

    /// Whether the port answers a TLS handshake (with any certificate) and then SMTP.
    async fn speaks_tls(&self) -> bool {
        let attempt = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(Duration::from_secs(5)),
            &self.hello,
            Some(self.inspect.clone()),
            None,
        );
        match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(mut c)) => {
                let _ = c.quit().await;
                true
            }
            _ => false,
        }
    }

    /// Whether the server, spoken to in plain text on this port, offers STARTTLS (`None`: it
    /// could not be asked).
    async fn offers_starttls(&self) -> Option<bool> {
        let attempt = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(Duration::from_secs(5)),
            &self.hello,
            None,
            None,
        );
        match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(mut c)) => {
                let offered = c.can_starttls();
                let _ = c.quit().await;
                Some(offered)
            }
            _ => None,
        }
    }

    /// What to do about a port that speaks plain text without STARTTLS: accept plain text
    /// (`tls = "none"`, only for a server on this machine), or the server's encrypted ports.
    fn no_starttls_fix(&self) -> String {
        let host = &self.host;
        if crate::config::channels::is_loopback(host) {
            format!(
                "nếu chấp nhận gửi không mã hóa đến máy chủ trên chính máy này, đặt [email] url = \"smtp://{}\" và tls = \"none\"; nếu không, dùng cổng có STARTTLS (thường 587) hoặc cổng TLS (smtps://, thường 465) của máy chủ",
                self.server()
            )
        } else {
            format!(
                "dùng cổng có STARTTLS (url = \"smtp://{host}:587\") hoặc cổng TLS (url = \"smtps://{host}:465\") của máy chủ, hoặc nhờ quản trị máy chủ thư bật STARTTLS ở cổng này; không mã hóa (tls = \"none\") chỉ dùng được với máy chủ trên chính máy này"
            )
        }
    }

    /// The first bytes a plain connection receives, within a few seconds.
    async fn first_bytes(&self) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let Ok(Ok(mut tcp)) = tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        else {
            return Vec::new();
        };
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf)).await {
            Ok(Ok(n)) => buf[..n].to_vec(),
            _ => Vec::new(),
        }
    }

    /// The certificate the server presents, fetched without verifying it (for the error).
    async fn presented(&self) -> Option<Vec<u8>> {
        let conn = match self.tls {
            Tls::Implicit => AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(Duration::from_secs(5)),
                &self.hello,
                Some(self.inspect.clone()),
                None,
            )
            .await
            .ok(),
            _ => {
                let tcp = self.tcp().await.ok()?;
                let mut c = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .ok()?;
                c.starttls(self.inspect.clone(), &self.hello).await.ok()?;
                Some(c)
            }
        };
        let mut conn = conn?;
        let leaf = conn.peer_certificate().ok();
        let _ = conn.quit().await;
        leaf
    }

    /// What went wrong with TLS, for the admin: the certificate's issuer, names or expiry
    /// (fetched again without verification), or the wrong port for the scheme.
    async fn tls_failure(&self, problem: CertProblem) -> String {
        let server = self.server();
        if problem == CertProblem::NotTls && self.tls == Tls::Implicit {
            let first = self.first_bytes().await;
            if first.starts_with(b"220") {
                let head = format!(
                    "cổng {} của máy chủ thư {} không dùng TLS ngay từ đầu (máy chủ chào bằng văn bản thường)",
                    self.port, self.host
                );
                return match self.offers_starttls().await {
                    Some(false) => {
                        format!("{head} và không có STARTTLS: {}", self.no_starttls_fix())
                    }
                    _ => format!("{head}: đổi url thành \"smtp://{server}\" (STARTTLS)"),
                };
            }
        }
        let leaf = match problem {
            CertProblem::NotTls | CertProblem::Other(_) => None,
            _ => self.presented().await,
        };
        tls_diag::explain(&problem, &server, leaf.as_deref())
    }

    /// Sends one message on a pooled connection (or a new one).
    pub async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendError> {
        let reused = self.idle.lock().await.pop();
        let was_reused = reused.is_some();
        let mut conn = match reused {
            Some(c) if !c.has_broken() => c,
            Some(mut c) => {
                c.abort().await;
                self.connect().await?
            }
            None => self.connect().await?,
        };
        let mut result = transfer(&mut conn, envelope, bytes).await;
        // A kept connection the server has since closed: once more on a fresh one. A refusal
        // (a reply) is the server's answer, not the connection's: it is not asked again.
        if matches!(&result, Err((_, e)) if e.status().is_none()) && was_reused {
            conn.abort().await;
            conn = self.connect().await?;
            result = transfer(&mut conn, envelope, bytes).await;
        }
        match result {
            Ok(()) => {
                let mut idle = self.idle.lock().await;
                if idle.len() < self.pool_size {
                    idle.push(conn);
                } else {
                    drop(idle);
                    let _ = conn.quit().await;
                }
                Ok(())
            }
            Err((stage, e)) => {
                conn.abort().await;
                Err(self.classify(stage, &e, envelope))
            }
        }
    }

    /// A failed step, classified by its stage and reply.
    fn classify(
        &self,
        stage: Option<Stage>,
        e: &lettre::transport::smtp::Error,
        envelope: &Envelope,
    ) -> SendError {
        let reply = smtp_reply(e);
        if e.status().is_none() {
            // Not a reply: a broken connection, a timeout, or a message the server cannot
            // take (non-ASCII without 8BITMIME).
            return if e.is_client() {
                SendError::Permanent(format!("không gửi được thư: {e}"))
            } else {
                SendError::Transient(format!(
                    "mất kết nối với máy chủ thư {}: {}",
                    self.server(),
                    error_chain(e)
                ))
            };
        }
        if !e.is_permanent() {
            return SendError::Transient(reply);
        }
        let key = reply_key(&reply);
        match stage {
            // The sender refused: our account or settings, the same for every message.
            Some(Stage::Mail) | None => SendError::Server(format!(
                "máy chủ thư {} từ chối người gửi {} ({reply}); kiểm tra [email] from, envelope_from và user: nhiều máy chủ chỉ cho gửi bằng địa chỉ của chính tài khoản đăng nhập",
                self.server(),
                envelope.from().map(|a| a.to_string()).unwrap_or_default()
            )),
            // A mailbox that does not exist or cannot take mail: that recipient only.
            Some(Stage::Rcpt) if about_mailbox(&reply) => {
                SendError::Permanent(format!("người nhận bị từ chối: {reply}"))
            }
            Some(Stage::Rcpt) => SendError::Rejected {
                key,
                error: format!("máy chủ từ chối người nhận: {reply}"),
            },
            Some(Stage::Data) => SendError::Rejected {
                key,
                error: format!("máy chủ từ chối nội dung thư: {reply}"),
            },
        }
    }
}

/// A TLS stream lettre upgraded on our socket, given back to lettre as a transport (its
/// reading and writing adapted from `futures` to `tokio`). lettre 0.11 marks the stream type
/// "not meant to be public" but keeps it public; if a release removes it, smtps falls back to
/// `connect_tokio1` (and Nagle's stall).
#[allow(deprecated)]
#[derive(Debug)]
struct Upgraded {
    stream: AsyncNetworkStream,
    peer: Option<std::net::SocketAddr>,
}

impl tokio::io::AsyncRead for Upgraded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        use futures_util::io::AsyncRead;
        let unfilled = buf.initialize_unfilled();
        match Pin::new(&mut self.get_mut().stream).poll_read(cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl tokio::io::AsyncWrite for Upgraded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        use futures_util::io::AsyncWrite;
        Pin::new(&mut self.get_mut().stream).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        use futures_util::io::AsyncWrite;
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        use futures_util::io::AsyncWrite;
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}

impl AsyncTokioStream for Upgraded {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.peer
            .ok_or_else(|| std::io::Error::other("no peer address"))
    }
}

/// MAIL FROM, RCPT TO for each recipient, DATA: lettre's `send`, with the failed stage told.
async fn transfer(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<(), (Option<Stage>, lettre::transport::smtp::Error)> {
    let mut options = Vec::new();
    let info = conn.server_info();
    let non_ascii = envelope
        .from()
        .is_some_and(|a| !AsRef::<str>::as_ref(a).is_ascii())
        || envelope
            .to()
            .iter()
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii && info.supports_feature(Extension::SmtpUtfEight) {
        options.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() && info.supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await
        .map_err(|e| (Some(Stage::Mail), e))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![]))
            .await
            .map_err(|e| (Some(Stage::Rcpt), e))?;
    }
    conn.command(Data)
        .await
        .map_err(|e| (Some(Stage::Data), e))?;
    conn.message(bytes)
        .await
        .map_err(|e| (Some(Stage::Data), e))?;
    Ok(())
}

/// The server's reply as the admin should read it: "máy chủ trả lời 535 5.7.8 Authentication
/// credentials invalid", not lettre's "permanent error (535): ..." (which says nothing of
/// what happens to the mail).
pub fn smtp_reply(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    match (e.status(), text.split_once("): ")) {
        (Some(code), Some((_, rest))) => format!("máy chủ trả lời {code} {rest}"),
        _ => text,
    }
}

/// Whether a refusal is about the recipient's mailbox (enhanced status 5.1.x addressing or
/// 5.2.x mailbox: unknown user, full, disabled), not about the sender or the server's policy.
fn about_mailbox(reply: &str) -> bool {
    enhanced(reply).is_some_and(|c| c.starts_with("5.1.") || c.starts_with("5.2."))
}

/// The enhanced status code ("5.7.1") in a reply, if it has one.
fn enhanced(reply: &str) -> Option<&str> {
    reply.split_whitespace().find(|w| {
        let parts: Vec<&str> = w.split('.').collect();
        parts.len() == 3
            && matches!(parts[0], "4" | "5")
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A refusal with the addresses in it masked: the same refusal for different messages (a
/// policy of the server) gives the same key.
pub fn reply_key(reply: &str) -> String {
    reply
        .split_whitespace()
        .map(|w| {
            if w.contains('@') || (w.starts_with('<') && w.contains('>')) {
                "<…>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_about_a_mailbox_are_told_from_policy_refusals() {
        assert!(about_mailbox(
            "máy chủ trả lời 550 5.1.1 <x@example.org>: Recipient address rejected: User unknown"
        ));
        assert!(about_mailbox("máy chủ trả lời 552 5.2.2 Mailbox full"));
        assert!(!about_mailbox(
            "máy chủ trả lời 553 5.7.1 <a@b.vn>: Sender address rejected: not owned by user u"
        ));
        assert!(!about_mailbox(
            "máy chủ trả lời 504 5.5.2 <vm>: Helo command rejected: need fully-qualified hostname"
        ));
        assert!(!about_mailbox("máy chủ trả lời 550 Rejected"));
    }

    #[test]
    fn the_same_policy_refusal_for_different_recipients_has_one_key() {
        let a = reply_key("máy chủ trả lời 554 5.7.1 <a@x.vn>: Relay access denied");
        let b = reply_key("máy chủ trả lời 554 5.7.1 <b@y.vn>: Relay access denied");
        assert_eq!(a, b);
        assert_ne!(a, reply_key("máy chủ trả lời 554 5.7.1 Spam detected"));
        let helo = "máy chủ trả lời 504 5.5.2 <vm>: Helo command rejected";
        assert_eq!(reply_key(helo), reply_key(helo));
    }
}
