//! What each fuzz target asserts, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`) and
//! the corpus replay test (`tests/it/fuzz_corpus.rs`), so a saved input is checked the same way
//! in CI as it was while fuzzing.

use nhacviec::config::{analyze, Source, Sources};
use nhacviec::deadline::parse;
use nhacviec::render::{Templates, TEXT};

use super::deadline::ctx;
use super::fixtures::AGENCIES;

/// The deadline parser never panics and its spans lie on character boundaries inside the text.
pub fn deadline_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text, &ctx(2022)) {
        Ok(p) => {
            for n in &p.notes {
                assert!(text.get(n.span.clone()).is_some(), "note span {:?}", n.span);
            }
        }
        Err(e) => assert!(
            text.get(e.span.clone()).is_some(),
            "error span {:?}",
            e.span
        ),
    }
}

/// Loading, validating and rendering every diagnostic of any plan file (or `agencies\0plan`)
/// never panics.
pub fn config_analyze(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (agencies, plan) = text.split_once('\0').unwrap_or((AGENCIES, text));
    let sources = Sources::in_memory(
        None,
        Source::new("agencies.toml", agencies.to_string()),
        vec![Source::new("plans/p.toml", plan.to_string())],
    );
    for d in &analyze(&sources).diagnostics {
        let _ = d.render();
    }
}

/// Compiling an admin-written template and its trial renders never panic.
pub fn template_render(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Templates::new(&[(TEXT.to_string(), text.to_string())]);
    }
}
