-- Aftercare initial schema, SQLite dialect.
-- Keep in step with ../postgres/20250101000001_initial.sql (same tables,
-- columns, constraints and indexes; only the dialect differs).
-- Times are RFC 3339 UTC text (sortable), days are YYYY-MM-DD text,
-- JSON is text, booleans are 0/1.

CREATE TABLE clinics (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL CONSTRAINT clinics_slug_key UNIQUE,
    name          TEXT NOT NULL,
    opening_hours TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    clinic_id     TEXT NOT NULL REFERENCES clinics (id),
    email         TEXT NOT NULL CONSTRAINT staff_email_key UNIQUE CHECK (email = lower(email)),
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'clinician')),
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX staff_clinic ON staff (clinic_id);

CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

CREATE TABLE patients (
    id               TEXT PRIMARY KEY,
    clinic_id        TEXT NOT NULL REFERENCES clinics (id),
    display_name     TEXT NOT NULL,
    enrolment_code   TEXT NOT NULL CONSTRAINT patients_enrolment_code_key UNIQUE,
    link_token       TEXT NOT NULL CONSTRAINT patients_link_token_key UNIQUE,
    procedure        TEXT NOT NULL,
    procedure_date   TEXT NOT NULL,
    delivery_date    TEXT,
    language         TEXT NOT NULL,
    last_level       TEXT CHECK (last_level IN ('emergency', 'urgent', 'soon', 'self_care')),
    last_checkin_at  TEXT,
    -- Denormalised, kept in the same transaction as the rows they count,
    -- so the board never counts 10 million rows.
    open_escalations INTEGER NOT NULL DEFAULT 0,
    unread_messages  INTEGER NOT NULL DEFAULT 0,
    -- Board order: open escalations first, then level, then none.
    board_rank       INTEGER GENERATED ALWAYS AS (
        (CASE WHEN open_escalations > 0 THEN 0 ELSE 10 END)
        + (CASE last_level WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1
                           WHEN 'soon' THEN 2 WHEN 'self_care' THEN 3 ELSE 4 END)
    ) STORED,
    created_at       TEXT NOT NULL
) STRICT;
CREATE INDEX patients_board ON patients (clinic_id, board_rank, last_checkin_at, id);

CREATE TABLE checkins (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL REFERENCES patients (id),
    answers         TEXT NOT NULL,
    decision        TEXT NOT NULL,
    level           TEXT NOT NULL CHECK (level IN ('emergency', 'urgent', 'soon', 'self_care')),
    status          TEXT NOT NULL,
    content_version TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX checkins_patient ON checkins (patient_id, created_at);
CREATE TRIGGER checkins_immutable BEFORE UPDATE ON checkins
BEGIN
    SELECT RAISE(ABORT, 'checkins are never rewritten');
END;

CREATE TABLE checkin_sessions (
    id                   TEXT PRIMARY KEY,
    patient_id           TEXT REFERENCES patients (id),
    answers              TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    completed_checkin_id TEXT REFERENCES checkins (id)
) STRICT;

-- One row per version; the current entry is the highest version.
CREATE TABLE diary_entries (
    patient_id  TEXT NOT NULL REFERENCES patients (id),
    day         TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    pain        INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10),
    facts       TEXT NOT NULL,
    note        TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (patient_id, day, version)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER diary_entries_keep_versions BEFORE UPDATE ON diary_entries
BEGIN
    SELECT RAISE(ABORT, 'diary versions are never rewritten');
END;

CREATE TABLE escalations (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL REFERENCES patients (id),
    level           TEXT NOT NULL CHECK (level IN ('emergency', 'urgent', 'soon', 'self_care')),
    reason          TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('checkin', 'diary')),
    source_ref      TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    acknowledged_by TEXT REFERENCES staff (id),
    acknowledged_at TEXT,
    ack_note        TEXT
) STRICT;
CREATE INDEX escalations_patient ON escalations (patient_id, raised_at);
CREATE INDEX escalations_open ON escalations (patient_id) WHERE acknowledged_at IS NULL;

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    sender     TEXT NOT NULL CHECK (sender IN ('patient', 'staff')),
    staff_id   TEXT REFERENCES staff (id),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at    TEXT,
    CHECK (sender = 'staff' OR staff_id IS NULL)
) STRICT;
CREATE INDEX messages_thread ON messages (patient_id, id);
CREATE INDEX messages_unread ON messages (patient_id, sender) WHERE read_at IS NULL;

CREATE TABLE contact_requests (
    id         TEXT PRIMARY KEY,
    clinic_id  TEXT NOT NULL REFERENCES clinics (id),
    name       TEXT NOT NULL,
    contact    TEXT NOT NULL,
    message    TEXT NOT NULL,
    consent    INTEGER NOT NULL CHECK (consent IN (0, 1)),
    created_at TEXT NOT NULL,
    handled_by TEXT REFERENCES staff (id),
    handled_at TEXT,
    reply_note TEXT
) STRICT;
CREATE INDEX contact_requests_clinic ON contact_requests (clinic_id, created_at);

CREATE TABLE announcements (
    id         TEXT PRIMARY KEY,
    clinic_id  TEXT NOT NULL REFERENCES clinics (id),
    text_en    TEXT NOT NULL,
    text_es    TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT,
    created_by TEXT NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX announcements_clinic ON announcements (clinic_id, starts_at);

-- Append-only: no foreign keys (entries outlive what they mention), and
-- triggers refuse every UPDATE and DELETE.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('staff', 'patient', 'system', 'ehr', 'anonymous')),
    actor_id   TEXT,
    action     TEXT NOT NULL,
    patient_id TEXT,
    clinic_id  TEXT,
    address    TEXT,
    detail     TEXT
) STRICT;
CREATE INDEX audit_log_clinic ON audit_log (clinic_id, at);
CREATE INDEX audit_log_patient ON audit_log (patient_id, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE cds_feedback (
    id              TEXT PRIMARY KEY,
    service_id      TEXT NOT NULL,
    card_id         TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
    override_reason TEXT,
    at              TEXT NOT NULL
) STRICT;
CREATE INDEX cds_feedback_service ON cds_feedback (service_id, at);

CREATE TABLE jwt_replay (
    jti        TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX jwt_replay_expiry ON jwt_replay (expires_at);
