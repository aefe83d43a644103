//! ghash (work in progress).
