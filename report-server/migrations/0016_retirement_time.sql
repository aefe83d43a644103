-- report-server schema, version 16: an immediate key retirement keeps its retirement time.
-- Before, `POST .../keys/{id}/retire {"immediate": true}` overwrote `retired_at` with 0 (retired
-- "long ago"), losing when the key was retired. Now `retired_at` keeps the rotation time and
-- `stopped_at` records when the key stopped verifying (NULL: it verifies until retired_at plus the
-- policy's key grace period). Rows stopped before this migration keep `retired_at = 0` and a NULL
-- `stopped_at`; they still verify nothing (0 + grace is long past). Portable SQL.
ALTER TABLE stamping_keys ADD COLUMN stopped_at BIGINT;
