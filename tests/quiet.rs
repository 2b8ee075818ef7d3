//! `--quiet`, which every server lesson takes: the server answers exactly as usual and still
//! logs its events (the ready line, connections, notices), but prints no `received` or `sent`
//! line for each message. A load test measures the sockets, not the terminal.

mod common;

use common::{TIMEOUT, connect, read_exactly, target};
use predicates::prelude::*;
use socket_lessons::check::target::Transport;
use socket_lessons::ctime;
use socket_lessons::index::{self, Role};
use std::io::Write;
use std::net::UdpSocket;

/// Fails if any line printed so far logs a message received or sent.
fn assert_no_message_lines(lines: &[String]) {
    for line in lines {
        assert!(
            !line.starts_with("received ") && !line.starts_with("sent "),
            "a quiet server logged a message: {line:?}; it printed {lines:#?}"
        );
    }
}

#[test]
fn every_server_lesson_takes_quiet() {
    for lesson in index::LESSONS {
        if lesson.role != Role::Server {
            continue;
        }
        common::command(lesson.name)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("--quiet"));
    }
}

#[test]
fn a_quiet_tcp_server_answers_and_logs_only_its_connections() {
    let mut server = target("03_ctime_server", &[])
        .start(Transport::Tcp, &["--quiet"])
        .unwrap_or_else(|failure| panic!("{failure}"));
    let mut client = connect(server.address);
    let me = client.local_addr().expect("our address");
    client.write_all(b"hello").expect("send");
    let reply = read_exactly(&mut client, ctime::LEN + 5);
    assert!(
        reply.ends_with(b"hello"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    drop(client);
    // The events stay, each naming the connection; the messages between them are gone.
    for event in [format!("connected: {me}"), format!("closed: {me}")] {
        server
            .process
            .expect(&event)
            .unwrap_or_else(|failure| panic!("{failure}"));
    }
    assert_no_message_lines(server.process.stdout());
}

#[test]
fn a_quiet_udp_server_answers_and_still_gives_notice() {
    let mut server = target("05_udp_server", &[])
        .start(Transport::Udp, &["--quiet"])
        .unwrap_or_else(|failure| panic!("{failure}"));
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    client.set_read_timeout(Some(TIMEOUT)).expect("a timeout");
    let me = client.local_addr().expect("our address");
    let mut buffer = [0u8; 2048];
    // A short datagram, then one longer than the server's 1024-byte buffer: that one is cut
    // and earns a notice, which a quiet server still prints, after the lines it leaves out.
    for size in [5, 1500] {
        let datagram = vec![b'x'; size];
        client
            .send_to(&datagram, server.address)
            .expect("send a datagram");
        let (count, _) = client.recv_from(&mut buffer).expect("a reply");
        assert_eq!(count, ctime::LEN + size.min(1024));
    }
    server
        .process
        .expect(&format!(
            "the datagram from {me} was longer than the 1024-byte buffer"
        ))
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_no_message_lines(server.process.stdout());
}
