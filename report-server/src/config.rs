//! Configuration: command-line flags, environment variables and an optional config file.
//!
//! Precedence: flag > environment variable > config file > built-in default. The config file
//! (`--config FILE` / `FRANKING_CONFIG`) holds `NAME=value` lines using the environment variable
//! names of [`Cli`] (`#` starts a comment). [`Cli::load`] turns each line whose variable is not
//! set and whose flag is not given into that flag, so a value parses exactly as it would from the
//! environment; a name that is not one of [`Cli`]'s variables is refused. The one table of
//! variables is [`Cli`] itself: `--help` lists every one. See `docs/operations.md`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::error::ApiError;
use crate::state::Limits;

/// Command-line interface of the `report-server` binary.
#[derive(Parser, Clone, Default)]
#[command(
    name = "report-server",
    version,
    about = "Franking report server: stamps for relays, verified abuse-report intake, moderation \
             and admin API over PostgreSQL or an embedded SQLite file.",
    long_about = None
)]
pub struct Cli {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "FRANKING_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Directory for the embedded SQLite database (`franking.db`) and, in dev mode, the generated
    /// server key file (`server.key`) [default: current directory].
    #[arg(long, env = "FRANKING_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database URL: `postgres://user@host/db` or `sqlite:path?mode=rwc`
    /// [default: sqlite file `franking.db` in --data-dir].
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Server key (base64url, 32 bytes) that encrypts stamping secrets and evidence at rest.
    /// Required for production and for several instances (all must share it). Without it the
    /// server runs in dev mode and generates `server.key` (mode 0600) in --data-dir once.
    #[arg(
        long,
        env = "FRANKING_SERVER_KEY",
        value_name = "B64URL",
        hide_env_values = true
    )]
    pub server_key: Option<String>,

    /// The server key being replaced (base64url, 32 bytes), during a server-key rotation only:
    /// values sealed under it still open; nothing new is sealed with it (docs/operations.md).
    #[arg(
        long,
        env = "FRANKING_PREVIOUS_SERVER_KEY",
        value_name = "B64URL",
        hide_env_values = true
    )]
    pub previous_server_key: Option<String>,

    /// Refuse to start without FRANKING_SERVER_KEY and skip the dev bootstrap (no generated
    /// network, key or tokens).
    #[arg(long, env = "FRANKING_PRODUCTION")]
    pub production: bool,

    /// Largest request body in bytes [default: 2097152].
    #[arg(long, env = "FRANKING_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Per-request timeout in seconds [default: 30].
    #[arg(long, env = "FRANKING_REQUEST_TIMEOUT_SECS", value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,

    /// Largest multipart report upload (report and attachment blobs) in bytes, whatever the
    /// network policies allow [default: 1073741824].
    #[arg(long, env = "FRANKING_MAX_UPLOAD_BYTES", value_name = "BYTES")]
    pub max_upload_bytes: Option<u64>,

    /// Timeout of a multipart report upload in seconds [default: 600].
    #[arg(long, env = "FRANKING_UPLOAD_TIMEOUT_SECS", value_name = "SECS")]
    pub upload_timeout_secs: Option<u64>,

    /// Most items in one batch stamp request [default: 1000].
    #[arg(long, env = "FRANKING_MAX_BATCH", value_name = "N")]
    pub max_batch: Option<usize>,

    /// Cache relay-token authentications and current stamping keys for this many milliseconds on
    /// the stamping path (0 = off). A revoked relay token may stamp for up to this long on other
    /// instances [default: 1000].
    #[arg(long, env = "FRANKING_STAMP_CACHE_MS", value_name = "MS")]
    pub stamp_cache_ms: Option<u64>,

    /// Seconds a connection has to send a complete request head, from its first byte (or, on a
    /// new connection, from being accepted); slower connections are closed [default: 10].
    #[arg(long, env = "FRANKING_HEADER_TIMEOUT_SECS", value_name = "SECS")]
    pub header_timeout_secs: Option<u64>,

    /// Seconds an idle keep-alive connection (no request in progress) stays open [default: 60].
    #[arg(long, env = "FRANKING_IDLE_TIMEOUT_SECS", value_name = "SECS")]
    pub idle_timeout_secs: Option<u64>,

    /// Most connections served at once; further connections are closed on accept
    /// [default: 1024].
    #[arg(long, env = "FRANKING_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// On SIGTERM/ctrl-c, seconds to let in-flight requests finish before the remaining
    /// connections are closed and the process exits [default: 10].
    #[arg(long, env = "FRANKING_SHUTDOWN_TIMEOUT_SECS", value_name = "SECS")]
    pub shutdown_timeout_secs: Option<u64>,

    /// Failed token authentications (401) one client address may cause per minute before its
    /// requests get 429 without a token lookup; 0 = no limit [default: 120].
    #[arg(long, env = "FRANKING_AUTH_FAILURES_PER_MINUTE", value_name = "N")]
    pub auth_failures_per_minute: Option<u32>,

    /// Serve `/metrics` on this address only (not on --listen).
    #[arg(long, env = "FRANKING_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// Require `Authorization: Bearer TOKEN` on `/metrics`.
    #[arg(
        long,
        env = "FRANKING_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,

    /// Maximum database connections in this instance's pool [default: 16].
    #[arg(long, env = "FRANKING_DB_MAX_CONNECTIONS", value_name = "N")]
    pub db_max_connections: Option<u32>,

    /// How long a moderator-console session lasts after sign-in, in seconds [default: 43200].
    #[arg(long, env = "FRANKING_SESSION_TTL_SECS", value_name = "SECS")]
    pub session_ttl_secs: Option<u64>,

    /// Mark the console session cookie `Secure` (browsers then send it over HTTPS only). Set this
    /// whenever the server is reached through TLS (e.g. behind a TLS-terminating proxy).
    #[arg(long, env = "FRANKING_COOKIE_SECURE")]
    pub cookie_secure: bool,

    /// How often this instance runs the evidence purge, in seconds; 0 = never (admins can still
    /// run it with `POST /v1/admin/retention/run`) [default: 3600].
    #[arg(long, env = "FRANKING_RETENTION_INTERVAL_SECS", value_name = "SECS")]
    pub retention_interval_secs: Option<u64>,

    /// How often this instance's webhook delivery worker claims due deliveries, in milliseconds;
    /// 0 = no worker on this instance [default: 1000].
    #[arg(long, env = "FRANKING_WEBHOOK_INTERVAL_MS", value_name = "MS")]
    pub webhook_interval_ms: Option<u64>,

    /// Per-attempt timeout of a webhook POST in milliseconds [default: 10000].
    #[arg(long, env = "FRANKING_WEBHOOK_TIMEOUT_MS", value_name = "MS")]
    pub webhook_timeout_ms: Option<u64>,

    /// Attempts before a webhook delivery is dead-lettered [default: 12].
    #[arg(long, env = "FRANKING_WEBHOOK_MAX_ATTEMPTS", value_name = "N")]
    pub webhook_max_attempts: Option<u32>,

    /// Backoff after a webhook delivery's first failure in milliseconds (doubling, equal jitter)
    /// [default: 5000].
    #[arg(long, env = "FRANKING_WEBHOOK_BACKOFF_MS", value_name = "MS")]
    pub webhook_backoff_ms: Option<u64>,

    /// Longest webhook retry backoff in milliseconds [default: 3600000].
    #[arg(long, env = "FRANKING_WEBHOOK_MAX_BACKOFF_MS", value_name = "MS")]
    pub webhook_max_backoff_ms: Option<u64>,

    /// Optional config file of `NAME=value` lines (environment variable names).
    #[arg(long, env = "FRANKING_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log filter (tracing-subscriber EnvFilter syntax) [default: info].
    #[arg(long, env = "RUST_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Issue a new admin token for SUBJECT, print it once, and exit (how production gets its first
    /// admin token; runs the migrations first).
    #[arg(long, value_name = "SUBJECT")]
    pub issue_admin_token: Option<String>,

    /// A one-shot command instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One-shot commands of the binary.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// Recompute the audit hash chains directly in the database (same configuration as the
    /// server), print the JSON report and exit 0 if every chain verifies, 1 otherwise.
    AuditVerify {
        /// A JSON file with checkpoints (`GET /v1/admin/audit/checkpoint`'s answer, or a list of
        /// checkpoints) to verify against as well.
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
    },
    /// Re-seal every stamping key, webhook secret and all evidence under FRANKING_SERVER_KEY (the
    /// new key), opening what is sealed under FRANKING_PREVIOUS_SERVER_KEY (the old key); online
    /// and resumable (run it again after a crash); verifies at the end that everything opens under
    /// the new key alone and prints the JSON report.
    RotateServerKey {
        /// Rows per transaction.
        #[arg(long, default_value_t = 200, value_name = "ROWS")]
        batch_size: u32,
        /// Only verify that every sealed value opens under FRANKING_SERVER_KEY alone.
        #[arg(long)]
        verify_only: bool,
    },
}

