//! The exercises, checked: one test per exercise in `exercises/`, named after it, that runs the
//! checks of the lesson it is drawn from on the exercise's binary. It passes once the exercise
//! is done, and until then fails with each broken promise: what was expected, what came, and
//! the section of the chapter to read.
//!
//! ```console
//! cargo test --test exercises ex03_ctime_server
//! cargo test --test exercises            # every exercise
//! ```
//!
//! A plain `cargo test` skips this file (`test = false` in Cargo.toml): the exercises ship
//! unsolved, so these tests fail until you solve them. `tests/exercises_ship_unsolved.rs`
//! is the one that runs every time, and proves that they do.

mod exercise_support;

use exercise_support::{exercise, failed, report, run_checks};

/// Fails unless the exercise `name` passes every check of its lesson.
fn assert_done(name: &str) {
    let (exercise, lesson) = exercise(name);
    let verdicts = run_checks(lesson, name);
    let failed = failed(&verdicts);
    assert!(
        failed == 0,
        "\n{name} does not pass the checks of {} yet: {failed} of {} failed.\n\
         \n{}\nEdit exercises/{name}.rs; the exercise is set in {}.\n",
        lesson.name,
        verdicts.len(),
        report(&verdicts),
        exercise.section,
    );
}

#[test]
fn ex01_bind_listen_accept() {
    assert_done("ex01_bind_listen_accept");
}

#[test]
fn ex02_talk_client() {
    assert_done("ex02_talk_client");
}

#[test]
fn ex03_ctime_server() {
    assert_done("ex03_ctime_server");
}

#[test]
fn ex04_makefile_server() {
    assert_done("ex04_makefile_server");
}

#[test]
fn ex05_udp_server() {
    assert_done("ex05_udp_server");
}

#[test]
fn ex06_threaded_server() {
    assert_done("ex06_threaded_server");
}

#[test]
fn ex07_chat_3_leave() {
    assert_done("ex07_chat_3_leave");
}

#[test]
fn ex07_chat_4_lock() {
    assert_done("ex07_chat_4_lock");
}

#[test]
fn ex07_chat_6_robust() {
    assert_done("ex07_chat_6_robust");
}

#[test]
fn ex08_hmac_server() {
    assert_done("ex08_hmac_server");
}

#[test]
fn ex09_socket_options() {
    assert_done("ex09_socket_options");
}

#[test]
fn ex10_timeouts_nonblocking() {
    assert_done("ex10_timeouts_nonblocking");
}

#[test]
fn ex12_framing() {
    assert_done("ex12_framing");
}
