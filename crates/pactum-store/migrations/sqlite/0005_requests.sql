-- Pactum store, schema version 5 (SQLite): data-subject requests as the server receives them.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC); deadlines are 'YYYY-MM-DD' text
-- computed by the caller (so they sort as text). See src/requests.rs.

-- One row per request. The identity value is kept in clear (the request is executed with it) but
-- never copied into the audit log; `subject_key` is the SHA-256 of 'kind:normalised value'.
-- `public_id` (dsr_...) is unguessable: it is the person's capability for the status page.
CREATE TABLE requests (
    id                 INTEGER PRIMARY KEY,
    public_id          TEXT    NOT NULL UNIQUE,
    kind               TEXT    NOT NULL,
    -- JSON array of regime names.
    regimes            TEXT    NOT NULL,
    identity_kind      TEXT    NOT NULL CHECK (identity_kind IN ('email', 'phone')),
    identity_value     TEXT    NOT NULL,
    subject_key        TEXT    NOT NULL,
    channel            TEXT    NOT NULL CHECK (channel IN ('privacy_centre', 'api', 'admin')),
    details            TEXT,
    status             TEXT    NOT NULL
        CHECK (status IN ('unverified', 'verified', 'approved', 'completed', 'rejected')),
    received_on        TEXT    NOT NULL,
    acknowledge_by     TEXT,
    legal_due          TEXT    NOT NULL,
    extended_due       TEXT,
    promised_due       TEXT,
    due_on             TEXT    NOT NULL,
    due_regime         TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    verified_at        INTEGER,
    decided_at         INTEGER,
    -- The deciding actor's stored form (user:ID, token:ID, cli, system).
    decided_by         TEXT,
    decision_reason    TEXT,
    completed_at       INTEGER,
    -- JSON summary written at completion.
    outcome            TEXT,
    package_expires_at INTEGER
);
CREATE INDEX requests_listing ON requests (status, due_on, id);
CREATE INDEX requests_subject ON requests (subject_key);

-- The live verification of an unverified request: SHA-256 of 'REQUEST_ID:CODE' and of the link
-- token, never the code or token. A resend replaces the row (the old code and link stop working).
CREATE TABLE request_verifications (
    request_id INTEGER PRIMARY KEY REFERENCES requests (id),
    code_hash  TEXT    NOT NULL,
    link_hash  TEXT    NOT NULL UNIQUE,
    -- Wrong codes entered so far.
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- The downloadable result of a completed request. Only the SHA-256 of the download token is kept;
-- past `expires_at` housekeeping empties `bytes` and sets `purged_at`.
CREATE TABLE request_packages (
    request_id INTEGER PRIMARY KEY REFERENCES requests (id),
    token_hash TEXT    NOT NULL UNIQUE,
    bytes      BLOB    NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    purged_at  INTEGER
);
CREATE INDEX request_packages_expiry ON request_packages (expires_at);

-- Standing choices of a person (restriction, objection, opt-outs, withdrawn consent), keyed by the
-- SHA-256 of 'identity kind:normalised value', never the value itself.
CREATE TABLE subject_flags (
    subject_key TEXT    NOT NULL,
    flag        TEXT    NOT NULL CHECK (flag IN ('restriction', 'objection', 'opt_out_sale_sharing',
                                                 'limit_sensitive', 'consent_withdrawn')),
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    set_at      INTEGER NOT NULL,
    PRIMARY KEY (subject_key, flag)
);

-- Fixed-window rate-limit counters, kept in the store so they hold across restarts and instances.
-- `bucket` names what is counted with a hash, never an address (request:id:SHA256, request:ip:...,
-- verify:ip:...); `expires_at` is the window's end, for housekeeping.
CREATE TABLE rate_limits (
    bucket       TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
