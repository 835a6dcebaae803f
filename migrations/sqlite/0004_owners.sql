-- Sessions and runs have owners (the user who made them, within a tenant),
-- kept in the record's JSON as `owner: {tenant, user}`. Existing rows have
-- none: owned by no one, only admins see them. Listings narrow to a
-- caller's own by these expressions; the indexes keep that a seek.
CREATE INDEX sessions_owner ON sessions (
    json_extract(record, '$.owner.user'),
    json_extract(record, '$.owner.tenant'),
    created_at
);
CREATE INDEX runs_owner ON runs (
    json_extract(record, '$.owner.user'),
    json_extract(record, '$.owner.tenant'),
    created_at
);
