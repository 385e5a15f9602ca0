//! The messages' tests, and the fixtures `outbox`'s tests share.

use super::digest::*;
use super::notices::*;
use super::samples::*;
use super::weekly::*;
use super::*;
use crate::config::{analyze, Channel, Config, Source, Sources};
use crate::outbox::Delivery;
use crate::render::Templates;
use crate::report::State;
use crate::schedule::{Digest, Item, Kind, Role, Tick};
use chrono::{DateTime, NaiveDate, Utc};

const SETTINGS: &str = r#"
monitor = "vp"
[email]
from = "Nhắc việc <nv@tinh.example>"
admin = "qt@tinh.example"
give_up_after_hours = 24
[webhook]
url = "https://hook.example/nhacviec"
[zalo]
app_id = "1"
zns_template_id = "t"
"#;

const AGENCIES: &str = r#"
[[level]]
id = "tinh"
name = "cấp tỉnh"

[[agency]]
id = "hai"
name = "Sở Hai Địa Chỉ"
level = "tinh"
email = ["a@tinh.example", "b@tinh.example"]

[[agency]]
id = "zalo"
name = "Sở Zalo"
level = "tinh"
email = ["z@tinh.example"]
zalo_phone = "0912345678"
channels = ["zalo", "email"]

[[agency]]
id = "hook"
name = "Sở Webhook"
level = "tinh"
zalo_user_id = "1234567890"
channels = ["webhook", "zalo"]

[[agency]]
id = "vp"
name = "Văn phòng UBND tỉnh"
level = "tinh"
email = ["vp1@tinh.example", "vp2@tinh.example"]
"#;

const PLAN: &str = r#"
[plan]
number = "1/KH"
title = "T"
issuer = "U"
issued = 2022-01-01

[[task]]
id = "1"
title = "Việc <một> & \"hai\""
lead = ["hai", "zalo", "hook"]
due = 2022-06-01
"#;

pub(crate) fn config(extra: &str) -> Config {
    let sources = Sources::in_memory(
        Some(Source::new("nhacviec.toml", format!("{SETTINGS}{extra}"))),
        Source::new("agencies.toml", AGENCIES),
        vec![Source::new("plans/1.toml", PLAN)],
    );
    let analysis = analyze(&sources);
    assert!(
        !analysis.has_errors(),
        "{:?}",
        analysis.errors().collect::<Vec<_>>()
    );
    analysis.config
}

fn with_trial(extra: &str) -> Config {
    // `redirect_all_to` lives in [email]: splice it in.
    let mut c = config("");
    c.email.redirect_all_to = (!extra.is_empty()).then(|| extra.to_string());
    c
}

pub(crate) fn templates() -> Templates {
    Templates::new(&[]).unwrap()
}

pub(crate) fn item(days: i64) -> Item {
    Item {
        plan: "1/KH".into(),
        task: "1".into(),
        role: Role::Lead,
        kind: if days < 0 {
            Kind::Overdue
        } else {
            Kind::Before
        },
        days,
        deadline: NaiveDate::from_ymd_opt(2022, 6, 1).unwrap(),
        planned: NaiveDate::from_ymd_opt(2022, 6, 1).unwrap(),
        agency: None,
        key: format!("k{days}"),
    }
}

pub(crate) fn tick(agencies: &[&str]) -> Tick {
    Tick {
        digests: agencies
            .iter()
            .map(|a| Digest {
                agency: a.to_string(),
                items: vec![item(3)],
            })
            .collect(),
        ..Tick::default()
    }
}

pub(crate) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 5, 29).unwrap()
}

pub(crate) fn delivery(new: &NewDelivery, id: i64, attempts: i64, created: &str) -> Delivery {
    let mut d = Delivery::unrecorded(new.clone(), Utc::now(), "tinh.example");
    d.id = id;
    d.attempts = attempts;
    d.created_at = chrono::DateTime::parse_from_rfc3339(created)
        .unwrap()
        .with_timezone(&Utc);
    d
}

