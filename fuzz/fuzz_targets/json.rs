//! JSON decoders of every wire type: never panic; whatever decodes survives JSON → value → JSON →
//! value unchanged and agrees with its binary form. The first byte selects the type.
#![no_main]
use franking_core::frank::{Context, Envelope, Report, Stamp};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};

fn check<T: Serialize + DeserializeOwned + PartialEq>(json: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(json).ok()?;
    let encoded = serde_json::to_vec(&value).expect("a decoded value serializes");
    let again: T = serde_json::from_slice(&encoded).expect("our own JSON decodes");
    assert!(value == again, "JSON round trip changed the value");
    let reencoded = serde_json::to_vec(&again).expect("serializes");
    assert_eq!(encoded, reencoded, "JSON encoding is not deterministic");
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => {
            if let Some(v) = check::<Envelope>(json) {
                let b = v.to_bytes().expect("encodes");
                assert!(Envelope::from_bytes(&b).expect("decodes") == v);
            }
        }
        1 => {
            if let Some(v) = check::<Stamp>(json) {
                let b = v.to_bytes().expect("encodes");
                assert!(Stamp::from_bytes(&b).expect("decodes") == v);
            }
        }
        2 => {
            if let Some(v) = check::<Context>(json) {
                let b = v.to_bytes().expect("encodes");
                assert!(Context::from_bytes(&b).expect("decodes") == v);
            }
        }
        _ => {
            if let Some(v) = check::<Report>(json) {
                let b = v.to_bytes().expect("encodes");
                assert!(Report::from_bytes(&b).expect("decodes") == v);
            }
        }
    }
});
