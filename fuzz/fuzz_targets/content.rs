//! Message content (`frank::content`): never panics; whatever decodes re-encodes to the same bytes
//! (one encoding per value), survives its JSON form unchanged, and `decode_if_content` agrees with
//! `decode` (`None` exactly for plaintexts without the content magic).
#![no_main]
use franking_core::Error;
use franking_core::frank::content::MessageContent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = MessageContent::decode(data);
    match (&decoded, MessageContent::decode_if_content(data)) {
        (Ok(a), Ok(Some(b))) => assert!(*a == b, "decode_if_content disagrees with decode"),
        (Err(Error::NotMessageContent), Ok(None)) => {}
        (Err(e), Err(f)) => assert_eq!(e.code(), f.code(), "different errors for one input"),
        _ => panic!("decode_if_content disagrees with decode"),
    }
    let Ok(content) = decoded else {
        return;
    };
    let encoded = content.encode().expect("a decoded content encodes");
    assert_eq!(
        encoded.as_slice(),
        data,
        "decode accepted a non-canonical encoding"
    );
    let json = serde_json::to_vec(&content).expect("serializes");
    let back: MessageContent = serde_json::from_slice(&json).expect("our own JSON decodes");
    assert!(back == content, "JSON round trip changed the content");
    assert_eq!(
        serde_json::to_vec(&back).expect("serializes"),
        json,
        "JSON not deterministic"
    );
});
