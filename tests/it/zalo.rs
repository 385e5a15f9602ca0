//! The Zalo channel against a local mock of its three hosts (tests/zalo/mock.py): ZNS and OA
//! happy paths, a token expiring mid-run (refreshed once, the new pair stored), a reused
//! refresh token (channel stops, admin alerted, nothing lost: email takes over), fallback on
//! -118 and -230, quota exhaustion deferred to the next day.

use crate::support::{free_port, repo, Running};

use chrono::{TimeZone, Utc};
use nhacviec::channels::Senders;
use nhacviec::config::ZaloSettings;
use nhacviec::deliver;
use nhacviec::render::Templates;
use nhacviec::store::Store;
use std::path::Path;

const SECRET: &str = "app-secret";

struct Mock {
    _server: Running,
    port: u16,
}

impl Mock {
    fn start(args: &[&str]) -> Mock {
        let port = free_port();
        let mut all: Vec<String> = [
            "--port",
            &port.to_string(),
            "--secret",
            SECRET,
            "--access",
            "AT0",
            "--refresh",
            "RT0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        let server = Running(crate::support::spawn_ready("zalo/mock.py", &all));
        Mock {
            _server: server,
            port,
        }
    }

    fn state(&self) -> serde_json::Value {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(s, "GET /_state HTTP/1.0\r\n\r\n").unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        serde_json::from_str(r.split_once("\r\n\r\n").unwrap().1).unwrap()
    }
}

impl Mock {
    /// The OA text messages the mock received.
    fn oa_texts(&self) -> Vec<serde_json::Value> {
        self.state()["received"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"] == "/v3.0/oa/message/cs")
            .cloned()
            .collect()
    }
}

/// The sample config on the mock, a fresh store holding `access`/`refresh`, the 25/5/2022
/// tick recorded. The four agencies with a Zalo phone prefer Zalo.
fn setup(
    tmp: &Path,
    mock: &Mock,
    access: Option<&str>,
    refresh: &str,
    template: bool,
) -> (nhacviec::config::Config, Store, Senders) {
    let analysis = nhacviec::config::load(&repo().join("config"));
    let mut config = analysis.config;
    let base = format!("http://127.0.0.1:{}", mock.port);
    config.zalo = Some(ZaloSettings {
        app_id: "123456".into(),
        oa_api: base.clone(),
        zns_api: base.clone(),
        oauth_api: base,
        template_id: template.then(|| "tpl-nhac-viec".to_string()),
        template_params: vec![
            ("agency".into(), "agency".into()),
            ("deadline".into(), "first_deadline".into()),
            ("count".into(), "count".into()),
        ],
        rate_limit_per_minute: 100_000,
        timeout_seconds: 5,
    });
    config.email.admin = Some("quantri@haugiang.example".into());
    let templates = Templates::new(&analysis.templates).unwrap();
    let store = Store::open_writer(&tmp.join("state/nhacviec.db")).unwrap();
    store
        .set_zalo_token(
            access,
            refresh,
            access.map(|_| Utc::now() + chrono::Duration::hours(24)),
        )
        .unwrap();
    let senders = Senders::new(&config, &tmp.join("state")).unwrap();
    let mut store = store;
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

fn by_channel(store: &Store, channel: &str) -> Vec<nhacviec::store::Delivery> {
    store
        .history(None, None, 1000)
        .unwrap()
        .into_iter()
        .filter(|d| d.channel.name() == channel)
        .collect()
}

/// A fresh store holding a valid token: the 25/5/2022 tick recorded and sent with `config`.
/// The directory is returned with the store so it outlives it.
async fn tick_and_send(config: &nhacviec::config::Config) -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let senders = Senders::new(config, &tmp.path().join("state")).unwrap();
    let mut store = Store::open_writer(&tmp.path().join("state/nhacviec.db")).unwrap();
    store
        .set_zalo_token(
            Some("AT0"),
            "RT0",
            Some(Utc::now() + chrono::Duration::hours(24)),
        )
        .unwrap();
    let templates = Templates::new(&[]).unwrap();
    let now = chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2022, 5, 25, 8, 0, 0)
        .unwrap();
    deliver::tick(
        &deliver::Engine::build(config, now.date_naive()),
        config,
        &templates,
        &mut store,
        now,
    )
    .unwrap();
    deliver::send_ready(&store, &senders, config, Utc::now())
        .await
        .unwrap();
    (tmp, store)
}

#[tokio::test(flavor = "current_thread")]
async fn zns_happy_path_and_a_token_expiring_mid_run() {
    if crate::support::isolated(
        "zalo::zns_happy_path_and_a_token_expiring_mid_run",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mock = Mock::start(&["--expire-after", "2"]);
    let (config, store, senders) = setup(tmp.path(), &mock, Some("AT0"), "RT0", true);
    assert_eq!(by_channel(&store, "zalo").len(), 4);
    deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    let zalo = by_channel(&store, "zalo");
    assert!(
        zalo.iter()
            .all(|d| d.status == nhacviec::store::DeliveryStatus::Sent),
        "{zalo:?}"
    );
    let st = mock.state();
    assert_eq!(st["oauth_calls"], 1, "refreshed exactly once");
    let received = st["received"].as_array().unwrap();
    assert_eq!(received.len(), 4);
    let phones: Vec<&str> = received
        .iter()
        .map(|r| r["body"]["phone"].as_str().unwrap())
        .collect();
    assert!(phones.contains(&"84900000002"), "{phones:?}");
    let so_tttt = received
        .iter()
        .find(|r| r["body"]["phone"] == "84900000002")
        .unwrap();
    assert_eq!(so_tttt["body"]["template_id"], "tpl-nhac-viec");
    assert_eq!(
        so_tttt["body"]["template_data"]["agency"],
        "Sở Thông tin và Truyền thông"
    );
    assert!(so_tttt["body"]["tracking_id"].as_str().unwrap().len() <= 48);
    // The new single-use pair is in the store (a crash now would restart with it).
    let (access, refresh, _) = store.zalo_token().unwrap().unwrap();
    assert_eq!((access.as_deref(), refresh.as_str()), (Some("AT1"), "RT1"));
    assert_eq!(st["refresh"], serde_json::json!(["RT1"]));
}

#[tokio::test(flavor = "current_thread")]
async fn a_reused_refresh_token_stops_the_channel_without_losing_anything() {
    if crate::support::isolated(
        "zalo::a_reused_refresh_token_stops_the_channel_without_losing_anything",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mock = Mock::start(&[]);
    // No access token, and a refresh token the mock has never issued (already used).
    let (config, store, senders) = setup(tmp.path(), &mock, None, "RT-used", true);
    deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!(mock.state()["oauth_calls"], 1);
    assert!(store
        .get(&nhacviec::store::meta::ZaloStopped)
        .unwrap()
        .is_some());
    // Every Zalo delivery went to email instead, and the admin was told once.
    let emails = by_channel(&store, "email");
    for agency in [
        "vp-ubnd-tinh",
        "so-tttt",
        "cong-an-tinh",
        "ubnd-tp-vi-thanh",
    ] {
        assert!(
            emails
                .iter()
                .any(|d| d.agency == agency && d.status == nhacviec::store::DeliveryStatus::Sent),
            "{agency}"
        );
    }
    let alerts: Vec<_> = emails.iter().filter(|d| d.agency == "_admin").collect();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].subject.contains("Kênh Zalo đã dừng"));
    // Later passes do not hammer OAuth again.
    deliver::send_ready(
        &store,
        &senders,
        &config,
        Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(mock.state()["oauth_calls"], 1);
    assert_eq!(
        by_channel(&store, "email")
            .iter()
            .filter(|d| d.agency == "_admin")
            .count(),
        1
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_empty_oauth_answer_also_stops_the_channel() {
    if crate::support::isolated(
        "zalo::an_empty_oauth_answer_also_stops_the_channel",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mock = Mock::start(&["--empty-oauth"]);
    let (config, store, senders) = setup(tmp.path(), &mock, None, "RT0", true);
    deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    assert!(store
        .get(&nhacviec::store::meta::ZaloStopped)
        .unwrap()
        .unwrap()
        .contains("trả lời rỗng"));
    assert!(by_channel(&store, "zalo")
        .iter()
        .all(|d| d.status == nhacviec::store::DeliveryStatus::Dead));
}

#[tokio::test(flavor = "current_thread")]
async fn no_zalo_account_falls_back_to_email() {
    if crate::support::isolated(
        "zalo::no_zalo_account_falls_back_to_email",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mock = Mock::start(&["--fail-phone", "84900000002:-118"]);
    let (config, store, senders) = setup(tmp.path(), &mock, Some("AT0"), "RT0", true);
    deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    let zalo = by_channel(&store, "zalo");
    let tttt = zalo.iter().find(|d| d.agency == "so-tttt").unwrap();
    assert_eq!(tttt.status, nhacviec::store::DeliveryStatus::Dead);
    assert!(tttt.last_error.as_deref().unwrap().contains("-118"));
    assert!(by_channel(&store, "email")
        .iter()
        .any(|d| d.agency == "so-tttt" && d.status == nhacviec::store::DeliveryStatus::Sent));
    assert_eq!(
        zalo.iter()
            .filter(|d| d.status == nhacviec::store::DeliveryStatus::Sent)
            .count(),
        3
    );
    // A fallback is not a failure to report.
    let (dead, _) = store.failures_to_report().unwrap();
    assert!(dead.iter().all(|d| d.agency != "so-tttt"));
}

#[tokio::test(flavor = "current_thread")]
async fn quota_exhaustion_defers_to_the_next_day() {
    if crate::support::isolated(
        "zalo::quota_exhaustion_defers_to_the_next_day",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Two ZNS messages left today; four agencies are due, sent one at a time.
    let mock = Mock::start(&["--daily-quota", "2"]);
    let (mut config, store, _) = setup(tmp.path(), &mock, Some("AT0"), "RT0", true);
    // One at a time: each channel's bound on sends in flight is set when it is built.
    config.email.pool_size = 1;
    let senders = Senders::new(&config, &tmp.path().join("state")).unwrap();
    let now = Utc::now();
    deliver::send_ready(&store, &senders, &config, now)
        .await
        .unwrap();
    let zalo = by_channel(&store, "zalo");
    assert_eq!(
        zalo.iter()
            .filter(|d| d.status == nhacviec::store::DeliveryStatus::Sent)
            .count(),
        2
    );
    let deferred: Vec<_> = zalo
        .iter()
        .filter(|d| d.status != nhacviec::store::DeliveryStatus::Sent)
        .collect();
    assert_eq!(deferred.len(), 2, "{zalo:?}");
    for d in deferred {
        assert_eq!(d.status, nhacviec::store::DeliveryStatus::Retrying);
        let next = d.next_attempt_at.unwrap();
        let local = next.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
        assert_eq!(
            local.date_naive(),
            now.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
                .date_naive()
                + chrono::Duration::days(1)
        );
        assert_eq!(local.format("%H:%M").to_string(), "07:00");
    }
    // The second answer said no quota remains: the last two were deferred without asking.
    assert_eq!(mock.state()["zns_requests"], 2);
}

#[tokio::test(flavor = "current_thread")]
async fn oa_messages_and_the_seven_day_rule() {
    if crate::support::isolated(
        "zalo::oa_messages_and_the_seven_day_rule",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mock = Mock::start(&[]);
    // No template: agencies with a Zalo user id get OA text; the rest fall back to email.
    let (mut config, _, _) = setup(tmp.path(), &mock, Some("AT0"), "RT0", false);
    for a in &mut config.agencies {
        if a.id == "so-tttt" {
            a.zalo_user_id = Some("2468458835296197922".into());
        }
    }
    tick_and_send(&config).await;
    let oa = mock.oa_texts();
    assert_eq!(oa.len(), 1);
    assert_eq!(oa[0]["body"]["recipient"]["user_id"], "2468458835296197922");
    let text = oa[0]["body"]["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("Kính gửi: Sở Thông tin và Truyền thông") && text.chars().count() <= 2000
    );

    // -230: the user has not interacted in 7 days → email.
    let mock = Mock::start(&["--oa-230"]);
    let base = format!("http://127.0.0.1:{}", mock.port);
    if let Some(z) = config.zalo.as_mut() {
        z.oa_api = base.clone();
        z.zns_api = base.clone();
        z.oauth_api = base;
    }
    let (_tmp, store) = tick_and_send(&config).await;
    assert!(by_channel(&store, "email")
        .iter()
        .any(|d| d.agency == "so-tttt" && d.status == nhacviec::store::DeliveryStatus::Sent));
}

#[tokio::test(flavor = "current_thread")]
async fn server_errors_and_rate_limits_are_retried() {
    if crate::support::isolated(
        "zalo::server_errors_and_rate_limits_are_retried",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mock = Mock::start(&["--http500", "1", "--rate-limited", "1"]);
    let (config, store, senders) = setup(tmp.path(), &mock, Some("AT0"), "RT0", true);
    let now = Utc::now();
    deliver::send_ready(&store, &senders, &config, now)
        .await
        .unwrap();
    let zalo = by_channel(&store, "zalo");
    let retrying: Vec<_> = zalo
        .iter()
        .filter(|d| d.status == nhacviec::store::DeliveryStatus::Retrying)
        .collect();
    assert_eq!(retrying.len(), 2, "{zalo:?}");
    assert!(retrying
        .iter()
        .any(|d| d.last_error.as_deref().unwrap().contains("500")));
    assert!(retrying
        .iter()
        .any(|d| d.last_error.as_deref().unwrap().contains("-32")));
    deliver::send_ready(
        &store,
        &senders,
        &config,
        now + chrono::Duration::minutes(5),
    )
    .await
    .unwrap();
    assert!(by_channel(&store, "zalo")
        .iter()
        .all(|d| d.status == nhacviec::store::DeliveryStatus::Sent));
    assert_eq!(mock.state()["received"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "current_thread")]
async fn a_decision_reaches_an_agency_on_zalo_as_oa_text_even_with_a_zns_template() {
    if crate::support::isolated(
        "zalo::a_decision_reaches_an_agency_on_zalo_as_oa_text_even_with_a_zns_template",
        &[("NHACVIEC_ZALO_SECRET_KEY", SECRET)],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mock = Mock::start(&[]);
    let (mut config, store, _) = setup(tmp.path(), &mock, Some("AT0"), "RT0", true);
    for a in &mut config.agencies {
        if a.id == "so-tttt" {
            a.zalo_user_id = Some("2468458835296197922".into());
            a.email.clear();
        }
    }
    let senders = Senders::new(&config, &tmp.path().join("state")).unwrap();
    let request = nhacviec::answers::Response {
        id: 1,
        agency: "so-tttt".into(),
        plan: "50/KH-UBND".into(),
        task: "8.6".into(),
        deadline: chrono::NaiveDate::from_ymd_opt(2022, 3, 31),
        action: nhacviec::answers::Action::Extension,
        done_on: None,
        doc_ref: None,
        note: None,
        percent: None,
        proposed: chrono::NaiveDate::from_ymd_opt(2022, 6, 30),
        created_at: Utc::now(),
        key_id: String::new(),
        client: None,
        user_agent: None,
        undone_at: None,
        granted: None,
        refused_at: None,
        refusal: None,
        exact: true,
        who: nhacviec::answers::Who::default(),
        review: None,
    };
    let decision = nhacviec::messages::Decision::Refused {
        reason: "Đã quá thời hạn đề nghị".into(),
    };
    let told = nhacviec::messages::decision(&config, &request, &decision, None).unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].channel, nhacviec::config::Channel::Zalo);
    store
        .record_extra(
            nhacviec::store::Ledger::Real,
            &told,
            &[],
            &[],
            "haugiang.example",
        )
        .unwrap();
    deliver::send_ready(&store, &senders, &config, Utc::now())
        .await
        .unwrap();
    let oa = mock.oa_texts();
    assert_eq!(oa.len(), 1, "OA text, not the reminder's ZNS template");
    let text = oa[0]["body"]["message"]["text"].as_str().unwrap();
    assert!(text.contains("KHÔNG ĐỒNG Ý gia hạn"), "{text}");
    assert!(text.contains("Đã quá thời hạn đề nghị"), "{text}");
    // Without a user id (a ZNS phone only) nothing is queued: the page shows the decision.
    for a in &mut config.agencies {
        if a.id == "so-tttt" {
            a.zalo_user_id = None;
        }
    }
    assert!(
        nhacviec::messages::decision(&config, &request, &decision, None)
            .unwrap()
            .is_empty()
    );
}
