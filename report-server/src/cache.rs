//! A short-lived, per-instance cache for the stamping hot path: relay-token authentications and
//! networks' current stamping keys.
//!
//! Off when the TTL is zero. With a TTL of T, a relay token revoked (or a network disabled) on any
//! instance may still stamp on another instance for up to T, and after a rotation an instance may
//! stamp with the previous key for up to T (harmless: that key stays valid for the policy's grace
//! period). Nothing else is cached: report intake, admin and moderation always read the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use franking_core::frank::StampKey;

use crate::auth::Caller;

/// Most entries per map before it is cleared (bounds memory under token-guessing traffic; only
/// successful authentications are cached anyway).
const MAX_ENTRIES: usize = 10_000;

/// TTL cache of relay authentications and current stamping keys.
pub struct StampCache {
    ttl: Duration,
    callers: Mutex<HashMap<String, (Caller, Instant)>>,
    keys: Mutex<HashMap<String, (StampKey, Instant)>>,
}

impl core::fmt::Debug for StampCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StampCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn get<V: Clone>(map: &Mutex<HashMap<String, (V, Instant)>>, k: &str, ttl: Duration) -> Option<V> {
    let guard = map.lock().ok()?;
    let (v, at) = guard.get(k)?;
    (at.elapsed() < ttl).then(|| v.clone())
}

fn put<V>(map: &Mutex<HashMap<String, (V, Instant)>>, k: &str, v: V) {
    if let Ok(mut guard) = map.lock() {
        if guard.len() >= MAX_ENTRIES {
            guard.clear();
        }
        guard.insert(k.to_owned(), (v, Instant::now()));
    }
}

impl StampCache {
    /// A cache with time-to-live `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            callers: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Whether caching is on.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// A cached authentication for this token hash.
    pub fn caller(&self, token_hash: &str) -> Option<Caller> {
        if !self.enabled() {
            return None;
        }
        get(&self.callers, token_hash, self.ttl)
    }

    /// Remember an authentication.
    pub fn put_caller(&self, token_hash: &str, caller: Caller) {
        if self.enabled() {
            put(&self.callers, token_hash, caller);
        }
    }

    /// A cached current key of `network`.
    pub fn key(&self, network: &str) -> Option<StampKey> {
        if !self.enabled() {
            return None;
        }
        get(&self.keys, network, self.ttl)
    }

    /// Remember a network's current key.
    pub fn put_key(&self, network: &str, key: StampKey) {
        if self.enabled() {
            put(&self.keys, network, key);
        }
    }
}
