//! End-to-end franking in process: seal → stamp → open → report → verify_report, and every
//! rejection reason triggered by a real tampering.
#![allow(clippy::unwrap_used, missing_docs)]

use franking_core::Error;
use franking_core::frank::{
    Commitment, Context, Envelope, KeyId, KeyRing, Opened, PublishedKey, Report, ReportPolicy,
    ReportedMessage, SessionKey, Stamp, StampKey, StampedEnvelope, Suite, VerifiedReport, open,
    seal, verify_published, verify_report, verify_report_bytes,
};

const T0: u64 = 1_790_000_000_000; // message timestamp (ms)
const NOW: u64 = T0 + 60_000; // report one minute later
const DAY: u64 = 24 * 3600 * 1000;
const AD: &[u8] = b"conversation:alice/bob";

fn policy() -> ReportPolicy {
    ReportPolicy {
        window_ms: 30 * DAY,
        max_clock_skew_ms: 5 * 60_000,
    }
}

fn ring() -> KeyRing {
    KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(7), [0x11; 32], None),
        0,
        30 * DAY,
    )
}

fn ctx(msg_id: &str, ts: u64) -> Context {
    Context::direct("example.net", "alice", "bob", ts, msg_id).unwrap()
}

struct Delivered {
    envelope: Envelope,
    opened: Opened,
    context: Context,
    stamp: Stamp,
}

/// Sender seals, relay stamps, recipient opens.
fn deliver(
    suite: Suite,
    ring: &KeyRing,
    session: &SessionKey,
    msg: &[u8],
    context: Context,
) -> Delivered {
    let envelope = seal(suite, session, AD, msg).unwrap();
    // The relay only sees the envelope's suite and commitment.
    let stamp = ring
        .stamp(envelope.suite, &envelope.commitment, &context)
        .unwrap();
    let opened = open(&envelope, session, AD).unwrap();
    assert_eq!(opened.plaintext, msg);
    Delivered {
        envelope,
        opened,
        context,
        stamp,
    }
}

fn reported(d: &Delivered) -> ReportedMessage {
    ReportedMessage::new(
        &d.envelope,
        AD,
        &d.opened,
        d.context.clone(),
        d.stamp.clone(),
    )
}

fn report_of(d: &Delivered, reporter: &str) -> Report {
    Report {
        message: reported(d),
        reporter: reporter.into(),
        reason: "harassment".into(),
        earlier: vec![],
    }
}

fn setup(suite: Suite) -> (KeyRing, SessionKey, Delivered) {
    let ring = ring();
    let session = SessionKey::generate().unwrap();
    let d = deliver(
        suite,
        &ring,
        &session,
        b"the abusive message",
        ctx("m-1", T0),
    );
    (ring, session, d)
}

fn verify(report: Report, ring: &KeyRing, now: u64) -> Result<VerifiedReport, Error> {
    verify_report(report, ring, &policy(), now)
}

fn code(r: Result<VerifiedReport, Error>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

#[test]
fn full_flow_both_suites_binary_and_json() {
    for suite in Suite::ALL {
        let (ring, _, d) = setup(suite);
        let report = report_of(&d, "bob");
        let v = verify(report.clone(), &ring, NOW).unwrap();
        assert_eq!(v.plaintext(), b"the abusive message");
        assert_eq!(v.context().sender(), "alice");
        assert_eq!(v.key_id(), KeyId(7));
        assert_eq!(v.commitment(), &d.envelope.commitment);

        // Binary round trip of every object, then verify from bytes.
        let bytes = report.to_bytes().unwrap();
        assert_eq!(Report::from_bytes(&bytes).unwrap(), report);
        assert!(verify_report_bytes(&bytes, &ring, &policy(), NOW).is_ok());
        let env_bytes = d.envelope.to_bytes().unwrap();
        assert_eq!(Envelope::from_bytes(&env_bytes).unwrap(), d.envelope);
        assert_eq!(
            Stamp::from_bytes(&d.stamp.to_bytes().unwrap()).unwrap(),
            d.stamp
        );
        assert_eq!(
            Context::from_bytes(&d.context.to_bytes().unwrap()).unwrap(),
            d.context
        );

        // JSON round trip.
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        assert!(verify(back, &ring, NOW).is_ok());
        let ej = serde_json::to_string(&d.envelope).unwrap();
        assert_eq!(serde_json::from_str::<Envelope>(&ej).unwrap(), d.envelope);
        assert!(!json.contains('='), "base64url without padding");
    }
}

#[test]
fn altered_plaintext_is_commitment_mismatch() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    let mut r = report_of(&d, "bob");
    r.message.plaintext = b"the harmless message".to_vec();
    assert_eq!(code(verify(r, &ring, NOW)), "commitment_mismatch");
    // A single flipped bit, too.
    let mut r = report_of(&d, "bob");
    r.message.plaintext[0] ^= 1;
    assert_eq!(code(verify(r, &ring, NOW)), "commitment_mismatch");
}

#[test]
fn altered_opening_nonce_or_ad_is_commitment_mismatch() {
    let (ring, _, d) = setup(Suite::CtrHmacSha256);
    let mut r = report_of(&d, "bob");
    let mut k = *r.message.opening.expose_secret();
    k[3] ^= 0x80;
    r.message.opening = franking_core::frank::Opening::from_bytes(k);
    assert_eq!(code(verify(r, &ring, NOW)), "commitment_mismatch");
    let mut r = report_of(&d, "bob");
    r.message.nonce[11] ^= 1;
    assert_eq!(code(verify(r, &ring, NOW)), "commitment_mismatch");
    let mut r = report_of(&d, "bob");
    r.message.associated_data = b"conversation:alice/carol".to_vec();
    assert_eq!(code(verify(r, &ring, NOW)), "commitment_mismatch");
    // Claiming the other suite for the same bytes.
    let mut r = report_of(&d, "bob");
    r.message.suite = Suite::Aes256CtrBlake3;
    assert_eq!(code(verify(r, &ring, NOW)), "bad_stamp", "suite is stamped");
}

