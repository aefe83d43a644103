//! `franking-attacks`: command-line front end of the attacks crate.
fn main() {}
