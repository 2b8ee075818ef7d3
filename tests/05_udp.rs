//! Lesson 05: the UDP server and client keep the ctime protocol over datagrams
//! (`socket_lessons::check::ctime`: every datagram answered, to its sender, boundaries kept; a
//! lost reply given up on), and what the lesson itself adds: truncation at 1024 bytes reported
//! from the OS's MSG_TRUNC flag, strangers' datagrams ignored, and the client's messages and
//! `--timeout`. Also what chapter 05 says the OS does with a datagram too long for the buffer.

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

/// 1,500 bytes of a pattern, not one repeated byte, so a test sees *which* bytes were kept.
fn long_datagram() -> Vec<u8> {
    (0..1500).map(|index| b'a' + (index % 26) as u8).collect()
}

#[test]
fn msg_trunc_reports_a_truncated_datagram() {
    let mut server = start_server("05_udp_server", &[]);
    let client = udp_socket();
    let datagram = long_datagram();

    client.send_to(&datagram, server.address()).expect("send");

    let data = receive_reply(&client, server.address());
    assert_eq!(
        data,
        &datagram[..BUFFER_SIZE],
        "the first 1024 bytes are kept"
    );
    server.expect("received 1024 bytes");
    server.expect(
        "was longer than the 1024-byte buffer: the OS kept the first 1024 bytes \
         and dropped the rest (MSG_TRUNC)",
    );
}

#[test]
fn a_datagram_that_just_fills_the_buffer_is_not_reported_as_truncated() {
    let mut server = start_server("05_udp_server", &[]);
    let client = udp_socket();
    // Exactly 1024 bytes fill the buffer and lose nothing: the flag, not a full
    // buffer, is what tells the two apart.
    client
        .send_to(&[b'z'; BUFFER_SIZE], server.address())
        .expect("send");
    assert_eq!(
        receive_reply(&client, server.address()),
        [b'z'; BUFFER_SIZE]
    );
    server.expect("received 1024 bytes");
    // The very next line: the reply, with no notice before it.
    let next = server.expect("");
    assert!(next.starts_with("sent 1048 bytes"), "{next}");
}

// On Windows std's recv_from fails with WSAEMSGSIZE instead.
#[cfg(unix)]
#[test]
fn std_recv_from_cuts_a_long_datagram_without_a_word_and_drops_the_rest() {
    let receiver = udp_socket();
    let sender = udp_socket();
    let address = receiver.local_addr().expect("address");
    let datagram = long_datagram();
    sender.send_to(&datagram, address).expect("send");
    sender.send_to(b"next", address).expect("send");

    let mut buffer = [0u8; BUFFER_SIZE];
    let (count, _) = receiver.recv_from(&mut buffer).expect("receive");
    assert_eq!(count, BUFFER_SIZE, "only the count of bytes copied");
    assert_eq!(buffer, datagram[..BUFFER_SIZE]);
    // The other 476 bytes are gone: the next receive is the next datagram.
    let (count, _) = receiver.recv_from(&mut buffer).expect("receive");
    assert_eq!(&buffer[..count], b"next");
}

