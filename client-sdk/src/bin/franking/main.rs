//! `franking`: scriptable JSON-in/JSON-out command line for message franking.
//!
//! A full pipeline (each step reads the previous step's JSON on stdin or from `--in`):
//!
//! ```text
//! franking keygen session --out session.json
//! franking keygen platform --key-id 1 --out platform.json
//! franking seal --session-key session.json --conversation c1 --text hi --attach photo.jpg:image/jpeg \
//!               --blob-dir blobs --out sealed.json
//! franking stamp --platform-key platform.json --network example.net --sender alice --recipient bob \
//!                --message-id m1 --in sealed.json --out delivered.json
//! franking open --session-key session.json --conversation c1 --me bob --blob-dir blobs \
//!               --attachments-out shown --in delivered.json --out opened.json
//! franking report --reporter bob --reason spam --in opened.json --out report.json
//! franking verify --platform-key platform.json --blob-dir blobs --in report.json
//! ```
//!
//! With a report server (`report-server`), the relay and the platform backend are the server:
//!
//! ```text
//! FRANKING_TOKEN=<relay token> franking stamp --server http://127.0.0.1:8080 --network dev \
//!     --sender alice --recipient bob --message-id m1 --in sealed.json > delivered.json
//! FRANKING_TOKEN=<service token> franking report --server http://127.0.0.1:8080 \
//!     --reporter bob --reason spam --category spam --blob-dir blobs --in opened.json
//!     # uploads the reported message's attachment blobs with the report; prints case id, verdict
//! ```
//!
//! Layout: [`cli`] declares the arguments, `main` dispatches, one module per command does the
//! work ([`keys`] also loads key files), [`attachments`] handles blobs and opened attachment
//! files, [`file_io`] is the only place that opens inputs and writes outputs (atomically, mode
//! 0600), and [`error`] gives every failure its stable code: errors print
//! `franking: error [code]: message` on stderr with exit status 1 (`verify` also prints
//! `{"valid":false,"code":...}` on stdout).

mod attachments;
mod cli;
mod error;
mod file_io;
mod keys;
mod open;
mod report;
mod seal;
mod stamp;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliResult;

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

fn run(command: Command) -> CliResult<()> {
    match command {
        Command::Keygen(a) => keys::keygen(a),
        Command::Seal(a) => seal::seal(a),
        Command::Stamp(a) => stamp::stamp(a),
        Command::Open(a) => open::open(a),
        Command::Report(a) => report::report(a),
        Command::Verify(a) => verify::verify(a),
        Command::Publish(a) => keys::publish(a),
    }
}

/// Milliseconds since the Unix epoch: the default for times the user does not give.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
