//! Facebook-style franking baseline as a TEST-ONLY negative control, and the invisible-salamander
//! attachment attack against it (Dodis–Grubbs–Ristenpart–Woodage, "Fast Message Franking: From
//! Invisible Salamanders to Encryptment", CRYPTO 2018, eprint 2019/016, §3).
//!
//! The baseline (module `baseline`) follows the shape of Facebook's 2016 design:
//! * franking commitment `com = HMAC-SHA-256(K_f, M)` over the message M;
//! * the E2E layer encrypts `K_f ‖ M` with AES-GCM under the session key — `com` is *not* in that
//!   AEAD's associated data;
//! * attachments are AES-256-GCM encrypted under a fresh key; the key and SHA-256(ciphertext) (the
//!   blob id) travel inside M;
//! * the blob store deduplicates by ciphertext (blob id = SHA-256 of the blob), and the moderation
//!   pipeline, trusting "one ciphertext, one file", renders each blob once per report.
//!
//! The attack: one GCM ciphertext that decrypts to a benign file under K1 and an abusive one under
//! K2 (two-key collision from the `attacks` crate, checked with the real `aes-gcm`). The sender sends
//! it twice, first with K1, then with K2. The recipient is shown the abusive file for the second
//! message and reports it (with the first as context); every franking check passes, yet the moderator
//! renders the benign file. The invariant this crate guarantees — *if a report verifies, the moderator
//! reconstructs exactly what the recipient saw* — fails for the baseline and holds for this protocol
//! with the same deduplicating store and a once-per-blob rendering cache. (For this protocol the cache
//! key must be the whole verified reference — commitment, key, length — not the blob id alone;
//! otherwise a reference naming a stored blob under a wrong key, which the recipient refuses, would
//! be shown to the moderator with the earlier message's file.)
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use attacks::gcm::{GcmKey, collide_two};
use client_sdk::attachment::{AttachmentSealer, open_attachment, seal_attachment};
use client_sdk::frank::{Context, KeyId, KeyRing, ReportPolicy, SessionKey, StampKey};
use client_sdk::messaging::{Conversation, OpenChecks, OpenedMessage, stamp_envelope};
use client_sdk::moderation::verify_report;
use client_sdk::{AttachmentKey, AttachmentRef, MessageContent};

const T0: u64 = 1_750_000_000_000;
const BENIGN: &[u8; 16] = b"kitten picture:)";
const ABUSIVE: &[u8; 16] = b"ABUSIVE CONTENT!";

/// A blob store that deduplicates by content: uploading bytes already stored is a no-op.
#[derive(Default)]
struct DedupStore {
    blobs: HashMap<[u8; 32], Vec<u8>>,
    uploads: usize,
}

impl DedupStore {
    fn put(&mut self, id: [u8; 32], bytes: Vec<u8>) {
        self.uploads += 1;
        self.blobs.entry(id).or_insert(bytes);
    }
}

/// The Facebook-style baseline. Test-only, deliberately flawed; never use outside this file.
mod baseline {
    use aead::{Aead, KeyInit, Payload};
    use hmac::Mac;
    use sha2::Digest;

    pub type HmacSha256 = hmac::Hmac<sha2::Sha256>;

    /// Attachment reference inside M: the GCM key, nonce and blob id = SHA-256(ciphertext ‖ tag).
    #[derive(Clone, Debug, PartialEq)]
    pub struct FbAttachment {
        pub key: [u8; 32],
        pub nonce: [u8; 12],
        pub blob_id: [u8; 32],
    }

    /// M = text and attachments (a simple, unambiguous encoding).
    #[derive(Clone, Debug, PartialEq)]
    pub struct FbMessage {
        pub text: String,
        pub attachments: Vec<FbAttachment>,
    }

    impl FbMessage {
        pub fn encode(&self) -> Vec<u8> {
            let mut m = (self.text.len() as u32).to_be_bytes().to_vec();
            m.extend_from_slice(self.text.as_bytes());
            for a in &self.attachments {
                m.extend_from_slice(&a.key);
                m.extend_from_slice(&a.nonce);
                m.extend_from_slice(&a.blob_id);
            }
            m
        }

