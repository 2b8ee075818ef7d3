//! What the introduction and the appendix "Watching sockets" say the operating system does with
//! a TCP connection, shown on real loopback sockets: how each end closes its direction, when a
//! read returns 0 and when it fails, what a write to a closed peer does, and when a write can
//! take fewer bytes than it was given. No lesson is involved: each test makes its own sockets
//! with std (and socket2 where std has no name for the call), so it shows the OS and nothing
//! of ours. These claims are Linux's: the tests run on Linux, and the book hedges the rest.

#![cfg(target_os = "linux")]

use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Far more than the two socket buffers of a loopback connection hold together.
const MORE_THAN_THE_BUFFERS_HOLD: usize = 64 * 1024 * 1024;

/// A connected pair over loopback, with a deadline on every read and write: (client, server).
fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("address"))
        .expect("connect");
    let (server, _) = listener.accept().expect("accept");
    for end in [&client, &server] {
        end.set_read_timeout(Some(TIMEOUT)).expect("a read timeout");
        end.set_write_timeout(Some(TIMEOUT))
            .expect("a write timeout");
    }
    (client, server)
}

/// Reads until the peer's FIN, with the pair's deadline on each read.
fn read_to_fin(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    stream
        .read_to_end(&mut received)
        .expect("the bytes, then a FIN");
    received
}

/// Writes `message` again and again until a write fails, and returns that error: the first
/// writes to a peer that has gone succeed (the bytes leave; the answer is a reset), a later one
/// fails once the reset has come back.
fn write_until_it_fails(
    stream: &mut TcpStream,
    message: &[u8],
) -> std::io::Error {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "every write succeeded");
        if let Err(error) = stream.write(message) {
            return error;
        }
    }
}

#[test]
fn reads_return_0_after_the_peers_shutdown_while_our_writes_still_arrive() {
    let (mut client, mut server) = connected_pair();

    // The client closes its sending direction only, as `nc -N` does at the end of its input.
    client.write_all(b"question").expect("send");
    client.shutdown(Shutdown::Write).expect("shutdown(Write)");

    assert_eq!(read_to_fin(&mut server), b"question");
    let mut buffer = [0u8; 16];
    assert_eq!(server.read(&mut buffer).expect("read again"), 0, "0 again");

    // The other direction is still open: the server answers, and the client reads it.
    server
        .write_all(b"answer")
        .expect("the server can still send");
    drop(server);
    assert_eq!(read_to_fin(&mut client), b"answer");
}

#[test]
fn a_close_with_unread_data_resets_the_peer() {
    let (mut client, server) = connected_pair();

    client.write_all(b"nobody reads this").expect("send");
    // Wait until the bytes are in the server's socket, unread, then close it.
    let mut first = [0u8; 1];
    server.peek(&mut first).expect("the bytes arrive");
    drop(server);

    // No FIN came first, so the reset is what the client's read reports.
    let mut buffer = [0u8; 64];
    let error = client.read(&mut buffer).expect_err("a reset, not a 0");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
}

#[test]
fn a_read_after_the_peers_fin_returns_0_even_after_a_reset() {
    let (mut client, server) = connected_pair();
    drop(server);

    let mut buffer = [0u8; 64];
    assert_eq!(client.read(&mut buffer).expect("the FIN"), 0);
    // Writing to a socket that is closed brings a reset back; the failing write shows it came.
    write_until_it_fails(&mut client, b"anyone there?");

    assert_eq!(
        client
            .read(&mut buffer)
            .expect("still the FIN, not the reset"),
        0
    );
}

#[test]
fn a_write_to_a_closed_peer_fails_with_epipe_instead_of_killing_the_process() {
    let (mut client, server) = connected_pair();
    drop(server);

    // The first write succeeds: the bytes leave, and the peer's OS answers with a reset.
    client.write_all(b"anyone there?").expect("the first write");
    let error = write_until_it_fails(&mut client, b"anyone there?");
    assert_eq!(error.kind(), ErrorKind::BrokenPipe, "{error}");
    assert_eq!(error.raw_os_error(), Some(libc::EPIPE));
    // And this test is still running: Rust's std asks for an error, not the SIGPIPE that ends
    // a C program by default.
}

#[test]
fn a_blocking_write_returns_only_when_everything_is_queued() {
    let (mut client, mut server) = connected_pair();
    let reader = thread::spawn(move || read_to_fin(&mut server).len());

    let message = vec![b'x'; MORE_THAN_THE_BUFFERS_HOLD];
    let taken = client.write(&message).expect("one write");
    assert_eq!(taken, message.len(), "one blocking write took everything");

    drop(client);
    assert_eq!(reader.join().expect("the reader"), message.len());
}

