//! Lesson 07, stage 4: the chat server keeps the chat protocol
//! (`socket_lessons::check::chat::LOCK`), and what the stage adds: a
//! broadcast writes with the table's lock released, and a client that stops
//! reading is dropped. The flaw it fixes is shown on stage 3's binary: one
//! client that does not read stalls everyone.

mod common;

use common::{
    TIMEOUT, assert_keeps_its_protocol, connect, expect_silence, start_server,
};
use socket_lessons::chat;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// One line of the flood, newline included.
const LINE: usize = 1024;
/// How many lines the flood has: 8 MiB, more than any socket buffers hold.
const LINES: usize = 8 * 1024;

/// A chat client of the test's: a buffered reader on one handle of its
/// socket, writes on the other.
struct Member {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Its address, as the server sees it and names it.
    address: SocketAddr,
}

impl Member {
    fn new(stream: TcpStream) -> Member {
        stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(TIMEOUT))
            .expect("write timeout");
        let writer = stream.try_clone().expect("a second handle");
        Member {
            address: stream.local_addr().expect("our address"),
            reader: BufReader::new(stream),
            writer,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// Reads one message: its header's sender, and its line.
    fn read_message(&mut self) -> (SocketAddr, String) {
        let mut header = String::new();
        self.reader.read_line(&mut header).expect("a header line");
        let header = chat::parse_header(header.trim_end_matches('\n'))
            .unwrap_or_else(|| panic!("not a header: {header:?}"));
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a message's line");
        assert!(line.ends_with('\n'), "a cut line: {line:?}");
        line.pop();
        (header.sender, line)
    }

    fn expect_message(&mut self, from: SocketAddr, line: &str) {
        assert_eq!(self.read_message(), (from, line.to_string()));
    }

    /// The server closes our connection within the deadline.
    fn expect_close(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "then {rest:?}"),
            Err(error) => assert_eq!(
                error.kind(),
                ErrorKind::ConnectionReset,
                "no close: {error}"
            ),
        }
    }
}

/// Connects a client and lets it join: it says a line, and every client so
/// far (itself included) reads it, so that every stream is in step.
fn join(room: &mut Vec<Member>, stream: TcpStream) {
    let mut newcomer = Member::new(stream);
    let hello = format!("hello from {}", newcomer.address);
    newcomer.send(format!("{hello}\n").as_bytes());
    let from = newcomer.address;
    room.push(newcomer);
    for member in room.iter_mut() {
        member.expect_message(from, &hello);
    }
}

/// Connects with a receive buffer of 4 KiB, set before connecting so that
/// the window the client offers stays small: it fills fast when unread.
fn connect_small(address: SocketAddr) -> TcpStream {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .expect("a socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket
        .connect_timeout(&address.into(), TIMEOUT)
        .expect("connect");
    TcpStream::from(socket)
}

/// 8 MiB of 1 KiB lines of `x`: `x` never occurs in a header, so counting
/// them counts what came back.
fn flood() -> Vec<u8> {
    let mut flood = Vec::with_capacity(LINE * LINES);
    for _ in 0..LINES {
        flood.extend_from_slice(&[b'x'; LINE - 1]);
        flood.push(b'\n');
    }
    flood
}

/// Sends the flood on another handle of `member`'s socket, from a thread.
fn send_flood(member: &Member) -> thread::JoinHandle<()> {
    let mut writer = member.writer.try_clone().expect("a handle");
    // It fails once the test shuts the socket down: that is how it ends.
    thread::spawn(move || drop(writer.write_all(&flood())))
}

/// What a draining client saw: how many `x`, and whether the server closed.
struct Drained {
    xs: usize,
    closed: bool,
}

/// Reads everything that comes on `member`'s socket from a thread, so that
/// it never holds anything up, until it has `want` x, the server closes,
/// `done` is set, or [`TIMEOUT`] has passed. Says on the channel when the
/// server closes.
fn drain(
    member: &Member,
    want: usize,
    done: &Arc<AtomicBool>,
) -> (mpsc::Receiver<()>, thread::JoinHandle<Drained>) {
    let mut stream = member.writer.try_clone().expect("a handle");
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    let done = Arc::clone(done);
    let (closed, closes) = mpsc::channel();
    let drainer = thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut xs = 0;
        let deadline = Instant::now() + TIMEOUT;
        while !done.load(Ordering::SeqCst)
            && xs < want
            && Instant::now() < deadline
        {
            match stream.read(&mut buffer) {
                Ok(0) => {
                    let _ = closed.send(());
                    return Drained { xs, closed: true };
                }
                Ok(count) => {
                    xs += buffer[..count].iter().filter(|&&b| b == b'x').count()
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    let _ = closed.send(());
                    return Drained { xs, closed: true };
                }
            }
        }
        Drained { xs, closed: false }
    });
    (closes, drainer)
}

#[test]
fn the_server_keeps_the_chat_protocol_of_stage_4() {
    assert_keeps_its_protocol("07_chat_4_lock", &[]);
}

