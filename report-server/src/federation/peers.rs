//! The peer registry: other networks' report servers a local network exchanges reports with, and
//! the published keys their stamps are verified with.
//!
//! A peer is registered by an admin of a local network: its network id, the base URL of its
//! report server, how its stamp verifying keys are obtained (`pinned`: records given at
//! registration; `fetched`: from its `/.well-known/franking/keys`, cached for `key_refresh_ms` and
//! fetched again at once when a stamp names a key id the cache lacks, at most once per
//! [`MIN_REFETCH_MS`]), and the secret both servers sign their requests to each other with (see
//! [`super::forward`]). The secret and the base URL live in a hidden delivery target of kind
//! `peer` (`webhook_endpoints`), so the outbox and its worker deliver to peers as to webhooks.

use std::time::Duration;

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use super::{PublishedKey, PublishedKeys, WELL_KNOWN_KEYS};
use crate::error::ApiError;
use crate::util::{to_i64, to_u64};

/// Default cache lifetime of fetched keys (5 minutes).
pub const DEFAULT_KEY_REFRESH_MS: u64 = 5 * 60 * 1000;
/// Least time between two fetches caused by unknown key ids (so forged key ids cannot make this
/// server hammer a peer).
pub const MIN_REFETCH_MS: i64 = 2_000;
/// Largest well-known answer read.
const MAX_KEYS_BYTES: u64 = 1024 * 1024;
/// Timeout of a key fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// How a peer's stamp verifying keys are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Given by the admin (`keys`), never fetched.
    Pinned,
    /// Fetched from the peer's well-known endpoint, cached.
    Fetched,
}

impl KeySource {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pinned => "pinned",
            Self::Fetched => "fetched",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pinned" => Some(Self::Pinned),
            "fetched" => Some(Self::Fetched),
            _ => None,
        }
    }
}

crate::db::text_enum!(KeySource);

const COLUMNS: &str = "network_id, peer_network, base_url, key_source, pinned_keys, cached_keys, \
     keys_fetched_at, key_refresh_ms, endpoint_id, disabled_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct PeerRow {
    network_id: String,
    peer_network: String,
    base_url: String,
    key_source: KeySource,
    pinned_keys: Option<String>,
    cached_keys: Option<String>,
    keys_fetched_at: Option<i64>,
    key_refresh_ms: i64,
    endpoint_id: String,
    disabled_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// A registered peer (also the admin API's view: never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    /// The peer's base URL (its report server).
    pub base_url: String,
    /// When it was registered (ms).
    pub created_at: i64,
    /// When it was disabled (ms); a disabled peer's reports and requests are refused.
    pub disabled_at: Option<i64>,
    /// Where its keys come from.
    pub key_source: KeySource,
    /// How long fetched keys are cached (ms).
    pub key_refresh_ms: u64,
    /// Its keys: the pinned records, or the last fetched ones.
    pub keys: Vec<PublishedKey>,
    /// When the keys were last fetched (ms; `fetched` only).
    pub keys_fetched_at: Option<i64>,
    /// The local network this peering belongs to.
    pub network: String,
    /// The peer's network id (as in its stamped contexts).
    pub peer_network: String,
    /// Last change (ms).
    pub updated_at: i64,
    /// The hidden delivery target (outbox) of this peer.
    #[serde(skip)]
    pub endpoint_id: String,
}

fn decode_keys(stored: Option<&str>) -> Result<Vec<PublishedKey>, ApiError> {
    stored.map_or(Ok(Vec::new()), |s| {
        serde_json::from_str(s).map_err(|e| ApiError::Internal(format!("stored peer keys: {e}")))
    })
}

/// Encode published keys for storage.
pub fn encode_keys(keys: &[PublishedKey]) -> Result<String, ApiError> {
    serde_json::to_string(keys).map_err(|e| ApiError::Internal(format!("peer keys: {e}")))
}

impl TryFrom<PeerRow> for Peer {
    type Error = ApiError;

    fn try_from(r: PeerRow) -> Result<Self, ApiError> {
        let keys = match r.key_source {
            KeySource::Pinned => decode_keys(r.pinned_keys.as_deref())?,
            KeySource::Fetched => decode_keys(r.cached_keys.as_deref())?,
        };
        Ok(Self {
            base_url: r.base_url,
            created_at: r.created_at,
            disabled_at: r.disabled_at,
            key_source: r.key_source,
            key_refresh_ms: to_u64(r.key_refresh_ms),
            keys,
            keys_fetched_at: r.keys_fetched_at,
            network: r.network_id,
            peer_network: r.peer_network,
            updated_at: r.updated_at,
            endpoint_id: r.endpoint_id,
        })
    }
}

