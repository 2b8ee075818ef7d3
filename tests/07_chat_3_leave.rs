//! Lesson 07, stage 3: the server that lets clients leave keeps the chat
//! protocol so far (`socket_lessons::check::chat::LEAVE`: stage 2's, and a
//! client that sends `quit` or closes is closed, its `quit` not broadcast),
//! and what the program adds: a client that leaves is logged `closed` at
//! once and taken out of the table, so no later broadcast fails to reach it;
//! a reset is logged and changes nothing for the others. Stage 2, beside it,
//! broadcasts a `quit` line as a message and keeps writing to a client that
//! has gone.

mod common;

use common::{Running, connect, read_until, start_server};
use socket_lessons::chat;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const STAGE: &str = "07_chat_3_leave";

#[test]
fn keeps_the_leave_protocol() {
    common::assert_keeps_its_protocol(STAGE, &[]);
}

/// A client of the test's, connected to the server under test.
struct Client {
    stream: TcpStream,
    /// Its address as the server sees it: what its messages' header names.
    address: SocketAddr,
    /// Bytes read past the last whole message.
    unread: Vec<u8>,
}

impl Client {
    /// Connects, and waits for the server's `connected` line: from then on
    /// the client is in the table, and every broadcast reaches it.
    fn join(server: &mut Running) -> Client {
        let stream = connect(server.address());
        let address = stream.local_addr().expect("our address");
        server.expect(&format!("connected: {address}"));
        Client {
            stream,
            address,
            unread: Vec::new(),
        }
    }

    /// Sends `line` and its `\n` in one write.
    fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("send");
    }

    /// Reads the next message: the sender its header names, and its line.
    fn message(&mut self) -> (SocketAddr, String) {
        let newlines =
            |bytes: &[u8]| bytes.iter().filter(|&&byte| byte == b'\n').count();
        let have = newlines(&self.unread);
        if have < 2 {
            let more = read_until(&mut self.stream, |received| {
                have + newlines(received) >= 2
            });
            self.unread.extend(more);
        }
        let header_end = self.unread.iter().position(|&b| b == b'\n');
        let header_end = header_end.expect("a header line");
        let line_end = header_end
            + 1
            + self.unread[header_end + 1..]
                .iter()
                .position(|&b| b == b'\n')
                .expect("a message line");
        let message: Vec<u8> = self.unread.drain(..=line_end).collect();
        let header = String::from_utf8_lossy(&message[..header_end]);
        let header = chat::parse_header(&header)
            .unwrap_or_else(|| panic!("not a header: {header:?}"));
        assert!(chat::is_now(&header.time), "stamped now: {}", header.time);
        let line = &message[header_end + 1..line_end];
        (header.sender, String::from_utf8_lossy(line).into_owned())
    }

    /// Reads the next message, which must be `from`'s `line`.
    fn expect_message(&mut self, from: SocketAddr, line: &str) {
        assert_eq!(
            self.message(),
            (from, line.to_string()),
            "at {}",
            self.address
        );
    }

    /// Reads the end of the connection (a FIN), with no message before it.
    fn expect_end(&mut self) {
        assert!(self.unread.is_empty(), "{:?}", self.unread);
        let mut buffer = [0u8; 256];
        match self.stream.read(&mut buffer) {
            Ok(0) => {}
            Ok(count) => panic!(
                "expected the end at {}, got {:?}",
                self.address,
                String::from_utf8_lossy(&buffer[..count])
            ),
            Err(error) => {
                panic!("expected the end at {}, got {error}", self.address)
            }
        }
    }
}

/// `room[from]` sends `line`, and everyone reads its message.
fn say(room: &mut [Client], from: usize, line: &str) {
    room[from].send(line);
    let sender = room[from].address;
    for client in room {
        client.expect_message(sender, line);
    }
}

/// The log line of `line`, sent with its `\n` in one write, arriving from
/// `peer`.
fn received(peer: SocketAddr, line: &str) -> String {
    let bytes = format!("{line}\n");
    format!("received {} bytes from {peer}: {bytes:?}", bytes.len())
}

