//! Lesson 03 — the ctime server.
//!
//! The classic first server, in two loops: the outer loop accepts one client
//! at a time, the inner loop answers every chunk that client sends with the
//! time (as C's `ctime()` prints it) followed by the chunk itself. When the
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
    loop {
        // accept() blocks until a client has finished the TCP handshake, then
        // returns a new socket for that one client. The listening socket
        // stays free for the next.
        let (stream, peer) = listener.accept()?;
        style::event(format!("connected: {peer}"));
        // A client's failure (a reset, say) ends that conversation only.
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
        // Zero bytes: the client has closed its side, and no more will come.
        if count == 0 {
            return Ok(());
        }
        let chunk = &buffer[..count];
        style::received(peer, chunk);

        let mut reply = ctime::now().into_bytes();
        reply.extend_from_slice(chunk);
        // write() may send only part of the reply; write_all() loops until
        // all of it is out. It is Python's sendall, where the tutorial's
        // send() could silently drop the tail.
        stream.write_all(&reply)?;
        style::sent(peer, &reply);
    }
    // The stream is dropped here, which closes this client's socket.
}
// ANCHOR_END: converse
