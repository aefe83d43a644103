//! Bearer-token authentication and role extractors.
//!
//! Tokens are 32 random bytes, base64url (43 characters), shown once when issued. The database
//! stores only `hex(SHA-256(token))`. A request's token is hashed, the row is looked up by that hash,
//! and the stored hash is compared with the computed one in constant time (`subtle`) before use —
//! the lookup itself is on a hash of a 256-bit secret, so its timing reveals nothing usable.
//!
//! Roles: `admin` (global), and per network `moderator`, `relay` (stamping), `service` (report
//! intake on behalf of the network's users). Missing/unknown/revoked/expired token → 401
//! `unauthorized`; valid token of another role → 403 `forbidden`; a network that is disabled → 403
//! `network_disabled`; more than one `Authorization` header → 400 `malformed` (never "the first
//! one wins").
//!
//! Failed lookups cost a database query each, so a peer address (from [`crate::serve`]'s
//! connection info) that causes more than [`crate::Limits::auth_failures_per_minute`] 401s in a
//! minute gets 429 `rate_limited` without a lookup until the minute is over ([`FailureLimiter`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sqlx::{AnyConnection, AnyExecutor, AnyPool};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::cache::TtlMap;
use crate::db::text_enum;
use crate::error::ApiError;
use crate::util::{now_ms, random_bytes, sha256_hex};
use franking_core::util::b64_encode;

/// A token role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages networks, keys, tokens and policies.
    Admin,
    /// Works a network's moderation queue.
    Moderator,
    /// A network's relay: requests stamps.
    Relay,
    /// A network's backend: submits reports on behalf of its authenticated users.
    Service,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Relay => "relay",
            Role::Service => "service",
        }
    }

    /// A platform's machine role (relay or service), whose authentications the hot-path cache may
    /// keep ([`crate::cache`]); people's roles (admin, moderator) always read the database.
    pub fn is_machine(self) -> bool {
        matches!(self, Role::Relay | Role::Service)
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "moderator" => Some(Role::Moderator),
            "relay" => Some(Role::Relay),
            "service" => Some(Role::Service),
            _ => None,
        }
    }
}

text_enum!(Role);

/// A freshly generated token: the secret (show once) and its stored hash.
pub struct NewToken {
    /// The bearer token. Secret; zeroized on drop; redacted in `Debug`.
    pub secret: Zeroizing<String>,
    /// `hex(SHA-256(secret))`, the only thing stored.
    pub hash: String,
}

impl core::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewToken")
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Generate a token (32 random bytes, base64url).
pub fn generate_token() -> Result<NewToken, ApiError> {
    let raw = Zeroizing::new(random_bytes::<32>()?);
    let secret = Zeroizing::new(b64_encode(&*raw));
    let hash = sha256_hex(secret.as_bytes());
    Ok(NewToken { secret, hash })
}

/// Store a new token for `role` (and `network` for per-network roles); returns (id, token).
/// Runs on a pool or inside a [`crate::change::Change`] (the admin route audits it there).
pub async fn issue_token<'c, E: AnyExecutor<'c>>(
    db: E,
    role: Role,
    network: Option<&str>,
    subject: &str,
    expires_at: Option<i64>,
) -> Result<(String, NewToken), ApiError> {
    let t = generate_token()?;
    let id = crate::util::new_id("tok")?;
    sqlx::query(
        "INSERT INTO tokens (id, token_hash, role, network_id, subject, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&t.hash)
    .bind(role)
    .bind(network.map(str::to_owned))
    .bind(subject)
    .bind(now_ms())
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok((id, t))
}

/// A token as listed to admins (never the secret or its hash).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct TokenView {
    /// Issue time (ms).
    pub created_at: i64,
    /// Expiry time (ms), if any.
    pub expires_at: Option<i64>,
    /// Token id.
    pub id: String,
    /// The network of a per-network role.
    #[sqlx(rename = "network_id")]
    pub network: Option<String>,
    /// Revocation time (ms), if revoked.
    pub revoked_at: Option<i64>,
    /// The token's role.
    pub role: Role,
    /// Holder name.
    pub subject: String,
}

/// Tokens, optionally of one network and/or role, oldest first.
pub async fn list_tokens(
    db: &AnyPool,
    network: Option<String>,
    role: Option<Role>,
) -> Result<Vec<TokenView>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT id, role, network_id, subject, created_at, expires_at, revoked_at FROM tokens \
         WHERE ($1 IS NULL OR network_id = $1) AND ($2 IS NULL OR role = $2) \
         ORDER BY created_at, id",
    )
    .bind(network)
    .bind(role)
    .fetch_all(db)
    .await?)
}

/// What [`revoke_token`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now; the token's network (for the audit entry).
    Now(Option<String>),
    /// It was already revoked (nothing changed).
    Already,
}

