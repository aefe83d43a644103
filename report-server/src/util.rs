//! Small helpers: clock, random ids and tokens, hashing, free-text and identifier checks.

use franking_core::frank::MAX_ID_LEN;
use franking_core::util::b64_encode;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Milliseconds since the Unix epoch as stored in BIGINT columns (franking-core's clock).
pub fn now_ms() -> i64 {
    to_i64(franking_core::util::now_ms())
}

/// `n` random bytes from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| ApiError::Internal("rng failure".into()))?;
    Ok(b)
}

/// A random object id with a readable prefix, e.g. `case_3q2…` (16 random bytes, base64url).
pub fn new_id(prefix: &str) -> Result<String, ApiError> {
    Ok(format!("{prefix}_{}", b64_encode(&random_bytes::<16>()?)))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Clamp a u64 into a non-negative i64 for BIGINT columns.
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored BIGINT back to u64 (negative values become 0).
pub fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// 400 `invalid_parameter` if `s` is a string the databases cannot store: PostgreSQL refuses
/// U+0000 in TEXT (`invalid byte sequence for encoding "UTF8": 0x00`), so a NUL would otherwise be
/// a 500 there and a different answer on SQLite. The one check every client string passes
/// (path segments, query parameters, JSON bodies: see [`crate::extract`]), on both databases.
pub fn check_storable(what: &str, s: &str) -> Result<(), ApiError> {
    if s.contains('\0') {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("{what} must not contain NUL (U+0000)"),
        ));
    }
    Ok(())
}

/// [`check_storable`] on every string (object keys too) of a JSON document; `what` names the
/// document, and the error names the offending field's path (`body.report.message.context`).
pub fn check_json_storable(what: &str, v: &serde_json::Value) -> Result<(), ApiError> {
    use serde_json::Value;
    match v {
        Value::String(s) => check_storable(what, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_json_storable(&format!("{what}[{i}]"), item)),
        Value::Object(map) => map.iter().try_for_each(|(k, item)| {
            check_storable(&format!("a key of {what}"), k)?;
            check_json_storable(&format!("{what}.{k}"), item)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// 400 `invalid_parameter` unless `s` is 1..=`max` bytes, not blank, without NUL (free text:
/// notes, reasons, assignees).
pub fn check_text(what: &str, s: &str, max: usize) -> Result<(), ApiError> {
    check_storable(what, s)?;
    if s.trim().is_empty() || s.len() > max {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("{what} must be 1..={max} bytes, not blank, without NUL"),
        ));
    }
    Ok(())
}

/// 400 `invalid_parameter` unless `s` is 1..=[`MAX_ID_LEN`] bytes without control characters
/// (identifiers: network ids, display names, token subjects).
pub fn check_identifier(what: &str, s: &str) -> Result<(), ApiError> {
    if s.is_empty() || s.len() > MAX_ID_LEN || s.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("{what} must be 1..={MAX_ID_LEN} bytes without control characters"),
        ));
    }
    Ok(())
}
