//! Lesson 05: the UDP ctime server answers every datagram with `ctime()` + the datagram's bytes,
//! sent back to the datagram's sender; the UDP client sends each line as one datagram, prints
//! the reply, and gives up on a reply after its timeout instead of waiting forever.

mod common;

use common::{TIMEOUT, is_ctime, start_server};
use predicates::prelude::*;
use socket_lessons::ctime;
use std::net::{SocketAddr, UdpSocket};

/// The server's receive buffer: the Python tutorial's `recvfrom(1024)`.
const BUFFER_SIZE: usize = 1024;

/// A test's own UDP socket on loopback, on a free port; every read gives up after [`TIMEOUT`].
fn udp_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a test socket");
    socket
        .set_read_timeout(Some(TIMEOUT))
        .expect("set a read timeout");
    socket
}

/// Waits for one datagram and returns its bytes and its sender.
fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buffer = [0u8; 64 * 1024];
    let (count, sender) =
        socket.recv_from(&mut buffer).unwrap_or_else(|error| {
            panic!("no datagram within {TIMEOUT:?}: {error}")
        });
    (buffer[..count].to_vec(), sender)
}

/// Waits for the server's reply, checks that it comes from the server and starts with a ctime
/// stamp, and returns what follows the stamp.
fn receive_reply(socket: &UdpSocket, server: SocketAddr) -> Vec<u8> {
    let (reply, sender) = receive(socket);
    assert_eq!(sender, server, "the reply comes from the server's address");
    assert!(
        reply.len() >= ctime::LEN,
        "{reply:?} is too short for a stamp"
    );
    let (stamp, data) = reply.split_at(ctime::LEN);
    let stamp = String::from_utf8_lossy(stamp);
    assert!(is_ctime(&stamp), "{stamp:?} is not a ctime() stamp");
    data.to_vec()
}

#[test]
fn answers_a_datagram_with_ctime_then_its_bytes() {
    let mut server = start_server("05_udp_server", &[]);
    let client = udp_socket();

    client.send_to(b"hello", server.address()).expect("send");

    assert_eq!(receive_reply(&client, server.address()), b"hello");
    server.expect("received 5 bytes from 127.0.0.1");
    server.expect(&format!("sent {} bytes to 127.0.0.1", ctime::LEN + 5));
}

#[test]
fn an_empty_datagram_is_a_datagram_not_a_goodbye() {
    // Over TCP, reading 0 bytes means the peer has closed. A UDP datagram can be empty, and
    // it is answered like any other: with the stamp alone.
    let server = start_server("05_udp_server", &[]);
    let client = udp_socket();

    client.send_to(b"", server.address()).expect("send");

    assert_eq!(receive_reply(&client, server.address()), b"");
}

#[test]
fn each_client_gets_the_reply_to_its_own_datagram() {
    let server = start_server("05_udp_server", &[]);
    let alice = udp_socket();
    let bob = udp_socket();

    // Interleaved on purpose: the server keeps no per-client state, only the sender's address
    // that comes with each datagram, and that is where each reply must go.
    alice
        .send_to(b"from alice", server.address())
        .expect("send");
    bob.send_to(b"from bob", server.address()).expect("send");

    assert_eq!(receive_reply(&bob, server.address()), b"from bob");
    assert_eq!(receive_reply(&alice, server.address()), b"from alice");
}

#[test]
fn keeps_message_boundaries() {
    let server = start_server("05_udp_server", &[]);
    let client = udp_socket();

    // Sent back to back, these three would merge into one read over TCP. Over UDP each
    // datagram stays whole and separate, so three datagrams get three replies.
    let messages: [&[u8]; 3] = [b"one", b"two two", b"three three three"];
    for message in messages {
        client.send_to(message, server.address()).expect("send");
    }
    let mut replies: Vec<Vec<u8>> = (0..messages.len())
        .map(|_| receive_reply(&client, server.address()))
        .collect();

    // UDP does not promise order (loopback keeps it, a network may not), so compare as sets.
    replies.sort();
    let mut expected: Vec<Vec<u8>> =
        messages.iter().map(|message| message.to_vec()).collect();
    expected.sort();
    assert_eq!(replies, expected);
}

