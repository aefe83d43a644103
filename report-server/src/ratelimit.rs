//! Report-intake rate limits, counted in the database so that every instance shares them.
//!
//! A limit of L submissions per window W is checked as a sliding window made of 10 buckets of
//! width W/10: the count is the sum of the buckets that started within the last W (so the window
//! effectively spans between 0.9·W and W). Each submission increments its bucket with an upsert;
//! network-wide counters are spread over [`NETWORK_SHARDS`] rows per bucket so concurrent intake does
//! not serialise on one row. Cost per check: one indexed range read of at most 10 (reporter) or
//! 10 × 16 (network) rows, whatever the traffic.
//!
//! Checks and increments both run in the transaction that stores verified reports
//! ([`crate::intake`], for a platform's own reports and for forwards from peers alike; one
//! [`Tally`] per transaction, whether it stores one report or a batch), so a rejected submission
//! leaves no trace, and concurrent submissions can overshoot a limit by at most the number of
//! requests in flight. Verification (tens of µs of CPU, no I/O)
//! runs first: checking before it cost every report a database round trip of its own, more than
//! the verification it could save an over-limit submission.

use std::collections::{BTreeMap, HashMap};

use sqlx::AnyConnection;

use crate::error::ApiError;
use crate::keys::Policy;
use crate::util::{random_bytes, to_i64, to_u64};
use crate::writes::Writes;

/// Rows per bucket for network-wide counters.
pub const NETWORK_SHARDS: u8 = 16;
const BUCKETS_PER_WINDOW: i64 = 10;
/// One increment in this many also deletes expired buckets (any instance may do it).
const GC_ONE_IN: u8 = 64;

struct Scope {
    key: String,
    limit: u64,
    name: &'static str,
}

fn width(policy: &Policy) -> i64 {
    (to_i64(policy.rate_window_ms) / BUCKETS_PER_WINDOW).max(1)
}

fn scopes(policy: &Policy, network: &str, reporter: &str) -> [Scope; 2] {
    let w = width(policy);
    [
        Scope {
            key: serde_json::json!(["reporter", w, network, reporter]).to_string(),
            limit: policy.reporter_rate_limit,
            name: "reporter",
        },
        Scope {
            key: serde_json::json!(["network", w, network]).to_string(),
            limit: policy.network_rate_limit,
            name: "network",
        },
    ]
}

/// Rate-limit accounting for the submissions of one intake transaction (one report, or a batch
/// of them: [`crate::intake`]): [`Tally::load`] reads the counters of every scope involved in one
/// statement, [`Tally::admit`] checks and counts each submission in turn exactly as if they had
/// been submitted one after another, and [`Tally::record`] writes the increments in one upsert.
#[derive(Debug, Default)]
pub struct Tally {
    /// Stored counts by scope: `(bucket, n)`.
    stored: HashMap<String, Vec<(i64, i64)>>,
    /// This transaction's increments: `(scope, bucket)` → `(n, expires_at, is network scope)`.
    added: BTreeMap<(String, i64), (i64, i64, bool)>,
}

