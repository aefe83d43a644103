//! AES-GCM key-collision attacks ("invisible salamanders").
//!
//! * Two-key collision with one free ciphertext block — Dodis, Grubbs, Ristenpart,
//!   Woodage, "Fast Message Franking: From Invisible Salamanders to Encryptment",
//!   CRYPTO 2018 (eprint 2019/016), §3 ("Attacking AES-GCM"). With H_j = E_Kj(0^128),
//!   S_j = E_Kj(J0) and e_i the GHASH exponent of block i (the length block has exponent 1):
//!   `X_p = [S1⊕S2⊕Σ_{i≠p} X_i(H1^{e_i}⊕H2^{e_i})]·(H1^{e_p}⊕H2^{e_p})^{-1}`.
//!   A chosen-tag variant uses two free blocks and Cramer's rule on a 2×2 system.
//! * k-key multi-collision by polynomial interpolation — Len, Grubbs, Ristenpart,
//!   "Partitioning Oracle Attacks", USENIX Security 2021, §3.1: for every key,
//!   `H_i^2·f(H_i) = T ⊕ S_i ⊕ L·H_i ⊕ A(H_i)·H_i^{n+1}` where f has the ciphertext blocks as
//!   coefficients, L is the length block and A(·) the GHASH polynomial of the AD.
//!
//! Notation and GHASH layout follow NIST SP 800-38D §6.4, §7.1. Every result can be checked
//! with [`verify_all`], which uses the real `aes-gcm` crate.

use std::collections::HashMap;

use aead::{Aead, KeyInit, Payload};
use aes::cipher::BlockCipherEncrypt;

use crate::error::{Error, Result};
use crate::gf128::Gf128;
use crate::ghash::{ghash, ghash_blocks, length_block};
use crate::hexutil::parse_hex;

/// An AES-GCM key of either supported size (the attacks work the same for both).
#[derive(Clone, PartialEq, Eq)]
pub enum GcmKey {
    /// A 128-bit key (AES-128-GCM).
    Aes128([u8; 16]),
    /// A 256-bit key (AES-256-GCM).
    Aes256([u8; 32]),
}

impl core::fmt::Debug for GcmKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GcmKey::Aes128(_) => f.write_str("GcmKey::Aes128(..)"),
            GcmKey::Aes256(_) => f.write_str("GcmKey::Aes256(..)"),
        }
    }
}

/// J0 = N ‖ 0^31 ‖ 1 for a 96-bit nonce, plus a 32-bit counter value.
fn counter_block(nonce: &[u8; 12], ctr: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..12].copy_from_slice(nonce);
    b[12..].copy_from_slice(&ctr.to_be_bytes());
    b
}

impl GcmKey {
    /// Builds a key from 16 or 32 bytes; other lengths are an [`Error::InvalidKeyLength`].
    pub fn from_slice(k: &[u8]) -> Result<Self> {
        if let Ok(a) = <[u8; 16]>::try_from(k) {
            Ok(GcmKey::Aes128(a))
        } else if let Ok(a) = <[u8; 32]>::try_from(k) {
            Ok(GcmKey::Aes256(a))
        } else {
            Err(Error::InvalidKeyLength {
                len: k.len(),
                expected: "16 or 32",
            })
        }
    }