        pub fn decode(m: &[u8]) -> Option<Self> {
            let len = u32::from_be_bytes(m.get(..4)?.try_into().ok()?) as usize;
            let text = String::from_utf8(m.get(4..4 + len)?.to_vec()).ok()?;
            let rest = &m[4 + len..];
            if !rest.len().is_multiple_of(76) {
                return None;
            }
            let attachments = rest
                .chunks(76)
                .map(|c| FbAttachment {
                    key: c[..32].try_into().unwrap(),
                    nonce: c[32..44].try_into().unwrap(),
                    blob_id: c[44..].try_into().unwrap(),
                })
                .collect();
            Some(Self { text, attachments })
        }
    }

    pub fn blob_id(blob: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(blob).into()
    }

    pub fn gcm_open(key: &[u8; 32], nonce: &[u8; 12], blob: &[u8]) -> Option<Vec<u8>> {
        aes_gcm::Aes256Gcm::new(&(*key).into())
            .decrypt(
                &aead::Nonce::<aes_gcm::Aes256Gcm>::from(*nonce),
                Payload {
                    msg: blob,
                    aad: b"",
                },
            )
            .ok()
    }

    fn gcm_seal(key: &[u8; 32], nonce: &[u8; 12], pt: &[u8]) -> Vec<u8> {
        aes_gcm::Aes256Gcm::new(&(*key).into())
            .encrypt(
                &aead::Nonce::<aes_gcm::Aes256Gcm>::from(*nonce),
                Payload { msg: pt, aad: b"" },
            )
            .unwrap()
    }

    fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(key).unwrap();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// What travels from sender to recipient: the E2E ciphertext and, in the clear for the relay,
    /// the franking commitment (not bound into the E2E AEAD).
    #[derive(Clone)]
    pub struct FbEnvelope {
        pub e2e_nonce: [u8; 12],
        pub e2e_ct: Vec<u8>,
        pub com: [u8; 32],
    }

    pub fn seal(
        session_key: &[u8; 32],
        msg: &FbMessage,
        k_f: [u8; 32],
        e2e_nonce: [u8; 12],
    ) -> FbEnvelope {
        let m = msg.encode();
        let com = hmac(&k_f, &[&m]);
        let mut pt = k_f.to_vec();
        pt.extend_from_slice(&m);
        FbEnvelope {
            e2e_nonce,
            e2e_ct: gcm_seal(session_key, &e2e_nonce, &pt),
            com,
        }
    }

    /// Platform stamp over (com, ctx).
    pub fn stamp(platform_key: &[u8; 32], com: &[u8; 32], ctx: &[u8]) -> [u8; 32] {
        hmac(platform_key, &[b"fb-stamp", com, ctx])
    }

    /// Recipient: decrypt, check com = HMAC(K_f, M); keep (M, K_f) for reporting.
    pub fn open(session_key: &[u8; 32], env: &FbEnvelope) -> Option<(FbMessage, [u8; 32])> {
        let pt = gcm_open(session_key, &env.e2e_nonce, &env.e2e_ct)?;
        let k_f: [u8; 32] = pt.get(..32)?.try_into().ok()?;
        let m = &pt[32..];
        (hmac(&k_f, &[m]) == env.com).then_some(())?;
        Some((FbMessage::decode(m)?, k_f))
    }

    /// One reported message: (M, K_f, com, ctx, stamp).
    #[derive(Clone)]
    pub struct FbReported {
        pub m: Vec<u8>,
        pub k_f: [u8; 32],
        pub com: [u8; 32],
        pub ctx: Vec<u8>,
        pub stamp: [u8; 32],
    }

    /// Server-side verification of one reported message.
    pub fn verify(platform_key: &[u8; 32], r: &FbReported) -> Option<FbMessage> {
        (stamp(platform_key, &r.com, &r.ctx) == r.stamp).then_some(())?;
        (hmac(&r.k_f, &[&r.m]) == r.com).then_some(())?;
        FbMessage::decode(&r.m)
    }
}

