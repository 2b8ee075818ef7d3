//! Lesson 02 — two ends talking: the server.
//!
//! The Python tutorial's two-ends chat on port 8000. The server accepts one
//! client, and then the two take turns: you type a line here, the client prints
//! it and types an answer, and so on, until either side types `quit` or closes.
//! Start this first, then `02_talk_client`.

use socket_lessons::{cli, console, ready, style};
use std::io::{self, ErrorKind, Read, Write};
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
    // One client only: this server calls accept() once, with no loop. The OS
    // still completes a second client's handshake and queues it; that one is
    // reset when we exit.
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
        // turn on a line of its own. write_all, not write: write may take
        // only part of the bytes, which a blocking socket on Linux does only
        // when a signal or a send timeout interrupts it; write_all loops.
        stream.write_all(format!("{line}\n").as_bytes())?;
        if line.trim() == "quit" {
            break;
        }

        // Their turn: wait for whatever they send.
        let count = match stream.read(&mut buffer) {
            Ok(count) => count,
            Err(error) if client_is_gone(&error) => 0,
            Err(error) => return Err(error),
        };
        // 0 bytes: the client's FIN has arrived. It sends nothing more.
        if count == 0 {
            style::notice(format!("{peer} closed the connection"));
            break;
        }
        // Escaped, as in every lesson: a peer's control bytes must not
        // drive our terminal, and the newline shows where a line ended.
        let chunk = &buffer[..count];
        style::reply(format!("{peer}: {}", style::shown(chunk)));
        if String::from_utf8_lossy(chunk).trim() == "quit" {
            break;
        }
    }
    // ANCHOR_END: turns
    style::event(format!("conversation with {peer} over"));
    // Returning drops the stream and the listener, which closes both.
    Ok(())
}

// ANCHOR: gone
/// The errors that mean the client has gone: the same news as a read of 0
/// bytes, when its OS answered with a reset (RST) and no FIN came first.
fn client_is_gone(error: &io::Error) -> bool {
    match error.kind() {
        // The client closed (or was killed) with our line still unread, so
        // its OS reset the connection. (Windows may say ConnectionAborted.)
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => true,
        _ => false,
    }
}
// ANCHOR_END: gone
