//! client-sdk: the client side of verifiable abuse reporting for end-to-end encrypted messaging.
//!
//! * [`attachment`] — streaming, segment-by-segment sealing and opening of attachments of any size
//!   with bounded memory and one compact whole-file commitment (re-exported from franking-core).
//! * [`content`] — the franked plaintext: message text plus attachment references (re-exported
//!   from franking-core).
//! * [`messaging`] — sender ([`Conversation::seal`]) and recipient ([`Conversation::open`]) flows,
//!   the delivered [`StampedEnvelope`], and report building ([`OpenedMessage::report`]).
//! * [`moderation`] — offline report verification (earlier messages in conversation order, with
//!   who sent them) and attachment reconstruction.
//! * [`group`] — rooms with stamps of constant size: [`group::GroupConversation`] (keys per epoch
//!   from the host protocol's group secret) and the relay's [`group::RoomRelay`] (member root,
//!   room contexts, each member's membership proof).
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
pub mod group;
pub mod keys;
pub mod messaging;
pub mod moderation;
pub mod server;

pub use attachment::{AttachmentKey, AttachmentRef};
pub use content::MessageContent;
pub use error::{Error, Result};
pub use franking_core::frank;
pub use franking_core::now_ms;
pub use messaging::{Conversation, OpenChecks, OpenedMessage, StampedEnvelope, stamp_envelope};
