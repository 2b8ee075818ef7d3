//! Exercise 10 — non-blocking mode: a read that must not wait.
//!
//! This is lesson 10's experiment with one call taken out: part 3 no longer
//! makes the server's end of the connection non-blocking. So its reads still
//! block, and only the timeout set in part 1 (100 ms) ends them: a read with
//! nothing queued waits out the timeout instead of failing at once. Do the
//! TODO in `non_blocking` below; the section "Non-blocking mode" of chapter
//! 10 explains it.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex10_timeouts_nonblocking
//! cargo run -- check 10_timeouts_nonblocking --exercise ex10_timeouts_nonblocking
//! ```
//!
//! It is done when all seven checks pass. Each failed check says what it
//! expected, what came instead, and which section of the chapter to read.
//! Then run it by hand, `cargo run --bin ex10_timeouts_nonblocking`, and
//! compare the times part 3 prints with the lesson's.

use socket_lessons::cli;
use socket_lessons::experiment::{answer, duration, part, step, value};
use socket2::{Domain, Socket, Type};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// The timeout of parts 1 and 3: Python's `settimeout(0.1)`.
const TIMEOUT: Duration = Duration::from_millis(100);
/// Part 2's write timeout and the deadline of the connects in parts 4 and 5:
/// each is waited out in full, so it is kept short.
const SHORT_TIMEOUT: Duration = Duration::from_millis(20);
/// More bytes than the buffers of both ends hold together, so a write to a
/// peer that never reads cannot take them all.
const LARGE_WRITE: usize = 64 << 20;
/// How long the experiment waits for something that does come (a connection,
/// bytes the peer sent) before it gives up on it.
const PATIENCE: Duration = Duration::from_secs(2);

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("10_timeouts_nonblocking", run)
}

fn run(_: Experiment) -> io::Result<()> {
    // Parts 1 and 3 use the same connection: part 3 shows what becomes of
    // part 1's timeout when the socket is made non-blocking.
    let (listener, client, server) = connection()?;
    read_timeout(&server)?;
    write_timeout()?;
    non_blocking(&listener, &client, &server)?;
    connect_with_a_deadline()?;
    connect_ex_numbers()
}

/// A connection over loopback: the listener, the client's end and the
/// server's end.
fn connection() -> io::Result<(TcpListener, TcpStream, TcpStream)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let client = TcpStream::connect_timeout(&listener.local_addr()?, PATIENCE)?;
    // The client's side of the handshake is done, so the connection is
    // queued, or about to be: this accept does not wait long.
    let (server, _) = listener.accept()?;
    Ok((listener, client, server))
}

/// Runs `call` and measures how long it took.
fn timed<T>(call: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = call();
    (result, start.elapsed())
}

/// One read of whatever has arrived, as text.
fn read_once(mut stream: &TcpStream) -> io::Result<String> {
    let mut buffer = [0u8; 64];
    let count = stream.read(&mut buffer)?;
    Ok(String::from_utf8_lossy(&buffer[..count]).into_owned())
}

/// Part 1: a read with a timeout, from a peer that sends nothing.
fn read_timeout(server: &TcpStream) -> io::Result<()> {
    part("settimeout: a read that gives up");
    step("A new socket has no timeout: a read waits as long as it takes.");
    answer("read timeout at first", value(&server.read_timeout()));

    // Python's settimeout(0.1) bounds every call on the socket. std keeps
    // one timeout per direction (SO_RCVTIMEO and SO_SNDTIMEO): set both.
    server.set_read_timeout(Some(TIMEOUT))?;
    server.set_write_timeout(Some(TIMEOUT))?;
    answer("read timeout now", value(&server.read_timeout()));

    step("Read from a peer that sends nothing:");
    let (result, took) = timed(|| read_once(server));
    // The read gives up when the timeout runs out. On Linux and macOS the OS
    // says EAGAIN, which std calls WouldBlock (Windows says WSAETIMEDOUT,
    // TimedOut); Python raises socket.timeout for either.
    answer("read with nothing coming", value(&result));
    answer("read gave up after", duration(took));

    step(
        "A zero timeout: Python's settimeout(0) means non-blocking; \
         std refuses it:",
    );
    let zero = server.set_read_timeout(Some(Duration::ZERO));
    answer("zero timeout", value(&zero));
    Ok(())
}

