//! Lesson 07, stage 6 — the finished group chat server.
//!
//! Stage 5 still trusted its clients. Here nothing a client does can hurt the
//! others: a line longer than `--max-line` gets its sender an error and a
//! disconnect, so memory stays bounded; bytes that are not UTF-8 are shown
//! as U+FFFD and stop nothing; and each client has a writer thread of its
//! own, fed by a bounded queue, so a client that stops reading only fills
//! its own queue, and is dropped when that is full. Every error is logged
//! and ends one client at most, and `quit` still stops everything cleanly.

use socket_lessons::{chat, cli, console, ready, style};
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long one write may wait for a client to make room. The queue already
/// drops a client that falls behind while others talk; this ends one that
/// stopped reading when nobody talks after it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// The longest line a client may send, in bytes; a longer one ends that
    /// client's session.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_line: usize,
    /// How many messages may wait for one client; a client that falls
    /// further behind is dropped.
    #[arg(long, value_name = "MESSAGES", default_value_t = 1024)]
    #[arg(value_parser = cli::at_least_one)]
    queue: usize,
}

// ANCHOR: clients
/// A message as it goes on the wire, stored once however many clients it
/// goes to: each queue holds an Arc of it.
type Message = Arc<[u8]>;

/// What the table keeps for each client.
struct Client {
    /// Its queue of messages to send, which its writer thread empties.
    /// Bounded, so a client that stops reading costs a bounded memory.
    outbox: SyncSender<Message>,
    /// A handle on its socket, to shut the connection down when we drop it.
    stream: Arc<TcpStream>,
}

/// Every connected client, by address, shared by all the threads.
type Clients = Arc<Mutex<HashMap<SocketAddr, Client>>>;
// ANCHOR_END: clients

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

// ANCHOR: start
fn serve(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.endpoint.socket_addr()?)?;
    let address = listener.local_addr()?;
    ready::listening(address);
    let clients = Clients::default();
    // The tutorial's threading.Event: set once, by the console, and read by
    // the accept thread before each accept.
    let stop_requested = Arc::new(AtomicBool::new(false));
    let acceptor = thread::spawn({
        let clients = Arc::clone(&clients);
        let stop_requested = Arc::clone(&stop_requested);
        move || accept(listener, clients, &stop_requested, &args)
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
    // shutdown() acts on the socket itself, whoever holds a handle: each
    // reader's read returns 0, each writer's write fails, and each client
    // sees its connection end.
    for client in lock(clients).values() {
        let _ = client.stream.shutdown(Shutdown::Both);
    }
    Ok(())
}
// ANCHOR_END: stop

// ANCHOR: accept
fn accept(
    listener: TcpListener,
    clients: Clients,
    stop_requested: &AtomicBool,
    args: &Args,
) -> io::Result<()> {
    // The client threads that may still run, so that stopping can wait.
    let mut readers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(connection) => connection,
            // A connection reset while it waited in the queue, or no file
            // descriptor left for a new socket: one client's trouble, or a
            // passing one. Log it and go on; the pause keeps a lasting
            // fault from filling the log as fast as we can loop.
            Err(error) => {
                style::notice(format!("accept failed: {error}"));
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        // The connection that woke us to stop is not a client. Each client
        // thread ends once its socket is shut down; we wait for them all,
        // so that nothing is cut off when the process exits.
        if stop_requested.load(Ordering::SeqCst) {
            for reader in readers {
                let _ = reader.join();
            }
            return Ok(());
        }
        // A thread that has ended needs no join: let its handle go.
        readers.retain(|reader| !reader.is_finished());
        match join(stream, peer, &clients, args) {
            Ok(reader) => readers.push(reader),
            Err(error) => {
                style::notice(format!("could not serve {peer}: {error}"));
            }
        }
    }
}

/// Puts a new client in the table, with a writer thread and a reader
/// thread of its own; returns the reader's handle.
fn join(
    stream: TcpStream,
    peer: SocketAddr,
    clients: &Clients,
    args: &Args,
) -> io::Result<JoinHandle<()>> {
    // SO_SNDTIMEO: a write to a client that does not read fails after
    // WRITE_TIMEOUT instead of blocking its writer for ever.
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let writer = Arc::new(stream.try_clone()?);
    let (outbox, inbox) = mpsc::sync_channel(args.queue);
    // thread::spawn panics when the OS cannot make a thread; the Builder
    // returns the error instead. A name shows in debuggers and `top -H`.
    thread::Builder::new()
        .name(format!("writer {peer}"))
        .spawn({
            let writer = Arc::clone(&writer);
            move || send_messages(&writer, &inbox, peer)
        })?;
    let client = Client {
        outbox,
        stream: writer,
    };
    lock(clients).insert(peer, client);
    style::event(format!("connected: {peer}"));

    let max_line = args.max_line;
    let reader = thread::Builder::new()
        .name(format!("reader {peer}"))
        .spawn({
            let clients = Arc::clone(clients);
            move || {
                let result = receive(stream, peer, &clients, max_line);
                leave(&clients, peer);
                match result {
                    Ok(()) => style::event(format!("closed: {peer}")),
                    Err(error) => {
                        style::notice(format!("lost {peer}: {error}"))
                    }
                }
            }
        });
    if reader.is_err() {
        leave(clients, peer);
    }
    reader
}

/// Takes `peer` out of the table. Its queue's sender goes with it, so its
/// writer sends what is still queued, shuts the connection down, and ends.
fn leave(clients: &Clients, peer: SocketAddr) {
    lock(clients).remove(&peer);
}
// ANCHOR_END: accept

// ANCHOR: receive
/// Reads what `peer` sends and broadcasts each line, until it closes.
fn receive(
    stream: TcpStream,
    peer: SocketAddr,
    clients: &Clients,
    max_line: usize,
) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        // take() ends this read after max_line + 1 bytes, newline or not:
        // however long a client's line, we hold at most that much of it.
        // read_until keeps bytes as they are; lines() would fail on the
        // first byte that is not UTF-8.
        let limit = max_line as u64 + 1;
        let count = (&mut reader).take(limit).read_until(b'\n', &mut line)?;
        let ended = line.ends_with(b"\n");
        if !ended && count > max_line {
            let error = format!("error: line longer than {max_line} bytes\n");
            send_to(clients, peer, error.as_bytes());
            return Err(io::Error::other(format!(
                "sent a line longer than {max_line} bytes"
            )));
        }
        // No newline, and not too long: the client has closed, and will
        // send nothing more (a last line cut short by the close is dropped).
        if !ended {
            return Ok(());
        }
        style::received(peer, &line);
        // Bytes that are not UTF-8 become U+FFFD (�): shown, not fatal.
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        // The polite way out. Not broadcast: it is for the server only.
        if text.trim() == "quit" {
            return Ok(());
        }
        let message = format!("{} {peer}\n{text}\n", chat::timestamp());
        broadcast(clients, message.into_bytes().into());
    }
}
// ANCHOR_END: receive

