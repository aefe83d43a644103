//! Binary report decoder: never panics; whatever decodes re-encodes to the same bytes.
#![no_main]
use franking_core::frank::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = Report::from_bytes(data) {
        let again = value.to_bytes().expect("a decoded report encodes");
        assert_eq!(again, data, "binary report encoding is not canonical");
    }
});
