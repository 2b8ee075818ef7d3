//! The check's end of a conversation: a TCP connection that keeps every byte it has read, and a
//! UDP socket, both with a deadline on every wait.
//!
//! Support module. A [`Peer`] keeps the bytes it read past what a check asked for: when a
//! server answers two lines in one segment, asking for the first line leaves the second in the
//! peer, ready for the next ask. Every failure says what was expected and what came: the
//! bytes, then silence, a close or an error.

use super::{Failure, TIMEOUT, shown};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// Why a read stopped before the check had what it wanted.
enum Stop {
    /// Nothing more came before the deadline.
    Silence,
    /// The other side closed the connection (a read of 0 bytes).
    Closed,
    /// The read failed: a reset, say.
    Error(io::Error),
}

/// What a check makes of the bytes received so far.
pub enum Progress {
    /// They hold what was wanted: the first `usize` bytes are taken, the rest kept.
    Done(usize),
    /// Not yet: read more.
    More,
    /// They can never become what was wanted; the text says why.
    Wrong(String),
}

/// A TCP connection to (or from) the program under check.
pub struct Peer {
    stream: TcpStream,
    /// Bytes received and not yet taken by a check.
    pending: Vec<u8>,
    /// Whether the other side has closed (a read returned 0).
    closed: bool,
}

impl Peer {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream) -> Peer {
        // Each write of a check leaves at once, as its own segment where it can.
        let _ = stream.set_nodelay(true);
        Peer {
            stream,
            pending: Vec::new(),
            closed: false,
        }
    }

    /// Connects to `address`, giving up after [`TIMEOUT`].
    pub fn connect(address: SocketAddr) -> io::Result<Peer> {
        TcpStream::connect_timeout(&address, TIMEOUT).map(Peer::new)
    }

    /// The stream itself, for what a check needs beyond this type (socket options, say).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Our end's address: the client's, as the server sees it.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Sends all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let _ = self.stream.set_write_timeout(Some(TIMEOUT));
        self.stream.write_all(bytes).map_err(|error| {
            Failure::new(
                format!("to send {}", shown(bytes)),
                format!("the send failed: {error}"),
            )
        })
    }

    /// Reads until `judge` says the bytes received so far are complete (`Done`) or can never
    /// be right (`Wrong`), or until the deadline, a close or an error. `what` names what was
    /// expected, for the failure.
    pub fn read_until(
        &mut self,
        what: &str,
        mut judge: impl FnMut(&[u8]) -> Progress,
    ) -> Result<Vec<u8>, Failure> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match judge(&self.pending) {
                Progress::Done(count) => {
                    return Ok(self.pending.drain(..count).collect());
                }
                Progress::Wrong(why) => {
                    return Err(Failure::new(
                        what,
                        format!("{} ({why})", shown(&self.pending)),
                    ));
                }
                Progress::More => {}
            }
            if let Err(stop) = self.fill(deadline) {
                return Err(Failure::new(what, self.report(stop)));
            }
        }
    }

    /// Reads one line, up to and including its `\n`.
    pub fn read_line(&mut self, what: &str) -> Result<Vec<u8>, Failure> {
        self.read_until(what, |received| {
            match received.iter().position(|&byte| byte == b'\n') {
                Some(end) => Progress::Done(end + 1),
                None => Progress::More,
            }
        })
    }

    /// Reads exactly `count` bytes.
    pub fn read_exact(
        &mut self,
        count: usize,
        what: &str,
    ) -> Result<Vec<u8>, Failure> {
        self.read_until(what, |received| {
            if received.len() >= count {
                Progress::Done(count)
            } else {
                Progress::More
            }
        })
    }

    /// Reads exactly the bytes of `expected`, failing as soon as a byte differs.
    pub fn expect_bytes(&mut self, expected: &[u8]) -> Result<(), Failure> {
        self.read_until(&shown(expected), |received| {
            let common = received.len().min(expected.len());
            if received[..common] != expected[..common] {
                Progress::Wrong(format!(
                    "they differ from byte {}",
                    first_difference(received, expected)
                ))
            } else if received.len() >= expected.len() {
                Progress::Done(expected.len())
            } else {
                Progress::More
            }
        })
        .map(drop)
    }

    /// Waits for the other side to close the connection, with nothing more sent before.
    pub fn expect_close(&mut self, what: &str) -> Result<(), Failure> {
        let deadline = Instant::now() + TIMEOUT;
        while self.pending.is_empty() {
            match self.fill(deadline) {
                Err(Stop::Closed) => return Ok(()),
                // A reset is a close too, only a rude one.
                Err(Stop::Error(error)) if is_reset(&error) => return Ok(()),
                Err(stop) => return Err(Failure::new(what, self.report(stop))),
                Ok(()) => {}
            }
        }
        Err(Failure::new(
            what,
            format!("more bytes first: {}", shown(&self.pending)),
        ))
    }

    /// Checks that nothing arrives for `quiet`: the other side is waiting for more, as it
    /// should. A close counts as something arriving.
    pub fn expect_silence(
        &mut self,
        quiet: Duration,
        what: &str,
    ) -> Result<(), Failure> {
        if !self.pending.is_empty() {
            return Err(Failure::new(what, shown(&self.pending)));
        }
        match self.fill(Instant::now() + quiet) {
            Err(Stop::Silence) => Ok(()),
            Ok(()) => Err(Failure::new(what, shown(&self.pending))),
            Err(stop) => Err(Failure::new(what, self.report(stop))),
        }
    }

    /// One read from the socket into `pending`, waiting no later than `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), Stop> {
        if self.closed {
            return Err(Stop::Closed);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Stop::Silence);
        }
        self.stream
            .set_read_timeout(Some(left))
            .map_err(Stop::Error)?;
        let mut buffer = [0u8; 64 * 1024];
        match self.stream.read(&mut buffer) {
            Ok(0) => {
                self.closed = true;
                Err(Stop::Closed)
            }
            Ok(count) => {
                self.pending.extend_from_slice(&buffer[..count]);
                Ok(())
            }
            Err(error) if is_timeout(&error) => Err(Stop::Silence),
            Err(error) => Err(Stop::Error(error)),
        }
    }

    /// What came, and why it stopped: for the "got" half of a failure.
    fn report(&self, stop: Stop) -> String {
        let received = if self.pending.is_empty() {
            "nothing".to_string()
        } else {
            format!("only {}", shown(&self.pending))
        };
        match stop {
            Stop::Silence => format!("{received} within {TIMEOUT:?}"),
            Stop::Closed => {
                format!("{received}, then the connection was closed")
            }
            Stop::Error(error) if is_reset(&error) => format!(
                "{received}, then the connection was reset: the other side \
                 closed it, or its program ended ({error})"
            ),
            Stop::Error(error) => format!("{received}, then an error: {error}"),
        }
    }
}

