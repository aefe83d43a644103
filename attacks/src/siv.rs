//! Two-key collisions for AES-GCM-SIV (RFC 8452): one ciphertext and tag that decrypt under two
//! chosen keys, despite GCM-SIV's nonce-misuse resistance.
//!
//! Source: Sophie Schmieg, "Invisible Salamanders in AES-GCM-SIV" (2020); also discussed in
//! Albertini et al., "How to Abuse and Fix Authenticated Encryption Without Key Commitment",
//! USENIX Security 2022 (eprint 2020/1456), §2 and §7.
//!
//! # Math (RFC 8452 §4–§5)
//! For key K_j and nonce N, the per-nonce keys are
//! `H_j = AES_K(le32(0)‖N)[..8] ‖ AES_K(le32(1)‖N)[..8]` and
//! `E_j = AES_K(le32(2)‖N)[..8] ‖ AES_K(le32(3)‖N)[..8] (‖ le32(4), le32(5) for AES-256)`.
//! The tag is `T = AES_{E_j}( (POLYVAL_{H_j}(pad(A) ‖ pad(P) ‖ L) ⊕ (N ‖ 0^32)) & ¬(1 ≪ 127) )`
//! and the keystream is AES-CTR under E_j from `T | (1 ≪ 127)` (32-bit little-endian counter).
//! POLYVAL works in GF(2^128) modulo x^128 + x^127 + x^126 + x^121 + 1, little-endian, with
//! `dot(a, b) = a·b·x^{−128}`, so `POLYVAL_H(X_1..X_s) = Σ X_i · H'^{s−i+1}` with `H' = H·x^{−128}`.
//!
//! Because the tag is the synthetic IV, the attacker fixes T *first*. That fixes both keystreams
//! KS_j, and the required POLYVAL outputs `S_j = AES^{-1}_{E_j}(T) ⊕ (N ‖ 0^32)` (this needs the
//! top bit of `AES^{-1}_{E_j}(T)` to be clear for both keys; a random T passes with probability
//! 1/4, so we try T = 0, 1, 2, …). With plaintext `P_j = C ⊕ KS_j` and POLYVAL linear over
//! GF(2), two free ciphertext blocks C_p, C_q satisfy the 2×2 system
//! `C_p·H'_j^{e_p} ⊕ C_q·H'_j^{e_q} = R_j` (j = 1, 2), where R_j collects S_j, the AD and length
//! terms, the keystream terms and the fixed blocks; Cramer's rule solves it. Cost: two AES key
//! schedules per key, a few hundred field multiplications: microseconds.
//!
//! POLYVAL is implemented here (it is the attack), and tested against the `aes-gcm-siv` crate's
//! tags; every forgery is verified with `aes_gcm_siv::{Aes128GcmSiv, Aes256GcmSiv}`.

use crate::error::{Error, Result};
use aead::{Aead, KeyInit, Payload};
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt};

/// x^128 mod (x^128 + x^127 + x^126 + x^121 + 1), i.e. the reduction constant.
const POLYVAL_R: u128 = (1 << 127) | (1 << 126) | (1 << 121) | 1;

/// An element of POLYVAL's field GF(2^128) (RFC 8452 §3): bit i of the little-endian u128 is
/// the coefficient of x^i. Addition is XOR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pv(pub u128);

impl Pv {
    /// Zero.
    pub const ZERO: Pv = Pv(0);
    /// One.
    pub const ONE: Pv = Pv(1);

    /// Reads a 16-byte block little-endian.
    pub fn from_block(b: &[u8; 16]) -> Pv {
        Pv(u128::from_le_bytes(*b))
    }

    /// Reads up to 16 bytes, zero-padded on the right.
    pub fn from_partial(b: &[u8]) -> Pv {
        let mut x = [0u8; 16];
        let n = b.len().min(16);
        x[..n].copy_from_slice(&b[..n]);
        Pv::from_block(&x)
    }

    /// Writes the element as a 16-byte block.
    pub fn to_block(self) -> [u8; 16] {
        self.0.to_le_bytes()
    }

    /// Polynomial product modulo the POLYVAL polynomial (shift-and-add, not constant time).
    pub fn fmul(self, o: Pv) -> Pv {
        let mut a = self.0;
        let b = o.0;
        let mut r = 0u128;
        for i in 0..128 {
            if (b >> i) & 1 == 1 {
                r ^= a;
            }
            let carry = a >> 127;
            a <<= 1;
            if carry == 1 {
                a ^= POLYVAL_R;
            }
        }
        Pv(r)
    }