impl core::fmt::Debug for Cli {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cli")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "server_key",
                &self.server_key.as_ref().map(|_| "<redacted>"),
            )
            .field("production", &self.production)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The resolved configuration.
#[derive(Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL (may hold a password: never logged).
    pub database_url: String,
    /// Base64url server key, if configured.
    pub server_key: Option<String>,
    /// Base64url previous server key (during a rotation), if configured.
    pub previous_server_key: Option<String>,
    /// Production mode.
    pub production: bool,
    /// Request limits.
    pub limits: Limits,
    /// Pool size.
    pub db_max_connections: u32,
    /// Moderator-console settings.
    pub console: crate::console::ConsoleSettings,
    /// Log filter.
    pub log: String,
    /// `--issue-admin-token SUBJECT`: issue a token and exit.
    pub issue_admin_token: Option<String>,
    /// Separate `/metrics` listener.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token required on `/metrics` (secret: never logged).
    pub metrics_token: Option<String>,
    /// A one-shot command (`audit-verify`).
    pub command: Option<Command>,
    /// Interval of the periodic evidence purge (`None`: not run by this instance).
    pub retention_interval: Option<Duration>,
    /// Webhook delivery worker settings (`None`: no worker on this instance).
    pub webhooks: Option<crate::webhooks::delivery::DeliveryConfig>,
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "server_key",
                &self.server_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "previous_server_key",
                &self.previous_server_key.as_ref().map(|_| "<redacted>"),
            )
            .field("production", &self.production)
            .field("limits", &self.limits)
            .field("db_max_connections", &self.db_max_connections)
            .field("console", &self.console)
            .field("metrics_listen", &self.metrics_listen)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("retention_interval", &self.retention_interval)
            .field("webhooks", &self.webhooks)
            .finish()
    }
}

