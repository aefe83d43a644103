//! Webhook endpoints of a network (`webhook_endpoints`): URL, subscribed event types, enabled flag
//! and the signing secret — sealed with the server key ([`crate::seal`], purpose
//! [`SEAL_PURPOSE`], bound to the endpoint id), shown once when created or rotated. A rotation
//! keeps the previous secret valid (deliveries are signed with both) until the overlap ends.
//!
//! URLs must be absolute `http://` or `https://` URLs (the worker refuses nothing else at send
//! time because nothing else can be stored). Endpoints are configured by admins, who are trusted
//! with where events go; redirects are not followed.

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};
use zeroize::Zeroizing;

use super::EventType;
use crate::error::ApiError;
use crate::seal::{self, ServerKey};
use crate::util::{new_id, random_bytes};
use franking_core::util::b64_encode;

/// `seal` purpose label for webhook secrets.
pub const SEAL_PURPOSE: &str = "webhook-secret";
/// Longest endpoint URL in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Default overlap of a secret rotation (24 h).
pub const DEFAULT_OVERLAP_MS: u64 = 24 * 3600 * 1000;
/// Longest overlap of a secret rotation (7 days).
pub const MAX_OVERLAP_MS: u64 = 7 * 24 * 3600 * 1000;

/// A freshly generated signing secret (`whsec_` + 32 random bytes, base64url). Shown once;
/// zeroized on drop; redacted in `Debug`.
pub struct Secret(pub Zeroizing<String>);

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A secret given by an admin (a peer's shared secret made on the other side): 32 to 256
    /// printable ASCII characters without spaces (400 `invalid_secret`).
    pub fn supplied(s: &str) -> Result<Self, ApiError> {
        if !(32..=256).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::bad_request(
                "invalid_secret",
                "secret must be 32 to 256 printable ASCII characters without spaces",
            ));
        }
        Ok(Self(Zeroizing::new(s.to_owned())))
    }

    /// A fresh random secret (`whsec_` + 32 random bytes, base64url).
    pub fn generate() -> Result<Self, ApiError> {
        let raw = Zeroizing::new(random_bytes::<32>()?);
        Ok(Self(Zeroizing::new(format!("whsec_{}", b64_encode(&*raw)))))
    }

    fn seal(&self, key: &ServerKey, endpoint_id: &str) -> Result<String, ApiError> {
        seal::seal(key, SEAL_PURPOSE, endpoint_id.as_bytes(), self.0.as_bytes())
    }
}

/// 400 `invalid_url` unless `url` is an absolute http(s) URL with a host, at most
/// [`MAX_URL_LEN`] bytes, without whitespace or control characters.
pub fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_url",
            format!(
                "url must be an absolute http:// or https:// URL of at most {MAX_URL_LEN} bytes"
            ),
        )
    };
    if url.len() > MAX_URL_LEN || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    let uri: axum::http::Uri = url.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok = uri.host().is_some_and(|h| !h.is_empty());
    if !scheme_ok || !host_ok || uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad());
    }
    Ok(())
}

/// Parse requested event type names (400 `invalid_event_type`): at least one, each known; the
/// result is in [`EventType::ALL`] order without duplicates. `None` = every type.
pub fn parse_event_types(names: Option<&[String]>) -> Result<Vec<EventType>, ApiError> {
    let Some(names) = names else {
        return Ok(EventType::ALL.to_vec());
    };
    let known = crate::cases::names(&EventType::ALL, EventType::as_str);
    let mut wanted = Vec::new();
    for n in names {
        let subscribable = EventType::ALL.into_iter().find(|t| t.as_str() == n);
        wanted.push(subscribable.ok_or_else(|| {
            ApiError::bad_request(
                "invalid_event_type",
                format!("event type {n:?} is not one of {known}"),
            )
        })?);
    }
    if wanted.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_event_type",
            format!("event_types must name at least one of {known}"),
        ));
    }
    Ok(EventType::ALL
        .into_iter()
        .filter(|t| wanted.contains(t))
        .collect())
}

fn encode_types(types: &[EventType]) -> Result<String, ApiError> {
    serde_json::to_string(types).map_err(|e| ApiError::Internal(format!("event types: {e}")))
}

