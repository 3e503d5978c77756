-- Alerts that reach a person (issue 14).
--
-- The clinic: its own emergency number (else the server's), its time zone (times on pages and
-- the "which number now" choice), how long an emergency or urgent escalation may stay
-- unacknowledged before the clinic is alerted again, and whether alerts may name the patient.
ALTER TABLE clinics ADD COLUMN emergency_number TEXT;
ALTER TABLE clinics ADD COLUMN time_zone TEXT;
ALTER TABLE clinics ADD COLUMN open_from INTEGER CHECK (open_from BETWEEN 0 AND 23);
ALTER TABLE clinics ADD COLUMN open_until INTEGER CHECK (open_until BETWEEN 1 AND 24);
ALTER TABLE clinics ADD COLUMN open_weekdays INTEGER NOT NULL DEFAULT 31 CHECK (open_weekdays BETWEEN 0 AND 127);
ALTER TABLE clinics ADD COLUMN realert_emergency_minutes INTEGER NOT NULL DEFAULT 15 CHECK (realert_emergency_minutes BETWEEN 1 AND 1440);
ALTER TABLE clinics ADD COLUMN realert_urgent_minutes INTEGER NOT NULL DEFAULT 120 CHECK (realert_urgent_minutes BETWEEN 1 AND 1440);
ALTER TABLE clinics ADD COLUMN alert_names BOOLEAN NOT NULL DEFAULT FALSE;

-- An escalation carries its own alert schedule, written by the same INSERT that raises it: the
-- clinic is due an alert at `next_alert_at` (round 0 when raised, then each re-alert), until it
-- is acknowledged. The delivery worker turns a due alert into outbox messages.
ALTER TABLE escalations ADD COLUMN alert_round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE escalations ADD COLUMN next_alert_at TIMESTAMPTZ;
-- Escalations still open when this migration runs are due their first alert now: they were
-- raised before anyone could be alerted, and nobody has acknowledged them.
UPDATE escalations SET next_alert_at = raised_at WHERE acknowledged_at IS NULL;
CREATE INDEX escalations_alert_due ON escalations (next_alert_at)
    WHERE next_alert_at IS NOT NULL AND acknowledged_at IS NULL;

-- Where a clinic's alerts go: an email address or a webhook URL, for escalations at `min_level`
-- or above. Re-alerts go to the next tier when there is one.
CREATE TABLE alert_targets (
    id          TEXT PRIMARY KEY,
    clinic_id   TEXT NOT NULL REFERENCES clinics (id),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    address     TEXT NOT NULL,
    -- The webhook's signing secret (Standard Webhooks, `whsec_` + base64); NULL for email.
    secret      TEXT,
    min_level   TEXT NOT NULL CHECK (min_level IN ('emergency', 'urgent', 'soon', 'self_care')),
    tier        INTEGER NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 9),
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (clinic_id, channel, address)
);

-- Every email and webhook Aftercare sends, written in the unit of work that calls for it and
-- delivered by the worker. A claimed message is leased (`next_attempt_at` moves into the future
-- and `attempts` goes up) in a commit of its own, so a worker that dies mid-send leaves it due
-- again when the lease ends; its id is the `webhook-id` and the email's Message-ID, so a
-- receiver can drop the rare second copy.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    clinic_id       TEXT NOT NULL REFERENCES clinics (id),
    escalation_id   TEXT REFERENCES escalations (id),
    patient_id      TEXT REFERENCES patients (id),
    target_id       TEXT REFERENCES alert_targets (id) ON DELETE SET NULL,
    purpose         TEXT NOT NULL CHECK (purpose IN ('alert', 'realert', 'test', 'reminder', 'reply')),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    address         TEXT NOT NULL,
    payload         JSONB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_clinic ON outbox (clinic_id, created_at);

-- A patient's email, given with her consent, for a daily diary reminder at the hour she picks
-- (in her time zone) and "your clinic has replied". `emails_stopped_at`: she unsubscribed.
ALTER TABLE patients ADD COLUMN email TEXT;
ALTER TABLE patients ADD COLUMN reminder_hour INTEGER CHECK (reminder_hour BETWEEN 0 AND 23);
ALTER TABLE patients ADD COLUMN time_zone TEXT;
ALTER TABLE patients ADD COLUMN unsubscribe_token TEXT;
ALTER TABLE patients ADD COLUMN emails_stopped_at TIMESTAMPTZ;
ALTER TABLE patients ADD COLUMN last_reminded_on DATE;
CREATE UNIQUE INDEX patients_unsubscribe ON patients (unsubscribe_token) WHERE unsubscribe_token IS NOT NULL;
