//! Full report verification on attacker-controlled bytes: never panics, whatever the input.
#![no_main]
use franking_core::frank::{KeyId, KeyRing, ReportPolicy, StampKey, verify_report_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The key of protocol vector "suite1-direct-hmac-only" (so seeds from the vectors get far).
    let mac_key = [
        0x2b, 0x48, 0x2b, 0xb5, 0x7a, 0xef, 0xd9, 0x50, 0x9e, 0x3f, 0xd5, 0x15, 0x18, 0xb6, 0xcc,
        0x3b, 0xbc, 0x75, 0xad, 0x9e, 0x2f, 0x06, 0xe5, 0x5d, 0xc5, 0x6d, 0xe0, 0x55, 0x89, 0xb4,
        0xc5, 0x75,
    ];
    let ring = KeyRing::new("example.net", StampKey::from_bytes(KeyId(1), mac_key, None), 0, 0);
    let _ = verify_report_bytes(data, &ring, &ReportPolicy::default(), 1_790_000_060_000);
});
