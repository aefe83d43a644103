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
//! `network_disabled`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sqlx::Row as _;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::state::AppState;
use crate::util::{b64, now_ms, random_bytes, sha256_hex};

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
    let secret = Zeroizing::new(b64(&*raw));
    let hash = sha256_hex(secret.as_bytes());
    Ok(NewToken { secret, hash })
}

/// Store a new token for `role` (and `network` for per-network roles); returns (id, token).
pub async fn issue_token(
    db: &sqlx::AnyPool,
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
    .bind(role.as_str())
    .bind(network.map(str::to_owned))
    .bind(subject)
    .bind(now_ms())
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok((id, t))
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

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    // Our tokens are exactly 43 base64url characters; refuse anything else without a lookup.
    (token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(token)
}

/// Authenticate the request's bearer token (any role) or, for a request without an
/// `Authorization` header, its console session cookie (as the session's token; state-changing
/// methods also need the CSRF header — see [`crate::console::session`]).
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    if !parts.headers.contains_key(AUTHORIZATION)
        && let Some(caller) = crate::console::session::authenticate_cookie(parts, state).await?
    {
        return Ok(caller);
    }
    let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
    lookup(state, &sha256_hex(token.as_bytes())).await
}

/// [`authenticate`] through the stamping-path cache (relay tokens only are cached).
async fn authenticate_cached(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
    let hash = sha256_hex(token.as_bytes());
    if let Some(c) = state.stamp_cache.caller(&hash) {
        return Ok(c);
    }
    let caller = lookup(state, &hash).await?;
    if caller.role == Role::Relay {
        state.stamp_cache.put_caller(&hash, caller.clone());
    }
    Ok(caller)
}

/// The caller of the token whose stored hash is `hash` (401 if unknown, revoked or expired; 403
/// `network_disabled` if its network is disabled).
pub(crate) async fn lookup(state: &AppState, hash: &str) -> Result<Caller, ApiError> {
    let now = now_ms();
    let row = sqlx::query(
        "SELECT t.id, t.token_hash, t.role, t.network_id, t.subject, t.expires_at, t.revoked_at, \
                n.disabled_at \
         FROM tokens t LEFT JOIN networks n ON n.id = t.network_id \
         WHERE t.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&state.db)
    .await?
    .ok_or(ApiError::Unauthorized)?;
    let stored: String = row.try_get("token_hash")?;
    if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(ApiError::Unauthorized);
    }
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    let expires: Option<i64> = row.try_get("expires_at")?;
    if revoked.is_some() || expires.is_some_and(|e| e <= now) {
        return Err(ApiError::Unauthorized);
    }
    let role: String = row.try_get("role")?;
    let role = Role::parse(&role).ok_or_else(|| ApiError::Internal("stored role".into()))?;
    let network: Option<String> = row.try_get("network_id")?;
    let disabled: Option<i64> = row.try_get("disabled_at")?;
    if network.is_some() && disabled.is_some() {
        return Err(ApiError::Forbidden {
            code: "network_disabled",
            message: "the token's network is disabled".into(),
        });
    }
    Ok(Caller {
        token_id: row.try_get("id")?,
        role,
        network,
        subject: row.try_get("subject")?,
    })
}

async fn require(parts: &Parts, state: &AppState, role: Role) -> Result<Caller, ApiError> {
    let caller = if role == Role::Relay {
        authenticate_cached(parts, state).await?
    } else {
        authenticate(parts, state).await?
    };
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

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
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
    ModeratorAuth,
    Role::Moderator,
    "A moderator of one network (check `network` against the case's network).",
    "The network this moderator may act on."
);
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

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self {
            caller: require(parts, state, Role::Admin).await?,
        })
    }
}

/// Any authenticated caller (for endpoints that decide per role themselves).
#[derive(Debug, Clone)]
pub struct AnyAuth(pub Caller);

impl FromRequestParts<AppState> for AnyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(authenticate(parts, state).await?))
    }
}
