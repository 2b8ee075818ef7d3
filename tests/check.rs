//! `cargo run -- check`: it passes our own lessons and any command that speaks the protocol,
//! fails each of four wrong ctime servers (examples/wrong_ctime_server.rs) with a reason a
//! learner understands, checks client lessons too, and leaves no process behind, even on
//! Ctrl-C.

mod common;

use predicates::prelude::*;
use socket_lessons::check::{self, Target};
use socket_lessons::index;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `lessons check …`, run as a learner runs it, but without rebuilding under Cargo: the
/// binaries of this test run are already built.
fn check_command() -> assert_cmd::Command {
    let mut command = common::command("lessons");
    command.env_remove("CARGO").arg("check");
    command
}

/// The example program with four wrong ctime servers, built once for this test run.
fn wrong_server() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let built = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--example", "wrong_ctime_server"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(built.success(), "the example wrong_ctime_server builds");
        let lessons = common::binary("lessons");
        let directory = lessons.parent().expect("target/debug");
        let path: PathBuf = directory.join("examples").join(format!(
            "wrong_ctime_server{}",
            std::env::consts::EXE_SUFFIX
        ));
        path.to_string_lossy().into_owned()
    })
}

/// The first check of lesson 03's suite, run on the wrong server making `mistake`.
fn first_ctime_check_on(mistake: &str) -> check::Failure {
    let lesson = index::find("03_ctime_server").expect("in the index");
    let argv: Vec<String> =
        [wrong_server(), "--mistake", mistake, "--port", "{port}"]
            .map(String::from)
            .to_vec();
    let target = Target::command(lesson, &argv).expect("a command");
    let answers_a_chunk = &lesson.checks[0];
    (answers_a_chunk.run)(&target).expect_err("a wrong server fails")
}

#[test]
fn passes_our_own_server_and_says_so_check_by_check() {
    check_command()
        .arg("03_ctime_server")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "passed answers a chunk with the time, then the chunk",
        ))
        .stdout(predicate::str::contains("4 passed, 0 failed"));
}

#[test]
fn passes_any_command_that_speaks_the_protocol_on_its_port() {
    // Our own server, named as a learner names any program: a command with {port}.
    let server = common::binary("03_ctime_server");
    check_command()
        .args(["03_ctime_server", "--", &server.to_string_lossy()])
        .args(["--port", "{port}"])
        .assert()
        .success()
        .stdout(predicate::str::contains("4 passed, 0 failed"));
}

#[test]
fn checks_a_client_lesson_by_playing_its_server() {
    check_command()
        .arg("04_makefile_client")
        .assert()
        .success()
        .stdout(predicate::str::contains("4 passed, 0 failed"));
}

#[test]
fn fails_a_server_that_echoes_without_the_time() {
    // This server prints no ready line: check finds it by its port.
    check_command()
        .args(["03_ctime_server", "--", wrong_server()])
        .args(["--mistake", "echo", "--port", "{port}"])
        .assert()
        .failure()
        .stdout(predicate::str::contains(
            r#"got:      "hello" (it does not start with a ctime() stamp)"#,
        ))
        .stdout(predicate::str::contains(
            "read:     book/src/03_ctime.md#the-conversation",
        ))
        .stdout(predicate::str::contains("0 passed, 4 failed"));
}

#[test]
fn fails_a_server_that_closes_at_once() {
    check_command()
        .args(["03_ctime_server", "--", wrong_server()])
        .args(["--mistake", "hang-up", "--port", "{port}"])
        .assert()
        .failure()
        // Whether our bytes or the server's close comes first decides which we see: its FIN
        // (a read of 0) or a reset (our bytes reached a socket that had closed). Both are right.
        .stdout(
            predicate::str::contains("then the connection was closed")
                .or(predicate::str::contains("then the connection was reset")),
        )
        .stdout(predicate::str::contains("0 passed, 4 failed"));
}

#[test]
fn fails_a_server_that_sends_only_the_time_by_its_deadline() {
    let failure = first_ctime_check_on("time-only");
    assert!(failure.expected.contains("then \"hello\""), "{failure}");
    assert!(failure.got.starts_with("only \""), "{failure}");
    assert!(failure.got.ends_with(" within 2s"), "{failure}");
}

