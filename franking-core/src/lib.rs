//! franking-core: committing AEADs and the message-franking protocol.
//!
//! * [`caead`] — committing authenticated encryption: [`caead::CtrHmacSha256`],
//!   [`caead::Aes256CtrBlake3`] (both CMT-4 and compactly committing) and [`caead::CtxAes256Gcm`]
//!   (CMT-4, not compact), with the [`caead::CommittingAead`] / [`caead::CompactCommitment`] traits.
//!
//! The crate does no I/O, has no `unsafe`, and returns [`Error`] for every refused input.
#![forbid(unsafe_code)]

pub mod caead;
mod error;

pub use error::Error;
