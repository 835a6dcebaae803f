-- Sessions and runs have owners (the user who made them, within a tenant),
-- kept in the record as `owner: {tenant, user}` (the `owner` column of
-- runs is something else: the replica that writes the run). Existing rows
-- have none: owned by no one, only admins see them. Listings narrow to a
-- caller's own by these expressions; the indexes keep that a seek.
CREATE INDEX sessions_owner ON sessions (
    (record #>> '{owner,user}'),
    (record #>> '{owner,tenant}'),
    created_at
);
CREATE INDEX runs_owner ON runs (
    (record #>> '{owner,user}'),
    (record #>> '{owner,tenant}'),
    created_at
);
