//! Playing a script: its programs started, its steps taken in order, and what lands on each
//! participant's screen recorded.
//!
//! Support module, behind [`super`]. Programs run through [`crate::check::process`] (killed
//! when dropped, and by its `kill_all` on Ctrl-C); bare connections are read on threads of
//! their own. Every wait has a deadline ([`super::WAIT`]).

use super::{Participant, Program, Script, Step, WAIT};
use crate::check::process::{Line, Stream};
use crate::check::{Failure, Process, Target};
use crate::index::{self, Lesson};
use crate::style;
use socket2::{Domain, Socket, Type};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{
    Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// What a participant's terminal shows, one entry at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The command line that started it, without the `$ `.
    Command(String),
    /// A line it printed.
    Output(Line),
    /// A line typed at its prompt.
    Typed(String),
    /// A line typed before it asked.
    TypedAhead(String),
    /// Bytes a bare connection sent.
    Sent(Vec<u8>),
    /// Bytes a bare connection received.
    Received(Vec<u8>),
    /// Ctrl-C.
    Interrupted,
    /// Its exit status, when the script asks to see it.
    Status(i32),
}

/// What a session left on each participant's screen.
#[derive(Debug)]
pub struct Record {
    /// One list of entries per participant, in the script's order. Each ends with the last
    /// thing the script waited for (or typed), so it is the same on every run.
    pub screens: Vec<Vec<Entry>>,
}

/// What is running on one side.
enum Running {
    /// Not yet started by a step.
    NotStarted,
    /// One of our binaries, killed when dropped.
    Program(Process),
    /// A bare TCP connection; what it receives is read on a thread of its own, so that a
    /// wait can have a deadline.
    Connection {
        stream: TcpStream,
        received: Receiver<Vec<u8>>,
    },
    /// A bare UDP socket, connected to the session's port, read the same way.
    Datagrams {
        socket: UdpSocket,
        received: Receiver<Vec<u8>>,
    },
    /// A listener held only so that its port stays taken.
    Holder { _listener: TcpListener },
    /// Interrupted, or the session is over.
    Stopped,
}

/// One participant during a session.
struct Member {
    participant: Participant,
    running: Running,
    /// Everything on its screen so far.
    screen: Vec<Entry>,
    /// How much of `screen` a step has waited for: the rest may differ from run to run.
    settled: usize,
    /// Where the next `Expect` starts looking in `screen`.
    searched: usize,
    /// Bytes a bare connection received, and how far an `Expect` has looked.
    bytes: Vec<u8>,
    bytes_searched: usize,
    /// Whether a bare connection's other side has closed it.
    closed: bool,
}

/// A script being played: its participants, the session's port, and who is watching.
pub struct Session<'a> {
    script: &'static Script,
    binaries: PathBuf,
    members: Vec<Member>,
    port: Option<u16>,
    /// A port kept from other programs, where nothing listens ([`reserve_a_quiet_port`]).
    reserved: Option<(Socket, UdpSocket)>,
    /// Told of every entry as it lands on a screen: the tour prints it.
    watch: &'a mut dyn FnMut(usize, &Entry),
}

