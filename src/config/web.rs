//! `[web]` (the agencies' pages: where they listen, the public address links use, how long a
//! link lives, which reverse proxy is trusted) and the monitoring office's contact
//! (`[monitor]`), checked.

use super::diag::{Diagnostic, Severity, Source};
use super::raw;

/// Default listen address: loopback, behind a reverse proxy that terminates TLS.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8088";
pub const DEFAULT_LINK_DAYS: u32 = 60;
/// The largest file attached to an answer, in MB, unless `max_upload_mb` says otherwise.
pub const DEFAULT_MAX_UPLOAD_MB: u32 = 10;
pub const MAX_UPLOAD_MB_RANGE: std::ops::RangeInclusive<i64> = 1..=100;
/// All the attached files together, in MB, unless `upload_quota_mb` says otherwise.
pub const DEFAULT_UPLOAD_QUOTA_MB: u32 = 2048;
pub const UPLOAD_QUOTA_MB_RANGE: std::ops::RangeInclusive<i64> = 1..=1_048_576;
/// How far past the current deadline an agency may ask for, in days, unless
/// `max_extension_days` says otherwise.
pub const DEFAULT_MAX_EXTENSION_DAYS: u32 = 365;
/// At most five years: the office's own bound on a granted extension
/// (`crate::extension::MAX_YEARS`).
pub const MAX_EXTENSION_DAYS_RANGE: std::ops::RangeInclusive<i64> = 1..=1826;
/// Answers one agency may give in a local day, unless `max_answers_per_day` says otherwise:
/// far more than a real day's work, few enough that a script cannot fill the disk.
pub const DEFAULT_MAX_ANSWERS_PER_DAY: u32 = 50;
pub const MAX_ANSWERS_PER_DAY_RANGE: std::ops::RangeInclusive<i64> = 1..=10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    pub listen: std::net::SocketAddr,
    /// Without a trailing slash: links are `{public_url}/a/{token}`.
    pub public_url: String,
    pub link_days: u32,
    /// The reverse proxy whose X-Forwarded-For is believed (the client address it names).
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// SHA-256 of the monitoring office's dashboard key (`admin_token = "sha256:…"`): the key
    /// itself is never in the config.
    pub admin_token: Option<[u8; 32]>,
    /// The largest file an answer may carry, in MB (`max_upload_mb`, 1–100).
    pub max_upload_mb: u32,
    /// All the attached files together, in MB (`upload_quota_mb`).
    pub upload_quota_mb: u32,
    /// The latest date an agency may propose: this many days after the current deadline
    /// (`max_extension_days`, 1–1826).
    pub max_extension_days: u32,
    /// Answers one agency may give in a day (`max_answers_per_day`, 1–10,000): past it the
    /// page refuses (429), nothing stored.
    pub max_answers_per_day: u32,
}

/// A dashboard key shorter than this is never accepted, whatever its hash: 22 characters of
/// base64 or 32 hex digits are 128 bits, and `admin-link --new-token` makes 64 hex digits.
pub const MIN_ADMIN_KEY_CHARS: usize = 22;

impl WebSettings {
    /// Whether `key` opens the dashboard as the configured `admin_token`: long enough
    /// ([`MIN_ADMIN_KEY_CHARS`]) and its SHA-256 that hash, compared in constant time (a guesser
    /// learns nothing from how long a refusal takes).
    pub fn admin_key_matches(&self, key: &str) -> bool {
        use sha2::Digest;
        let Some(hash) = self.admin_token else {
            return false;
        };
        let given: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
        let same = given
            .iter()
            .zip(hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        same && key.chars().count() >= MIN_ADMIN_KEY_CHARS
    }

    /// The largest attached file, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        u64::from(self.max_upload_mb) * 1024 * 1024
    }

    /// All attached files together, in bytes.
    pub fn upload_quota_bytes(&self) -> u64 {
        u64::from(self.upload_quota_mb) * 1024 * 1024
    }
}

