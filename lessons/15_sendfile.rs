//! Lesson 15 — sendfile: let the kernel copy.
//!
//! Python's `socket.sendfile(file)` sends a whole file and hands the copying
//! to the OS's `sendfile` where it can. This experiment writes a 16 MiB file
//! into a fresh temporary directory and sends it over a loopback connection
//! three ways: a read/write loop through an 8 KiB buffer in the program,
//! `std::io::copy`, and socket2's `Socket::sendfile`. A receiver thread counts
//! the bytes. For each way it prints the bytes, the time, the rate and, on
//! Linux, how many read system calls the sending thread made.
//!
//! Run it with `cargo run --bin 15_sendfile`; `--dir DIR` makes the temporary
//! directory inside DIR (it is removed at the end, also after an error).

use socket_lessons::cli;
use socket_lessons::experiment::{self, answer, part, step};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// Run with no arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {
    /// Make the temporary directory inside DIR (default: the system's
    /// temporary directory).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// 16 MiB: large enough that the ways differ, small enough to take a moment.
const FILE_SIZE: usize = 16 * 1024 * 1024;

/// The buffer of the read/write loop, as a program without sendfile uses.
const BUFFER_SIZE: usize = 8 * 1024;

/// How long the receiver waits for the next bytes before it gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(args: Experiment) -> io::Result<()> {
    let parent = args.dir.unwrap_or_else(std::env::temp_dir);
    // Dropped at the end of `run`, early return included: the directory goes.
    let scratch = Scratch::create(&parent)?;
    let path = scratch.path.join("payload.bin");

    part("A file to send");
    step("writing 16 MiB into a fresh temporary directory");
    write_file(&path)?;
    answer("file size", fs::metadata(&path)?.len());

    part("1. A read/write loop through an 8 KiB buffer");
    step("every 8 KiB is read into the program, then written to the socket");
    let mut file = File::open(&path)?;
    send_one_way("the loop", |stream| copy_through_buffer(&mut file, stream))?;

    // ANCHOR: copy
    part("2. std::io::copy");
    step("the same copy, written as io::copy(&mut file, &mut stream)");
    let mut file = File::open(&path)?;
    // On Linux, std hands some copies to the kernel (file to file, pipes),
    // but not a file to a socket: the kernel would send the file's pages
    // later, from the socket's buffer, and a change to the file in between
    // would change bytes io::copy had already counted as written. So it
    // reads through a buffer of its own, as the loop above does.
    send_one_way("io::copy", |stream| io::copy(&mut file, stream))?;
    // ANCHOR_END: copy

    part("3. socket2's Socket::sendfile");
    let file = File::open(&path)?;
    send_with_sendfile(&file)
}

// ANCHOR: loop
/// What a program does without sendfile: every byte passes through
/// `buffer`, one `read` from the file and one `write` to the socket per
/// buffer. `write_all`, because a write may take less than it is given.
fn copy_through_buffer(
    file: &mut File,
    stream: &mut TcpStream,
) -> io::Result<u64> {
    let mut buffer = [0; BUFFER_SIZE];
    let mut sent = 0;
    loop {
        let count = file.read(&mut buffer)?;
        if count == 0 {
            return Ok(sent); // the end of the file
        }
        stream.write_all(&buffer[..count])?;
        sent += count as u64;
    }
}
// ANCHOR_END: loop

// ANCHOR: sendfile
/// The file goes from the page cache to the socket inside the kernel: the
/// program never sees its bytes. One call may send less than the rest of the
/// file (a signal, a limit of the OS), so the offset moves on until the end.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
fn send_with_sendfile(file: &File) -> io::Result<()> {
    step("the kernel copies from the file to the socket: Socket::sendfile");
    let length = file.metadata()?.len() as usize;
    send_one_way("sendfile", |stream| {
        let socket = socket2::SockRef::from(&*stream);
        let mut offset = 0;
        while offset < length {
            // None: as much as the OS will send in one call.
            match socket.sendfile(file, offset, None)? {
                0 => break, // the file is shorter than it was
                sent => offset += sent,
            }
        }
        Ok(offset as u64)
    })
}
// ANCHOR_END: sendfile

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos"
)))]
fn send_with_sendfile(_file: &File) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "socket2 offers Socket::sendfile on Linux, macOS and a few other \
         Unix systems only: on this system, io::copy is the way to send a \
         file (Windows has TransmitFile, which socket2 does not wrap)",
    ))
}

