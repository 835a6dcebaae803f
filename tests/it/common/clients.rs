//! Finding the real protocol clients the tests drive (tests/clients/).
//!
//! A missing client skips its test with an install hint, so `cargo test` on
//! a fresh clone with Rust alone passes; under `CI=true` or with
//! `AGENTD_REQUIRE_CLIENTS` set the same absence fails the test instead.

/// Whether a missing client or service must fail its test rather than skip.
pub fn required() -> bool {
    std::env::var_os("AGENTD_REQUIRE_CLIENTS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The tests/clients folder when `node` runs and each npm `package` is
/// installed there; `None` (skip, with the hint) otherwise.
pub fn node_with(packages: &[&str]) -> Option<std::path::PathBuf> {
    let clients = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !clients.join("node_modules").join(p).exists())
        .collect();
    if node && missing.is_empty() {
        return Some(clients);
    }
    let what = if node {
        format!("npm packages {missing:?} are not installed")
    } else {
        "node is not installed".to_string()
    };
    assert!(
        !required(),
        "{what}: install Node.js and run `npm ci --prefix tests/clients`"
    );
    eprintln!("SKIPPED: {what}; run `npm ci --prefix tests/clients`");
    None
}

/// A Python interpreter that can import `module`: `$AGENTD_TEST_PYTHON`,
/// then tests/clients/.venv, then `python3`.
pub fn python_with(module: &str) -> Option<String> {
    let venv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/.venv/bin/python"
    );
    let found = [
        std::env::var("AGENTD_TEST_PYTHON").ok(),
        Some(venv.to_string()),
        Some("python3".to_string()),
    ]
    .into_iter()
    .flatten()
    .find(|python| {
        std::process::Command::new(python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            !required(),
            "Python module {module} is not installed (pip install -r tests/clients/requirements.txt)"
        );
        eprintln!("SKIPPED: no Python with {module}; see tests/clients/requirements.txt");
    }
    found
}

/// The Python of the A2A 1.x client's own venv (tests/clients/.venv-a2a1):
/// a2a-sdk 1.x cannot share an environment with the 0.3 client of
/// requirements.txt. `$AGENTD_TEST_PYTHON_A2A1` first; `None` (skip, with
/// the install hint) when neither imports `a2a.types.a2a_pb2`,
/// which only 1.x has.
pub fn python_a2a1() -> Option<String> {
    let venv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/.venv-a2a1/bin/python"
    );
    let found = [
        std::env::var("AGENTD_TEST_PYTHON_A2A1").ok(),
        Some(venv.to_string()),
    ]
    .into_iter()
    .flatten()
    .find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import a2a.types.a2a_pb2"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let hint = "python3 -m venv tests/clients/.venv-a2a1 && \
                tests/clients/.venv-a2a1/bin/pip install -r tests/clients/requirements-a2a1.txt";
    if found.is_none() {
        assert!(
            !required(),
            "the a2a-sdk 1.x client is not installed: {hint}"
        );
        eprintln!("SKIPPED: no a2a-sdk 1.x client; {hint}");
    }
    found
}

/// Runs a client script that prints one `ok <step>` line per passed step,
/// and checks it exited 0 having passed each of `steps`; its output is in
/// every failure message. Returns what it printed.
pub async fn expect_steps(
    mut client: tokio::process::Command,
    steps: &[impl AsRef<str>],
) -> String {
    let out = client.output().await.expect("the client starts");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "client failed:\n{stdout}\n{stderr}");
    for step in steps {
        let step = step.as_ref();
        assert!(stdout.contains(step), "missing '{step}' in:\n{stdout}");
    }
    stdout
}
