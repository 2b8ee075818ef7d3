//! Lesson 13 — names, IPv6, and one socket for both families.
//!
//! An experiment in three parts, all on this machine's loopback: what the
//! resolver (`getaddrinfo`) turns a few names into, an IPv6 server on `[::1]`
//! with a client, and a listener on `[::]` that accepts IPv4 clients too
//! (`IPV6_V6ONLY` off, where they show up as `::ffff:127.0.0.1`) or refuses
//! them (on). Run it with `cargo run --bin 13_names_ipv6`; it needs no
//! network. `--lookup NAME` looks up more names, which may ask DNS: try
//! `--lookup no-such-host.invalid`. Where IPv6 is turned off, it says so
//! after the first part and exits non-zero.

use socket_lessons::cli;
use socket_lessons::experiment::{answer, duration, error, part, step, value};
use socket2::{Domain, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream,
    ToSocketAddrs,
};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Options of the experiment; with none, it runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {
    /// Also look up NAME (may be given more than once). A name that is not
    /// in /etc/hosts is a question to DNS, whose answer depends on the
    /// network, so the run with no options asks none.
    #[arg(long = "lookup", value_name = "NAME")]
    lookups: Vec<String>,
}

/// The port the Python tutorial's programs use, for the names we look up.
const SEED_PORT: u16 = 9999;

/// How long any lookup, connect or read may take before we give up on it.
const PATIENCE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(args: Experiment) -> io::Result<()> {
    names(args.lookups);
    ipv6_server()?;
    dual_stack()?;
    ipv6_only()?;
    mapped_addresses();
    Ok(())
}

/// Part 1: names become addresses.
fn names(lookups: Vec<String>) {
    part("getaddrinfo: a name becomes a list of addresses");
    step(
        "these three need no DNS; to look up a name that does, add \
         --lookup NAME (try --lookup no-such-host.invalid)",
    );
    // ANCHOR: resolve
    // A host name is not an address: the resolver turns it into a list of
    // them, from /etc/hosts or DNS (C's and Python's getaddrinfo). std asks
    // it through ToSocketAddrs, for stream sockets, and every address may
    // be of either family. An IP address "resolves" to itself, with no
    // lookup at all.
    let local = ["localhost", "127.0.0.1", "::1"].map(String::from);
    for host in local.into_iter().chain(lookups) {
        step(format!("look up ({host:?}, {SEED_PORT})"));
        let started = Instant::now();
        match resolve(&host, SEED_PORT) {
            Ok(addresses) => {
                let list: Vec<String> =
                    addresses.iter().map(SocketAddr::to_string).collect();
                answer(&format!("{host} resolves to"), list.join(", "));
            }
            Err(failure) => {
                answer(&format!("{host} resolves to"), error(&failure));
                answer("the failure took", duration(started.elapsed()));
            }
        }
    }
    // ANCHOR_END: resolve
}

// ANCHOR: patience
/// Every address `host` resolves to, or an error. A lookup asks whatever
/// the machine is configured to ask, and a DNS server that never answers
/// would block `to_socket_addrs` for as long as the resolver retries
/// (std has no timeout for it), so the lookup runs on a thread of its own
/// and we wait only `PATIENCE` for its answer.
fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let (answer, lookup) = mpsc::channel();
    let host = host.to_string(); // the thread may outlive this call
    thread::spawn(move || {
        let addresses = (host.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect);
        let _ = answer.send(addresses); // nobody listens after PATIENCE
    });
    lookup.recv_timeout(PATIENCE).unwrap_or_else(|_| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the resolver gave no answer within 2 s",
        ))
    })
}
// ANCHOR_END: patience

