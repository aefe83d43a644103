//! Arithmetic in GF(2^130 − 5), the Poly1305 one-time MAC, and ChaCha20-Poly1305's per-nonce
//! one-time key, as needed by the multi-key collision in [`crate::chapoly`].
//!
//! Poly1305 (RFC 8439 §2.5): a 32-byte one-time key is split into `r` (clamped, §2.5.1) and `s`.
//! The message is cut into 16-byte blocks; each block, read little-endian, gets the bit just above
//! its last byte set (2^128 for a full block), so every full block is an element of
//! `[2^128, 2^129)`. The accumulator is `acc = Σ_i B_i · r^{n−i+1} mod p`, and the tag is
//! `(acc + s) mod 2^128`. In the ChaCha20-Poly1305 AEAD (RFC 8439 §2.8) the one-time key is the
//! first 32 bytes of ChaCha20 keystream block 0, and the MAC input is
//! `pad16(A) ‖ pad16(C) ‖ le64(|A|) ‖ le64(|C|)`.
//!
//! This is an *attack* implementation: it is written for clarity and is not constant time. The
//! field is stored as five 26-bit limbs (the "donna" layout), always kept canonical (`< p`).

use crate::error::{Error, Result};
use chacha20::cipher::{KeyIvInit, StreamCipher};

const MASK: u64 = 0x3ff_ffff;

/// An element of GF(p), p = 2^130 − 5, in canonical form (five 26-bit limbs, value `< p`).
///
/// Canonical storage makes `==` field equality, and lets the collision search test the
/// "block must lie in [2^128, 2^129)" constraint directly.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Fe1305([u64; 5]);

impl core::fmt::Debug for Fe1305 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (lo, hi) = self.to_wide();
        write!(f, "Fe1305({hi:x}:{lo:032x})")
    }
}

fn carry_pass(l: &mut [u64; 5]) {
    for i in 0..4 {
        l[i + 1] += l[i] >> 26;
        l[i] &= MASK;
    }
    let c = l[4] >> 26;
    l[4] &= MASK;
    l[0] += c * 5;
}

impl Fe1305 {
    /// The additive identity.
    pub const ZERO: Fe1305 = Fe1305([0; 5]);
    /// The multiplicative identity.
    pub const ONE: Fe1305 = Fe1305([1, 0, 0, 0, 0]);

    /// Brings limbs (each below 2^62) into canonical form.
    fn canonical(mut l: [u64; 5]) -> Fe1305 {
        // Each pass shrinks the value until every limb is below 2^26; four passes always suffice.
        for _ in 0..4 {
            carry_pass(&mut l);
            if l[0] <= MASK {
                break;
            }
        }
        // Now value < 2^130: subtract p once if value >= p (i.e. value + 5 >= 2^130).
        let mut g = l;
        g[0] += 5;
        for i in 0..4 {
            g[i + 1] += g[i] >> 26;
            g[i] &= MASK;
        }
        if g[4] >> 26 != 0 {
            g[4] &= MASK;
            Fe1305(g)
        } else {
            Fe1305(l)
        }
    }

    /// The element `lo + hi · 2^128 mod p`; `hi` is the part above 128 bits (e.g. 1 for a
    /// Poly1305 full block).
    pub fn from_wide(lo: u128, hi: u32) -> Fe1305 {
        let l = [
            (lo as u64) & MASK,
            ((lo >> 26) as u64) & MASK,
            ((lo >> 52) as u64) & MASK,
            ((lo >> 78) as u64) & MASK,
            ((lo >> 104) as u64) | (u64::from(hi) << 24),
        ];
        Self::canonical(l)
    }

    /// The element `x` for `x < 2^128`.
    pub fn from_u128(x: u128) -> Fe1305 {
        Self::from_wide(x, 0)
    }

    /// A full 16-byte Poly1305 block: little-endian value plus 2^128.
    pub fn from_block(b: &[u8; 16]) -> Fe1305 {
        Self::from_wide(u128::from_le_bytes(*b), 1)
    }

    /// The canonical value split as (low 128 bits, bits 128..130).
    pub fn to_wide(self) -> (u128, u8) {
        let l = self.0;
        let lo = u128::from(l[0])
            | (u128::from(l[1]) << 26)
            | (u128::from(l[2]) << 52)
            | (u128::from(l[3]) << 78)
            | (u128::from(l[4]) << 104);
        (lo, (l[4] >> 24) as u8)
    }

    /// If this element is the value of a full Poly1305 block (it lies in `[2^128, 2^129)`),
    /// returns that block's 16 bytes; otherwise `None`.
    pub fn to_block(self) -> Option<[u8; 16]> {
        let (lo, hi) = self.to_wide();
        (hi == 1).then(|| lo.to_le_bytes())
    }

    /// Whether this element is the value of some full Poly1305 block (the cheap test used in
    /// the collision search's inner loop).
    #[inline]
    pub fn is_block_value(self) -> bool {
        (self.0[4] >> 24) == 1
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self == Fe1305::ZERO
    }

