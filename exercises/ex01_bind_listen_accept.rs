//! Exercise 01 — bind, listen, accept: two steps are missing.
//!
//! This is lesson 01's server with two steps taken out. It builds and runs: it
//! makes a socket, binds it and prints its ready line. But no client can
//! connect yet, and a client that could would get no answer. Do the two TODOs
//! below, in order; chapter 01 of the book explains each step.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex01_bind_listen_accept
//! cargo run -- check 01_bind_listen_accept --exercise ex01_bind_listen_accept
//! ```
//!
//! It is done when all three checks pass. Each failed check says what it
//! expected, what came instead, and which section of the chapter to read.

use socket_lessons::{cli, ready, style};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::process::ExitCode;

/// The most bytes one `recv` takes off the socket; the Python tutorial's
/// `recv(1024)`.
const BUFFER_SIZE: usize = 1024;
/// The tutorial accepts exactly two clients, one after the other.
const CLIENTS: usize = 2;

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("01_bind_listen_accept", serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    let address = args.socket_addr()?;

    // socket(): a new TCP endpoint with no address yet.
    let listener = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    // SO_REUSEADDR, so a restarted server can bind at once (not on Windows,
    // where the option means something else).
    if cfg!(not(windows)) {
        listener.set_reuse_address(true)?;
    }

    // bind(): claim the address and port.
    listener.bind(&SockAddr::from(address))?;

    // TODO 1 (the chapter's section "Bind and listen"): a bound socket is not
    // yet a server. Until one more call, the OS refuses every connection to
    // this port, and accept() below fails with "Invalid argument". Make that
    // call here, with a backlog of 5 as the Python tutorial does. The ready
    // line below tells the checks that connections are queued from now on, so
    // it must come after your call.

    ready::listening(socket_addr(listener.local_addr()?)?);

    for _ in 0..CLIENTS {
        // accept(): a new socket for each client; the listener only listens.
        let (connection, peer) = listener.accept()?;
        let peer = socket_addr(peer)?;
        if let Err(error) = converse(connection) {
            style::notice(format!("lost {peer}: {error}"));
        }
    }
    style::event(format!(
        "served {CLIENTS} clients; closing the listening socket"
    ));
    Ok(())
}

fn converse(mut connection: Socket) -> io::Result<()> {
    let peer = socket_addr(connection.peer_addr()?)?;
    style::event(format!("accepted: peer {peer}"));

    // recv(): up to BUFFER_SIZE bytes, as soon as some have arrived. Zero
    // bytes is the client's FIN: it has finished sending, and sent nothing.
    let mut buffer = [0u8; BUFFER_SIZE];
    let count = connection.read(&mut buffer)?;
    if count == 0 {
        style::notice(format!("{peer} closed without sending anything"));
        return Ok(());
    }
    let data = &buffer[..count];
    style::received(peer, data);

    // TODO 2 (the chapter's section "Talk, then close"): answer the client.
    // Send back an acknowledgement that contains "ack" and the bytes it sent
    // (the lesson sends `ack: ` and then the data). Send all of it: one send()
    // returns how many bytes it took, and a signal, a send timeout or
    // non-blocking mode can make that fewer than you gave; write_all() loops
    // until all are taken. It comes from the Write trait, so add `Write` to
    // the `use std::io` line.

    // close(): dropping the socket closes it. The OS sends a FIN, and the
    // client reads 0 bytes once it has read your reply.
    drop(connection);
    style::event(format!("closed: {peer}"));
    Ok(())
}

/// A socket2 address as a std one (it is always IP here: we made an IP socket).
fn socket_addr(address: SockAddr) -> io::Result<SocketAddr> {
    address
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP address"))
}
