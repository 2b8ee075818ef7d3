//! Lesson 07, stage 7: the fast chat server keeps the chat protocol
//! (`socket_lessons::check::chat::ROBUST`, stage 6's promises), and what the
//! stage adds: each writer sends many messages per `write`, a client too far
//! behind the log is dropped while the others go on, hundreds of clients
//! lose nothing, and the listening socket holds far more than std's 128
//! connections not yet accepted. The counts of writes read Linux's /proc.

mod common;

use common::chat::{Client, connect_small, join_room, say};
use common::{TIMEOUT, assert_keeps_its_protocol, connect, start_server};
use std::collections::HashSet;
use std::io::BufRead;
use std::net::{SocketAddr, TcpStream};
use std::thread;

const NAME: &str = "07_chat_7_batching";

#[test]
fn stage_7_keeps_the_chat_protocol() {
    assert_keeps_its_protocol(NAME, &[]);
}

/// A room of `count` clients on `server`, all in step.
fn room_of(server: &common::Running, count: usize) -> Vec<Client> {
    let mut room = Vec::new();
    for _ in 0..count {
        join_room(&mut room, connect(server.address()));
    }
    room
}

/// How many TCP segments carrying data `stream` has received (Linux's
/// `tcpi_data_segs_in`, from `getsockopt(TCP_INFO)`). On loopback a server's
/// `send` of up to 64 KiB, with `TCP_NODELAY`, arrives as one segment.
#[cfg(target_os = "linux")]
fn data_segments_in(stream: &TcpStream) -> u32 {
    use std::os::fd::AsRawFd;
    // SAFETY: tcp_info is plain integers, for which zero is a valid value;
    // getsockopt writes at most `length` bytes into it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut length = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let result = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut length,
        )
    };
    assert_eq!(result, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    info.tcpi_data_segs_in
}

