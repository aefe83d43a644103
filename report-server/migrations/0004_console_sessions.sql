-- report-server schema, version 4: moderator-console sessions and an index for the queue's
-- "most reported first" order. Portable SQL (PostgreSQL and SQLite).

-- A console session, created by signing in with an admin or moderator token. Only the hex SHA-256
-- of the 32-byte random session id (the cookie value) is stored. The session authenticates as its
-- token: revoking or expiring the token (or disabling its network) ends the session too, because
-- every request re-checks the token row. `csrf_token` is the per-session anti-CSRF value the
-- console sends as `X-CSRF-Token`; alone it authenticates nothing (the cookie is needed as well).
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL REFERENCES tokens(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- The queue sorted by report count (keyset on (report_count, id)), per network and global.
CREATE INDEX cases_net_count ON cases (network_id, report_count, id);
CREATE INDEX cases_count ON cases (report_count, id);
