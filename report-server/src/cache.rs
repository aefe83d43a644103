//! A short-lived, per-instance cache for the stamping hot path: relay-token authentications and
//! networks' current stamping keys (two [`TtlMap`]s in [`crate::state::AppState`]).
//!
//! Off when the TTL is zero. With a TTL of T, a relay token revoked (or a network disabled) on any
//! instance may still stamp on another instance for up to T, and after a rotation an instance may
//! stamp with the previous key for up to T (harmless: that key stays valid for the policy's grace
//! period). Nothing else is cached: report intake, admin and moderation always read the database.

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