#[test]
fn altered_commitment_breaks_opening_and_stamp() {
    for suite in Suite::ALL {
        let (ring, session, d) = setup(suite);
        // In transit: W's associated data contains T, so the recipient cannot open.
        let mut env = d.envelope.clone();
        env.commitment.0[0] ^= 1;
        assert_eq!(
            open(&env, &session, AD).unwrap_err(),
            Error::AuthenticationFailed
        );
        // In a report: the stamp is over T.
        let mut r = report_of(&d, "bob");
        r.message.commitment.0[31] ^= 1;
        assert_eq!(code(verify(r, &ring, NOW)), "bad_stamp");
        // Re-stamped altered T (a relay fooled into stamping garbage): the opening no longer matches.
        let mut r = report_of(&d, "bob");
        r.message.commitment.0[31] ^= 1;
        r.message.stamp = ring
            .stamp(suite, &r.message.commitment, &r.message.context)
            .unwrap();
        assert_eq!(code(verify(r, &ring, NOW)), "commitment_mismatch");
    }
}

#[test]
fn tampered_envelope_fields_fail_to_open() {
    let (_, session, d) = setup(Suite::Aes256CtrBlake3);
    let mut e = d.envelope.clone();
    e.ciphertext[0] ^= 1;
    assert!(open(&e, &session, AD).is_err());
    let mut e = d.envelope.clone();
    e.wrapped_key[0] ^= 1;
    assert!(open(&e, &session, AD).is_err());
    let mut e = d.envelope.clone();
    e.wrap_nonce[0] ^= 1;
    assert!(open(&e, &session, AD).is_err());
    let mut e = d.envelope.clone();
    e.nonce[0] ^= 1;
    assert!(open(&e, &session, AD).is_err());
    let mut e = d.envelope.clone();
    e.suite = Suite::CtrHmacSha256;
    assert!(open(&e, &session, AD).is_err());
    assert!(open(&d.envelope, &session, b"other ad").is_err());
    assert!(open(&d.envelope, &SessionKey::generate().unwrap(), AD).is_err());
}

#[test]
fn swapped_stamp_from_another_message_is_bad_stamp() {
    let (ring, session, d1) = setup(Suite::Aes256CtrBlake3);
    let d2 = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"another message",
        ctx("m-2", T0),
    );
    let mut r = report_of(&d1, "bob");
    r.message.stamp = d2.stamp.clone();
    assert_eq!(code(verify(r, &ring, NOW)), "bad_stamp");
    // Swapping both stamp and context of the other message still fails: T differs.
    let mut r = report_of(&d1, "bob");
    r.message.stamp = d2.stamp.clone();
    r.message.context = d2.context.clone();
    assert_eq!(code(verify(r, &ring, NOW)), "bad_stamp");
}

#[test]
fn wrong_reporter_is_rejected() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    assert_eq!(
        code(verify(report_of(&d, "mallory"), &ring, NOW)),
        "reporter_not_recipient"
    );
    // The sender cannot report their own message.
    assert_eq!(
        code(verify(report_of(&d, "alice"), &ring, NOW)),
        "reporter_not_recipient"
    );
    // Empty reporter is malformed.
    assert_eq!(code(verify(report_of(&d, ""), &ring, NOW)), "malformed");
}

#[test]
fn every_context_field_is_bound_by_the_stamp() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    let c = &d.context;
    let variants = [
        Context::direct("evil.net", c.sender(), "bob", T0, "m-1").unwrap(),
        Context::direct(c.network(), "carol", "bob", T0, "m-1").unwrap(),
        Context::direct(c.network(), c.sender(), "carol", T0, "m-1").unwrap(),
        Context::direct(c.network(), c.sender(), "bob", T0 + 1, "m-1").unwrap(),
        Context::direct(c.network(), c.sender(), "bob", T0, "m-2").unwrap(),
        Context::room(
            c.network(),
            c.sender(),
            "room",
            vec!["bob".into()],
            T0,
            "m-1",
        )
        .unwrap(),
        Context::new(
            c.network(),
            c.sender(),
            None,
            vec!["bob".into(), "mallory".into()],
            T0,
            "m-1",
        )
        .unwrap(),
    ];
    for v in variants {
        let mut r = report_of(&d, "bob");
        r.message.context = v.clone();
        // A context of another network is refused before its stamp is even looked at.
        let expected = if v.network() == d.context.network() {
            "bad_stamp"
        } else {
            "wrong_network"
        };
        assert_eq!(code(verify(r, &ring, NOW)), expected, "{v:?}");
    }
}

#[test]
fn reporting_window() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    assert_eq!(
        code(verify(report_of(&d, "bob"), &ring, T0 + 30 * DAY)),
        "ok"
    );
    assert_eq!(
        code(verify(report_of(&d, "bob"), &ring, T0 + 30 * DAY + 1)),
        "outside_window"
    );
    // A timestamp far in the future (beyond the allowed skew) is refused too.
    assert_eq!(
        code(verify(report_of(&d, "bob"), &ring, T0 - 5 * 60_000)),
        "ok"
    );
    assert_eq!(
        code(verify(report_of(&d, "bob"), &ring, T0 - 5 * 60_000 - 1)),
        "outside_window"
    );
}