// ANCHOR: broadcast
/// Puts `message` in every client's queue, and drops the clients whose
/// queue is full: they have stopped reading, or read too slowly to keep up.
fn broadcast(clients: &Clients, message: Message) {
    // try_send never waits, so holding the lock here costs no more than
    // the time to queue: no client can stall a broadcast any more.
    lock(clients).retain(|peer, client| {
        match client.outbox.try_send(Arc::clone(&message)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                style::notice(format!("dropping {peer}: too far behind"));
                let _ = client.stream.shutdown(Shutdown::Both);
                false
            }
            // Its writer has ended: its connection failed.
            Err(TrySendError::Disconnected(_)) => false,
        }
    });
}

/// Puts `message` in one client's queue only, if it is still there.
fn send_to(clients: &Clients, peer: SocketAddr, message: &[u8]) {
    if let Some(client) = lock(clients).get(&peer) {
        let _ = client.outbox.try_send(message.into());
    }
}
// ANCHOR_END: broadcast

// ANCHOR: writer
/// The one thread that writes to `peer`. Only one thread writes to each
/// socket, so two messages can never interleave on the wire.
fn send_messages(
    stream: &TcpStream,
    inbox: &Receiver<Message>,
    peer: SocketAddr,
) {
    if let Err(error) = write_messages(stream, inbox) {
        style::notice(format!("cannot send to {peer}: {error}"));
    }
    // The client has left the table, or its connection failed. Shutting
    // down sends our FIN after the last message, and wakes its reader if
    // it is still waiting.
    let _ = stream.shutdown(Shutdown::Both);
}

/// Sends every message that comes through `inbox`, until the client leaves
/// the table (which drops the queue's sender, and ends `recv`).
fn write_messages(
    stream: &TcpStream,
    inbox: &Receiver<Message>,
) -> io::Result<()> {
    let mut out = BufWriter::new(stream);
    while let Ok(message) = inbox.recv() {
        out.write_all(&message)?;
        // What else is waiting goes into the same buffer: many messages for
        // the price of one write when the chat is busy.
        for message in inbox.try_iter() {
            out.write_all(&message)?;
        }
        out.flush()?;
    }
    out.flush()
}
// ANCHOR_END: writer

/// Takes the lock. A thread that panicked while holding it leaves the
/// table "poisoned"; the table itself is still sound, so we go on with it.
fn lock(
    clients: &Clients,
) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Client>> {
    clients
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
