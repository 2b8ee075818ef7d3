//! What a check runs: one of our lesson binaries, an exercise, or any command a learner names.
//!
//! Support module. A server target is started and waited for until it is ready: until it
//! prints its ready line ([`crate::ready`]) or, for a program that prints none, until its port
//! is taken. A client target is pointed at a port where the check plays the server. In a
//! command, `{port}` stands for that port; a command without it is taken to use the lesson's
//! default port, as the Python tutorial's programs do.

use super::peer::{Datagrams, Peer};
use super::process::{Exit, Process, Stream};
use super::{Failure, TIMEOUT};
use crate::index::Lesson;
use crate::ready;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::net::{
    IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

/// How long a program may take to start and become ready (a Python interpreter, a build).
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The placeholder for the port in a command's arguments.
pub const PORT: &str = "{port}";

/// Which kind of socket a server target opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A TCP listener.
    Tcp,
    /// A UDP socket.
    Udp,
}

/// A program to check against a lesson's protocol.
#[derive(Debug, Clone)]
pub struct Target {
    /// The lesson whose protocol the program speaks: its default port, its name.
    pub lesson: &'static Lesson,
    program: OsString,
    args: Vec<String>,
    /// True for our own binaries (lessons and exercises), which take `--host` and `--port`
    /// when their lesson has a port (an experiment has none).
    ours: bool,
}

