//! `GET /config`: the AgentOS discovery document Agno's `AgentOSClient`
//! reads first (`get_config`), and Agno's own tools and UI after it: which
//! agents, teams and workflows this OS serves, on which models, the
//! databases they keep sessions in, and the interfaces (other protocols)
//! it speaks.
//!
//! `GET /workflows` answers Agno's workflow list the same way: empty.
//!
//! Only what agentd has is listed: it runs no workflows, and keeps every
//! agent's and team's sessions in its one store, whose kind is the
//! database id. Reads the config through the engine; never the store.

use axum::extract::State;
use axum::response::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::StoreKind;
use crate::engine::Principal;
use crate::web::AppState;

/// What Agno's `ConfigResponse` requires and agentd can say truly.
#[derive(Serialize, ToSchema)]
pub struct OsConfig {
    pub os_id: String,
    pub name: String,
    pub description: String,
    /// The models agents and teams run on, each once.
    pub available_models: Vec<ModelRef>,
    /// The database sessions and runs are kept in.
    pub os_database: String,
    pub databases: Vec<String>,
    pub agents: Vec<ComponentSummary>,
    pub teams: Vec<ComponentSummary>,
    /// agentd runs agents and teams only.
    pub workflows: Vec<ComponentSummary>,
    pub interfaces: Vec<Interface>,
}

#[derive(Serialize, ToSchema, PartialEq, Clone)]
pub struct ModelRef {
    /// The model's name at its provider.
    pub id: String,
    pub provider: String,
}

/// An agent or a team (`mode` set) in the discovery document.
#[derive(Serialize, ToSchema)]
pub struct ComponentSummary {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub db_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    /// Teams: route, coordinate or broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
}

/// Another protocol this server speaks, and where.
#[derive(Serialize, ToSchema)]
pub struct Interface {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: &'static str,
    pub route: &'static str,
}

/// The protocols besides AgentOS, at the versions served.
const INTERFACES: [(&str, &str, &str); 5] = [
    ("agui", "1.0", "/agui"),
    ("a2a", "0.3", "/a2a"),
    ("acp", "1.0", "/acp"),
    ("mcp", "2025-11-25", "/mcp"),
    ("codegen", "v1", "/v1"),
];

/// The OS's configuration: agents, teams, models, databases, interfaces.
#[utoipa::path(get, path = "/config", tag = "agentos",
    responses((status = 200, body = OsConfig)))]
pub async fn get_config(State(state): State<AppState>, principal: Principal) -> Json<OsConfig> {
    let engine = &state.engine;
    let db = match state.config().store.kind {
        StoreKind::Sqlite => "sqlite",
        StoreKind::Postgres => "postgres",
        StoreKind::Memory => "memory",
    }
    .to_string();
    let model_of = |key: &str| {
        engine.agent_model_by_key(key).map(|m| ModelRef {
            id: m.name().to_string(),
            provider: m.provider().to_string(),
        })
    };
    let agents: Vec<ComponentSummary> = engine
        .agents_for(&principal)
        .into_iter()
        .map(|a| ComponentSummary {
            id: a.id.clone(),
            name: a.display_name().to_string(),
            description: a.description.clone(),
            db_id: db.clone(),
            model: model_of(&a.model),
            mode: None,
        })
        .collect();
    let teams: Vec<ComponentSummary> = engine
        .teams_for(&principal)
        .into_iter()
        .map(|t| ComponentSummary {
            id: t.id.clone(),
            name: t.display_name().to_string(),
            description: t.description.clone(),
            db_id: db.clone(),
            model: model_of(&t.model),
            mode: Some(t.mode.as_str()),
        })
        .collect();
    let mut available_models: Vec<ModelRef> = Vec::new();
    for model in agents.iter().chain(&teams).filter_map(|c| c.model.clone()) {
        if !available_models.contains(&model) {
            available_models.push(model);
        }
    }
    Json(OsConfig {
        os_id: "agentd".into(),
        name: "agentd".into(),
        description: "Agents and teams served by agentd".into(),
        available_models,
        os_database: db.clone(),
        databases: vec![db],
        agents,
        teams,
        workflows: Vec::new(),
        interfaces: INTERFACES
            .iter()
            .map(|&(kind, version, route)| Interface {
                kind,
                version,
                route,
            })
            .collect(),
    })
}

/// The workflows this OS runs: none (agentd runs agents and teams), so
/// Agno's clients and UI list an empty set instead of failing on a 404.
#[utoipa::path(get, path = "/workflows", tag = "agentos",
    responses((status = 200, body = Vec<ComponentSummary>)))]
pub async fn list_workflows() -> Json<Vec<ComponentSummary>> {
    Json(Vec::new())
}