    /// Field addition.
    #[inline]
    pub fn fadd(self, o: Fe1305) -> Fe1305 {
        let a = self.0;
        let b = o.0;
        Self::canonical([
            a[0] + b[0],
            a[1] + b[1],
            a[2] + b[2],
            a[3] + b[3],
            a[4] + b[4],
        ])
    }

    /// Field subtraction.
    pub fn fsub(self, o: Fe1305) -> Fe1305 {
        // a + 2p − b, with 2p in (non-canonical) limbs; every limb stays non-negative.
        let a = self.0;
        let b = o.0;
        Self::canonical([
            a[0] + 2 * (MASK - 4) - b[0],
            a[1] + 2 * MASK - b[1],
            a[2] + 2 * MASK - b[2],
            a[3] + 2 * MASK - b[3],
            a[4] + 2 * MASK - b[4],
        ])
    }

    /// Additive inverse.
    pub fn fneg(self) -> Fe1305 {
        Fe1305::ZERO.fsub(self)
    }

    /// Field multiplication (schoolbook on 26-bit limbs, 2^130 ≡ 5).
    pub fn fmul(self, o: Fe1305) -> Fe1305 {
        let [a0, a1, a2, a3, a4] = self.0;
        let [b0, b1, b2, b3, b4] = o.0;
        let (s1, s2, s3, s4) = (b1 * 5, b2 * 5, b3 * 5, b4 * 5);
        let d0 = a0 * b0 + a1 * s4 + a2 * s3 + a3 * s2 + a4 * s1;
        let d1 = a0 * b1 + a1 * b0 + a2 * s4 + a3 * s3 + a4 * s2;
        let d2 = a0 * b2 + a1 * b1 + a2 * b0 + a3 * s4 + a4 * s3;
        let d3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + a4 * s4;
        let d4 = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0;
        // Carry once here so the limbs handed to `canonical` are far below 2^62.
        let mut l = [d0, d1, d2, d3, d4];
        let mut c = 0u64;
        for x in l.iter_mut() {
            *x += c;
            c = *x >> 26;
            *x &= MASK;
        }
        l[0] += c * 5;
        Self::canonical(l)
    }

    /// `self^e` for a non-negative exponent given as (low 128 bits, high bits).
    fn pow_wide(self, lo: u128, hi: u8) -> Fe1305 {
        let mut acc = Fe1305::ONE;
        for bit in (0..136).rev() {
            acc = acc.fmul(acc);
            let set = if bit >= 128 {
                (hi >> (bit - 128)) & 1 == 1
            } else {
                (lo >> bit) & 1 == 1
            };
            if set {
                acc = acc.fmul(self);
            }
        }
        acc
    }

    /// `self^e` for a small exponent.
    pub fn pow(self, e: u64) -> Fe1305 {
        self.pow_wide(u128::from(e), 0)
    }

    /// Multiplicative inverse (Fermat: `self^(p−2)`), `None` for zero.
    pub fn inverse(self) -> Option<Fe1305> {
        if self.is_zero() {
            return None;
        }
        // p − 2 = 2^130 − 7 = 3·2^128 + (2^128 − 7).
        Some(self.pow_wide(u128::MAX - 6, 3))
    }
}

/// The Poly1305 `r` half of a one-time key after RFC 8439 §2.5.1 clamping, as a field element.
pub fn clamp_r(r: &[u8; 16]) -> Fe1305 {
    let x = u128::from_le_bytes(*r) & 0x0fff_fffc_0fff_fffc_0fff_fffc_0fff_ffff;
    Fe1305::from_u128(x)
}

/// A Poly1305 one-time key split into the clamped multiplier `r` and the additive `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneTimeKey {
    /// The clamped evaluation point.
    pub r: Fe1305,
    /// The 128-bit pad added (mod 2^128) at the end.
    pub s: u128,
}

impl OneTimeKey {
    /// Splits a 32-byte Poly1305 key (r ‖ s) and clamps r.
    pub fn from_bytes(k: &[u8; 32]) -> OneTimeKey {
        let mut r = [0u8; 16];
        let mut s = [0u8; 16];
        r.copy_from_slice(&k[..16]);
        s.copy_from_slice(&k[16..]);
        OneTimeKey {
            r: clamp_r(&r),
            s: u128::from_le_bytes(s),
        }
    }

    /// The Poly1305 accumulator `Σ B_i r^{n−i+1} mod p` over `msg` (no `s` added).
    pub fn accumulate(&self, msg: &[u8]) -> Fe1305 {
        let mut acc = Fe1305::ZERO;
        for chunk in msg.chunks(16) {
            let mut b = [0u8; 17];
            b[..chunk.len()].copy_from_slice(chunk);
            b[chunk.len()] = 1;
            let mut lo = [0u8; 16];
            lo.copy_from_slice(&b[..16]);
            let n = Fe1305::from_wide(u128::from_le_bytes(lo), u32::from(b[16]));
            acc = acc.fadd(n).fmul(self.r);
        }
        acc
    }

