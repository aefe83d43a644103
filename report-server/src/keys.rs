//! Networks, their policies and their stamping keys in the database: network rows, policy rows,
//! sealed key storage, key-ring loading, creation, rotation and retirement.

use std::sync::Arc;

use franking_core::frank::{KeyId, KeyRing, ReportPolicy, StampKey};
use serde::Serialize;
use sqlx::{AnyConnection, AnyExecutor, AnyPool};
use zeroize::Zeroizing;

use crate::cache::TtlMap;
use crate::db::text_enum;
use crate::error::ApiError;
use crate::seal::{self, ServerKey};
use crate::util::{now_ms, to_i64, to_u64};
use franking_core::util::b64_encode;

/// `seal` purpose label for stamping secrets.
pub const SEAL_PURPOSE: &str = "stamping-key";

pub(crate) fn seal_context(network: &str, key_id: u32) -> Vec<u8> {
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
    /// Whether webhook payloads (`case.created`, `case.report_added`) may carry the reporter's
    /// identity (default off).
    #[serde(default)]
    pub webhook_reporter_identities: bool,
    /// Largest attachment (plaintext bytes, as committed) a report may upload.
    #[serde(default = "default_max_attachment_bytes")]
    pub max_attachment_bytes: u64,
    /// Largest total of the attachments one report uploads (plaintext bytes).
    #[serde(default = "default_max_report_attachment_bytes")]
    pub max_report_attachment_bytes: u64,
    /// Whether stamps also carry an Ed25519 signature that other networks verify with the keys
    /// published at `/.well-known/franking/keys` (federation; gives up the deniability of HMAC-only
    /// stamps). Keys made while it is on sign: rotate the key after turning it on.
    #[serde(default)]
    pub sign_stamps: bool,
    /// Whether a report forwarded to the stamping network names the reporter (default off: a
    /// stable pseudonym crosses networks instead).
    #[serde(default)]
    pub federation_reporter_identities: bool,
}

/// Default [`Policy::max_attachment_bytes`]: 100 MiB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;
/// Default [`Policy::max_report_attachment_bytes`]: 250 MiB.
pub const DEFAULT_MAX_REPORT_ATTACHMENT_BYTES: u64 = 250 * 1024 * 1024;

fn default_max_attachment_bytes() -> u64 {
    DEFAULT_MAX_ATTACHMENT_BYTES
}

fn default_max_report_attachment_bytes() -> u64 {
    DEFAULT_MAX_REPORT_ATTACHMENT_BYTES
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
            webhook_reporter_identities: false,
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            max_report_attachment_bytes: DEFAULT_MAX_REPORT_ATTACHMENT_BYTES,
            sign_stamps: false,
            federation_reporter_identities: false,
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
            self.max_attachment_bytes,
            self.max_report_attachment_bytes,
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
         max_attachment_bytes, max_report_attachment_bytes, updated_at, network_id, \
         webhook_reporter_identities, sign_stamps, federation_reporter_identities) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    } else {
        "UPDATE network_policies SET window_ms = $1, max_clock_skew_ms = $2, key_grace_ms = $3, \
         categories = $4, evidence_retention_ms = $5, rate_window_ms = $6, \
         reporter_rate_limit = $7, network_rate_limit = $8, max_attachment_bytes = $9, \
         max_report_attachment_bytes = $10, updated_at = $11, webhook_reporter_identities = $13, \
         sign_stamps = $14, federation_reporter_identities = $15 WHERE network_id = $12"
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
        .bind(to_i64(p.max_attachment_bytes))
        .bind(to_i64(p.max_report_attachment_bytes))
        .bind(now_ms())
        .bind(network)
        .bind(i64::from(p.webhook_reporter_identities))
        .bind(i64::from(p.sign_stamps))
        .bind(i64::from(p.federation_reporter_identities))
        .execute(db)
        .await?;
    Ok(())
}

const POLICY_COLUMNS: &str = "p.window_ms, p.max_clock_skew_ms, p.key_grace_ms, p.categories, \
     p.evidence_retention_ms, p.rate_window_ms, p.reporter_rate_limit, p.network_rate_limit, \
     p.webhook_reporter_identities, p.max_attachment_bytes, p.max_report_attachment_bytes, \
     p.sign_stamps, p.federation_reporter_identities";

