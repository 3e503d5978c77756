-- Levels as the triage engine ranks them (issue 13): an urgency number beside each stored
-- level name (0 = the least urgent level, higher is more urgent, as the core's `Level::index`),
-- so the database orders the board and a patient's episode by numbers and knows nothing of
-- what the levels mean. The names stay for reading. This is the last time SQL names a level:
-- to fill the new columns of rows written before it.
ALTER TABLE escalations ADD COLUMN urgency INTEGER NOT NULL DEFAULT 0;
UPDATE escalations SET urgency = CASE level WHEN 'emergency' THEN 3 WHEN 'urgent' THEN 2
    WHEN 'soon' THEN 1 ELSE 0 END;

ALTER TABLE patients ADD COLUMN last_urgency INTEGER;
ALTER TABLE patients ADD COLUMN episode_urgency INTEGER;
UPDATE patients SET last_urgency = CASE last_level WHEN 'emergency' THEN 3 WHEN 'urgent' THEN 2
    WHEN 'soon' THEN 1 WHEN 'self_care' THEN 0 END;
UPDATE patients SET episode_urgency = CASE episode_level WHEN 'emergency' THEN 3
    WHEN 'urgent' THEN 2 WHEN 'soon' THEN 1 WHEN 'self_care' THEN 0 END;

-- Board order: unacknowledged escalations first (the tens), then the higher of her episode's
-- urgency and her latest decision's, most urgent first (minus the urgency, -1 for none).
DROP INDEX patients_board;
ALTER TABLE patients DROP COLUMN board_rank;
ALTER TABLE patients ADD COLUMN board_rank INTEGER GENERATED ALWAYS AS (
    (CASE WHEN open_escalations > 0 THEN 0 ELSE 10 END)
    - max(COALESCE(episode_urgency, -1), COALESCE(last_urgency, -1))
) VIRTUAL;
CREATE INDEX patients_board ON patients (clinic_id, board_rank, COALESCE(last_checkin_at, '-infinity'), id);
