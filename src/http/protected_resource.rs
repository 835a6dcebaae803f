//! OAuth 2.0 protected-resource metadata (RFC 9728) for MCP clients that
//! speak the MCP authorization spec: a 401 from /mcp names this document,
//! and the document names the OpenID provider that issues tokens for this
//! server, so such a client finds the provider by itself.
//!
//! Served (without auth) only when `[auth.jwt]` is configured; 404
//! otherwise. Both the root document and the one for the /mcp resource
//! (RFC 9728 section 3.1 inserts the resource's path after the well-known
//! name) answer. Depends on config, `hosts` and the MCP path.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::domain::principal::ADMIN_SCOPE;

pub const PATH: &str = "/.well-known/oauth-protected-resource";

/// The MCP resource's metadata path (`PATH` followed by `/mcp`).
fn mcp_path() -> String {
    format!("{PATH}{}", crate::protocols::mcp::PATH)
}

pub fn is_metadata_path(path: &str) -> bool {
    path == PATH || path == mcp_path()
}

/// Where the MCP endpoint's metadata is, for the `resource_metadata`
/// parameter of its challenge.
pub fn metadata_url(origin: &str) -> String {
    format!("{origin}{}", mcp_path())
}

#[derive(Serialize, ToSchema)]
pub struct ProtectedResource {
    /// This server (or its MCP endpoint), as clients name it in requests.
    resource: String,
    /// The OpenID provider's issuer: where to get tokens.
    authorization_servers: Vec<String>,
    /// Tokens travel in the Authorization header only.
    bearer_methods_supported: Vec<&'static str>,
    /// `agentd:admin` and every scope an agent or team asks for.
    scopes_supported: Vec<String>,
}

fn metadata(state: &AppState, headers: &HeaderMap, resource_path: &str) -> Response {
    let config = state.config();
    let Some(jwt) = &config.auth.jwt else {
        let path = format!("{PATH}{resource_path}");
        return super::errors::response(
            &path,
            StatusCode::NOT_FOUND,
            "No protected-resource metadata: JWT auth is not configured",
        );
    };
    let mut scopes = vec![ADMIN_SCOPE.to_string()];
    let asked = config
        .agents
        .iter()
        .filter_map(|a| a.allowed_scopes.as_ref())
        .chain(
            config
                .teams
                .iter()
                .filter_map(|t| t.allowed_scopes.as_ref()),
        )
        .flatten();
    for scope in asked {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    Json(ProtectedResource {
        resource: format!(
            "{}{resource_path}",
            crate::web::base_url::origin_or_localhost(headers, None)
        ),
        authorization_servers: vec![jwt.issuer.clone()],
        bearer_methods_supported: vec!["header"],
        scopes_supported: scopes,
    })
    .into_response()
}

/// The protected-resource metadata of this server (RFC 9728), when JWT
/// auth is configured.
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource", tag = "mcp",
    responses((status = 200, body = ProtectedResource), (status = 404, description = "JWT auth is not configured")))]
pub async fn server(State(state): State<AppState>, headers: HeaderMap) -> Response {
    metadata(&state, &headers, "")
}

/// The protected-resource metadata of the MCP endpoint (RFC 9728), the
/// document a 401 from /mcp names.
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource/mcp", tag = "mcp",
    responses((status = 200, body = ProtectedResource), (status = 404, description = "JWT auth is not configured")))]
pub async fn mcp(State(state): State<AppState>, headers: HeaderMap) -> Response {
    metadata(&state, &headers, crate::protocols::mcp::PATH)
}
