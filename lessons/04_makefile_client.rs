//! Lesson 04 — the makefile client.
//!
//! Connects to the makefile server through buffered handles, as Python's
//! `makefile` does: it sends a record of exactly 10 bytes (`--record`), prints
//! the answer, then sends each line you type and prints the answer to it.
//! An empty line, the end of input (Ctrl-D; Ctrl-Z then Enter on Windows) or
//! the server closing ends the session; an answer that does not come within
//! `--timeout` seconds ends it with an error. Start `04_makefile_server`
//! first.

use socket_lessons::{cli, console, style};
use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// The size of the record the server reads first with `read_exact`.
const RECORD_SIZE: usize = 10;

#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// The fixed-size record sent before any line: exactly 10 bytes.
    #[arg(long, default_value = "0123456789")]
    record: String,
    /// Seconds to wait for the connection, and then for each answer.
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    #[arg(value_parser = cli::seconds, allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: Args) -> io::Result<()> {
    // ANCHOR: check
    // The server reads exactly 10 bytes, whatever they are. Send 9 and it
    // waits for a tenth forever; send 11 and the last one becomes the start
    // of the first line. So we refuse any other size.
    let record = args.record.as_bytes();
    if record.len() != RECORD_SIZE {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "--record must be exactly {RECORD_SIZE} bytes, \
                 and {:?} is {} bytes",
                args.record,
                record.len()
            ),
        ));
    }
    // ANCHOR_END: check

    // ANCHOR: connect
    let timeout = args.timeout;
    let stream = connect(&args.endpoint.socket_addrs()?, timeout)?;
    let server = stream.peer_addr()?;
    style::event(format!(
        "connected to {server} from {}",
        stream.local_addr()?
    ));
    // A read that waits longer than this fails instead of blocking forever.
    // The option belongs to the socket, so both handles below have it.
    stream.set_read_timeout(Some(timeout))?;
    // Two handles to one connection, one per direction, as in the server.
    // A BufWriter and not a LineWriter: a LineWriter sends by itself at every
    // newline, but the record has no newline, so we would still need flush()
    // for it. One rule, "nothing leaves until flush()", is easier to see, and
    // it is what Python's f.flush() does too.
    let mut writer = BufWriter::new(stream.try_clone()?);
    let mut reader = BufReader::new(stream);
    // ANCHOR_END: connect

    // ANCHOR: talk
    // The record first, then each line typed. The newline that read_line
    // took off goes back on: it is the only boundary the server can see,
    // since TCP keeps none.
    let mut message = record.to_vec();
    loop {
        match ask(&mut writer, &mut reader, &message) {
            Ok(answer) => style::reply(String::from_utf8_lossy(&answer)),
            Err(error) if server_is_gone(&error) => {
                style::notice("the server closed the connection");
                return Ok(());
            }
            Err(error) if timed_out(&error) => {
                return Err(no_answer(server, timeout));
            }
            Err(error) => return Err(error),
        }
        let Some(line) = console::read_line(">> ")? else {
            return Ok(()); // the end of input
        };
        if line.is_empty() {
            return Ok(());
        }
        message = format!("{line}\n").into_bytes();
    }
    // ANCHOR_END: talk
}

// ANCHOR: ask
/// Sends `message` and returns the server's one-line answer, without its
/// newline.
fn ask(
    writer: &mut BufWriter<TcpStream>,
    reader: &mut BufReader<TcpStream>,
    message: &[u8],
) -> io::Result<Vec<u8>> {
    // write_all() only fills the buffer; flush() is what hands the bytes to
    // the OS. Forget it and both sides wait: the server for our message, and
    // we for its answer.
    writer.write_all(message)?;
    writer.flush()?;
    // One answer is one line, however many pieces TCP delivers it in.
    // Bytes, not a String: a server that sends invalid UTF-8 gets it shown,
    // not a failed read.
    let mut answer = Vec::new();
    if reader.read_until(b'\n', &mut answer)? == 0 {
        // Zero bytes: the server has shut down its sending side.
        return Err(ErrorKind::UnexpectedEof.into());
    }
    if answer.ends_with(b"\n") {
        answer.pop();
    }
    Ok(answer)
}

/// The errors that mean the server has gone: it closed before answering
/// (ask's read of 0 bytes), or it reset the connection, which it does when it
/// closes with bytes of ours still unread; a write after that fails with
/// BrokenPipe (EPIPE) or ConnectionReset.
fn server_is_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
    )
}

/// A read timeout: Linux and macOS call it WouldBlock, Windows TimedOut.
fn timed_out(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}
// ANCHOR_END: ask

// ANCHOR: connect_fn
/// Tries each address of the host in turn, each for at most `timeout`, as
/// `TcpStream::connect(&addresses[..])` does without a deadline.
fn connect(
    addresses: &[SocketAddr],
    timeout: Duration,
) -> io::Result<TcpStream> {
    let mut last_error = io::Error::from(ErrorKind::AddrNotAvailable);
    for address in addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}
// ANCHOR_END: connect_fn

/// What an answer that never comes most likely means, and how to look.
fn no_answer(server: SocketAddr, timeout: Duration) -> io::Error {
    io::Error::other(format!(
        "no whole answer from {server} within {timeout:?}. Is it \
         04_makefile_server? Most lessons use port 9999, and another \
         lesson's server (03_ctime_server answers without a newline) leaves \
         this client waiting. See what listens there: `ss -tlnp` (Linux), \
         `lsof -iTCP -sTCP:LISTEN` (macOS), `netstat -ano` (Windows)"
    ))
}
