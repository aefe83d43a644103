//! Recipient-side refusals on really tampered envelopes, contexts, stamps and reports.
#![allow(clippy::unwrap_used)]

use client_sdk::attachment::seal_attachment;
use client_sdk::frank::{self, Context, KeyId, KeyRing, ReportPolicy, SessionKey, StampKey, Suite};
use client_sdk::messaging::{Conversation, OpenChecks, StampedEnvelope, stamp_envelope};
use client_sdk::moderation::verify_report;
use client_sdk::{AttachmentKey, Error, MessageContent};
use franking_core::Error as CoreError;

const T0: u64 = 1_750_000_000_000;

struct Setup {
    alice: Conversation,
    bob: Conversation,
    ring: KeyRing,
    delivered: StampedEnvelope,
}

fn setup(sign: bool) -> Setup {
    let key = SessionKey::generate().unwrap();
    let alice = Conversation::new("conv", key.clone());
    let bob = Conversation::new("conv", key);
    let ring = KeyRing::new("net", StampKey::generate(KeyId(1), sign).unwrap(), 0, 0);
    let env = alice
        .seal(&MessageContent::text("the real message"))
        .unwrap();
    let ctx = Context::direct("net", "alice", "bob", T0, "m1").unwrap();
    let delivered = stamp_envelope(&ring, env, ctx).unwrap();
    Setup {
        alice,
        bob,
        ring,
        delivered,
    }
}

fn auth_failed(r: Result<client_sdk::OpenedMessage, Error>) -> bool {
    matches!(r, Err(Error::Core(CoreError::AuthenticationFailed)))
}

#[test]
fn untampered_opens() {
    let s = setup(false);
    assert!(
        s.bob
            .open(&s.delivered, &OpenChecks::recipient("bob"))
            .is_ok()
    );
}

#[test]
fn altered_ciphertext_is_refused() {
    let s = setup(false);
    for i in 0..s.delivered.envelope.ciphertext.len() {
        let mut d = s.delivered.clone();
        d.envelope.ciphertext[i] ^= 1;
        assert!(
            auth_failed(s.bob.open(&d, &OpenChecks::recipient("bob"))),
            "byte {i}"
        );
    }
    let mut d = s.delivered.clone();
    d.envelope.ciphertext.push(0);
    assert!(auth_failed(s.bob.open(&d, &OpenChecks::recipient("bob"))));
    let mut d = s.delivered.clone();
    d.envelope.nonce[0] ^= 1;
    assert!(auth_failed(s.bob.open(&d, &OpenChecks::recipient("bob"))));
}

#[test]
fn altered_commitment_is_refused() {
    let s = setup(false);
    for i in 0..32 {
        let mut d = s.delivered.clone();
        d.envelope.commitment.0[i] ^= 0x40;
        assert!(
            auth_failed(s.bob.open(&d, &OpenChecks::recipient("bob"))),
            "byte {i}"
        );
    }
}

#[test]
fn altered_wrapped_key_is_refused() {
    let s = setup(false);
    for i in 0..64 {
        let mut d = s.delivered.clone();
        d.envelope.wrapped_key[i] ^= 2;
        assert!(
            auth_failed(s.bob.open(&d, &OpenChecks::recipient("bob"))),
            "byte {i}"
        );
    }
    let mut d = s.delivered.clone();
    *d.envelope.wrap_nonce.last_mut().unwrap() ^= 2;
    assert!(auth_failed(s.bob.open(&d, &OpenChecks::recipient("bob"))));
}

#[test]
fn other_suite_label_is_refused() {
    let s = setup(false);
    let mut d = s.delivered.clone();
    d.envelope.suite = Suite::CtrHmacSha256;
    assert!(auth_failed(s.bob.open(&d, &OpenChecks::recipient("bob"))));
}

#[test]
fn wrong_session_or_conversation_is_refused() {
    let s = setup(false);
    let stranger = Conversation::new("conv", SessionKey::generate().unwrap());
    assert!(auth_failed(
        stranger.open(&s.delivered, &OpenChecks::recipient("bob"))
    ));
    // Same session key, other conversation id: the body AD differs.
    let key = SessionKey::generate().unwrap();
    let a = Conversation::new("conv-a", key.clone());
    let b = Conversation::new("conv-b", key);
    let env = a.seal(&MessageContent::text("x")).unwrap();
    let ctx = Context::direct("net", "alice", "bob", T0, "m").unwrap();
    let d = stamp_envelope(&s.ring, env, ctx).unwrap();
    assert!(auth_failed(b.open(&d, &OpenChecks::recipient("bob"))));
}

#[test]
fn context_not_naming_me_or_wrong_sender_is_refused() {
    let s = setup(false);
    assert!(matches!(
        s.bob.open(&s.delivered, &OpenChecks::recipient("carol")),
        Err(Error::NotForMe)
    ));
    assert!(matches!(
        s.bob.open(
            &s.delivered,
            &OpenChecks::recipient("bob").sender("mallory")
        ),
        Err(Error::UnexpectedSender)
    ));
}

