//! In-process end to end: seal → stamp → open → report → verify, for text and for attachments.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use client_sdk::attachment::{AttachmentSealer, open_attachment, seal_attachment};
use client_sdk::frank::{Context, KeyId, KeyRing, Report, ReportPolicy, SessionKey, StampKey};
use client_sdk::messaging::{
    Conversation, OpenChecks, OpenedMessage, StampedEnvelope, stamp_envelope,
};
use client_sdk::moderation::{reconstruct_attachment, verify_report};
use client_sdk::{Error, MessageContent};

const T0: u64 = 1_750_000_000_000;

fn pair() -> (Conversation, Conversation) {
    let key = SessionKey::generate().unwrap();
    (
        Conversation::new("conv-1", key.clone()),
        Conversation::new("conv-1", key),
    )
}

fn ring(sign: bool) -> KeyRing {
    KeyRing::new(
        "example.net",
        StampKey::generate(KeyId(3), sign).unwrap(),
        0,
        0,
    )
}

fn deliver(
    ring: &KeyRing,
    conv: &Conversation,
    content: &MessageContent,
    t: u64,
    id: &str,
) -> StampedEnvelope {
    let env = conv.seal(content).unwrap();
    let ctx = Context::direct("example.net", "alice", "bob", t, id).unwrap();
    stamp_envelope(ring, env, ctx).unwrap()
}

#[test]
fn text_message_end_to_end() {
    let (alice, bob) = pair();
    let ring = ring(false);
    let delivered = deliver(
        &ring,
        &alice,
        &MessageContent::text("you will regret this"),
        T0,
        "m1",
    );

    // Through JSON, as it would travel.
    let wire = serde_json::to_string(&delivered).unwrap();
    let delivered: StampedEnvelope = serde_json::from_str(&wire).unwrap();

    let opened = bob
        .open(&delivered, &OpenChecks::recipient("bob").sender("alice"))
        .unwrap();
    assert_eq!(opened.content().text, "you will regret this");

    // The recipient stores the opened message and reports it later.
    let stored = serde_json::to_string(&opened).unwrap();
    let opened: OpenedMessage = serde_json::from_str(&stored).unwrap();
    let report = opened.report("bob", "harassment", &[]).unwrap();
    let report: Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    let verified =
        verify_report(report.clone(), &ring, &ReportPolicy::default(), T0 + 1000).unwrap();
    assert_eq!(verified.content, *opened.content());
    assert_eq!(verified.report.context().sender(), "alice");

    // The binary form verifies too.
    let bytes = report.to_bytes().unwrap();
    let verified = verify_report(
        Report::from_bytes(&bytes).unwrap(),
        &ring,
        &ReportPolicy::default(),
        T0 + 1000,
    )
    .unwrap();
    assert_eq!(verified.content.text, "you will regret this");
}

#[test]
fn report_with_earlier_messages() {
    let (alice, bob) = pair();
    let ring = ring(false);
    let checks = OpenChecks::recipient("bob");
    let m1 = bob
        .open(
            &deliver(&ring, &alice, &MessageContent::text("hi"), T0, "m1"),
            &checks,
        )
        .unwrap();
    let m2 = bob
        .open(
            &deliver(
                &ring,
                &alice,
                &MessageContent::text("meet me"),
                T0 + 5,
                "m2",
            ),
            &checks,
        )
        .unwrap();
    let m3 = bob
        .open(
            &deliver(
                &ring,
                &alice,
                &MessageContent::text("or else"),
                T0 + 9,
                "m3",
            ),
            &checks,
        )
        .unwrap();
    let report = m3.report("bob", "threat", &[&m1, &m2]).unwrap();
    let v = verify_report(report, &ring, &ReportPolicy::default(), T0 + 60_000).unwrap();
    assert_eq!(v.content.text, "or else");
    let earlier: Vec<_> = v.earlier.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(earlier, ["hi", "meet me"]);

    // Newer "earlier" messages and non-recipient reporters are caught before sending.
    assert!(m1.report("bob", "x", &[&m3]).is_err());
    assert!(m3.report("alice", "x", &[]).is_err());
    assert!(m3.report("mallory", "x", &[]).is_err());
}

#[test]
fn attachments_end_to_end() {
    let (alice, bob) = pair();
    let ring = ring(true);
    let mut blob_store: HashMap<[u8; 32], Vec<u8>> = HashMap::new();

    // Sender: seal two attachments, upload the blobs, reference them in the franked message.
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let note = b"plain text attachment".to_vec();
    let mut refs = Vec::new();
    for (data, mt) in [(&photo, "image/jpeg"), (&note, "text/plain; charset=utf-8")] {
        let mut blob = Vec::new();
        let r = seal_attachment(mt, data.as_slice(), &mut blob).unwrap();
        blob_store.insert(r.commitment, blob);
        refs.push(r);
    }
    let content = MessageContent {
        text: "look at this".into(),
        attachments: refs,
    };
    let delivered = deliver(&ring, &alice, &content, T0, "m-att");

    // Recipient: open the message (checking the platform signature), then each attachment.
    let keys = ring.published_keys();
    let opened = bob
        .open(
            &delivered,
            &OpenChecks::recipient("bob")
                .sender("alice")
                .platform_keys(&keys),
        )
        .unwrap();
    assert_eq!(opened.content(), &content);
    let mut shown = Vec::new();
    for r in &opened.content().attachments {
        let mut out = Vec::new();
        open_attachment(r, blob_store[&r.commitment].as_slice(), &mut out).unwrap();
        shown.push(out);
    }
    assert_eq!(shown, [photo.clone(), note.clone()]);

    // Report and verify; the moderator reconstructs exactly what the recipient saw.
    let report = opened.report("bob", "abuse", &[]).unwrap();
    let v = verify_report(report, &ring, &ReportPolicy::default(), T0 + 1).unwrap();
    for (i, expected) in shown.iter().enumerate() {
        let r = v.attachment(i).unwrap();
        let mut out = Vec::new();
        reconstruct_attachment(r, blob_store[&r.commitment].as_slice(), &mut out).unwrap();
        assert_eq!(&out, expected);
    }
    assert!(matches!(
        v.attachment(2),
        Err(Error::AttachmentMissing { index: 2 })
    ));
}

