-- Staff administration (issue 15): an admin deactivates an account (its sessions end, it can no
-- longer sign in) and reactivates it, changes its role, or gives its owner a one-time link to set
-- a new password (only the link's digest is stored; it expires and works once).
ALTER TABLE staff ADD COLUMN deactivated_at TEXT;

CREATE TABLE staff_password_resets (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;
CREATE INDEX staff_password_resets_staff ON staff_password_resets (staff_id);