/// A stored policy row (the columns of [`POLICY_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct PolicyRow {
    window_ms: i64,
    max_clock_skew_ms: i64,
    key_grace_ms: i64,
    categories: String,
    evidence_retention_ms: i64,
    rate_window_ms: i64,
    reporter_rate_limit: i64,
    network_rate_limit: i64,
    webhook_reporter_identities: i64,
    max_attachment_bytes: i64,
    max_report_attachment_bytes: i64,
    sign_stamps: i64,
    federation_reporter_identities: i64,
}

impl TryFrom<PolicyRow> for Policy {
    type Error = ApiError;

    fn try_from(r: PolicyRow) -> Result<Self, ApiError> {
        Ok(Policy {
            window_ms: to_u64(r.window_ms),
            max_clock_skew_ms: to_u64(r.max_clock_skew_ms),
            key_grace_ms: to_u64(r.key_grace_ms),
            categories: serde_json::from_str(&r.categories)
                .map_err(|e| ApiError::Internal(format!("stored categories: {e}")))?,
            evidence_retention_ms: to_u64(r.evidence_retention_ms),
            rate_window_ms: to_u64(r.rate_window_ms),
            reporter_rate_limit: to_u64(r.reporter_rate_limit),
            network_rate_limit: to_u64(r.network_rate_limit),
            webhook_reporter_identities: r.webhook_reporter_identities != 0,
            max_attachment_bytes: to_u64(r.max_attachment_bytes),
            max_report_attachment_bytes: to_u64(r.max_report_attachment_bytes),
            sign_stamps: r.sign_stamps != 0,
            federation_reporter_identities: r.federation_reporter_identities != 0,
        })
    }
}

/// Load a network's policy (404 if the network has none).
pub async fn load_policy<'c, E: AnyExecutor<'c>>(db: E, network: &str) -> Result<Policy, ApiError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {POLICY_COLUMNS} FROM network_policies p WHERE p.network_id = $1"
    ));
    let row: PolicyRow = sqlx::query_as(sql)
        .bind(network)
        .fetch_optional(db)
        .await?
        .ok_or(ApiError::NotFound("network"))?;
    row.try_into()
}

/// Whether a stamping key signs new stamps (`current`, one per network) or only still verifies
/// (`retired`, within the policy's grace period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Stamps new messages.
    Current,
    /// Verifies only (until `retired_at + key_grace_ms`).
    Retired,
}

impl KeyStatus {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "current" => Some(Self::Current),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

text_enum!(KeyStatus);

/// A stored stamping key, still sealed.
#[derive(Clone, sqlx::FromRow)]
pub struct SealedKey {
    key_id: i64,
    secret_sealed: String,
    status: KeyStatus,
    created_at: i64,
    retired_at: Option<i64>,
    stopped_at: Option<i64>,
}

impl core::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SealedKey")
            .field("key_id", &self.key_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// One row of the policy ⟕ keys join.
#[derive(sqlx::FromRow)]
struct PolicyKeyRow {
    #[sqlx(flatten)]
    policy: PolicyRow,
    key_id: Option<i64>,
    secret_sealed: Option<String>,
    status: Option<KeyStatus>,
    created_at: Option<i64>,
    retired_at: Option<i64>,
    stopped_at: Option<i64>,
}

/// A network's policy and its (still sealed) stamping keys in one query (report intake's hot path).
pub async fn load_policy_and_keys(
    db: &AnyPool,
    network: &str,
) -> Result<(Policy, Vec<SealedKey>), ApiError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {POLICY_COLUMNS}, k.key_id, k.secret_sealed, k.status, k.created_at, \
         k.retired_at, k.stopped_at \
         FROM network_policies p LEFT JOIN stamping_keys k ON k.network_id = p.network_id \
         WHERE p.network_id = $1"
    ));
    let mut rows: Vec<PolicyKeyRow> = sqlx::query_as(sql).bind(network).fetch_all(db).await?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut policy = None;
    for row in rows.drain(..) {
        if let (Some(key_id), Some(secret_sealed), Some(status), Some(created_at)) =
            (row.key_id, row.secret_sealed, row.status, row.created_at)
        {
            keys.push(SealedKey {
                key_id,
                secret_sealed,
                status,
                created_at,
                retired_at: row.retired_at,
                stopped_at: row.stopped_at,
            });
        }
        if policy.is_none() {
            policy = Some(row.policy);
        }
    }
    let policy = policy.ok_or(ApiError::NotFound("network"))?.try_into()?;
    Ok((policy, keys))
}

