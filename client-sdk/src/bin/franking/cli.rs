//! The command line: every subcommand's arguments (clap derive), and turning the shared
//! `--server` group into a client.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use client_sdk::server::ServerClient;

use crate::error::{CliError, CliResult};

/// Message franking: seal, stamp, open, report and verify from the command line.
#[derive(Parser)]
#[command(name = "franking", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Generate a key file (JSON): a conversation session key or a platform stamping key.
    Keygen(KeygenArgs),
    /// Sender: seal a message (text and attachments) into a franked envelope (JSON on stdout).
    Seal(SealArgs),
    /// Platform relay: stamp a sealed envelope with a local platform key (or, with --server, by the
    /// report server) and a context.
    Stamp(StampArgs),
    /// Recipient: open a stamped envelope (refusing anything that does not verify) and its attachments.
    Open(OpenArgs),
    /// Recipient: build an abuse report from an opened message (and earlier ones); with --server,
    /// submit it to the report server.
    Report(ReportArgs),
    /// Report server / moderator: verify a report offline with the platform key.
    Verify(VerifyArgs),
    /// Platform: print the published record of a signing platform key (a JSON array for
    /// `open --platform-keys`, no secrets).
    Publish(PublishArgs),
}

#[derive(Args)]
pub(crate) struct PublishArgs {
    /// Platform key file written by `franking keygen platform --sign`.
    #[arg(long)]
    pub(crate) platform_key: PathBuf,
    /// The network whose contexts the key stamps.
    #[arg(long)]
    pub(crate) network: String,
    /// When the key became current (ms since the epoch); default: now.
    #[arg(long)]
    pub(crate) created_at_ms: Option<u64>,
    /// Write the JSON array here instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KeyKind {
    /// A 32-byte session key shared by the two ends of a conversation.
    Session,
    /// A platform stamping key (HMAC key, optionally an Ed25519 signing key).
    Platform,
}

#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// Which kind of key to generate.
    pub(crate) kind: KeyKind,
    /// Key id of a platform key (unique within the platform's key ring).
    #[arg(long, default_value_t = 1)]
    pub(crate) key_id: u32,
    /// Also generate an Ed25519 signing key, so anyone with the public key can check stamps
    /// (gives up deniability of unreported messages; meant for federation).
    #[arg(long)]
    pub(crate) sign: bool,
    /// Write the key file here instead of stdout (created with mode 0600 where supported).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct SessionArgs {
    /// Session key file written by `franking keygen session`.
    #[arg(long)]
    pub(crate) session_key: PathBuf,
    /// Conversation id; bound into every message as associated data (both ends must agree).
    #[arg(long)]
    pub(crate) conversation: String,
}

#[derive(Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// Message text.
    #[arg(long, conflicts_with = "text_file")]
    pub(crate) text: Option<String>,
    /// Read the message text (UTF-8) from this file ("-" for stdin).
    #[arg(long)]
    pub(crate) text_file: Option<PathBuf>,
    /// Attach a file, as PATH or PATH:MEDIA_TYPE (default media type application/octet-stream).
    /// Repeatable. Requires --blob-dir.
    #[arg(long, value_name = "PATH[:MEDIA_TYPE]")]
    pub(crate) attach: Vec<String>,
    /// Directory to write encrypted attachment blobs to, named COMMITMENT_HEX.blob (created if
    /// missing).
    #[arg(long)]
    pub(crate) blob_dir: Option<PathBuf>,
    /// Franking suite id: 2 = Aes256CtrBlake3 (default, fast), 1 = CtrHmacSha256.
    #[arg(long, default_value_t = 2)]
    pub(crate) suite: u8,
    /// Write the JSON output here instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

/// Talking to a report server instead of working offline.
#[derive(Args)]
pub(crate) struct ServerArgs {
    /// Report server base URL (http:// or https://), e.g. http://127.0.0.1:8080. Without it the
    /// command works offline.
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// Bearer token for --server: a relay token for `stamp`, a service token for `report`. Prefer
    /// the FRANKING_TOKEN environment variable, which keeps the token out of process lists.
    #[arg(
        long,
        env = "FRANKING_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) token: Option<String>,
    /// Timeout for the whole request to --server, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) timeout_secs: u64,
}

impl ServerArgs {
    /// The client for --server, if given (then a token is required).
    pub(crate) fn client(&self) -> CliResult<Option<ServerClient>> {
        let Some(url) = &self.server else {
            return Ok(None);
        };
        let token = self.token.as_deref().ok_or_else(|| {
            CliError::Usage("--server needs a token: --token or FRANKING_TOKEN".into())
        })?;
        let timeout = std::time::Duration::from_secs(self.timeout_secs.max(1));
        Ok(Some(ServerClient::with_timeout(url, token, timeout)?))
    }
}