    /// The Poly1305 tag of `msg` under this one-time key.
    pub fn tag(&self, msg: &[u8]) -> [u8; 16] {
        let (lo, _) = self.accumulate(msg).to_wide();
        lo.wrapping_add(self.s).to_le_bytes()
    }
}

/// Poly1305 (RFC 8439 §2.5) of `msg` under the 32-byte one-time key `key`.
pub fn poly1305(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    OneTimeKey::from_bytes(key).tag(msg)
}

/// The ChaCha20-Poly1305 MAC input `pad16(A) ‖ pad16(C) ‖ le64(|A|) ‖ le64(|C|)` (RFC 8439 §2.8).
pub fn aead_mac_data(ad: &[u8], ct: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(ad.len() + ct.len() + 48);
    v.extend_from_slice(ad);
    v.resize(ad.len().div_ceil(16) * 16, 0);
    v.extend_from_slice(ct);
    v.resize(v.len().div_ceil(16) * 16, 0);
    v.extend_from_slice(&(ad.len() as u64).to_le_bytes());
    v.extend_from_slice(&(ct.len() as u64).to_le_bytes());
    v
}

/// The Poly1305 one-time key of ChaCha20-Poly1305 for (key, nonce): the first 32 bytes of the
/// keystream block with counter 0. A 12-byte nonce selects ChaCha20 (RFC 8439), a 24-byte nonce
/// XChaCha20 (HChaCha20 subkey, draft-irtf-cfrg-xchacha §2.3); the keystream comes from the
/// RustCrypto `chacha20` crate, the same one `chacha20poly1305` uses.
pub fn chapoly_one_time_key(key: &[u8; 32], nonce: &[u8]) -> Result<[u8; 32]> {
    let mut otk = [0u8; 32];
    match nonce.len() {
        12 => {
            let n: [u8; 12] = nonce.try_into().map_err(|_| Error::InvalidNonceLength {
                len: nonce.len(),
                expected: "12 or 24",
            })?;
            let mut c = chacha20::ChaCha20::new(key.into(), (&n).into());
            c.apply_keystream(&mut otk);
        }
        24 => {
            let n: [u8; 24] = nonce.try_into().map_err(|_| Error::InvalidNonceLength {
                len: nonce.len(),
                expected: "12 or 24",
            })?;
            let mut c = chacha20::XChaCha20::new(key.into(), (&n).into());
            c.apply_keystream(&mut otk);
        }
        len => {
            return Err(Error::InvalidNonceLength {
                len,
                expected: "12 (ChaCha20) or 24 (XChaCha20)",
            });
        }
    }
    Ok(otk)
}

/// Our own ChaCha20-Poly1305 / XChaCha20-Poly1305 tag of (A, C): used only to cross-check this
/// module against the real crate; the attack's results are always verified with the crate.
pub fn chapoly_tag(key: &[u8; 32], nonce: &[u8], ad: &[u8], ct: &[u8]) -> Result<[u8; 16]> {
    let otk = chapoly_one_time_key(key, nonce)?;
    Ok(poly1305(&otk, &aead_mac_data(ad, ct)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fe(x: u128) -> Fe1305 {
        Fe1305::from_u128(x)
    }

    #[test]
    fn rfc8439_poly1305_vector() {
        // RFC 8439 §2.5.2.
        let key = hex::decode("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
            .unwrap();
        let key: [u8; 32] = key.try_into().unwrap();
        let tag = poly1305(&key, b"Cryptographic Forum Research Group");
        assert_eq!(hex::encode(tag), "a8061dc1305136c6c22b8baf0c0127a9");
    }

    #[test]
    fn field_basics() {
        let p_minus_1 = Fe1305::from_wide(u128::MAX - 5, 3); // 2^130 - 6
        assert_eq!(p_minus_1.fadd(Fe1305::ONE), Fe1305::ZERO);
        assert_eq!(Fe1305::ONE.fneg(), p_minus_1);
        assert_eq!(Fe1305::from_wide(u128::MAX - 4, 3), Fe1305::ZERO); // p ≡ 0
        assert_eq!(Fe1305::from_wide(0, 4), fe(5)); // 2^130 ≡ 5
        assert_eq!(p_minus_1.fmul(p_minus_1), Fe1305::ONE);
        let a = fe(0x1234_5678_9abc_def0_1122_3344_5566_7788);
        let b = Fe1305::from_wide(0xdead_beef, 2);
        assert_eq!(a.fmul(b).fmul(b.inverse().unwrap()), a);
        assert_eq!(a.fsub(b).fadd(b), a);
        assert_eq!(a.fmul(fe(3)), a.fadd(a).fadd(a));
        assert_eq!(fe(7).pow(3), fe(343));
        assert!(Fe1305::ZERO.inverse().is_none());
        let blk = [0xabu8; 16];
        assert_eq!(Fe1305::from_block(&blk).to_block(), Some(blk));
        assert!(fe(5).to_block().is_none());
    }
}
