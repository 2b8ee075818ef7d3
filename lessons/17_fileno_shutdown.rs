//! Lesson 17 — fileno and shutdown: the descriptor behind a socket, and
//! closing one direction of a connection.
//!
//! Python's `sock.fileno()` is the small number the OS knows the socket by;
//! `shutdown(SHUT_WR)` ends what we send but keeps the connection open for
//! what comes back, where `close()` gives the socket up entirely. The
//! experiment prints the descriptors of a listener, a connection and its
//! clone, adopts a descriptor as a `TcpStream`, then compares a half-close
//! with a close, and shows what `shutdown(Read)` does.
//!
//! Run it with `cargo run --bin 17_fileno_shutdown`.

use socket_lessons::cli;
use socket_lessons::experiment::{self, answer, part, step};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

/// How long any read may wait before the experiment gives up.
const TIMEOUT: Duration = Duration::from_secs(2);

/// How long to watch for bytes that must not come.
const QUIET_SPELL: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(_: Experiment) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    descriptors(&listener)?;
    #[cfg(unix)]
    adopt_a_descriptor(&listener)?;
    half_close(&listener)?;
    close_instead(&listener)?;
    shutdown_reaches_every_handle(&listener)?;
    shutdown_read(&listener)
}

// ANCHOR: fileno
/// Python's `fileno()`: on Unix the socket's file descriptor, an index into
/// the process's table of open files; on Windows a SOCKET handle.
#[cfg(unix)]
fn fileno(socket: &impl std::os::fd::AsRawFd) -> i64 {
    socket.as_raw_fd().into()
}

#[cfg(windows)]
fn fileno(socket: &impl std::os::windows::io::AsRawSocket) -> i64 {
    socket.as_raw_socket() as i64
}
// ANCHOR_END: fileno

