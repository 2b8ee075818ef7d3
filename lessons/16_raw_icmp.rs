//! Lesson 16 — raw sockets: an ICMP echo, as `ping` sends it.
//!
//! A raw socket (`SOCK_RAW`) skips TCP and UDP: the program writes the ICMP
//! message itself, checksum included, and reads whole IP packets back. The
//! experiment sends an echo request to 127.0.0.1 on a raw socket and reads
//! the reply, then tries the unprivileged way Linux offers (an ICMP datagram
//! socket), then asks for SOCK_RDM. A raw socket needs privilege: where the
//! OS refuses both ways, the lesson says exactly what is missing and exits 1.
//!
//! Run it with `cargo run --bin 16_raw_icmp` (as root, or after
//! `sudo setcap cap_net_raw+ep target/debug/16_raw_icmp`).

use socket_lessons::cli;
use socket_lessons::experiment::{self, answer, part, step};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

/// ICMP message types (RFC 792).
const ECHO_REPLY: u8 = 0;
const ECHO_REQUEST: u8 = 8;

/// Our request's identifier and sequence number: a reply carries them back,
/// which is how `ping` tells its replies from everyone else's.
const IDENTIFIER: u16 = 0x1516;
const SEQUENCE: u16 = 1;
const PAYLOAD: &[u8] = b"socket-lessons echo";

/// How long to wait for the reply.
const PATIENCE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(_: Experiment) -> io::Result<()> {
    part("1. A raw ICMP socket (SOCK_RAW)");
    let raw = echo_on_a_raw_socket();
    if let Err(missing) = &raw {
        answer("raw socket echo", missing);
    }

    part("2. An ICMP datagram socket (ping without privilege)");
    let datagram = echo_on_a_datagram_socket();
    if let Err(missing) = &datagram {
        answer("datagram socket echo", missing);
    }

    part("3. SOCK_RDM");
    ask_for_sock_rdm();

    match (raw, datagram) {
        (Ok(()), _) | (_, Ok(())) => Ok(()),
        (Err(raw), Err(datagram)) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("no echo reply by either socket: {raw}; {datagram}"),
        )),
    }
}

// ANCHOR: open
/// Opens a raw ICMP socket, sends an echo request and waits for its reply.
/// Fails with what is missing, in words.
fn echo_on_a_raw_socket() -> Result<(), String> {
    step("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)");
    let socket =
        match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)) {
            Ok(socket) => socket,
            Err(error) => {
                answer("raw socket", experiment::error(&error));
                // raw(7): "Only processes with an effective user ID of 0 or the
                // CAP_NET_RAW capability are allowed to open raw sockets."
                return Err(format!(
                    "a raw socket needs root or the CAP_NET_RAW capability \
                 (raw(7)), and socket() answered {}",
                    experiment::error(&error)
                ));
            }
        };
    answer("raw socket", "created");
    // IP_HDRINCL off: we write the ICMP message, the OS adds the IP header.
    // With it on, we would write the IP header too.
    answer(
        "IP_HDRINCL",
        experiment::value(&socket.header_included_v4()),
    );
    ping(&socket).map_err(|error| format!("the raw socket: {error}"))
}
// ANCHOR_END: open

// ANCHOR: ping
/// One echo request to 127.0.0.1 and its reply, read as whole IP packets.
fn ping(socket: &Socket) -> io::Result<()> {
    let request = echo_request(IDENTIFIER, SEQUENCE, PAYLOAD);
    answer("echo request", describe(&request));
    let loopback = SockAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
    let sent_at = Instant::now();
    let sent = socket.send_to(&request, &loopback);
    answer("datagram sent", experiment::value(&sent));

    let mut shown_our_request = false;
    loop {
        let packet = receive_before(socket, sent_at + PATIENCE)?;
        let Some((ip, icmp)) = split_ip_header(&packet) else {
            continue; // too short to be an IP packet carrying ICMP
        };
        // A raw socket sees every ICMP packet the host receives: keep ours.
        if !is_ours(icmp) {
            continue;
        }
        if icmp[0] == ECHO_REQUEST {
            // On loopback our own request arrives too, before the reply.
            if !shown_our_request {
                answer("first packet", "our own echo request (type 8)");
                shown_our_request = true;
            }
            continue;
        }
        answer("IP header length", ip.len());
        answer("TTL", ip[8]);
        answer("protocol", format!("{} (ICMP)", ip[9]));
        let source = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        answer("source", source);
        answer("echo reply", describe(icmp));
        answer("round trip", experiment::duration(sent_at.elapsed()));
        return Ok(());
    }
}
// ANCHOR_END: ping