/// A network's policy and stored keys ([`load_policy_and_keys`]) with the key ring unsealed from
/// them, as the intake-path cache keeps them: the ring is built once per cache entry, not once
/// per report.
#[derive(Debug, Clone)]
pub struct IntakeKeys {
    /// The network's policy.
    pub policy: Policy,
    /// Its stamping keys, sealed.
    pub keys: Vec<SealedKey>,
    /// The ring built from them; `None` when no key is current.
    ring: Option<Arc<KeyRing>>,
}

impl IntakeKeys {
    fn build(
        server_key: &ServerKey,
        network: &str,
        (policy, keys): (Policy, Vec<SealedKey>),
    ) -> Result<Self, ApiError> {
        let ring = match build_ring(server_key, network, &keys, policy.key_grace_ms) {
            Ok(ring) => Some(Arc::new(ring)),
            Err(ApiError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(Self { policy, keys, ring })
    }

    /// The network's key ring (404 `not_found` if no stamping key is current).
    pub fn ring(&self) -> Result<Arc<KeyRing>, ApiError> {
        self.ring
            .clone()
            .ok_or(ApiError::NotFound("current stamping key"))
    }
}

/// [`load_policy_and_keys`] with its key ring through the intake-path cache (`policies`, see
/// [`crate::cache`]) for a report stamped with `key_id`: an entry that does not hold that key
/// (rotated in since, on another instance) is read afresh, so a new key's stamps verify at once
/// everywhere.
pub async fn cached_policy_and_keys(
    db: &AnyPool,
    server_key: &ServerKey,
    cache: &TtlMap<IntakeKeys>,
    network: &str,
    key_id: KeyId,
) -> Result<IntakeKeys, ApiError> {
    if let Some(hit) = cache.get(network)
        && hit.keys.iter().any(|k| k.key_id == i64::from(key_id.0))
    {
        return Ok(hit);
    }
    let loaded = IntakeKeys::build(
        server_key,
        network,
        load_policy_and_keys(db, network).await?,
    )?;
    cache.put(network, loaded.clone());
    Ok(loaded)
}

/// Unseal stored keys into `network`'s key ring with `grace_ms` (404 if none is current); each
/// key keeps its creation and retirement time (a retired key verifies only stamps dated before its
/// retirement plus the policy's clock skew).
pub fn build_ring(
    server_key: &ServerKey,
    network: &str,
    keys: &[SealedKey],
    grace_ms: u64,
) -> Result<KeyRing, ApiError> {
    let mut current = None;
    let mut retired = Vec::new();
    for k in keys {
        let key = unseal_key(server_key, network, k.key_id, &k.secret_sealed)?;
        let created_at = to_u64(k.created_at);
        match k.status {
            KeyStatus::Current => current = Some((key, created_at)),
            // A key stopped at once verifies nothing: to the ring it was retired "long ago".
            KeyStatus::Retired if k.stopped_at.is_some() => retired.push((key, created_at, 0)),
            KeyStatus::Retired => {
                retired.push((key, created_at, to_u64(k.retired_at.unwrap_or(0))));
            }
        }
    }
    let (current, created_at) = current.ok_or(ApiError::NotFound("current stamping key"))?;
    let mut ring = KeyRing::new(network, current, created_at, grace_ms);
    for (k, created_at, retired_at) in retired {
        ring.insert_retired(k, created_at, retired_at)
            .map_err(|e| ApiError::Internal(format!("key ring: {e}")))?;
    }
    Ok(ring)
}

/// Generate a stamping key and insert it (sealed) as the network's `current` key; it also signs
/// (Ed25519, public key stored for publication) when the network's policy has `sign_stamps` on.
/// A unique-index violation (another current key) surfaces as a database error: callers retire
/// the previous current key first, in the same transaction.
pub async fn insert_new_key(
    conn: &mut AnyConnection,
    server_key: &ServerKey,
    network: &str,
    key_id: u32,
) -> Result<(), ApiError> {
    let (signs,): (i64,) =
        sqlx::query_as("SELECT sign_stamps FROM network_policies WHERE network_id = $1")
            .bind(network)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(ApiError::NotFound("network"))?;
    let key =
        StampKey::generate(KeyId(key_id), signs != 0).map_err(|e| ApiError::from_protocol(&e))?;
    // The sealed secret: the HMAC key, then the Ed25519 seed of a signing key.
    let mut secret = Zeroizing::new(key.expose_mac_key().to_vec());
    if let Some(seed) = key.expose_signing_seed() {
        secret.extend_from_slice(&*seed);
    }
    let public_key = key.verifying_key().map(|vk| b64_encode(vk.as_bytes()));
    let sealed = seal::seal(
        server_key,
        SEAL_PURPOSE,
        &seal_context(network, key_id),
        &secret,
    )?;
    sqlx::query(
        "INSERT INTO stamping_keys (network_id, key_id, secret_sealed, status, created_at, \
         public_key) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(network)
    .bind(i64::from(key_id))
    .bind(sealed)
    .bind(KeyStatus::Current)
    .bind(now_ms())
    .bind(public_key)
    .execute(&mut *conn)
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
    let bad = || ApiError::Internal("stored stamping key length".into());
    // 32 bytes: HMAC key only; 64 bytes: HMAC key then Ed25519 seed (a signing key).
    let (mac, seed) = match secret.len() {
        32 => (secret.as_slice(), None),
        64 => (&secret[..32], Some(&secret[32..])),
        _ => return Err(bad()),
    };
    let mac: [u8; 32] = mac.try_into().map_err(|_| bad())?;
    let seed: Option<[u8; 32]> = seed.map(|s| s.try_into().map_err(|_| bad())).transpose()?;
    Ok(StampKey::from_bytes(KeyId(id), mac, seed))
}

/// Load a network's key ring: the current key and every retired key (with its retirement time),
/// with `grace_ms` from the policy. 404 `not_found` if the network has no current key.
pub async fn load_ring(
    db: &AnyPool,
    server_key: &ServerKey,
    network: &str,
    grace_ms: u64,
) -> Result<KeyRing, ApiError> {
    let keys: Vec<SealedKey> = sqlx::query_as(
        "SELECT key_id, secret_sealed, status, created_at, retired_at, stopped_at FROM stamping_keys \
         WHERE network_id = $1 ORDER BY key_id",
    )
    .bind(network)
    .fetch_all(db)
    .await?;
    build_ring(server_key, network, &keys, grace_ms)
}

/// Only the current key (what stamping needs; avoids unsealing retired keys).
pub async fn load_current(
    db: &AnyPool,
    server_key: &ServerKey,
    network: &str,
) -> Result<StampKey, ApiError> {
    let k: SealedKey = sqlx::query_as(
        "SELECT key_id, secret_sealed, status, created_at, retired_at, stopped_at FROM stamping_keys \
         WHERE network_id = $1 AND status = 'current'",
    )
    .bind(network)
    .fetch_optional(db)
    .await?
    .ok_or(ApiError::NotFound("current stamping key"))?;
    unseal_key(server_key, network, k.key_id, &k.secret_sealed)
}

/// A stamping key as admins see it (never the secret).
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct KeyView {
    /// Creation time (ms).
    pub created_at: i64,
    /// The key id (in stamps).
    pub key_id: i64,
    /// Retirement time (ms): when a rotation made another key current (null while current; 0 for
    /// a key stopped at once before schema version 16, whose retirement time was not kept).
    pub retired_at: Option<i64>,
    /// `current` or `retired`.
    pub status: KeyStatus,
    /// When the key stopped verifying at once (`retire {"immediate": true}`, ms); null otherwise
    /// (a retired key then verifies until `retired_at` + the policy's `key_grace_ms`).
    pub stopped_at: Option<i64>,
}

/// A network's keys, by id.
pub async fn list_keys<'c, E: AnyExecutor<'c>>(
    db: E,
    network: &str,
) -> Result<Vec<KeyView>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT key_id, status, created_at, retired_at, stopped_at FROM stamping_keys \
         WHERE network_id = $1 ORDER BY key_id",
    )
    .bind(network)
    .fetch_all(db)
    .await?)
}

