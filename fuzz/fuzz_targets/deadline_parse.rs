#![no_main]
use libfuzzer_sys::fuzz_target;

// The checks and what they use, from the integration tests' support module.
#[path = "../../tests/it/support/deadline.rs"]
#[allow(dead_code)]
mod deadline;
#[path = "../../tests/it/support/fixtures.rs"]
mod fixtures;
#[path = "../../tests/it/support/fuzz.rs"]
#[allow(dead_code)]
mod checks;

fuzz_target!(|data: &[u8]| checks::deadline_parse(data));