impl Target {
    /// One of our binaries (a lesson or an exercise) at `path`, speaking `lesson`'s protocol.
    /// It is given `--port` by the check; `args` are added after it.
    pub fn binary(
        lesson: &'static Lesson,
        path: impl Into<PathBuf>,
        args: &[&str],
    ) -> Target {
        Target {
            lesson,
            program: path.into().into_os_string(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            ours: true,
        }
    }

    /// Any command, in any language: `argv[0]` is the program, `{port}` in the arguments is
    /// replaced by the port to use.
    pub fn command(
        lesson: &'static Lesson,
        argv: &[String],
    ) -> Result<Target, Failure> {
        let (program, args) = argv.split_first().ok_or_else(|| {
            Failure::new("a command to check", "an empty command")
        })?;
        Ok(Target {
            lesson,
            program: OsString::from(program),
            args: args.to_vec(),
            ours: false,
        })
    }

    /// The command line as a learner would type it, for messages.
    pub fn describe(&self) -> String {
        let program = std::path::Path::new(&self.program);
        let mut words = vec![if self.ours {
            // Our binaries are named by their file name, not a long target/debug/ path.
            program
                .file_name()
                .unwrap_or(program.as_os_str())
                .to_string_lossy()
                .into_owned()
        } else {
            program.to_string_lossy().into_owned()
        }];
        if self.takes_a_port() {
            words.push("--port".to_string());
            words.push(PORT.to_string());
        }
        words.extend(self.args.iter().cloned());
        words.join(" ")
    }

    /// Whether the command says where the port goes (ours always do).
    fn names_the_port(&self) -> bool {
        self.ours || self.args.iter().any(|arg| arg.contains(PORT))
    }

    /// Whether we give the program `--port`: ours, unless its lesson is an experiment that
    /// takes no port.
    fn takes_a_port(&self) -> bool {
        self.ours && self.lesson.default_port.is_some()
    }

    /// Runs the program with no port, as an experiment runs, and waits until it ends, for at
    /// most `timeout`; returns its exit status and everything it printed.
    pub fn run_to_end(&self, timeout: Duration) -> Result<Exit, Failure> {
        let mut process = self.spawn(0, &[])?;
        process.close_stdin();
        let exit = process.wait_for_exit(timeout);
        if exit.is_err() {
            process.kill();
        }
        exit
    }

    /// Starts the program with `port` in place of `{port}`, and `extra` arguments.
    fn spawn(&self, port: u16, extra: &[&str]) -> Result<Process, Failure> {
        let mut args: Vec<OsString> = Vec::new();
        if self.takes_a_port() {
            args.push("--port".into());
            args.push(port.to_string().into());
        }
        for arg in &self.args {
            args.push(arg.replace(PORT, &port.to_string()).into());
        }
        args.extend(extra.iter().map(OsString::from));
        Process::spawn(&self.program, &args, &self.describe())
    }

    /// Starts the program as a TCP server and waits until it is ready.
    pub fn start_server(&self) -> Result<Server, Failure> {
        self.start(Transport::Tcp, &[])
    }

    /// Starts the program as a UDP server and waits until it is ready.
    pub fn start_udp_server(&self) -> Result<Server, Failure> {
        self.start(Transport::Udp, &[])
    }

    /// Starts the program as a server with `extra` arguments and waits until it is ready.
    pub fn start(
        &self,
        transport: Transport,
        extra: &[&str],
    ) -> Result<Server, Failure> {
        // Our binaries take --port 0 and say which port they got: no port to guess, and none
        // that another test could take in between.
        let port = if self.ours {
            0
        } else if self.names_the_port() {
            free_port(transport)?
        } else {
            self.lesson.default_port.unwrap_or(0)
        };
        let mut process = self.spawn(port, extra)?;
        let address = wait_until_ready(&mut process, transport, port)?;
        Ok(Server {
            process,
            address,
            transport,
        })
    }

    /// Starts the program as a client that will connect to `port`.
    pub fn start_client_at(&self, port: u16) -> Result<Process, Failure> {
        self.spawn(port, &[])
    }

    /// Starts the program as a TCP client, with the check playing its server: a listener on a
    /// free port when the command names `{port}`, otherwise on the lesson's default port.
    pub fn start_client(&self) -> Result<(TcpListener, Process), Failure> {
        let port = self.port_for_the_check();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .map_err(|error| self.port_taken(port, error))?;
        let port = listener
            .local_addr()
            .map_err(|error| self.port_taken(port, error))?;
        Ok((listener, self.spawn(port.port(), &[])?))
    }

    /// Starts the program as a UDP client, with the check playing its server.
    pub fn start_udp_client(&self) -> Result<(Datagrams, Process), Failure> {
        let port = self.port_for_the_check();
        let socket = Datagrams::bind(port)
            .map_err(|error| self.port_taken(port, error))?;
        let port = socket
            .local_addr()
            .map_err(|error| self.port_taken(port, error))?;
        Ok((socket, self.spawn(port.port(), &[])?))
    }

    /// 0 (any free port) when the program can be told the port; else the lesson's default.
    fn port_for_the_check(&self) -> u16 {
        if self.names_the_port() {
            0
        } else {
            self.lesson.default_port.unwrap_or(0)
        }
    }

    fn port_taken(&self, port: u16, error: std::io::Error) -> Failure {
        Failure::new(
            format!("to play the server on 127.0.0.1:{port}"),
            format!(
                "{error}: the command has no {PORT}, and that port is taken"
            ),
        )
    }
}

/// A server target that is ready: its process and the address to reach it at.
pub struct Server {
    /// The running program.
    pub process: Process,
    /// Where it listens (a loopback address when it listens on every interface).
    pub address: SocketAddr,
    /// TCP or UDP.
    pub transport: Transport,
}

impl Server {
    /// Connects to the server. A refused connection is tried again until [`START_TIMEOUT`]
    /// (a program may announce its port between `bind` and `listen`), unless the program has
    /// exited, which fails at once.
    pub fn connect(&mut self) -> Result<Peer, Failure> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match TcpStream::connect_timeout(&self.address, TIMEOUT) {
                Ok(stream) => return Ok(Peer::new(stream)),
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => {
                    if self.process.exited().is_some()
                        || Instant::now() >= deadline
                    {
                        return Err(Failure::new(
                            format!(
                                "to connect to the server at {}",
                                self.address
                            ),
                            format!("{error}; {}", self.process.exit_report()),
                        ));
                    }
                    thread::sleep(Duration::from_millis(10));
                }
                Err(error) => {
                    return Err(Failure::new(
                        format!("to connect to the server at {}", self.address),
                        error.to_string(),
                    ));
                }
            }
        }
    }
}

