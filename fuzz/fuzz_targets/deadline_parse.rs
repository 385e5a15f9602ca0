#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz/checks.rs"]
#[allow(dead_code)]
mod checks;

fuzz_target!(|data: &[u8]| checks::deadline_parse(data));
