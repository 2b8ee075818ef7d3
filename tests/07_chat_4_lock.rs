//! Lesson 07, stage 4: the chat server keeps the chat protocol
//! (`socket_lessons::check::chat::LOCK`), and what the stage adds: a
//! broadcast writes with the table's lock released, and a client that stops
//! reading is dropped. The flaw it fixes is shown on stage 3's binary: one
//! client that does not read stalls everyone.

mod common;

use common::chat::{
    Client, LINE, LINES, connect_small, join_room, received, send_flood,
};
use common::{TIMEOUT, assert_keeps_its_protocol, connect, start_server};
use socket2::SockRef;
use std::io::{ErrorKind, Read};
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

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
    member: &Client,
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
    join_room(&mut room, connect_small(server.address()));
    join_room(&mut room, connect(server.address()));
    join_room(&mut room, connect(server.address()));
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
    server.expect(&received(carol.address, "quit"));
    assert!(
        carol_closed
            .recv_timeout(Duration::from_millis(1000))
            .is_err(),
        "carol was closed: her thread could take the lock"
    );
    // And still nothing more for bob, 1.5 s after his echoes stopped.
    bob.expect_silence(Duration::from_millis(100));

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
    join_room(&mut room, connect_small(server.address()));
    join_room(&mut room, connect(server.address()));
    join_room(&mut room, connect(server.address()));
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
    join_room(&mut room, connect(server.address()));
    let alice = &mut room[0];
    let me = alice.address;
    server.expect(&format!("connected: {me}"));
    server.expect(&received(me, &format!("hello from {me}")));
    alice.send(b"quit\n");
    alice.expect_close();
    server.expect(&received(me, "quit"));
    server.expect(&format!("closed: {me}"));
}

/// A client that resets its connection is logged as lost, with the error,
/// and the others go on.
#[test]
fn logs_a_client_that_resets_as_lost_and_goes_on() {
    let mut server = start_server("07_chat_4_lock", &[]);
    let mut room = Vec::new();
    join_room(&mut room, connect(server.address()));
    join_room(&mut room, connect(server.address()));
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
    join_room(&mut room, connect(server.address()));
    join_room(&mut room, connect(server.address()));
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
