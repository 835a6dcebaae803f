//! The benchmark binary still runs end to end (`bench --smoke`: five requests
//! per row). It checks that every row completes without a failed request,
//! never how fast: timing is the benchmark's job, not the test suite's.
//!
//! The bench is its own crate (bench/, `agentd-bench`), not a target of this
//! package, so cargo does not build it for the tests: the test builds it
//! with the tests' profile, into the same target directory, where it finds
//! the `agentd` binary beside it for rows 4 and 5.

use std::path::PathBuf;
use std::process::Command;

/// target/<profile>, where this test binary (in its deps/) and `agentd` live.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().expect("deps/");
    if dir.ends_with("deps") {
        dir.parent().expect("target/<profile>").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

fn build_bench() -> PathBuf {
    let dir = profile_dir();
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "agentd-bench", "--profile", &profile])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the bench failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bench = dir.join("bench");
    assert!(bench.exists(), "no {} after the build", bench.display());
    bench
}

#[test]
fn bench_smoke_mode_completes_every_row() {
    let out = Command::new(build_bench())
        .args(["--smoke", "--seconds", "10"])
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for row in [
        "1. AgentOS JSON",
        "1. AG-UI SSE",
        "1. ACP sync",
        "1. Codegen",
        "2. upstream",
        "3. added per-token",
        "4. 5 AgentOS streams, HTTP/1.1",
        "4. 5 AgentOS streams, HTTP/2",
        "4. 5 AG-UI streams, HTTP/1.1",
        "4. 5 ACP streams, HTTP/1.1",
        "5. cold start",
        "6. 5 idle connections",
    ] {
        assert!(stdout.contains(row), "row {row} missing:\n{stdout}");
    }
    assert!(stdout.contains("5/5 complete"), "{stdout}");
}
