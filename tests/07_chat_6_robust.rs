//! Lesson 07, stage 6: the finished chat server keeps the chat protocol
//! (`socket_lessons::check::chat::ROBUST`), and what the stage adds: nothing
//! a client sends or fails to read hurts the others. A line longer than
//! `--max-line` ends its sender's session with an error line, bytes that are
//! not UTF-8 are shown as U+FFFD, each client has a writer thread fed by a
//! queue of `--queue` messages, and no connection leaves a thread or a file
//! descriptor behind. The measures of memory, descriptors and threads read
//! Linux's /proc.

mod common;

use common::chat::{Client, connect_small, join_room, say};
use common::{TIMEOUT, assert_keeps_its_protocol, connect, start_server};
use socket_lessons::chat;
use socket2::SockRef;
use std::collections::HashMap;
use std::io::{BufRead, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

/// A field of /proc/PID/status in KiB, such as `VmRSS`.
#[cfg(target_os = "linux")]
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the server's status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no {field} in the status"))
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
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let now = measure();
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {now}, not back to {expected} within {TIMEOUT:?}"
        );
        thread::yield_now();
    }
}

/// A room of `count` clients on `server`, all in step.
fn room_of(server: &common::Running, count: usize) -> Vec<Client> {
    let mut room = Vec::new();
    for _ in 0..count {
        join_room(&mut room, connect(server.address()));
    }
    room
}

/// Reads until the server closes, and returns what came. A reset counts as
/// a close.
fn read_to_close(stream: &mut impl Read) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return received,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                return received;
            }
            Err(error) => panic!("no close ({error}) after {received:?}"),
        }
    }
}

#[test]
fn the_server_keeps_the_chat_protocol_of_stage_6() {
    assert_keeps_its_protocol("07_chat_6_robust", &[]);
}

/// Three clients each say a line; each reads all three, its own included,
/// under a header of the time now and the sender's address, exactly.
#[test]
fn every_client_receives_every_line_under_the_exact_header() {
    let server = start_server("07_chat_6_robust", &[]);
    let mut room = room_of(&server, 3);
    let senders: Vec<SocketAddr> = room.iter().map(|m| m.address).collect();
    for (index, &sender) in senders.iter().enumerate() {
        let line = format!("line {index} from {sender}\n");
        room[index].send(line.as_bytes());
        for member in &mut room {
            let mut header = String::new();
            member.reader.read_line(&mut header).expect("a header");
            let parsed = chat::parse_header(header.trim_end_matches('\n'))
                .unwrap_or_else(|| panic!("not a header: {header:?}"));
            assert_eq!(header, format!("{} {sender}\n", parsed.time));
            assert!(chat::is_now(&parsed.time), "not now: {header:?}");
            let mut received = String::new();
            member.reader.read_line(&mut received).expect("a line");
            assert_eq!(received, line);
        }
    }
}

/// A client that sends `quit` is closed, one that closes its end is
/// forgotten; neither is written to again, and the room goes on.
#[test]
fn quit_and_a_disconnect_each_remove_a_client() {
    let mut server = start_server("07_chat_6_robust", &[]);
    let mut room = room_of(&server, 3);
    let mut carol = room.pop().expect("carol");
    let mut bob = room.pop().expect("bob");
    carol.send(b"quit\n");
    carol.expect_close();
    server.expect(&format!("closed: {}", carol.address));
    let (bob_address, bob_stream) = (bob.address, bob.writer);
    bob_stream
        .shutdown(std::net::Shutdown::Write)
        .expect("bob's FIN");
    server.expect(&format!("closed: {bob_address}"));
    // The server closed its end too: bob reads the end of the stream.
    assert!(read_to_close(&mut bob.reader).is_empty());
    let alice = &mut room[0];
    alice.send(b"alone now\n");
    alice.expect_message(alice.address, "alone now");
    server.type_line("quit");
    let (status, stdout, _) = server.wait();
    assert!(status.success(), "{status}");
    // Nothing went wrong writing to the two who left: no drop, no failure.
    for line in &stdout {
        assert!(
            !line.contains("dropping") && !line.contains("cannot send"),
            "{line}"
        );
    }
}

/// `quit` on the console with clients attached, one of them in the middle
/// of a line: `stopping`, each client closed, status 0, within a second.
#[test]
fn quit_on_the_console_exits_0_within_a_second_with_clients_attached() {
    let mut server = start_server("07_chat_6_robust", &[]);
    let mut room = room_of(&server, 3);
    room[2].send(b"half a li");
    let typed = Instant::now();
    server.type_line("quit");
    server.expect("stopping");
    for member in &mut room {
        member.expect_close();
    }
    let (status, stdout, _) = server.wait();
    let took = typed.elapsed();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(1), "it took {took:?} to exit");
    for member in &room {
        let closed = format!("closed: {}", member.address);
        assert!(stdout.iter().any(|line| line.contains(&closed)), "{closed}");
    }
}

