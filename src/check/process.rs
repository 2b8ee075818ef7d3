//! A program running under a check, the tour or a test: its output arrives line by line, and
//! its input can be typed.
//!
//! Support module. Every wait here has a deadline, and a program is killed when its
//! [`Process`] is dropped, or when [`kill_all`] runs (on Ctrl-C), so nothing is left behind.
//! On Unix the program gets a process group of its own, and the whole group is killed: a
//! `sh -c '…'` wrapper does not leave its children running.

use super::{Failure, TIMEOUT};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

/// The programs started and not yet reaped, by process id: what [`kill_all`] stops. `None`
/// once [`kill_all`] has run: the program is being interrupted, and starts nothing more.
static RUNNING: Mutex<Option<Vec<u32>>> = Mutex::new(Some(Vec::new()));

/// Which of a program's outputs a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: what the program reports.
    Stdout,
    /// Standard error: its errors.
    Stderr,
}

/// One line a program printed, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where it was printed.
    pub stream: Stream,
    /// The text.
    pub text: String,
}

/// How a program ended, with everything it printed.
#[derive(Debug)]
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// Every line it printed on standard output.
    pub stdout: Vec<String>,
    /// Every line it printed on standard error.
    pub stderr: Vec<String>,
}

/// A program running in the background, with its output arriving line by line.
pub struct Process {
    /// Its name in messages: the binary, or the command as typed.
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    /// Every stdout line taken off the channel so far, for failure messages and [`Exit`].
    stdout: Vec<String>,
    /// Every stderr line taken off the channel so far.
    stderr: Vec<String>,
    /// True once both output pipes have closed.
    finished: bool,
}

impl Process {
    /// Starts `program` with `args`, its three standard streams piped, colours off and
    /// Python's output unbuffered (so a Python server's ready line is not held in a buffer).
    pub fn spawn(
        program: &OsString,
        args: &[OsString],
        label: &str,
    ) -> Result<Process, Failure> {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("NO_COLOR", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        // The list stays locked from spawn() to the push, so that a Ctrl-C in between waits
        // for the new program to be on it, and kills it too.
        let mut running = lock_running();
        let Some(ids) = running.as_mut() else {
            return Err(Failure::new(
                format!("to start `{label}`"),
                "nothing: the checks were interrupted",
            ));
        };
        let mut child = command.spawn().map_err(|error| {
            Failure::new(
                format!("to start `{label}`"),
                format!("{error} (is the program's name or path right?)"),
            )
        })?;
        ids.push(child.id());
        drop(running);
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            forward_lines(stdout, Stream::Stdout, sender.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, Stream::Stderr, sender);
        }
        Ok(Process {
            label: label.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            stdout: Vec::new(),
            stderr: Vec::new(),
            finished: false,
        })
    }

