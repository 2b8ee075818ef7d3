//! Lesson 03: the ctime server answers every chunk with `ctime()` + the chunk, one client at a
//! time, and the ctime client sends lines until an empty line, end of input or the server leaves.

mod common;

use common::{
    connect, expect_silence, is_ctime, is_ctime_now, read_exactly, read_until,
    start_server,
};
use predicates::prelude::*;
use socket_lessons::ctime;
use std::io::Write;
use std::time::Duration;

#[test]
fn answers_a_chunk_with_ctime_then_the_chunk() {
    let mut server = start_server("03_ctime_server", &[]);
    let mut client = connect(server.address());

    client.write_all(b"hello").expect("send");
    let reply = read_exactly(&mut client, ctime::LEN + 5);

    let (stamp, echo) = reply.split_at(ctime::LEN);
    let stamp = String::from_utf8_lossy(stamp);
    assert!(
        is_ctime_now(&stamp),
        "{stamp:?} is not a ctime() stamp of the local time now"
    );
    assert_eq!(echo, b"hello");
    server.expect("received 5 bytes");
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
fn returns_a_100_kib_chunk_complete() {
    const SIZE: usize = 100 * 1024;
    let server = start_server("03_ctime_server", &[]);
    let mut client = connect(server.address());
    // 'x' never occurs in a ctime() stamp, so the stamps can be told from the data.
    client.write_all(&[b'x'; SIZE]).expect("send");

    // The server reads 1024 bytes at a time and stamps every piece, so the reply is many
    // stamps, each followed by a run of x. Keep reading until every x has come back.
    let count_x =
        |reply: &[u8]| reply.iter().filter(|&&byte| byte == b'x').count();
    let reply = read_until(&mut client, |reply| count_x(reply) >= SIZE);

    assert_eq!(count_x(&reply), SIZE);
    let text = String::from_utf8(reply).expect("stamps and x are ASCII");
    let stamps: Vec<&str> =
        text.split('x').filter(|piece| !piece.is_empty()).collect();
    assert!(stamps.len() > 1, "a 100 KiB chunk is read in pieces");
    for stamp in stamps {
        assert!(is_ctime(stamp), "{stamp:?} is not a ctime() stamp");
    }
}

#[test]
fn client_prints_each_reply_and_stops_at_an_empty_line() {
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
            .unwrap(),
        )
        .stdout(predicate::str::contains("second"))
        .stdout(predicate::str::contains("never sent").not());
    server.expect(r#"received 6 bytes from"#);
    server.expect("closed");
}

#[test]
fn client_stops_at_the_end_of_input() {
    let server = start_server("03_ctime_server", &[]);
    common::command("03_ctime_client")
        .args(["--port", &server.port()])
        .write_stdin("only line")
        .assert()
        .success()
        .stdout(predicate::str::contains("only line"));
}

#[test]
fn client_stops_when_the_server_closes() {
    let (port, hang_up) = common::server_that_hangs_up();
    common::command("03_ctime_client")
        .args(["--port", &port])
        .write_stdin("hello\nanyone?\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("the server closed the connection"));
    hang_up.join().expect("the listener thread ends");
}
