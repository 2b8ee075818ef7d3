//! Lesson 04: the makefile server and client keep the makefile protocol
//! (`socket_lessons::check::makefile`: the record, then lines, however TCP cuts the bytes up),
//! and what the lesson itself adds: a short record ends one client only, lines are returned byte
//! for byte and bounded by `--max-line`, the client refuses a record of the wrong size and gives
//! up on an answer that never ends. Also what chapter 04 says about buffers and the OS.

mod common;

use common::{
    TIMEOUT, assert_keeps_its_protocol, connect, expect_silence, read_exactly,
    start_server,
};
use predicates::prelude::*;
use std::io::{BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

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

#[test]
fn a_small_write_through_bufwriter_sends_nothing_before_flush() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let sender = connect(listener.local_addr().expect("address"));
    let (mut receiver, _) = listener.accept().expect("accept");
    receiver
        .set_read_timeout(Some(TIMEOUT))
        .expect("set a read timeout");

    let mut writer = BufWriter::new(sender);
    writer.write_all(b"hello").expect("write into the buffer");
    // write_all succeeded, yet the five bytes are still in our memory.
    expect_silence(&mut receiver, Duration::from_millis(200));
    writer.flush().expect("flush");
    assert_eq!(read_exactly(&mut receiver, 5), b"hello");
}

#[test]
fn an_over_long_line_gets_an_error_after_max_line_bytes_without_its_newline() {
    let mut server = start_server("04_makefile_server", &["--max-line", "100"]);
    let mut client = connect(server.address());
    client.write_all(b"0123456789").expect("send");
    expect_bytes(&mut client, b"return your msg: 0123456789\n");

    // 101 bytes and no newline: the server must not wait for one, nor keep
    // reading. It answers as soon as it has taken max-line bytes.
    client.write_all(&[b'x'; 101]).expect("send");
    expect_bytes(&mut client, b"error: line longer than 100 bytes\n");
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).expect("the server closes");
    assert_eq!(rest, b"", "nothing after the error");
    server.expect("it sent a line longer than 100 bytes");

    // The server goes on serving others.
    let mut next = connect(server.address());
    next.write_all(b"abcdefghijfine\n").expect("send");
    expect_bytes(
        &mut next,
        b"return your msg: abcdefghij\nreturn your msg: fine\n",
    );
}

#[test]
fn a_line_of_exactly_max_line_bytes_is_answered() {
    let server = start_server("04_makefile_server", &["--max-line", "100"]);
    let mut client = connect(server.address());
    let mut line = vec![b'y'; 99];
    line.push(b'\n');
    client.write_all(b"0123456789").expect("send");
    client.write_all(&line).expect("send");
    let mut expected =
        b"return your msg: 0123456789\nreturn your msg: ".to_vec();
    expected.extend_from_slice(&line);
    expect_bytes(&mut client, &expected);
}

#[test]
fn reads_return_0_once_the_client_shuts_down_its_sending_side() {
    // shutdown(Write) sends our FIN: the server's next read returns 0 and it
    // ends the conversation, while we can still read its answers.
    let mut server = start_server("04_makefile_server", &[]);
    let mut client = connect(server.address());
    client.write_all(b"0123456789last line\n").expect("send");
    client.shutdown(Shutdown::Write).expect("shutdown");
    expect_bytes(
        &mut client,
        b"return your msg: 0123456789\nreturn your msg: last line\n",
    );
    server.expect("closed: ");
}

#[test]
fn dropping_one_of_two_handles_does_not_close_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut peer = connect(listener.local_addr().expect("address"));
    let (stream, _) = listener.accept().expect("accept");
    let mut writer = stream.try_clone().expect("a second handle");

    drop(stream);
    // The other handle keeps the connection open: no end of stream yet.
    expect_silence(&mut peer, Duration::from_millis(200));
    writer.write_all(b"still here").expect("write");
    assert_eq!(read_exactly(&mut peer, 10), b"still here");

    drop(writer);
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).expect("end of stream");
    assert_eq!(rest, b"");
}

