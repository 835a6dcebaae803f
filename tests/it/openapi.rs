//! The checked-in OpenAPI document is the one the binary generates, and the
//! served one is the same: regenerate with
//! `cargo run -- openapi --output openapi/openapi.json` when this fails.

use crate::common::{TestServer, config_with, get_json};

#[test]
fn checked_in_openapi_is_current() {
    let generated = agentd::openapi().to_pretty_json().expect("render") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == on_disk,
        "openapi/openapi.json is stale: run `cargo run -- openapi --output openapi/openapi.json`"
    );
}

#[tokio::test]
async fn served_document_lists_every_route() {
    let server = TestServer::start(&config_with("")).await;
    let doc: serde_json::Value = get_json(&server.client, server.url("/openapi.json")).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health",
        "/agents",
        "/agents/{agent_id}",
        "/agents/{agent_id}/runs",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert_eq!(doc, serde_json::to_value(agentd::openapi()).unwrap());
}
