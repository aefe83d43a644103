//! `Aes256CtrBlake3`: AES-256-CTR then an unkeyed BLAKE3 hash that contains the MAC key. CMT-4,
//! compactly committing, 128-bit commitment security; the fast suite for long messages.
//!
//! Source: the same encrypt-then-MAC shape as [`super::CtrHmacSha256`] (Grubbs–Lu–Ristenpart,
//! CRYPTO 2017, eprint 2017/664), with BLAKE3 (O'Connor, Aumasson, Neves, Wilcox-O'Hearn, "BLAKE3:
//! one function, fast everywhere", 2020, the security section's 128-bit collision-resistance claim)
//! as KDF and MAC, laid out as DESIGN.md §4 asks (ciphertext first for chunk parallelism).
//!
//! ```text
//! K_mac ‖ K_enc = BLAKE3-XOF(LABEL_KDF ‖ K)[0..64]   (once per key; K_mac = the first 32 bytes)
//! C     = M ⊕ AES-256-CTR(K_enc, N ‖ be32(i))        12-byte N, GCM's counter blocks, see `nonce_ctr`
//! T     = BLAKE3(C ‖ A ‖ N ‖ K_mac ‖ le64(|A|) ‖ le64(|C|))    (unkeyed mode, 32 bytes)
//! LABEL_KDF = "franking/v1 aes256ctr-blake3 kdf\0" (33 bytes)
//! ```
//!
//! Why this layout: BLAKE3 hashes 1 KiB chunks in parallel only when they are aligned to the start of
//! its input, so the ciphertext goes first and every fixed-size field after it; the lengths come last,
//! which keeps the encoding injective (given |A| and |C|, the split of the input is unique).
//!
//! Why the MAC key sits *inside* the hashed input instead of in BLAKE3's keyed mode: keyed BLAKE3 uses
//! the key as the chaining value, and collision resistance across two adversarially chosen keys is a
//! free-start property that BLAKE3's claims do not cover. With K_mac in the input, a tag collision
//! between two openings is a collision of unkeyed BLAKE3 on two distinct injectively encoded inputs,
//! and K ↦ K_mac is itself unkeyed BLAKE3 (its first 32 output bytes are the standard hash output).
//! So commitment rests on BLAKE3's standard 128-bit collision resistance (256-bit output): finding two
//! openings with one tag costs about 2^128. As a MAC, T is a PRF of (N, A, C) when BLAKE3 is modelled as
//! a random oracle with a secret 256-bit input; no length extension is possible (lengths at the end
//! and BLAKE3's root finalisation flag).

use aead::KeyInit;
use zeroize::Zeroizing;

use super::etm::{TagHasher, impl_etm_aead};
use super::nonce_ctr::{NONCE_LEN, NonceCtr, P_MAX};
use super::{CommitmentLevel, CommittingAead, CompactCommitment};

const KDF_LABEL: &[u8] = b"franking/v1 aes256ctr-blake3 kdf\0";

/// AES-256-CTR + BLAKE3 encrypt-then-MAC whose tag is a collision-resistant hash of (K, N, A, C).
///
/// 12-byte nonces (counters, or random for up to 2^32 messages per key), 32-byte tags,
/// plaintexts up to 64 GiB. CMT-4 and
/// compactly committing.
#[derive(Clone)]
pub struct Aes256CtrBlake3 {
    ctr: NonceCtr,
    mac: MacKey,
}

/// K_mac, hashed into every tag.
#[derive(Clone)]
struct MacKey(Zeroizing<[u8; 32]>);

impl aead::KeySizeUser for Aes256CtrBlake3 {
    type KeySize = aead::consts::U32;
}

impl KeyInit for Aes256CtrBlake3 {
    fn new(key: &aead::Key<Self>) -> Self {
        let mut okm = Zeroizing::new([0u8; 64]);
        let mut kdf = blake3::Hasher::new();
        kdf.update(KDF_LABEL);
        kdf.update(key);
        kdf.finalize_xof().fill(&mut *okm);
        let mut k_mac = Zeroizing::new([0u8; 32]);
        let mut k_enc = Zeroizing::new([0u8; 32]);
        k_mac.copy_from_slice(&okm[..32]);
        k_enc.copy_from_slice(&okm[32..]);
        Self {
            ctr: NonceCtr::new(&k_enc),
            mac: MacKey(k_mac),
        }
    }
}

impl TagHasher for MacKey {
    type State = blake3::Hasher;

    fn begin(&self, _: &[u8; NONCE_LEN], _: &[u8]) -> blake3::Hasher {
        blake3::Hasher::new()
    }

    fn absorb(state: &mut blake3::Hasher, ciphertext: &[u8]) {
        state.update(ciphertext);
    }

    fn finish(
        &self,
        state: &mut blake3::Hasher,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        ct_len: u64,
    ) -> [u8; 32] {
        // One update for the fixed-size tail: every `update` call has a fixed cost that shows at 64 B.
        let mut tail = [0u8; NONCE_LEN + 32 + 16];
        tail[..NONCE_LEN].copy_from_slice(nonce);
        tail[NONCE_LEN..NONCE_LEN + 32].copy_from_slice(self.0.as_slice());
        tail[NONCE_LEN + 32..NONCE_LEN + 40].copy_from_slice(&(ad.len() as u64).to_le_bytes());
        tail[NONCE_LEN + 40..].copy_from_slice(&ct_len.to_le_bytes());
        if !ad.is_empty() {
            state.update(ad);
        }
        state.update(&tail);
        // `tail` and the hasher's last block hold K_mac. Like every hash state on the stack they are
        // not scrubbed: BLAKE3's finalisation copies the block internally where no API reaches, so
        // wiping our copy would be theatre that costs ~15% at 64 B. Long-lived keys are zeroized
        // on drop.
        *state.finalize().as_bytes()
    }
}

impl_etm_aead!(Aes256CtrBlake3);

impl CommittingAead for Aes256CtrBlake3 {
    const NAME: &'static str = "Aes256CtrBlake3";
    const LEVEL: CommitmentLevel = CommitmentLevel::Cmt4;
    const COMPACT: bool = true;
    const P_MAX: u64 = P_MAX;
}

impl CompactCommitment for Aes256CtrBlake3 {}
