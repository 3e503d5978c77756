-- The board's sort key without NULLs, so a page can start after a row with one index seek
-- (keyset paging). '-infinity' is earlier than any time, as NULLS FIRST was.
DROP INDEX patients_board;
CREATE INDEX patients_board ON patients (clinic_id, board_rank, (COALESCE(last_checkin_at, '-infinity')), id);
