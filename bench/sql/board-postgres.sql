-- The patient board at scale, seeded straight into PostgreSQL (bench/suite.sh): the same rows
-- as board-sqlite.sql, in the types of crates/store/migrations/postgres/..._initial.sql.
-- Run with psql -v clinic=... -v patients=... -v days=...
SET synchronous_commit = off;
BEGIN;
INSERT INTO patients (id, clinic_id, display_name, enrolment_code, link_token, procedure,
    procedure_date, delivery_date, language, last_level, last_checkin_at, open_escalations,
    unread_messages, created_at)
SELECT format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')), :'clinic', 'Patient ' || i,
    format('B%s', lpad(i::text, 9, '0')), lpad(i::text, 64, '0'), 'labour_epidural',
    current_date - (100 + i % 200), current_date - (100 + i % 200), 'en',
    CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN 'emergency' WHEN 2 THEN 'urgent'
        WHEN 3 THEN 'soon' ELSE 'self_care' END,
    CASE WHEN i % 10 = 0 THEN NULL ELSE now() - make_interval(mins => i % 50000) END,
    CASE WHEN i % 97 = 0 THEN 1 ELSE 0 END, i % 3,
    now() - interval '300 days'
FROM generate_series(0, :patients - 1) AS i;
INSERT INTO diary_entries (patient_id, day, version, pain, facts, note, recorded_at)
SELECT format('00000000-0000-4000-8000-%s', lpad(p::text, 12, '0')),
    current_date - (100 + p % 200) + d, 1, (p + d) % 11, '{"pain_course":"improving"}'::jsonb,
    NULL, (current_date - (100 + p % 200) + d)::timestamptz
FROM generate_series(0, :patients - 1) AS p, generate_series(0, :days - 1) AS d;
COMMIT;
ANALYZE patients;
ANALYZE diary_entries;
