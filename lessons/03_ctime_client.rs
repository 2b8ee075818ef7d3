//! Lesson 03 — the ctime client.
//!
//! Connects to the ctime server, sends each line you type, and prints the
//! reply: the server's time followed by your line. An empty line, the end
//! of input (Ctrl-D; Ctrl-Z then Enter on Windows) or the server closing
//! ends the session. A server that does not take the connection, or does not
//! answer, within `--timeout` is given up on, with a word on why. Start
//! `03_ctime_server` first.

use socket_lessons::{cli, console, style};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// The most bytes one `read` takes off the socket: the tutorial's `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

/// The server's address, and how long to wait for it.
#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// Seconds to wait for the connection, and then for each reply, before
    /// giving up (0.5 is fine too).
    #[arg(long, value_name = "SECONDS", default_value = "3")]
    #[arg(value_parser = cli::seconds, allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: Args) -> io::Result<()> {
    // ANCHOR: connect
    let addresses = args.endpoint.socket_addrs()?;
    let mut stream = connect(&addresses, args.timeout)?;
    let server = stream.peer_addr()?;
    style::event(format!(
        "connected to {server} from {}",
        stream.local_addr()?
    ));
    // Python's settimeout, for reads: a server that never answers (the wrong
    // program, or one busy with another client) cannot keep us for ever.
    stream.set_read_timeout(Some(args.timeout))?;
    // ANCHOR_END: connect

    // ANCHOR: converse
    let mut buffer = [0u8; BUFFER_SIZE];
    while let Some(line) = console::read_line(">> ")? {
        if line.is_empty() {
            break; // the tutorial's client stops on an empty line too
        }
        let count = match ask(&mut stream, &line, &mut buffer) {
            Ok(count) => count,
            Err(error) if server_is_gone(&error) => 0,
            Err(error) if is_timeout(&error) => {
                return Err(no_reply(server, args.timeout));
            }
            Err(error) => return Err(error),
        };
        if count == 0 {
            style::notice("the server closed the connection");
            break;
        }
        style::reply(String::from_utf8_lossy(&buffer[..count]));
    }
    // ANCHOR_END: converse
    Ok(())
}

// ANCHOR: ask
/// Sends the line, then makes one read, as the tutorial does.
fn ask(
    stream: &mut TcpStream,
    line: &str,
    buffer: &mut [u8],
) -> io::Result<usize> {
    // write_all, not write: write may take only part of the bytes and say so
    // in its count, which a blocking socket on Linux does only when a signal
    // or a send timeout interrupts it. write_all loops until all are sent.
    stream.write_all(line.as_bytes())?;
    // One read returns what has arrived so far. A short reply comes whole; a
    // longer one may need more reads, and we cannot tell when we have all of
    // it, because this protocol marks no ends. (Lesson 04 ends every message
    // with a newline.)
    stream.read(buffer)
}

/// The errors that mean the server has gone. A server that closed politely
/// sends a FIN, and our read returns 0; these are the same news when its OS
/// answered with a reset (RST) instead.
fn server_is_gone(error: &io::Error) -> bool {
    match error.kind() {
        // A reset with no FIN before it: the server closed with bytes of
        // ours unread, or was killed with them. (Windows may say
        // ConnectionAborted.)
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => true,
        // EPIPE: a write after the server closed and its reset came back.
        ErrorKind::BrokenPipe => true,
        _ => false,
    }
}
// ANCHOR_END: ask

// ANCHOR: deadline
/// Connects to the first address that answers, waiting at most `timeout`
/// for each: `connect` alone would wait as long as the OS keeps resending
/// its SYN (over two minutes on Linux) when nothing answers at all.
fn connect(
    addresses: &[SocketAddr],
    timeout: Duration,
) -> io::Result<TcpStream> {
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some((address, error)),
        }
    }
    match last_error {
        // A refusal comes back at once; silence means the SYN was dropped.
        // On loopback, where nothing is lost, the likely cause is a server
        // whose queue of connections waiting for accept() is full.
        Some((address, error)) if error.kind() == ErrorKind::TimedOut => {
            Err(io::Error::other(format!(
                "no answer from {address} within {timeout:?}: the server is \
                 probably busy, its queue of connections waiting for \
                 accept() full (on another host, a firewall may be dropping \
                 the connection)"
            )))
        }
        Some((_, error)) => Err(error),
        None => Err(io::Error::other("no address to connect to")),
    }
}

// ANCHOR_END: deadline

// ANCHOR: no_reply
/// True for the error a read gets when its timeout runs out: WouldBlock
/// (EAGAIN) on Unix, TimedOut on Windows.
fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// What to say when the server took our line and answered nothing.
fn no_reply(server: SocketAddr, timeout: Duration) -> io::Error {
    io::Error::other(format!(
        "no reply from {server} within {timeout:?}: the server may be busy \
         with another client (03_ctime_server serves one at a time), or it \
         is not a ctime server (04_makefile_server, also on port 9999, waits \
         for 10 bytes first). See what listens on the port: `ss -tlnp` on \
         Linux, `lsof -iTCP -sTCP:LISTEN` on macOS, `netstat -ano` on Windows"
    ))
}
// ANCHOR_END: no_reply
