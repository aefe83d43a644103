//! Report-intake rate limits, counted in the database so that every instance shares them.
//!
//! A limit of L submissions per window W is checked as a sliding window made of 10 buckets of
//! width W/10: the count is the sum of the buckets that started within the last W (so the window
//! effectively spans between 0.9·W and W). Each submission increments its bucket with an upsert;
//! network-wide counters are spread over [`NETWORK_SHARDS`] rows per bucket so concurrent intake does
//! not serialise on one row. Cost per check: one indexed range read of at most 10 (reporter) or
//! 10 × 16 (network) rows, whatever the traffic.
//!
//! Checks and increments both run in the transaction that stores a verified report
//! ([`crate::intake::Intake::begin`], for a platform's own reports and for forwards from peers
//! alike), so a rejected submission leaves no trace, and concurrent submissions can overshoot a
//! limit by at most the number of requests in flight. Verification (tens of µs of CPU, no I/O)
//! runs first: checking before it cost every report a database round trip of its own, more than
//! the verification it could save an over-limit submission.

use sqlx::AnyConnection;

use crate::error::ApiError;
use crate::keys::Policy;
use crate::util::{random_bytes, to_i64, to_u64};

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

/// 429 `rate_limited` if the reporter or the network used up its limit in the window ending `now`
/// (inside the intake transaction).
pub async fn check(
    conn: &mut AnyConnection,
    policy: &Policy,
    network: &str,
    reporter: &str,
    now: i64,
) -> Result<(), ApiError> {
    let since = now.saturating_sub(to_i64(policy.rate_window_ms));
    let scopes = scopes(policy, network, reporter);
    let (used0, used1): (i64, i64) = sqlx::query_as(
        "SELECT \
         (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM rate_counters \
          WHERE scope = $1 AND bucket > $3) AS used0, \
         (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM rate_counters \
          WHERE scope = $2 AND bucket > $3) AS used1",
    )
    .bind(&scopes[0].key)
    .bind(&scopes[1].key)
    .bind(since)
    .fetch_one(conn)
    .await?;
    for (scope, used) in scopes.into_iter().zip([used0, used1]) {
        if to_u64(used) >= scope.limit {
            return Err(ApiError::RateLimited {
                scope: scope.name,
                retry_after_secs: to_u64(width(policy)).div_ceil(1000),
            });
        }
    }
    Ok(())
}

/// Count one submission by `reporter` on `network` at `now` (inside the caller's transaction).
pub async fn record(
    conn: &mut AnyConnection,
    policy: &Policy,
    network: &str,
    reporter: &str,
    now: i64,
) -> Result<(), ApiError> {
    let w = width(policy);
    let bucket = now - now.rem_euclid(w);
    let expires_at = bucket
        .saturating_add(w)
        .saturating_add(to_i64(policy.rate_window_ms));
    let rnd = random_bytes::<2>()?;
    let [reporter_scope, network_scope] = scopes(policy, network, reporter);
    sqlx::query(
        "INSERT INTO rate_counters (scope, bucket, shard, n, expires_at) \
         VALUES ($1, $2, 0, 1, $4), ($3, $2, $5, 1, $4) \
         ON CONFLICT (scope, bucket, shard) DO UPDATE SET n = rate_counters.n + 1",
    )
    .bind(&reporter_scope.key)
    .bind(bucket)
    .bind(&network_scope.key)
    .bind(expires_at)
    .bind(i64::from(rnd[0] % NETWORK_SHARDS))
    .execute(&mut *conn)
    .await?;
    if rnd[1] % GC_ONE_IN == 0 {
        sqlx::query("DELETE FROM rate_counters WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
