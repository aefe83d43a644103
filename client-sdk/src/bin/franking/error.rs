//! The CLI's one error type: every failure has a stable, machine-readable code (printed in
//! brackets) and an exit status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use client_sdk::Error;

/// Errors of the CLI: the library's, or a problem of the command line itself.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The library refused (protocol check, attachment check, server refusal, ...).
    #[error(transparent)]
    Sdk(#[from] Error),
    /// The arguments are unusable together (beyond what clap checks).
    #[error("{0}")]
    Usage(String),
    /// An input is not the JSON the command expects.
    #[error("invalid JSON input: {0}")]
    Json(#[from] serde_json::Error),
    /// Reading or writing a file (or stdin/stdout) failed.
    #[error("{path}: {source}")]
    File {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl From<franking_core::Error> for CliError {
    fn from(e: franking_core::Error) -> Self {
        CliError::Sdk(Error::Core(e))
    }
}

/// Shorthand for results of the CLI.
pub(crate) type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// An I/O failure on `path`.
    pub(crate) fn file(path: &Path, source: std::io::Error) -> Self {
        CliError::File {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The stable code of this error (snake case): `franking_core`'s code for protocol failures,
    /// the report server's code for its refusals, and the CLI's own codes otherwise
    /// (docs/client-sdk.md lists them).
    pub(crate) fn code(&self) -> &str {
        match self {
            CliError::Sdk(e) => e.code(),
            CliError::Usage(_) => "usage",
            CliError::Json(_) => "malformed",
            CliError::File { .. } => "io",
        }
    }

    /// The exit status for this error: 1 for every refusal and failure (clap's own usage errors
    /// exit 2 before any command runs).
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }

    /// Prints `franking: error [code]: message` on stderr and returns the exit status.
    pub(crate) fn report(&self) -> ExitCode {
        eprintln!("franking: error [{}]: {self}", self.code());
        self.exit_code()
    }
}
