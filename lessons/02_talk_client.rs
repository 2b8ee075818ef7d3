//! Lesson 02 — two ends talking: the client.
//!
//! Connects to `02_talk_server` and takes turns with it: print the server's
//! line, type an answer, until either side types `quit` or closes. When nothing
//! listens at the address, it shows what Python's `connect_ex` would return:
//! the OS error number, with its name. When the server stays silent for a
//! while (`--patience`), it says what that may mean, and waits on.

use socket_lessons::{cli, console, style};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// The most bytes one `read` takes off the socket; the tutorial's `recv(1024)`.
const BUFFER_SIZE: usize = 1024;

/// The server's address, and when its silence is worth a word.
#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// Seconds of silence before the server's first line after which the
    /// client says what the silence may mean (it goes on waiting).
    #[arg(long, value_name = "SECONDS", default_value = "10")]
    #[arg(value_parser = cli::seconds, allow_negative_numbers = true)]
    patience: Duration,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: Args) -> io::Result<()> {
    // ANCHOR: connect
    // A host name may stand for several addresses (`localhost` is often ::1
    // and 127.0.0.1): connect is handed them all and tries each in turn, as
    // Python's create_connection does.
    let addresses = args.endpoint.socket_addrs()?;
    // Python has two connects: connect() raises an exception, connect_ex()
    // returns the OS error number (0 for success). Rust's connect returns a
    // Result, which is both: the Err carries the number (error.raw_os_error()),
    // and `?` hands it to main, which prints the address, the number and its
    // name (111, ECONNREFUSED on Linux) and exits with status 1.
    let mut stream = TcpStream::connect(&addresses[..])?;
    let server = stream.peer_addr()?;
    style::event(format!("connected to {server}; the server speaks first"));
    // ANCHOR_END: connect

    // ANCHOR: turns
    // A person at the server may take minutes to type, so we never give up
    // on them. But a first line that does not come may also mean a server
    // busy with someone else, or not a talk server at all: after a while we
    // say so, once, and wait on.
    stream.set_read_timeout(Some(args.patience))?;
    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        // Their turn: the server speaks first.
        let count = match stream.read(&mut buffer) {
            Ok(count) => count,
            Err(error) if server_is_gone(&error) => 0,
            Err(error) if is_timeout(&error) => {
                style::notice(silence(server, args.patience));
                stream.set_read_timeout(None)?;
                continue;
            }
            Err(error) => return Err(error),
        };
        // 0 bytes: the server's FIN has arrived. It sends nothing more.
        if count == 0 {
            style::notice("the server closed the connection");
            break;
        }
        // It has spoken: from now on, wait as long as its person takes.
        stream.set_read_timeout(None)?;
        // Escaped: the server's control bytes must not drive our terminal.
        let chunk = &buffer[..count];
        style::reply(format!("{server}: {}", style::shown(chunk)));
        if String::from_utf8_lossy(chunk).trim() == "quit" {
            break;
        }

        // Our turn.
        let Some(line) = console::read_line(">> ")? else {
            break;
        };
        // write_all, not write: write may take only part of the bytes, which
        // a blocking socket on Linux does only when a signal or a send
        // timeout interrupts it; write_all loops until all are sent.
        stream.write_all(format!("{line}\n").as_bytes())?;
        if line.trim() == "quit" {
            break;
        }
    }
    // ANCHOR_END: turns
    Ok(())
}

// ANCHOR: gone
/// The errors that mean the server has gone: the same news as a read of 0
/// bytes, when its OS answered with a reset (RST) and no FIN came first.
fn server_is_gone(error: &io::Error) -> bool {
    match error.kind() {
        // The server closed (or was killed) with our answer still unread,
        // so its OS reset the connection. (Windows may say
        // ConnectionAborted.)
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => true,
        _ => false,
    }
}
// ANCHOR_END: gone

/// True for the error a read gets when its timeout runs out: WouldBlock
/// (EAGAIN) on Unix, TimedOut on Windows.
fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// What a silent server may mean.
fn silence(server: SocketAddr, patience: Duration) -> String {
    format!(
        "nothing from {server} for {patience:?}. Its person may still be \
         typing; or the server is busy with another client (02_talk_server \
         takes one), or it is not a talk server. See what listens on the \
         port: `ss -tlnp` on Linux, `lsof -iTCP -sTCP:LISTEN` on macOS, \
         `netstat -ano` on Windows. Still waiting; Ctrl-C to leave"
    )
}
