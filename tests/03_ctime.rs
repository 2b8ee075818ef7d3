//! Lesson 03: the ctime server and client keep the ctime protocol (`socket_lessons::check::ctime`),
//! and what the lesson itself adds: one client at a time, a reset that ends one conversation
//! only, and what each program prints.

mod common;

use common::{
    assert_keeps_its_protocol, connect, expect_silence, read_exactly,
    start_server,
};
use predicates::prelude::*;
use socket_lessons::ctime;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

#[test]
fn the_server_keeps_the_ctime_protocol() {
    assert_keeps_its_protocol("03_ctime_server", &[]);
}

#[test]
fn the_client_keeps_the_ctime_protocol() {
    assert_keeps_its_protocol("03_ctime_client", &[]);
}

#[test]
fn the_server_logs_each_chunk_with_its_client() {
    let mut server = start_server("03_ctime_server", &[]);
    let mut client = connect(server.address());
    let me = client.local_addr().expect("our address");
    client.write_all(b"hello").expect("send");
    read_exactly(&mut client, ctime::LEN + 5);
    server.expect(&format!("connected: {me}"));
    server.expect(&format!("received 5 bytes from {me}: \"hello\""));
    server.expect(&format!("sent {} bytes to {me}", ctime::LEN + 5));
    drop(client);
    server.expect(&format!("closed: {me}"));
}

#[test]
fn serves_the_next_client_only_after_the_first_leaves() {
    let server = start_server("03_ctime_server", &[]);
    let mut first = connect(server.address());
    first.write_all(b"one").expect("send");
    read_exactly(&mut first, ctime::LEN + 3);

    // The second client is queued by the OS, but the server is busy with the first.
    let mut second = connect(server.address());
    second.write_all(b"two").expect("send");
    expect_silence(&mut second, Duration::from_millis(200));

    drop(first);
    let reply = read_exactly(&mut second, ctime::LEN + 3);
    assert!(reply.ends_with(b"two"));
}

#[test]
fn survives_a_client_that_resets_mid_conversation() {
    let mut server = start_server("03_ctime_server", &[]);
    let rude = connect(server.address());
    // SO_LINGER with a zero timeout makes close() send a reset instead of a polite FIN.
    socket2::SockRef::from(&rude)
        .set_linger(Some(Duration::ZERO))
        .expect("set SO_LINGER");
    (&rude).write_all(&[b'x'; 64 * 1024]).expect("send");
    drop(rude);
    server.expect("lost 127.0.0.1");

    let mut polite = connect(server.address());
    polite.write_all(b"still there?").expect("send");
    let reply = read_exactly(&mut polite, ctime::LEN + 12);
    assert!(reply.ends_with(b"still there?"));
}

#[test]
fn the_client_prints_each_reply_on_a_line_of_its_own() {
    let mut server = start_server("03_ctime_server", &[]);
    common::command("03_ctime_client")
        .args(["--port", &server.port()])
        .write_stdin("first\nsecond\n\nnever sent\n")
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r"(?m)^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}first$",
            )
            .expect("a valid pattern"),
        )
        .stdout(predicate::str::contains("never sent").not());
    server.expect("received 6 bytes from");
    server.expect("closed");
}

#[test]
fn the_client_says_when_the_server_closes() {
    let (port, hang_up) = common::server_that_hangs_up();
    common::command("03_ctime_client")
        .args(["--port", &port])
        .write_stdin("hello\nanyone?\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("the server closed the connection"));
    hang_up.join().expect("the listener thread ends");
}

#[test]
fn the_client_gives_up_on_a_server_that_does_not_answer() {
    // The wrong lesson's server: it waits for a 10-byte record first, so it
    // answers the 5 bytes of "hello" with nothing at all.
    let server = start_server("04_makefile_server", &[]);
    common::command("03_ctime_client")
        .args(["--port", &server.port(), "--timeout", "0.3"])
        .write_stdin("hello\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("no reply from 127.0.0.1"))
        .stderr(predicate::str::contains("within 300ms"))
        .stderr(predicate::str::contains("ss -tlnp"))
        .stderr(predicate::str::contains("panicked").not());
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_queue_makes_the_client_give_up_with_a_busy_message() {
    let server = start_server("03_ctime_server", &[]);
    // One client keeps the server busy in its conversation...
    let mut busy = connect(server.address());
    busy.write_all(b"one").expect("send");
    read_exactly(&mut busy, ctime::LEN + 3);
    // ...and idle connections fill the queue of those waiting for accept()
    // (129 on Linux, for std's backlog of 128). The OS then drops new SYNs,
    // so a connect meets only silence.
    let mut queued = Vec::new();
    let full = loop {
        assert!(queued.len() < 1000, "the queue never filled");
        match TcpStream::connect_timeout(
            &server.address(),
            Duration::from_millis(100),
        ) {
            Ok(stream) => queued.push(stream),
            Err(error) => break error,
        }
    };
    assert_eq!(full.kind(), ErrorKind::TimedOut, "{full}");
    assert_eq!(queued.len(), 129, "the backlog of 128, and one more");

    common::command("03_ctime_client")
        .args(["--port", &server.port(), "--timeout", "0.3"])
        .write_stdin("hello\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("no answer from 127.0.0.1"))
        .stderr(predicate::str::contains("probably busy"))
        .stderr(predicate::str::contains("queue"));
}

#[cfg(target_os = "linux")]
#[test]
fn bytes_received_before_a_reset_can_still_be_read() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut peer = connect(listener.local_addr().expect("address"));
    let (mut ours, _) = listener.accept().expect("accept");
    peer.write_all(b"476 bytes, say").expect("send");
    ours.write_all(b"a reply the peer never reads")
        .expect("send");
    peer.peek(&mut [0u8; 1]).expect("the reply arrives");
    ours.peek(&mut [0u8; 1]).expect("the bytes arrive");
    drop(peer); // closed with the reply unread: a reset
    // On Linux, what had arrived before the reset is still ours to read;
    // the reset is reported by the read after it.
    let mut buffer = [0u8; 64];
    let count = ours.read(&mut buffer).expect("the bytes that arrived");
    assert_eq!(&buffer[..count], b"476 bytes, say");
    let error = ours.read(&mut buffer).expect_err("then the reset");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
}