/// The moderation pipeline shared by both systems: attachments rendered once per blob id.
fn render_once_per_blob<F>(
    cache: &mut HashMap<[u8; 32], Option<Vec<u8>>>,
    id: [u8; 32],
    decrypt: F,
) -> Option<Vec<u8>>
where
    F: FnOnce() -> Option<Vec<u8>>,
{
    cache.entry(id).or_insert_with(decrypt).clone()
}

/// Two-key GCM collision: a ciphertext (+tag) that decrypts to a file containing BENIGN under k1
/// and one containing ABUSIVE under k2, checked with the real `aes-gcm`.
fn salamander(k1: &[u8; 32], k2: &[u8; 32], nonce: &[u8; 12]) -> Vec<u8> {
    let (g1, g2) = (GcmKey::Aes256(*k1), GcmKey::Aes256(*k2));
    // Block 0 reads BENIGN under k1, block 1 reads ABUSIVE under k2, block 2 is solved for.
    let mut template = vec![0u8; 48];
    let mut ks1 = [0u8; 16];
    g1.apply_keystream_at(nonce, 0, &mut ks1);
    let mut ks2 = [0u8; 16];
    g2.apply_keystream_at(nonce, 1, &mut ks2);
    for i in 0..16 {
        template[i] = BENIGN[i] ^ ks1[i];
        template[16 + i] = ABUSIVE[i] ^ ks2[i];
    }
    let forgery = collide_two(&g1, &g2, nonce, b"", &template, 2).unwrap();
    let mut blob = forgery.ciphertext;
    blob.extend_from_slice(&forgery.tag);
    let p1 = baseline::gcm_open(k1, nonce, &blob).expect("valid under k1 (aes-gcm crate)");
    let p2 = baseline::gcm_open(k2, nonce, &blob).expect("valid under k2 (aes-gcm crate)");
    assert_eq!(&p1[..16], BENIGN);
    assert_eq!(&p2[16..32], ABUSIVE);
    blob
}

fn shows_abuse(file: &[u8]) -> bool {
    file.windows(ABUSIVE.len()).any(|w| w == ABUSIVE)
}

#[test]
fn attachment_attack_succeeds_against_the_facebook_baseline() {
    let session_key = [0x11u8; 32];
    let platform_key = [0x22u8; 32];
    let (k1, k2, nonce) = ([0xA1u8; 32], [0xB2u8; 32], [7u8; 12]);
    let mut store = DedupStore::default();

    // Malicious sender: one blob, referenced by two messages under two keys.
    let blob = salamander(&k1, &k2, &nonce);
    let id = baseline::blob_id(&blob);
    let msgs = [
        baseline::FbMessage {
            text: "a cute picture".into(),
            attachments: vec![baseline::FbAttachment {
                key: k1,
                nonce,
                blob_id: id,
            }],
        },
        baseline::FbMessage {
            text: "and this one".into(),
            attachments: vec![baseline::FbAttachment {
                key: k2,
                nonce,
                blob_id: id,
            }],
        },
    ];
    let mut reported = Vec::new();
    let mut recipient_saw = Vec::new();
    for (i, msg) in msgs.iter().enumerate() {
        store.put(id, blob.clone()); // deduplicated: the second upload stores nothing new
        let env = baseline::seal(&session_key, msg, [i as u8 + 1; 32], [i as u8; 12]);
        let ctx = format!("net|alice|bob|{}|m{i}", T0 + i as u64).into_bytes();
        let stamp = baseline::stamp(&platform_key, &env.com, &ctx);

        // Recipient: open the message, fetch the blob by id, check its hash, decrypt with the key.
        let (m, k_f) = baseline::open(&session_key, &env).unwrap();
        let a = &m.attachments[0];
        let fetched = &store.blobs[&a.blob_id];
        assert_eq!(baseline::blob_id(fetched), a.blob_id);
        recipient_saw.push(baseline::gcm_open(&a.key, &a.nonce, fetched).unwrap());
        reported.push(baseline::FbReported {
            m: m.encode(),
            k_f,
            com: env.com,
            ctx,
            stamp,
        });
    }
    assert_eq!(
        store.blobs.len(),
        1,
        "the store deduplicated the two uploads"
    );
    assert!(!shows_abuse(&recipient_saw[0]));
    assert!(
        shows_abuse(&recipient_saw[1]),
        "the recipient was shown the abusive file"
    );

    // Report of message 2 with message 1 as context: every franking check passes.
    let verified: Vec<_> = reported
        .iter()
        .map(|r| baseline::verify(&platform_key, r).expect("baseline report verifies"))
        .collect();
    // Moderator renders attachments once per blob id (dedup): oldest message first.
    let mut cache = HashMap::new();
    let moderator_saw: Vec<_> = verified
        .iter()
        .map(|m| {
            let a = &m.attachments[0];
            render_once_per_blob(&mut cache, a.blob_id, || {
                baseline::gcm_open(&a.key, &a.nonce, &store.blobs[&a.blob_id])
            })
            .unwrap()
        })
        .collect();

    // The invariant fails: a verified report, and the moderator sees something else.
    assert_ne!(moderator_saw[1], recipient_saw[1]);
    assert!(
        !shows_abuse(&moderator_saw[1]),
        "the moderator sees the benign file"
    );
    // Even per-message rendering only hides the problem: the same ciphertext "is" two files, so
    // any store-side judgement of the blob (hash blocklists, dedup of reports) is wrong too.
    assert_ne!(
        baseline::gcm_open(&k1, &nonce, &blob).unwrap(),
        baseline::gcm_open(&k2, &nonce, &blob).unwrap()
    );
}

