//! Binary envelope decoder: never panics; whatever decodes re-encodes to the same bytes.
#![no_main]
use franking_core::frank::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::from_bytes(data) {
        let again = envelope.to_bytes().expect("a decoded envelope encodes");
        assert_eq!(again, data, "binary envelope encoding is not canonical");
    }
});
