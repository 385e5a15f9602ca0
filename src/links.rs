//! Signed links to an agency's page: `{public_url}/a/{token}`. No accounts: whoever holds the
//! link of a reminder acts for that agency until the link expires.
//!
//! A token is base64url (no padding) of `version | key id (4) | issued, Unix seconds (8, BE) |
//! agency id (UTF-8) | HMAC-SHA256 of all that, first 16 bytes`. The key id is derived from the
//! secret, so a previous secret kept beside the current one still verifies the links it signed
//! (rotation without breaking links in mailboxes). Pure: the secret and the time are passed in.
//!
//! A calendar feed's token ([`Signer::sign_feed`]) has the same layout with version
//! [`FEED_VERSION`] and its MAC taken over a "feed" prefix as well: it reads the agency's deadlines
//! for [`FEED_DAYS`] and never verifies as an answer link, nor an answer link as a feed's, so
//! the URL pasted into a calendar provider cannot answer for the agency.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
/// The first byte of a calendar feed's token (read-only).
pub const FEED_VERSION: u8 = 2;
/// How long a feed's token lives: a calendar subscription is made once and kept, so longer
/// than a reminder's link (`[web] link_days`), a little over a year; the page shows a fresh
/// one each time it is opened.
pub const FEED_DAYS: u32 = 400;
const MAC_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + 8;
/// Agency ids are short; anything longer is not a token of ours (and is not worth hashing).
const MAX_TOKEN_CHARS: usize = 400;
/// Secrets shorter than this are refused: a link is a credential.
pub const MIN_SECRET_BYTES: usize = 16;

/// One signing key: the secret and its id.
#[derive(Clone)]
pub struct Key {
    id: [u8; 4],
    secret: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", hex::encode(self.id))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("khóa ký liên kết quá ngắn ({0} byte): cần ít nhất {MIN_SECRET_BYTES} ký tự ngẫu nhiên, ví dụ tạo bằng `openssl rand -hex 32`")]
    TooShort(usize),
    #[error("khóa ký liên kết quá dễ đoán (chỉ {distinct} ký tự khác nhau, khoảng {bits} bit): cần một chuỗi ngẫu nhiên, ví dụ tạo bằng `openssl rand -hex 32`")]
    Guessable { distinct: usize, bits: u32 },
}

/// A secret's strength as a guesser sees it at best: its length times the bits of its
/// alphabet (the characters it uses). `openssl rand -hex 32` gives 256.
fn estimated_bits(secret: &[u8]) -> (usize, u32) {
    let distinct = secret
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    let bits = secret.len() as f64 * (distinct.max(1) as f64).log2();
    (distinct, bits as u32)
}

/// A secret below this many estimated bits, or of fewer distinct characters, is refused: 16
/// copies of one letter pass any length rule.
pub const MIN_SECRET_BITS: u32 = 100;
const MIN_DISTINCT: usize = 8;

impl Key {
    pub fn new(secret: &str) -> Result<Key, KeyError> {
        let secret = secret.trim().as_bytes().to_vec();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort(secret.len()));
        }
        let (distinct, bits) = estimated_bits(&secret);
        if distinct < MIN_DISTINCT || bits < MIN_SECRET_BITS {
            return Err(KeyError::Guessable { distinct, bits });
        }
        let digest = Sha256::new()
            .chain_update(b"nhacviec link key id\0")
            .chain_update(&secret)
            .finalize();
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest[..4]);
        Ok(Key { id, secret })
    }

    /// The key id in hex, as stored with each response.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length: `new_from_slice` never fails for it (the fallback
        // only keeps this free of panics).
        <HmacSha256 as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()))
    }
}

/// Signs and verifies links: the current key, the previous one during a rotation, and how long
/// a link lives.
#[derive(Debug, Clone)]
pub struct Signer {
    pub current: Key,
    pub previous: Option<Key>,
    pub days: u32,
}

/// Whom a signed link to the monitoring office's dashboard is for: no agency id starts with
/// "@", so it is never an agency's link, nor an agency's link this.
pub const MONITOR: &str = "@theo-doi";

/// Whom a dashboard link scoped to the plans `agency` monitors (`[plan] monitor`) is for:
/// `@theo-doi:<agency>` (`nhacviec admin-link --agency`).
pub fn monitor_scope(agency: &str) -> String {
    format!("{MONITOR}:{agency}")
}