    /// `self^e`.
    pub fn pow(self, mut e: u128) -> Pv {
        let mut base = self;
        let mut acc = Pv::ONE;
        while e != 0 {
            if e & 1 == 1 {
                acc = acc.fmul(base);
            }
            base = base.fmul(base);
            e >>= 1;
        }
        acc
    }

    /// Multiplicative inverse (`self^(2^128 − 2)`), `None` for zero.
    pub fn inverse(self) -> Option<Pv> {
        (self.0 != 0).then(|| self.pow(u128::MAX - 1))
    }

    /// RFC 8452's `dot(a, b) = a·b·x^{−128}`.
    pub fn dot(self, o: Pv) -> Pv {
        self.fmul(o).fmul(x_inv_128())
    }
}

/// x^{−128} in POLYVAL's field.
fn x_inv_128() -> Pv {
    // x^128 = POLYVAL_R, which is non-zero, so the inverse exists.
    Pv(POLYVAL_R).inverse().unwrap_or(Pv::ZERO)
}

/// POLYVAL(H, X_1..X_s) over the zero-padded 16-byte blocks of `data` (RFC 8452 §3).
pub fn polyval(h: &[u8; 16], data: &[u8]) -> [u8; 16] {
    let hp = Pv::from_block(h).fmul(x_inv_128());
    let mut s = Pv::ZERO;
    for chunk in data.chunks(16) {
        s = Pv(s.0 ^ Pv::from_partial(chunk).0).fmul(hp);
    }
    s.to_block()
}

/// An AES key of either size, used for key derivation and for the per-nonce encryption key.
#[derive(Clone)]
enum AesAny {
    A128(aes::Aes128),
    A256(aes::Aes256),
}

impl AesAny {
    fn new(key: &[u8]) -> Result<AesAny> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key)
                .map(AesAny::A128)
                .map_err(|_| Error::InvalidKeyLength {
                    len: 16,
                    expected: "16 or 32",
                }),
            32 => aes::Aes256::new_from_slice(key)
                .map(AesAny::A256)
                .map_err(|_| Error::InvalidKeyLength {
                    len: 32,
                    expected: "16 or 32",
                }),
            len => Err(Error::InvalidKeyLength {
                len,
                expected: "16 (AES-128-GCM-SIV) or 32 (AES-256-GCM-SIV)",
            }),
        }
    }

    fn enc(&self, b: [u8; 16]) -> [u8; 16] {
        let mut blk = b.into();
        match self {
            AesAny::A128(c) => c.encrypt_block(&mut blk),
            AesAny::A256(c) => c.encrypt_block(&mut blk),
        }
        blk.into()
    }

    fn dec(&self, b: [u8; 16]) -> [u8; 16] {
        let mut blk = b.into();
        match self {
            AesAny::A128(c) => c.decrypt_block(&mut blk),
            AesAny::A256(c) => c.decrypt_block(&mut blk),
        }
        blk.into()
    }
}

/// The RFC 8452 §4 per-nonce keys of one key-generating key.
#[derive(Clone)]
pub struct SivKeys {
    /// The POLYVAL key (message-authentication key).
    pub auth_key: [u8; 16],
    enc: AesAny,
}

impl SivKeys {
    /// Derives (message-authentication key, message-encryption key) for `key` (16 or 32 bytes)
    /// and a 12-byte `nonce`.
    pub fn derive(key: &[u8], nonce: &[u8]) -> Result<SivKeys> {
        let kgk = AesAny::new(key)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| Error::InvalidNonceLength {
            len: nonce.len(),
            expected: "12",
        })?;
        let piece = |i: u32| {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&i.to_le_bytes());
            b[4..].copy_from_slice(&nonce);
            kgk.enc(b)
        };
        let mut auth_key = [0u8; 16];
        auth_key[..8].copy_from_slice(&piece(0)[..8]);
        auth_key[8..].copy_from_slice(&piece(1)[..8]);
        let n_enc = if key.len() == 16 { 2 } else { 4 };
        let mut enc_key = vec![0u8; 8 * n_enc];
        for i in 0..n_enc {
            enc_key[8 * i..8 * i + 8].copy_from_slice(&piece(2 + i as u32)[..8]);
        }
        Ok(SivKeys {
            auth_key,
            enc: AesAny::new(&enc_key)?,
        })
    }

    /// The AES-CTR keystream of `blocks` blocks from the counter block `tag | 1≪127`
    /// (RFC 8452 §4: 32-bit little-endian counter in the first four bytes).
    pub fn keystream(&self, tag: &[u8; 16], blocks: usize) -> Vec<[u8; 16]> {
        let mut ctr = *tag;
        ctr[15] |= 0x80;
        let c0 = u32::from_le_bytes([ctr[0], ctr[1], ctr[2], ctr[3]]);
        (0..blocks)
            .map(|i| {
                let mut b = ctr;
                b[..4].copy_from_slice(&c0.wrapping_add(i as u32).to_le_bytes());
                self.enc.enc(b)
            })
            .collect()
    }
}

