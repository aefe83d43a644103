-- report-server schema, version 25: server-key rotation (issue 13). Portable SQL (PostgreSQL and
-- SQLite). Sealed values carry the id of the key that sealed them (src/seal.rs); this table records
-- each rotation to a new key: started, progress (values re-sealed so far, over all runs of
-- `report-server rotate-server-key`), and finished once every sealed value opened under the new
-- key alone. Key ids are public (hex of 8 bytes derived from the key).
CREATE TABLE server_key_rotations (
    new_key_id TEXT PRIMARY KEY,
    previous_key_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resealed BIGINT NOT NULL,
    finished_at BIGINT
);