/// Part 2: a TCP server and client over IPv6 loopback.
fn ipv6_server() -> io::Result<()> {
    part("An IPv6 server on [::1]");
    // ANCHOR: ipv6_server
    // The family comes from the address: an IPv6 address makes an AF_INET6
    // socket. `::1` is IPv6's loopback, what 127.0.0.1 is to IPv4.
    step("bind a TCP listener to [::1]:0");
    let loopback = SocketAddr::from((Ipv6Addr::LOCALHOST, 0));
    let listener = TcpListener::bind(loopback).map_err(ipv6_unavailable)?;
    let address = listener.local_addr()?;
    answer("the IPv6 listener is on", address);
    step("connect a client to it, and accept");
    let mut client = TcpStream::connect_timeout(&address, PATIENCE)?;
    let (mut served, peer) = listener.accept()?;
    answer("the client's own address", client.local_addr()?);
    answer("the client's peer", client.peer_addr()?);
    answer("the server sees the client as", peer);
    // An IPv6 socket address has two more fields than an IPv4 one: the
    // flow label and the scope id (which link a link-local address like
    // fe80::1 is on). Python's getpeername() returns them as a 4-tuple.
    if let SocketAddr::V6(peer) = peer {
        answer("flowinfo", peer.flowinfo());
        answer("scope_id", peer.scope_id());
    }
    // ANCHOR_END: ipv6_server
    step("the client sends \"hello over IPv6\"; the server reads it");
    served.set_read_timeout(Some(PATIENCE))?;
    client.write_all(b"hello over IPv6")?;
    let mut buffer = [0u8; 64];
    let count = served.read(&mut buffer)?;
    answer(
        "the server received",
        format!("{:?}", String::from_utf8_lossy(&buffer[..count])),
    );
    Ok(())
}

// ANCHOR: unavailable
/// What to say when there is no IPv6 loopback: the kernel was started
/// without IPv6, or it is turned off (EAFNOSUPPORT), or `lo` has no `::1`
/// (EADDRNOTAVAIL). Parts 2 and 3 cannot run then, and the experiment ends.
fn ipv6_unavailable(failure: io::Error) -> io::Error {
    io::Error::new(
        failure.kind(),
        format!(
            "IPv6 is not available on this machine: binding [::1] failed \
             with {}. `ip -6 addr show lo` should list ::1; parts 2 and 3 \
             of this lesson need it",
            error(&failure)
        ),
    )
}
// ANCHOR_END: unavailable

/// Part 3: one listener on `[::]` for both families.
fn dual_stack() -> io::Result<()> {
    part("Dual stack: [::] with IPV6_V6ONLY off takes IPv4 clients too");
    // ANCHOR: dual_stack
    // std's TcpListener cannot set IPV6_V6ONLY: it must be set between
    // socket() and bind(), and std does both in one call. socket2 splits
    // them, as C and Python do.
    step("a new AF_INET6 stream socket: what is IPV6_V6ONLY by default?");
    let socket = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    answer("only_v6 of a new IPv6 socket", socket.only_v6()?);
    // Linux takes the default from this setting (0: off). Windows starts
    // with the option on, by its documentation.
    #[cfg(target_os = "linux")]
    match std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only") {
        Ok(setting) => answer("/proc/sys/net/ipv6/bindv6only", setting.trim()),
        Err(failure) => {
            answer("/proc/sys/net/ipv6/bindv6only", error(&failure))
        }
    }
    step("set_only_v6(false), bind [::]:0 (every address), listen");
    socket.set_only_v6(false)?;
    let any = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
    socket.bind(&any.into())?;
    socket.listen(16)?;
    let listener: TcpListener = socket.into();
    let port = listener.local_addr()?.port();
    answer("the dual-stack listener is on", listener.local_addr()?);
    // ANCHOR_END: dual_stack

    // ANCHOR: mapped
    step("an IPv4 client connects to 127.0.0.1 on that port");
    let ipv4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let client = TcpStream::connect_timeout(&ipv4, PATIENCE)?;
    answer("the IPv4 client's own address", client.local_addr()?);
    let (served, peer) = listener.accept()?;
    // The IPv6 socket has no IPv4 addresses to give: the kernel writes the
    // IPv4 client's address into the IPv6 form ::ffff:a.b.c.d.
    answer("the dual-stack server sees the IPv4 client as", peer);
    answer("the accepted socket's own address", served.local_addr()?);
    // ANCHOR_END: mapped

    // ANCHOR: port_taken
    // The listener holds the port for IPv4 as well: an IPv4 socket cannot
    // have it (a plain socket2 socket, without SO_REUSEADDR).
    step("bind an IPv4 socket to 127.0.0.1 on the same port");
    let ipv4_socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    answer(
        "IPv4 bind to the dual-stack port",
        value(&ipv4_socket.bind(&ipv4.into())),
    );
    // ANCHOR_END: port_taken
    Ok(())
}

