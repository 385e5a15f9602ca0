//! Replays the saved fuzz corpora (`fuzz/corpus/<target>/`, minimised after each fuzzing run)
//! and any crash inputs kept in `fuzz/regressions/<target>/` through the same checks the
//! fuzz targets make, so every input fuzzing found stays covered in CI.

use crate::support::fuzz as checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("corpus entry").path();
            let data = std::fs::read(&path).expect("corpus file");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} panics", path.display());
            count += 1;
        }
    }
    assert!(count > 0, "no saved inputs for {target}");
}

#[test]
fn deadline_parse_corpus() {
    replay("deadline_parse", checks::deadline_parse);
}

#[test]
fn config_analyze_corpus() {
    replay("config_analyze", checks::config_analyze);
}

#[test]
fn template_render_corpus() {
    replay("template_render", checks::template_render);
}
