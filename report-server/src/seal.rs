//! Server-key encryption at rest (stamping secrets here; evidence in the moderation module).
//!
//! Uses franking-core's committing AEAD [`Aes256CtrBlake3`] with a fresh random nonce (the AEAD's 12 bytes) per
//! seal. The associated data binds each ciphertext to the row it belongs to (callers pass e.g. the
//! network id and key id), so a sealed value copied into another row fails to open.
//!
//! ```text
//! sealed = base64url( 0x01 ‖ N[12] ‖ C ‖ T[32] )
//! A      = "report-server seal/v1\0" ‖ be32(|purpose|) ‖ purpose ‖ context
//! ```
//! `purpose` is a short label (`"stamping-key"`, `"evidence"`, ...) and `context` the row binding.

use aead::{Aead, AeadCore, KeyInit, Nonce, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use franking_core::caead::Aes256CtrBlake3;
use zeroize::Zeroizing;

use crate::error::ApiError;

const FORMAT_VERSION: u8 = 1;
/// The AEAD's nonce length (12 bytes today). Random nonces under the one long-lived server key
/// collide with probability <= q^2 / 2^(8*NONCE_LEN+1): about 2^-41 after 2^28 seals.
const NONCE_LEN: usize =
    <<Aes256CtrBlake3 as AeadCore>::NonceSize as aead::array::typenum::Unsigned>::USIZE;
const TAG_LEN: usize = 32;
const AD_LABEL: &[u8] = b"report-server seal/v1\0";

/// The 32-byte server key that encrypts secrets at rest. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct ServerKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

impl ServerKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, ApiError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *k).map_err(|_| ApiError::Internal("rng failure".into()))?;
        Ok(Self(k))
    }

    /// Parse the base64url (no padding; padding tolerated) encoding of 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, ApiError> {
        let raw = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(s.trim().trim_end_matches('='))
                .map_err(|_| ApiError::Config("server key is not base64url".into()))?,
        );
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| ApiError::Config("server key must be exactly 32 bytes".into()))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The base64url encoding (for writing the dev key file). Secret.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0.as_slice()))
    }

    /// A 32-byte key derived from the server key for `context` (BLAKE3 `derive_key`; a fixed,
    /// globally unique context string per use, e.g. the audit checkpoint signing key).
    pub fn derive(&self, context: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(blake3::derive_key(context, &*self.0))
    }

    fn cipher(&self) -> Result<Aes256CtrBlake3, ApiError> {
        Aes256CtrBlake3::new_from_slice(&*self.0)
            .map_err(|_| ApiError::Internal("server key length".into()))
    }
}

fn associated_data(purpose: &str, context: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(AD_LABEL.len() + 4 + purpose.len() + context.len());
    a.extend_from_slice(AD_LABEL);
    a.extend_from_slice(&(purpose.len() as u32).to_be_bytes());
    a.extend_from_slice(purpose.as_bytes());
    a.extend_from_slice(context);
    a
}

/// Encrypt `plaintext` under the server key, bound to (`purpose`, `context`); returns base64url text
/// suitable for a TEXT column.
pub fn seal(
    key: &ServerKey,
    purpose: &str,
    context: &[u8],
    plaintext: &[u8],
) -> Result<String, ApiError> {
    let mut nonce = Nonce::<Aes256CtrBlake3>::default();
    getrandom::fill(&mut nonce).map_err(|_| ApiError::Internal("rng failure".into()))?;
    let ad = associated_data(purpose, context);
    let ct = key
        .cipher()?
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &ad,
            },
        )
        .map_err(|_| ApiError::Internal("seal failed".into()))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Decrypt a value made by [`seal`] with the same (`purpose`, `context`). Any failure (wrong key,
/// wrong row binding, tampering, bad encoding) is [`ApiError::Internal`]: stored data is the
/// server's responsibility, never client input.
pub fn open(
    key: &ServerKey,
    purpose: &str,
    context: &[u8],
    sealed: &str,
) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let raw = URL_SAFE_NO_PAD
        .decode(sealed)
        .map_err(|_| ApiError::Internal("sealed value is not base64url".into()))?;
    if raw.len() < 1 + NONCE_LEN + TAG_LEN || raw[0] != FORMAT_VERSION {
        return Err(ApiError::Internal("sealed value has a bad format".into()));
    }
    let nonce = Nonce::<Aes256CtrBlake3>::try_from(&raw[1..1 + NONCE_LEN])
        .map_err(|_| ApiError::Internal("sealed nonce".into()))?;
    let ad = associated_data(purpose, context);
    let pt = key
        .cipher()?
        .decrypt(
            &nonce,
            Payload {
                msg: &raw[1 + NONCE_LEN..],
                aad: &ad,
            },
        )
        .map_err(|_| {
            ApiError::Internal(format!(
                "sealed {purpose} value does not open (wrong server key or tampered row)"
            ))
        })?;
    Ok(Zeroizing::new(pt))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let k = ServerKey::generate().unwrap();
        let s = seal(&k, "evidence", b"case-1", b"hello").unwrap();
        assert_eq!(&*open(&k, "evidence", b"case-1", &s).unwrap(), b"hello");
        assert!(open(&k, "evidence", b"case-2", &s).is_err());
        assert!(open(&k, "stamping-key", b"case-1", &s).is_err());
        let other = ServerKey::generate().unwrap();
        assert!(open(&other, "evidence", b"case-1", &s).is_err());
        let mut raw = URL_SAFE_NO_PAD.decode(&s).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(open(&k, "evidence", b"case-1", &URL_SAFE_NO_PAD.encode(raw)).is_err());
        // Two seals of the same value differ (random nonce).
        assert_ne!(s, seal(&k, "evidence", b"case-1", b"hello").unwrap());
        assert_eq!(format!("{k:?}"), "ServerKey(<redacted>)");
        let k2 = ServerKey::from_base64(&k.to_base64()).unwrap();
        assert_eq!(&*open(&k2, "evidence", b"case-1", &s).unwrap(), b"hello");
    }
}
