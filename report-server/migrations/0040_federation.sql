-- report-server schema: federation (issue 12). Portable SQL (PostgreSQL and SQLite).
--
-- Signed stamps, peers (other networks' report servers), forwards of cross-network reports and
-- decisions travelling back. See docs/federation.md.

-- Policy: stamp with Ed25519 signatures too (keys made from now on sign; rotate after turning it
-- on), and may a forwarded report name the reporter (off: a pseudonym crosses networks).
ALTER TABLE network_policies ADD COLUMN sign_stamps BIGINT NOT NULL DEFAULT 0;
ALTER TABLE network_policies ADD COLUMN federation_reporter_identities BIGINT NOT NULL DEFAULT 0;

-- A signing key's Ed25519 verifying key (base64url, 32 bytes); NULL for HMAC-only keys. The
-- sealed secret of a signing key is the HMAC key followed by the Ed25519 seed (64 bytes).
ALTER TABLE stamping_keys ADD COLUMN public_key TEXT;

-- Delivery targets: the outbox delivers to webhook endpoints (`webhook`) and to peers (`peer`: one
-- hidden endpoint row per peer, holding its base URL and the sealed shared secret).
ALTER TABLE webhook_endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook'
    CHECK (kind IN ('webhook', 'peer'));

-- Peers of a local network. key_source: `pinned` (pinned_keys, a JSON array of published keys) or
-- `fetched` (from the peer's /.well-known/franking/keys; cached_keys and keys_fetched_at hold the
-- last answer, refreshed after key_refresh_ms or on an unknown key id).
CREATE TABLE peers (
    network_id TEXT NOT NULL REFERENCES networks(id),
    peer_network TEXT NOT NULL,
    base_url TEXT NOT NULL,
    key_source TEXT NOT NULL CHECK (key_source IN ('pinned', 'fetched')),
    pinned_keys TEXT,
    cached_keys TEXT,
    keys_fetched_at BIGINT,
    key_refresh_ms BIGINT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (network_id, peer_network)
);

-- Cases of another network's messages (verified by its signature): the stamping network.
ALTER TABLE cases ADD COLUMN origin_network TEXT;

-- Forwards of cross-network reports to the stamping network (written with the report), and the
-- decision that came back.
CREATE TABLE federation_forwards (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks(id),
    peer_network TEXT NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    report_id TEXT NOT NULL REFERENCES reports(id),
    event_id TEXT NOT NULL,
    remote_case_id TEXT,
    remote_state TEXT,
    remote_action TEXT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX federation_forwards_case ON federation_forwards (case_id, created_at, id);

-- Forwards received from peers: one row per (peer, forward id), so a replay is refused.
CREATE TABLE federation_inbound (
    peer_network TEXT NOT NULL,
    forward_id TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES networks(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    report_id TEXT NOT NULL REFERENCES reports(id),
    received_at BIGINT NOT NULL,
    PRIMARY KEY (peer_network, forward_id)
);
CREATE INDEX federation_inbound_case ON federation_inbound (case_id);
