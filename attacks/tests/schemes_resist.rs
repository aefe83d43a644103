//! Every committing AEAD in `franking_core::caead` resists the attacks of this crate: the GCM
//! two-key and k-key salamanders (re-wrapped the way each scheme would carry them), the
//! same-key CMT-4 forgeries of `attacks::cmt4`, and random-key "opens under two keys" checks.
//! The same forgeries are first shown to work against plain AES-GCM (real `aes-gcm` crate), so
//! these tests fail if the forgeries stop being real.
#![allow(clippy::unwrap_used)]

use aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use attacks::cmt4::forge_same_key;
use attacks::gcm::{GcmKey, collide_many, collide_two};
use attacks::ghash::ghash;
use franking_core::caead::{
    Aes256CtrBlake3, CommittingAead, CompactCommitment, CtrHmacSha256, CtxAes256Gcm,
};
use proptest::prelude::*;

const AD: &[u8] = b"header: alice->bob, msg 42";

fn open<S: KeyInit + Aead>(
    key: &[u8; 32],
    nonce: &[u8],
    ad: &[u8],
    data: &[u8],
) -> Option<Vec<u8>> {
    let s = S::new_from_slice(key).unwrap();
    let n = aead::Nonce::<S>::try_from(nonce).unwrap();
    s.decrypt(&n, Payload { msg: data, aad: ad }).ok()
}

fn seal<S: KeyInit + Aead>(key: &[u8; 32], nonce: &[u8], ad: &[u8], pt: &[u8]) -> Vec<u8> {
    let s = S::new_from_slice(key).unwrap();
    let n = aead::Nonce::<S>::try_from(nonce).unwrap();
    s.encrypt(&n, Payload { msg: pt, aad: ad }).unwrap()
}

fn gcm_open(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    open::<Aes256Gcm>(key, nonce, ad, data)
}

fn key(i: u8) -> [u8; 32] {
    core::array::from_fn(|j| i.wrapping_mul(73) ^ (j as u8).wrapping_mul(5) ^ 0xa5)
}

/// For a GCM ciphertext that verifies under all `keys`: CTX built honestly by each key over that
/// very GCM ciphertext opens under that key only.
fn ctx_rejects_gcm_multicollision(keys: &[[u8; 32]], nonce: &[u8; 12], c: &[u8], t: &[u8; 16]) {
    let mut gcm = c.to_vec();
    gcm.extend_from_slice(t);
    let mut ctx_cts = Vec::new();
    for k in keys {
        // the forgery is real: plain AES-GCM accepts it under every key
        let m = gcm_open(k, nonce, AD, &gcm).expect("GCM forgery must verify");
        // CTX over the same inner GCM ciphertext, T* computed honestly under this key
        let ctx = seal::<CtxAes256Gcm>(k, nonce, AD, &m);
        assert_eq!(&ctx[..c.len()], c, "CTX's body is the GCM ciphertext");
        ctx_cts.push(ctx);
    }
    for (i, ctx) in ctx_cts.iter().enumerate() {
        for (j, k) in keys.iter().enumerate() {
            let ok = open::<CtxAes256Gcm>(k, nonce, AD, ctx).is_some();
            assert_eq!(ok, i == j, "CTX ciphertext of key {i} under key {j}");
        }
    }
    // GCM's 16-byte tag, padded to CTX's 32, is no CTX tag either
    let mut padded = gcm.clone();
    padded.extend_from_slice(&[0u8; 16]);
    for k in keys {
        assert!(open::<CtxAes256Gcm>(k, nonce, AD, &padded).is_none());
    }
}

#[test]
fn ctx_gcm_resists_two_key_salamander() {
    let (k1, k2) = (key(1), key(2));
    let nonce = [9u8; 12];
    let f = collide_two(
        &GcmKey::Aes256(k1),
        &GcmKey::Aes256(k2),
        &nonce,
        AD,
        &[0x41u8; 64],
        1,
    )
    .unwrap();
    ctx_rejects_gcm_multicollision(&[k1, k2], &nonce, &f.ciphertext, &f.tag);
}

#[test]
fn ctx_gcm_resists_k_key_salamander() {
    let keys: Vec<[u8; 32]> = (10..18).map(key).collect();
    let gk: Vec<GcmKey> = keys.iter().map(|k| GcmKey::Aes256(*k)).collect();
    let nonce = [3u8; 12];
    let f = collide_many(&gk, &nonce, AD, Some([0u8; 16])).unwrap();
    ctx_rejects_gcm_multicollision(&keys, &nonce, &f.ciphertext, &f.tag);
}

