//! agentd: one HTTP server that runs AI agents and speaks several agent-run
//! protocols over one shared run engine.
//!
//! Layers, from the inside out: `engine` (runs, events, agent loop) over
//! `models`, `tools` and `store`; `protocols` (one adapter per wire protocol)
//! translate HTTP to engine calls; `ui` serves agentd's own web pages; `http`
//! assembles the router.

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

pub use http::{AppState, app, openapi, serve};
