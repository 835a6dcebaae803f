//! Protocol adapters. Each one parses its wire requests into engine calls and
//! translates engine events into its own wire events; none holds run logic.

pub mod a2a;
pub mod acp;
pub mod agentos;
pub mod agui;
pub mod codegen;
pub mod mcp;
