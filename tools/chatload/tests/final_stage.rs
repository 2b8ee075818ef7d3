//! The chat tutorial's last stage under a small load, driven by chatload:
//! nothing lost, nothing twice, nothing out of order. A test of
//! correctness only: the numbers are chatbench's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The last stage of the chat server.
const FINAL_STAGE: &str = "07_chat_7_batching";

/// Builds the final stage in this test's profile (`cargo test -p chatload`
/// builds only this package's binaries) and returns its path, beside
/// chatload's.
fn final_stage() -> PathBuf {
    let chatload = Path::new(env!("CARGO_BIN_EXE_chatload"));
    let dir = chatload.parent().expect("chatload is in a directory");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut build = Command::new(env!("CARGO"));
    build.current_dir(&root).args([
        "build",
        "--quiet",
        "-p",
        "socket-lessons",
        "--bin",
        FINAL_STAGE,
    ]);
    if dir.file_name().is_some_and(|name| name == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "cargo build --bin {FINAL_STAGE} failed");
    let path =
        dir.join(format!("{FINAL_STAGE}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

#[test]
fn the_final_stage_loses_nothing_with_a_hundred_clients() {
    let server = final_stage();
    let command = format!(
        "{} --port {{port}} --quiet",
        shlex::try_quote(&server.display().to_string()).expect("a path")
    );
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_chatload"))
        .args(["--server", &command, "--json"])
        .args(["--clients", "100", "--messages", "5", "--deadline", "20"])
        .output()
        .expect("chatload runs");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["expected"], 100 * 100 * 5);
    assert_eq!(report["delivered"], 100 * 100 * 5);
    for counter in [
        "lost",
        "duplicated",
        "out_of_order",
        "malformed",
        "headerless",
        "wrong_sender",
        "disconnected",
    ] {
        assert_eq!(report[counter], 0, "{counter} in {stdout}");
    }
    assert!(took < Duration::from_secs(5), "took {took:?}: {stdout}");
}
