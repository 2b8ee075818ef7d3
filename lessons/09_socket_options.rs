//! Lesson 09 — socket options: what setsockopt asks, and what getsockopt says
//! the OS really did.
//!
//! An experiment in five parts, each on loopback and all in this one process:
//! rebinding a port whose connection waits in TIME_WAIT, with and without
//! SO_REUSEADDR; the buffer sizes the OS sets when asked for SO_RCVBUF and
//! SO_SNDBUF; Nagle's algorithm against TCP_NODELAY, timed; SO_KEEPALIVE and
//! its timers; and SO_LINGER with a zero timeout, which closes with a reset.
//! Every option is set and then read back, because the OS may round, double
//! or cap what it was asked. Run it with `cargo run --bin 09_socket_options`;
//! it takes well under a second.

use socket_lessons::cli;
use socket_lessons::experiment::{answer, duration, part, step, value};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// Port 0 on loopback: every socket here asks the OS for a free port.
const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
/// How long any read waits before the experiment gives up on it.
const PATIENCE: Duration = Duration::from_secs(2);
/// The buffer sizes part 2 asks for: tiny, small, medium, and far too big.
const BUFFER_REQUESTS: [usize; 4] = [1, 4096, 100_000, 10_000_000];
/// Part 3's request: a small header and a small body, in two writes.
const HEADER: &[u8] = b"LEN 5\n";
const BODY: &[u8] = b"hello";
/// How many requests part 3 times for each setting; it prints the median.
const ROUNDS: usize = 5;

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(_: Experiment) -> io::Result<()> {
    // A part this system cannot show says why where it stands; the other
    // parts still run, and the exit status says the experiment is incomplete.
    let missing = match reuse_address() {
        Err(error) if error.kind() == io::ErrorKind::Unsupported => Some(error),
        other => {
            other?;
            None
        }
    };
    buffer_sizes()?;
    nodelay()?;
    keepalive()?;
    linger()?;
    match missing {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// A new TCP socket over IPv4, as Python's `socket()` makes it.
fn tcp_socket() -> io::Result<Socket> {
    Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
}

/// One read of whatever has arrived: a count, 0 for end of file, or an error.
fn read_once(mut stream: &TcpStream) -> io::Result<usize> {
    let mut buffer = [0u8; 64];
    stream.read(&mut buffer)
}

/// Part 1: a port whose last connection waits in TIME_WAIT.
fn reuse_address() -> io::Result<()> {
    part("SO_REUSEADDR: binding a port whose connection is in TIME_WAIT");
    if cfg!(windows) {
        step(
            "On Windows, SO_REUSEADDR lets a socket take a port that another \
             socket is using, even a listening one (Microsoft's documentation \
             warns of it), so std leaves it off and this part would not show \
             there what it shows on Linux and macOS.",
        );
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "part 1 (SO_REUSEADDR and TIME_WAIT) needs Linux or macOS: \
             Windows gives SO_REUSEADDR another meaning",
        ));
    }

    // ANCHOR: time_wait
    // A server as lessons 03 to 08 make it: std's TcpListener::bind, which
    // on Unix sets SO_REUSEADDR before its bind. Read the option back to see.
    let listener = TcpListener::bind(LOOPBACK)?;
    let address = listener.local_addr()?;
    step(format!(
        "a server listens on {address} (std's TcpListener::bind)"
    ));
    answer(
        "SO_REUSEADDR of std's listener",
        value(&SockRef::from(&listener).reuse_address()),
    );
    let client = TcpStream::connect(address)?;
    client.set_read_timeout(Some(PATIENCE))?;
    let (connection, client_address) = listener.accept()?;

    // The side that closes first is the one that waits in TIME_WAIT, for
    // twice the longest time a segment may live (a minute on Linux), so
    // that a late segment of this connection cannot land in a new one.
    step("the server closes the connection first, then stops listening");
    drop(connection);
    drop(listener);
    // The client's read of 0 bytes is the server's FIN. Only then does the
    // client close, so its FIN comes second and the server's end moves on
    // from FIN_WAIT2 to TIME_WAIT.
    answer(
        "the client's read after the server's close",
        value(&read_once(&client)),
    );
    step("the client closes too");
    drop(client);
    // ANCHOR_END: time_wait
    show_server_state(address, client_address);

    // ANCHOR: rebind
    // The server starts again on the same port: the listener is gone, but
    // the port is still held by the connection in TIME_WAIT.
    step(format!(
        "a new socket binds {address} with SO_REUSEADDR off"
    ));
    let without = tcp_socket()?;
    without.set_reuse_address(false)?;
    answer(
        "bind without SO_REUSEADDR",
        value(&without.bind(&address.into())),
    );

    // With SO_REUSEADDR on both sockets (the old one had it from std), a
    // connection in TIME_WAIT no longer blocks the bind. A *listening*
    // socket on the port still would: the option is not for two servers.
    step(format!(
        "another socket binds {address} with SO_REUSEADDR on"
    ));
    let with = tcp_socket()?;
    with.set_reuse_address(true)?;
    let bound = with.bind(&address.into());
    answer("bind with SO_REUSEADDR", value(&bound));
    // (listen on a socket whose bind failed would bind it to any free port
    // and succeed: no answer about this port.)
    if bound.is_ok() {
        answer("listen with SO_REUSEADDR", value(&with.listen(128)));
    }
    // ANCHOR_END: rebind
    Ok(())
}

