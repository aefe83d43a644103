//! GHASH over (AD, C) with the length block, as in NIST SP 800-38D §6.4 and §7.1.
//!
//! GHASH_H(A, C) = Σ_i X_i · H^{m−i+1} over the blocks X_1..X_m of
//! `pad(A) ‖ pad(C) ‖ [len(A)]_64 ‖ [len(C)]_64`, so the length block has exponent 1.
//! The collision attacks (Dodis–Grubbs–Ristenpart–Woodage, CRYPTO 2018, eprint 2019/016, §3)
//! solve this linear form for one or more free ciphertext blocks.

use crate::gf128::Gf128;

/// Horner evaluation of the zero-padded 16-byte blocks of `data`, continuing from `acc`:
/// returns (((acc + X_1)·H + X_2)·H + …)·H.
pub fn ghash_blocks(h: Gf128, mut acc: Gf128, data: &[u8]) -> Gf128 {
    for chunk in data.chunks(16) {
        acc = (acc + Gf128::from_partial(chunk)) * h;
    }
    acc
}

/// The GHASH length block `[8·|A|]_64 ‖ [8·|C|]_64` as a field element.
pub fn length_block(ad_len: usize, ct_len: usize) -> Gf128 {
    let a = (ad_len as u128).wrapping_mul(8) & u128::from(u64::MAX);
    let c = (ct_len as u128).wrapping_mul(8) & u128::from(u64::MAX);
    Gf128((a << 64) | c)
}

/// Number of 16-byte GHASH blocks that `len` bytes occupy (zero padding included).
pub fn blocks(len: usize) -> usize {
    len.div_ceil(16)
}

/// GHASH_H(A, C) including the length block.
pub fn ghash(h: Gf128, ad: &[u8], ct: &[u8]) -> Gf128 {
    let acc = ghash_blocks(h, Gf128::ZERO, ad);
    let acc = ghash_blocks(h, acc, ct);
    (acc + length_block(ad.len(), ct.len())) * h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcm::GcmKey;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// GHASH ⊕ E_K(J0) must equal the tag the real aes-gcm crate computes.
        #[test]
        fn ghash_matches_aes_gcm_tag(
            key in prop_oneof![
                proptest::collection::vec(any::<u8>(), 16),
                proptest::collection::vec(any::<u8>(), 32)
            ],
            nonce in any::<[u8; 12]>(),
            ad in proptest::collection::vec(any::<u8>(), 0..70),
            pt in proptest::collection::vec(any::<u8>(), 0..90),
        ) {
            let k = GcmKey::from_slice(&key).unwrap();
            let sealed = k.seal(&nonce, &ad, &pt).unwrap();
            let (ct, tag) = sealed.split_at(sealed.len() - 16);
            let mine = ghash(k.hash_key(), &ad, ct) + k.tag_mask(&nonce);
            let mine = mine.to_block();
            prop_assert_eq!(mine.as_slice(), tag);
            // and our CTR keystream agrees with aes-gcm's encryption
            let mut ours = pt.clone();
            k.apply_keystream(&nonce, &mut ours);
            prop_assert_eq!(ours.as_slice(), ct);
        }
    }
}
