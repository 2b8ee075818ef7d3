//! Lesson 07: the chat client keeps the client's side of the chat protocol
//! (`socket_lessons::check::chat::CLIENT`), and what the program adds, with
//! our finished server (`07_chat_6_robust`) or a server the test plays: it
//! prints each message's header and text, sends no empty line, leaves on
//! `quit` or at the end of its input with status 0, says so when the server
//! goes away, reports a refused connection in one line, and shows bytes that
//! are not UTF-8, or control bytes, without ending or driving the terminal.

mod common;

use common::{Running, read_until, spawn, start_server};
use predicates::prelude::*;
use socket_lessons::chat;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};

const CLIENT: &str = "07_chat_client";
const SERVER: &str = "07_chat_6_robust";

#[test]
fn keeps_the_client_protocol() {
    common::assert_keeps_its_protocol(CLIENT, &[]);
}

/// Starts a client of `server`, and waits until the server has it in its
/// table (its `connected` line): from then on every broadcast reaches it.
/// Returns the client and its address, as the server sees it.
fn join(server: &mut Running) -> (Running, SocketAddr) {
    let mut client = spawn(CLIENT, &["--port", &server.port()]);
    let connected = client.expect("connected to ");
    let (_, address) = connected
        .rsplit_once(" from ")
        .unwrap_or_else(|| panic!("no ` from ` in {connected:?}"));
    let address: SocketAddr = address.parse().expect("an address");
    server.expect(&format!("connected: {address}"));
    (client, address)
}

/// A listener the test plays the server on, and a client connected to it:
/// (the client, the test's end of its connection).
fn client_of_the_test() -> (Running, TcpStream) {
    common::client_of_the_test(CLIENT, &[])
}

/// A message as a server sends it: a header that names `sender`, then the
/// line's bytes and a `\n`.
fn message(sender: &str, line: &[u8]) -> Vec<u8> {
    let mut message = format!("{} {sender}\n", chat::timestamp()).into_bytes();
    message.extend_from_slice(line);
    message.push(b'\n');
    message
}

#[test]
fn prints_the_header_and_the_text_of_each_message_from_our_server() {
    let mut server = start_server(SERVER, &[]);
    let (mut alice, alice_address) = join(&mut server);
    let (mut bob, _) = join(&mut server);
    alice.type_line("hello from alice");
    for client in [&mut alice, &mut bob] {
        let header = client.expect(&alice_address.to_string());
        let parsed = chat::parse_header(&header)
            .unwrap_or_else(|| panic!("not a header line: {header:?}"));
        assert_eq!(parsed.sender, alice_address, "{header}");
        assert!(chat::is_now(&parsed.time), "{header}");
        assert_eq!(client.expect("hello"), "hello from alice");
    }
}

#[test]
fn does_not_send_an_empty_line() {
    let (mut client, mut server) = client_of_the_test();
    client.type_line("");
    client.type_line("after an empty one");
    let received = read_until(&mut server, |bytes| bytes.contains(&b'\n'));
    assert_eq!(
        String::from_utf8_lossy(&received),
        "after an empty one\n",
        "the first line to arrive"
    );
}

#[test]
fn quit_exits_0_and_our_server_logs_the_client_closed() {
    let mut server = start_server(SERVER, &[]);
    let (mut client, address) = join(&mut server);
    client.type_line("quit");
    server.expect(&format!("closed: {address}"));
    let (status, _, stderr) = client.wait();
    assert!(status.success(), "{status}; {stderr:?}");
}

#[test]
fn the_end_of_its_input_exits_0_and_our_server_logs_the_client_closed() {
    let mut server = start_server(SERVER, &[]);
    let (mut client, address) = join(&mut server);
    client.close_stdin(); // Ctrl-D at a terminal
    server.expect(&format!("closed: {address}"));
    let (status, _, stderr) = client.wait();
    assert!(status.success(), "{status}; {stderr:?}");
}

#[test]
fn says_the_server_closed_the_connection_when_our_server_stops() {
    let mut server = start_server(SERVER, &[]);
    let (mut client, _) = join(&mut server);
    server.type_line("quit");
    client.expect("the server closed the connection");
    let (status, _, stderr) = client.wait();
    assert!(status.success(), "{status}; {stderr:?}");
    let (status, _, _) = server.wait();
    assert!(status.success(), "{status}");
}

#[test]
fn a_refused_connection_is_one_clear_line_and_a_failure() {
    // A port held by a socket that never listens: a connect is refused, and
    // no other test can start listening there meanwhile.
    let (_held, port, _) = socket_lessons::check::talk::refused_port()
        .unwrap_or_else(|failure| panic!("{failure}"));
    let output = common::command(CLIENT)
        .args(["--port", &port.to_string()])
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!("127.0.0.1:{port}")))
        .stderr(predicate::str::contains(SERVER))
        .stderr(predicate::str::contains("panicked").not())
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    if cfg!(target_os = "linux") {
        assert!(stderr.contains("os error 111, ECONNREFUSED"), "{stderr}");
    }
}

#[test]
fn shows_bytes_that_are_not_utf8_as_replacement_characters_and_goes_on() {
    let (mut client, mut server) = client_of_the_test();
    server
        .write_all(&message("127.0.0.1:40001", b"caf\xff"))
        .expect("send");
    assert_eq!(client.expect("caf"), "caf\u{fffd}");
    server
        .write_all(&message("127.0.0.1:40001", b"still talking"))
        .expect("send");
    client.expect("127.0.0.1:40001");
    assert_eq!(client.expect("still"), "still talking");
}

#[test]
fn shows_control_bytes_escaped() {
    let (mut client, mut server) = client_of_the_test();
    // An escape sequence that would clear a terminal, and a bell.
    server
        .write_all(&message("127.0.0.1:40001", b"\x1b[2J\x07hi"))
        .expect("send");
    assert_eq!(client.expect("hi"), r"\u{1b}[2J\u{7}hi");
}
