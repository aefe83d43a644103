//! Console sessions: sign-in with a pasted admin or moderator token, a session cookie, CSRF.
//!
//! * `POST /console/session` `{"token"}` checks the token exactly as a bearer token is checked
//!   (unknown, revoked or expired → 401 `unauthorized`; disabled network → 403 `network_disabled`);
//!   relay and service tokens are refused (403 `forbidden`). It creates a session: a random 32-byte
//!   id (base64url, the cookie value; only `hex(SHA-256(id))` is stored), an expiry, the token's id
//!   and a random per-session CSRF token. The cookie is `franking_session`, `HttpOnly`,
//!   `SameSite=Strict`, `Path=/`, with `Secure` when the server is configured to be behind TLS.
//! * A request without an `Authorization` header but with the cookie is authenticated as the
//!   session's token ([`authenticate_cookie`], called from [`crate::auth::authenticate`]): the token
//!   row is re-checked on every request, so revoking the token (or disabling its network) ends its
//!   sessions at once. State-changing methods (anything but GET/HEAD/OPTIONS) must also carry the
//!   session's CSRF token in `X-CSRF-Token` (compared in constant time): missing → 403
//!   `csrf_token_missing`, wrong → 403 `csrf_token_invalid`.
//! * `GET /console/session` returns the signed-in identity and the CSRF token; `DELETE` signs out.
//!
//! Sign-in and sign-out are written to the audit log in the same transaction as the session row.

use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use serde_json::json;
use sqlx::AnyPool;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::audit::AuditEntry;
use crate::auth::{Caller, Role, lookup};
use crate::change::Change;
use crate::error::ApiError;
use crate::state::AppState;
use crate::util::{now_ms, random_bytes, sha256_hex};
use franking_core::util::b64_encode;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "franking_session";
/// Header that carries the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// `POST /console/session` body. The token is zeroized on drop and never printed.
#[derive(serde::Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// An admin or moderator token.
    pub token: String,
}

impl core::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SignIn(<redacted>)")
    }
}

/// A live session, as loaded from its cookie.
pub struct Session {
    /// `hex(SHA-256(session id))`, the row key.
    pub id_hash: String,
    /// The per-session CSRF token.
    pub csrf_token: String,
    /// Expiry (ms since the epoch).
    pub expires_at: i64,
    /// Whoever the session's token belongs to.
    pub caller: Caller,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("expires_at", &self.expires_at)
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A short, non-secret reference to the session for the audit log (a prefix of the id hash).
    pub fn reference(&self) -> &str {
        &self.id_hash[..16]
    }

    /// The response the console reads: identity, CSRF token, expiry.
    pub fn view(&self) -> SessionView<'_> {
        SessionView {
            role: self.caller.role.as_str(),
            network: self.caller.network.as_deref(),
            subject: &self.caller.subject,
            actor: self.caller.actor(),
            csrf_token: &self.csrf_token,
            expires_at: self.expires_at,
        }
    }
}

/// `GET`/`POST /console/session` response: who is signed in, the CSRF token, the expiry.
#[derive(Debug, serde::Serialize)]
pub struct SessionView<'a> {
    /// `admin` or `moderator`.
    pub role: &'static str,
    /// The moderator's network (`null` for admins).
    pub network: Option<&'a str>,
    /// The token's subject.
    pub subject: &'a str,
    /// The audit actor string.
    pub actor: String,
    /// The per-session CSRF token for `X-CSRF-Token`.
    pub csrf_token: &'a str,
    /// Expiry (ms since the epoch).
    pub expires_at: i64,
}

/// A session row joined with its token's hash.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: String,
    csrf_token: String,
    expires_at: i64,
    token_hash: String,
}

/// The session cookie's value, if the request carries one of the right shape (43 base64url
/// characters, like every 32-byte secret this server issues).
fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether the request carries a session cookie (well-formed or not).
pub fn has_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(n, _)| n == COOKIE_NAME)
        })
}

/// Load the request's session: `Ok(None)` without a session cookie; 401 `unauthorized` for a
/// cookie that names no live session, or whose token is no longer valid.
pub async fn load(headers: &HeaderMap, db: &AnyPool) -> Result<Option<Session>, ApiError> {
    if !has_cookie(headers) {
        return Ok(None);
    }
    let id = cookie_value(headers).ok_or(ApiError::Unauthorized)?;
    let id_hash = sha256_hex(id.as_bytes());
    let row: SessionRow = sqlx::query_as(
        "SELECT s.id_hash, s.csrf_token, s.expires_at, t.token_hash \
         FROM console_sessions s JOIN tokens t ON t.id = s.token_id WHERE s.id_hash = $1",
    )
    .bind(&id_hash)
    .fetch_optional(db)
    .await?
    .ok_or(ApiError::Unauthorized)?;
    if !bool::from(row.id_hash.as_bytes().ct_eq(id_hash.as_bytes())) {
        return Err(ApiError::Unauthorized);
    }
    if row.expires_at <= now_ms() {
        return Err(ApiError::Unauthorized);
    }
    // The token is checked exactly as a bearer token would be (revoked, expired, network disabled).
    let caller = lookup(db, &row.token_hash).await?;
    Ok(Some(Session {
        id_hash,
        csrf_token: row.csrf_token,
        expires_at: row.expires_at,
        caller,
    }))
}

