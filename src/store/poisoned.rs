//! What a queued run that no longer decodes becomes: failed, with a log that
//! says why, so the queue goes on past it.
//!
//! A queued run's record or work order that cannot be read (a damaged row,
//! a record an incompatible agentd wrote) used to fail every claim of the
//! queue's head, which rolled back and was tried again every few seconds
//! while the runs behind it waited. The SQL stores now take such a run off
//! the queue in the claim itself and store it as this: a record rebuilt from
//! the row's plain columns, failed, and its one event. Knows the engine's
//! record types only.

use std::sync::Arc;

use crate::domain::{Event, EventKind, FailureKind, RunFailure, RunRecord, now_ms};

/// The failed record and terminal event of queued run `run_id`, whose
/// stored record or work order is unreadable (`why`). It never started, so
/// no client saw an event of it: its end is event 1.
pub(crate) fn failed_run(
    run_id: &str,
    session_id: &str,
    agent_id: &str,
    created_at: i64,
    why: &str,
) -> (RunRecord, Event) {
    let mut record = RunRecord::pending(run_id, session_id, agent_id, agent_id, created_at);
    let event = Event {
        seq: 1,
        run_id: Arc::from(run_id),
        at: now_ms(),
        kind: EventKind::Failed {
            error: RunFailure {
                kind: FailureKind::Store,
                message: format!(
                    "The run could not start: its queued record is unreadable ({why}). \
                     Start a new run to try again."
                ),
            },
        },
    };
    record.apply(&event);
    (record, event)
}
