//! Differential: binary decode → JSON encode → JSON decode → binary encode must give back the input
//! bytes, for every wire type (the two encodings describe one value, and each is canonical).
#![no_main]
use franking_core::frank::{Context, Envelope, Report, Stamp};
use libfuzzer_sys::fuzz_target;

macro_rules! through_json {
    ($ty:ty, $bytes:expr) => {
        if let Ok(v) = <$ty>::from_bytes($bytes) {
            let json = serde_json::to_vec(&v).expect("serializes");
            let back: $ty = serde_json::from_slice(&json).expect("our own JSON decodes");
            assert!(back == v, "JSON form lost information");
            assert_eq!(back.to_bytes().expect("encodes"), $bytes, "binary form not canonical");
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => through_json!(Envelope, bytes),
        1 => through_json!(Stamp, bytes),
        2 => through_json!(Context, bytes),
        _ => through_json!(Report, bytes),
    }
});