// ANCHOR: request
/// An ICMP echo request (RFC 792): type 8, code 0, the checksum, the
/// identifier and sequence number, then any payload, which the reply
/// carries back unchanged.
fn echo_request(identifier: u16, sequence: u16, payload: &[u8]) -> Vec<u8> {
    let mut message = vec![ECHO_REQUEST, 0, 0, 0];
    message.extend_from_slice(&identifier.to_be_bytes());
    message.extend_from_slice(&sequence.to_be_bytes());
    message.extend_from_slice(payload);
    // The checksum is computed with its own field at zero, then put there.
    let checksum = internet_checksum(&message);
    message[2..4].copy_from_slice(&checksum.to_be_bytes());
    message
}

/// The Internet checksum (RFC 1071): the one's complement of the one's
/// complement sum of the message's 16-bit words. Over a message that holds
/// its right checksum, it comes out as 0: that is how a receiver checks it.
fn internet_checksum(message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for word in message.chunks(2) {
        // An odd last byte counts as a word with a zero after it.
        let low = word.get(1).copied().unwrap_or(0);
        sum += u32::from(u16::from_be_bytes([word[0], low]));
    }
    // One's complement addition: carries out of 16 bits come back in.
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
// ANCHOR_END: request

// ANCHOR: header
/// A raw IPv4 socket reads the IP header too. Its length is in the low four
/// bits of the first byte (IHL), in 32-bit words: 20 bytes without options.
/// Returns the header and the ICMP message after it.
fn split_ip_header(packet: &[u8]) -> Option<(&[u8], &[u8])> {
    let length = usize::from(packet.first()? & 0x0f) * 4;
    if length < 20 || packet.len() < length + 8 {
        return None;
    }
    Some(packet.split_at(length))
}
// ANCHOR_END: header

/// Whether an ICMP echo message carries our identifier, sequence number and
/// payload: other programs' pings reach a raw socket as well.
fn is_ours(icmp: &[u8]) -> bool {
    icmp[4..6] == IDENTIFIER.to_be_bytes()
        && icmp[6..8] == SEQUENCE.to_be_bytes()
        && &icmp[8..] == PAYLOAD
}

/// An echo message in words: type, code, checksum (and whether it holds),
/// identifier, sequence number, payload.
fn describe(icmp: &[u8]) -> String {
    let word = |at: usize| u16::from_be_bytes([icmp[at], icmp[at + 1]]);
    let kind = match icmp[0] {
        ECHO_REPLY => "echo reply",
        ECHO_REQUEST => "echo request",
        _ => "other",
    };
    let holds = if internet_checksum(icmp) == 0 {
        "valid"
    } else {
        "WRONG"
    };
    format!(
        "type {} ({kind}), code {}, checksum {:#06x} ({holds}), \
         identifier {:#06x}, sequence {}, payload {:?}",
        icmp[0],
        icmp[1],
        word(2),
        word(4),
        word(6),
        String::from_utf8_lossy(&icmp[8..])
    )
}

/// The next packet, or a timeout error once `deadline` has passed.
fn receive_before(socket: &Socket, deadline: Instant) -> io::Result<Vec<u8>> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no echo reply within 2 s (is net.ipv4.icmp_echo_ignore_all 1?)",
        ));
    }
    socket.set_read_timeout(Some(left))?;
    let mut packet = vec![0; 1500];
    // `Read` for a socket2 Socket is recv(): one whole packet per call.
    let count =
        (&*socket)
            .read(&mut packet)
            .map_err(|error| match error.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    io::Error::new(error.kind(), "no echo reply within 2 s")
                }
                _ => error,
            })?;
    packet.truncate(count);
    Ok(packet)
}

