-- Pactum store, schema version 1 (SQLite): audit log, admin users, API tokens, login counters.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC).

-- The audit log: append-only and hash-chained (see docs/store.md).
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_kind TEXT,
    target_id   TEXT,
    details     TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);

-- The chain's head: the last entry's seq and hash. Appends lock it; verify compares it with the
-- last row, so deleting entries from the end is detected too.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Defence in depth: the application never updates or deletes audit rows, so refuse it outright.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    roles      TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

-- Failed logins per account key (SHA-256 of the normalised email), kept in the store so that a
-- lock-out survives restarts and holds across server instances.
CREATE TABLE login_attempts (
    account_key  TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER
);
