//! Invisible-salamander attacks on AEADs that do not commit to their key.
//!
//! This crate reproduces the attacks that motivate franking-core's committing AEADs:
//!
//! * AES-GCM two-key and k-key ciphertext collisions (Dodis–Grubbs–Ristenpart–Woodage,
//!   "Fast Message Franking", CRYPTO 2018, eprint 2019/016, §3; Len–Grubbs–Ristenpart,
//!   "Partitioning Oracle Attacks", USENIX Security 2021, §3),
//! * one AES-GCM ciphertext that decrypts to two valid, different images under two keys
//!   (Albertini et al., "How to Abuse and Fix Authenticated Encryption Without Key
//!   Commitment", USENIX Security 2022, eprint 2020/1456, §3–4),
//! * and, beyond GCM, ChaCha20-Poly1305, AES-GCM-SIV and CMT-4 failures.
//!
//! Every forged ciphertext is checked in the tests with the real RustCrypto AEAD crates.
//! The `franking-attacks` binary exposes the attacks on the command line.
#![forbid(unsafe_code)]

pub mod chapoly;
pub mod check;
pub mod cmt4;
pub mod error;
pub mod gcm;
pub mod gf128;
pub mod ghash;
pub mod hexutil;
pub mod poly1305;
pub mod salamander;
pub mod siv;

pub use error::Error;
