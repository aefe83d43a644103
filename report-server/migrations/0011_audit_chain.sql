-- report-server schema: tamper-evident audit log (issue 11). Portable SQL (PostgreSQL and SQLite).
--
-- Every audit entry belongs to one hash chain: `network:<id>` for entries about a network, `global`
-- for the rest (admin actions without a network). `seq` numbers the chain's entries from 1,
-- `prev_hash` is the `hash` of entry seq-1 (64 zeros for seq 1) and `hash` is SHA-256 over the
-- canonical encoding of the entry (src/audit_chain.rs, docs/api.md). `audit_chain_heads` holds
-- each chain's last (seq, hash); appends lock the head row, which serialises them per chain.
--
-- Backfill: hashing is not portable SQL, so the existing rows are left with NULL chain columns
-- here and chained, oldest first, by `audit_chain::backfill` when the server (or `audit-verify`)
-- connects, right after the migrations (db::connect). It is idempotent and takes the same head
-- lock as appends.
ALTER TABLE audit_log ADD COLUMN chain TEXT;
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_chain_seq ON audit_log (chain, seq);

CREATE TABLE audit_chain_heads (
    chain TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
