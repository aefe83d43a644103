-- report-server schema: statements of reasons (issue 11). Portable SQL (PostgreSQL and SQLite).
-- One row per moderation decision (resolve or dismiss), written in the decision's transaction
-- (src/transparency.rs). Rendered with EU DSA Transparency Database field names (docs/api.md).
CREATE TABLE statements_of_reasons (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    network_id TEXT NOT NULL REFERENCES networks(id),
    -- the resolution action, or 'dismissed'
    decision TEXT NOT NULL,
    category TEXT,
    report_count BIGINT NOT NULL,
    message_ts BIGINT NOT NULL,
    first_reported_at BIGINT NOT NULL,
    decided_at BIGINT NOT NULL
);
CREATE INDEX statements_network_time ON statements_of_reasons (network_id, decided_at, id);
CREATE INDEX statements_time ON statements_of_reasons (decided_at, id);
CREATE INDEX statements_case ON statements_of_reasons (case_id, decided_at);
