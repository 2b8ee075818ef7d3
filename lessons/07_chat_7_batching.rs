//! Lesson 07, stage 7 — the group chat server, made fast.
//!
//! Stage 6 keeps every promise, and at a few hundred clients spends its
//! time on system calls and wake-ups: one queue per client, a wake-up per
//! message per client, and nearly a `write` per delivery. Here each message
//! is stored once, in a log that every writer thread reads with a cursor of
//! its own; a writer sleeps only when it has sent everything, is woken only
//! then, and sends all that is new in one `write`: hundreds of messages at
//! once under load. A client more than `--queue` messages behind is dropped,
//! as stage 6 drops a full queue, and the listening socket, made with
//! socket2, holds `--backlog` waiting connections instead of std's 128. Run
//! it as stage 6: `cargo run --bin 07_chat_7_batching`, `--quiet` to stop
//! logging every message.

use socket_lessons::{chat, cli, console, ready, style};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long one write may wait for a client to make room. The log already
/// drops a client that falls behind while others talk; this ends one that
/// stopped reading when nobody talks after it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a writer with only a few messages to send waits before it
/// takes them, so that the readers can add more: a burst then goes out in
/// a few writes instead of one per message. Every message pays this delay.
const LINGER: Duration = Duration::from_millis(2);

/// A writer with at least this many messages to send takes them at once.
const FULL_BATCH: u64 = 64;

/// The most messages a writer takes for one write: its buffer, one per
/// client, stays below about a thousand short messages' worth.
const MAX_BATCH: u64 = 1024;

#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// The longest line a client may send, in bytes; a longer one ends that
    /// client's session.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_line: usize,
    /// How many messages a client may fall behind the newest; a client
    /// further behind is dropped.
    #[arg(long, value_name = "MESSAGES", default_value_t = 16 * 1024)]
    #[arg(value_parser = cli::at_least_one)]
    queue: usize,
    /// How many connections the OS may hold for us before we accept them.
    #[arg(long, value_name = "CONNECTIONS", default_value_t = 1024)]
    #[arg(value_parser = cli::at_least_one)]
    backlog: usize,
}

// ANCHOR: room
/// A message as it goes on the wire, stored once in the log.
type Message = Arc<[u8]>;

/// Everything the threads share, behind one lock: the messages that some
/// writer has still to send, and the clients.
struct Room {
    /// Messages are numbered from 0 in the order they are said; the log
    /// holds those from number `first` on, the oldest first.
    first: u64,
    log: VecDeque<Message>,
    /// How many messages the log may hold: `--queue`. A client further
    /// behind than that is dropped.
    limit: usize,
    /// Every connected client, by address.
    clients: HashMap<SocketAddr, Client>,
    /// The writers asleep, waiting for a message: a broadcast wakes these,
    /// and nobody else.
    asleep: Vec<Arc<Condvar>>,
}

/// What the room keeps for each client.
struct Client {
    /// The number of the next message its writer will send.
    cursor: u64,
    /// Set when it leaves: its writer sends the messages numbered below
    /// this one, and ends.
    until: Option<u64>,
    /// A line for this client alone (the error line), sent after the rest.
    last_line: Option<Message>,
    /// What its writer sleeps on when it has sent everything.
    wake: Arc<Condvar>,
    /// A handle on its socket, to shut the connection down when we drop it.
    stream: Arc<TcpStream>,
}

type Shared = Arc<Mutex<Room>>;

impl Room {
    /// The number the next message will have.
    fn head(&self) -> u64 {
        self.first + self.log.len() as u64
    }
}
// ANCHOR_END: room

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