/// The stored event types of an endpoint.
pub(crate) fn decode_types(stored: &str) -> Result<Vec<EventType>, ApiError> {
    serde_json::from_str(stored).map_err(|e| ApiError::Internal(format!("stored event types: {e}")))
}

const COLUMNS: &str = "id, network_id, url, event_types, enabled, old_secret_expires_at, \
     created_at, updated_at";

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    network_id: String,
    url: String,
    event_types: String,
    enabled: i64,
    old_secret_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// A webhook endpoint as the admin API shows it (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    /// When it was created (ms).
    pub created_at: i64,
    /// Whether events are delivered to it.
    pub enabled: bool,
    /// Subscribed event types.
    pub event_types: Vec<EventType>,
    /// Endpoint id (`whk_...`).
    pub id: String,
    /// The network whose events it receives.
    pub network: String,
    /// Until when the previous secret also signs deliveries (ms), during a rotation's overlap.
    pub previous_secret_expires_at: Option<i64>,
    /// Last change (ms).
    pub updated_at: i64,
    /// Where events are POSTed.
    pub url: String,
}

impl TryFrom<EndpointRow> for Endpoint {
    type Error = ApiError;

    fn try_from(r: EndpointRow) -> Result<Self, ApiError> {
        Ok(Self {
            created_at: r.created_at,
            enabled: r.enabled != 0,
            event_types: decode_types(&r.event_types)?,
            id: r.id,
            network: r.network_id,
            previous_secret_expires_at: r.old_secret_expires_at,
            updated_at: r.updated_at,
            url: r.url,
        })
    }
}

/// Load an endpoint (404 `not_found`).
pub async fn load(conn: &mut AnyConnection, id: &str) -> Result<Endpoint, ApiError> {
    let row: EndpointRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND kind = 'webhook'"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound("webhook"))?;
    row.try_into()
}

/// Every endpoint of `network`, oldest first.
pub async fn list(db: &AnyPool, network: &str) -> Result<Vec<Endpoint>, ApiError> {
    let rows: Vec<EndpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE network_id = $1 AND kind = 'webhook' \
         ORDER BY created_at, id"
    )))
    .bind(network)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Endpoint::try_from).collect()
}

/// Insert a new endpoint of `network` (checked by the caller); returns it and its secret.
pub async fn create(
    conn: &mut AnyConnection,
    key: &ServerKey,
    network: &str,
    url: &str,
    types: &[EventType],
    enabled: bool,
    now: i64,
) -> Result<(Endpoint, Secret), ApiError> {
    let id = new_id("whk")?;
    let secret = Secret::generate()?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, network_id, url, event_types, secret_sealed, \
         enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(network)
    .bind(url)
    .bind(encode_types(types)?)
    .bind(secret.seal(key, &id)?)
    .bind(i64::from(enabled))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok((load(conn, &id).await?, secret))
}

