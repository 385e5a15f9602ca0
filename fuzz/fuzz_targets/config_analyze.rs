//! The config checker on an arbitrary plan file (and agencies file): never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nhacviec::config::{analyze, Source, Sources};

const AGENCIES: &str = "[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\n\n[[agency]]\nid = \"so-a\"\nname = \"Sở A\"\nlevel = \"tinh\"\nemail = [\"a@x.example\"]\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (agencies, plan) = match text.split_once("\0") {
            Some((a, p)) => (a.to_string(), p.to_string()),
            None => (AGENCIES.to_string(), text.to_string()),
        };
        let sources = Sources {
            settings: None,
            agencies: Some(Source::new("agencies.toml", agencies)),
            plans: vec![Source::new("plans/p.toml", plan)],
            plans_dir: "plans".into(),
            templates: vec![],
            problems: vec![],
        };
        let a = analyze(&sources);
        for d in &a.diagnostics {
            let _ = d.render();
        }
    }
});
