//! The crate's one error type.
//!
//! Variants name the precise reason an operation was refused so callers (the SDK, the report server)
//! can map them to user-facing codes. Authentication failures are deliberately opaque: they never say
//! *which* byte or field was wrong.

/// Everything that can go wrong in `franking-core`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ciphertext, tag, key, nonce or associated data did not authenticate. Nothing was decrypted.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The message is longer than the scheme's maximum (see each scheme's `P_MAX`).
    #[error("message too long: {len} bytes exceeds the limit of {max}")]
    MessageTooLong {
        /// Length that was supplied.
        len: u64,
        /// Largest length the scheme accepts.
        max: u64,
    },
    /// A fixed-size field had the wrong length.
    #[error("invalid length for {what}: expected {expected} bytes, got {got}")]
    InvalidLength {
        /// Which field.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Supplied length.
        got: usize,
    },
    /// An opening (key, nonce, associated data, plaintext) does not match the commitment.
    #[error("opening does not match the commitment")]
    CommitmentMismatch,
}
