//! Exercise 07.4 — the chat server: write outside the lock.
//!
//! This is stage 4 of the chat server with its point taken out: `broadcast`
//! still writes to every client while it holds the table's lock, as stage 3
//! did, and no write has a timeout. One client that stops reading blocks a
//! write, the lock stays taken, and everyone waits. Do the TODOs below; the
//! chapter's section "Writing outside the lock" explains them.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex07_chat_4_lock
//! cargo run -- check 07_chat_4_lock --exercise ex07_chat_4_lock
//! ```
//!
//! It is done when every check passes. The one that fails as shipped has to
//! wait two seconds to see that nothing more comes: a stall looks like that.

use socket_lessons::{chat, cli, console, ready, style};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The most bytes one `read` takes off a socket: the tutorial's `recv(1024)`.
const BUFFER_SIZE: usize = 1024;

/// How long one write may wait for a client to make room before we give up
/// on that client. The OS counts it for each write call, and write_all may
/// make two (one that sends part, one that waits in vain): a client that
/// stops reading holds a broadcast up for about a second at most.
#[allow(dead_code)] // until TODO 1 uses it
const WRITE_TIMEOUT: Duration = Duration::from_millis(500);

/// Every connected client, by address: the stream to write its messages to.
/// The accept thread adds to it while the client threads read it, so it
/// lives behind a Mutex, and in an Arc so that every thread can own a handle.
/// Each stream is in an Arc too, so that a broadcast can keep one after it
/// has let go of the lock.
type Clients = Arc<Mutex<HashMap<SocketAddr, Arc<TcpStream>>>>;

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("07_chat_4_lock", serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    let listener = TcpListener::bind(args.socket_addr()?)?;
    let address = listener.local_addr()?;
    ready::listening(address);
    let clients = Clients::default();
    // The tutorial's threading.Event: set once, by the console, and read by
    // the accept thread before each accept.
    let stop_requested = Arc::new(AtomicBool::new(false));
    let acceptor = thread::spawn({
        let clients = Arc::clone(&clients);
        let stop_requested = Arc::clone(&stop_requested);
        move || accept(listener, clients, &stop_requested)
    });

    // The main thread is the console now.
    while let Some(command) = console::read_line("")? {
        if command.trim() == "quit" {
            stop(address, &clients, &stop_requested)?;
            break;
        }
        style::notice("type quit to stop the server");
    }
    // The end of input (Ctrl-D, or no terminal at all: `< /dev/null`,
    // nohup, a service) leaves the server without a console, not without
    // clients: it goes on serving, and the join below waits until Ctrl-C.
    if !stop_requested.load(Ordering::SeqCst) {
        style::notice("no console any more: Ctrl-C stops the server");
    }
    match acceptor.join() {
        Ok(result) => result,
        Err(_) => Err(io::Error::other("the accept thread panicked")),
    }
}

fn stop(
    address: SocketAddr,
    clients: &Clients,
    stop_requested: &AtomicBool,
) -> io::Result<()> {
    style::event("stopping");
    stop_requested.store(true, Ordering::SeqCst);
    // accept() has no timeout, and closing the listener from another thread
    // does not wake it on Linux. What does: a client. We connect to
    // ourselves; accept returns, and the loop sees the flag.
    let mut wake = address;
    if wake.ip().is_unspecified() {
        wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    TcpStream::connect(wake)?;
    // Dropping the table's handles would not wake the readers blocked in
    // read(): a socket stays open while any handle is left, and theirs is.
    // shutdown() acts on the socket itself: each read returns 0 at once,
    // and each client sees its connection end.
    for stream in lock(clients).values() {
        let _ = stream.shutdown(Shutdown::Both);
    }
    Ok(())
}

fn accept(
    listener: TcpListener,
    clients: Clients,
    stop_requested: &AtomicBool,
) -> io::Result<()> {
    // The client threads that may still run, so that stopping can wait.
    let mut readers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let (stream, peer) = listener.accept()?;
        // The connection that woke us to stop is not a client. Each client
        // thread ends once its socket is shut down; we wait for them all,
        // so that nothing is cut off when the process exits.
        if stop_requested.load(Ordering::SeqCst) {
            for reader in readers {
                let _ = reader.join();
            }
            return Ok(());
        }
        // Two handles on one socket (Python's dup): the table's, for the
        // other threads to write to, and the reader's, moved to its thread.
        let writer = stream.try_clone()?;
        // TODO 1: a write to a client that does not read blocks for ever.
        // Give the writer a send timeout (SO_SNDTIMEO) of WRITE_TIMEOUT, so
        // that such a write fails instead.
        lock(&clients).insert(peer, Arc::new(writer));
        style::event(format!("connected: {peer}"));
        let clients = Arc::clone(&clients);
        // A thread that has ended needs no join: let its handle go.
        readers.retain(|reader| !reader.is_finished());
        readers.push(thread::spawn(move || {
            let result = receive(stream, peer, &clients);
            // However the conversation ended (quit, a close, an error), the
            // client leaves the table now. Removing drops the table's handle;
            // the reader's went when receive returned: the socket is closed.
            lock(&clients).remove(&peer);
            match result {
                Ok(()) => style::event(format!("closed: {peer}")),
                Err(error) => style::notice(format!("lost {peer}: {error}")),
            }
        }));
    }
}

/// Reads what `peer` sends and broadcasts each chunk, until it closes.
fn receive(
    mut stream: TcpStream,
    peer: SocketAddr,
    clients: &Clients,
) -> io::Result<()> {
    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        let count = stream.read(&mut buffer)?;
        // The client has closed: it will send nothing more.
        if count == 0 {
            return Ok(());
        }
        let chunk = &buffer[..count];
        style::received(peer, chunk);
        let text = String::from_utf8_lossy(chunk);
        let line = text.trim_end_matches(['\r', '\n']);
        // The polite way out. Not broadcast: it is for the server only.
        if line.trim() == "quit" {
            return Ok(());
        }
        let message = format!("{} {peer}\n{line}\n", chat::timestamp());
        broadcast(clients, message.as_bytes());
    }
}

/// Sends `message` to every client.
fn broadcast(clients: &Clients, message: &[u8]) {
    // TODO 2: this holds the lock for every write, so a write that blocks
    // blocks everyone. Under the lock, only copy the list: a Vec of
    // (SocketAddr, Arc<TcpStream>) pairs, each Arc::clone'd. Then write to
    // each with the lock released.
    //
    // TODO 3: a client whose write fails (the timeout: WouldBlock on Unix,
    // TimedOut on Windows; or a reset) is gone or stuck. Collect them, then
    // remove each from the table and shut its socket down
    // (`shutdown(Shutdown::Both)`), which also wakes its reader.
    for (peer, stream) in lock(clients).iter() {
        if let Err(error) = (&**stream).write_all(message) {
            style::notice(format!("could not send to {peer}: {error}"));
        }
    }
}

/// Takes the lock. A thread that panicked while holding it leaves the
/// table "poisoned"; the table itself is still sound, so we go on with it.
fn lock(
    clients: &Clients,
) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Arc<TcpStream>>> {
    clients
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
