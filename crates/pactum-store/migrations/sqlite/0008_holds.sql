-- Pactum store, schema version 8 (SQLite): legal holds, and the erasures they (or statutory
-- retention) defer. Timestamps are INTEGER milliseconds since the Unix epoch (UTC); dates are
-- 'YYYY-MM-DD' text. See src/holds.rs.

-- A legal hold on a person's records. The person is kept only as SHA-256 of `KIND:VALUE`
-- (normalised value), as subject flags are: enough to match a request's identity, never the
-- identity in clear. `scope` is a JSON array of `datastore` or `datastore.collection` (empty:
-- every datastore). `reason` is free text (it may name the matter, or the person): it is shown to
-- the person whose erasure it defers, and never goes to the audit log.
CREATE TABLE legal_holds (
    id            INTEGER PRIMARY KEY,
    subject_key   TEXT    NOT NULL,
    identity_kind TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    placed_by     TEXT    NOT NULL,
    placed_at     INTEGER NOT NULL,
    released_at   INTEGER,
    released_by   TEXT
);
CREATE INDEX legal_holds_subject ON legal_holds (subject_key, released_at);

-- The part of a completed erasure that a hold or statutory retention deferred: the row changes
-- decided when the request ran (the path to these rows may be erased by the time they are
-- applied). **`plan` holds personal data** (the rows' keys and erased values): it is set to NULL
-- once applied, and applied rows are deleted by housekeeping. `collections` (a JSON array of
-- `datastore.collection`, names from the map) is what holds are matched against.
CREATE TABLE deferred_erasures (
    id              INTEGER PRIMARY KEY,
    request_id      INTEGER NOT NULL REFERENCES requests (id),
    subject_key     TEXT    NOT NULL,
    collections     TEXT    NOT NULL,
    plan            TEXT,
    reason          TEXT    NOT NULL CHECK (reason IN ('hold', 'retention')),
    hold_id         INTEGER REFERENCES legal_holds (id),
    due_on          TEXT,
    -- JSON object: datastore key -> what applying it changed (counts, never values).
    done_datastores TEXT    NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
);
CREATE INDEX deferred_erasures_hold ON deferred_erasures (hold_id);
