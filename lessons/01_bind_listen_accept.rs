//! Lesson 01 — bind, listen, accept.
//!
//! A server built one system call at a time, as the Python tutorial builds it:
//! create a socket, allow the address to be reused, bind it to an address,
//! listen, and accept. It accepts two clients, one after the other, answers
//! what each sends with an acknowledgement, and exits. Talk to it with
//! `nc -N 127.0.0.1 9999` (twice), or with any TCP client.

use socket_lessons::{cli, ready, style};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

/// How many connections the OS may hold, handshake done, before `accept` takes
/// them: the `listen(5)` of the tutorials' first servers. It is not a limit on
/// clients, only on how many may wait.
const BACKLOG: i32 = 5;
/// The most bytes one `recv` takes off the socket: the tutorial's `recv(1024)`.
const BUFFER_SIZE: usize = 1024;
/// The tutorial accepts exactly two clients, one after the other.
const CLIENTS: usize = 2;

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    let address = args.socket_addr()?;

    // ANCHOR: socket
    // socket(): a new endpoint with no address yet. The domain (IPv4 or IPv6)
    // must match the address we bind; STREAM over TCP is what Python's
    // socket() makes when called with no arguments.
    let listener = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;

    // SO_REUSEADDR: the connections this server closes first linger in
    // TIME_WAIT after it stops (a minute on Linux), and without this option
    // bind would fail with "address already in use" until they are gone.
    // On Windows the option means something else (another program could bind
    // the same port), so there we leave it off, as Rust's std does.
    if cfg!(not(windows)) {
        listener.set_reuse_address(true)?;
    }
    // ANCHOR_END: socket

    // ANCHOR: bind
    // bind(): claim the address. Port 0 asks the OS for any free port.
    listener.bind(&SockAddr::from(address))?;
    // listen(): until now, a client would be refused. From now on the OS
    // completes handshakes by itself and queues each new connection for us.
    listener.listen(BACKLOG)?;
    // getsockname(): only the OS knows which port it picked for port 0.
    ready::listening(socket_addr(listener.local_addr()?)?);
    // ANCHOR_END: bind

    // ANCHOR: accept
    for _ in 0..CLIENTS {
        // accept(): wait for a queued connection and get a *new* socket for
        // it. The listening socket never carries data; the new one does.
        let (connection, peer) = listener.accept()?;
        let peer = socket_addr(peer)?;
        // One client's failure ends its turn, not the server.
        if let Err(error) = converse(connection) {
            style::notice(format!("lost {peer}: {error}"));
        }
    }
    style::event(format!(
        "served {CLIENTS} clients; closing the listening socket"
    ));
    // ANCHOR_END: accept
    Ok(())
}

// ANCHOR: converse
fn converse(mut connection: Socket) -> io::Result<()> {
    // getsockname() and getpeername(): our end has the listener's port, and
    // the client's end a port its OS picked. The pair tells connections apart.
    let local = socket_addr(connection.local_addr()?)?;
    let peer = socket_addr(connection.peer_addr()?)?;
    style::event(format!("accepted: local {local}, peer {peer}"));

    // recv(): whatever has arrived, at most BUFFER_SIZE bytes, not one
    // "message". Zero bytes is the client's FIN: it has finished sending,
    // and sent nothing.
    let mut buffer = [0u8; BUFFER_SIZE];
    let count = connection.read(&mut buffer)?;
    if count == 0 {
        style::notice(format!("{peer} closed without sending anything"));
        return Ok(());
    }
    let data = &buffer[..count];
    style::received(peer, data);

    // write_all(), not write(): one send() returns how many bytes it took,
    // and a signal, a send timeout or non-blocking mode can make that fewer
    // than we gave. write_all() loops until all are taken (Python's sendall).
    let reply = [b"ack: ", data].concat();
    connection.write_all(&reply)?;
    style::sent(peer, &reply);

    // close(): dropping the socket closes it. The OS sends a FIN, and the
    // client reads 0 bytes once it has read our reply.
    drop(connection);
    style::event(format!("closed: {peer}"));
    Ok(())
}
// ANCHOR_END: converse

/// A socket2 address as a std one (it is always IP here: we made an IP socket).
fn socket_addr(address: SockAddr) -> io::Result<SocketAddr> {
    address
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP address"))
}