/// Part 2: a write with a timeout, to a peer that never reads.
fn write_timeout() -> io::Result<()> {
    part("A write that gives up: a peer that never reads");
    // The server's end is kept open and never read: its receive buffer
    // fills, then our send buffer, and then a write has to wait.
    let (_listener, mut client, _never_reads) = connection()?;
    client.set_write_timeout(Some(SHORT_TIMEOUT))?;
    let data = vec![0u8; LARGE_WRITE];
    step(format!(
        "Write {LARGE_WRITE} bytes with a {SHORT_TIMEOUT:?} write timeout:"
    ));
    // The write copies what fits into the buffers and then waits for room.
    // When the timeout runs out, it returns what it took by then: a short
    // count, not an error. A program that must send it all writes again.
    let (result, took) = timed(|| client.write(&data));
    answer("write with a timeout", value(&result));
    answer("write returned after", duration(took));
    Ok(())
}

/// Part 3: non-blocking mode, on part 1's connection.
fn non_blocking(
    listener: &TcpListener,
    mut client: &TcpStream,
    server: &TcpStream,
) -> io::Result<()> {
    part("setblocking(False): calls that never wait");
    // TODO (the chapter's section "Non-blocking mode"): make `server`
    // non-blocking here, so that no call on it waits: one that would have to
    // must fail at once with WouldBlock (EAGAIN). As it is, the socket still
    // blocks, and the read below waits out part 1's 100 ms timeout. One call
    // does it; Python's name for it is setblocking(False).
    report_blocking_mode(server);
    // Python's gettimeout() would say 0.0 now: there, the timeout and the
    // blocking mode are one setting. In the OS they are two, and std keeps
    // part 1's timeout; non-blocking mode overrides it while it is on.
    answer(
        "read timeout while non-blocking",
        value(&server.read_timeout()),
    );

    step("Read with nothing queued:");
    let (result, took) = timed(|| read_once(server));
    answer("non-blocking read with nothing queued", value(&result));
    answer("non-blocking read took", duration(took));

    step("Accept on a non-blocking listener, with no one connecting:");
    listener.set_nonblocking(true)?;
    let accepted = listener.accept().map(|(_, peer)| peer);
    answer(
        "non-blocking accept with no one connecting",
        value(&accepted),
    );

    step("The peer sends `hello`; read again until it is there:");
    client.write_all(b"hello")?;
    let received = when_ready(|| read_once(server));
    answer("non-blocking read after the peer sent", value(&received));

    step(format!(
        "A new connection: its client's end, made non-blocking, writes \
         {LARGE_WRITE} bytes to a server's end that reads none of them:"
    ));
    // A connection of its own, where nothing was ever read: how much fits
    // then depends on the buffers' sizes alone, so it is the same each run.
    let (_listener, mut writer, _never_reads) = connection()?;
    writer.set_nonblocking(true)?;
    let data = vec![0u8; LARGE_WRITE];
    // write() takes what fits in the buffers and returns that count: less
    // than asked. This is the short write that Python's send() reports and
    // sendall() (Rust: write_all) loops over.
    let (result, took) = timed(|| writer.write(&data));
    answer("non-blocking write", value(&result));
    answer("non-blocking write took", duration(took));
    // Now the buffers are full, and the next write fails at once. Unless
    // the OS has made a little room meanwhile (it may, tidying the peer's
    // queue): then that write takes what fits, and the one after it fails.
    let mut writes = 0;
    let (result, took) = loop {
        writes += 1;
        let (result, took) = timed(|| writer.write(&data));
        match result {
            Ok(_) if writes < 10 => continue,
            done => break (done, took),
        }
    };
    answer("next non-blocking write", value(&result));
    answer("next non-blocking write took", duration(took));
    Ok(())
}

/// What the socket says about its own mode: Python's getblocking(). Only
/// Unix lets a program read O_NONBLOCK back.
#[cfg(unix)]
fn report_blocking_mode(server: &TcpStream) {
    let mode = socket2::SockRef::from(server).nonblocking();
    answer("non-blocking (O_NONBLOCK)", value(&mode));
}

#[cfg(not(unix))]
fn report_blocking_mode(_: &TcpStream) {
    step("(Windows cannot read a socket's blocking mode back.)");
}

