//! Lesson 06's framework: Python's `socketserver`, in Rust.
//!
//! **Taught code**: read this module as a lesson. Every TCP server so far has
//! had the same two loops: a loop that accepts connections, and inside it a
//! conversation with one client. The Python tutorial's `socketserver` splits
//! them. The *server* ([`ThreadingTcpServer`]) owns the socket, the accept
//! loop and a thread per connection; a *request handler* ([`RequestHandler`])
//! owns one conversation, and knows nothing of accepting. A service is then
//! only its handler.
//!
//! | Python                                   | here                                   |
//! |------------------------------------------|----------------------------------------|
//! | `socketserver.ThreadingTCPServer(addr, H)` | [`ThreadingTcpServer::bind`]`(addr, options, make)` |
//! | `TCPServer.allow_reuse_address = True`   | [`Options::allow_reuse_address`]        |
//! | `BaseRequestHandler`                     | the [`RequestHandler`] trait            |
//! | `setup()`, `handle()`, `finish()`        | the trait's three methods              |
//! | `self.request`                           | [`Request::stream`]                    |
//! | `self.client_address`                    | [`Request::client_address`]            |
//! | `server.serve_forever()`                 | [`ThreadingTcpServer::serve_forever`]  |
//! | `server.shutdown()` (from another thread) | [`Shutdown::shutdown`]                 |
//!
//! A whole service, in a few lines: an echo server that runs until it is told
//! to stop.
//!
//! ```
//! use socket_lessons::socketserver::{
//!     Options, Request, RequestHandler, ThreadingTcpServer,
//! };
//! use std::io::{self, Read, Write};
//! use std::net::TcpStream;
//!
//! /// Sends back every chunk it receives, until the client closes.
//! struct Echo;
//!
//! impl RequestHandler for Echo {
//!     fn handle(&mut self, request: &mut Request) -> io::Result<()> {
//!         let mut buffer = [0; 1024];
//!         loop {
//!             let count = request.stream.read(&mut buffer)?;
//!             if count == 0 {
//!                 return Ok(());
//!             }
//!             request.stream.write_all(&buffer[..count])?;
//!         }
//!     }
//! }
//!
//! # fn main() -> io::Result<()> {
//! let address = "127.0.0.1:0".parse().expect("an address");
//! let server = ThreadingTcpServer::bind(address, Options::default(), || Echo)?;
//! let stop = server.shutdown_handle();
//! let address = server.server_address();
//! let serving = std::thread::spawn(move || server.serve_forever());
//!
//! let mut client = TcpStream::connect(address)?;
//! client.write_all(b"hello")?;
//! let mut reply = [0; 5];
//! client.read_exact(&mut reply)?;
//! assert_eq!(&reply, b"hello");
//!
//! stop.shutdown()?; // from this thread, as Python's shutdown() is
//! serving.join().expect("serve_forever returns")?;
//! # Ok(())
//! # }
//! ```

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

// ANCHOR: handler
/// One connection, as a handler sees it: Python's `self.request` and
/// `self.client_address`.
#[derive(Debug)]
pub struct Request {
    /// The connected socket, to read from and write to.
    pub stream: TcpStream,
    /// The client's address, as `accept` returned it.
    pub client_address: SocketAddr,
}

/// One conversation with one client: Python's `BaseRequestHandler`.
///
/// The server makes a new handler for each connection and moves it into
/// that connection's own thread, which calls [`setup`](Self::setup),
/// [`handle`](Self::handle) and [`finish`](Self::finish) in that order. `finish` runs even when
/// `handle` failed, as Python's `finally:` makes it, so clean-up belongs
/// there. An error ends this conversation only: the server logs it and goes
/// on serving everyone else.
pub trait RequestHandler: Send + 'static {
    /// Before the conversation: a greeting, a timeout to set. Does nothing
    /// unless overridden.
    fn setup(&mut self, request: &mut Request) -> io::Result<()> {
        let _ = request;
        Ok(())
    }

    /// The conversation itself. Returning ends it; the connection closes
    /// once the handler and its request are dropped.
    fn handle(&mut self, request: &mut Request) -> io::Result<()>;

    /// After the conversation, whatever `handle` returned. Does nothing
    /// unless overridden.
    fn finish(&mut self, request: &mut Request) -> io::Result<()> {
        let _ = request;
        Ok(())
    }
}
// ANCHOR_END: handler

/// How the server sets up its listening socket.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `SO_REUSEADDR` before `bind`, Python's `allow_reuse_address`: a server
    /// restarted at once can bind its port again, though connections of the
    /// last run still wait out TIME_WAIT on it. Python's `TCPServer` leaves it
    /// off; ours has it on, as Rust's `TcpListener::bind` does on Unix.
    pub allow_reuse_address: bool,
    /// How many finished handshakes the OS may queue for `accept`: the
    /// `listen(backlog)` of lesson 01.
    pub backlog: i32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allow_reuse_address: true,
            backlog: 128,
        }
    }
}

/// A TCP server that gives each connection a thread of its own: Python's
/// `ThreadingTCPServer`.
pub struct ThreadingTcpServer<F> {
    listener: TcpListener,
    /// Makes the handler for each new connection.
    make_handler: F,
    /// Set by [`Shutdown::shutdown`]; read by the accept loop each time
    /// `accept` returns.
    stop_requested: Arc<AtomicBool>,
}

