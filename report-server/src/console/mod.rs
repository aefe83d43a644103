//! The moderator console: a static single-page app served under `/console/` (docs/console.md).
//!
//! The console is one HTML shell, hand-written ES modules and one stylesheet, embedded in the binary
//! with `include_str!` (no build step, no Node, no CDN). It talks to the same JSON API as every
//! other client (`/v1/cases...`, `/v1/admin/...`), authenticated by a session cookie instead of a
//! bearer token ([`session`]), so the API stays the single contract and its tenant isolation
//! applies unchanged.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/console` | redirect to `/console/` |
//! | GET | `/console/` | the HTML shell |
//! | GET | `/console/assets/{name}` | the embedded scripts, stylesheet and icon |
//! | GET/POST/DELETE | `/console/session` | who is signed in / sign in `{token}` / sign out |
//!
//! Every response of these routes carries a strict Content-Security-Policy (no inline script or
//! style, `frame-ancestors 'none'`), `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: no-referrer`.

pub mod session;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// Console settings (`FRANKING_SESSION_TTL_SECS`, `FRANKING_COOKIE_SECURE`).
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// How long a console session lasts after sign-in.
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (set when the server is reached over TLS).
    pub cookie_secure: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 60 * 60),
            cookie_secure: false,
        }
    }
}

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The HTML shell.
const INDEX_HTML: &str = include_str!("assets/index.html");

/// The embedded assets: (name under `/console/assets/`, content type, bytes).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/api.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/dom.js"),
    ),
    (
        "signin.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/signin.js"),
    ),
    (
        "queue.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/queue.js"),
    ),
    (
        "case.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/case.js"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/admin.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("assets/favicon.svg"),
    ),
];

/// The console routes (merged into the application router by [`crate::router`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(index))
        .route("/console/assets/{name}", get(asset))
        .route(
            "/console/session",
            get(current_session).post(sign_in).delete(sign_out),
        )
        .layer(axum::middleware::map_response(security_headers))
}

/// CSP and friends on every console response (HTML, assets, session JSON and errors alike).
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CSP),
    );
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    resp
}

async fn index() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

async fn asset(ApiPath(name): ApiPath<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or(ApiError::NotFound("asset"))?;
    Ok((
        [(CONTENT_TYPE, *content_type), (CACHE_CONTROL, "no-cache")],
        *body,
    )
        .into_response())
}

/// `GET /console/session`: the signed-in identity and CSRF token (401 when signed out).
async fn current_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = session::load(&headers, &state.db)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(([(CACHE_CONTROL, "no-store")], axum::Json(s.view())).into_response())
}

/// `POST /console/session` `{token}`: sign in (201 with the session JSON and the cookie).
async fn sign_in(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<session::SignIn>,
) -> Result<Response, ApiError> {
    let (s, id) = session::create(&state, &req.token).await?;
    let cookie = session::set_cookie(
        Some(&id),
        state.console.session_ttl.as_secs(),
        state.console.cookie_secure,
    )?;
    Ok((
        StatusCode::CREATED,
        [
            (SET_COOKIE, cookie),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        axum::Json(s.view()),
    )
        .into_response())
}

/// `DELETE /console/session`: sign out (needs the cookie and the CSRF header; 204, cookie cleared).
async fn sign_out(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = session::load(&headers, &state.db)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    session::check_csrf(&method, &headers, &s)?;
    session::delete(&state, &s).await?;
    let cookie = session::clear_cookie(state.console.cookie_secure)?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}
