//! franking-core: committing AEADs and the message-franking protocol.
//!
//! * [`caead`] — committing authenticated encryption: [`caead::CtrHmacSha256`],
//!   [`caead::Aes256CtrBlake3`] (both CMT-4 and compactly committing) and [`caead::CtxAes256Gcm`]
//!   (CMT-4, not compact), with the [`caead::CommittingAead`] / [`caead::CompactCommitment`] traits.
//! * [`frank`] — the franking protocol: envelopes (seal/open), platform contexts and stamps with a
//!   rotating key ring, reports and [`frank::verify_report`], canonical binary and JSON encodings;
//!   the message content format ([`frank::content`]) and streaming attachments
//!   ([`frank::attachment`]).
//! * [`util`] — the helpers every crate shares: strict base64url, the CSPRNG, the clock.
//!
//! The crate's only I/O is the [`std::io::Read`]/[`std::io::Write`] streams a caller passes to the
//! attachment functions; it has no `unsafe`, and returns [`Error`] for every refused input.
#![forbid(unsafe_code)]

pub mod caead;
mod error;
pub mod frank;
pub mod util;

pub use error::Error;
pub use util::now_ms;
