//! Lesson 02: the talk server and client keep the talk protocol (`socket_lessons::check::talk`),
//! and together they take turns: the server's console line reaches the client, the client's
//! typed answer reaches the server, `quit` on either side ends both, and a refused connection is
//! reported with the address, the OS error and the way out instead of a panic.

mod common;

use common::{spawn, start_server};
use predicates::prelude::*;
use std::net::TcpListener;

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
    // Bind a port, then free it: now nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();

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