    /// Parses a hex key from the command line.
    pub fn from_hex(s: &str) -> Result<Self> {
        Self::from_slice(&parse_hex("--key", s)?)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            GcmKey::Aes128(k) => k,
            GcmKey::Aes256(k) => k,
        }
    }

    /// Encrypts one block with the underlying AES.
    pub fn encrypt_block(&self, block: [u8; 16]) -> [u8; 16] {
        let mut b = aes::Block::from(block);
        match self {
            GcmKey::Aes128(k) => aes::Aes128::new(&(*k).into()).encrypt_block(&mut b),
            GcmKey::Aes256(k) => aes::Aes256::new(&(*k).into()).encrypt_block(&mut b),
        }
        b.into()
    }

    /// The GHASH key H = E_K(0^128).
    pub fn hash_key(&self) -> Gf128 {
        Gf128::from_block(&self.encrypt_block([0u8; 16]))
    }

    /// The tag mask S = E_K(J0) for a 96-bit nonce.
    pub fn tag_mask(&self, nonce: &[u8; 12]) -> Gf128 {
        Gf128::from_block(&self.encrypt_block(counter_block(nonce, 1)))
    }

    /// XORs GCM's CTR keystream (counter blocks inc32(J0), inc32²(J0), …) into `data`.
    pub fn apply_keystream(&self, nonce: &[u8; 12], data: &mut [u8]) {
        self.apply_keystream_at(nonce, 0, data);
    }

    /// XORs the keystream starting at ciphertext block index `first_block` into `data`.
    pub fn apply_keystream_at(&self, nonce: &[u8; 12], first_block: usize, data: &mut [u8]) {
        let mut blocks: Vec<aes::Block> = (0..data.len().div_ceil(16))
            .map(|i| {
                // GCM's counter is 32 bits and wraps; so does this (u32 truncation is intended).
                let ctr = (first_block as u64 + i as u64 + 2) as u32;
                aes::Block::from(counter_block(nonce, ctr))
            })
            .collect();
        match self {
            GcmKey::Aes128(k) => aes::Aes128::new(&(*k).into()).encrypt_blocks(&mut blocks),
            GcmKey::Aes256(k) => aes::Aes256::new(&(*k).into()).encrypt_blocks(&mut blocks),
        }
        for (chunk, ks) in data.chunks_mut(16).zip(blocks.iter()) {
            for (d, k) in chunk.iter_mut().zip(ks.iter()) {
                *d ^= k;
            }
        }
    }

    /// Encrypts with the real `aes-gcm` crate; returns ciphertext ‖ tag.
    pub fn seal(&self, nonce: &[u8; 12], ad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
        let payload = Payload { msg: pt, aad: ad };
        let r = match self {
            GcmKey::Aes128(k) => aes_gcm::Aes128Gcm::new(&(*k).into())
                .encrypt(&aead::Nonce::<aes_gcm::Aes128Gcm>::from(*nonce), payload),
            GcmKey::Aes256(k) => aes_gcm::Aes256Gcm::new(&(*k).into())
                .encrypt(&aead::Nonce::<aes_gcm::Aes256Gcm>::from(*nonce), payload),
        };
        r.map_err(|e| Error::Aead(e.to_string()))
    }

    /// Decrypts and verifies with the real `aes-gcm` crate; `None` if the tag is rejected.
    pub fn open(&self, nonce: &[u8; 12], ad: &[u8], ct: &[u8], tag: &[u8; 16]) -> Option<Vec<u8>> {
        let mut msg = Vec::with_capacity(ct.len() + 16);
        msg.extend_from_slice(ct);
        msg.extend_from_slice(tag);
        let payload = Payload { msg: &msg, aad: ad };
        match self {
            GcmKey::Aes128(k) => aes_gcm::Aes128Gcm::new(&(*k).into())
                .decrypt(&aead::Nonce::<aes_gcm::Aes128Gcm>::from(*nonce), payload)
                .ok(),
            GcmKey::Aes256(k) => aes_gcm::Aes256Gcm::new(&(*k).into())
                .decrypt(&aead::Nonce::<aes_gcm::Aes256Gcm>::from(*nonce), payload)
                .ok(),
        }
    }

    /// GCM tag of (AD, C) under this key computed from our own GHASH (used to build forgeries;
    /// tests cross-check it against `aes-gcm`).
    pub fn tag_of(&self, nonce: &[u8; 12], ad: &[u8], ct: &[u8]) -> [u8; 16] {
        (ghash(self.hash_key(), ad, ct) + self.tag_mask(nonce)).to_block()
    }
}

/// A forged ciphertext (without tag) and the tag under which it verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forgery {
    /// The ciphertext bytes, tag not appended.
    pub ciphertext: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: [u8; 16],
}

