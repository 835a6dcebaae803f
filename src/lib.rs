//! agentd: one HTTP server that runs AI agents and speaks several agent-run
//! protocols over one shared run engine.
//!
//! Layers, from the inside out (docs/ARCHITECTURE.md): `domain` (the plain
//! data every layer shares) under `config`, under `models`, `tools` and
//! `store`, under `engine` (runs, sessions, the agent loop, the one door to
//! runs and sessions); `web` (application state, the one SSE writer and the
//! projection adapters implement for it, error rendering, shared schemas);
//! `protocols` (one adapter per wire protocol) and `ui` translate HTTP to
//! engine calls; `http` assembles the router and its layers.

pub mod config;
pub mod domain;
pub mod engine;
/// Entry points for the fuzz targets in fuzz/; not part of the server.
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod models;
pub mod net;
pub mod protocols;
pub mod store;
pub mod tools;
pub mod ui;
pub mod web;

pub use http::{app, openapi, serve};
pub use web::AppState;