// Windows does not truncate: its recv_from fails with WSAEMSGSIZE and the datagram is lost.
#[cfg_attr(
    windows,
    ignore = "Windows reports WSAEMSGSIZE instead of truncating the datagram"
)]
#[test]
fn a_datagram_larger_than_the_buffer_is_cut_to_1024_bytes() {
    let mut server = start_server("05_udp_server", &[]);
    let client = udp_socket();
    // A pattern, not one repeated byte, so the test sees *which* bytes were kept: the first.
    let datagram: Vec<u8> =
        (0..1500).map(|index| b'a' + (index % 26) as u8).collect();

    client.send_to(&datagram, server.address()).expect("send");

    let data = receive_reply(&client, server.address());
    assert_eq!(data.len(), BUFFER_SIZE);
    assert_eq!(data, &datagram[..BUFFER_SIZE]);
    server.expect("may have been longer, and the OS discarded the rest");
}

#[test]
fn client_prints_each_reply_and_stops_at_an_empty_line() {
    let mut server = start_server("05_udp_server", &[]);
    common::command("05_udp_client")
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
        .stdout(
            predicate::str::is_match(
                r"(?m)^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}second$",
            )
            .expect("a valid pattern"),
        )
        .stdout(predicate::str::contains("never sent").not());
    // One line, one datagram: no newline is sent.
    server.expect(r#"received 5 bytes from 127.0.0.1:"#);
    server.expect(r#"received 6 bytes from 127.0.0.1:"#);
}

#[test]
fn client_reports_a_lost_reply_and_goes_on() {
    // A socket that receives but never answers: to the client, every reply is lost.
    let silent = udp_socket();
    let address = silent.local_addr().expect("address");

    common::command("05_udp_client")
        .args(["--port", &address.port().to_string(), "--timeout", "0.3"])
        .write_stdin("one\ntwo\n")
        .assert()
        .success()
        .stdout(
            predicate::str::contains(format!(
                "no reply within 300ms: the datagram or its reply was lost, or no server is \
                 listening on {address}"
            ))
            .count(2),
        );

    // The client did send both lines, each as its own datagram, before it gave up on them.
    assert_eq!(receive(&silent).0, b"one");
    assert_eq!(receive(&silent).0, b"two");
}

#[test]
fn client_ignores_datagrams_from_anyone_but_the_server() {
    let server = udp_socket();
    let stranger = udp_socket();
    let port = server.local_addr().expect("address").port().to_string();
    let mut client = common::spawn("05_udp_client", &["--port", &port]);

    client.type_line("hello");
    let (datagram, client_address) = receive(&server);
    assert_eq!(datagram, b"hello");

    // The client's port is no secret: anyone may send to it while it waits.
    stranger
        .send_to(b"not the reply", client_address)
        .expect("send");
    client.expect(r#"ignored "not the reply" from 127.0.0.1:"#);

    let mut reply = ctime::now().into_bytes();
    reply.extend_from_slice(b"hello");
    server.send_to(&reply, client_address).expect("send");
    let line = client.expect("hello");
    assert!(
        line.get(..ctime::LEN).is_some_and(is_ctime),
        "{line:?} starts with a stamp"
    );

    client.close_stdin();
    let (status, _, _) = client.wait();
    assert!(status.success());
}

#[test]
fn client_rejects_a_timeout_that_is_not_a_positive_number() {
    for timeout in ["0", "-1", "soon", "nan"] {
        common::command("05_udp_client")
            .arg(format!("--timeout={timeout}"))
            .write_stdin("")
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "expected a number of seconds above 0",
            ));
    }
}