/// Revoke a token (404 if unknown); idempotent.
pub async fn revoke_token(
    conn: &mut AnyConnection,
    id: &str,
    now: i64,
) -> Result<Revoked, ApiError> {
    let (network, revoked_at): (Option<String>, Option<i64>) =
        sqlx::query_as("SELECT network_id, revoked_at FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(ApiError::NotFound("token"))?;
    if revoked_at.is_some() {
        return Ok(Revoked::Already);
    }
    let n = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(if n == 0 {
        Revoked::Already
    } else {
        Revoked::Now(network)
    })
}

/// Whether `subject` is an active (unrevoked, unexpired) moderator of `network` at `now`.
pub async fn is_active_moderator(
    db: &AnyPool,
    network: &str,
    subject: &str,
    now: i64,
) -> Result<bool, ApiError> {
    Ok(sqlx::query(
        "SELECT id FROM tokens WHERE role = 'moderator' AND network_id = $1 AND subject = $2 \
         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3) LIMIT 1",
    )
    .bind(network)
    .bind(subject)
    .bind(now)
    .fetch_optional(db)
    .await?
    .is_some())
}

/// Whoever presented a valid token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token id (safe to log; not the secret).
    pub token_id: String,
    /// The token's role.
    pub role: Role,
    /// The network of a per-network role (`None` for admin).
    pub network: Option<String>,
    /// Holder name (moderator id, relay name, ...), used as the audit actor.
    pub subject: String,
}

impl Caller {
    /// The audit-log actor string, e.g. `moderator:alice@net1`.
    pub fn actor(&self) -> String {
        match &self.network {
            Some(n) => format!("{}:{}@{}", self.role.as_str(), self.subject, n),
            None => format!("{}:{}", self.role.as_str(), self.subject),
        }
    }
}

/// What the auth extractors need from the application state (taken through axum's `FromRef`).
#[derive(Debug, Clone)]
pub struct AuthState {
    /// The database holding the tokens.
    pub db: AnyPool,
    /// Hot-path cache of relay and service authentications by token hash.
    pub token_callers: Arc<TtlMap<Caller>>,
    /// Failed authentications per peer address.
    pub failures: Arc<FailureLimiter>,
}

/// Most peer addresses [`FailureLimiter`] tracks at once (beyond it, new peers are not limited
/// until old windows expire).
const MAX_TRACKED_PEERS: usize = 100_000;
/// The limiter's window.
const FAILURE_WINDOW_MS: i64 = 60_000;

/// Failed token authentications per peer address in fixed one-minute windows: a peer that used up
/// its failures is refused (429) without a token lookup until its window ends.
#[derive(Debug)]
pub struct FailureLimiter {
    per_minute: u32,
    peers: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl FailureLimiter {
    /// A limiter allowing `per_minute` failures per peer (0 = no limit).
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            peers: Mutex::new(HashMap::new()),
        }
    }

    fn window(now_ms: i64) -> i64 {
        now_ms - now_ms.rem_euclid(FAILURE_WINDOW_MS)
    }

    /// 429 `rate_limited` if `peer` has no failures left in the current window.
    pub fn check(&self, peer: IpAddr, now_ms: i64) -> Result<(), ApiError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let window = Self::window(now_ms);
        let used = self
            .peers
            .lock()
            .ok()
            .and_then(|p| p.get(&peer).copied())
            .filter(|(w, _)| *w == window)
            .map_or(0, |(_, n)| n);
        if used >= self.per_minute {
            let left_ms = window + FAILURE_WINDOW_MS - now_ms;
            return Err(ApiError::RateLimited {
                scope: "authentication failures",
                retry_after_secs: crate::util::to_u64(left_ms + 999) / 1000,
            });
        }
        Ok(())
    }

    /// Count a failed authentication of `peer`.
    pub fn record_failure(&self, peer: IpAddr, now_ms: i64) {
        if self.per_minute == 0 {
            return;
        }
        let window = Self::window(now_ms);
        let Ok(mut peers) = self.peers.lock() else {
            return;
        };
        if peers.len() >= MAX_TRACKED_PEERS && !peers.contains_key(&peer) {
            peers.retain(|_, (w, _)| *w == window);
            if peers.len() >= MAX_TRACKED_PEERS {
                return;
            }
        }
        let entry = peers.entry(peer).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// The request's bearer token: `Ok(None)` if there is none or it is not one of ours (no lookup
/// needed), 400 `malformed` if the request has more than one `Authorization` header.
fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::malformed(
            "more than one Authorization header; send exactly one",
        ));
    }
    let Some((scheme, token)) = v.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim();
    // Our tokens are exactly 43 base64url characters; refuse anything else without a lookup.
    Ok((token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(token))
}

