//! Where documents are read, and how much at once.
//!
//! PDF and DOCX files go through third-party parsers whose cost the
//! extractors bound from inside (drawing-graph scan, capped inflation,
//! bounded output, a deadline), but a parser bug we did not foresee could
//! still overflow its stack (which aborts the whole process), allocate
//! without end, or spin. So when the `agentd` binary runs the server, those
//! files are read in a child process (`agentd extract-document`, see
//! `worker`) with an address-space limit, a CPU limit and a wall-clock
//! timeout; it is killed when the request goes away (the future holding it
//! is dropped: `kill_on_drop`), when it runs out of time, and when the
//! server dies (`PR_SET_PDEATHSIG`). A crash, a kill or a timeout refuses
//! the file, and the server goes on. We chose a process over a thread
//! because only a process can be killed, limited in memory and survive a
//! stack overflow; a process per document costs a few milliseconds, small
//! beside parsing one.
//!
//! CSV, JSON and text are read in process on the blocking pool: their
//! readers are our own single bounded passes. With no worker program (the
//! engine used as a library, e.g. in-process tests, or outside Linux)
//! everything is read in process with the same budgets, without the
//! process limits.
//!
//! A semaphore bounds the documents read at once across all requests;
//! each request reads its files one at a time, so one caller holds at most
//! one reader while others wait their turn.
//!
//! Depends on the extractors and tokio's process and task APIs; it must
//! never know runs, models or protocols.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::extract::{self, Budget, ExtractError, Extracted};
use super::worker::Job;
use crate::config::FilesConfig;

/// Reads documents for the engine; cheap to clone, one per engine.
#[derive(Clone)]
pub struct Documents {
    budget: Budget,
    worker: Option<Arc<Worker>>,
    slots: Arc<Semaphore>,
}

struct Worker {
    program: PathBuf,
    memory_mib: u64,
}

impl Documents {
    pub fn new(config: &FilesConfig) -> Self {
        let slots = match config.max_concurrent_documents {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let worker = config
            .document_worker
            .clone()
            .filter(|_| cfg!(target_os = "linux"))
            .map(|program| {
                Arc::new(Worker {
                    program,
                    memory_mib: config.document_memory_mib,
                })
            });
        Self {
            budget: Budget::from_config(config),
            worker,
            slots: Arc::new(Semaphore::new(slots)),
        }
    }

    /// Reads one document of type `mime`.
    pub async fn read(&self, mime: &str, bytes: Vec<u8>) -> Result<Extracted, ExtractError> {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ExtractError::OverBudget("the server is shutting down".into()))?;
        let limit = self.budget.time_limit();
        match &self.worker {
            Some(worker) if extract::needs_isolation(mime) => {
                let outcome = worker.read(mime, bytes, &self.budget).await;
                drop(permit);
                outcome
            }
            _ => {
                let budget = self.budget.clone();
                let mime = mime.to_string();
                let task = tokio::task::spawn_blocking(move || {
                    // The slot is held until the reading thread is done,
                    // even if its caller stopped waiting.
                    let _permit = permit;
                    extract::extract(&mime, &bytes, &budget)
                });
                // The readers watch the budget themselves; this is the
                // backstop for one that does not return.
                match tokio::time::timeout(limit + GRACE, task).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(e)) => Err(ExtractError::Invalid(format!("its reader failed ({e})"))),
                    Err(_) => Err(late(limit)),
                }
            }
        }
    }
}

/// Time past the budget before a reader is given up on: starting the
/// worker and handing over the text.
const GRACE: Duration = Duration::from_secs(2);

fn late(limit: Duration) -> ExtractError {
    ExtractError::OverBudget(format!(
        "reading it took longer than {} s",
        limit.as_secs_f64()
    ))
}

impl Worker {
    async fn read(
        &self,
        mime: &str,
        bytes: Vec<u8>,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        let limit = budget.time_limit();
        let job = Job {
            mime: mime.to_string(),
            budget: budget.clone(),
            memory_mib: self.memory_mib,
            cpu_secs: limit.as_secs().max(1),
            parent: std::process::id(),
        };
        let job = serde_json::to_string(&job)
            .map_err(|e| ExtractError::Invalid(format!("its reader failed ({e})")))?;
        let mut child = tokio::process::Command::new(&self.program)
            .arg("extract-document")
            .arg("--job")
            .arg(job)
            // Whatever the parser does, it does without the server's keys.
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                tracing::error!(error = %e, program = %self.program.display(), "cannot start the document worker");
                ExtractError::OverBudget("the server could not start its document reader".into())
            })?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(ExtractError::OverBudget(
                "the server could not start its document reader".into(),
            ));
        };
        // The outcome is at most the text (escaped) and a note.
        let most = (budget.max_chars as u64).saturating_mul(6) + 64 * 1024;
        let exchange = async {
            let write = async move {
                // A worker that dies early closes its end; its exit says why.
                let _ = stdin.write_all(&bytes).await;
            };
            let read = async {
                let mut out = Vec::new();
                let read = stdout.take(most + 1).read_to_end(&mut out).await;
                read.map(|_| out)
            };
            let ((), out) = tokio::join!(write, read);
            let status = child.wait().await;
            (status, out)
        };
        let (status, out) = match tokio::time::timeout(limit + GRACE, exchange).await {
            Ok(done) => done,
            Err(_) => {
                let _ = child.kill().await;
                return Err(late(limit));
            }
        };
        let status = status.map_err(|e| {
            ExtractError::OverBudget(format!("its reader could not be waited for ({e})"))
        })?;
        if !status.success() {
            return Err(ExtractError::OverBudget(ended(
                status,
                self.memory_mib,
                limit,
            )));
        }
        match out {
            Ok(out) if (out.len() as u64) <= most => {
                serde_json::from_slice(&out).unwrap_or_else(|e| {
                    Err(ExtractError::OverBudget(format!(
                        "its reader answered nonsense ({e})"
                    )))
                })
            }
            Ok(_) => Err(ExtractError::OverBudget(
                "its reader wrote more than the text limit".into(),
            )),
            Err(e) => Err(ExtractError::OverBudget(format!(
                "its reader's answer could not be read ({e})"
            ))),
        }
    }
}

/// How a worker that did not succeed ended, for the client.
fn ended(status: std::process::ExitStatus, memory_mib: u64, limit: Duration) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        match status.signal() {
            Some(libc::SIGXCPU) | Some(libc::SIGKILL) => {
                return format!(
                    "its reader used more than {} s of CPU time and was stopped",
                    limit.as_secs().max(1)
                );
            }
            Some(libc::SIGSEGV) | Some(libc::SIGBUS) | Some(libc::SIGABRT) => {
                return format!(
                    "its reader crashed (it ran out of stack, or of its {memory_mib} MiB of memory)"
                );
            }
            Some(signal) => return format!("its reader was ended by signal {signal}"),
            None => {}
        }
    }
    if status.code() == Some(i32::from(super::worker::OUT_OF_MEMORY)) {
        return format!("its reader ran out of its {memory_mib} MiB of memory");
    }
    let _ = limit;
    format!("its reader failed ({status})")
}
