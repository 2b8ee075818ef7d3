//! chat_reference: the yardstick the chat stages are measured against.
//!
//! A tokio server for lesson 07's chat protocol, built the way a fast server
//! is built: a reader task and a writer task per client; each message
//! formatted once and shared by every queue (`Bytes` is a reference count);
//! a bounded queue per client, and a client whose queue is full is dropped;
//! writes buffered and flushed only when the queue is drained, so a busy
//! chat costs one `write` per batch, not one per delivery.
//!
//! ```text
//! cargo run --release -p chatload --bin chat_reference -- --port 0
//! ```

use bytes::{Bytes, BytesMut};
use chrono::Local;
use clap::Parser;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter,
};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// A tokio chat server for lesson 07's protocol: the yardstick chatload
/// measures the stages against.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: any free port; the ready line says which).
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// How many messages may wait for one client; a client further behind
    /// is dropped. When every client sends at once, each queue takes a
    /// burst of clients × lines before its writer runs: 1,000 clients × 10
    /// lines is 10,000 (slots cost 32 bytes each, the messages are shared).
    #[arg(long, value_name = "MESSAGES", default_value_t = 64 * 1024)]
    queue: usize,
    /// The longest line a client may send, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_line: usize,
    /// The listen backlog (std's TcpListener uses 128).
    #[arg(long, default_value_t = 4096)]
    backlog: u32,
    /// Print a line for each client that connects or leaves.
    #[arg(long, short)]
    verbose: bool,
}

struct Client {
    outbox: mpsc::Sender<Bytes>,
    /// Its reader task, stopped when the client is dropped.
    reader: AbortHandle,
}

type Clients = Arc<Mutex<HashMap<SocketAddr, Client>>>;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chat_reference: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat_reference: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> io::Result<()> {
    let addr = SocketAddr::new(args.host, args.port);
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener: TcpListener = socket.listen(args.backlog)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let clients = Clients::default();
    let args = Arc::new(args);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(error) => {
                // Out of file descriptors, or a reset in the queue: wait a
                // little rather than spin.
                eprintln!("accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        join(stream, peer, &clients, &args);
    }
}

fn join(
    stream: TcpStream,
    peer: SocketAddr,
    clients: &Clients,
    args: &Arc<Args>,
) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (outbox, inbox) = mpsc::channel(args.queue);
    tokio::spawn(send_messages(write, inbox));
    // The client is in the table before its first line is read: it gets
    // its own lines back, the first one included.
    let mut table = lock(clients);
    let reader = tokio::spawn({
        let clients = Arc::clone(clients);
        let args = Arc::clone(args);
        async move {
            let result = receive(read, peer, &clients, args.max_line).await;
            lock(&clients).remove(&peer);
            if args.verbose {
                match result {
                    Ok(()) => println!("closed: {peer}"),
                    Err(error) => println!("lost {peer}: {error}"),
                }
            }
        }
    });
    table.insert(
        peer,
        Client {
            outbox,
            reader: reader.abort_handle(),
        },
    );
    if args.verbose {
        println!("connected: {peer}");
    }
}

async fn receive(
    read: OwnedReadHalf,
    peer: SocketAddr,
    clients: &Clients,
    max_line: usize,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut line = Vec::new();
    let mut clock = Clock::default();
    let peer_text = peer.to_string();
    loop {
        line.clear();
        let limit = max_line as u64 + 1;
        let count = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .await?;
        let ended = line.ends_with(b"\n");
        if !ended && count > max_line {
            let error = format!("error: line longer than {max_line} bytes\n");
            if let Some(client) = lock(clients).get(&peer) {
                let _ = client.outbox.try_send(Bytes::from(error));
            }
            return Err(io::Error::other("line too long"));
        }
        if !ended {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim() == "quit" {
            return Ok(());
        }
        // Formatted once, shared by every queue.
        let stamp = clock.now();
        let mut message = BytesMut::with_capacity(
            stamp.len() + peer_text.len() + text.len() + 3,
        );
        message.extend_from_slice(stamp.as_bytes());
        message.extend_from_slice(b" ");
        message.extend_from_slice(peer_text.as_bytes());
        message.extend_from_slice(b"\n");
        message.extend_from_slice(text.as_bytes());
        message.extend_from_slice(b"\n");
        broadcast(clients, message.freeze());
    }
}

/// Queues `message` for every client; drops those whose queue is full.
fn broadcast(clients: &Clients, message: Bytes) {
    lock(clients).retain(|_, client| {
        match client.outbox.try_send(message.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Too far behind: its reader stops, its queue's sender goes
                // with the entry, so its writer ends and the socket closes.
                client.reader.abort();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    });
}

/// The one task that writes to a client: everything queued goes into one
/// buffer, written when the queue is empty (or the buffer full).
async fn send_messages(
    write: OwnedWriteHalf,
    mut inbox: mpsc::Receiver<Bytes>,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    while let Some(message) = inbox.recv().await {
        if out.write_all(&message).await.is_err() {
            return;
        }
        while let Ok(message) = inbox.try_recv() {
            if out.write_all(&message).await.is_err() {
                return;
            }
        }
        if out.flush().await.is_err() {
            return;
        }
    }
    let _ = out.shutdown().await;
}

/// The header's local time, formatted once a second rather than per line.
#[derive(Default)]
struct Clock {
    second: u64,
    text: String,
}

impl Clock {
    fn now(&mut self) -> &str {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        if second != self.second || self.text.is_empty() {
            self.second = second;
            self.text = Local::now().format("%Y/%m/%d %H:%M:%S").to_string();
        }
        &self.text
    }
}

fn lock(clients: &Clients) -> MutexGuard<'_, HashMap<SocketAddr, Client>> {
    clients
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
