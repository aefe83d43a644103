//! Networks' stamping keys and policies in the database: sealed storage, key-ring loading,
//! creation, rotation and retirement.

use franking_core::frank::{KeyId, KeyRing, ReportPolicy, StampKey};
use sqlx::{AnyExecutor, AnyPool, Row as _};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::seal::{self, ServerKey};
use crate::util::{now_ms, to_i64, to_u64};

/// `seal` purpose label for stamping secrets.
pub const SEAL_PURPOSE: &str = "stamping-key";

fn seal_context(network: &str, key_id: u32) -> Vec<u8> {
    let mut c = Vec::with_capacity(network.len() + 5);
    c.extend_from_slice(&(network.len() as u32).to_be_bytes());
    c.extend_from_slice(network.as_bytes());
    c.extend_from_slice(&key_id.to_be_bytes());
    c
}

/// A network's policy row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// How long after its timestamp a message may be reported (ms).
    pub window_ms: u64,
    /// How far in the future a message timestamp may be (ms).
    pub max_clock_skew_ms: u64,
    /// How long a retired stamping key still verifies (ms); keep it >= `window_ms`.
    pub key_grace_ms: u64,
    /// Allowed report categories; empty = any category (or none).
    pub categories: Vec<String>,
    /// How long evidence is kept after a case is closed (ms).
    pub evidence_retention_ms: u64,
    /// Sliding window for the intake rate limits (ms).
    pub rate_window_ms: u64,
    /// Most reports one reporter may submit per window.
    pub reporter_rate_limit: u64,
    /// Most reports the network may submit per window.
    pub network_rate_limit: u64,
}

impl Default for Policy {
    fn default() -> Self {
        let rp = ReportPolicy::default();
        Self {
            window_ms: rp.window_ms,
            max_clock_skew_ms: rp.max_clock_skew_ms,
            key_grace_ms: rp.window_ms,
            categories: vec![
                "spam".into(),
                "harassment".into(),
                "csam".into(),
                "violence".into(),
                "other".into(),
            ],
            evidence_retention_ms: 90 * 24 * 3600 * 1000,
            rate_window_ms: 60 * 1000,
            reporter_rate_limit: 30,
            network_rate_limit: 100_000,
        }
    }
}

impl Policy {
    /// franking-core's verification policy.
    pub fn report_policy(&self) -> ReportPolicy {
        ReportPolicy {
            window_ms: self.window_ms,
            max_clock_skew_ms: self.max_clock_skew_ms,
        }
    }

    /// Check ranges (400 `invalid_policy`).
    pub fn validate(&self) -> Result<(), ApiError> {
        let bad = |m: &str| Err(ApiError::bad_request("invalid_policy", m.to_owned()));
        let max = i64::MAX as u64;
        for v in [
            self.window_ms,
            self.max_clock_skew_ms,
            self.key_grace_ms,
            self.evidence_retention_ms,
            self.rate_window_ms,
            self.reporter_rate_limit,
            self.network_rate_limit,
        ] {
            if v > max {
                return bad("value out of range");
            }
        }
        if self.window_ms == 0 {
            return bad("window_ms must be positive");
        }
        if self.rate_window_ms == 0 {
            return bad("rate_window_ms must be positive");
        }
        if self.categories.len() > 100
            || self.categories.iter().any(|c| c.is_empty() || c.len() > 64)
        {
            return bad("categories: at most 100, each 1..=64 bytes");
        }
        Ok(())
    }
}

/// Insert or replace a network's policy.
pub async fn store_policy<'c, E: AnyExecutor<'c>>(
    db: E,
    network: &str,
    p: &Policy,
    insert: bool,
) -> Result<(), ApiError> {
    let categories = serde_json::to_string(&p.categories)
        .map_err(|e| ApiError::Internal(format!("categories: {e}")))?;
    let sql = if insert {
        "INSERT INTO network_policies (window_ms, max_clock_skew_ms, key_grace_ms, categories, \
         evidence_retention_ms, rate_window_ms, reporter_rate_limit, network_rate_limit, \
         updated_at, network_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    } else {
        "UPDATE network_policies SET window_ms = $1, max_clock_skew_ms = $2, key_grace_ms = $3, \
         categories = $4, evidence_retention_ms = $5, rate_window_ms = $6, \
         reporter_rate_limit = $7, network_rate_limit = $8, updated_at = $9 \
         WHERE network_id = $10"
    };
    sqlx::query(sql)
        .bind(to_i64(p.window_ms))
        .bind(to_i64(p.max_clock_skew_ms))
        .bind(to_i64(p.key_grace_ms))
        .bind(categories)
        .bind(to_i64(p.evidence_retention_ms))
        .bind(to_i64(p.rate_window_ms))
        .bind(to_i64(p.reporter_rate_limit))
        .bind(to_i64(p.network_rate_limit))
        .bind(now_ms())
        .bind(network)
        .execute(db)
        .await?;
    Ok(())
}

