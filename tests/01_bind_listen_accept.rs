//! Lesson 01: the server keeps its promise (`socket_lessons::check::bind_accept`: two clients,
//! one after the other, each acknowledged, then exit 0), and what the lesson itself prints and
//! answers: `ack: ` and the bytes received, both ends of each connection.
//!
//! Then what chapter 01 says the OS does around `bind`, `listen` and `accept`, each test named
//! after the claim: on the lesson where the claim is about it (it binds again past its own
//! TIME_WAIT connections, `ss` shows its backlog), and on sockets of the test's own otherwise
//! (a refused connect, the queue's length, the reset of what is still queued). Linux only, as
//! the chapter says.

mod common;

use common::{connect, read_until, spawn, start_server};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `message` and reads the reply until the server closes the connection.
fn send_and_read_to_close(address: SocketAddr, message: &str) -> String {
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

#[test]
fn a_client_that_shuts_down_its_sending_side_still_gets_its_answer() {
    // What `nc -N` does at the end of its input: a FIN for our direction only.
    let mut server = start_server("01_bind_listen_accept", &[]);
    let mut client = connect(server.address());
    client.write_all(b"hi\n").expect("send");
    client.shutdown(Shutdown::Write).expect("shutdown(Write)");
    let mut reply = Vec::new();
    client
        .read_to_end(&mut reply)
        .expect("the answer, then a FIN");
    assert_eq!(String::from_utf8_lossy(&reply), "ack: hi\n");

    // With nothing sent first, the server's read returns 0 at once.
    let client = connect(server.address());
    client.shutdown(Shutdown::Write).expect("shutdown(Write)");
    server.expect("closed without sending anything");
    let (status, _, _) = server.wait();
    assert!(status.success());
}

#[test]
#[cfg(target_os = "linux")]
fn the_lesson_binds_again_at_once_where_a_bind_without_so_reuseaddr_fails() {
    let mut server = start_server("01_bind_listen_accept", &[]);
    let address = server.address();
    for message in ["first", "second"] {
        send_and_read_to_close(address, message);
    }
    server.expect("served 2 clients");
    let (status, _, _) = server.wait();
    assert!(status.success());

    // The server closed both connections first, so they wait out TIME_WAIT on its port.
    let plain = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let error = plain
        .bind(&SockAddr::from(address))
        .expect_err("the port has connections in TIME_WAIT");
    assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
    drop(plain);

    let port = address.port().to_string();
    let mut again = spawn("01_bind_listen_accept", &["--port", &port]);
    again.expect(&format!("listening on {address}"));
}

/// What `ss` shows for the socket listening on `port`: its state, `Recv-Q` (connections
/// waiting for `accept`) and `Send-Q` (the backlog); `None` on a machine without `ss`.
#[cfg(target_os = "linux")]
fn listening_as_ss_shows_it(port: u16) -> Option<Vec<String>> {
    let filter = format!("sport = :{port}");
    let Ok(output) = std::process::Command::new("ss")
        .args(["-tlnH", &filter])
        .output()
    else {
        eprintln!("no `ss` on this machine: nothing to compare with");
        return None;
    };
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    Some(shown.split_whitespace().take(3).map(String::from).collect())
}

#[test]
#[cfg(target_os = "linux")]
fn listen_backlog_is_what_ss_shows() {
    let server = start_server("01_bind_listen_accept", &[]);
    if let Some(shown) = listening_as_ss_shows_it(server.address().port()) {
        assert_eq!(shown, ["LISTEN", "0", "5"]);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn tcp_listener_bind_listens_with_a_backlog_of_128() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    if let Some(shown) = listening_as_ss_shows_it(port) {
        assert_eq!(shown, ["LISTEN", "0", "128"]);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn binding_an_address_this_machine_does_not_have_fails() {
    // 192.0.2.1 is set aside for documentation: no machine should have it.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let elsewhere: SocketAddr = "192.0.2.1:9999".parse().expect("an address");
    let error = socket
        .bind(&SockAddr::from(elsewhere))
        .expect_err("not ours");
    assert_eq!(error.kind(), ErrorKind::AddrNotAvailable, "{error}");
}

/// A socket bound to a free loopback port, as lesson 01 makes it, not yet listening.
#[cfg(target_os = "linux")]
fn bound_socket() -> (Socket, SocketAddr) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    socket.bind(&SockAddr::from(loopback)).expect("bind");
    let address = socket.local_addr().expect("address").as_socket();
    (socket, address.expect("an IP address"))
}

#[test]
#[cfg(target_os = "linux")]
fn a_bound_socket_that_does_not_listen_refuses_connections() {
    let (socket, address) = bound_socket();
    let error = TcpStream::connect(address).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    let error = socket.accept().expect_err("accept without listen");
    assert_eq!(error.raw_os_error(), Some(libc::EINVAL), "{error}");
}

#[test]
#[cfg(target_os = "linux")]
fn reading_from_the_listening_socket_fails_with_enotconn() {
    let (socket, _) = bound_socket();
    socket.listen(5).expect("listen");
    let mut buffer = [0u8; 16];
    let error = (&socket)
        .read(&mut buffer)
        .expect_err("a listener has no data");
    assert_eq!(error.raw_os_error(), Some(libc::ENOTCONN), "{error}");
}

#[test]
#[cfg(target_os = "linux")]
fn a_full_backlog_holds_backlog_plus_one_then_ignores_handshakes() {
    let (socket, address) = bound_socket();
    socket.listen(2).expect("listen");
    // Nobody accepts: the OS completes the handshakes and queues the connections.
    let queued: Vec<TcpStream> = (0..3).map(|_| connect(address)).collect();
    let error =
        TcpStream::connect_timeout(&address, Duration::from_millis(300))
            .expect_err("the queue is full");
    assert_eq!(error.kind(), ErrorKind::TimedOut, "not refused: {error}");
    drop(queued);
}

#[test]
#[cfg(target_os = "linux")]
fn a_closed_listener_resets_the_connections_still_in_its_queue() {
    let (socket, address) = bound_socket();
    socket.listen(5).expect("listen");
    let mut waiting = connect(address);
    waiting.write_all(b"my turn?").expect("send");
    drop(socket);
    let mut buffer = [0u8; 16];
    let error = waiting.read(&mut buffer).expect_err("a reset");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
}

#[test]
#[cfg(target_os = "linux")]
fn a_stream_socket_with_no_protocol_is_tcp() {
    use std::os::fd::AsRawFd;
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let mut protocol: libc::c_int = 0;
    let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is open for the whole call, and `protocol` and `length` are
    // valid for the sizes given.
    let status = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PROTOCOL,
            (&raw mut protocol).cast(),
            &mut length,
        )
    };
    assert_eq!(status, 0, "{}", std::io::Error::last_os_error());
    assert_eq!(protocol, libc::IPPROTO_TCP);
}

#[test]
#[cfg(target_os = "linux")]
fn tcp_listener_bind_sets_so_reuseaddr() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let reuse = socket2::SockRef::from(&listener)
        .reuse_address()
        .expect("read SO_REUSEADDR");
    assert!(reuse, "std's bind set SO_REUSEADDR");
}