/// A digest of two plans reporting to different offices names each plan's office under
/// its tasks, and the settings' office in the footer and Reply-To; a digest of the second
/// plan alone names its office throughout.
#[test]
fn each_plans_items_say_which_office_to_report_to() {
    let second = PLAN
        .replace(
            "number = \"1/KH\"",
            "number = \"2/KH\"\nmonitor = \"Sở Zalo\"",
        )
        .replace("title = \"T\"", "title = \"Chuyển đổi số\"");
    let sources = Sources::in_memory(
        Some(Source::new("nhacviec.toml", SETTINGS)),
        Source::new("agencies.toml", AGENCIES),
        vec![
            Source::new("plans/1.toml", PLAN),
            Source::new("plans/2.toml", second),
        ],
    );
    let analysis = analyze(&sources);
    assert!(
        !analysis.has_errors(),
        "{:?}",
        analysis.errors().collect::<Vec<_>>()
    );
    let c = analysis.config;
    let of_plan = |plan: &str| Item {
        plan: plan.into(),
        ..item(3)
    };
    let both = Digest {
        agency: "hai".into(),
        items: vec![of_plan("1/KH"), of_plan("2/KH")],
    };
    let ctx = context(&c, &both, today());
    assert!(ctx.monitors_differ);
    assert_eq!(ctx.monitor, "Văn phòng UBND tỉnh");
    assert_eq!(ctx.own_items[0].monitor, "Văn phòng UBND tỉnh");
    assert_eq!(ctx.own_items[1].monitor, "Sở Zalo");
    let r = templates().render_context(&ctx).unwrap();
    assert!(
        r.text
            .contains("Báo cáo kết quả các nhiệm vụ trên về Sở Zalo."),
        "{}",
        r.text
    );
    assert!(r
        .text
        .contains("Báo cáo kết quả các nhiệm vụ trên về Văn phòng UBND tỉnh."));
    assert!(r
        .text
        .contains("báo cáo kết quả về cơ quan theo dõi của từng kế hoạch"));
    assert!(r.html.contains("về <strong>Sở Zalo</strong>"), "{}", r.html);
    assert_eq!(
        c.email.reply_to_of(["1/KH", "2/KH"]),
        Some(("vp", "vp1@tinh.example"))
    );

    let alone = Digest {
        agency: "hai".into(),
        items: vec![of_plan("2/KH")],
    };
    let ctx = context(&c, &alone, today());
    assert!(!ctx.monitors_differ);
    assert_eq!(ctx.monitor, "Sở Zalo");
    assert_eq!(
        (
            ctx.monitor_contact.name.as_str(),
            ctx.monitor_contact.email.as_str()
        ),
        ("Sở Zalo", "z@tinh.example")
    );
    let r = templates().render_context(&ctx).unwrap();
    assert!(r.text.contains("báo cáo kết quả về Sở Zalo."), "{}", r.text);
    assert!(!r.text.contains("Văn phòng UBND tỉnh"), "{}", r.text);
    assert_eq!(
        c.email.reply_to_of(["2/KH"]),
        Some(("zalo", "z@tinh.example"))
    );
    // Sở Zalo is plan 2's office: not asked to report to itself.
    let own = Digest {
        agency: "zalo".into(),
        items: vec![of_plan("2/KH")],
    };
    let ctx = context(&c, &own, today());
    assert!(ctx.is_monitor);
    assert_eq!(ctx.own_items[0].monitor, "");
}

#[test]
fn each_agency_takes_its_first_configured_channel() {
    let c = config("");
    assert_eq!(channel_for(&c, "hai"), Channel::Email);
    assert_eq!(channel_for(&c, "zalo"), Channel::Zalo);
    assert_eq!(channel_for(&c, "hook"), Channel::Webhook);
    assert_eq!(channel_for(&c, "nobody"), Channel::Email);
    let mut no_zalo = c.clone();
    no_zalo.zalo = None;
    assert_eq!(channel_for(&no_zalo, "zalo"), Channel::Email);
}

#[test]
fn a_digest_is_one_delivery_per_address_on_email_and_one_elsewhere() {
    let c = config("");
    let out = digests(&c, &templates(), &tick(&["hai", "zalo", "hook"]), today()).unwrap();
    let summary: Vec<(&str, Channel, Vec<String>)> = out
        .iter()
        .map(|d| (d.agency.as_str(), d.channel, d.recipients.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("hai", Channel::Email, vec!["a@tinh.example".to_string()]),
            ("hai", Channel::Email, vec!["b@tinh.example".to_string()]),
            ("zalo", Channel::Zalo, vec!["zalo".to_string()]),
            ("hook", Channel::Webhook, vec!["hook".to_string()]),
        ]
    );
    assert!(
        out[0].subject.contains("Sở Hai Địa Chỉ"),
        "{}",
        out[0].subject
    );
    assert!(
        out[0].body_html.contains("Việc &lt;một&gt;"),
        "{}",
        out[0].body_html
    );
    assert_eq!(out[0].thread, "hai.1-kh");
    // The webhook body is the JSON of the digest, escaped.
    let json: serde_json::Value = serde_json::from_str(&out[3].body_text).unwrap();
    assert_eq!(json["agency"], "hook");
    assert_eq!(json["items"][0]["title"], "Việc <một> & \"hai\"");
    assert!(out[3].body_html.is_empty());
}

#[test]
fn trial_mode_sends_email_to_the_trial_address_naming_the_intended_ones() {
    let c = with_trial("thu@tinh.example");
    let out = digests(&c, &templates(), &tick(&["hai", "zalo"]), today()).unwrap();
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].recipients, vec!["thu@tinh.example".to_string()]);
    assert!(out[0].body_text.contains("a@tinh.example, b@tinh.example"));
    // Zalo is not email: trial mode does not redirect it.
    assert_eq!(out[1].channel, Channel::Zalo);
    let weekly = weekly_report(
        &c,
        "vp",
        &overview(&c, today()),
        &quiet_week(),
        None,
        vec![],
    )
    .unwrap();
    assert_eq!(weekly.len(), 1);
    assert_eq!(weekly[0].recipients, vec!["thu@tinh.example".to_string()]);
    assert!(weekly[0]
        .body_text
        .contains("vp1@tinh.example, vp2@tinh.example"));
}

