-- Pactum store, schema version 2 (SQLite): the durable job queue and recurring schedules.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC). See docs/jobs.md.

-- One row per job. A job is claimable when it is queued or failed (waiting for a retry) and its
-- run_at has come, or when it is running and its lease (locked_until) has expired.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    -- JSON text: internal ids and parameters, never personal data.
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),
    run_at          INTEGER NOT NULL,
    -- Claims so far (a claim after an expired lease counts): identifies the current claim.
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL CHECK (max_attempts >= 1),
    locked_by       TEXT,
    locked_until    INTEGER,
    last_error      TEXT,
    -- Enqueueing a second job with the same key returns the first instead.
    idempotency_key TEXT    UNIQUE,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX jobs_claimable ON jobs (status, run_at);

-- Recurring schedules: the scheduler enqueues one job per slot (next_run_at), with the idempotency
-- key `schedule:NAME:SLOT`, so several instances enqueue each slot once.
CREATE TABLE schedules (
    name             TEXT    PRIMARY KEY,
    kind             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    interval_seconds INTEGER NOT NULL CHECK (interval_seconds >= 1),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    next_run_at      INTEGER NOT NULL
);