const POLICY_COLUMNS: &str = "p.window_ms, p.max_clock_skew_ms, p.key_grace_ms, p.categories, \
     p.evidence_retention_ms, p.rate_window_ms, p.reporter_rate_limit, p.network_rate_limit";

fn policy_from_row(row: &sqlx::any::AnyRow) -> Result<Policy, ApiError> {
    let categories: String = row.try_get("categories")?;
    Ok(Policy {
        window_ms: to_u64(row.try_get("window_ms")?),
        max_clock_skew_ms: to_u64(row.try_get("max_clock_skew_ms")?),
        key_grace_ms: to_u64(row.try_get("key_grace_ms")?),
        categories: serde_json::from_str(&categories)
            .map_err(|e| ApiError::Internal(format!("stored categories: {e}")))?,
        evidence_retention_ms: to_u64(row.try_get("evidence_retention_ms")?),
        rate_window_ms: to_u64(row.try_get("rate_window_ms")?),
        reporter_rate_limit: to_u64(row.try_get("reporter_rate_limit")?),
        network_rate_limit: to_u64(row.try_get("network_rate_limit")?),
    })
}

/// Load a network's policy (404 if the network has none).
pub async fn load_policy<'c, E: AnyExecutor<'c>>(db: E, network: &str) -> Result<Policy, ApiError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {POLICY_COLUMNS} FROM network_policies p WHERE p.network_id = $1"
    ));
    let row = sqlx::query(sql)
        .bind(network)
        .fetch_optional(db)
        .await?
        .ok_or(ApiError::NotFound("network"))?;
    policy_from_row(&row)
}

/// A stored stamping key, still sealed.
#[derive(Clone)]
pub struct SealedKey {
    key_id: i64,
    sealed: String,
    current: bool,
    retired_at: Option<i64>,
}

impl core::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SealedKey")
            .field("key_id", &self.key_id)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// A network's policy and its (still sealed) stamping keys in one query (report intake's hot path).
pub async fn load_policy_and_keys(
    db: &AnyPool,
    network: &str,
) -> Result<(Policy, Vec<SealedKey>), ApiError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {POLICY_COLUMNS}, k.key_id, k.secret_sealed, k.status, k.retired_at \
         FROM network_policies p LEFT JOIN stamping_keys k ON k.network_id = p.network_id \
         WHERE p.network_id = $1"
    ));
    let rows = sqlx::query(sql).bind(network).fetch_all(db).await?;
    let first = rows.first().ok_or(ApiError::NotFound("network"))?;
    let policy = policy_from_row(first)?;
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(key_id) = row.try_get::<Option<i64>, _>("key_id")? else {
            continue;
        };
        keys.push(SealedKey {
            key_id,
            sealed: row.try_get("secret_sealed")?,
            current: row.try_get::<String, _>("status")? == "current",
            retired_at: row.try_get("retired_at")?,
        });
    }
    Ok((policy, keys))
}

/// Unseal stored keys into a key ring with `grace_ms` (404 if none is current).
pub fn build_ring(
    server_key: &ServerKey,
    network: &str,
    keys: &[SealedKey],
    grace_ms: u64,
) -> Result<KeyRing, ApiError> {
    let mut current = None;
    let mut retired = Vec::new();
    for k in keys {
        let key = unseal_key(server_key, network, k.key_id, &k.sealed)?;
        if k.current {
            current = Some(key);
        } else {
            retired.push((key, to_u64(k.retired_at.unwrap_or(0))));
        }
    }
    let current = current.ok_or(ApiError::NotFound("current stamping key"))?;
    let mut ring = KeyRing::new(current, grace_ms);
    for (k, at) in retired {
        ring.insert_retired(k, at)
            .map_err(|e| ApiError::Internal(format!("key ring: {e}")))?;
    }
    Ok(ring)
}

