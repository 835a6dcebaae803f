//! Unit tests of the PostgreSQL store's pure parts (payload parsing, URL
//! redaction). What needs a database is in tests/it/postgres.rs.
//!
//! Must never need a database, a network or the engine.

use super::redact;
use super::signals::parse_signal;
use crate::store::StoreSignal;

#[test]
fn notification_payloads_become_signals() {
    assert!(matches!(parse_signal("e:r1"), Some(StoreSignal::Events(id)) if id == "r1"));
    assert!(matches!(parse_signal("c:r2"), Some(StoreSignal::Cancel(id)) if id == "r2"));
    assert!(matches!(parse_signal("q"), Some(StoreSignal::Queued)));
    assert!(parse_signal("x:r3").is_none());
    assert!(parse_signal("").is_none());
}

#[test]
fn redact_hides_the_password_only() {
    let shown = redact("postgres://agentd:secret@db.example:5432/agentd");
    assert!(!shown.contains("secret"));
    assert!(shown.contains("agentd:***@db.example:5432/agentd"));
    assert_eq!(redact("not a url"), "(unparsable postgres URL)");
}