#[test]
fn a_long_digest_goes_out_in_parts_and_a_long_report_is_cut_with_a_count() {
    let c = config("");
    let mut long = tick(&["hai"]);
    long.digests[0].items = (0..250)
        .map(|i| Item {
            key: format!("k{i}"),
            ..item(-(i as i64))
        })
        .collect();
    let all = digests(&c, &templates(), &long, today()).unwrap();
    // "hai" has two addresses: each gets every part.
    assert_eq!(all.len(), 6);
    let out: Vec<&NewDelivery> = all
        .iter()
        .filter(|d| d.recipients == all[0].recipients)
        .collect();
    let parts: Vec<(usize, &str)> = out
        .iter()
        .map(|d| (d.items.len(), d.subject.as_str()))
        .collect();
    assert_eq!(parts.len(), 3, "{parts:?}");
    assert_eq!(
        parts.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
    assert!(parts[0].1.ends_with("(phần 1/3)"), "{}", parts[0].1);
    assert!(parts[2].1.ends_with("(phần 3/3)"), "{}", parts[2].1);
    // Every item goes out exactly once.
    let mut keys: Vec<&str> = out
        .iter()
        .flat_map(|d| d.items.iter().map(|i| i.key.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 250);
    // A short digest keeps its subject.
    let short = digests(&c, &templates(), &tick(&["hai"]), today()).unwrap();
    assert!(!short[0].subject.contains("phần"));

    // A national-scale report names the most urgent tasks; the counts cover all.
    let today = NaiveDate::from_ymd_opt(2022, 6, 5).unwrap();
    let mut big = overview(&c, today);
    let late = big
        .rows
        .iter()
        .find(|r| r.status.state == State::OpenOverdue && r.status.role == Role::Lead)
        .unwrap()
        .clone();
    for k in 0..MAX_REPORT_LINES + 500 {
        let mut r = late.clone();
        r.status.task = format!("x{k}");
        big.rows.push(r);
        big.totals.add(State::OpenOverdue);
    }
    // Past the cap, agencies needing attention are counted as such, not as quiet ones;
    // the most overdue are the ones named.
    let quiet_before = big
        .agencies
        .iter()
        .filter(|a| a.counts.overdue == 0)
        .count();
    let model = big.agencies[0].clone();
    for k in 0..MAX_REPORT_LINES + 5 {
        let mut a = model.clone();
        a.agency = format!("a{k}");
        a.name = format!("Cơ quan {k}");
        a.counts.overdue = k + 1;
        big.agencies.push(a);
    }
    let out = weekly_report(&c, "vp", &big, &quiet_week(), None, vec![]).unwrap();
    let text = &out[0].body_text;
    assert!(text.contains("... và 501 nhiệm vụ khác"), "{text}");
    let needing = big.agencies.len() - quiet_before;
    assert!(
        text.contains(&format!(
            "... và {} cơ quan khác có việc quá hạn",
            needing - MAX_REPORT_LINES
        )),
        "{text}"
    );
    let first = text.find(&format!("Cơ quan {}:", MAX_REPORT_LINES + 4));
    let second = text.find(&format!("Cơ quan {}:", MAX_REPORT_LINES + 3));
    assert!(first.is_some() && first < second, "{text}");
    assert!(
        !text.contains("- Cơ quan 0:"),
        "the least overdue is not named: {text}"
    );
    assert!(out[0]
        .subject
        .contains(&format!("{} quá hạn", big.totals.overdue)));
}

/// Monday 07:30 in Hanoi (00:30 UTC) of the week of `day`'s report.
fn report_time(day: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{day}T07:30:00+07:00"))
        .unwrap()
        .with_timezone(&Utc)
}

/// A week in which nothing was recorded.
fn quiet_week() -> Week<'static> {
    Week {
        from: report_time("2022-05-23"),
        to: report_time("2022-05-30"),
        responses: &[],
        extensions: &[],
    }
}

fn overview(c: &Config, today: NaiveDate) -> crate::overview::Overview {
    crate::overview::compute(c, today, None, &[], &[], &std::collections::HashMap::new())
}

#[test]
fn the_weekly_report_goes_to_each_monitor_address_from_a_template() {
    let c = config("");
    let o = overview(&c, NaiveDate::from_ymd_opt(2022, 6, 5).unwrap());
    let workbook = Attachment {
        name: "tinh-hinh-2022-06-05.xlsx".into(),
        content_type: crate::workbook::XLSX_TYPE.into(),
        bytes: vec![1, 2, 3],
    };
    let document = Attachment {
        name: "bao-cao-2022-06-05.docx".into(),
        content_type: crate::report_doc::DOCX_TYPE.into(),
        bytes: vec![4, 5],
    };
    let out = weekly_report(
        &c,
        "vp",
        &o,
        &quiet_week(),
        Some("https://x/theo-doi/k"),
        vec![workbook.clone(), document.clone()],
    )
    .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].recipients, vec!["vp1@tinh.example".to_string()]);
    assert_eq!(out[1].recipients, vec!["vp2@tinh.example".to_string()]);
    assert_eq!(out[0].attachments, vec![workbook.clone(), document.clone()]);
    let text = &out[0].body_text;
    assert!(
        out[0]
            .subject
            .starts_with("[Nhắc việc] Báo cáo tuần đến ngày 05/06/2022: "),
        "{}",
        out[0].subject
    );
    assert!(text.contains("hạn 01/06/2022, quá 4 ngày: "), "{text}");
    assert!(
        text.contains("tệp đính kèm tinh-hinh-2022-06-05.xlsx"),
        "{text}"
    );
    assert!(
        text.contains("Dự thảo báo cáo (Word) để trình ký: tệp đính kèm bao-cao-2022-06-05.docx"),
        "{text}"
    );
    assert!(
        out[0].body_html.contains("<b>bao-cao-2022-06-05.docx</b>"),
        "{}",
        out[0].body_html
    );
    assert!(
        text.contains("Trang theo dõi: https://x/theo-doi/k"),
        "{text}"
    );
    assert!(
        out[0].body_html.contains("<td>Sở Webhook</td>"),
        "{}",
        out[0].body_html
    );
    assert_eq!(
        weekly_report(&c, "nobody", &o, &quiet_week(), None, vec![]).unwrap(),
        vec![]
    );
}

