//! Start-up: the server key (configured, or generated once into the data dir in dev mode), the
//! check that it matches the database, and the one-time development bootstrap.

use std::io::Write as _;
use std::path::Path;

use sqlx::AnyPool;

use crate::audit::AuditEntry;
use crate::auth::{Role, issue_token};
use crate::change::Change;
use crate::error::ApiError;
use crate::keys::{Policy, create_network};
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
        Ok(text) => Ok((ServerKey::from_base64(&text)?, false)),
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

/// On the very first start of a database (claimed atomically through `server_meta`, so a second
/// instance never repeats it): create network `dev` with stamping key 1 and an admin, relay,
/// service and moderator token. Returns the tokens only to the instance that did it.
pub async fn dev_bootstrap(
    db: &AnyPool,
    key: &ServerKey,
) -> Result<Option<DevBootstrap>, ApiError> {
    let claimed = sqlx::query(
        "INSERT INTO server_meta (name, value, created_at) VALUES ('dev_bootstrap', 'done', $1) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(now_ms())
    .execute(db)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    let result = async {
        create_network(
            db,
            key,
            DEV_NETWORK,
            "Development network",
            &Policy::default(),
        )
        .await?;
        let (_, admin) = issue_token(db, Role::Admin, None, "bootstrap-admin", None).await?;
        let (_, relay) = issue_token(db, Role::Relay, Some(DEV_NETWORK), "dev-relay", None).await?;
        let (_, service) =
            issue_token(db, Role::Service, Some(DEV_NETWORK), "dev-service", None).await?;
        let (_, moderator) = issue_token(
            db,
            Role::Moderator,
            Some(DEV_NETWORK),
            "dev-moderator",
            None,
        )
        .await?;
        Ok::<_, ApiError>(DevBootstrap {
            admin: admin.secret,
            relay: relay.secret,
            service: service.secret,
            moderator: moderator.secret,
        })
    }
    .await;
    if result.is_err() {
        // Let a later start retry.
        let _ = sqlx::query("DELETE FROM server_meta WHERE name = 'dev_bootstrap'")
            .execute(db)
            .await;
    }
    result.map(Some)
}

/// Issue an admin token without the dev bootstrap (production first start; used by the
/// `--issue-admin-token` flag of the binary and by tests).
pub async fn issue_admin(
    db: &AnyPool,
    subject: &str,
) -> Result<zeroize::Zeroizing<String>, ApiError> {
    let mut change = Change::begin(db, "cli").await?;
    let (id, t) = issue_token(change.conn(), Role::Admin, None, subject, None).await?;
    let entry = AuditEntry::new("token.issue", format!("token:{id}"))
        .details(serde_json::json!({ "role": "admin", "subject": subject }));
    change.commit(entry).await?;
    Ok(t.secret)
}
