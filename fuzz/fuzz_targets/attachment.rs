//! The attachment reader (`frank::attachment`): blobs checked against the references of
//! `docs/vectors/attachment.json`. Never panics; the streaming opener fed in arbitrary pieces and
//! `open_attachment` agree exactly (same plaintext or same error code); an accepted blob yields
//! exactly the committed length, and under a valid vector's reference exactly its plaintext.
//!
//! Input: `[reference selector][piece size][blob ...]` (`fuzz/seed_corpus.py` writes the vectors'
//! blobs in this form).
#![no_main]
use std::sync::OnceLock;

use franking_core::frank::attachment::{
    AttachmentKey, AttachmentOpener, AttachmentRef, open_attachment,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A reference and, for the valid vectors, the plaintext it commits to.
struct Case {
    reference: AttachmentRef,
    plaintext: Option<Vec<u8>>,
}

fn hex32(v: &Value) -> [u8; 32] {
    let s = v.as_str().expect("hex string");
    let bytes = hex_decode(s);
    bytes.try_into().expect("32 bytes")
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let doc: Value = serde_json::from_str(include_str!("../../docs/vectors/attachment.json"))
            .expect("vectors parse");
        let mut out = Vec::new();
        for v in doc["valid"].as_array().expect("valid") {
            out.push(Case {
                reference: AttachmentRef {
                    key: AttachmentKey::from_bytes(hex32(&v["key"])),
                    commitment: hex32(&v["commitment"]),
                    length: v["length"].as_u64().expect("length"),
                    media_type: v["media_type"].as_str().expect("media type").to_owned(),
                },
                plaintext: Some(hex_decode(v["plaintext"].as_str().expect("plaintext"))),
            });
        }
        let invalid_key = hex32(&doc["invalid_key"]);
        for v in doc["invalid"].as_array().expect("invalid") {
            out.push(Case {
                reference: AttachmentRef {
                    key: AttachmentKey::from_bytes(invalid_key),
                    commitment: hex32(&v["reference"]["commitment"]),
                    length: v["reference"]["length"].as_u64().expect("length"),
                    media_type: "application/octet-stream".to_owned(),
                },
                plaintext: None,
            });
        }
        out
    })
}

fn streamed(reference: &AttachmentRef, blob: &[u8], piece: usize) -> Result<Vec<u8>, String> {
    let mut opener = AttachmentOpener::new(reference);
    let mut plaintext = Vec::new();
    for chunk in blob.chunks(piece) {
        opener
            .update(chunk, &mut plaintext)
            .map_err(|e| e.code().to_owned())?;
    }
    let n = opener
        .finish(&mut plaintext)
        .map_err(|e| e.code().to_owned())?;
    assert_eq!(n, plaintext.len() as u64, "finish reports another length");
    Ok(plaintext)
}

fuzz_target!(|data: &[u8]| {
    let [selector, piece, blob @ ..] = data else {
        return;
    };
    let cases = cases();
    let case = &cases[usize::from(*selector) % cases.len()];
    let piece = usize::from(*piece % 64) + 1;
    let stream = streamed(&case.reference, blob, piece);
    let mut whole = Vec::new();
    let oneshot = open_attachment(&case.reference, blob, &mut whole)
        .map(|_| whole)
        .map_err(|e| e.code().to_owned());
    assert_eq!(stream, oneshot, "streaming and one-shot opening disagree");
    if let Ok(plaintext) = stream {
        assert_eq!(
            plaintext.len() as u64,
            case.reference.length,
            "wrong length accepted"
        );
        if let Some(expected) = &case.plaintext {
            assert_eq!(
                &plaintext, expected,
                "a second plaintext opens under one commitment"
            );
        }
    }
});
