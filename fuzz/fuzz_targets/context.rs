//! Binary context decoder: never panics; whatever decodes re-encodes to the same bytes.
#![no_main]
use franking_core::frank::Context;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = Context::from_bytes(data) {
        let again = value.to_bytes().expect("a decoded context encodes");
        assert_eq!(again, data, "binary context encoding is not canonical");
    }
});
