//! The benchmark binary still runs end to end (`bench --smoke`: five requests
//! per row). It checks that every row completes without a failed request,
//! never how fast: timing is the benchmark's job, not the test suite's.

use std::process::Command;

#[test]
fn bench_smoke_mode_completes_every_row() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
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
        "4. 5 streams",
        "5. cold start",
    ] {
        assert!(stdout.contains(row), "row {row} missing:\n{stdout}");
    }
    assert!(stdout.contains("5/5 complete"), "{stdout}");
}