#[cfg(target_os = "linux")]
#[test]
fn linux_recv_with_msg_trunc_returns_the_real_length() {
    use socket2::SockRef;
    use std::mem::MaybeUninit;

    let receiver = udp_socket();
    let sender = udp_socket();
    let datagram = long_datagram();
    sender
        .send_to(&datagram, receiver.local_addr().expect("address"))
        .expect("send");

    // Only the count is looked at, so the buffer may stay uninitialised.
    let mut buffer = [MaybeUninit::<u8>::uninit(); BUFFER_SIZE];
    let receiver = SockRef::from(&receiver);
    // With MSG_PEEK too, the datagram stays queued: its size, known in advance.
    let peeked = receiver
        .recv_with_flags(&mut buffer, libc::MSG_TRUNC | libc::MSG_PEEK)
        .expect("peek");
    assert_eq!(
        peeked, 1500,
        "the real length, and the datagram still there"
    );
    let count = receiver
        .recv_with_flags(&mut buffer, libc::MSG_TRUNC)
        .expect("receive");
    assert_eq!(
        count, 1500,
        "the datagram's real length, not the 1024 copied"
    );
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
fn the_largest_ipv4_datagram_carries_65507_bytes() {
    let receiver = udp_socket();
    let sender = udp_socket();
    let address = receiver.local_addr().expect("address");
    assert_eq!(
        sender.send_to(&[b'x'; 65_507], address).expect("send"),
        65_507
    );
    let error = sender
        .send_to(&[b'x'; 65_508], address)
        .expect_err("one byte too many");
    if cfg!(target_os = "linux") {
        assert_eq!(error.raw_os_error(), Some(90), "EMSGSIZE: {error}");
    }
    // Only the first one was sent.
    assert_eq!(receive(&receiver).0.len(), 65_507);
    receiver
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .expect("set a read timeout");
    let mut buffer = [0u8; 16];
    assert!(
        receiver.recv_from(&mut buffer).is_err(),
        "no second datagram"
    );
}

/// A local UDP port where nothing is bound (one was, a moment ago).
fn closed_udp_port() -> SocketAddr {
    udp_socket().local_addr().expect("address")
}

#[cfg(target_os = "linux")]
#[test]
fn a_connected_udp_socket_hears_icmp_port_unreachable_as_econnrefused() {
    let socket = udp_socket();
    socket.connect(closed_udp_port()).expect("connect");
    socket.send(b"anyone?").expect("the send itself succeeds");
    let mut buffer = [0u8; 64];
    let error = socket.recv(&mut buffer).expect_err("refused");
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{error}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn an_unconnected_udp_socket_hears_nothing_of_icmp_port_unreachable() {
    let socket = udp_socket();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .expect("set a read timeout");
    socket.send_to(b"anyone?", closed_udp_port()).expect("send");
    let mut buffer = [0u8; 64];
    let error = socket.recv_from(&mut buffer).expect_err("nothing comes");
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock, "{error}");
}

#[test]
fn client_reports_a_line_too_long_for_one_datagram_and_goes_on() {
    // Over IPv4 a datagram carries at most 65,507 bytes of data.
    let mut server = start_server("05_udp_server", &[]);
    let long_line = "x".repeat(65_508);
    let output = common::command("05_udp_client")
        .args(["--port", &server.port()])
        .write_stdin(format!("{long_line}\nafter\n"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let output = String::from_utf8_lossy(&output);
    if cfg!(target_os = "linux") {
        assert!(
            output.contains("Message too long (os error 90)"),
            "{output}"
        );
    }
    assert!(output.contains("after"), "{output}");
    server.expect("received 5 bytes");
}

#[test]
fn client_rejects_a_timeout_out_of_range_and_says_the_range() {
    for timeout in ["0", "-1", "-0.5", "1e20", "0.0000000001", "nan", "inf"] {
        common::command("05_udp_client")
            .args(["--timeout", timeout])
            .write_stdin("")
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "expected seconds from 0.001 to 86400 (a day)",
            ))
            .stderr(predicate::str::contains("unexpected argument").not());
    }
    common::command("05_udp_client")
        .args(["--timeout", "soon"])
        .write_stdin("")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "expected a number of seconds, such as 2 or 0.5",
        ));
}

#[test]
fn client_accepts_a_timeout_in_range() {
    for timeout in ["0.001", "0.5", "2", "1e-3", "86400"] {
        common::command("05_udp_client")
            .args(["--timeout", timeout, "--port", "9"])
            .write_stdin("")
            .assert()
            .success();
    }
}