// ANCHOR: measure
/// Sends the file one way over a fresh loopback connection to a receiver
/// thread, and prints what was sent, what arrived, how long it took and how
/// many read calls the sending thread (this one) made.
fn send_one_way(
    way: &str,
    send: impl FnOnce(&mut TcpStream) -> io::Result<u64>,
) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut stream = TcpStream::connect(listener.local_addr()?)?;
    let (connection, _) = listener.accept()?;
    let receiver = thread::spawn(move || count_until_the_end(connection));

    let before = SystemCalls::now();
    let started = Instant::now();
    let sent = send(&mut stream)?;
    // The end of the stream tells the receiver that the file is complete.
    stream.shutdown(Shutdown::Write)?;
    let after = SystemCalls::now();
    let received = receiver
        .join()
        .map_err(|_| io::Error::other("the receiver thread panicked"))??;
    let elapsed = started.elapsed();

    answer(&format!("bytes sent by {way}"), sent);
    answer(&format!("bytes received from {way}"), received);
    answer(&format!("time of {way}"), experiment::duration(elapsed));
    answer(&format!("rate of {way}"), rate(received, elapsed));
    match (before, after) {
        (Some(before), Some(after)) => {
            answer(&format!("read calls by {way}"), after.reads_since(&before))
        }
        _ => answer(
            &format!("read calls by {way}"),
            "not counted: Linux's /proc/thread-self/io is not here",
        ),
    }
    Ok(())
}
// ANCHOR_END: measure

/// The receiver: reads until the end of the stream and counts the bytes.
fn count_until_the_end(mut connection: TcpStream) -> io::Result<u64> {
    connection.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut buffer = vec![0; 64 * 1024];
    let mut received = 0;
    loop {
        match connection.read(&mut buffer)? {
            0 => return Ok(received),
            count => received += count as u64,
        }
    }
}

/// Megabytes (a million bytes) per second, with one decimal.
fn rate(bytes: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    format!("{:.1} MB/s", bytes as f64 / seconds / 1e6)
}

// ANCHOR: counters
/// The `syscr` counter of this thread: how many `read`-like system calls
/// it has made, `sendfile` included (one per call). The receiver is another
/// thread, with counters of its own.
#[derive(Debug, Clone, Copy)]
struct SystemCalls {
    reads: u64,
}

impl SystemCalls {
    /// Reads `/proc/thread-self/io` with one `read`: `None` where there is
    /// no such file (systems other than Linux).
    fn now() -> Option<SystemCalls> {
        let mut text = [0; 512];
        let count = File::open("/proc/thread-self/io")
            .and_then(|mut file| file.read(&mut text))
            .ok()?;
        let text = String::from_utf8_lossy(&text[..count]);
        let line = text.lines().find(|line| line.starts_with("syscr:"))?;
        let reads = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(SystemCalls { reads })
    }

    /// The calls made since `before`, not counting the one `read` that
    /// took `before` itself (it is counted once it has returned).
    fn reads_since(&self, before: &SystemCalls) -> u64 {
        (self.reads - before.reads).saturating_sub(1)
    }
}
// ANCHOR_END: counters

/// A fresh directory of our own, removed with everything in it when the
/// value is dropped: at the end of the experiment, or after an error.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn create(parent: &Path) -> io::Result<Scratch> {
        // The process id makes the name unique among running experiments;
        // `create_dir` fails rather than reuse a directory that exists.
        let name = format!("socket-lessons-15-{}", std::process::id());
        let path = parent.join(name);
        fs::create_dir(&path).map_err(|error| {
            let place = parent.display();
            let text = format!("cannot make a directory in {place}: {error}");
            io::Error::new(error.kind(), text)
        })?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Nothing to do about a failure here but leave the directory.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Writes FILE_SIZE bytes of a repeating pattern.
fn write_file(path: &Path) -> io::Result<()> {
    let pattern: Vec<u8> = (0..=255).cycle().take(64 * 1024).collect();
    let mut file = File::create(path)?;
    for _ in 0..FILE_SIZE / pattern.len() {
        file.write_all(&pattern)?;
    }
    Ok(())
}