/// Whether a link's signed agency is a dashboard's: `Some(None)` for every plan
/// ([`MONITOR`]), `Some(Some(agency))` for the plans `agency` monitors, `None` otherwise.
pub fn dashboard_scope(signed: &str) -> Option<Option<&str>> {
    if signed == MONITOR {
        return Some(None);
    }
    signed
        .strip_prefix(MONITOR)
        .and_then(|rest| rest.strip_prefix(':'))
        .filter(|a| !a.is_empty())
        .map(Some)
}

/// The pages' routes, in axum's syntax: the one list of what a [`Url`] can name.
pub mod paths {
    pub const AGENCY: &str = "/a/{token}";
    pub const FEED: &str = "/a/{token}/lich.ics";
    pub const DONE: &str = "/a/{token}/done";
    pub const PROGRESS: &str = "/a/{token}/progress";
    pub const EXTEND: &str = "/a/{token}/extend";
    pub const UNDO: &str = "/a/{token}/undo";
    pub const AGENCY_FILE: &str = "/a/{token}/tep/{sha256}";
    pub const MONITOR: &str = "/theo-doi/{key}";
    pub const WORKBOOK: &str = "/theo-doi/{key}/bang-tinh.xlsx";
    pub const REPORT: &str = "/theo-doi/{key}/bao-cao.docx";
    pub const MONITOR_FILE: &str = "/theo-doi/{key}/tep/{sha256}";
    pub const CONFIRM: &str = "/theo-doi/{key}/xac-nhan";
    pub const RETURN: &str = "/theo-doi/{key}/tra-lai";
    pub const MONITOR_AGENCY: &str = "/theo-doi/{key}/co-quan/{agency}";
    pub const GRANT: &str = "/theo-doi/{key}/gia-han";
    pub const REFUSE: &str = "/theo-doi/{key}/tu-choi";
}

/// A page's address, built in one place: [`Url::path`] on the site, [`Url::at`] with
/// `[web] public_url` in front (what a message or the CLI prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Url<'a> {
    /// An agency's page, by its link's token.
    Agency(&'a str),
    /// An agency's calendar feed, by its feed token.
    Feed(&'a str),
    /// The dashboard, by its key.
    Monitor(&'a str),
    /// The dashboard with a query (`ngay=…&ke-hoach=…&trang=…`, maybe empty: then no `?`).
    Dashboard { key: &'a str, query: &'a str },
    /// The dashboard's read-only view of an agency's page.
    MonitorAgency { key: &'a str, agency: &'a str },
    /// The dashboard's workbook, with the page's query (`ngay=…&ke-hoach=…`, maybe empty).
    Workbook { key: &'a str, query: &'a str },
    /// The report to sign, with the page's query.
    Report { key: &'a str, query: &'a str },
}

impl Url<'_> {
    /// The path on the site (`/a/{token}`...), each part as given (tokens and keys are URL-safe;
    /// an agency id is percent-encoded).
    pub fn path(&self) -> String {
        match *self {
            Url::Agency(token) => format!("/a/{token}"),
            Url::Feed(token) => format!("/a/{token}/lich.ics"),
            Url::Monitor(key) => format!("/theo-doi/{key}"),
            Url::Dashboard { key, query: "" } => format!("/theo-doi/{key}"),
            Url::Dashboard { key, query } => format!("/theo-doi/{key}?{query}"),
            Url::MonitorAgency { key, agency } => {
                let agency: String =
                    url::form_urlencoded::byte_serialize(agency.as_bytes()).collect();
                format!("/theo-doi/{key}/co-quan/{agency}")
            }
            Url::Workbook { key, query } => format!("/theo-doi/{key}/bang-tinh.xlsx?{query}"),
            Url::Report { key, query } => format!("/theo-doi/{key}/bao-cao.docx?{query}"),
        }
    }

    /// The full address: `public_url` (no trailing slash, `[web] public_url`) and the path.
    pub fn at(&self, public_url: &str) -> String {
        format!("{public_url}{}", self.path())
    }
}

/// A verified link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub agency: String,
    pub issued: DateTime<Utc>,
    /// Hex id of the key that signed it.
    pub key_id: String,
    /// The MAC, which binds each form's CSRF token to this link.
    mac: Vec<u8>,
}