impl<'a> Session<'a> {
    /// A session of `script`, whose binaries are in the directory `binaries`.
    pub fn new(
        script: &'static Script,
        binaries: &Path,
        watch: &'a mut dyn FnMut(usize, &Entry),
    ) -> Session<'a> {
        let members = script
            .participants
            .iter()
            .map(|&participant| Member {
                participant,
                running: Running::NotStarted,
                screen: Vec::new(),
                settled: 0,
                searched: 0,
                bytes: Vec::new(),
                bytes_searched: 0,
                closed: false,
            })
            .collect();
        Session {
            script,
            binaries: binaries.to_path_buf(),
            members,
            port: None,
            reserved: None,
            watch,
        }
    }

    /// Plays every step, then stops whatever still runs. A step that cannot be done ends
    /// the session with what went wrong.
    pub fn play(mut self) -> Result<Record, Failure> {
        for (number, &step) in self.script.steps.iter().enumerate() {
            self.glance(usize::MAX);
            self.step(step).map_err(|failure| {
                Failure::new(
                    format!(
                        "step {} of the script {} ({step:?}): {}",
                        number + 1,
                        self.script.name,
                        failure.expected
                    ),
                    failure.got,
                )
            })?;
        }
        // What arrives after the last wait is not the same on every run: leave it out.
        let screens = self
            .members
            .iter_mut()
            .map(|member| {
                member.running = Running::Stopped; // a program is killed on drop
                member.screen.truncate(member.settled);
                std::mem::take(&mut member.screen)
            })
            .collect();
        Ok(Record { screens })
    }

    fn step(&mut self, step: Step) -> Result<(), Failure> {
        match step {
            Step::Start(who) => self.start(who),
            Step::Type(who, line) => {
                self.type_line(who, line, Entry::Typed(line.to_string()))
            }
            Step::TypeAhead(who, line) => {
                self.type_line(who, line, Entry::TypedAhead(line.to_string()))
            }
            Step::Send(who, bytes) => self.send(who, bytes),
            Step::Expect(who, text) => self.expect(who, text),
            Step::EndInput(who) => {
                match &mut self.members[who].running {
                    Running::Program(process) => process.close_stdin(),
                    Running::Connection { stream, .. } => {
                        let _ = stream.shutdown(Shutdown::Write);
                    }
                    _ => return Err(self.misfit(who, "an input to end")),
                }
                self.settle(who);
                Ok(())
            }
            Step::Interrupt(who) => {
                let Running::Program(process) = &mut self.members[who].running
                else {
                    return Err(self.misfit(who, "a program to interrupt"));
                };
                process.kill();
                self.members[who].running = Running::Stopped;
                self.land(who, Entry::Interrupted);
                self.settle(who);
                Ok(())
            }
            Step::Exit(who) => self.wait_for_exit(who).map(drop),
            Step::ExitStatus(who) => {
                let status = self.wait_for_exit(who)?;
                self.land(who, Entry::Status(status.code().unwrap_or(-1)));
                self.settle(who);
                Ok(())
            }
        }
    }

    /// Starts participant `who`, as its [`Program`] says.
    fn start(&mut self, who: usize) -> Result<(), Failure> {
        let program = self.members[who].participant.program;
        let running = match program {
            Program::Server(name, args) => {
                let lesson = find_lesson(name)?;
                let target = Target::binary(lesson, self.binary(name), args);
                let mut words = vec!["--port".to_string(), "0".to_string()];
                words.extend(args.iter().map(|arg| arg.to_string()));
                self.land(who, Entry::Command(cargo_run(name, &words)));
                // With --port 0, the wait reads the ready line, TCP's or UDP's.
                let server = target.start_server()?;
                self.port = Some(server.address.port());
                let process = server.process;
                // What it printed up to its ready line was read by the wait.
                let printed: Vec<Line> = process
                    .stdout()
                    .iter()
                    .map(|text| Line {
                        stream: Stream::Stdout,
                        text: text.clone(),
                    })
                    .chain(process.stderr().iter().map(|text| Line {
                        stream: Stream::Stderr,
                        text: text.clone(),
                    }))
                    .collect();
                for line in printed {
                    self.land(who, Entry::Output(line));
                }
                Running::Program(process)
            }
            Program::Lesson(name, args) => {
                let port = self.port_to_give()?;
                let mut words = vec!["--port".to_string(), port.to_string()];
                words.extend(args.iter().map(|arg| arg.to_string()));
                self.spawn(who, name, &words)?
            }
            Program::Command(name, args) => {
                let words: Vec<String> =
                    args.iter().map(|arg| arg.to_string()).collect();
                self.spawn(who, name, &words)?
            }
            Program::Connection => {
                let address = self.address()?;
                let stream = TcpStream::connect_timeout(&address, WAIT)
                    .map_err(|error| {
                        Failure::new(
                            format!("to connect to {address}"),
                            error.to_string(),
                        )
                    })?;
                let _ = stream.set_nodelay(true);
                let received = forward_stream(&stream)?;
                Running::Connection { stream, received }
            }
            Program::Datagrams => {
                let address = self.address()?;
                let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
                    .and_then(|socket| {
                        socket.connect(address)?;
                        Ok(socket)
                    })
                    .map_err(|error| {
                        Failure::new("a UDP socket", error.to_string())
                    })?;
                let received = forward_datagrams(&socket)?;
                Running::Datagrams { socket, received }
            }
            Program::PortHolder => {
                let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                    .and_then(|listener| {
                        self.port = Some(listener.local_addr()?.port());
                        Ok(listener)
                    })
                    .map_err(|error| {
                        Failure::new("a port to hold", error.to_string())
                    })?;
                Running::Holder {
                    _listener: listener,
                }
            }
        };
        self.members[who].running = running;
        self.settle(who);
        Ok(())
    }

    /// Starts one of our binaries with `words` as its arguments.
    fn spawn(
        &mut self,
        who: usize,
        name: &str,
        words: &[String],
    ) -> Result<Running, Failure> {
        self.land(who, Entry::Command(cargo_run(name, words)));
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        let program = self.binary(name).into_os_string();
        Ok(Running::Program(Process::spawn(&program, &args, name)?))
    }

    /// The port a lesson is given: the server's, the held one, or else one where nothing
    /// listens. That one stays reserved until the session ends, so that no other program
    /// (another session's server, say) can take it meanwhile.
    fn port_to_give(&mut self) -> Result<u16, Failure> {
        if let Some(port) = self.port {
            return Ok(port);
        }
        let (port, reserved) = reserve_a_quiet_port()
            .map_err(|error| Failure::new("a free port", error.to_string()))?;
        self.port = Some(port);
        self.reserved = Some(reserved);
        Ok(port)
    }

    fn address(&self) -> Result<SocketAddr, Failure> {
        let port = self.port.ok_or_else(|| {
            Failure::new("a server started before", "none in the script")
        })?;
        Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    fn binary(&self, name: &str) -> PathBuf {
        self.binaries
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    }

    fn type_line(
        &mut self,
        who: usize,
        line: &str,
        entry: Entry,
    ) -> Result<(), Failure> {
        let Running::Program(process) = &mut self.members[who].running else {
            return Err(self.misfit(who, "a program to type into"));
        };
        process.type_line(line)?;
        self.land(who, entry);
        self.settle(who);
        Ok(())
    }

    fn send(&mut self, who: usize, bytes: &[u8]) -> Result<(), Failure> {
        let sent = match &mut self.members[who].running {
            Running::Connection { stream, .. } => stream.write_all(bytes),
            Running::Datagrams { socket, .. } => socket.send(bytes).map(drop),
            _ => return Err(self.misfit(who, "a bare connection to send on")),
        };
        sent.map_err(|error| {
            Failure::new(
                format!("to send {}", style::shown(bytes)),
                error.to_string(),
            )
        })?;
        self.land(who, Entry::Sent(bytes.to_vec()));
        self.settle(who);
        Ok(())
    }

    /// Waits until participant `who` prints a line containing `text` (a bare connection:
    /// receives bytes containing it), showing everything that arrives meanwhile.
    fn expect(&mut self, who: usize, text: &str) -> Result<(), Failure> {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.found(who, text) {
                return Ok(());
            }
            let ended = match &mut self.members[who].running {
                Running::Program(process) => process.exited().is_some(),
                Running::Connection { .. } | Running::Datagrams { .. } => {
                    self.members[who].closed
                }
                _ => {
                    return Err(self.misfit(who, "a program or a connection"));
                }
            };
            if ended {
                // Once a program has ended, all it printed is in its pipe: read it out.
                while self.take(who, Instant::now() + WAIT) {}
                if self.found(who, text) {
                    return Ok(());
                }
                return Err(self.not_found(who, text, "it ended first"));
            }
            if Instant::now() >= deadline {
                let got = format!("nothing like it within {WAIT:?}");
                return Err(self.not_found(who, text, &got));
            }
            self.pump(who, deadline);
        }
    }

    /// The failure of an `Expect`, with the last thing the participant printed.
    fn not_found(&self, who: usize, text: &str, got: &str) -> Failure {
        let member = &self.members[who];
        let last = member
            .screen
            .iter()
            .rev()
            .find_map(|entry| match entry {
                Entry::Output(line) => Some(line.text.clone()),
                Entry::Received(bytes) => Some(style::shown(bytes)),
                _ => None,
            })
            .map(|text| format!("; its last words: {text}"))
            .unwrap_or_default();
        Failure::new(
            format!(
                "the {} to print a line containing {text:?}",
                member.participant.side
            ),
            format!("{got}{last}"),
        )
    }

    /// Whether `text` has appeared since the last `Expect` of `who`; if so, the screen is
    /// settled up to the line it appeared in.
    fn found(&mut self, who: usize, text: &str) -> bool {
        let member = &mut self.members[who];
        if matches!(
            member.running,
            Running::Connection { .. } | Running::Datagrams { .. }
        ) {
            let start = member.bytes_searched;
            let found = member.bytes[start..]
                .windows(text.len().max(1))
                .position(|window| window == text.as_bytes());
            if let Some(at) = found {
                member.bytes_searched = start + at + text.len();
                member.settled = member.screen.len();
                return true;
            }
            return false;
        }
        let start = member.searched;
        let found = member.screen[start..].iter().position(|entry| {
            matches!(entry, Entry::Output(line) if line.text.contains(text))
        });
        if let Some(at) = found {
            member.searched = start + at + 1;
            member.settled = member.settled.max(member.searched);
            return true;
        }
        false
    }

    /// Waits until program `who` exits by itself, with everything it printed on its screen.
    fn wait_for_exit(&mut self, who: usize) -> Result<ExitStatus, Failure> {
        let deadline = Instant::now() + WAIT;
        loop {
            let Running::Program(process) = &mut self.members[who].running
            else {
                return Err(self.misfit(who, "a program to wait for"));
            };
            if let Some(status) = process.exited() {
                // All it printed is in its pipes now: read until they close.
                while self.take(who, Instant::now() + WAIT) {}
                self.settle(who);
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let side = self.members[who].participant.side;
                return Err(Failure::new(
                    format!("the {side} to exit within {WAIT:?}"),
                    "it was still running",
                ));
            }
            self.pump(who, deadline);
        }
    }

    /// Shows what every participant printed since the last look, waiting a moment (no later
    /// than `deadline`) for participant `focus`. Returns whether `focus` had anything: false
    /// once a program has closed its output.
    fn pump(&mut self, focus: usize, deadline: Instant) -> bool {
        self.glance(focus);
        let soon = (Instant::now() + Duration::from_millis(5)).min(deadline);
        let mut any = false;
        while self.take(focus, soon) {
            any = true;
        }
        self.glance(focus);
        any
    }

    /// Shows what everyone but `focus` has printed, without waiting.
    fn glance(&mut self, focus: usize) {
        for who in 0..self.members.len() {
            if who != focus {
                while self.take(who, Instant::now()) {}
            }
        }
    }

    /// Takes one line (or chunk of bytes) from `who`, waiting until `until`.
    fn take(&mut self, who: usize, until: Instant) -> bool {
        let member = &mut self.members[who];
        let entry = match &mut member.running {
            Running::Program(process) => {
                process.next_line(until).map(Entry::Output)
            }
            Running::Connection { received, .. }
            | Running::Datagrams { received, .. } => loop {
                let wait = until.saturating_duration_since(Instant::now());
                match received.recv_timeout(wait) {
                    // An empty chunk is the UDP reader looking up: not a datagram.
                    Ok(bytes) if bytes.is_empty() => continue,
                    Ok(bytes) => break Some(Entry::Received(bytes)),
                    Err(RecvTimeoutError::Timeout) => break None,
                    Err(RecvTimeoutError::Disconnected) => {
                        member.closed = true;
                        break None;
                    }
                }
            },
            _ => None,
        };
        match entry {
            Some(entry) => {
                if let Entry::Received(bytes) = &entry {
                    self.members[who].bytes.extend_from_slice(bytes);
                }
                self.land(who, entry);
                true
            }
            None => false,
        }
    }

    /// Puts `entry` on the screen of `who`, and shows it to the watcher.
    fn land(&mut self, who: usize, entry: Entry) {
        (self.watch)(who, &entry);
        self.members[who].screen.push(entry);
    }

    /// Everything on the screen of `who` so far is part of the record.
    fn settle(&mut self, who: usize) {
        let member = &mut self.members[who];
        member.settled = member.screen.len();
        member.searched = member.screen.len();
    }

    fn misfit(&self, who: usize, needed: &str) -> Failure {
        let participant = &self.members[who].participant;
        Failure::new(
            format!("the {} to be {needed}", participant.side),
            format!("it is {:?}", participant.program),
        )
    }
}

