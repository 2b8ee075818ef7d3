//! Lesson 04: the makefile server reads a 10-byte record and answers it, then answers every line,
//! however TCP cuts the bytes up; the makefile client sends the record and your lines through
//! buffered handles and prints each answer.

mod common;

use common::{connect, expect_silence, read_exactly, start_server};
use predicates::prelude::*;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Long enough for a piece to travel on its own, short enough to keep each test quick.
const PAUSE: Duration = Duration::from_millis(100);

/// A connection to the server that sends every write at once (no Nagle delay), so the pieces
/// a test writes leave as separate segments.
fn connect_unbuffered(address: SocketAddr) -> TcpStream {
    let stream = connect(address);
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    stream
}

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
fn answers_the_record_and_each_line_sent_in_one_write() {
    let mut server = start_server("04_makefile_server", &[]);
    let mut client = connect(server.address());

    client
        .write_all(b"0123456789first\nsecond\nthird\n")
        .expect("send");

    expect_bytes(
        &mut client,
        b"return your msg: 0123456789\n\
          return your msg: first\n\
          return your msg: second\n\
          return your msg: third\n",
    );
    expect_silence(&mut client, PAUSE);
    server.expect(r#"received 10 bytes from 127.0.0.1"#);
    server.expect(r#"received 6 bytes from 127.0.0.1"#);
}

#[test]
fn waits_for_the_whole_record_and_the_whole_line() {
    let server = start_server("04_makefile_server", &[]);
    let mut client = connect_unbuffered(server.address());

    // The record in three pieces: no answer until the tenth byte is in.
    client.write_all(b"0123").expect("send");
    expect_silence(&mut client, PAUSE);
    client.write_all(b"456").expect("send");
    expect_silence(&mut client, PAUSE);
    client.write_all(b"789").expect("send");
    expect_bytes(&mut client, b"return your msg: 0123456789\n");

    // One line in three writes: no answer until its newline is in.
    client.write_all(b"one ").expect("send");
    expect_silence(&mut client, PAUSE);
    client.write_all(b"line in ").expect("send");
    expect_silence(&mut client, PAUSE);
    client.write_all(b"three writes\n").expect("send");
    expect_bytes(&mut client, b"return your msg: one line in three writes\n");
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

#[test]
fn client_stops_when_the_server_closes() {
    let (port, hang_up) = common::server_that_hangs_up();
    common::command("04_makefile_client")
        .args(["--port", &port])
        .write_stdin("hello\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("the server closed the connection"));
    hang_up.join().expect("the listener thread ends");
}
