//! A chat client for the tests of lesson 07's six stages: it joins a room,
//! sends bytes, and reads each message as the protocol frames it (a header
//! line, `TIME SENDER`, then the line). Every read has a deadline.

use super::{Running, TIMEOUT, connect};
use socket_lessons::chat;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

/// A chat client of the test's: a buffered reader on one handle of its
/// socket, writes on the other.
pub struct Client {
    /// Where messages are read, a line at a time.
    pub reader: BufReader<TcpStream>,
    /// Where lines are sent: a second handle of the same socket.
    pub writer: TcpStream,
    /// Its address as the server sees it: what its messages' header names.
    pub address: SocketAddr,
}

impl Client {
    /// Wraps a connected socket, with [`TIMEOUT`] on every read and write.
    pub fn new(stream: TcpStream) -> Client {
        stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(TIMEOUT))
            .expect("write timeout");
        let writer = stream.try_clone().expect("a second handle");
        Client {
            address: stream.local_addr().expect("our address"),
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Connects, and waits for the server's `connected: ADDR` log line: from
    /// then on the client is in the table, and every broadcast reaches it.
    pub fn join(server: &mut Running) -> Client {
        let client = Client::new(connect(server.address()));
        server.expect(&format!("connected: {}", client.address));
        client
    }

    /// Sends `bytes` as they are, in one write.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// Reads the next message: the sender its header names, and its line
    /// without the newline. The header must be stamped with the time now.
    pub fn read_message(&mut self) -> (SocketAddr, String) {
        let mut header = String::new();
        self.reader.read_line(&mut header).expect("a header line");
        let header = chat::parse_header(header.trim_end_matches('\n'))
            .unwrap_or_else(|| panic!("not a header: {header:?}"));
        assert!(chat::is_now(&header.time), "stamped now: {}", header.time);
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a message's line");
        assert!(line.ends_with('\n'), "a cut line: {line:?}");
        line.pop();
        (header.sender, line)
    }

    /// Reads the next message, which must be `from`'s `line`.
    pub fn expect_message(&mut self, from: SocketAddr, line: &str) {
        let message = self.read_message();
        assert_eq!(message, (from, line.to_string()), "at {}", self.address);
    }

    /// Reads the end of the connection (a FIN, or a reset), with nothing
    /// before it.
    pub fn expect_close(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "then {rest:?}"),
            Err(error) => assert_eq!(
                error.kind(),
                ErrorKind::ConnectionReset,
                "no close at {}: {error}",
                self.address
            ),
        }
    }

    /// Expects nothing at all for `quiet`: no message, and no close.
    pub fn expect_silence(&mut self, quiet: Duration) {
        assert!(
            self.reader.buffer().is_empty(),
            "{:?}",
            self.reader.buffer()
        );
        super::expect_silence(self.reader.get_mut(), quiet);
    }
}

/// Lets the client on `stream` join `room` by a hello line: it says
/// `hello from ADDR`, and every member so far (itself included) reads it, so
/// that every stream is in step.
pub fn join_room(room: &mut Vec<Client>, stream: TcpStream) {
    room.push(Client::new(stream));
    let newcomer = room.len() - 1;
    let hello = format!("hello from {}", room[newcomer].address);
    say(room, newcomer, &hello);
}

/// `room[from]` sends `line` and its `\n` in one write, and everyone reads
/// its message.
pub fn say(room: &mut [Client], from: usize, line: &str) {
    room[from].send(format!("{line}\n").as_bytes());
    let sender = room[from].address;
    for client in room {
        client.expect_message(sender, line);
    }
}

/// One line of the flood, newline included.
pub const LINE: usize = 1024;
/// How many lines the flood has: 8 MiB, more than any socket buffers hold.
pub const LINES: usize = 8 * 1024;

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
pub fn send_flood(member: &Client) -> thread::JoinHandle<()> {
    let mut writer = member.writer.try_clone().expect("a handle");
    // It fails once the test shuts the socket down: that is how it ends.
    thread::spawn(move || drop(writer.write_all(&flood())))
}

/// Connects with a receive buffer of 4 KiB, set before connecting so that
/// the window the client offers stays small: it fills fast when unread.
pub fn connect_small(address: SocketAddr) -> TcpStream {
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

/// The log line of stages 1 to 4 for `line`, sent with its `\n` in one
/// write, arriving from `peer`.
pub fn received(peer: SocketAddr, line: &str) -> String {
    let bytes = format!("{line}\n");
    format!("received {} bytes from {peer}: {bytes:?}", bytes.len())
}
