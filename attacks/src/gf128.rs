//! Arithmetic in GF(2^128) in GCM's reflected bit order (NIST SP 800-38D §6.3).
//!
//! A block is read as `u128::from_be_bytes`; bit 127 (the most significant bit of the
//! first byte) is the coefficient of x^0, so the field element 1 is `1 << 127`,
//! multiplying by x is a right shift, and reduction by x^128 + x^7 + x^2 + x + 1 XORs
//! `0xE1 << 120`. This is the representation the collision attacks of
//! Dodis–Grubbs–Ristenpart–Woodage (CRYPTO 2018, eprint 2019/016, §3) and
//! Len–Grubbs–Ristenpart (USENIX Security 2021, §3) solve equations in.

use std::ops::{Add, AddAssign, Mul, MulAssign};

/// The reduction constant R = 11100001 ‖ 0^120 of SP 800-38D Algorithm 1.
const R: u128 = 0xE1 << 120;

/// An element of GF(2^128) in GCM bit order; addition is XOR.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Gf128(pub u128);

impl core::fmt::Debug for Gf128 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Gf128({:032x})", self.0)
    }
}

impl Gf128 {
    /// The additive identity.
    pub const ZERO: Gf128 = Gf128(0);
    /// The multiplicative identity (x^0, the top bit in GCM order).
    pub const ONE: Gf128 = Gf128(1 << 127);

    /// Interprets a 16-byte block as a field element (big-endian, GCM order).
    pub fn from_block(b: &[u8; 16]) -> Self {
        Gf128(u128::from_be_bytes(*b))
    }

    /// Serialises the element back into a 16-byte GCM block.
    pub fn to_block(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// Reads up to 16 bytes, zero-padding on the right as GHASH does for a partial block.
    pub fn from_partial(b: &[u8]) -> Self {
        let mut blk = [0u8; 16];
        let n = b.len().min(16);
        blk[..n].copy_from_slice(&b[..n]);
        Self::from_block(&blk)
    }

    /// True for the zero element.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Field multiplication: a carry-less 128×128 Karatsuba product (integer multiplies
    /// with 4-bit "holes" so carries never cross coefficients) reduced modulo
    /// x^128 + x^7 + x^2 + x + 1 in bit-reversed (normal) order.
    pub fn gf_mul(self, other: Gf128) -> Gf128 {
        // Carry-less product of the reflected operands as plain integers; shifted left by one
        // it is the 256-bit reflected product (x^0 at bit 255).
        let (a1, a0) = ((self.0 >> 64) as u64, self.0 as u64);
        let (b1, b0) = ((other.0 >> 64) as u64, other.0 as u64);
        let lo = clmul64(a0, b0);
        let hi = clmul64(a1, b1);
        let mid = clmul64(a0 ^ a1, b0 ^ b1) ^ lo ^ hi;
        let p_lo = lo ^ (mid << 64);
        let p_hi = hi ^ (mid >> 64);
        let r_hi = (p_hi << 1) | (p_lo >> 127); // x^0 .. x^127
        let r_lo = p_lo << 1; // x^128 .. x^255
        // x^128 ≡ 1 + x + x^2 + x^7; multiplying by x is a right shift in reflected order.
        let o = (r_lo << 127) ^ (r_lo << 126) ^ (r_lo << 121);
        let t = r_lo ^ (r_lo >> 1) ^ (r_lo >> 2) ^ (r_lo >> 7);
        Gf128(r_hi ^ t ^ o ^ (o >> 1) ^ (o >> 2) ^ (o >> 7))
    }

    /// Reference multiplication (SP 800-38D Algorithm 1, shift-and-add), kept to cross-check
    /// the fast [`Gf128::gf_mul`].
    pub fn mul_reference(self, other: Gf128) -> Gf128 {
        let mut z = 0u128;
        let mut v = self.0;
        let y = other.0;
        for i in 0..128 {
            let bit = (y >> (127 - i)) & 1;
            z ^= v & 0u128.wrapping_sub(bit);
            let lsb = v & 1;
            v = (v >> 1) ^ (R & 0u128.wrapping_sub(lsb));
        }
        Gf128(z)
    }

    /// Squares the element.
    pub fn square(self) -> Gf128 {
        self.gf_mul(self)
    }

    /// Raises the element to a non-negative power by square-and-multiply.
    pub fn pow(self, mut e: u128) -> Gf128 {
        let mut base = self;
        let mut acc = Gf128::ONE;
        while e != 0 {
            if e & 1 == 1 {
                acc = acc.gf_mul(base);
            }
            base = base.square();
            e >>= 1;
        }
        acc
    }

    /// Multiplicative inverse via Fermat (a^(2^128 - 2)); `None` for zero.
    pub fn inverse(self) -> Option<Gf128> {
        if self.is_zero() {
            return None;
        }
        // a^(2^128-2) = prod_{i=1}^{127} a^(2^i): 127 squarings and 126 multiplications.
        let mut sq = self;
        let mut acc = Gf128::ONE;
        for _ in 1..128 {
            sq = sq.square();
            acc = acc.gf_mul(sq);
        }
        Some(acc)
    }
}

/// Carry-less 64×64 → 128-bit product using ordinary integer multiplication on operands
/// split into five interleaved bit classes (at most 13 bits each, so a coefficient count
/// fits in the 4-bit gap between classes and never carries into the next one).
fn clmul64(x: u64, y: u64) -> u128 {
    const M64: [u64; 5] = [
        0x1084_2108_4210_8421,
        0x2108_4210_8421_0842,
        0x4210_8421_0842_1084,
        0x8421_0842_1084_2108,
        0x0842_1084_2108_4210,
    ];
    const M128: [u128; 5] = [
        class_mask128(0),
        class_mask128(1),
        class_mask128(2),
        class_mask128(3),
        class_mask128(4),
    ];
    let [x0, x1, x2, x3, x4] = M64.map(|m| u128::from(x & m));
    let [y0, y1, y2, y3, y4] = M64.map(|m| u128::from(y & m));
    let z0 = (x0 * y0) ^ (x1 * y4) ^ (x2 * y3) ^ (x3 * y2) ^ (x4 * y1);
    let z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y4) ^ (x3 * y3) ^ (x4 * y2);
    let z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y4) ^ (x4 * y3);
    let z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0) ^ (x4 * y4);
    let z4 = (x0 * y4) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1) ^ (x4 * y0);
    (z0 & M128[0]) | (z1 & M128[1]) | (z2 & M128[2]) | (z3 & M128[3]) | (z4 & M128[4])
}

