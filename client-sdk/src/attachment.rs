//! Streaming attachments: sealed segment by segment with bounded memory, one compact whole-file
//! commitment per file.
//!
//! The format and its one implementation live in franking-core
//! ([`franking_core::frank::attachment`]), shared with the report server; this module re-exports
//! it under its historical path. Every failure is `Error::Core` with a precise
//! [`franking_core::Error`] (codes `attachment_tag_invalid`, `attachment_truncated`,
//! `attachment_length_mismatch`, `attachment_commitment_mismatch`, `attachment_header_invalid`,
//! ...) when it goes through this crate's [`crate::Error`], or that error itself when a function is
//! called directly.

pub use franking_core::frank::attachment::*;
