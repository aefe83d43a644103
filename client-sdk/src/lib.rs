//! client-sdk: the client side of verifiable abuse reporting for end-to-end encrypted messaging.
//!
//! * [`attachment`] — streaming, segment-by-segment sealing and opening of attachments of any size
//!   with bounded memory and one compact whole-file commitment.
//! * [`content`] — the franked plaintext: message text plus attachment references.
//! * [`messaging`] — sender ([`Conversation::seal`]) and recipient ([`Conversation::open`]) flows,
//!   the delivered [`StampedEnvelope`], and report building ([`OpenedMessage::report`]).
//! * [`moderation`] — offline report verification and attachment reconstruction.
//! * [`keys`] — JSON key files for session and platform stamping keys (used by the CLI).
//! * [`server`] — blocking HTTP client for the report server: relay stamping and report intake.
//!
//! The protocol types come from [`franking_core::frank`], re-exported as [`frank`].
//!
//! See `docs/client-sdk.md` for the design and the threat model of each piece.
#![forbid(unsafe_code)]

pub mod attachment;
pub mod content;
mod error;
pub mod keys;
pub mod messaging;
pub mod moderation;
pub mod server;
mod util;

pub use attachment::{AttachmentKey, AttachmentRef};
pub use content::MessageContent;
pub use error::{Error, Result};
pub use franking_core::frank;
pub use messaging::{Conversation, OpenChecks, OpenedMessage, StampedEnvelope, stamp_envelope};