/// The POLYVAL input `pad16(A) ‖ pad16(P) ‖ le64(8|A|) ‖ le64(8|P|)`.
fn polyval_input(ad: &[u8], pt: &[u8]) -> Vec<u8> {
    let mut v = ad.to_vec();
    v.resize(ad.len().div_ceil(16) * 16, 0);
    v.extend_from_slice(pt);
    v.resize(v.len().div_ceil(16) * 16, 0);
    v.extend_from_slice(&((ad.len() as u64).wrapping_mul(8)).to_le_bytes());
    v.extend_from_slice(&((pt.len() as u64).wrapping_mul(8)).to_le_bytes());
    v
}

/// Our own AES-GCM-SIV encryption (ciphertext ‖ tag), used to test POLYVAL and the key
/// derivation against the real crate; never used to judge a forgery.
pub fn seal_own(key: &[u8], nonce: &[u8], ad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
    let keys = SivKeys::derive(key, nonce)?;
    let mut s = polyval(&keys.auth_key, &polyval_input(ad, pt));
    for (x, n) in s.iter_mut().zip(nonce) {
        *x ^= n;
    }
    s[15] &= 0x7f;
    let tag = keys.enc.enc(s);
    let ks = keys.keystream(&tag, pt.len().div_ceil(16));
    let mut out: Vec<u8> = pt
        .iter()
        .zip(ks.iter().flatten())
        .map(|(p, k)| p ^ k)
        .collect();
    out.extend_from_slice(&tag);
    Ok(out)
}

/// A ciphertext and tag that decrypt under both keys given to [`collide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SivCollision {
    /// The ciphertext body (without the tag).
    pub ciphertext: Vec<u8>,
    /// The shared tag (the synthetic IV).
    pub tag: [u8; 16],
}

impl SivCollision {
    /// The ciphertext with the tag appended, as `aes-gcm-siv`'s `Aead::decrypt` expects.
    pub fn ciphertext_and_tag(&self) -> Vec<u8> {
        crate::hexutil::append_tag(&self.ciphertext, &self.tag)
    }
}

/// Builds a `blocks`-block ciphertext (≥ 2; blocks 0 and 1 are solved, the rest are taken from
/// `fixed`, zero-padded) and a tag that verify under both `key1` and `key2` (same length, 16 or
/// 32 bytes) for `nonce` (12 bytes) and `ad`. See the module docs for the math.
pub fn collide(
    key1: &[u8],
    key2: &[u8],
    nonce: &[u8],
    ad: &[u8],
    blocks: usize,
    fixed: &[u8],
) -> Result<SivCollision> {
    if key1.len() != key2.len() {
        return Err(Error::MixedKeyLengths);
    }
    if blocks < 2 {
        return Err(Error::FreeBlockOutOfRange { index: 1, blocks });
    }
    if blocks > 1 << 20 {
        return Err(Error::TooLong {
            what: "AES-GCM-SIV collision ciphertext",
        });
    }
    let ks = [SivKeys::derive(key1, nonce)?, SivKeys::derive(key2, nonce)?];
    let xinv = x_inv_128();
    let hp: Vec<Pv> = ks
        .iter()
        .map(|k| Pv::from_block(&k.auth_key).fmul(xinv))
        .collect();
    // Ciphertext block i has exponent e_i = blocks − i + 1; free blocks p = 0, q = 1.
    let e = |i: usize| (blocks - i + 1) as u128;
    let a: Vec<Pv> = hp.iter().map(|h| h.pow(e(0))).collect();
    let b: Vec<Pv> = hp.iter().map(|h| h.pow(e(1))).collect();
    let det = Pv(a[0].fmul(b[1]).0 ^ a[1].fmul(b[0]).0);
    let det_inv = det.inverse().ok_or(Error::SingularSystem)?;

    let mut ct = vec![0u8; 16 * blocks];
    let n_fixed = fixed.len().min(16 * (blocks - 2));
    ct[32..32 + n_fixed].copy_from_slice(&fixed[..n_fixed]);

    // Known part per key (independent of T): AD blocks, length block, fixed blocks.
    let mut known = [Pv::ZERO; 2];
    for j in 0..2 {
        // POLYVAL over pad(A) ‖ (zeros for the two free blocks, fixed blocks) ‖ L, with the
        // keystream not yet included: linear, so it is the sum of the separate contributions.
        let mut data = ad.to_vec();
        data.resize(ad.len().div_ceil(16) * 16, 0);
        data.extend_from_slice(&ct);
        let mut l = [0u8; 16];
        l[..8].copy_from_slice(&((ad.len() as u64).wrapping_mul(8)).to_le_bytes());
        l[8..].copy_from_slice(&((16 * blocks) as u64).wrapping_mul(8).to_le_bytes());
        data.extend_from_slice(&l);
        known[j] = Pv::from_block(&polyval(&ks[j].auth_key, &data));
    }

    for cand in 0u64..4096 {
        let tag = u128::from(cand).to_le_bytes();
        let d: Vec<[u8; 16]> = ks.iter().map(|k| k.enc.dec(tag)).collect();
        if d.iter().any(|x| x[15] & 0x80 != 0) {
            continue;
        }
        let mut r = [Pv::ZERO; 2];
        for j in 0..2 {
            let mut s = d[j];
            for (x, n) in s.iter_mut().zip(nonce) {
                *x ^= n;
            }
            // Keystream contribution Σ_i KS_{j,i}·H'^{e_i}
            // (Horner over the blocks, then one more factor H' for the length-block slot.)
            let stream = ks[j].keystream(&tag, blocks);
            let mut acc = Pv::ZERO;
            for blk in &stream {
                acc = Pv(acc.0 ^ Pv::from_block(blk).0).fmul(hp[j]);
            }
            let acc = acc.fmul(hp[j]);
            r[j] = Pv(Pv::from_block(&s).0 ^ known[j].0 ^ acc.0);
        }
        let cp = Pv(r[0].fmul(b[1]).0 ^ r[1].fmul(b[0]).0).fmul(det_inv);
        let cq = Pv(a[0].fmul(r[1]).0 ^ a[1].fmul(r[0]).0).fmul(det_inv);
        ct[..16].copy_from_slice(&cp.to_block());
        ct[16..32].copy_from_slice(&cq.to_block());
        let out = SivCollision {
            ciphertext: ct.clone(),
            tag,
        };
        verify(key1, key2, nonce, ad, &out)?;
        return Ok(out);
    }
    Err(Error::CollisionSearchExhausted { tries: 4096 })
}

