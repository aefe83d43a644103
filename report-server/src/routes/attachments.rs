//! Attachment downloads (moderator and admin tokens, the [`Staff`] extractor).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/cases/{id}/attachments/{attachment_id}` | the verified attachment's bytes |
//!
//! Tenant isolation is the case's: a moderator of another network gets 404 `not_found`, as for the
//! case itself; so does an attachment of another case, or one that retention purged.
//!
//! The body is exactly the committed plaintext, streamed chunk by chunk from the database
//! ([`crate::attachments`]; bounded memory), with headers that keep a browser from running it:
//! `Content-Type` = the committed media type, `X-Content-Type-Options: nosniff`,
//! `Content-Security-Policy: sandbox; default-src 'none'`, `Cache-Control: private, no-store`, and
//! `Content-Disposition: attachment; filename="attachment-INDEX.EXT"` — `inline` only for a raster
//! image (PNG, JPEG, GIF, WebP) whose magic bytes match its declared media type
//! ([`inline_image`]), so HTML, SVG and scripts are never shown inline. A single
//! `Range: bytes=...` is honoured (206 with `Content-Range`; 416 `range_not_satisfiable` outside
//! the file); other or malformed ranges get the whole file (200).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use franking_core::frank::attachment::{file_extension, inline_image};
use sqlx::AnyPool;

use crate::attachments::{self, StoredAttachment};
use crate::auth::Staff;
use crate::cases;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::seal::ServerKey;
use crate::state::AppState;
use crate::util::to_u64;

/// The download route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/cases/{id}/attachments/{attachment_id}", get(download))
}

/// The `Content-Security-Policy` of every download.
pub const DOWNLOAD_CSP: &str = "sandbox; default-src 'none'";

/// An inclusive byte range `start..=end` of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

/// The range a `Range` header asks for in a file of `length` bytes: `Ok(None)` for the whole file
/// (no header, a malformed one, a unit other than bytes, or several ranges — all of which HTTP
/// lets a server ignore), 416 `range_not_satisfiable` when the one range lies outside the file.
pub fn parse_range(
    value: Option<&HeaderValue>,
    length: u64,
) -> Result<Option<ByteRange>, ApiError> {
    let Some(spec) = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let unsatisfiable = Err(ApiError::RangeNotSatisfiable { length });
    match (first.trim(), last.trim()) {
        ("", suffix) => {
            let Some(n) = number(suffix) else {
                return Ok(None);
            };
            if n == 0 || length == 0 {
                return unsatisfiable;
            }
            Ok(Some(ByteRange {
                start: length.saturating_sub(n),
                end: length - 1,
            }))
        }
        (start, end) => {
            let Some(start) = number(start) else {
                return Ok(None);
            };
            let end = match end {
                "" => u64::MAX,
                e => match number(e) {
                    Some(e) if e >= start => e,
                    _ => return Ok(None),
                },
            };
            if start >= length {
                return unsatisfiable;
            }
            Ok(Some(ByteRange {
                start,
                end: end.min(length - 1),
            }))
        }
    }
}

fn header_value(s: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(s).map_err(|_| ApiError::Internal("header value".into()))
}

async fn download(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath((case_id, attachment_id)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let case = cases::load(&state.db, &staff, &case_id).await?;
    let a = attachments::load(&state.db, &case.id, &attachment_id).await?;
    if a.purged_at.is_some() {
        return Err(ApiError::NotFound("attachment"));
    }
    let length = to_u64(a.length);
    let range = parse_range(headers.get(header::RANGE), length)?;
    // The first chunk authenticates the row's metadata (media type, length, ...) and holds the
    // magic bytes.
    let first = attachments::read_chunk(&state.db, &state.server_key, &a, 0).await?;
    let disposition = if inline_image(&a.media_type, &first).is_some() {
        "inline"
    } else {
        "attachment"
    };
    let filename = format!("attachment-{}.{}", a.idx, file_extension(&a.media_type));
    let content_type = HeaderValue::from_str(&a.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let (status, span) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r),
        None => (
            StatusCode::OK,
            ByteRange {
                start: 0,
                end: length.saturating_sub(1),
            },
        ),
    };
    let body_len = if length == 0 {
        0
    } else {
        span.end - span.start + 1
    };
    let body = if body_len == 0 {
        Body::empty()
    } else {
        let first = Bytes::copy_from_slice(&first);
        Body::from_stream(chunk_stream(
            state.db.clone(),
            state.server_key.clone(),
            a,
            span,
            first,
        ))
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOWNLOAD_CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        header_value(&format!("{disposition}; filename=\"{filename}\""))?,
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {}-{}/{length}", span.start, span.end))?,
        );
    }
    Ok(resp)
}

/// The bytes `span` of `a`, one chunk at a time (chunk 0 already read: `first`).
fn chunk_stream(
    db: AnyPool,
    key: Arc<ServerKey>,
    a: StoredAttachment,
    span: ByteRange,
    first: Bytes,
) -> impl futures_util::Stream<Item = Result<Bytes, ApiError>> + Send {
    let chunk_len = to_u64(a.chunk_len).max(1);
    let first_seq = span.start / chunk_len;
    let last_seq = span.end / chunk_len;
    futures_util::stream::try_unfold(first_seq, move |seq| {
        let (db, key, a, first) = (db.clone(), key.clone(), a.clone(), first.clone());
        async move {
            if seq > last_seq {
                return Ok(None);
            }
            let chunk = if seq == 0 {
                first
            } else {
                Bytes::copy_from_slice(&attachments::read_chunk(&db, &key, &a, seq).await?)
            };
            let base = seq * chunk_len;
            let from = usize::try_from(span.start.saturating_sub(base)).unwrap_or(usize::MAX);
            let to = usize::try_from((span.end + 1 - base).min(chunk.len() as u64))
                .unwrap_or(usize::MAX);
            if from > to || to > chunk.len() {
                return Err(ApiError::Internal(
                    "attachment chunk shorter than expected".into(),
                ));
            }
            Ok(Some((chunk.slice(from..to), seq + 1)))
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn range(v: &str, len: u64) -> Result<Option<(u64, u64)>, u64> {
        match parse_range(Some(&HeaderValue::from_str(v).unwrap()), len) {
            Ok(r) => Ok(r.map(|r| (r.start, r.end))),
            Err(ApiError::RangeNotSatisfiable { length }) => Err(length),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10).unwrap(), None);
        assert_eq!(range("bytes=0-4", 10), Ok(Some((0, 4))));
        assert_eq!(range("bytes=5-", 10), Ok(Some((5, 9))));
        assert_eq!(range("bytes=5-100", 10), Ok(Some((5, 9))));
        assert_eq!(range("bytes=-3", 10), Ok(Some((7, 9))));
        assert_eq!(range("bytes=-30", 10), Ok(Some((0, 9))));
        assert_eq!(range("bytes=10-", 10), Err(10));
        assert_eq!(range("bytes=-0", 10), Err(10));
        assert_eq!(range("bytes=0-", 0), Err(0));
        // Ignored: whole file.
        for v in [
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=4-2",
            "bytes=a-b",
            "bytes=",
            "bytes=+1-2",
        ] {
            assert_eq!(range(v, 10), Ok(None), "{v}");
        }
    }
}