/// Calls `call` again until it stops failing with WouldBlock, or PATIENCE
/// runs out. Asking again and again is the simplest way to use a
/// non-blocking socket, and the most wasteful: a real program asks the OS
/// which sockets are ready (select, poll, epoll; in Rust, mio and tokio).
fn when_ready<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match call() {
            Err(error)
                if error.kind() == ErrorKind::WouldBlock
                    && Instant::now() < deadline =>
            {
                thread::sleep(Duration::from_millis(1));
            }
            done => return done,
        }
    }
}

/// Part 4: a connect with a deadline, to a listener whose queue is full.
fn connect_with_a_deadline() -> io::Result<()> {
    part("connect with a deadline: a queue that is full");
    // socket2 lets us choose the backlog; std always asks for 128. Nothing
    // accepts, so the queue fills: Linux queues backlog + 1 connections,
    // then ignores new SYNs, and a connect waits for an answer that does
    // not come.
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    listener.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    listener.listen(0)?;
    let address = bound_address(&listener)?;
    let mut queued = Vec::new();
    let (result, took) = loop {
        let (result, took) =
            timed(|| TcpStream::connect_timeout(&address, SHORT_TIMEOUT));
        match result {
            Ok(stream) if queued.len() < 10 => queued.push(stream),
            other => break (other, took),
        }
    };
    answer("connections queued", queued.len());
    answer(
        "connect_timeout to a full queue",
        value(&result.map(|_| ())),
    );
    answer("connect gave up after", duration(took));
    Ok(())
}

/// The IP address and port a socket2 socket is bound to.
fn bound_address(socket: &Socket) -> io::Result<SocketAddr> {
    socket.local_addr()?.as_socket().ok_or_else(|| {
        io::Error::other("the socket is bound to an address that is not IP")
    })
}

/// Part 5: what Python's connect_ex returns, from a few connects that fail.
fn connect_ex_numbers() -> io::Result<()> {
    part("connect_ex: the numbers of a failed connect");
    // A port where nothing listens, held by a socket that is bound but does
    // not listen, so that no other program can take the port meanwhile.
    let holder = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    holder.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    let address = bound_address(&holder)?;
    let refused = TcpStream::connect_timeout(&address, PATIENCE);
    answer("connect to a port where nothing listens", value(&refused));
    answer(
        "connect_ex to a port where nothing listens",
        connect_ex(&refused),
    );

    // TCP connects one host to one host: a broadcast address names no one
    // host, so no route can take a connection there.
    let broadcast = SocketAddr::from((Ipv4Addr::BROADCAST, 9));
    let result = TcpStream::connect_timeout(&broadcast, SHORT_TIMEOUT);
    answer("connect to the broadcast address", value(&result));
    answer("connect_ex to the broadcast address", connect_ex(&result));
    step(
        "An address kept for documentation, where no host answers; what \
         comes back depends on this machine's routes:",
    );
    let documentation = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let nowhere = SocketAddr::from((documentation, 9));
    let result = TcpStream::connect_timeout(&nowhere, SHORT_TIMEOUT);
    answer("connect to 2001:db8::1", value(&result));
    answer("connect_ex to 2001:db8::1", connect_ex(&result));

    step("A non-blocking connect, with socket2:");
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    listener.set_nonblocking(true)?;
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    // The SYN goes out, and connect returns without waiting for the answer:
    // EINPROGRESS, "under way" (Windows says WSAEWOULDBLOCK).
    let started = socket.connect(&listener.local_addr()?.into());
    answer("non-blocking connect", value(&started));
    answer("connect_ex of a non-blocking connect", connect_ex(&started));
    // The handshake finishes without us. Once the listener can accept, our
    // side is connected; SO_ERROR, the error waiting on the socket, says
    // how it went (None: it worked; Python's connect_ex would now say 0).
    let _accepted = when_ready(|| listener.accept())?;
    answer("pending error (SO_ERROR)", value(&socket.take_error()));
    let peer = socket.peer_addr().map(|peer| peer.as_socket());
    answer("connected to", value(&peer));
    Ok(())
}

/// What Python's `connect_ex` would return for this connect: 0 when it
/// worked, else the OS's error number. A deadline that std measured itself
/// has no number (Python says EAGAIN, 11 on Linux, for its own timeout).
fn connect_ex<T>(result: &io::Result<T>) -> String {
    match result {
        Ok(_) => "0".to_string(),
        Err(error) => match error.raw_os_error() {
            Some(number) => number.to_string(),
            None => format!("no number: {:?}", error.kind()),
        },
    }
}