#[test]
fn key_rotation_retirement_and_unknown_keys() {
    let (mut ring, session, d_old) = setup(Suite::Aes256CtrBlake3);
    let rotated_at = T0 + DAY;
    ring.rotate(StampKey::generate(KeyId(8), false).unwrap(), rotated_at)
        .unwrap();
    assert_eq!(ring.current().id(), KeyId(8));
    assert_eq!(
        ring.rotate(StampKey::generate(KeyId(7), false).unwrap(), rotated_at)
            .unwrap_err(),
        Error::DuplicateKeyId(7)
    );
    // New stamps use the new key and verify.
    let d_new = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"new",
        ctx("m-9", rotated_at + 1),
    );
    assert_eq!(d_new.stamp.key_id, KeyId(8));
    assert_eq!(
        code(verify(report_of(&d_new, "bob"), &ring, rotated_at + 2)),
        "ok"
    );
    // Old stamps verify with the retired key inside its grace period ...
    assert_eq!(
        code(verify(
            report_of(&d_old, "bob"),
            &ring,
            rotated_at + 29 * DAY
        )),
        "ok"
    );
    // ... and not after it (the message is older than that, so use a long reporting window to
    // isolate the key check, which runs first anyway).
    let long = ReportPolicy {
        window_ms: 365 * DAY,
        max_clock_skew_ms: 0,
    };
    let after = rotated_at + 30 * DAY + 1;
    assert_eq!(
        verify_report(report_of(&d_old, "bob"), &ring, &long, after).unwrap_err(),
        Error::KeyRetired(7)
    );
    assert_eq!(
        verify_report(report_of(&d_old, "bob"), &ring, &long, after)
            .unwrap_err()
            .code(),
        "key_retired"
    );
    // Pruned: the key is gone altogether.
    ring.prune(after);
    assert_eq!(
        verify_report(report_of(&d_old, "bob"), &ring, &long, after)
            .unwrap_err()
            .code(),
        "unknown_key_id"
    );
    // The new key still works after pruning.
    assert_eq!(code(verify(report_of(&d_new, "bob"), &ring, after)), "ok");
}

#[test]
fn unknown_key_id() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    let mut r = report_of(&d, "bob");
    r.message.stamp.key_id = KeyId(99);
    assert_eq!(verify(r, &ring, NOW).unwrap_err(), Error::UnknownKeyId(99));
    // A stamp from another platform's ring with a colliding id is a bad stamp, not accepted.
    let other = KeyRing::new(
        "example.net",
        StampKey::generate(KeyId(7), false).unwrap(),
        0,
        DAY,
    );
    let mut r = report_of(&d, "bob");
    r.message.stamp = other
        .stamp(d.envelope.suite, &d.envelope.commitment, &d.context)
        .unwrap();
    assert_eq!(code(verify(r, &ring, NOW)), "bad_stamp");
    // Another network's ring (same key bytes) refuses the context before looking at the stamp.
    let elsewhere = KeyRing::new(
        "other.net",
        StampKey::from_bytes(KeyId(7), [0x11; 32], None),
        0,
        DAY,
    );
    assert_eq!(
        verify(report_of(&d, "bob"), &elsewhere, NOW).unwrap_err(),
        Error::WrongNetwork
    );
    assert_eq!(Error::WrongNetwork.code(), "wrong_network");
}

/// Finding 3: a retired key verifies only stamps dated before its retirement (plus the clock
/// skew), so a leaked old key cannot forge fresh-looking stamps during the grace period.
#[test]
fn retired_key_verifies_only_stamps_dated_before_retirement() {
    let (mut ring, session, _) = setup(Suite::Aes256CtrBlake3);
    let old_key = StampKey::from_bytes(KeyId(7), [0x11; 32], None);
    let rotated_at = T0 + DAY;
    ring.rotate(StampKey::generate(KeyId(8), false).unwrap(), rotated_at)
        .unwrap();
    let skew = policy().max_clock_skew_ms;
    // The leaked old key stamps messages dated after its retirement.
    let forge = |ts: u64| {
        let mut d = deliver(
            Suite::Aes256CtrBlake3,
            &ring,
            &session,
            b"forged",
            ctx("m-late", ts),
        );
        d.stamp = old_key
            .stamp(d.envelope.suite, &d.envelope.commitment, &d.context)
            .unwrap();
        d
    };
    let late = forge(rotated_at + skew + 1);
    let now = rotated_at + skew + 2;
    assert_eq!(
        verify(report_of(&late, "bob"), &ring, now).unwrap_err(),
        Error::StampAfterRetirement(7)
    );
    assert_eq!(
        code(verify(report_of(&late, "bob"), &ring, now)),
        "stamp_after_retirement"
    );
    // Dated at the edge of the allowed skew: still the old key's (a message stamped just before
    // the rotation with a slightly fast clock).
    let edge = forge(rotated_at + skew);
    assert_eq!(code(verify(report_of(&edge, "bob"), &ring, now)), "ok");
    // The current key has no such bound.
    let fresh = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"fresh",
        ctx("m-fresh", rotated_at + DAY),
    );
    assert_eq!(
        code(verify(report_of(&fresh, "bob"), &ring, rotated_at + DAY)),
        "ok"
    );
    // A ring loaded from storage applies the same rule.
    let mut loaded = KeyRing::new(
        "example.net",
        StampKey::generate(KeyId(8), false).unwrap(),
        rotated_at,
        30 * DAY,
    );
    loaded
        .insert_retired(old_key.clone(), 0, rotated_at)
        .unwrap();
    assert_eq!(
        code(verify(report_of(&late, "bob"), &loaded, now)),
        "stamp_after_retirement"
    );
    assert_eq!(
        loaded.insert_retired(old_key, 0, rotated_at).unwrap_err(),
        Error::DuplicateKeyId(7)
    );
}

type Decode = fn(&[u8]) -> Result<(), Error>;

