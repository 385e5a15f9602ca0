//! The email channel: a delivery becomes a MIME message (lettre) and goes out through the
//! configured transport: .eml files under the state directory, or SMTP (plain or STARTTLS over
//! our own connection pool, implicit TLS through lettre's).

use super::{secret, SendError, SetupError};
use crate::config::{Channel, EmailSettings, Tls, Transport};
use crate::outbox::Delivery;
use lettre::message::{header, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls as LettreTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The email sender: the settings a message is built with, and the transport.
pub struct Mailer {
    settings: EmailSettings,
    transport: MailTransport,
}

enum MailTransport {
    File {
        dir: PathBuf,
    },
    /// Plain or STARTTLS SMTP over our own pool of connections with TCP_NODELAY: lettre 0.11's
    /// transport leaves Nagle on, which costs a 40 ms delayed-ACK stall on every message
    /// (lettre PR #1159, not released yet).
    Direct(Box<DirectSmtp>),
    /// Implicit TLS (smtps://) through lettre's own pool.
    Smtp(AsyncSmtpTransport<Tokio1Executor>, Duration),
}

/// Permanent only when the server refuses the message or a recipient (5xx other than
/// authentication): a wrong password or a server-wide problem is fixed by a person, and
/// the mail must wait for it, not die.
fn classify_smtp(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    let auth_or_session =
        code.starts_with("53") || code == "554" && e.to_string().to_lowercase().contains("auth");
    if e.is_permanent() && !auth_or_session {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Transient(e.to_string())
    }
}

impl Mailer {
    /// Builds the transport. SMTP pools need a tokio runtime to be entered.
    pub fn new(settings: &EmailSettings, state_dir: &Path) -> Result<Mailer, SetupError> {
        let transport = match &settings.transport {
            Transport::File => MailTransport::File {
                dir: state_dir.join("mail"),
            },
            Transport::Smtp { host, port, tls } => {
                let tls_params = || {
                    TlsParameters::new(host.clone()).map_err(|e| SetupError::Tls {
                        host: host.clone(),
                        reason: e.to_string(),
                    })
                };
                let credentials = match &settings.user {
                    Some(user) => match secret::SMTP_PASSWORD.read() {
                        Some(pw) => Some(Credentials::new(user.clone(), pw)),
                        None => {
                            return Err(SetupError::MissingSecret {
                                what: "mật khẩu SMTP (có khóa user)",
                                how: secret::SMTP_PASSWORD.how(),
                            })
                        }
                    },
                    None => None,
                };
                let timeout = Duration::from_secs(u64::from(settings.timeout_seconds));
                if *tls == Tls::Implicit {
                    let mut builder =
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                            .port(*port)
                            .timeout(Some(timeout))
                            .pool_config(
                                lettre::transport::smtp::PoolConfig::new()
                                    .max_size(settings.pool_size),
                            )
                            .tls(LettreTls::Wrapper(tls_params()?));
                    if let Some(c) = credentials {
                        builder = builder.credentials(c);
                    }
                    MailTransport::Smtp(builder.build(), timeout)
                } else {
                    MailTransport::Direct(Box::new(DirectSmtp {
                        host: host.clone(),
                        port: *port,
                        starttls: (*tls == Tls::StartTls).then(tls_params).transpose()?,
                        credentials,
                        hello: lettre::transport::smtp::extension::ClientId::default(),
                        idle: tokio::sync::Mutex::new(Vec::new()),
                        pool_size: settings.pool_size as usize,
                        timeout,
                    }))
                }
            }
        };
        Ok(Mailer {
            settings: settings.clone(),
            transport,
        })
    }

    /// Sends one delivery.
    pub async fn send(&self, d: &Delivery) -> Result<(), SendError> {
        let message = message(d, &self.settings)?;
        // A server that accepts and then stalls must not hang the service: lettre's own
        // timeout covers connecting only.
        let stalled = |limit: Duration| {
            SendError::Transient(format!(
                "máy chủ thư không trả lời sau {} giây",
                limit.as_secs()
            ))
        };
        match &self.transport {
            MailTransport::File { dir } => write_eml(dir, d.id, message.formatted()).await,
            MailTransport::Direct(smtp) => {
                let limit = smtp.timeout + Duration::from_secs(5);
                tokio::time::timeout(limit, smtp.send(&message))
                    .await
                    .unwrap_or_else(|_| Err(stalled(limit)))
            }
            MailTransport::Smtp(t, timeout) => {
                let limit = *timeout + Duration::from_secs(5);
                match tokio::time::timeout(limit, t.send(message)).await {
                    Err(_) => Err(stalled(limit)),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(classify_smtp(&e)),
                }
            }
        }
    }
}

/// SMTP connections kept open between messages, each with TCP_NODELAY.
struct DirectSmtp {
    host: String,
    port: u16,
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: lettre::transport::smtp::extension::ClientId,
    idle: tokio::sync::Mutex<Vec<AsyncSmtpConnection>>,
    pool_size: usize,
    timeout: Duration,
}

impl DirectSmtp {
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        use lettre::transport::smtp::authentication::Mechanism;
        let tcp = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| {
            SendError::Transient(format!(
                "không kết nối được {}:{} sau {} giây",
                self.host,
                self.port,
                self.timeout.as_secs()
            ))
        })?
        .map_err(|e| {
            SendError::Transient(format!(
                "không kết nối được {}:{}: {e}",
                self.host, self.port
            ))
        })?;
        let _ = tcp.set_nodelay(true);
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
            .await
            .map_err(|e| classify_smtp(&e))?;
        if let Some(params) = &self.starttls {
            if !conn.can_starttls() {
                return Err(SendError::Transient(format!(
                    "máy chủ {} không hỗ trợ STARTTLS",
                    self.host
                )));
            }
            conn.starttls(params.clone(), &self.hello)
                .await
                .map_err(|e| classify_smtp(&e))?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(|e| classify_smtp(&e))?;
        }
        Ok(conn)
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let bytes = message.formatted();
        let reused = self.idle.lock().await.pop();
        let was_reused = reused.is_some();
        let mut conn = match reused {
            Some(c) if !c.has_broken() => c,
            _ => self.connect().await?,
        };
        let mut result = conn.send(message.envelope(), &bytes).await;
        // A kept connection the server has since closed: once more on a fresh one.
        if result.is_err() && was_reused && conn.has_broken() {
            conn.abort().await;
            conn = self.connect().await?;
            result = conn.send(message.envelope(), &bytes).await;
        }
        match result {
            Ok(_) => {
                let mut idle = self.idle.lock().await;
                if idle.len() < self.pool_size {
                    idle.push(conn);
                }
                Ok(())
            }
            Err(e) => {
                conn.abort().await;
                Err(classify_smtp(&e))
            }
        }
    }
}

