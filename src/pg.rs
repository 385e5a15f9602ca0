//! PostgreSQL for two servers (issue 28): where the database is (`NHACVIEC_DATABASE_URL` or the
//! systemd credential `database-url`), its errors in words an operator acts on, and the
//! leader's lock: of any number of `run` instances on one database, the one holding a
//! session-level advisory lock on a connection of its own evaluates, records and sends; the
//! others serve the pages and take over when the leader's session ends (its process killed,
//! its server lost: PostgreSQL ends the session and frees the lock).

use std::fmt;
use std::path::Path;

/// The advisory lock every instance of one database competes for ("nhacviec" in ASCII).
pub const LEADER_LOCK: i64 = 0x6e68_6163_7669_6563;

/// A connection string, checked, whose password is never shown.
#[derive(Clone)]
pub struct DatabaseUrl {
    text: String,
    /// The async driver's, which the blocking one is made from.
    config: tokio_postgres::Config,
}

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("địa chỉ cơ sở dữ liệu {where_} không hợp lệ: {reason} (dạng đúng: postgres://nhacviec:MẬT-KHẨU@máy-chủ:5432/nhacviec)")]
    BadUrl { where_: String, reason: String },
    #[error("không đọc được {path}: {reason}")]
    Credential { path: String, reason: String },
    #[error("máy chủ cơ sở dữ liệu {url} từ chối đăng nhập của người dùng {user}: sai mật khẩu hoặc người dùng không có quyền (pg_hba.conf)")]
    Refused { url: String, user: String },
    #[error("cơ sở dữ liệu {url} chưa có (tạo bằng `createdb -O {user} {dbname}` trên máy chủ PostgreSQL)")]
    NoDatabase {
        url: String,
        user: String,
        dbname: String,
    },
    #[error("không kết nối được máy chủ cơ sở dữ liệu {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("cơ sở dữ liệu {url} báo lỗi: {reason}")]
    Query { url: String, reason: String },
}

impl PgError {
    /// Whether trying again later may succeed (the server down or restarting, the network),
    /// as opposed to a mistake in the address or the credentials, which waits for a person.
    pub fn worth_retrying(&self) -> bool {
        matches!(self, PgError::Unreachable { .. } | PgError::Query { .. })
    }
}

impl DatabaseUrl {
    /// Reads a connection string; `where_` names where it came from in the error.
    pub fn parse(text: &str, where_: &str) -> Result<DatabaseUrl, PgError> {
        let text = text.trim();
        let bad = |reason: String| PgError::BadUrl {
            where_: where_.to_string(),
            reason,
        };
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(bad("phải bắt đầu bằng postgres://".into()));
        }
        let config: tokio_postgres::Config = text.parse().map_err(|e| bad(format!("{e}")))?;
        if config.get_hosts().is_empty() {
            return Err(bad("thiếu tên máy chủ".into()));
        }
        if config.get_user().is_none() {
            return Err(bad("thiếu tên người dùng".into()));
        }
        Ok(DatabaseUrl {
            text: text.to_string(),
            config,
        })
    }

    /// The database the service uses, if any: `NHACVIEC_DATABASE_URL`, else the file
    /// `$CREDENTIALS_DIRECTORY/database-url` (systemd's `LoadCredential=`); none means SQLite.
    pub fn from_env() -> Result<Option<DatabaseUrl>, PgError> {
        if let Some(v) = std::env::var_os("NHACVIEC_DATABASE_URL").filter(|v| !v.is_empty()) {
            let v = v.to_str().ok_or_else(|| PgError::BadUrl {
                where_: "NHACVIEC_DATABASE_URL".into(),
                reason: "không phải UTF-8".into(),
            })?;
            return DatabaseUrl::parse(v, "NHACVIEC_DATABASE_URL").map(Some);
        }
        let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
            return Ok(None);
        };
        let path = Path::new(&dir).join("database-url");
        match std::fs::read_to_string(&path) {
            Ok(text) => DatabaseUrl::parse(&text, &path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PgError::Credential {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The user name in the address.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
    }

    fn dbname(&self) -> &str {
        self.config.get_dbname().unwrap_or(self.user())
    }

    /// A new connection; its errors said in words (see [`PgError`]).
    pub fn connect(&self) -> Result<postgres::Client, PgError> {
        postgres::Config::from(self.session())
            .connect(postgres::NoTls)
            .map_err(|e| self.error(&e))
    }

    /// A new connection for the async driver, on the caller's runtime: its client, and the
    /// connection to drive (spawned by the caller).
    pub async fn connect_async(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
        ),
        PgError,
    > {
        self.session()
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| self.error(&e))
    }

    /// The address with every session's settings.
    fn session(&self) -> tokio_postgres::Config {
        let mut config = self.config.clone();
        // A standby notices a dead server or network within about half a minute even
        // when idle, not after the kernel's two hours.
        config
            .keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(10))
            .keepalives_interval(std::time::Duration::from_secs(5))
            .keepalives_retries(3)
            .application_name("nhacviec");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config
    }

    /// A driver error in words.
    pub fn error(&self, e: &postgres::Error) -> PgError {
        use postgres::error::SqlState;
        let url = self.to_string();
        match e.code() {
            Some(c)
                if *c == SqlState::INVALID_PASSWORD
                    || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                PgError::Refused {
                    url,
                    user: self.user().to_string(),
                }
            }
            Some(c) if *c == SqlState::INVALID_CATALOG_NAME => PgError::NoDatabase {
                url,
                user: self.user().to_string(),
                dbname: self.dbname().to_string(),
            },
            Some(_) => PgError::Query {
                url,
                reason: e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string()),
            },
            None => PgError::Unreachable {
                url,
                reason: unreachable_reason(e),
            },
        }
    }
}

