//! Request extractors that turn every rejection into an [`ApiError`] (JSON, stable code). The
//! authentication extractors (`AdminAuth`, `Staff`, ...) are in [`crate::auth`].
//!
//! | extractor | input | rejection |
//! |---|---|---|
//! | [`ApiJson`] | JSON body | 400 `malformed`, 415 `unsupported_media_type`, 413 |
//! | [`OptionalJson`] | JSON body, empty = `T::default()` | 400 `malformed`, 413 |
//! | [`ApiPath`] | path parameters | 400 `invalid_parameter` |
//! | [`ApiQuery`] | query string | 400 `invalid_parameter` |
//!
//! Every string a client sends through them — path segments, query keys and values, every string
//! and key of a JSON body — passes [`check_storable`] (no NUL, which PostgreSQL cannot store) before
//! a handler sees it: 400 `invalid_parameter` on both databases, never a database error.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::util::{check_json_storable, check_storable};

/// `axum::Json` whose rejections are 400 `malformed` / 415 `unsupported_media_type` /
/// 413 `payload_too_large` as [`ApiError`]s.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The common case (`Content-Type: application/json` exactly) reads the body here and tries
        // `T` straight from the bytes ([`direct`]); any other content type, and any body `direct`
        // does not take, goes the general way (`serde_json::Value`, then `T`), which is what
        // decides every error.
        let plain_json = req
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == b"application/json");
        if !plain_json {
            return match axum::Json::<serde_json::Value>::from_request(req, state).await {
                Ok(axum::Json(v)) => typed(v).map(ApiJson),
                Err(rej) => Err(json_rejection(rej)),
            };
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rej| json_rejection(rej.into()))?;
        if let Some(v) = direct(&bytes) {
            return Ok(ApiJson(v));
        }
        match axum::Json::<serde_json::Value>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => typed(v).map(ApiJson),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

/// `T` parsed straight from a JSON body without a `serde_json::Value` in between, when that gives
/// what the general way ([`typed`] of the parsed value) would: the body is a JSON object (first
/// non-whitespace byte `{`), no string or key in it can hold a NUL (JSON strings cannot hold a raw
/// control character, so a NUL needs the escape `\u0000`, and a body without that text has none:
/// [`check_json_storable`] would pass), and it parses as `T`. `None` otherwise (also for valid
/// bodies serde reads differently, e.g. a duplicate key, which the general way takes as the last
/// value): the caller then goes the general way, which gives the same value or the error.
fn direct<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    // A vectorised search for the escape: the bodies parsed here are kilobytes of JSON, read on
    // every request.
    let may_hold_nul = memchr::memmem::find(bytes, b"\\u0000").is_some();
    if !object || may_hold_nul {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

/// A JSON body's bytes as `T`: 400 `malformed` unless they parse as a JSON object, and every
/// string passes [`check_json_storable`] first (the report-intake route reads its body itself and uses this too).
pub fn parse_json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(v) = direct(bytes) {
        return Ok(v);
    }
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::malformed(format!("body: {e}")))?;
    typed(v)
}

/// A parsed JSON body as `T`: a JSON object (every request body of the API is one; serde would
/// also read a struct from an array), after [`check_json_storable`].
fn typed<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    if !v.is_object() {
        return Err(ApiError::malformed("body: expected a JSON object"));
    }
    check_json_storable("body", &v)?;
    serde_json::from_value(v).map_err(|e| ApiError::malformed(format!("body: {e}")))
}

fn json_rejection(rej: JsonRejection) -> ApiError {
    if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    match rej {
        JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ),
        other => ApiError::malformed(other.body_text()),
    }
}

/// An optional JSON body: an empty (or all-whitespace) body is `T::default()`; otherwise it must
/// parse as `T` (400 `malformed`). No Content-Type is required, so `curl -X POST` works.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::malformed(rej.body_text())
            }
        })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse_json_body(&body).map(Self)
    }
}

/// `axum::extract::Path` whose rejections (e.g. a non-numeric key id) are 400 `invalid_parameter`
/// JSON errors instead of axum's plain-text body.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rej| ApiError::bad_request("invalid_parameter", rej.body_text()))?;
        for (name, value) in &raw {
            check_storable(&format!("path parameter `{name}`"), value)?;
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(rej) => Err(ApiError::bad_request("invalid_parameter", rej.body_text())),
        }
    }
}

/// `axum::extract::Query` whose rejections (unknown or ill-typed parameters) are 400
/// `invalid_parameter` JSON errors.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|rej| ApiError::bad_request("invalid_parameter", rej.body_text()))?;
        for (name, value) in &pairs.0 {
            check_storable("a query parameter name", name)?;
            check_storable(&format!("query parameter `{name}`"), value)?;
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => Err(ApiError::bad_request("invalid_parameter", rej.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::direct;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Body {
        a: String,
    }

    #[test]
    fn direct_takes_only_what_the_general_way_reads_the_same() {
        assert_eq!(
            direct::<Body>(br#" {"a": "x"}"#),
            Some(Body { a: "x".into() })
        );
        // Not an object: serde would read a struct from an array.
        assert_eq!(direct::<Body>(br#"["x"]"#), None);
        // A possible NUL: the general way names it (400 invalid_parameter).
        assert_eq!(direct::<Body>(br#"{"a": "x\u0000"}"#), None);
        assert_eq!(direct::<Body>(br#"{"a": "\u0000"}"#), None);
        // In a key the body's type does not have (serde would skip it).
        assert_eq!(direct::<Body>(br#"{"a": "x", "b\u0000": "y"}"#), None);
        // A duplicate key: the general way takes the last value.
        assert_eq!(direct::<Body>(br#"{"a": "x", "a": "y"}"#), None);
        assert_eq!(direct::<Body>(br#"{"a": "x"} trailing"#), None);
    }
}