/// Writes a message atomically and durably: a temporary file, synced, renamed over the final
/// name, then the directory synced, so a crash leaves the whole file or none, and a file
/// reported written survives a power cut. The name is the delivery id, so a resend after a
/// crash replaces the same file. Runs on the blocking pool: the sends of a pass overlap, and
/// the file system commits their syncs together.
async fn write_eml(dir: &Path, id: i64, bytes: Vec<u8>) -> Result<(), SendError> {
    let dir = dir.to_path_buf();
    let write = move || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{id:08}.eml"));
        let tmp = dir.join(format!(".{id:08}.eml.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    };
    match tokio::task::spawn_blocking(write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(SendError::Transient(format!(
            "không ghi được tệp .eml: {e}"
        ))),
        Err(e) => Err(SendError::Transient(format!(
            "không ghi được tệp .eml: {e}"
        ))),
    }
}

/// Builds the message of a delivery.
pub fn message(d: &Delivery, email: &EmailSettings) -> Result<Message, SendError> {
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|e| SendError::Permanent(format!("From không hợp lệ: {e}")))?;
    if d.recipients.is_empty() {
        return Err(SendError::Permanent(format!(
            "cơ quan {} không có địa chỉ email",
            d.agency
        )));
    }
    let domain = from.email.domain().to_string();
    let mut builder = Message::builder()
        .from(from)
        .subject(crate::render::one_line(&d.subject))
        .message_id(Some(d.message_id.clone()));
    // Trial mode applies to mail already queued when it was switched on.
    let recipients: Vec<String> = match &email.redirect_all_to {
        Some(to) if d.channel == Channel::Email => vec![to.clone()],
        _ => d.recipients.clone(),
    };
    for r in &recipients {
        let to: Mailbox = r
            .parse()
            .map_err(|e| SendError::Permanent(format!("địa chỉ \"{r}\" không hợp lệ: {e}")))?;
        builder = builder.to(to);
    }
    // One thread per agency and plan in mail clients.
    let thread = format!("<nhacviec.thread.{}@{domain}>", d.thread);
    builder = builder
        .header(header::InReplyTo::from(thread.clone()))
        .header(header::References::from(thread));
    builder
        .multipart(MultiPart::alternative_plain_html(
            d.body_text.clone(),
            d.body_html.clone(),
        ))
        .map_err(|e| SendError::Permanent(format!("không tạo được thư: {e}")))
}
