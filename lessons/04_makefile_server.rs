//! Lesson 04 — the makefile server.
//!
//! Python's `sock.makefile('rw')` turns a socket into a buffered file; Rust
//! does the same with a `BufReader` on one handle of the socket and a
//! `BufWriter` on another. Through them the server first reads a fixed-size
//! record of exactly 10 bytes, then reads line after line, and answers each
//! with `return your msg: ` and what it read. A line may be at most
//! `--max-line` bytes long. One client at a time, as in lesson 03. Run
//! `04_makefile_client` beside it, or `nc 127.0.0.1 9999`.

use socket_lessons::{cli, ready, style};
use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

/// The size of the record a client sends first: the tutorial's `f.read(10)`.
const RECORD_SIZE: usize = 10;

/// What every answer starts with, before the bytes being returned.
const PREFIX: &[u8] = b"return your msg: ";

#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// The longest line a client may send, in bytes, newline included: a
    /// longer one gets an error and the connection is closed.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    max_line: u64,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

fn serve(args: Args) -> io::Result<()> {
    // ANCHOR: listen
    // Listening and accepting are lesson 03's, unchanged; what is new is how
    // each connection is read and written.
    let listener = TcpListener::bind(args.endpoint.socket_addr()?)?;
    ready::listening(listener.local_addr()?);
    // ANCHOR_END: listen

    // ANCHOR: accept
    // This loop never ends: the server runs until it is stopped (Ctrl-C).
    loop {
        let (stream, peer) = listener.accept()?;
        style::event(format!("connected: {peer}"));
        // As in lesson 03: a client that misbehaves or vanishes ends its own
        // conversation only.
        match converse(stream, peer, args.max_line) {
            Ok(()) => style::event(format!("closed: {peer}")),
            // read_exact's error when the stream ends before the 10th byte.
            Err(error) if error.kind() == ErrorKind::UnexpectedEof => {
                style::notice(format!(
                    "lost {peer}: it closed before sending \
                     a whole {RECORD_SIZE}-byte record"
                ));
            }
            Err(error) => style::notice(format!("lost {peer}: {error}")),
        }
    }
    // ANCHOR_END: accept
}

fn converse(
    stream: TcpStream,
    peer: SocketAddr,
    max_line: u64,
) -> io::Result<()> {
    // ANCHOR: handles
    // try_clone() asks the OS for a second handle (a dup'ed descriptor) to the
    // *same* connection. Each buffer gets a handle of its own, so reading and
    // writing never share a buffer: what the reader has already taken off the
    // socket stays in the reader. Both are dropped when converse returns, and
    // only then does the OS close the connection: it waits for the last one.
    let mut writer = BufWriter::new(stream.try_clone()?);
    let mut reader = BufReader::new(stream);
    // ANCHOR_END: handles

    // ANCHOR: record
    // A plain read() returns whatever has arrived (maybe 3 bytes, maybe 30);
    // read_exact() keeps reading until all 10 are there, and anything after
    // them waits in the reader's buffer for the lines below.
    let mut record = [0u8; RECORD_SIZE];
    reader.read_exact(&mut record)?;
    style::received(peer, &record);

    // Three writes into the buffer, and not one byte on the wire yet: flush()
    // hands the whole answer to the OS. Without it the client would wait for an
    // answer that sits in our memory.
    writer.write_all(PREFIX)?;
    writer.write_all(&record)?;
    writer.write_all(b"\n")?;
    writer.flush()?;
    style::sent(peer, &[PREFIX, &record, b"\n"].concat());
    // ANCHOR_END: record

    // ANCHOR: lines
    // Bytes, not a String: read_line() would fail on a line that is not valid
    // UTF-8, and the protocol promises to return any line byte for byte.
    let mut line = Vec::new();
    loop {
        line.clear();
        // read_until() looks for the newline in the reader's buffer and reads
        // from the socket only when it needs more, so a line sent in pieces,
        // or many lines sent together, come out one whole line at a time.
        // take() stops it after max_line bytes, newline or not: without it, a
        // client that never sends a newline would fill our memory.
        let count =
            (&mut reader).take(max_line).read_until(b'\n', &mut line)?;
        // Zero bytes: the client has shut down its sending side (closed, or
        // shutdown(Write)), and nothing more will come from it.
        if count == 0 {
            return Ok(());
        }
        style::received(peer, &line);
        // max_line bytes and still no newline: the line is too long. Say so
        // in one line the client can show, and hang up rather than read on.
        if !line.ends_with(b"\n") && count as u64 == max_line {
            let refusal = format!("error: line longer than {max_line} bytes\n");
            writer.write_all(refusal.as_bytes())?;
            writer.flush()?;
            style::sent(peer, refusal.as_bytes());
            return Err(io::Error::other(format!(
                "it sent a line longer than {max_line} bytes"
            )));
        }
        // (A line without its newline that is shorter than max_line is the
        // last piece before the client closed: it is answered as it is.)

        writer.write_all(PREFIX)?;
        writer.write_all(&line)?;
        // Flush every answer: the client waits for it before sending more.
        writer.flush()?;
        style::sent(peer, &[PREFIX, &line].concat());
    }
    // ANCHOR_END: lines
}
