//! The tour: `cargo run -- tour 03` shows both sides of lesson 03 in one terminal, and stops
//! every program it started, also when interrupted with Ctrl-C.

use assert_cmd::Command;
use std::time::{Duration, Instant};

/// Every program the tour starts inherits its environment: this variable, set to a value of
/// the test's own, finds them afterwards (Linux only: it reads /proc).
const MARKER: &str = "SOCKET_LESSONS_TOUR_TEST";

fn marker(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

/// The processes still running with `MARKER=value` in their environment, waiting up to two
/// seconds for them to go (a killed process takes a moment to die).
#[cfg(target_os = "linux")]
fn left_behind(value: &str) -> Vec<String> {
    let wanted = format!("{MARKER}={value}");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let path = entry.path();
            let Ok(environment) = std::fs::read(path.join("environ")) else {
                continue;
            };
            if environment
                .split(|&byte| byte == 0)
                .any(|v| v == wanted.as_bytes())
            {
                let command = std::fs::read_to_string(path.join("cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " ");
                found.push(command);
            }
        }
        if found.is_empty() || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(not(target_os = "linux"))]
fn left_behind(_value: &str) -> Vec<String> {
    Vec::new()
}

fn tour() -> Command {
    let mut command =
        Command::cargo_bin("lessons").expect("the lessons binary");
    // Without CARGO the tour runs the binaries this test run built, and builds nothing.
    command.env_remove("CARGO").env("NO_COLOR", "1").arg("tour");
    command
}

#[test]
fn the_tour_of_03_shows_both_sides_and_stops_them() {
    let value = marker("tour-03");
    let output = tour()
        .arg("03")
        .env(MARKER, &value)
        .timeout(Duration::from_secs(5))
        .output()
        .expect("the tour runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}\n{stdout}", output.status);
    for line in [
        "server │ $ cargo run -q --bin 03_ctime_server -- --port 0",
        "server │ listening on 127.0.0.1:",
        "client │ connected to 127.0.0.1:",
        "client │ >> hello",
        "server │ received 5 bytes from 127.0.0.1:",
        "  peer │ sends \"two\\nlines\\n\"",
        "server │ closed: 127.0.0.1:",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains('\u{1b}'),
        "colours despite NO_COLOR:\n{stdout}"
    );
    assert_eq!(left_behind(&value), Vec::<String>::new());
}

#[test]
fn a_lesson_is_found_by_its_number_or_either_name() {
    for name in ["5", "05_udp_server", "05_udp_client"] {
        tour()
            .arg(name)
            .timeout(Duration::from_secs(5))
            .assert()
            .success()
            .stdout(predicates::str::contains("the tour of 05_udp_server"));
    }
    tour()
        .arg("99")
        .assert()
        .failure()
        .stderr(predicates::str::contains("99 is not a lesson with a tour"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_leaves_no_program_behind() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let value = marker("ctrl-c");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lessons"))
        .arg("tour")
        .env_remove("CARGO")
        .env("NO_COLOR", "1")
        .env(MARKER, &value)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the tour starts");
    // Wait until the first server runs, on a thread of its own so the wait has a deadline.
    let stdout = child.stdout.take().expect("piped");
    let (sender, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = sender.send(());
            }
        }
    });
    let _ = started.recv_timeout(Duration::from_secs(3));
    let id = i32::try_from(child.id()).expect("a process id");
    // SAFETY: kill() has no memory effects; the id is the tour's, started above.
    unsafe {
        libc::kill(id, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the tour did not stop on Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130), "interrupted: {status}");
    assert_eq!(left_behind(&value), Vec::<String>::new());
}
