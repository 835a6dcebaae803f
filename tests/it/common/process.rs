//! The real `agentd` binary as a separate OS process: `agentd serve` with a
//! config file, on an ephemeral loopback port it reports in its log. Used by
//! the scale-out tests, where replicas must be processes that can be killed.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `agentd serve`. Killed (SIGKILL) when dropped.
pub struct Agentd {
    pub base: String,
    pub client: reqwest::Client,
    child: Child,
    /// Everything it logged so far (stdout and stderr), for failure messages.
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Agentd {
    /// Starts `agentd serve` on `config_toml` and waits until it listens.
    pub async fn start(config_toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("agentd.toml");
        std::fs::write(&config, config_toml).expect("write the config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentd"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--bind")
            .arg("127.0.0.1:0")
            .current_dir(dir.path())
            .env("AGENTD_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env_remove("DATABASE_URL")
            .env_remove("AGENTD_CONFIG")
            .env_remove("AGENTD_BIND")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("agentd starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, mut addr_rx) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(addr) = listening_addr(&line) {
                        let _ = addr_tx.send(addr);
                    }
                    push(&log, &line);
                }
            });
        }
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    push(&log, &line);
                }
            });
        }
        let addr = tokio::select! {
            addr = addr_rx.recv() => addr,
            _ = tokio::time::sleep(Duration::from_secs(60)) => None,
            status = child.wait() => {
                // Let the readers catch the last lines.
                tokio::time::sleep(Duration::from_millis(200)).await;
                panic!("agentd exited ({status:?}) before listening:\n{}", text(&log));
            }
        };
        let Some(addr) = addr else {
            panic!("agentd did not start listening:\n{}", text(&log));
        };
        Agentd {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            child,
            log,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's process id (for reading /proc).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("agentd is running")
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        text(&self.log)
    }

    /// SIGKILL: the process dies at once, with no chance to clean up.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill agentd");
    }
}

fn push(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
    log.push_str(line);
    log.push('\n');
}

fn text(log: &Mutex<String>) -> String {
    log.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The address in agentd's "agentd listening" log line (JSON log format).
fn listening_addr(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = entry.get("fields")?;
    if fields.get("message")?.as_str()? != "agentd listening" {
        return None;
    }
    Some(fields.get("addr")?.as_str()?.to_string())
}
