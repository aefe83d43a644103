//! Federation (issue 12, `docs/federation.md`): abuse reports verifiable across networks.
//!
//! ```text
//! network A (stamps, signs)                         network B (reporter's server)
//! /.well-known/franking/keys ───── keys (pinned or fetched, cached) ────▶ verify_published
//!                                   POST /v1/reports (B's service, context.network = A)
//!                                   verify by A's signature, store the case (origin A)
//! POST /v1/federation/reports ◀──── forward (outbox, signed with the peer secret) ─┘
//! verify fully (HMAC + signature), open or join a case
//! resolve/dismiss ──── decision (outbox) ────▶ POST /v1/federation/decisions → B's case
//! ```
//!
//! * [`peers`]: the peer registry (per local network): base URL, key source, shared secret (held by
//!   a hidden delivery target of kind `peer`, so the webhook outbox and worker deliver to peers),
//!   enabled flag; a peer's published keys (verified with franking-core's `verify_published`
//!   through its `StampVerifier` implementation for `[PublishedKey]`).
//! * [`forward`]: the bodies sent between peers, the forward queued with a cross-network report,
//!   forwards received, decisions sent back and received, and the peer request authentication.
//!
//! Bodies of peer deliveries are stored sealed ([`seal_body`]): a forward carries evidence.

pub mod forward;
pub mod peers;

pub use franking_core::frank::PublishedKey;
use franking_core::frank::{KeyId, VerifyingKey};
use franking_core::util::{b64_decode, b64_encode};
use sqlx::AnyPool;

use crate::error::ApiError;
use crate::seal::{self, ServerKey};

/// `seal` purpose label of peer delivery bodies (bound to the event id).
pub const SEAL_PURPOSE: &str = "federation-body";
/// The header naming the sending network of a peer request.
pub const PEER_HEADER: &str = "Franking-Peer";
/// The well-known path of a server's published stamp verifying keys.
pub const WELL_KNOWN_KEYS: &str = "/.well-known/franking/keys";

/// Seal a peer delivery body for the outbox.
pub fn seal_body(key: &ServerKey, event_id: &str, body: &str) -> Result<String, ApiError> {
    seal::seal(key, SEAL_PURPOSE, event_id.as_bytes(), body.as_bytes())
}

/// Open a body sealed by [`seal_body`].
pub fn open_body(key: &ServerKey, event_id: &str, sealed: &str) -> Result<String, ApiError> {
    let raw = seal::open(key, SEAL_PURPOSE, event_id.as_bytes(), sealed)?;
    String::from_utf8(raw.to_vec())
        .map_err(|_| ApiError::Internal("sealed body is not UTF-8".into()))
}

/// The well-known answer: `{"keys": [...]}`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedKeys {
    /// Every signing key of every network of this server whose policy signs (or did sign).
    pub keys: Vec<PublishedKey>,
}

#[derive(sqlx::FromRow)]
struct PublishedRow {
    network_id: String,
    key_id: i64,
    public_key: String,
    created_at: i64,
    retired_at: Option<i64>,
}

/// This server's published keys: every stamping key with a public key, by network and key id.
pub async fn published_keys(db: &AnyPool) -> Result<PublishedKeys, ApiError> {
    let rows: Vec<PublishedRow> = sqlx::query_as(
        "SELECT network_id, key_id, public_key, created_at, retired_at FROM stamping_keys \
         WHERE public_key IS NOT NULL ORDER BY network_id, key_id",
    )
    .fetch_all(db)
    .await?;
    let keys = rows
        .into_iter()
        .map(|r| {
            let bad = |what: &str| ApiError::Internal(format!("stored {what}"));
            let raw: [u8; 32] = b64_decode(&r.public_key)
                .map_err(|_| bad("public key"))?
                .try_into()
                .map_err(|_| bad("public key length"))?;
            Ok(PublishedKey {
                network: r.network_id,
                key_id: KeyId(u32::try_from(r.key_id).map_err(|_| bad("key id"))?),
                public_key: VerifyingKey::from_bytes(&raw).map_err(|_| bad("public key point"))?,
                created_at_ms: crate::util::to_u64(r.created_at),
                retired_at_ms: r.retired_at.map(crate::util::to_u64),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(PublishedKeys { keys })
}

/// BLAKE3 `derive_key` context of the pseudonym key.
const PSEUDONYM_CONTEXT: &str = "franking report-server 2026 federation reporter pseudonym";

/// The pseudonym a reporter crosses networks under (policy `federation_reporter_identities`
/// off): `pseud_` + base64url of the first 16 bytes of HMAC-SHA-256 under a key derived from the
/// server key, over (local network, reporter). Stable, so the stamping network still counts
/// distinct reporters and refuses duplicates; not reversible without the server key.
pub fn pseudonym(key: &ServerKey, network: &str, reporter: &str) -> String {
    use hmac::{KeyInit, Mac};
    let k = key.derive(PSEUDONYM_CONTEXT);
    let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(k.as_slice())
        .unwrap_or_else(|_| <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&Default::default()));
    m.update(&(network.len() as u64).to_be_bytes());
    m.update(network.as_bytes());
    m.update(reporter.as_bytes());
    let out = m.finalize().into_bytes();
    format!("pseud_{}", b64_encode(&out[..16]))
}
