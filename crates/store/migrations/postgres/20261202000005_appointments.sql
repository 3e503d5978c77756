-- Appointment requests (issue 15): from a "soon" or "self_care" decision a patient asks her
-- clinic for an appointment with the kind of clinician it names (`kind`, an action id of the
-- content) and says which times suit her; the clinic proposes or confirms a time; she can
-- accept a proposal or cancel. A confirmed appointment is reminded by email the day before.
CREATE TABLE appointments (
    id          TEXT PRIMARY KEY,
    clinic_id   TEXT NOT NULL REFERENCES clinics (id),
    patient_id  TEXT NOT NULL REFERENCES patients (id),
    kind        TEXT NOT NULL,
    preferred   TEXT NOT NULL,
    -- The check-in whose decision she asked from, when there was one.
    checkin_id  TEXT REFERENCES checkins (id),
    status      TEXT NOT NULL DEFAULT 'requested'
                CHECK (status IN ('requested', 'proposed', 'confirmed', 'cancelled')),
    starts_at   TIMESTAMPTZ,
    -- How long the clinic booked it for.
    minutes     INTEGER CHECK (minutes IS NULL OR minutes BETWEEN 5 AND 480),
    clinic_note TEXT,
    handled_by  TEXT REFERENCES staff (id),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    reminded_at TIMESTAMPTZ
);
CREATE INDEX appointments_clinic ON appointments (clinic_id, created_at);
CREATE INDEX appointments_patient ON appointments (patient_id, created_at);
CREATE INDEX appointments_reminder_due ON appointments (starts_at)
    WHERE status = 'confirmed' AND reminded_at IS NULL;

-- A contact request sent by a signed-in patient belongs to her record.
ALTER TABLE contact_requests ADD COLUMN patient_id TEXT REFERENCES patients (id);
CREATE INDEX contact_requests_patient ON contact_requests (patient_id) WHERE patient_id IS NOT NULL;