/// The monitoring office as agencies see it in a reminder: who to call or write to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorContact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub fn web(
    src: &Source,
    spanned: &toml::Spanned<raw::Web>,
    diags: &mut Vec<Diagnostic>,
) -> Option<WebSettings> {
    let w = spanned.get_ref();
    let mut ok = true;
    let listen = match &w.listen {
        None => DEFAULT_LISTEN.parse().ok()?,
        Some(l) => match l.get_ref().trim().parse::<std::net::SocketAddr>() {
            Ok(a) if a.ip().is_loopback() => a,
            Ok(a) if w.public_listen.as_ref().is_some_and(|p| *p.get_ref()) => a,
            Ok(a) => {
                diags.push(
                    src.diag(
                        Severity::Error,
                        l.span(),
                        format!(
                            "[web] chỉ nghe trên địa chỉ nội bộ (127.0.0.1 hoặc ::1), không phải {}: các trang mở thẳng ra mạng, không có TLS của reverse proxy",
                            a.ip()
                        ),
                    )
                    .with_help("ví dụ listen = \"127.0.0.1:8088\" với nginx ở phía trước; nếu thật sự cần nghe trên địa chỉ này, ghi thêm public_listen = true"),
                );
                ok = false;
                a
            }
            Err(_) => {
                diags.push(
                    src.diag(
                        Severity::Error,
                        l.span(),
                        format!("địa chỉ \"{}\" không hợp lệ", l.get_ref()),
                    )
                    .with_help("ví dụ listen = \"127.0.0.1:8088\" (reverse proxy ở phía trước)"),
                );
                ok = false;
                DEFAULT_LISTEN.parse().ok()?
            }
        },
    };
    let public_url = match &w.public_url {
        None => {
            diags.push(
                src.diag(
                    Severity::Error,
                    spanned.span(),
                    "[web] cần public_url: địa chỉ mà cơ quan mở liên kết trong thư nhắc",
                )
                .with_help("ví dụ public_url = \"https://nhacviec.haugiang.gov.vn\""),
            );
            ok = false;
            String::new()
        }
        Some(u) => match check_public_url(u.get_ref()) {
            Ok(url) => url,
            Err(msg) => {
                diags.push(
                    src.diag(Severity::Error, u.span(), msg)
                        .with_help("ví dụ public_url = \"https://nhacviec.haugiang.gov.vn\""),
                );
                ok = false;
                String::new()
            }
        },
    };
    let link_days = match &w.link_days {
        None => DEFAULT_LINK_DAYS,
        Some(d) if (1..=366).contains(d.get_ref()) => *d.get_ref() as u32,
        Some(d) => {
            diags.push(
                src.diag(
                    Severity::Error,
                    d.span(),
                    format!(
                        "link_days phải từ 1 đến 366 ngày, không phải {}",
                        d.get_ref()
                    ),
                )
                .with_help("mặc định 60 ngày"),
            );
            ok = false;
            DEFAULT_LINK_DAYS
        }
    };
    let mut trusted_proxy = Vec::new();
    for p in &w.trusted_proxy {
        match p.get_ref().trim().parse::<std::net::IpAddr>() {
            Ok(ip) => trusted_proxy.push(ip),
            Err(_) => {
                diags.push(
                    src.diag(
                        Severity::Error,
                        p.span(),
                        format!("\"{}\" không phải địa chỉ IP", p.get_ref()),
                    )
                    .with_help(
                        "ghi địa chỉ IP của reverse proxy, ví dụ trusted_proxy = [\"127.0.0.1\"]",
                    ),
                );
                ok = false;
            }
        }
    }
    let admin_token = match &w.admin_token {
        None => None,
        Some(t) => match parse_token_hash(t.get_ref()) {
            Some(h) if is_known_example(&h) => {
                diags.push(
                    src.diag(
                        Severity::Error,
                        t.span(),
                        "admin_token là mã băm của một khóa ví dụ ai cũng đoán được (như \"test\", \"admin\", \"password\"): ai biết khóa đó sẽ mở được trang theo dõi cùng mọi liên kết của các cơ quan",
                    )
                    .with_help("tạo khóa riêng: openssl rand -hex 32; lấy mã băm: printf %s \"<khóa>\" | sha256sum; hoặc dùng liên kết từ nhacviec admin-link"),
                );
                ok = false;
                None
            }
            Some(h) => Some(h),
            None => {
                diags.push(
                    src.diag(
                        Severity::Error,
                        t.span(),
                        "admin_token phải là mã băm SHA-256 của khóa trang theo dõi, dạng \"sha256:\" và 64 chữ số hex (không ghi chính khóa vào cấu hình)",
                    )
                    .with_help("tạo khóa: openssl rand -hex 32; lấy mã băm: printf %s \"<khóa>\" | sha256sum"),
                );
                ok = false;
                None
            }
        },
    };
    let mut megabytes = |value: &Option<toml::Spanned<i64>>,
                         key: &str,
                         range: std::ops::RangeInclusive<i64>,
                         default: u32| match value {
        None => default,
        Some(v) if range.contains(v.get_ref()) => u32::try_from(*v.get_ref()).unwrap_or(default),
        Some(v) => {
            diags.push(
                src.diag(
                    Severity::Error,
                    v.span(),
                    format!(
                        "{key} phải từ {} đến {} MB, không phải {}",
                        range.start(),
                        range.end(),
                        v.get_ref()
                    ),
                )
                .with_help(format!("mặc định {default} MB")),
            );
            ok = false;
            default
        }
    };
    let max_upload_mb = megabytes(
        &w.max_upload_mb,
        "max_upload_mb",
        MAX_UPLOAD_MB_RANGE,
        DEFAULT_MAX_UPLOAD_MB,
    );
    let upload_quota_mb = megabytes(
        &w.upload_quota_mb,
        "upload_quota_mb",
        UPLOAD_QUOTA_MB_RANGE,
        DEFAULT_UPLOAD_QUOTA_MB,
    );
    let max_extension_days = match &w.max_extension_days {
        None => DEFAULT_MAX_EXTENSION_DAYS,
        Some(d) if MAX_EXTENSION_DAYS_RANGE.contains(d.get_ref()) => {
            u32::try_from(*d.get_ref()).unwrap_or(DEFAULT_MAX_EXTENSION_DAYS)
        }
        Some(d) => {
            diags.push(
                src.diag(
                    Severity::Error,
                    d.span(),
                    format!(
                        "max_extension_days phải từ {} đến {} ngày (5 năm), không phải {}",
                        MAX_EXTENSION_DAYS_RANGE.start(),
                        MAX_EXTENSION_DAYS_RANGE.end(),
                        d.get_ref()
                    ),
                )
                .with_help(format!(
                    "mặc định {DEFAULT_MAX_EXTENSION_DAYS} ngày sau hạn hiện tại"
                )),
            );
            ok = false;
            DEFAULT_MAX_EXTENSION_DAYS
        }
    };
    let max_answers_per_day = match &w.max_answers_per_day {
        None => DEFAULT_MAX_ANSWERS_PER_DAY,
        Some(n) if MAX_ANSWERS_PER_DAY_RANGE.contains(n.get_ref()) => {
            u32::try_from(*n.get_ref()).unwrap_or(DEFAULT_MAX_ANSWERS_PER_DAY)
        }
        Some(n) => {
            diags.push(
                src.diag(
                    Severity::Error,
                    n.span(),
                    format!(
                        "max_answers_per_day phải từ {} đến {}, không phải {}",
                        MAX_ANSWERS_PER_DAY_RANGE.start(),
                        MAX_ANSWERS_PER_DAY_RANGE.end(),
                        n.get_ref()
                    ),
                )
                .with_help(format!(
                    "mặc định {DEFAULT_MAX_ANSWERS_PER_DAY} câu trả lời mỗi ngày cho một cơ quan"
                )),
            );
            ok = false;
            DEFAULT_MAX_ANSWERS_PER_DAY
        }
    };
    ok.then_some(WebSettings {
        listen,
        public_url,
        link_days,
        trusted_proxy,
        admin_token,
        max_upload_mb,
        upload_quota_mb,
        max_extension_days,
        max_answers_per_day,
    })
}

