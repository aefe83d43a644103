//! **NOT FOR USE.** Negative-control "fixes" that make AES-GCM key-committing (CMT-1) but not
//! context-committing (CMT-4), and an encrypt-then-MAC with independent keys that commits to
//! nothing; each with the attack that breaks it.
//!
//! CMT-1 asks that a ciphertext commit to the key; CMT-4 (Bellare–Hoang, "Efficient Schemes for
//! Committing Authenticated Encryption", Eurocrypt 2022, eprint 2022/268, §3) asks that it commit
//! to (K, N, A, M). Franking needs the latter: a report names (K, N, A, M), and a ciphertext
//! that also opens under (K, N', A') lets a sender change the context after the fact.
//!
//! * [`ZeroPrefixGcm`] — the "padding fix" of Albertini et al., "How to Abuse and Fix
//!   Authenticated Encryption Without Key Commitment", USENIX Security 2022 (eprint 2020/1456),
//!   §5.1: encrypt `0^128 ‖ M` with AES-GCM and reject on decryption unless the first block
//!   decrypts to zeros. Two keys would need `E_{K1}(J0+1) = E_{K2}(J0+1)`, so the two-key
//!   salamander fails (CMT-1, up to the 128-bit birthday bound). But for one key, GHASH is a
//!   known linear function: [`forge_same_key`] rewrites one *AD* block so the same (C, T)
//!   verifies under another AD — CMT-4 fails. (Adjusting a ciphertext block cannot work: the
//!   ciphertext blocks' GHASH coefficients H^{e_i} do not depend on A, so they cancel.) With
//!   96-bit nonces the zero block does bind N (it is `E_K(N‖2)`); with longer nonces J0 is a
//!   GHASH of N, and [`colliding_long_nonce`] finds N' ≠ N with the same J0, so one ciphertext
//!   verifies under two nonces.
//! * [`HashCommitGcm`] — the "key-commitment hash" fix: prepend `SHA-256(label ‖ K)` to an
//!   AES-GCM ciphertext (Albertini et al. §5.2 discuss such commitments; Bellare–Hoang §1 note
//!   they give CMT-1 only). The commitment covers K alone, so [`forge_same_key`] gives a
//!   ciphertext valid under (N1, A1) *and* (N2, A2) with different plaintexts.
//! * [`IndependentKeyEtm`] — AES-256-CTR + HMAC-SHA-256 with independent (K_enc, K_mac): the MAC
//!   does not involve K_enc, so one (C, T) opens under (K_enc1, K_mac) and (K_enc2, K_mac) to
//!   different plaintexts (Grubbs–Lu–Ristenpart, CRYPTO 2017, §3 make the same observation;
//!   franking-core derives both keys from one K with a collision-resistant KDF instead).
//!
//! All three schemes use the real RustCrypto primitives (`aes-gcm`, `aes`/`ctr`, `hmac`/`sha2`);
//! the forgeries are judged by those crates in `tests/cmt4.rs`.

use crate::error::{Error, Result};
use crate::gcm::GcmKey;
use crate::gf128::Gf128;
use crate::ghash::{ghash, ghash_blocks, length_block};
use aead::{Aead, KeyInit, Payload};
use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::Mac;
use sha2::Digest;

/// Bytes of the all-zero prefix [`ZeroPrefixGcm`] encrypts before the message.
pub const ZERO_PREFIX_LEN: usize = 16;

/// AES-256-GCM with 32-byte nonces (J0 = GHASH of the nonce, SP 800-38D §7.1).
type Aes256GcmN32 = aes_gcm::AesGcm<aes::Aes256, aead::consts::U32>;

fn aead_err(what: &str) -> Error {
    Error::Aead(format!("{what} rejected the ciphertext"))
}

/// NOT FOR USE: AES-256-GCM with a 16-byte zero prefix checked on decryption (the "padding
/// fix"). Key-committing, not context-committing.
pub struct ZeroPrefixGcm {
    key: [u8; 32],
}

