//! Lesson 02: the talk server and client keep the talk protocol (`socket_lessons::check::talk`),
//! and together they take turns: the server's console line reaches the client, the client's
//! typed answer reaches the server, `quit` on either side ends both, and a refused connection is
//! reported with the address, the OS error and the way out instead of a panic.

mod common;

use common::{spawn, start_server};
use predicates::prelude::*;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

#[test]
fn the_server_keeps_the_talk_protocol() {
    common::assert_keeps_its_protocol("02_talk_server", &[]);
}

#[test]
fn the_client_keeps_the_talk_protocol() {
    common::assert_keeps_its_protocol("02_talk_client", &[]);
}

#[test]
fn the_two_sides_take_turns_until_the_server_types_quit() {
    let mut server = start_server("02_talk_server", &[]);
    let mut client = spawn("02_talk_client", &["--port", &server.port()]);
    server.expect("connected");

    server.type_line("hello from the server");
    client.expect("hello from the server");
    client.type_line("hi back from the client");
    server.expect("hi back from the client");

    server.type_line("quit");
    client.expect("quit");
    let (status, _, _) = client.wait();
    assert!(status.success(), "the client ends with status 0");
    let (status, _, _) = server.wait();
    assert!(status.success(), "the server ends with status 0");
}

#[test]
fn quit_typed_on_the_client_ends_the_server_too() {
    let mut server = start_server("02_talk_server", &[]);
    let mut client = spawn("02_talk_client", &["--port", &server.port()]);

    server.type_line("your turn");
    client.expect("your turn");
    client.type_line("quit");
    server.expect("quit");
    let (status, _, _) = server.wait();
    assert!(status.success());
    let (status, _, _) = client.wait();
    assert!(status.success());
}

#[test]
fn the_server_notices_a_client_that_closes() {
    let mut server = start_server("02_talk_server", &[]);
    let mut client = spawn("02_talk_client", &["--port", &server.port()]);
    server.type_line("anyone there?");
    client.expect("anyone there?");
    client.close_stdin(); // the client's input ends: it closes without a word

    server.expect("closed the connection");
    let (status, _, _) = server.wait();
    assert!(status.success());
}

#[test]
fn a_refused_connection_names_the_address_and_the_os_error() {
    // A port held by a socket that never listens: a connect is refused, and
    // no other test can start listening there meanwhile.
    let (_held, port, _) = socket_lessons::check::talk::refused_port()
        .unwrap_or_else(|failure| panic!("{failure}"));

    let refused = common::command("02_talk_client")
        .args(["--port", &port.to_string()])
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!("127.0.0.1:{port}")))
        .stderr(predicate::str::contains("02_talk_server"))
        .stderr(predicate::str::contains("panicked").not());
    if cfg!(target_os = "linux") {
        refused.stderr(predicate::str::contains("os error 111, ECONNREFUSED"));
    }
}

#[test]
fn the_server_shows_control_bytes_escaped() {
    let mut server = start_server("02_talk_server", &[]);
    let mut client = common::connect(server.address());
    server.type_line("say something");
    common::read_exactly(&mut client, "say something\n".len());
    // An escape sequence that would clear a terminal, and a bell.
    client.write_all(b"\x1b[2J\x07hi\n").expect("send");
    server.expect(r#": "\u{1b}[2J\u{7}hi\n""#);
}

#[test]
fn the_client_shows_control_bytes_escaped() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port().to_string();
    let mut client = spawn("02_talk_client", &["--port", &port]);
    let (mut server, _) = listener.accept().expect("accept");
    server.write_all(b"\x1b[31mred?\n").expect("send");
    client.expect(r#": "\u{1b}[31mred?\n""#);
}

#[test]
fn a_silent_server_gets_a_word_after_the_patience_runs_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port().to_string();
    let mut client =
        spawn("02_talk_client", &["--port", &port, "--patience", "0.2"]);
    let (mut server, _) = listener.accept().expect("accept");
    let word = client.expect("nothing from 127.0.0.1");
    assert!(word.contains("ss -tlnp"), "{word}");
    assert!(word.contains("Still waiting"), "{word}");
    // It waits on: a line that comes late is still shown.
    server.write_all(b"sorry, I was away\n").expect("send");
    client.expect("sorry, I was away");
}

