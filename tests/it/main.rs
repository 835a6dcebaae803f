//! agentd's black-box tests, one binary for all of them.
//!
//! Each module is one area's client story told over real HTTP: a real server
//! on an ephemeral loopback port, mock upstream models beside it. They share
//! one test binary on purpose: a binary per file links every dependency again
//! (gigabytes of debug artifacts and minutes of linking on a 2-core CI box),
//! while one binary links once and nextest still runs each test in its own
//! process.

mod common;

mod a2a;
mod abandoned;
mod acp;
mod agentos;
mod agui;
mod audit;
mod auth_jwt;
mod bench_smoke;
mod codegen;
mod crash;
mod cross_protocol;
mod engine;
mod engine_owners;
mod env_config;
mod files;
mod hostile_documents;
mod hostile_http;
mod layers;
mod limits;
mod mcp;
mod media_protocols;
mod models;
mod openapi;
mod ops;
mod owners_agentos;
mod ownership_a2a;
mod ownership_acp;
mod ownership_agentos;
mod ownership_agui;
mod ownership_codegen;
mod ownership_mcp;
mod ownership_replicas;
mod ownership_ui;
mod persistence;
mod poisoned_queue;
mod postgres;
mod run_timeout;
mod scale_out;
mod sessions;
mod store_contract;
mod store_outage;
mod teams;
mod tools;
mod ui;
mod url_inputs;
