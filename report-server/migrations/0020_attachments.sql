-- report-server schema, version 20: attachments of reported messages (issue 9). Portable SQL
-- (PostgreSQL and SQLite); binary data is base64url TEXT like everywhere else.

-- Per-network size limits of the attachments uploaded with a report (bytes of plaintext, as
-- committed in the verified message content).
ALTER TABLE network_policies ADD COLUMN max_attachment_bytes BIGINT NOT NULL DEFAULT 104857600;
ALTER TABLE network_policies ADD COLUMN max_report_attachment_bytes BIGINT NOT NULL DEFAULT 262144000;

-- One verified attachment of a report's reported message. `idx` is its position in the message
-- content; `media_type`, `length` and `commitment` (base64url) repeat the verified reference (the
-- key is never stored). The plaintext is in `attachment_chunks`, sealed under the server key; the
-- chunks' associated data binds these columns too (see src/attachments.rs). A purge deletes the
-- chunks and sets `purged_at`.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    evidence_id TEXT NOT NULL REFERENCES evidence(id),
    idx BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    length BIGINT NOT NULL,
    commitment TEXT NOT NULL,
    chunk_len BIGINT NOT NULL,
    chunk_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    purged_at BIGINT,
    UNIQUE (evidence_id, idx)
);
CREATE INDEX attachments_case ON attachments (case_id);

-- The sealed plaintext of an attachment, `chunk_len` bytes per row (the last row: the rest).
CREATE TABLE attachment_chunks (
    attachment_id TEXT NOT NULL REFERENCES attachments(id),
    seq BIGINT NOT NULL,
    sealed TEXT NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
