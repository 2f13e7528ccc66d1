-- Pactum store, schema version 10: the manual tasks of a request (systems with no connector),
-- done by people and recorded in the console. A request with open tasks is not completed.
-- `note` is what the person who did it wrote (it may name someone): never audited or logged.
CREATE TABLE request_tasks (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES requests (id),
    datastore    TEXT NOT NULL,
    instructions TEXT,
    created_at   INTEGER NOT NULL,
    done_at      INTEGER,
    done_by      TEXT,
    note         TEXT,
    UNIQUE (request_id, datastore)
);
