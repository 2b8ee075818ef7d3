//! Lesson 02 — two ends talking: the server.
//!
//! The Python tutorial's two-ends chat on port 8000. The server accepts one
//! client, and then the two take turns: you type a line here, the client prints
//! it and types an answer, and so on, until either side types `quit` or closes.
//! Start this first, then `02_talk_client`.

use socket_lessons::{cli, console, explain, ready, style};
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::process::ExitCode;

/// The most bytes one `read` takes off the socket; the tutorial's `recv(1024)`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    // ANCHOR: accept
    let listener = TcpListener::bind(args.socket_addr()?)?;
    ready::listening(listener.local_addr()?);
    // One client only: this server calls accept() once, with no loop.
    let (mut stream, peer) = listener.accept()?;
    style::event(format!(
        "{peer} connected; you speak first (type quit to end)"
    ));
    // ANCHOR_END: accept

    // ANCHOR: turns
    let mut buffer = [0u8; BUFFER_SIZE];
    // Our turn. The end of our input ends the conversation as `quit` does.
    while let Some(line) = console::read_line(">> ")? {
        // The newline goes along, so that the other side (or nc) shows each
        // turn on a line of its own.
        stream.write_all(format!("{line}\n").as_bytes())?;
        if line.trim() == "quit" {
            break;
        }

        // Their turn: wait for whatever they send. A read of 0 bytes, or a
        // reset, means they closed the connection.
        let count = match stream.read(&mut buffer) {
            Err(error) if explain::is_disconnect(&error) => 0,
            result => result?,
        };
        if count == 0 {
            style::notice(format!("{peer} closed the connection"));
            break;
        }
        let text = String::from_utf8_lossy(&buffer[..count]);
        style::reply(format!("{peer}: {}", text.trim_end()));
        if text.trim() == "quit" {
            break;
        }
    }
    // ANCHOR_END: turns
    style::event(format!("conversation with {peer} over"));
    // Dropping the stream and the listener closes both sockets.
    Ok(())
}
