//! What every adapter (protocols/*, ui) shares and `http` assembles: the
//! application state, the one SSE writer and the projection adapters
//! implement for it, error rendering in each protocol's shape, FastAPI-style
//! validation bodies, the external base URL of a request, the OpenAPI
//! schemas several protocols use, bearer keys, body-read facts and small
//! formatting helpers.
//!
//! Sits below the adapters and above the engine: it may use `engine`,
//! `config` and the plain data below them, never `http`, `protocols` or `ui`.

pub mod approval;
pub mod base_url;
pub mod body;
pub mod errors;
pub mod keys;
/// Recorded event logs the projection snapshot tests replay.
#[cfg(test)]
pub(crate) mod recorded;
pub mod schemas;
pub mod sse;
pub mod state;
pub mod time;
pub mod validation;

pub use state::AppState;
