-- Attempt counts for the limits on guessable things (staff sign-in, enrolment codes, the
-- contact form), kept in the database so that several servers on one PostgreSQL database
-- share them (issue 17). One row per limit, key and fixed window (window_start in Unix
-- seconds); a limit reads its current and previous windows together as a sliding window.
-- Rows are deleted once expires_at (Unix seconds) has passed.
CREATE TABLE throttle_windows (
    bucket       TEXT NOT NULL,
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (bucket, key, window_start)
);
CREATE INDEX throttle_windows_expiry ON throttle_windows (expires_at);
