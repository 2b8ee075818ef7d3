//! Lesson 02 — two ends talking: the client.
//!
//! Connects to `02_talk_server` and takes turns with it: print the server's
//! line, type an answer, until either side types `quit` or closes. When nothing
//! listens at the address, it shows what Python's `connect_ex` would return:
//! the OS error number, with its name.

use socket_lessons::{cli, console, explain, style};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

/// The most bytes one `read` takes off the socket; the tutorial's `recv(1024)`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: cli::Endpoint) -> io::Result<()> {
    // ANCHOR: connect
    // A host name may stand for several addresses (`localhost` is often ::1
    // and 127.0.0.1): connect is handed them all and tries each in turn, as
    // Python's create_connection does.
    let addresses = args.socket_addrs()?;
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
    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        // Their turn: the server speaks first.
        let count = match stream.read(&mut buffer) {
            Err(error) if explain::is_disconnect(&error) => 0,
            result => result?,
        };
        if count == 0 {
            style::notice("the server closed the connection");
            break;
        }
        let text = String::from_utf8_lossy(&buffer[..count]);
        style::reply(format!("{server}: {}", text.trim_end()));
        if text.trim() == "quit" {
            break;
        }

        // Our turn.
        let Some(line) = console::read_line(">> ")? else {
            break;
        };
        stream.write_all(format!("{line}\n").as_bytes())?;
        if line.trim() == "quit" {
            break;
        }
    }
    // ANCHOR_END: turns
    Ok(())
}
