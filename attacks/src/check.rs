//! Which of several keys accept one (nonce, AD, ciphertext, tag)? The judge behind
//! `franking-attacks check`.
//!
//! Uses only the real RustCrypto AEAD crates (aes-gcm, chacha20poly1305, aes-gcm-siv), so it
//! is an independent judge of the forgeries this crate produces (Albertini et al., USENIX
//! Security 2022, eprint 2020/1456, §2: key commitment is exactly "at most one key accepts").

use aead::{Aead, KeyInit, Payload};
use serde::Serialize;

use crate::error::{Error, Result};

/// AEAD schemes [`open`] (and the `check` subcommand) can verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// AES-GCM with a 16- or 32-byte key and 12-byte nonce.
    AesGcm,
    /// ChaCha20-Poly1305 (RFC 8439), 32-byte key, 12-byte nonce.
    Chacha20Poly1305,
    /// XChaCha20-Poly1305, 32-byte key, 24-byte nonce.
    Xchacha20Poly1305,
    /// AES-GCM-SIV (RFC 8452) with a 16- or 32-byte key and 12-byte nonce.
    AesGcmSiv,
}

fn open_with<A: Aead + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    ad: &[u8],
    msg: &[u8],
    key_lens: &'static str,
    nonce_len: &'static str,
) -> Result<Option<Vec<u8>>> {
    let cipher = A::new_from_slice(key).map_err(|_| Error::InvalidKeyLength {
        len: key.len(),
        expected: key_lens,
    })?;
    let n = aead::Nonce::<A>::try_from(nonce).map_err(|_| Error::InvalidNonceLength {
        len: nonce.len(),
        expected: nonce_len,
    })?;
    Ok(cipher.decrypt(&n, Payload { msg, aad: ad }).ok())
}

/// Decrypts `ct ‖ tag` under `key` with the real crate for `scheme`; `Ok(None)` if the tag
/// is rejected, an error if the key or nonce has the wrong length for the scheme.
pub fn open(
    scheme: Scheme,
    key: &[u8],
    nonce: &[u8],
    ad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Option<Vec<u8>>> {
    if tag.len() != 16 {
        return Err(Error::InvalidTagLength { len: tag.len() });
    }
    let mut msg = Vec::with_capacity(ct.len() + 16);
    msg.extend_from_slice(ct);
    msg.extend_from_slice(tag);
    match (scheme, key.len()) {
        (Scheme::AesGcm, 16) => {
            open_with::<aes_gcm::Aes128Gcm>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::AesGcm, _) => {
            open_with::<aes_gcm::Aes256Gcm>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::AesGcmSiv, 16) => {
            open_with::<aes_gcm_siv::Aes128GcmSiv>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::AesGcmSiv, _) => {
            open_with::<aes_gcm_siv::Aes256GcmSiv>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::Chacha20Poly1305, _) => {
            open_with::<chacha20poly1305::ChaCha20Poly1305>(key, nonce, ad, &msg, "32", "12")
        }
        (Scheme::Xchacha20Poly1305, _) => {
            open_with::<chacha20poly1305::XChaCha20Poly1305>(key, nonce, ad, &msg, "32", "24")
        }
    }
}