/// Keys that appear in examples and guides, the README's own among them ("test"): their
/// hashes are public, so a dashboard opened by one is open to anyone.
pub const KNOWN_EXAMPLE_KEYS: &[&str] = &[
    "test", "admin", "password", "123456", "nhacviec", "changeme", "secret", "12345678",
];

/// Whether `hash` is the SHA-256 of one of [`KNOWN_EXAMPLE_KEYS`].
fn is_known_example(hash: &[u8; 32]) -> bool {
    use sha2::Digest;
    KNOWN_EXAMPLE_KEYS
        .iter()
        .any(|k| sha2::Sha256::digest(k.as_bytes()).as_slice() == hash.as_slice())
}

/// "sha256:<64 hex>" (or the hex alone, as `sha256sum` prints it, with or without its "  -").
fn parse_token_hash(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    let t = t.strip_prefix("sha256:").unwrap_or(t);
    let t = t.strip_suffix('-').unwrap_or(t).trim();
    let bytes = hex::decode(t).ok()?;
    bytes.try_into().ok()
}

/// https anywhere; http only to this machine (a test or a local trial), since a link is a
/// credential and must not cross a network in clear.
fn check_public_url(text: &str) -> Result<String, crate::text::Invalid> {
    let url = url::Url::parse(text.trim())
        .map_err(|_| format!("\"{text}\" không phải một địa chỉ web (URL) hợp lệ"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("public_url không được chứa tên đăng nhập hay mật khẩu".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("public_url không được có phần ?… hay #…".into());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("\"{text}\" thiếu tên máy").into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "public_url phải dùng https (liên kết trong thư là quyền thao tác của cơ quan), không phải \"{text}\"; http chỉ dùng cho 127.0.0.1 khi thử"
            ).into())
        }
        other => return Err(format!("public_url phải bắt đầu bằng https://, không phải {other}://").into()),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `[monitor]` as a table: the agency and how to reach its people. Name and email default to
/// the agency's.
pub fn monitor_table(
    src: &Source,
    value: &toml::Spanned<toml::Value>,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Option<toml::Spanned<String>>, MonitorContact)> {
    let span = value.span();
    let toml::Value::Table(t) = value.get_ref() else {
        diags.push(
            src.diag(
                Severity::Error,
                span,
                "monitor phải là mã cơ quan (monitor = \"vp-ubnd-tinh\") hoặc bảng [monitor]",
            )
            .with_help("[monitor]\nagency = \"vp-ubnd-tinh\"\nname = \"Phòng Tổng hợp, Văn phòng UBND tỉnh\"\nphone = \"0293 3876 543\"\nemail = \"tonghop@haugiang.gov.vn\""),
        );
        return None;
    };
    let mut contact = MonitorContact::default();
    let mut agency = None;
    let mut ok = true;
    for (key, v) in t {
        let Some(text) = v.as_str() else {
            diags.push(src.diag(
                Severity::Error,
                span.clone(),
                format!("[monitor] {key} phải là chuỗi trong ngoặc kép"),
            ));
            ok = false;
            continue;
        };
        let text = text.trim().to_string();
        match key.as_str() {
            "agency" => agency = Some(toml::Spanned::new(span.clone(), text)),
            "name" => contact.name = text,
            "phone" => {
                let digits = text.chars().filter(char::is_ascii_digit).count();
                if !(8..=15).contains(&digits)
                    || !text
                        .chars()
                        .all(|c| c.is_ascii_digit() || " .-()+".contains(c))
                {
                    diags.push(
                        src.diag(
                            Severity::Error,
                            span.clone(),
                            format!("[monitor] phone \"{text}\" không phải số điện thoại"),
                        )
                        .with_help("ví dụ phone = \"0293 3876 543\""),
                    );
                    ok = false;
                } else {
                    contact.phone = Some(text);
                }
            }
            "email" => {
                if text.parse::<email_address::EmailAddress>().is_err() {
                    diags.push(
                        src.diag(
                            Severity::Error,
                            span.clone(),
                            format!("[monitor] email \"{text}\" không phải địa chỉ thư hợp lệ"),
                        )
                        .with_help("ví dụ email = \"tonghop@haugiang.gov.vn\""),
                    );
                    ok = false;
                } else {
                    contact.email = Some(text);
                }
            }
            other => {
                diags.push(
                    src.diag(
                        Severity::Error,
                        span.clone(),
                        format!("[monitor] không có khóa \"{other}\""),
                    )
                    .with_help("các khóa: agency, name, phone, email"),
                );
                ok = false;
            }
        }
    }
    ok.then_some((agency, contact))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_rules() {
        assert_eq!(
            check_public_url("https://nhacviec.haugiang.gov.vn/").unwrap(),
            "https://nhacviec.haugiang.gov.vn"
        );
        assert_eq!(
            check_public_url("https://a.gov.vn/nhacviec/").unwrap(),
            "https://a.gov.vn/nhacviec"
        );
        assert!(check_public_url("http://127.0.0.1:8088").is_ok());
        assert!(check_public_url("http://localhost:8088").is_ok());
        assert!(check_public_url("http://nhacviec.haugiang.gov.vn").is_err());
        assert!(check_public_url("ftp://x.vn").is_err());
        assert!(check_public_url("https://u:p@x.vn").is_err());
        assert!(check_public_url("https://x.vn/?a=1").is_err());
        assert!(check_public_url("không phải url").is_err());
    }

    fn settings(text: &str) -> (Option<WebSettings>, Vec<Diagnostic>) {
        #[derive(serde::Deserialize)]
        struct File {
            web: toml::Spanned<raw::Web>,
        }
        let src = Source::new("nhacviec.toml", text);
        let file: File = toml::from_str(text).unwrap();
        let mut diags = Vec::new();
        (web(&src, &file.web, &mut diags), diags)
    }

    #[test]
    fn upload_limits_default_and_are_checked_at_their_line() {
        let head = "[web]\npublic_url = \"https://nhacviec.example\"\n";
        let (w, diags) = settings(head);
        assert!(diags.is_empty());
        let w = w.unwrap();
        assert_eq!((w.max_upload_mb, w.upload_quota_mb), (10, 2048));
        assert_eq!(w.max_extension_days, 365);
        assert_eq!(w.max_answers_per_day, 50);
        let (ten, _) = settings(&format!("{head}max_answers_per_day = 10\n"));
        assert_eq!(ten.map(|t| t.max_answers_per_day), Some(10));
        for bad in ["max_answers_per_day = 0", "max_answers_per_day = 100000"] {
            let (refused, diags) = settings(&format!("{head}{bad}\n"));
            assert!(refused.is_none(), "{bad}");
            assert_eq!((diags.len(), diags[0].line), (1, 3), "{bad}");
            assert!(diags[0]
                .message
                .contains("max_answers_per_day phải từ 1 đến 10000"));
        }
        let (thirty, _) = settings(&format!("{head}max_extension_days = 30\n"));
        assert_eq!(thirty.map(|t| t.max_extension_days), Some(30));
        for bad in ["max_extension_days = 0", "max_extension_days = 3650"] {
            let (refused, diags) = settings(&format!("{head}{bad}\n"));
            assert!(refused.is_none(), "{bad}");
            assert_eq!(diags.len(), 1, "{bad}");
            assert_eq!(diags[0].line, 3, "{bad}");
            assert!(
                diags[0]
                    .message
                    .contains("max_extension_days phải từ 1 đến 1826 ngày"),
                "{}",
                diags[0].message
            );
        }
        assert_eq!(w.max_upload_bytes(), 10 * 1024 * 1024);
        let (w, _) = settings(&format!(
            "{head}max_upload_mb = 100\nupload_quota_mb = 50\n"
        ));
        let w = w.unwrap();
        assert_eq!((w.max_upload_mb, w.upload_quota_mb), (100, 50));
        for bad in [
            "max_upload_mb = 0",
            "max_upload_mb = 101",
            "upload_quota_mb = 0",
        ] {
            let (w, diags) = settings(&format!("{head}{bad}\n"));
            assert!(w.is_none(), "{bad}");
            assert_eq!(diags.len(), 1, "{bad}");
            assert_eq!(diags[0].line, 3, "{bad}");
            assert!(
                diags[0].message.contains("phải từ 1 đến"),
                "{}",
                diags[0].message
            );
        }
    }

    #[test]
    fn a_listen_address_off_loopback_needs_public_listen() {
        let head = "[web]\npublic_url = \"https://nhacviec.example\"\n";
        for addr in ["127.0.0.1:8088", "[::1]:8088"] {
            let (w, diags) = settings(&format!("{head}listen = \"{addr}\"\n"));
            assert!(diags.is_empty(), "{addr}: {diags:?}");
            assert_eq!(w.unwrap().listen.to_string(), addr);
        }
        for addr in ["0.0.0.0:8088", "[::]:8088", "192.168.1.10:8088"] {
            let (w, diags) = settings(&format!("{head}listen = \"{addr}\"\n"));
            assert!(w.is_none(), "{addr}");
            assert_eq!(diags.len(), 1, "{addr}");
            assert_eq!(diags[0].line, 3, "{addr}");
            assert!(
                diags[0].message.contains("chỉ nghe trên địa chỉ nội bộ"),
                "{}",
                diags[0].message
            );
            let help = diags[0].help.as_deref().unwrap_or_default();
            assert!(help.contains("public_listen = true"), "{help}");
            let (w, diags) = settings(&format!(
                "{head}listen = \"{addr}\"\npublic_listen = false\n"
            ));
            assert!(w.is_none() && diags.len() == 1, "{addr}");
            let (w, diags) = settings(&format!(
                "{head}listen = \"{addr}\"\npublic_listen = true\n"
            ));
            assert!(diags.is_empty(), "{addr}: {diags:?}");
            assert_eq!(w.unwrap().listen.to_string(), addr);
        }
    }

    #[test]
    fn the_hash_of_an_example_key_is_refused_at_its_line() {
        let head = "[web]\npublic_url = \"https://nhacviec.example\"\n";
        for (key, hash) in [
            (
                "test",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ),
            (
                "admin",
                "8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918",
            ),
            (
                "changeme",
                "057ba03d6c44104863dc7361fe4578965d1887360f90a0895882e58a6248fc86",
            ),
        ] {
            let (w, diags) = settings(&format!("{head}admin_token = \"sha256:{hash}\"\n"));
            assert!(w.is_none(), "{key}");
            assert_eq!(diags.len(), 1, "{key}");
            assert_eq!(diags[0].line, 3, "{key}");
            assert!(
                diags[0].message.contains("khóa ví dụ"),
                "{}",
                diags[0].message
            );
            let help = diags[0].help.as_deref().unwrap_or_default();
            assert!(help.contains("openssl rand -hex 32"), "{help}");
        }
        for key in KNOWN_EXAMPLE_KEYS {
            use sha2::Digest;
            let h: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
            assert!(is_known_example(&h), "{key}");
        }
        // A key of its own (sha256 of 32 random bytes' hex) is accepted.
        let own = "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c";
        let (w, diags) = settings(&format!("{head}admin_token = \"sha256:{own}\"\n"));
        assert!(diags.is_empty(), "{diags:?}");
        assert!(w.unwrap().admin_token.is_some());
    }

    /// The README: no admin_token line whose hash opens a dashboard, and the nginx example keeps
    /// the token URLs out of its access log.
    #[test]
    fn the_readme_has_no_working_example_key_and_logs_no_token_url() {
        let readme = include_str!("../../README.md");
        for line in readme.lines().filter(|l| l.contains("admin_token =")) {
            let value = line.split('"').nth(1).unwrap_or_default();
            assert!(
                parse_token_hash(value).is_none(),
                "README gives a working admin_token: {line}"
            );
        }
        let start = readme
            .find("location /a/ {")
            .expect("README's nginx example has a location /a/ block");
        let block = &readme[start..];
        let block = &block[..block.find('}').unwrap_or(block.len())];
        assert!(block.contains("access_log off;"), "{block}");
    }

    #[test]
    fn the_admin_token_is_a_sha256_as_admins_paste_it() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let want = hex::decode(hex).unwrap();
        for written in [
            format!("sha256:{hex}"),
            hex.to_string(),
            format!("{hex}  -"),
            format!(" sha256:{} ", hex.to_uppercase()),
        ] {
            assert_eq!(
                parse_token_hash(&written).map(|h| h.to_vec()),
                Some(want.clone()),
                "{written}"
            );
        }
        // The key itself, a short hash, another algorithm: refused.
        for bad in [
            "khoa-bi-mat",
            "sha256:9f86d0",
            "md5:098f6bcd4621d373cade4e832627b4f6",
            "",
        ] {
            assert_eq!(parse_token_hash(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_short_dashboard_key_never_opens_whatever_its_hash() {
        use sha2::Digest;
        let with = |key: &str| WebSettings {
            listen: "127.0.0.1:8088".parse().unwrap(),
            public_url: "https://x.vn".into(),
            link_days: 60,
            trusted_proxy: vec![],
            admin_token: Some(sha2::Sha256::digest(key.as_bytes()).into()),
            max_upload_mb: 10,
            upload_quota_mb: 100,
            max_extension_days: 365,
            max_answers_per_day: 50,
        };
        let short = "k3Jq9xZ2mP7wR4tL"; // 16 characters: about 95 bits at best
        assert!(!with(short).admin_key_matches(short));
        let long = "0123456789abcdef0123456789abcdef";
        assert!(with(long).admin_key_matches(long));
        assert!(!with(long).admin_key_matches("0123456789abcdef0123456789abcdee"));
    }
}