/// Shows the state of the server's end of the closed connection, as `ss`
/// would: Linux's answer to a sock_diag question about this one connection.
#[cfg(target_os = "linux")]
fn show_server_state(server: SocketAddr, client: SocketAddr) {
    // The client's FIN may still be on its way through loopback: ask again
    // (for up to PATIENCE) until the state is TIME_WAIT, the one the binds
    // below meet.
    let deadline = Instant::now() + PATIENCE;
    let state = loop {
        let state = tcp_state(server, client);
        let settled = matches!(&state, Ok(Some("TIME_WAIT")));
        if settled || Instant::now() > deadline {
            break state;
        }
        thread::sleep(Duration::from_millis(1));
    };
    let shown = match state {
        Ok(Some(name)) => name.to_string(),
        Ok(None) => "no such connection".to_string(),
        Err(error) => socket_lessons::experiment::error(&error),
    };
    answer("the server's end, as ss sees it", shown);
}

/// Elsewhere, `netstat -an` shows the same state.
#[cfg(not(target_os = "linux"))]
fn show_server_state(server: SocketAddr, _: SocketAddr) {
    step(format!(
        "(`netstat -an` would now show {server} in TIME_WAIT; the lesson asks \
         Linux's sock_diag for it, which this system does not have)"
    ));
}

/// The state of the TCP connection from `local` to `remote`, or None when
/// there is none. This is how `ss` asks: a netlink socket carries a request
/// to the kernel's sock_diag, which answers for exactly this connection.
#[cfg(target_os = "linux")]
fn tcp_state(
    local: SocketAddr,
    remote: SocketAddr,
) -> io::Result<Option<&'static str>> {
    /// SOCK_DIAG_BY_FAMILY, in linux/sock_diag.h.
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    /// The states of linux/tcp_states.h, from 1.
    const STATES: [&str; 12] = [
        "ESTABLISHED",
        "SYN_SENT",
        "SYN_RECV",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "TIME_WAIT",
        "CLOSE",
        "CLOSE_WAIT",
        "LAST_ACK",
        "LISTEN",
        "CLOSING",
        "NEW_SYN_RECV",
    ];
    let (SocketAddr::V4(local), SocketAddr::V4(remote)) = (local, remote)
    else {
        return Err(io::Error::other("the lesson asks about IPv4 only"));
    };
    let diag = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(Protocol::from(libc::NETLINK_SOCK_DIAG)),
    )?;
    diag.set_read_timeout(Some(PATIENCE))?;
    // struct nlmsghdr: length, type, flags, sequence number, port id.
    let mut request: Vec<u8> = Vec::with_capacity(72);
    request.extend(72u32.to_ne_bytes());
    request.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request.extend((libc::NLM_F_REQUEST as u16).to_ne_bytes());
    request.extend([0; 8]);
    // struct inet_diag_req_v2: family, protocol, no extensions, any state.
    request.extend([libc::AF_INET as u8, libc::IPPROTO_TCP as u8, 0, 0]);
    request.extend(u32::MAX.to_ne_bytes());
    // struct inet_diag_sockid: ports and addresses in network byte order,
    // any interface, no cookie.
    request.extend(local.port().to_be_bytes());
    request.extend(remote.port().to_be_bytes());
    request.extend(local.ip().octets());
    request.extend([0; 12]);
    request.extend(remote.ip().octets());
    request.extend([0; 12]);
    request.extend([0; 4]);
    request.extend([0xff; 8]);
    diag.send(&request)?;

    let mut reply = [0u8; 512];
    let count = (&diag).read(&mut reply)?;
    let reply = &reply[..count];
    // The reply is struct inet_diag_msg, whose second byte is the state, or
    // an error message (type NLMSG_ERROR) with a negative errno: ENOENT for
    // a connection the kernel does not know.
    let four = |at: usize| -> [u8; 4] {
        let bytes = reply.get(at..at + 4).and_then(|b| b.try_into().ok());
        bytes.unwrap_or_default()
    };
    let [kind_low, kind_high, _, _] = four(4);
    if i32::from(u16::from_ne_bytes([kind_low, kind_high])) == libc::NLMSG_ERROR
    {
        return match -i32::from_ne_bytes(four(16)) {
            libc::ENOENT => Ok(None),
            code => Err(io::Error::from_raw_os_error(code)),
        };
    }
    let state = reply.get(17).copied().unwrap_or(0);
    Ok(Some(
        STATES
            .get(usize::from(state).wrapping_sub(1))
            .copied()
            .unwrap_or("an unknown state"),
    ))
}