#[test]
fn the_server_takes_a_reset_as_the_client_leaving() {
    let mut server = start_server("02_talk_server", &[]);
    let client = common::connect(server.address());
    server.type_line("this line stays unread");
    // Wait until the line has arrived, without reading it: closing now, with
    // unread bytes, makes our OS send a reset instead of a FIN.
    client.peek(&mut [0u8; 1]).expect("the line arrives");
    drop(client);
    server.expect("closed the connection");
    let (status, _, _) = server.wait();
    assert!(status.success(), "a reset ends the talk, not the server");
}

#[test]
fn a_second_client_is_queued_and_reset_when_the_server_exits() {
    let mut server = start_server("02_talk_server", &[]);
    let _first = common::connect(server.address());
    server.expect("connected");
    // The OS completes the second handshake although no one will accept it.
    let mut second = common::connect(server.address());
    server.type_line("quit");
    let (status, _, _) = server.wait();
    assert!(status.success());
    let error = second
        .read(&mut [0u8; 16])
        .expect_err("a queued connection is reset when the listener closes");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
}

/// A connected pair over loopback: (our end, the peer's end).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let ours = common::connect(listener.local_addr().expect("address"));
    let (theirs, _) = listener.accept().expect("accept");
    (ours, theirs)
}

/// Writes until a write fails, which it does once the peer's reset has
/// come back; returns that error. The first write after the peer closed
/// succeeds: it is what provokes the reset.
fn write_until_it_fails(stream: &mut TcpStream) -> io::Error {
    let deadline = Instant::now() + common::TIMEOUT;
    let mut writes = 0;
    loop {
        match stream.write(b"x") {
            Ok(_) => writes += 1,
            Err(error) => {
                assert!(writes >= 1, "the first write succeeds");
                return error;
            }
        }
        assert!(Instant::now() < deadline, "no reset came back");
        thread::yield_now();
    }
}

#[test]
fn a_write_to_a_closed_peer_succeeds_then_fails_with_epipe() {
    let (mut ours, theirs) = pair();
    drop(theirs); // a FIN, with nothing unread
    // Wait until the FIN has arrived (a read of 0 bytes): the reset that
    // our first write draws then finds the connection half-closed, and
    // Linux reports it as EPIPE. Had it come first, it would be ECONNRESET.
    ours.set_read_timeout(Some(common::TIMEOUT))
        .expect("a read timeout");
    assert_eq!(ours.read(&mut [0; 1]).expect("the FIN"), 0, "the FIN");
    let error = write_until_it_fails(&mut ours);
    assert_eq!(error.kind(), ErrorKind::BrokenPipe, "{error}");
    if cfg!(target_os = "linux") {
        assert_eq!(error.raw_os_error(), Some(32), "EPIPE");
    }
}

#[test]
fn after_the_peers_fin_a_read_returns_0_even_after_a_reset() {
    let (mut ours, theirs) = pair();
    drop(theirs);
    write_until_it_fails(&mut ours); // the reset has come back
    let count = ours.read(&mut [0u8; 16]).expect("a read, not an error");
    assert_eq!(count, 0);
}

#[test]
fn a_close_with_unread_data_resets_and_the_read_fails_with_econnreset() {
    let (mut ours, theirs) = pair();
    ours.write_all(b"never read").expect("send");
    theirs.peek(&mut [0u8; 1]).expect("the bytes arrive");
    drop(theirs); // closed with those bytes unread: a reset, no FIN
    let error = ours.read(&mut [0u8; 16]).expect_err("the read fails");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
    if cfg!(target_os = "linux") {
        assert_eq!(error.raw_os_error(), Some(104), "ECONNRESET");
    }
}

#[test]
fn the_server_shows_an_invalid_utf8_byte_as_a_replacement_character() {
    let mut server = start_server("02_talk_server", &[]);
    let mut client = common::connect(server.address());
    server.type_line("say something");
    // 0xff is never valid UTF-8; the client does not wait for the line first.
    client.write_all(b"caf\xff\n").expect("send");
    server.expect("\"caf\u{fffd}\\n\"");
}
