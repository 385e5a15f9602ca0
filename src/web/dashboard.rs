//! The dashboard's HTML: the figures of an [`Overview`] laid out for the monitoring office
//! (per plan with its timeline, extension requests with their two forms, the overdue list, the
//! agencies' table sortable by links). Same templates, escaping and stylesheet as the
//! agencies' pages.

use super::page::{page_of, render, FileCtx, PagerCtx};
use super::timeline;
use crate::config::Config;
use crate::dates::dmy;
use crate::links::{Link, Signer, Url};
use crate::overview::{AgencyFigures, Counts, Overview, Row};
use crate::report::State;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use serde::Serialize;

/// Overdue tasks a page of the list shows (`?trang-qua-han=`), oldest first, and late agencies
/// named under each; the workbook has them all. With the agencies' page below, this keeps the
/// national dashboard (12,002 agencies, 34 plans) under 300 KB.
const OVERDUE_PER_PAGE: usize = 25;
const MAX_LATE_NAMED: usize = 30;
/// Agencies a page of their table shows (`?trang=`), in the order asked for (by default the
/// most overdue first: those needing attention).
const AGENCIES_PER_PAGE: usize = 100;
/// Extension requests shown with their forms at once, oldest first (the rest as these are
/// decided).
const MAX_REQUESTS: usize = 50;
/// Plans drawn as timelines when no plan is chosen.
const MAX_TIMELINES: usize = 3;

pub struct Dashboard<'a> {
    pub config: &'a Config,
    pub overview: &'a Overview,
    pub query: &'a Query,
    pub key: &'a str,
    pub today: NaiveDate,
    pub signer: &'a Signer,
    pub link: &'a Link,
    /// Files attached to answers, by response id.
    pub evidence: &'a std::collections::HashMap<i64, crate::evidence::Evidence>,
}

#[derive(Serialize)]
struct CountsCtx {
    done_on_time: usize,
    done_late: usize,
    open: usize,
    overdue: usize,
    not_due: usize,
    undated: usize,
    closed: usize,
    total: usize,
    rate: String,
    confirmed: usize,
}

impl CountsCtx {
    fn of(c: &Counts) -> CountsCtx {
        CountsCtx {
            done_on_time: c.done_on_time,
            done_late: c.done_late,
            open: c.open,
            overdue: c.overdue,
            not_due: c.not_due,
            undated: c.undated,
            closed: c.closed,
            total: c.total(),
            rate: c.on_time_vi(),
            confirmed: c.confirmed,
        }
    }
}

#[derive(Serialize)]
struct PlanCtx {
    number: String,
    citation: String,
    closed: bool,
    tasks: usize,
    counts: CountsCtx,
    svg: Option<String>,
}

#[derive(Serialize)]
struct AgencyCtx {
    name: String,
    lead: usize,
    support: usize,
    counts: CountsCtx,
    /// Not done and not overdue: in time, not yet due, or undated.
    pending: usize,
    latest: String,
    page: String,
}

#[derive(Serialize)]
struct LateCtx {
    agency: String,
    reminded: String,
    answer: String,
    /// When an extension moved this agency's deadline: the plan's date, the new one, the
    /// decision's document and day (else empty).
    planned: String,
    extended_to: String,
    extension_doc: String,
    decided: String,
    /// The file attached to the latest answer.
    file: Option<FileCtx>,
}

impl LateCtx {
    fn of(r: &Row, tz: chrono_tz::Tz, d: &Dashboard<'_>) -> LateCtx {
        let e = r.extension.as_ref();
        LateCtx {
            agency: r.agency_name.clone(),
            reminded: r
                .last_reminder
                .map(|t| dmy(t.with_timezone(&tz).date_naive()))
                .unwrap_or_default(),
            answer: crate::workbook::answer_text(r),
            planned: e.map(|e| dmy(e.planned)).unwrap_or_default(),
            extended_to: e.map(|e| dmy(e.to)).unwrap_or_default(),
            extension_doc: e.and_then(|e| e.doc_ref.clone()).unwrap_or_default(),
            decided: e.map(|e| dmy(e.decided_on)).unwrap_or_default(),
            file: r
                .latest_response
                .as_ref()
                .and_then(|a| d.evidence.get(&a.id))
                .map(|f| FileCtx::of(f, &Url::Monitor(d.key).path())),
        }
    }
}

