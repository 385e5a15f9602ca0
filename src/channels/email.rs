//! The email channel: a delivery becomes a MIME message (lettre) and goes out through the
//! configured transport: .eml files under the state directory, or SMTP (`smtp`: sessions,
//! TLS, classification of refusals).

use super::smtp::Smtp;
use super::{secret, SendError, SetupError};
use crate::config::{Channel, EmailSettings, Transport};
use crate::outbox::Delivery;
use lettre::address::Envelope;
use lettre::message::{header, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::Message;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The email sender: the settings a message is built with, and the transport.
pub struct Mailer {
    /// Shared (cloned into each blocking write), and kept off the `Sender` enum's size.
    settings: std::sync::Arc<EmailSettings>,
    /// Where the Date header's time is said (the province's, not UTC).
    tz: chrono_tz::Tz,
    transport: MailTransport,
}

enum MailTransport {
    File(std::sync::Arc<MailDir>),
    /// SMTP (plain, STARTTLS or implicit TLS) over our own pool of connections.
    Smtp(Box<Smtp>),
}

impl Mailer {
    /// Builds the transport. SMTP pools need a tokio runtime to be entered.
    pub fn new(
        settings: &EmailSettings,
        tz: chrono_tz::Tz,
        state_dir: &Path,
    ) -> Result<Mailer, SetupError> {
        let transport = match &settings.transport {
            Transport::File => {
                MailTransport::File(std::sync::Arc::new(MailDir::new(mail_dir(state_dir))))
            }
            Transport::Smtp { host, port, tls } => {
                let credentials = match &settings.user {
                    Some(user) => match secret::SMTP_PASSWORD.read() {
                        Some(pw) => Some(Credentials::new(user.clone(), pw)),
                        None => {
                            return Err(SetupError::MissingSecret {
                                channel: "email",
                                what: "mật khẩu SMTP (có khóa user)",
                                how: secret::SMTP_PASSWORD.how(),
                            })
                        }
                    },
                    None => None,
                };
                MailTransport::Smtp(Box::new(Smtp::new(
                    settings,
                    host,
                    *port,
                    *tls,
                    credentials,
                )?))
            }
        };
        Ok(Mailer {
            settings: std::sync::Arc::new(settings.clone()),
            tz,
            transport,
        })
    }

    /// How many deliveries this transport takes at once: the SMTP pool's size, or, for
    /// files, enough writers that their shared syncs cover many files each.
    pub fn parallelism(&self) -> usize {
        match &self.transport {
            MailTransport::File(_) => FILE_WRITERS.max(self.settings.pool_size as usize),
            _ => self.settings.pool_size.max(1) as usize,
        }
    }

    /// Closes the session breaker (after `nhacviec retry`).
    pub fn reset_breaker(&self) {
        if let MailTransport::Smtp(s) = &self.transport {
            s.reset_breaker();
        }
    }

    /// Ends the kept SMTP connections with QUIT (after a pass; at shutdown). For the file
    /// transport, says in the log where this pass's messages were written.
    pub async fn close_idle(&self) {
        match &self.transport {
            MailTransport::Smtp(s) => s.close_idle().await,
            MailTransport::File(dir) => {
                let files = dir.written.swap(0, std::sync::atomic::Ordering::SeqCst);
                if files > 0 {
                    tracing::info!(
                        files,
                        dir = %dir.dir.display(),
                        event = "eml_written", "chưa cấu hình máy chủ thư (transport = \"file\"): thư được ghi thành tệp .eml trong thư mục này"
                    );
                }
            }
        }
    }

    /// Talks to the server without sending anything (greeting, EHLO, TLS, login, QUIT), or
    /// checks the mail directory can be written: a line for `check --environment`.
    pub async fn probe(&self, state_dir: &Path) -> Result<String, super::ProbeError> {
        match &self.transport {
            MailTransport::Smtp(s) => s.probe().await,
            MailTransport::File(dir) => {
                let dir = dir.dir.clone();
                let probe = dir.join(".probe");
                crate::store::create_private_dir(&dir)
                    .and_then(|()| std::fs::write(&probe, b""))
                    .and_then(|()| std::fs::remove_file(&probe))
                    .map(|()| format!("ghi tệp .eml vào {}", dir.display()))
                    .map_err(|e| {
                        super::ProbeError::State(format!(
                            "không ghi được vào {} (thư mục trạng thái {}): {e}",
                            dir.display(),
                            state_dir.display()
                        ))
                    })
            }
        }
    }

    /// Sends one delivery. A digest is built (encoded) on the sending thread; a large message
    /// on the blocking pool, so the loop that records outcomes does not wait behind it.
    pub async fn send(&self, d: &Delivery) -> Result<(), SendError> {
        let id = d.id;
        let build = |d: &Delivery, settings: &EmailSettings, tz: chrono_tz::Tz| {
            let m = message(d, settings)?;
            let date = chrono::Utc::now().with_timezone(&tz).to_rfc2822();
            Ok::<_, SendError>((envelope_of(&m, settings)?, with_date(m.formatted(), &date)))
        };
        // A digest is built here, in tens of microseconds: handing each to the blocking pool
        // and back cost two thread switches a message, more than building it. A large
        // message (a report, attachments) is built there, not holding up the other sends.
        let (envelope, bytes) = if built_in_place(d) {
            let built = build(d, &self.settings, self.tz)?;
            // Still once pending, as an attempt through the pool was: the pass reads the
            // outcomes that ended together, and a refused login then stops the channel
            // before more attempts start (each would fail at once and be counted).
            tokio::task::yield_now().await;
            built
        } else {
            let (d, settings, tz) = (d.clone(), self.settings.clone(), self.tz);
            tokio::task::spawn_blocking(move || build(&d, &settings, tz))
                .await
                .map_err(|e| SendError::Transient(format!("lỗi nội bộ khi tạo thư: {e}")))??
        };
        match &self.transport {
            MailTransport::File(dir) => write_eml(dir, id, bytes).await,
            MailTransport::Smtp(smtp) => {
                // A server that accepts and then stalls must not hang the service: lettre's
                // own timeout covers connecting only.
                let limit = smtp.timeout() * 2 + Duration::from_secs(5);
                tokio::time::timeout(limit, smtp.send(&envelope, &bytes))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SendError::Transient(format!(
                            "máy chủ thư không trả lời sau {} giây",
                            limit.as_secs()
                        )))
                    })
            }
        }
    }
}

