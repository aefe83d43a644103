//! API tokens (admin tokens; secrets are shown once, at issue, and never stored).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/v1/admin/tokens` | issue `{role, network?, subject, expires_in_ms?}` → token shown once |
//! | GET | `/v1/admin/tokens` | list (`?network=&role=`) |
//! | DELETE | `/v1/admin/tokens/{id}` | revoke |

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::auth::{self, AdminAuth, Revoked, Role, TokenView, issue_token};
use crate::change::Change;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::keys;
use crate::state::AppState;
use crate::util::{check_identifier, now_ms, to_i64};

/// The token routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/tokens", post(create_token).get(list_tokens))
        .route("/v1/admin/tokens/{id}", delete(revoke_token))
}

/// `POST /v1/admin/tokens` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Role of the new token.
    pub role: Role,
    /// Network (required for moderator/relay/service, forbidden for admin).
    #[serde(default)]
    pub network: Option<String>,
    /// Holder name, used as the audit actor (e.g. the moderator's id).
    pub subject: String,
    /// Expire after this many milliseconds (default: never).
    #[serde(default)]
    pub expires_in_ms: Option<u64>,
}

/// `POST /v1/admin/tokens` response: the only time the secret is shown.
#[derive(Serialize)]
pub struct IssuedToken {
    /// Expiry time (ms), if any.
    pub expires_at: Option<i64>,
    /// Token id.
    pub id: String,
    /// The network of a per-network role.
    pub network: Option<String>,
    /// The role.
    pub role: Role,
    /// Holder name.
    pub subject: String,
    /// The bearer token (secret).
    #[serde(serialize_with = "serialize_secret")]
    pub token: zeroize::Zeroizing<String>,
}

fn serialize_secret<S: serde::Serializer>(
    secret: &zeroize::Zeroizing<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret)
}

impl core::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

async fn create_token(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    check_identifier("subject", &req.subject)?;
    match (req.role, &req.network) {
        (Role::Admin, Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "admin tokens are global: omit network",
            ));
        }
        (Role::Admin, None) => {}
        (_, None) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "moderator, relay and service tokens need a network",
            ));
        }
        (_, Some(n)) => {
            keys::load_network(&state.db, n).await?;
        }
    }
    let expires_at = req
        .expires_in_ms
        .map(|ms| now_ms().saturating_add(to_i64(ms)));
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let (id, token) = issue_token(
        change.conn(),
        req.role,
        req.network.as_deref(),
        &req.subject,
        expires_at,
    )
    .await?;
    let entry = AuditEntry::new("token.issue", format!("token:{id}"))
        .network(req.network.as_deref())
        .details(json!({ "role": req.role, "subject": req.subject, "expires_at": expires_at }));
    change.commit(entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            expires_at,
            id,
            network: req.network,
            role: req.role,
            subject: req.subject,
            token: token.secret,
        }),
    ))
}

/// `GET /v1/admin/tokens` query.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFilter {
    /// Only tokens of this network.
    #[serde(default)]
    pub network: Option<String>,
    /// Only tokens of this role.
    #[serde(default)]
    pub role: Option<Role>,
}

/// `GET /v1/admin/tokens` response.
#[derive(Debug, Serialize)]
pub struct TokenList {
    /// The tokens, oldest first.
    pub tokens: Vec<TokenView>,
}

async fn list_tokens(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiQuery(f): ApiQuery<TokenFilter>,
) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(TokenList {
        tokens: auth::list_tokens(&state.db, f.network, f.role).await?,
    }))
}

/// `DELETE /v1/admin/tokens/{id}` response.
#[derive(Debug, Serialize)]
pub struct RevokeOutcome {
    /// The token id.
    pub id: String,
    /// Always true (revoking is idempotent).
    pub revoked: bool,
}

async fn revoke_token(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RevokeOutcome>, ApiError> {
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    match auth::revoke_token(change.conn(), &id, now_ms()).await? {
        Revoked::Already => change.rollback().await?,
        Revoked::Now(network) => {
            let entry =
                AuditEntry::new("token.revoke", format!("token:{id}")).network(network.as_deref());
            change.commit(entry).await?;
        }
    }
    Ok(Json(RevokeOutcome { id, revoked: true }))
}
