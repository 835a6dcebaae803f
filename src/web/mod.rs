//! What every adapter (protocols/*, ui) shares and `http` assembles: the
//! application state, the one SSE writer and the projection adapters
//! implement for it, the OpenAPI schemas several protocols use, bearer keys
//! and body-read facts.
//!
//! Sits below the adapters and above the engine: it may use `engine`,
//! `config` and the plain data below them, never `http`, `protocols` or `ui`.

pub mod body;
pub mod keys;
pub mod schemas;
pub mod sse;
pub mod state;

pub use state::AppState;
