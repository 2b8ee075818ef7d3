//! Lesson 05: the UDP server and client keep the ctime protocol over datagrams
//! (`socket_lessons::check::ctime`: every datagram answered, to its sender, boundaries kept; a
//! lost reply given up on), and what the lesson itself adds: truncation at 1024 bytes made
//! visible, strangers' datagrams ignored, and the client's messages and `--timeout`.

mod common;

use common::{TIMEOUT, start_server};
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
    assert!(ctime::is_stamp(&stamp), "{stamp:?} is not a ctime() stamp");
    data.to_vec()
}

#[test]
fn the_server_keeps_the_ctime_protocol_over_udp() {
    common::assert_keeps_its_protocol("05_udp_server", &[]);
}

#[test]
fn the_client_keeps_the_ctime_protocol_over_udp() {
    // A short timeout, so the lost-reply check does not wait the default 2 seconds.
    common::assert_keeps_its_protocol("05_udp_client", &["--timeout", "0.3"]);
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
        line.get(..ctime::LEN).is_some_and(ctime::is_stamp),
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