/// Recipient view in this protocol: open the message and each attachment, or refuse.
fn recipient_view(opened: &OpenedMessage, store: &DedupStore) -> Vec<Option<Vec<u8>>> {
    opened
        .content()
        .attachments
        .iter()
        .map(|r| {
            let blob = store.blobs.get(&r.commitment)?;
            let mut out = Vec::new();
            open_attachment(r, blob.as_slice(), &mut out)
                .ok()
                .map(|_| out)
        })
        .collect()
}

#[test]
fn the_same_attack_fails_against_this_protocol() {
    let key = SessionKey::generate().unwrap();
    let (alice, bob) = (
        Conversation::new("c", key.clone()),
        Conversation::new("c", key),
    );
    let ring = KeyRing::new("net", StampKey::generate(KeyId(1), false).unwrap(), 0, 0);
    let mut store = DedupStore::default();

    // Message 1: a benign attachment, stored under its blob id (the whole-file commitment).
    let mut benign = BENIGN.to_vec();
    benign.extend_from_slice(&[0u8; 1000]);
    let mut blob = Vec::new();
    let r1 = AttachmentSealer::with_segment_size(1024)
        .unwrap()
        .seal("image/png", benign.as_slice(), &mut blob)
        .unwrap();
    store.put(r1.commitment, blob.clone());

    // The attacker's options for message 2, all pointing at content the store deduplicates:
    let gcm_blob = salamander(&[1; 32], &[2; 32], &[3; 12]);
    let attempts: Vec<AttachmentRef> = vec![
        // (a) the stored blob under another key (the salamander move);
        AttachmentRef {
            key: AttachmentKey::from_bytes([0xB2; 32]),
            ..r1.clone()
        },
        // (b) the stored blob with an abusive media type or length claim;
        AttachmentRef {
            length: r1.length + 1,
            ..r1.clone()
        },
        // (c) a GCM two-key ciphertext uploaded as a blob, referenced under its store id.
        AttachmentRef {
            commitment: baseline::blob_id(&gcm_blob),
            ..r1.clone()
        },
    ];
    store.put(baseline::blob_id(&gcm_blob), gcm_blob.clone());
    // (d) an honestly sealed abusive file: different bytes, different commitment, no dedup.
    let mut abusive = Vec::new();
    let r_abusive = seal_attachment("image/png", &ABUSIVE[..], &mut abusive).unwrap();
    store.put(r_abusive.commitment, abusive);

    let checks = OpenChecks::recipient("bob");
    let mut history = Vec::new();
    let m1 = {
        let content = MessageContent {
            text: "a cute picture".into(),
            attachments: vec![r1.clone()],
        };
        let ctx = Context::direct("net", "alice", "bob", T0, "m1").unwrap();
        bob.open(
            &stamp_envelope(&ring, alice.seal(&content).unwrap(), ctx).unwrap(),
            &checks,
        )
        .unwrap()
    };
    history.push(m1.clone());
    for (i, r) in attempts.into_iter().chain([r_abusive]).enumerate() {
        let content = MessageContent {
            text: "and this one".into(),
            attachments: vec![r],
        };
        let ctx =
            Context::direct("net", "alice", "bob", T0 + 1 + i as u64, format!("m2-{i}")).unwrap();
        let delivered = stamp_envelope(&ring, alice.seal(&content).unwrap(), ctx).unwrap();
        let m2 = bob.open(&delivered, &checks).unwrap();
        let shown = recipient_view(&m2, &store);
        if i < 3 {
            assert_eq!(
                shown,
                [None],
                "attempt {i}: the recipient refuses the attachment"
            );
        } else {
            assert!(shows_abuse(shown[0].as_ref().unwrap()));
        }

        // Report it with message 1 as context and moderate with the same once-per-blob pipeline.
        let report = m2.report("bob", "abuse", &[&m1]).unwrap();
        let v = verify_report(report, &ring, &ReportPolicy::default(), T0 + 100).unwrap();
        // Rendered once per *verified reference* (blob id = commitment, plus the key and length
        // that must open it): a reconstruction is never reused for a reference that names the same
        // blob under another key (attempt (a) would otherwise show the moderator m1's file for a
        // message whose attachment the recipient refused).
        let mut cache = HashMap::new();
        let mut moderator_saw = Vec::new();
        for content in v.earlier.iter().map(|e| &e.content).chain([&v.content]) {
            let r = &content.attachments[0];
            let cache_key = *blake3::Hasher::new()
                .update(&r.commitment)
                .update(r.key.expose_secret())
                .update(&r.length.to_le_bytes())
                .finalize()
                .as_bytes();
            moderator_saw.push(render_once_per_blob(&mut cache, cache_key, || {
                let mut out = Vec::new();
                open_attachment(r, store.blobs.get(&r.commitment)?.as_slice(), &mut out).ok()?;
                Some(out)
            }));
        }
        // The invariant: the moderator reconstructs exactly what the recipient was shown — for the
        // reported message and the earlier one — or, where the recipient refused, nothing.
        assert_eq!(moderator_saw[1], shown[0], "attempt {i}");
        assert_eq!(
            moderator_saw[0].as_deref(),
            Some(benign.as_slice()),
            "attempt {i}"
        );
        history.push(m2);
    }

    // And the baseline's key move at the blob level: our blob opens under exactly one key.
    for k in [[0u8; 32], [0xB2; 32], [0xA1; 32]] {
        let r = AttachmentRef {
            key: AttachmentKey::from_bytes(k),
            ..r1.clone()
        };
        assert!(open_attachment(&r, blob.as_slice(), std::io::sink()).is_err());
    }
    assert_eq!(history.len(), 5);

    // Store-level invariant the baseline breaks: every reference that opens a stored blob yields the
    // same file ("one blob id, one file").
    let mut files_per_blob: HashMap<[u8; 32], Vec<Vec<u8>>> = HashMap::new();
    for m in &history {
        for r in &m.content().attachments {
            if let Some(blob) = store.blobs.get(&r.commitment) {
                let mut out = Vec::new();
                if open_attachment(r, blob.as_slice(), &mut out).is_ok() {
                    files_per_blob.entry(r.commitment).or_default().push(out);
                }
            }
        }
    }
    for files in files_per_blob.values() {
        assert!(files.windows(2).all(|w| w[0] == w[1]));
    }
}
