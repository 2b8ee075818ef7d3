//! Lesson 06 — the threaded ctime server.
//!
//! Lesson 03's server, with one change: the accept loop no longer talks to
//! the client itself. It hands each connection to a thread of its own
//! (`handle_client`) and goes straight back to `accept`, so any number of
//! clients are served at once, and a client that says nothing holds up no
//! one but itself. The protocol is lesson 03's: every chunk answered with
//! the time, then the chunk. Run several `03_ctime_client`s beside it.

use socket_lessons::{cli, ctime, ready, style};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

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
        // The conversation runs in a thread of its own, and this loop goes
        // straight back to accept(): the next client is served at once.
        // The thread is named after its client, for panic messages and
        // debuggers, and for `top -H` and /proc, where Linux keeps only 15
        // bytes of a name: "127.0.0.1:54321" just fits. The Builder returns
        // the OS's refusal to make a thread (too many threads, no memory for
        // a stack) as an error, where thread::spawn would panic. Refused,
        // the client's connection is closed (`stream` is dropped with the
        // closure) and the server goes on serving the others.
        let spawned = thread::Builder::new()
            .name(peer.to_string())
            .spawn(move || handle_client(stream, peer));
        // The JoinHandle is dropped: the thread is detached, and ends when
        // its client leaves. Joining it here would make the loop wait for
        // the conversation, which is lesson 03 again. A detached Rust thread
        // is what Python calls a daemon thread: when the process ends, it
        // ends too. (Python waits at exit for every thread not started with
        // daemon=True.)
        if let Err(error) = spawned {
            style::notice(format!("cannot serve {peer}: {error}"));
        }
    }
    // ANCHOR_END: accept
}

// ANCHOR: handle_client
/// One client's thread: lesson 03's conversation, and what became of it.
fn handle_client(stream: TcpStream, peer: SocketAddr) {
    // A client's failure (a reset, say) ends that conversation only. Nobody
    // waits for this thread's result, so it is logged here.
    match converse(stream, peer) {
        Ok(()) => style::event(format!("closed: {peer}")),
        Err(error) => style::notice(format!("lost {peer}: {error}")),
    }
}
// ANCHOR_END: handle_client

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