/// Types quit on the server's console, and returns its whole log once it
/// has exited with status 0.
fn stop(mut server: Running) -> Vec<String> {
    server.type_line("quit");
    let (status, stdout, stderr) = server.wait();
    assert!(status.success(), "{status}; {stderr:?}");
    stdout
}

/// `room[0]` says two lines, after the others have left: the first write to
/// a socket whose peer has gone succeeds, and provokes a reset; the second
/// would fail.
fn say_two_lines_alone(room: &mut [Client]) {
    say(room, 0, "one");
    say(room, 0, "two");
}

#[test]
fn a_client_that_sends_quit_is_closed_at_once_and_no_longer_written_to() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    say(&mut room, 0, "hello");
    let mut leaving = room.remove(1);
    leaving.send("quit");
    leaving.expect_end();
    server.expect(&format!("closed: {}", leaving.address));
    say_two_lines_alone(&mut room);
    let log = stop(server);
    let failed: Vec<&String> = log
        .iter()
        .filter(|line| line.starts_with("could not send"))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn a_client_that_closes_is_removed_at_once_and_no_longer_written_to() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    say(&mut room, 1, "bye, all");
    let leaving = room.remove(1);
    let address = leaving.address;
    drop(leaving); // a FIN: everything it was sent has been read
    server.expect(&format!("closed: {address}"));
    say_two_lines_alone(&mut room);
    let log = stop(server);
    let failed: Vec<&String> = log
        .iter()
        .filter(|line| line.starts_with("could not send"))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn a_client_that_resets_is_logged_and_the_others_go_on() {
    let mut server = start_server(STAGE, &[]);
    let mut room: Vec<Client> =
        (0..3).map(|_| Client::join(&mut server)).collect();
    let rude = room.remove(2);
    let address = rude.address;
    // SO_LINGER with a zero timeout makes close() send a reset, not a FIN.
    socket2::SockRef::from(&rude.stream)
        .set_linger(Some(Duration::ZERO))
        .expect("set SO_LINGER");
    drop(rude);
    let logged = server.expect(&address.to_string());
    assert!(
        logged.starts_with(&format!("lost {address}: "))
            || logged == format!("closed: {address}"),
        "{logged}"
    );
    say(&mut room, 0, "is she gone?");
    say(&mut room, 1, "she is");
    room.push(Client::join(&mut server));
    say(&mut room, 2, "hello, all");
    let log = stop(server);
    let failed: Vec<&String> = log
        .iter()
        .filter(|line| line.starts_with("could not send"))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn stage_2_broadcasts_a_quit_line_and_keeps_the_client() {
    let mut server = start_server("07_chat_2_stop", &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    // Stage 3 would close the second client, and say nothing to the first.
    say(&mut room, 1, "quit");
    say(&mut room, 1, "I am still here");
    say(&mut room, 0, "so you are");
}

#[test]
fn stage_2_keeps_a_departed_client_and_fails_to_write_to_it() {
    let mut server = start_server("07_chat_2_stop", &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    say(&mut room, 0, "hello");
    let leaving = room.remove(1);
    let address = leaving.address;
    drop(leaving); // a FIN: everything it was sent has been read
    server.expect(&format!("closed: {address}"));
    let speaker = room[0].address;
    say_two_lines_alone(&mut room);
    let log = stop(server);
    let at = |wanted: &str| {
        log.iter()
            .position(|line| line.starts_with(wanted))
            .unwrap_or_else(|| panic!("no {wanted:?} in {log:?}"))
    };
    // The first write to the departed client succeeded: its OS answered
    // with a reset. The write of the second line is the one that failed.
    let failed = at(&format!("could not send to {address}: "));
    assert!(at(&received(speaker, "two")) < failed, "{log:?}");
    if cfg!(target_os = "linux") {
        assert!(log[failed].contains("(os error 32)"), "EPIPE: {log:?}");
    }
}
