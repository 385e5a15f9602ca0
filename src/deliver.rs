//! The delivery pipeline, at the edge: a tick records its digests in the outbox (one
//! transaction, before anything is sent), then the worker sends what is ready and marks each
//! delivery sent, retrying (with backoff) or dead. A crash at any point loses nothing: pending
//! and retrying deliveries are picked up on restart; a message in flight at the crash may go
//! twice, with the same Message-ID.

use crate::calendar::Calendar;
use crate::config::settings::{EmailSettings, Tls, Transport};
use crate::config::Config;
use crate::render::{Context, Templates};
use crate::schedule::Schedule;
use crate::store::{Delivery, NewDelivery, Store, StoreError};
use chrono::{DateTime, Datelike, Days, Duration, Utc};
use chrono_tz::Tz;
use lettre::message::{header, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls as LettreTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cấu hình email: {0}")]
    Email(String),
    #[error("không ghi được thư vào {path}: {source}")]
    Outbox {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later (connection refused, timeout, 4xx).
    Transient(String),
    /// Will never succeed (5xx for the recipient, invalid address).
    Permanent(String),
    /// Try again at this time (Retry-After, a quota reset, the end of a night window).
    RetryAt(DateTime<Utc>, String),
    /// This channel cannot reach the agency: use its next channel.
    Fallback(String),
}

/// The channel's transport.
pub enum Mailer {
    File {
        dir: PathBuf,
    },
    /// Plain or STARTTLS SMTP over our own pool of connections with TCP_NODELAY: lettre 0.11's
    /// transport leaves Nagle on, which costs a 40 ms delayed-ACK stall on every message
    /// (lettre PR #1159, not released yet).
    Direct(Box<DirectSmtp>),
    /// Implicit TLS (smtps://) through lettre's own pool.
    Smtp(
        AsyncSmtpTransport<Tokio1Executor>,
        /* timeout seconds */ u32,
    ),
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

/// The SMTP password: `NHACVIEC_SMTP_PASSWORD`, or `$CREDENTIALS_DIRECTORY/smtp-password`
/// (systemd's LoadCredential). Never from the TOML, never logged.
pub fn smtp_password() -> Option<String> {
    if let Ok(p) = std::env::var("NHACVIEC_SMTP_PASSWORD") {
        return Some(p);
    }
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    std::fs::read_to_string(Path::new(&dir).join("smtp-password"))
        .ok()
        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
}

impl Mailer {
    pub fn new(settings: &EmailSettings, state_dir: &Path) -> Result<Mailer, DeliverError> {
        match &settings.transport {
            Transport::File => Ok(Mailer::File {
                dir: state_dir.join("mail"),
            }),
            Transport::Smtp { host, port, tls } => {
                let tls_params = || {
                    TlsParameters::new(host.clone())
                        .map_err(|e| DeliverError::Email(format!("TLS cho {host}: {e}")))
                };
                let builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                        .port(*port)
                        .timeout(Some(std::time::Duration::from_secs(u64::from(
                            settings.timeout_seconds,
                        ))))
                        .pool_config(
                            lettre::transport::smtp::PoolConfig::new().max_size(settings.pool_size),
                        );
                let credentials = match (&settings.user, smtp_password()) {
                    (Some(user), Some(pw)) => Some(Credentials::new(user.clone(), pw)),
                    (Some(_), None) => {
                        return Err(DeliverError::Email(
                            "có user nhưng thiếu mật khẩu: đặt NHACVIEC_SMTP_PASSWORD hoặc $CREDENTIALS_DIRECTORY/smtp-password".into(),
                        ))
                    }
                    _ => None,
                };
                if *tls != Tls::Implicit {
                    return Ok(Mailer::Direct(Box::new(DirectSmtp {
                        host: host.clone(),
                        port: *port,
                        starttls: (*tls == Tls::StartTls).then(tls_params).transpose()?,
                        credentials,
                        hello: lettre::transport::smtp::extension::ClientId::default(),
                        idle: tokio::sync::Mutex::new(Vec::new()),
                        pool_size: settings.pool_size as usize,
                        timeout: std::time::Duration::from_secs(u64::from(
                            settings.timeout_seconds,
                        )),
                    })));
                }
                let builder = match tls {
                    Tls::StartTls => builder.tls(LettreTls::Required(tls_params()?)),
                    Tls::Implicit => builder.tls(LettreTls::Wrapper(tls_params()?)),
                    Tls::None => builder.tls(LettreTls::None),
                };
                let builder = match (&settings.user, smtp_password()) {
                    (Some(user), Some(pw)) => builder.credentials(Credentials::new(user.clone(), pw)),
                    (Some(_), None) => {
                        return Err(DeliverError::Email(
                            "có user nhưng thiếu mật khẩu: đặt NHACVIEC_SMTP_PASSWORD hoặc $CREDENTIALS_DIRECTORY/smtp-password".into(),
                        ))
                    }
                    _ => builder,
                };
                Ok(Mailer::Smtp(builder.build(), settings.timeout_seconds))
            }
        }
    }

    async fn send(&self, message: &Message, id: i64) -> Result<(), SendError> {
        match self {
            Mailer::File { dir } => write_eml(dir, id, &message.formatted())
                .map_err(|e| SendError::Transient(format!("không ghi được tệp .eml: {e}"))),
            Mailer::Direct(d) => {
                let limit = d.timeout + std::time::Duration::from_secs(5);
                match tokio::time::timeout(limit, d.send(message)).await {
                    Err(_) => Err(SendError::Transient(format!(
                        "máy chủ thư không trả lời sau {} giây",
                        limit.as_secs()
                    ))),
                    Ok(r) => r,
                }
            }
            Mailer::Smtp(t, timeout) => {
                // lettre's own timeout covers connecting only: a server that accepts and then
                // stalls must not hang the service.
                let limit = std::time::Duration::from_secs(u64::from(*timeout) + 5);
                match tokio::time::timeout(limit, t.send(message.clone())).await {
                    Err(_) => Err(SendError::Transient(format!(
                        "máy chủ thư không trả lời sau {} giây",
                        limit.as_secs()
                    ))),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(classify_smtp(&e)),
                }
            }
        }
    }
}

/// SMTP connections kept open between messages, each with TCP_NODELAY.
pub struct DirectSmtp {
    host: String,
    port: u16,
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: lettre::transport::smtp::extension::ClientId,
    idle: tokio::sync::Mutex<Vec<lettre::transport::smtp::client::AsyncSmtpConnection>>,
    pool_size: usize,
    timeout: std::time::Duration,
}

impl DirectSmtp {
    async fn connect(
        &self,
    ) -> Result<lettre::transport::smtp::client::AsyncSmtpConnection, SendError> {
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
        let mut conn =
            lettre::transport::smtp::client::AsyncSmtpConnection::connect_with_transport(
                Box::new(tcp),
                &self.hello,
            )
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

/// Writes a message atomically (temporary file, then rename): a crash never leaves half a file.
fn write_eml(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{id:08}.eml"));
    let tmp = dir.join(format!(".{id:08}.eml.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(tmp, path)
}

/// The domain of the From address, for Message-IDs.
fn domain_of(from: &str) -> String {
    from.parse::<Mailbox>()
        .map(|m| m.email.domain().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The state directory: `NHACVIEC_STATE_DIR`, else `state_dir` (relative to the config
/// directory), else `var` in the config directory.
pub fn state_dir(config_dir: &Path, config: &Config) -> PathBuf {
    if let Some(dir) = std::env::var_os("NHACVIEC_STATE_DIR") {
        return PathBuf::from(dir);
    }
    config_dir.join(config.state_dir.as_deref().unwrap_or("var"))
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub queued: usize,
    pub skipped: usize,
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
    /// Send attempts by channel: (sent, failed), for the metrics.
    pub by_channel: std::collections::BTreeMap<String, (usize, usize)>,
}

impl Pass {
    fn attempted(&mut self, channel: &str, sent: bool) {
        let (ok, failed) = self.by_channel.entry(channel.to_string()).or_default();
        if sent {
            *ok += 1;
        } else {
            *failed += 1;
        }
    }

    /// Schedules `d` again at `next`, or, when `next` falls after its give-up time (counted
    /// from when it was recorded), keeps it as dead so the report shows it.
    fn retry_or_give_up(
        &mut self,
        store: &Store,
        d: &Delivery,
        next: DateTime<Utc>,
        e: &str,
        now: DateTime<Utc>,
        give_up_hours: u32,
    ) -> Result<(), StoreError> {
        let created =
            DateTime::parse_from_rfc3339(&d.created_at).map_or(now, |c| c.with_timezone(&Utc));
        if next > created + Duration::hours(i64::from(give_up_hours)) {
            tracing::error!(delivery = d.id, agency = %d.agency, error = %e, "delivery given up after retries");
            store.mark_dead(d.id, &format!("bỏ sau {give_up_hours} giờ thử lại: {e}"))?;
            self.dead += 1;
        } else {
            tracing::warn!(delivery = d.id, agency = %d.agency, error = %e, retry_at = %next, "delivery will be retried");
            store.mark_retry(d.id, next, e)?;
            self.retrying += 1;
        }
        Ok(())
    }
}

/// One tick: evaluates `now` against the store and records the digests (not yet sent).
pub fn tick(
    config: &Config,
    templates: &Templates,
    store: &mut Store,
    now: DateTime<Tz>,
) -> Result<Pass, DeliverError> {
    let today = now.date_naive();
    let until = today.checked_add_days(Days::new(400)).unwrap_or(today);
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
    let schedule = Schedule::build(config, &calendar, until);
    let watermark = store.watermark()?;
    // A watermark after today means the clock went back, and a changed schedule may have new
    // past slots: in both cases look at everything again.
    let fingerprint = schedule.fingerprint();
    let unchanged = store.meta("schedule_fingerprint")?.as_deref() == Some(fingerprint.as_str());
    let since = watermark.filter(|w| *w <= today && unchanged);
    let result = schedule.due(&*store, today, since);
    if store.take_lookup_failure() {
        return Err(DeliverError::Email(
            "không đọc được trạng thái đã gửi từ cơ sở dữ liệu; bỏ qua lần kiểm tra này".into(),
        ));
    }
    let email = &config.email;
    let mut deliveries = Vec::with_capacity(result.digests.len());
    for digest in &result.digests {
        let agency = config.agency(&digest.agency);
        // The agency's first channel that this installation has configured; the rest of its
        // list are fallbacks. (Zalo is not implemented yet: agencies preferring it get email.)
        let available = |c: &crate::config::Channel| match c {
            crate::config::Channel::Email => true,
            crate::config::Channel::Webhook => config.webhook.is_some(),
            crate::config::Channel::Zalo => config.zalo.is_some(),
        };
        let channel = agency
            .and_then(|a| a.channels.iter().copied().find(available))
            .unwrap_or(crate::config::Channel::Email);
        let mut ctx = Context::of(config, digest, today);
        let recipients = match channel {
            crate::config::Channel::Email => {
                let intended: Vec<String> = agency.map(|a| a.email.clone()).unwrap_or_default();
                match &email.redirect_all_to {
                    Some(to) => {
                        ctx.redirected_to = intended.clone();
                        vec![to.clone()]
                    }
                    None => intended,
                }
            }
            _ => vec![digest.agency.clone()],
        };
        let rendered = templates
            .render_context(&ctx)
            .map_err(|e| DeliverError::Email(format!("{}: {}", e.template, e.message)))?;
        let plan = digest
            .items
            .first()
            .map(|i| i.plan.clone())
            .unwrap_or_default();
        // A webhook's body is its JSON, rendered now like an email's text.
        let (body_text, body_html) = match channel {
            crate::config::Channel::Webhook => {
                let json = serde_json::json!({
                    "agency": ctx.agency,
                    "subject": rendered.subject,
                    "text": rendered.text,
                    "items": ctx.items,
                    "counts": ctx.counts,
                    "today": ctx.today,
                });
                let template = config.webhook.as_ref().and_then(|w| w.body.as_deref());
                // As with the email templates: a body that fails on this digest falls back to
                // the shipped one rather than failing the tick for every agency.
                let body = match crate::channels::webhook::render_body(template, &json) {
                    Err(e) if template.is_some() => {
                        tracing::error!(error = %e, agency = %digest.agency, "webhook body template failed on a digest; sent with the shipped body");
                        crate::channels::webhook::render_body(None, &json)
                    }
                    result => result,
                }
                .map_err(DeliverError::Email)?;
                (body, String::new())
            }
            _ => (rendered.text, rendered.html),
        };
        // One delivery per email address: a mailbox that refuses the message must not keep
        // it from the agency's other addresses.
        let groups: Vec<Vec<String>> =
            if channel == crate::config::Channel::Email && recipients.len() > 1 {
                recipients.iter().map(|r| vec![r.clone()]).collect()
            } else {
                vec![recipients]
            };
        for recipients in groups {
            deliveries.push(NewDelivery {
                agency: digest.agency.clone(),
                channel: channel.name().into(),
                recipients,
                subject: rendered.subject.clone(),
                body_text: body_text.clone(),
                body_html: body_html.clone(),
                items: digest.items.clone(),
                thread: format!("{}.{}", digest.agency, slug(&plan)),
            });
        }
    }
    let new_watermark = watermark.map_or(today, |w| w.max(today));
    let ids = store.record_tick(
        now.with_timezone(&Utc),
        &deliveries,
        &result,
        new_watermark,
        &domain_of(&email.from),
    )?;
    if !unchanged {
        store.set_meta("schedule_fingerprint", &fingerprint)?;
    }
    Ok(Pass {
        queued: ids.len(),
        skipped: result.skipped.len(),
        ..Pass::default()
    })
}

/// The reports that are not reminders, each made once per period (state-based, like ticks):
/// the weekly report to the monitoring agency, and the daily summary of failed deliveries to
/// the admin. Returns how many were queued.
pub fn reports(
    config: &Config,
    store: &mut Store,
    now: DateTime<Tz>,
) -> Result<usize, DeliverError> {
    let domain = domain_of(&config.email.from);
    let mut queued = 0;
    // Weekly report: the latest report time at or before now, if not made yet.
    let cron = crate::config::parse_cron(&config.report).map_err(DeliverError::Email)?;
    let monitor = config.monitor.as_deref().and_then(|m| config.agency(m));
    if let (Ok(due), Some(monitor)) = (cron.find_previous_occurrence(&now, true), monitor) {
        let last = store.meta("weekly_report_at")?;
        // Whole seconds: croner keeps the sub-second part of `now`, which would make every
        // pass look like a new report time.
        let due_key = due
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if last.as_deref().is_none_or(|l| l < due_key.as_str()) && !monitor.email.is_empty() {
            let rows = crate::report::status(config, now.date_naive(), None);
            let d = redirected(
                weekly_report(config, &monitor.id, &monitor.email, &rows, now.date_naive()),
                &config.email,
            );
            store.record_extra(&d, &[], &[("weekly_report_at", due_key)], &domain)?;
            queued += 1;
        }
    }
    // Daily failure summary to the admin.
    let today = now.date_naive().to_string();
    if let Some(admin) = &config.email.admin {
        if store.meta("admin_summary_day")?.as_deref() != Some(today.as_str()) {
            let (dead, stuck) = store.failures_to_report()?;
            if !dead.is_empty() || !stuck.is_empty() {
                let d = redirected(
                    failure_summary(admin, &dead, &stuck, now.date_naive()),
                    &config.email,
                );
                let ids: Vec<i64> = dead.iter().map(|d| d.id).collect();
                store.record_extra(&d, &ids, &[("admin_summary_day", today)], &domain)?;
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Trial mode for messages built in code: to the trial address, naming the intended ones.
fn redirected(mut d: NewDelivery, email: &EmailSettings) -> NewDelivery {
    if let Some(to) = &email.redirect_all_to {
        let note = format!(
            "[THỬ NGHIỆM] Thư này lẽ ra gửi đến: {}",
            d.recipients.join(", ")
        );
        d.body_text = format!("{note}\n\n{}", d.body_text);
        d.body_html =
            d.body_html
                .replacen("<body>", &format!("<body><p>{}</p>", html_escape(&note)), 1);
        d.recipients = vec![to.clone()];
    }
    d
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn weekly_report(
    config: &Config,
    monitor: &str,
    to: &[String],
    rows: &[crate::report::StatusRow],
    today: chrono::NaiveDate,
) -> NewDelivery {
    use crate::report::State;
    let count = |s: State| rows.iter().filter(|r| r.state == s).count();
    let subject = format!(
        "[Nhắc việc] Báo cáo tuần đến ngày {}: {} việc quá hạn, {} trong hạn, {} đã hoàn thành",
        today.format("%d/%m/%Y"),
        count(State::OpenOverdue),
        count(State::Open),
        count(State::DoneOnTime) + count(State::DoneLate)
    );
    let name = |id: &str| {
        config
            .agency(id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    };
    let mut text = format!(
        "Tình hình thực hiện các kế hoạch đến ngày {} (quá hạn trước):\n\n",
        today.format("%d/%m/%Y")
    );
    let mut html = String::from("<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr><th>Trạng thái</th><th>Kế hoạch</th><th>Nhiệm vụ</th><th>Cơ quan</th><th>Vai trò</th><th>Hạn</th></tr>\n");
    for r in rows {
        let deadline = r.deadline.map_or_else(
            || "không có hạn".to_string(),
            |d| d.format("%d/%m/%Y").to_string(),
        );
        text.push_str(&format!(
            "- {}: {} nhiệm vụ {} - {} ({}), hạn {}\n",
            r.state.vi(),
            r.plan,
            r.task,
            name(&r.agency),
            r.role.vi(),
            deadline
        ));
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            r.state.vi(),
            html_escape(&r.plan),
            html_escape(&r.task),
            html_escape(&name(&r.agency)),
            r.role.vi(),
            deadline
        ));
    }
    html.push_str("</table>\n");
    NewDelivery {
        agency: monitor.to_string(),
        channel: "email".into(),
        recipients: to.to_vec(),
        subject,
        body_text: text,
        body_html: format!("<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"></head><body>{html}</body></html>"),
        items: vec![],
        thread: format!("{monitor}.weekly-report"),
    }
}

fn failure_summary(
    admin: &str,
    dead: &[Delivery],
    stuck: &[Delivery],
    today: chrono::NaiveDate,
) -> NewDelivery {
    let mut text = String::new();
    let mut html = String::new();
    for (title, list) in [
        ("Thư gửi thất bại (không gửi lại)", dead),
        ("Thư đang thử lại nhiều lần", stuck),
    ] {
        if list.is_empty() {
            continue;
        }
        text.push_str(&format!("{title}:\n"));
        html.push_str(&format!("<h3>{title}</h3><ul>"));
        for d in list {
            let line = format!(
                "#{} gửi {} ({}), {} lần thử: {}",
                d.id,
                d.agency,
                d.recipients.join(", "),
                d.attempts,
                d.last_error.as_deref().unwrap_or("")
            );
            text.push_str(&format!("- {line}\n"));
            html.push_str(&format!("<li>{}</li>", html_escape(&line)));
        }
        text.push('\n');
        html.push_str("</ul>");
    }
    text.push_str("Xem chi tiết: nhacviec history --status dead\n");
    NewDelivery {
        agency: "_admin".into(),
        channel: "email".into(),
        recipients: vec![admin.to_string()],
        subject: format!(
            "[Nhắc việc] Báo cáo thư lỗi ngày {}: {} thất bại, {} đang thử lại",
            today.format("%d/%m/%Y"),
            dead.len(),
            stuck.len()
        ),
        body_text: text,
        body_html: format!("<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"></head><body>{html}</body></html>"),
        items: vec![],
        thread: "admin.failures".into(),
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
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
        Some(to) if d.channel == "email" => vec![to.clone()],
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

/// `send-test`: renders a sample digest for one agency and sends it at once, outside the
/// outbox (nothing is recorded). Returns the addresses it went to.
pub async fn send_test(
    config: &Config,
    templates: &Templates,
    mailer: &Mailer,
    agency: &str,
    now: DateTime<Tz>,
) -> Result<Vec<String>, String> {
    let a = config
        .agency(agency)
        .ok_or_else(|| format!("không có cơ quan mã \"{agency}\""))?;
    let mut ctx = Context::sample();
    ctx.agency.id = a.id.clone();
    ctx.agency.name = a.name.clone();
    ctx.today = now.format("%d/%m/%Y").to_string();
    ctx.monitor = config
        .monitor
        .as_deref()
        .and_then(|m| config.agency(m))
        .map(|m| m.name.clone())
        .unwrap_or_default();
    ctx.redirected_to = vec![];
    let recipients = match &config.email.redirect_all_to {
        Some(to) => {
            ctx.redirected_to = a.email.clone();
            vec![to.clone()]
        }
        None => a.email.clone(),
    };
    let rendered = templates.render_context(&ctx).map_err(|e| e.message)?;
    let stamp = Utc::now().timestamp_millis();
    let d = Delivery {
        id: -stamp,
        tick_at: now.to_rfc3339(),
        agency: a.id.clone(),
        channel: "email".into(),
        recipients: recipients.clone(),
        subject: format!("[THỬ] {}", rendered.subject),
        body_text: rendered.text,
        body_html: rendered.html,
        items: vec![],
        thread: format!("{}.test", a.id),
        message_id: format!("<nhacviec.test.{stamp}@{}>", domain_of(&config.email.from)),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        created_at: now.to_rfc3339(),
        sent_at: None,
    };
    let m = message(&d, &config.email).map_err(|e| format!("{e:?}"))?;
    match mailer.send(&m, stamp).await {
        Ok(()) => Ok(recipients),
        Err(SendError::Transient(e))
        | Err(SendError::RetryAt(_, e))
        | Err(SendError::Fallback(e)) => Err(format!("lỗi tạm thời (thử lại sau): {e}")),
        Err(SendError::Permanent(e)) => Err(format!("lỗi vĩnh viễn: {e}")),
    }
}

/// Delay before attempt `attempts + 1`: 1 minute doubling to 6 hours, with ±20 % jitter so
/// that many failed deliveries do not retry in one burst.
pub fn backoff(attempts: i64, id: i64) -> Duration {
    let base = 60i64
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(6 * 3600);
    // Deterministic jitter from the delivery id: spreads retries, testable.
    let jitter = ((id.wrapping_mul(2654435761) % 41) - 20) as f64 / 100.0;
    Duration::seconds((base as f64 * (1.0 + jitter)) as i64)
}

/// The senders of every configured channel.
pub struct Senders {
    pub mailer: Mailer,
    pub webhook: Option<crate::channels::webhook::Webhook>,
    pub zalo: Option<crate::channels::zalo::Zalo>,
    /// Each agency's channels in order, and its email addresses, for fallbacks.
    channels: std::collections::HashMap<String, (Vec<crate::config::Channel>, Vec<String>)>,
    redirect_all_to: Option<String>,
}

impl Senders {
    pub fn new(config: &Config, state_dir: &Path) -> Result<Senders, DeliverError> {
        let webhook = match &config.webhook {
            Some(w) => {
                Some(crate::channels::webhook::Webhook::new(w).map_err(DeliverError::Email)?)
            }
            None => None,
        };
        let zalo = match &config.zalo {
            Some(z) => {
                let contacts = config
                    .agencies
                    .iter()
                    .filter(|a| a.zalo_phone.is_some() || a.zalo_user_id.is_some())
                    .map(|a| {
                        (
                            a.id.clone(),
                            crate::channels::zalo::Contact {
                                name: a.name.clone(),
                                phone: a.zalo_phone.clone(),
                                user_id: a.zalo_user_id.clone(),
                            },
                        )
                    })
                    .collect();
                Some(
                    crate::channels::zalo::Zalo::new(z, config.timezone, contacts)
                        .map_err(DeliverError::Email)?,
                )
            }
            None => None,
        };
        let mut s = Senders::from_parts(Mailer::new(&config.email, state_dir)?, webhook);
        s.zalo = zalo;
        s.redirect_all_to = config.email.redirect_all_to.clone();
        s.channels = config
            .agencies
            .iter()
            .map(|a| (a.id.clone(), (a.channels.clone(), a.email.clone())))
            .collect();
        Ok(s)
    }

    /// Email and webhook only, no fallbacks (tests, tools).
    pub fn from_parts(
        mailer: Mailer,
        webhook: Option<crate::channels::webhook::Webhook>,
    ) -> Senders {
        Senders {
            mailer,
            webhook,
            zalo: None,
            channels: std::collections::HashMap::new(),
            redirect_all_to: None,
        }
    }

    async fn send(
        &self,
        store: &Store,
        d: &Delivery,
        email: &EmailSettings,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        match d.channel.as_str() {
            "email" => {
                let m = message(d, email)?;
                self.mailer.send(&m, d.id).await
            }
            "webhook" => match &self.webhook {
                Some(w) => w.send(&d.body_text, d.id, now).await,
                None => Err(SendError::Permanent(
                    "kênh webhook chưa được cấu hình ([webhook] url)".into(),
                )),
            },
            "zalo" => match &self.zalo {
                Some(z) => z.send(store, d, now).await,
                None => Err(SendError::Fallback(
                    "kênh Zalo chưa được cấu hình ([zalo])".into(),
                )),
            },
            other => Err(SendError::Permanent(format!(
                "kênh \"{other}\" chưa được hỗ trợ"
            ))),
        }
    }

    /// The delivery to make instead of `d` on the agency's next channel: email, when the
    /// agency has an address and email comes after `d`'s channel in its order (or is absent
    /// from it: email is the last resort).
    fn fallback(&self, d: &Delivery) -> Option<NewDelivery> {
        let (order, emails) = self.channels.get(&d.agency)?;
        if d.channel == "email" || emails.is_empty() {
            return None;
        }
        let pos = order.iter().position(|c| c.name() == d.channel);
        let email_pos = order
            .iter()
            .position(|c| *c == crate::config::Channel::Email);
        if let (Some(p), Some(e)) = (pos, email_pos) {
            if e < p {
                return None;
            }
        }
        let recipients = match &self.redirect_all_to {
            Some(to) => vec![to.clone()],
            None => emails.clone(),
        };
        Some(NewDelivery {
            agency: d.agency.clone(),
            channel: "email".into(),
            recipients,
            subject: d.subject.clone(),
            body_text: d.body_text.clone(),
            body_html: d.body_html.clone(),
            items: d.items.clone(),
            thread: d.thread.clone(),
        })
    }
}

/// Sends every ready delivery (up to the pool size at once) and records each outcome.
pub async fn send_ready(
    store: &Store,
    senders: &Senders,
    email: &EmailSettings,
    now: DateTime<Utc>,
) -> Result<Pass, DeliverError> {
    use futures_util::StreamExt;
    let mut pass = Pass::default();
    loop {
        let batch = store.ready(now, email.pool_size as usize * 4)?;
        if batch.is_empty() {
            break;
        }
        // At most `pool_size` in flight, each marked as soon as it completes: a crash can
        // only resend what was in flight (at-least-once, bounded by the pool).
        let mut results = futures_util::stream::iter(batch.iter())
            .map(|d| async move { (d, senders.send(store, d, email, now).await) })
            .buffer_unordered(email.pool_size.max(1) as usize);
        while let Some((d, outcome)) = results.next().await {
            pass.attempted(&d.channel, outcome.is_ok());
            match outcome {
                Ok(()) => {
                    store.mark_sent(d.id, Utc::now())?;
                    pass.sent += 1;
                }
                Err(SendError::Permanent(e)) => {
                    tracing::error!(delivery = d.id, agency = %d.agency, error = %e, "delivery failed permanently");
                    store.mark_dead(d.id, &e)?;
                    pass.dead += 1;
                }
                Err(SendError::Fallback(e)) => match senders.fallback(d) {
                    Some(new) => {
                        let id = store.record_extra(&new, &[], &[], &domain_of(&email.from))?;
                        store.make_ready(id, now)?;
                        tracing::warn!(delivery = d.id, agency = %d.agency, channel = %d.channel, fallback = id, error = %e, "falling back to email");
                        store.mark_dead(d.id, &format!("chuyển sang email (#{id}): {e}"))?;
                        store.mark_reported(d.id)?;
                        pass.dead += 1;
                    }
                    None => {
                        // Nowhere else to go: keep it queued, never lost.
                        let next = now + Duration::hours(6);
                        tracing::error!(delivery = d.id, agency = %d.agency, error = %e, retry_at = %next, "no fallback channel; kept queued");
                        store.mark_retry(d.id, next, &e)?;
                        pass.retrying += 1;
                    }
                },
                Err(SendError::RetryAt(at, e)) => {
                    pass.retry_or_give_up(store, d, at, &e, now, email.give_up_after_hours)?;
                }
                Err(SendError::Transient(e)) => {
                    let next = now + backoff(d.attempts, d.id);
                    pass.retry_or_give_up(store, d, next, &e, now, email.give_up_after_hours)?;
                }
            }
        }
    }
    zalo_stop_alert(store, email)?;
    Ok(pass)
}

/// When the Zalo channel has just stopped (a failed token refresh), tells the admin once.
fn zalo_stop_alert(store: &Store, email: &EmailSettings) -> Result<(), DeliverError> {
    if store.meta("zalo_stop_alert")?.as_deref() != Some("pending") {
        return Ok(());
    }
    let reason = store.meta("zalo_stopped")?.unwrap_or_default();
    match &email.admin {
        Some(admin) => {
            let text = format!(
                "Kênh Zalo đã dừng: {reason}\n\nCác thư nhắc qua Zalo được chuyển sang email (nếu cơ quan có email) hoặc giữ lại chờ gửi.\nĐăng nhập lại: nhacviec zalo login\n"
            );
            let d = redirected(
                NewDelivery {
                    agency: "_admin".into(),
                    channel: "email".into(),
                    recipients: vec![admin.clone()],
                    subject: "[Nhắc việc] Kênh Zalo đã dừng: cần đăng nhập lại".into(),
                    body_text: text.clone(),
                    body_html: format!(
                        "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"></head><body><pre>{}</pre></body></html>",
                        html_escape(&text)
                    ),
                    items: vec![],
                    thread: "admin.zalo".into(),
                },
                email,
            );
            store.record_extra(
                &d,
                &[],
                &[("zalo_stop_alert", "sent".into())],
                &domain_of(&email.from),
            )?;
        }
        None => store.set_meta("zalo_stop_alert", "no-admin")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_six_hours_with_bounded_jitter() {
        for id in 0..50 {
            let first = backoff(0, id).num_seconds();
            assert!((48..=72).contains(&first), "{first}");
            let late = backoff(30, id).num_seconds();
            assert!(
                (6 * 3600 * 8 / 10..=6 * 3600 * 12 / 10).contains(&late),
                "{late}"
            );
        }
        assert!(backoff(3, 7) > backoff(2, 7));
    }
}