#[test]
fn with_host_ipv6_loopback_the_same_code_makes_an_ipv6_server() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine: nothing to show");
        return;
    }
    let mut server = start_server("01_bind_listen_accept", &["--host", "::1"]);
    assert!(server.address().is_ipv6(), "{}", server.address());
    let client = connect(server.address());
    let line = server.expect("accepted:");
    let local = client.local_addr().expect("our address");
    assert!(line.contains(&format!("peer {local}")), "{line}");
}

#[test]
#[cfg(target_os = "linux")]
fn so_reuseaddr_does_not_let_two_servers_share_a_port() {
    let (first, address) = bound_socket();
    first.listen(5).expect("listen");
    let second = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    second.set_reuse_address(true).expect("SO_REUSEADDR");
    let error = second
        .bind(&SockAddr::from(address))
        .expect_err("a socket listens there");
    assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
}

#[test]
#[cfg(target_os = "linux")]
fn ss_counts_the_connections_waiting_for_accept_in_recv_q() {
    let (socket, address) = bound_socket();
    socket.listen(5).expect("listen");
    let _waiting: Vec<TcpStream> = (0..2).map(|_| connect(address)).collect();
    if let Some(shown) = listening_as_ss_shows_it(address.port()) {
        assert_eq!(shown, ["LISTEN", "2", "5"]);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn accept_takes_connections_in_the_order_their_handshakes_finished() {
    let (socket, address) = bound_socket();
    socket.listen(5).expect("listen");
    let first = connect(address);
    let second = connect(address);
    for client in [&first, &second] {
        let (_, peer) = socket.accept().expect("accept");
        assert_eq!(peer.as_socket(), client.local_addr().ok());
    }
}

#[test]
fn a_client_that_resets_is_logged_as_lost_and_the_next_is_accepted() {
    let mut server = start_server("01_bind_listen_accept", &[]);
    let client = connect(server.address());
    server.expect("accepted:");
    // A linger time of zero makes close send a reset instead of a FIN.
    let client = Socket::from(client);
    client
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(client);
    let lost = server.expect("lost");
    assert!(lost.contains("reset"), "{lost}");

    let _next = connect(server.address());
    server.expect("accepted:");
}