const QUARTERLY: &str = r#"
[plan]
number = "2/KH"
title = "T"
issuer = "U"
issued = 2022-01-01

[[task]]
id = "1"
title = "Báo cáo quý"
lead = ["hai"]
support = ["zalo"]
time = "Hằng quý"
recurrence = "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18"

[[task]]
id = "2"
title = "Việc có hạn"
lead = ["hai", "hook"]
due = 2022-06-01
"#;

/// The tests' plan and a second one with a recurring task.
fn quarterly() -> Config {
    let sources = Sources::in_memory(
        Some(Source::new("nhacviec.toml", SETTINGS)),
        Source::new("agencies.toml", AGENCIES),
        vec![
            Source::new("plans/1.toml", PLAN),
            Source::new("plans/2.toml", QUARTERLY),
        ],
    );
    let analysis = analyze(&sources);
    assert!(!analysis.has_errors());
    analysis.config
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn answer(
    id: i64,
    agency: &str,
    task: &str,
    action: crate::answers::Action,
    recorded: DateTime<Utc>,
) -> crate::answers::Response {
    crate::answers::Response {
        id,
        agency: agency.into(),
        plan: "2/KH".into(),
        task: task.into(),
        deadline: None,
        action,
        done_on: None,
        doc_ref: None,
        note: None,
        percent: None,
        proposed: None,
        created_at: recorded,
        key_id: "k".into(),
        client: None,
        user_agent: None,
        undone_at: None,
        granted: None,
        refused_at: None,
        refusal: None,
        exact: true,
        who: crate::answers::Who::default(),
        review: None,
    }
}

fn done(
    id: i64,
    agency: &str,
    task: &str,
    due: &str,
    on: &str,
    doc: &str,
    recorded: DateTime<Utc>,
) -> crate::answers::Response {
    crate::answers::Response {
        deadline: Some(d(due)),
        done_on: Some(d(on)),
        doc_ref: Some(doc.into()),
        ..answer(id, agency, task, crate::answers::Action::Done, recorded)
    }
}

/// The weekly report of `week` to the first monitor address.
fn the_weeks_report(c: &Config, week: &Week<'_>) -> NewDelivery {
    let o = crate::overview::compute(
        c,
        week.to.date_naive(),
        None,
        week.responses,
        week.extensions,
        &Default::default(),
    );
    weekly_report(c, "vp", &o, week, None, vec![])
        .unwrap()
        .remove(0)
}

/// The lines listed under one heading of the report's week ("- Báo hoàn thành: 2").
fn listed<'t>(text: &'t str, heading: &str) -> Vec<&'t str> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in {text}"));
    text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect()
}

