//! Lesson 07, stage 5: the chat server keeps the chat protocol
//! (`socket_lessons::check::chat::LINES`), and what the stage adds: a
//! message is one whole line, however its bytes arrived. The flaw it fixes
//! is shown on stage 4's binary, which takes each read for a line. And the
//! flaw stage 6 fixes is shown here: a line that is not UTF-8 ends its
//! client.

mod common;

use common::chat::{Client, LINE, LINES, connect_small, join_room, send_flood};
use common::{assert_keeps_its_protocol, connect, start_server};
use socket2::SockRef;
use std::io::{BufRead, Read};
use std::time::Duration;

#[test]
fn the_server_keeps_the_chat_protocol_of_stage_5() {
    assert_keeps_its_protocol("07_chat_5_lines", &[]);
}

/// A room of two on `server`, both in step.
fn two_in(server: &common::Running) -> Vec<Client> {
    let mut room = Vec::new();
    join_room(&mut room, connect(server.address()));
    join_room(&mut room, connect(server.address()));
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
        member.expect_silence(Duration::from_millis(100));
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
    join_room(&mut room, connect_small(server.address()));
    join_room(&mut room, connect(server.address()));
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