/// Insert the hidden delivery target of a peer of `network` (kind `peer`, no event
/// subscriptions: only events addressed to it are delivered there), signing with `secret`.
/// Returns its id.
pub async fn create_peer_target(
    conn: &mut AnyConnection,
    key: &ServerKey,
    network: &str,
    base_url: &str,
    secret: &Secret,
    now: i64,
) -> Result<String, ApiError> {
    let id = new_id("whk")?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, network_id, url, event_types, secret_sealed, \
         enabled, created_at, updated_at, kind) VALUES ($1, $2, $3, '[]', $4, 1, $5, $5, 'peer')",
    )
    .bind(&id)
    .bind(network)
    .bind(base_url)
    .bind(secret.seal(key, &id)?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Change a peer target's base URL and/or enabled flag.
pub async fn update_peer_target(
    conn: &mut AnyConnection,
    id: &str,
    base_url: Option<&str>,
    enabled: Option<bool>,
    now: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE webhook_endpoints SET url = COALESCE($2, url), enabled = COALESCE($3, enabled), \
         updated_at = $4 WHERE id = $1 AND kind = 'peer'",
    )
    .bind(id)
    .bind(base_url.map(str::to_owned))
    .bind(enabled.map(i64::from))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The secrets a request from the peer behind target `id` may be signed with at `now` (the
/// current one, and the previous one during a rotation's overlap).
pub async fn peer_secrets(
    db: &AnyPool,
    key: &ServerKey,
    id: &str,
    now: i64,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ApiError> {
    let (current, previous, until): (String, Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT secret_sealed, old_secret_sealed, old_secret_expires_at FROM webhook_endpoints \
         WHERE id = $1 AND kind = 'peer'",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::Internal(format!("peer target {id} is missing")))?;
    signing_secrets(key, id, &current, previous.as_deref(), until, now)
}

/// Change an endpoint's URL, event types and/or enabled flag.
pub async fn update(
    conn: &mut AnyConnection,
    id: &str,
    url: Option<&str>,
    types: Option<&[EventType]>,
    enabled: Option<bool>,
    now: i64,
) -> Result<Endpoint, ApiError> {
    let types = types.map(encode_types).transpose()?;
    let n = sqlx::query(
        "UPDATE webhook_endpoints SET url = COALESCE($2, url), \
         event_types = COALESCE($3, event_types), enabled = COALESCE($4, enabled), \
         updated_at = $5 WHERE id = $1 AND kind = 'webhook'",
    )
    .bind(id)
    .bind(url.map(str::to_owned))
    .bind(types)
    .bind(enabled.map(i64::from))
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::NotFound("webhook"));
    }
    load(conn, id).await
}

/// Replace the endpoint's secret with a new one; the current one keeps signing (next to the new
/// one) for `overlap_ms`. Returns the endpoint and the new secret.
pub async fn rotate_secret(
    conn: &mut AnyConnection,
    key: &ServerKey,
    id: &str,
    overlap_ms: u64,
    now: i64,
) -> Result<(Endpoint, Secret), ApiError> {
    let secret = Secret::generate()?;
    let expires = now.saturating_add(crate::util::to_i64(overlap_ms));
    let n = sqlx::query(
        "UPDATE webhook_endpoints SET old_secret_sealed = secret_sealed, \
         old_secret_expires_at = $3, secret_sealed = $2, updated_at = $4 \
         WHERE id = $1 AND kind = 'webhook'",
    )
    .bind(id)
    .bind(secret.seal(key, id)?)
    .bind((overlap_ms > 0).then_some(expires))
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::NotFound("webhook"));
    }
    Ok((load(conn, id).await?, secret))
}

/// The secrets that sign a delivery to endpoint `id` at `now`: the current one, then the previous
/// one while its overlap lasts.
pub(crate) fn signing_secrets(
    key: &ServerKey,
    id: &str,
    current: &str,
    previous: Option<&str>,
    previous_expires_at: Option<i64>,
    now: i64,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ApiError> {
    let mut out = vec![seal::open(key, SEAL_PURPOSE, id.as_bytes(), current)?];
    if let (Some(prev), Some(until)) = (previous, previous_expires_at)
        && now < until
    {
        out.push(seal::open(key, SEAL_PURPOSE, id.as_bytes(), prev)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_and_event_types() {
        for ok in ["http://127.0.0.1:9/hook", "https://hooks.example.com/a?b=c"] {
            check_url(ok).unwrap();
        }
        for bad in [
            "",
            "ftp://x/y",
            "/relative",
            "http://",
            "http://a b/",
            "http://user:pw@host/",
            "javascript:alert(1)",
            &format!("http://h/{}", "a".repeat(MAX_URL_LEN)),
        ] {
            assert_eq!(check_url(bad).unwrap_err().code(), "invalid_url", "{bad}");
        }
        assert_eq!(parse_event_types(None).unwrap(), EventType::ALL.to_vec());
        let two = vec![
            "case.resolved".to_owned(),
            "case.created".into(),
            "case.created".into(),
        ];
        assert_eq!(
            parse_event_types(Some(&two)).unwrap(),
            vec![EventType::CaseCreated, EventType::CaseResolved]
        );
        for bad in [vec![], vec!["case.nope".to_owned()]] {
            assert_eq!(
                parse_event_types(Some(&bad)).unwrap_err().code(),
                "invalid_event_type"
            );
        }
        let s = Secret::generate().unwrap();
        assert!(s.0.starts_with("whsec_") && s.0.len() == 6 + 43);
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    }
}
