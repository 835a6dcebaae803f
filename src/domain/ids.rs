//! Ids and timestamps every record carries.

/// A new run, session, message or call id: a UUID whose first bits are the
/// time (version 7), so ids made together sort together. Stores index runs,
/// sessions and events by these ids; random (version 4) ids put each new
/// row on a page of its own anywhere in those indexes, and SQLite then
/// rewrote every such page on every commit (bench row 1: ~78 KB written to
/// disk per run).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Unix milliseconds now: every timestamp a record or event carries.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
