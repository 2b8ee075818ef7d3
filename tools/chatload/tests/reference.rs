//! chatload against chat_reference, which it starts itself: a small run
//! loses nothing, and the JSON report says so.

use std::process::Command;
use std::time::{Duration, Instant};

fn chatload(args: &[&str]) -> (Option<i32>, String, String, Duration) {
    let reference = env!("CARGO_BIN_EXE_chat_reference");
    let server = format!(
        "{} --port {{port}}",
        shlex::try_quote(reference).expect("a path without NUL")
    );
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_chatload"))
        .args(["--server", &server])
        .args(args)
        .output()
        .expect("chatload runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn twenty_clients_lose_nothing_against_the_reference() {
    let (code, stdout, stderr, took) =
        chatload(&["--clients", "20", "--messages", "20", "--json"]);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["expected"], 20 * 20 * 20);
    assert_eq!(report["delivered"], 20 * 20 * 20);
    assert_eq!(report["warm_up_deliveries"], 20 * 20);
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
    assert!(report["deliveries_per_s"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(report["latency_p99_ms"].as_f64().is_some(), "{stdout}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn the_table_is_printed_without_a_progress_bar_off_a_terminal() {
    let (code, stdout, stderr, _) =
        chatload(&["--clients", "3", "--messages", "2"]);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("delivered      18\n"), "{stdout}");
    assert!(stdout.contains("lost           0\n"), "{stdout}");
    // indicatif draws with carriage returns and escape codes: none here.
    assert!(
        !stdout.contains('\r') && !stdout.contains('\u{1b}'),
        "{stdout}"
    );
}

#[test]
fn a_server_that_is_not_there_is_an_error_not_a_loss() {
    // A port that was free a moment ago and that nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let output = Command::new(env!("CARGO_BIN_EXE_chatload"))
        .args(["--addr", &addr.to_string(), "--clients", "2"])
        .output()
        .expect("chatload runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("could not connect"), "{stderr}");
}
