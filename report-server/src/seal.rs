//! Server-key encryption at rest (stamping secrets here; evidence in the moderation module).
//!
//! Uses franking-core's committing AEAD [`Aes256CtrBlake3`] with a fresh random nonce (the AEAD's 12 bytes) per
//! seal. The associated data binds each ciphertext to the row it belongs to (callers pass e.g. the
//! network id and key id), so a sealed value copied into another row fails to open.
//!
//! ```text
//! sealed = base64url( 0x02 ‖ key_id[8] ‖ N[12] ‖ C ‖ T[32] )
//! A      = "report-server seal/v1\0" ‖ be32(|purpose|) ‖ purpose ‖ context
//! key_id = BLAKE3-derive_key("franking report-server server-key id v1", server key)[0..8]
//! ```
//! `purpose` is a short label (`"stamping-key"`, `"evidence"`, ...) and `context` the row binding.
//! Values sealed before key ids existed (`0x01 ‖ N ‖ C ‖ T`) still open; rotation re-seals them.
//!
//! **Rotation** ([`crate::rotation`]): a [`ServerKey`] may carry the *previous* key as well. It
//! seals under the current key only and opens a value under whichever of the two its key id
//! names, so instances keep reading while `report-server rotate-server-key` re-seals every
//! column of [`SEALED_COLUMNS`] under the new key.

use aead::{Aead, AeadCore, KeyInit, Nonce, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use franking_core::caead::Aes256CtrBlake3;
use zeroize::Zeroizing;

use crate::error::ApiError;

/// Sealed values with a key id (current).
const FORMAT_VERSION: u8 = 2;
/// Sealed values from before key ids (opened with the current, then the previous key).
const FORMAT_V1: u8 = 1;
/// Bytes of a key id.
pub const KEY_ID_LEN: usize = 8;
const KEY_ID_CONTEXT: &str = "franking report-server server-key id v1";
/// The AEAD's nonce length (12 bytes today). Random nonces under the one long-lived server key
/// collide with probability <= q^2 / 2^(8*NONCE_LEN+1): about 2^-41 after 2^28 seals.
const NONCE_LEN: usize =
    <<Aes256CtrBlake3 as AeadCore>::NonceSize as aead::array::typenum::Unsigned>::USIZE;
const TAG_LEN: usize = 32;
const AD_LABEL: &[u8] = b"report-server seal/v1\0";

/// Every column that holds [`seal`]ed values: what server-key rotation re-seals and verifies.
/// `tests/rotation.rs` fails if a migration adds a sealed column that is not listed here, and
/// `rotation::reseal_column` handles each entry (a new entry needs its row context there).
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "server_meta",
        column: "value",
        purpose: "key-check",
    },
    SealedColumn {
        table: "stamping_keys",
        column: "secret_sealed",
        purpose: crate::keys::SEAL_PURPOSE,
    },
    SealedColumn {
        table: "evidence",
        column: "sealed",
        purpose: crate::evidence::SEAL_PURPOSE,
    },
    SealedColumn {
        table: "attachment_chunks",
        column: "sealed",
        purpose: crate::attachments::SEAL_PURPOSE,
    },
    SealedColumn {
        table: "webhook_endpoints",
        column: "secret_sealed",
        purpose: crate::webhooks::endpoints::SEAL_PURPOSE,
    },
    SealedColumn {
        table: "webhook_endpoints",
        column: "old_secret_sealed",
        purpose: crate::webhooks::endpoints::SEAL_PURPOSE,
    },
];

/// A database column of sealed values (`server_meta.value` only in its `server_key_check` row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    /// Table name.
    pub table: &'static str,
    /// Column name.
    pub column: &'static str,
    /// The purpose label its values are sealed under.
    pub purpose: &'static str,
}

/// The public identifier of a server key (first 8 bytes of a BLAKE3 key derivation), stored in
/// every sealed value so that two keys can coexist during a rotation. Reveals nothing useful about
/// the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl core::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The 32-byte server key that encrypts secrets at rest, and optionally the previous key (still
/// opened, never used to seal) while a rotation runs. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct ServerKey {
    current: Zeroizing<[u8; 32]>,
    previous: Option<Zeroizing<[u8; 32]>>,
}

impl core::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

fn key_id_of(key: &[u8; 32]) -> KeyId {
    let d = Zeroizing::new(blake3::derive_key(KEY_ID_CONTEXT, key));
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&d[..KEY_ID_LEN]);
    KeyId(id)
}

fn cipher_of(key: &[u8; 32]) -> Result<Aes256CtrBlake3, ApiError> {
    Aes256CtrBlake3::new_from_slice(key).map_err(|_| ApiError::Internal("server key length".into()))
}

