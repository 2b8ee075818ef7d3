//! Exercise 02 — the talk client: your turn to speak.
//!
//! This is lesson 02's client with its half of the conversation taken out. It
//! builds and runs: it connects to the talk server and prints the server's
//! first line. Then, where it should let you answer, it stops with "not yet
//! implemented". Write the client's turn (the TODO below); chapter 02 of the
//! book explains it.
//!
//! Check your work with either of these (they run the same checks, playing the
//! server themselves):
//!
//! ```console
//! cargo test --test exercises ex02_talk_client
//! cargo run -- check 02_talk_client --exercise ex02_talk_client
//! ```
//!
//! It is done when all four checks pass. Each failed check says what it
//! expected, what came instead, and which section of the chapter to read.
//! Then try it by hand: `cargo run --bin 02_talk_server` in one terminal and
//! `cargo run --bin ex02_talk_client` in another.

use socket_lessons::{cli, style};
use std::io::{self, ErrorKind, Read};
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
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("02_talk_client", talk)
}

fn talk(args: Args) -> io::Result<()> {
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

        // TODO (the chapter's section "Take turns, the other way round"): our
        // turn. Read one line that the person types, with
        // console::read_line(">> ")? (add `console` to the `use
        // socket_lessons` line); None means the input has ended, which ends
        // the conversation. Send the line to the server with its newline
        // ("\n"), so the other side sees one line per turn, and send all of it
        // with write_all() (add `Write` to the `use std::io` line). If the line
        // is `quit`, the conversation is over for us too: leave the loop.
        todo!("read a typed line, send it with its newline, stop after quit")
    }
    Ok(())
}
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
