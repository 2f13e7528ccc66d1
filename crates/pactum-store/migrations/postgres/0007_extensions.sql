-- Pactum store, schema version 7 (PostgreSQL): extensions of a request's deadline.
-- Timestamps are milliseconds since the Unix epoch (UTC); dates are 'YYYY-MM-DD' text.

-- At most one extension per request (the laws allow one). `reason` is what the person was told;
-- it may name them, so it never goes to the audit log.
CREATE TABLE request_extensions (
    request_id   BIGINT PRIMARY KEY REFERENCES requests (id),
    extended_at  BIGINT NOT NULL,
    previous_due TEXT    NOT NULL,
    new_due      TEXT    NOT NULL,
    reason       TEXT    NOT NULL
);