impl ServerKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            current: Zeroizing::new(bytes),
            previous: None,
        }
    }

    /// This key, also opening values sealed under `previous` (its current key) during a
    /// rotation. Config error if both are the same key.
    pub fn with_previous(mut self, previous: &ServerKey) -> Result<Self, ApiError> {
        if previous.id() == self.id() {
            return Err(ApiError::Config(
                "the previous server key is the same key as the server key".into(),
            ));
        }
        self.previous = Some(previous.current.clone());
        Ok(self)
    }

    /// This key without the previous one (to verify that everything opens under it alone).
    pub fn without_previous(&self) -> Self {
        Self {
            current: self.current.clone(),
            previous: None,
        }
    }

    /// The id of the current key.
    pub fn id(&self) -> KeyId {
        key_id_of(&self.current)
    }

    /// The id of the previous key, if one is configured.
    pub fn previous_id(&self) -> Option<KeyId> {
        self.previous.as_ref().map(|k| key_id_of(k))
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, ApiError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *k).map_err(|_| ApiError::Internal("rng failure".into()))?;
        Ok(Self::from_bytes(*k))
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
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.current.as_slice()))
    }

    /// A 32-byte key derived from the server key for `context` (BLAKE3 `derive_key`; a fixed,
    /// globally unique context string per use, e.g. the audit checkpoint signing key).
    pub fn derive(&self, context: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(blake3::derive_key(context, &*self.current))
    }

    /// The keys that may open a value: by key id, or (for key-id-less v1 values) all in turn.
    fn opening_keys(&self, id: Option<KeyId>) -> Vec<&[u8; 32]> {
        let all = std::iter::once(&*self.current).chain(self.previous.as_deref());
        match id {
            None => all.collect(),
            Some(id) => all.filter(|k| key_id_of(k) == id).collect(),
        }
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
    let ct = cipher_of(&key.current)?
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &ad,
            },
        )
        .map_err(|_| ApiError::Internal("seal failed".into()))?;
    let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + ct.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&key.id().0);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// The key id a sealed value names (`None` for a value sealed before key ids, or not a sealed
/// value at all).
pub fn sealed_key_id(sealed: &str) -> Option<KeyId> {
    let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if raw.len() < 1 + KEY_ID_LEN || raw[0] != FORMAT_VERSION {
        return None;
    }
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&raw[1..1 + KEY_ID_LEN]);
    Some(KeyId(id))
}

/// Decrypt a value made by [`seal`] with the same (`purpose`, `context`), under the key its key
/// id names (the current or the previous key). Any failure (unknown key id, wrong key, wrong row
/// binding, tampering, bad encoding) is [`ApiError::Internal`]: stored data is the server's
/// responsibility, never client input.
pub fn open(
    key: &ServerKey,
    purpose: &str,
    context: &[u8],
    sealed: &str,
) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let raw = URL_SAFE_NO_PAD
        .decode(sealed)
        .map_err(|_| ApiError::Internal("sealed value is not base64url".into()))?;
    let (id, body) = match raw.split_first() {
        Some((&FORMAT_VERSION, rest)) if rest.len() >= KEY_ID_LEN => {
            let (id, body) = rest.split_at(KEY_ID_LEN);
            let mut k = [0u8; KEY_ID_LEN];
            k.copy_from_slice(id);
            (Some(KeyId(k)), body)
        }
        Some((&FORMAT_V1, rest)) => (None, rest),
        _ => return Err(ApiError::Internal("sealed value has a bad format".into())),
    };
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(ApiError::Internal("sealed value has a bad format".into()));
    }
    let keys = key.opening_keys(id);
    if let (Some(id), true) = (id, keys.is_empty()) {
        return Err(ApiError::Internal(format!(
            "sealed {purpose} value is under server key {id}, which is neither the server key \
             nor the previous server key"
        )));
    }
    let nonce = Nonce::<Aes256CtrBlake3>::try_from(&body[..NONCE_LEN])
        .map_err(|_| ApiError::Internal("sealed nonce".into()))?;
    let ad = associated_data(purpose, context);
    for k in keys {
        let payload = Payload {
            msg: &body[NONCE_LEN..],
            aad: &ad,
        };
        if let Ok(pt) = cipher_of(k)?.decrypt(&nonce, payload) {
            return Ok(Zeroizing::new(pt));
        }
    }
    Err(ApiError::Internal(format!(
        "sealed {purpose} value does not open (wrong server key or tampered row)"
    )))
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

    #[test]
    fn key_ids_and_the_previous_key() {
        let old = ServerKey::generate().unwrap();
        let new = ServerKey::generate().unwrap();
        assert_ne!(old.id(), new.id());
        let s_old = seal(&old, "evidence", b"c", b"old").unwrap();
        assert_eq!(sealed_key_id(&s_old), Some(old.id()));
        // Only the new key: the old value names an unknown key.
        let e = open(&new, "evidence", b"c", &s_old)
            .unwrap_err()
            .to_string();
        assert!(e.contains("neither the server key nor the previous"), "{e}");
        // New key with the old one as previous: opens old values, seals under the new key.
        let both = new.clone().with_previous(&old).unwrap();
        assert_eq!(both.previous_id(), Some(old.id()));
        assert_eq!(&*open(&both, "evidence", b"c", &s_old).unwrap(), b"old");
        let s_new = seal(&both, "evidence", b"c", b"new").unwrap();
        assert_eq!(sealed_key_id(&s_new), Some(new.id()));
        assert_eq!(&*open(&new, "evidence", b"c", &s_new).unwrap(), b"new");
        assert!(open(&both.without_previous(), "evidence", b"c", &s_old).is_err());
        assert!(new.clone().with_previous(&new).is_err());
    }

    #[test]
    fn values_without_key_id_still_open() {
        // A v1 value (0x01 ‖ N ‖ C ‖ T), as sealed before key ids.
        let old = ServerKey::generate().unwrap();
        let v2 = URL_SAFE_NO_PAD
            .decode(seal(&old, "evidence", b"c", b"v1").unwrap())
            .unwrap();
        let mut v1 = vec![FORMAT_V1];
        v1.extend_from_slice(&v2[1 + KEY_ID_LEN..]);
        let v1 = URL_SAFE_NO_PAD.encode(v1);
        assert_eq!(sealed_key_id(&v1), None);
        assert_eq!(&*open(&old, "evidence", b"c", &v1).unwrap(), b"v1");
        let new = ServerKey::generate().unwrap();
        assert!(open(&new, "evidence", b"c", &v1).is_err());
        let both = new.with_previous(&old).unwrap();
        assert_eq!(&*open(&both, "evidence", b"c", &v1).unwrap(), b"v1");
    }
}