#[derive(Serialize)]
struct OverdueCtx {
    deadline: String,
    days: i64,
    plan: String,
    task: String,
    title: String,
    agencies: Vec<LateCtx>,
    /// Late agencies past [`MAX_LATE_NAMED`].
    more: usize,
}

/// A completion waiting for the office's review, as the dashboard lists it.
#[derive(Serialize)]
struct PendingReviewCtx {
    id: i64,
    agency: String,
    plan: String,
    task: String,
    title: String,
    occurrence: String,
    done_on: String,
    doc_ref: String,
    who: String,
    note: String,
    reported: String,
    file: Option<FileCtx>,
}

#[derive(Serialize)]
struct RequestCtx {
    id: i64,
    agency: String,
    plan: String,
    task: String,
    title: String,
    /// The deadline as it stands (after an earlier extension).
    deadline: String,
    /// The plan's date, when an earlier extension moved it (else empty).
    planned: String,
    proposed: String,
    proposed_iso: String,
    min_iso: String,
    reason: String,
    asked: String,
    file: Option<FileCtx>,
}

/// The sort keys of the agencies' table, their column names, and whether larger comes first.
const SORTS: [(&str, &str, bool); 8] = [
    ("ten", "Cơ quan", false),
    ("chu-tri", "Chủ trì", true),
    ("dung-han", "Hoàn thành đúng hạn", true),
    ("tre-han", "Hoàn thành quá hạn", true),
    ("dang-lam", "Chưa hoàn thành (chưa quá hạn)", true),
    ("qua-han", "Quá hạn", true),
    ("ty-le", "Tỷ lệ đúng hạn", false),
    ("phoi-hop", "Phối hợp", true),
];

fn pending(a: &AgencyFigures) -> usize {
    a.counts.open + a.counts.not_due + a.counts.undated
}

fn sort_agencies(list: &mut [&AgencyFigures], key: &str) {
    match key {
        "ten" => list.sort_by(|a, b| a.name.cmp(&b.name)),
        "chu-tri" => list.sort_by_key(|a| std::cmp::Reverse(a.lead)),
        "phoi-hop" => list.sort_by_key(|a| std::cmp::Reverse(a.support)),
        "dung-han" => list.sort_by_key(|a| std::cmp::Reverse(a.counts.done_on_time)),
        "tre-han" => list.sort_by_key(|a| std::cmp::Reverse(a.counts.done_late)),
        "dang-lam" => list.sort_by_key(|a| std::cmp::Reverse(pending(a))),
        // Lowest rate first: who needs attention; no figure yet goes last.
        "ty-le" => list.sort_by(|a, b| {
            let r = |x: &AgencyFigures| x.on_time_rate.unwrap_or(f64::INFINITY);
            r(a).total_cmp(&r(b))
        }),
        _ => {} // "qua-han": the overview's own order (most overdue first).
    }
}

/// What a link on the page changes in the page's own query: the others are kept.
#[derive(Default, Clone, Copy)]
struct Change<'s> {
    sort: Option<&'s str>,
    /// The agencies' page (`None`: the first, as after a new sort).
    page: Option<usize>,
    overdue_page: Option<usize>,
}

