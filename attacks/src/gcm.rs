//! gcm (work in progress).