#[test]
fn truncated_and_trailing_bytes_are_malformed() {
    let (_, _, d) = setup(Suite::Aes256CtrBlake3);
    let report = report_of(&d, "bob");
    let encodings: Vec<(Vec<u8>, Decode)> = vec![
        (report.to_bytes().unwrap(), |b| {
            Report::from_bytes(b).map(|_| ())
        }),
        (d.envelope.to_bytes().unwrap(), |b| {
            Envelope::from_bytes(b).map(|_| ())
        }),
        (d.stamp.to_bytes().unwrap(), |b| {
            Stamp::from_bytes(b).map(|_| ())
        }),
        (d.context.to_bytes().unwrap(), |b| {
            Context::from_bytes(b).map(|_| ())
        }),
        (reported(&d).to_bytes().unwrap(), |b| {
            ReportedMessage::from_bytes(b).map(|_| ())
        }),
    ];
    for (bytes, decode) in encodings {
        decode(&bytes).unwrap();
        for cut in 0..bytes.len() {
            let e = decode(&bytes[..cut]).unwrap_err();
            assert_eq!(e.code(), "malformed", "cut at {cut}: {e:?}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode(&longer).unwrap_err(),
            Error::Malformed {
                what: "trailing bytes"
            }
        );
    }
    let bytes = report.to_bytes().unwrap();
    assert_eq!(
        verify_report_bytes(&bytes[..bytes.len() - 1], &ring(), &policy(), NOW)
            .unwrap_err()
            .code(),
        "malformed"
    );
}

#[test]
fn unsupported_version_and_suite() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    // Binary: byte 0 is the version; the envelope's suite byte is at offset 2 + 4.
    let mut env = d.envelope.to_bytes().unwrap();
    assert_eq!(env[6], 2);
    env[6] = 3;
    assert_eq!(
        Envelope::from_bytes(&env).unwrap_err(),
        Error::UnsupportedSuite(3)
    );
    env[6] = 0;
    assert_eq!(
        Envelope::from_bytes(&env).unwrap_err().code(),
        "unsupported_suite"
    );
    let mut env = d.envelope.to_bytes().unwrap();
    env[0] = 2;
    assert_eq!(
        Envelope::from_bytes(&env).unwrap_err(),
        Error::UnsupportedVersion(2)
    );
    let mut rep = report_of(&d, "bob").to_bytes().unwrap();
    rep[0] = 0;
    assert_eq!(
        verify_report_bytes(&rep, &ring, &policy(), NOW)
            .unwrap_err()
            .code(),
        "unsupported_version"
    );
    // The nested reported message's suite byte: report header 2 + field prefix 4 + object header 2
    // + suite field prefix 4.
    let mut rep = report_of(&d, "bob").to_bytes().unwrap();
    assert_eq!(rep[12], 2);
    rep[12] = 0xff;
    assert_eq!(
        verify_report_bytes(&rep, &ring, &policy(), NOW).unwrap_err(),
        Error::UnsupportedSuite(0xff)
    );
    // JSON.
    let j = serde_json::to_value(&d.envelope).unwrap();
    let mut v2 = j.clone();
    v2["v"] = 2.into();
    assert!(
        serde_json::from_value::<Envelope>(v2)
            .unwrap_err()
            .to_string()
            .contains("version")
    );
    let mut s3 = j.clone();
    s3["suite"] = 3.into();
    assert!(
        serde_json::from_value::<Envelope>(s3)
            .unwrap_err()
            .to_string()
            .contains("suite")
    );
    let mut extra = j;
    extra["extra"] = 1.into();
    assert!(serde_json::from_value::<Envelope>(extra).is_err());
}

#[test]
fn earlier_messages_of_the_same_conversation() {
    let ring = ring();
    let session = SessionKey::generate().unwrap();
    let e1 = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"hi",
        ctx("m-0", T0 - 1000),
    );
    // Bob's own reply is a valid earlier message too (he is its sender).
    let reply_ctx = Context::direct("example.net", "bob", "alice", T0 - 500, "m-0b").unwrap();
    let e2 = deliver(Suite::Aes256CtrBlake3, &ring, &session, b"hello", reply_ctx);
    let d = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"abuse",
        ctx("m-1", T0),
    );
    let mut r = report_of(&d, "bob");
    r.earlier = vec![reported(&e1), reported(&e2)];
    let v = verify(r.clone(), &ring, NOW).unwrap();
    assert_eq!(v.report().earlier.len(), 2);
    assert_eq!(Report::from_bytes(&r.to_bytes().unwrap()).unwrap(), r);

    // Tampered earlier message.
    let mut bad = r.clone();
    bad.earlier[0].plaintext = b"ho".to_vec();
    assert_eq!(code(verify(bad, &ring, NOW)), "commitment_mismatch");
    // The same message twice (or the reported message again as "earlier") is refused, in
    // verification, in encoding and in decoding.
    let mut bad = r.clone();
    bad.earlier.push(reported(&e1));
    assert_eq!(code(verify(bad.clone(), &ring, NOW)), "duplicate_message");
    let json = serde_json::to_vec(&bad).unwrap();
    assert_eq!(Report::from_json(&json), Err(Error::DuplicateMessage));
    let mut bad = r.clone();
    bad.earlier.push(reported(&d));
    assert_eq!(code(verify(bad.clone(), &ring, NOW)), "duplicate_message");
    assert_eq!(bad.to_bytes().unwrap_err().code(), "duplicate_message");
    // The same message re-stamped (same commitment and context, new stamp) is still the same one.
    let mut restamped = reported(&e1);
    restamped.stamp = ring
        .current()
        .stamp(restamped.suite, &restamped.commitment, &restamped.context)
        .unwrap();
    restamped.stamp.mac[0] ^= 1;
    let mut bad = r.clone();
    bad.earlier.push(restamped);
    assert_eq!(code(verify(bad, &ring, NOW)), "duplicate_message");
    // The same envelope delivered again under a new message id is a different message: allowed.
    let resent_ctx = ctx("m-0-again", T0 - 900);
    let resent_stamp = ring
        .stamp(e1.envelope.suite, &e1.envelope.commitment, &resent_ctx)
        .unwrap();
    let resent = Delivered {
        envelope: e1.envelope.clone(),
        opened: e1.opened.clone(),
        context: resent_ctx.clone(),
        stamp: resent_stamp,
    };
    let mut ok = r.clone();
    ok.earlier.push(reported(&resent));
    assert_eq!(code(verify(ok, &ring, NOW)), "ok");
    // Earlier message from another conversation.
    let other = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"elsewhere",
        Context::direct("example.net", "carol", "bob", T0 - 10, "m-x").unwrap(),
    );
    let mut bad = r.clone();
    bad.earlier.push(reported(&other));
    assert_eq!(code(verify(bad, &ring, NOW)), "not_same_conversation");
    // "Earlier" message that is newer than the reported one.
    let later = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"later",
        ctx("m-2", T0 + 10),
    );
    let mut bad = r;
    bad.earlier.push(reported(&later));
    assert_eq!(code(verify(bad, &ring, NOW)), "not_same_conversation");
}

