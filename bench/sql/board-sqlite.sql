-- The patient board at scale, seeded straight into SQLite (bench/suite.sh): :patients patients
-- of clinic :clinic, :days diary entries each. Rows are shaped as the store writes them
-- (crates/store/migrations/sqlite/..._initial.sql): RFC 3339 UTC text with +00:00 for times,
-- a whole second written with no fraction as sqlx does (board cursors compare times as text),
-- YYYY-MM-DD for days, the denormalised board columns filled in (a tenth of patients without
-- a check-in, about 1% with an open escalation, levels spread).
-- bench/suite.sh replaces :clinic, :patients and :days before running it.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :patients)
INSERT INTO patients (id, clinic_id, display_name, enrolment_code, link_token, procedure,
    procedure_date, delivery_date, language, last_level, last_checkin_at, open_escalations,
    unread_messages, created_at)
SELECT printf('00000000-0000-4000-8000-%012d', i), :clinic, 'Patient ' || i,
    printf('B%09d', i), printf('%064d', i), 'labour_epidural',
    date('now', '-' || (100 + i % 200) || ' days'),
    date('now', '-' || (100 + i % 200) || ' days'), 'en',
    CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN 'emergency' WHEN 2 THEN 'urgent'
        WHEN 3 THEN 'soon' ELSE 'self_care' END,
    CASE WHEN i % 10 = 0 THEN NULL
        ELSE strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || (i % 50000) || ' minutes')
            || '+00:00' END,
    CASE WHEN i % 97 = 0 THEN 1 ELSE 0 END, i % 3,
    strftime('%Y-%m-%dT%H:%M:%S', 'now', '-300 days') || '+00:00'
FROM n;
-- In primary-key order (patient, day), so the WITHOUT ROWID table is appended to, not split.
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :patients * :days)
INSERT INTO diary_entries (patient_id, day, version, pain, facts, note, recorded_at)
SELECT printf('00000000-0000-4000-8000-%012d', i / :days),
    date('now', '-' || (100 + (i / :days) % 200) || ' days', '+' || (i % :days) || ' days'),
    1, i % 11, '{"pain_course":"improving"}', NULL,
    strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || (100 + (i / :days) % 200) || ' days',
        '+' || (i % :days) || ' days') || '+00:00'
FROM n;
COMMIT;
PRAGMA journal_mode = WAL;
ANALYZE;