/// The CTR+MAC schemes: the GCM salamander bytes carry no meaning for them; a ciphertext sealed
/// under key 1 (with the salamander's plaintext) opens under no other key of the set.
#[test]
fn ctr_schemes_reject_other_keys_of_a_salamander_set() {
    let keys: Vec<[u8; 32]> = (20..26).map(key).collect();
    let gk: Vec<GcmKey> = keys.iter().map(|k| GcmKey::Aes256(*k)).collect();
    let f = collide_many(&gk, &[4u8; 12], AD, None).unwrap();
    let nonce12 = [5u8; 12];
    for (name, sealed, opener) in [
        (
            "CtrHmacSha256",
            seal::<CtrHmacSha256>(&keys[0], &nonce12, AD, &f.ciphertext),
            open::<CtrHmacSha256> as fn(&[u8; 32], &[u8], &[u8], &[u8]) -> Option<Vec<u8>>,
        ),
        (
            "Aes256CtrBlake3",
            seal::<Aes256CtrBlake3>(&keys[0], &nonce12, AD, &f.ciphertext),
            open::<Aes256CtrBlake3>,
        ),
    ] {
        assert_eq!(
            opener(&keys[0], &nonce12, AD, &sealed).unwrap(),
            f.ciphertext,
            "{name}"
        );
        for k in &keys[1..] {
            assert!(opener(k, &nonce12, AD, &sealed).is_none(), "{name}");
        }
        // and the raw salamander with a 32-byte tag of the forged 16 repeated opens nowhere
        let mut raw = f.ciphertext.clone();
        raw.extend_from_slice(&f.tag);
        raw.extend_from_slice(&f.tag);
        for k in &keys {
            assert!(opener(k, &nonce12, AD, &raw).is_none(), "{name}");
        }
    }
}

/// The cmt4.rs same-key forgery (other AD, other nonce) works on the inner GCM of CTX, and CTX
/// rejects it because T* hashes (K, N, A, T).
#[test]
fn ctx_gcm_resists_same_key_context_forgery() {
    let k = key(30);
    let (n1, n2) = ([1u8; 12], [2u8; 12]);
    let m = b"I will pay 10 EUR";
    let ctx = seal::<CtxAes256Gcm>(&k, &n1, AD, m);
    let gcm = seal::<Aes256Gcm>(&k, &n1, AD, m);
    let c = &gcm[..m.len()];
    assert_eq!(&ctx[..m.len()], c);
    let template = b"header: alice->mallory, msg 42 + one free block.";
    for n in [n1, n2] {
        let ad2 = forge_same_key(&k, &n1, AD, &n, template, 1, c).unwrap();
        // the forgery is real against plain GCM
        assert!(gcm_open(&k, &n, &ad2, &gcm).is_some());
        // CTX rejects it
        assert!(open::<CtxAes256Gcm>(&k, &n, &ad2, &ctx).is_none());
    }
    assert!(open::<CtxAes256Gcm>(&k, &n1, AD, &ctx).is_some());
}

/// The CTR+MAC schemes under the same key: no other nonce or AD (including the GCM-style forged
/// AD) opens a ciphertext.
#[test]
fn ctr_schemes_resist_same_key_context_changes() {
    let k = key(31);
    let n1 = [1u8; 12];
    let mut n2 = n1;
    n2[11] ^= 1;
    let template = b"header: alice->mallory, msg 42 + one free block.";
    let forged_ad =
        forge_same_key(&k, &[1u8; 12], AD, &[1u8; 12], template, 1, b"0123456789").unwrap();
    for (sealed, opener) in [
        (
            seal::<CtrHmacSha256>(&k, &n1, AD, b"0123456789"),
            open::<CtrHmacSha256> as fn(&[u8; 32], &[u8], &[u8], &[u8]) -> Option<Vec<u8>>,
        ),
        (
            seal::<Aes256CtrBlake3>(&k, &n1, AD, b"0123456789"),
            open::<Aes256CtrBlake3>,
        ),
    ] {
        assert!(opener(&k, &n1, AD, &sealed).is_some());
        assert!(opener(&k, &n2, AD, &sealed).is_none());
        assert!(opener(&k, &n1, &forged_ad, &sealed).is_none());
        assert!(opener(&k, &n1, b"", &sealed).is_none());
    }
}

