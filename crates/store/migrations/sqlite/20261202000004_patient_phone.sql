-- A patient's telephone number, taken at enrolment (optional) and editable by the clinic, so a
-- clinician can call her back from her page.
ALTER TABLE patients ADD COLUMN phone TEXT;
