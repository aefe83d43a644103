//! CMT-4 failures of CMT-1-only fixes, and the non-committing independent-key EtM
//! (negative controls in `attacks::cmt4`). Every accepted forgery is opened with the real
//! RustCrypto crates behind each scheme.
#![allow(clippy::unwrap_used)]

use aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use attacks::cmt4::{
    HashCommitGcm, IndependentKeyEtm, ZeroPrefixGcm, colliding_long_nonce, forge_same_key,
};
use attacks::gcm::{GcmKey, collide_two};
use proptest::prelude::*;

const K1: [u8; 32] = [0x11; 32];
const K2: [u8; 32] = [0x22; 32];
const N1: [u8; 12] = [1; 12];
const N2: [u8; 12] = [2; 12];
const AD1: &[u8] = b"to: alice; from: bob; t=1700000000";
const AD2T: &[u8] = b"to: carol; from: bob; t=1700000999 ..free block here..";

/// The two-key GCM salamander, re-wrapped for the zero-prefix scheme, fails: a ciphertext that
/// passes GCM under two keys cannot have a zero first block under both.
#[test]
fn zero_prefix_resists_two_key_salamander() {
    let (g1, g2) = (GcmKey::Aes256(K1), GcmKey::Aes256(K2));
    // template: first block = encryption of zeros under K1, then a free block, then more
    let mut template = ZeroPrefixGcm::new(K1).seal(&N1, b"", &[0u8; 32]).unwrap();
    template.truncate(48);
    let f = collide_two(&g1, &g2, &N1, b"", &template, 2).unwrap();
    let mut buf = f.ciphertext.clone();
    buf.extend_from_slice(&f.tag);
    // plain AES-GCM (the real crate) accepts under both keys: the attack itself works...
    for k in [K1, K2] {
        Aes256Gcm::new((&k).into())
            .decrypt(
                (&N1).into(),
                Payload {
                    msg: &buf,
                    aad: b"",
                },
            )
            .unwrap();
    }
    // ...but the zero-prefix check rejects it under key 2 (CMT-1 holds).
    assert!(ZeroPrefixGcm::new(K1).open(&N1, b"", &buf).is_ok());
    assert!(ZeroPrefixGcm::new(K2).open(&N1, b"", &buf).is_err());
}

/// CMT-4 failure: one key, one (C, T), two different ADs (same nonce, same plaintext).
#[test]
fn zero_prefix_one_ciphertext_two_ads() {
    let s = ZeroPrefixGcm::new(K1);
    let sealed = s.seal(&N1, AD1, b"meet at noon").unwrap();
    let ct = &sealed[..sealed.len() - 16];
    let ad2 = forge_same_key(&K1, &N1, AD1, &N1, AD2T, 2, ct).unwrap();
    assert_ne!(ad2.as_slice(), AD1);
    assert_eq!(&ad2[..32], &AD2T[..32], "only the free block changes");
    assert_eq!(s.open(&N1, AD1, &sealed).unwrap(), b"meet at noon");
    assert_eq!(s.open(&N1, &ad2, &sealed).unwrap(), b"meet at noon");
    // sanity: the unmodified template AD is rejected (the forgery is what makes it verify)
    assert!(s.open(&N1, AD2T, &sealed).is_err());
}

/// With 96-bit nonces the zero block binds N: a GCM tag forged for (N2, A2) passes the real
/// aes-gcm crate but the zero-prefix check rejects it. This is the limit of the nonce attack.
#[test]
fn zero_prefix_binds_96_bit_nonce_but_gcm_does_not() {
    let s = ZeroPrefixGcm::new(K1);
    let sealed = s.seal(&N1, AD1, b"meet at noon").unwrap();
    let ct = &sealed[..sealed.len() - 16];
    let ad2 = forge_same_key(&K1, &N1, AD1, &N2, AD2T, 1, ct).unwrap();
    let gcm_pt = Aes256Gcm::new((&K1).into())
        .decrypt(
            (&N2).into(),
            Payload {
                msg: &sealed,
                aad: &ad2,
            },
        )
        .unwrap();
    assert_ne!(&gcm_pt[..16], &[0u8; 16]);
    assert!(s.open(&N2, &ad2, &sealed).is_err());
}

