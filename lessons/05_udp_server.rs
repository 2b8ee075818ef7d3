//! Lesson 05 — the UDP ctime server.
//!
//! The ctime server of lesson 03, over UDP: no connection, no accept, one
//! socket for everyone. Each datagram that arrives is answered with the time
//! (as C's `ctime()` prints it) followed by the datagram's bytes, and the
//! answer goes back to whoever sent it. Run `05_udp_client` beside it, or
//! `nc -u 127.0.0.1 9999`.

use socket_lessons::{cli, ctime, explain, ready, style};
use std::io;
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
    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        // recv_from blocks until a datagram arrives, then returns exactly one
        // datagram (never two glued together, and never the rest of one left
        // for the next call) and the address it came from. The sender's IP
        // and port are all we need to answer, so we keep no list of clients.
        let (count, sender) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(error) => {
                // A fault belongs to one datagram, never to the server. On
                // Windows, for instance, recv_from fails with ConnectionReset
                // when an earlier reply could not be delivered (the client had
                // gone, and its OS answered "port unreachable"), and it fails
                // with WSAEMSGSIZE for a datagram too big for the buffer.
                // Neither says anything about the next datagram.
                style::notice(format!(
                    "recv_from failed, waiting for the next datagram: {}",
                    explain::os_error(&error)
                ));
                continue;
            }
        };
        let data = &buffer[..count];
        style::received(sender, data);
        if count == buffer.len() {
            // A datagram larger than the buffer does not wait for a second
            // read, as a TCP stream would: Linux and macOS fill the buffer
            // and silently throw the rest away. A full buffer is our only hint.
            style::notice(format!(
                "the datagram from {sender} filled all {BUFFER_SIZE} bytes \
                 of the buffer: it may have been longer, and the OS \
                 discarded the rest"
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
