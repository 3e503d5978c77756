-- One row that readiness checks rewrite: a store that answers reads but cannot write (a
-- read-only data directory, a full disk) is not ready.
CREATE TABLE write_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
