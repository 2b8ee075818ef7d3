//! Lesson 05 — the UDP ctime client.
//!
//! Sends each line you type to the UDP ctime server as one datagram and prints
//! the reply: the server's time followed by your line. Datagrams can be lost,
//! so the client waits only so long (`--timeout`, 2 seconds by default) before
//! it says so and goes on to the next line. An empty line or the end of input
//! (Ctrl-D; Ctrl-Z then Enter on Windows) ends it. Start `05_udp_server`
//! first, or don't, and watch the timeout.

use socket_lessons::{cli, console, explain, style};
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

/// The most bytes of one reply the client keeps: the tutorial's `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// Seconds to wait for each reply before taking the datagram as lost:
    /// from 0.001 to 86400 (a day), fractions allowed.
    #[arg(long, value_name = "SECONDS", default_value = "2")]
    #[arg(value_parser = cli::seconds, allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: Args) -> io::Result<()> {
    // ANCHOR: bind
    // UDP has no handshake to show which of a host's addresses answers, so
    // we send to the first: the one the server binds when given that host.
    let server = args.endpoint.socket_addr()?;
    // A UDP client needs an address of its own too: it is the return address
    // on every datagram. Python's first sendto() binds one implicitly; here we
    // bind "any interface, any free port" ourselves, in the server's family
    // (an IPv4 socket cannot send to an IPv6 address). No connect: the socket
    // stays open to datagrams from anyone.
    let any = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(any)?;
    // UDP never resends and never reports a loss: without a timeout, a
    // receive would wait forever for a reply that was lost. This is Python's
    // settimeout: from now on a receive fails if nothing comes in time.
    socket.set_read_timeout(Some(args.timeout))?;
    style::event(format!("sending to {server} from {}", socket.local_addr()?));
    // ANCHOR_END: bind

    // ANCHOR: exchange
    while let Some(line) = console::read_line(">> ")? {
        if line.is_empty() {
            break; // the tutorial's client stops on an empty line too
        }
        match exchange(&socket, server, line.as_bytes()) {
            Ok(reply) => style::reply(String::from_utf8_lossy(&reply)),
            // Linux and macOS report the timeout as WouldBlock, Windows as
            // TimedOut: the same event under two names.
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut
                ) =>
            {
                style::notice(format!(
                    "no reply within {:?}: the datagram or its reply was \
                     lost, or no server is listening on {server}",
                    args.timeout
                ));
            }
            // News about this one datagram, not a reason to stop: a line too
            // long for a datagram, or (on Windows) the "port unreachable" an
            // earlier datagram got, reported as ConnectionReset.
            Err(error) => style::notice(format!(
                "no exchange with {server}: {}",
                explain::os_error(&error)
            )),
        }
    }
    // ANCHOR_END: exchange
    Ok(())
}

// ANCHOR: receive
/// Sends `line` as one datagram and returns the server's reply.
fn exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    line: &[u8],
) -> io::Result<Vec<u8>> {
    // One send_to is one datagram, and the server's one receive gets exactly
    // these bytes: UDP keeps the boundaries that TCP (lesson 03) does not.
    socket.send_to(line, server)?;
    let mut buffer = [0u8; BUFFER_SIZE];
    loop {
        let (count, sender) = socket.recv_from(&mut buffer)?;
        if sender == server {
            return Ok(buffer[..count].to_vec());
        }
        // Anyone may send to our port; only the server's datagram counts.
        // (Each receive waits the whole timeout again.)
        style::notice(format!(
            "ignored {} from {sender}: it is not the server",
            style::shown(&buffer[..count])
        ));
    }
}
// ANCHOR_END: receive
