//! Finding the real protocol clients the tests drive (tests/clients/).

/// A Python interpreter that can import `module`: `$AGENTD_TEST_PYTHON`,
/// then tests/clients/.venv, then `python3`. With `AGENTD_REQUIRE_CLIENTS`
/// set (as CI sets it) a missing client fails the test instead of skipping.
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
            std::env::var_os("AGENTD_REQUIRE_CLIENTS").is_none(),
            "Python module {module} is not installed (pip install -r tests/clients/requirements.txt)"
        );
        eprintln!("SKIPPED: no Python with {module}; see tests/clients/requirements.txt");
    }
    found
}
