-- report-server schema: webhooks (issue 11). Portable SQL (PostgreSQL and SQLite).
--
-- Per-network webhook endpoints, the durable outbox of events and one delivery row per
-- (event, endpoint). Events and deliveries are written in the transaction of the change they
-- describe (src/webhooks/outbox.rs); the delivery worker (src/webhooks/delivery.rs) claims
-- deliveries with a lease.

-- Endpoints. `secret_sealed` is the signing secret sealed with the server key (purpose
-- `webhook-secret`, bound to the endpoint id); during a rotation's overlap the previous secret is in
-- `old_secret_sealed` until `old_secret_expires_at` (ms). `event_types` is a JSON array.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks(id),
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    old_secret_sealed TEXT,
    old_secret_expires_at BIGINT,
    enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_network ON webhook_endpoints (network_id, created_at, id);

-- The outbox: one row per event. `payload` is the exact JSON body that is signed and sent.
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks(id),
    event_type TEXT NOT NULL,
    case_id TEXT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One delivery per (event, subscribed endpoint). `lease_owner`/`lease_until` is the claim of one
-- worker (several instances share the work; an expired lease may be claimed again).
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES webhook_events(id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, state, created_at, id);

-- Network policy: may webhook payloads carry reporter identities (case.created,
-- case.report_added)? Off by default.
ALTER TABLE network_policies ADD COLUMN webhook_reporter_identities BIGINT NOT NULL DEFAULT 0;