/// Decrypts `ct ‖ tag` with the real `aes-gcm-siv` crate (`Aes128GcmSiv` for 16-byte keys,
/// `Aes256GcmSiv` for 32-byte keys).
pub fn open_with_crate(key: &[u8], nonce: &[u8], ad: &[u8], ct_and_tag: &[u8]) -> Result<Vec<u8>> {
    let n = aes_gcm_siv::Nonce::try_from(nonce).map_err(|_| Error::InvalidNonceLength {
        len: nonce.len(),
        expected: "12",
    })?;
    let payload = Payload {
        msg: ct_and_tag,
        aad: ad,
    };
    let res = match key.len() {
        16 => aes_gcm_siv::Aes128GcmSiv::new_from_slice(key)
            .map_err(|_| Error::InvalidKeyLength {
                len: 16,
                expected: "16",
            })?
            .decrypt(&n, payload),
        32 => aes_gcm_siv::Aes256GcmSiv::new_from_slice(key)
            .map_err(|_| Error::InvalidKeyLength {
                len: 32,
                expected: "32",
            })?
            .decrypt(&n, payload),
        len => {
            return Err(Error::InvalidKeyLength {
                len,
                expected: "16 or 32",
            });
        }
    };
    res.map_err(|e| Error::Aead(format!("aes-gcm-siv rejected the ciphertext: {e}")))
}

/// Verifies with the real crate that the collision opens under both keys.
pub fn verify(key1: &[u8], key2: &[u8], nonce: &[u8], ad: &[u8], c: &SivCollision) -> Result<()> {
    let buf = c.ciphertext_and_tag();
    for (index, key) in [key1, key2].into_iter().enumerate() {
        open_with_crate(key, nonce, ad, &buf).map_err(|_| Error::SelfCheckFailed { index })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8452_polyval_vector() {
        // RFC 8452 Appendix A.
        let h: [u8; 16] = hex::decode("25629347589242761d31f826ba4b757b")
            .unwrap()
            .try_into()
            .unwrap();
        let x = hex::decode("4f4f95668c83dfb6401762bb2d01a262d1a24ddd2721d006bbe45f20d3c9f362")
            .unwrap();
        assert_eq!(
            hex::encode(polyval(&h, &x)),
            "f7a3b47b846119fae5b7866cf5e5b77e"
        );
    }

    #[test]
    fn field_inverse() {
        let a = Pv(0x1234_5678_9abc_def0_0fed_cba9_8765_4321);
        assert_eq!(a.fmul(a.inverse().unwrap()), Pv::ONE);
        assert!(Pv::ZERO.inverse().is_none());
    }
}
