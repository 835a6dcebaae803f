//! Agent cards: the server's (every agent and team a skill, at
//! `/.well-known/agent-card.json`) and each agent's or team's (at
//! `/a2a/{id}/.well-known/agent-card.json`), one document for A2A 1.0 and
//! 0.3 clients alike.
//!
//! Depends on the wire types and the engine's agent and team configs only.

use axum::http::HeaderMap;
use serde_json::json;

use super::error::A2aError;
use super::v1;
use super::wire::{self, AgentCard, AgentInterface};
use crate::engine::Principal;
use crate::web::AppState;
use crate::web::base_url;

/// Where each version and binding answers. JSON-RPC 1.0 and 0.3 share
/// one URL (the version is chosen per request); HTTP+JSON 1.0 paths hang
/// under an agent's base. The server's own endpoint has JSON-RPC only:
/// under `/a2a` the REST paths would take the place of agents named
/// `tasks` or `message:send`.
fn interfaces(url: &str, rest: bool) -> Vec<AgentInterface> {
    let at = |binding, version| AgentInterface {
        url: url.to_string(),
        protocol_binding: binding,
        protocol_version: version,
    };
    let mut out = vec![at("JSONRPC", v1::PROTOCOL_VERSION)];
    if rest {
        out.push(at("HTTP+JSON", v1::PROTOCOL_VERSION));
    }
    out.push(at("JSONRPC", "0.3"));
    out
}

fn card_base(
    state: &AppState,
    name: String,
    description: String,
    url: String,
    rest: bool,
) -> AgentCard {
    let auth = &state.config().auth;
    let secured = auth.enabled();
    let oidc = auth.jwt.as_ref().map(|j| j.discovery_url());
    AgentCard {
        protocol_version: wire::PROTOCOL_VERSION,
        name,
        description,
        supported_interfaces: interfaces(&url, rest),
        url,
        preferred_transport: "JSONRPC",
        version: env!("CARGO_PKG_VERSION"),
        provider: wire::AgentProvider {
            organization: "agentd".into(),
            url: "https://github.com/agentd".into(),
        },
        capabilities: wire::AgentCapabilities {
            streaming: true,
            push_notifications: false,
            state_transition_history: false,
            extended_agent_card: false,
        },
        default_input_modes: vec!["text/plain".into(), "application/json".into(), "*/*".into()],
        default_output_modes: vec!["text/plain".into(), "application/json".into()],
        skills: Vec::new(),
        // Each scheme in both versions' shapes: 0.3's `type`/`scheme` and
        // 1.0's `...SecurityScheme`; each client reads its own. With JWT
        // auth, the OpenID Connect discovery URL is named too, and either
        // scheme will do (the token is a bearer token all the same).
        security_schemes: secured.then(|| security_schemes(oidc.as_deref())),
        security: secured.then(|| {
            let mut alternatives = vec![json!({"bearer": []})];
            if oidc.is_some() {
                alternatives.push(json!({"oidc": []}));
            }
            alternatives
        }),
        security_requirements: secured.then(|| {
            let mut alternatives = vec![json!({"schemes": {"bearer": {"list": []}}})];
            if oidc.is_some() {
                alternatives.push(json!({"schemes": {"oidc": {"list": []}}}));
            }
            alternatives
        }),
    }
}

fn security_schemes(oidc: Option<&str>) -> serde_json::Value {
    let mut schemes = json!({"bearer": {
        "type": "http",
        "scheme": "bearer",
        "httpAuthSecurityScheme": {"scheme": "bearer"},
    }});
    if let Some(url) = oidc {
        schemes["bearer"]["bearerFormat"] = json!("JWT");
        schemes["bearer"]["httpAuthSecurityScheme"]["bearerFormat"] = json!("JWT");
        schemes["oidc"] = json!({
            "type": "openIdConnect",
            "openIdConnectUrl": url,
            "openIdConnectSecurityScheme": {"openIdConnectUrl": url},
        });
    }
    schemes
}

fn skill(id: &str, name: &str, description: Option<&str>, tag: &str) -> wire::AgentSkill {
    wire::AgentSkill {
        id: id.to_string(),
        name: name.to_string(),
        description: description.unwrap_or(name).to_string(),
        tags: vec![tag.to_string()],
    }
}

/// Every agent and team the caller may run, as a skill.
fn skills(state: &AppState, principal: &Principal) -> Vec<wire::AgentSkill> {
    let engine = &state.engine;
    let agents = engine
        .agents_for(principal)
        .into_iter()
        .map(|a| skill(&a.id, a.display_name(), a.description.as_deref(), "agent"));
    let teams = engine
        .teams_for(principal)
        .into_iter()
        .map(|t| skill(&t.id, t.display_name(), t.description.as_deref(), "team"));
    agents.chain(teams).collect()
}

pub fn server_card(state: &AppState, headers: &HeaderMap, principal: &Principal) -> AgentCard {
    let mut card = card_base(
        state,
        "agentd".into(),
        "agentd's agents and teams. Name one with metadata.agentId, or use its own \
         card at /a2a/{id}/.well-known/agent-card.json; the first agent answers otherwise."
            .into(),
        format!("{}/a2a", base_url::origin_or_localhost(headers, None)),
        false,
    );
    card.skills = skills(state, principal);
    card
}

/// One agent's or team's card; one the caller may not run is absent.
pub fn agent_card(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    principal: &Principal,
) -> Result<AgentCard, A2aError> {
    let engine = &state.engine;
    let (name, description, tag) = if let Some(a) = engine.agent_for(principal, id) {
        (a.display_name(), a.description.as_deref(), "agent")
    } else if let Some(t) = engine.team_for(principal, id) {
        (t.display_name(), t.description.as_deref(), "team")
    } else {
        return Err(A2aError::AgentNotFound(id.to_string()));
    };
    let mut card = card_base(
        state,
        name.to_string(),
        description.unwrap_or(name).to_string(),
        format!("{}/a2a/{id}", base_url::origin_or_localhost(headers, None)),
        true,
    );
    card.skills = vec![skill(id, name, description, tag)];
    Ok(card)
}