/// A client that never reads, while 20 others each send 50 lines of 1 KiB
/// and read everything: each of the 20 gets all 1,000 lines, each sender's
/// in order. The one that does not read holds up nobody.
#[test]
fn a_client_that_never_reads_holds_up_none_of_twenty_talkers() {
    const TALKERS: usize = 20;
    const LINES_EACH: usize = 50;
    let mut server = start_server("07_chat_6_robust", &[]);
    let room = room_of(&server, TALKERS);
    // In the table once `connected` is logged; it reads nothing, ever.
    let silent = connect_small(server.address());
    server.expect(&format!(
        "connected: {}",
        silent.local_addr().expect("its address")
    ));
    let talkers: Vec<_> = room
        .into_iter()
        .map(|mut member| {
            thread::spawn(move || {
                let padding = "x".repeat(1024 - 4);
                for index in 0..LINES_EACH {
                    member.send(format!("{index:02} {padding}\n").as_bytes());
                }
                let mut next: HashMap<SocketAddr, usize> = HashMap::new();
                for _ in 0..TALKERS * LINES_EACH {
                    let (from, line) = member.read_message();
                    let expected = next.entry(from).or_default();
                    assert_eq!(
                        line,
                        format!("{expected:02} {padding}"),
                        "from {from}"
                    );
                    *expected += 1;
                }
                assert_eq!(next.len(), TALKERS);
                assert!(next.values().all(|&got| got == LINES_EACH));
            })
        })
        .collect();
    for talker in talkers {
        talker.join().expect("a talker got all 1,000 lines");
    }
    drop(silent);
}

/// A line of 32 MiB with no newline: the server holds at most the limit of
/// it (its peak resident memory grows by far less than the line), ends that
/// client, and goes on serving the others.
#[cfg(target_os = "linux")]
#[test]
fn a_32_mib_line_leaves_memory_bounded_and_the_server_serving() {
    const SIZE: usize = 32 * 1024 * 1024;
    let mut server = start_server("07_chat_6_robust", &[]);
    let pid = server.pid();
    let mut room = room_of(&server, 2);
    let before = status_kib(pid, "VmRSS");
    let mut mallory = connect(server.address());
    let gone = mallory.local_addr().expect("its address");
    let mut writer = mallory.try_clone().expect("a handle");
    let sending = thread::spawn(move || writer.write_all(&vec![b'x'; SIZE]));
    server.expect(&format!("lost {gone}: sent a line longer than 65536 bytes"));
    // The error line, then the close. The rest of the line, unread, makes
    // the close a reset, but on Linux what arrived before it is still ours
    // to read.
    let received = read_to_close(&mut mallory);
    assert_eq!(
        String::from_utf8_lossy(&received),
        "error: line longer than 65536 bytes\n"
    );
    let sent = sending.join().expect("the sending thread ends");
    assert!(sent.is_err(), "the server took all 32 MiB");
    let peak = status_kib(pid, "VmHWM");
    let after = status_kib(pid, "VmRSS");
    eprintln!("VmRSS before {before} KiB, after {after} KiB, peak {peak} KiB");
    assert!(
        peak < before + 8 * 1024,
        "resident memory went from {before} KiB to a peak of {peak} KiB"
    );
    for index in 0..2 {
        say(&mut room, index, "still serving");
    }
    join_room(&mut room, connect(server.address()));
}

/// With `--max-line 16`, a longer line gets its sender the error line and
/// then a clean close (the server had read all it was sent, so no reset),
/// and nobody else hears of it. A line of 16 bytes still goes out.
#[test]
fn a_line_over_max_line_gets_the_error_line_then_a_close() {
    let mut server = start_server("07_chat_6_robust", &["--max-line", "16"]);
    let mut room = room_of(&server, 0);
    // "hello from IP:PORT" is over 16 bytes: join with a short line.
    for newcomer in 0..2 {
        room.push(Client::new(connect(server.address())));
        say(&mut room, newcomer, "short enough");
    }
    let alice = room[0].address;
    room[0].send(b"this line is too long\n");
    let received = read_to_close(&mut room[0].reader);
    assert_eq!(
        String::from_utf8_lossy(&received),
        "error: line longer than 16 bytes\n"
    );
    server.expect(&format!("lost {alice}: sent a line longer than 16 bytes"));
    // The newline is not counted: a line of exactly 16 bytes goes out.
    let bob = &mut room[1];
    bob.send(b"sixteen bytes!!!\n");
    bob.expect_message(bob.address, "sixteen bytes!!!");
}

/// Bytes that are not UTF-8 go out as U+FFFD, and the sender goes on.
#[test]
fn invalid_utf8_is_broadcast_as_replacement_characters_and_stops_nothing() {
    let mut server = start_server("07_chat_6_robust", &[]);
    let mut room = room_of(&server, 2);
    let alice = room[0].address;
    room[0].send(b"caf\xe9 \xff\xfe\n");
    server.expect(&format!(
        "received 8 bytes from {alice}: \"caf\u{FFFD} \u{FFFD}\u{FFFD}\\n\""
    ));
    for member in &mut room {
        member.expect_message(alice, "caf\u{FFFD} \u{FFFD}\u{FFFD}");
    }
    room[0].send(b"still here\n");
    for member in &mut room {
        member.expect_message(alice, "still here");
    }
}

