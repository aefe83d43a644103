//! The crate's one error type.
//!
//! Every refusal names its reason precisely so applications can tell a user *why* a message or an
//! attachment was not shown, and so the CLI can print a useful message. Cryptographic failures stay
//! opaque about *which* byte was wrong.

/// Everything that can go wrong in `client-sdk`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A protocol-layer check in `franking-core` failed (commitment, stamp, key ring, wire format).
    #[error(transparent)]
    Core(#[from] franking_core::Error),

    /// Reading an input or writing an output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The operating system's random number generator failed; nothing was sealed.
    #[error("the system random number generator failed: {0}")]
    Random(String),

    /// A key had the wrong length or encoding.
    #[error("invalid {what}: {reason}")]
    InvalidKey {
        /// Which key.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// An encoded value (base64, hex, JSON, binary message content) could not be decoded.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// An attachment's header is not one this library produces: wrong magic, unknown version or
    /// suite, non-zero reserved bytes, or a segment size outside the supported range.
    #[error("attachment header rejected: {0}")]
    AttachmentHeader(&'static str),

    /// A segment of an attachment failed authentication (altered, reordered, moved, or its
    /// final/non-final flag was changed by truncation or extension). The output written so far must
    /// be discarded.
    #[error("attachment segment {index} failed authentication")]
    AttachmentSegment {
        /// Zero-based index of the segment that failed.
        index: u64,
    },

    /// The attachment ciphertext ended before its final segment. The output written so far must be
    /// discarded.
    #[error("attachment is truncated")]
    AttachmentTruncated,

    /// The attachment is not in canonical form (an empty final segment after a full one).
    #[error("attachment is not canonically encoded: {0}")]
    AttachmentNonCanonical(&'static str),

    /// The decrypted attachment length differs from the length in its reference.
    #[error(
        "attachment length mismatch: the reference says {expected} bytes, the file has {actual}"
    )]
    AttachmentLength {
        /// Length stated in the (franked) attachment reference.
        expected: u64,
        /// Length actually decrypted (so far, when the file is longer).
        actual: u64,
    },

    /// The whole-file commitment does not match the reference's commitment. Every segment
    /// authenticated under the key, but this is not the file the sender committed to: discard it.
    #[error("attachment commitment mismatch")]
    AttachmentCommitment,

    /// The attachment is longer than this library seals (2^64 − 1 bytes or 2^64 segments).
    #[error("attachment too large")]
    AttachmentTooLarge,

    /// The delivered context does not name this client's user as a recipient.
    #[error("the message is not addressed to this recipient")]
    NotForMe,

    /// The delivered context names a different sender than the one the E2E layer authenticated.
    #[error("the context's sender is not the authenticated peer")]
    UnexpectedSender,

    /// The opened message refers to an attachment that was not supplied, or vice versa.
    #[error("attachment {index} is missing")]
    AttachmentMissing {
        /// Index of the attachment in the message content.
        index: usize,
    },

    /// The report server URL is not usable (`client_sdk::server`).
    #[error("invalid server URL: {0}")]
    InvalidServerUrl(String),

    /// The report server could not be reached or answered something that is not its JSON API
    /// (connection refused, TLS failure, timeout, unexpected body).
    #[error("HTTP error: {0}")]
    Http(String),

    /// The report server refused the request; `code` is its stable machine-readable error code
    /// (e.g. `commitment_mismatch`, `reporter_not_recipient`, `wrong_network`, `unauthorized`).
    #[error("the server refused the request (HTTP {status}, {code}): {message}")]
    Server {
        /// HTTP status of the answer.
        status: u16,
        /// The server's error code.
        code: String,
        /// The server's human-readable message.
        message: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
