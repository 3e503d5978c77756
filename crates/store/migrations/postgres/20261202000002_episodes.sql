-- Honest board signals (issue 15). An escalation stays part of her episode after a clinician
-- acknowledges it, until a clinician closes the episode: the board ranks her by the highest
-- level of her unclosed escalations and her latest decision, so an acknowledged emergency does
-- not drop her below patients doing well. Escalations acknowledged before this migration count
-- as closed.
ALTER TABLE escalations ADD COLUMN closed_at TIMESTAMPTZ;
ALTER TABLE escalations ADD COLUMN closed_by TEXT REFERENCES staff (id);
UPDATE escalations SET closed_at = acknowledged_at, closed_by = acknowledged_by
    WHERE acknowledged_at IS NOT NULL;

-- The highest level among her unclosed escalations (kept with the rows it summarises).
ALTER TABLE patients ADD COLUMN episode_level TEXT
    CHECK (episode_level IN ('emergency', 'urgent', 'soon', 'self_care'));
UPDATE patients SET episode_level = (
    SELECT level FROM escalations e WHERE e.patient_id = patients.id AND e.closed_at IS NULL
    ORDER BY CASE level WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 WHEN 'soon' THEN 2 ELSE 3 END
    LIMIT 1);

-- Whether her last message is still waiting for the clinic's answer: set when she writes,
-- cleared when staff write (reading her message is not answering it).
ALTER TABLE patients ADD COLUMN awaiting_reply BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE patients SET awaiting_reply = TRUE WHERE (
    SELECT sender FROM messages m WHERE m.patient_id = patients.id ORDER BY m.id DESC LIMIT 1
) = 'patient';

-- Board order: unacknowledged escalations first, then the higher of her episode's level and
-- her latest decision's, then none (0 = escalated emergency ... 14 = nothing, no check-in).
DROP INDEX patients_board;
ALTER TABLE patients DROP COLUMN board_rank;
ALTER TABLE patients ADD COLUMN board_rank INTEGER GENERATED ALWAYS AS (
    (CASE WHEN open_escalations > 0 THEN 0 ELSE 10 END)
    + LEAST(
        CASE episode_level WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1
                           WHEN 'soon' THEN 2 WHEN 'self_care' THEN 3 ELSE 4 END,
        CASE last_level WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1
                        WHEN 'soon' THEN 2 WHEN 'self_care' THEN 3 ELSE 4 END)
) STORED;
CREATE INDEX patients_board ON patients (clinic_id, board_rank, (COALESCE(last_checkin_at, '-infinity')), id);
