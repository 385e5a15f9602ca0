//! The deadline parser on arbitrary text: never panics, spans stay inside the text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nhacviec::deadline::{parse, Context, LevelNames};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let ctx = Context {
            plan_year: 2022,
            levels: vec![
                LevelNames {
                    id: "tinh".into(),
                    names: vec!["cấp tỉnh".into(), "tỉnh".into()],
                },
                LevelNames {
                    id: "xa".into(),
                    names: vec!["cấp xã".into()],
                },
            ],
        };
        match parse(text, &ctx) {
            Ok(p) => {
                for n in &p.notes {
                    assert!(text.get(n.span.clone()).is_some());
                }
            }
            Err(e) => assert!(text.get(e.span.clone()).is_some()),
        }
    }
});
