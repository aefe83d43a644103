//! The command line of `franking-attacks`: every subcommand's arguments (clap derive).

use std::path::PathBuf;

use attacks::check::Scheme;
use clap::{Args, Parser, Subcommand};

/// Reproduce invisible-salamander attacks on non-committing AEADs.
#[derive(Debug, Parser)]
#[command(name = "franking-attacks", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Forge one AES-GCM ciphertext+tag that verifies under every given key (k-key collision).
    GcmCollide(GcmCollideArgs),
    /// Build one AES-GCM ciphertext that decrypts to a JPEG under key1 and a BMP under key2.
    Salamander(SalamanderArgs),
    /// Report which keys accept a ciphertext, using the real AEAD crates.
    Check(CheckArgs),
    /// Forge one ChaCha20-Poly1305 (or XChaCha20-Poly1305) ciphertext+tag valid under every given key.
    ChapolyCollide(ChapolyCollideArgs),
    /// Forge one AES-GCM-SIV ciphertext+tag valid under two keys.
    SivCollide(SivCollideArgs),
}

/// Arguments of `franking-attacks gcm-collide`.
#[derive(Debug, Args)]
pub(crate) struct GcmCollideArgs {
    /// AES-GCM key in hex (16 or 32 bytes); repeat once per key the ciphertext must verify under
    /// (at least 2).
    #[arg(long = "key", value_name = "HEX", required = true)]
    pub(crate) keys: Vec<String>,
    /// 96-bit nonce in hex (12 bytes).
    #[arg(long, value_name = "HEX")]
    pub(crate) nonce: String,
    /// Associated data in hex (default: empty).
    #[arg(long, value_name = "HEX", default_value = "")]
    pub(crate) ad: String,
    /// Tag to force (16 bytes hex); without it the tag is solved for and the ciphertext is one block shorter.
    #[arg(long, value_name = "HEX")]
    pub(crate) tag: Option<String>,
}

/// Arguments of `franking-attacks salamander`.
#[derive(Debug, Args)]
pub(crate) struct SalamanderArgs {
    /// AES-GCM key (hex, 16 or 32 bytes) under which the ciphertext decrypts to the JPEG.
    #[arg(long, value_name = "HEX")]
    pub(crate) key1: String,
    /// AES-GCM key (hex, 16 or 32 bytes) under which the ciphertext decrypts to the BMP.
    #[arg(long, value_name = "HEX")]
    pub(crate) key2: String,
    /// JPEG shown under key1 (embedded unchanged).
    #[arg(long, value_name = "FILE.jpg")]
    pub(crate) image1: PathBuf,
    /// BMP shown under key2 (embedded unchanged; must fit in one JPEG comment, < 64 KiB).
    #[arg(long, value_name = "FILE.bmp")]
    pub(crate) image2: PathBuf,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Associated data in hex (default: empty).
    #[arg(long, value_name = "HEX", default_value = "")]
    pub(crate) ad: String,
    /// Tag to force (16 bytes hex); uses two free blocks instead of one.
    #[arg(long, value_name = "HEX")]
    pub(crate) tag: Option<String>,
}

/// Arguments of `franking-attacks check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Key in hex; repeat to test several keys.
    #[arg(long = "key", value_name = "HEX", required = true)]
    pub(crate) keys: Vec<String>,
    /// Nonce in hex (12 bytes; 24 for xchacha20-poly1305).
    #[arg(long, value_name = "HEX")]
    pub(crate) nonce: String,
    /// Associated data in hex (default: empty).
    #[arg(long, value_name = "HEX", default_value = "")]
    pub(crate) ad: String,
    /// Ciphertext in hex, without the tag.
    #[arg(
        long,
        value_name = "HEX",
        conflicts_with = "ciphertext_file",
        required_unless_present = "ciphertext_file"
    )]
    pub(crate) ciphertext: Option<String>,
    /// File holding the raw ciphertext bytes (without the tag), instead of --ciphertext.
    #[arg(long, value_name = "FILE")]
    pub(crate) ciphertext_file: Option<PathBuf>,
    /// 16-byte tag in hex.
    #[arg(long, value_name = "HEX")]
    pub(crate) tag: String,
    /// AEAD scheme to verify with.
    #[arg(long, value_enum, default_value = "aes-gcm")]
    pub(crate) scheme: Scheme,
}

/// Arguments of `franking-attacks chapoly-collide`.
#[derive(Debug, Args)]
pub(crate) struct ChapolyCollideArgs {
    /// ChaCha20-Poly1305 key in hex (32 bytes); repeat once per key (at least 2; k ≤ 12 runs in
    /// seconds, the search costs about 4^k steps).
    #[arg(long = "key", value_name = "HEX", required = true)]
    pub(crate) keys: Vec<String>,
    /// Nonce in hex: 12 bytes, or 24 bytes with --xchacha.
    #[arg(long, value_name = "HEX")]
    pub(crate) nonce: String,
    /// Associated data in hex (default: empty).
    #[arg(long, value_name = "HEX", default_value = "")]
    pub(crate) ad: String,
    /// Attack XChaCha20-Poly1305 (24-byte nonce, HChaCha20 subkeys) instead of ChaCha20-Poly1305.
    #[arg(long)]
    pub(crate) xchacha: bool,
}

/// Arguments of `franking-attacks siv-collide`.
#[derive(Debug, Args)]
pub(crate) struct SivCollideArgs {
    /// First AES-GCM-SIV key in hex (16 bytes for AES-128-GCM-SIV, 32 for AES-256-GCM-SIV).
    #[arg(long, value_name = "HEX")]
    pub(crate) key1: String,
    /// Second key in hex, same length as --key1.
    #[arg(long, value_name = "HEX")]
    pub(crate) key2: String,
    /// 96-bit nonce in hex (12 bytes).
    #[arg(long, value_name = "HEX")]
    pub(crate) nonce: String,
    /// Associated data in hex (default: empty).
    #[arg(long, value_name = "HEX", default_value = "")]
    pub(crate) ad: String,
}