#[test]
fn rooms() {
    let ring = ring();
    let session = SessionKey::generate().unwrap();
    let members = vec!["dave".to_string(), "bob".to_string(), "alice".to_string()];
    let c = Context::room("example.net", "alice", "room-1", members, T0, "m-1").unwrap();
    assert_eq!(c.recipients(), ["bob", "dave"], "sorted, sender removed");
    let d = deliver(Suite::CtrHmacSha256, &ring, &session, b"to the room", c);
    assert_eq!(code(verify(report_of(&d, "dave"), &ring, NOW)), "ok");
    assert_eq!(code(verify(report_of(&d, "bob"), &ring, NOW)), "ok");
    assert_eq!(
        code(verify(report_of(&d, "erin"), &ring, NOW)),
        "reporter_not_recipient"
    );
}

fn signing_ring() -> KeyRing {
    let key = StampKey::from_bytes(KeyId(1), [0x22; 32], Some([0x33; 32]));
    KeyRing::new("example.net", key, T0 - DAY, DAY)
}

#[test]
fn ed25519_signed_stamps_for_federation() {
    let ring = signing_ring();
    let vk = ring.current().verifying_key().unwrap();
    let published = ring.published_keys();
    assert_eq!(
        published,
        vec![PublishedKey {
            network: "example.net".into(),
            key_id: KeyId(1),
            public_key: vk,
            created_at_ms: T0 - DAY,
            retired_at_ms: None,
        }]
    );
    let session = SessionKey::generate().unwrap();
    let d = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"federated",
        ctx("m-1", T0),
    );
    assert!(d.stamp.signature.is_some());
    let (suite, t) = (d.envelope.suite, d.envelope.commitment);
    let check = |stamp: &Stamp, t: &Commitment, c: &Context| {
        verify_published(&published, stamp, suite, t, c, 0)
    };
    check(&d.stamp, &t, &d.context).unwrap();
    assert_eq!(code(verify(report_of(&d, "bob"), &ring, NOW)), "ok");
    // Another network checks the signature over a tampered context or commitment: refused.
    let other_ctx = ctx("m-2", T0);
    assert_eq!(
        check(&d.stamp, &t, &other_ctx).unwrap_err(),
        Error::BadStamp
    );
    assert_eq!(
        check(&d.stamp, &Commitment([0; 32]), &d.context).unwrap_err(),
        Error::BadStamp
    );
    // A context of a network that published nothing, or an unpublished key id.
    let foreign = Context::direct("other.net", "alice", "bob", T0, "m-1").unwrap();
    assert_eq!(
        check(&d.stamp, &t, &foreign).unwrap_err(),
        Error::WrongNetwork
    );
    let mut unknown = d.stamp.clone();
    unknown.key_id = KeyId(2);
    assert_eq!(
        check(&unknown, &t, &d.context).unwrap_err(),
        Error::UnknownKeyId(2)
    );
    // A corrupted signature makes the whole stamp bad, even though the HMAC is intact.
    let mut r = report_of(&d, "bob");
    if let Some(s) = r.message.stamp.signature.as_mut() {
        s[0] ^= 1;
    }
    assert_eq!(code(verify(r, &ring, NOW)), "bad_stamp");
    // An HMAC-only ring refuses a signature its key does not make.
    let mut r = report_of(&d, "bob");
    r.message.stamp.signature = Some([0; 64]);
    let hmac_only = KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(1), [0x22; 32], None),
        0,
        DAY,
    );
    assert_eq!(
        code(verify(r.clone(), &hmac_only, NOW)),
        "unexpected_signature"
    );
    // Without the signature, the same stamp verifies on the HMAC-only ring (same HMAC key).
    r.message.stamp.signature = None;
    assert_eq!(code(verify(r, &hmac_only, NOW)), "ok");
}

/// Finding 1: a signing key's stamp with its signature stripped is a second encoding of the same
/// stamp; it is refused (server and recipients), so each stamp has one valid encoding.
#[test]
fn stripped_signature_is_refused() {
    let ring = signing_ring();
    let session = SessionKey::generate().unwrap();
    let d = deliver(
        Suite::CtrHmacSha256,
        &ring,
        &session,
        b"signed",
        ctx("m-1", T0),
    );
    let mut r = report_of(&d, "bob");
    r.message.stamp.signature = None;
    assert_eq!(
        verify(r.clone(), &ring, NOW).unwrap_err(),
        Error::SignatureRequired
    );
    assert_eq!(code(verify(r.clone(), &ring, NOW)), "signature_required");
    let mut stripped = d.stamp.clone();
    stripped.signature = None;
    assert_eq!(
        verify_published(
            &ring.published_keys(),
            &stripped,
            d.envelope.suite,
            &d.envelope.commitment,
            &d.context,
            0
        )
        .unwrap_err(),
        Error::SignatureRequired
    );
}

