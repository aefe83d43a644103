-- report-server schema, version 1. ONE migration set for PostgreSQL and SQLite (sqlx `Any`).
-- Portable SQL only: TEXT, BIGINT; no BLOB/BYTEA (binary is stored as base64url TEXT), no SERIAL /
-- AUTOINCREMENT (ids are random TEXT made by the server), no BOOLEAN (use BIGINT 0/1 or NULL-able
-- timestamps), no JSON column types (JSON is stored as TEXT). Every timestamp is BIGINT milliseconds
-- since the Unix epoch. `ON CONFLICT` and partial unique indexes work on both (SQLite >= 3.24).

-- Singleton facts shared by every instance (e.g. that the dev bootstrap ran once).
CREATE TABLE server_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Managed networks (tenants). `id` is the network string that appears in stamped contexts.
CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

-- One policy row per network.
CREATE TABLE network_policies (
    network_id TEXT PRIMARY KEY REFERENCES networks(id),
    window_ms BIGINT NOT NULL,
    max_clock_skew_ms BIGINT NOT NULL,
    key_grace_ms BIGINT NOT NULL,
    -- JSON array of category strings allowed as a report's reason/category.
    categories TEXT NOT NULL,
    evidence_retention_ms BIGINT NOT NULL,
    rate_window_ms BIGINT NOT NULL,
    reporter_rate_limit BIGINT NOT NULL,
    network_rate_limit BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Stamping keys. `secret_sealed` = base64url(nonce ‖ ciphertext ‖ tag) of the HMAC key (and
-- optional Ed25519 seed) under the server key, AD binding (network_id, key_id) (see src/seal.rs).
CREATE TABLE stamping_keys (
    network_id TEXT NOT NULL REFERENCES networks(id),
    key_id BIGINT NOT NULL,
    secret_sealed TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('current', 'retired')),
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    PRIMARY KEY (network_id, key_id)
);
-- At most one current key per network (also guards concurrent rotations across instances).
CREATE UNIQUE INDEX stamping_keys_one_current ON stamping_keys (network_id) WHERE status = 'current';

-- API tokens. Only SHA-256(token) is stored (hex). role: admin (network_id NULL), moderator, relay,
-- service (network_id set). `subject` names the holder (moderator id, relay name) for audit.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'moderator', 'relay', 'service')),
    network_id TEXT REFERENCES networks(id),
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX tokens_network ON tokens (network_id, role);

-- Moderation cases: one per reported message, grouped by (network, commitment, stamp).
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks(id),
    -- hex SHA-256 over (commitment ‖ canonical stamp bytes): the unique grouping key.
    group_key TEXT NOT NULL,
    commitment TEXT NOT NULL,
    stamp TEXT NOT NULL,
    key_id BIGINT NOT NULL,
    sender TEXT NOT NULL,
    message_id TEXT NOT NULL,
    message_ts BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'assigned', 'resolved', 'dismissed')),
    category TEXT,
    report_count BIGINT NOT NULL,
    first_reported_at BIGINT NOT NULL,
    last_reported_at BIGINT NOT NULL,
    assignee TEXT,
    resolution_action TEXT,
    resolved_at BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (network_id, group_key)
);
CREATE INDEX cases_queue ON cases (network_id, state, last_reported_at);

-- Distinct reporters of a case (the idempotency key for duplicate reports).
CREATE TABLE case_reporters (
    case_id TEXT NOT NULL REFERENCES cases(id),
    reporter TEXT NOT NULL,
    first_reported_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, reporter)
);

-- Accepted (verified) reports: one per (case, reporter).
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    network_id TEXT NOT NULL REFERENCES networks(id),
    reporter TEXT NOT NULL,
    reason TEXT NOT NULL,
    category TEXT,
    earlier_count BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (case_id, reporter)
);

-- Sliding-window rate-limit events for report intake (shared by all instances).
CREATE TABLE rate_events (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    reporter TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_events_network ON rate_events (network_id, at);
CREATE INDEX rate_events_reporter ON rate_events (network_id, reporter, at);

-- Evidence: the verified report content, encrypted at rest (base64url sealed blob).
CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    report_id TEXT REFERENCES reports(id),
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    purge_after BIGINT,
    purged_at BIGINT
);
CREATE INDEX evidence_case ON evidence (case_id);
CREATE INDEX evidence_purge ON evidence (purge_after);

-- Moderator notes on cases.
CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notes_case ON notes (case_id, created_at);

-- Append-only audit log. details is a JSON object (TEXT).
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    network_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target, at);