/// Checks with the real `aes-gcm` crate that `forgery` verifies under every key;
/// returns the decryptions, or [`Error::SelfCheckFailed`] naming the first key that rejects.
pub fn verify_all(
    keys: &[GcmKey],
    nonce: &[u8; 12],
    ad: &[u8],
    forgery: &Forgery,
) -> Result<Vec<Vec<u8>>> {
    keys.iter()
        .enumerate()
        .map(|(index, k)| {
            k.open(nonce, ad, &forgery.ciphertext, &forgery.tag)
                .ok_or(Error::SelfCheckFailed { index })
        })
        .collect()
}

/// GHASH exponent of ciphertext block `p` when the ciphertext has `n` blocks (length block = 1).
fn ct_exponent(n: usize, p: usize) -> u128 {
    (n - p + 1) as u128
}

/// Returns the number of blocks and checks that block `p` is a full 16-byte block.
fn check_free_block(template: &[u8], p: usize) -> Result<usize> {
    let n = template.len().div_ceil(16);
    if (p + 1) * 16 > template.len() {
        return Err(Error::FreeBlockOutOfRange {
            index: p,
            blocks: template.len() / 16,
        });
    }
    Ok(n)
}

fn check_lengths(ad: &[u8], ct: &[u8]) -> Result<()> {
    // SP 800-38D: |C| ≤ 2^39 − 256 bits, |A| < 2^64 bits.
    if ct.len() as u64 > (1u64 << 36) - 32 {
        return Err(Error::TooLong { what: "ciphertext" });
    }
    if ad.len() as u64 >= 1u64 << 61 {
        return Err(Error::TooLong {
            what: "associated data",
        });
    }
    Ok(())
}

/// Two-key collision (DGRW18 §3): returns `template` with block `p` (0-based, must be a full
/// block) replaced so that the ciphertext has the same tag under `k1` and `k2`.
///
/// All other bytes of `template` are kept, so the caller controls what both keys decrypt
/// them to (see [`crate::salamander`]).
pub fn collide_two(
    k1: &GcmKey,
    k2: &GcmKey,
    nonce: &[u8; 12],
    ad: &[u8],
    template: &[u8],
    p: usize,
) -> Result<Forgery> {
    check_lengths(ad, template)?;
    let n = check_free_block(template, p)?;
    let (h1, h2) = (k1.hash_key(), k2.hash_key());
    let mut ct = template.to_vec();
    ct[p * 16..p * 16 + 16].fill(0);
    let e = ct_exponent(n, p);
    let denom = (h1.pow(e) + h2.pow(e))
        .inverse()
        .ok_or(Error::SingularSystem)?;
    // With X_p = 0: T_j = S_j + G_j; we need X_p·(H1^e + H2^e) = S1 + G1 + S2 + G2.
    let rhs = k1.tag_mask(nonce) + ghash(h1, ad, &ct) + k2.tag_mask(nonce) + ghash(h2, ad, &ct);
    let xp = rhs * denom;
    ct[p * 16..p * 16 + 16].copy_from_slice(&xp.to_block());
    let tag = k1.tag_of(nonce, ad, &ct);
    Ok(Forgery {
        ciphertext: ct,
        tag,
    })
}