/// Authenticate the request's bearer token (any role). With `cached` (the relay and service
/// endpoints: stamping and report intake) the hot-path cache is asked first and relay and service
/// authentications are remembered ([`crate::cache`]). Lookups that fail count against the peer's
/// [`FailureLimiter`] budget.
async fn authenticate(parts: &Parts, auth: &AuthState, cached: bool) -> Result<Caller, ApiError> {
    // A request without an `Authorization` header may carry a console session cookie (state-
    // changing methods also need the CSRF header; see `crate::console::session`).
    if !parts.headers.contains_key(AUTHORIZATION)
        && let Some(caller) = crate::console::session::authenticate_cookie(parts, &auth.db).await?
    {
        return Ok(caller);
    }
    let token = bearer(parts)?.ok_or(ApiError::Unauthorized)?;
    let hash = sha256_hex(token.as_bytes());
    if cached && let Some(c) = auth.token_callers.get(&hash) {
        return Ok(c);
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let now = now_ms();
    if let Some(ip) = peer {
        auth.failures.check(ip, now)?;
    }
    let result = lookup(&auth.db, &hash).await;
    if let (Some(ip), Err(ApiError::Unauthorized)) = (peer, &result) {
        auth.failures.record_failure(ip, now);
    }
    let caller = result?;
    if cached && caller.role.is_machine() {
        auth.token_callers.put(&hash, caller.clone());
    }
    Ok(caller)
}

/// A token row joined with its network's disabled flag.
#[derive(sqlx::FromRow)]
struct TokenAuthRow {
    id: String,
    token_hash: String,
    role: Role,
    network_id: Option<String>,
    subject: String,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    disabled_at: Option<i64>,
}

/// The caller of the token whose stored hash is `hash` (401 if unknown, revoked or expired; 403
/// `network_disabled` if its network is disabled).
pub(crate) async fn lookup(db: &AnyPool, hash: &str) -> Result<Caller, ApiError> {
    let now = now_ms();
    let row: TokenAuthRow = sqlx::query_as(
        "SELECT t.id, t.token_hash, t.role, t.network_id, t.subject, t.expires_at, t.revoked_at, \
                n.disabled_at \
         FROM tokens t LEFT JOIN networks n ON n.id = t.network_id \
         WHERE t.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(db)
    .await?
    .ok_or(ApiError::Unauthorized)?;
    if !bool::from(row.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(ApiError::Unauthorized);
    }
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::Unauthorized);
    }
    if row.network_id.is_some() && row.disabled_at.is_some() {
        return Err(ApiError::Forbidden {
            code: "network_disabled",
            message: "the token's network is disabled".into(),
        });
    }
    Ok(Caller {
        token_id: row.id,
        role: row.role,
        network: row.network_id,
        subject: row.subject,
    })
}

async fn require<S>(parts: &Parts, state: &S, role: Role) -> Result<Caller, ApiError>
where
    AuthState: FromRef<S>,
{
    let caller = authenticate(parts, &AuthState::from_ref(state), role.is_machine()).await?;
    if caller.role != role {
        return Err(ApiError::forbidden(format!(
            "this endpoint needs a {} token",
            role.as_str()
        )));
    }
    Ok(caller)
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal, $net_doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name {
            /// The authenticated caller.
            pub caller: Caller,
            #[doc = $net_doc]
            pub network: String,
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name
        where
            AuthState: FromRef<S>,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                let caller = require(parts, state, $role).await?;
                let network = caller.network.clone().ok_or_else(|| {
                    ApiError::Internal("per-network token without network".into())
                })?;
                Ok(Self { caller, network })
            }
        }
    };
}

role_extractor!(
    RelayAuth,
    Role::Relay,
    "A relay of one network: may request stamps for that network only.",
    "The network this relay stamps for."
);
role_extractor!(
    ServiceAuth,
    Role::Service,
    "A network's backend service: submits reports asserting the (authenticated) reporter.",
    "The network this service reports for."
);

/// An administrator (global).
#[derive(Debug, Clone)]
pub struct AdminAuth {
    /// The authenticated caller.
    pub caller: Caller,
}

impl<S: Send + Sync> FromRequestParts<S> for AdminAuth
where
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self {
            caller: require(parts, state, Role::Admin).await?,
        })
    }
}

/// A moderator (scoped to one network) or an admin (every network): the moderation endpoints.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The authenticated caller.
    pub caller: Caller,
    /// `Some(network)` for a moderator, `None` for an admin.
    pub scope: Option<String>,
}

impl Staff {
    /// Whether this caller may see `network`'s cases.
    pub fn sees(&self, network: &str) -> bool {
        self.scope.as_deref().is_none_or(|s| s == network)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Staff
where
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let caller = authenticate(parts, &AuthState::from_ref(state), false).await?;
        let scope = match caller.role {
            Role::Admin => None,
            Role::Moderator => Some(
                caller
                    .network
                    .clone()
                    .ok_or_else(|| ApiError::Internal("moderator token without network".into()))?,
            ),
            Role::Relay | Role::Service => {
                return Err(ApiError::forbidden(
                    "this endpoint needs a moderator or admin token",
                ));
            }
        };
        Ok(Self { caller, scope })
    }
}
