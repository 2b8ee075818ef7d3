//! The run itself: connect, register, warm up, send, count.
//!
//! Each client is two tokio tasks, a reader and a sender, so that the
//! reading of N × N × M deliveries is spread over every core, and a
//! client's reading never waits for its sending. Shared counters are
//! updated once per read, not per line.

use crate::line;
use crate::stats::{Delta, Histogram, Received};
use indicatif::ProgressBar;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

#[derive(Clone, Copy)]
pub struct Settings {
    pub addr: SocketAddr,
    pub clients: usize,
    pub messages: usize,
    pub size: usize,
    pub connect_concurrency: usize,
    /// A phase ends as failed (warm-up) or done (the run) after this long
    /// without a new delivery.
    pub quiet: Duration,
    /// Registration may stall longer: a connection whose handshake's last
    /// ACK found the accept queue full is completed only when the server
    /// retransmits its SYN-ACK, after 1, 2, 4, 8 s.
    pub register_quiet: Duration,
    /// The most the measured run may take, quiet or not.
    pub deadline: Duration,
}

/// A progress bar to keep up to date, when there is a terminal to show it.
pub type Progress = Option<ProgressBar>;

#[derive(Debug, Default)]
pub struct Outcome {
    pub connect: Duration,
    /// From the first hello to the last client getting its own back.
    pub register: Duration,
    pub warm_up: Duration,
    pub warm_deliveries: u64,
    pub expected: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    pub malformed: u64,
    pub headerless: u64,
    pub wrong_sender: u64,
    /// Clients whose connection the server closed during the run.
    pub disconnected: u64,
    /// From the first send to the last delivery.
    pub run: Duration,
    pub latency_p50_us: Option<u64>,
    pub latency_p99_us: Option<u64>,
    pub latency_max_us: Option<u64>,
    /// chatload's own CPU time (all threads) from the first send to the end.
    pub own_cpu: Option<Duration>,
    /// Why the run ended before every delivery came, if it did.
    pub ended_by: Option<String>,
}

#[derive(Default)]
struct Shared {
    /// Every line received, of any kind: while it grows, the server is
    /// still at work.
    lines: AtomicU64,
    delivered: AtomicU64,
    /// Clients whose connection the server has closed.
    closed: AtomicU64,
    hellos_back: AtomicU64,
    warm: AtomicU64,
}