/// Part 2: what the OS makes of a requested buffer size.
fn buffer_sizes() -> io::Result<()> {
    part("SO_RCVBUF and SO_SNDBUF: the buffer sizes the OS really sets");
    // ANCHOR: buffers
    // getsockopt on a socket nobody has tuned: the system's defaults.
    let socket = tcp_socket()?;
    answer(
        "SO_RCVBUF of a new TCP socket",
        value(&socket.recv_buffer_size()),
    );
    answer(
        "SO_SNDBUF of a new TCP socket",
        value(&socket.send_buffer_size()),
    );
    // setsockopt is a request. Read back what the OS made of it: Linux
    // doubles it (room for its own bookkeeping), with a floor, and caps it
    // at net.core.rmem_max and wmem_max before doubling.
    for asked in BUFFER_REQUESTS {
        let socket = tcp_socket()?;
        socket.set_recv_buffer_size(asked)?;
        socket.set_send_buffer_size(asked)?;
        answer(
            &format!("SO_RCVBUF after asking for {asked}"),
            value(&socket.recv_buffer_size()),
        );
        answer(
            &format!("SO_SNDBUF after asking for {asked}"),
            value(&socket.send_buffer_size()),
        );
    }
    // ANCHOR_END: buffers
    #[cfg(target_os = "linux")]
    for limit in ["rmem_max", "wmem_max"] {
        let path = format!("/proc/sys/net/core/{limit}");
        let read = std::fs::read_to_string(&path);
        let shown = match read {
            Ok(text) => text.trim().to_string(),
            Err(error) => socket_lessons::experiment::error(&error),
        };
        answer(&format!("net.core.{limit}"), shown);
    }
    Ok(())
}

/// Part 3: two small writes, then a wait for the reply.
fn nodelay() -> io::Result<()> {
    part("TCP_NODELAY: Nagle's algorithm and the second small write");
    step(format!(
        "each request is two writes, a {}-byte header then a {}-byte body; \
         the server replies once it has both; {ROUNDS} rounds with each \
         setting, on a new connection",
        HEADER.len(),
        BODY.len()
    ));
    let nagle = median_round(false)?;
    let no_delay = median_round(true)?;
    answer("Nagle on (the default), median round", duration(nagle));
    answer("TCP_NODELAY on, median round", duration(no_delay));
    Ok(())
}

/// Times `ROUNDS` requests on one connection, and returns the median.
fn median_round(no_delay: bool) -> io::Result<Duration> {
    let listener = TcpListener::bind(LOOPBACK)?;
    let server = listener.local_addr()?;
    let replies = thread::spawn(move || reply_to_requests(listener));

    // ANCHOR: nodelay
    let mut client = TcpStream::connect(server)?;
    client.set_read_timeout(Some(PATIENCE))?;
    if no_delay {
        answer("TCP_NODELAY of a new connection", value(&client.nodelay()));
        // Send every write at once. Without it, Nagle's algorithm holds a
        // small segment while an earlier one is unacknowledged: the body
        // waits for the header's ACK, which the server delays (40 ms at
        // least, on Linux) hoping to put it on a reply that cannot come
        // before the body does.
        client.set_nodelay(true)?;
        answer("TCP_NODELAY after setting it", value(&client.nodelay()));
    }
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        client.write_all(HEADER)?;
        client.write_all(BODY)?;
        client.read_exact(&mut [0u8; 1])?;
        rounds.push(start.elapsed());
    }
    // ANCHOR_END: nodelay
    drop(client);
    replies
        .join()
        .map_err(|_| io::Error::other("the replying thread panicked"))??;
    rounds.sort();
    Ok(rounds[ROUNDS / 2])
}

