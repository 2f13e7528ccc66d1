-- Pactum store, schema version 3 (SQLite): admin console sign-in sessions.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC).

-- One row per sign-in. The cookie carries a random secret; only its SHA-256 is stored, so a copy of
-- the database cannot be used to sign in. A session ends at `expires_at`, after `idle_timeout_ms`
-- without use, or when `revoked_at` is set (sign-out).
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    token_hash      TEXT    NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    idle_timeout_ms INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);