    /// The OS's process id, to look the program up in `/proc` (its descriptors, threads and
    /// memory) or to signal it.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The program's name in messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The next line the program prints on either stream, waiting until `deadline`. `None`
    /// when the deadline passes first, or when the program has closed both streams.
    pub fn next_line(&mut self, deadline: Instant) -> Option<Line> {
        if self.finished {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                match line.stream {
                    Stream::Stdout => self.stdout.push(line.text.clone()),
                    Stream::Stderr => self.stderr.push(line.text.clone()),
                }
                Some(line)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.finished = true;
                None
            }
        }
    }

    /// Waits for a stdout line for which `wanted` is true and returns it; `what` describes the
    /// line in the failure.
    pub fn expect_line(
        &mut self,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String, Failure> {
        let deadline = Instant::now() + TIMEOUT;
        while let Some(line) = self.next_line(deadline) {
            if line.stream == Stream::Stdout && wanted(&line.text) {
                return Ok(line.text);
            }
        }
        Err(Failure::new(
            format!("`{}` to print {what}", self.label),
            self.silence_report(),
        ))
    }

    /// Waits for a stdout line that contains `text`.
    pub fn expect(&mut self, text: &str) -> Result<String, Failure> {
        self.expect_line(&format!("a line containing {text:?}"), |line| {
            line.contains(text)
        })
    }

    /// Waits until every one of `texts` has appeared in some stdout line, in any order: the
    /// log of several connections served at once interleaves as the threads run.
    pub fn expect_all(&mut self, texts: &[&str]) -> Result<(), Failure> {
        let mut missing: Vec<&str> = texts.to_vec();
        let deadline = Instant::now() + TIMEOUT;
        while !missing.is_empty() {
            let Some(line) = self.next_line(deadline) else {
                return Err(Failure::new(
                    format!(
                        "`{}` to print lines containing {missing:?}",
                        self.label
                    ),
                    self.silence_report(),
                ));
            };
            if line.stream == Stream::Stdout {
                missing.retain(|text| !line.text.contains(text));
            }
        }
        Ok(())
    }

    /// Types a line on the program's standard input, as a person at its terminal would.
    pub fn type_line(&mut self, line: &str) -> Result<(), Failure> {
        let typed = self.stdin.as_mut().map(|stdin| {
            writeln!(stdin, "{line}").and_then(|()| stdin.flush())
        });
        match typed {
            Some(Ok(())) => Ok(()),
            _ => Err(Failure::new(
                format!("`{}` to read the typed line {line:?}", self.label),
                self.exit_report(),
            )),
        }
    }

    /// Types several lines in one write: a program that stops at the first may exit before
    /// the rest would have been typed, and must find them waiting, unread.
    pub fn type_lines(&mut self, lines: &[&str]) -> Result<(), Failure> {
        let text: String =
            lines.iter().map(|line| format!("{line}\n")).collect();
        let typed = self.stdin.as_mut().map(|stdin| {
            stdin
                .write_all(text.as_bytes())
                .and_then(|()| stdin.flush())
        });
        match typed {
            Some(Ok(())) => Ok(()),
            _ => Err(Failure::new(
                format!("`{}` to read the typed lines {lines:?}", self.label),
                self.exit_report(),
            )),
        }
    }

    /// Closes the program's standard input: what Ctrl-D does at a terminal.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The exit status, if the program has already ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the program to end by itself, for at most `timeout`.
    pub fn wait_for_exit(
        &mut self,
        timeout: Duration,
    ) -> Result<Exit, Failure> {
        let deadline = Instant::now() + timeout;
        // Drain the output first: a program blocked on a full pipe would never exit.
        while self.next_line(deadline).is_some() {}
        loop {
            if let Some(status) = self.exited() {
                while self
                    .next_line(Instant::now() + Duration::from_millis(50))
                    .is_some()
                {}
                return Ok(Exit {
                    status,
                    stdout: self.stdout.clone(),
                    stderr: self.stderr.clone(),
                });
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(
                    format!("`{}` to exit within {timeout:?}", self.label),
                    format!("it was still running{}", self.printed_report()),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the program to end by itself with status 0.
    pub fn expect_success(&mut self) -> Result<Exit, Failure> {
        let exit = self.wait_for_exit(TIMEOUT)?;
        if exit.status.success() {
            Ok(exit)
        } else {
            Err(Failure::new(
                format!("`{}` to exit with status 0", self.label),
                format!("{}{}", exit.status, self.printed_report()),
            ))
        }
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> &[String] {
        &self.stdout
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> &[String] {
        &self.stderr
    }

    /// "nothing came", with the exit status if the program has ended, and its last words.
    pub fn silence_report(&mut self) -> String {
        match self.exited() {
            Some(status) => self.exit_report_with(status),
            None => {
                format!("nothing within {TIMEOUT:?}{}", self.printed_report())
            }
        }
    }

    /// How the program ended (or that it is still running), and its last words.
    pub fn exit_report(&mut self) -> String {
        match self.exited() {
            Some(status) => self.exit_report_with(status),
            None => format!("it is still running{}", self.printed_report()),
        }
    }

    fn exit_report_with(&mut self, status: ExitStatus) -> String {
        while self
            .next_line(Instant::now() + Duration::from_millis(50))
            .is_some()
        {}
        format!("it exited ({status}){}", self.printed_report())
    }

    /// The last lines the program printed, for the end of a failure message.
    fn printed_report(&self) -> String {
        let tail = |lines: &[String]| {
            lines[lines.len().saturating_sub(4)..].join(" / ")
        };
        let mut report = String::new();
        if !self.stdout.is_empty() {
            report += &format!("; its last output: {}", tail(&self.stdout));
        }
        if !self.stderr.is_empty() {
            report += &format!("; its stderr: {}", tail(&self.stderr));
        }
        report
    }

    /// Stops the program at once, and its whole process group on Unix.
    pub fn kill(&mut self) {
        kill_process_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(ids) = lock_running().as_mut() {
            ids.retain(|&id| id != self.child.id());
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A server never exits by itself: stop it so that nothing is left behind.
        self.kill();
    }
}

/// Kills every program started here that is still running: for a Ctrl-C handler, so that an
/// interrupted `check` or tour leaves no server behind.
pub fn kill_all() {
    for id in lock_running().take().into_iter().flatten() {
        kill_process_group(id);
    }
}

fn lock_running() -> std::sync::MutexGuard<'static, Option<Vec<u32>>> {
    // The list stays usable even if a thread panicked while holding it.
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(unix)]
fn kill_process_group(id: u32) {
    if let Ok(id) = i32::try_from(id) {
        // SAFETY: kill() has no memory effects; a negative id names the process group that
        // spawn() created for this program, and nothing else.
        unsafe {
            libc::kill(-id, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill_process_group(_id: u32) {
    // Child::kill in Process::kill stops the program itself.
}

/// Reads `pipe` on its own thread and sends each line down the channel, so a caller can wait
/// for a line with a deadline. The sender is dropped when the program closes the pipe.
fn forward_lines(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    sender: Sender<Line>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if sender.send(Line { stream, text }).is_err() {
                        break; // nobody is listening any more
                    }
                }
            }
        }
    });
}
