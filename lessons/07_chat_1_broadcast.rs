//! Lesson 07, stage 1 — the group chat server: broadcast.
//!
//! Every line a client sends goes to every client connected, the sender
//! included, under a header that says when and from whom. One thread accepts
//! clients; each client gets a thread of its own that reads what it sends.
//! The threads share one table of clients, behind a lock. Try it with two or
//! three `07_chat_client`s, or `nc 127.0.0.1 9999`.

use socket_lessons::{chat, cli, ready, style};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

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
    ready::listening(listener.local_addr()?);
    let clients = Clients::default();
    // accept() blocks, so it gets a thread of its own, as in the tutorial.
    // The main thread has nothing else to do yet: it waits for that thread,
    // which never ends (Ctrl-C stops this server).
    let acceptor = thread::spawn(move || accept(listener, clients));
    match acceptor.join() {
        Ok(result) => result,
        Err(_) => Err(io::Error::other("the accept thread panicked")),
    }
}
// ANCHOR_END: start

// ANCHOR: accept
fn accept(listener: TcpListener, clients: Clients) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept()?;
        // Two handles on one socket (Python's dup): the table's, for the
        // other threads to write to, and the reader's, moved to its thread.
        let writer = stream.try_clone()?;
        lock(&clients).insert(peer, writer);
        style::event(format!("connected: {peer}"));
        let clients = Arc::clone(&clients);
        thread::spawn(move || match receive(stream, peer, &clients) {
            Ok(()) => style::event(format!("closed: {peer}")),
            Err(error) => style::notice(format!("lost {peer}: {error}")),
        });
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
        // The client has closed. The tutorial's loop would go on reading
        // empty chunks for ever; we stop, but the client's entry stays in
        // the table (stage 3 removes it).
        if count == 0 {
            return Ok(());
        }
        let chunk = &buffer[..count];
        style::received(peer, chunk);
        let text = String::from_utf8_lossy(chunk);
        let line = text.trim_end_matches(['\r', '\n']);
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
