//! `CtrHmacSha256`: AES-256-CTR then HMAC-SHA-256 over a key-derived MAC key. CMT-4, compactly
//! committing, 128-bit commitment security.
//!
//! Source: Grubbs–Lu–Ristenpart, "Message Franking via Committing Authenticated Encryption",
//! CRYPTO 2017 (eprint 2017/664), the section on using keys as openings, which proves
//! Encrypt-then-HMAC compactly committing when the MAC is collision resistant and the MAC key is
//! bound to the encryption key; here both subkeys are derived from one key by a collision-resistant
//! KDF. The counter-example with *independent* keys is in the same paper and in Albertini et al.,
//! "How to Abuse and Fix Authenticated Encryption Without Key Commitment", USENIX Security 2022
//! (eprint 2020/1456).
//!
//! ```text
//! K_enc = HMAC-SHA-256(K, "franking/v1 ctr-hmac-sha256 enc")          (once per key)
//! K_mac = HMAC-SHA-256(K, "franking/v1 ctr-hmac-sha256 mac")          (once per key)
//! C     = M ⊕ AES-256-CTR(K_enc, N ‖ be32(i))        12-byte N, GCM's counter blocks, see `nonce_ctr`
//! T     = HMAC-SHA-256(K_mac, LABEL ‖ N ‖ A ‖ C ‖ le64(|A|) ‖ le64(|C|))   (32 bytes, untruncated)
//! LABEL = "franking/v1 ctr-hmac-sha256 tag\0" (32 bytes)
//! ```
//!
//! Commitment: HMAC-SHA-256 with a 32-byte key is SHA-256(K ⊕ opad ‖ SHA-256(K ⊕ ipad ‖ x)), a
//! collision-resistant function of (key, x) because the key is part of the hashed input; the
//! encoding of (N, A, C) is injective (fixed-length label and nonce first, both lengths last), and
//! K ↦ K_mac is collision resistant in the same way. A second opening (K', N', A', M') ≠ (K, N, A, M)
//! with the same T therefore yields a SHA-256 collision: about 2^128 work.

use aead::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::etm::{TagHasher, impl_etm_aead};
use super::nonce_ctr::{NONCE_LEN, NonceCtr, P_MAX};
use super::{CommitmentLevel, CommittingAead, CompactCommitment};

const ENC_LABEL: &[u8] = b"franking/v1 ctr-hmac-sha256 enc";
const MAC_LABEL: &[u8] = b"franking/v1 ctr-hmac-sha256 mac";
const TAG_LABEL: &[u8; 32] = b"franking/v1 ctr-hmac-sha256 tag\0";

type HmacSha256 = Hmac<Sha256>;

/// AES-256-CTR + HMAC-SHA-256 encrypt-then-MAC with keys derived from one 256-bit key.
///
/// 12-byte nonces (counters, or random for up to 2^32 messages per key), 32-byte tags,
/// plaintexts up to 64 GiB. CMT-4 and
/// compactly committing: the tag is a commitment to (K, N, A, M).
#[derive(Clone)]
pub struct CtrHmacSha256 {
    ctr: NonceCtr,
    mac: MacKey,
}

/// HMAC keyed with K_mac, cloned per message so the key's pad blocks are hashed once per key.
#[derive(Clone)]
struct MacKey(HmacSha256);

/// HMAC-SHA-256 keyed with a 32-byte key. HMAC zero-pads keys shorter than SHA-256's 64-byte block
/// (RFC 2104 §2), so passing the padded block to the infallible `KeyInit::new` is the same function.
fn hmac_with(key: &[u8; 32]) -> HmacSha256 {
    let mut block = Zeroizing::new(aead::array::Array::<u8, aead::consts::U64>::default());
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&block)
}

fn hmac_sha256(key: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = hmac_with(key);
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

impl aead::KeySizeUser for CtrHmacSha256 {
    type KeySize = aead::consts::U32;
}

impl KeyInit for CtrHmacSha256 {
    fn new(key: &aead::Key<Self>) -> Self {
        let k_enc = hmac_sha256(&key.0, ENC_LABEL);
        let k_mac = hmac_sha256(&key.0, MAC_LABEL);
        Self {
            ctr: NonceCtr::new(&k_enc),
            mac: MacKey(hmac_with(&k_mac)),
        }
    }
}

impl TagHasher for MacKey {
    type State = HmacSha256;

    fn begin(&self, nonce: &[u8; NONCE_LEN], ad: &[u8]) -> HmacSha256 {
        let mut state = self.0.clone();
        state.update(TAG_LABEL);
        state.update(nonce);
        state.update(ad);
        state
    }

    fn absorb(state: &mut HmacSha256, ciphertext: &[u8]) {
        state.update(ciphertext);
    }

    fn finish(
        &self,
        state: &mut HmacSha256,
        _: &[u8; NONCE_LEN],
        ad: &[u8],
        ct_len: u64,
    ) -> [u8; 32] {
        state.update(&(ad.len() as u64).to_le_bytes());
        state.update(&ct_len.to_le_bytes());
        state.clone().finalize().into_bytes().into()
    }
}

impl_etm_aead!(CtrHmacSha256);

impl CommittingAead for CtrHmacSha256 {
    const NAME: &'static str = "CtrHmacSha256";
    const LEVEL: CommitmentLevel = CommitmentLevel::Cmt4;
    const COMPACT: bool = true;
    const P_MAX: u64 = P_MAX;
}

impl CompactCommitment for CtrHmacSha256 {}