/// Load a peer of `network` (404 `not_found`).
pub async fn load(
    conn: &mut AnyConnection,
    network: &str,
    peer_network: &str,
) -> Result<Peer, ApiError> {
    find(conn, network, peer_network)
        .await?
        .ok_or(ApiError::NotFound("peer"))
}

async fn find(
    conn: &mut AnyConnection,
    network: &str,
    peer_network: &str,
) -> Result<Option<Peer>, ApiError> {
    let row: Option<PeerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM peers WHERE network_id = $1 AND peer_network = $2"
    )))
    .bind(network)
    .bind(peer_network)
    .fetch_optional(conn)
    .await?;
    row.map(Peer::try_from).transpose()
}

/// The enabled peer `peer_network` of `network`, for a report or a peer request: 403
/// `unknown_peer` if `network` has no such peer, 403 `peer_disabled` if it is disabled.
pub async fn active(db: &AnyPool, network: &str, peer_network: &str) -> Result<Peer, ApiError> {
    let mut conn = db.acquire().await?;
    let peer = find(&mut conn, network, peer_network)
        .await?
        .ok_or_else(|| ApiError::Forbidden {
            code: "unknown_peer",
            message: format!("network {network:?} has no peer {peer_network:?}"),
        })?;
    if peer.disabled_at.is_some() {
        return Err(ApiError::Forbidden {
            code: "peer_disabled",
            message: format!("peer {peer_network:?} of network {network:?} is disabled"),
        });
    }
    Ok(peer)
}

/// [`active`] for report intake: a message of a network that is not a peer keeps the intake's
/// long-standing answer, 403 `wrong_network` (neither the token's network nor a peer of it).
pub async fn active_for_intake(
    db: &AnyPool,
    network: &str,
    peer_network: &str,
) -> Result<Peer, ApiError> {
    active(db, network, peer_network)
        .await
        .map_err(|e| match e {
            ApiError::Forbidden {
                code: "unknown_peer",
                ..
            } => ApiError::Forbidden {
                code: "wrong_network",
                message: "the reported message is neither from this service token's network nor \
                      from one of its peers"
                    .into(),
            },
            other => other,
        })
}

/// Every peer of `network`, by peer network id.
pub async fn list(db: &AnyPool, network: &str) -> Result<Vec<Peer>, ApiError> {
    let rows: Vec<PeerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM peers WHERE network_id = $1 ORDER BY peer_network"
    )))
    .bind(network)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Peer::try_from).collect()
}

/// A new peer's settings (checked by the caller).
#[derive(Debug)]
pub struct NewPeer<'a> {
    /// The local network.
    pub network: &'a str,
    /// The peer's network id.
    pub peer_network: &'a str,
    /// The peer's base URL.
    pub base_url: &'a str,
    /// Key source.
    pub key_source: KeySource,
    /// Pinned keys (`pinned`).
    pub pinned: Option<&'a [PublishedKey]>,
    /// Cache lifetime of fetched keys (ms).
    pub key_refresh_ms: u64,
    /// The peer's delivery target.
    pub endpoint_id: &'a str,
}

/// Insert a peer (409 `already_exists` if `network` already has it), inside the caller's change.
pub async fn insert(conn: &mut AnyConnection, p: &NewPeer<'_>, now: i64) -> Result<(), ApiError> {
    let inserted = sqlx::query(
        "INSERT INTO peers (network_id, peer_network, base_url, key_source, pinned_keys, \
         key_refresh_ms, endpoint_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (network_id, peer_network) DO NOTHING",
    )
    .bind(p.network)
    .bind(p.peer_network)
    .bind(p.base_url)
    .bind(p.key_source)
    .bind(p.pinned.map(encode_keys).transpose()?)
    .bind(to_i64(p.key_refresh_ms))
    .bind(p.endpoint_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ApiError::conflict(
            "already_exists",
            format!(
                "network {:?} already has peer {:?}",
                p.network, p.peer_network
            ),
        ));
    }
    Ok(())
}

/// Changes to a peer (each optional; checked by the caller).
#[derive(Debug, Default)]
pub struct PeerUpdate<'a> {
    /// New base URL.
    pub base_url: Option<&'a str>,
    /// New key source (with `pinned` for `pinned`).
    pub key_source: Option<KeySource>,
    /// New pinned keys.
    pub pinned: Option<&'a [PublishedKey]>,
    /// New cache lifetime.
    pub key_refresh_ms: Option<u64>,
    /// Disable (true) or enable (false).
    pub disabled: Option<bool>,
}

