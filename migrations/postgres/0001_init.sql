-- agentd's PostgreSQL schema: the SQLite schema (migrations/sqlite/) ported,
-- plus the lease columns that let several replicas share one database.
--
-- Each record is kept whole as JSONB next to copies of the fields queries
-- filter and sort on. No foreign keys: the store deletes a session's runs
-- and events itself, in one transaction.

CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY NOT NULL,
    agent_id   TEXT,
    user_id    TEXT,
    name       TEXT,
    created_at BIGINT NOT NULL,   -- Unix milliseconds
    updated_at BIGINT NOT NULL,
    record     JSONB NOT NULL     -- SessionRecord
);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_agent ON sessions (agent_id, created_at);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

CREATE TABLE runs (
    -- Insertion order (an upsert keeps it): breaks ties between runs
    -- created in the same millisecond, as SQLite's rowid does.
    ord          BIGINT GENERATED ALWAYS AS IDENTITY,
    run_id       TEXT PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL,
    agent_id     TEXT NOT NULL,
    user_id      TEXT,
    status       TEXT NOT NULL,   -- pending, running, awaiting, completed, failed, cancelled
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    record       JSONB NOT NULL,  -- RunRecord
    -- The replica that last wrote the run, and when it last said it is
    -- alive (database clock, Unix milliseconds). An in-flight run whose
    -- heartbeat is older than the lease belongs to a replica that is gone.
    owner        TEXT,
    heartbeat_at BIGINT NOT NULL
);
CREATE INDEX runs_session ON runs (session_id, created_at);
CREATE INDEX runs_agent ON runs (agent_id, created_at);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_owner ON runs (owner);

-- Append-only: (run_id, seq) is written once and never rewritten.
CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    event  JSONB NOT NULL,        -- Event
    PRIMARY KEY (run_id, seq)
);

-- Small facts about the database itself (and the start-up write check).
CREATE TABLE agentd_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
