-- A second factor for staff sign-in (issue 17): a TOTP secret (RFC 6238) per account, and
-- one-time recovery codes for a lost phone. The secret must stay readable to check a code, so
-- it is kept as is (the database files are private to the server's user); recovery codes are
-- random and kept only as digests.
-- totp_pending holds a secret being set up until its first code confirms it; totp_last_step is
-- the time step of the last code accepted, so a code cannot be used twice.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_pending TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step INTEGER;

CREATE TABLE staff_recovery_codes (
    staff_id   TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (staff_id, code_hash)
) STRICT;

-- Admins always need the second factor; a clinic can ask it of its clinicians too.
ALTER TABLE clinics ADD COLUMN clinician_second_factor INTEGER NOT NULL DEFAULT 0 CHECK (clinician_second_factor IN (0, 1));
