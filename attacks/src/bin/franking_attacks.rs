//! `franking-attacks`: command-line front end of the `attacks` crate.
//!
//! Each subcommand is one variant of [`Command`] and one `run_*` function in its library
//! module, taking its clap `Args` struct and the output stream. Errors go to stderr with a
//! non-zero exit status; nothing here panics on user input.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Reproduce invisible-salamander attacks on non-committing AEADs.
#[derive(Debug, Parser)]
#[command(name = "franking-attacks", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Forge one AES-GCM ciphertext+tag that verifies under every given key (k-key collision).
    GcmCollide(attacks::gcm::GcmCollideArgs),
    /// Build one AES-GCM ciphertext that decrypts to a JPEG under key1 and a BMP under key2.
    Salamander(attacks::salamander::SalamanderArgs),
    /// Report which keys accept a ciphertext, using the real AEAD crates.
    Check(attacks::check::CheckArgs),
    /// Forge one ChaCha20-Poly1305 (or XChaCha20-Poly1305) ciphertext+tag valid under every given key.
    ChapolyCollide(attacks::chapoly::ChapolyCollideArgs),
    /// Forge one AES-GCM-SIV ciphertext+tag valid under two keys.
    SivCollide(attacks::siv::SivCollideArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match &cli.command {
        Command::GcmCollide(a) => attacks::gcm::run_gcm_collide(a, &mut out),
        Command::Salamander(a) => attacks::salamander::run_salamander(a, &mut out),
        Command::Check(a) => attacks::check::run_check(a, &mut out),
        Command::ChapolyCollide(a) => attacks::chapoly::run_chapoly_collide(a, &mut out),
        Command::SivCollide(a) => attacks::siv::run_siv_collide(a, &mut out),
    };
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("franking-attacks: error: {e}");
            ExitCode::FAILURE
        }
    }
}
