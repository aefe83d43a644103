//! The plaintext of a franked message: text plus attachment references.
//!
//! The format and its one implementation live in franking-core
//! ([`franking_core::frank::content`]), shared with the report server; this module re-exports it
//! under its historical path.

pub use franking_core::frank::content::*;
