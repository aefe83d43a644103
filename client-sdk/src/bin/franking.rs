//! `franking`: scriptable JSON-in/JSON-out command line for message franking.
//!
//! A full pipeline (each step reads the previous step's JSON on stdin or from `--in`):
//!
//! ```text
//! franking keygen session --out session.json
//! franking keygen platform --key-id 1 --out platform.json
//! franking seal --session-key session.json --conversation c1 --text hi --attach photo.jpg:image/jpeg --blob-dir blobs > sealed.json
//! franking stamp --platform-key platform.json --network example.net --sender alice --recipient bob \
//!                --timestamp-ms 1750000000000 --message-id m1 --in sealed.json > delivered.json
//! franking open --session-key session.json --conversation c1 --me bob --blob-dir blobs \
//!               --attachments-out shown --in delivered.json > opened.json
//! franking report --reporter bob --reason spam --in opened.json > report.json
//! franking verify --platform-key platform.json --blob-dir blobs --in report.json
//! ```
//!
//! With a report server (`report-server`), the relay and the platform backend are the server:
//!
//! ```text
//! FRANKING_TOKEN=<relay token> franking stamp --server http://127.0.0.1:8080 --network dev \
//!     --sender alice --recipient bob --message-id m1 --in sealed.json > delivered.json
//! FRANKING_TOKEN=<service token> franking report --server http://127.0.0.1:8080 \
//!     --reporter bob --reason spam --category spam --in opened.json      # prints case id, verdict
//! ```
//!
//! Errors go to stderr with exit status 1 (`verify` also prints `{"valid":false,...}` on stdout).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use client_sdk::attachment::{open_attachment, seal_attachment, verify_attachment};
use client_sdk::frank::{Context, Envelope, KeyId, KeyRing, Report, ReportPolicy, StampKey, Suite};
use client_sdk::keys;
use client_sdk::messaging::{
    Conversation, OpenChecks, OpenedMessage, StampedEnvelope, stamp_envelope,
};
use client_sdk::server::ServerClient;
use client_sdk::{Error, MessageContent};
use serde_json::{Value, json};

/// Message franking: seal, stamp, open, report and verify from the command line.
#[derive(Parser)]
#[command(name = "franking", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyKind {
    /// A 32-byte session key shared by the two ends of a conversation.
    Session,
    /// A platform stamping key (HMAC key, optionally an Ed25519 signing key).
    Platform,
}

#[derive(Args)]
struct KeygenArgs {
    /// Which kind of key to generate.
    kind: KeyKind,
    /// Key id of a platform key (unique within the platform's key ring).
    #[arg(long, default_value_t = 1)]
    key_id: u32,
    /// Also generate an Ed25519 signing key, so anyone with the public key can check stamps
    /// (gives up deniability of unreported messages; meant for federation).
    #[arg(long)]
    sign: bool,
    /// Write the key file here instead of stdout (created with mode 0600 where supported).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct SessionArgs {
    /// Session key file written by `franking keygen session`.
    #[arg(long)]
    session_key: PathBuf,
    /// Conversation id; bound into every message as associated data (both ends must agree).
    #[arg(long)]
    conversation: String,
}

#[derive(Args)]
struct SealArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// Message text.
    #[arg(long, conflicts_with = "text_file")]
    text: Option<String>,
    /// Read the message text (UTF-8) from this file ("-" for stdin).
    #[arg(long)]
    text_file: Option<PathBuf>,
    /// Attach a file, as PATH or PATH:MEDIA_TYPE (default media type application/octet-stream).
    /// Repeatable. Requires --blob-dir.
    #[arg(long, value_name = "PATH[:MEDIA_TYPE]")]
    attach: Vec<String>,
    /// Directory to write encrypted attachment blobs to, named COMMITMENT_HEX.blob.
    #[arg(long)]
    blob_dir: Option<PathBuf>,
    /// Franking suite id: 2 = Aes256CtrBlake3 (default, fast), 1 = CtrHmacSha256.
    #[arg(long, default_value_t = 2)]
    suite: u8,
    /// Write the JSON output here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Talking to a report server instead of working offline.
