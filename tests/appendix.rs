//! The appendix "Python to Rust, call by call" (book/src/appendix_python_to_rust.md), held to
//! its two promises: a row for every name the seed tutorials list, and every sentence it says
//! about what the OS does shown here by a test named after the claim (the appendix names it).
//! Real loopback sockets, port 0, a deadline on every wait; only Linux is tested, so the
//! claims about Linux are gated on it and the appendix hedges the other systems.

use socket2::{Domain, MaybeUninitSlice, SockRef, Socket, Type};
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::mem::MaybeUninit;
use std::net::{
    Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket,
};
use std::path::Path;
use std::time::Duration;

/// How long any single wait may take before the test fails.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Every name the seed tutorials list or call, spelled as the appendix's first column spells
/// it, with the seeds it comes from. The seeds are the Python tutorials the lessons follow
/// (`../shared/seeds/`, numbered 000 to 004); this list was made by going through each one's
/// API lists and programs name by name: the socket methods and module functions, the
/// constants (families, types, flags, options), socketserver's classes and the methods its
/// source walk-through names, threading, the HMAC helpers, the file that `makefile` returns,
/// and the text and time helpers the programs call on what they send and receive.
const SEED_NAMES: &[(&str, &str)] = &[
    // Creating, binding, connecting
    ("socket()", "000 001 002 003 004"),
    ("proto", "001 (protocol=0), 003 (proto=0)"),
    ("socket(fileno=…)", "003"),
    ("from socket import *", "001"),
    ("socket.error", "002"),
    ("bind", "001 002 003 004"),
    ("listen", "000 001 002 003 004"),
    ("accept", "000 001 002 003 004"),
    ("connect", "000 001 002 003 004"),
    ("connect_ex", "002 004"),
    // Receiving
    ("recv", "000 001 002 003 004"),
    ("recvfrom", "002 003 004"),
    ("recv_into", "003"),
    ("recvfrom_into", "003"),
    // Sending
    ("send", "000 001 002 003 004"),
    ("sendall", "002 003 004"),
    ("sendto", "000 002 003 004"),
    ("sendfile", "003"),
    // Addresses, options and modes
    ("getpeername", "002 003 004"),
    ("getsockname", "002 003 004"),
    ("getsockopt", "004"),
    ("setsockopt", "003 004"),
    ("setblocking", "002 003 004"),
    ("settimeout", "002 003 004"),
    ("gettimeout", "004"),
    ("fileno", "002 004"),
    ("close", "000 001 002 003 004"),
    // makefile and the file it returns
    ("makefile", "003 004"),
    ("file.read", "003 §4.2"),
    ("file.readline", "003 §4.3"),
    ("file.write", "003 §4.2"),
    ("file.flush", "003 §4.2"),
    ("file.close", "003 §4.2"),
    ("file.closed", "003 §4.2"),
    // Address families, socket types, flags and options
    ("AF_INET", "000 001 003"),
    ("AF_INET6", "001 003"),
    ("AF_UNIX", "001 003"),
    ("SOCK_STREAM", "001 002 003"),
    ("SOCK_DGRAM", "001 003"),
    ("SOCK_RAW", "001"),
    ("SOCK_RDM", "001"),
    ("SOCK_SEQPACKET", "001 002"),
    ("MSG_PEEK", "000"),
    ("MSG_WAITALL", "000"),
    ("MSG_OOB", "000"),
    ("MSG_EOR", "000"),
    ("MSG_DONTROUTE", "000"),
    ("IP_HDRINCL", "001"),
    // socketserver
    ("TCPServer", "004"),
    ("ThreadingTCPServer", "004"),
    ("ThreadingMixIn", "004"),
    ("BaseServer", "004"),
    ("BaseRequestHandler", "004"),
    ("handle", "004"),
    ("self.request", "004"),
    ("self.client_address", "004"),
    ("self.server", "004"),
    ("allow_reuse_address", "004"),
    ("serve_forever", "004"),
    ("server_bind", "004"),
    ("server_activate", "004 (spelled server_active there)"),
    ("get_request", "004"),
    ("process_request", "004"),
    ("process_request_thread", "004"),
    ("finish_request", "004"),
    ("_handle_request_noblock", "004"),
    // threading
    ("threading.Thread", "000 003"),
    ("Thread.start", "000 003"),
    ("Thread.run", "000"),
    ("daemon", "000 003"),
    ("threading.Event", "003"),
    ("Event.set", "003"),
    ("Event.is_set", "003"),
    ("Event.wait", "003"),
    ("threading.Lock", "003"),
    ("with lock:", "003"),
    ("threading.enumerate", "003"),
    // HMAC
    ("os.urandom", "004"),
    ("hmac.new", "004"),
    ("hexdigest", "004"),
    // Text and time
    ("str.encode", "000 001 002 003 004"),
    ("bytes.decode", "000 001 003 004"),
    ("time.ctime", "001"),
];