impl<F, H> ThreadingTcpServer<F>
where
    F: Fn() -> H,
    H: RequestHandler,
{
    // ANCHOR: bind
    /// Creates the socket, sets its options, binds `address` and listens:
    /// Python's `ThreadingTCPServer(address, Handler)`. `make_handler` is
    /// called once per connection.
    pub fn bind(
        address: SocketAddr,
        options: Options,
        make_handler: F,
    ) -> io::Result<ThreadingTcpServer<F>> {
        let socket = Socket::new(
            Domain::for_address(address),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        socket.set_reuse_address(options.allow_reuse_address)?;
        socket.bind(&address.into())?;
        socket.listen(options.backlog)?;
        Ok(ThreadingTcpServer {
            listener: socket.into(),
            make_handler,
            stop_requested: Arc::new(AtomicBool::new(false)),
        })
    }
    // ANCHOR_END: bind

    /// The address the server listens on, with the real port when 0 was
    /// asked: Python's `server.server_address`.
    pub fn server_address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
    }

    /// A handle that stops [`serve_forever`](Self::serve_forever) from any
    /// thread.
    pub fn shutdown_handle(&self) -> Shutdown {
        Shutdown {
            stop_requested: Arc::clone(&self.stop_requested),
            address: self.server_address(),
        }
    }

    // ANCHOR: serve_forever
    /// Accepts connections until [`Shutdown::shutdown`] is called, and hands
    /// each to a new thread that runs a new handler on it. Returns then,
    /// without waiting for the conversations still going on: their threads
    /// are detached (Python's `daemon_threads = True`) and end with their
    /// clients, or with the process. A failed `accept` (a connection reset
    /// while it waited, say) is logged and the loop goes on. A client still
    /// waiting in the OS's queue when the server stops is dropped unserved.
    pub fn serve_forever(&self) -> io::Result<()> {
        loop {
            let accepted = self.listener.accept();
            if self.stop_requested.load(Ordering::SeqCst) {
                return Ok(());
            }
            let (stream, client_address) = match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    crate::style::notice(format!("accept failed: {error}"));
                    continue;
                }
            };
            let handler = (self.make_handler)();
            let request = Request {
                stream,
                client_address,
            };
            // A named thread shows in debuggers and `top -H` (Linux keeps
            // 15 bytes of a name: `127.0.0.1:54321` just fits). The Builder
            // returns the OS's refusal to make a thread instead of panicking.
            let started = thread::Builder::new()
                .name(client_address.to_string())
                .spawn(move || process_request(handler, request));
            if let Err(error) = started {
                crate::style::notice(format!(
                    "cannot serve {client_address}: {error}"
                ));
            }
        }
    }
    // ANCHOR_END: serve_forever
}

// ANCHOR: process_request
/// One connection's thread: setup, handle, finish, and the error of one
/// conversation logged, not spread.
fn process_request<H: RequestHandler>(mut handler: H, mut request: Request) {
    let peer = request.client_address;
    let mut result = handler.setup(&mut request);
    if result.is_ok() {
        result = handler.handle(&mut request);
    }
    let finished = handler.finish(&mut request);
    if let Err(error) = result.and(finished) {
        crate::style::notice(format!("lost {peer}: {error}"));
    }
}
// ANCHOR_END: process_request

// ANCHOR: shutdown
/// Stops a [`ThreadingTcpServer`]'s `serve_forever` from another thread:
/// Python's `server.shutdown()`.
#[derive(Debug, Clone)]
pub struct Shutdown {
    stop_requested: Arc<AtomicBool>,
    address: SocketAddr,
}

impl Shutdown {
    /// Sets the stop flag and wakes the accept loop. `accept` has no
    /// timeout and no other thread can interrupt it, so we become its next
    /// client: it returns, sees the flag, and `serve_forever` returns.
    pub fn shutdown(&self) -> io::Result<()> {
        self.stop_requested.store(true, Ordering::SeqCst);
        let mut wake = self.address;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        TcpStream::connect(wake).map(drop)
    }
}
// ANCHOR_END: shutdown

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::mpsc;
    use std::time::Duration;

    /// Reports each step of its conversation on a channel.
    struct Steps(mpsc::Sender<&'static str>);

    impl RequestHandler for Steps {
        fn setup(&mut self, _: &mut Request) -> io::Result<()> {
            let _ = self.0.send("setup");
            Ok(())
        }
        fn handle(&mut self, request: &mut Request) -> io::Result<()> {
            let _ = self.0.send("handle");
            request.stream.write_all(b"hi")?;
            Err(io::Error::other("handle failed"))
        }
        fn finish(&mut self, _: &mut Request) -> io::Result<()> {
            let _ = self.0.send("finish");
            Ok(())
        }
    }

    #[test]
    fn each_connection_gets_setup_handle_and_finish_even_when_handle_fails() {
        let (sender, steps) = mpsc::channel();
        let address = "127.0.0.1:0".parse().expect("an address");
        let server = ThreadingTcpServer::bind(address, Options::default(), {
            move || Steps(sender.clone())
        })
        .expect("bind");
        let stop = server.shutdown_handle();
        let mut client =
            TcpStream::connect(server.server_address()).expect("connect");
        let serving = thread::spawn(move || server.serve_forever());
        let mut reply = [0; 2];
        client.read_exact(&mut reply).expect("the reply");
        let wait = Duration::from_secs(2);
        let seen: Vec<&str> = (0..3)
            .map(|_| steps.recv_timeout(wait).expect("a step"))
            .collect();
        assert_eq!(seen, ["setup", "handle", "finish"]);
        stop.shutdown().expect("shutdown");
        let result = serving.join().expect("serve_forever did not panic");
        assert!(result.is_ok());
    }
}