/// A client that resets its connection in the middle of a line is logged
/// as lost; its half line goes nowhere, and the others go on.
#[test]
fn a_reset_in_the_middle_of_a_line_loses_that_client_only() {
    let mut server = start_server("07_chat_6_robust", &[]);
    let mut room = room_of(&server, 3);
    let carol = room.pop().expect("carol");
    let gone = carol.address;
    let mut carol_writer = carol.writer;
    carol_writer.write_all(b"half a li").expect("send");
    // SO_LINGER of zero makes the close a reset, not a FIN.
    SockRef::from(&carol_writer)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(carol.reader);
    drop(carol_writer);
    let lost = server.expect(&format!("lost {gone}: "));
    assert!(lost.contains("reset"), "{lost}");
    for index in 0..2 {
        say(&mut room, index, "carol is gone");
    }
}

/// 1,000 clients come and go, most by `quit`, some by closing and some by
/// reset: the server's open file descriptors come back to what they were.
/// (A client that waits for the server's close after its `quit` leaves the
/// TIME_WAIT state on the server's side; thousands of them on the client's
/// side slow down every connect on Linux, so only a few close first.)
#[cfg(target_os = "linux")]
#[test]
fn a_thousand_connections_leave_no_file_descriptors_behind() {
    let server = start_server("07_chat_6_robust", &[]);
    let pid = server.pid();
    let before = count(pid, "fd");
    // Eight clients at a time, 125 each, one after the other.
    let address = server.address();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                for index in 0..125 {
                    let mut client = connect(address);
                    match index % 50 {
                        0 => drop(client),
                        1 => SockRef::from(&client)
                            .set_linger(Some(Duration::ZERO))
                            .expect("SO_LINGER"),
                        _ => {
                            client.write_all(b"quit\n").expect("send");
                            assert!(read_to_close(&mut client).is_empty());
                        }
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("125 clients came and went");
    }
    settles_at(before, "open file descriptors", || count(pid, "fd"));
    eprintln!(
        "file descriptors before {before}, after {}",
        count(pid, "fd")
    );
}

/// Each client costs two threads, a reader and a writer; once the clients
/// have left, the server is back to its two idle threads: the console (the
/// main thread) and the acceptor.
#[cfg(target_os = "linux")]
#[test]
fn threads_return_to_their_idle_count_after_clients_leave() {
    let server = start_server("07_chat_6_robust", &[]);
    let pid = server.pid();
    let mut room = room_of(&server, 10);
    assert_eq!(count(pid, "task"), 2 + 2 * 10);
    for (index, member) in room.iter_mut().enumerate() {
        if index % 2 == 0 {
            member.send(b"quit\n");
        }
    }
    drop(room);
    settles_at(2, "threads", || count(pid, "task"));
}

/// One line of 16 KiB, without its newline: a few hundred of them fill
/// any socket buffers the OS gives a client that does not read.
fn big_line() -> String {
    "x".repeat(16 * 1024 - 1)
}

/// Bob says `lines` lines of 16 KiB, each only once his echo of the one
/// before has come back: his own queue never holds more than one message.
fn talk_in_step(bob: &mut Client, lines: usize) {
    let line = big_line();
    for _ in 0..lines {
        bob.send(format!("{line}\n").as_bytes());
        bob.expect_message(bob.address, &line);
    }
}

/// With `--queue 4`, a client that does not read falls four messages
/// behind once its socket buffers are full, and is dropped as too far
/// behind; the talker gets every one of his lines back meanwhile.
#[test]
fn with_queue_4_a_non_reader_is_dropped_and_the_talker_gets_everything() {
    let mut server = start_server("07_chat_6_robust", &["--queue", "4"]);
    let mut room = room_of(&server, 1);
    let silent = connect_small(server.address());
    let silent_address = silent.local_addr().expect("its address");
    server.expect(&format!("connected: {silent_address}"));
    talk_in_step(&mut room[0], 512);
    server.expect(&format!("dropping {silent_address}: too far behind"));
    server.expect(&format!("closed: {silent_address}"));
    drop(silent);
}

/// A client that stops reading and then resets: its writer, blocked on
/// the full socket, fails, and the server says it cannot send to it.
#[test]
fn a_failed_write_is_logged_as_cannot_send() {
    let mut server = start_server("07_chat_6_robust", &[]);
    let mut room = room_of(&server, 1);
    let silent = connect_small(server.address());
    let silent_address = silent.local_addr().expect("its address");
    server.expect(&format!("connected: {silent_address}"));
    // More than its buffers take, fewer messages than its queue holds: its
    // writer is left waiting on the full socket.
    talk_in_step(&mut room[0], 512);
    SockRef::from(&silent)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(silent);
    // Its writer fails; its reader then ends, by the reset or by the
    // writer's shutdown.
    server.expect(&format!("cannot send to {silent_address}: "));
    let bob = &mut room[0];
    bob.send(b"on we go\n");
    bob.expect_message(bob.address, "on we go");
}
