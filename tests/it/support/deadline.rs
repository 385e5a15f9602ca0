//! Helpers shared by the deadline test files.

use nhacviec::deadline::{parse, Context, Deadline, LevelNames};

/// A context with the 2022 plan's three levels.
pub fn ctx(plan_year: i32) -> Context {
    let level = |id: &str, names: &[&str]| LevelNames {
        id: id.into(),
        names: names.iter().map(|s| s.to_string()).collect(),
    };
    Context {
        plan_year,
        levels: vec![
            level("tinh", &["cấp tỉnh", "tỉnh"]),
            level("huyen", &["cấp huyện", "huyện"]),
            level("xa", &["cấp xã", "xã"]),
        ],
    }
}

/// A compact rendering of a parse result: "31/03/2023", "a | b",
/// "tinh:31/05/2023", "01/03/2023..31/03/2023", "rrule:...", "continuous", "on_request".
pub fn show(text: &str, plan_year: i32) -> String {
    match parse(text, &ctx(plan_year)) {
        Err(e) => format!("error: {e}"),
        Ok(p) => match p.deadline {
            Deadline::Dated(ms) => ms
                .iter()
                .map(|m| {
                    let mut s = String::new();
                    if let Some(l) = &m.level {
                        s.push_str(l);
                        s.push(':');
                    }
                    if let Some(st) = m.start {
                        s.push_str(&st.format("%d/%m/%Y..").to_string());
                    }
                    s.push_str(&m.due.format("%d/%m/%Y").to_string());
                    s
                })
                .collect::<Vec<_>>()
                .join(" | "),
            Deadline::Recurring {
                rrule,
                window_from: None,
            } => format!("rrule:{rrule}"),
            Deadline::Recurring {
                rrule,
                window_from: Some(d),
            } => format!("rrule:{rrule} (from day {d})"),
            Deadline::PeriodicUnspecified => "periodic".into(),
            Deadline::Continuous => "continuous".into(),
            Deadline::OnRequest => "on_request".into(),
        },
    }
}

/// The words of `text` the reading did not use and no warning names (the rule of issue 32:
/// every word is read or named). Empty when the text is not read as dates.
pub fn silently_dropped(text: &str, plan_year: i32) -> Vec<String> {
    let ctx = ctx(plan_year);
    let Ok(parsed) = parse(text, &ctx) else {
        return Vec::new();
    };
    nhacviec::deadline::unread(text, &ctx)
        .into_iter()
        // Named: inside a note's span, and quoted by its message.
        .filter(|span| {
            !parsed.notes.iter().any(|n| {
                n.span.start <= span.start
                    && span.end <= n.span.end
                    && n.kind.to_string().contains(&text[span.clone()])
            })
        })
        .map(|span| text[span].to_string())
        .collect()
}
