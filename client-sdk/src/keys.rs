//! JSON key files: the session key of a conversation and a platform stamping key.
//!
//! ```json
//! {"kind":"session","key":"<32 bytes, base64url>"}
//! {"kind":"platform","key_id":1,"mac_key":"<32 bytes>","signing_seed":"<32 bytes, optional>",
//!  "verifying_key":"<Ed25519 public key, written when signing, informational>"}
//! ```
//!
//! These files hold secrets in the clear: they are meant for tests, scripts and development relays.
//! Production platforms keep stamping keys in their secret store.
//!
//! ```
//! use client_sdk::frank::{KeyId, StampKey};
//! use client_sdk::keys::{platform_key_from_json, platform_key_to_json};
//!
//! let key = StampKey::generate(KeyId(1), true)?;
//! let json = platform_key_to_json(&key)?;
//! let back = platform_key_from_json(&json)?;
//! assert_eq!(back.verifying_key(), key.verifying_key());
//! # Ok::<(), client_sdk::Error>(())
//! ```

use franking_core::frank::{KeyId, SessionKey, StampKey, VerifyingKey};
use zeroize::Zeroize;

use crate::{Error, Result};
use franking_core::util::{b64_decode_array, b64_encode};

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum KeyFile {
    Session {
        key: String,
    },
    Platform {
        key_id: u32,
        mac_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signing_seed: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verifying_key: Option<String>,
    },
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        match self {
            KeyFile::Session { key } => key.zeroize(),
            KeyFile::Platform {
                mac_key,
                signing_seed,
                ..
            } => {
                mac_key.zeroize();
                signing_seed.zeroize();
            }
        }
    }
}

fn parse(json: &str) -> Result<KeyFile> {
    serde_json::from_str(json).map_err(|e| Error::InvalidKey {
        what: "key file",
        reason: e.to_string(),
    })
}

fn to_json(file: &KeyFile) -> Result<String> {
    serde_json::to_string_pretty(file).map_err(|e| Error::Malformed {
        what: "key file",
        reason: e.to_string(),
    })
}

/// The JSON key file of a session key.
pub fn session_key_to_json(key: &SessionKey) -> Result<String> {
    to_json(&KeyFile::Session {
        key: b64_encode(key.expose_secret()),
    })
}

/// Read a session key file.
pub fn session_key_from_json(json: &str) -> Result<SessionKey> {
    match &parse(json)? {
        KeyFile::Session { key } => Ok(SessionKey::from_bytes(*b64_decode_array::<32>(
            "session key",
            key,
        )?)),
        KeyFile::Platform { .. } => Err(Error::InvalidKey {
            what: "session key file",
            reason: "this is a platform key file".into(),
        }),
    }
}

/// The JSON key file of a platform stamping key (secret: MAC key and signing seed).
pub fn platform_key_to_json(key: &StampKey) -> Result<String> {
    to_json(&KeyFile::Platform {
        key_id: key.id().0,
        mac_key: b64_encode(key.expose_mac_key()),
        signing_seed: key.expose_signing_seed().map(|s| b64_encode(&*s)),
        verifying_key: key.verifying_key().map(|vk| b64_encode(vk.as_bytes())),
    })
}

/// Read a platform key file.
pub fn platform_key_from_json(json: &str) -> Result<StampKey> {
    match &parse(json)? {
        KeyFile::Platform {
            key_id,
            mac_key,
            signing_seed,
            ..
        } => {
            let mac = b64_decode_array::<32>("platform MAC key", mac_key)?;
            let seed = signing_seed
                .as_deref()
                .map(|s| b64_decode_array::<32>("platform signing seed", s))
                .transpose()?;
            Ok(StampKey::from_bytes(KeyId(*key_id), *mac, seed.map(|s| *s)))
        }
        KeyFile::Session { .. } => Err(Error::InvalidKey {
            what: "platform key file",
            reason: "this is a session key file".into(),
        }),
    }
}

/// Parse an Ed25519 verifying key (32 bytes, base64url) as published by a platform that signs.
pub fn verifying_key_from_b64(text: &str) -> Result<VerifyingKey> {
    let bytes = b64_decode_array::<32>("platform verifying key", text)?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| Error::InvalidKey {
        what: "platform verifying key",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = SessionKey::generate().unwrap();
        assert_eq!(
            session_key_from_json(&session_key_to_json(&s).unwrap()).unwrap(),
            s
        );
        for sign in [false, true] {
            let p = StampKey::generate(KeyId(7), sign).unwrap();
            let q = platform_key_from_json(&platform_key_to_json(&p).unwrap()).unwrap();
            assert_eq!(q.id(), p.id());
            assert_eq!(q.expose_mac_key(), p.expose_mac_key());
            assert_eq!(q.verifying_key(), p.verifying_key());
        }
        assert!(session_key_from_json("{\"kind\":\"session\",\"key\":\"AA\"}").is_err());
        assert!(platform_key_from_json(&session_key_to_json(&s).unwrap()).is_err());
    }
}
