//! Franking suites: which compactly committing AEAD seals the body and wraps the franking key.

use aead::{AeadInOut, KeyInit};

use crate::Error;
use crate::caead::{Aes256CtrBlake3, CompactCommitment, CtrHmacSha256};
use crate::frank::constants::{COMMITMENT_LEN, KEY_LEN, NONCE_LEN, TAG_LEN};

/// A franking suite: one CMT-4, compactly committing AEAD used for both the body and the key wrap.
///
/// Only compactly committing schemes may be franking suites; [`crate::caead::CtxAes256Gcm`] is
/// deliberately absent. Unknown ids are refused with [`Error::UnsupportedSuite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[repr(u8)]
pub enum Suite {
    /// Suite 1: [`CtrHmacSha256`] (AES-256-CTR + HMAC-SHA-256), the conservative SHA-2-only suite.
    CtrHmacSha256 = 1,
    /// Suite 2: [`Aes256CtrBlake3`] (AES-256-CTR + BLAKE3), the fast default suite.
    #[default]
    Aes256CtrBlake3 = 2,
}

impl Suite {
    /// Every suite this library implements, in id order.
    pub const ALL: [Suite; 2] = [Suite::CtrHmacSha256, Suite::Aes256CtrBlake3];

    /// The suite's one-byte wire id.
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// The suite for a wire id, or [`Error::UnsupportedSuite`].
    pub fn from_id(id: u8) -> Result<Self, Error> {
        match id {
            1 => Ok(Suite::CtrHmacSha256),
            2 => Ok(Suite::Aes256CtrBlake3),
            other => Err(Error::UnsupportedSuite(other)),
        }
    }

    /// The CAEAD's name as used in docs (`"CtrHmacSha256"`, `"Aes256CtrBlake3"`).
    pub const fn name(self) -> &'static str {
        match self {
            Suite::CtrHmacSha256 => "CtrHmacSha256",
            Suite::Aes256CtrBlake3 => "Aes256CtrBlake3",
        }
    }

    /// The suite's CAEAD keyed with `key` (derives the per-key subkeys once).
    pub(crate) fn cipher(self, key: &[u8; KEY_LEN]) -> Cipher {
        match self {
            Suite::CtrHmacSha256 => Cipher::CtrHmacSha256(CtrHmacSha256::new(key.into())),
            Suite::Aes256CtrBlake3 => Cipher::Aes256CtrBlake3(Aes256CtrBlake3::new(key.into())),
        }
    }

    /// Encrypt `buffer` in place under (key, nonce, ad); return the 32-byte tag.
    pub(crate) fn seal(
        self,
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        self.cipher(key).seal(nonce, ad, buffer)
    }

    /// Verify `tag` and decrypt `buffer` in place; on failure nothing is decrypted.
    pub(crate) fn open(
        self,
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        self.cipher(key).open(nonce, ad, buffer, tag)
    }

    /// Check in constant time that `commitment` is the tag of `plaintext` under (key, nonce, ad).
    pub(crate) fn verify_opening(
        self,
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        plaintext: &[u8],
        commitment: &[u8; COMMITMENT_LEN],
    ) -> Result<(), Error> {
        let r = match self {
            Suite::CtrHmacSha256 => {
                CtrHmacSha256::verify_opening(key.into(), nonce.into(), ad, plaintext, commitment)
            }
            Suite::Aes256CtrBlake3 => {
                Aes256CtrBlake3::verify_opening(key.into(), nonce.into(), ad, plaintext, commitment)
            }
        };
        r.map_err(|_| Error::CommitmentMismatch)
    }
}

/// A suite's CAEAD with its key schedule, reusable across messages under one key.
#[derive(Clone)]
pub(crate) enum Cipher {
    CtrHmacSha256(CtrHmacSha256),
    Aes256CtrBlake3(Aes256CtrBlake3),
}

impl Cipher {
    /// Encrypt `buffer` in place; return the 32-byte tag.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        let len = buffer.len();
        let tag = match self {
            Cipher::CtrHmacSha256(c) => c.encrypt_inout_detached(nonce.into(), ad, buffer.into()),
            Cipher::Aes256CtrBlake3(c) => c.encrypt_inout_detached(nonce.into(), ad, buffer.into()),
        }
        .map_err(|_| Error::MessageTooLong {
            len: len as u64,
            max: crate::frank::MAX_PLAINTEXT_LEN as u64,
        })?;
        Ok(tag.into())
    }

    /// Verify `tag` and decrypt `buffer` in place; on failure nothing is decrypted.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        match self {
            Cipher::CtrHmacSha256(c) => {
                c.decrypt_inout_detached(nonce.into(), ad, buffer.into(), tag.into())
            }
            Cipher::Aes256CtrBlake3(c) => {
                c.decrypt_inout_detached(nonce.into(), ad, buffer.into(), tag.into())
            }
        }
        .map_err(|_| Error::AuthenticationFailed)
    }
}

impl serde::Serialize for Suite {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.id())
    }
}

impl<'de> serde::Deserialize<'de> for Suite {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = u8::deserialize(d)?;
        Suite::from_id(id).map_err(serde::de::Error::custom)
    }
}
