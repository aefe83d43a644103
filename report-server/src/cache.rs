//! A short-lived, per-instance cache for the two hot paths, stamping and report intake: relay- and
//! service-token authentications, networks' current stamping keys, and networks' policies with
//! their stored (sealed) keys ([`TtlMap`]s in [`crate::state::AppState`]).
//!
//! Off when the TTL is zero (`--stamp-cache-ms 0`). Any admin change made through this instance's
//! API empties every map at once, so an instance always reads its own writes. With a TTL of T, a
//! change made on *another* instance (or by the offline `report-server` commands) takes effect
//! here within T: a relay or service token revoked, or a network disabled, may still stamp or
//! submit for up to T; after a rotation an instance may stamp with the previous key for up to T
//! (harmless: that key stays valid for the policy's grace period); a policy change (categories,
//! limits, retention) or a key retired at once applies to intake up to T late. Moderator, admin and
//! console requests are never served from the cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most entries per map before it is cleared (bounds memory under token-guessing traffic; only
/// successful authentications are cached anyway).
const MAX_ENTRIES: usize = 10_000;

/// A string-keyed map whose entries expire `ttl` after insertion; a zero TTL disables it.
pub struct TtlMap<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V> core::fmt::Debug for TtlMap<V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TtlMap")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<V: Clone> TtlMap<V> {
    /// A map with time-to-live `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether caching is on.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The live entry for `key`, if any.
    pub fn get(&self, key: &str) -> Option<V> {
        if !self.enabled() {
            return None;
        }
        let guard = self.entries.lock().ok()?;
        let (v, at) = guard.get(key)?;
        (at.elapsed() < self.ttl).then(|| v.clone())
    }

    /// Forget every entry (after an admin change on this instance).
    pub fn clear(&self) {
        if let Ok(mut guard) = self.entries.lock() {
            guard.clear();
        }
    }

    /// Remember `value` under `key` (no-op when disabled).
    pub fn put(&self, key: &str, value: V) {
        if !self.enabled() {
            return;
        }
        if let Ok(mut guard) = self.entries.lock() {
            if guard.len() >= MAX_ENTRIES {
                guard.clear();
            }
            guard.insert(key.to_owned(), (value, Instant::now()));
        }
    }
}