/// Apply `u` to a peer (inside the caller's change); a new key source or pinned set empties the
/// fetched-key cache.
pub async fn update(
    conn: &mut AnyConnection,
    peer: &Peer,
    u: &PeerUpdate<'_>,
    now: i64,
) -> Result<(), ApiError> {
    let keys_changed = u.key_source.is_some() || u.pinned.is_some();
    sqlx::query(
        "UPDATE peers SET base_url = COALESCE($3, base_url), \
         key_source = COALESCE($4, key_source), pinned_keys = COALESCE($5, pinned_keys), \
         key_refresh_ms = COALESCE($6, key_refresh_ms), \
         disabled_at = CASE WHEN $7 = 1 THEN COALESCE(disabled_at, $9) WHEN $7 = 0 THEN NULL \
                       ELSE disabled_at END, \
         cached_keys = CASE WHEN $8 = 1 THEN NULL ELSE cached_keys END, \
         keys_fetched_at = CASE WHEN $8 = 1 THEN NULL ELSE keys_fetched_at END, \
         updated_at = $9 WHERE network_id = $1 AND peer_network = $2",
    )
    .bind(&peer.network)
    .bind(&peer.peer_network)
    .bind(u.base_url.map(str::to_owned))
    .bind(u.key_source)
    .bind(u.pinned.map(encode_keys).transpose()?)
    .bind(u.key_refresh_ms.map(to_i64))
    .bind(u.disabled.map(i64::from))
    .bind(i64::from(keys_changed))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    crate::webhooks::endpoints::update_peer_target(
        conn,
        &peer.endpoint_id,
        u.base_url,
        u.disabled.map(|d| !d),
        now,
    )
    .await
}

/// 400 `invalid_published_key` unless every key names `peer_network`, each key id once (the
/// records themselves are checked when parsed: network, Ed25519 point, dates).
pub fn check_pinned(peer_network: &str, keys: &[PublishedKey]) -> Result<(), ApiError> {
    for (i, k) in keys.iter().enumerate() {
        if k.network != peer_network {
            return Err(ApiError::bad_request(
                "invalid_published_key",
                format!("key {i} is for network {:?}, not the peer", k.network),
            ));
        }
        if keys[..i].iter().any(|o| o.key_id == k.key_id) {
            return Err(ApiError::bad_request(
                "invalid_published_key",
                format!("key id {} is listed twice", k.key_id.0),
            ));
        }
    }
    Ok(())
}

impl Peer {
    /// The keys to verify stamps naming `key_ids` with at `now`: the pinned ones, or the cached
    /// fetched ones — fetched again first when the cache is older than `key_refresh_ms` or lacks
    /// one of `key_ids` (and the last fetch is at least [`MIN_REFETCH_MS`] old). A peer that cannot
    /// be reached while the cache is empty is 503 `unavailable`; a stale cache is used when a
    /// fetch fails.
    pub async fn keys_for(
        &self,
        db: &AnyPool,
        key_ids: &[u32],
        now: i64,
    ) -> Result<Vec<PublishedKey>, ApiError> {
        if self.key_source == KeySource::Pinned {
            return Ok(self.keys.clone());
        }
        let fetched_at = self.keys_fetched_at.unwrap_or(i64::MIN);
        let stale = now.saturating_sub(fetched_at) > to_i64(self.key_refresh_ms);
        let missing = key_ids
            .iter()
            .any(|id| !self.keys.iter().any(|k| k.key_id.0 == *id));
        let may_refetch = now.saturating_sub(fetched_at) >= MIN_REFETCH_MS;
        if !(stale || missing && may_refetch) {
            return Ok(self.keys.clone());
        }
        match fetch(&self.base_url, &self.peer_network).await {
            Ok(keys) => {
                sqlx::query(
                    "UPDATE peers SET cached_keys = $3, keys_fetched_at = $4 \
                     WHERE network_id = $1 AND peer_network = $2",
                )
                .bind(&self.network)
                .bind(&self.peer_network)
                .bind(encode_keys(&keys)?)
                .bind(now)
                .execute(db)
                .await?;
                Ok(keys)
            }
            Err(e) if self.keys_fetched_at.is_some() => {
                tracing::warn!(peer = %self.peer_network, error = %e, "peer key fetch failed; using the cached keys");
                Ok(self.keys.clone())
            }
            Err(e) => Err(ApiError::Unavailable(format!(
                "peer {:?} keys: {e}",
                self.peer_network
            ))),
        }
    }
}

