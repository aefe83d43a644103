//! Property tests of the franking wire format: decoding never panics, encodings round-trip, and the
//! encoding is canonical (whatever decodes re-encodes to exactly the same bytes).
#![allow(clippy::unwrap_used, missing_docs)]

use franking_core::frank::{
    Commitment, Context, Envelope, KeyId, KeyRing, Opening, Report, ReportPolicy, ReportedMessage,
    SessionKey, Stamp, StampKey, Suite, open, seal, verify_report, verify_report_bytes,
};
use proptest::prelude::*;

fn id() -> impl Strategy<Value = String> {
    "[a-z0-9é@.:_-]{1,12}"
}

fn suite() -> impl Strategy<Value = Suite> {
    prop_oneof![Just(Suite::CtrHmacSha256), Just(Suite::Aes256CtrBlake3)]
}

fn context() -> impl Strategy<Value = Context> {
    (
        id(),
        id(),
        proptest::option::of(id()),
        proptest::collection::vec(id(), 1..5),
        any::<u64>(),
        id(),
    )
        .prop_filter_map("sender only recipient", |(n, s, room, rs, ts, m)| {
            Context::new(n, s, room, rs, ts, m).ok()
        })
}

fn stamp() -> impl Strategy<Value = Stamp> {
    (
        any::<u32>(),
        any::<[u8; 32]>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 64)),
    )
        .prop_map(|(k, mac, sig)| Stamp {
            key_id: KeyId(k),
            mac,
            signature: sig.map(|s| s.try_into().unwrap()),
        })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        suite(),
        any::<[u8; 12]>(),
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<[u8; 32]>(),
        any::<[u8; 12]>(),
        proptest::collection::vec(any::<u8>(), 64),
    )
        .prop_map(|(suite, nonce, ciphertext, t, wrap_nonce, w)| Envelope {
            suite,
            nonce,
            ciphertext,
            commitment: Commitment(t),
            wrap_nonce,
            wrapped_key: w.try_into().unwrap(),
        })
}

fn reported() -> impl Strategy<Value = ReportedMessage> {
    (
        suite(),
        any::<[u8; 12]>(),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..100),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        context(),
        stamp(),
    )
        .prop_map(
            |(suite, nonce, ad, pt, k, t, context, stamp)| ReportedMessage {
                suite,
                nonce,
                associated_data: ad,
                plaintext: pt,
                opening: Opening::from_bytes(k),
                commitment: Commitment(t),
                context,
                stamp,
            },
        )
}

fn report() -> impl Strategy<Value = Report> {
    (
        reported(),
        id(),
        ".{0,20}",
        proptest::collection::vec(reported(), 0..3),
    )
        .prop_map(|(message, reporter, reason, earlier)| Report {
            message,
            reporter,
            reason,
            earlier,
        })
}

/// Decode with every decoder; whenever one succeeds, its re-encoding must equal the input.
fn decode_all_canonical(bytes: &[u8]) {
    if let Ok(x) = Envelope::from_bytes(bytes) {
        assert_eq!(x.to_bytes().unwrap(), bytes);
    }
    if let Ok(x) = Context::from_bytes(bytes) {
        assert_eq!(x.to_bytes().unwrap(), bytes);
    }
    if let Ok(x) = Stamp::from_bytes(bytes) {
        assert_eq!(x.to_bytes().unwrap(), bytes);
    }
    if let Ok(x) = ReportedMessage::from_bytes(bytes) {
        assert_eq!(x.to_bytes().unwrap(), bytes);
    }
    if let Ok(x) = Report::from_bytes(bytes) {
        assert_eq!(x.to_bytes().unwrap(), bytes);
    }
    let ring = KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(1), [1; 32], None),
        0,
        1000,
    );
    let _ = verify_report_bytes(bytes, &ring, &ReportPolicy::default(), 0);
}