impl ZeroPrefixGcm {
    /// A scheme instance for a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        ZeroPrefixGcm { key }
    }

    /// Encrypts `0^16 ‖ pt` with AES-256-GCM (96-bit nonce); returns ciphertext ‖ tag.
    pub fn seal(&self, nonce: &[u8; 12], ad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
        let mut m = vec![0u8; ZERO_PREFIX_LEN];
        m.extend_from_slice(pt);
        aes_gcm::Aes256Gcm::new((&self.key).into())
            .encrypt(nonce.into(), Payload { msg: &m, aad: ad })
            .map_err(|_| Error::Aead("aes-gcm encryption failed".into()))
    }

    /// Decrypts with AES-256-GCM and accepts only if the first block is all zeros.
    pub fn open(&self, nonce: &[u8; 12], ad: &[u8], ct_and_tag: &[u8]) -> Result<Vec<u8>> {
        let m = aes_gcm::Aes256Gcm::new((&self.key).into())
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ct_and_tag,
                    aad: ad,
                },
            )
            .map_err(|_| aead_err("aes-gcm"))?;
        strip_zero_prefix(m)
    }

    /// Like [`ZeroPrefixGcm::seal`] with a 32-byte nonce (allowed by SP 800-38D, where
    /// J0 = GHASH_H(N ‖ 0^64 ‖ [256]_64)).
    pub fn seal_long_nonce(&self, nonce: &[u8; 32], ad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
        let mut m = vec![0u8; ZERO_PREFIX_LEN];
        m.extend_from_slice(pt);
        Aes256GcmN32::new((&self.key).into())
            .encrypt(nonce.into(), Payload { msg: &m, aad: ad })
            .map_err(|_| Error::Aead("aes-gcm encryption failed".into()))
    }

    /// Like [`ZeroPrefixGcm::open`] with a 32-byte nonce.
    pub fn open_long_nonce(
        &self,
        nonce: &[u8; 32],
        ad: &[u8],
        ct_and_tag: &[u8],
    ) -> Result<Vec<u8>> {
        let m = Aes256GcmN32::new((&self.key).into())
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ct_and_tag,
                    aad: ad,
                },
            )
            .map_err(|_| aead_err("aes-gcm"))?;
        strip_zero_prefix(m)
    }
}

fn strip_zero_prefix(mut m: Vec<u8>) -> Result<Vec<u8>> {
    if m.len() < ZERO_PREFIX_LEN || m[..ZERO_PREFIX_LEN].iter().any(|&b| b != 0) {
        return Err(Error::Aead("zero-prefix check failed".into()));
    }
    Ok(m.split_off(ZERO_PREFIX_LEN))
}

/// Domain-separation label of [`HashCommitGcm`]'s key commitment.
const COMMIT_LABEL: &[u8] = b"franking-attacks/neg-control/key-commit/v1";

/// NOT FOR USE: `SHA-256(label ‖ K) ‖ AES-256-GCM(K, N, A, M)` — commits to K only.
pub struct HashCommitGcm {
    key: [u8; 32],
}

impl HashCommitGcm {
    /// A scheme instance for a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        HashCommitGcm { key }
    }

    /// The 32-byte key commitment `SHA-256(label ‖ K)`.
    pub fn commitment(&self) -> [u8; 32] {
        let mut h = sha2::Sha256::new();
        h.update(COMMIT_LABEL);
        h.update(self.key);
        h.finalize().into()
    }

    /// Returns `commitment ‖ GCM ciphertext ‖ tag`.
    pub fn seal(&self, nonce: &[u8; 12], ad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
        let mut out = self.commitment().to_vec();
        out.extend(
            aes_gcm::Aes256Gcm::new((&self.key).into())
                .encrypt(nonce.into(), Payload { msg: pt, aad: ad })
                .map_err(|_| Error::Aead("aes-gcm encryption failed".into()))?,
        );
        Ok(out)
    }

    /// Checks the commitment, then decrypts with AES-256-GCM.
    pub fn open(&self, nonce: &[u8; 12], ad: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        if data.len() < 32 || data[..32] != self.commitment() {
            return Err(Error::Aead("key commitment mismatch".into()));
        }
        aes_gcm::Aes256Gcm::new((&self.key).into())
            .decrypt(
                nonce.into(),
                Payload {
                    msg: &data[32..],
                    aad: ad,
                },
            )
            .map_err(|_| aead_err("aes-gcm"))
    }
}

/// Same-key context forgery against AES-GCM (and so against both fixes above): given a
/// ciphertext body `ct` whose tag verifies under (K, `nonce1`, `ad1`), returns an AD `A2` equal to
/// `ad2_template` except full block `free_block`, such that the *same* (C, T) also verifies
/// under (K, `nonce2`, A2).
///
/// GCM's tag is `T = GHASH_H(A, C) ⊕ E_K(J0(N))` with H = E_K(0) known to the key holder, so we
/// need `GHASH_H(A2, C) = GHASH_H(A1, C) ⊕ E_K(J0(N1)) ⊕ E_K(J0(N2))`; GHASH is linear in the
/// AD block at position q with coefficient `H^{e}`, `e = (#blocks after it) + 1`, solved in one
/// inversion. Under `nonce2 = nonce1` the plaintext is the same; under another nonce it is a
/// different plaintext (C ⊕ the other keystream).
pub fn forge_same_key(
    key: &[u8; 32],
    nonce1: &[u8; 12],
    ad1: &[u8],
    nonce2: &[u8; 12],
    ad2_template: &[u8],
    free_block: usize,
    ct: &[u8],
) -> Result<Vec<u8>> {
    if (free_block + 1) * 16 > ad2_template.len() {
        return Err(Error::FreeBlockOutOfRange {
            index: free_block,
            blocks: ad2_template.len() / 16,
        });
    }
    let k = GcmKey::Aes256(*key);
    let h = k.hash_key();
    let target = ghash(h, ad1, ct) + k.tag_mask(nonce1) + k.tag_mask(nonce2);
    let mut a2 = ad2_template.to_vec();
    a2[free_block * 16..free_block * 16 + 16].fill(0);
    let base = ghash(h, &a2, ct);
    // Blocks after the free one: remaining AD blocks, all ciphertext blocks, the length block.
    let after = a2.len().div_ceil(16) - free_block - 1 + ct.len().div_ceil(16) + 1;
    let coeff = h
        .pow(after as u128 + 1)
        .inverse()
        .ok_or(Error::SingularSystem)?;
    let x = (target + base) * coeff;
    a2[free_block * 16..free_block * 16 + 16].copy_from_slice(&x.to_block());
    Ok(a2)
}

