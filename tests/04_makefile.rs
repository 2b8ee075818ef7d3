//! Lesson 04: the makefile server and client keep the makefile protocol
//! (`socket_lessons::check::makefile`: the record, then lines, however TCP cuts the bytes up),
//! and what the lesson itself adds: a short record ends one client only, lines are returned byte
//! for byte, and the client refuses a record of the wrong size.

mod common;

use common::{assert_keeps_its_protocol, connect, read_exactly, start_server};
use predicates::prelude::*;
use std::io::Write;
use std::net::TcpStream;

/// Reads exactly `expected.len()` bytes and asserts they are `expected`.
fn expect_bytes(stream: &mut TcpStream, expected: &[u8]) {
    let received = read_exactly(stream, expected.len());
    assert_eq!(
        String::from_utf8_lossy(&received),
        String::from_utf8_lossy(expected)
    );
    assert_eq!(received, expected);
}

#[test]
fn the_server_keeps_the_makefile_protocol() {
    assert_keeps_its_protocol("04_makefile_server", &[]);
}

#[test]
fn the_client_keeps_the_makefile_protocol() {
    assert_keeps_its_protocol("04_makefile_client", &[]);
}

#[test]
fn a_client_that_leaves_mid_record_does_not_stop_the_server() {
    let mut server = start_server("04_makefile_server", &[]);
    let mut early = connect(server.address());
    early.write_all(b"0123").expect("send");
    drop(early);
    server.expect("closed before sending a whole 10-byte record");

    let mut next = connect(server.address());
    next.write_all(b"abcdefghijstill there?\n").expect("send");
    expect_bytes(
        &mut next,
        b"return your msg: abcdefghij\nreturn your msg: still there?\n",
    );
}

#[test]
fn returns_a_line_of_invalid_utf8_byte_for_byte() {
    let server = start_server("04_makefile_server", &[]);
    let mut client = connect(server.address());

    // 0xff and 0xfe never occur in UTF-8; 0xc3 starts a two-byte character that never ends.
    client
        .write_all(b"0123456789caf\xc3 \xff\xfe\n")
        .expect("send");

    expect_bytes(
        &mut client,
        b"return your msg: 0123456789\nreturn your msg: caf\xc3 \xff\xfe\n",
    );
}

#[test]
fn client_prints_the_record_answer_and_one_answer_per_line() {
    let mut server = start_server("04_makefile_server", &[]);
    let output = common::command("04_makefile_client")
        .args(["--port", &server.port(), "--record", "RECORD-010"])
        .write_stdin("first\nsecond\n\nnever sent\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("return your msg: RECORD-010\n"))
        .stdout(predicate::str::contains("return your msg: first\n"))
        .stdout(predicate::str::contains("return your msg: second\n"))
        .stdout(predicate::str::contains("never sent").not())
        .get_output()
        .stdout
        .clone();
    let answers = String::from_utf8_lossy(&output)
        .matches("return your msg: ")
        .count();
    assert_eq!(answers, 3, "one answer for the record and one per line");
    server.expect("closed");
}

#[test]
fn client_rejects_a_record_that_is_not_10_bytes() {
    // The check comes before connecting, so no server is needed.
    for record in ["short", "eleven-byte"] {
        common::command("04_makefile_client")
            .args(["--port", "9", "--record", record])
            .assert()
            .failure()
            .stderr(predicate::str::contains("must be exactly 10 bytes"))
            .stderr(predicate::str::contains("panicked").not());
    }
}
