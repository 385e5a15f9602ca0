//! The webhook channel against a local HTTP receiver (tests/webhook/server.py): the body is
//! JSON with the digest, the configured headers are sent, the HMAC-SHA256 signature verifies;
//! 5xx and 429 (with Retry-After) retry, 400 is permanent.

use crate::support::{free_port, repo, Running};

use chrono::{TimeZone, Utc};
use nhacviec::channels::Senders;
use nhacviec::config::Channel;
use nhacviec::config::WebhookSettings;
use nhacviec::deliver;
use nhacviec::render::Templates;
use nhacviec::store::Store;
use std::path::{Path, PathBuf};

const SECRET: &str = "bí-mật-chung";

struct Receiver {
    _server: Running,
    out: PathBuf,
}

impl Receiver {
    fn start(port: u16, out: &Path, args: &[&str]) -> Receiver {
        let mut all: Vec<String> = ["--port", &port.to_string(), "--secret", SECRET, "--out"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        all.push(out.display().to_string());
        all.extend(args.iter().map(|s| s.to_string()));
        let server = Running(crate::support::spawn_ready("webhook/server.py", &all));
        Receiver {
            _server: server,
            out: out.to_path_buf(),
        }
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The sample config with Sở Tư pháp on the webhook; the 25/5/2022 tick recorded.
fn queued(tmp: &Path, port: u16) -> (nhacviec::config::Config, Store, Senders) {
    let analysis = nhacviec::config::load(&repo().join("config"));
    let mut config = analysis.config;
    config.webhook = Some(WebhookSettings {
        url: format!("http://127.0.0.1:{port}/hook"),
        headers: vec![("X-Token".into(), "abc".into())],
        body: None,
        timeout_seconds: 5,
    });
    for a in &mut config.agencies {
        if a.id == "so-tu-phap" {
            a.channels = vec![Channel::Webhook, Channel::Email];
        }
    }
    let templates = Templates::new(&analysis.templates).unwrap();
    let mut store = Store::open_writer(&tmp.join("state/nhacviec.db")).unwrap();
    let senders = Senders::new(&config, &tmp.join("state")).unwrap();
    let now = chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2022, 5, 25, 8, 0, 0)
        .unwrap();
    deliver::tick(
        &deliver::Engine::build(&config, now.date_naive()),
        &config,
        &templates,
        &mut store,
        now,
    )
    .unwrap();
    (config, store, senders)
}

fn webhook_rows(store: &Store) -> Vec<nhacviec::store::Delivery> {
    store.history(Some("so-tu-phap"), None, 10).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_signed_json_digest_is_posted() {
    if crate::support::isolated(
        "webhook::a_signed_json_digest_is_posted",
        &[("NHACVIEC_WEBHOOK_SECRET", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let rx = Receiver::start(port, &tmp.path().join("requests.jsonl"), &[]);
    let (config, store, senders) = queued(tmp.path(), port);
    let pass = deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!(pass.dead + pass.retrying, 0);
    assert_eq!(
        pass.by_channel[&Channel::Webhook],
        (1, 0),
        "{:?}",
        pass.by_channel
    );
    assert_eq!(pass.by_channel[&Channel::Email].1, 0);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1, "only Sở Tư pháp uses the webhook");
    let r = &reqs[0];
    assert_eq!(r["path"], "/hook");
    assert_eq!(r["signature_ok"], true);
    assert_eq!(r["headers"]["x-token"], "abc");
    let body: serde_json::Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["agency"], "so-tu-phap");
    assert_eq!(body["agency_name"], "Sở Tư pháp");
    assert!(body["subject"]
        .as_str()
        .unwrap()
        .starts_with("[Nhắc việc] Sở Tư pháp"));
    assert!(!body["items"].as_array().unwrap().is_empty());
    assert_eq!(webhook_rows(&store)[0].channel, Channel::Webhook);
    assert_eq!(
        webhook_rows(&store)[0].status,
        nhacviec::store::DeliveryStatus::Sent
    );
}

#[tokio::test(flavor = "current_thread")]
async fn server_errors_and_rate_limits_retry_bad_requests_do_not() {
    if crate::support::isolated(
        "webhook::server_errors_and_rate_limits_retry_bad_requests_do_not",
        &[("NHACVIEC_WEBHOOK_SECRET", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let rx = Receiver::start(
        port,
        &tmp.path().join("requests.jsonl"),
        &["--fail500", "1", "--fail429", "1"],
    );
    let (config, store, senders) = queued(tmp.path(), port);
    let now = Utc::now();
    let pass = deliver::send_ready(&store, &senders, &config, now)
        .await
        .unwrap();
    assert_eq!(
        pass.by_channel[&Channel::Webhook],
        (0, 1),
        "{:?}",
        pass.by_channel
    );
    assert_eq!(
        webhook_rows(&store)[0].status,
        nhacviec::store::DeliveryStatus::Retrying
    );
    assert!(webhook_rows(&store)[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("500"));
    // The retry meets a 429 with Retry-After: 120 s, which sets the next attempt.
    let later = now + chrono::Duration::minutes(5);
    deliver::send_ready(&store, &senders, &config, later)
        .await
        .unwrap();
    let row = &webhook_rows(&store)[0];
    assert_eq!(row.status, nhacviec::store::DeliveryStatus::Retrying);
    let next = row.next_attempt_at.unwrap();
    assert_eq!((next.with_timezone(&Utc) - later).num_seconds(), 120);
    deliver::send_ready(
        &store,
        &senders,
        &config,
        later + chrono::Duration::seconds(121),
    )
    .await
    .unwrap();
    assert_eq!(
        webhook_rows(&store)[0].status,
        nhacviec::store::DeliveryStatus::Sent
    );
    let answers: Vec<i64> = rx
        .requests()
        .iter()
        .map(|r| r["answered"].as_i64().unwrap())
        .collect();
    assert_eq!(answers, [500, 429, 200]);

    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let rx = Receiver::start(port, &tmp.path().join("requests.jsonl"), &["--fail400"]);
    let (config, store, senders) = queued(tmp.path(), port);
    deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        webhook_rows(&store)[0].status,
        nhacviec::store::DeliveryStatus::Dead
    );
    assert_eq!(rx.requests().len(), 1, "a 400 is not retried");
}