/// Finding 6: published keys carry the network and retirement time, and `verify_published` checks
/// both: a retired key's signature over a context dated after its retirement is refused.
#[test]
fn published_keys_bound_retired_keys() {
    let mut ring = signing_ring();
    let session = SessionKey::generate().unwrap();
    let old = StampKey::from_bytes(KeyId(1), [0x22; 32], Some([0x33; 32]));
    let rotated_at = T0 + DAY;
    ring.rotate(StampKey::generate(KeyId(2), true).unwrap(), rotated_at)
        .unwrap();
    let published = ring.published_keys();
    assert_eq!(published.len(), 2);
    let old_pub = published.iter().find(|k| k.key_id == KeyId(1)).unwrap();
    assert_eq!(old_pub.retired_at_ms, Some(rotated_at));
    let skew = 60_000;
    for (ts, expected) in [
        (T0, "ok"),
        (rotated_at + skew, "ok"),
        (rotated_at + skew + 1, "stamp_after_retirement"),
    ] {
        let d = deliver(
            Suite::Aes256CtrBlake3,
            &ring,
            &session,
            b"x",
            ctx("m-x", ts),
        );
        let stamp = old
            .stamp(d.envelope.suite, &d.envelope.commitment, &d.context)
            .unwrap();
        let got = verify_published(
            &published,
            &stamp,
            d.envelope.suite,
            &d.envelope.commitment,
            &d.context,
            skew,
        );
        assert_eq!(got.map_or_else(|e| e.code(), |()| "ok"), expected, "{ts}");
    }
    // JSON: canonical, `retired_at_ms` omitted (never null) while current; round trip.
    let json = serde_json::to_string(&published).unwrap();
    assert!(!json.contains("null"), "{json}");
    assert_eq!(
        PublishedKey::list_from_json(json.as_bytes()).unwrap(),
        published
    );
    let current = serde_json::to_value(&published[0]).unwrap();
    assert!(current.get("retired_at_ms").is_none(), "{current}");
    let mut with_null = current.clone();
    with_null["retired_at_ms"] = serde_json::Value::Null;
    let text = format!("[{with_null}]");
    assert_eq!(
        PublishedKey::list_from_json(text.as_bytes()).unwrap_err(),
        Error::JsonNull {
            what: "published keys"
        }
    );
    assert!(serde_json::from_value::<PublishedKey>(with_null).is_err());
    // Duplicate (network, key id), a bad point, an unknown field, retired before created.
    let dup = format!("[{current},{current}]");
    assert_eq!(
        PublishedKey::list_from_json(dup.as_bytes()).unwrap_err(),
        Error::DuplicateKeyId(2)
    );
    // 32 bytes that do not decode to a curve point.
    let not_a_point = (0u8..=255)
        .map(|b| [b; 32])
        .find(|b| franking_core::frank::VerifyingKey::from_bytes(b).is_err())
        .unwrap();
    let mut bad_point = current.clone();
    bad_point["public_key"] =
        serde_json::Value::String(franking_core::util::b64_encode(&not_a_point));
    let mut unknown = current.clone();
    unknown["extra"] = 1.into();
    let mut backwards = current.clone();
    backwards["retired_at_ms"] = 0.into();
    for bad in [bad_point, unknown, backwards] {
        let text = format!("[{bad}]");
        assert_eq!(
            PublishedKey::list_from_json(text.as_bytes())
                .unwrap_err()
                .code(),
            "malformed",
            "{bad}"
        );
    }
}

#[test]
fn secrets_are_redacted_in_debug() {
    let (ring, session, d) = setup(Suite::Aes256CtrBlake3);
    let k = StampKey::from_bytes(KeyId(1), [0xAB; 32], Some([0xCD; 32]));
    // Every representation a derived Debug, hex or base64 would give the secret bytes.
    let mut secrets: Vec<Vec<u8>> = vec![
        session.expose_secret().to_vec(),
        d.opened.opening.expose_secret().to_vec(),
        vec![0xAB; 32],
        vec![0xCD; 32],
        vec![0x11; 32], // the ring's HMAC key
    ];
    secrets.dedup();
    let needles: Vec<String> = secrets
        .iter()
        .flat_map(|b| {
            [
                format!("{:?}", &b[..4]).trim_end_matches(']').to_string(),
                hex::encode(&b[..4]),
                hex::encode_upper(&b[..4]),
                base64_prefix(b),
            ]
        })
        .collect();
    for s in [
        format!("{session:?}"),
        format!("{:?}", d.opened.opening),
        format!("{k:?}"),
        format!("{ring:?}"),
        format!("{:?}", report_of(&d, "bob")),
    ] {
        for n in &needles {
            assert!(!s.contains(n.as_str()), "{n} in {s}");
        }
    }
    assert!(format!("{session:?}").contains("redacted"));
    assert!(format!("{:?}", d.opened.opening).contains("redacted"));
}

/// The first 8 base64url characters of `b` (6 bytes), as serde's JSON form would print them.
fn base64_prefix(b: &[u8]) -> String {
    let j = serde_json::to_string(&franking_core::frank::Opening::from_bytes(
        b.try_into().unwrap(),
    ))
    .unwrap();
    j[1..9].to_string()
}

#[test]
fn context_invariants() {
    assert_eq!(
        Context::direct("n", "a", "a", 0, "m").unwrap_err().code(),
        "malformed"
    );
    assert_eq!(
        Context::direct("", "a", "b", 0, "m").unwrap_err().code(),
        "malformed"
    );
    assert_eq!(
        Context::direct("n", "a", "b", 0, "").unwrap_err().code(),
        "malformed"
    );
    assert!(Context::direct("n", "a", "b".repeat(1025), 0, "m").is_err());
    assert!(Context::room("n", "a", "", vec!["b".into()], 0, "m").is_err());
    // JSON with unsorted recipients is refused (canonical form only).
    let j =
        r#"{"network":"n","sender":"a","recipients":["c","b"],"timestamp_ms":1,"message_id":"m"}"#;
    assert!(serde_json::from_str::<Context>(j).is_err());
    let j =
        r#"{"network":"n","sender":"a","recipients":["b","c"],"timestamp_ms":1,"message_id":"m"}"#;
    assert!(serde_json::from_str::<Context>(j).is_ok());
}

