//! Lesson 07, stage 5: the chat server keeps the chat protocol
//! (`socket_lessons::check::chat::LINES`), and what the stage adds: a
//! message is one whole line, however its bytes arrived. The flaw it fixes
//! is shown on stage 4's binary, which takes each read for a line. And the
//! flaw stage 6 fixes is shown here: a line that is not UTF-8 ends its
//! client.

mod common;

use common::{
    TIMEOUT, assert_keeps_its_protocol, connect, expect_silence, start_server,
};
use socket_lessons::chat;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

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

#[test]
fn the_server_keeps_the_chat_protocol_of_stage_5() {
    assert_keeps_its_protocol("07_chat_5_lines", &[]);
}

/// A room of two on `server`, both in step.
fn two_in(server: &common::Running) -> Vec<Member> {
    let mut room = Vec::new();
    join(&mut room, connect(server.address()));
    join(&mut room, connect(server.address()));
    room
}

/// Stage 4 broadcasts each read: `hel`, read on its own, goes out as a
/// message before `lo\n` arrives, and the line is cut in two.
#[test]
fn stage_4_broadcasts_a_line_in_pieces_as_two_messages() {
    let mut server = start_server("07_chat_4_lock", &[]);
    let mut room = two_in(&server);
    let alice = room[0].address;
    room[0].send(b"hel");
    server.expect(&format!("received 3 bytes from {alice}: \"hel\""));
    room[0].send(b"lo\n");
    for member in &mut room {
        member.expect_message(alice, "hel");
        member.expect_message(alice, "lo");
    }
}

/// Stage 4 broadcasts each read: two lines that arrive together go out
/// under one header, the second line without a header of its own.
#[test]
fn stage_4_broadcasts_two_lines_in_one_read_as_one_message() {
    let mut server = start_server("07_chat_4_lock", &[]);
    let mut room = two_in(&server);
    let alice = room[0].address;
    room[0].send(b"two\nlines\n");
    server.expect(&format!(
        "received 10 bytes from {alice}: \"two\\nlines\\n\""
    ));
    for member in &mut room {
        member.expect_message(alice, "two");
        let mut next = String::new();
        member.reader.read_line(&mut next).expect("the next line");
        assert_eq!(next, "lines\n", "not the rest of the first message");
    }
}

/// Stage 5 waits for the newline: half a line is no message yet, and the
/// whole line is one message.
#[test]
fn sends_a_line_that_arrives_in_pieces_as_one_message() {
    let mut server = start_server("07_chat_5_lines", &[]);
    let mut room = two_in(&server);
    let alice = room[0].address;
    room[0].send(b"hel");
    for member in &mut room {
        expect_silence(member.reader.get_mut(), Duration::from_millis(100));
    }
    room[0].send(b"lo\n");
    server.expect(&format!("received 5 bytes from {alice}: \"hello\""));
    for member in &mut room {
        member.expect_message(alice, "hello");
    }
}

/// Stage 5 frames the bytes into lines: two lines in one write are two
/// messages.
#[test]
fn sends_two_lines_in_one_read_as_two_messages() {
    let server = start_server("07_chat_5_lines", &[]);
    let mut room = two_in(&server);
    let alice = room[0].address;
    room[0].send(b"two\nlines\n");
    for member in &mut room {
        member.expect_message(alice, "two");
        member.expect_message(alice, "lines");
    }
}

/// A line that ends in `\r\n` (a Windows client, telnet) loses both.
#[test]
fn trims_a_carriage_return_before_the_newline() {
    let mut server = start_server("07_chat_5_lines", &[]);
    let mut room = two_in(&server);
    let alice = room[0].address;
    room[0].send(b"from telnet\r\n");
    server.expect(&format!("received 11 bytes from {alice}: \"from telnet\""));
    for member in &mut room {
        member.expect_message(alice, "from telnet");
    }
}

/// The log names each line without its newline, and each client's comings
/// and goings.
#[test]
fn logs_each_line_without_its_newline_and_each_client_s_close() {
    let mut server = start_server("07_chat_5_lines", &[]);
    let mut room = two_in(&server);
    let alice = room[0].address;
    server.expect(&format!("connected: {alice}"));
    server.expect(&format!(
        "received {} bytes from {alice}: \"hello from {alice}\"",
        format!("hello from {alice}").len()
    ));
    room[0].send(b"quit\n");
    room[0].expect_close();
    server.expect(&format!("received 4 bytes from {alice}: \"quit\""));
    server.expect(&format!("closed: {alice}"));
    let bob = room.pop().expect("bob");
    SockRef::from(&bob.writer)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    let gone = bob.address;
    drop(bob);
    let lost = server.expect(&format!("lost {gone}: "));
    assert!(lost.contains("reset"), "{lost}");
    server.type_line("quit");
    server.expect("stopping");
    let (status, _, _) = server.wait();
    assert!(status.success(), "{status}");
}

/// Stage 5 still drops a client that stops reading, as stage 4 did.
#[test]
fn drops_a_client_that_stops_reading() {
    let mut server = start_server("07_chat_5_lines", &[]);
    let mut room = Vec::new();
    join(&mut room, connect_small(server.address()));
    join(&mut room, connect(server.address()));
    let [alice, bob] = &mut room[..] else {
        unreachable!("two joined")
    };
    let sender = send_flood(bob);
    let mut xs = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    while xs < LINES * (LINE - 1) {
        match bob.reader.read(&mut buffer) {
            Ok(0) => panic!("the server closed bob after {xs} x"),
            Ok(count) => {
                xs += buffer[..count].iter().filter(|&&b| b == b'x').count();
            }
            Err(error) => panic!("bob's read failed after {xs} x: {error}"),
        }
    }
    sender.join().expect("the flood was sent");
    server.expect(&format!("dropping {}: it stopped reading", alice.address));
}

/// The flaw stage 6 fixes: `lines()` decodes each line as UTF-8, and fails
/// on bytes that are not; the error ends that client's session.
#[test]
fn stage_5_ends_a_client_that_sends_invalid_utf8() {
    let mut server = start_server("07_chat_5_lines", &[]);
    let mut room = two_in(&server);
    let alice = room[0].address;
    room[0].send(b"\xff\xfe\n");
    server.expect(&format!("lost {alice}: stream did not contain valid UTF-8"));
    room[0].expect_close();
    let bob = &mut room[1];
    bob.send(b"alice is gone\n");
    bob.expect_message(bob.address, "alice is gone");
}