#[test]
fn the_weeks_changes_are_those_recorded_from_the_last_report_time_to_this_one() {
    use crate::answers::{Action, Extension};
    let c = quarterly();
    let (prev, this) = (report_time("2022-05-23"), report_time("2022-05-30"));
    let second = chrono::Duration::seconds(1);
    let responses = vec![
        // At exactly the previous report time: after that report was made, so this week's.
        done(
            1,
            "hai",
            "2",
            "2022-06-01",
            "2022-05-20",
            "Báo cáo số 1/BC",
            prev,
        ),
        // A second before it: last week's.
        done(
            2,
            "hook",
            "2",
            "2022-06-01",
            "2022-05-20",
            "Báo cáo số 2/BC",
            prev - second,
        ),
        // At exactly this report time: next week's.
        done(
            3,
            "hai",
            "1",
            "2022-03-18",
            "2022-03-15",
            "Báo cáo số 3/BC",
            this,
        ),
        // A second before it, about the first quarter, done long before it was reported;
        // and a coordinator's completion.
        done(
            4,
            "hai",
            "1",
            "2022-03-18",
            "2022-04-20",
            "Báo cáo số 4/BC",
            this - second,
        ),
        done(
            5,
            "zalo",
            "1",
            "2022-03-18",
            "2022-03-10",
            "Báo cáo số 5/BC",
            prev + second,
        ),
        // Withdrawn before the report: not listed.
        crate::answers::Response {
            undone_at: Some(prev + chrono::Duration::hours(2)),
            ..done(
                6,
                "hook",
                "1",
                "2022-03-18",
                "2022-03-10",
                "Báo cáo số 6/BC",
                prev + second,
            )
        },
        // Refused this week, with its reason; one refused at this report time waits.
        crate::answers::Response {
            deadline: Some(d("2022-06-01")),
            proposed: Some(d("2022-07-31")),
            refused_at: Some(prev + chrono::Duration::hours(27)),
            refusal: Some("Không có lý do chính đáng".into()),
            ..answer(
                7,
                "hook",
                "2",
                Action::Extension,
                prev - chrono::Duration::days(3),
            )
        },
        crate::answers::Response {
            proposed: Some(d("2022-08-31")),
            refused_at: Some(this),
            refusal: Some("Để tuần sau".into()),
            ..answer(8, "hai", "2", Action::Extension, prev)
        },
    ];
    let grant = |id: i64, to: &str, doc: &str, granted_at: DateTime<Utc>| Extension {
        id,
        agency: "hai".into(),
        plan: "2/KH".into(),
        task: "2".into(),
        from: d("2022-06-01"),
        to: d(to),
        doc_ref: Some(doc.into()),
        granted_at,
    };
    let extensions = vec![
        grant(1, "2022-06-30", "Công văn số 10/UBND", prev),
        grant(2, "2022-07-15", "Công văn số 11/UBND", this),
        grant(3, "2022-06-15", "Công văn số 9/UBND", prev - second),
    ];
    let week = Week {
        from: prev,
        to: this,
        responses: &responses,
        extensions: &extensions,
    };
    let report = the_weeks_report(&c, &week);
    let text = report.body_text;
    assert!(
        text.contains(
            "TRONG TUẦN (báo cáo, quyết định ghi nhận từ 07:30 23/05/2022 đến 07:30 30/05/2022)"
        ),
        "{text}"
    );
    assert!(text.contains("- Báo hoàn thành: 3\n"), "{text}");
    let completed = listed(&text, "- Báo hoàn thành:");
    assert_eq!(
        completed,
        vec![
            "  + 1 (2/KH) Sở Hai Địa Chỉ: hoàn thành quá hạn ngày 20/04/2022 (kỳ Quý I/2022, hạn 18/03/2022), Báo cáo số 4/BC, báo ngày 30/05/2022",
            "  + 1 (2/KH) Sở Zalo: hoàn thành đúng hạn ngày 10/03/2022 (kỳ Quý I/2022, hạn 18/03/2022), Báo cáo số 5/BC, báo ngày 23/05/2022 (cơ quan phối hợp báo)",
            "  + 2 (2/KH) Sở Hai Địa Chỉ: hoàn thành đúng hạn ngày 20/05/2022 (hạn 01/06/2022), Báo cáo số 1/BC, báo ngày 23/05/2022",
        ],
        "{text}"
    );
    assert_eq!(
        listed(&text, "- Được gia hạn:"),
        vec!["  + 2 (2/KH) Sở Hai Địa Chỉ: gia hạn từ 01/06/2022 đến 30/06/2022 (Công văn số 10/UBND)"],
        "{text}"
    );
    assert_eq!(
        listed(&text, "- Không đồng ý gia hạn:"),
        vec!["  + 2 (2/KH) Sở Webhook: không đồng ý gia hạn từ 01/06/2022 đến 31/07/2022: Không có lý do chính đáng"],
        "{text}"
    );
    for absent in ["2/BC", "3/BC", "6/BC", "9/UBND", "11/UBND", "Để tuần sau"] {
        assert!(!text.contains(absent), "{absent}: {text}");
    }
    // Two plans: their totals too, what the dashboard's "Tổng cộng" row says (the
    // quarterly task's periods each an assignment: Quý I overdue, Quý II not yet due).
    assert!(
        text.contains(
            "Tổng cộng 2 kế hoạch (7 lượt giao chủ trì):\n  hoàn thành đúng hạn 0; hoàn \
             thành quá hạn 0; chưa hoàn thành, trong hạn 5; chưa hoàn thành, quá hạn 1; \
             chưa đến hạn 1; không có hạn 0. Tỷ lệ đúng hạn: 0,0%.\n"
        ),
        "{text}"
    );
    // The HTML part as a browser reads it ("/" is escaped).
    let html = report.body_html.replace("&#x2f;", "/");
    assert!(
        html.contains("Báo cáo, quyết định ghi nhận từ 07:30 23/05/2022 đến 07:30 30/05/2022."),
        "{html}"
    );
    assert!(html.contains("Báo cáo số 4/BC"), "{html}");
    assert!(!html.contains("Báo cáo số 3/BC"), "{html}");

    // The next week takes what was recorded at this report time, and nothing listed now.
    let next = Week {
        from: this,
        to: this + chrono::Duration::days(7),
        ..week
    };
    let text = the_weeks_report(&c, &next).body_text;
    assert_eq!(listed(&text, "- Báo hoàn thành:").len(), 1, "{text}");
    assert!(text.contains("Báo cáo số 3/BC"), "{text}");
    assert!(text.contains("Công văn số 11/UBND"), "{text}");
    assert!(text.contains("Để tuần sau"), "{text}");
    for absent in ["1/BC", "4/BC", "5/BC", "10/UBND", "chính đáng"] {
        assert!(!text.contains(absent), "{absent}: {text}");
    }
}

