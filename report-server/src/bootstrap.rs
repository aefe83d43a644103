//! Start-up: the server key (configured, or generated once into the data dir in dev mode), the
//! check that it matches the database, and the one-time development bootstrap.

use std::io::Write as _;
use std::path::Path;

use sqlx::AnyPool;

use crate::audit::AuditEntry;
use crate::auth::{Role, issue_token};
use crate::change::Change;
use crate::error::ApiError;
use crate::keys::{Policy, insert_network};
use crate::seal::{self, ServerKey};
use crate::util::now_ms;

/// Name of the dev-mode server key file inside the data directory.
pub const SERVER_KEY_FILE: &str = "server.key";
/// The network the dev bootstrap creates.
pub const DEV_NETWORK: &str = "dev";

/// The configured server key, or in dev mode the one in `data_dir/server.key`, generated (mode 0600)
/// if absent. Returns the key and whether it was generated now.
pub fn server_key(
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<(ServerKey, bool), ApiError> {
    if let Some(k) = configured {
        return Ok((ServerKey::from_base64(k)?, false));
    }
    let path = data_dir.join(SERVER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            check_private(&path)?;
            Ok((ServerKey::from_base64(&text)?, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| ApiError::Config(format!("cannot create data dir: {e}")))?;
            let key = ServerKey::generate()?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            match opts.open(&path) {
                Ok(mut f) => {
                    f.write_all(key.to_base64().as_bytes())
                        .and_then(|()| f.sync_all())
                        .map_err(|e| ApiError::Config(format!("cannot write server key: {e}")))?;
                    Ok((key, true))
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| ApiError::Config(format!("cannot read server key: {e}")))?;
                    Ok((ServerKey::from_base64(&text)?, false))
                }
                Err(e) => Err(ApiError::Config(format!(
                    "cannot create server key file: {e}"
                ))),
            }
        }
        Err(e) => Err(ApiError::Config(format!(
            "cannot read server key file {}: {e}",
            path.display()
        ))),
    }
}

