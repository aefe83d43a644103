-- report-server schema, version 30: one case per message (issue 17). Portable SQL (PostgreSQL and
-- SQLite).
--
-- Cases were grouped by (commitment ‖ stamp bytes), so reports of one message holding different
-- stamps (per-delivery stamps of a group message, a signature stripped or added, a re-stamp) opened
-- separate cases. A case is now one message: `group_key` is the text of `intake::group_key`,
--     'm1:' ‖ commitment ‖ ':' ‖ number of characters of sender ‖ ':' ‖ sender ‖ message_id
-- computed below from the case's own columns (same network, sender, message id and commitment =
-- same case). Existing cases that now share a key are MERGED into one surviving case:
--   * the survivor is an open or assigned case before a closed one (open work is never hidden
--     behind a closed case), then the earliest first report, then the smallest id; it keeps its
--     state, assignee, resolution, stamp and key id;
--   * every report, evidence item, attachment, note and statement of reasons of a merged case moves
--     to the survivor; evidence and attachments keep the case they were sealed for in
--     `sealed_case_id` (their sealing context binds it), so they still decrypt;
--   * a reporter who reported the message in several of the merged cases keeps one report (the
--     earliest; the others' rows are deleted) and all their evidence, which points to that report;
--   * the survivor's reporters are the union, its `report_count` their number, its first/last
--     report and update times the earliest/latest of the group, its category the first non-null;
--   * `case_merges` maps each merged (deleted) case id to its survivor; the merged case's audit
--     entries stay in the audit log under their target `case:<merged id>`, and each merge gets a
--     `case.merge` audit entry on the survivor (actor `migration:0030`, details `merged_case`),
--     chained by `audit_chain::backfill` when the server connects (hashing is not portable SQL);
--   * webhook events already emitted for a merged case keep its id (they are history).

-- Evidence and attachment chunks are sealed for the case they arrived in; NULL = `case_id`.
ALTER TABLE evidence ADD COLUMN sealed_case_id TEXT;
ALTER TABLE attachments ADD COLUMN sealed_case_id TEXT;

CREATE TABLE case_merges (
    case_id TEXT PRIMARY KEY,
    merged_into TEXT NOT NULL REFERENCES cases(id),
    network_id TEXT NOT NULL REFERENCES networks(id)
);
CREATE INDEX case_merges_into ON case_merges (merged_into);

-- Every case with its new key; then only the merged ones, with their survivor.
CREATE TABLE regroup_cases (
    case_id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    new_key TEXT NOT NULL,
    survivor TEXT
);
INSERT INTO regroup_cases (case_id, network_id, new_key)
SELECT id, network_id,
       'm1:' || commitment || ':' || CAST(LENGTH(sender) AS TEXT) || ':' || sender || message_id
FROM cases;
CREATE INDEX regroup_cases_key ON regroup_cases (network_id, new_key);
UPDATE regroup_cases SET survivor = (
    SELECT c.id FROM regroup_cases g JOIN cases c ON c.id = g.case_id
    WHERE g.network_id = regroup_cases.network_id AND g.new_key = regroup_cases.new_key
    ORDER BY CASE WHEN c.state IN ('open', 'assigned') THEN 0 ELSE 1 END,
             c.first_reported_at, c.id
    LIMIT 1
);
DELETE FROM regroup_cases WHERE survivor = case_id;

-- Each report of a merged group and the report kept for its reporter (the earliest), for the
-- reports that are not kept.
CREATE TABLE regroup_reports (
    report_id TEXT PRIMARY KEY,
    kept TEXT NOT NULL
);
INSERT INTO regroup_reports (report_id, kept)
SELECT r.id, (
    SELECT r2.id FROM reports r2
    WHERE r2.reporter = r.reporter
      AND (r2.case_id = m.survivor
           OR r2.case_id IN (SELECT g2.case_id FROM regroup_cases g2
                             WHERE g2.survivor = m.survivor))
    ORDER BY r2.received_at, r2.id
    LIMIT 1
)
FROM reports r
JOIN (SELECT case_id, survivor FROM regroup_cases
      UNION SELECT survivor, survivor FROM regroup_cases) m ON m.case_id = r.case_id;
DELETE FROM regroup_reports WHERE report_id = kept;

UPDATE evidence SET report_id = (
    SELECT rr.kept FROM regroup_reports rr WHERE rr.report_id = evidence.report_id
) WHERE report_id IN (SELECT report_id FROM regroup_reports);
UPDATE evidence SET sealed_case_id = COALESCE(sealed_case_id, case_id), case_id = (
    SELECT g.survivor FROM regroup_cases g WHERE g.case_id = evidence.case_id
) WHERE case_id IN (SELECT case_id FROM regroup_cases);
UPDATE attachments SET sealed_case_id = COALESCE(sealed_case_id, case_id), case_id = (
    SELECT g.survivor FROM regroup_cases g WHERE g.case_id = attachments.case_id
) WHERE case_id IN (SELECT case_id FROM regroup_cases);

DELETE FROM reports WHERE id IN (SELECT report_id FROM regroup_reports);
UPDATE reports SET case_id = (
    SELECT g.survivor FROM regroup_cases g WHERE g.case_id = reports.case_id
) WHERE case_id IN (SELECT case_id FROM regroup_cases);
UPDATE notes SET case_id = (
    SELECT g.survivor FROM regroup_cases g WHERE g.case_id = notes.case_id
) WHERE case_id IN (SELECT case_id FROM regroup_cases);
UPDATE statements_of_reasons SET case_id = (
    SELECT g.survivor FROM regroup_cases g WHERE g.case_id = statements_of_reasons.case_id
) WHERE case_id IN (SELECT case_id FROM regroup_cases);

-- Reporters: the union, each with their earliest first report.
INSERT INTO case_reporters (case_id, reporter, first_reported_at)
SELECT g.survivor, cr.reporter, MIN(cr.first_reported_at)
FROM case_reporters cr JOIN regroup_cases g ON g.case_id = cr.case_id
WHERE NOT EXISTS (SELECT 1 FROM case_reporters s
                  WHERE s.case_id = g.survivor AND s.reporter = cr.reporter)
GROUP BY g.survivor, cr.reporter;
UPDATE case_reporters SET first_reported_at = (
    SELECT MIN(cr.first_reported_at) FROM case_reporters cr
    WHERE cr.reporter = case_reporters.reporter
      AND (cr.case_id = case_reporters.case_id
           OR cr.case_id IN (SELECT g.case_id FROM regroup_cases g
                             WHERE g.survivor = case_reporters.case_id))
) WHERE case_id IN (SELECT survivor FROM regroup_cases);
DELETE FROM case_reporters WHERE case_id IN (SELECT case_id FROM regroup_cases);

UPDATE cases SET
    report_count = (SELECT COUNT(*) FROM case_reporters cr WHERE cr.case_id = cases.id),
    first_reported_at = (
        SELECT MIN(c.first_reported_at) FROM cases c
        WHERE c.id = cases.id
           OR c.id IN (SELECT g.case_id FROM regroup_cases g WHERE g.survivor = cases.id)),
    last_reported_at = (
        SELECT MAX(c.last_reported_at) FROM cases c
        WHERE c.id = cases.id
           OR c.id IN (SELECT g.case_id FROM regroup_cases g WHERE g.survivor = cases.id)),
    updated_at = (
        SELECT MAX(c.updated_at) FROM cases c
        WHERE c.id = cases.id
           OR c.id IN (SELECT g.case_id FROM regroup_cases g WHERE g.survivor = cases.id)),
    category = COALESCE(category, (
        SELECT c.category FROM cases c JOIN regroup_cases g ON g.case_id = c.id
        WHERE g.survivor = cases.id AND c.category IS NOT NULL
        ORDER BY c.first_reported_at, c.id
        LIMIT 1))
WHERE id IN (SELECT survivor FROM regroup_cases);

INSERT INTO case_merges (case_id, merged_into, network_id)
SELECT case_id, survivor, network_id FROM regroup_cases;
INSERT INTO audit_log (id, at, actor, action, target, network_id, details)
SELECT 'aud_merge_' || g.case_id,
       COALESCE((SELECT MAX(a.at) FROM audit_log a), 0),
       'migration:0030', 'case.merge', 'case:' || g.survivor, g.network_id,
       '{"merged_case":"' || g.case_id || '"}'
FROM regroup_cases g;
DELETE FROM cases WHERE id IN (SELECT case_id FROM regroup_cases);

UPDATE cases SET group_key =
    'm1:' || commitment || ':' || CAST(LENGTH(sender) AS TEXT) || ':' || sender || message_id;

DROP TABLE regroup_reports;
DROP TABLE regroup_cases;
