//! The document worker: the child process `agentd extract-document` that
//! reads one PDF or DOCX file and exits.
//!
//! The server writes the file's bytes to its stdin and reads the outcome,
//! `Result<Extracted, ExtractError>` as JSON, from its stdout; the job
//! (type, budget, limits) comes as one JSON argument. Before reading
//! anything the worker limits itself: address space (`RLIMIT_AS`), CPU
//! time (`RLIMIT_CPU`), no core files, and death with its parent
//! (`PR_SET_PDEATHSIG`). A parser that still overflows its stack, runs out
//! of memory or spins then ends this process only; the server sees how it
//! ended (`documents`).
//!
//! Depends on the extractors and libc; it must never know the engine, the
//! server or any protocol.

use std::io::{Read, Write};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use super::extract::{self, Budget};

/// One document to read, as the server hands it to the worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub mime: String,
    pub budget: Budget,
    /// Address space limit, MiB.
    pub memory_mib: u64,
    /// CPU time limit, seconds.
    pub cpu_secs: u64,
    /// The server's process id: a worker whose parent is already another
    /// one (the server died before it could set its death signal) exits.
    pub parent: u32,
}

/// Exit code of a worker given a job it cannot parse or a parent it lost.
const BAD_START: u8 = 2;
/// Exit code of a worker that could not hold the file within its memory
/// limit (other allocation failures abort: SIGABRT).
pub const OUT_OF_MEMORY: u8 = 3;

/// The `extract-document` subcommand: reads stdin, writes the outcome to
/// stdout. `job` is a [`Job`] as JSON.
pub fn main(job: &str) -> ExitCode {
    let Ok(job) = serde_json::from_str::<Job>(job) else {
        eprintln!("extract-document: the job is not valid JSON");
        return ExitCode::from(BAD_START);
    };
    if let Err(e) = limit_self(&job) {
        eprintln!("extract-document: {e}");
        return ExitCode::from(BAD_START);
    }
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut bytes) {
        eprintln!("extract-document: reading stdin: {e}");
        if e.kind() == std::io::ErrorKind::OutOfMemory {
            return ExitCode::from(OUT_OF_MEMORY);
        }
        return ExitCode::from(BAD_START);
    }
    let outcome = extract::extract(&job.mime, &bytes, &job.budget);
    drop(bytes);
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &outcome)
        .map_err(std::io::Error::from)
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("extract-document: writing the outcome: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(target_os = "linux")]
fn limit_self(job: &Job) -> Result<(), String> {
    // SAFETY: prctl, getppid and setrlimit take plain values and a pointer
    // to a local struct; they touch no Rust-managed memory.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
            return Err("cannot set the parent-death signal".into());
        }
        if libc::getppid() as u32 != job.parent {
            return Err("the server is gone".into());
        }
    }
    let memory = job.memory_mib.saturating_mul(1024 * 1024);
    set_limit(libc::RLIMIT_AS, memory, memory)?;
    // SIGXCPU at the soft limit, SIGKILL a second later if it is ignored.
    set_limit(
        libc::RLIMIT_CPU,
        job.cpu_secs.max(1),
        job.cpu_secs.max(1).saturating_add(1),
    )?;
    set_limit(libc::RLIMIT_CORE, 0, 0)
}

#[cfg(target_os = "linux")]
fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> Result<(), String> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: see `limit_self`.
    if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
        return Err(format!("cannot read resource limit {resource}"));
    }
    // Never above a limit already imposed (raising it is not allowed).
    let hard = (hard as libc::rlim_t).min(current.rlim_max);
    let limit = libc::rlimit {
        rlim_cur: (soft as libc::rlim_t).min(hard),
        rlim_max: hard,
    };
    // SAFETY: see `limit_self`.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(format!(
            "cannot set resource limit {resource}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Elsewhere the process limits are not available: the server does not
/// isolate documents there (see `documents`), and a worker started by hand
/// runs with the in-reader budgets only.
#[cfg(not(target_os = "linux"))]
fn limit_self(_job: &Job) -> Result<(), String> {
    Ok(())
}
