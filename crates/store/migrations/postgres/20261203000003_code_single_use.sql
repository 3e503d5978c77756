-- An enrolment code works once, and only for a while after it was issued: when it was issued
-- (NULL: with the patient, at created_at) and when it was used.
ALTER TABLE patients ADD COLUMN code_issued_at TIMESTAMPTZ;
ALTER TABLE patients ADD COLUMN code_used_at TIMESTAMPTZ;