/// Mask of the bit positions i < 128 with i ≡ c (mod 5).
const fn class_mask128(c: usize) -> u128 {
    let mut m = 0u128;
    let mut i = c;
    while i < 128 {
        m |= 1 << i;
        i += 5;
    }
    m
}

#[allow(clippy::suspicious_arithmetic_impl)]
impl Add for Gf128 {
    type Output = Gf128;
    fn add(self, rhs: Gf128) -> Gf128 {
        Gf128(self.0 ^ rhs.0)
    }
}

#[allow(clippy::suspicious_op_assign_impl)]
impl AddAssign for Gf128 {
    fn add_assign(&mut self, rhs: Gf128) {
        self.0 ^= rhs.0;
    }
}

impl Mul for Gf128 {
    type Output = Gf128;
    fn mul(self, rhs: Gf128) -> Gf128 {
        self.gf_mul(rhs)
    }
}

impl MulAssign for Gf128 {
    fn mul_assign(&mut self, rhs: Gf128) {
        *self = self.gf_mul(rhs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_is_identity_and_x_shifts_right() {
        let a = Gf128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        assert_eq!(a * Gf128::ONE, a);
        let x = Gf128(1 << 126);
        // a has lsb 0, so a·x is a plain right shift.
        assert_eq!(a * x, Gf128(a.0 >> 1));
        // x^127 · x = x^128 = x^7 + x^2 + x + 1.
        assert_eq!(Gf128(1) * x, Gf128(R));
    }

    #[test]
    fn zero_has_no_inverse() {
        assert_eq!(Gf128::ZERO.inverse(), None);
    }

    proptest! {
        #[test]
        fn field_laws(a in any::<u128>(), b in any::<u128>(), c in any::<u128>()) {
            let (a, b, c) = (Gf128(a), Gf128(b), Gf128(c));
            prop_assert_eq!(a * b, a.mul_reference(b));
            prop_assert_eq!(a * b, b * a);
            prop_assert_eq!((a * b) * c, a * (b * c));
            prop_assert_eq!(a * (b + c), a * b + a * c);
            prop_assert_eq!(a.square(), a * a);
            prop_assert_eq!(a.pow(3), a * a * a);
            if let Some(inv) = a.inverse() {
                prop_assert_eq!(a * inv, Gf128::ONE);
            }
        }
    }
}