/// Chosen-tag two-key collision: blocks `p` and `q` (0-based, distinct, full) of `template`
/// are replaced so that the ciphertext verifies under `k1` and `k2` with exactly `tag`.
pub fn collide_two_chosen_tag(
    k1: &GcmKey,
    k2: &GcmKey,
    nonce: &[u8; 12],
    ad: &[u8],
    template: &[u8],
    (p, q): (usize, usize),
    tag: [u8; 16],
) -> Result<Forgery> {
    check_lengths(ad, template)?;
    let n = check_free_block(template, p)?;
    check_free_block(template, q)?;
    if p == q {
        return Err(Error::SingularSystem);
    }
    let t = Gf128::from_block(&tag);
    let (h1, h2) = (k1.hash_key(), k2.hash_key());
    let mut ct = template.to_vec();
    ct[p * 16..p * 16 + 16].fill(0);
    ct[q * 16..q * 16 + 16].fill(0);
    // r_j = X_p·H_j^{e_p} + X_q·H_j^{e_q}
    let r1 = t + k1.tag_mask(nonce) + ghash(h1, ad, &ct);
    let r2 = t + k2.tag_mask(nonce) + ghash(h2, ad, &ct);
    let (ep, eq) = (ct_exponent(n, p), ct_exponent(n, q));
    let (a, b) = (h1.pow(ep), h1.pow(eq));
    let (c, d) = (h2.pow(ep), h2.pow(eq));
    let det_inv = (a * d + b * c).inverse().ok_or(Error::SingularSystem)?;
    let xp = (r1 * d + r2 * b) * det_inv;
    let xq = (a * r2 + c * r1) * det_inv;
    ct[p * 16..p * 16 + 16].copy_from_slice(&xp.to_block());
    ct[q * 16..q * 16 + 16].copy_from_slice(&xq.to_block());
    Ok(Forgery {
        ciphertext: ct,
        tag,
    })
}

/// Product Z(y) = Π (y + x_i), coefficients from y^0 upwards.
fn vanishing_poly(xs: &[Gf128]) -> Vec<Gf128> {
    let mut z = vec![Gf128::ZERO; xs.len() + 1];
    z[0] = Gf128::ONE;
    for (deg, &x) in xs.iter().enumerate() {
        for j in (1..=deg + 1).rev() {
            z[j] = z[j - 1] + z[j] * x;
        }
        z[0] *= x;
    }
    z
}

/// Lagrange interpolation over GF(2^128): the unique polynomial of degree < k through the
/// k points (xs[i], ys[i]), coefficients from y^0 upwards.
///
/// The x values must be distinct (otherwise [`Error::DuplicateHashKey`]).
pub fn interpolate(xs: &[Gf128], ys: &[Gf128]) -> Result<Vec<Gf128>> {
    Ok(interpolate_with_vanishing(xs, ys)?.0)
}

/// Interpolation that also returns the vanishing polynomial Z(y) = Π (y + x_i).
///
/// About 2.5·k² multiplications: with Z built once, the Lagrange weights are
/// c_i = y_i / Z'(x_i) (in characteristic 2, Z' has only the odd coefficients of Z), and
/// Σ_i c_i·Z(y)/(y + x_i) has coefficient Σ_{s} z_{j+1+s}·p_s at y^j, where
/// p_s = Σ_i c_i·x_i^s are weighted power sums.
fn interpolate_with_vanishing(xs: &[Gf128], ys: &[Gf128]) -> Result<(Vec<Gf128>, Vec<Gf128>)> {
    let k = xs.len();
    if ys.len() != k {
        return Err(Error::Malformed(
            "interpolation: xs and ys differ in length".into(),
        ));
    }
    let mut seen: HashMap<u128, usize> = HashMap::with_capacity(k);
    for (i, x) in xs.iter().enumerate() {
        if let Some(&first) = seen.get(&x.0) {
            return Err(Error::DuplicateHashKey { first, second: i });
        }
        seen.insert(x.0, i);
    }
    let z = vanishing_poly(xs);
    // Z'(y) = Σ_{m odd} z_m y^{m-1}, a polynomial in u = y^2.
    let odd: Vec<Gf128> = z.iter().skip(1).step_by(2).copied().collect();
    let mut w = Vec::with_capacity(k);
    for (&xi, &yi) in xs.iter().zip(ys) {
        let u = xi.square();
        let d = odd.iter().rev().fold(Gf128::ZERO, |acc, &c| acc * u + c);
        w.push(yi * d.inverse().ok_or(Error::SingularSystem)?);
    }
    // p_s = Σ_i c_i x_i^s for s = 0..k-1.
    let mut p = Vec::with_capacity(k);
    for s in 0..k {
        if s > 0 {
            for (wi, &xi) in w.iter_mut().zip(xs) {
                *wi *= xi;
            }
        }
        p.push(w.iter().fold(Gf128::ZERO, |acc, &v| acc + v));
    }
    let out = (0..k)
        .map(|j| {
            z[j + 1..]
                .iter()
                .zip(&p)
                .fold(Gf128::ZERO, |acc, (&zm, &ps)| acc + zm * ps)
        })
        .collect();
    Ok((out, z))
}