/// A port where nothing listens, kept so: a TCP socket bound to it that never listens (a
/// connection to it is refused, and without `SO_REUSEADDR` no one else can bind it), and a UDP
/// socket on the same number that never reads or answers.
fn reserve_a_quiet_port() -> io::Result<(u16, (Socket, UdpSocket))> {
    let mut last_error = None;
    for _ in 0..10 {
        let tcp = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        tcp.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        let port = tcp
            .local_addr()?
            .as_socket()
            .map(|address| address.port())
            .unwrap_or(0);
        match UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(udp) => return Ok((port, (tcp, udp))),
            // Taken for UDP by someone else: try another number.
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port")))
}

/// The lesson `name` in the index, or why it cannot be found.
fn find_lesson(name: &str) -> Result<&'static Lesson, Failure> {
    index::find(name).ok_or_else(|| {
        Failure::new(format!("{name} in the lesson index"), "no such lesson")
    })
}

/// The command line that runs our binary `name` with `words`, as a learner types it.
fn cargo_run(name: &str, words: &[String]) -> String {
    let mut line = if name == "lessons" {
        "cargo run -q".to_string() // the default-run binary needs no --bin
    } else {
        format!("cargo run -q --bin {name}")
    };
    if !words.is_empty() {
        line += " -- ";
        line += &words.join(" ");
    }
    line
}