#[derive(Args)]
pub(crate) struct StampArgs {
    /// Platform key file written by `franking keygen platform` (offline stamping; not with
    /// --server).
    #[arg(long, required_unless_present = "server", conflicts_with = "server")]
    pub(crate) platform_key: Option<PathBuf>,
    /// Stamp through the report server's relay endpoint (POST /v1/stamp) with a relay token: only
    /// the suite, the commitment and the context are sent. The network must be the token's.
    #[command(flatten)]
    pub(crate) remote: ServerArgs,
    /// Network (platform) id asserted in the context.
    #[arg(long)]
    pub(crate) network: String,
    /// Sender user id asserted in the context.
    #[arg(long)]
    pub(crate) sender: String,
    /// Recipient user id (repeatable; at least one).
    #[arg(long, required = true)]
    pub(crate) recipient: Vec<String>,
    /// Room (group conversation) id, for group messages.
    #[arg(long)]
    pub(crate) room: Option<String>,
    /// Platform timestamp in milliseconds since the Unix epoch (default: now).
    #[arg(long)]
    pub(crate) timestamp_ms: Option<u64>,
    /// Platform message id.
    #[arg(long)]
    pub(crate) message_id: String,
    /// Input: the output of `seal` (or a bare envelope) as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    pub(crate) input: Option<PathBuf>,
    /// Write the stamped envelope JSON here instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct OpenArgs {
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// The recipient's own user id; the stamped context must name it.
    #[arg(long)]
    pub(crate) me: String,
    /// Require the stamped context's sender to be this user (the peer the E2E layer authenticated).
    #[arg(long)]
    pub(crate) sender: Option<String>,
    /// Require a valid Ed25519 stamp signature by one of these published platform keys (a JSON
    /// array of published keys, e.g. from `franking publish`).
    #[arg(long)]
    pub(crate) platform_keys: Option<PathBuf>,
    /// Directory holding attachment blobs (COMMITMENT_HEX.blob); attachments are opened if given.
    #[arg(long, requires = "attachments_out")]
    pub(crate) blob_dir: Option<PathBuf>,
    /// Directory to write opened attachments to (created if missing), named
    /// INDEX-COMMITMENT_PREFIX.EXT with the extension of the media type (.bin if unknown). Each is
    /// written to a temporary file and renamed only once every check passed.
    #[arg(long, requires = "blob_dir")]
    pub(crate) attachments_out: Option<PathBuf>,
    /// Input: a stamped envelope as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    pub(crate) input: Option<PathBuf>,
    /// Write the JSON output here instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The reporting user's id (must be a recipient of the message).
    #[arg(long)]
    pub(crate) reporter: String,
    /// Reason or category.
    #[arg(long, default_value = "")]
    pub(crate) reason: String,
    /// Report category from the network's policy (e.g. spam, harassment); with --server only.
    #[arg(long, requires = "server")]
    pub(crate) category: Option<String>,
    /// Submit the report to the report server (POST /v1/reports) with the network's service token,
    /// which asserts --reporter; prints the server's answer (case id, verdict) instead of the
    /// report. A refusal exits 1 with the server's error code in brackets on stderr.
    #[command(flatten)]
    pub(crate) remote: ServerArgs,
    /// Directory holding the attachment blobs (COMMITMENT_HEX.blob, as written by `seal`): with
    /// --server, the reported message's blobs are uploaded with the report (streamed; the server
    /// verifies each against the reported message and refuses the whole report if one fails).
    /// A message with attachments cannot be reported to a server without them.
    #[arg(long, requires = "server")]
    pub(crate) blob_dir: Option<PathBuf>,
    /// An earlier opened message of the same conversation (output of `open`), repeatable, oldest first.
    #[arg(long)]
    pub(crate) earlier: Vec<PathBuf>,
    /// Input: the output of `open` (or a bare opened message) as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    pub(crate) input: Option<PathBuf>,
    /// Write the report JSON (with --server: the server's answer) here instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Platform key file (the key the stamp was made with).
    #[arg(long)]
    pub(crate) platform_key: PathBuf,
    /// Verification time in milliseconds since the Unix epoch (default: now).
    #[arg(long)]
    pub(crate) now_ms: Option<u64>,
    /// Reporting window in milliseconds (default 30 days).
    #[arg(long)]
    pub(crate) window_ms: Option<u64>,
    /// Directory holding attachment blobs; if given, every attachment of the reported message is
    /// decrypted and checked against its verified reference.
    #[arg(long)]
    pub(crate) blob_dir: Option<PathBuf>,
    /// Directory to write the verified attachments to (created if missing; named as by `open`),
    /// so a moderator sees exactly what the recipient saw. Needs --blob-dir.
    #[arg(long, requires = "blob_dir")]
    pub(crate) attachments_out: Option<PathBuf>,
    /// Input: a report as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    pub(crate) input: Option<PathBuf>,
}