// ANCHOR: datagram
/// Linux's unprivileged ping: an ICMP socket of type SOCK_DGRAM. The kernel
/// puts its own identifier in the request (the socket's "port"), computes
/// the checksum, and hands back the reply's ICMP message without the IP
/// header. icmp(7): it is allowed when one of the process's groups is in
/// the range `net.ipv4.ping_group_range`.
#[cfg(target_os = "linux")]
fn echo_on_a_datagram_socket() -> Result<(), String> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|error| experiment::error(&error));
    answer("net.ipv4.ping_group_range", &range);
    answer("our effective group", effective_group());
    step("socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)");
    let socket =
        match Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)) {
            Ok(socket) => socket,
            Err(error) => {
                answer("datagram socket", experiment::error(&error));
                return Err(format!(
                    "an ICMP datagram socket needs one of the process's \
                     groups inside net.ipv4.ping_group_range (icmp(7)); here \
                     it is `{range}`{}, and socket() answered {}",
                    admitted(&range),
                    experiment::error(&error)
                ));
            }
        };
    answer("datagram socket", "created");
    ping_without_privilege(&socket)
        .map_err(|error| format!("the datagram socket: {error}"))
}

/// The echo over an ICMP datagram socket: the reply comes without an IP
/// header, with the identifier the kernel chose.
#[cfg(target_os = "linux")]
fn ping_without_privilege(socket: &Socket) -> io::Result<()> {
    let request = echo_request(0, SEQUENCE, PAYLOAD);
    let loopback = SockAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
    let sent_at = Instant::now();
    let sent = socket.send_to(&request, &loopback);
    answer("datagram sent", experiment::value(&sent));
    // The identifier the kernel put in: the socket's local "port".
    let identifier = socket
        .local_addr()?
        .as_socket_ipv4()
        .map(|address| address.port())
        .unwrap_or(0);
    loop {
        let reply = receive_before(socket, sent_at + PATIENCE)?;
        let ours = reply.len() >= 8
            && reply[0] == ECHO_REPLY
            && reply[6..8] == SEQUENCE.to_be_bytes()
            && &reply[8..] == PAYLOAD;
        if !ours {
            continue;
        }
        answer("datagram reply type", format!("{} (echo reply)", reply[0]));
        let chosen = reply[4..6] == identifier.to_be_bytes();
        answer("identifier is the socket's port", chosen);
        answer("datagram payload", String::from_utf8_lossy(&reply[8..]));
        answer(
            "datagram round trip",
            experiment::duration(sent_at.elapsed()),
        );
        return Ok(());
    }
}
// ANCHOR_END: datagram

#[cfg(not(target_os = "linux"))]
fn echo_on_a_datagram_socket() -> Result<(), String> {
    Err(
        "the ICMP datagram socket of this lesson is Linux's (icmp(7)); \
         macOS has one too, by its documentation, not shown here"
            .to_string(),
    )
}

/// What a `ping_group_range` admits, in words: `1 0`, the default, is an
/// empty range (the first group is above the last).
#[cfg(target_os = "linux")]
fn admitted(range: &str) -> &'static str {
    let bounds: Vec<u64> = range
        .split(' ')
        .filter_map(|bound| bound.parse().ok())
        .collect();
    match bounds[..] {
        [first, last] if first > last => ", which admits no group",
        _ => "",
    }
}

/// The process's effective group id, from `/proc/self/status` (its `Gid:`
/// line lists the real, effective, saved and filesystem ids).
#[cfg(target_os = "linux")]
fn effective_group() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("Gid:"))?;
            Some(line.split_whitespace().nth(2)?.to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

// ANCHOR: rdm
/// SOCK_RDM, "reliable datagrams", is in Python's list of socket types, but
/// Linux implements it for no address family the lessons use.
fn ask_for_sock_rdm() {
    step("socket(AF_INET, SOCK_RDM, 0)");
    #[cfg(unix)]
    {
        let rdm = Socket::new(Domain::IPV4, Type::from(libc::SOCK_RDM), None);
        let answered = rdm.map(|_| "created");
        answer("SOCK_RDM socket", experiment::value(&answered));
    }
    #[cfg(not(unix))]
    answer(
        "SOCK_RDM socket",
        "not tried: socket2 names it on Unix only",
    );
}
// ANCHOR_END: rdm