/// A database URL with any password replaced (for logs).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{}:<redacted>@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The `NAME=value` lines of a config file: (line number, name, value).
fn parse_file(text: &str) -> Result<Vec<(usize, String, String)>, String> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected NAME=value", i + 1))?;
        let v = v.trim().trim_matches('"');
        lines.push((i + 1, k.trim().to_owned(), v.to_owned()));
    }
    Ok(lines)
}

/// The flags standing for the config file's lines: `--flag=value` (`--flag` for a switch set to
/// a true value) for each line whose variable is not set in the environment and whose flag is not
/// on the command line. Unknown names are refused.
fn file_flags(
    cmd: &clap::Command,
    matches: &clap::ArgMatches,
    text: &str,
) -> Result<Vec<OsString>, String> {
    use clap::parser::ValueSource;
    let mut flags = Vec::new();
    for (line, name, value) in parse_file(text)? {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == name.as_str()))
            .ok_or_else(|| {
                format!(
                    "line {line}: unknown name {name:?} (`report-server --help` lists every \
                     variable)"
                )
            })?;
        if name == "FRANKING_CONFIG" {
            return Err(format!(
                "line {line}: a config file cannot name another one"
            ));
        }
        let given = matches.value_source(arg.get_id().as_str());
        if matches!(
            given,
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let long = arg
            .get_long()
            .ok_or_else(|| format!("line {line}: {name} has no flag"))?;
        if arg.get_action().takes_values() {
            flags.push(OsString::from(format!("--{long}={value}")));
        } else {
            match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => flags.push(OsString::from(format!("--{long}"))),
                "false" | "0" | "no" | "off" | "" => {}
                _ => return Err(format!("line {line}: {name} must be true or false")),
            }
        }
    }
    Ok(flags)
}

impl Cli {
    /// Parse the command line and the environment (exiting on `--help`, `--version` and usage
    /// errors, like any clap program), then the config file if one is named.
    pub fn load() -> Result<Self, ApiError> {
        Self::load_from(std::env::args_os().collect())
    }

