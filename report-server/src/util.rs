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
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
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
    let Some(steps) = first_nul(v) else {
        return Ok(());
    };
    let mut field = what.to_owned();
    let mut in_key = false;
    for step in steps.iter().rev() {
        match step {
            NulAt::Index(i) => field.push_str(&format!("[{i}]")),
            NulAt::Field(k) => {
                field.push('.');
                field.push_str(k);
            }
            NulAt::Key => in_key = true,
        }
    }
    let what = if in_key {
        format!("a key of {field}")
    } else {
        field
    };
    check_storable(&what, "\0")
}

/// One step of the path to the first string holding a NUL, found without allocating anything
/// unless there is one (every request body passes this check).
enum NulAt<'a> {
    Index(usize),
    Field(&'a str),
    /// The NUL is in a key of the object the steps before lead to.
    Key,
}

/// The path to the first string (object keys too, each key before its value) with a NUL,
/// innermost step first.
fn first_nul(v: &serde_json::Value) -> Option<Vec<NulAt<'_>>> {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0').then(Vec::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| first_nul(item).map(|p| inside(NulAt::Index(i), p))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            if k.contains('\0') {
                return Some(vec![NulAt::Key]);
            }
            first_nul(item).map(|p| inside(NulAt::Field(k), p))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// `path` (innermost step first) with `step` outside it.
fn inside<'a>(step: NulAt<'a>, mut path: Vec<NulAt<'a>>) -> Vec<NulAt<'a>> {
    path.push(step);
    path
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
/// (identifiers: display names, token subjects, peers' network ids; a network's own id is
/// shorter, [`crate::keys::check_network_id`]).
pub fn check_identifier(what: &str, s: &str) -> Result<(), ApiError> {
    check_identifier_of_len(what, s, MAX_ID_LEN)
}

/// 400 `invalid_parameter` unless `s` is 1..=`max` bytes without control characters.
pub fn check_identifier_of_len(what: &str, s: &str, max: usize) -> Result<(), ApiError> {
    if s.is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("{what} must be 1..={max} bytes without control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_json_storable, sha256_hex};

    #[test]
    fn sha256_hex_is_lower_case_hex_of_the_digest() {
        // FIPS 180-2 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn message(v: serde_json::Value) -> Option<String> {
        check_json_storable("body", &v).err().map(|e| e.to_string())
    }

    #[test]
    fn json_nul_is_refused_with_its_path() {
        use serde_json::json;
        assert_eq!(
            message(json!({"a": [1, "x", {"b": "ok"}], "c": null})),
            None
        );
        let nested = message(json!({"a": [1, "x", {"b": "o\u{0}k"}]})).unwrap();
        assert!(
            nested.contains("body.a[2].b must not contain NUL"),
            "{nested}"
        );
        let key = message(json!({"a": {"k\u{0}": 1}})).unwrap();
        assert!(
            key.contains("a key of body.a must not contain NUL"),
            "{key}"
        );
        let top = message(json!({"\u{0}": 1})).unwrap();
        assert!(top.contains("a key of body must not contain NUL"), "{top}");
    }
}