#[derive(Args)]
struct ServerArgs {
    /// Report server base URL (http:// or https://), e.g. http://127.0.0.1:8080. Without it the
    /// command works offline.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Bearer token for --server: a relay token for `stamp`, a service token for `report`. Prefer
    /// the FRANKING_TOKEN environment variable, which keeps the token out of process lists.
    #[arg(
        long,
        env = "FRANKING_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// Timeout for the whole request to --server, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    timeout_secs: u64,
}

impl ServerArgs {
    /// The client for --server, if given (then a token is required).
    fn client(&self) -> CliResult<Option<ServerClient>> {
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
struct StampArgs {
    /// Platform key file written by `franking keygen platform` (offline stamping; not with
    /// --server).
    #[arg(long, required_unless_present = "server", conflicts_with = "server")]
    platform_key: Option<PathBuf>,
    /// Stamp through the report server's relay endpoint (POST /v1/stamp) with a relay token: only
    /// the suite, the commitment and the context are sent. The network must be the token's.
    #[command(flatten)]
    remote: ServerArgs,
    /// Network (platform) id asserted in the context.
    #[arg(long)]
    network: String,
    /// Sender user id asserted in the context.
    #[arg(long)]
    sender: String,
    /// Recipient user id (repeatable; at least one).
    #[arg(long, required = true)]
    recipient: Vec<String>,
    /// Room (group conversation) id, for group messages.
    #[arg(long)]
    room: Option<String>,
    /// Platform timestamp in milliseconds since the Unix epoch (default: now).
    #[arg(long)]
    timestamp_ms: Option<u64>,
    /// Platform message id.
    #[arg(long)]
    message_id: String,
    /// Input: the output of `seal` (or a bare envelope) as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Write the stamped envelope JSON here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct OpenArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// The recipient's own user id; the stamped context must name it.
    #[arg(long)]
    me: String,
    /// Require the stamped context's sender to be this user (the peer the E2E layer authenticated).
    #[arg(long)]
    sender: Option<String>,
    /// Require a valid Ed25519 stamp signature under this platform public key (base64url).
    #[arg(long)]
    platform_verifying_key: Option<String>,
    /// Directory holding attachment blobs (COMMITMENT_HEX.blob); attachments are opened if given.
    #[arg(long, requires = "attachments_out")]
    blob_dir: Option<PathBuf>,
    /// Directory to write opened attachments to (each written to a temporary file and renamed only
    /// once every check passed).
    #[arg(long, requires = "blob_dir")]
    attachments_out: Option<PathBuf>,
    /// Input: a stamped envelope as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Write the JSON output here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct ReportArgs {
    /// The reporting user's id (must be a recipient of the message).
    #[arg(long)]
    reporter: String,
    /// Reason or category.
    #[arg(long, default_value = "")]
    reason: String,
    /// Report category from the network's policy (e.g. spam, harassment); with --server only.
    #[arg(long, requires = "server")]
    category: Option<String>,
    /// Submit the report to the report server (POST /v1/reports) with the network's service token,
    /// which asserts --reporter; prints the server's answer (case id, verdict) instead of the
    /// report. A refusal exits 1 with the server's error code in brackets on stderr.
    #[command(flatten)]
    remote: ServerArgs,
    /// An earlier opened message of the same conversation (output of `open`), repeatable, oldest first.
    #[arg(long)]
    earlier: Vec<PathBuf>,
    /// Input: the output of `open` (or a bare opened message) as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Write the report JSON (with --server: the server's answer) here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    /// Platform key file (the key the stamp was made with).
    #[arg(long)]
    platform_key: PathBuf,
    /// Verification time in milliseconds since the Unix epoch (default: now).
    #[arg(long)]
    now_ms: Option<u64>,
    /// Reporting window in milliseconds (default 30 days).
    #[arg(long)]
    window_ms: Option<u64>,
    /// Directory holding attachment blobs; if given, every attachment of the reported message is
    /// decrypted and checked against its verified reference.
    #[arg(long)]
    blob_dir: Option<PathBuf>,
    /// Input: a report as JSON; "-" or absent for stdin.
    #[arg(long = "in")]
    input: Option<PathBuf>,
}

/// Errors of the CLI: the library's, or a usage problem.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Sdk(#[from] Error),
    #[error("{0}")]
    Usage(String),
    #[error("invalid JSON input: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<franking_core::Error> for CliError {
    fn from(e: franking_core::Error) -> Self {
        CliError::Sdk(Error::Core(e))
    }
}

type CliResult<T> = Result<T, CliError>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = match &e {
                CliError::Sdk(Error::Core(c)) => format!(" [{}]", c.code()),
                CliError::Sdk(Error::Server { code, .. }) => format!(" [{code}]"),
                _ => String::new(),
            };
            eprintln!("franking: error: {e}{code}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> CliResult<()> {
    match command {
        Command::Keygen(a) => keygen(a),
        Command::Seal(a) => seal(a),
        Command::Stamp(a) => stamp(a),
        Command::Open(a) => open(a),
        Command::Report(a) => report(a),
        Command::Verify(a) => verify(a),
    }
}

fn read_text(path: &Path) -> CliResult<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|source| CliError::File {
                path: path.into(),
                source,
            })?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|source| CliError::File {
        path: path.into(),
        source,
    })
}

