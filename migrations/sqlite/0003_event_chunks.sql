-- A run's events are written a flush at a time, and each flush is now one
-- row: a JSON array of consecutive events, the first numbered `first_seq`
-- and the last `last_seq`. One row per event cost a b-tree insert, three
-- bound values and an index entry per token (a 10-token run wrote 13 rows).
CREATE TABLE event_chunks (
    run_id    TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL,
    events    TEXT NOT NULL,       -- JSON array of events first_seq..=last_seq
    PRIMARY KEY (run_id, first_seq)
);

-- Every stored event, kept: each old row becomes a chunk of one.
INSERT INTO event_chunks (run_id, first_seq, last_seq, events)
    SELECT run_id, seq, seq, '[' || event || ']' FROM events;

DROP TABLE events;
