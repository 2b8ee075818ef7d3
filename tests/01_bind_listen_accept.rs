//! Lesson 01: the server keeps its promise (`socket_lessons::check::bind_accept`: two clients,
//! one after the other, each acknowledged, then exit 0), and what the lesson itself prints and
//! answers: `ack: ` and the bytes received, both ends of each connection.

mod common;

use common::{connect, read_until, start_server};
use std::io::{Read, Write};

/// Sends `message` and reads the reply until the server closes the connection.
fn send_and_read_to_close(
    address: std::net::SocketAddr,
    message: &str,
) -> String {
    let mut client = connect(address);
    client.write_all(message.as_bytes()).expect("send");
    let mut reply = Vec::new();
    client
        .read_to_end(&mut reply)
        .expect("the server answers, then closes");
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn keeps_the_bind_listen_accept_promise() {
    common::assert_keeps_its_protocol("01_bind_listen_accept", &[]);
}

#[test]
fn acknowledges_two_clients_in_turn_then_exits() {
    let mut server = start_server("01_bind_listen_accept", &[]);

    let first = send_and_read_to_close(server.address(), "test.com");
    assert_eq!(first, "ack: test.com");
    let second = send_and_read_to_close(server.address(), "hello python");
    assert_eq!(second, "ack: hello python");

    server.expect("served 2 clients");
    let (status, _, stderr) = server.wait();
    assert!(status.success(), "exit status {status}, stderr {stderr:?}");
}

#[test]
fn prints_both_ends_of_each_connection() {
    let mut server = start_server("01_bind_listen_accept", &[]);
    let mut client = connect(server.address());
    let local = client.local_addr().expect("our address");

    // The server's view is the mirror of ours: its local end is our peer, and back.
    let line = server.expect("accepted:");
    assert!(
        line.contains(&format!("local {}", server.address())),
        "{line}"
    );
    assert!(line.contains(&format!("peer {local}")), "{line}");

    client.write_all(b"hi").expect("send");
    read_until(&mut client, |reply| reply.ends_with(b"ack: hi"));
}

#[test]
fn a_client_that_sends_nothing_still_counts_as_served() {
    let mut server = start_server("01_bind_listen_accept", &[]);
    drop(connect(server.address()));
    server.expect("closed without sending anything");

    let reply = send_and_read_to_close(server.address(), "second");
    assert_eq!(reply, "ack: second");
    let (status, _, _) = server.wait();
    assert!(status.success());
}
