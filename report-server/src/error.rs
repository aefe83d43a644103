//! The crate's one error type: every failure becomes an HTTP status, a stable machine-readable
//! `code` and a human-readable `message`, serialised as `{"error": {"code": ..., "message": ...}}`.
//!
//! Client input never produces a 5xx: malformed bodies are 400, failed verification 422, wrong
//! credentials 401/403, rate limits 429. Only server-side faults (database down, corrupt stored
//! secrets, RNG failure) are 500/503, and their details go to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Everything that can go wrong in the report server (HTTP handlers and start-up alike).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request body or parameters are not well-formed (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code, e.g. `malformed`, `invalid_parameter`.
        code: &'static str,
        /// Human-readable detail (never contains secrets).
        message: String,
    },
    /// No credentials, or credentials that are not valid (401, `unauthorized`).
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// A peer server's request whose signature does not authenticate it (401), e.g.
    /// `peer_signature_invalid`, `peer_signature_stale`.
    #[error("{message}")]
    PeerUnauthorized {
        /// Stable code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// Valid credentials without the right role or network (403).
    #[error("{message}")]
    Forbidden {
        /// Stable code, e.g. `forbidden`, `wrong_network`.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// The addressed object does not exist (404, `not_found`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path exists but does not serve this HTTP method (405, `method_not_allowed`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with the current state (409).
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `already_exists`, `invalid_state`.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// Well-formed input that was refused on its merits (422), e.g. a report that does not verify.
    #[error("{message}")]
    Unprocessable {
        /// Stable code (franking-core codes such as `bad_stamp`, or server codes).
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// The request body exceeds the configured limit (413, `payload_too_large`).
    #[error("request body too large")]
    PayloadTooLarge,
    /// Content over a network policy's size limit (413), e.g. `attachment_over_limit`.
    #[error("{message}")]
    TooLarge {
        /// Stable code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// A `Range` request outside the resource (416, `range_not_satisfiable`, with
    /// `Content-Range: bytes */LENGTH`).
    #[error("range not satisfiable (length {length})")]
    RangeNotSatisfiable {
        /// The resource's length in bytes.
        length: u64,
    },
    /// The request took longer than its timeout (408, `timeout`).
    #[error("request timed out")]
    Timeout,
    /// Too many requests in the sliding window (429, `rate_limited`).
    #[error("rate limit exceeded ({scope})")]
    RateLimited {
        /// Which limit: `reporter`, `network` or `authentication failures`.
        scope: &'static str,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A dependency (the database) is not available (503, `unavailable`).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A database error (500, `internal`); the detail is logged, not returned.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A database migration failed (start-up only).
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Invalid configuration (start-up only).
    #[error("configuration error: {0}")]
    Config(String),
    /// A server-side fault that is not the client's (500, `internal`); detail logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 400 `malformed` with a message.
    pub fn malformed(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "malformed",
            message: message.into(),
        }
    }

    /// 400 with a specific code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }

    /// 409 with a specific code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// 422 with a specific code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// A franking-core error raised while handling *client input* (a report or a stamp request),
    /// mapped to 400 (cannot be parsed) or 422 (parsed, but refused), keeping its stable code.
    pub fn from_protocol(e: &franking_core::Error) -> Self {
        use franking_core::Error as E;
        let code = e.code();
        let message = e.to_string();
        match e {
            E::Malformed { .. }
            | E::MalformedJson { .. }
            | E::InvalidLength { .. }
            | E::UnsupportedVersion(_)
            | E::UnsupportedSuite(_)
            | E::MessageTooLong { .. }
            | E::JsonNull { .. } => ApiError::BadRequest { code, message },
            E::WrongNetwork => ApiError::Forbidden { code, message },
            E::Randomness => ApiError::Internal(message),
            E::DuplicateKeyId(_) => ApiError::Conflict { code, message },
            _ => ApiError::Unprocessable { code, message },
        }
    }

    /// A database error that is not a server fault: a uniqueness conflict, deadlock or
    /// serialization failure between concurrent requests (409 `conflict`) or a database that is
    /// unreachable, overloaded or too slow (503 `unavailable`, see [`database_unavailable`]).
    fn database_class(&self) -> Option<(StatusCode, &'static str)> {
        match self {
            ApiError::Database(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Some((StatusCode::CONFLICT, "conflict"))
            }
            // PostgreSQL `deadlock_detected` / `serialization_failure`: concurrent requests lost
            // a race; the client may retry.
            ApiError::Database(sqlx::Error::Database(e))
                if e.code().is_some_and(|c| c == "40P01" || c == "40001") =>
            {
                Some((StatusCode::CONFLICT, "conflict"))
            }
            ApiError::Database(e) if database_unavailable(e) => {
                Some((StatusCode::SERVICE_UNAVAILABLE, "unavailable"))
            }
            _ => None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        if let Some((status, _)) = self.database_class() {
            return status;
        }
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::PeerUnauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge | ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Database(_)
            | ApiError::Migrate(_)
            | ApiError::Config(_)
            | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        if let Some((_, code)) = self.database_class() {
            return code;
        }
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::TooLarge { code, .. }
            | ApiError::PeerUnauthorized { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            ApiError::Timeout => "timeout",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Database(_)
            | ApiError::Migrate(_)
            | ApiError::Config(_)
            | ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            // Server faults: log the detail, return a generic message.
            tracing::error!(error = %self, "request failed with a server error");
            if status == StatusCode::SERVICE_UNAVAILABLE {
                "service unavailable".to_owned()
            } else {
                "internal server error".to_owned()
            }
        } else if self.database_class().is_some() {
            // A conflict between concurrent requests: do not echo database detail.
            tracing::info!(error = %self, "request lost a race on a unique constraint");
            "conflicting concurrent change; retry".to_owned()
        } else {
            self.to_string()
        };
        let body = serde_json::json!({ "error": { "code": self.code(), "message": message } });
        let mut resp = (status, Json(body)).into_response();
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let ApiError::RangeNotSatisfiable { length } = self
            && let Ok(v) = HeaderValue::from_str(&format!("bytes */{length}"))
        {
            resp.headers_mut().insert(header::CONTENT_RANGE, v);
        }
        resp
    }
}

/// True for database errors that mean "the database is not available right now", not "this
/// request is wrong" or "the server is broken": the pool timed out or is closed, the connection
/// failed or broke (I/O, TLS, SQLite worker), or PostgreSQL refused or cancelled the work (SQLSTATE
/// class 08 connection exception, 53300 too many connections, 55P03 lock not available, 57014
/// statement timeout, 57P01–57P03 shutdown / starting up), or SQLite stayed locked by another
/// writer past the busy timeout (`SQLITE_BUSY` and its extended codes). The request may be retried.
pub fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08")
                || matches!(
                    &*c,
                    "53300" | "55P03" | "57014" | "57P01" | "57P02" | "57P03"
                )
                // SQLite's SQLITE_BUSY and its extended codes (recovery, snapshot, timeout): the
                // database is locked by another writer for longer than the busy timeout.
                || (d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && matches!(&*c, "5" | "261" | "517" | "773"))
        }),
        _ => false,
    }
}

/// Result alias used throughout the crate.
pub type ApiResult<T> = Result<T, ApiError>;
