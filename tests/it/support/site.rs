//! The web pages served on a loopback port for a test, with a fixed clock, and a client that
//! does not follow redirects (a form's answer is its 303).

use chrono::{DateTime, Utc};
use nhacviec::links::{Key, Signer};
use nhacviec::store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn signer() -> Signer {
    Signer {
        current: Key::new("a test secret that is long enough").unwrap(),
        previous: None,
        days: 60,
    }
}

pub struct Site {
    pub base: String,
    pub db: PathBuf,
    /// The pages' state: a test reloads the config with `web.set_config`.
    pub web: nhacviec::web::Web,
    _server: nhacviec::web::Server,
    _dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

/// The sample config, checked.
pub fn sample_config() -> nhacviec::config::Config {
    let analysis = nhacviec::config::load(Path::new("config"));
    assert!(!analysis.has_errors());
    analysis.config
}

/// `config` with `[web]` on a public https address, and the dashboard key whose SHA-256 is
/// `admin_token`, if any.
pub fn with_web(
    mut config: nhacviec::config::Config,
    admin_token: Option<[u8; 32]>,
) -> nhacviec::config::Config {
    config.web = Some(nhacviec::config::web::WebSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: "https://nhacviec.example".into(),
        link_days: 60,
        trusted_proxy: vec![],
        admin_token,
        max_upload_mb: nhacviec::config::web::DEFAULT_MAX_UPLOAD_MB,
        upload_quota_mb: nhacviec::config::web::DEFAULT_UPLOAD_QUOTA_MB,
        max_extension_days: nhacviec::config::web::DEFAULT_MAX_EXTENSION_DAYS,
        max_answers_per_day: nhacviec::config::web::DEFAULT_MAX_ANSWERS_PER_DAY,
    });
    config
}

impl Site {
    /// Serves `config` at `now`, on a fresh database that `seed` fills first.
    pub fn start(
        config: nhacviec::config::Config,
        now: DateTime<Utc>,
        seed: impl FnOnce(&Path),
    ) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nhacviec.db");
        drop(Store::open_writer(&db).unwrap());
        seed(&db);
        let store = Store::open_side(&db).unwrap();
        let web = nhacviec::web::Web::new(Arc::new(config), store, signer(), Some(now));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = nhacviec::web::start(listener, web.clone()).unwrap();
        Site {
            base: format!("http://{addr}"),
            db,
            web,
            _server: server,
            _dir: dir,
            // A fresh connection per request: one the server closed (after refusing a body too
            // large to read) is never reused, which made a later request fail now and then.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    /// Status and body; "/" as minijinja escapes it read back as a browser reads it.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap().replace("&#x2f;", "/"))
    }

    /// Status, content type and the bytes.
    pub async fn bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status().as_u16(), kind, r.bytes().await.unwrap().to_vec())
    }

    /// Status, content type, content disposition and body of a download.
    pub async fn download(&self, path: &str) -> (u16, String, String, Vec<u8>) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (kind, disposition) = (header("content-type"), header("content-disposition"));
        (
            r.status().as_u16(),
            kind,
            disposition,
            r.bytes().await.unwrap().to_vec(),
        )
    }

    /// Status, and the redirect's target or else the body.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (status, location.unwrap_or(r.text().await.unwrap()))
    }
}