/// Waits for the ready line, or for the port to be taken, whichever comes first.
fn wait_until_ready(
    process: &mut Process,
    transport: Transport,
    port: u16,
) -> Result<SocketAddr, Failure> {
    let deadline = Instant::now() + START_TIMEOUT;
    let ready_line = match transport {
        Transport::Tcp => "`listening on IP:PORT`",
        Transport::Udp => "`bound to IP:PORT`",
    };
    loop {
        let soon = (Instant::now() + Duration::from_millis(20)).min(deadline);
        if let Some(line) = process.next_line(soon) {
            if line.stream == Stream::Stdout {
                if let Some(address) = ready::parse(&line.text) {
                    return Ok(reachable(address));
                }
            }
            continue;
        }
        if port != 0 && port_is_taken(transport, port) {
            return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        }
        if process.exited().is_some() || Instant::now() >= deadline {
            let waited = if port == 0 {
                format!("the line {ready_line}")
            } else {
                format!("the line {ready_line}, or port {port} to be taken")
            };
            return Err(Failure::new(
                format!("the server to start: {waited}"),
                process.exit_report(),
            ));
        }
    }
}

/// The address to reach a server at: a server bound to every interface (`0.0.0.0`, `::`) is
/// reached through loopback.
fn reachable(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            (Ipv4Addr::LOCALHOST, address.port()).into()
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            (std::net::Ipv6Addr::LOCALHOST, address.port()).into()
        }
        _ => address,
    }
}

/// A port that is free now, for a command's `{port}`.
fn free_port(transport: Transport) -> Result<u16, Failure> {
    let port = match transport {
        Transport::Tcp => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr()),
        Transport::Udp => UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|s| s.local_addr()),
    };
    port.map(|address| address.port()).map_err(|error| {
        Failure::new("a free port on 127.0.0.1", error.to_string())
    })
}

/// Whether some socket on this machine holds `port`: a TCP listener, or a bound UDP socket.
/// On Linux this is read from /proc/net, which takes nothing away from the program under
/// check; elsewhere a bind is tried and at once given back.
fn port_is_taken(transport: Transport, port: u16) -> bool {
    #[cfg(target_os = "linux")]
    {
        let (files, listening) = match transport {
            // State 0A is TCP_LISTEN; a UDP socket has no state worth checking.
            Transport::Tcp => (["/proc/net/tcp", "/proc/net/tcp6"], Some("0A")),
            Transport::Udp => (["/proc/net/udp", "/proc/net/udp6"], None),
        };
        files.iter().any(|file| {
            std::fs::read_to_string(file).is_ok_and(|table| {
                table.lines().skip(1).any(|row| {
                    let fields: Vec<&str> = row.split_whitespace().collect();
                    let local_port = fields
                        .get(1)
                        .and_then(|local| local.rsplit(':').next())
                        .and_then(|hex| u16::from_str_radix(hex, 16).ok());
                    local_port == Some(port)
                        && listening
                            .is_none_or(|state| fields.get(3) == Some(&state))
                })
            })
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let taken =
            |error: std::io::Error| error.kind() == ErrorKind::AddrInUse;
        match transport {
            Transport::Tcp => {
                TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err_and(taken)
            }
            Transport::Udp => {
                UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err_and(taken)
            }
        }
    }
}

/// Waits for the client under check to connect to `listener`, for at most [`TIMEOUT`]; fails
/// at once if the client exits first.
pub fn accept_client(
    listener: &TcpListener,
    client: &mut Process,
) -> Result<Peer, Failure> {
    let what = format!(
        "`{}` to connect to 127.0.0.1:{}",
        client.label(),
        listener.local_addr().map(|a| a.port()).unwrap_or(0)
    );
    listener
        .set_nonblocking(true)
        .map_err(|error| Failure::new(what.clone(), error.to_string()))?;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(|error| {
                    Failure::new(what.clone(), error.to_string())
                })?;
                return Ok(Peer::new(stream));
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                if client.exited().is_some() || Instant::now() >= deadline {
                    return Err(Failure::new(what, client.silence_report()));
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(error) => return Err(Failure::new(what, error.to_string())),
        }
    }
}
