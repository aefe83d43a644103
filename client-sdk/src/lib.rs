//! client-sdk: the client side of verifiable abuse reporting for end-to-end encrypted messaging.
//!
//! * [`attachment`] — streaming, segment-by-segment sealing and opening of attachments of any size
//!   with bounded memory and one compact whole-file commitment.
//! * [`content`] — the franked plaintext: message text plus attachment references.
//!
//! See `docs/client-sdk.md` for the design and the threat model of each piece.
#![forbid(unsafe_code)]

pub mod attachment;
pub mod content;
mod error;
mod util;

pub use attachment::{AttachmentKey, AttachmentRef};
pub use content::MessageContent;
pub use error::{Error, Result};