    /// [`Cli::load`] with these arguments (the first is the program name).
    pub fn load_from(args: Vec<OsString>) -> Result<Self, ApiError> {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let cmd = Self::command();
        let matches = cmd.clone().get_matches_from(args.clone());
        let cli = Self::from_arg_matches(&matches).map_err(|e| ApiError::Config(e.to_string()))?;
        let Some(path) = cli.config.clone() else {
            return Ok(cli);
        };
        let in_file = |e: String| ApiError::Config(format!("config file {}: {e}", path.display()));
        let text = std::fs::read_to_string(&path).map_err(|e| in_file(e.to_string()))?;
        let flags = file_flags(&cmd, &matches, &text).map_err(in_file)?;
        if flags.is_empty() {
            return Ok(cli);
        }
        // The file's flags go right after the program name (before any subcommand).
        let mut all = args;
        let rest = all.split_off(1.min(all.len()));
        all.extend(flags);
        all.extend(rest);
        Self::try_parse_from(all).map_err(|e| {
            // clap's first line names the flag the variable stands for; its usage hint is noise.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            in_file(first.trim_start_matches("error: ").to_owned())
        })
    }

    /// Resolve the parsed values (flags, environment and config file: see [`Cli::load`])
    /// against the defaults.
    pub fn resolve(self) -> Result<Config, ApiError> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("."));
        let database_url = self.database_url.unwrap_or_else(|| {
            format!("sqlite:{}?mode=rwc", data_dir.join("franking.db").display())
        });
        let listen = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let server_key = self.server_key;
        let previous_server_key = self.previous_server_key;
        let production = self.production;
        let d = Limits::default();
        let limits = Limits {
            max_body_bytes: self.max_body_bytes.unwrap_or(d.max_body_bytes),
            request_timeout: Duration::from_secs(
                self.request_timeout_secs
                    .unwrap_or(d.request_timeout.as_secs()),
            ),
            max_upload_bytes: self.max_upload_bytes.unwrap_or(d.max_upload_bytes),
            upload_timeout: Duration::from_secs(
                self.upload_timeout_secs
                    .unwrap_or(d.upload_timeout.as_secs()),
            ),
            max_batch: self.max_batch.unwrap_or(d.max_batch),
            stamp_cache_ttl: Duration::from_millis(self.stamp_cache_ms.unwrap_or(1000)),
            header_read_timeout: Duration::from_secs(
                self.header_timeout_secs
                    .unwrap_or(d.header_read_timeout.as_secs()),
            ),
            idle_timeout: Duration::from_secs(
                self.idle_timeout_secs.unwrap_or(d.idle_timeout.as_secs()),
            ),
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            shutdown_timeout: Duration::from_secs(
                self.shutdown_timeout_secs
                    .unwrap_or(d.shutdown_timeout.as_secs()),
            ),
            auth_failures_per_minute: self
                .auth_failures_per_minute
                .unwrap_or(d.auth_failures_per_minute),
        };
        for (name, zero) in [
            (
                "FRANKING_HEADER_TIMEOUT_SECS",
                limits.header_read_timeout.is_zero(),
            ),
            ("FRANKING_IDLE_TIMEOUT_SECS", limits.idle_timeout.is_zero()),
            ("FRANKING_MAX_CONNECTIONS", limits.max_connections == 0),
        ] {
            if zero {
                return Err(ApiError::Config(format!("{name} must be positive")));
            }
        }
        let metrics_listen = self.metrics_listen;
        let metrics_token = self.metrics_token;
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ApiError::Config(
                "FRANKING_METRICS_TOKEN must be at least 16 characters".into(),
            ));
        }
        let db_max_connections = self.db_max_connections.unwrap_or(16);
        let console = crate::console::ConsoleSettings {
            session_ttl: Duration::from_secs(self.session_ttl_secs.unwrap_or(12 * 60 * 60)),
            cookie_secure: self.cookie_secure,
        };
        if console.session_ttl.is_zero() {
            return Err(ApiError::Config(
                "FRANKING_SESSION_TTL_SECS must be at least 1".into(),
            ));
        }
        let log = self.log.unwrap_or_else(|| "info".to_owned());
        if production && server_key.is_none() {
            return Err(ApiError::Config(
                "production mode needs FRANKING_SERVER_KEY (base64url, 32 bytes)".into(),
            ));
        }
        let retention_interval = match self.retention_interval_secs {
            None => Some(crate::retention::DEFAULT_INTERVAL),
            Some(0) => None,
            Some(s) => Some(Duration::from_secs(s)),
        };
        let webhooks = crate::webhooks::delivery::DeliveryConfig::from_settings(
            self.webhook_interval_ms,
            self.webhook_timeout_ms,
            self.webhook_max_attempts,
            self.webhook_backoff_ms,
            self.webhook_max_backoff_ms,
        );
        Ok(Config {
            retention_interval,
            webhooks,
            listen,
            data_dir,
            database_url,
            server_key,
            previous_server_key,
            production,
            limits,
            db_max_connections,
            console,
            log,
            issue_admin_token: self.issue_admin_token,
            metrics_listen,
            metrics_token,
            command: self.command,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:<redacted>@h:5432/db"
        );
        assert_eq!(redact_url("sqlite:x.db"), "sqlite:x.db");
    }

    #[test]
    fn file_values_and_precedence() {
        let dir = std::env::temp_dir().join(format!("rs-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cfg");
        std::fs::write(
            &p,
            "# comment\nFRANKING_LISTEN=127.0.0.1:9999\nFRANKING_MAX_BATCH=7\n\
             FRANKING_IDLE_TIMEOUT_SECS=5\nFRANKING_SHUTDOWN_TIMEOUT_SECS=3\n\
             FRANKING_RETENTION_INTERVAL_SECS=0\nFRANKING_WEBHOOK_MAX_ATTEMPTS=3\n\
             FRANKING_COOKIE_SECURE=\"true\"\n",
        )
        .unwrap();
        let load = |extra: &[&str]| {
            let mut args = vec!["report-server".to_owned(), "--config".into()];
            args.push(p.display().to_string());
            args.extend(extra.iter().map(|a| (*a).to_owned()));
            Cli::load_from(args.into_iter().map(Into::into).collect())
        };
        let c = load(&["--max-batch", "9"]).unwrap().resolve().unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.limits.max_batch, 9);
        assert_eq!(c.limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.limits.max_connections, 1024);
        assert!(c.database_url.starts_with("sqlite:"));
        assert_eq!(c.retention_interval, None);
        assert!(c.console.cookie_secure);
        let hooks = c.webhooks.unwrap();
        assert_eq!(hooks.max_attempts, 3);
        assert_eq!(hooks.interval, Duration::from_secs(1));
        assert_eq!(c.limits.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.limits.shutdown_timeout, Duration::from_secs(3));
        // The same parsing as the environment: a bad value or an unknown name is refused with
        // the file and line named.
        for (text, expect) in [
            ("FRANKING_MAX_BATCH=lots\n", "--max-batch"),
            (
                "\nFRANKING_RETENTION_INTERVAL=0\n",
                "line 2: unknown name \"FRANKING_RETENTION_INTERVAL\"",
            ),
            (
                "FRANKING_PRODUCTION=maybe\n",
                "FRANKING_PRODUCTION must be true or false",
            ),
            ("just words\n", "line 1: expected NAME=value"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = load(&[]).unwrap_err().to_string();
            assert!(
                e.contains(expect) && e.contains("config file"),
                "{text}: {e}"
            );
        }
        let zero = Cli {
            max_connections: Some(0),
            ..Cli::default()
        };
        assert!(zero.resolve().is_err());
        let bad = Cli {
            production: true,
            ..Cli::default()
        };
        assert!(bad.resolve().is_err());
        // Secrets never appear in Debug output (which is what the start-up log prints).
        let secret = Cli {
            server_key: Some("c2VjcmV0LXNlcnZlci1rZXktYnl0ZXMtMzItbG9uZyE".into()),
            database_url: Some("postgres://u:hunter2@db/x".into()),
            metrics_token: Some("metrics-secret-token-value".into()),
            ..Cli::default()
        };
        let shown = format!("{secret:?} {:?}", secret.clone().resolve().unwrap());
        assert!(
            !shown.contains("c2VjcmV0")
                && !shown.contains("hunter2")
                && !shown.contains("metrics-secret"),
            "{shown}"
        );
    }
}
