//! Binary stamp decoder: never panics; whatever decodes re-encodes to the same bytes.
#![no_main]
use franking_core::frank::Stamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = Stamp::from_bytes(data) {
        let again = value.to_bytes().expect("a decoded stamp encodes");
        assert_eq!(again, data, "binary stamp encoding is not canonical");
    }
});
