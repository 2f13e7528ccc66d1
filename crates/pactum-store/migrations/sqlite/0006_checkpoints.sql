-- Pactum store, schema version 6 (SQLite): checkpoints of request execution, so that a request
-- interrupted half-way (the server killed, a datastore down) finishes where it stopped.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC). See src/checkpoints.rs.

-- The erasure plan of an approved request, stored before its first datastore is changed: the row
-- changes to make in each datastore, decided once (a retry could not decide them again: the values
-- that led from one datastore to the next are erased by then). The plan holds personal data (the
-- keys of the person's rows and their erased values): it is deleted in the transaction that
-- completes the request.
CREATE TABLE request_plans (
    request_id INTEGER PRIMARY KEY REFERENCES requests (id),
    -- JSON.
    plan       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- One row per datastore of a plan whose changes are committed, with what they changed (JSON
-- counts by collection, never row values). Deleted with the plan.
CREATE TABLE request_steps (
    request_id INTEGER NOT NULL REFERENCES request_plans (request_id),
    datastore  TEXT    NOT NULL,
    -- JSON.
    result     TEXT    NOT NULL,
    done_at    INTEGER NOT NULL,
    PRIMARY KEY (request_id, datastore)
);
