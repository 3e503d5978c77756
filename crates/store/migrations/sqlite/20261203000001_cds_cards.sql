-- The cards the CDS service issued, so feedback can be refused for a card it never sent, and
-- when the clinician acted on a card (CDS Hooks 2.0 `outcomeTimestamp`).
CREATE TABLE cds_cards (
    uuid       TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    issued_at  TEXT NOT NULL
) STRICT;
CREATE INDEX cds_cards_issued ON cds_cards (issued_at);

ALTER TABLE cds_feedback ADD COLUMN outcome_at TEXT;