#[test]
fn the_failure_summary_lists_dead_and_stuck_escaped() {
    let c = config("");
    let out = digests(&c, &templates(), &tick(&["hai"]), today()).unwrap();
    let mut dead = delivery(&out[0], 11, 4, "2022-05-29T01:00:00+00:00");
    dead.last_error = Some("550 <hộp thư> không có".into());
    let mail =
        failure_summary(&c.email, &[FailedDelivery::from(&dead)], &[], &[], today()).unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].recipients, vec!["qt@tinh.example".to_string()]);
    assert_eq!(
        mail[0].subject,
        "[Nhắc việc] Báo cáo thư lỗi ngày 29/05/2022: 1 thất bại, 0 đang thử lại"
    );
    assert!(
        mail[0]
            .body_text
            .contains("- #11 gửi hai (a@tinh.example), 4 lần thử: 550 <hộp thư> không có"),
        "{}",
        mail[0].body_text
    );
    assert!(!mail[0].body_text.contains("đang thử lại nhiều lần"));
    assert!(
        mail[0].body_html.contains("550 &lt;hộp thư&gt;"),
        "{}",
        mail[0].body_html
    );
    let mut no_admin = c.email.clone();
    no_admin.admin = None;
    assert_eq!(
        failure_summary(&no_admin, &[], &[], &[], today()).unwrap(),
        vec![]
    );
    let alert = zalo_stopped(&c.email, "token <hết hạn>").unwrap();
    assert!(alert[0].body_html.contains("token &lt;hết hạn&gt;"));
}

#[test]
fn send_test_samples_are_marked_and_addressed_like_the_service() {
    let c = config("");
    let t = templates();
    let email = sample(&c, &t, "hai", Channel::Email, None, today()).unwrap();
    assert!(email.subject.starts_with(SAMPLE_MARK), "{}", email.subject);
    assert!(
        email.body_text.starts_with(SAMPLE_MARK),
        "{}",
        email.body_text
    );
    assert!(email.body_html.contains(SAMPLE_MARK));
    assert_eq!(email.recipients.len(), 2);
    let hook = sample(&c, &t, "hook", Channel::Webhook, None, today()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&hook.body_text).unwrap();
    assert_eq!(json["agency"], "hook");
    assert!(json["subject"].as_str().unwrap().starts_with(SAMPLE_MARK));
    assert_eq!(
        sample(&c, &t, "hook", Channel::Email, None, today()),
        Err(SampleError::NoAddress("hook".into()))
    );
    assert_eq!(
        sample(&c, &t, "x", Channel::Email, None, today()),
        Err(SampleError::UnknownAgency("x".into()))
    );
    let mut no_hook = c.clone();
    no_hook.webhook = None;
    assert_eq!(
        sample(&no_hook, &t, "hook", Channel::Webhook, None, today()),
        Err(SampleError::NotConfigured("webhook"))
    );
    let trial = with_trial("thu@tinh.example");
    let s = sample(&trial, &t, "hai", Channel::Email, None, today()).unwrap();
    assert_eq!(s.recipients, vec!["thu@tinh.example".to_string()]);
    // --to: that address only (trial mode still redirects), a bad one refused.
    let to = sample(
        &c,
        &t,
        "hook",
        Channel::Email,
        Some("ai@khac.example"),
        today(),
    );
    assert_eq!(to.unwrap().recipients, vec!["ai@khac.example".to_string()]);
    let s = sample(
        &trial,
        &t,
        "hai",
        Channel::Email,
        Some("ai@khac.example"),
        today(),
    );
    assert_eq!(s.unwrap().recipients, vec!["thu@tinh.example".to_string()]);
    assert_eq!(
        sample(&c, &t, "hai", Channel::Email, Some("không@"), today()),
        Err(SampleError::BadAddress("không@".into()))
    );
    assert_eq!(
        sample(
            &c,
            &t,
            "hook",
            Channel::Webhook,
            Some("a@b.example"),
            today()
        ),
        Err(SampleError::ToNeedsEmail)
    );
}

