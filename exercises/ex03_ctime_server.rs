//! Exercise 03 — the ctime server: answer every chunk with the time.
//!
//! This is lesson 03's server with its conversation cut short. It builds and
//! runs, and it accepts one client after another, but it echoes only the
//! first chunk each client sends, with no time in front, and then hangs up.
//! Do the two TODOs in `converse` below; chapter 03 of the book explains them.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex03_ctime_server
//! cargo run -- check 03_ctime_server --exercise ex03_ctime_server
//! ```
//!
//! It is done when all four checks pass. Each failed check says what it
//! expected, what came instead, and which section of the chapter to read.
//! Then try it by hand: `cargo run --bin ex03_ctime_server` in one terminal
//! and `cargo run --bin 03_ctime_client` in another.

use socket_lessons::{cli, ready, style};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

/// The most bytes one `read` takes off the socket; the Python tutorial's
/// `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("03_ctime_server", serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    // socket(), bind() and listen() in one call.
    let listener = TcpListener::bind(args.socket_addr()?)?;
    ready::listening(listener.local_addr()?);

    // The accept loop is done: one client at a time, for ever.
    loop {
        let (stream, peer) = listener.accept()?;
        style::event(format!("connected: {peer}"));
        match converse(stream, peer) {
            Ok(()) => style::event(format!("closed: {peer}")),
            Err(error) => style::notice(format!("lost {peer}: {error}")),
        }
    }
}

fn converse(mut stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let mut buffer = [0u8; BUFFER_SIZE];

    // TODO 1 (the chapter's section "The conversation"): a client sends more
    // than one chunk, and read() returns a chunk, not a message. Answer every
    // chunk until the client leaves: put a loop around the read and the reply,
    // and return Ok(()) when read() returns 0 bytes, which means the client
    // has finished sending: its FIN has arrived.
    let count = stream.read(&mut buffer)?;
    let chunk = &buffer[..count];
    style::received(peer, chunk);

    // TODO 2 (same section): the reply is the 24-byte time stamp of Python's
    // time.ctime() (C's ctime() without its newline), immediately followed by
    // the chunk. ctime::now() gives the stamp as a String (add `ctime` to the
    // `use socket_lessons` line).
    let reply = chunk.to_vec();
    // write_all(), not write(): write() may take only part of the reply (when
    // a signal or a send timeout interrupts it), and write_all() loops.
    stream.write_all(&reply)?;
    style::sent(peer, &reply);
    Ok(())
}