/// Refuse a state-changing request whose `X-CSRF-Token` is not the session's.
pub fn check_csrf(method: &Method, headers: &HeaderMap, session: &Session) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let given = headers
        .get(CSRF_HEADER)
        .ok_or_else(|| ApiError::Forbidden {
            code: "csrf_token_missing",
            message: "a state-changing request authenticated by the session cookie needs the \
                  X-CSRF-Token header"
                .into(),
        })?;
    if !bool::from(given.as_bytes().ct_eq(session.csrf_token.as_bytes())) {
        return Err(ApiError::Forbidden {
            code: "csrf_token_invalid",
            message: "the X-CSRF-Token header does not match this session".into(),
        });
    }
    Ok(())
}

/// Authenticate a request by its session cookie (the hook in [`crate::auth::authenticate`]):
/// `Ok(None)` without a cookie, else the session's caller after the CSRF check.
pub async fn authenticate_cookie(parts: &Parts, db: &AnyPool) -> Result<Option<Caller>, ApiError> {
    let Some(session) = load(&parts.headers, db).await? else {
        return Ok(None);
    };
    check_csrf(&parts.method, &parts.headers, &session)?;
    Ok(Some(session.caller))
}

/// The `Set-Cookie` value for a session id (or, with `None`, one that deletes the cookie).
pub fn set_cookie(
    id: Option<&str>,
    max_age_secs: u64,
    secure: bool,
) -> Result<HeaderValue, ApiError> {
    let mut v = match id {
        Some(id) => format!("{COOKIE_NAME}={id}; Max-Age={max_age_secs}"),
        None => format!("{COOKIE_NAME}=; Max-Age=0"),
    };
    v.push_str("; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        v.push_str("; Secure");
    }
    HeaderValue::from_str(&v).map_err(|_| ApiError::Internal("cookie header".into()))
}

/// Sign in with `token`: create the session (and its audit entry) and return it with the cookie
/// value (the secret session id).
pub async fn create(
    state: &AppState,
    token: &str,
) -> Result<(Session, Zeroizing<String>), ApiError> {
    let caller = lookup(&state.db, &sha256_hex(token.trim().as_bytes())).await?;
    if !matches!(caller.role, Role::Admin | Role::Moderator) {
        return Err(ApiError::forbidden(
            "the console accepts admin and moderator tokens only",
        ));
    }
    let id = Zeroizing::new(b64_encode(&*Zeroizing::new(random_bytes::<32>()?)));
    let id_hash = sha256_hex(id.as_bytes());
    let csrf_token = b64_encode(&random_bytes::<32>()?);
    let now = now_ms();
    let ttl = i64::try_from(state.console.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl);
    let session = Session {
        id_hash,
        csrf_token,
        expires_at,
        caller,
    };
    let mut change = Change::begin(&state.db, session.caller.actor()).await?;
    // Housekeeping: expired sessions can never authenticate again.
    sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(change.conn())
        .await?;
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, token_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&session.id_hash)
    .bind(&session.caller.token_id)
    .bind(&session.csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(change.conn())
    .await?;
    change
        .commit(
            AuditEntry::new(
                "console.sign_in",
                format!("token:{}", session.caller.token_id),
            )
            .network(session.caller.network.as_deref())
            .details(json!({ "session": session.reference(), "expires_at": expires_at })),
        )
        .await?;
    Ok((session, id))
}

/// Sign out: delete the session (and write its audit entry).
pub async fn delete(state: &AppState, session: &Session) -> Result<(), ApiError> {
    let mut change = Change::begin(&state.db, session.caller.actor()).await?;
    let n = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
        .bind(&session.id_hash)
        .execute(change.conn())
        .await?
        .rows_affected();
    if n == 0 {
        // Signed out concurrently: nothing to record.
        return Err(ApiError::Unauthorized);
    }
    change
        .commit(
            AuditEntry::new(
                "console.sign_out",
                format!("token:{}", session.caller.token_id),
            )
            .network(session.caller.network.as_deref())
            .details(json!({ "session": session.reference() })),
        )
        .await?;
    Ok(())
}

/// The cookie header that ends the browser's session.
pub fn clear_cookie(secure: bool) -> Result<HeaderValue, ApiError> {
    set_cookie(None, 0, secure)
}
