-- Scale-out: background runs queued until exactly one replica claims them
-- (FOR UPDATE SKIP LOCKED), cancel requests that reach the replica running
-- a run, and rate-limit hits every replica counts against.

-- Set when a stop was asked for a pending or running run (from any
-- replica); the run's writer never overwrites it, it reads it.
ALTER TABLE runs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT false;

-- Runs accepted but not yet started: `job` is the engine's work order.
-- Claiming a run deletes its row in the statement that makes the claimer
-- the run's owner. A queued run has no owner and is never orphaned.
CREATE TABLE run_queue (
    ord    BIGINT GENERATED ALWAYS AS IDENTITY,
    run_id TEXT PRIMARY KEY NOT NULL,
    job    JSONB NOT NULL
);
CREATE INDEX run_queue_ord ON run_queue (ord);

-- One row per counted request (sliding windows, database clock); old rows
-- are deleted as the key is counted again.
CREATE TABLE rate_hits (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX rate_hits_key ON rate_hits (key, at);