/// Generate a stamping key and insert it (sealed) with `status` (`current` or `retired`).
/// A unique-index violation (another current key) surfaces as a database error: callers retire
/// the previous current key first, in the same transaction.
pub async fn insert_new_key<'c, E: AnyExecutor<'c>>(
    db: E,
    server_key: &ServerKey,
    network: &str,
    key_id: u32,
) -> Result<(), ApiError> {
    let key = StampKey::generate(KeyId(key_id), false).map_err(|e| ApiError::from_protocol(&e))?;
    let secret = Zeroizing::new(key.expose_mac_key().to_vec());
    let sealed = seal::seal(
        server_key,
        SEAL_PURPOSE,
        &seal_context(network, key_id),
        &secret,
    )?;
    sqlx::query(
        "INSERT INTO stamping_keys (network_id, key_id, secret_sealed, status, created_at) \
         VALUES ($1, $2, $3, 'current', $4)",
    )
    .bind(network)
    .bind(i64::from(key_id))
    .bind(sealed)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

fn unseal_key(
    server_key: &ServerKey,
    network: &str,
    key_id: i64,
    sealed: &str,
) -> Result<StampKey, ApiError> {
    let id = u32::try_from(key_id).map_err(|_| ApiError::Internal("stored key id".into()))?;
    let secret = seal::open(server_key, SEAL_PURPOSE, &seal_context(network, id), sealed)?;
    let mac: [u8; 32] = secret
        .as_slice()
        .try_into()
        .map_err(|_| ApiError::Internal("stored stamping key length".into()))?;
    Ok(StampKey::from_bytes(KeyId(id), mac, None))
}

/// Load a network's key ring: the current key and every retired key (with its retirement time),
/// with `grace_ms` from the policy. 404 `not_found` if the network has no current key.
pub async fn load_ring(
    db: &AnyPool,
    server_key: &ServerKey,
    network: &str,
    grace_ms: u64,
) -> Result<KeyRing, ApiError> {
    let rows = sqlx::query(
        "SELECT key_id, secret_sealed, status, retired_at FROM stamping_keys \
         WHERE network_id = $1 ORDER BY key_id",
    )
    .bind(network)
    .fetch_all(db)
    .await?;
    let keys = rows
        .iter()
        .map(|row| {
            Ok(SealedKey {
                key_id: row.try_get("key_id")?,
                sealed: row.try_get("secret_sealed")?,
                current: row.try_get::<String, _>("status")? == "current",
                retired_at: row.try_get("retired_at")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    build_ring(server_key, network, &keys, grace_ms)
}

/// Only the current key (what stamping needs; avoids unsealing retired keys).
pub async fn load_current(
    db: &AnyPool,
    server_key: &ServerKey,
    network: &str,
) -> Result<StampKey, ApiError> {
    let row = sqlx::query(
        "SELECT key_id, secret_sealed FROM stamping_keys \
         WHERE network_id = $1 AND status = 'current'",
    )
    .bind(network)
    .fetch_optional(db)
    .await?
    .ok_or(ApiError::NotFound("current stamping key"))?;
    unseal_key(
        server_key,
        network,
        row.try_get("key_id")?,
        &row.try_get::<String, _>("secret_sealed")?,
    )
}

/// Create a network with its policy and first stamping key (`key_id` 1), in one transaction.
/// 409 `already_exists` if the id is taken.
pub async fn create_network(
    db: &AnyPool,
    server_key: &ServerKey,
    id: &str,
    display_name: &str,
    policy: &Policy,
) -> Result<(), ApiError> {
    policy.validate()?;
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO networks (id, display_name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(display_name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ApiError::conflict(
            "already_exists",
            format!("network {id:?} already exists"),
        ));
    }
    store_policy(&mut *tx, id, policy, true).await?;
    insert_new_key(&mut *tx, server_key, id, 1).await?;
    tx.commit().await?;
    Ok(())
}