/// A UDP socket of the check's own on loopback, waiting at most [`TIMEOUT`] for a datagram.
pub struct Datagrams {
    socket: UdpSocket,
}

impl Datagrams {
    /// Binds a new socket on `127.0.0.1`, on `port` (0 for any free port).
    pub fn bind(port: u16) -> io::Result<Datagrams> {
        let socket = UdpSocket::bind(("127.0.0.1", port))?;
        Ok(Datagrams { socket })
    }

    /// The socket's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends `bytes` as one datagram to `address`.
    pub fn send_to(
        &self,
        bytes: &[u8],
        address: SocketAddr,
    ) -> Result<(), Failure> {
        self.socket
            .send_to(bytes, address)
            .map(drop)
            .map_err(|error| {
                Failure::new(
                    format!("to send {} to {address}", shown(bytes)),
                    format!("the send failed: {error}"),
                )
            })
    }

    /// Waits for one datagram: its bytes and its sender.
    pub fn receive(
        &self,
        what: &str,
    ) -> Result<(Vec<u8>, SocketAddr), Failure> {
        self.receive_within(TIMEOUT, what)
    }

    /// Waits at most `timeout` for one datagram.
    pub fn receive_within(
        &self,
        timeout: Duration,
        what: &str,
    ) -> Result<(Vec<u8>, SocketAddr), Failure> {
        let mut buffer = vec![0u8; 64 * 1024];
        let received = self
            .socket
            .set_read_timeout(Some(timeout))
            .and_then(|()| self.socket.recv_from(&mut buffer));
        match received {
            Ok((count, sender)) => Ok((buffer[..count].to_vec(), sender)),
            Err(error) if is_timeout(&error) => Err(Failure::new(
                what,
                format!("no datagram within {timeout:?}"),
            )),
            Err(error) => Err(Failure::new(what, format!("an error: {error}"))),
        }
    }
}

/// The index of the first byte where `a` and `b` differ.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// A read that ran out of time: `WouldBlock` on Unix, `TimedOut` on Windows.
fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn is_reset(error: &io::Error) -> bool {
    crate::explain::is_disconnect(error)
}