/// Reads lines until `count` messages have come, and returns their lines
/// (without the header lines), as they came.
fn read_lines(client: &mut Client, count: usize) -> Vec<String> {
    let mut lines = Vec::with_capacity(count);
    let mut line = String::new();
    while lines.len() < count {
        for _ in 0..2 {
            line.clear();
            let read = client.reader.read_line(&mut line).expect("a line");
            assert!(read > 0, "closed after {} messages", lines.len());
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// 20 clients each send 10 lines in one piece, all at once: 4,200
/// deliveries to a room of 21, which arrive in far fewer TCP segments than
/// messages (each client counts its own, with TCP_INFO).
#[cfg(target_os = "linux")]
#[test]
fn a_burst_arrives_in_far_fewer_segments_than_messages() {
    const TALKERS: usize = 20;
    const LINES_EACH: usize = 10;
    let server = start_server(NAME, &["--quiet"]);
    let mut room = room_of(&server, TALKERS + 1);
    let mut listeners = Vec::new();
    for (index, mut member) in room.drain(..).enumerate() {
        let before = data_segments_in(member.reader.get_ref());
        if index < TALKERS {
            let burst: String = (0..LINES_EACH)
                .map(|line| format!("{index} {line}\n"))
                .collect();
            member.send(burst.as_bytes());
        }
        listeners.push(thread::spawn(move || {
            let lines = read_lines(&mut member, TALKERS * LINES_EACH);
            assert_eq!(lines.len(), TALKERS * LINES_EACH);
            data_segments_in(member.reader.get_ref()) - before
        }));
    }
    let segments: u32 = listeners
        .into_iter()
        .map(|listener| listener.join().expect("every message arrives"))
        .sum();
    let deliveries = (TALKERS + 1) * TALKERS * LINES_EACH;
    eprintln!("{deliveries} messages in {segments} segments");
    assert!(
        segments as usize * 4 <= deliveries,
        "{deliveries} messages came in {segments} segments"
    );
}

/// One line of 16 KiB, without its newline: a few hundred of them fill
/// any socket buffers the OS gives a client that does not read.
fn big_line() -> String {
    "x".repeat(16 * 1024 - 1)
}

/// With `--queue 4`, a client that does not read falls more than four
/// messages behind the log once its socket buffers are full, and is
/// dropped; the talker, who reads each of his lines back before he says
/// the next, gets every one of them meanwhile.
#[test]
fn with_queue_4_a_client_far_behind_is_dropped_and_the_talker_goes_on() {
    let mut server = start_server(NAME, &["--queue", "4"]);
    let mut room = room_of(&server, 1);
    let silent = connect_small(server.address());
    let silent_address = silent.local_addr().expect("its address");
    server.expect(&format!("connected: {silent_address}"));
    let line = big_line();
    let bob = &mut room[0];
    for _ in 0..512 {
        bob.send(format!("{line}\n").as_bytes());
        bob.expect_message(bob.address, &line);
    }
    server.expect(&format!("dropping {silent_address}: too far behind"));
    server.expect(&format!("closed: {silent_address}"));
    say(&mut room, 0, "and on we go");
    drop(silent);
}

/// 200 clients each send 10 lines at once: every client gets all 2,000,
/// each exactly once, each sender's in the order sent.
#[test]
fn two_hundred_clients_times_ten_lines_all_arrive() {
    const CLIENTS: usize = 200;
    const LINES_EACH: usize = 10;
    let mut server = start_server(NAME, &["--quiet"]);
    let room: Vec<Client> =
        (0..CLIENTS).map(|_| Client::join(&mut server)).collect();
    let mut listeners = Vec::new();
    for (index, mut member) in room.into_iter().enumerate() {
        let burst: String = (0..LINES_EACH)
            .map(|line| format!("{index} {line}\n"))
            .collect();
        member.send(burst.as_bytes());
        listeners.push(thread::spawn(move || {
            let lines = read_lines(&mut member, CLIENTS * LINES_EACH);
            let mut next = vec![0usize; CLIENTS];
            for line in &lines {
                let (sender, number) = line.split_once(' ').expect("N M");
                let sender: usize = sender.parse().expect("a sender");
                let number: usize = number.parse().expect("a number");
                assert_eq!(number, next[sender], "from {sender}");
                next[sender] += 1;
            }
            let distinct: HashSet<&String> = lines.iter().collect();
            assert_eq!(distinct.len(), CLIENTS * LINES_EACH);
        }));
    }
    for listener in listeners {
        listener.join().expect("a client got all 2,000 lines");
    }
}

/// Stops the process (SIGSTOP) or lets it go on (SIGCONT), with kill(1).
#[cfg(target_os = "linux")]
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Connects up to `count` clients one after the other, while the server is
/// stopped and accepts none, and returns how many connected before the
/// first that did not within half a second: the OS completes handshakes
/// for a listening socket only while its backlog has room.
#[cfg(target_os = "linux")]
fn connect_while_stopped(server: &common::Running, count: usize) -> usize {
    let address: SocketAddr = server.address();
    signal(server.pid(), "-STOP");
    let mut connected = Vec::new();
    for _ in 0..count {
        let wait = TIMEOUT / 6;
        match TcpStream::connect_timeout(&address, wait) {
            Ok(stream) => connected.push(stream),
            Err(_) => break,
        }
    }
    signal(server.pid(), "-CONT");
    connected.len()
}

/// With the default `--backlog` (1024), 300 clients connect to a server
/// that accepts none of them meanwhile: the OS holds them all.
#[cfg(target_os = "linux")]
#[test]
fn three_hundred_connections_wait_in_the_backlog_of_a_stopped_server() {
    let server = start_server(NAME, &["--quiet"]);
    let connected = connect_while_stopped(&server, 300);
    assert_eq!(connected, 300);
}

/// With `--backlog 128`, std's own value, the same stopped server holds
/// 129 (Linux lets the queue grow one past the backlog), and the next
/// client's handshake goes unanswered.
#[cfg(target_os = "linux")]
#[test]
fn with_backlog_128_the_130th_connection_waits_unanswered() {
    let server = start_server(NAME, &["--quiet", "--backlog", "128"]);
    let connected = connect_while_stopped(&server, 300);
    eprintln!("{connected} connections completed");
    assert!((128..=130).contains(&connected), "{connected} connected");
}

/// How many entries a directory of /proc/PID has: `fd` for the open file
/// descriptors, `task` for the threads.
#[cfg(target_os = "linux")]
fn count(pid: u32, what: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/{what}"))
        .expect("the server's /proc directory")
        .count()
}

/// Polls `measure` until it gives `expected`, for at most [`TIMEOUT`]: the
/// server's last closes and thread exits take a moment after ours.
#[cfg(target_os = "linux")]
fn settles_at(expected: usize, what: &str, measure: impl Fn() -> usize) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let now = measure();
        if now == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {now}, not back to {expected} within {TIMEOUT:?}"
        );
        thread::yield_now();
    }
}

/// 300 clients, 30 at a time, each says a line and leaves: by `quit`, by
/// closing, or by a reset. Each writer takes its client out of the room and
/// ends: the server comes back to its two idle threads (the console and
/// the acceptor) and to the file descriptors it had.
#[cfg(target_os = "linux")]
#[test]
fn clients_that_come_and_go_leave_no_thread_or_descriptor_behind() {
    use socket2::SockRef;
    use std::io::Write;
    use std::time::Duration;
    let server = start_server(NAME, &["--quiet"]);
    let pid = server.pid();
    // The ready line comes before the acceptor thread starts.
    settles_at(2, "threads", || count(pid, "task"));
    let descriptors = count(pid, "fd");
    let address = server.address();
    let batches: Vec<_> = (0..10)
        .map(|batch| {
            thread::spawn(move || {
                for index in 0..30 {
                    let mut client = Client::new(connect(address));
                    let line = format!("{batch} {index}");
                    client.send(format!("{line}\n").as_bytes());
                    // Its own line back: it was in the room.
                    loop {
                        let (from, got) = client.read_message();
                        if from == client.address && got == line {
                            break;
                        }
                    }
                    match index % 3 {
                        0 => client.writer.write_all(b"quit\n").expect("quit"),
                        1 => SockRef::from(&client.writer)
                            .set_linger(Some(Duration::ZERO))
                            .expect("SO_LINGER"),
                        _ => {}
                    }
                }
            })
        })
        .collect();
    for batch in batches {
        batch.join().expect("30 clients came and went");
    }
    settles_at(2, "threads", || count(pid, "task"));
    settles_at(descriptors, "file descriptors", || count(pid, "fd"));
}
