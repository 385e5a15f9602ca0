//! A plan's timeline as server-rendered SVG (no script): one row per task, its deadlines as
//! marks coloured by the task's state (the worst of its lead agencies'; a milestone still ahead
//! of a late task as it stands itself), and the as-of day as a vertical line. Hovering a row
//! shows the task's title (`<title>`).

use crate::config::Plan;
use crate::deadline::Deadline;
use crate::overview::Overview;
use crate::report::State;
use crate::schedule::Role;
use chrono::{Datelike, Days, NaiveDate};
use std::collections::HashMap;
use std::fmt::Write as _;

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 64.0;
const RIGHT: f64 = 16.0;
const ROW: f64 = 16.0;
const TOP: f64 = 28.0;
/// Longer plans are drawn to this many years after the as-of day; later marks sit at the edge.
const MAX_YEARS: i32 = 6;

/// The colour (and legend text) of a state.
pub fn colour(state: State) -> &'static str {
    match state {
        State::OpenOverdue => "#c62828",
        State::Open => "#ef6c00",
        State::NotDue => "#1565c0",
        State::Undated => "#9e9e9e",
        State::DoneLate => "#8d6e63",
        State::DoneOnTime => "#2e7d32",
        State::Closed => "#616161",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

/// The SVG of `plan` as of the overview's date.
pub fn svg(overview: &Overview, plan: &Plan) -> String {
    let as_of = overview.as_of;
    // Each task's state (worst lead) and its deadlines as the agencies must meet them.
    let mut state: HashMap<&str, State> = HashMap::new();
    let mut marks: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for r in overview
        .rows
        .iter()
        .filter(|r| r.status.plan == plan.number)
    {
        if r.status.role != Role::Lead {
            continue;
        }
        let s = state
            .entry(r.status.task.as_str())
            .or_insert(r.status.state);
        *s = (*s).min(r.status.state);
        if let Some(d) = r.status.deadline {
            marks.entry(r.status.task.as_str()).or_default().push(d);
        }
    }
    for t in &plan.tasks {
        if let Deadline::Dated(ms) = &t.deadline {
            marks
                .entry(t.id.as_str())
                .or_default()
                .extend(ms.iter().map(|m| m.due));
        }
    }
    for v in marks.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    let start = first_of_month(plan.issued.min(as_of));
    let latest = marks
        .values()
        .flat_map(|v| v.iter().copied())
        .chain([as_of])
        .max()
        .unwrap_or(as_of);
    let cap = NaiveDate::from_ymd_opt(as_of.year() + MAX_YEARS, 12, 31).unwrap_or(latest);
    let end = next_month(
        latest
            .min(cap)
            .checked_add_days(Days::new(10))
            .unwrap_or(latest),
    );
    let span = (end - start).num_days().max(1) as f64;
    let x = |d: NaiveDate| {
        let d = d.clamp(start, end);
        LABEL + (d - start).num_days() as f64 / span * (WIDTH - LABEL - RIGHT)
    };
    let height = TOP + ROW * plan.tasks.len() as f64 + 8.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="Tiến độ kế hoạch {} đến ngày {}" class="timeline">"#,
        escape(&plan.number),
        crate::dates::dmy(as_of)
    );
    // Month grid; a label each month for short plans, each quarter for longer ones.
    let months = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
    let every = if months <= 18 {
        1
    } else if months <= 48 {
        3
    } else {
        12
    };
    let mut m = start;
    while m <= end {
        let mx = x(m);
        let _ = write!(
            out,
            r##"<line x1="{mx:.1}" y1="{}" x2="{mx:.1}" y2="{height}" stroke="#e0e0e0" stroke-width="1"/>"##,
            TOP - 6.0
        );
        if (m.month0() as i32) % every == 0 {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="14" font-size="10" fill="#555">T{}/{}</text>"##,
                mx + 2.0,
                m.month(),
                m.year()
            );
        }
        m = next_month(m);
    }
    for (i, t) in plan.tasks.iter().enumerate() {
        let y = TOP + ROW * i as f64 + ROW / 2.0;
        let st = state.get(t.id.as_str()).copied().unwrap_or(State::Undated);
        let c = colour(st);
        let _ = write!(
            out,
            r##"<g><title>{} — {} — {}</title><text x="2" y="{:.1}" font-size="10" fill="#222">{}</text>"##,
            escape(&t.id),
            escape(&t.title),
            st.vi(),
            y + 3.5,
            escape(&t.id.chars().take(10).collect::<String>())
        );
        match marks.get(t.id.as_str()) {
            Some(ds) if !ds.is_empty() => {
                let from = x(plan.issued);
                let to = x(*ds.last().unwrap_or(&plan.issued));
                let _ = write!(
                    out,
                    r#"<line x1="{from:.1}" y1="{y:.1}" x2="{to:.1}" y2="{y:.1}" stroke="{c}" stroke-width="2" stroke-opacity="0.35"/>"#
                );
                // A task late on one milestone is not late on those still ahead: each of
                // those is drawn as it stands (in time, or not yet due).
                let lead = t.policy.before.iter().copied().max().unwrap_or(0);
                for d in ds {
                    let mark = match st {
                        State::OpenOverdue if *d >= as_of => {
                            if (*d - as_of).num_days() > i64::from(lead) {
                                State::NotDue
                            } else {
                                State::Open
                            }
                        }
                        other => other,
                    };
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{}"><title>{} — hạn {} — {}</title></circle>"#,
                        x(*d),
                        colour(mark),
                        escape(&t.id),
                        crate::dates::dmy(*d),
                        mark.vi()
                    );
                }
            }
            _ => {
                let _ = write!(
                    out,
                    r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{c}" stroke-width="2" stroke-dasharray="4 4"/>"#,
                    x(plan.issued),
                    WIDTH - RIGHT
                );
            }
        }
        out.push_str("</g>");
    }
    let tx = x(as_of);
    let _ = write!(
        out,
        r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{height}" stroke="#b71c1c" stroke-width="1.5" stroke-dasharray="5 3"/><text x="{:.1}" y="{}" font-size="10" fill="#b71c1c">{}</text>"##,
        TOP - 8.0,
        tx + 3.0,
        TOP - 2.0,
        crate::dates::dmy(as_of)
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overview::tests::config_with;
    use std::collections::HashMap;

    const PLAN: &str = r#"
[plan]
number = "1/KH"
title = "Kế hoạch thử"
issuer = "UBND tỉnh X"
issued = 2022-03-01

[[task]]
id = "1"
title = "Báo cáo hai kỳ"
lead = ["Sở A"]
time = "Quý II, IV/2022"

[[task]]
id = "2"
title = "Việc đã xong <b>"
lead = ["Sở A"]
time = "Tháng 4/2022"
done_by = { a = 2022-04-20 }
"#;

    fn circles(svg: &str) -> Vec<(String, String)> {
        svg.split("<circle ")
            .skip(1)
            .map(|c| {
                let fill = c.split("fill=\"").nth(1).unwrap_or("");
                let title = c.split("<title>").nth(1).unwrap_or("");
                (
                    fill[..fill.find('"').unwrap_or(0)].to_string(),
                    title[..title.find('<').unwrap_or(0)].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn a_late_task_draws_its_missed_milestone_red_and_the_next_as_not_yet_due() {
        let config = config_with(&[PLAN]);
        let as_of = NaiveDate::from_ymd_opt(2022, 7, 10).unwrap();
        let o = crate::overview::compute(&config, as_of, None, &[], &[], &HashMap::new());
        let svg = svg(&o, &config.plans[0]);
        let marks = circles(&svg);
        assert_eq!(
            marks,
            vec![
                (
                    colour(State::OpenOverdue).to_string(),
                    "1 — hạn 30/06/2022 — chưa hoàn thành, quá hạn".to_string()
                ),
                (
                    colour(State::NotDue).to_string(),
                    "1 — hạn 31/12/2022 — chưa đến hạn".to_string()
                ),
                (
                    colour(State::DoneOnTime).to_string(),
                    "2 — hạn 30/04/2022 — hoàn thành đúng hạn".to_string()
                ),
            ],
            "{svg}"
        );
        // Titles are escaped; the as-of line is drawn and labelled.
        assert!(svg.contains("Việc đã xong &lt;b&gt;"), "{svg}");
        assert!(svg.contains(">10/07/2022</text>"), "{svg}");
    }
}