/// The dashboard's address with its query: the date, plan, search, sort and both pages as the
/// request had them, but for `change` (a sort starts the agencies at their first page).
fn href(d: &Dashboard<'_>, as_of: NaiveDate, change: Change<'_>) -> String {
    let q = d.query;
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    if as_of != d.today {
        s.append_pair("ngay", &as_of.to_string());
    }
    if let Some(p) = &q.plan {
        s.append_pair("ke-hoach", p);
    }
    if let Some(f) = &q.find {
        s.append_pair("tim", f);
    }
    if let Some(k) = change.sort.or(q.sort.as_deref()) {
        s.append_pair("sap-xep", k);
    }
    if let Some(n) = change.page.filter(|n| *n > 1) {
        s.append_pair("trang", &n.to_string());
    }
    if let Some(n) = change.overdue_page.filter(|n| *n > 1) {
        s.append_pair("trang-qua-han", &n.to_string());
    }
    Url::Dashboard {
        key: d.key,
        query: &s.finish(),
    }
    .path()
}

pub fn render_page(d: &Dashboard<'_>) -> String {
    let o = d.overview;
    let tz = d.config.timezone;
    let local = |t: DateTime<Utc>| crate::dates::dmy(t.with_timezone(&tz).date_naive());
    let draw = d.query.plan.is_some() || o.plans.len() <= MAX_TIMELINES;
    let plans: Vec<PlanCtx> = o
        .plans
        .iter()
        .map(|p| PlanCtx {
            number: p.plan.clone(),
            citation: p.citation.clone(),
            closed: p.closed,
            tasks: p.tasks,
            counts: CountsCtx::of(&p.counts),
            svg: draw
                .then(|| d.config.plan(&p.plan))
                .flatten()
                .map(|plan| timeline::svg(o, plan)),
        })
        .collect();

    let sort = d.query.sort.as_deref().unwrap_or("qua-han");
    // Found with or without diacritics ("noi vu" finds "Sở Nội vụ"), as `--agency` is.
    let find = d.query.find.as_deref().map(crate::text::search_key);
    let mut agencies: Vec<&AgencyFigures> = o
        .agencies
        .iter()
        .filter(|a| {
            find.as_ref()
                .is_none_or(|f| crate::text::search_hit(&a.name, f))
        })
        .collect();
    sort_agencies(&mut agencies, sort);
    let agencies_total = agencies.len();
    let (page, pages, rows) = page_of(d.query.page, agencies_total, AGENCIES_PER_PAGE);
    let overdue_all = o.overdue_by_task();
    let (overdue_page, overdue_pages, overdue_range) =
        page_of(d.query.overdue_page, overdue_all.len(), OVERDUE_PER_PAGE);
    // Each list's links keep the other list's page.
    let here = Change {
        sort: None,
        page: Some(page),
        overdue_page: Some(overdue_page),
    };
    let agencies_pager = PagerCtx::new(page, pages, &rows, agencies_total, |n| {
        href(
            d,
            o.as_of,
            Change {
                page: Some(n),
                ..here
            },
        ) + "#co-quan"
    });
    let overdue_pager = PagerCtx::new(
        overdue_page,
        overdue_pages,
        &overdue_range,
        overdue_all.len(),
        |n| {
            href(
                d,
                o.as_of,
                Change {
                    overdue_page: Some(n),
                    ..here
                },
            ) + "#qua-han"
        },
    );
    let agencies: Vec<AgencyCtx> = agencies[rows]
        .iter()
        .map(|a| AgencyCtx {
            name: a.name.clone(),
            lead: a.lead,
            support: a.support,
            counts: CountsCtx::of(&a.counts),
            pending: pending(a),
            latest: a
                .latest_response
                .as_ref()
                .map(|l| {
                    let about = if l.occurrence.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", l.occurrence)
                    };
                    format!(
                        "{} — nhiệm vụ {}{about} ({})",
                        l.action.vi(),
                        l.task,
                        local(l.at)
                    )
                })
                .unwrap_or_default(),
            // The office reads the agency's page; it never acts as the agency.
            page: Url::MonitorAgency {
                key: d.key,
                agency: &a.agency,
            }
            .path(),
        })
        .collect();

    let overdue: Vec<OverdueCtx> = overdue_all[overdue_range]
        .iter()
        .map(|g| OverdueCtx {
            deadline: dmy(g.deadline),
            days: g.days,
            plan: g.plan.to_string(),
            task: g.task.to_string(),
            title: g.title.to_string(),
            more: g.rows.len().saturating_sub(MAX_LATE_NAMED),
            agencies: g
                .rows
                .iter()
                .take(MAX_LATE_NAMED)
                .map(|r| LateCtx::of(r, tz, d))
                .collect(),
        })
        .collect();
    let overdue_rows: usize = overdue_all.iter().map(|g| g.rows.len()).sum();

    let reviews: Vec<PendingReviewCtx> = o
        .awaiting_review
        .iter()
        .take(MAX_REQUESTS)
        .map(|p| {
            let r = &p.response;
            PendingReviewCtx {
                id: r.id,
                agency: p.agency_name.clone(),
                plan: r.plan.clone(),
                task: r.task.clone(),
                title: p.title.clone(),
                occurrence: p.occurrence.clone(),
                done_on: r.done_on.map(dmy).unwrap_or_default(),
                doc_ref: r.doc_ref.clone().unwrap_or_default(),
                who: r.who.vi(),
                note: r.note.clone().unwrap_or_default(),
                reported: crate::dates::hm_dmy(&r.created_at.with_timezone(&d.config.timezone)),
                file: d
                    .evidence
                    .get(&r.id)
                    .map(|f| FileCtx::of(f, &Url::Monitor(d.key).path())),
            }
        })
        .collect();
    let requests: Vec<RequestCtx> = o
        .pending_extensions
        .iter()
        .take(MAX_REQUESTS)
        .map(|p| {
            let r = &p.response;
            let in_force = p.in_force.or(r.deadline);
            RequestCtx {
                id: r.id,
                agency: p.agency_name.clone(),
                plan: r.plan.clone(),
                task: r.task.clone(),
                title: p.title.clone(),
                deadline: in_force.map(dmy).unwrap_or_default(),
                planned: r
                    .deadline
                    .filter(|d| Some(*d) != in_force)
                    .map(dmy)
                    .unwrap_or_default(),
                proposed: r.proposed.map(dmy).unwrap_or_default(),
                proposed_iso: r.proposed.map(|x| x.to_string()).unwrap_or_default(),
                // A grant must go past the deadline in force (`extension::check`).
                min_iso: in_force
                    .and_then(|x| x.succ_opt())
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
                reason: r.note.clone().unwrap_or_default(),
                asked: local(r.created_at),
                file: d
                    .evidence
                    .get(&r.id)
                    .map(|f| FileCtx::of(f, &Url::Monitor(d.key).path())),
            }
        })
        .collect();

    let sorts: Vec<(String, String, bool)> = SORTS
        .iter()
        .map(|(k, name, _)| {
            (
                href(
                    d,
                    o.as_of,
                    Change {
                        sort: Some(k),
                        page: None,
                        ..here
                    },
                ),
                name.to_string(),
                *k == sort,
            )
        })
        .collect();
    let legend: Vec<(&str, &str)> = [
        State::OpenOverdue,
        State::Open,
        State::NotDue,
        State::Undated,
        State::DoneLate,
        State::DoneOnTime,
    ]
    .into_iter()
    .map(|s| (timeline::colour(s), s.vi()))
    .collect();
    let all_plans: Vec<(String, bool)> = d
        .config
        .plans
        .iter()
        .map(|p| {
            (
                p.number.clone(),
                d.query.plan.as_deref() == Some(p.number.as_str()),
            )
        })
        .collect();
    let mut download = url::form_urlencoded::Serializer::new(String::new());
    download.append_pair("ngay", &o.as_of.to_string());
    if let Some(p) = &d.query.plan {
        download.append_pair("ke-hoach", p);
    }
    let query = download.finish();
    render(
        "monitor.html",
        context! {
            as_of => dmy(o.as_of),
            is_today => o.as_of == d.today,
            today => dmy(d.today),
            base => Url::Monitor(d.key).path(),
            report => Url::Report { key: d.key, query: &query }.path(),
            download => Url::Workbook { key: d.key, query: &query }.path(),
            notice => d.query.notice.as_deref().and_then(notice_of),
            find => d.query.find.clone().unwrap_or_default(),
            sort => sort,
            all_plans => all_plans,
            plans => minijinja::Value::from(minijinja::value::Serde(&plans)),
            totals => minijinja::Value::from(minijinja::value::Serde(CountsCtx::of(&o.totals))),
            many_plans => o.plans.len() > 1,
            timelines_hidden => !draw,
            legend => legend,
            agencies => minijinja::Value::from(minijinja::value::Serde(&agencies)),
            agencies_total => agencies_total,
            agencies_pager => minijinja::Value::from(minijinja::value::Serde(&agencies_pager)),
            overdue_pager => minijinja::Value::from(minijinja::value::Serde(&overdue_pager)),
            page => page,
            overdue_page => overdue_page,
            idle => o.idle_agencies,
            sorts => sorts,
            overdue => minijinja::Value::from(minijinja::value::Serde(&overdue)),
            overdue_total => overdue_all.len(),
            overdue_rows => overdue_rows,
            requests => minijinja::Value::from(minijinja::value::Serde(&requests)),
            requests_total => o.pending_extensions.len(),
            requests_more => o.pending_extensions.len().saturating_sub(MAX_REQUESTS),
            csrf_grant => d.signer.csrf(d.link, "gia-han"),
            csrf_refuse => d.signer.csrf(d.link, "tu-choi"),
            reviews => minijinja::Value::from(minijinja::value::Serde(&reviews)),
            reviews_total => o.awaiting_review.len(),
            reviews_more => o.awaiting_review.len().saturating_sub(MAX_REQUESTS),
            csrf_confirm => d.signer.csrf(d.link, "xac-nhan"),
            csrf_return => d.signer.csrf(d.link, "tra-lai"),
        },
    )
}