impl Link {
    /// The dashboard opened with the configured key (`[web] admin_token`) rather than a signed
    /// link: forms are bound to the key's hash.
    pub fn monitor_key(key_hash: &[u8; 32]) -> Link {
        Link {
            agency: MONITOR.to_string(),
            issued: DateTime::<Utc>::UNIX_EPOCH,
            key_id: "admin".to_string(),
            mac: key_hash[..MAC_LEN].to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Not a token of ours, tampered, truncated, or signed by a key no longer known: the same
    /// answer for all, so a guesser learns nothing.
    Invalid,
    /// Genuine but too old: the page says how to get a fresh one.
    Expired {
        agency: String,
        expired: DateTime<Utc>,
    },
}

impl Signer {
    /// The token for `agency`'s link issued at `issued`.
    pub fn sign(&self, agency: &str, issued: DateTime<Utc>) -> String {
        self.sign_as(VERSION, agency, issued)
    }

    /// The read-only token of `agency`'s calendar feed issued at `issued` (lives [`FEED_DAYS`]).
    pub fn sign_feed(&self, agency: &str, issued: DateTime<Utc>) -> String {
        self.sign_as(FEED_VERSION, agency, issued)
    }

    fn sign_as(&self, version: u8, agency: &str, issued: DateTime<Utc>) -> String {
        let mut bytes = Vec::with_capacity(HEADER_LEN + agency.len() + MAC_LEN);
        bytes.push(version);
        bytes.extend_from_slice(&self.current.id);
        bytes.extend_from_slice(&issued.timestamp().to_be_bytes());
        bytes.extend_from_slice(agency.as_bytes());
        let tag = purpose_mac(&self.current, version, &bytes)
            .finalize()
            .into_bytes();
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The link a token stands for at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Link, LinkError> {
        self.verify_as(VERSION, self.days, token, now)
    }

    /// The agency a calendar feed's token is for at `now`. An answer link is not a feed's token
    /// (`Invalid`), so the feed's URL is the only one to share with a calendar.
    pub fn verify_feed(&self, token: &str, now: DateTime<Utc>) -> Result<Link, LinkError> {
        self.verify_as(FEED_VERSION, FEED_DAYS, token, now)
    }

    fn verify_as(
        &self,
        version: u8,
        days: u32,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Link, LinkError> {
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Err(LinkError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| LinkError::Invalid)?;
        if bytes.len() < HEADER_LEN + 1 + MAC_LEN || bytes[0] != version {
            return Err(LinkError::Invalid);
        }
        let (body, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id[..] == body[1..5])
            .ok_or(LinkError::Invalid)?;
        // Constant time (the `hmac` crate compares with `subtle`).
        purpose_mac(key, version, body)
            .verify_truncated_left(tag)
            .map_err(|_| LinkError::Invalid)?;
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&body[5..13]);
        let issued =
            DateTime::from_timestamp(i64::from_be_bytes(secs), 0).ok_or(LinkError::Invalid)?;
        let agency = std::str::from_utf8(&body[HEADER_LEN..])
            .map_err(|_| LinkError::Invalid)?
            .to_string();
        let expired = issued + chrono::Duration::days(i64::from(days));
        if now >= expired {
            return Err(LinkError::Expired { agency, expired });
        }
        // A link from the future (a clock set back) is not refused: it will simply live longer.
        Ok(Link {
            agency,
            issued,
            key_id: key.id_hex(),
            mac: tag.to_vec(),
        })
    }

    /// The CSRF token of a form on `link`'s page: bound to the link and the form's name, so
    /// a form cannot be posted from another page or to another link.
    pub fn csrf(&self, link: &Link, form: &str) -> String {
        hex::encode(&csrf_mac(&self.current, link, form).finalize().into_bytes()[..16])
    }

    /// Whether `given` is the CSRF token of `form` on `link` (constant time). Tokens made with
    /// the previous key still count during a rotation.
    pub fn csrf_ok(&self, link: &Link, form: &str, given: &str) -> bool {
        let Ok(given) = hex::decode(given.trim()) else {
            return false;
        };
        given.len() == 16
            && [Some(&self.current), self.previous.as_ref()]
                .into_iter()
                .flatten()
                .any(|key| {
                    csrf_mac(key, link, form)
                        .verify_truncated_left(&given)
                        .is_ok()
                })
    }
}

/// The MAC of a token's body: an answer link's over the body alone (the links already in
/// mailboxes), a feed's over a "feed" prefix too, so that one purpose's MAC is never the other's
/// even were the version byte not checked.
fn purpose_mac(key: &Key, version: u8, body: &[u8]) -> HmacSha256 {
    let mut mac = key.mac();
    if version == FEED_VERSION {
        mac.update(b"nhacviec feed\0");
    }
    mac.update(body);
    mac
}

/// The MAC a CSRF token is cut from: the link's own MAC and the form's name, under `key`.
fn csrf_mac(key: &Key, link: &Link, form: &str) -> HmacSha256 {
    let mut mac = key.mac();
    mac.update(b"csrf\0");
    mac.update(&link.mac);
    mac.update(form.as_bytes());
    mac
}

/// What logs say instead of a token: 8 hex digits of its hash (enough to match two log lines,
/// useless to forge a link).
pub fn log_id(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..4])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Every address built is the route the pages serve, its parts filled in.
    #[test]
    fn each_url_is_its_route_filled_in() {
        let fill = |route: &str, token: &str| {
            route
                .replace("{token}", token)
                .replace("{key}", token)
                .replace("{agency}", "so-noi-vu+2")
        };
        assert_eq!(Url::Agency("T").path(), fill(paths::AGENCY, "T"));
        assert_eq!(Url::Feed("F").path(), fill(paths::FEED, "F"));
        assert_eq!(Url::Monitor("K").path(), fill(paths::MONITOR, "K"));
        assert_eq!(
            Url::Dashboard {
                key: "K",
                query: ""
            }
            .path(),
            fill(paths::MONITOR, "K")
        );
        assert_eq!(
            Url::Dashboard {
                key: "K",
                query: "trang=2"
            }
            .path(),
            format!("{}?trang=2", fill(paths::MONITOR, "K"))
        );
        // An agency id is percent-encoded (a space as "+", as forms encode it).
        assert_eq!(
            Url::MonitorAgency {
                key: "K",
                agency: "so-noi-vu 2"
            }
            .path(),
            fill(paths::MONITOR_AGENCY, "K")
        );
        assert_eq!(
            Url::Workbook {
                key: "K",
                query: "ngay=01%2F07%2F2022"
            }
            .path(),
            format!("{}?ngay=01%2F07%2F2022", fill(paths::WORKBOOK, "K"))
        );
        assert_eq!(
            Url::Report {
                key: "K",
                query: ""
            }
            .path(),
            format!("{}?", fill(paths::REPORT, "K"))
        );
        assert_eq!(
            Url::Agency("T").at("https://nv.tinh.example"),
            "https://nv.tinh.example/a/T"
        );
    }

    #[test]
    fn a_scoped_dashboard_link_names_its_office() {
        assert_eq!(dashboard_scope(MONITOR), Some(None));
        assert_eq!(
            dashboard_scope(&monitor_scope("so-tttt")),
            Some(Some("so-tttt"))
        );
        assert_eq!(dashboard_scope("@theo-doi:"), None);
        assert_eq!(dashboard_scope("@theo-doix"), None);
        assert_eq!(dashboard_scope("so-tttt"), None);
    }

    fn signer() -> Signer {
        Signer {
            current: Key::new("0123456789abcdef0123456789abcdef").unwrap(),
            previous: None,
            days: 60,
        }
    }

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, 1, 0, 0).unwrap()
    }

    #[test]
    fn round_trip_and_expiry() {
        let s = signer();
        let token = s.sign("so-noi-vu", t(1));
        let link = s.verify(&token, t(2)).unwrap();
        assert_eq!(link.agency, "so-noi-vu");
        assert_eq!(link.issued, t(1));
        let late = t(1) + chrono::Duration::days(60);
        assert_eq!(
            s.verify(&token, late),
            Err(LinkError::Expired {
                agency: "so-noi-vu".into(),
                expired: late
            })
        );
    }

    #[test]
    fn tampered_truncated_and_foreign_tokens_are_invalid() {
        let s = signer();
        let token = s.sign("so-noi-vu", t(1));
        for bad in [
            String::new(),
            token[..token.len() - 1].to_string(),
            token[..10].to_string(),
            format!("{token}A"),
            "not a token!".to_string(),
            "x".repeat(5000),
        ] {
            assert_eq!(s.verify(&bad, t(2)), Err(LinkError::Invalid), "{bad}");
        }
        // Every single-character change is caught.
        let chars: Vec<char> = token.chars().collect();
        for i in 0..chars.len() {
            let mut c = chars.clone();
            c[i] = if c[i] == 'A' { 'B' } else { 'A' };
            let bad: String = c.into_iter().collect();
            assert!(s.verify(&bad, t(2)).is_err(), "position {i}");
        }
        // Another agency's id spliced in: the MAC no longer matches.
        let other = Signer {
            current: Key::new("another secret of enough length").unwrap(),
            ..signer()
        };
        assert_eq!(other.verify(&token, t(2)), Err(LinkError::Invalid));
    }

    #[test]
    fn rotation_keeps_old_links_and_short_secrets_are_refused() {
        let old = signer();
        let token = old.sign("so-tai-chinh", t(1));
        let rotated = Signer {
            current: Key::new("the new secret, long enough!").unwrap(),
            previous: Some(old.current.clone()),
            days: 60,
        };
        let link = rotated.verify(&token, t(3)).unwrap();
        assert_eq!(link.key_id, old.current.id_hex());
        let csrf_old = old.csrf(&link, "done");
        assert!(rotated.csrf_ok(&link, "done", &csrf_old));
        assert!(!rotated.csrf_ok(&link, "extend", &csrf_old));
        assert!(!rotated.csrf_ok(&link, "done", "00"));
        // Once the previous key is dropped, its links are invalid, not expired.
        let dropped = Signer {
            previous: None,
            ..rotated
        };
        assert_eq!(dropped.verify(&token, t(3)), Err(LinkError::Invalid));
        assert_eq!(Key::new("short").unwrap_err(), KeyError::TooShort(5));
    }

    #[test]
    fn a_feed_token_is_not_an_answer_link_nor_the_reverse() {
        let s = signer();
        let feed = s.sign_feed("so-noi-vu", t(1));
        let answer = s.sign("so-noi-vu", t(1));
        assert_ne!(feed, answer);
        assert_eq!(s.verify_feed(&feed, t(2)).unwrap().agency, "so-noi-vu");
        assert_eq!(s.verify(&feed, t(2)), Err(LinkError::Invalid));
        assert_eq!(s.verify_feed(&answer, t(2)), Err(LinkError::Invalid));
        // The version byte swapped in: the MAC (with its purpose) no longer matches.
        let mut bytes = URL_SAFE_NO_PAD.decode(&answer).unwrap();
        bytes[0] = FEED_VERSION;
        let relabelled = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(s.verify_feed(&relabelled, t(2)), Err(LinkError::Invalid));
        let mut bytes = URL_SAFE_NO_PAD.decode(&feed).unwrap();
        bytes[0] = VERSION;
        assert_eq!(
            s.verify(&URL_SAFE_NO_PAD.encode(&bytes), t(2)),
            Err(LinkError::Invalid)
        );
        // A feed lives FEED_DAYS, longer than the link's 60 days.
        let later = t(1) + chrono::Duration::days(i64::from(FEED_DAYS) - 1);
        assert!(s.verify_feed(&feed, later).is_ok());
        let end = t(1) + chrono::Duration::days(i64::from(FEED_DAYS));
        assert!(matches!(
            s.verify_feed(&feed, end),
            Err(LinkError::Expired { .. })
        ));
    }

    #[test]
    fn log_id_does_not_contain_the_token() {
        let token = signer().sign("so-noi-vu", t(1));
        let id = log_id(&token);
        assert_eq!(id.len(), 8);
        assert!(!token.contains(&id));
    }

    #[test]
    fn a_secret_of_few_characters_is_refused_whatever_its_length() {
        assert!(matches!(
            Key::new(&"a".repeat(64)),
            Err(KeyError::Guessable { distinct: 1, .. })
        ));
        assert!(matches!(
            Key::new(&"ab".repeat(40)),
            Err(KeyError::Guessable { .. })
        ));
        // 16 random letters and digits: about 62 bits.
        assert!(matches!(
            Key::new("k3Jq9xZ2mP7wR4tL"),
            Err(KeyError::Guessable { .. })
        ));
        // What the README says to use, and a long phrase.
        assert!(Key::new(&"0123456789abcdef".repeat(4)).is_ok());
        assert!(Key::new("the new secret, long enough and then some").is_ok());
    }
}
