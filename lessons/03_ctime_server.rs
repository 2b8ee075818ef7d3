//! Lesson 03 — the ctime server.
//!
//! The classic first server, in two loops: the outer loop accepts one client
//! at a time, the inner loop answers every chunk that client sends with the
//! time (as Python's `time.ctime()` gives it) followed by the chunk. When the
//! client leaves, the server goes back to accepting. Run `03_ctime_client`
//! beside it, or `nc 127.0.0.1 9999`.

use socket_lessons::{cli, ctime, ready, style};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

/// The most bytes one `read` takes off the socket: the tutorial's `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    // ANCHOR: listen
    // One call does what Python spells socket(), bind() and listen(): the OS
    // starts queueing connections as soon as it returns. (Rust's std also sets
    // SO_REUSEADDR on Unix, so a restarted server can bind again at once.)
    let listener = TcpListener::bind(args.socket_addr()?)?;
    ready::listening(listener.local_addr()?);
    // ANCHOR_END: listen

    // ANCHOR: accept
    // This loop never ends: Ctrl-C stops the server, and the OS closes its
    // sockets then (the tutorial's final close() never runs either).
    loop {
        // accept() blocks until a client has finished the TCP handshake, then
        // returns a new socket for that one client. The listening socket
        // stays free for the next.
        let (stream, peer) = listener.accept()?;
        style::event(format!("connected: {peer}"));
        // A client's failure (a reset, say) ends that conversation only.
        // While we are in converse, nobody calls accept(): the next client
        // waits in the OS's queue until this one leaves.
        match converse(stream, peer) {
            Ok(()) => style::event(format!("closed: {peer}")),
            Err(error) => style::notice(format!("lost {peer}: {error}")),
        }
    }
    // ANCHOR_END: accept
}

// ANCHOR: converse
fn converse(mut stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        // read() returns as soon as *some* bytes have arrived: a chunk, not a
        // message. One line the client sent may come in pieces, and two lines
        // may come together.
        let count = stream.read(&mut buffer)?;
        // Zero bytes: the client's FIN has arrived, so it will send nothing
        // more. Returning drops `stream`, which closes our side too.
        if count == 0 {
            return Ok(());
        }
        let chunk = &buffer[..count];
        style::received(peer, chunk);

        let mut reply = ctime::now().into_bytes();
        reply.extend_from_slice(chunk);
        // write_all, Python's sendall: write (send) may take only part of
        // the reply and say so in its count. A blocking socket on Linux does
        // that only when a signal or a send timeout interrupts it, but
        // write_all loops over write until every byte is out, whatever the
        // reason.
        stream.write_all(&reply)?;
        style::sent(peer, &reply);
    }
}
// ANCHOR_END: converse
