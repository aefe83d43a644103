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

    /// The operating system's random number generator failed; nothing was sealed. (This crate
    /// reports it as `Error::Core(franking_core::Error::Randomness)`; callers may use this variant
    /// for their own randomness.)
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

    /// An encoded value (a key file's JSON) could not be decoded.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },

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

impl Error {
    /// The stable machine-readable code of this error (the codes of `franking_core::Error` for
    /// protocol failures, the server's own code for its refusals).
    pub fn code(&self) -> &str {
        match self {
            Error::Core(c) => c.code(),
            Error::Server { code, .. } => code,
            Error::Io(_) => "io",
            Error::Random(_) => franking_core::Error::Randomness.code(),
            Error::InvalidKey { .. } => "invalid_key",
            Error::Malformed { .. } => "malformed",
            Error::NotForMe => "not_for_me",
            Error::UnexpectedSender => "unexpected_sender",
            Error::AttachmentMissing { .. } => "attachment_missing",
            Error::InvalidServerUrl(_) => "invalid_server_url",
            Error::Http(_) => "http",
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
