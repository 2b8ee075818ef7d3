//! Lesson 03 — the ctime client.
//!
//! Connects to the ctime server, sends each line you type, and prints the
//! reply: the server's time followed by your line. An empty line, the end
//! of input (Ctrl-D; Ctrl-Z then Enter on Windows) or the server closing
//! ends the session. Start `03_ctime_server` first.

use socket_lessons::{cli, console, explain, style};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

/// The most bytes one `read` takes off the socket: the tutorial's `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: cli::Endpoint) -> io::Result<()> {
    // ANCHOR: connect
    // socket() and connect() in one call: it returns once the TCP handshake is
    // done, or with the OS's error (connection refused, say) as an Err value.
    // It tries each of the host's addresses in turn, as in lesson 02.
    let addresses = args.socket_addrs()?;
    let mut stream = TcpStream::connect(&addresses[..])?;
    style::event(format!(
        "connected to {} from {}",
        stream.peer_addr()?,
        stream.local_addr()?
    ));
    // ANCHOR_END: connect

    // ANCHOR: converse
    let mut buffer = [0u8; BUFFER_SIZE];
    while let Some(line) = console::read_line(">> ")? {
        if line.is_empty() {
            break; // the tutorial's client stops on an empty line too
        }

        // write_all, not write: write may send only part of the bytes and say
        // so in its count. Then one read, as in the tutorial: it returns what
        // has arrived so far. A short reply comes whole; a longer one may need
        // more reads, and the client cannot tell when it has all of it,
        // because the protocol marks no ends. (Lesson 04 ends every message
        // with a newline.)
        let answer = stream
            .write_all(line.as_bytes())
            .and_then(|()| stream.read(&mut buffer));
        match answer {
            Ok(count) if count > 0 => {
                style::reply(String::from_utf8_lossy(&buffer[..count]))
            }
            // A server that has gone shows up in one of two ways: the read
            // returns 0 (its FIN has arrived), or the write or the read fails
            // because its OS answered us with a reset.
            Ok(_) => return server_closed(),
            Err(error) if explain::is_disconnect(&error) => {
                return server_closed();
            }
            Err(error) => return Err(error),
        }
    }
    // ANCHOR_END: converse
    Ok(())
}

fn server_closed() -> io::Result<()> {
    style::notice("the server closed the connection");
    Ok(())
}
