-- Background runs queued until a worker claims them, cancel requests for
-- runs in flight, and rate-limit hits counted in the database.

-- Set when a stop was asked for a pending or running run; the run's writer
-- never overwrites it (put_run leaves it alone), so the request cannot be
-- lost to a write that raced it.
ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;

-- Runs accepted but not yet started: `job` is the engine's work order
-- (opaque JSON). Claiming a run deletes its row.
CREATE TABLE run_queue (
    ord    INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    job    TEXT NOT NULL
);

-- One row per counted request (sliding windows); old rows are deleted as
-- the key is counted again.
CREATE TABLE rate_hits (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL            -- Unix milliseconds
);
CREATE INDEX rate_hits_key ON rate_hits (key, at);