#[test]
fn attachment_with_small_segments_and_conventional_suite() {
    let key = SessionKey::generate().unwrap();
    let alice =
        Conversation::new("c", key.clone()).with_suite(client_sdk::frank::Suite::CtrHmacSha256);
    let bob = Conversation::new("c", key);
    let ring = ring(false);
    let data = vec![0x5Au8; 10_000];
    let mut blob = Vec::new();
    let r = AttachmentSealer::with_segment_size(1024)
        .unwrap()
        .seal("application/pdf", data.as_slice(), &mut blob)
        .unwrap();
    let content = MessageContent {
        text: String::new(),
        attachments: vec![r],
    };
    let delivered = deliver(&ring, &alice, &content, T0, "m");
    let opened = bob.open(&delivered, &OpenChecks::recipient("bob")).unwrap();
    let v = verify_report(
        opened.report("bob", "", &[]).unwrap(),
        &ring,
        &ReportPolicy::default(),
        T0,
    )
    .unwrap();
    let mut out = Vec::new();
    reconstruct_attachment(v.attachment(0).unwrap(), blob.as_slice(), &mut out).unwrap();
    assert_eq!(out, data);
}

#[test]
fn exporter_secret_derivation_separates_conversations() {
    let secret = [9u8; 32];
    let a = Conversation::from_exporter_secret("c1", &secret).unwrap();
    let b = Conversation::from_exporter_secret("c2", &secret).unwrap();
    let ring = ring(false);
    let delivered = deliver(&ring, &a, &MessageContent::text("x"), T0, "m");
    // Different conversation id: different session key and different body AD.
    assert!(b.open(&delivered, &OpenChecks::recipient("bob")).is_err());
    assert!(Conversation::from_exporter_secret("c", &[1u8; 8]).is_err());
}

#[test]
fn verified_content_orders_earlier_messages_and_flags_the_reporters_own() {
    let (alice, bob) = pair();
    let ring = ring(false);
    let checks = OpenChecks::recipient("bob");
    let m1 = bob
        .open(
            &deliver(&ring, &alice, &MessageContent::text("first"), T0, "m1"),
            &checks,
        )
        .unwrap();
    // Bob's own message, as his client keeps it: alice's client opens it, but the report is built
    // from what bob holds; here bob re-opens a copy delivered to himself for simplicity.
    let env = bob.seal(&MessageContent::text("leave me alone")).unwrap();
    let ctx = Context::direct("example.net", "bob", "alice", T0 + 5, "m2").unwrap();
    let own = stamp_envelope(&ring, env, ctx).unwrap();
    let own = alice
        .open(&own, &OpenChecks::recipient("alice").sender("bob"))
        .unwrap();
    let m3 = bob
        .open(
            &deliver(
                &ring,
                &alice,
                &MessageContent::text("or else"),
                T0 + 9,
                "m3",
            ),
            &checks,
        )
        .unwrap();
    // Listed newest first: verification puts them in conversation order.
    let report = m3.report("bob", "threat", &[&own, &m1]).unwrap();
    let v = verify_report(report, &ring, &ReportPolicy::default(), T0 + 60_000).unwrap();
    let seen: Vec<_> = v
        .earlier
        .iter()
        .map(|e| {
            (
                e.position,
                e.text.as_str(),
                e.context.sender(),
                e.sent_by_reporter,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "first", "alice", false),
            (0, "leave me alone", "bob", true)
        ]
    );

    // The same message twice is refused before sending.
    let e = m3.report("bob", "threat", &[&m1, &m1]).unwrap_err();
    assert!(matches!(
        e,
        Error::Core(franking_core::Error::DuplicateMessage)
    ));
}

#[test]
fn debug_prints_lengths_only() {
    let (alice, bob) = pair();
    let ring = ring(false);
    let mut blob = Vec::new();
    let att = seal_attachment("image/x-secret-type", &b"pixels"[..], &mut blob).unwrap();
    let key_b64 = franking_core::util::b64_encode(att.key.expose_secret());
    let content = MessageContent {
        text: "the secret words".into(),
        attachments: vec![att],
    };
    let opened = bob
        .open(
            &deliver(&ring, &alice, &content, T0, "m1"),
            &OpenChecks::recipient("bob"),
        )
        .unwrap();
    let v = verify_report(
        opened.report("bob", "r", &[]).unwrap(),
        &ring,
        &ReportPolicy::default(),
        T0 + 1,
    )
    .unwrap();
    let opening_b64 =
        franking_core::util::b64_encode(opened.reported_message().opening.expose_secret());
    for shown in [
        format!("{content:?}"),
        format!("{opened:?}"),
        format!("{v:?}"),
    ] {
        for secret in [
            "secret words",
            "x-secret-type",
            key_b64.as_str(),
            opening_b64.as_str(),
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("text_len: 16"), "{shown}");
    }
}