fn read_input(input: &Option<PathBuf>) -> CliResult<String> {
    read_text(input.as_deref().unwrap_or(Path::new("-")))
}

fn write_output(out: &Option<PathBuf>, value: &Value) -> CliResult<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    match out {
        Some(path) => write_atomically(path, |w| {
            Ok(w.write_all(text.as_bytes()).map_err(Error::from)?)
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|source| CliError::File {
                    path: "<stdout>".into(),
                    source,
                })
        }
    }
}

/// Write `path` through a temporary file in the same directory, renamed into place only if `f`
/// succeeds; on failure the temporary file is removed. Secrets and attachments never appear
/// half-written under their final name.
fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> CliResult<()>,
) -> CliResult<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| CliError::Usage(format!("{}: not a file path", path.display())))?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| Error::Random(e.to_string()))?;
    let tmp = dir.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        hex::encode(nonce)
    ));
    let file_err = |source| CliError::File {
        path: tmp.clone(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&tmp).map_err(file_err)?;
    let mut w = BufWriter::new(file);
    let result = f(&mut w).and_then(|()| {
        let file = w.into_inner().map_err(|e| file_err(e.into_error()))?;
        file.sync_all().map_err(file_err)?;
        std::fs::rename(&tmp, path).map_err(|source| CliError::File {
            path: path.into(),
            source,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn keygen(a: KeygenArgs) -> CliResult<()> {
    let text = match a.kind {
        KeyKind::Session => keys::session_key_to_json(&client_sdk::frank::SessionKey::generate()?)?,
        KeyKind::Platform => {
            keys::platform_key_to_json(&StampKey::generate(KeyId(a.key_id), a.sign)?)?
        }
    };
    let text = zeroize::Zeroizing::new(text + "\n");
    match &a.out {
        Some(path) => write_atomically(path, |w| {
            Ok(w.write_all(text.as_bytes()).map_err(Error::from)?)
        }),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|source| CliError::File {
                path: "<stdout>".into(),
                source,
            }),
    }
}

fn conversation(s: &SessionArgs) -> CliResult<Conversation> {
    let json = zeroize::Zeroizing::new(read_text(&s.session_key)?);
    let key = keys::session_key_from_json(&json)?;
    Ok(Conversation::new(s.conversation.clone(), key))
}

fn blob_path(dir: &Path, commitment: &[u8; 32]) -> PathBuf {
    dir.join(format!("{}.blob", hex::encode(commitment)))
}

fn seal(a: SealArgs) -> CliResult<()> {
    let conv = conversation(&a.session)?.with_suite(Suite::from_id(a.suite)?);
    let text = match (&a.text, &a.text_file) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) => read_text(p)?,
        (None, None) => String::new(),
    };
    if !a.attach.is_empty() && a.blob_dir.is_none() {
        return Err(CliError::Usage("--attach requires --blob-dir".into()));
    }
    let mut attachments = Vec::new();
    let mut blobs = Vec::new();
    for spec in &a.attach {
        let (path, media_type) = match spec.rsplit_once(':') {
            Some((p, m)) if m.contains('/') => (PathBuf::from(p), m.to_owned()),
            _ => (PathBuf::from(spec), "application/octet-stream".to_owned()),
        };
        let dir = a.blob_dir.as_deref().unwrap_or(Path::new("."));
        let input = File::open(&path).map_err(|source| CliError::File {
            path: path.clone(),
            source,
        })?;
        // The blob's name is its commitment, known only at the end: seal to a temporary name.
        let tmp = dir.join(format!(".sealing-{}.blob", std::process::id()));
        let mut reference = None;
        write_atomically(&tmp, |w| {
            reference = Some(seal_attachment(&media_type, BufReader::new(input), w)?);
            Ok(())
        })?;
        let reference =
            reference.ok_or_else(|| CliError::Usage("sealing produced no reference".into()))?;
        let blob = blob_path(dir, &reference.commitment);
        std::fs::rename(&tmp, &blob).map_err(|source| CliError::File {
            path: blob.clone(),
            source,
        })?;
        blobs.push(json!({
            "file": path,
            "blob": blob,
            "media_type": media_type,
            "length": reference.length,
            "commitment": hex::encode(reference.commitment),
        }));
        attachments.push(reference);
    }
    let content = MessageContent { text, attachments };
    let envelope = conv.seal(&content)?;
    write_output(&a.out, &json!({ "envelope": envelope, "blobs": blobs }))
}

/// Accept either `{"envelope": ...}` (the output of `seal`) or a bare envelope.
fn parse_envelope(text: &str) -> CliResult<Envelope> {
    let mut v: Value = serde_json::from_str(text)?;
    let env = match v.get_mut("envelope") {
        Some(e) => e.take(),
        None => v,
    };
    Ok(serde_json::from_value(env)?)
}

fn stamp(a: StampArgs) -> CliResult<()> {
    let remote = a.remote.client()?;
    let envelope = parse_envelope(&read_input(&a.input)?)?;
    let ctx = Context::new(
        a.network,
        a.sender,
        a.room,
        a.recipient,
        a.timestamp_ms.unwrap_or_else(now_ms),
        a.message_id,
    )?;
    let delivered = match (&remote, &a.platform_key) {
        (Some(client), _) => client.stamp(envelope, ctx)?,
        (None, Some(path)) => {
            let key_json = zeroize::Zeroizing::new(read_text(path)?);
            let ring = KeyRing::new(keys::platform_key_from_json(&key_json)?, 0);
            stamp_envelope(&ring, envelope, ctx)?
        }
        (None, None) => return Err(CliError::Usage("--platform-key or --server".into())),
    };
    write_output(&a.out, &serde_json::to_value(&delivered)?)
}

fn open(a: OpenArgs) -> CliResult<()> {
    let conv = conversation(&a.session)?;
    let delivered: StampedEnvelope = serde_json::from_str(&read_input(&a.input)?)?;
    let vk = a
        .platform_verifying_key
        .as_deref()
        .map(keys::verifying_key_from_b64)
        .transpose()?;
    let mut checks = OpenChecks::recipient(&a.me);
    if let Some(s) = &a.sender {
        checks = checks.sender(s);
    }
    if let Some(vk) = &vk {
        checks = checks.platform_key(vk);
    }
    let opened = conv.open(&delivered, &checks)?;
    let mut shown = Vec::new();
    for (i, r) in opened.content().attachments.iter().enumerate() {
        let mut entry = json!({
            "index": i,
            "media_type": r.media_type,
            "length": r.length,
            "commitment": hex::encode(r.commitment),
        });
        if let (Some(dir), Some(out_dir)) = (&a.blob_dir, &a.attachments_out) {
            let blob = blob_path(dir, &r.commitment);
            let input = File::open(&blob).map_err(|source| CliError::File {
                path: blob.clone(),
                source,
            })?;
            let out = out_dir.join(format!("{i}-{}", &hex::encode(r.commitment)[..16]));
            write_atomically(&out, |w| {
                open_attachment(r, BufReader::new(input), w)?;
                Ok(())
            })?;
            entry["path"] = json!(out);
        }
        shown.push(entry);
    }
    write_output(
        &a.out,
        &json!({
            "text": opened.content().text,
            "attachments": shown,
            "context": opened.context(),
            "opened": opened,
        }),
    )
}

/// Accept either the output of `open` (`{"opened": ...}`) or a bare opened message.
fn parse_opened(text: &str) -> CliResult<OpenedMessage> {
    let mut v: Value = serde_json::from_str(text)?;
    let m = match v.get_mut("opened") {
        Some(m) => m.take(),
        None => v,
    };
    Ok(serde_json::from_value(m)?)
}

fn report(a: ReportArgs) -> CliResult<()> {
    let remote = a.remote.client()?;
    let opened = parse_opened(&read_input(&a.input)?)?;
    let earlier = a
        .earlier
        .iter()
        .map(|p| parse_opened(&read_text(p)?))
        .collect::<CliResult<Vec<_>>>()?;
    let earlier_refs: Vec<&OpenedMessage> = earlier.iter().collect();
    let report = opened.report(&a.reporter, &a.reason, &earlier_refs)?;
    match remote {
        Some(client) => {
            let receipt = client.submit_report(&a.reporter, a.category.as_deref(), &report)?;
            write_output(&a.out, &serde_json::to_value(&receipt)?)
        }
        None => write_output(&a.out, &serde_json::to_value(&report)?),
    }
}

fn verify(a: VerifyArgs) -> CliResult<()> {
    let key_json = zeroize::Zeroizing::new(read_text(&a.platform_key)?);
    let ring = KeyRing::new(keys::platform_key_from_json(&key_json)?, 0);
    let mut policy = ReportPolicy::default();
    if let Some(w) = a.window_ms {
        policy.window_ms = w;
    }
    let now = a.now_ms.unwrap_or_else(now_ms);
    let result = serde_json::from_str::<Report>(&read_input(&a.input)?)
        .map_err(CliError::from)
        .and_then(|report| {
            Ok(client_sdk::moderation::verify_report(
                report, &ring, &policy, now,
            )?)
        })
        .and_then(|v| {
            let mut attachments = Vec::new();
            for (i, r) in v.content.attachments.iter().enumerate() {
                let mut entry = json!({
                    "index": i,
                    "media_type": r.media_type,
                    "length": r.length,
                    "commitment": hex::encode(r.commitment),
                });
                if let Some(dir) = &a.blob_dir {
                    let blob = blob_path(dir, &r.commitment);
                    let input = File::open(&blob).map_err(|source| CliError::File {
                        path: blob.clone(),
                        source,
                    })?;
                    verify_attachment(r, BufReader::new(input))?;
                    entry["verified"] = json!(true);
                }
                attachments.push(entry);
            }
            Ok(json!({
                "valid": true,
                "key_id": v.report.key_id(),
                "reporter": v.report.report().reporter,
                "reason": v.report.report().reason,
                "context": v.report.context(),
                "text": v.content.text,
                "attachments": attachments,
                "earlier": v.earlier.iter().map(|c| c.text.clone()).collect::<Vec<_>>(),
            }))
        });
    match result {
        Ok(out) => write_output(&None, &out),
        Err(e) => {
            let code = match &e {
                CliError::Sdk(Error::Core(c)) => c.code(),
                CliError::Sdk(Error::AttachmentCommitment) => "attachment_commitment_mismatch",
                CliError::Sdk(_) => "attachment_or_content_invalid",
                CliError::Json(_) => "malformed",
                _ => "error",
            };
            // Best effort: the error itself goes to stderr via main's handler.
            let _ = write_output(&None, &json!({ "valid": false, "code": code }));
            Err(e)
        }
    }
}