/// CTX is CMT-4 over whole ciphertexts but NOT compactly committing (DESIGN §4): with the key,
/// a second ciphertext body with the same GCM tag, hence the same T*, is easy; it opens to a
/// different message. The CTR+MAC schemes' `verify_opening` binds the tag to one opening.
#[test]
fn ctx_tag_alone_does_not_bind_message_but_compact_schemes_do() {
    let k = key(40);
    let nonce = [6u8; 12];
    let m = [0x61u8; 48];
    let ctx = seal::<CtxAes256Gcm>(&k, &nonce, AD, &m);
    let (c, tstar) = ctx.split_at(48);
    // change block 0, re-solve block 2 so GHASH (and so the GCM tag and T*) is unchanged
    let gk = GcmKey::Aes256(k);
    let h = gk.hash_key();
    let mut c2 = c.to_vec();
    c2[0] ^= 0xff;
    c2[32..48].fill(0);
    let x = (ghash(h, AD, c) + ghash(h, AD, &c2)) * h.pow(2).inverse().unwrap();
    c2[32..48].copy_from_slice(&x.to_block());
    let mut ctx2 = c2.clone();
    ctx2.extend_from_slice(tstar);
    let m2 = open::<CtxAes256Gcm>(&k, &nonce, AD, &ctx2).expect("same T*, other body");
    assert_ne!(m2, m.to_vec());
    const { assert!(!<CtxAes256Gcm as CommittingAead>::COMPACT) };

    // compact schemes: the tag verifies only for the true opening
    let n12 = [7u8; 12];
    let sealed = seal::<CtrHmacSha256>(&k, &n12, AD, &m);
    let t = CtrHmacSha256::commitment(&sealed).unwrap();
    assert!(CtrHmacSha256::verify_opening((&k).into(), (&n12).into(), AD, &m, t).is_ok());
    assert!(CtrHmacSha256::verify_opening((&k).into(), (&n12).into(), AD, &m2, t).is_err());
    assert!(CtrHmacSha256::verify_opening((&key(41)).into(), (&n12).into(), AD, &m, t).is_err());
    let sealed = seal::<Aes256CtrBlake3>(&k, &n12, AD, &m);
    let t = Aes256CtrBlake3::commitment(&sealed).unwrap();
    assert!(Aes256CtrBlake3::verify_opening((&k).into(), (&n12).into(), AD, &m, t).is_ok());
    assert!(Aes256CtrBlake3::verify_opening((&k).into(), (&n12).into(), b"x", &m, t).is_err());
    assert!(Aes256CtrBlake3::verify_opening((&key(41)).into(), (&n12).into(), AD, &m, t).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Random key pairs: a ciphertext of each scheme decrypts under at most one key.
    #[test]
    fn at_most_one_key_opens(k1 in any::<[u8; 32]>(), k2 in any::<[u8; 32]>(),
                             n in any::<[u8; 12]>(),
                             ad in proptest::collection::vec(any::<u8>(), 0..40),
                             pt in proptest::collection::vec(any::<u8>(), 0..80)) {
        prop_assume!(k1 != k2);
        let s = seal::<CtrHmacSha256>(&k1, &n, &ad, &pt);
        prop_assert!(open::<CtrHmacSha256>(&k1, &n, &ad, &s).is_some());
        prop_assert!(open::<CtrHmacSha256>(&k2, &n, &ad, &s).is_none());
        let s = seal::<Aes256CtrBlake3>(&k1, &n, &ad, &pt);
        prop_assert!(open::<Aes256CtrBlake3>(&k1, &n, &ad, &s).is_some());
        prop_assert!(open::<Aes256CtrBlake3>(&k2, &n, &ad, &s).is_none());
        let s = seal::<CtxAes256Gcm>(&k1, &n, &ad, &pt);
        prop_assert!(open::<CtxAes256Gcm>(&k1, &n, &ad, &s).is_some());
        prop_assert!(open::<CtxAes256Gcm>(&k2, &n, &ad, &s).is_none());
    }

    /// Random key pairs: the GCM two-key forgery wrapped by CTX under either key never opens
    /// under the other.
    #[test]
    fn ctx_random_two_key(k1 in any::<[u8; 32]>(), k2 in any::<[u8; 32]>(), nonce in any::<[u8; 12]>()) {
        prop_assume!(k1 != k2);
        let f = collide_two(&GcmKey::Aes256(k1), &GcmKey::Aes256(k2), &nonce, AD, &[0u8; 32], 0).unwrap();
        ctx_rejects_gcm_multicollision(&[k1, k2], &nonce, &f.ciphertext, &f.tag);
    }
}
