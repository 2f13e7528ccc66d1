-- Pactum store, schema version 9: the corrections a rectification request asks for.
-- `corrections` is a JSON object, attribute (a field's `rectify` name in the data map) -> corrected
-- value, or NULL. It is personal data, like `identity_value` and `details`: never audited or logged.
ALTER TABLE requests ADD COLUMN corrections TEXT;