/// The server of part 3: one byte back for each whole request.
fn reply_to_requests(listener: TcpListener) -> io::Result<()> {
    let (mut connection, _) = listener.accept()?;
    connection.set_read_timeout(Some(PATIENCE))?;
    let mut request = vec![0u8; HEADER.len() + BODY.len()];
    for _ in 0..ROUNDS {
        // ANCHOR: quickack
        // Linux chooses by itself when to delay an ACK: it acknowledges at
        // once while it does not take the connection for a conversation,
        // which a busy machine's late replies can make it think. Clearing
        // TCP_QUICKACK asks for delayed ACKs now; it does not last (tcp(7)),
        // so the server clears it before every request.
        #[cfg(target_os = "linux")]
        SockRef::from(&connection).set_tcp_quickack(false)?;
        // ANCHOR_END: quickack
        connection.read_exact(&mut request)?;
        connection.write_all(b"k")?;
    }
    Ok(())
}

/// Part 4: keepalive probes on an idle connection.
fn keepalive() -> io::Result<()> {
    part("SO_KEEPALIVE: probing a connection that has gone quiet");
    // ANCHOR: keepalive
    // With SO_KEEPALIVE on, a connection idle for TCP_KEEPIDLE gets a probe
    // (an empty segment the peer must ACK) every TCP_KEEPINTVL; after
    // TCP_KEEPCNT probes without an answer the OS drops the connection and
    // the next read fails. Off, a dead peer on a quiet connection goes
    // unnoticed for ever.
    let socket = tcp_socket()?;
    answer(
        "SO_KEEPALIVE of a new TCP socket",
        value(&socket.keepalive()),
    );
    socket.set_keepalive(true)?;
    answer("SO_KEEPALIVE after setting it", value(&socket.keepalive()));
    show_keepalive_timers(&socket, "of a new TCP socket");
    // Linux's default idle time is two hours: too long to notice a dead peer
    // in time for most programs. TcpKeepalive sets the three timers at once
    // (and SO_KEEPALIVE with them), as far as the system has them.
    let timers = TcpKeepalive::new().with_time(Duration::from_secs(60));
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    let timers = timers
        .with_interval(Duration::from_secs(10))
        .with_retries(3);
    socket.set_tcp_keepalive(&timers)?;
    show_keepalive_timers(&socket, "after set_tcp_keepalive");
    // ANCHOR_END: keepalive
    Ok(())
}

/// Reads the three keepalive timers back, where socket2 can.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn show_keepalive_timers(socket: &Socket, when: &str) {
    answer(
        &format!("TCP_KEEPIDLE {when}"),
        value(&socket.tcp_keepalive_time()),
    );
    answer(
        &format!("TCP_KEEPINTVL {when}"),
        value(&socket.tcp_keepalive_interval()),
    );
    answer(
        &format!("TCP_KEEPCNT {when}"),
        value(&socket.tcp_keepalive_retries()),
    );
}

/// Elsewhere the timers can be set but socket2 cannot read them all back.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn show_keepalive_timers(_: &Socket, when: &str) {
    step(format!(
        "(the keepalive timers {when} are read back on Linux and macOS only)"
    ));
}

/// Part 5: a close that resets, next to a close that ends the stream.
fn linger() -> io::Result<()> {
    part("SO_LINGER with a zero timeout: a close that resets");
    // ANCHOR: plain_close
    // A plain close sends a FIN after any data still queued: the peer reads
    // what was sent, then 0 bytes, the end of the stream.
    let (ours, peer) = connected_pair()?;
    answer(
        "SO_LINGER of a new connection",
        value(&SockRef::from(&ours).linger()),
    );
    step("our end closes as usual");
    drop(ours);
    answer(
        "the peer's read after a plain close",
        value(&read_once(&peer)),
    );
    // ANCHOR_END: plain_close

    // ANCHOR: zero_linger
    // SO_LINGER on with a zero timeout: close() throws away whatever is
    // unsent and sends a reset (RST) instead of a FIN. The connection ends
    // at once, with no TIME_WAIT, and the peer's read fails.
    let (ours, peer) = connected_pair()?;
    SockRef::from(&ours).set_linger(Some(Duration::ZERO))?;
    answer(
        "SO_LINGER after setting zero",
        value(&SockRef::from(&ours).linger()),
    );
    step("our end closes with a zero linger");
    drop(ours);
    answer(
        "the peer's read after a zero-linger close",
        value(&read_once(&peer)),
    );
    // The error is reported once; the connection is gone after it.
    answer("the peer's next read", value(&read_once(&peer)));
    // ANCHOR_END: zero_linger
    Ok(())
}

/// Both ends of a fresh loopback connection: ours (the client), the peer's.
fn connected_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind(LOOPBACK)?;
    let ours = TcpStream::connect(listener.local_addr()?)?;
    let (peer, _) = listener.accept()?;
    peer.set_read_timeout(Some(PATIENCE))?;
    Ok((ours, peer))
}