// ANCHOR: start
fn serve(args: Args) -> io::Result<()> {
    let backlog = i32::try_from(args.backlog).unwrap_or(i32::MAX);
    let listener = listen(args.endpoint.socket_addr()?, backlog)?;
    let address = listener.local_addr()?;
    ready::listening(address);
    let room = Arc::new(Mutex::new(Room {
        first: 0,
        log: VecDeque::new(),
        limit: args.queue,
        clients: HashMap::new(),
        asleep: Vec::new(),
    }));
    // The tutorial's threading.Event: set once, by the console, and read by
    // the accept thread before each accept.
    let stop_requested = Arc::new(AtomicBool::new(false));
    let acceptor = thread::spawn({
        let room = Arc::clone(&room);
        let stop_requested = Arc::clone(&stop_requested);
        move || accept(listener, room, &stop_requested, &args)
    });

    // The main thread is the console now.
    while let Some(command) = console::read_line("")? {
        if command.trim() == "quit" {
            stop(address, &room, &stop_requested)?;
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

// ANCHOR: listen
/// A listening socket that holds up to `backlog` connections not yet
/// accepted. std's `TcpListener::bind` asks for 128: a thousand clients
/// connecting at once overflow that, and the OS ignores the connections
/// it has no room for, which try again only a second later.
fn listen(address: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let domain = Domain::for_address(address);
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    // What std does before binding, on Unix: a restarted server may take
    // its port back while its last run's connections are in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    // Linux takes at most net.core.somaxconn (4096 by default) of it,
    // without a word.
    socket.listen(backlog)?;
    Ok(socket.into())
}
// ANCHOR_END: listen

// ANCHOR: stop
fn stop(
    address: SocketAddr,
    room: &Shared,
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
    for client in lock(room).clients.values() {
        let _ = client.stream.shutdown(Shutdown::Both);
    }
    Ok(())
}
// ANCHOR_END: stop

// ANCHOR: accept
fn accept(
    listener: TcpListener,
    room: Shared,
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
        match join(stream, peer, &room, args) {
            Ok(reader) => readers.push(reader),
            Err(error) => {
                style::notice(format!("could not serve {peer}: {error}"));
            }
        }
    }
}

/// Puts a new client in the room, with a writer thread and a reader
/// thread of its own; returns the reader's handle.
fn join(
    stream: TcpStream,
    peer: SocketAddr,
    room: &Shared,
    args: &Args,
) -> io::Result<JoinHandle<()>> {
    // SO_SNDTIMEO: a write to a client that does not read fails after
    // WRITE_TIMEOUT instead of blocking its writer for ever.
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    // TCP_NODELAY: we batch the messages ourselves. Nagle's algorithm
    // would hold each small batch back until the client acknowledged the
    // one before, and a client may wait 40 ms to acknowledge.
    stream.set_nodelay(true)?;
    let writer = Arc::new(stream.try_clone()?);
    let wake = Arc::new(Condvar::new());
    // In the room before its writer starts, which looks for it there. Its
    // cursor starts at the newest message: it hears what is said from now.
    {
        let mut room = lock(room);
        let client = Client {
            cursor: room.head(),
            until: None,
            last_line: None,
            wake: Arc::clone(&wake),
            stream: Arc::clone(&writer),
        };
        room.clients.insert(peer, client);
    }
    // thread::spawn panics when the OS cannot make a thread; the Builder
    // returns the error instead. A name shows in debuggers and `top -H`.
    let spawned =
        thread::Builder::new()
            .name(format!("writer {peer}"))
            .spawn({
                let room = Arc::clone(room);
                move || send_messages(&writer, &room, peer, &wake)
            });
    if let Err(error) = spawned {
        lock(room).clients.remove(&peer);
        return Err(error);
    }
    style::event(format!("connected: {peer}"));

    let max_line = args.max_line;
    let reader = thread::Builder::new()
        .name(format!("reader {peer}"))
        .spawn({
            let room = Arc::clone(room);
            move || {
                let result = receive(stream, peer, &room, max_line);
                leave(&room, peer);
                match result {
                    Ok(()) => style::event(format!("closed: {peer}")),
                    Err(error) => {
                        style::notice(format!("lost {peer}: {error}"))
                    }
                }
            }
        });
    if reader.is_err() {
        leave(room, peer);
    }
    reader
}

/// Marks `peer` as leaving: its writer sends what was said up to now,
/// shuts the connection down, takes it out of the room, and ends.
fn leave(room: &Shared, peer: SocketAddr) {
    let mut room = lock(room);
    let head = room.head();
    if let Some(client) = room.clients.get_mut(&peer) {
        client.until.get_or_insert(head);
        client.wake.notify_one();
    }
}
// ANCHOR_END: accept

// ANCHOR: receive
/// Reads what `peer` sends and broadcasts each line, until it closes.
fn receive(
    stream: TcpStream,
    peer: SocketAddr,
    room: &Shared,
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
            send_to(room, peer, error.as_bytes());
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
        broadcast(room, message.into_bytes().into());
    }
}
// ANCHOR_END: receive

// ANCHOR: broadcast
/// Adds `message` to the log, once for every client, and wakes the writers
/// that sleep. A broadcast costs the same for ten clients or a thousand.
fn broadcast(room: &Shared, message: Message) {
    let mut room = lock(room);
    if room.log.len() >= room.limit {
        room.make_room();
    }
    room.log.push_back(message);
    // A writer that is awake will find the message when it next looks:
    // only the sleepers need a wake-up. Taking the list empties it.
    let asleep = std::mem::take(&mut room.asleep);
    drop(room);
    for writer in asleep {
        writer.notify_one();
    }
}

impl Room {
    /// Makes room in the full log for one more message: forgets what every
    /// writer has sent, and drops the clients too far behind to keep.
    fn make_room(&mut self) {
        self.forget_sent();
        if self.log.len() < self.limit {
            return;
        }
        // Still full: some writer has yet to send the oldest message, and
        // the next one would put it more than `limit` behind.
        let oldest = self.first;
        self.clients.retain(|peer, client| {
            if client.cursor > oldest {
                return true;
            }
            style::notice(format!("dropping {peer}: too far behind"));
            let _ = client.stream.shutdown(Shutdown::Both);
            // Its writer finds itself gone from the room, and ends.
            client.wake.notify_one();
            false
        });
        self.forget_sent();
    }

    /// Forgets the messages that every client's writer has sent.
    fn forget_sent(&mut self) {
        let head = self.head();
        let cursors = self.clients.values().map(|client| client.cursor);
        let needed = cursors.min().unwrap_or(head);
        while self.first < needed {
            self.log.pop_front();
            self.first += 1;
        }
    }
}

/// Gives one client alone a line, sent after what it has still to get.
fn send_to(room: &Shared, peer: SocketAddr, message: &[u8]) {
    if let Some(client) = lock(room).clients.get_mut(&peer) {
        client.last_line = Some(message.into());
        client.wake.notify_one();
    }
}
// ANCHOR_END: broadcast

// ANCHOR: writer
/// The one thread that writes to `peer`. Only one thread writes to each
/// socket, so two messages can never interleave on the wire.
fn send_messages(
    stream: &TcpStream,
    room: &Shared,
    peer: SocketAddr,
    wake: &Arc<Condvar>,
) {
    if let Err(error) = write_messages(stream, room, peer, wake) {
        style::notice(format!("cannot send to {peer}: {error}"));
    }
    // The client has left, was dropped, or its connection failed: out of
    // the room, so that its cursor holds no message back. Shutting down
    // sends our FIN after the last message, and wakes its reader if it is
    // still waiting.
    lock(room).clients.remove(&peer);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Sends `peer` everything the room says, a batch at a time, until it
/// leaves the room.
fn write_messages(
    mut stream: &TcpStream,
    room: &Shared,
    peer: SocketAddr,
    wake: &Arc<Condvar>,
) -> io::Result<()> {
    let mut batch = Vec::new();
    let mut bytes = Vec::new();
    loop {
        let more = next_batch(room, peer, wake, &mut batch);
        bytes.clear();
        for message in batch.drain(..) {
            bytes.extend_from_slice(&message);
        }
        // One write for the whole batch: under load, hundreds of messages
        // for the price of one system call.
        stream.write_all(&bytes)?;
        if !more {
            return Ok(());
        }
    }
}

/// Waits until there is something to send to `peer`, and puts it in
/// `batch`. Returns false if nothing will come after it: the client is
/// leaving, or has been dropped.
fn next_batch(
    shared: &Shared,
    peer: SocketAddr,
    wake: &Arc<Condvar>,
    batch: &mut Vec<Message>,
) -> bool {
    let mut room = lock(shared);
    let mut lingered = false;
    loop {
        let head = room.head();
        let Some(client) = room.clients.get(&peer) else {
            return false;
        };
        let leaving = client.until.is_some();
        let end = client.until.unwrap_or(head);
        let waiting = end.saturating_sub(client.cursor);
        if waiting == 0 && !leaving && client.last_line.is_none() {
            // Everything sent: sleep until a broadcast wakes us. The list
            // of sleepers is how the broadcast knows.
            room.asleep.push(Arc::clone(wake));
            room = wake.wait(room).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        if waiting < FULL_BATCH && !lingered && !leaving {
            // Only a few messages: let go of the lock a moment, so that
            // the readers take in the rest of a burst before we write.
            drop(room);
            thread::sleep(LINGER);
            room = lock(shared);
            lingered = true;
            continue;
        }
        // The messages from the cursor on, each an Arc: a pointer copied,
        // not the bytes.
        let room = &mut *room;
        let Some(client) = room.clients.get_mut(&peer) else {
            return false;
        };
        let to = end.min(client.cursor + MAX_BATCH);
        let from = (client.cursor - room.first) as usize;
        batch.extend(room.log.range(from..(to - room.first) as usize).cloned());
        client.cursor = to;
        if to < end {
            return true;
        }
        batch.extend(client.last_line.take());
        return !leaving;
    }
}
// ANCHOR_END: writer

/// Takes the lock. A thread that panicked while holding it leaves the
/// room "poisoned"; the room itself is still sound, so we go on with it.
fn lock(room: &Shared) -> MutexGuard<'_, Room> {
    room.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
