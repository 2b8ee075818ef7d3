//! What every lesson's tests share: start a lesson binary on a free port and wait for its
//! ready line, connect with a timeout, read with a deadline. Nothing here sleeps: every wait
//! is for a line or for bytes, and gives up after [`TIMEOUT`] with a message that says what
//! was missing.

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A lesson binary running in the background, with its output arriving line by line.
pub struct Lesson {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Everything printed on stdout so far, for failure messages.
    seen: Vec<String>,
    /// The address from the ready line, for servers.
    pub address: Option<SocketAddr>,
}

/// The path of a lesson binary that Cargo built for this test run.
pub fn binary(name: &str) -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin(name)
}

/// Starts a server lesson with `--port 0` and waits for its `listening on` / `bound to` line.
pub fn start_server(name: &str, args: &[&str]) -> Lesson {
    let mut all_args = vec!["--port", "0"];
    all_args.extend_from_slice(args);
    let mut lesson = spawn(name, &all_args);
    let line = lesson.expect_line(|line| {
        line.starts_with("listening on ") || line.starts_with("bound to ")
    });
    let address = line.rsplit(' ').next().and_then(|text| text.parse().ok());
    assert!(
        address.is_some(),
        "{name}: no address in its ready line {line:?}"
    );
    lesson.address = address;
    lesson
}

/// Starts any lesson binary with these arguments, its stdin, stdout and stderr piped.
pub fn spawn(name: &str, args: &[&str]) -> Lesson {
    let mut child = Command::new(binary(name))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
    let stdout = forward_lines(child.stdout.take().expect("stdout is piped"));
    let stderr = forward_lines(child.stderr.take().expect("stderr is piped"));
    Lesson {
        name: name.to_string(),
        stdin: child.stdin.take(),
        child,
        stdout,
        stderr,
        seen: Vec::new(),
        address: None,
    }
}

/// Reads `pipe` on its own thread and sends each line down a channel, so a test can wait
/// for a line with a timeout. The channel closes when the program closes the pipe (exits).
fn forward_lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok)
        {
            if sender.send(line).is_err() {
                break; // the test has finished with this program
            }
        }
    });
    receiver
}

impl Lesson {
    /// The server's address from its ready line.
    pub fn address(&self) -> SocketAddr {
        self.address.expect("only a server has an address")
    }

    /// The port from the ready line, as text for another binary's `--port`.
    pub fn port(&self) -> String {
        self.address().port().to_string()
    }

    /// Waits for a stdout line for which `wanted` is true, and returns it.
    pub fn expect_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: the expected line did not come within {TIMEOUT:?}; it printed {:#?}",
                    self.name, self.seen
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: exited without printing the expected line; it printed {:#?}, stderr {:#?}",
                    self.name,
                    self.seen,
                    self.stderr.try_iter().collect::<Vec<_>>()
                ),
            }
        }
    }

    /// Waits for a stdout line that contains `text`.
    pub fn expect(&mut self, text: &str) -> String {
        self.expect_line(|line| line.contains(text))
    }

    /// Types a line on the program's standard input.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        writeln!(stdin, "{line}").expect("the program reads its stdin");
        stdin.flush().expect("the program reads its stdin");
    }

    /// Closes the program's standard input: what Ctrl-D does at a terminal.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the program to exit (its stdout closes first), and returns its status and
    /// the rest of its stdout and its stderr.
    pub fn wait(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + TIMEOUT;
        let mut rest = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: still running after {TIMEOUT:?}", self.name)
                }
            }
        }
        let status = self.child.wait().expect("the program can be waited for");
        let stderr = self.stderr.iter().collect();
        (status, rest, stderr)
    }
}

impl Drop for Lesson {
    fn drop(&mut self) {
        // A server never exits on its own: stop it so no test leaves a process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// True when `text` is a `ctime()` stamp such as `Tue Sep  3 19:11:20 2016`, exactly: a
/// valid date whose weekday is right, the day padded with a space, nothing before or after.
pub fn is_ctime(text: &str) -> bool {
    use socket_lessons::ctime::FORMAT;
    chrono::NaiveDateTime::parse_from_str(text, FORMAT)
        .is_ok_and(|moment| moment.format(FORMAT).to_string() == text)
}

/// True when `text` is a `ctime()` stamp of the local time now (within a minute).
pub fn is_ctime_now(text: &str) -> bool {
    let Ok(moment) = chrono::NaiveDateTime::parse_from_str(
        text,
        socket_lessons::ctime::FORMAT,
    ) else {
        return false;
    };
    let now = chrono::Local::now().naive_local();
    is_ctime(text) && (now - moment).num_seconds().abs() <= 60
}

/// A lesson binary to run to completion with assert_cmd: plain output, a deadline.
pub fn command(name: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(binary(name));
    command.env("NO_COLOR", "1").timeout(TIMEOUT);
    command
}
