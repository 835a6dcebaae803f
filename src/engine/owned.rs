//! Work on runs that a client's departure cannot cut in half.
//!
//! hyper drops a request's future the moment its client goes away. A run
//! is stored, then launched, then handed to the client: dropped between the
//! first two steps, the run stayed `pending` with nothing behind it. So the
//! steps that store and take over a run (start, queue, resume, cancel) run
//! in a task of the engine's own, and the request only waits for the
//! outcome. A request that is gone when the outcome comes hands it to
//! `abandoned` instead (a foreground run nobody waits for is cancelled).
//!
//! Knows only tasks; never a protocol or the store.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::oneshot;

use super::cancel::cancel_live;
use super::{Engine, RunHandle};

impl Engine {
    /// Runs `work` to its end in a task of its own whatever happens to the
    /// caller, and returns its outcome; when the caller has gone by then,
    /// `abandoned` gets the outcome instead. The task is tracked: a draining
    /// engine waits for it.
    ///
    /// The task is spawned here, before the first poll, and what the caller
    /// awaits is only the answer's channel: were this an `async fn`, its
    /// future would be sized for `work` (held until the first poll), and
    /// every request waiting for its run to start would carry room for the
    /// whole start besides the task that does it.
    pub(super) fn detached<T, E, W, A>(
        &self,
        work: W,
        abandoned: A,
    ) -> impl Future<Output = Result<T, E>> + Send + 'static
    where
        T: Send + 'static,
        E: Send + 'static,
        W: Future<Output = Result<T, E>> + Send + 'static,
        A: FnOnce(T) + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        // No `JoinHandle` is kept: a finished task's memory (sized for
        // `work`) is freed only once its handle is dropped too, and the
        // caller may be slow to come back for the outcome. A panic travels
        // on the channel instead, to go on in the caller.
        self.tasks.spawn(async move {
            match AssertUnwindSafe(work).catch_unwind().await {
                Ok(outcome) => {
                    if let Err(Ok(Ok(done))) = tx.send(Ok(outcome)) {
                        abandoned(done);
                    }
                }
                Err(panic) => {
                    let _ = tx.send(Err(panic));
                }
            }
        });
        async move {
            match rx.await {
                Ok(Ok(outcome)) => outcome,
                // The work panicked: let that show here as it would have had
                // the work run in place.
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(_) => unreachable!("a detached task ends by answering or by panicking"),
            }
        }
    }

    /// `detached` for work that hands a run to its foreground client: a
    /// client that went away meanwhile leaves a run nobody follows, which
    /// is cancelled as a disconnect mid-stream would.
    pub(super) fn detached_run<E, W>(
        self: &Arc<Self>,
        work: W,
    ) -> impl Future<Output = Result<RunHandle, E>> + Send + 'static
    where
        E: Send + 'static,
        W: Future<Output = Result<RunHandle, E>> + Send + 'static,
    {
        self.detached(work, |handle: RunHandle| {
            tracing::info!(
                run_id = handle.run_id,
                "the client left while its run was starting; cancelling the run"
            );
            cancel_live(&handle.live);
        })
    }
}
