//! The `franking` CLI (placeholder while the protocol layer lands).
fn main() {}
