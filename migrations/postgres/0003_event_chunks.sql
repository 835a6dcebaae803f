-- A run's events are written a flush at a time, and each flush is now one
-- row: a JSON array of consecutive events, the first numbered `first_seq`
-- and the last `last_seq` (as on SQLite). One row per event cost an insert,
-- three bound values and an index entry per token.
CREATE TABLE event_chunks (
    run_id    TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL,
    events    JSONB NOT NULL,      -- array of events first_seq..=last_seq
    PRIMARY KEY (run_id, first_seq)
);

-- Every stored event, kept: each old row becomes a chunk of one.
INSERT INTO event_chunks (run_id, first_seq, last_seq, events)
    SELECT run_id, seq, seq, jsonb_build_array(event) FROM events;

DROP TABLE events;
