//! `CtxAes256Gcm`: the CTX transform (Chan–Rogaway) over AES-256-GCM. CMT-4, **not** compactly
//! committing.
//!
//! Source: John Chan and Phillip Rogaway, "On Committing Authenticated-Encryption", ESORICS 2022
//! (eprint 2022/1260): the CTX construction, CMT-4 secure when H is collision resistant (their CTX
//! theorem); AES-GCM per NIST SP 800-38D §7.
//!
//! ```text
//! (C, T) = AES-256-GCM(K, N, A, M)                 (12-byte N, 16-byte T, never output)
//! T*     = SHA-256(LABEL ‖ K ‖ N ‖ A ‖ T)           (32 bytes; the only tag that is output)
//! LABEL  = "franking/v1 ctx-aes256gcm\0\0\0\0\0\0\0" (32 bytes)
//! Dec:     T = GHASH_H(A, C) ⊕ E_K(J0);  check T* = SHA-256(LABEL ‖ K ‖ N ‖ A ‖ T) in constant time;
//!          only then M = C ⊕ CTR(K, inc32(J0))
//! ```
//!
//! The encoding is injective: LABEL, K and N have fixed lengths at the front and T a fixed length at
//! the end, so A is what lies between. A collision of T* between (K, N, A, C) and (K', N', A', C')
//! with (K, N, A) ≠ (K', N', A') is a SHA-256 collision; with (K, N, A) equal, GCM's tag T equal
//! means C decrypts to one M per (K, N). CMT-4 at 128 bits (SHA-256 birthday bound).
//!
//! **Not compactly committing**: T* binds (K, N, A, T), and T binds C only under GHASH, which is not
//! collision resistant to someone who knows K (GHASH is linear in C for a known H). The holder of K
//! can find C ≠ C' with the same T, hence the same T*. So T* *alone* is not a commitment to M, and the
//! franking layer must never use it as one: it must keep the whole ciphertext, or use a compact suite
//! ([`super::CtrHmacSha256`], [`super::Aes256CtrBlake3`]). This type therefore does not implement
//! [`super::CompactCommitment`].

use aead::array::Array;
use aead::consts::{U12, U16, U32};
use aead::inout::InOutBuf;
use aead::{AeadCore, AeadInOut, KeyInit, KeySizeUser, TagPosition};
use aes::Aes256;
use aes_gcm::Aes256Gcm;
use cipher::{BlockCipherEncrypt, InnerIvInit, StreamCipherCore};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{CommitmentLevel, CommittingAead};

/// GCM's counter mode: 32-bit big-endian increment of the last four bytes.
type GcmCtr<'a> = ctr::CtrCore<&'a Aes256, ctr::flavors::Ctr32BE>;

const LABEL: &[u8; 32] = b"franking/v1 ctx-aes256gcm\0\0\0\0\0\0\0";

/// Largest plaintext AES-GCM accepts (SP 800-38D: 2^39 − 256 bits).
const P_MAX: u64 = (1 << 36) - 32;
/// Largest associated data AES-GCM accepts (2^64 − 1 bits, rounded down to bytes).
const A_MAX: u64 = (1 << 61) - 1;

/// AES-256-GCM with its tag replaced by T* = SHA-256(LABEL ‖ K ‖ N ‖ A ‖ T_gcm).
///
/// 12-byte nonces (use at most 2^32 random nonces per key, as for GCM), 32-byte tags. CMT-4 but not
/// compactly committing: do not use the tag alone as a message commitment.
#[derive(Clone)]
pub struct CtxAes256Gcm {
    key: Zeroizing<[u8; 32]>,
    gcm: Aes256Gcm,
    cipher: Aes256,
    ghash: GHash,
}

impl KeySizeUser for CtxAes256Gcm {
    type KeySize = U32;
}

