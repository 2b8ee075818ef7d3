//! Lesson 14: AF_UNIX sockets. A stream socket on a path and the socket file that outlives it,
//! datagram sockets whose addresses are paths (or nothing), socketpair, and SOCK_SEQPACKET's
//! kept boundaries against a stream's glued bytes. Every test reads what the experiment
//! printed; the last one checks that it leaves no file behind.

#![cfg(unix)]

mod common;

use predicates::prelude::*;
use socket_lessons::check::experiment::Answers;
use std::path::PathBuf;

const LESSON: &str = "14_unix_sockets";

fn run() -> Answers {
    common::run_experiment(LESSON)
}

/// Every answer printed after `label: `, in order (some labels come more than once).
fn all<'a>(answers: &'a Answers, label: &str) -> Vec<&'a str> {
    let prefix = format!("{label}: ");
    answers
        .lines()
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix))
        .collect()
}

#[test]
fn binding_a_unix_listener_makes_a_socket_file() {
    let answers = run();
    assert_eq!(
        answers.get("the listener's address").unwrap(),
        "chat.sock (a path)"
    );
    assert_eq!(answers.get("chat.sock is a socket file").unwrap(), "true");
}

#[test]
fn a_unix_client_is_unnamed_and_its_peer_is_the_path() {
    let answers = run();
    assert_eq!(answers.get("the client's own address").unwrap(), "unnamed");
    assert_eq!(
        answers.get("the client's peer").unwrap(),
        "chat.sock (a path)"
    );
    assert_eq!(
        answers.get("the server sees the client as").unwrap(),
        "unnamed"
    );
    assert_eq!(
        answers.get("the server read").unwrap(),
        "\"hello over a path\""
    );
    assert_eq!(answers.get("the client read").unwrap(), "\"hi back\"");
}

#[test]
fn the_socket_file_outlives_the_listener() {
    let answers = run();
    let expected = [
        ("chat.sock exists after the listener is closed", "true"),
        ("connect to the leftover chat.sock", "ECONNREFUSED"),
        ("bind chat.sock again", "EADDRINUSE"),
        ("bind chat.sock after remove_file", "Ok(())"),
    ];
    for (label, answer) in expected {
        answers.expect(label, answer).unwrap();
    }
}

#[test]
fn std_refuses_a_unix_path_longer_than_sun_path() {
    run()
        .expect("bind a 200-byte name", "InvalidInput: path must be shorter")
        .unwrap();
}

#[test]
fn a_unix_datagram_comes_from_its_senders_path() {
    let answers = run();
    assert_eq!(
        all(&answers, "from"),
        ["a.sock (a path)", "b.sock (a path)"]
    );
    assert_eq!(answers.get("a.sock received").unwrap(), "\"pong\"");
}

#[test]
fn an_unbound_unix_datagram_sender_is_unnamed() {
    let answers = run();
    assert_eq!(
        all(&answers, "b.sock received"),
        ["\"ping\"", "\"who am I?\""]
    );
    assert_eq!(answers.get("from an unbound sender").unwrap(), "unnamed");
}

#[test]
fn a_socketpair_is_connected_and_unnamed() {
    let answers = run();
    assert_eq!(answers.get("the left end's address").unwrap(), "unnamed");
    assert_eq!(answers.get("its peer's address").unwrap(), "unnamed");
    assert_eq!(answers.get("the right end read").unwrap(), "\"ping\"");
    assert_eq!(answers.get("the left end read").unwrap(), "\"pong\"");
    assert_eq!(answers.get("datagram pair recv #1").unwrap(), "\"one\"");
    assert_eq!(answers.get("datagram pair recv #2").unwrap(), "\"two\"");
}

#[test]
fn seqpacket_keeps_each_messages_boundaries() {
    let answers = run();
    assert_eq!(answers.get("seqpacket recv #1").unwrap(), "\"one\"");
    assert_eq!(answers.get("seqpacket recv #2").unwrap(), "\"two\"");
    assert_eq!(answers.get("seqpacket recv #3").unwrap(), "\"three\"");
}

#[test]
fn a_stream_socket_glues_messages_together() {
    assert_eq!(
        run().get("stream read after three writes").unwrap(),
        "\"onetwothree\""
    );
}

#[test]
fn a_seqpacket_message_too_long_for_the_buffer_is_cut_and_its_rest_dropped() {
    let answers = run();
    assert_eq!(
        answers.get("seqpacket recv of 10 bytes").unwrap(),
        "\"xxxxxxxxxx\""
    );
    assert_eq!(answers.get("is_truncated").unwrap(), "true");
    assert_eq!(answers.get("the receive after it").unwrap(), "\"next\"");
}

#[test]
#[cfg(target_os = "linux")]
fn linux_takes_msg_eor_on_seqpacket_but_never_reports_an_end_of_record() {
    let answers = run();
    answers.expect("send with MSG_EOR", "Ok(7)").unwrap();
    assert_eq!(answers.get("received").unwrap(), "\"the end\"");
    assert_eq!(answers.get("is_end_of_record").unwrap(), "false");
}

#[test]
fn a_seqpacket_socket_reads_an_empty_message_once_its_peer_closed() {
    assert_eq!(
        run().get("seqpacket recv after the peer closed").unwrap(),
        "\"\""
    );
}

/// A directory of this test's own, for `--dir`; removed when dropped.
struct TestDirectory(PathBuf);

impl Drop for TestDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn the_lesson_leaves_no_socket_file_behind() {
    let directory = TestDirectory(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("14-unix-sockets-{}", std::process::id())),
    );
    std::fs::create_dir_all(&directory.0).unwrap();
    common::command(LESSON)
        .arg("--dir")
        .arg(&directory.0)
        .assert()
        .success()
        .stdout(predicates::str::contains("remove_dir_all: Ok(())"));
    let left: Vec<_> = std::fs::read_dir(&directory.0)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(left.is_empty(), "the lesson left {left:?}");
}

#[test]
fn a_socket_directory_that_cannot_be_made_is_named_in_one_line() {
    // `--dir` pointing at a file: making the socket directory fails at once.
    let directory = TestDirectory(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("14-unix-sockets-file-{}", std::process::id())),
    );
    std::fs::write(&directory.0, b"not a directory").unwrap();
    common::command(LESSON)
        .arg("--dir")
        .arg(&directory.0)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "cannot make a directory for the socket files in",
        ))
        .stderr(predicate::str::contains("panicked").not());
}
