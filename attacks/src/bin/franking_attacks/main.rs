//! `franking-attacks`: command-line front end of the `attacks` crate.
//!
//! [`cli`] declares each subcommand's arguments, [`commands`] parses them (hex, files) and runs
//! the attack from the library, printing one JSON object. Errors go to stderr with a non-zero
//! exit status; nothing here panics on user input. Built only with the `cli` feature (on by
//! default), so users of the library do not compile clap.

mod cli;
mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match &cli.command {
        Command::GcmCollide(a) => commands::gcm_collide(a, &mut out),
        Command::Salamander(a) => commands::salamander(a, &mut out),
        Command::Check(a) => commands::check(a, &mut out),
        Command::ChapolyCollide(a) => commands::chapoly_collide(a, &mut out),
        Command::SivCollide(a) => commands::siv_collide(a, &mut out),
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