/// k-key multi-collision (Len–Grubbs–Ristenpart 2021, §3.1): one ciphertext that verifies
/// under every key in `keys` for the given nonce and AD.
///
/// With a chosen `tag` the ciphertext has k blocks; without one it has k − 1 blocks and the
/// tag is solved for as well. Keys may mix AES-128 and AES-256. Cost: O(k²) GF(2^128)
/// multiplications. Duplicate keys give [`Error::DuplicateHashKey`].
pub fn collide_many(
    keys: &[GcmKey],
    nonce: &[u8; 12],
    ad: &[u8],
    tag: Option<[u8; 16]>,
) -> Result<Forgery> {
    let k = keys.len();
    if k == 0 {
        return Err(Error::TooFewKeys { needed: 1, got: 0 });
    }
    let n = if tag.is_some() { k } else { k - 1 };
    check_lengths(ad, &[])?;
    if n as u64 > (1u64 << 32) - 2 {
        return Err(Error::TooLong { what: "ciphertext" });
    }
    let l = length_block(ad.len(), 16 * n);
    let hs: Vec<Gf128> = keys.iter().map(GcmKey::hash_key).collect();
    // v_i = S_i + L·H_i + A(H_i)·H_i^{n+1}: everything except the ciphertext blocks (and T).
    let vs: Vec<Gf128> = keys
        .iter()
        .zip(&hs)
        .map(|(key, &h)| {
            key.tag_mask(nonce) + l * h + ghash_blocks(h, Gf128::ZERO, ad) * h.pow(n as u128 + 1)
        })
        .collect();
    let (coeffs, t) = match tag {
        Some(tag) => {
            // H_i^2·f(H_i) = T + v_i, f of degree < k: interpolate f at (H_i, (T + v_i)/H_i^2).
            let t = Gf128::from_block(&tag);
            let ys = hs
                .iter()
                .zip(&vs)
                .map(|(&h, &v)| Ok((t + v) * h.square().inverse().ok_or(Error::SingularSystem)?))
                .collect::<Result<Vec<_>>>()?;
            (interpolate(&hs, &ys)?, tag)
        }
        None => {
            // T + y^2·f(y) = P(y) + λ·Z(y) with P the degree-<k interpolant of the v_i and
            // λ chosen to cancel the y^1 coefficient; then T = q_0 and f = q_2.. .
            let (p, z) = interpolate_with_vanishing(&hs, &vs)?;
            let p1 = p.get(1).copied().unwrap_or(Gf128::ZERO);
            let lambda = p1 * z[1].inverse().ok_or(Error::SingularSystem)?;
            let mut q: Vec<Gf128> = z.iter().map(|&zj| lambda * zj).collect();
            for (qj, &pj) in q.iter_mut().zip(&p) {
                *qj += pj;
            }
            debug_assert!(q[1].is_zero());
            let t = q[0].to_block();
            (q[2..].to_vec(), t)
        }
    };
    // f(y) = Σ_b C_b y^{n-b} (b = 1..n), i.e. C_b is the coefficient of y^{n-b}.
    let mut ct = Vec::with_capacity(16 * n);
    for b in 1..=n {
        ct.extend_from_slice(&coeffs[n - b].to_block());
    }
    Ok(Forgery {
        ciphertext: ct,
        tag: t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(len: usize, seed: u8) -> GcmKey {
        let v: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31) ^ seed).collect();
        GcmKey::from_slice(&v).unwrap()
    }

    #[test]
    fn interpolation_hits_points() {
        let xs: Vec<Gf128> = (1..=7u128).map(|i| Gf128(i * 0x1234_5678_9abc)).collect();
        let ys: Vec<Gf128> = (1..=7u128).map(|i| Gf128(i.pow(9))).collect();
        let f = interpolate(&xs, &ys).unwrap();
        for (x, y) in xs.iter().zip(&ys) {
            let v = f.iter().rev().fold(Gf128::ZERO, |acc, &c| acc * *x + c);
            assert_eq!(v, *y);
        }
    }

    #[test]
    fn duplicate_keys_are_a_typed_error() {
        let keys = vec![key(16, 1), key(16, 2), key(16, 1)];
        let r = collide_many(&keys, &[0; 12], b"", None);
        assert!(matches!(
            r,
            Err(Error::DuplicateHashKey {
                first: 0,
                second: 2
            })
        ));
    }

    #[test]
    fn free_block_out_of_range() {
        let r = collide_two(&key(16, 1), &key(16, 2), &[0; 12], b"", &[0u8; 20], 1);
        assert!(matches!(r, Err(Error::FreeBlockOutOfRange { .. })));
    }

    #[test]
    fn kkey_various_k_verify_with_aes_gcm() {
        for &k in &[1usize, 2, 3, 10, 64] {
            for tag in [None, Some([0x5a; 16])] {
                let keys: Vec<GcmKey> = (0..k)
                    .map(|i| key(if i % 3 == 0 { 32 } else { 16 }, i as u8))
                    .collect();
                let nonce = [7u8; 12];
                let ad = b"franking attacks: associated data, 37+ bytes";
                let f = collide_many(&keys, &nonce, ad, tag).unwrap();
                assert_eq!(
                    f.ciphertext.len(),
                    16 * if tag.is_some() { k } else { k - 1 }
                );
                if let Some(t) = tag {
                    assert_eq!(f.tag, t);
                }
                let pts = verify_all(&keys, &nonce, ad, &f).unwrap();
                assert_eq!(pts.len(), k);
                // a key outside the set rejects it
                assert!(
                    key(16, 200)
                        .open(&nonce, ad, &f.ciphertext, &f.tag)
                        .is_none()
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn two_key_collision_verifies_with_aes_gcm(
            k1 in prop_oneof![proptest::collection::vec(any::<u8>(), 16), proptest::collection::vec(any::<u8>(), 32)],
            k2 in prop_oneof![proptest::collection::vec(any::<u8>(), 16), proptest::collection::vec(any::<u8>(), 32)],
            nonce in any::<[u8; 12]>(),
            ad in proptest::collection::vec(any::<u8>(), 0..50),
            template in proptest::collection::vec(any::<u8>(), 32..120),
            p_seed in any::<usize>(),
            q_seed in any::<usize>(),
            tag in any::<[u8; 16]>(),
        ) {
            prop_assume!(k1 != k2);
            let (k1, k2) = (GcmKey::from_slice(&k1).unwrap(), GcmKey::from_slice(&k2).unwrap());
            let full = template.len() / 16;
            let p = p_seed % full;
            let f = collide_two(&k1, &k2, &nonce, &ad, &template, p).unwrap();
            // only block p changed
            for (i, (a, b)) in f.ciphertext.iter().zip(&template).enumerate() {
                if i / 16 != p { prop_assert_eq!(a, b); }
            }
            let pts = verify_all(&[k1.clone(), k2.clone()], &nonce, &ad, &f).unwrap();
            prop_assert_ne!(&pts[0], &pts[1]);

            let q = (p + 1 + q_seed % (full - 1)) % full;
            let g = collide_two_chosen_tag(&k1, &k2, &nonce, &ad, &template, (p, q), tag).unwrap();
            prop_assert_eq!(g.tag, tag);
            verify_all(&[k1, k2], &nonce, &ad, &g).unwrap();
        }
    }
}
