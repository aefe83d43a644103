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
    /// Encoded input (binary or JSON) is not a well-formed object: truncated, trailing bytes, a field
    /// of the wrong size, an empty or over-long identifier, non-canonical ordering, bad base64, ...
    #[error("malformed input: {what}")]
    Malformed {
        /// Which field or rule was violated.
        what: &'static str,
    },
    /// The wire-format version byte is not one this library implements.
    #[error("unsupported wire-format version {0}")]
    UnsupportedVersion(u8),
    /// The suite id is not a franking suite this library implements.
    #[error("unsupported suite {0}")]
    UnsupportedSuite(u8),
    /// A stamp names a key id that the key ring does not hold.
    #[error("unknown stamping key id {0}")]
    UnknownKeyId(u32),
    /// A stamp names a key that was retired longer ago than the key ring's grace period.
    #[error("stamping key {0} was retired beyond the verification window")]
    KeyRetired(u32),
    /// The stamp (HMAC, or Ed25519 signature when present) does not verify over (commitment, context).
    #[error("stamp does not verify")]
    BadStamp,
    /// The reporter is not a recipient in the platform-asserted context.
    #[error("reporter is not a recipient of the message")]
    ReporterNotRecipient,
    /// The message timestamp lies outside the reporting window (too old, or too far in the future).
    #[error("message timestamp is outside the reporting window")]
    OutsideWindow,
    /// An earlier message attached to a report is not from the same conversation (or is newer).
    #[error("earlier message is not from the reported conversation")]
    NotSameConversation,
    /// A key ring already holds a key with this id.
    #[error("duplicate stamping key id {0}")]
    DuplicateKeyId(u32),
    /// The operating system's random number generator failed.
    #[error("random number generator failure")]
    Randomness,
}

impl Error {
    /// A stable, machine-readable code for this error (snake case, never changes between releases).
    ///
    /// The report server maps these to HTTP 4xx responses; see `docs/protocol.md` §Rejections.
    pub fn code(&self) -> &'static str {
        match self {
            Error::AuthenticationFailed => "authentication_failed",
            Error::MessageTooLong { .. } => "message_too_long",
            Error::InvalidLength { .. } | Error::Malformed { .. } => "malformed",
            Error::CommitmentMismatch => "commitment_mismatch",
            Error::UnsupportedVersion(_) => "unsupported_version",
            Error::UnsupportedSuite(_) => "unsupported_suite",
            Error::UnknownKeyId(_) => "unknown_key_id",
            Error::KeyRetired(_) => "key_retired",
            Error::BadStamp => "bad_stamp",
            Error::ReporterNotRecipient => "reporter_not_recipient",
            Error::OutsideWindow => "outside_window",
            Error::NotSameConversation => "not_same_conversation",
            Error::DuplicateKeyId(_) => "duplicate_key_id",
            Error::Randomness => "rng_failure",
        }
    }
}