pub async fn run(
    settings: &Settings,
    progress: &Progress,
    before_run: impl FnOnce(),
) -> Result<Outcome, String> {
    let n = settings.clients;
    let start = Instant::now();
    let mut outcome = Outcome {
        expected: (n * n * settings.messages) as u64,
        ..Outcome::default()
    };
    phase(progress, "connecting", n as u64);
    let streams = connect_all(settings, progress).await?;
    outcome.connect = start.elapsed();

    // Each client's address, as the server's headers must name it.
    let senders: Arc<[Box<[u8]>]> = streams
        .iter()
        .map(|stream| {
            stream
                .local_addr()
                .map(|addr| addr.to_string().into_bytes().into_boxed_slice())
                .map_err(|error| format!("a client has no address: {error}"))
        })
        .collect::<Result<_, _>>()?;
    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers = Vec::with_capacity(n);
    let mut writers = Vec::with_capacity(n);
    for (id, stream) in streams.into_iter().enumerate() {
        let (read, write) = stream.into_split();
        readers.push(tokio::spawn(read_client(
            id as u32,
            read,
            Arc::clone(&shared),
            start,
            (n, settings.messages),
            Arc::clone(&senders),
            stop_rx.clone(),
        )));
        writers.push(write);
    }

    // Registered: every client gets its own hello back.
    let warm_start = Instant::now();
    phase(progress, "registering", n as u64);
    send_to_all(&mut writers, line::hello).await?;
    let register = Settings {
        quiet: settings.register_quiet,
        ..*settings
    };
    wait_for(
        &shared,
        &shared.hellos_back,
        n as u64,
        &register,
        progress,
        false,
    )
    .await
    .map_err(|(_, got)| {
        format!(
            "only {got} of {n} clients got their own line back, then \
             nothing for {:?}: the server did not register them all (or \
             does not echo to the sender){}",
            settings.register_quiet,
            closed_note(&shared)
        )
    })?;
    outcome.register = warm_start.elapsed();
    // Warm: every client has every client's warm-up line.
    let warm_total = (n * n) as u64;
    phase(progress, "warming up", warm_total);
    send_to_all(&mut writers, line::warm).await?;
    wait_for(&shared, &shared.warm, warm_total, settings, progress, false)
        .await
        .map_err(|(_, got)| {
            format!(
                "warm-up: {got} of {warm_total} deliveries, then nothing for \
                 {:?}{}",
                settings.quiet,
                closed_note(&shared)
            )
        })?;
    outcome.warm_up = warm_start.elapsed();
    outcome.warm_deliveries = warm_total;
    before_run();

    // The measured run.
    phase(progress, "running", outcome.expected);
    let cpu_before = crate::server::own_cpu();
    let run_start = start.elapsed().as_micros() as u64;
    let senders: Vec<JoinHandle<io::Result<OwnedWriteHalf>>> = writers
        .into_iter()
        .enumerate()
        .map(|(id, writer)| {
            tokio::spawn(send_messages(
                id as u32,
                writer,
                (settings.messages, settings.size),
                start,
            ))
        })
        .collect();
    let waited = wait_for(
        &shared,
        &shared.delivered,
        outcome.expected,
        settings,
        progress,
        true,
    );
    let ended = waited.await;
    // The writers are kept until the end: dropping one closes its client.
    // A sender still blocked (a server that stopped reading it) is given up.
    let mut writers = Vec::with_capacity(n);
    let mut send_errors = 0;
    for sender in senders {
        if ended.is_err() && !sender.is_finished() {
            sender.abort();
            send_errors += 1;
            continue;
        }
        match sender.await {
            Ok(Ok(writer)) => writers.push(writer),
            _ => send_errors += 1,
        }
    }
    let _ = stop_tx.send(true);
    let mut latency = Histogram::default();
    let mut last_micros = run_start;
    for reader in readers {
        let Ok(received) = reader.await else {
            return Err("a reader task panicked".into());
        };
        let (received, closed) = received;
        outcome.delivered += received.delivered;
        outcome.duplicated += received.duplicated;
        outcome.out_of_order += received.out_of_order;
        outcome.malformed += received.malformed;
        outcome.headerless += received.headerless;
        outcome.wrong_sender += received.wrong_sender;
        outcome.disconnected += u64::from(closed);
        latency.merge(&received.latency);
        last_micros = last_micros.max(received.last_micros);
    }
    outcome.own_cpu = match (cpu_before, crate::server::own_cpu()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    drop(writers);
    outcome.run = Duration::from_micros(last_micros - run_start);
    outcome.latency_p50_us = latency.quantile(0.50);
    outcome.latency_p99_us = latency.quantile(0.99);
    outcome.latency_max_us = latency.max();
    outcome.ended_by = match ended {
        Ok(_) => None,
        Err((WaitEnd::Quiet, _)) => {
            Some(format!("nothing delivered for {:?}", settings.quiet))
        }
        Err((WaitEnd::Deadline, _)) => {
            Some(format!("the deadline of {:?}", settings.deadline))
        }
    };
    if send_errors > 0 {
        let note = format!("{send_errors} clients could not send all lines");
        outcome.ended_by = Some(match outcome.ended_by.take() {
            Some(reason) => format!("{reason}; {note}"),
            None => note,
        });
    }
    Ok(outcome)
}

fn closed_note(shared: &Shared) -> String {
    match shared.closed.load(Ordering::Relaxed) {
        0 => String::new(),
        count => format!("; the server closed {count} connections"),
    }
}

fn phase(progress: &Progress, name: &'static str, total: u64) {
    if let Some(bar) = progress {
        bar.set_message(name);
        bar.set_length(total);
        bar.set_position(0);
    }
}

async fn connect_all(
    settings: &Settings,
    progress: &Progress,
) -> Result<Vec<TcpStream>, String> {
    let permits = Arc::new(Semaphore::new(settings.connect_concurrency));
    let connected = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..settings.clients)
        .map(|_| {
            let permits = Arc::clone(&permits);
            let connected = Arc::clone(&connected);
            let addr = settings.addr;
            tokio::spawn(async move {
                let _permit = permits.acquire().await;
                let stream = connect(addr).await;
                connected.fetch_add(1, Ordering::Relaxed);
                stream
            })
        })
        .collect();
    let mut streams = Vec::with_capacity(tasks.len());
    for (id, task) in tasks.into_iter().enumerate() {
        if let Some(bar) = progress {
            bar.set_position(connected.load(Ordering::Relaxed));
        }
        match task.await {
            Ok(Ok(stream)) => streams.push(stream),
            Ok(Err(error)) => {
                return Err(format!(
                    "client {id} could not connect to {}: {error}",
                    settings.addr
                ));
            }
            Err(_) => return Err("a connect task panicked".into()),
        }
    }
    Ok(streams)
}