#[test]
fn client_gives_up_on_an_answer_without_a_newline_and_says_what_to_check() {
    // 03_ctime_server answers the record with a stamp and no newline: the
    // wrong lesson's server on the right port.
    let server = start_server("03_ctime_server", &[]);
    let started = Instant::now();
    common::command("04_makefile_client")
        .args(["--port", &server.port(), "--timeout", "1"])
        .write_stdin("hello\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "no whole answer from 127.0.0.1:{} within 1s",
            server.port()
        )))
        .stderr(predicate::str::contains("Is it 04_makefile_server?"))
        .stderr(predicate::str::contains("ss -tlnp"))
        .stderr(predicate::str::contains("netstat -ano"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_read_timeout_set_on_one_handle_holds_for_its_clone() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let _peer = connect(listener.local_addr().expect("address"));
    let (stream, _) = listener.accept().expect("accept");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("set a read timeout");
    let mut clone = stream.try_clone().expect("a second handle");
    assert_eq!(
        clone.read_timeout().expect("read the option"),
        Some(Duration::from_millis(100))
    );
    let started = Instant::now();
    let error = clone.read(&mut [0u8; 16]).expect_err("nothing to read");
    assert!(
        matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{error}"
    );
    assert!(started.elapsed() < TIMEOUT);
}

#[test]
fn the_server_refuses_a_max_line_of_0_which_would_read_as_the_end() {
    // take(0) reports the end of input at once: every client would seem to have left.
    common::command("04_makefile_server")
        .args(["--port", "0", "--max-line", "0"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "invalid value '0' for '--max-line",
        ));
}

#[test]
fn shutdown_through_either_handle_ends_the_stream_for_the_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut peer = connect(listener.local_addr().expect("address"));
    let (stream, _) = listener.accept().expect("accept");
    let clone = stream.try_clone().expect("a second handle");

    // Unlike a drop, shutdown acts on the connection: the other handle is
    // still open, and the peer reads the end of the stream all the same.
    clone.shutdown(Shutdown::Write).expect("shutdown");
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).expect("end of stream");
    assert_eq!(rest, b"");
    drop(stream);
}

#[test]
fn a_bufreader_reads_ahead_8_kib_and_keeps_what_it_read() {
    use std::io::BufRead;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut peer = connect(listener.local_addr().expect("address"));
    let (stream, _) = listener.accept().expect("accept");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("a read timeout");
    peer.write_all(&[b'x'; 20_000]).expect("send");
    // Wait until more than a buffer's worth has arrived, without taking any of it.
    let deadline = Instant::now() + TIMEOUT;
    while stream.peek(&mut [0u8; 8192]).expect("peek") < 8192 {
        assert!(Instant::now() < deadline, "the bytes did not arrive");
    }

    let mut reader = std::io::BufReader::new(stream);
    assert_eq!(reader.capacity(), 8 * 1024);
    let mut record = [0u8; 10];
    reader.read_exact(&mut record).expect("ten bytes");
    // One read of 8 KiB from the socket: ten handed out, the rest kept for the next request.
    assert_eq!(reader.buffer().len(), 8 * 1024 - 10);
    reader.consume(reader.buffer().len());
}

#[test]
#[cfg(target_os = "linux")]
fn a_read_timeout_fails_with_wouldblock_on_linux() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let _peer = connect(listener.local_addr().expect("address"));
    let (mut stream, _) = listener.accept().expect("accept");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("set a read timeout");
    let error = stream.read(&mut [0u8; 16]).expect_err("nothing to read");
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock, "{error}");
    assert_eq!(error.raw_os_error(), Some(libc::EAGAIN));
}

#[test]
fn a_bufwriter_write_flushes_to_make_room_rather_than_taking_less() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut peer = connect(listener.local_addr().expect("address"));
    let (stream, _) = listener.accept().expect("accept");
    let mut writer = BufWriter::with_capacity(16, stream);
    assert_eq!(writer.write(b"0123456789").expect("write"), 10);
    // Ten more do not fit in the six bytes left: the first ten go to the socket to make
    // room, and all ten new ones are taken.
    assert_eq!(writer.write(b"abcdefghij").expect("write"), 10);
    expect_bytes(&mut peer, b"0123456789");
    assert_eq!(writer.buffer(), b"abcdefghij");
}