/// The query of a dashboard request.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub as_of: Option<NaiveDate>,
    pub plan: Option<String>,
    pub sort: Option<String>,
    pub find: Option<String>,
    /// The agencies' page (`?trang=`) and the overdue list's (`?trang-qua-han=`), from 1.
    pub page: Option<usize>,
    pub overdue_page: Option<usize>,
    pub notice: Option<String>,
}

/// The notice after a decision (`?ok=granted`).
pub fn notice_of(ok: &str) -> Option<&'static str> {
    Some(match ok {
        "granted" => "Đã gia hạn; cơ quan được báo (gửi ở lần gửi tới).",
        "granted-untold" => "Đã gia hạn. Không báo được cơ quan qua email, Zalo OA hay webhook: vui lòng báo bằng điện thoại hoặc văn bản.",
        "refused" => "Đã ghi nhận không đồng ý gia hạn; cơ quan được báo lý do.",
        "refused-untold" => "Đã ghi nhận không đồng ý gia hạn. Không báo được cơ quan qua email, Zalo OA hay webhook: vui lòng báo bằng điện thoại hoặc văn bản.",
        "confirmed" => "Đã xác nhận hoàn thành.",
        "returned" => "Đã trả lại báo cáo hoàn thành; nhiệm vụ được mở lại và cơ quan được báo lý do (gửi ở lần gửi tới).",
        "returned-untold" => "Đã trả lại báo cáo hoàn thành; nhiệm vụ được mở lại. Không báo được cơ quan qua email, Zalo OA hay webhook: vui lòng báo bằng điện thoại hoặc văn bản.",
        _ => return None,
    })
}
