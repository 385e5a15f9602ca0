//! Admin-written templates: compiling and rendering never panics, whatever the text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nhacviec::render::{Templates, TEXT};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Templates::new(&[(TEXT.to_string(), text.to_string())]);
    }
});
