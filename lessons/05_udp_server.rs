//! Lesson 05 — the UDP ctime server.
//!
//! The ctime server of lesson 03, over UDP: no connection, no accept, one
//! socket for everyone. Each datagram that arrives is answered with the time
//! (as C's `ctime()` prints it) followed by the datagram's bytes, and the
//! answer goes back to whoever sent it. Run `05_udp_client` beside it, or
//! `nc -u 127.0.0.1 9999`.

use socket_lessons::{cli, ctime, explain, ready, style};
use socket2::{MaybeUninitSlice, SockRef};
use std::io;
use std::mem::MaybeUninit;
use std::net::UdpSocket;
use std::process::ExitCode;

/// The most bytes of one datagram the server keeps: the tutorial's `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

fn serve(args: cli::Endpoint) -> io::Result<()> {
    // ANCHOR: bind
    // Python's socket(AF_INET, SOCK_DGRAM) and bind() in one call. Nothing
    // follows it: there is no listen(), because there are no connections to
    // queue, and no accept(), because there is no per-client socket to hand
    // out. Every datagram for this address lands on this one socket, and each
    // one carries its sender's address with it.
    let socket = UdpSocket::bind(args.socket_addr()?)?;
    ready::bound(socket.local_addr()?);
    // ANCHOR_END: bind

    // ANCHOR: serve
    // socket2 asks for MaybeUninit bytes: memory the OS only writes into, so
    // it need not be filled with zeros first.
    let mut buffer = [MaybeUninit::<u8>::uninit(); BUFFER_SIZE];
    loop {
        // One call returns exactly one datagram (never two glued together,
        // and never the rest of one left for the next call), who sent it, and
        // the flags the OS set on it. std's recv_from returns no flags, so
        // we call recvmsg() through socket2: its recv_from_vectored does.
        let received = SockRef::from(&socket)
            .recv_from_vectored(&mut [MaybeUninitSlice::new(&mut buffer)]);
        let (count, flags, sender) = match received {
            Ok(received) => received,
            Err(error) => {
                // A fault belongs to one datagram, never to the server. On
                // Windows, for instance, a receive fails with ConnectionReset
                // when an earlier reply could not be delivered (the client had
                // gone, and its OS answered "port unreachable"). It says
                // nothing about the next datagram.
                style::notice(format!(
                    "receive failed, waiting for the next datagram: {}",
                    explain::os_error(&error)
                ));
                continue;
            }
        };
        // On a UDP socket the sender is always an IP address and a port.
        let Some(sender) = sender.as_socket() else {
            continue;
        };
        // SAFETY: the OS wrote the first `count` bytes of the buffer (the
        // slice is bounds-checked first), so they hold plain bytes now.
        let data = unsafe { &*(&buffer[..count] as *const _ as *const [u8]) };
        style::received(sender, data);
        // A datagram larger than the buffer does not wait for a second read,
        // as a TCP stream would: the OS copies what fits, drops the rest, and
        // says so with MSG_TRUNC (on Windows, the error WSAEMSGSIZE, which
        // socket2 turns into this same flag).
        if flags.is_truncated() {
            style::notice(format!(
                "the datagram from {sender} was longer than the \
                 {BUFFER_SIZE}-byte buffer: the OS kept the first \
                 {BUFFER_SIZE} bytes and dropped the rest (MSG_TRUNC)"
            ));
        }

        let mut reply = ctime::now().into_bytes();
        reply.extend_from_slice(data);
        // send_to names the destination on every call, since the socket is
        // connected to no one. A datagram goes out whole or not at all, so
        // there is no partial send to loop over (no write_all); and success
        // only means it left this machine, not that it arrived.
        match socket.send_to(&reply, sender) {
            Ok(_) => style::sent(sender, &reply),
            Err(error) => style::notice(format!(
                "could not reply to {sender}: {}",
                explain::os_error(&error)
            )),
        }
    }
    // ANCHOR_END: serve
}
