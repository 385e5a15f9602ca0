//! A small W3C WebDriver client (JSON over HTTP) driving Debian's chromium through
//! chromium-driver: a real browser opening the agencies' pages. Only what the tests use.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Driver {
    process: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
}

fn find(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}

impl Driver {
    /// Starts chromedriver on a free port and a headless chromium session `width` wide.
    pub fn start(width: u32, height: u32) -> Driver {
        let driver = find(&["chromedriver", "chromium-driver"])
            .expect("chromedriver not found: scripts/test installs chromium and chromium-driver");
        let browser = find(&["chromium", "chromium-browser"])
            .expect("chromium not found: scripts/test installs chromium and chromium-driver");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let process = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": browser,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=vi",
                             format!("--window-size={width},{height}")]
                }
            }}
        });
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .expect("new session")
            .json()
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        let mut d = Driver {
            process,
            base,
            session,
            http,
        };
        d.resize(width, height);
        d
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        match self.try_call(method, path, body) {
            Ok(v) => v,
            Err(e) => panic!("webdriver {method} {path}: {e}"),
        }
    }

    fn try_call(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let r: Value = req.send().expect("webdriver request").json().unwrap();
        if let Some(err) = r["value"].get("error") {
            return Err(format!("{err} {}", r["value"]["message"]));
        }
        Ok(r["value"].clone())
    }

    pub fn resize(&mut self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    /// The page's visible text, once the page has settled (a form's answer may still be
    /// loading: the body found may go stale).
    pub fn text(&self) -> String {
        let started = Instant::now();
        loop {
            let body = self.css("body");
            match self.try_call("GET", &format!("/element/{body}/text"), json!({})) {
                Ok(v) => return v.as_str().unwrap_or_default().to_string(),
                Err(e) if started.elapsed() < Duration::from_secs(10) => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("webdriver text: {e}"),
            }
        }
    }

    /// The first element matching `selector` (panics if none).
    pub fn css(&self, selector: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": selector}),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_string()
    }

    pub fn click(&self, selector: &str) {
        let e = self.css(selector);
        self.call("POST", &format!("/element/{e}/click"), json!({}));
    }

    pub fn type_into(&self, selector: &str, text: &str) {
        let e = self.css(selector);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        );
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", json!({}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` in the page (WebDriver's, not the page's: the CSP does not apply).
    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    /// Waits until the current URL ends with `suffix` (a form's answer loaded), 10 s at most.
    pub fn wait_url(&self, suffix: &str) {
        let started = Instant::now();
        loop {
            let url = self.url();
            if url.contains(suffix) {
                // And the page there is the one read next, not the one left.
                let _ = self.script("return document.readyState");
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still at {url}, waiting for …{suffix}…"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG of what the window shows now, where the page is scrolled to (what a person sees
    /// on landing).
    pub fn screenshot_view(&self, path: &std::path::Path) {
        let b64 = self.call("GET", "/screenshot", json!({}));
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// A PNG of the whole page (the window resized to the document's height first).
    pub fn screenshot(&mut self, width: u32, path: &std::path::Path) {
        let height = self
            .script("return document.documentElement.scrollHeight")
            .as_u64()
            .unwrap_or(800) as u32;
        self.resize(width, (height + 300).clamp(400, 8000));
        self.script("window.scrollTo(0, 0)");
        let b64 = self.call("GET", "/screenshot", json!({}));
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