/// Whether a message is small enough to build on the sending thread (see `Mailer::send`).
fn built_in_place(d: &Delivery) -> bool {
    const IN_PLACE_BYTES: usize = 64 * 1024;
    d.attachments.is_empty() && d.body_text.len() + d.body_html.len() <= IN_PLACE_BYTES
}

/// Files written at once by the file transport (threads of the blocking pool, mostly waiting
/// for a shared sync).
const FILE_WRITERS: usize = 64;

/// Where the file transport writes: `mail` in the state directory.
pub fn mail_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("mail")
}

/// The file the file transport writes delivery `id` to.
pub fn eml_path(state_dir: &Path, id: i64) -> PathBuf {
    mail_dir(state_dir).join(eml_name(id))
}

/// `00000042.eml`; a test message (`send-test`, never recorded: a negative id) is
/// `thu-thu-<its time in ms>.eml`, apart from the deliveries.
fn eml_name(id: i64) -> String {
    if id < 0 {
        format!("thu-thu-{}.eml", id.unsigned_abs())
    } else {
        format!("{id:08}.eml")
    }
}

/// The mail directory of the file transport. Concurrent writers share their syncs.
struct MailDir {
    dir: PathBuf,
    /// Files written since the log last said so (after a pass).
    written: std::sync::atomic::AtomicU64,
    /// Message data written, not yet known durable: the next data sync covers them.
    data: GroupSync,
    /// Renames done: the next directory sync covers them.
    names: GroupSync,
}

/// Group commit: writers count what they did, and one sync started after a writer's step
/// covers it, so many writers that finish together pay for one sync, not one each.
struct GroupSync {
    done: std::sync::atomic::AtomicU64,
    synced: std::sync::Mutex<u64>,
}

impl GroupSync {
    fn new() -> GroupSync {
        GroupSync {
            done: std::sync::atomic::AtomicU64::new(0),
            synced: std::sync::Mutex::new(0),
        }
    }