/// Part 4: the same listener with `IPV6_V6ONLY` on.
fn ipv6_only() -> io::Result<()> {
    part("[::] with IPV6_V6ONLY on takes IPv6 clients only");
    // ANCHOR: v6_only
    step(
        "set_only_v6(true), bind [::]:0, listen; then bind an IPv4 socket \
         to 127.0.0.1 on the same port, and never listen on it",
    );
    let (listener, holder) = v6_only_listener_and_ipv4_holder()?;
    let port = listener.local_addr()?.port();
    step("an IPv4 client connects to 127.0.0.1 on that port");
    let ipv4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    answer(
        "IPv4 connect to the IPv6-only port",
        value(&TcpStream::connect_timeout(&ipv4, PATIENCE).map(|_| ())),
    );
    step("an IPv6 client connects to [::1] on that port");
    let ipv6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let client = TcpStream::connect_timeout(&ipv6, PATIENCE)?;
    answer("IPv6 connect to the IPv6-only port", client.peer_addr()?);
    // ANCHOR_END: v6_only

    // ANCHOR: too_late
    step("set_only_v6(false) on a socket that is already bound");
    let bound = Socket::from(listener);
    answer("set_only_v6 after bind", value(&bound.set_only_v6(false)));
    // ANCHOR_END: too_late
    drop(holder);
    Ok(())
}

// ANCHOR: holder
/// A listener on `[::]` with `IPV6_V6ONLY` on, and an IPv4 socket bound to
/// 127.0.0.1 on the same port that never listens. With the option on, the
/// IPv4 side of the port is free: any program could take it and accept the
/// connect we expect to be refused. Holding it ourselves makes the refusal
/// ours (a connect to a socket that does not listen is refused). In the
/// rare case another program had that IPv4 port already, the bind fails
/// and we try another port.
fn v6_only_listener_and_ipv4_holder() -> io::Result<(TcpListener, Socket)> {
    let mut attempts = 1;
    loop {
        let socket = Socket::new(Domain::IPV6, Type::STREAM, None)?;
        socket.set_only_v6(true)?;
        let any = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
        socket.bind(&any.into())?;
        socket.listen(16)?;
        let listener: TcpListener = socket.into();
        let port = listener.local_addr()?.port();
        let holder = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        let ipv4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let bound = holder.bind(&ipv4.into());
        if bound.is_ok() || attempts == 5 {
            answer("the IPv6-only listener is on", listener.local_addr()?);
            answer("IPv4 bind to the IPv6-only port", value(&bound));
            bound?;
            return Ok((listener, holder));
        }
        attempts += 1;
    }
}
// ANCHOR_END: holder

/// Part 5: reading mapped addresses in Rust.
fn mapped_addresses() {
    part("Mapped addresses in Rust");
    // ANCHOR: to_ipv4
    // A dual-stack server that logs, compares or filters client addresses
    // should turn mapped ones back into IPv4 first. to_ipv4_mapped() reads
    // only ::ffff:a.b.c.d; to_ipv4() also reads the old "compatible" form
    // ::a.b.c.d, so it turns ::1 into 0.0.0.1, which is not what you want.
    let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
    answer("127.0.0.1 as a mapped IPv6 address", mapped);
    answer(
        "its to_ipv4_mapped()",
        format!("{:?}", mapped.to_ipv4_mapped()),
    );
    let canonical = IpAddr::V6(mapped).to_canonical();
    answer("its IpAddr::to_canonical()", canonical);
    let loopback = Ipv6Addr::LOCALHOST;
    answer(
        "::1 to_ipv4_mapped()",
        format!("{:?}", loopback.to_ipv4_mapped()),
    );
    answer("::1 to_ipv4()", format!("{:?}", loopback.to_ipv4()));
    // ANCHOR_END: to_ipv4
}