/// CMT-4 failure on the nonce with 32-byte nonces: N' ≠ N with the same J0.
#[test]
fn zero_prefix_one_ciphertext_two_long_nonces() {
    let s = ZeroPrefixGcm::new(K1);
    let n1 = [7u8; 32];
    let sealed = s.seal_long_nonce(&n1, AD1, b"meet at noon").unwrap();
    let n2 = colliding_long_nonce(&K1, &n1, [9u8; 16]).unwrap();
    assert_ne!(n1, n2);
    assert_eq!(
        s.open_long_nonce(&n2, AD1, &sealed).unwrap(),
        b"meet at noon"
    );
    assert!(s.open_long_nonce(&[8u8; 32], AD1, &sealed).is_err());
    assert!(colliding_long_nonce(&K1, &n1, [7u8; 16]).is_err());
}

/// The key-commitment hash fix resists the two-key salamander (commitment differs)…
#[test]
fn hash_commit_resists_two_key_salamander() {
    let (g1, g2) = (GcmKey::Aes256(K1), GcmKey::Aes256(K2));
    let f = collide_two(&g1, &g2, &N1, b"", &[0u8; 48], 1).unwrap();
    let mut body = f.ciphertext.clone();
    body.extend_from_slice(&f.tag);
    for k in [K1, K2] {
        let mut data = HashCommitGcm::new(k).commitment().to_vec();
        data.extend_from_slice(&body);
        // each key accepts only with its own commitment in front
        assert!(HashCommitGcm::new(k).open(&N1, b"", &data).is_ok());
        let other = if k == K1 { K2 } else { K1 };
        assert!(HashCommitGcm::new(other).open(&N1, b"", &data).is_err());
    }
}

/// …but one ciphertext opens under (N1, A1) and (N2, A2) to different plaintexts.
#[test]
fn hash_commit_one_ciphertext_two_contexts() {
    let s = HashCommitGcm::new(K1);
    let sealed = s.seal(&N1, AD1, b"I owe you 10 EUR").unwrap();
    let ct = &sealed[32..sealed.len() - 16];
    let ad2 = forge_same_key(&K1, &N1, AD1, &N2, AD2T, 0, ct).unwrap();
    let m1 = s.open(&N1, AD1, &sealed).unwrap();
    let m2 = s.open(&N2, &ad2, &sealed).unwrap();
    assert_eq!(m1, b"I owe you 10 EUR");
    assert_ne!(m1, m2);
    // and the AD-only variant (same nonce, same plaintext)
    let ad3 = forge_same_key(&K1, &N1, AD1, &N1, AD2T, 1, ct).unwrap();
    assert_eq!(s.open(&N1, &ad3, &sealed).unwrap(), m1);
    assert!(s.open(&N2, AD1, &sealed).is_err());
    // a free block outside the AD is a typed error
    assert!(matches!(
        forge_same_key(&K1, &N1, AD1, &N2, b"short", 0, ct),
        Err(attacks::Error::FreeBlockOutOfRange { .. })
    ));
}

/// Independent-key CTR + HMAC: the same (C, T) opens under two encryption keys.
#[test]
fn independent_key_etm_is_not_committing() {
    let n = [3u8; 16];
    let s1 = IndependentKeyEtm::new(K1, [0x33; 32]);
    let sealed = s1.seal(&n, AD1, b"the first message").unwrap();
    let s2 = s1.reinterpret(K2);
    let m1 = s1.open(&n, AD1, &sealed).unwrap();
    let m2 = s2.open(&n, AD1, &sealed).unwrap();
    assert_eq!(m1, b"the first message");
    assert_ne!(m1, m2);
    // a different MAC key rejects; a tampered tag rejects
    assert!(
        IndependentKeyEtm::new(K1, [0x34; 32])
            .open(&n, AD1, &sealed)
            .is_err()
    );
    let mut bad = sealed.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(s1.open(&n, AD1, &bad).is_err());
    assert!(s1.open(&n, AD1, &[0u8; 5]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Random keys, nonces, ADs, messages: the same-key AD/nonce forgery always verifies with
    /// the real aes-gcm crate (inside HashCommitGcm::open).
    #[test]
    fn same_key_forgery_random(key in any::<[u8; 32]>(), n1 in any::<[u8; 12]>(), n2 in any::<[u8; 12]>(),
                               ad1 in proptest::collection::vec(any::<u8>(), 0..40),
                               ad2 in proptest::collection::vec(any::<u8>(), 16..70),
                               pt in proptest::collection::vec(any::<u8>(), 0..60)) {
        let s = HashCommitGcm::new(key);
        let sealed = s.seal(&n1, &ad1, &pt).unwrap();
        let ct = &sealed[32..sealed.len() - 16];
        let forged = forge_same_key(&key, &n1, &ad1, &n2, &ad2, 0, ct).unwrap();
        let m2 = s.open(&n2, &forged, &sealed).unwrap();
        prop_assert_eq!(m2.len(), pt.len());
    }
}
