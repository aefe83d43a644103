//! Keyset pagination shared by every paged list endpoint (`GET /v1/cases`, `GET /v1/admin/audit`).
//!
//! Lists are ordered newest first by `(time, id)`. A page request is `limit` (1..=200, default 50)
//! and an optional opaque `cursor`: base64url(`<ms>.<id>`) of the last item of the previous page.
//! A query fetches [`PageRequest::fetch_limit`] rows (`limit + 1`) strictly after the cursor
//! (`time < ms OR (time = ms AND id < id)`); [`PageRequest::page`] cuts the extra row off and
//! makes the next cursor from the last row kept.
//!
//! A list with several sort orders gives each order a cursor *tag* (base64url(`<tag><key>.<id>`)),
//! so a cursor issued for one order is refused (`invalid_cursor`) by another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;
use franking_core::util::b64_encode;

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size of list endpoints.
pub const MAX_LIMIT: u32 = 200;

/// A row's position in a keyset-paged list: its time (ms) and id.
pub trait Keyset {
    /// `(time, id)` of this row, in the list's sort order (descending).
    fn keyset(&self) -> (i64, &str);
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    limit: u32,
    tag: &'static str,
    after: Option<(i64, String)>,
}

impl PageRequest {
    /// Validate `limit` (400 `invalid_parameter`) and decode `cursor` (400 `invalid_cursor`).
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, ApiError> {
        Self::tagged(limit, cursor, "")
    }

    /// [`Self::new`] for a sort order whose cursors carry `tag`.
    pub fn tagged(
        limit: Option<u32>,
        cursor: Option<&str>,
        tag: &'static str,
    ) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("limit must be 1..={MAX_LIMIT}"),
            ));
        }
        let after = cursor.map(|c| decode_cursor(tag, c)).transpose()?;
        Ok(Self { limit, tag, after })
    }

    /// Rows to fetch: one more than the page size, to learn whether there is a next page.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The cursor's time, to bind (NULL on the first page).
    pub fn after_time(&self) -> Option<i64> {
        self.after.as_ref().map(|(t, _)| *t)
    }

    /// The cursor's id, to bind (NULL on the first page).
    pub fn after_id(&self) -> Option<String> {
        self.after.as_ref().map(|(_, id)| id.clone())
    }

    /// Cut `rows` (fetched with [`Self::fetch_limit`]) to the page and its next cursor.
    pub fn page<T: Keyset>(&self, rows: Vec<T>) -> (Vec<T>, Option<String>) {
        self.page_by(rows, T::keyset)
    }

    /// [`Self::page`] with the sort key of this list's order (for lists with several orders).
    pub fn page_by<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> (i64, &str),
    ) -> (Vec<T>, Option<String>) {
        let limit = self.limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = match (more, rows.last()) {
            (true, Some(last)) => {
                let (ts, id) = key(last);
                Some(b64_encode(format!("{}{ts}.{id}", self.tag).as_bytes()))
            }
            _ => None,
        };
        (rows, next)
    }
}

fn decode_cursor(tag: &str, c: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor", "cursor is not one this server issued");
    let raw = URL_SAFE_NO_PAD.decode(c.as_bytes()).map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let s = s.strip_prefix(tag).ok_or_else(bad)?;
    let (ts, id) = s.split_once('.').ok_or_else(bad)?;
    let ts: i64 = ts.parse().map_err(|_| bad())?;
    if id.is_empty() || crate::util::check_storable("cursor", id).is_err() {
        return Err(bad());
    }
    Ok((ts, id.to_owned()))
}

/// 400 `invalid_parameter` unless `from <= to` (when both are given).
pub fn check_range(from: Option<i64>, to: Option<i64>) -> Result<(), ApiError> {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "from must not be after to",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct R(i64, &'static str);
    impl Keyset for R {
        fn keyset(&self) -> (i64, &str) {
            (self.0, self.1)
        }
    }

    #[test]
    fn pages_and_cursors_round_trip() {
        let p = PageRequest::new(Some(2), None).unwrap();
        assert_eq!(p.fetch_limit(), 3);
        assert_eq!(p.after_time(), None);
        let (rows, next) = p.page(vec![R(9, "c"), R(8, "b"), R(7, "a")]);
        assert_eq!(rows.len(), 2);
        let next = next.unwrap();
        let q = PageRequest::new(Some(2), Some(&next)).unwrap();
        assert_eq!((q.after_time(), q.after_id()), (Some(8), Some("b".into())));
        // The last page has no cursor.
        assert!(q.page(vec![R(7, "a")]).1.is_none());
        assert!(p.page(vec![R(9, "c"), R(8, "b")]).1.is_none());
    }

    #[test]
    fn rejects_bad_limits_and_cursors() {
        for l in [0, MAX_LIMIT + 1] {
            assert_eq!(
                PageRequest::new(Some(l), None).unwrap_err().code(),
                "invalid_parameter"
            );
        }
        for c in [
            "",
            "!!",
            &b64_encode(b"nodot"),
            &b64_encode(b"x.id"),
            &b64_encode(b"5."),
            &b64_encode(b"5.a\0b"),
        ] {
            assert_eq!(
                PageRequest::new(None, Some(c)).unwrap_err().code(),
                "invalid_cursor",
                "{c}"
            );
        }
        assert!(check_range(Some(2), Some(1)).is_err());
        assert!(check_range(Some(1), Some(1)).is_ok());
    }
}
