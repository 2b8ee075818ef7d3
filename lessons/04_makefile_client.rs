//! Lesson 04 — the makefile client.
//!
//! Connects to the makefile server through buffered handles, as Python's
//! `makefile` does: it sends a record of exactly 10 bytes (`--record`), prints
//! the answer, then sends each line you type and prints the answer to it.
//! An empty line, the end of input (Ctrl-D; Ctrl-Z then Enter on Windows) or
//! the server closing ends the session. Start `04_makefile_server` first.

use socket_lessons::{cli, console, explain, style};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::TcpStream;
use std::process::ExitCode;

/// The size of the record the server reads first with `read_exact`.
const RECORD_SIZE: usize = 10;

#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// The fixed-size record sent before any line: exactly 10 bytes.
    #[arg(long, default_value = "0123456789")]
    record: String,
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
            io::ErrorKind::InvalidInput,
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
    // Try each of the host's addresses in turn, as in lesson 02.
    let addresses = args.endpoint.socket_addrs()?;
    let stream = TcpStream::connect(&addresses[..])?;
    style::event(format!(
        "connected to {} from {}",
        stream.peer_addr()?,
        stream.local_addr()?
    ));
    // Two handles to one connection, one per direction, as in the server.
    // A BufWriter and not a LineWriter: a LineWriter sends by itself at every
    // newline, but the record has no newline, so we would still need flush()
    // for it. One rule, "nothing leaves until flush()", is easier to see, and
    // it is what Python's f.flush() does too.
    let mut writer = BufWriter::new(stream.try_clone()?);
    let mut reader = BufReader::new(stream);
    // ANCHOR_END: connect

    // ANCHOR: record
    match ask(&mut writer, &mut reader, record)? {
        Some(answer) => style::reply(answer),
        None => return server_closed(),
    }
    // ANCHOR_END: record

    // ANCHOR: lines
    while let Some(line) = console::read_line(">> ")? {
        if line.is_empty() {
            break;
        }
        // The newline is the boundary the server looks for: TCP keeps none.
        match ask(&mut writer, &mut reader, format!("{line}\n").as_bytes())? {
            Some(answer) => style::reply(answer),
            None => return server_closed(),
        }
    }
    // ANCHOR_END: lines
    Ok(())
}

// ANCHOR: ask
/// Sends `message` and returns the server's one-line answer, or `None`
/// if the server has gone.
fn ask(
    writer: &mut BufWriter<TcpStream>,
    reader: &mut BufReader<TcpStream>,
    message: &[u8],
) -> io::Result<Option<String>> {
    let mut answer = Vec::new();
    // write_all() only fills the buffer; flush() is what hands the bytes to
    // the OS. Forget it and both sides wait: the server for our message, and
    // we for its answer.
    let outcome = writer
        .write_all(message)
        .and_then(|()| writer.flush())
        // One answer is one line, however many pieces TCP delivers it in.
        // Bytes, not a String: a server that sends invalid UTF-8 gets it shown,
        // not a failed read.
        .and_then(|()| reader.read_until(b'\n', &mut answer));
    match outcome {
        // Zero bytes: the server closed its side before answering.
        Ok(0) => Ok(None),
        Ok(_) => {
            let text = String::from_utf8_lossy(&answer);
            Ok(Some(text.trim_end_matches('\n').to_string()))
        }
        // A vanished server can also show up as a reset on the write or read.
        Err(error) if explain::is_disconnect(&error) => Ok(None),
        Err(error) => Err(error),
    }
}
// ANCHOR_END: ask

fn server_closed() -> io::Result<()> {
    style::notice("the server closed the connection");
    Ok(())
}
