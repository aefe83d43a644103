//! check (work in progress).