/// Why a connection failed, from the innermost cause (the driver's own text is only "error
/// connecting to server").
fn unreachable_reason(e: &postgres::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut innermost = e.to_string();
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    if innermost.contains("Connection refused") {
        "máy chủ không nhận kết nối ở cổng này (PostgreSQL chưa chạy, sai cổng, hoặc listen_addresses chưa mở)".into()
    } else if e.is_closed() {
        "kết nối bị đóng".into()
    } else {
        innermost
    }
}

/// The address without its password: safe in logs, errors and `/healthz`.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.text) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                write!(f, "{u}")
            }
            // A key=value string or a form url cannot read: the host and database only.
            Err(_) => write!(
                f,
                "postgres://{}@{:?}/{}",
                self.user(),
                self.config.get_hosts().first(),
                self.dbname()
            ),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// This instance's claim to lead: a connection of its own holding [`LEADER_LOCK`] for as long
/// as its session lives. Losing the connection is losing the lead.
pub struct Leadership {
    url: DatabaseUrl,
    client: Option<postgres::Client>,
    leading: bool,
}

impl Leadership {
    pub fn new(url: DatabaseUrl) -> Leadership {
        Leadership {
            url,
            client: None,
            leading: false,
        }
    }

    /// Whether this instance leads after this call: if it did, its session is checked alive
    /// (an error or a closed connection means it no longer does: it must stop sending at
    /// once); if not, the lock is tried (never waited for). A standby calls it every few
    /// seconds.
    pub fn check(&mut self) -> Result<bool, PgError> {
        let result = self.try_check();
        if result.is_err() {
            // The session, and with it the lock, is gone or unknown: start over next time.
            self.client = None;
            self.leading = false;
        }
        result
    }

    fn try_check(&mut self) -> Result<bool, PgError> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.leading = false;
            self.client = Some(self.url.connect()?);
        }
        let url = &self.url;
        let Some(client) = self.client.as_mut() else {
            return Ok(false);
        };
        if self.leading {
            // Still ours if this session is alive: the lock ends only with it.
            let row = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1)",
                    &[&LEADER_LOCK],
                )
                .map_err(|e| url.error(&e))?;
            self.leading = row.get(0);
        } else {
            let row = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])
                .map_err(|e| url.error(&e))?;
            self.leading = row.get(0);
        }
        Ok(self.leading)
    }

    /// Whether the last check found this instance leading.
    pub fn leading(&self) -> bool {
        self.leading
    }

    /// The server's process id of the session holding the lock (for a test, or to end a
    /// stuck leader's session by hand with `pg_terminate_backend`).
    pub fn session_pid(&mut self) -> Result<Option<i32>, PgError> {
        let url = &self.url;
        match self.client.as_mut() {
            Some(c) => c
                .query_one("SELECT pg_backend_pid()", &[])
                .map(|r| Some(r.get(0)))
                .map_err(|e| url.error(&e)),
            None => Ok(None),
        }
    }
}