/// GET the peer's well-known keys and keep the valid records of `peer_network`.
async fn fetch(base_url: &str, peer_network: &str) -> Result<Vec<PublishedKey>, String> {
    let url = format!("{}{WELL_KNOWN_KEYS}", base_url.trim_end_matches('/'));
    let text = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(FETCH_TIMEOUT))
            .max_redirects(0)
            .user_agent("franking-report-server")
            .build()
            .into();
        agent
            .get(&url)
            .call()
            .map_err(|e| e.to_string())?
            .body_mut()
            .with_config()
            .limit(MAX_KEYS_BYTES)
            .read_to_string()
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    let all: PublishedKeys = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(all
        .keys
        .into_iter()
        .filter(|k| k.network == peer_network)
        .collect())
}

/// Stamp key ids a report's messages name.
pub fn key_ids(report: &franking_core::frank::Report) -> Vec<u32> {
    core::iter::once(&report.message)
        .chain(&report.earlier)
        .map(|m| m.stamp.key_id.0)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use franking_core::frank::{
        COMMITMENT_LEN, Commitment, Context, KeyId, Stamp, StampKey, StampVerifier, Suite,
    };

    use super::*;

    const T: u64 = 1_790_000_000_000;
    const SKEW: u64 = 300_000;

    /// A peer's published keys, as report intake verifies its stamps with them.
    fn setup(retired_at_ms: Option<u64>) -> (StampKey, Vec<PublishedKey>, Commitment) {
        let key = StampKey::generate(KeyId(3), true).unwrap();
        let published = PublishedKey {
            network: "neta".into(),
            key_id: KeyId(3),
            public_key: key.verifying_key().unwrap(),
            created_at_ms: T - 1000,
            retired_at_ms,
        };
        (key, vec![published], Commitment([7; COMMITMENT_LEN]))
    }

    fn ctx(network: &str, ts: u64) -> Context {
        Context::direct(network, "alice", "bob", ts, "m1").unwrap()
    }

    fn check(keys: &[PublishedKey], stamp: &Stamp, c: &Commitment, ctx: &Context) -> &'static str {
        match keys.verify_stamp(stamp, Suite::Aes256CtrBlake3, c, ctx, T, SKEW) {
            Ok(()) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn published_keys_verify_signatures_and_refuse_everything_else() {
        let (key, keys, c) = setup(None);
        let x = ctx("neta", T);
        let stamp = key.stamp(Suite::Aes256CtrBlake3, &c, &x).unwrap();
        assert_eq!(check(&keys, &stamp, &c, &x), "ok");
        // Stripped signature: only the stamping network could check the HMAC.
        let mut stripped = stamp.clone();
        stripped.signature = None;
        assert_eq!(check(&keys, &stripped, &c, &x), "signature_required");
        // Forged signature, other commitment, other context.
        let mut forged = stamp.clone();
        if let Some(s) = forged.signature.as_mut() {
            s[0] ^= 1;
        }
        assert_eq!(check(&keys, &forged, &c, &x), "bad_stamp");
        assert_eq!(
            check(&keys, &stamp, &Commitment([8; COMMITMENT_LEN]), &x),
            "bad_stamp"
        );
        assert_eq!(check(&keys, &stamp, &c, &ctx("neta", T + 1)), "bad_stamp");
        // A key id the peer did not publish; a context of another network.
        let other = StampKey::generate(KeyId(4), true).unwrap();
        let s4 = other.stamp(Suite::Aes256CtrBlake3, &c, &x).unwrap();
        assert_eq!(check(&keys, &s4, &c, &x), "unknown_key_id");
        let y = ctx("netz", T);
        let sy = key.stamp(Suite::Aes256CtrBlake3, &c, &y).unwrap();
        assert_ne!(check(&keys, &sy, &c, &y), "ok");
    }

    #[test]
    fn a_retired_key_verifies_only_stamps_dated_before_its_retirement_plus_skew() {
        let retired = T + 60_000;
        let (key, keys, c) = setup(Some(retired));
        for (ts, want) in [
            (T, "ok"),
            (retired, "ok"),
            (retired + SKEW, "ok"),
            (retired + SKEW + 1, "stamp_after_retirement"),
        ] {
            let x = ctx("neta", ts);
            let stamp = key.stamp(Suite::Aes256CtrBlake3, &c, &x).unwrap();
            assert_eq!(check(&keys, &stamp, &c, &x), want, "stamp dated {ts}");
        }
    }

    #[test]
    fn pinned_keys_name_the_peer_once() {
        let (_, keys, _) = setup(None);
        let good = keys[0].clone();
        assert!(check_pinned("neta", std::slice::from_ref(&good)).is_ok());
        let code = |ks: &[PublishedKey]| check_pinned("neta", ks).unwrap_err().code();
        assert_eq!(code(&[good.clone(), good.clone()]), "invalid_published_key");
        let mut other = good;
        other.network = "netz".into();
        assert_eq!(code(&[other]), "invalid_published_key");
    }
}