fn appendix() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("book/src/appendix_python_to_rust.md");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The first cell of every row of every table: the Python side.
fn python_cells(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with('|') && !line.starts_with("|---"))
        .filter_map(|line| line[1..].split(" |").next())
        .map(str::trim)
        .filter(|cell| *cell != "Python")
        .collect()
}

/// The code spans of a cell: `bind`, `socket()`.
fn code_spans(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`').skip(1).step_by(2)
}

#[test]
fn every_name_the_seeds_list_has_a_row() {
    let text = appendix();
    let cells = python_cells(&text);
    let missing: Vec<String> = SEED_NAMES
        .iter()
        .filter(|(name, _)| {
            !cells.iter().flat_map(|cell| code_spans(cell)).any(|span| {
                span == *name || span.strip_suffix("()") == Some(name)
            })
        })
        .map(|(name, seeds)| format!("`{name}` (seeds {seeds})"))
        .collect();
    assert!(
        missing.is_empty(),
        "the appendix has no row for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_row_says_its_rust_counterpart_and_its_lesson() {
    let text = appendix();
    for line in text
        .lines()
        .filter(|line| line.starts_with("| `") || line.starts_with("| daemon"))
    {
        let cells = line.replace("\\|", "");
        let cells: Vec<&str> = cells.split('|').collect();
        assert_eq!(cells.len(), 6, "four cells: {line}");
        assert!(cells[2].trim().len() > 10, "no Rust side: {line}");
        assert!(!cells[3].trim().is_empty(), "no chapter: {line}");
        assert!(!cells[4].trim().is_empty(), "no lesson: {line}");
    }
}

/// The words of the Rust side's code spans that name a call, a type or a constant
/// (`set_reuse_address`, `UnixDatagram`, `MSG_PEEK`), without the ones every lesson has.
fn rust_names(cell: &str) -> Vec<String> {
    const EVERYWHERE: &[&str] = &[
        "std", "net", "mut", "self", "Some", "None", "Err", "true", "false",
        "usize", "buffer", "data", "addr", "error", "kind", "count", "file",
        "stream", "socket", "Socket", "Type", "Domain", "Duration", "into",
        "from", "new", "use", "unsafe", "with", "duration", "libc",
    ];
    code_spans(cell)
        .flat_map(|span| {
            span.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        })
        .filter(|word| {
            word.len() >= 3
                && word.starts_with(|c: char| c.is_ascii_alphabetic())
                && !EVERYWHERE.contains(word)
        })
        .map(str::to_string)
        .collect()
}

/// The source a lesson runs: its file, and for the framework's lesson the framework.
fn lesson_source(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut source =
        std::fs::read_to_string(root.join(format!("lessons/{name}.rs")))
            .unwrap_or_else(|error| panic!("lessons/{name}.rs: {error}"));
    if name == "06_socketserver" {
        source += &std::fs::read_to_string(root.join("src/socketserver.rs"))
            .expect("src/socketserver.rs");
    }
    source
}

