//! Committing authenticated encryption (CAEAD).
//!
//! Three schemes, all with 256-bit keys and 256-bit tags, all implementing RustCrypto's
//! [`aead::KeyInit`] and [`aead::AeadInOut`] (so [`aead::Aead`]'s `encrypt`/`decrypt` work unchanged,
//! with the tag appended to the ciphertext):
//!
//! | type | nonce | level | compact | use it for |
//! |---|---|---|---|---|
//! | [`CtrHmacSha256`] | 12 B | CMT-4 | yes | conservative franking suite (SHA-2 only) |
//! | [`Aes256CtrBlake3`] | 12 B | CMT-4 | yes | the fast franking suite, long messages, attachments |
//! | [`CtxAes256Gcm`] | 12 B | CMT-4 | **no** | committing GCM over whole ciphertexts, not franking |
//!
//! Notation (Bellare–Hoang, Eurocrypt 2022, eprint 2022/268): K key, N nonce, A associated data,
//! M message, C ciphertext, T tag. *CMT-1*: a ciphertext commits to K. *CMT-4*: it commits to
//! (K, N, A, M). *Compactly committing* (Grubbs–Lu–Ristenpart, CRYPTO 2017, eprint 2017/664, §3):
//! the tag T alone binds (K, N, A, M), so a party that stored only T can later check a revealed opening
//! — the property message franking needs. See `docs/committing-aead.md` for every construction in
//! spec notation, its security argument and bound.
//!
//! The crate's own traits: [`CommittingAead`] states a scheme's level and exposes the commitment bytes
//! of a ciphertext; [`CompactCommitment`] (only for compact schemes) checks an opening against a
//! commitment in constant time.
//!
//! ```
//! use aead::{Aead, KeyInit, Payload};
//! use franking_core::caead::{Aes256CtrBlake3, CommittingAead, CompactCommitment};
//!
//! let key = [7u8; 32];
//! let nonce = [1u8; 12]; // distinct per message under one key (a counter, or random)
//! let cipher = Aes256CtrBlake3::new(&key.into());
//! let sealed = cipher
//!     .encrypt(&nonce.into(), Payload { msg: b"hello", aad: b"header" })
//!     .expect("within length limits");
//!
//! // The 32-byte tag alone commits to (key, nonce, AD, message): a platform can keep just this...
//! let commitment = Aes256CtrBlake3::commitment(&sealed)?.to_vec();
//! // ...and later check an opening revealed by the recipient.
//! Aes256CtrBlake3::verify_opening(&key.into(), &nonce.into(), b"header", b"hello", &commitment)?;
//! assert!(
//!     Aes256CtrBlake3::verify_opening(&key.into(), &nonce.into(), b"header", b"HELLO", &commitment)
//!         .is_err()
//! );
//!
//! // Decryption checks the tag before releasing any plaintext.
//! let opened = cipher.decrypt(&nonce.into(), Payload { msg: &sealed, aad: b"header" });
//! assert_eq!(opened.as_deref(), Ok(&b"hello"[..]));
//! assert!(cipher.decrypt(&nonce.into(), Payload { msg: &sealed, aad: b"other" }).is_err());
//! # Ok::<(), franking_core::Error>(())
//! ```

mod ctr_blake3;
mod ctr_hmac;
mod ctx_gcm;
mod etm;
mod nonce_ctr;

pub use ctr_blake3::Aes256CtrBlake3;
pub use ctr_hmac::CtrHmacSha256;
pub use ctx_gcm::CtxAes256Gcm;

use aead::{AeadInOut, Key, KeyInit, Nonce, array::typenum::Unsigned};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;

/// Length in bytes of every scheme's key.
pub const KEY_LEN: usize = 32;
/// Length in bytes of every scheme's tag (and so of a compact commitment).
pub const TAG_LEN: usize = 32;

/// The commitment notion a scheme meets (Bellare–Hoang, Eurocrypt 2022, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitmentLevel {
    /// The ciphertext commits to the key only.
    Cmt1,
    /// The ciphertext commits to the key, nonce, associated data and message.
    Cmt4,
}

/// A committing AEAD: RustCrypto's AEAD traits plus a statement of what the ciphertext commits to.
pub trait CommittingAead: KeyInit + AeadInOut {
    /// Human-readable scheme name, as used in docs and logs.
    const NAME: &'static str;
    /// What a ciphertext commits to.
    const LEVEL: CommitmentLevel;
    /// Whether the tag alone is a commitment (see [`CompactCommitment`]).
    const COMPACT: bool;
    /// Longest plaintext, in bytes, the scheme encrypts; longer inputs are refused with an error.
    const P_MAX: u64;

    /// The commitment bytes of a ciphertext in `aead::Aead` layout (ciphertext ‖ tag): the tag.
    ///
    /// For a non-compact scheme these bytes only commit together with the whole ciphertext.
    fn commitment(ciphertext_and_tag: &[u8]) -> Result<&[u8], Error> {
        let tag_len = Self::TagSize::USIZE;
        let split = ciphertext_and_tag
            .len()
            .checked_sub(tag_len)
            .ok_or(Error::InvalidLength {
                what: "ciphertext with tag",
                expected: tag_len,
                got: ciphertext_and_tag.len(),
            })?;
        Ok(&ciphertext_and_tag[split..])
    }
}

/// A compactly committing AEAD: the tag alone binds (K, N, A, M).
///
/// Implemented only by schemes whose tag is a collision-resistant function of (K, N, A, C), which is
/// what lets a franking platform stamp the 32-byte tag and verify a revealed opening later.
pub trait CompactCommitment: CommittingAead {
    /// Check, in constant time, that `commitment` is the tag of `plaintext` under (key, nonce, ad).
    ///
    /// Recomputes the ciphertext and tag from the opening; never returns the plaintext's ciphertext.
    fn verify_opening(
        key: &Key<Self>,
        nonce: &Nonce<Self>,
        associated_data: &[u8],
        plaintext: &[u8],
        commitment: &[u8],
    ) -> Result<(), Error> {
        if commitment.len() != Self::TagSize::USIZE {
            return Err(Error::InvalidLength {
                what: "commitment",
                expected: Self::TagSize::USIZE,
                got: commitment.len(),
            });
        }
        if plaintext.len() as u64 > Self::P_MAX {
            return Err(Error::MessageTooLong {
                len: plaintext.len() as u64,
                max: Self::P_MAX,
            });
        }
        let scheme = Self::new(key);
        let mut buffer = Zeroizing::new(plaintext.to_vec());
        let tag = scheme
            .encrypt_inout_detached(nonce, associated_data, buffer.as_mut_slice().into())
            .map_err(|_| Error::CommitmentMismatch)?;
        if bool::from(tag.as_slice().ct_eq(commitment)) {
            Ok(())
        } else {
            Err(Error::CommitmentMismatch)
        }
    }
}
