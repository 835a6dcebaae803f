//! The plain data every layer shares: messages and tool specs, run events,
//! failures, the records of runs and sessions, ids and time, the names of
//! the built-in tools.
//!
//! The bottom layer: no I/O, no async, and no import from any other module
//! of the crate. Models, tools and stores speak these types without
//! knowing the engine; the engine re-exports them for adapters.

pub mod builtin_tools;
mod event;
mod failure;
mod ids;
mod message;
pub mod principal;
mod records;
mod tool_spec;

pub use event::{
    CompletedData, Delta, Event, EventKind, MemberRef, ModelRequestCompletedData, PendingCall,
    PendingKind, RunStartedData, ToolCallDecidedData, ToolCallEndedData, ToolCallStartedData,
    ToolResultData,
};
pub use failure::{FailureKind, RunFailure};
pub use ids::{new_id, now_ms};
pub use message::{Attachment, MediaKind, Message, Role, ToolCall, Usage};
pub use principal::{Owner, Principal, Visible};
pub use records::{FileSummary, RunRecord, RunStatus, SessionRecord, ToolExecution};
pub use tool_spec::{ToolSpec, empty_object_schema};