#[test]
fn error_codes_are_stable() {
    let cases = [
        (Error::BadStamp, "bad_stamp"),
        (Error::CommitmentMismatch, "commitment_mismatch"),
        (Error::ReporterNotRecipient, "reporter_not_recipient"),
        (Error::OutsideWindow, "outside_window"),
        (Error::UnknownKeyId(1), "unknown_key_id"),
        (Error::KeyRetired(1), "key_retired"),
        (Error::Malformed { what: "x" }, "malformed"),
        (Error::UnsupportedVersion(9), "unsupported_version"),
        (Error::UnsupportedSuite(9), "unsupported_suite"),
        (Error::NotSameConversation, "not_same_conversation"),
        (Error::AuthenticationFailed, "authentication_failed"),
    ];
    for (e, c) in cases {
        assert_eq!(e.code(), c);
    }
}

#[test]
fn earlier_messages_come_in_timestamp_order_with_the_reporters_own_flagged() {
    let ring = ring();
    let session = SessionKey::generate().unwrap();
    let threat = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"threat",
        ctx("m-1", T0 - 3000),
    );
    // Bob's own earlier message, and a reply of his with the same timestamp as Alice's next one.
    let own = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"stop it",
        Context::direct("example.net", "bob", "alice", T0 - 2000, "m-2").unwrap(),
    );
    let same_time_a = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"tie a",
        ctx("m-3", T0 - 1000),
    );
    let same_time_b = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"tie b",
        Context::direct("example.net", "bob", "alice", T0 - 1000, "m-4").unwrap(),
    );
    let d = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"abuse",
        ctx("m-5", T0),
    );
    let mut r = report_of(&d, "bob");
    // Submitted out of order.
    r.earlier = vec![
        reported(&same_time_a),
        reported(&own),
        reported(&threat),
        reported(&same_time_b),
    ];
    let v = verify(r, &ring, NOW).unwrap();
    let seen: Vec<(usize, &[u8], &str, bool, u64)> = v
        .earlier_in_order()
        .map(|m| {
            (
                m.position,
                m.plaintext(),
                m.sender(),
                m.sent_by_reporter,
                m.timestamp_ms(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (2, &b"threat"[..], "alice", false, T0 - 3000),
            (1, &b"stop it"[..], "bob", true, T0 - 2000),
            (0, &b"tie a"[..], "alice", false, T0 - 1000),
            (3, &b"tie b"[..], "bob", true, T0 - 1000),
        ]
    );
    let first = v.earlier_in_order().next().unwrap();
    assert_eq!(first.recipients(), ["bob"]);
    assert_eq!(v.reporter(), "bob");
}

#[test]
fn from_json_keeps_precise_codes() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    let r = report_of(&d, "bob");
    let json = serde_json::to_value(&r).unwrap();
    let bytes = serde_json::to_vec(&json).unwrap();
    assert_eq!(Report::from_json(&bytes).unwrap(), r);
    assert!(verify(Report::from_json(&bytes).unwrap(), &ring, NOW).is_ok());

    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = json.clone();
        f(&mut v);
        Report::from_json(&serde_json::to_vec(&v).unwrap())
    };
    // A future version may have any shape: its version is refused before anything else.
    let e = with(&|v| *v = serde_json::json!({"v": 2, "whatever": true})).unwrap_err();
    assert_eq!(e, Error::UnsupportedVersion(2));
    assert_eq!(
        with(&|v| v["v"] = 300.into()).unwrap_err(),
        Error::UnsupportedVersion(255)
    );
    let e = with(&|v| {
        v["message"]["suite"] = 9.into();
        v["message"]["nonce"] = "not base64!".into();
    })
    .unwrap_err();
    assert_eq!(e, Error::UnsupportedSuite(9));
    let e = with(&|v| v["earlier"] = serde_json::json!([{"suite": 3}])).unwrap_err();
    assert_eq!(e, Error::UnsupportedSuite(3));
    for f in [
        &(|v: &mut serde_json::Value| v["message"]["nonce"] = "AAAA".into())
            as &dyn Fn(&mut serde_json::Value),
        &|v| v["unknown"] = 1.into(),
        &|v| {
            v.as_object_mut().unwrap().remove("v");
        },
        &|v| *v = serde_json::json!([1, 2]),
        &|v| v["message"]["suite"] = 256.into(),
    ] {
        assert_eq!(with(f).unwrap_err().code(), "malformed");
    }
    assert_eq!(Report::from_json(b"{").unwrap_err().code(), "malformed");
    // Structural checks keep their own codes.
    let e = with(&|v| v["earlier"] = serde_json::json!([v["message"].clone()])).unwrap_err();
    assert_eq!(e, Error::DuplicateMessage);

    // Envelopes and stamped envelopes.
    let delivered = franking_core::frank::StampedEnvelope {
        envelope: d.envelope.clone(),
        context: d.context.clone(),
        stamp: d.stamp.clone(),
        membership: None,
    };
    let json = serde_json::to_value(&delivered).unwrap();
    assert_eq!(
        franking_core::frank::StampedEnvelope::from_json(&serde_json::to_vec(&json).unwrap())
            .unwrap(),
        delivered
    );
    let env_json = serde_json::to_value(&d.envelope).unwrap();
    assert_eq!(
        Envelope::from_json(&serde_json::to_vec(&env_json).unwrap()).unwrap(),
        d.envelope
    );
    for (field, value, expected) in [
        ("v", 2, Error::UnsupportedVersion(2)),
        ("suite", 7, Error::UnsupportedSuite(7)),
    ] {
        let mut e = env_json.clone();
        e[field] = value.into();
        assert_eq!(
            Envelope::from_json(&serde_json::to_vec(&e).unwrap()).unwrap_err(),
            expected
        );
        let mut s = json.clone();
        s["envelope"][field] = value.into();
        assert_eq!(
            franking_core::frank::StampedEnvelope::from_json(&serde_json::to_vec(&s).unwrap())
                .unwrap_err(),
            expected
        );
    }
    let mut s = json.clone();
    s["context"]["recipients"] = serde_json::json!([]);
    assert_eq!(
        franking_core::frank::StampedEnvelope::from_json(&serde_json::to_vec(&s).unwrap())
            .unwrap_err()
            .code(),
        "malformed"
    );
}

