-- report-server schema, version 3: bucketed rate-limit counters replace per-submission events.
-- Counting events over the window cost O(submissions in the window) per request (100k rows at the
-- default network limit); counters cost O(buckets x shards). Portable SQL (PostgreSQL and SQLite).

-- One row per (scope, time bucket, shard). `scope` is a JSON array naming the limit, its bucket
-- width and its subject, e.g. ["network",6000,"net1"] or ["reporter",6000,"net1","bob"]; `bucket`
-- is the bucket's start (ms since the epoch, a multiple of the width); `expires_at` is when the
-- bucket can no longer fall inside its window. Network scopes spread increments over shards to
-- avoid one hot row; reporter scopes use shard 0.
CREATE TABLE rate_counters (
    scope TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    shard BIGINT NOT NULL,
    n BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, bucket, shard)
);
CREATE INDEX rate_counters_expiry ON rate_counters (expires_at);

DROP INDEX rate_events_network;
DROP INDEX rate_events_reporter;
DROP TABLE rate_events;