impl Tally {
    /// Read the counters of every scope of `submissions` (`(policy, network, reporter, now)`).
    pub async fn load(
        conn: &mut AnyConnection,
        submissions: &[(&Policy, &str, &str, i64)],
    ) -> Result<Self, ApiError> {
        let mut keys: Vec<String> = submissions
            .iter()
            .flat_map(|(policy, network, reporter, _)| {
                scopes(policy, network, reporter).map(|s| s.key)
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let since = submissions
            .iter()
            .map(|(policy, _, _, now)| now.saturating_sub(to_i64(policy.rate_window_ms)))
            .min()
            .unwrap_or(i64::MAX);
        let mut tally = Self::default();
        for chunk in crate::db::padded_chunks(&keys) {
            let list = chunk.in_list(2);
            let mut q = sqlx::query_as::<_, (String, i64, i64)>(sqlx::AssertSqlSafe(format!(
                "SELECT scope, bucket, CAST(SUM(n) AS BIGINT) FROM rate_counters \
                 WHERE bucket > $1 AND scope IN ({list}) GROUP BY scope, bucket"
            )))
            .bind(since);
            for (key, _) in chunk.slots() {
                q = q.bind(key);
            }
            for (scope, bucket, n) in q.fetch_all(&mut *conn).await? {
                tally.stored.entry(scope).or_default().push((bucket, n));
            }
        }
        Ok(tally)
    }

    fn used(&self, key: &str, since: i64) -> i64 {
        let stored: i64 = self.stored.get(key).map_or(0, |rows| {
            rows.iter()
                .filter(|(bucket, _)| *bucket > since)
                .map(|(_, n)| n)
                .sum()
        });
        let added: i64 = self
            .added
            .range((key.to_owned(), since.saturating_add(1))..)
            .take_while(|((scope, _), _)| scope == key)
            .map(|(_, (n, _, _))| n)
            .sum();
        stored + added
    }

    /// 429 `rate_limited` if `reporter` or `network` used up its limit in the window ending `now`
    /// (counting what this tally already admitted); otherwise count the submission.
    pub fn admit(
        &mut self,
        policy: &Policy,
        network: &str,
        reporter: &str,
        now: i64,
    ) -> Result<(), ApiError> {
        let since = now.saturating_sub(to_i64(policy.rate_window_ms));
        let scopes = scopes(policy, network, reporter);
        for scope in &scopes {
            if to_u64(self.used(&scope.key, since)) >= scope.limit {
                return Err(ApiError::RateLimited {
                    scope: scope.name,
                    retry_after_secs: to_u64(width(policy)).div_ceil(1000),
                });
            }
        }
        let w = width(policy);
        let bucket = now - now.rem_euclid(w);
        let expires_at = bucket
            .saturating_add(w)
            .saturating_add(to_i64(policy.rate_window_ms));
        for scope in scopes {
            let network_wide = scope.name == "network";
            let slot =
                self.added
                    .entry((scope.key, bucket))
                    .or_insert((0, expires_at, network_wide));
            slot.0 += 1;
        }
        Ok(())
    }

    /// Write the admitted submissions' increments (inside the caller's transaction): one upsert
    /// added to `writes` — reporter counters first, then network counters on one random shard
    /// each, every group in key order (the order in which concurrent transactions lock them).
    /// One call in [`GC_ONE_IN`] also deletes expired buckets, at once on `conn`.
    pub async fn record(
        self,
        conn: &mut AnyConnection,
        writes: &mut Writes,
        now: i64,
    ) -> Result<(), ApiError> {
        if self.added.is_empty() {
            return Ok(());
        }
        let rnd = random_bytes::<2>()?;
        let shard = i64::from(rnd[0] % NETWORK_SHARDS);
        let (network, reporter): (Vec<_>, Vec<_>) = self
            .added
            .into_iter()
            .partition(|(_, (_, _, network_wide))| *network_wide);
        let rows: Vec<(String, i64, i64, i64, i64)> = reporter
            .into_iter()
            .map(|((scope, bucket), (n, expires, _))| (scope, bucket, 0, n, expires))
            .chain(
                network
                    .into_iter()
                    .map(|((scope, bucket), (n, expires, _))| (scope, bucket, shard, n, expires)),
            )
            .collect();
        const COLUMNS: &str = "scope, bucket, shard, n, expires_at";
        for chunk in crate::db::padded_chunks(&rows) {
            let mut b = writes.push(&format!(
                "{} INSERT INTO rate_counters ({COLUMNS}) SELECT {COLUMNS} FROM v WHERE keep = 1 \
                 ON CONFLICT (scope, bucket, shard) DO UPDATE SET n = rate_counters.n + excluded.n",
                chunk.with_rows(COLUMNS, 1)
            ));
            for ((scope, bucket, shard, n, expires), keep) in chunk.slots() {
                b.bind(scope)
                    .bind(*bucket)
                    .bind(*shard)
                    .bind(*n)
                    .bind(*expires)
                    .bind(keep);
            }
        }
        if rnd[1] % GC_ONE_IN == 0 {
            sqlx::query("DELETE FROM rate_counters WHERE expires_at < $1")
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}
