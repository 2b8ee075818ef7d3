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

use socket_lessons::{cli, explain, style};
use std::io::{self, Read};
use std::net::TcpStream;
use std::process::ExitCode;

/// The most bytes one `read` takes off the socket; the tutorial's `recv(1024)`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("02_talk_client", talk)
}

fn talk(args: cli::Endpoint) -> io::Result<()> {
    // connect(): an Err here (nothing listens, say) goes up to main, which
    // prints the address and the OS error number, as connect_ex would return.
    let mut stream = TcpStream::connect(args.socket_addr()?)?;
    let server = stream.peer_addr()?;
    style::event(format!("connected to {server}; the server speaks first"));

    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        // Their turn: the server speaks first. A read of 0 bytes, or a reset,
        // means the server closed the connection.
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