async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    // A full accept queue drops SYNs, which the kernel retries (1 s, 3 s,
    // …): waiting longer than that is the connect's business, not ours.
    let stream =
        tokio::time::timeout(Duration::from_secs(20), TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    // Each line leaves at once, as a chat client's would.
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn send_to_all(
    writers: &mut [OwnedWriteHalf],
    line: fn(u32) -> Vec<u8>,
) -> Result<(), String> {
    for (id, writer) in writers.iter_mut().enumerate() {
        writer
            .write_all(&line(id as u32))
            .await
            .map_err(|error| format!("client {id} could not send: {error}"))?;
    }
    Ok(())
}

async fn send_messages(
    id: u32,
    mut writer: OwnedWriteHalf,
    (messages, size): (usize, usize),
    start: Instant,
) -> io::Result<OwnedWriteHalf> {
    let mut buffer = Vec::with_capacity(size.max(64));
    for seq in 0..messages as u32 {
        buffer.clear();
        let now = start.elapsed().as_micros() as u64;
        line::data(&mut buffer, id, seq, now, size);
        writer.write_all(&buffer).await?;
    }
    Ok(writer)
}

enum WaitEnd {
    Quiet,
    Deadline,
}

/// Waits until `counter` reaches `target`. Gives up after `settings.quiet`
/// without a line received, or (for the run) after the deadline; the error says
/// which, and the count reached.
async fn wait_for(
    shared: &Shared,
    counter: &AtomicU64,
    target: u64,
    settings: &Settings,
    progress: &Progress,
    is_run: bool,
) -> Result<(), (WaitEnd, u64)> {
    let started = Instant::now();
    let mut last = 0;
    let mut last_change = Instant::now();
    loop {
        let now = counter.load(Ordering::Relaxed);
        let lines = shared.lines.load(Ordering::Relaxed);
        if let Some(bar) = progress {
            bar.set_position(now);
        }
        if now >= target {
            return Ok(());
        }
        if lines != last {
            last = lines;
            last_change = Instant::now();
        }
        if last_change.elapsed() > settings.quiet {
            return Err((WaitEnd::Quiet, now));
        }
        if is_run && started.elapsed() > settings.deadline {
            return Err((WaitEnd::Deadline, now));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads what client `id` receives until told to stop or the server closes
/// the connection; the flag says whether it did.
async fn read_client(
    id: u32,
    mut read: OwnedReadHalf,
    shared: Arc<Shared>,
    start: Instant,
    (clients, messages): (usize, usize),
    senders: Arc<[Box<[u8]>]>,
    mut stop: watch::Receiver<bool>,
) -> (Received, bool) {
    const LONGEST: usize = 1 << 20;
    let mut received = Received::new(clients, messages, senders);
    let mut buffer = vec![0u8; 16 * 1024];
    let (mut begin, mut end) = (0, 0);
    let closed = loop {
        let count = tokio::select! {
            biased;
            _ = stop.changed() => break false,
            count = read.read(&mut buffer[end..]) => count,
        };
        let count = match count {
            Ok(0) | Err(_) => break true,
            Ok(count) => count,
        };
        end += count;
        let now = start.elapsed().as_micros() as u64;
        let mut delta = Delta::default();
        let mut lines = 0;
        while let Some(at) = memchr::memchr(b'\n', &buffer[begin..end]) {
            received.line(id, &buffer[begin..begin + at], now, &mut delta);
            begin += at + 1;
            lines += 1;
        }
        shared.lines.fetch_add(lines, Ordering::Relaxed);
        if begin == end {
            (begin, end) = (0, 0);
        } else if end == buffer.len() {
            if begin > 0 {
                buffer.copy_within(begin..end, 0);
                (begin, end) = (0, end - begin);
            } else if buffer.len() < LONGEST {
                buffer.resize(buffer.len() * 2, 0);
            } else {
                // A line longer than a MiB: not ours. Skip it.
                received.malformed += 1;
                (begin, end) = (0, 0);
            }
        }
        if delta.delivered > 0 {
            shared
                .delivered
                .fetch_add(delta.delivered, Ordering::Relaxed);
        }
        if delta.warm > 0 {
            shared.warm.fetch_add(delta.warm, Ordering::Relaxed);
        }
        if delta.hello_back {
            shared.hellos_back.fetch_add(1, Ordering::Relaxed);
        }
    };
    if closed {
        shared.closed.fetch_add(1, Ordering::Relaxed);
    }
    (received, closed)
}
