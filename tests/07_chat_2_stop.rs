//! Lesson 07, stage 2: the server that stops keeps the chat protocol so far
//! (`socket_lessons::check::chat::STOP`: stage 1's broadcast, and `quit` on
//! its console closes every client and exits with status 0), and what the
//! program adds: its log ends with `stopping` and a `closed` line per client,
//! the end of its console's input stops it as `quit` does, and any other line
//! typed gets a word and changes nothing. Stage 1, beside it, has no console
//! at all.

mod common;

use common::{Running, TIMEOUT, connect, read_until, start_server};
use socket_lessons::chat;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const STAGE: &str = "07_chat_2_stop";

#[test]
fn keeps_the_stop_protocol() {
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

    /// Expects nothing at all for `quiet`: no message, and no close.
    fn expect_silence(&mut self, quiet: Duration) {
        assert!(self.unread.is_empty(), "{:?}", self.unread);
        common::expect_silence(&mut self.stream, quiet);
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

/// Every client sees its connection end; the server exits with status 0, and
/// its log ends with `stopping`, then a `closed` line for each client.
fn expect_a_clean_stop(server: Running, room: &mut [Client]) {
    for client in room.iter_mut() {
        client.expect_end();
    }
    let (status, stdout, stderr) = server.wait();
    assert!(status.success(), "{status}; {stderr:?}");
    assert!(stderr.is_empty(), "{stderr:?}");
    let stopping = stdout
        .iter()
        .position(|line| line == "stopping")
        .unwrap_or_else(|| panic!("no `stopping` in {stdout:?}"));
    let mut after: Vec<&str> =
        stdout[stopping + 1..].iter().map(String::as_str).collect();
    let mut closed: Vec<String> = room
        .iter()
        .map(|client| format!("closed: {}", client.address))
        .collect();
    after.sort_unstable();
    closed.sort_unstable();
    assert_eq!(after, closed, "the log after `stopping`");
}

#[test]
fn quit_on_its_console_ends_every_client_and_exits_0_logging_each_closed() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    say(&mut room, 0, "hello");
    server.type_line("quit");
    expect_a_clean_stop(server, &mut room);
}

#[test]
fn the_end_of_its_console_input_stops_it_as_quit_does() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    say(&mut room, 1, "hello");
    server.close_stdin(); // Ctrl-D at a terminal
    expect_a_clean_stop(server, &mut room);
}

#[test]
fn a_console_line_that_is_not_quit_gets_a_word_and_it_keeps_serving() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    server.type_line("stop");
    server.expect("type quit to stop the server");
    say(&mut room, 0, "still here?");
    room.push(Client::join(&mut server));
    say(&mut room, 2, "and a newcomer");
    server.type_line("quit");
    expect_a_clean_stop(server, &mut room);
}

#[test]
fn stage_1_cannot_be_stopped_from_its_console() {
    let mut server = start_server("07_chat_1_broadcast", &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    server.type_line("quit");
    // Stage 2 closes every client within milliseconds of quit; stage 1 has
    // no console, and its clients hear nothing.
    for client in &mut room {
        client.expect_silence(Duration::from_millis(300));
    }
    say(&mut room, 0, "are we still connected?");
    say(&mut room, 1, "we are");
}

/// The tutorial's way to stop accepting: close the listening socket from
/// another thread. On Linux the thread blocked in accept() stays blocked,
/// because the call holds on to the socket; the socket even goes on
/// listening, and the next client to connect is accepted.
#[cfg(target_os = "linux")]
#[test]
fn closing_a_listener_from_another_thread_does_not_wake_its_accept() {
    use std::net::TcpListener;
    use std::os::fd::{FromRawFd, IntoRawFd};
    use std::sync::mpsc;
    use std::time::Instant;

    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let address = listener.local_addr().expect("its address");
    let descriptor = listener.into_raw_fd();
    let (started, thread_id) = mpsc::channel();
    let (finished, accepted) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: the descriptor is a listening socket's, and this is its
        // only owner until the test closes the number below; forget() keeps
        // this thread from closing it a second time.
        let listener = unsafe { TcpListener::from_raw_fd(descriptor) };
        let _ = started.send(unsafe { libc::gettid() });
        let _ = finished.send(listener.accept().is_ok());
        std::mem::forget(listener);
    });
    let thread = thread_id.recv_timeout(TIMEOUT).expect("a thread");
    // Wait until the thread is inside accept4(), as /proc shows it.
    let syscall = format!("/proc/self/task/{thread}/syscall");
    let deadline = Instant::now() + TIMEOUT;
    while !std::fs::read_to_string(&syscall).is_ok_and(|text| {
        text.split(' ').next() == Some(&libc::SYS_accept4.to_string())
    }) {
        assert!(Instant::now() < deadline, "the thread never reached accept");
        std::thread::yield_now();
    }
    // SAFETY: closes the number only; the socket is the kernel's to keep.
    assert_eq!(unsafe { libc::close(descriptor) }, 0);
    assert!(
        accepted.recv_timeout(Duration::from_millis(300)).is_err(),
        "close() woke the thread blocked in accept()"
    );
    let _client = TcpStream::connect(address).expect("still listening");
    assert_eq!(
        accepted.recv_timeout(TIMEOUT).ok(),
        Some(true),
        "the closed listener accepted the next client"
    );
}
