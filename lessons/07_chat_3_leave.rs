//! Lesson 07, stage 3 — the group chat server: leaving.
//!
//! Until now a client that left stayed in the table, and every broadcast
//! tried to write to its dead socket. Now a client leaves by sending `quit`
//! or by closing its end (our read returns 0), and either way its thread
//! removes it from the table at once and closes its socket. Try it with two
//! `07_chat_client`s, and type `quit` in one.

use socket_lessons::{chat, cli, console, ready, style};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

/// The most bytes one `read` takes off a socket: the tutorial's `recv(1024)`.
const BUFFER_SIZE: usize = 1024;

// ANCHOR: clients
/// Every connected client, by address: the stream to write its messages to.
/// The accept thread adds to it while the client threads read it, so it
/// lives behind a Mutex, and in an Arc so that every thread can own a handle.
type Clients = Arc<Mutex<HashMap<SocketAddr, TcpStream>>>;
// ANCHOR_END: clients

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

// ANCHOR: start
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
// ANCHOR_END: start

// ANCHOR: stop
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
// ANCHOR_END: stop

// ANCHOR: accept
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
        lock(&clients).insert(peer, writer);
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
// ANCHOR_END: accept

// ANCHOR: receive
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
// ANCHOR_END: receive

// ANCHOR: broadcast
/// Sends `message` to every client. The lock is held throughout, so no
/// client can join or leave while we write.
fn broadcast(clients: &Clients, message: &[u8]) {
    for (peer, mut stream) in lock(clients).iter() {
        if let Err(error) = stream.write_all(message) {
            style::notice(format!("could not send to {peer}: {error}"));
        }
    }
}

/// Takes the lock. A thread that panicked while holding it leaves the
/// table "poisoned"; the table itself is still sound, so we go on with it.
fn lock(
    clients: &Clients,
) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, TcpStream>> {
    clients
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
// ANCHOR_END: broadcast
