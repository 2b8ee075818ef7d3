//! Exercise 05 — the UDP ctime server: one datagram in, one datagram out.
//!
//! This is lesson 05's server, written the way lesson 04 writes its answers:
//! a piece at a time. Over TCP that is fine, because a stream keeps no
//! boundaries. Over UDP each send_to() is a datagram of its own, so this
//! server answers every datagram with two: the time, then the data. Do the
//! TODO below; chapter 05 of the book explains it.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex05_udp_server
//! cargo run -- check 05_udp_server --exercise ex05_udp_server
//! ```
//!
//! It is done when all four checks pass. Each failed check says what it
//! expected, what came instead, and which section of the chapter to read.
//! Then try it by hand: `cargo run --bin ex05_udp_server` in one terminal and
//! `cargo run --bin 05_udp_client` in another.

use socket_lessons::{cli, ctime, explain, ready, style};
use socket2::{MaybeUninitSlice, SockRef};
use std::io;
use std::mem::MaybeUninit;
use std::net::UdpSocket;
use std::process::ExitCode;

/// The most bytes of one datagram the server keeps; the Python tutorial's
/// `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("05_udp_server", serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    // socket(AF_INET, SOCK_DGRAM) and bind(): no listen(), no accept().
    let socket = UdpSocket::bind(args.socket_addr()?)?;
    ready::bound(socket.local_addr()?);

    let mut buffer = [MaybeUninit::<u8>::uninit(); BUFFER_SIZE];
    loop {
        // One datagram, who sent it (all we need to answer), and its flags.
        let received = SockRef::from(&socket)
            .recv_from_vectored(&mut [MaybeUninitSlice::new(&mut buffer)]);
        let (count, flags, sender) = match received {
            Ok(received) => received,
            Err(error) => {
                style::notice(format!(
                    "receive failed, waiting for the next datagram: {}",
                    explain::os_error(&error)
                ));
                continue;
            }
        };
        let Some(sender) = sender.as_socket() else {
            continue;
        };
        // SAFETY: the OS wrote the first `count` bytes of the buffer.
        let data = unsafe { &*(&buffer[..count] as *const _ as *const [u8]) };
        style::received(sender, data);
        if flags.is_truncated() {
            style::notice(format!(
                "the datagram from {sender} was longer than the \
                 {BUFFER_SIZE}-byte buffer: the OS kept the first \
                 {BUFFER_SIZE} bytes and dropped the rest (MSG_TRUNC)"
            ));
        }

        // TODO (the chapter's section "Answer every datagram, whoever sent
        // it"): these are two send_to() calls, so the client gets two
        // datagrams, and its one recv_from() returns only the first: the time,
        // without its data. Build the whole reply first (the time, then the
        // data, in one Vec<u8>), and send it with a single send_to().
        for piece in [ctime::now().as_bytes(), data] {
            match socket.send_to(piece, sender) {
                Ok(_) => style::sent(sender, piece),
                Err(error) => style::notice(format!(
                    "could not reply to {sender}: {}",
                    explain::os_error(&error)
                )),
            }
        }
    }
}
