//! The single error type of the `attacks` crate.
//!
//! Every fallible operation (parsing CLI input, solving for a collision, laying out a
//! polyglot) returns [`Error`] so that untrusted input never panics.

use std::path::PathBuf;

/// Errors returned by the attacks and by the `franking-attacks` CLI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A hex-encoded argument (named by `what`) could not be decoded.
    #[error("invalid hex in {what}: {source}")]
    InvalidHex {
        /// Which argument was malformed (e.g. "--key").
        what: String,
        /// The underlying decoding error.
        source: hex::FromHexError,
    },
    /// A key had a length the scheme does not accept.
    #[error("invalid key length {len} bytes (expected {expected})")]
    InvalidKeyLength {
        /// The length that was supplied.
        len: usize,
        /// A human-readable list of accepted lengths.
        expected: &'static str,
    },
    /// A nonce had a length the scheme does not accept.
    #[error("invalid nonce length {len} bytes (expected {expected})")]
    InvalidNonceLength {
        /// The length that was supplied.
        len: usize,
        /// A human-readable list of accepted lengths.
        expected: &'static str,
    },
    /// A tag was not 16 bytes.
    #[error("invalid tag length {len} bytes (expected 16)")]
    InvalidTagLength {
        /// The length that was supplied.
        len: usize,
    },
    /// The attack needs more keys than were given.
    #[error("need at least {needed} keys, got {got}")]
    TooFewKeys {
        /// Minimum number of keys for this attack.
        needed: usize,
        /// Number of keys supplied.
        got: usize,
    },
    /// Two keys have the same GHASH key H = E_K(0), so no polynomial separates them
    /// (normally because the same key was given twice).
    #[error("keys {first} and {second} have the same GHASH key H (duplicate key?)")]
    DuplicateHashKey {
        /// Index of the first key.
        first: usize,
        /// Index of the second key.
        second: usize,
    },
    /// Keys of different lengths were mixed where the attack needs one key size.
    #[error("all keys must have the same length for this attack")]
    MixedKeyLengths,
    /// The free-block position is outside the ciphertext.
    #[error("free block index {index} out of range for {blocks} ciphertext blocks")]
    FreeBlockOutOfRange {
        /// Requested index.
        index: usize,
        /// Number of ciphertext blocks.
        blocks: usize,
    },
    /// The linear system for the free block(s) has no unique solution
    /// (e.g. H1^e = H2^e); pick another free-block position.
    #[error("the collision equation is singular for this key pair and block position")]
    SingularSystem,
    /// A buffer is too large for GCM (more than 2^32 - 2 blocks) or for a length field.
    #[error("input too long: {what}")]
    TooLong {
        /// What exceeded its limit.
        what: &'static str,
    },
    /// An input image could not be used for the polyglot.
    #[error("unsupported image: {0}")]
    UnsupportedImage(String),
    /// An image failed to decode or encode.
    #[error("image error: {0}")]
    Image(#[from] image::ImageError),
    /// No nonce in the searched range made the overlapping header bytes line up.
    #[error("no suitable nonce found after {tries} tries")]
    NonceSearchExhausted {
        /// Number of nonces tried.
        tries: u64,
    },
    /// An AEAD implementation rejected an encryption or decryption unexpectedly.
    #[error("AEAD operation failed: {0}")]
    Aead(String),
    /// A forged ciphertext failed the self-check against the real AEAD crate.
    #[error("self-check failed: forged ciphertext does not verify under key {index}")]
    SelfCheckFailed {
        /// Index of the key that rejected the forgery.
        index: usize,
    },
    /// An unknown AEAD scheme name was given.
    #[error("unknown scheme {0:?}")]
    UnknownScheme(String),
    /// A test-vector or parameter file was malformed.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Two keys give the same Poly1305 `r` (or an `r` is zero), so no ciphertext separates
    /// them in the ChaCha20-Poly1305 collision (normally a repeated key).
    #[error("keys {first} and {second} give the same (or a zero) Poly1305 r (duplicate key?)")]
    DuplicateOneTimeKey {
        /// Index of the first key.
        first: usize,
        /// Index of the second key.
        second: usize,
    },
    /// A randomized collision search tried its whole budget without a solution.
    #[error("collision search gave up after {tries} candidates")]
    CollisionSearchExhausted {
        /// Number of candidates tried.
        tries: u64,
    },
    /// JSON serialisation failed.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

/// Convenience alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;
