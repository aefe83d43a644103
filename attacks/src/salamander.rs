//! Salamander polyglots (work in progress).

use std::io::Write;
use std::path::PathBuf;

use crate::error::Result;

/// Arguments of `franking-attacks salamander`.
#[derive(Debug, clap::Args)]
pub struct SalamanderArgs {
    /// AES-GCM key (hex, 16 or 32 bytes) under which the ciphertext decrypts to the JPEG.
    #[arg(long, value_name = "HEX")]
    pub key1: String,
    /// AES-GCM key (hex, 16 or 32 bytes) under which the ciphertext decrypts to the BMP.
    #[arg(long, value_name = "HEX")]
    pub key2: String,
    /// Baseline JPEG shown under key1.
    #[arg(long, value_name = "FILE.jpg")]
    pub image1: PathBuf,
    /// BMP shown under key2.
    #[arg(long, value_name = "FILE.bmp")]
    pub image2: PathBuf,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `salamander` (work in progress).
pub fn run_salamander(_args: &SalamanderArgs, _out: &mut dyn Write) -> Result<()> {
    Ok(())
}