// ANCHOR: descriptors
/// Every socket has a descriptor of its own: the listener, each end of a
/// connection, and a clone, which is a second descriptor for the same
/// socket (`dup`, as Python's `sock.dup()`).
fn descriptors(listener: &TcpListener) -> io::Result<()> {
    part("1. fileno: the descriptor behind a socket");
    step("a listener, a connection to it, the accepted end, and a clone");
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    let clone = client.try_clone()?;
    // A fresh process has 0, 1 and 2 open (stdin, stdout, stderr), and
    // the OS gives each new descriptor the lowest number that is free.
    answer("listener fileno", fileno(listener));
    answer("client fileno", fileno(&client));
    answer("accepted fileno", fileno(&server));
    answer("clone fileno", fileno(&clone));
    let same_ends = clone.local_addr()? == client.local_addr()?
        && clone.peer_addr()? == client.peer_addr()?;
    answer("clone has the client's addresses", same_ends);
    #[cfg(target_os = "linux")]
    {
        // /proc/self/fd/N names what descriptor N refers to: for a socket,
        // `socket:[inode]`, one inode per socket.
        let client_link = std::fs::read_link(proc_fd(&client))?;
        let clone_link = std::fs::read_link(proc_fd(&clone))?;
        let kind = client_link.to_string_lossy();
        let kind = kind.split('[').next().unwrap_or_default();
        answer("/proc/self/fd of the client", format!("{kind}[inode]"));
        answer("clone is the same socket", client_link == clone_link);
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn proc_fd(socket: &TcpStream) -> String {
    format!("/proc/self/fd/{}", fileno(socket))
}
// ANCHOR_END: descriptors

// ANCHOR: adopt
/// Python's `socket(fileno=fd)` wraps a descriptor that is already open.
/// In Rust, a descriptor changes hands as an `OwnedFd`: whoever holds it
/// closes it, exactly once.
#[cfg(unix)]
fn adopt_a_descriptor(listener: &TcpListener) -> io::Result<()> {
    use std::os::fd::{AsRawFd, OwnedFd};
    part("2. Adopting a descriptor (Python's socket(fileno=...))");
    step("a socket2 Socket becomes a TcpStream, then an OwnedFd, and back");
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        None,
    )?;
    socket.connect(&listener.local_addr()?.into())?;
    let (_server, _) = listener.accept()?;
    let number = socket.as_raw_fd();
    // `into` moves the descriptor: no new one, and no second close.
    let stream: TcpStream = socket.into();
    answer(
        "same descriptor as a TcpStream",
        stream.as_raw_fd() == number,
    );
    let owned: OwnedFd = stream.into();
    let stream = TcpStream::from(owned);
    answer(
        "same descriptor after an OwnedFd",
        stream.as_raw_fd() == number,
    );
    answer("the adopted stream's peer", stream.peer_addr()?);
    // With nothing but a number (from a parent process, say), adopting
    // takes `unsafe`: the compiler cannot check that the descriptor is
    // open, is a TCP socket, and belongs to no one else.
    //     // SAFETY: fd is an open TCP socket that nothing else will close.
    //     let stream = unsafe { TcpStream::from_raw_fd(fd) };
    Ok(())
}
// ANCHOR_END: adopt

/// A connection to `listener`: the client's end and the accepted end, both
/// with read and write timeouts, so nothing here can wait forever.
fn connect(listener: &TcpListener) -> io::Result<(TcpStream, TcpStream)> {
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    for stream in [&client, &server] {
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
    }
    Ok((client, server))
}

/// Everything the peer sends until it shuts down its sending side, as text.
fn read_to_the_end(stream: &mut TcpStream) -> io::Result<String> {
    let mut received = String::new();
    stream.read_to_string(&mut received)?;
    Ok(received)
}

// ANCHOR: half_close
/// The client sends its request and shuts down its sending side: the server
/// reads to the end (a read returns 0), and still answers on the same
/// connection, which the client reads.
fn half_close(listener: &TcpListener) -> io::Result<()> {
    part("3. shutdown(Write): a half-close");
    let (mut client, mut server) = connect(listener)?;
    step("the client sends its request, then shutdown(Write)");
    client.write_all(b"request")?;
    // Sends a FIN: "no more data from me". Reading goes on.
    client.shutdown(Shutdown::Write)?;
    answer(
        "server received",
        format!("{:?}", read_to_the_end(&mut server)?),
    );
    answer(
        "server's next read",
        experiment::value(&server.read(&mut [0])),
    );
    step("the server answers, then closes");
    server.write_all(b"answer to request")?;
    drop(server);
    answer(
        "client received",
        format!("{:?}", read_to_the_end(&mut client)?),
    );
    // Our own sending side is shut: a write now fails at once.
    let write = client.write(b"more");
    answer(
        "client's write after its shutdown",
        experiment::value(&write),
    );
    Ok(())
}
// ANCHOR_END: half_close

// ANCHOR: close_instead
/// The same request, but the client closes instead. The server reads the
/// same bytes and the same 0: from the reading side, a close and a
/// shutdown(Write) look alike. Its answer is what tells them apart.
fn close_instead(listener: &TcpListener) -> io::Result<()> {
    part("4. close instead of shutdown: the answer has nowhere to go");
    let (mut client, mut server) = connect(listener)?;
    step("the client sends its request, then drops its socket (close)");
    client.write_all(b"request")?;
    drop(client);
    answer(
        "server received",
        format!("{:?}", read_to_the_end(&mut server)?),
    );
    step("the server answers");
    // The OS takes the first write: it cannot know yet. The client's OS
    // has no socket to give it to, and answers with a reset (RST).
    let first = server.write(b"answer to request");
    answer("server's first write", experiment::value(&first));
    // Once the reset is back, writes fail. Until then they are queued.
    let deadline = Instant::now() + TIMEOUT;
    let failed = loop {
        match server.write(b"anyone there?") {
            Err(error) => break error,
            Ok(_) if Instant::now() > deadline => {
                return Err(io::Error::other("no reset within 2 s"));
            }
            Ok(_) => thread::sleep(Duration::from_millis(1)),
        }
    };
    answer("server's write after the reset", experiment::error(&failed));
    answer(
        "server's read after it",
        experiment::value(&server.read(&mut [0])),
    );
    Ok(())
}
// ANCHOR_END: close_instead

// ANCHOR: every_handle
/// A close (a drop) gives up one descriptor: the connection stays open
/// while another handle to it exists. shutdown acts on the socket itself,
/// so it ends the stream through any of its handles.
fn shutdown_reaches_every_handle(listener: &TcpListener) -> io::Result<()> {
    part("5. shutdown reaches every handle, close only its own");
    let (client, mut server) = connect(listener)?;
    let clone = client.try_clone()?;
    step("the client drops its clone; the server waits 100 ms to read");
    drop(clone);
    server.set_read_timeout(Some(QUIET_SPELL))?;
    let read = server.read(&mut [0]);
    answer("server's read after the drop", experiment::value(&read));
    step("the client shuts down writing through another clone");
    client.try_clone()?.shutdown(Shutdown::Write)?;
    server.set_read_timeout(Some(TIMEOUT))?;
    let read = server.read(&mut [0]);
    answer("server's read after the shutdown", experiment::value(&read));
    Ok(())
}
// ANCHOR_END: every_handle

// ANCHOR: shutdown_read
/// shutdown(Read): our reads return 0 at once, without waiting. The peer is
/// not told: on Linux its later bytes are even still delivered.
fn shutdown_read(listener: &TcpListener) -> io::Result<()> {
    part("6. shutdown(Read)");
    let (mut client, mut server) = connect(listener)?;
    step("the server shuts down reading, with nothing queued");
    server.shutdown(Shutdown::Read)?;
    answer(
        "server's read",
        experiment::value(&server.read(&mut [0; 8])),
    );
    step("the client sends 4 bytes after that");
    answer("client's write", experiment::value(&client.write(b"late")));
    // A read cannot wait for them any more: it returns 0 at once. So look
    // again and again, until the bytes or the deadline come.
    let deadline = Instant::now() + QUIET_SPELL;
    let mut late = [0; 8];
    let count = loop {
        let count = server.read(&mut late)?;
        if count > 0 || Instant::now() > deadline {
            break count;
        }
        thread::sleep(Duration::from_millis(1));
    };
    answer("server read later", format!("{:?}", shown(&late[..count])));
    let read = server.read(&mut late);
    answer("server's read after them", experiment::value(&read));
    Ok(())
}
// ANCHOR_END: shutdown_read

/// Bytes as text, for printing.
fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
