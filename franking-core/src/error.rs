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
    /// JSON input could not be parsed into the expected shape (syntax, missing or unknown field,
    /// wrong type, bad base64, a field of the wrong size). `detail` is the parser's message.
    #[error("malformed {what}: {detail}")]
    MalformedJson {
        /// What was being parsed (`"report"`, `"envelope"`, ...).
        what: &'static str,
        /// The parser's description of the problem.
        detail: String,
    },
    /// A report carries the same stamped message twice (as two earlier messages, or the reported
    /// message again among the earlier ones).
    #[error("the report includes the same message twice")]
    DuplicateMessage,
    /// The plaintext is not in the message content format (it does not start with `"FKM"`): a
    /// platform franking its own format. Show it as bytes (or as text when it is UTF-8).
    #[error("the plaintext is not in the message content format")]
    NotMessageContent,
    /// The plaintext claims the message content format (`"FKM"`) with a version this library does
    /// not implement.
    #[error("unsupported message content version {0}")]
    UnsupportedContentVersion(u8),
    /// The plaintext claims the message content format but is not a canonical encoding of it.
    #[error("malformed message content: {what}")]
    MalformedContent {
        /// Which rule was violated.
        what: &'static str,
    },
    /// An attachment blob's header is not one this library reads: wrong magic, unknown version or
    /// suite, non-zero reserved bytes, or a segment size outside the supported range.
    #[error("attachment header rejected: {what}")]
    AttachmentHeader {
        /// Which rule was violated.
        what: &'static str,
    },
    /// A segment of an attachment blob failed authentication under the reference's key (altered,
    /// reordered, moved, sealed under another key, or its final flag changed by truncation or
    /// extension). Plaintext released before this error must be discarded.
    #[error("attachment segment {index} failed authentication")]
    AttachmentTag {
        /// Zero-based index of the segment that failed.
        index: u64,
    },
    /// The attachment blob ended early: inside its header, or it is shorter than the reference's
    /// length implies and its last segment does not verify as the final one.
    #[error("attachment blob is truncated")]
    AttachmentTruncated,
    /// The attachment blob is not in canonical form (an empty final segment after a full one).
    #[error("attachment blob is not canonically encoded: {what}")]
    AttachmentNonCanonical {
        /// Which rule was violated.
        what: &'static str,
    },
    /// The decrypted attachment length differs from the length in its reference.
    #[error(
        "attachment length mismatch: the reference says {expected} bytes, the blob holds {actual}"
    )]
    AttachmentLengthMismatch {
        /// Length stated in the (franked) reference.
        expected: u64,
        /// Length decrypted (so far, when the blob is longer).
        actual: u64,
    },
    /// Every segment authenticated, but the whole-file commitment differs from the reference's: this
    /// is not the file the sender committed to. Discard it.
    #[error("attachment commitment mismatch")]
    AttachmentCommitmentMismatch,
    /// The attachment is larger than the format allows (2^64 − 1 bytes or 2^64 segments).
    #[error("attachment too large")]
    AttachmentTooLarge,
    /// The context names another network than the key ring's or published key's network.
    #[error("the context's network is not the stamping key's network")]
    WrongNetwork,
    /// A retired stamping key's stamp is dated after the key's retirement (plus the allowed clock
    /// skew): a retired key makes no new stamps, so this stamp is forged with a leaked old key or
    /// the context's timestamp is false.
    #[error("stamp of key {0} is dated after the key's retirement")]
    StampAfterRetirement(u32),
    /// The stamping key signs its stamps (Ed25519) but this stamp carries no signature.
    #[error("the stamping key signs its stamps, but this stamp has no signature")]
    SignatureRequired,
    /// The stamp carries a signature, but its stamping key does not sign.
    #[error("the stamp carries a signature its key does not make")]
    UnexpectedSignature,
    /// The unwrapped franking key equals the session key: the recipient's report would reveal the
    /// session key to the platform. Nothing was decrypted.
    #[error("the franking key equals the session key")]
    FrankingKeyIsSessionKey,
    /// A JSON form holds an explicit `null`: optional fields are omitted, never `null` (one
    /// encoding per value).
    #[error("{what}: optional fields are omitted, never null")]
    JsonNull {
        /// What was being parsed (`"report"`, `"envelope"`, ...).
        what: &'static str,
    },
    /// Reading a blob or writing plaintext failed (streaming attachment functions only).
    #[error("I/O error ({kind:?}): {message}")]
    Io {
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The I/O error's message.
        message: String,
    },
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl Error {
    /// A stable, machine-readable code for this error (snake case, never changes between releases).
    ///
    /// The report server maps these to HTTP 4xx responses; see `docs/protocol.md` §Rejections.
    pub fn code(&self) -> &'static str {
        match self {
            Error::AuthenticationFailed => "authentication_failed",
            Error::MessageTooLong { .. } => "message_too_long",
            Error::InvalidLength { .. } | Error::Malformed { .. } | Error::MalformedJson { .. } => {
                "malformed"
            }
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
            Error::DuplicateMessage => "duplicate_message",
            Error::NotMessageContent => "not_message_content",
            Error::UnsupportedContentVersion(_) => "content_unsupported_version",
            Error::MalformedContent { .. } => "content_malformed",
            Error::AttachmentHeader { .. } => "attachment_header_invalid",
            Error::AttachmentTag { .. } => "attachment_tag_invalid",
            Error::AttachmentTruncated => "attachment_truncated",
            Error::AttachmentNonCanonical { .. } => "attachment_non_canonical",
            Error::AttachmentLengthMismatch { .. } => "attachment_length_mismatch",
            Error::AttachmentCommitmentMismatch => "attachment_commitment_mismatch",
            Error::AttachmentTooLarge => "attachment_too_large",
            Error::Io { .. } => "io_error",
            Error::WrongNetwork => "wrong_network",
            Error::StampAfterRetirement(_) => "stamp_after_retirement",
            Error::SignatureRequired => "signature_required",
            Error::UnexpectedSignature => "unexpected_signature",
            Error::FrankingKeyIsSessionKey => "franking_key_is_session_key",
            Error::JsonNull { .. } => "json_null",
        }
    }
}