    /// Counts one step as done, then returns once a `sync` that started after it has
    /// succeeded (this writer's, or another's while this one waited for the lock).
    fn after(&self, sync: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        let mine = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self
            .synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *synced >= mine {
            return Ok(());
        }
        // Every step counted by now happened before this sync starts.
        let covers = self.done.load(Ordering::SeqCst);
        sync()?;
        *synced = covers;
        Ok(())
    }
}

impl MailDir {
    fn new(dir: PathBuf) -> MailDir {
        MailDir {
            dir,
            written: std::sync::atomic::AtomicU64::new(0),
            data: GroupSync::new(),
            names: GroupSync::new(),
        }
    }

    /// Writes a message atomically and durably: a temporary file, its data made durable,
    /// renamed over the final name, then the directory made durable; a crash leaves the whole
    /// file or none, and a file reported written survives a power cut. The name is the
    /// delivery id, so a resend after a crash replaces the same file.
    ///
    /// Writes run side by side on the blocking pool and share their syncs (see [`GroupSync`]):
    /// the data of every file written so far is flushed by one `syncfs` of the mail
    /// directory's file system (Linux; elsewhere each file is synced), and the renames by one
    /// sync of the directory.
    fn write(&self, id: i64, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        crate::store::create_private_dir(&self.dir)?;
        let path = self.dir.join(eml_name(id));
        let tmp = self.dir.join(format!(".{id:08}.eml.tmp"));
        // Private whatever the umask: a message names people and their tasks.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(crate::store::FILE_MODE)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(crate::store::FILE_MODE))?;
        f.write_all(bytes)?;
        if cfg!(target_os = "linux") {
            drop(f);
            self.data.after(|| sync_file_system(&self.dir))?;
        } else {
            f.sync_all()?;
            drop(f);
        }
        std::fs::rename(&tmp, &path)?;
        self.names
            .after(|| std::fs::File::open(&self.dir)?.sync_all())?;
        self.written
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// `syncfs(2)` on the file system holding `dir`: every file's written data made durable in
/// one journal commit.
#[cfg(target_os = "linux")]
fn sync_file_system(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let d = std::fs::File::open(dir)?;
    // SAFETY: syncfs takes an open file descriptor, which `d` holds for the call.
    if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// [`MailDir::write`] on the blocking pool.
async fn write_eml(
    dir: &std::sync::Arc<MailDir>,
    id: i64,
    bytes: Vec<u8>,
) -> Result<(), SendError> {
    let dir = dir.clone();
    match tokio::task::spawn_blocking(move || dir.write(id, &bytes)).await {
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
    // Answers go to the monitoring office, not to the service's unattended mailbox.
    // A plan with its own office (`[plan] monitor`): that office's address.
    if let Some((monitor, address)) = email.reply_to_of(d.items.iter().map(|i| i.plan.as_str())) {
        if d.agency != monitor {
            if let Ok(mb) = address.parse::<Mailbox>() {
                builder = builder.reply_to(mb);
            }
        }
    }
    // One thread per agency and plan in mail clients.
    let thread = format!("<nhacviec.thread.{}@{domain}>", d.thread);
    builder = builder
        .header(header::InReplyTo::from(thread.clone()))
        .header(header::References::from(thread));
    // Line ends made CRLF here, in one pass: lettre fixes them by inserting each `\r` into
    // the string, which is quadratic (13 s for a report of 50,000 rows).
    // The plain part in quoted-printable: its lines stay lines in the raw message (lettre
    // would pick base64 for Vietnamese text), so `cat` of an .eml reads.
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(header::ContentType::TEXT_PLAIN)
                .header(header::ContentTransferEncoding::QuotedPrintable)
                .body(crlf(&d.body_text)),
        )
        .singlepart(SinglePart::html(crlf(&d.body_html)));
    let body = if d.attachments.is_empty() {
        body
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &d.attachments {
            let kind = header::ContentType::parse(&a.content_type)
                .map_err(|e| SendError::Permanent(format!("tệp đính kèm {}: kiểu {e}", a.name)))?;
            mixed = mixed.singlepart(
                lettre::message::Attachment::new(a.name.clone()).body(a.bytes.clone(), kind),
            );
        }
        mixed
    };
    builder
        .multipart(body)
        .map_err(|e| SendError::Permanent(format!("không tạo được thư: {e}")))
}

/// The SMTP envelope: the message's recipients, from `envelope_from` if set (bounces go
/// there), else from the From address.
fn envelope_of(m: &Message, email: &EmailSettings) -> Result<Envelope, SendError> {
    let Some(sender) = &email.envelope_from else {
        return Ok(m.envelope().clone());
    };
    let sender: lettre::Address = sender
        .parse()
        .map_err(|e| SendError::Permanent(format!("envelope_from không hợp lệ: {e}")))?;
    Envelope::new(Some(sender), m.envelope().to().to_vec())
        .map_err(|e| SendError::Permanent(format!("không tạo được phong bì thư: {e}")))
}

/// The formatted message with its Date header said in the province's time ("+0700"), as its
/// officials' mail clients show it: lettre writes only UTC, and drops a Date it cannot parse.
fn with_date(message: Vec<u8>, date: &str) -> Vec<u8> {
    let head_end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    let at = if message.starts_with(b"Date: ") {
        Some(0)
    } else {
        message[..head_end]
            .windows(8)
            .position(|w| w == b"\r\nDate: ")
            .map(|i| i + 2)
    };
    let Some(start) = at else {
        return message;
    };
    let end = message[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(message.len(), |i| start + i);
    let mut out = Vec::with_capacity(message.len() + 8);
    out.extend_from_slice(&message[..start]);
    out.extend_from_slice(b"Date: ");
    out.extend_from_slice(date.as_bytes());
    out.extend_from_slice(&message[end..]);
    out
}

/// `text` with every line end `\r\n` (a `\n` without its `\r` gets one), as lettre wants
/// it: lettre then has nothing left to insert.
pub fn crlf(text: &str) -> String {
    let extra = text.bytes().filter(|&b| b == b'\n').count();
    let mut out = String::with_capacity(text.len() + extra);
    let mut rest = text;
    while let Some(i) = rest.find('\n') {
        let line = &rest[..i];
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push_str("\r\n");
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_header_is_replaced_and_nothing_else() {
        let m = b"From: a@b.vn\r\nDate: Fri, 04 Dec 2026 23:37:47 +0000\r\nSubject: x\r\n\r\nDate: body\r\n".to_vec();
        let out = with_date(m, "Sat, 05 Dec 2026 06:37:47 +0700");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From: a@b.vn\r\nDate: Sat, 05 Dec 2026 06:37:47 +0700\r\nSubject: x\r\n\r\nDate: body\r\n"
        );
        let first = with_date(b"Date: x\r\n\r\nb".to_vec(), "y");
        assert_eq!(first, b"Date: y\r\n\r\nb");
        let none = with_date(b"Subject: x\r\n\r\nDate: z".to_vec(), "y");
        assert_eq!(none, b"Subject: x\r\n\r\nDate: z");
    }

    #[test]
    fn replies_go_to_the_monitoring_office_and_the_plain_part_is_quoted_printable() {
        let settings = EmailSettings {
            reply_to: Some(("vp".into(), "tonghop@tinh.example".into())),
            ..EmailSettings::default()
        };
        let d = |agency: &str| Delivery {
            id: 1,
            tick_at: chrono::DateTime::UNIX_EPOCH,
            agency: agency.into(),
            channel: Channel::Email,
            recipients: vec!["a@tinh.example".into()],
            subject: "Nhắc việc".into(),
            body_text: "Kính gửi: Sở Nội vụ\nHạn: 31/12/2022\n".into(),
            body_html: "<p>Kính gửi</p>".into(),
            items: vec![],
            thread: "t".into(),
            attachments: vec![],
            message_id: "<1@tinh.example>".into(),
            status: crate::outbox::DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            sent_at: None,
            trial: false,
            handed_over: None,
        };
        let raw =
            String::from_utf8(message(&d("so-noi-vu"), &settings).unwrap().formatted()).unwrap();
        assert!(raw.contains("Reply-To: tonghop@tinh.example"), "{raw}");
        assert!(
            raw.contains("Content-Transfer-Encoding: quoted-printable"),
            "{raw}"
        );
        // Lines of the plain part stay lines: readable with `cat`.
        assert!(raw.contains("H=E1=BA=A1n: 31/12/2022"), "{raw}");
        let own = String::from_utf8(message(&d("vp"), &settings).unwrap().formatted()).unwrap();
        assert!(!own.contains("\nReply-To:"), "the office's own mail: {own}");
    }

    #[test]
    fn line_ends_become_crlf_once() {
        assert_eq!(crlf("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
        assert_eq!(crlf("\n\nx"), "\r\n\r\nx");
        assert_eq!(crlf("không xuống dòng"), "không xuống dòng");
        assert_eq!(crlf("a\rb"), "a\rb");
        assert_eq!(crlf(""), "");
    }

    #[test]
    fn a_group_sync_covers_the_steps_done_before_it_started() {
        let g = GroupSync::new();
        let mut syncs = 0;
        g.after(|| {
            syncs += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(syncs, 1);
        // Steps done while a sync is pending are covered by one sync.
        let g = std::sync::Arc::new(GroupSync::new());
        let count = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    g.after(|| {
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Ok(())
                    })
                    .unwrap()
                });
            }
        });
        let n = count.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..8).contains(&n), "{n} syncs for 8 steps");
        assert_eq!(*g.synced.lock().unwrap(), 8);
        // A failed sync covers nothing: the next step syncs again.
        let g = GroupSync::new();
        assert!(g.after(|| Err(std::io::Error::other("disk"))).is_err());
        let mut again = false;
        g.after(|| {
            again = true;
            Ok(())
        })
        .unwrap();
        assert!(again);
    }

    #[test]
    fn files_are_whole_and_replaced_by_a_resend_with_no_temporary_left() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = std::sync::Arc::new(MailDir::new(tmp.path().join("mail")));
        std::thread::scope(|s| {
            for t in 0..4i64 {
                let dir = dir.clone();
                s.spawn(move || {
                    for i in 0..25 {
                        dir.write(t * 100 + i, format!("thư {t} {i}").as_bytes())
                            .unwrap();
                    }
                });
            }
        });
        dir.write(3, b"resent").unwrap();
        let names: Vec<String> = std::fs::read_dir(tmp.path().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 100, "{names:?}");
        assert!(names
            .iter()
            .all(|n| n.ends_with(".eml") && !n.starts_with('.')));
        let text = std::fs::read_to_string(tmp.path().join("mail/00000003.eml")).unwrap();
        assert_eq!(text, "resent");
        // Every file's data and every rename is covered by a sync.
        assert_eq!(*dir.data.synced.lock().unwrap(), 101);
        assert_eq!(*dir.names.synced.lock().unwrap(), 101);
    }

