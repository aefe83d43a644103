//! Untrusted input never panics: arbitrary and mutated bytes into every decoder and opener.
#![allow(clippy::unwrap_used)]

use client_sdk::attachment::{AttachmentSealer, open_attachment};
use client_sdk::frank::{Context, KeyId, KeyRing, SessionKey, StampKey};
use client_sdk::messaging::{
    Conversation, OpenChecks, OpenedMessage, StampedEnvelope, stamp_envelope,
};
use client_sdk::{AttachmentKey, AttachmentRef, MessageContent, keys};
use proptest::prelude::*;

fn reference() -> AttachmentRef {
    AttachmentRef {
        key: AttachmentKey::from_bytes([3; 32]),
        commitment: [4; 32],
        length: 100,
        media_type: "a/b".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn content_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = MessageContent::decode(&bytes);
        let mut prefixed = b"FKM\x01".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = MessageContent::decode(&prefixed);
    }

    #[test]
    fn open_attachment_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let _ = open_attachment(&reference(), bytes.as_slice(), std::io::sink());
        let mut with_header = b"FKAT\x01\x01\x00\x00\x00\x00\x04\x00".to_vec();
        with_header.extend_from_slice(&bytes);
        prop_assert!(open_attachment(&reference(), with_header.as_slice(), std::io::sink()).is_err());
    }

    #[test]
    fn mutated_blobs_are_refused(pos in any::<prop::sample::Index>(), bit in 0u8..8, cut in any::<prop::sample::Index>()) {
        let data = vec![9u8; 2500];
        let mut blob = Vec::new();
        let r = AttachmentSealer::with_segment_size(1024).unwrap().seal("a/b", data.as_slice(), &mut blob).unwrap();
        let mut flipped = blob.clone();
        flipped[pos.index(blob.len())] ^= 1 << bit;
        prop_assert!(open_attachment(&r, flipped.as_slice(), std::io::sink()).is_err());
        let cut = cut.index(blob.len());
        prop_assert!(open_attachment(&r, &blob[..cut], std::io::sink()).is_err());
    }

    #[test]
    fn json_inputs_never_panic(text in ".{0,300}") {
        let _ = serde_json::from_str::<StampedEnvelope>(&text);
        let _ = serde_json::from_str::<OpenedMessage>(&text);
        let _ = serde_json::from_str::<MessageContent>(&text);
        let _ = keys::session_key_from_json(&text);
        let _ = keys::platform_key_from_json(&text);
    }

    #[test]
    fn mutated_stamped_envelope_json_is_refused_or_identical(pos in any::<prop::sample::Index>(), c in any::<char>()) {
        let key = SessionKey::from_bytes([1; 32]);
        let conv = Conversation::new("c", key);
        let ring = KeyRing::new("n", StampKey::from_bytes(KeyId(1), [2; 32], None), 0, 0);
        let env = conv.seal(&MessageContent::text("hello")).unwrap();
        let ctx = Context::direct("n", "alice", "bob", 1, "m").unwrap();
        let d = stamp_envelope(&ring, env, ctx).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        let mut chars: Vec<char> = json.chars().collect();
        let i = pos.index(chars.len());
        chars[i] = c;
        let mutated: String = chars.into_iter().collect();
        if let Ok(m) = serde_json::from_str::<StampedEnvelope>(&mutated)
            && m.envelope != d.envelope
        {
            prop_assert!(conv.open(&m, &OpenChecks::recipient("bob")).is_err());
        }
    }
}