#[test]
fn fails_a_server_that_never_answers_by_its_deadline() {
    let failure = first_ctime_check_on("silent");
    assert_eq!(failure.got, "nothing within 2s");
}

#[test]
fn names_the_lessons_it_knows_when_given_another() {
    check_command()
        .arg("03_ctime")
        .assert()
        .failure()
        .stderr(predicate::str::contains("03_ctime is not a lesson"))
        .stderr(predicate::str::contains("03_ctime_server"));
}

#[test]
fn says_when_a_command_cannot_start() {
    check_command()
        .args(["03_ctime_server", "--", "no-such-program-here", "{port}"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("to start `no-such-program-here"));
}

#[test]
fn expect_all_takes_the_lines_of_concurrent_clients_in_any_order() {
    // Two clients send at once; the server's log may show either first.
    let lesson = index::find("05_udp_server").expect("in the index");
    let target = Target::binary(lesson, common::binary("05_udp_server"), &[]);
    let mut server = target.start_udp_server().expect("the server starts");
    let alice = check::Datagrams::bind(0).expect("a socket");
    let bob = check::Datagrams::bind(0).expect("a socket");
    let (a, b) = (
        alice.local_addr().expect("address"),
        bob.local_addr().expect("address"),
    );
    bob.send_to(b"from bob", server.address).expect("send");
    alice.send_to(b"from alice", server.address).expect("send");
    server
        .process
        .expect_all(&[
            &format!("received 10 bytes from {a}"),
            &format!("received 8 bytes from {b}"),
        ])
        .expect("both lines, in either order");
    let missing = server.process.expect_all(&["never printed"]);
    assert!(
        missing
            .is_err_and(|failure| failure.expected.contains("never printed")),
        "a line that never comes fails by the deadline"
    );
}

/// Ctrl-C in the middle of a check stops every program the check started.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_leaves_no_process_behind() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let mut check = Command::new(common::binary("lessons"))
        .args(["check", "03_ctime_server", "--", wrong_server()])
        .args(["--mistake", "silent", "--port", "{port}"])
        .env("NO_COLOR", "1")
        .env_remove("CARGO")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start check");
    let mut header = String::new();
    BufReader::new(check.stdout.take().expect("piped"))
        .read_line(&mut header)
        .expect("read the header");

    // The silent server is running now, a child of check, while the check waits for it.
    let deadline = Instant::now() + common::TIMEOUT;
    let server = loop {
        if let Some(id) = children_of(check.id()).into_iter().next() {
            break id;
        }
        assert!(Instant::now() < deadline, "check started no server");
        std::thread::sleep(Duration::from_millis(10));
    };

    // SAFETY: sends SIGINT to the check process we started, nothing else.
    unsafe {
        libc::kill(check.id() as i32, libc::SIGINT);
    }
    let status = check.wait().expect("check ends");
    assert_eq!(status.code(), Some(130), "check ends as interrupted");
    assert!(
        !is_running(server),
        "the checked server {server} was left running"
    );
}

/// The ids of the running processes whose parent is `parent`, from /proc.
#[cfg(target_os = "linux")]
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            entry.ok()?.file_name().to_str()?.parse::<u32>().ok()
        })
        .filter(|&id| stat(id).is_some_and(|(_, ppid)| ppid == parent))
        .collect()
}

/// A process's state letter and parent id, from /proc/ID/stat.
#[cfg(target_os = "linux")]
fn stat(id: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{id}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: read after the last ')'.
    let fields: Vec<&str> =
        text[text.rfind(')')? + 1..].split_whitespace().collect();
    Some((
        fields.first()?.chars().next()?,
        fields.get(1)?.parse().ok()?,
    ))
}

/// True while `id` is a live process (a zombie waiting to be reaped is not).
#[cfg(target_os = "linux")]
fn is_running(id: u32) -> bool {
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    loop {
        match stat(id) {
            None | Some(('Z', _)) => return false,
            Some(_) if std::time::Instant::now() >= deadline => return true,
            Some(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}