#[test]
fn every_name_with_a_rust_counterpart_points_to_a_lesson_that_runs_it() {
    let text = appendix();
    let mut wrong = Vec::new();
    for line in text
        .lines()
        .filter(|line| line.starts_with("| `") || line.starts_with("| daemon"))
    {
        let cells = line.replace("\\|", "");
        let cells: Vec<&str> = cells.split('|').collect();
        let (python, rust, lessons) =
            (cells[1].trim(), cells[2].trim(), cells[4].trim());
        if lessons == "none" {
            if !rust.starts_with("None") {
                wrong.push(format!("{python}: a Rust counterpart, no lesson"));
            }
            continue;
        }
        let names = rust_names(rust);
        for lesson in code_spans(lessons) {
            if socket_lessons::index::find(lesson).is_none() {
                wrong.push(format!("{python}: `{lesson}` is not a lesson"));
                continue;
            }
            let source = lesson_source(lesson);
            let uses = |name: &String| {
                source
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .any(|word| word == name)
            };
            if !names.iter().any(uses) {
                wrong.push(format!(
                    "{python}: lessons/{lesson}.rs uses none of {names:?}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "rows whose lesson does not run them:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_chapter_the_appendix_links_to_exists() {
    let text = appendix();
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    for link in text.split("](").skip(1) {
        let target = link.split(')').next().unwrap_or_default();
        if target.starts_with("http") {
            continue;
        }
        let file = target.split('#').next().unwrap_or_default();
        assert!(book.join(file).is_file(), "a link to no chapter: {target}");
    }
}

/// The test a claim names must exist: the appendix's "(test: `name`)" notes point here.
#[test]
fn every_test_the_appendix_names_exists() {
    let text = appendix();
    let this_file = include_str!("appendix.rs");
    for note in text.split("test: `").skip(1) {
        let name = note.split('`').next().unwrap_or_default();
        assert!(
            this_file.contains(&format!("fn {name}()")),
            "the appendix names a test that tests/appendix.rs lacks: {name}"
        );
    }
}

// What follows are the claims the appendix makes about the OS.

/// A connected pair over loopback: (the client's end, the server's end).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let client =
        TcpStream::connect_timeout(&address, TIMEOUT).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    for end in [&client, &server] {
        end.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        end.set_write_timeout(Some(TIMEOUT)).expect("timeout");
    }
    (client, server)
}

fn udp() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    socket
}

#[test]
fn after_the_peers_shutdown_write_reads_return_0_and_our_writes_still_arrive() {
    let (mut client, mut server) = pair();
    client.shutdown(Shutdown::Write).expect("shutdown");
    let mut buffer = [0; 16];
    assert_eq!(server.read(&mut buffer).expect("read"), 0, "end of stream");
    assert_eq!(
        server.read(&mut buffer).expect("read"),
        0,
        "and it stays so"
    );
    server
        .write_all(b"still here")
        .expect("the server can still write");
    let mut answer = Vec::new();
    drop(server); // closed: the client's read_to_end can finish
    client
        .read_to_end(&mut answer)
        .expect("the client can still read");
    assert_eq!(answer, b"still here");
}

#[cfg(target_os = "linux")]
#[test]
fn a_blocking_write_takes_everything_it_is_given() {
    // Far more than the socket buffers hold: the write waits while the reader drains them.
    let (mut client, mut server) = pair();
    let data = vec![7u8; 16 << 20];
    let reader = std::thread::spawn(move || {
        let mut total = 0;
        let mut buffer = vec![0; 1 << 16];
        loop {
            match server.read(&mut buffer) {
                Ok(0) => return total,
                Ok(count) => total += count,
                Err(error) => panic!("read: {error}"),
            }
        }
    });
    client.set_write_timeout(None).expect("no timeout");
    let written = client.write(&data).expect("write");
    assert_eq!(written, data.len(), "one write took all of it");
    drop(client);
    assert_eq!(reader.join().expect("reader"), data.len());
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_with_a_send_timeout_may_take_only_part() {
    // The peer never reads: once the buffers are full, the timeout ends the write, and
    // what was queued by then is reported as a short count, not as an error.
    let (mut client, _server) = pair();
    client
        .set_write_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let data = vec![7u8; 64 << 20];
    let written = client.write(&data).expect("a short count, not an error");
    assert!(0 < written && written < data.len(), "wrote {written}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_non_blocking_write_may_take_only_part() {
    let (mut client, _server) = pair();
    client.set_nonblocking(true).expect("non-blocking");
    let data = vec![7u8; 64 << 20];
    let written = client.write(&data).expect("a short count");
    assert!(0 < written && written < data.len(), "wrote {written}");
    let error = client.write(&data).expect_err("the buffers are full now");
    assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn std_recv_from_cuts_a_long_datagram_without_saying_so() {
    let (sender, receiver) = (udp(), udp());
    let to = receiver.local_addr().expect("address");
    sender.send_to(&[1; 100], to).expect("send");
    sender.send_to(b"next", to).expect("send");
    let mut buffer = [0; 8];
    let (count, _) = receiver.recv_from(&mut buffer).expect("receive");
    assert_eq!(count, 8, "the first 8 bytes, and no sign of the other 92");
    let (count, _) = receiver.recv_from(&mut buffer).expect("receive");
    assert_eq!(&buffer[..count], b"next", "the rest of the first is gone");
}

#[cfg(unix)]
#[test]
fn socket2_reports_a_truncated_datagram_with_msg_trunc() {
    let (sender, receiver) = (udp(), udp());
    let to = receiver.local_addr().expect("address");
    sender.send_to(&[1; 100], to).expect("send");
    sender.send_to(b"next", to).expect("send");
    let socket = SockRef::from(&receiver);
    let mut buffer = [MaybeUninit::<u8>::uninit(); 8];
    let (count, flags, _) = socket
        .recv_from_vectored(&mut [MaybeUninitSlice::new(&mut buffer)])
        .expect("receive");
    assert_eq!(count, 8);
    assert!(flags.is_truncated(), "recvmsg set MSG_TRUNC");
    let mut buffer = [MaybeUninit::<u8>::uninit(); 8];
    let (_, flags, _) = socket
        .recv_from_vectored(&mut [MaybeUninitSlice::new(&mut buffer)])
        .expect("receive");
    assert!(!flags.is_truncated(), "`next` fit");
}

#[cfg(target_os = "linux")]
#[test]
fn recv_with_msg_trunc_returns_the_datagrams_real_length() {
    let (sender, receiver) = (udp(), udp());
    let to = receiver.local_addr().expect("address");
    sender.send_to(&[1; 100], to).expect("send");
    let mut buffer = [MaybeUninit::<u8>::uninit(); 8];
    let (count, _) = SockRef::from(&receiver)
        .recv_from_with_flags(&mut buffer, libc::MSG_TRUNC)
        .expect("receive");
    assert_eq!(count, 100, "the length it had, though 8 bytes were kept");
}

#[cfg(target_os = "linux")]
#[test]
fn a_datagram_too_large_for_udp_fails_whole() {
    let (sender, receiver) = (udp(), udp());
    let to = receiver.local_addr().expect("address");
    // 65,507 is the most data an IPv4 UDP datagram carries (65,535 - 20 - 8).
    let error = sender.send_to(&[1; 65_508], to).expect_err("too large");
    assert_eq!(error.raw_os_error(), Some(libc::EMSGSIZE), "{error}");
    assert_eq!(sender.send_to(&[1; 65_507], to).expect("fits"), 65_507);
}

#[test]
fn a_udp_send_to_a_port_where_nothing_listens_still_succeeds() {
    let sender = udp();
    let nobody = udp();
    let to = nobody.local_addr().expect("address");
    drop(nobody);
    assert_eq!(sender.send_to(b"anyone?", to).expect("Ok: it left"), 7);
}

#[cfg(unix)]
#[test]
fn an_unbound_udp_socket_gets_a_port_at_its_first_send() {
    let receiver = udp();
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, None).expect("socket");
    let to = receiver.local_addr().expect("address");
    socket.send_to(b"hi", &to.into()).expect("send");
    let mut buffer = [0; 8];
    let (_, from) = receiver.recv_from(&mut buffer).expect("receive");
    assert_ne!(from.port(), 0, "the OS bound it to a port of its choosing");
}

#[cfg(unix)]
#[test]
fn std_tcp_listener_sets_so_reuseaddr_on_unix() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    assert!(
        SockRef::from(&listener)
            .reuse_address()
            .expect("getsockopt")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn std_listens_with_a_backlog_of_128() {
    // Nothing accepts: Linux completes backlog + 1 handshakes, then ignores new ones, so
    // the 130th connect times out (a refusal would fail at once).
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let mut queued = Vec::new();
    loop {
        let patience = Duration::from_millis(500);
        match TcpStream::connect_timeout(&address, patience) {
            Ok(stream) => queued.push(stream),
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
                break;
            }
        }
        assert!(queued.len() <= 1000, "the queue never filled");
    }
    assert_eq!(queued.len(), 128 + 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_connect_to_a_full_queue_times_out() {
    // With a backlog of 0 (socket2 lets us choose), Linux queues one connection.
    let listener =
        Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let address: SocketAddr = "127.0.0.1:0".parse().expect("address");
    listener.bind(&address.into()).expect("bind");
    listener.listen(0).expect("listen");
    let address = listener
        .local_addr()
        .expect("address")
        .as_socket()
        .expect("an IP address");
    let _queued = TcpStream::connect_timeout(&address, TIMEOUT).expect("fits");
    let error =
        TcpStream::connect_timeout(&address, Duration::from_millis(500))
            .expect_err("ignored");
    assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
    assert_eq!(error.raw_os_error(), None, "std's own deadline, no errno");
}

#[cfg(target_os = "linux")]
#[test]
fn a_refused_connect_is_os_error_111_on_linux() {
    let nobody = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = nobody.local_addr().expect("address");
    drop(nobody);
    let error = TcpStream::connect_timeout(&address, TIMEOUT)
        .expect_err("nothing listens");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    assert_eq!(error.raw_os_error(), Some(111), "{error}");
}

#[test]
fn peek_leaves_the_bytes_for_the_next_read() {
    let (mut client, mut server) = pair();
    client.write_all(b"hello").expect("write");
    let mut buffer = [0; 5];
    assert_eq!(server.peek(&mut buffer).expect("peek"), 5);
    let mut again = [0; 5];
    server.read_exact(&mut again).expect("read");
    assert_eq!(buffer, again);
}

#[test]
fn read_exact_fails_with_unexpected_eof_when_the_peer_closes_first() {
    let (mut client, mut server) = pair();
    client.write_all(b"abc").expect("write");
    drop(client);
    let mut buffer = [0; 10];
    let error = server.read_exact(&mut buffer).expect_err("3 of 10 bytes");
    assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_timeout_fails_with_would_block_on_linux() {
    let (_client, mut server) = pair();
    server
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let error = server.read(&mut [0; 8]).expect_err("nothing came");
    assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
    assert_eq!(error.raw_os_error(), Some(libc::EAGAIN), "{error}");
}

#[test]
fn a_zero_timeout_is_refused() {
    let (client, _server) = pair();
    let error = client
        .set_read_timeout(Some(Duration::ZERO))
        .expect_err("zero is not a timeout");
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
}

#[test]
fn a_non_blocking_read_with_nothing_queued_fails_with_would_block() {
    let (_client, mut server) = pair();
    server.set_nonblocking(true).expect("non-blocking");
    let error = server.read(&mut [0; 8]).expect_err("nothing queued");
    assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
}

#[test]
fn a_connection_closes_only_when_its_last_handle_is_dropped() {
    let (client, mut server) = pair();
    let clone = client.try_clone().expect("clone");
    drop(client);
    server
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let error = server.read(&mut [0; 8]).expect_err("still open: no data");
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error}"
    );
    drop(clone);
    server.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    assert_eq!(server.read(&mut [0; 8]).expect("read"), 0, "closed now");
}

#[cfg(target_os = "linux")]
#[test]
fn closing_with_unread_data_resets_the_peer() {
    let (mut client, server) = pair();
    client.write_all(b"never read").expect("write");
    // Wait until the bytes sit in the server's receive queue, unread.
    let mut seen = [0; 1];
    assert_eq!(server.peek(&mut seen).expect("peek"), 1);
    drop(server);
    let error = client.read(&mut [0; 8]).expect_err("a reset, not a FIN");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn after_the_peers_close_a_write_fails_with_epipe_and_reads_return_0() {
    let (mut client, server) = pair();
    drop(server); // a FIN: nothing was left unread
    assert_eq!(client.read(&mut [0; 8]).expect("read"), 0);
    // The first write is accepted by our OS; the peer's OS answers it with a reset.
    client
        .write_all(b"anyone?")
        .expect("the first write is queued");
    let error = loop {
        // Until the reset is back; the write timeout of `pair` bounds the wait.
        match client.write_all(b"again") {
            Ok(()) => continue,
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind(), ErrorKind::BrokenPipe, "{error}");
    assert_eq!(client.read(&mut [0; 8]).expect("read"), 0, "still 0");
}

#[test]
fn a_bufwriter_sends_nothing_before_flush() {
    let (client, mut server) = pair();
    let mut writer = BufWriter::new(client);
    writer.write_all(b"hello\n").expect("buffered");
    server
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let error = server.read(&mut [0; 8]).expect_err("nothing sent yet");
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error}"
    );
    writer.flush().expect("flush");
    server.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let mut buffer = [0; 6];
    server.read_exact(&mut buffer).expect("sent now");
    assert_eq!(&buffer, b"hello\n");
}

#[cfg(target_os = "linux")]
#[test]
fn an_empty_host_name_does_not_resolve() {
    assert!(("", 9999).to_socket_addrs().is_err());
    let every = ("0.0.0.0", 9999).to_socket_addrs().expect("resolves");
    assert_eq!(every.count(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn linux_offers_no_sock_rdm_for_ipv4() {
    let error = Socket::new(Domain::IPV4, Type::from(libc::SOCK_RDM), None)
        .expect_err("no reliable datagrams over IPv4");
    assert_eq!(error.raw_os_error(), Some(libc::ESOCKTNOSUPPORT), "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_timeout_on_a_listener_bounds_accept_on_linux() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    SockRef::from(&listener)
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("SO_RCVTIMEO");
    let error = listener.accept().expect_err("nobody connects");
    assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn only_the_last_byte_of_an_out_of_band_send_is_urgent() {
    let (client, mut server) = pair();
    SockRef::from(&client)
        .send_out_of_band(b"ab")
        .expect("send urgent");
    // The ordinary read stops at the urgent mark: it gets `a` alone.
    let mut buffer = [0; 8];
    let count = server.read(&mut buffer).expect("read");
    assert_eq!(&buffer[..count], b"a");
    let mut urgent = [MaybeUninit::<u8>::uninit(); 8];
    let count = SockRef::from(&server)
        .recv_out_of_band(&mut urgent)
        .expect("the urgent byte");
    assert_eq!(count, 1);
    // SAFETY: recv_out_of_band wrote `count` bytes at the start of the buffer.
    assert_eq!(unsafe { urgent[0].assume_init() }, b'b');
}

#[test]
fn one_read_can_return_part_of_a_write_or_several_writes() {
    let (mut client, mut server) = pair();
    client.set_nodelay(true).expect("no Nagle: two segments");
    client.write_all(b"ab").expect("write");
    client.write_all(b"cd").expect("write");
    // Wait, without taking anything, until both writes have arrived.
    let mut buffer = [0; 16];
    let deadline = std::time::Instant::now() + TIMEOUT;
    while server.peek(&mut buffer).expect("peek") < 4 {
        assert!(std::time::Instant::now() < deadline, "cd never came");
    }
    let count = server.read(&mut buffer).expect("read");
    assert_eq!(&buffer[..count], b"abcd", "two writes, one read");

    // One write far larger than the receiver lets the sender send before it reads (its
    // window) arrives in many reads: the first read returns what had come by then.
    let data = vec![7u8; 16 << 20];
    let size = data.len();
    let writer = std::thread::spawn(move || client.write_all(&data));
    let mut big = vec![0; size];
    let first = server.read(&mut big).expect("read");
    assert!(0 < first && first < size, "the first read got {first}");
    server.read_exact(&mut big[first..]).expect("the rest");
    writer.join().expect("writer").expect("write_all");
}

#[test]
fn read_line_fails_on_bytes_that_are_not_utf8_where_read_until_does_not() {
    use std::io::{BufRead, BufReader};
    let (mut client, server) = pair();
    client.write_all(b"caf\xff\ncaf\xff\n").expect("write");
    let mut reader = BufReader::new(server);
    let mut text = String::new();
    let error = reader.read_line(&mut text).expect_err("not UTF-8");
    assert_eq!(error.kind(), ErrorKind::InvalidData, "{error}");
    let mut bytes = Vec::new();
    reader.read_until(b'\n', &mut bytes).expect("any bytes");
    assert_eq!(bytes, b"caf\xff\n");
}

#[cfg(unix)]
#[test]
fn a_rust_program_ignores_sigpipe() {
    // This test binary is a Rust program: std set SIGPIPE to "ignore" before main, so a
    // write to a closed connection returns EPIPE instead of killing the process.
    // SAFETY: an all-zero sigaction is a valid value to be overwritten, and a null new
    // action makes the call only read the current one into `current`.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let status = unsafe {
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &raw mut current)
    };
    assert_eq!(status, 0, "{}", std::io::Error::last_os_error());
    assert_eq!(current.sa_sigaction, libc::SIG_IGN);
}