#[test]
fn debug_never_prints_plaintexts_or_keys() {
    let (_, _, d) = setup(Suite::Aes256CtrBlake3);
    let key_b64 = franking_core::util::b64_encode(d.opened.opening.expose_secret());
    let shown = format!("{:?} {:?}", d.opened, reported(&d));
    assert!(shown.contains("plaintext_len: 19"), "{shown}");
    for secret in ["abusive", key_b64.as_str()] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let session = SessionKey::from_bytes([0x61; 32]);
    assert_eq!(format!("{session:?}"), "SessionKey(<redacted>)");
    let stamp_key = StampKey::from_bytes(KeyId(1), [0x61; 32], Some([0x62; 32]));
    assert!(!format!("{stamp_key:?}").contains("97"));
}

/// Finding 5: optional fields (`signature`, `room`) are omitted, never `null`: one JSON encoding
/// per value, refused with `json_null` by every `from_json` and by plain serde too.
#[test]
fn json_null_is_refused_everywhere() {
    let (ring, _, d) = setup(Suite::Aes256CtrBlake3);
    let report = serde_json::to_value(report_of(&d, "bob")).unwrap();
    let null = serde_json::Value::Null;
    let json_null = |what| Error::JsonNull { what };

    let mut r = report.clone();
    r["message"]["context"]["room"] = null.clone();
    let text = r.to_string();
    assert_eq!(
        Report::from_json(text.as_bytes()).unwrap_err(),
        json_null("report")
    );
    assert!(serde_json::from_str::<Report>(&text).is_err());
    let mut r = report.clone();
    r["message"]["stamp"]["signature"] = null.clone();
    let text = r.to_string();
    assert_eq!(
        Report::from_json(text.as_bytes()).unwrap_err(),
        json_null("report")
    );
    assert!(serde_json::from_str::<Report>(&text).is_err());
    // Omitted, the same report parses and verifies.
    let ok = Report::from_json(report.to_string().as_bytes()).unwrap();
    assert_eq!(code(verify(ok, &ring, NOW)), "ok");

    let stamped = StampedEnvelope {
        envelope: d.envelope.clone(),
        context: d.context.clone(),
        stamp: d.stamp.clone(),
        membership: None,
    };
    let sv = serde_json::to_value(&stamped).unwrap();
    for (path, field) in [("context", "room"), ("stamp", "signature")] {
        let mut s = sv.clone();
        s[path][field] = null.clone();
        let text = s.to_string();
        assert_eq!(
            StampedEnvelope::from_json(text.as_bytes()).unwrap_err(),
            json_null("stamped envelope"),
            "{path}.{field}"
        );
        assert!(serde_json::from_str::<StampedEnvelope>(&text).is_err());
    }
    assert_eq!(
        StampedEnvelope::from_json(sv.to_string().as_bytes()).unwrap(),
        stamped
    );

    let mut e = serde_json::to_value(&d.envelope).unwrap();
    e["ciphertext"] = null.clone();
    assert_eq!(
        Envelope::from_json(e.to_string().as_bytes()).unwrap_err(),
        json_null("envelope")
    );

    let mut c = serde_json::to_value(&d.context).unwrap();
    assert_eq!(
        Context::from_json(c.to_string().as_bytes()).unwrap(),
        d.context
    );
    c["room"] = null;
    let err = Context::from_json(c.to_string().as_bytes()).unwrap_err();
    assert_eq!(err, json_null("context"));
    assert_eq!(err.code(), "json_null");
    // A null inside a string is text, not a null.
    let text = serde_json::to_string(&Context::direct("n", "a", "b", 1, "null").unwrap()).unwrap();
    assert!(Context::from_json(text.as_bytes()).is_ok());
}

/// Federation: a report forwarded by a peer server under the reporter's pseudonym skips only the
/// reporter-membership checks; every other check still refuses.
#[test]
fn forwarded_reports_skip_only_the_reporter_checks() {
    use franking_core::frank::verify_forwarded_report;
    let (ring, session, d) = setup(Suite::Aes256CtrBlake3);
    let own = deliver(
        Suite::Aes256CtrBlake3,
        &ring,
        &session,
        b"bob's own reply",
        Context::direct("example.net", "bob", "alice", T0 - 1000, "m-0").unwrap(),
    );
    let mut r = report_of(&d, "pseud_x");
    r.earlier = vec![reported(&own)];
    // The named path refuses a reporter who is not a recipient ...
    assert_eq!(
        code(verify(r.clone(), &ring, NOW)),
        "reporter_not_recipient"
    );
    // ... the forwarded path accepts the pseudonym, and flags no earlier message as the reporter's.
    let v = verify_forwarded_report(r.clone(), &ring, &policy(), NOW).unwrap();
    assert_eq!(v.reporter(), "pseud_x");
    assert!(v.earlier_in_order().all(|m| !m.sent_by_reporter));
    // Everything else is still checked: the plaintext, the stamp, the window.
    let mut bad = r.clone();
    bad.message.plaintext[0] ^= 1;
    let res = verify_forwarded_report(bad, &ring, &policy(), NOW);
    assert_eq!(code(res), "commitment_mismatch");
    let mut bad = r.clone();
    bad.message.stamp.mac[0] ^= 1;
    let res = verify_forwarded_report(bad, &ring, &policy(), NOW);
    assert_eq!(code(res), "bad_stamp");
    let res = verify_forwarded_report(r, &ring, &policy(), NOW + 31 * DAY);
    assert_eq!(code(res), "outside_window");
}