/// Refuse a key file that other users may read (any group or other permission bit, e.g. 0644):
/// the key decrypts every stamping secret and all evidence. Unix only.
fn check_private(path: &Path) -> Result<(), ApiError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| ApiError::Config(format!("cannot read server key file: {e}")))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(ApiError::Config(format!(
                "server key file {} has mode {:04o}: other users may read it; \
                 `chmod 600` it (and check who copied it)",
                path.display(),
                mode & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Record a check value sealed with the server key on first start; on later starts (and on every
/// other instance) refuse to run with a different key instead of failing on every request.
pub async fn check_server_key(db: &AnyPool, key: &ServerKey) -> Result<(), ApiError> {
    let sealed = seal::seal(key, "key-check", b"", b"franking report-server")?;
    sqlx::query(
        "INSERT INTO server_meta (name, value, created_at) VALUES ('server_key_check', $1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(sealed)
    .bind(now_ms())
    .execute(db)
    .await?;
    let (stored,): (String,) =
        sqlx::query_as("SELECT value FROM server_meta WHERE name = 'server_key_check'")
            .fetch_one(db)
            .await?;
    seal::open(key, "key-check", b"", &stored).map_err(|_| {
        ApiError::Config(
            "the server key does not match the one this database was initialised with \
             (set FRANKING_SERVER_KEY to the shared key)"
                .into(),
        )
    })?;
    Ok(())
}

/// Record in the database that it is used in production mode (idempotent; `--production` does it
/// at every start). From then on the dev bootstrap never runs on this database, even when a later
/// start forgets `--production`.
pub async fn record_production(db: &AnyPool) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO server_meta (name, value, created_at) VALUES ('production', 'true', $1) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// Tokens created by the dev bootstrap (printed once by the binary).
pub struct DevBootstrap {
    /// Admin token.
    pub admin: zeroize::Zeroizing<String>,
    /// Relay token of the `dev` network.
    pub relay: zeroize::Zeroizing<String>,
    /// Service token of the `dev` network.
    pub service: zeroize::Zeroizing<String>,
    /// Moderator token of the `dev` network.
    pub moderator: zeroize::Zeroizing<String>,
}

impl core::fmt::Debug for DevBootstrap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DevBootstrap(<redacted>)")
    }
}

/// Audit actor of the dev bootstrap.
pub const BOOTSTRAP_ACTOR: &str = "system:bootstrap";

/// Why the dev bootstrap did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBootstrap {
    /// It already ran on this database (possibly on another instance).
    AlreadyDone,
    /// This database was used in production mode (`--production` was recorded).
    Production,
    /// The database already has networks or tokens (it is somebody's data, not a fresh database).
    NotEmpty,
}

/// On the very first start of an *empty* database in dev mode, in one audited [`Change`]: claim
/// the bootstrap in `server_meta` (so a second instance never repeats it), create network `dev`
/// with stamping key 1 and an admin, relay, service and moderator token, hand the tokens to
/// `announce` (the binary prints them) and only then commit, with one `bootstrap.dev` audit entry
/// naming the network and the token ids. Nothing is created when the database already has a
/// network or a token or production mode was recorded ([`record_production`]), or when `announce`
/// fails (a closed stdout): then the error is returned and a later start may try again.
pub async fn dev_bootstrap(
    db: &AnyPool,
    key: &ServerKey,
    announce: impl FnOnce(&DevBootstrap) -> std::io::Result<()>,
) -> Result<Result<(), NoBootstrap>, ApiError> {
    let mut change = Change::begin(db, BOOTSTRAP_ACTOR).await?;
    // The claim is the transaction's first write: a concurrent bootstrap waits for this one.
    let claimed = sqlx::query(
        "INSERT INTO server_meta (name, value, created_at) VALUES ('dev_bootstrap', 'done', $1) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(now_ms())
    .execute(change.conn())
    .await?
    .rows_affected();
    if claimed == 0 {
        change.rollback().await?;
        return Ok(Err(NoBootstrap::AlreadyDone));
    }
    let (production,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM server_meta WHERE name = 'production'")
            .fetch_one(change.conn())
            .await?;
    let (data,): (i64,) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM networks) + (SELECT COUNT(*) FROM tokens)")
            .fetch_one(change.conn())
            .await?;
    if production > 0 || data > 0 {
        change.rollback().await?;
        return Ok(Err(if production > 0 {
            NoBootstrap::Production
        } else {
            NoBootstrap::NotEmpty
        }));
    }
    let policy = Policy::default();
    insert_network(
        change.conn(),
        key,
        DEV_NETWORK,
        "Development network",
        &policy,
    )
    .await?;
    let mut issued = Vec::new();
    let mut secret = |id: String, role: Role, subject: &str, t: crate::auth::NewToken| {
        issued.push(serde_json::json!({ "id": id, "role": role, "subject": subject }));
        t.secret
    };
    let (id, t) = issue_token(change.conn(), Role::Admin, None, "bootstrap-admin", None).await?;
    let admin = secret(id, Role::Admin, "bootstrap-admin", t);
    let net = Some(DEV_NETWORK);
    let (id, t) = issue_token(change.conn(), Role::Relay, net, "dev-relay", None).await?;
    let relay = secret(id, Role::Relay, "dev-relay", t);
    let (id, t) = issue_token(change.conn(), Role::Service, net, "dev-service", None).await?;
    let service = secret(id, Role::Service, "dev-service", t);
    let (id, t) = issue_token(change.conn(), Role::Moderator, net, "dev-moderator", None).await?;
    let moderator = secret(id, Role::Moderator, "dev-moderator", t);
    let tokens = DevBootstrap {
        admin,
        relay,
        service,
        moderator,
    };
    if let Err(e) = announce(&tokens) {
        change.rollback().await?;
        return Err(ApiError::Config(format!(
            "cannot print the dev bootstrap tokens ({e}); nothing was created"
        )));
    }
    let entry = AuditEntry::new("bootstrap.dev", format!("network:{DEV_NETWORK}"))
        .network(Some(DEV_NETWORK))
        .details(serde_json::json!({ "policy": policy, "key_id": 1, "tokens": issued }));
    change.commit(entry).await?;
    Ok(Ok(()))
}

/// Issue an admin token without the dev bootstrap (production first start; used by the
/// `--issue-admin-token` flag of the binary and by tests). See [`issue_admin_announced`].
pub async fn issue_admin(
    db: &AnyPool,
    subject: &str,
) -> Result<zeroize::Zeroizing<String>, ApiError> {
    let mut secret = None;
    issue_admin_announced(db, subject, |t| {
        secret = Some(t.clone());
        Ok(())
    })
    .await?;
    secret.ok_or_else(|| ApiError::Internal("issued admin token not announced".into()))
}

/// Issue an admin token in an audited [`Change`], hand the secret to `announce` (the binary prints
/// it) and only then commit: if `announce` fails (a closed stdout), nothing is created.
pub async fn issue_admin_announced(
    db: &AnyPool,
    subject: &str,
    announce: impl FnOnce(&zeroize::Zeroizing<String>) -> std::io::Result<()>,
) -> Result<(), ApiError> {
    let mut change = Change::begin(db, "cli").await?;
    let (id, t) = issue_token(change.conn(), Role::Admin, None, subject, None).await?;
    if let Err(e) = announce(&t.secret) {
        change.rollback().await?;
        return Err(ApiError::Config(format!(
            "cannot print the admin token ({e}); nothing was created"
        )));
    }
    let entry = AuditEntry::new("token.issue", format!("token:{id}"))
        .details(serde_json::json!({ "role": "admin", "subject": subject }));
    change.commit(entry).await
}