#[test]
fn a_sample_carries_the_agencys_open_items_and_escalations_only_for_the_monitor() {
    let c = config("");
    let t = templates();
    // 29/05: task 1 (due 01/06) is three days off for "hai".
    let s = sample(&c, &t, "hai", Channel::Email, None, today()).unwrap();
    assert_eq!(s.items.len(), 1);
    assert_eq!((s.items[0].task.as_str(), s.items[0].days), ("1", 3));
    assert!(s.body_text.contains("còn 3 ngày"), "{}", s.body_text);
    assert!(!s.body_text.contains("quá hạn"), "{}", s.body_text);
    // 10/06: overdue for every lead; the office monitoring the plan is told who is late.
    let later = NaiveDate::from_ymd_opt(2022, 6, 10).unwrap();
    let s = sample(&c, &t, "hai", Channel::Email, None, later).unwrap();
    assert!(s.body_text.contains("quá hạn 9 ngày"), "{}", s.body_text);
    assert!(!s.body_text.contains("chưa hoàn thành:"), "{}", s.body_text);
    let vp = sample(&c, &t, "vp", Channel::Email, None, later).unwrap();
    assert!(vp.items.iter().all(|i| i.kind == Kind::Escalation));
    assert!(vp.body_text.contains("Sở Hai Địa Chỉ"), "{}", vp.body_text);
    // Nothing open: one item, and it says it is an example.
    let done = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let mut none = c.clone();
    none.plans.clear();
    let s = sample(&none, &t, "hai", Channel::Email, None, done).unwrap();
    assert_eq!(s.items.len(), 1);
    assert!(s.body_text.contains("không có thật"), "{}", s.body_text);
    assert!(s.body_text.contains("còn 7 ngày"), "{}", s.body_text);
}

#[test]
fn threads_are_per_agency_and_plan() {
    assert_eq!(thread("so-tttt", "50/KH-UBND"), "so-tttt.50-kh-ubnd");
}

