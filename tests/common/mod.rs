//! What every lesson's tests share. The heavy lifting is the library's (`socket_lessons::check`):
//! the protocol suites, the running process, the peer with deadlines. Here are the thin,
//! panicking wrappers a test wants: run a lesson's suite on its binary, start a binary and wait
//! for its ready line, connect with a timeout, read with a deadline. Nothing here sleeps.

#![allow(dead_code)] // each test file uses its own part of this module

pub mod chat;

use socket_lessons::check::{
    self, Failure, Process, Target, target::Transport,
};
use socket_lessons::index;
use std::ffi::OsString;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitStatus;
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The path of a binary that Cargo built for this test run.
pub fn binary(name: &str) -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin(name)
}

/// Our binary `name` as a check target, speaking its own lesson's protocol.
pub fn target(name: &str, args: &[&str]) -> Target {
    let lesson = index::find(name)
        .unwrap_or_else(|| panic!("{name} is not in the index"));
    Target::binary(lesson, binary(name), args)
}

/// Runs the lesson's protocol suite on its binary and fails with every broken promise.
pub fn assert_keeps_its_protocol(name: &str, args: &[&str]) {
    let lesson = index::find(name).expect("in the index");
    assert!(!lesson.checks.is_empty(), "{name} has no protocol checks");
    let failures: Vec<String> =
        check::run_suite(lesson.checks, &target(name, args), |_| {})
            .into_iter()
            .filter_map(|verdict| {
                let failure = verdict.outcome.err()?;
                Some(format!("{}: {failure}", verdict.check.name))
            })
            .collect();
    assert!(
        failures.is_empty(),
        "{name} broke its protocol:\n{}",
        failures.join("\n")
    );
}

/// Panics with the failure's words: for the steps of a test, which may not fail.
fn ok<T>(result: Result<T, Failure>) -> T {
    result.unwrap_or_else(|failure| panic!("{failure}"))
}

/// A lesson binary running in the background.
pub struct Running {
    process: Process,
    /// The address from the ready line, for servers.
    address: Option<SocketAddr>,
}

/// Starts a server lesson with `--port 0` and waits for its `listening on` / `bound to` line.
pub fn start_server(name: &str, args: &[&str]) -> Running {
    let server = ok(target(name, &[]).start(Transport::Tcp, args));
    Running {
        process: server.process,
        address: Some(server.address),
    }
}

/// Starts the client lesson `name` against a listener the test plays the server on, with
/// `args` after its `--port`, and waits (with the checks' deadline) until it connects: the
/// client, and the test's end of its connection, with a read timeout.
pub fn client_of_the_test(name: &str, args: &[&str]) -> (Running, TcpStream) {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let port = listener
        .local_addr()
        .expect("its address")
        .port()
        .to_string();
    let mut full = vec!["--port", port.as_str()];
    full.extend_from_slice(args);
    let mut client = spawn(name, &full);
    let peer = ok(check::target::accept_client(&listener, &mut client.process));
    let stream = peer.stream().try_clone().expect("the connection");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("a read timeout");
    (client, stream)
}

/// Starts any lesson binary with these arguments, its stdin, stdout and stderr piped.
pub fn spawn(name: &str, args: &[&str]) -> Running {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let process =
        ok(Process::spawn(&binary(name).into_os_string(), &args, name));
    Running {
        process,
        address: None,
    }
}

impl Running {
    /// The OS's process id (for `/proc/PID/fd`, say).
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// The server's address from its ready line.
    pub fn address(&self) -> SocketAddr {
        self.address.expect("only a server has an address")
    }

    /// The port from the ready line, as text for another binary's `--port`.
    pub fn port(&self) -> String {
        self.address().port().to_string()
    }

    /// Waits for a stdout line that contains `text`, and returns it.
    pub fn expect(&mut self, text: &str) -> String {
        ok(self.process.expect(text))
    }

    /// Types a line on the program's standard input.
    pub fn type_line(&mut self, line: &str) {
        ok(self.process.type_line(line))
    }

    /// Closes the program's standard input: what Ctrl-D does at a terminal.
    pub fn close_stdin(&mut self) {
        self.process.close_stdin();
    }

    /// Waits for the program to exit by itself, and returns its status and everything it
    /// printed on stdout and stderr.
    pub fn wait(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        let exit = ok(self.process.wait_for_exit(TIMEOUT));
        (exit.status, exit.stdout, exit.stderr)
    }
}

/// Connects to `address` with a timeout on the connect and on every read and write.
pub fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .unwrap_or_else(|error| panic!("cannot connect to {address}: {error}"));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("set a read timeout");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .expect("set a write timeout");
    stream
}

/// A "server" that accepts one connection and hangs up at once, without a word: for checking
/// that a client notices. Returns its port, and the thread to join when the client is done.
pub fn server_that_hangs_up() -> (String, thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port().to_string();
    (port, thread::spawn(move || drop(listener.accept())))
}

/// Reads until `done` says the bytes so far are complete; fails after [`TIMEOUT`] or if the
/// peer closes first.
pub fn read_until(
    stream: &mut TcpStream,
    done: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    let mut received = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    while !done(&received) {
        assert!(
            Instant::now() < deadline,
            "timed out; received {:?}",
            String::from_utf8_lossy(&received)
        );
        match stream.read(&mut buffer) {
            Ok(0) => panic!(
                "the peer closed after {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(count) => received.extend_from_slice(&buffer[..count]),
            Err(error) => panic!(
                "read failed ({error}) after {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    received
}

/// Reads exactly `count` bytes, with the deadline of [`read_until`].
pub fn read_exactly(stream: &mut TcpStream, count: usize) -> Vec<u8> {
    read_until(stream, |received| received.len() >= count)
}

/// Asserts that nothing arrives for `quiet`: the peer is waiting for more, as it should.
pub fn expect_silence(stream: &mut TcpStream, quiet: Duration) {
    stream
        .set_read_timeout(Some(quiet))
        .expect("set a read timeout");
    let mut buffer = [0u8; 1024];
    match stream.read(&mut buffer) {
        Ok(count) => panic!(
            "expected silence, got {:?}",
            String::from_utf8_lossy(&buffer[..count])
        ),
        Err(error) => assert!(
            matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "expected silence, got {error}"
        ),
    }
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("set a read timeout");
}

/// Runs an experiment (lessons 09 and on) to its end with no arguments, as a learner does,
/// and returns the answers it printed (`label: answer` lines); panics unless it exits 0.
pub fn run_experiment(name: &str) -> check::experiment::Answers {
    ok(check::experiment::run(&target(name, &[])))
}

/// A lesson binary to run to completion with assert_cmd: plain output, a deadline.
pub fn command(name: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(binary(name));
    command.env("NO_COLOR", "1").timeout(TIMEOUT);
    command
}