#[test]
fn an_unbound_udp_socket_is_bound_by_its_first_send_to() {
    use socket2::{Domain, Socket, Type};

    // Python's socket(AF_INET, SOCK_DGRAM) then sendto(), with no bind in between.
    let receiver = udp_socket();
    let socket =
        Socket::new(Domain::IPV4, Type::DGRAM, None).expect("a UDP socket");
    let port_before = socket
        .local_addr()
        .ok()
        .and_then(|address| address.as_socket())
        .map_or(0, |address| address.port());
    assert_eq!(port_before, 0, "no port yet");

    let destination = receiver.local_addr().expect("address").into();
    socket.send_to(b"hello", &destination).expect("send");
    let bound = socket
        .local_addr()
        .expect("an address now")
        .as_socket()
        .expect("an IP address");
    assert_ne!(bound.port(), 0, "the OS picked a port for the send");
    let (datagram, sender) = receive(&receiver);
    assert_eq!(datagram, b"hello");
    assert_eq!(sender.port(), bound.port(), "and it is the return address");
}

#[test]
fn the_largest_ipv6_datagram_carries_65527_bytes() {
    // IPv6's payload length counts the UDP header but not the IPv6 header: 65,535 - 8.
    let Ok(receiver) = UdpSocket::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback on this machine: nothing to show");
        return;
    };
    let sender = UdpSocket::bind("[::1]:0").expect("bind a second IPv6 socket");
    let address = receiver.local_addr().expect("address");
    assert_eq!(
        sender.send_to(&[b'x'; 65_527], address).expect("send"),
        65_527
    );
    let error = sender
        .send_to(&[b'x'; 65_528], address)
        .expect_err("one byte too many");
    if cfg!(target_os = "linux") {
        assert_eq!(error.raw_os_error(), Some(90), "EMSGSIZE: {error}");
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_udp_read_timeout_fails_with_wouldblock_on_linux() {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .expect("set a read timeout");
    let error = socket.recv_from(&mut [0u8; 16]).expect_err("nobody sends");
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock, "{error}");
}

/// The state `ss` shows for the UDP socket bound to `address`; `None` on a machine without `ss`.
#[cfg(target_os = "linux")]
fn udp_state_as_ss_shows_it(address: SocketAddr) -> Option<String> {
    let filter = format!("sport = :{}", address.port());
    let Ok(output) = std::process::Command::new("ss")
        .args(["-uanH", &filter])
        .output()
    else {
        eprintln!("no `ss` on this machine: nothing to compare with");
        return None;
    };
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    shown.split_whitespace().next().map(String::from)
}

#[cfg(target_os = "linux")]
#[test]
fn ss_shows_a_udp_socket_as_unconn_until_it_connects_and_then_as_estab() {
    let socket = udp_socket();
    let address = socket.local_addr().expect("address");
    if let Some(state) = udp_state_as_ss_shows_it(address) {
        assert_eq!(state, "UNCONN");
    }
    // connect only fixes the peer: no packet goes to it.
    let peer = udp_socket();
    socket
        .connect(peer.local_addr().expect("address"))
        .expect("connect");
    if let Some(state) = udp_state_as_ss_shows_it(address) {
        assert_eq!(state, "ESTAB");
    }
    peer.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .expect("set a read timeout");
    let error = peer
        .recv_from(&mut [0u8; 16])
        .expect_err("connect sent nothing");
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock, "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_connected_udp_socket_receives_only_from_its_peer() {
    let socket = udp_socket();
    let (peer, stranger) = (udp_socket(), udp_socket());
    socket
        .connect(peer.local_addr().expect("address"))
        .expect("connect");
    let address = socket.local_addr().expect("address");
    stranger.send_to(b"from a stranger", address).expect("send");
    peer.send_to(b"from the peer", address).expect("send");
    // The stranger's datagram was sent first, and dropped by the OS.
    assert_eq!(
        receive(&socket),
        (
            b"from the peer".to_vec(),
            peer.local_addr().expect("address")
        )
    );
}
