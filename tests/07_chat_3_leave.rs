//! Lesson 07, stage 3: the server that lets clients leave keeps the chat
//! protocol so far (`socket_lessons::check::chat::LEAVE`: stage 2's, and a
//! client that sends `quit` or closes is closed, its `quit` not broadcast),
//! and what the program adds: a client that leaves is logged `closed` at
//! once and taken out of the table, so no later broadcast fails to reach it;
//! a reset is logged and changes nothing for the others. Stage 2, beside it,
//! broadcasts a `quit` line as a message and keeps writing to a client that
//! has gone.

mod common;

use common::chat::{Client, received, say};
use common::{Running, start_server};
use std::time::Duration;

const STAGE: &str = "07_chat_3_leave";

#[test]
fn keeps_the_leave_protocol() {
    common::assert_keeps_its_protocol(STAGE, &[]);
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
    leaving.send(b"quit\n");
    leaving.expect_close();
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
    socket2::SockRef::from(&rude.writer)
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
    // The write of "one" provokes a reset, which a loaded machine may take
    // a moment to process: a few more lines make sure a later write meets it.
    for line in ["one", "two", "three", "four", "five"] {
        say(&mut room, 0, line);
    }
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
