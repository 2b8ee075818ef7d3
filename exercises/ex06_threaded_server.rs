//! Exercise 06 — the threaded server: hand each client to a thread.
//!
//! This is lesson 06's server with its one change taken back out: the accept
//! loop calls `handle_client` itself, so it is lesson 03 again. It answers
//! one client well, but a second waits until the first leaves, and a client
//! that says nothing stalls everyone behind it. Do the TODO in `serve`
//! below; chapter 06 of the book explains it.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex06_threaded_server
//! cargo run -- check 06_threaded_server --exercise ex06_threaded_server
//! ```
//!
//! It is done when all six checks pass. As shipped, the two checks of many
//! clients fail, each after waiting 2 seconds for a reply that never comes:
//! a stall can only be seen by waiting. Then try it by hand:
//! `cargo run --bin ex06_threaded_server` in one terminal, and
//! `cargo run --bin 03_ctime_client` in two others.

use socket_lessons::{cli, ctime, ready, style};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

/// The most bytes one `read` takes off the socket; the Python tutorial's
/// `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("06_threaded_server", serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    // socket(), bind() and listen() in one call.
    let listener = TcpListener::bind(args.socket_addr()?)?;
    ready::listening(listener.local_addr()?);

    loop {
        let (stream, peer) = listener.accept()?;
        style::event(format!("connected: {peer}"));
        // TODO (the chapter's section "A thread per client"): while this call
        // runs, nobody calls accept(), and the next client waits in the OS's
        // queue. Run it in a thread of its own instead, so that the loop goes
        // straight back to accept(): std::thread::Builder::new(), a name
        // (the peer's address), and .spawn(move || handle_client(stream,
        // peer)). spawn() returns an io::Result: log its error with
        // style::notice and go on serving. Do not join the thread: the loop
        // would wait for it, and you would be back here.
        handle_client(stream, peer);
    }
}

/// One client's conversation, and what became of it. Nothing to change here.
fn handle_client(stream: TcpStream, peer: SocketAddr) {
    match converse(stream, peer) {
        Ok(()) => style::event(format!("closed: {peer}")),
        Err(error) => style::notice(format!("lost {peer}: {error}")),
    }
}

/// Lesson 03's conversation: every chunk answered with the time, then the
/// chunk, until the client leaves.
fn converse(mut stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        let count = stream.read(&mut buffer)?;
        if count == 0 {
            return Ok(());
        }
        let chunk = &buffer[..count];
        style::received(peer, chunk);
        let mut reply = ctime::now().into_bytes();
        reply.extend_from_slice(chunk);
        stream.write_all(&reply)?;
        style::sent(peer, &reply);
    }
}
