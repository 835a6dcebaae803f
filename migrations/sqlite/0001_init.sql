-- agentd's schema: sessions, runs and their event logs.
--
-- Each record is kept whole as JSON (the Rust type is the schema of record);
-- the columns beside it are copies of the fields that queries filter and
-- sort on. Types and statements are chosen to port unchanged to PostgreSQL
-- (TEXT -> TEXT/JSONB, BIGINT, upserts with ON CONFLICT). No foreign keys:
-- the store deletes a session's runs and events itself, in one transaction.

CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY NOT NULL,
    agent_id   TEXT,
    user_id    TEXT,
    name       TEXT,
    created_at BIGINT NOT NULL,   -- Unix milliseconds
    updated_at BIGINT NOT NULL,
    record     TEXT NOT NULL      -- SessionRecord as JSON
);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_agent ON sessions (agent_id, created_at);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

CREATE TABLE runs (
    run_id     TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    user_id    TEXT,
    status     TEXT NOT NULL,     -- pending, running, awaiting, completed, failed, cancelled
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    record     TEXT NOT NULL      -- RunRecord as JSON
);
-- Listings order by (created_at, rowid): rowid, SQLite's insertion order,
-- breaks ties between runs created in the same millisecond (PostgreSQL: an
-- identity column).
CREATE INDEX runs_session ON runs (session_id, created_at);
CREATE INDEX runs_agent ON runs (agent_id, created_at);
CREATE INDEX runs_status ON runs (status);

-- Append-only: (run_id, seq) is written once and never rewritten.
CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    event  TEXT NOT NULL,         -- Event as JSON
    PRIMARY KEY (run_id, seq)
);

-- Small facts about the database itself (and the start-up write check).
CREATE TABLE agentd_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
