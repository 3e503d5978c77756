-- A patient's signed-in browser: a random session token (only its SHA-256 is kept), so signing
-- out ends it and a cookie is no longer the permanent link token.
CREATE TABLE patient_sessions (
    token_hash TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX patient_sessions_patient ON patient_sessions (patient_id);
CREATE INDEX patient_sessions_expiry ON patient_sessions (expires_at);