/// The flaw stage 4 fixes. Alice never reads; bob floods the room and reads
/// his own echoes. Stage 3 writes each broadcast with the table's lock held:
/// once alice's buffers are full, the write to her blocks for ever, with the
/// lock held. Bob's echoes stop for good, and carol, who reads everything
/// and then quits, is never closed: her thread cannot take the lock to
/// remove her.
#[test]
fn stage_3_one_client_that_does_not_read_stalls_everyone() {
    let mut server = start_server("07_chat_3_leave", &[]);
    let mut room = Vec::new();
    join(&mut room, connect_small(server.address()));
    join(&mut room, connect(server.address()));
    join(&mut room, connect(server.address()));
    let [_alice, bob, carol] = &mut room[..] else {
        unreachable!("three joined")
    };
    let done = Arc::new(AtomicBool::new(false));
    let (carol_closed, carol_drainer) = drain(carol, usize::MAX, &done);
    let sender = send_flood(bob);

    // Bob reads his echoes until none comes for 300 ms: they have stopped.
    bob.reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("read timeout");
    let mut xs = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    let stopped = Instant::now() + TIMEOUT;
    loop {
        assert!(Instant::now() < stopped, "bob's echoes never stopped");
        match bob.reader.read(&mut buffer) {
            Ok(0) => panic!("the server closed bob"),
            Ok(count) => {
                xs += buffer[..count].iter().filter(|&&b| b == b'x').count()
            }
            Err(error) => {
                assert!(
                    matches!(
                        error.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ),
                    "{error}"
                );
                break;
            }
        }
    }
    assert!(
        xs < LINES * (LINE - 1),
        "bob got all his {LINES} lines: nothing stalled"
    );

    // Carol quits. Her thread reads the quit, but it cannot remove her.
    carol.send(b"quit\n");
    server.expect(&format!(
        "received 5 bytes from {}: \"quit\\n\"",
        carol.address
    ));
    assert!(
        carol_closed
            .recv_timeout(Duration::from_millis(1000))
            .is_err(),
        "carol was closed: her thread could take the lock"
    );
    // And still nothing more for bob, 1.5 s after his echoes stopped.
    expect_silence(bob.reader.get_mut(), Duration::from_millis(100));

    done.store(true, Ordering::SeqCst);
    let _ = bob.writer.shutdown(Shutdown::Both);
    sender.join().expect("the flood's thread ends");
    assert!(!carol_drainer.join().expect("carol's reader ends").closed);
}

/// Stage 4 on the same room: alice is dropped after a write to her makes no
/// progress, and bob and carol get every line.
#[test]
fn drops_a_client_that_stops_reading_and_the_others_get_everything() {
    let mut server = start_server("07_chat_4_lock", &[]);
    let mut room = Vec::new();
    join(&mut room, connect_small(server.address()));
    join(&mut room, connect(server.address()));
    join(&mut room, connect(server.address()));
    let [alice, bob, carol] = &mut room[..] else {
        unreachable!("three joined")
    };
    let done = Arc::new(AtomicBool::new(false));
    let (_, carol_drainer) = drain(carol, LINES * (LINE - 1), &done);
    let sender = send_flood(bob);

    let mut xs = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut last = 0;
    // Up to the last line's newline, so that the next read is a message.
    while xs < LINES * (LINE - 1) || last != b'\n' {
        match bob.reader.read(&mut buffer) {
            Ok(0) => panic!("the server closed bob after {xs} x"),
            Ok(count) => {
                xs += buffer[..count].iter().filter(|&&b| b == b'x').count();
                last = buffer[count - 1];
            }
            Err(error) => panic!("bob's read failed after {xs} x: {error}"),
        }
    }
    sender.join().expect("the flood was sent");
    server.expect(&format!("dropping {}: it stopped reading", alice.address));
    server.expect(&format!("closed: {}", alice.address));

    // Carol got it all too: the room goes on without alice.
    let line = "alice is gone";
    bob.send(format!("{line}\n").as_bytes());
    bob.expect_message(bob.address, line);
    let carol_got = carol_drainer.join().expect("carol's reader ends");
    assert!(!carol_got.closed, "carol was closed");
    assert!(
        carol_got.xs >= LINES * (LINE - 1),
        "carol got {} of {} x",
        carol_got.xs,
        LINES * (LINE - 1)
    );
}

/// The log of one client's visit: connected, each read, and its close.
#[test]
fn logs_a_client_s_connection_its_reads_and_its_close() {
    let mut server = start_server("07_chat_4_lock", &[]);
    let mut room = Vec::new();
    join(&mut room, connect(server.address()));
    let alice = &mut room[0];
    let me = alice.address;
    server.expect(&format!("connected: {me}"));
    server.expect(&format!(
        "received {} bytes from {me}: \"hello from {me}\\n\"",
        format!("hello from {me}\n").len()
    ));
    alice.send(b"quit\n");
    alice.expect_close();
    server.expect(&format!("received 5 bytes from {me}: \"quit\\n\""));
    server.expect(&format!("closed: {me}"));
}

/// A client that resets its connection is logged as lost, with the error,
/// and the others go on.
#[test]
fn logs_a_client_that_resets_as_lost_and_goes_on() {
    let mut server = start_server("07_chat_4_lock", &[]);
    let mut room = Vec::new();
    join(&mut room, connect(server.address()));
    join(&mut room, connect(server.address()));
    let rude = room.pop().expect("two joined");
    // SO_LINGER of zero makes the close a reset, not a FIN.
    SockRef::from(&rude.writer)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    let gone = rude.address;
    drop(rude);
    let lost = server.expect(&format!("lost {gone}: "));
    assert!(lost.contains("reset"), "{lost}");
    let alice = &mut room[0];
    alice.send(b"still here\n");
    alice.expect_message(alice.address, "still here");
}

/// `quit` on the console: `stopping`, every client closed, exit status 0.
#[test]
fn quit_on_the_console_logs_stopping_closes_clients_and_exits_0() {
    let mut server = start_server("07_chat_4_lock", &[]);
    let mut room = Vec::new();
    join(&mut room, connect(server.address()));
    join(&mut room, connect(server.address()));
    server.type_line("quit");
    server.expect("stopping");
    for member in &mut room {
        member.expect_close();
    }
    let (status, stdout, _) = server.wait();
    assert!(status.success(), "{status}");
    for member in &room {
        let closed = format!("closed: {}", member.address);
        assert!(stdout.iter().any(|line| line.contains(&closed)), "{closed}");
    }
}
