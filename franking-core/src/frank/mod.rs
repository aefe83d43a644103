//! The message-franking protocol (DESIGN.md §5; full specification in `docs/protocol.md`).
//!
//! ```text
//! sender:    K_f <- random 32 B; N, N_w <- random 12 B
//!            A   = "franking/v1 body\0" ‖ version ‖ suite ‖ body_ad
//!            (C, T) = CAEAD_suite.Enc(K_f, N, A, M)                 T = commitment
//!            A_w = "franking/v1 wrap\0" ‖ version ‖ suite ‖ T
//!            W   = CAEAD_suite.Enc(session_key, N_w, A_w, K_f)      (32 B ciphertext ‖ 32 B tag)
//!            envelope = {version, suite, N, C, T, N_w, W}           -> seal()
//! platform:  stamp = key_id, HMAC-SHA-256(K_p[key_id], "franking/v1 stamp\0" ‖ be32(key_id)
//!                                         ‖ version ‖ suite ‖ T ‖ canonical(ctx))  -> KeyRing::stamp()
//! recipient: K_f <- open W; M <- open (C, T)                        -> open()
//! report:    {M, K_f, N, body_ad, T, ctx, stamp, reporter, reason, [earlier]}  -> Report
//! server:    verify_report(report, &ring, &policy, now_ms)          -> VerifiedReport | Error
//! ```
//!
//! The same suite's CAEAD (keyed by the session key) wraps K_f, so altering T breaks opening.
//! Suites: 1 = [`Suite::CtrHmacSha256`], 2 = [`Suite::Aes256CtrBlake3`] (default). Every type has a
//! canonical binary encoding (`to_bytes`/`from_bytes`, see [`wire`](self) docs in
//! `docs/protocol.md`) and a JSON form via serde (bytes as base64url without padding).
//! Time is always passed in (`now_ms`, milliseconds since the Unix epoch); nothing here reads a clock.
//!
//! What the plaintext M holds is up to the platform; this project's clients put a
//! [`content::MessageContent`] (text and [`attachment::AttachmentRef`]s) in it, and seal
//! attachments with the streaming [`attachment`] format. Both are specified in `docs/protocol.md`.

pub mod attachment;
pub mod constants;
pub mod content;
mod context;
mod envelope;
mod json;
pub mod merkle;
mod published;
mod report;
mod room;
mod secret;
mod stamp;
mod stamped;
mod suite;
mod wire;

pub use constants::{
    COMMITMENT_LEN, KEY_LEN, NONCE_LEN, SIGNATURE_LEN, STAMP_MAC_LEN, TAG_LEN, WRAPPED_KEY_LEN,
};
pub use context::{Context, MAX_ID_LEN, MAX_RECIPIENTS};
pub use envelope::{
    BODY_AD_LABEL, Commitment, Envelope, Opened, Opening, SealRandomness, SessionKey,
    WRAP_AD_LABEL, body_associated_data, open, seal, seal_with, wrap_associated_data,
};
pub use published::{PublishedKey, verify_published};
pub use report::{
    EarlierMessage, MAX_EARLIER, MAX_REASON_LEN, Report, ReportPolicy, ReportedMessage,
    StampVerifier, VerifiedReport, verify_forwarded_report, verify_report, verify_report_bytes,
};
pub use room::{MembershipProof, RoomMembers};
pub use stamp::{KeyId, KeyRing, STAMP_LABEL, Stamp, StampKey, stamp_input};
pub use stamped::StampedEnvelope;
pub use suite::Suite;

/// Re-exported Ed25519 public key type of [`PublishedKey`].
pub use ed25519_dalek::VerifyingKey;

/// The wire-format version this library writes and the only one it accepts.
pub const VERSION: u8 = 1;
/// Longest message plaintext (1 GiB): every encoded field must fit a 32-bit length.
pub const MAX_PLAINTEXT_LEN: usize = 1 << 30;
/// Longest application associated data `body_ad` (64 KiB).
pub const MAX_AD_LEN: usize = 64 * 1024;
