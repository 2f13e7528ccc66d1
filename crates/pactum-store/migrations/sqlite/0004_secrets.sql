-- Pactum store, schema version 4 (SQLite): secrets encrypted at rest.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC).

-- One row per secret, sealed by envelope encryption (see src/secrets.rs): `ciphertext` is the value
-- sealed with the secret's own data key, `wrapped_key` that data key sealed with the
-- key-encryption key (KEK), both XChaCha20-Poly1305 with the random nonce in front and the name as
-- associated data. The KEK is never stored here; `key_id` (the first 4 bytes of its SHA-256, hex)
-- says which KEK opens `wrapped_key`. Deleting a row shreds the secret.
CREATE TABLE secrets (
    name        TEXT    PRIMARY KEY,
    format      INTEGER NOT NULL,
    key_id      TEXT    NOT NULL,
    wrapped_key BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
);
