-- Sessions and runs have owners (the user who made them, within a tenant),
-- kept in the record's JSON as `owner: {tenant, user}`. Existing rows have
-- none: owned by no one, only admins see them. Listings narrow to a
-- caller's own by these expressions; the indexes keep that a seek. A record
-- that is not JSON (damage) reads as owned by no one rather than failing
-- the write that indexes it.
CREATE INDEX sessions_owned_by ON sessions (
    CASE WHEN json_valid(record) THEN json_extract(record, '$.owner.user') END,
    CASE WHEN json_valid(record) THEN json_extract(record, '$.owner.tenant') END,
    created_at
);
CREATE INDEX runs_owned_by ON runs (
    CASE WHEN json_valid(record) THEN json_extract(record, '$.owner.user') END,
    CASE WHEN json_valid(record) THEN json_extract(record, '$.owner.tenant') END,
    created_at
);
