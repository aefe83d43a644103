-- report-server schema, version 2: indexes for the moderation queue, the audit-log reader and the
-- evidence-retention purge. Portable SQL (PostgreSQL and SQLite).

-- Case listing, newest first, keyset-paginated on (first_reported_at, id); per network and global.
CREATE INDEX cases_net_created ON cases (network_id, first_reported_at, id);
CREATE INDEX cases_created ON cases (first_reported_at, id);
-- Retention: closed cases by close time (`resolved_at` is the close time of resolved and dismissed).
CREATE INDEX cases_closed ON cases (state, resolved_at);
-- Audit log per network, newest first.
CREATE INDEX audit_log_network ON audit_log (network_id, at, id);
