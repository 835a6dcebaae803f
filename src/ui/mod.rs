//! agentd's own web pages: the playground (chat with any agent or team over
//! this server's AG-UI endpoint), the runs list, and one run's page (the page
//! a Codegen run's `web_url` points to).
//!
//! The pages are static files embedded in the binary (no CDN, no build step,
//! nothing secret in them): they are served without a key, and everything
//! they show comes from the JSON API under `/ui/api`, which asks for the
//! key like any other route. The API is a read-mostly view of the engine's
//! runs, events and sessions; chatting goes through `/agui` like any AG-UI
//! frontend, so the UI never has a run path of its own.
//!
//! Depends on the engine and the shared HTTP layer; no protocol adapter may
//! depend on it.

mod api;
mod assets;
pub(crate) mod error;

use axum::response::Redirect;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;

pub use error::UiError;

use crate::web::AppState;

/// Where the pages live; `/` redirects here when the UI is on.
pub const PATH: &str = "/ui";

/// The pages and assets (served without a key, left out of the OpenAPI
/// document: they are HTML, not API) and the JSON API they read.
pub fn router(enabled: bool) -> OpenApiRouter<AppState> {
    if !enabled {
        return OpenApiRouter::new();
    }
    OpenApiRouter::new()
        .route("/", get(|| async { Redirect::to(PATH) }))
        .route(PATH, get(assets::playground))
        .route("/ui/", get(assets::playground))
        .route("/ui/runs", get(assets::runs_page))
        .route("/ui/runs/{run_id}", get(assets::run_page))
        .route("/ui/assets/{name}", get(assets::asset))
        .merge(api::router())
}

/// Whether a path is one of the pages or their assets: public even when
/// auth is on, since they hold no data (the API under /ui/api is not).
pub fn is_public_page(path: &str) -> bool {
    path == "/"
        || path == PATH
        || (path.starts_with("/ui/") && !path.starts_with("/ui/api/") && path != "/ui/api")
}
