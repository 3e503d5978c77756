-- The board's sort key without NULLs, so a page can start after a row with one index seek
-- (keyset paging). '-infinity' sorts before any stored time, as NULLS FIRST did.
DROP INDEX patients_board;
CREATE INDEX patients_board ON patients (clinic_id, board_rank, COALESCE(last_checkin_at, '-infinity'), id);
