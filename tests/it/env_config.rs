//! Every setting from the environment: the real `agentd` binary started on
//! a config file that says nothing of auth, limits or the port, with
//! `AGENTD_SECTION__FIELD` variables setting them, checked over HTTP; and
//! `check-config` naming a variable that is wrong.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::{config_with, eventually};
use serde_json::{Value, json};

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agentd(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agentd"));
    // Only what each test sets: none of the caller's own settings.
    for (name, _) in std::env::vars() {
        if name.starts_with("AGENTD_") {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("DATABASE_URL")
        .env("AGENTD_CONFIG", config)
        .env("RUST_LOG", "warn");
    cmd
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn environment_variables_set_what_the_file_does_not_say() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agentd.toml");
    // No [server], [auth] or [store]: all of it comes from the environment.
    std::fs::write(&config, config_with("")).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let child = agentd(&config)
        .arg("serve")
        .env("AGENTD_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("AGENTD_STORE__KIND", "memory")
        .env("AGENTD_AUTH__API_KEYS", r#"["env-key"]"#)
        .env("AGENTD_SERVER__MAX_BODY_BYTES", "2048")
        .env("AGENTD_SERVER__RATE_LIMITS__ACP", "1")
        .env(
            "AGENTD_AGENTS__0__INSTRUCTIONS",
            "Set from the environment.",
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let _running = Running(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually(
        "agentd to listen on the port from the environment",
        || async {
            let r = client.get(format!("{base}/health")).send().await.ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;

    // The container's health check: `agentd health` finds the port in
    // AGENTD_BIND, and fails when nothing answers.
    let health = agentd(&config)
        .arg("health")
        .env("AGENTD_BIND", format!("0.0.0.0:{port}"))
        .output()
        .unwrap();
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
    let closed = free_port();
    let health = agentd(&config)
        .args([
            "health",
            "--url",
            &format!("http://127.0.0.1:{closed}/health"),
        ])
        .output()
        .unwrap();
    assert!(!health.status.success());

    // Auth is on with the key from the environment.
    let r = client.get(format!("{base}/agents")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{base}/agents"))
        .bearer_auth("env-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let agents: Value = r.json().await.unwrap();
    assert_eq!(agents[0]["id"], "assistant", "{agents}");

    // The body limit from the environment.
    let r = client
        .post(format!("{base}/agents/assistant/runs"))
        .bearer_auth("env-key")
        .form(&[("message", "x".repeat(4096))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = client
        .post(format!("{base}/agents/assistant/runs"))
        .bearer_auth("env-key")
        .form(&[("message", "hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The ACP rate limit from the environment: one a minute.
    let run = json!({"agent_name": "assistant",
        "input": [{"role": "user", "parts": [{"content": "hi", "content_type": "text/plain"}]}]});
    let first = client
        .post(format!("{base}/acp/runs"))
        .bearer_auth("env-key")
        .json(&run)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = client
        .post(format!("{base}/acp/runs"))
        .bearer_auth("env-key")
        .json(&run)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));
}

#[test]
fn check_config_names_a_wrong_variable() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agentd.toml");
    std::fs::write(&config, config_with("")).unwrap();
    let ok = agentd(&config)
        .arg("check-config")
        .env("AGENTD_SERVER__MAX_CONCURRENT_RUNS", "4")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for (var, value, needle) in [
        (
            "AGENTD_SERVER__MAX_CONCURRENT_RUNS",
            "many",
            "AGENTD_SERVER__MAX_CONCURRENT_RUNS",
        ),
        ("AGENTD_SERVR__BIND", "0.0.0.0:1", "AGENTD_SERVR__BIND"),
        ("AGENTD_SERVER__BIND", "nowhere", "server.bind"),
    ] {
        let out = agentd(&config)
            .arg("check-config")
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{var}: {stderr}");
    }
}