    #[test]
    fn an_attachment_makes_a_mixed_message_with_the_file() {
        let d = Delivery {
            attachments: vec![
                crate::messages::Attachment {
                    name: "tinh-hinh-2022-05-25.xlsx".into(),
                    content_type:
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                    bytes: b"PK\x03\x04 bang tinh".to_vec(),
                },
                crate::messages::Attachment {
                    name: "bao-cao-2022-05-25.docx".into(),
                    content_type: crate::report_doc::DOCX_TYPE.into(),
                    bytes: b"PK\x03\x04 bao cao".to_vec(),
                },
            ],
            ..Delivery::unrecorded(
                crate::messages::NewDelivery {
                    agency: "vp".into(),
                    channel: Channel::Email,
                    recipients: vec!["vp@tinh.example".into()],
                    subject: "Báo cáo tuần".into(),
                    body_text: "Tình hình".into(),
                    body_html: "<p>Tình hình</p>".into(),
                    items: vec![],
                    thread: "t".into(),
                    attachments: vec![],
                },
                chrono::Utc::now(),
                "tinh.example",
            )
        };
        let settings = EmailSettings::default();
        let raw = String::from_utf8(message(&d, &settings).unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/mixed"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("filename=\"tinh-hinh-2022-05-25.xlsx\""),
            "{raw}"
        );
        assert!(
            raw.contains("filename=\"bao-cao-2022-05-25.docx\""),
            "{raw}"
        );
        let bad = Delivery {
            attachments: vec![crate::messages::Attachment {
                name: "x".into(),
                content_type: "không phải kiểu".into(),
                bytes: vec![],
            }],
            ..d
        };
        assert!(matches!(
            message(&bad, &settings),
            Err(SendError::Permanent(_))
        ));
    }
}