#[test]
fn a_write_with_a_send_timeout_can_take_fewer_bytes() {
    let (mut client, _server_that_never_reads) = connected_pair();
    client
        .set_write_timeout(Some(Duration::from_millis(200)))
        .expect("a send timeout");

    let message = vec![b'x'; MORE_THAN_THE_BUFFERS_HOLD];
    let taken = client.write(&message).expect("a short count, not an error");
    assert!(0 < taken && taken < message.len(), "took {taken} bytes");
}

#[test]
fn a_non_blocking_write_can_take_fewer_bytes() {
    let (mut client, _server_that_never_reads) = connected_pair();
    client.set_nonblocking(true).expect("non-blocking mode");

    let message = vec![b'x'; MORE_THAN_THE_BUFFERS_HOLD];
    let taken = client.write(&message).expect("a short count, not an error");
    assert!(0 < taken && taken < message.len(), "took {taken} bytes");
}

#[test]
fn connecting_to_a_port_where_nothing_listens_is_refused() {
    // A socket bound but never listening holds the port, so no other program can take it
    // while the test runs, and nothing listens there.
    let holder = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    holder.bind(&SockAddr::from(loopback)).expect("bind");
    let address = holder
        .local_addr()
        .expect("address")
        .as_socket()
        .expect("an IP address");

    let error = TcpStream::connect(address).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    assert_eq!(error.raw_os_error(), Some(libc::ECONNREFUSED));
}

#[test]
fn a_client_can_connect_and_send_before_the_server_accepts() {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        TcpStream::connect(listener.local_addr().expect("address"))
            .expect("connect succeeds with nobody in accept");
    client.write_all(b"early").expect("send");

    // The client's OS keeps a byte until the server's OS acknowledges it, so an empty send
    // queue (SIOCOUTQ, which Linux spells TIOCOUTQ) means the server's OS holds all five,
    // although no program has called accept.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut unacknowledged: libc::c_int = -1;
        // SAFETY: the descriptor is open for the whole call, and the kernel writes one
        // c_int through the pointer.
        let status = unsafe {
            libc::ioctl(
                client.as_raw_fd(),
                libc::TIOCOUTQ,
                &raw mut unacknowledged,
            )
        };
        assert_eq!(status, 0, "{}", std::io::Error::last_os_error());
        if unacknowledged == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{unacknowledged} bytes unacked");
        thread::sleep(Duration::from_millis(5));
    }

    let (mut server, _) = listener.accept().expect("accept, only now");
    server
        .set_read_timeout(Some(TIMEOUT))
        .expect("a read timeout");
    let mut buffer = [0u8; 5];
    server.read_exact(&mut buffer).expect("the bytes waited");
    assert_eq!(&buffer, b"early");
}

#[test]
fn rust_programs_start_with_sigpipe_ignored() {
    // This test binary is a Rust program: std set SIGPIPE to "ignore" before main.
    // SAFETY: a null new action only reads the current one into `current`.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    let status = unsafe {
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &raw mut current)
    };
    assert_eq!(status, 0, "{}", std::io::Error::last_os_error());
    assert_eq!(current.sa_sigaction, libc::SIG_IGN);
}

#[test]
fn a_c_program_that_writes_to_a_closed_peer_is_killed_by_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    // bash is a C program that leaves SIGPIPE as it found it, and std's Command gives a child
    // the default action back. bash's /dev/tcp makes a plain TCP socket: it reads until our
    // FIN, then writes until a write fails; a failing write that did not kill it exits 3.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port}; cat <&3 >/dev/null; \
         while :; do echo anyone there? >&3 || exit 3; done"
    );
    let Ok(mut bash) = Command::new("bash")
        .args(["-c", &script])
        .stderr(Stdio::null())
        .spawn()
    else {
        eprintln!("no bash on this machine: nothing to show");
        return;
    };
    let (server, _) = listener.accept().expect("bash connects");
    drop(server); // nothing unread: a FIN, and later a reset for bash's writes

    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = bash.try_wait().expect("wait for bash") {
            break status;
        }
        if Instant::now() > deadline {
            bash.kill().expect("kill bash");
            panic!("bash kept writing");
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status}");
}

#[test]
fn a_clients_port_comes_from_the_ephemeral_range() {
    let range =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .expect("the range");
    let bounds: Vec<u16> = range
        .split_whitespace()
        .map(|bound| bound.parse().expect("a port"))
        .collect();
    let (client, _) = connected_pair();
    let port = client.local_addr().expect("address").port();
    assert!(
        bounds[0] <= port && port <= bounds[1],
        "{port} not in {range}"
    );
}
