-- The clinic's telephone numbers, shown as tel: links on every answer that asks a patient to
-- call: the number in opening hours, the number at other times, and a crisis line for mood.
ALTER TABLE clinics ADD COLUMN phone TEXT;
ALTER TABLE clinics ADD COLUMN out_of_hours_phone TEXT;
ALTER TABLE clinics ADD COLUMN crisis_line TEXT;