/// J0 of AES-GCM for a 32-byte nonce: `GHASH_H(N ‖ 0^64 ‖ [256]_64)` (SP 800-38D §7.1).
pub fn j0_long_nonce(h: Gf128, nonce: &[u8; 32]) -> Gf128 {
    let acc = ghash_blocks(h, Gf128::ZERO, nonce);
    (acc + length_block(0, 32)) * h
}

/// For the key holder: a 32-byte nonce N2 ≠ `nonce` with the same J0, so every AES-GCM
/// ciphertext (and so every [`ZeroPrefixGcm`] ciphertext, zero block included) under `nonce`
/// also verifies under N2 with the same plaintext. `first_block` is N2's first half (must differ
/// from `nonce`'s). J0 = N_a·H^3 ⊕ N_b·H^2 ⊕ L·H, so N2_b = N_b ⊕ (N_a ⊕ N2_a)·H.
pub fn colliding_long_nonce(
    key: &[u8; 32],
    nonce: &[u8; 32],
    first_block: [u8; 16],
) -> Result<[u8; 32]> {
    let h = GcmKey::Aes256(*key).hash_key();
    let mut na = [0u8; 16];
    let mut nb = [0u8; 16];
    na.copy_from_slice(&nonce[..16]);
    nb.copy_from_slice(&nonce[16..]);
    if na == first_block {
        return Err(Error::Malformed(
            "the new nonce's first block must differ from the old one".into(),
        ));
    }
    let nb2 =
        Gf128::from_block(&nb) + (Gf128::from_block(&na) + Gf128::from_block(&first_block)) * h;
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&first_block);
    out[16..].copy_from_slice(&nb2.to_block());
    Ok(out)
}

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// NOT FOR USE: AES-256-CTR then HMAC-SHA-256 over `N ‖ A ‖ C ‖ le64|A| ‖ le64|C|`, with
/// *independent* keys (K_enc, K_mac). Not committing: see [`IndependentKeyEtm::reinterpret`].
pub struct IndependentKeyEtm {
    k_enc: [u8; 32],
    k_mac: [u8; 32],
}

impl IndependentKeyEtm {
    /// A scheme instance with independent encryption and MAC keys.
    pub fn new(k_enc: [u8; 32], k_mac: [u8; 32]) -> Self {
        IndependentKeyEtm { k_enc, k_mac }
    }

    fn mac(&self, nonce: &[u8; 16], ad: &[u8], ct: &[u8]) -> Result<HmacSha256> {
        let mut m = <HmacSha256 as hmac::KeyInit>::new_from_slice(&self.k_mac).map_err(|_| {
            Error::InvalidKeyLength {
                len: 32,
                expected: "32",
            }
        })?;
        m.update(nonce);
        m.update(ad);
        m.update(ct);
        m.update(&(ad.len() as u64).to_le_bytes());
        m.update(&(ct.len() as u64).to_le_bytes());
        Ok(m)
    }

    fn keystream(&self, nonce: &[u8; 16], data: &mut [u8]) {
        let mut c = Aes256Ctr::new((&self.k_enc).into(), nonce.into());
        c.apply_keystream(data);
    }

    /// Returns `C ‖ T` (T = 32-byte HMAC).
    pub fn seal(&self, nonce: &[u8; 16], ad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
        let mut c = pt.to_vec();
        self.keystream(nonce, &mut c);
        let t = self.mac(nonce, ad, &c)?.finalize().into_bytes();
        c.extend_from_slice(&t);
        Ok(c)
    }

    /// Verifies the HMAC (constant time), then decrypts.
    pub fn open(&self, nonce: &[u8; 16], ad: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        if data.len() < 32 {
            return Err(Error::Aead("ciphertext shorter than the tag".into()));
        }
        let (c, t) = data.split_at(data.len() - 32);
        self.mac(nonce, ad, c)?
            .verify_slice(t)
            .map_err(|_| aead_err("HMAC-SHA-256"))?;
        let mut m = c.to_vec();
        self.keystream(nonce, &mut m);
        Ok(m)
    }

    /// The attack: anyone holding K_mac picks any other K_enc2; the unchanged `C ‖ T` then opens
    /// under (K_enc2, K_mac) to `M ⊕ KS1 ⊕ KS2`. Returns that second scheme instance.
    pub fn reinterpret(&self, k_enc2: [u8; 32]) -> IndependentKeyEtm {
        IndependentKeyEtm::new(k_enc2, self.k_mac)
    }
}
