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
use std::sync::Arc;

use tokio::sync::oneshot;

use super::cancel::cancel_live;
use super::{Engine, RunHandle};

impl Engine {
    /// Runs `work` to its end in a task of its own whatever happens to the
    /// caller, and returns its outcome; when the caller has gone by then,
    /// `abandoned` gets the outcome instead. The task is tracked: a draining
    /// engine waits for it.
    pub(super) async fn detached<T, E, W, A>(&self, work: W, abandoned: A) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
        W: Future<Output = Result<T, E>> + Send + 'static,
        A: FnOnce(T) + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let task = self.tasks.spawn(async move {
            if let Err(Ok(done)) = tx.send(work.await) {
                abandoned(done);
            }
        });
        match rx.await {
            Ok(outcome) => outcome,
            // The task ended without an answer: it panicked. Let that show
            // here as it would have had the work run in place.
            Err(_) => match task.await {
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                _ => unreachable!("a detached task ends by answering or by panicking"),
            },
        }
    }

    /// `detached` for work that hands a run to its foreground client: a
    /// client that went away meanwhile leaves a run nobody follows, which
    /// is cancelled as a disconnect mid-stream would.
    pub(super) async fn detached_run<E, W>(self: &Arc<Self>, work: W) -> Result<RunHandle, E>
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
        .await
    }
}
