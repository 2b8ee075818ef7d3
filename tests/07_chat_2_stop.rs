//! Lesson 07, stage 2: the server that stops keeps the chat protocol so far
//! (`socket_lessons::check::chat::STOP`: stage 1's broadcast, and `quit` on
//! its console closes every client and exits with status 0), and what the
//! program adds: its log ends with `stopping` and a `closed` line per client,
//! the end of its console's input leaves it serving without a console, and
//! any other line typed gets a word and changes nothing. Stage 1, beside it,
//! has no console at all.

mod common;

use common::chat::{Client, say};
use common::{Running, TIMEOUT, start_server};
use std::net::TcpStream;
use std::time::Duration;

const STAGE: &str = "07_chat_2_stop";

#[test]
fn keeps_the_stop_protocol() {
    common::assert_keeps_its_protocol(STAGE, &[]);
}

/// Every client sees its connection end; the server exits with status 0, and
/// its log ends with `stopping`, then a `closed` line for each client.
fn expect_a_clean_stop(server: Running, room: &mut [Client]) {
    for client in room.iter_mut() {
        client.expect_close();
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
fn the_end_of_its_console_input_leaves_it_serving_until_ctrl_c() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    say(&mut room, 1, "hello");
    server.close_stdin(); // Ctrl-D at a terminal, or `< /dev/null`
    server.expect("no console any more: Ctrl-C stops the server");
    say(&mut room, 0, "still here?");
    room.push(Client::join(&mut server));
    say(&mut room, 2, "and a newcomer");
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