/// Reads a TCP connection on its own thread and hands over each chunk received.
fn forward_stream(stream: &TcpStream) -> Result<Receiver<Vec<u8>>, Failure> {
    let mut reader = stream
        .try_clone()
        .map_err(|error| Failure::new("a connection", error.to_string()))?;
    let (sender, received) = mpsc::channel();
    thread::spawn(move || {
        let mut buffer = [0u8; 64 * 1024];
        // Ends at the close, at an error, or when nobody listens any more.
        while let Ok(count @ 1..) = reader.read(&mut buffer) {
            if sender.send(buffer[..count].to_vec()).is_err() {
                break;
            }
        }
    });
    Ok(received)
}

/// Reads a UDP socket on its own thread and hands over each datagram received. Now and
/// then it hands over an empty chunk instead, to learn whether anyone still listens: a UDP
/// socket never closes by itself.
fn forward_datagrams(socket: &UdpSocket) -> Result<Receiver<Vec<u8>>, Failure> {
    let reader = socket
        .try_clone()
        .and_then(|reader| {
            reader.set_read_timeout(Some(Duration::from_millis(200)))?;
            Ok(reader)
        })
        .map_err(|error| Failure::new("a UDP socket", error.to_string()))?;
    let (sender, received) = mpsc::channel();
    thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let chunk = match reader.recv(&mut buffer) {
                Ok(count) => buffer[..count].to_vec(),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    Vec::new()
                }
                Err(_) => break,
            };
            if sender.send(chunk).is_err() {
                break; // the session is over
            }
        }
    });
    Ok(received)
}
