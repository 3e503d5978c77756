-- The workspace in the language a member of staff prefers (issue 15): a language code of the
-- content ("en", "es"), or NULL to follow the browser's language.
ALTER TABLE staff ADD COLUMN language TEXT;
