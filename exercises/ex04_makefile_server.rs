//! Exercise 04 — the makefile server: read a record, then lines.
//!
//! This is lesson 04's server with plain `read()` calls where the lesson reads
//! exactly 10 bytes, and then one line at a time. It builds and runs, and it
//! answers whatever has arrived, which is right only when each message comes
//! alone and whole. TCP promises no such thing. Do the two TODOs in `converse`
//! below; chapter 04 of the book explains them.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex04_makefile_server
//! cargo run -- check 04_makefile_server --exercise ex04_makefile_server
//! ```
//!
//! It is done when all five checks pass. Each failed check says what it
//! expected, what came instead, and which section of the chapter to read.
//! Then try it by hand: `cargo run --bin ex04_makefile_server` in one terminal
//! and `cargo run --bin 04_makefile_client` in another.

use socket_lessons::{cli, ready, style};
use std::io::{self, BufReader, BufWriter, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

/// The size of the record a client sends first; the Python tutorial's
/// `f.read(10)`.
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
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("04_makefile_server", serve)
}

fn serve(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.endpoint.socket_addr()?)?;
    ready::listening(listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept()?;
        style::event(format!("connected: {peer}"));
        match converse(stream, peer, args.max_line) {
            Ok(()) => style::event(format!("closed: {peer}")),
            Err(error) if error.kind() == ErrorKind::UnexpectedEof => {
                style::notice(format!(
                    "lost {peer}: it closed before sending \
                     a whole {RECORD_SIZE}-byte record"
                ));
            }
            Err(error) => style::notice(format!("lost {peer}: {error}")),
        }
    }
}

fn converse(
    stream: TcpStream,
    peer: SocketAddr,
    max_line: u64,
) -> io::Result<()> {
    // Two handles to the same connection, each with its own buffer: what the
    // reader has taken off the socket stays in the reader.
    let mut writer = BufWriter::new(stream.try_clone()?);
    let mut reader = BufReader::new(stream);

    // TODO 1 (the chapter's section "Reading a fixed-size record"): read()
    // returns whatever has arrived, up to 10 bytes here: maybe all 10, maybe
    // 3. Make this read wait until all RECORD_SIZE bytes are there. (A client
    // that closes before the 10th byte is then an error, and that is right.)
    let mut record = [0u8; RECORD_SIZE];
    let count = reader.read(&mut record)?;
    let record = &record[..count];
    style::received(peer, record);

    // Nothing leaves until flush(): the three writes go out as one answer.
    writer.write_all(PREFIX)?;
    writer.write_all(record)?;
    writer.write_all(b"\n")?;
    writer.flush()?;
    style::sent(peer, &[PREFIX, record, b"\n"].concat());

    // TODO 2 (the chapter's section "Reading lines"): a read() here may
    // return half a line, or three lines at once, and each is answered as if
    // it were one line. Read one whole line at a time instead, up to and
    // including its "\n", however many pieces it came in. BufRead has the
    // method for that (add `BufRead` to the `use std::io` line). Use bytes,
    // not a String: the protocol returns any line byte for byte, even one that
    // is not valid UTF-8. Bound it with take(max_line), and answer a longer
    // line with an error, as the lesson does (the section "A line may never
    // end"): the chunks below are bounded by their buffer, a line is not.
    let _ = max_line;
    let mut chunk = [0u8; 1024];
    loop {
        // Zero bytes means the client has closed its side.
        let count = reader.read(&mut chunk)?;
        if count == 0 {
            return Ok(());
        }
        let line = &chunk[..count];
        style::received(peer, line);

        writer.write_all(PREFIX)?;
        writer.write_all(line)?;
        // The client waits for this answer before it sends its next line.
        writer.flush()?;
        style::sent(peer, &[PREFIX, line].concat());
    }
}