#[test]
fn a_digest_links_the_agencys_page_only_with_web_and_a_signer() {
    let signer = crate::links::Signer {
        current: crate::links::Key::new("0123456789abcdef0123456789abcdef").unwrap(),
        previous: None,
        days: 60,
    };
    let web = config("[web]\npublic_url = \"https://nv.tinh.example/\"\n");
    let linked = templates().with_links(Some(signer.clone()));
    let out = digests(&web, &linked, &tick(&["hai"]), today()).unwrap();
    let text = &out[0].body_text;
    let at = text.find("https://nv.tinh.example/a/").expect(text);
    let token: String = text[at + 26..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let issued = today().and_time(chrono::NaiveTime::MIN).and_utc();
    let link = signer.verify(&token, issued).unwrap();
    assert_eq!(link.agency, "hai");
    assert!(out[0].body_html.contains("Cập nhật kết quả thực hiện"));
    // Each item opens the page at its occurrence: plan, task, the deadline as planned.
    let item = format!("https://nv.tinh.example/a/{token}?muc=1%2FKH%7C1%7C2022-06-01#muc");
    assert!(text.contains(&format!("Trả lời: {item}")), "{text}");
    // (HTML escapes the slashes of the address; the query has none.)
    assert_eq!(
        out[0]
            .body_html
            .matches("?muc=1%2FKH%7C1%7C2022-06-01#muc")
            .count(),
        2,
        "the button and the row's link name the item"
    );
    assert!(text.contains(&format!("https://nv.tinh.example/a/{token}\n")));
    // Without [web], or without the secret, no link and no button.
    for (c, t) in [(config(""), linked), (web, templates())] {
        let out = digests(&c, &t, &tick(&["hai"]), today()).unwrap();
        assert!(!out[0].body_text.contains("/a/"));
        assert!(!out[0].body_html.contains("Cập nhật kết quả thực hiện"));
    }
}

#[test]
fn coordinators_are_told_a_few_leads_and_how_many_more() {
    let names = |n: usize| -> Vec<String> { (0..n).map(|i| format!("a{i}")).collect() };
    assert_eq!(lead_names(&names(2), |s| s.to_uppercase()), ["A0", "A1"]);
    let many = lead_names(&names(36), |s| s.to_string());
    assert_eq!(many.len(), MAX_LEADS_NAMED + 1);
    assert_eq!(many.last().unwrap(), "và 31 cơ quan khác");
}

#[test]
fn occurrences_are_labelled_by_the_period_they_report_on() {
    let rec = |rule: &str| crate::deadline::Deadline::Recurring {
        rrule: rule.into(),
        window_from: None,
    };
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let quarterly = rec("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1");
    assert_eq!(occurrence(&quarterly, d(2022, 6, 30)), "Quý II/2022");
    // Due on the 5th of the month after the quarter: it reports on the quarter before.
    assert_eq!(occurrence(&quarterly, d(2022, 7, 5)), "Quý II/2022");
    assert_eq!(occurrence(&quarterly, d(2023, 1, 5)), "Quý IV/2022");
    let monthly = rec("FREQ=MONTHLY;BYMONTHDAY=27");
    assert_eq!(occurrence(&monthly, d(2022, 3, 27)), "Tháng 3/2022");
    assert_eq!(
        occurrence(&rec("FREQ=MONTHLY;BYMONTHDAY=5"), d(2022, 1, 5)),
        "Tháng 12/2021"
    );
    assert_eq!(
        occurrence(
            &rec("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1"),
            d(2022, 6, 30)
        ),
        "6 tháng đầu năm 2022"
    );
    assert_eq!(
        occurrence(
            &rec("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=15"),
            d(2022, 12, 15)
        ),
        "Năm 2022"
    );
    assert_eq!(
        occurrence(&rec("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=15"), d(2023, 1, 15)),
        "Năm 2022"
    );
    assert_eq!(
        occurrence(
            &rec("FREQ=YEARLY;BYMONTH=2,5,8,11;BYMONTHDAY=25"),
            d(2022, 5, 25)
        ),
        "Quý II/2022"
    );
    assert_eq!(
        occurrence(&crate::deadline::Deadline::Continuous, d(2022, 5, 25)),
        ""
    );
}

#[test]
fn a_decision_says_whether_the_agency_asked_and_which_deadline_moved() {
    let c = config("");
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let granted = Decision::Granted {
        to: d("2022-08-15"),
        doc_ref: Some("Công văn số 9/UBND".into()),
    };
    // A grant nobody asked for (`nhacviec extend`), the deadline moved once before.
    let alone = DecisionAbout {
        agency: "hai",
        plan: "1/KH",
        task: "1",
        deadline: Some(d("2022-06-01")),
        in_force: Some(d("2022-07-31")),
        requested: false,
        proposed: None,
    };
    let told = decision(&c, alone, &granted, Some("https://x.example/a/t")).unwrap();
    assert_eq!(told.len(), 2, "one per address");
    let m = &told[0];
    assert_eq!(
        m.subject,
        "[Nhắc việc] Nhiệm vụ 1 (1/KH): gia hạn đến 15/08/2022"
    );
    assert!(
        m.body_text
            .contains("Văn phòng UBND tỉnh thông báo gia hạn nhiệm vụ 1"),
        "{}",
        m.body_text
    );
    assert!(
        m.body_text.contains(
            "GIA HẠN: hạn 31/07/2022 (theo kế hoạch: 01/06/2022) được dời đến ngày 15/08/2022.\nVăn bản: Công văn số 9/UBND."
        ),
        "{}",
        m.body_text
    );
    assert!(!m.body_text.contains("đề nghị"), "{}", m.body_text);
    // HTML escaping writes '/' as "&#x2f;".
    let html = m.body_html.replace("&#x2f;", "/");
    assert!(
        html.contains("<strong>Gia hạn</strong>: hạn 31/07/2022 (theo kế hoạch: 01/06/2022)"),
        "{html}"
    );
    // The same deadline in force as planned is said once; a request is answered.
    let asked = DecisionAbout {
        in_force: Some(d("2022-06-01")),
        requested: true,
        proposed: Some(d("2022-08-31")),
        ..alone
    };
    let m = &decision(&c, asked, &granted, None).unwrap()[0];
    assert_eq!(
        m.subject,
        "[Nhắc việc] Nhiệm vụ 1 (1/KH): đồng ý gia hạn đến 15/08/2022"
    );
    assert!(
        m.body_text.contains("trả lời đề nghị gia hạn của cơ quan")
            && m.body_text
                .contains("ĐỒNG Ý gia hạn: hạn 01/06/2022 được dời đến ngày 15/08/2022."),
        "{}",
        m.body_text
    );
    let refused = Decision::Refused {
        reason: "Quá muộn".into(),
    };
    let m = &decision(
        &c,
        DecisionAbout {
            in_force: Some(d("2022-07-31")),
            ..asked
        },
        &refused,
        None,
    )
    .unwrap()[0];
    assert!(
        m.body_text
            .contains("KHÔNG ĐỒNG Ý gia hạn đến ngày 31/08/2022: hạn vẫn là ngày 31/07/2022."),
        "{}",
        m.body_text
    );
}

/// Each channel carries its own kind of body: email (and Zalo, for its fallback) the text and
/// HTML, a webhook its JSON only; a notice by Zalo is text alone.
#[test]
fn each_channel_carries_its_own_body() {
    let rendered = || crate::render::Rendered {
        subject: "S".into(),
        text: "T".into(),
        html: "<p>H</p>".into(),
    };
    let json = |r: &crate::render::Rendered| Ok::<_, ()>(format!("{{\"text\":\"{}\"}}", r.text));
    let body = |c| Body::of_digest(c, rendered(), json).unwrap();
    assert_eq!(
        body(Channel::Email).into_columns(),
        ("T".to_string(), "<p>H</p>".to_string())
    );
    assert_eq!(body(Channel::Zalo), body(Channel::Email));
    assert_eq!(
        body(Channel::Webhook),
        Body::Json("{\"text\":\"T\"}".into())
    );
    assert_eq!(
        body(Channel::Webhook).into_columns(),
        ("{\"text\":\"T\"}".to_string(), String::new())
    );
    assert_eq!(
        Body::Text("x".into()).into_columns(),
        ("x".to_string(), String::new())
    );
}
