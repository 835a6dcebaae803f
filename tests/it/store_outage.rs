//! A full disk under the SQLite store: the database on a small tmpfs,
//! filled until writes fail, then freed. Runs refused meanwhile are refused
//! cleanly, and once space is back every kind of run works again without a
//! restart, and nothing accepted meanwhile stays in flight.
//!
//! Mounting a tmpfs needs root (CI containers run as root). Elsewhere the
//! test is skipped with a note, unless CI=true.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use agentd::engine::RunStatus;
use agentd::store::RunFilter;
use serde_json::{Value, json};

use crate::common::{TestServer, config_with, sqlite_store};

/// A tmpfs of `size` mounted on a fresh directory; unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("cannot mount a tmpfs (the full-disk tests need root)");
            }
            eprintln!("skipped: cannot mount a tmpfs (the full-disk tests need root)");
            return None;
        }
        Some(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the volume is full; returns it.
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        for chunk in [64 * 1024, 4096, 512] {
            let bytes = vec![0x5a_u8; chunk];
            while file.write_all(&bytes).and_then(|()| file.flush()).is_ok() {}
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// The test agent, Codegen on, a one-second sweep, and the SQLite file.
pub fn config(db: &Path) -> String {
    config_with(&format!(
        r#"
[engine]
sweep_secs = 1

[codegen]
[codegen.rate_limit]
creates = 100000

[[codegen.users]]
id = 1
api_keys = ["key-alice"]
organizations = [1]

[[codegen.organizations]]
id = 1
name = "Acme"
{}"#,
        sqlite_store(db)
    ))
}

/// What one request was answered: its kind, status, Retry-After and body.
pub struct Answer {
    pub kind: String,
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// Every way of starting a run, with `text` as the message, and what each
/// was answered.
pub async fn every_kind_of_run(server: &TestServer, text: &str) -> Vec<Answer> {
    let c = &server.client;
    let acp = |mode: &str| {
        json!({"agent_name": "assistant", "mode": mode,
            "input": [{"role": "user", "parts": [{"content": text, "content_type": "text/plain"}]}]})
    };
    let a2a = json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": "m1", "role": "user", "parts": [{"kind": "text", "text": text}]}}});
    let requests = vec![
        (
            "agentos json",
            c.post(server.url("/agents/assistant/runs"))
                .form(&[("message", text)]),
        ),
        (
            "agentos background",
            c.post(server.url("/agents/assistant/runs"))
                .form(&[("message", text), ("background", "true")]),
        ),
        (
            "acp sync",
            c.post(server.url("/acp/runs")).json(&acp("sync")),
        ),
        (
            "acp async",
            c.post(server.url("/acp/runs")).json(&acp("async")),
        ),
        ("a2a send", c.post(server.url("/a2a/assistant")).json(&a2a)),
        (
            "codegen",
            c.post(server.url("/v1/organizations/1/agent/run"))
                .bearer_auth("key-alice")
                .json(&json!({"prompt": text})),
        ),
    ];
    let mut answers = Vec::new();
    for (kind, request) in requests {
        let resp = request.send().await.expect("answered");
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        answers.push(Answer {
            kind: kind.to_string(),
            status,
            retry_after,
            body,
        });
    }
    answers
}

/// Waits (a generous fuse) until no run is in flight in the store.
pub async fn nothing_in_flight(server: &TestServer) {
    let store = server.store.clone();
    let filter = RunFilter {
        statuses: vec![RunStatus::Pending, RunStatus::Running],
        ..Default::default()
    };
    let mut left = Vec::new();
    for _ in 0..300 {
        match store.list_runs(&filter).await {
            Ok(runs) if runs.is_empty() => return,
            Ok(runs) => left = runs,
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left: Vec<_> = left
        .iter()
        .map(|r| (r.run_id.clone(), r.origin.clone(), r.status))
        .collect();
    panic!("runs still in flight 30 s after the disk was freed: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_full_disk_is_freed_every_kind_of_run_works_again_without_a_restart() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let server = TestServer::start_from_config(&config(&disk.path().join("agentd.db"))).await;
    for a in every_kind_of_run(&server, "before").await {
        assert!(a.status < 300, "{} before: {} {}", a.kind, a.status, a.body);
    }
    nothing_in_flight(&server).await;
    assert_eq!(ready(&server).await, 200);

    let filler = disk.fill();
    // Large messages: their writes need room the disk no longer has.
    let big = "x".repeat(256 * 1024);
    let mut refused = 0;
    for _ in 0..3 {
        for a in every_kind_of_run(&server, &big).await {
            if a.status < 500 {
                continue;
            }
            refused += 1;
            // An outage, said so in the protocol's own shape: not a 500.
            assert_eq!(a.status, 503, "{}: {}", a.kind, a.body);
            assert!(a.retry_after.is_some(), "{}: no Retry-After", a.kind);
            assert!(
                a.body.to_string().contains("temporarily unavailable"),
                "{}: {}",
                a.kind,
                a.body
            );
        }
    }
    assert!(
        refused > 0,
        "a full disk refused no run: the test filled nothing"
    );
    // Readiness tells: reads still work, writes do not. (The failed
    // commits may have left the WAL a little room: fill that too. An
    // answer stands for 2 s, hence the polling.)
    disk.fill();
    let mut status = 0;
    for _ in 0..100 {
        status = ready(&server).await;
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 503, "ready while the disk is full");

    std::fs::remove_file(filler).unwrap();
    for round in 0..2 {
        for a in every_kind_of_run(&server, "after").await {
            assert!(
                a.status < 300,
                "{} (round {round}) once the disk was freed: {} {}",
                a.kind,
                a.status,
                a.body
            );
        }
    }
    let mut status = 0;
    for _ in 0..100 {
        status = ready(&server).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready once the disk was freed");
    nothing_in_flight(&server).await;
    let store = server.store.clone();
    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    let after: Vec<_> = runs
        .iter()
        .filter(|r| r.input.first().is_some_and(|m| m.text == "after"))
        .collect();
    assert_eq!(after.len(), 12, "{after:?}");
    for run in after {
        assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    }
}

async fn ready(server: &TestServer) -> u16 {
    server
        .client
        .get(server.url("/ready"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A run that ends while the disk is full cannot store its end: it is
/// saved later, in the background, once there is room again (it was kept
/// in memory only, and `pending` in the store, for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_ends_while_the_disk_is_full_is_saved_once_it_is_freed() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let config = format!(
        "{}\n[models.sleepy]\nprovider = \"builtin\"\ntoken_delay_ms = 700\n\n\
         [[agents]]\nid = \"sleepy\"\nmodel = \"sleepy\"\n",
        config(&disk.path().join("agentd.db"))
    );
    let server = TestServer::start_from_config(&config).await;
    // One long word: a few slow tokens, and a final record too large for
    // what a full disk leaves.
    let big = "y".repeat(300 * 1024);
    let accepted: Value = server
        .client
        .post(server.url("/acp/runs"))
        .json(&json!({"agent_name": "sleepy", "mode": "async",
            "input": [{"role": "user", "parts": [{"content": big, "content_type": "text/plain"}]}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = accepted["run_id"].as_str().expect("a run id").to_string();
    let engine = server.engine.clone();
    let live_status = || async {
        engine
            .get_run(&agentd::engine::Principal::open(), &run_id)
            .await
            .ok()
            .flatten()
            .map(|r| r.status)
    };
    for _ in 0..300 {
        if live_status().await == Some(RunStatus::Running) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(live_status().await, Some(RunStatus::Running));
    let filler = disk.fill();
    for _ in 0..300 {
        if live_status().await.is_some_and(RunStatus::is_terminal) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Completed, or failed for want of a checkpoint: ended, either way.
    let ended = live_status().await.expect("the run is known");
    assert!(ended.is_terminal(), "{ended:?}");
    // Past the few quick tries at the end of the run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let store = server.store.clone();
    let stored = store.get_run(&run_id).await.unwrap().unwrap();
    assert!(
        !stored.status.is_terminal(),
        "the full disk took the run's end: the test filled nothing ({:?})",
        stored.status
    );

    std::fs::remove_file(filler).unwrap();
    let mut stored = stored.status;
    for _ in 0..600 {
        stored = store.get_run(&run_id).await.unwrap().unwrap().status;
        if stored.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, ended, "stored 60 s after the disk was freed");
}
