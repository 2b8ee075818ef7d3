//! Lesson 07 — the chat client.
//!
//! Connects to a chat server (any stage of lesson 07) and does two things at
//! once: a reader thread prints every message the server sends, the moment it
//! arrives, while the main thread sends each line you type. `quit` leaves; so
//! does the end of input (Ctrl-D; Ctrl-Z then Enter on Windows). When the
//! server closes the connection, the client says so and ends. Start one of the
//! `07_chat_*` servers first, then two or three clients.
//!
//! The Python tutorial's client sends "I'm ready." as soon as it connects; this
//! one sends only what you type, so every message on the other screens is one
//! that a person wrote.

use socket_lessons::{chat, cli, console, style};
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{self, ExitCode};
use std::thread;
use std::time::Duration;

/// How long we wait, after leaving, for the server to send what it still has
/// for us and close: a server that removes us (stage 3 on) closes at once,
/// and the reader thread then ends the process; stages 1 and 2 never close.
const LAST_WORDS: Duration = Duration::from_secs(1);

/// The server's address, and how long to wait for it.
#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// Seconds to wait for the connection before giving up (0.5 is fine too).
    #[arg(long, value_name = "SECONDS", default_value = "3")]
    #[arg(value_parser = cli::seconds, allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), chat)
}

fn chat(args: Args) -> io::Result<()> {
    // ANCHOR: connect
    let addresses = args.endpoint.socket_addrs()?;
    let mut stream = connect(&addresses, args.timeout)?;
    style::event(format!(
        "connected to {} from {}",
        stream.peer_addr()?,
        stream.local_addr()?
    ));
    // ANCHOR_END: connect

    // ANCHOR: spawn
    // Messages come whenever anyone types, not in answer to us, so we cannot
    // take turns as lesson 02 did: one thread waits on the socket while this
    // one waits on the keyboard. Each needs a handle on the socket, and
    // try_clone gives a second one (Python's dup) to move into the thread.
    // Reading on one handle while writing on the other is sound: the two
    // directions of a TCP connection are independent streams of bytes.
    let incoming = stream.try_clone()?;
    thread::spawn(move || print_messages(incoming));
    // ANCHOR_END: spawn

    // ANCHOR: send
    while let Some(line) = console::read_line(">> ")? {
        // An empty line is not sent: the tutorial's server strips each line
        // and takes an empty one for a client that has gone, so an Enter
        // pressed by mistake would end the session.
        if line.is_empty() {
            continue;
        }
        // The newline ends the message: the server reads up to it.
        // write_all, not write: write may take only part of the bytes.
        stream.write_all(format!("{line}\n").as_bytes())?;
        // quit is sent too: it is how the server learns, at once, that we
        // are leaving and should be removed from its table.
        if line.trim() == "quit" {
            break;
        }
    }
    // ANCHOR_END: send
    leave(&stream)
}

// ANCHOR: leave
/// Closes our half of the connection and gives the server a moment to close
/// its own; the reader thread prints what it still sends until then.
fn leave(stream: &TcpStream) -> io::Result<()> {
    // shutdown(Write) sends our FIN: the server's read returns 0, the end of
    // the stream, and it removes us. Shutdown::Both would also end our
    // reads, and the reader would take that for the server closing.
    match stream.shutdown(Shutdown::Write) {
        // The server has already gone: there is nothing left to shut down.
        Err(error) if error.kind() == ErrorKind::NotConnected => {}
        result => result?,
    }
    // Not a wait for ever: a server that keeps us (stages 1 and 2 never
    // close a client) gets LAST_WORDS, then we leave anyway. One that closes
    // sooner ends the process through the reader thread.
    thread::sleep(LAST_WORDS);
    Ok(())
}
// ANCHOR_END: leave

// ANCHOR: receive
/// The reader thread: prints each line the server sends, until it closes,
/// then ends the whole process.
fn print_messages(stream: TcpStream) -> ! {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    // Every message is two lines: a header, then the text someone typed.
    let mut text_is_next = false;
    let ended = loop {
        line.clear();
        // read_until, not read_line: read_line fails on bytes that are not
        // UTF-8, and a client that sent some must not end our session. We
        // show them lossily (as U+FFFD) instead.
        match reader.read_until(b'\n', &mut line) {
            // 0 bytes: the server's FIN has arrived. It sends nothing more.
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(error) if server_is_gone(&error) => break Ok(()),
            Err(error) => break Err(error),
        }
        let text = String::from_utf8_lossy(&line);
        let text = printable(text.trim_end_matches(['\r', '\n']));
        if !text_is_next && chat::parse_header(&text).is_some() {
            style::event(text);
            text_is_next = true;
        } else {
            style::reply(text);
            text_is_next = false;
        }
    };
    // The main thread is blocked reading the keyboard, and a read of stdin
    // cannot be interrupted from another thread: returning from this one
    // would leave the program waiting for a line that no one can send. So
    // this thread ends the process itself. Status 0 when the server closed:
    // that is how a chat ends (a server stopping closes every client), as
    // lessons 02 and 03 end with 0 when their server closes; 1 for an error
    // the reader cannot explain.
    match ended {
        Ok(()) => {
            style::notice("the server closed the connection");
            process::exit(0)
        }
        Err(error) => {
            style::error(format!("reading from the server: {error}"));
            process::exit(1)
        }
    }
}

/// The errors that mean the server has gone: the same news as a read of 0
/// bytes, when its OS answered with a reset (RST) and no FIN came first.
fn server_is_gone(error: &io::Error) -> bool {
    match error.kind() {
        // The server closed (or was killed) with bytes of ours unread, so
        // its OS reset the connection. (Windows may say ConnectionAborted.)
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => true,
        _ => false,
    }
}

/// `text` with control characters escaped (ESC as `\u{1b}`): another
/// client's bytes must not drive our terminal (move the cursor, clear it).
fn printable(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}
// ANCHOR_END: receive

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
        Some((address, error)) if error.kind() == ErrorKind::TimedOut => {
            Err(io::Error::other(format!(
                "no answer from {address} within {timeout:?}: the server's \
                 queue of connections waiting for accept() is probably full \
                 (on another host, a firewall may be dropping the connection)"
            )))
        }
        Some((_, error)) => Err(error),
        None => Err(io::Error::other("no address to connect to")),
    }
}
// ANCHOR_END: deadline