/// Lock `network`'s row for the rest of the caller's transaction (404 `not_found` if there is no
/// such network): a no-op write, so PostgreSQL takes the row lock and SQLite its write lock. Key
/// changes of one network take it first, so concurrent rotations and retirements (on any
/// instance) run one after the other instead of deadlocking on the key indexes.
pub async fn lock_network(conn: &mut AnyConnection, network: &str) -> Result<(), ApiError> {
    let locked = sqlx::query("UPDATE networks SET display_name = display_name WHERE id = $1")
        .bind(network)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if locked == 0 {
        return Err(ApiError::NotFound("network"));
    }
    Ok(())
}

/// Make a new current key for `network` (id `key_id`, default highest + 1) and retire the current
/// one now, inside the caller's transaction (under [`lock_network`], taken here). Returns the new
/// id and whether a key was retired.
pub async fn rotate(
    conn: &mut AnyConnection,
    server_key: &ServerKey,
    network: &str,
    key_id: Option<u32>,
    now: i64,
) -> Result<(u32, bool), ApiError> {
    lock_network(&mut *conn, network).await?;
    // Retire the current key (the network is locked, so nobody else changes its keys meanwhile).
    let retired = sqlx::query(
        "UPDATE stamping_keys SET status = $1, retired_at = $2 \
         WHERE network_id = $3 AND status = $4",
    )
    .bind(KeyStatus::Retired)
    .bind(now)
    .bind(network)
    .bind(KeyStatus::Current)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let new_id = match key_id {
        Some(k) => {
            let exists = sqlx::query(
                "SELECT key_id FROM stamping_keys WHERE network_id = $1 AND key_id = $2",
            )
            .bind(network)
            .bind(i64::from(k))
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
            if exists {
                return Err(ApiError::conflict(
                    "duplicate_key_id",
                    format!("network {network:?} already has stamping key {k}"),
                ));
            }
            k
        }
        None => {
            let (max,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(key_id) AS m FROM stamping_keys WHERE network_id = $1")
                    .bind(network)
                    .fetch_one(&mut *conn)
                    .await?;
            u32::try_from(max.unwrap_or(0).saturating_add(1)).map_err(|_| {
                ApiError::conflict("key_ids_exhausted", "no key id above the highest is free")
            })?
        }
    };
    insert_new_key(&mut *conn, server_key, network, new_id).await?;
    Ok((new_id, retired > 0))
}

/// A key's status (404 `not_found` if the network has no such key).
pub async fn key_status(
    conn: &mut AnyConnection,
    network: &str,
    key_id: u32,
) -> Result<KeyStatus, ApiError> {
    let (status,): (KeyStatus,) =
        sqlx::query_as("SELECT status FROM stamping_keys WHERE network_id = $1 AND key_id = $2")
            .bind(network)
            .bind(i64::from(key_id))
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(ApiError::NotFound("stamping key"))?;
    Ok(status)
}

/// Make a retired key stop verifying now (inside the caller's transaction): `stopped_at = now`
/// (`retired_at` keeps the retirement time), so every verification fails with `key_retired`.
pub async fn stop_verifying(
    conn: &mut AnyConnection,
    network: &str,
    key_id: u32,
    now: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE stamping_keys SET stopped_at = COALESCE(stopped_at, $1) \
         WHERE network_id = $2 AND key_id = $3 AND status = $4",
    )
    .bind(now)
    .bind(network)
    .bind(i64::from(key_id))
    .bind(KeyStatus::Retired)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A network row: also the list item of `GET /v1/admin/networks`.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Network {
    /// Creation time (ms).
    pub created_at: i64,
    /// When it was disabled (ms); its tokens stop working while set.
    pub disabled_at: Option<i64>,
    /// Display name.
    pub display_name: String,
    /// The network id (as in stamped contexts).
    pub id: String,
}

/// A network with its policy and keys (`GET /v1/admin/networks/{id}`).
#[derive(Debug, Clone, Serialize)]
pub struct NetworkDetail {
    /// The network.
    #[serde(flatten)]
    pub network: Network,
    /// Its stamping keys.
    pub keys: Vec<KeyView>,
    /// Its policy.
    pub policy: Policy,
}

/// Load a network (404 `not_found`).
pub async fn load_network<'c, E: AnyExecutor<'c>>(db: E, id: &str) -> Result<Network, ApiError> {
    sqlx::query_as("SELECT id, display_name, created_at, disabled_at FROM networks WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(ApiError::NotFound("network"))
}

/// Every network, by id.
pub async fn list_networks(db: &AnyPool) -> Result<Vec<Network>, ApiError> {
    Ok(
        sqlx::query_as(
            "SELECT id, display_name, created_at, disabled_at FROM networks ORDER BY id",
        )
        .fetch_all(db)
        .await?,
    )
}

/// A network with its policy and keys (404 `not_found`).
pub async fn network_detail(db: &AnyPool, id: &str) -> Result<NetworkDetail, ApiError> {
    Ok(NetworkDetail {
        network: load_network(db, id).await?,
        policy: load_policy(db, id).await?,
        keys: list_keys(db, id).await?,
    })
}

/// The longest network id, in bytes; shorter than the 1024 bytes other ids may have. A case is
/// unique by `(network_id, group_key)`, and the grouping key of a message whose sender and message
/// id both have the most bytes a context allows is 2,100 bytes ([`crate::intake::group_key`]):
/// with a network id of up to 256 bytes the index entry stays below PostgreSQL's btree limit
/// (2,704 bytes); with a longer one the message could not be stored.
pub const MAX_NETWORK_ID_LEN: usize = 256;

/// 400 `invalid_parameter` unless `id` is a network id: 1..=[`MAX_NETWORK_ID_LEN`] bytes without
/// control characters. [`insert_network`], which every way of creating a network goes through,
/// checks it first.
pub fn check_network_id(id: &str) -> Result<(), ApiError> {
    crate::util::check_identifier_of_len("id", id, MAX_NETWORK_ID_LEN)
}

/// Insert a network with its policy and first stamping key (`key_id` 1) inside the caller's
/// transaction. 400 `invalid_parameter` for an id [`check_network_id`] refuses, 409
/// `already_exists` if the id is taken.
pub async fn insert_network(
    conn: &mut AnyConnection,
    server_key: &ServerKey,
    id: &str,
    display_name: &str,
    policy: &Policy,
) -> Result<(), ApiError> {
    check_network_id(id)?;
    policy.validate()?;
    let inserted = sqlx::query(
        "INSERT INTO networks (id, display_name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(display_name)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ApiError::conflict(
            "already_exists",
            format!("network {id:?} already exists"),
        ));
    }
    store_policy(&mut *conn, id, policy, true).await?;
    insert_new_key(&mut *conn, server_key, id, 1).await?;
    Ok(())
}

/// [`insert_network`] in a transaction of its own, unaudited (tests and tools; the admin API
/// creates networks inside an audited [`crate::change::Change`]).
pub async fn create_network(
    db: &AnyPool,
    server_key: &ServerKey,
    id: &str,
    display_name: &str,
    policy: &Policy,
) -> Result<(), ApiError> {
    let mut tx = crate::db::begin_write(db).await?;
    insert_network(&mut tx, server_key, id, display_name, policy).await?;
    tx.commit().await?;
    Ok(())
}

/// Change a network's display name and/or disabled flag (inside the caller's transaction).
pub async fn update_network(
    conn: &mut AnyConnection,
    id: &str,
    display_name: Option<&str>,
    disabled: Option<bool>,
    now: i64,
) -> Result<(), ApiError> {
    if let Some(name) = display_name {
        sqlx::query("UPDATE networks SET display_name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(disabled) = disabled {
        sqlx::query("UPDATE networks SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then_some(now))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