#[test]
fn stamp_binding_is_checked_when_the_platform_signs() {
    let s = setup(true);
    let keys = s.ring.published_keys();
    let checks = OpenChecks::recipient("bob").platform_keys(&keys);
    assert!(s.bob.open(&s.delivered, &checks).is_ok());

    // Signature bytes altered.
    let mut d = s.delivered.clone();
    if let Some(sig) = d.stamp.signature.as_mut() {
        sig[5] ^= 1;
    }
    assert!(matches!(
        s.bob.open(&d, &checks),
        Err(Error::Core(CoreError::BadStamp))
    ));

    // Unsigned stamp when signatures are required.
    let mut d = s.delivered.clone();
    d.stamp.signature = None;
    assert!(matches!(
        s.bob.open(&d, &checks),
        Err(Error::Core(CoreError::SignatureRequired))
    ));

    // A context of another network than the published keys'.
    let mut foreign = s.ring.published_keys();
    foreign[0].network = "elsewhere".into();
    assert!(matches!(
        s.bob.open(
            &s.delivered,
            &OpenChecks::recipient("bob").platform_keys(&foreign)
        ),
        Err(Error::Core(CoreError::WrongNetwork))
    ));

    // The key published as retired before the message: a stamp dated after its retirement.
    let mut retired = s.ring.published_keys();
    retired[0].retired_at_ms = Some(T0 - 10 * 60_000);
    assert!(matches!(
        s.bob.open(
            &s.delivered,
            &OpenChecks::recipient("bob").platform_keys(&retired)
        ),
        Err(Error::Core(CoreError::StampAfterRetirement(_)))
    ));

    // A valid stamp of another message (other commitment) moved onto this envelope.
    let other = s.alice.seal(&MessageContent::text("other")).unwrap();
    let other = stamp_envelope(&s.ring, other, s.delivered.context.clone()).unwrap();
    let mut d = s.delivered.clone();
    d.stamp = other.stamp;
    assert!(matches!(
        s.bob.open(&d, &checks),
        Err(Error::Core(CoreError::BadStamp))
    ));

    // The context rewritten (timestamp) after stamping.
    let mut d = s.delivered.clone();
    d.context = Context::direct("net", "alice", "bob", T0 + 1, "m1").unwrap();
    assert!(matches!(
        s.bob.open(&d, &checks),
        Err(Error::Core(CoreError::BadStamp))
    ));

    // A stamp by another platform key.
    let rogue = KeyRing::new("net", StampKey::generate(KeyId(1), true).unwrap(), 0, 0);
    let d = stamp_envelope(
        &rogue,
        s.delivered.envelope.clone(),
        s.delivered.context.clone(),
    )
    .unwrap();
    assert!(matches!(
        s.bob.open(&d, &checks),
        Err(Error::Core(CoreError::BadStamp))
    ));
}

#[test]
fn non_sdk_plaintext_is_refused() {
    let key = SessionKey::generate().unwrap();
    let bob = Conversation::new("conv", key.clone());
    let env = frank::seal(
        Suite::default(),
        &key,
        b"conv",
        b"raw bytes, not MessageContent",
    )
    .unwrap();
    let ring = KeyRing::new("net", StampKey::generate(KeyId(1), false).unwrap(), 0, 0);
    let ctx = Context::direct("net", "alice", "bob", T0, "m1").unwrap();
    let d = stamp_envelope(&ring, env, ctx).unwrap();
    assert!(matches!(
        bob.open(&d, &OpenChecks::recipient("bob")),
        Err(Error::Core(franking_core::Error::NotMessageContent))
    ));
}

#[test]
fn tampered_reports_are_rejected() {
    let s = setup(false);
    let opened = s
        .bob
        .open(&s.delivered, &OpenChecks::recipient("bob"))
        .unwrap();
    let report = opened.report("bob", "r", &[]).unwrap();
    let policy = ReportPolicy::default();
    assert!(verify_report(report.clone(), &s.ring, &policy, T0).is_ok());

    // The reporter edits the text they claim to have received.
    let mut r = report.clone();
    r.message.plaintext = MessageContent::text("the edited message")
        .encode()
        .unwrap()
        .to_vec();
    assert!(matches!(
        verify_report(r, &s.ring, &policy, T0),
        Err(Error::Core(CoreError::CommitmentMismatch))
    ));
    // The reporter edits the context (claims another sender).
    let mut r = report.clone();
    r.message.context = Context::direct("net", "carol", "bob", T0, "m1").unwrap();
    assert!(matches!(
        verify_report(r, &s.ring, &policy, T0),
        Err(Error::Core(CoreError::BadStamp))
    ));
    // Outside the window, and a non-recipient reporter.
    assert!(verify_report(report.clone(), &s.ring, &policy, T0 + policy.window_ms + 1).is_err());
    let mut r = report;
    r.reporter = "carol".into();
    assert!(matches!(
        verify_report(r, &s.ring, &policy, T0),
        Err(Error::Core(CoreError::ReporterNotRecipient))
    ));
}

#[test]
fn swapping_an_attachment_reference_in_a_report_is_rejected() {
    let s = setup(false);
    let mut blob = Vec::new();
    let r = seal_attachment("image/png", &b"the abusive picture"[..], &mut blob).unwrap();
    let content = MessageContent {
        text: "see".into(),
        attachments: vec![r],
    };
    let env = s.alice.seal(&content).unwrap();
    let ctx = Context::direct("net", "alice", "bob", T0, "m2").unwrap();
    let d = stamp_envelope(&s.ring, env, ctx).unwrap();
    let opened = s.bob.open(&d, &OpenChecks::recipient("bob")).unwrap();
    let report = opened.report("bob", "r", &[]).unwrap();

    let mut benign = Vec::new();
    let other = seal_attachment("image/png", &b"a kitten"[..], &mut benign).unwrap();
    for swap in [
        other.clone(),
        client_sdk::AttachmentRef {
            key: AttachmentKey::from_bytes([1; 32]),
            ..content.attachments[0].clone()
        },
    ] {
        let mut changed = content.clone();
        changed.attachments[0] = swap;
        let mut r = report.clone();
        r.message.plaintext = changed.encode().unwrap().to_vec();
        assert!(matches!(
            verify_report(r, &s.ring, &ReportPolicy::default(), T0),
            Err(Error::Core(CoreError::CommitmentMismatch))
        ));
    }
}
