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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The most bytes of one reply the client keeps: the tutorial's `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

/// The server's address, and how patient to be with it.
#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// Seconds to wait for each reply before taking the datagram as lost
    /// (0.5 is fine too).
    #[arg(long, value_name = "SECONDS", default_value = "2")]
    #[arg(value_parser = seconds)]
    timeout: Duration,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: Args) -> io::Result<()> {
    // UDP has no handshake to show which of a host's addresses answers, so
    // we send to the first: the one the server binds when given that host.
    let server = args.endpoint.socket_addr()?;

    // ANCHOR: bind
    // A UDP client needs an address of its own too: it is the return address
    // on every datagram, where the reply will be sent. In Python the OS binds
    // one implicitly on the first sendto(); here we bind it ourselves, to
    // "any interface, any free port" (port 0), in the family of the server's
    // address, since an IPv4 socket cannot send to an IPv6 address. There is
    // no connect: the socket stays open to datagrams from anyone.
    let any_interface = match server {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind((any_interface, 0))?;
    style::event(format!("sending to {server} from {}", socket.local_addr()?));
    // ANCHOR_END: bind

    // ANCHOR: exchange
    let mut buffer = [0u8; BUFFER_SIZE];
    while let Some(line) = console::read_line(">> ")? {
        if line.is_empty() {
            break; // the tutorial's client stops on an empty line too
        }

        // One send_to is one datagram, and the server's one recv_from gets
        // exactly these bytes: UDP keeps the message boundaries that TCP
        // (lesson 03) does not.
        if let Err(error) = socket.send_to(line.as_bytes(), server) {
            style::notice(format!(
                "could not send: {}",
                explain::os_error(&error)
            ));
            continue;
        }
        match wait_for_reply(&socket, server, &mut buffer, args.timeout) {
            Ok(count) => {
                style::reply(String::from_utf8_lossy(&buffer[..count]))
            }
            // The OS reports "no datagram in time" as WouldBlock on Unix and as
            // TimedOut on Windows: the same event under two names.
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
            // Some systems (Windows; Linux for a connected socket) turn the
            // ICMP "port unreachable" that a host with no server sends back
            // into an error on the next receive. It is news about that one
            // datagram, not a reason to stop.
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                ) =>
            {
                style::notice(format!(
                    "no server is listening on {server}: {}",
                    explain::os_error(&error)
                ));
            }
            Err(error) => return Err(error),
        }
    }
    // ANCHOR_END: exchange
    Ok(())
}

// ANCHOR: timeout
/// Waits at most `timeout` for the server's reply, which it puts in `buffer`,
/// and returns its length.
fn wait_for_reply(
    socket: &UdpSocket,
    server: SocketAddr,
    buffer: &mut [u8],
    timeout: Duration,
) -> io::Result<usize> {
    // Without a timeout, recv_from would wait forever for a reply that was
    // lost on the way: UDP never resends and never tells. The deadline is for
    // the whole wait, so datagrams from anyone else cannot stretch it.
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        // Python's settimeout: recv_from fails if nothing comes within `left`.
        socket.set_read_timeout(Some(left))?;
        let (count, sender) = socket.recv_from(buffer)?;
        if sender == server {
            return Ok(count);
        }
        // Anyone may send to our port; only the server's datagram is the reply.
        style::notice(format!(
            "ignored {} from {sender}: it is not the server",
            style::shown(&buffer[..count])
        ));
    }
}
// ANCHOR_END: timeout

/// Reads `--timeout`: a positive number of seconds, fractions allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    let invalid =
        || "expected a number of seconds above 0, such as 2 or 0.5".to_string();
    let seconds: f64 = text.trim().parse().map_err(|_| invalid())?;
    // set_read_timeout rejects zero, and a 0-second wait sees no reply.
    if seconds <= 0.0 {
        return Err(invalid());
    }
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(invalid)
}