impl KeyInit for CtxAes256Gcm {
    fn new(key: &aead::Key<Self>) -> Self {
        let cipher = Aes256::new(key);
        let mut h = Array::<u8, U16>::default();
        cipher.encrypt_block(&mut h);
        let ghash = GHash::new(&h);
        zeroize::Zeroize::zeroize(&mut h.0);
        Self {
            key: Zeroizing::new(key.0),
            gcm: Aes256Gcm::new(key),
            cipher,
            ghash,
        }
    }
}

impl AeadCore for CtxAes256Gcm {
    type NonceSize = U12;
    type TagSize = U32;
    const TAG_POSITION: TagPosition = TagPosition::Postfix;
}

impl CtxAes256Gcm {
    /// T* = SHA-256(LABEL ‖ K ‖ N ‖ A ‖ T).
    fn ctx_tag(&self, nonce: &[u8], ad: &[u8], gcm_tag: &[u8]) -> aead::Tag<Self> {
        let mut h = Sha256::new();
        h.update(LABEL);
        h.update(self.key.as_slice());
        h.update(nonce);
        h.update(ad);
        h.update(gcm_tag);
        h.finalize()
    }

    /// The GCM tag of (A, C) recomputed from the ciphertext (SP 800-38D §7.2 steps 5–6), and the CTR
    /// keystream positioned at inc32(J0) for decryption.
    fn gcm_tag(&self, nonce: &[u8], ad: &[u8], ciphertext: &[u8]) -> ([u8; 16], GcmCtr<'_>) {
        let mut j0 = Array::<u8, U16>::default();
        j0[..12].copy_from_slice(nonce);
        j0[15] = 1;
        let mut ctr = GcmCtr::inner_iv_init(&self.cipher, &j0);
        let mut mask = Array::<u8, U16>::default();
        ctr.write_keystream_block(&mut mask);

        let mut ghash = self.ghash.clone();
        ghash.update_padded(ad);
        ghash.update_padded(ciphertext);
        let mut lengths = Array::<u8, U16>::default();
        lengths[..8].copy_from_slice(&((ad.len() as u64) * 8).to_be_bytes());
        lengths[8..].copy_from_slice(&((ciphertext.len() as u64) * 8).to_be_bytes());
        ghash.update(&[lengths]);
        let mut tag = [0u8; 16];
        for ((t, g), m) in tag.iter_mut().zip(ghash.finalize().iter()).zip(mask.iter()) {
            *t = g ^ m;
        }
        (tag, ctr)
    }
}

impl AeadInOut for CtxAes256Gcm {
    fn encrypt_inout_detached(
        &self,
        nonce: &aead::Nonce<Self>,
        associated_data: &[u8],
        buffer: InOutBuf<'_, '_, u8>,
    ) -> aead::Result<aead::Tag<Self>> {
        let gcm_tag = self
            .gcm
            .encrypt_inout_detached(nonce, associated_data, buffer)?;
        Ok(self.ctx_tag(nonce, associated_data, &gcm_tag))
    }

    fn decrypt_inout_detached(
        &self,
        nonce: &aead::Nonce<Self>,
        associated_data: &[u8],
        buffer: InOutBuf<'_, '_, u8>,
        tag: &aead::Tag<Self>,
    ) -> aead::Result<()> {
        if buffer.len() as u64 > P_MAX || associated_data.len() as u64 > A_MAX {
            return Err(aead::Error);
        }
        let (gcm_tag, ctr) = self.gcm_tag(nonce, associated_data, buffer.get_in());
        let expected = self.ctx_tag(nonce, associated_data, &gcm_tag);
        if !bool::from(expected.ct_eq(tag)) {
            return Err(aead::Error);
        }
        ctr.try_apply_keystream_partial(buffer)
            .map_err(|_| aead::Error)
    }
}

impl core::fmt::Debug for CtxAes256Gcm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CtxAes256Gcm { .. }")
    }
}

impl zeroize::ZeroizeOnDrop for CtxAes256Gcm {}

impl CommittingAead for CtxAes256Gcm {
    const NAME: &'static str = "CtxAes256Gcm";
    const LEVEL: CommitmentLevel = CommitmentLevel::Cmt4;
    const COMPACT: bool = false;
    const P_MAX: u64 = P_MAX;
}