/// Arbitrary text fed to every JSON decoder must never panic.
fn decode_all_json(s: &str) {
    let _ = serde_json::from_str::<Envelope>(s);
    let _ = serde_json::from_str::<Context>(s);
    let _ = serde_json::from_str::<Stamp>(s);
    let _ = serde_json::from_str::<ReportedMessage>(s);
    let _ = serde_json::from_str::<Report>(s);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        decode_all_canonical(&bytes);
    }

    #[test]
    fn arbitrary_bytes_with_valid_header_never_panic(
        ty in 1u8..=5,
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = vec![1, ty];
        bytes.extend(body);
        decode_all_canonical(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(s in ".{0,200}") {
        decode_all_json(&s);
    }

    #[test]
    fn envelope_round_trips(e in envelope()) {
        let b = e.to_bytes().unwrap();
        prop_assert_eq!(&Envelope::from_bytes(&b).unwrap(), &e);
        let j = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Envelope>(&j).unwrap(), &e);
    }

    #[test]
    fn context_and_stamp_round_trip(c in context(), s in stamp()) {
        prop_assert_eq!(&Context::from_bytes(&c.to_bytes().unwrap()).unwrap(), &c);
        prop_assert_eq!(&serde_json::from_str::<Context>(&serde_json::to_string(&c).unwrap()).unwrap(), &c);
        prop_assert_eq!(&Stamp::from_bytes(&s.to_bytes().unwrap()).unwrap(), &s);
        prop_assert_eq!(&serde_json::from_str::<Stamp>(&serde_json::to_string(&s).unwrap()).unwrap(), &s);
    }

    #[test]
    fn report_round_trips(r in report()) {
        let b = r.to_bytes().unwrap();
        prop_assert_eq!(&Report::from_bytes(&b).unwrap(), &r);
        let j = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Report>(&j).unwrap(), &r);
    }

    /// Any message and associated data seal, open, stamp, report and verify, for both suites; a
    /// one-bit change of the reported plaintext is always a commitment mismatch.
    #[test]
    fn seal_open_report_verify(
        suite in suite(),
        msg in proptest::collection::vec(any::<u8>(), 0..600),
        ad in proptest::collection::vec(any::<u8>(), 0..50),
        c in context(),
        flip in any::<prop::sample::Index>(),
    ) {
        let session = SessionKey::generate().unwrap();
        let env = seal(suite, &session, &ad, &msg).unwrap();
        let opened = open(&env, &session, &ad).unwrap();
        prop_assert_eq!(&opened.plaintext, &msg);
        let ring = KeyRing::new(c.network(), StampKey::generate(KeyId(3), false).unwrap(), 0, 0);
        let stamp = ring.stamp(suite, &env.commitment, &c).unwrap();
        let report = Report {
            message: ReportedMessage::new(&env, &ad, &opened, c.clone(), stamp),
            reporter: c.recipients()[0].clone(),
            reason: String::new(),
            earlier: vec![],
        };
        let policy = ReportPolicy { window_ms: u64::MAX, max_clock_skew_ms: u64::MAX };
        let bytes = report.to_bytes().unwrap();
        prop_assert!(verify_report_bytes(&bytes, &ring, &policy, c.timestamp_ms()).is_ok());
        if !msg.is_empty() {
            let mut bad = report;
            let i = flip.index(msg.len());
            bad.message.plaintext[i] ^= 1;
            prop_assert_eq!(
                verify_report(bad, &ring, &policy, 0).unwrap_err(),
                franking_core::Error::CommitmentMismatch
            );
        }
    }

    /// Mutations of valid encodings (bit flips, truncation, insertion) never panic, and whatever
    /// still decodes is canonical.
    #[test]
    fn mutated_encodings_never_panic(
        r in report(),
        e in envelope(),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
        cut in any::<prop::sample::Index>(),
        ins in any::<u8>(),
    ) {
        for b in [r.to_bytes().unwrap(), e.to_bytes().unwrap()] {
            let mut flipped = b.clone();
            let i = pos.index(flipped.len());
            flipped[i] ^= 1 << bit;
            decode_all_canonical(&flipped);
            decode_all_canonical(&b[..cut.index(b.len())]);
            let mut inserted = b.clone();
            inserted.insert(pos.index(b.len() + 1), ins);
            decode_all_canonical(&inserted);
        }
        let j = serde_json::to_string(&r).unwrap();
        let mut jb = j.into_bytes();
        let i = pos.index(jb.len());
        jb[i] ^= 1 << bit;
        if let Ok(s) = std::str::from_utf8(&jb) {
            decode_all_json(s);
        }
    }
}
