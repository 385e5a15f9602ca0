use nhacviec::deadline::{parse, Context, Deadline, LevelNames};
fn ctx(y: i32) -> Context {
    let level = |id: &str, names: &[&str]| LevelNames {
        id: id.into(),
        names: names.iter().map(|s| s.to_string()).collect(),
    };
    Context {
        plan_year: y,
        levels: vec![
            level("tinh", &["cấp tỉnh", "tỉnh"]),
            level("huyen", &["cấp huyện", "huyện"]),
            level("xa", &["cấp xã", "xã"]),
        ],
    }
}
fn show(text: &str, y: i32) -> String {
    match parse(text, &ctx(y)) {
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
            Deadline::Recurring { rrule } => format!("rrule:{rrule}"),
            Deadline::PeriodicUnspecified => "periodic".into(),
            Deadline::Continuous => "continuous".into(),
            Deadline::OnRequest => "on_request".into(),
        },
    }
}
#[test]
fn explore() {
    let data = std::fs::read_to_string("/tmp/corpus/cases.txt").unwrap();
    for line in data.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut it = line.splitn(4, '|');
        let y: i32 = it.next().unwrap().parse().unwrap();
        let src = it.next().unwrap();
        let text = it.next().unwrap();
        let exp = it.next().unwrap();
        let got = show(text, y);
        let ok = exp.split(" OR ").any(|e| {
            if e == "error" {
                got.starts_with("error:")
            } else {
                e == got
            }
        });
        println!(
            "{}\t{}\t{:?}\n\texp {}\n\tgot {}",
            if ok { "OK " } else { "BAD" },
            src,
            text,
            exp,
            got
        );
    }
}
