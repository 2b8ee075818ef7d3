//! Lesson 06 — the ctime service on the socketserver framework.
//!
//! The same service as `06_threaded_server`, written the way Python's
//! `socketserver` has it: the framework (`socket_lessons::socketserver`)
//! owns the socket, the accept loop and a thread per client; this file is
//! only the conversation, as a `RequestHandler`. Type `quit` on the server's
//! console to stop it, or press Ctrl-C.

use socket_lessons::socketserver::{
    Options, Request, RequestHandler, ThreadingTcpServer,
};
use socket_lessons::{cli, console, ctime, ready, style};
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::thread;

/// The most bytes one `read` takes off the socket: the tutorial's `BUFSIZ`.
const BUFFER_SIZE: usize = 1024;

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

// ANCHOR: handler
/// One client's conversation: Python's `BaseRequestHandler` subclass. The
/// framework makes one for each connection, and runs it in that
/// connection's thread.
struct CtimeHandler;

impl RequestHandler for CtimeHandler {
    fn setup(&mut self, request: &mut Request) -> io::Result<()> {
        style::event(format!("connected: {}", request.client_address));
        Ok(())
    }

    /// Lesson 03's conversation loop, on `request.stream` (Python's
    /// `self.request`).
    fn handle(&mut self, request: &mut Request) -> io::Result<()> {
        let peer = request.client_address;
        let mut buffer = [0u8; BUFFER_SIZE];
        loop {
            let count = request.stream.read(&mut buffer)?;
            if count == 0 {
                return Ok(());
            }
            let chunk = &buffer[..count];
            style::received(peer, chunk);
            let mut reply = ctime::now().into_bytes();
            reply.extend_from_slice(chunk);
            request.stream.write_all(&reply)?;
            style::sent(peer, &reply);
        }
    }

    /// Runs after `handle`, whether it returned or failed; a failure is
    /// logged by the framework after this, as `lost PEER: …`.
    fn finish(&mut self, request: &mut Request) -> io::Result<()> {
        style::event(format!("closed: {}", request.client_address));
        Ok(())
    }
}
// ANCHOR_END: handler

// ANCHOR: serve
fn serve(args: cli::Endpoint) -> io::Result<()> {
    // Options::default() has allow_reuse_address on (Python's is off): a
    // server restarted at once binds its port again, as lesson 03's did.
    let server = ThreadingTcpServer::bind(
        args.socket_addr()?,
        Options::default(),
        || CtimeHandler,
    )?;
    ready::listening(server.server_address());

    // serve_forever() blocks, so it gets a thread of its own, and the main
    // thread keeps the console: the only way to stop serve_forever() short
    // of Ctrl-C is Shutdown::shutdown() from another thread, as in Python.
    let stop = server.shutdown_handle();
    let serving = thread::Builder::new()
        .name("serve_forever".into())
        .spawn(move || server.serve_forever())?;

    let mut stopped = false;
    while let Some(command) = console::read_line("")? {
        if command.trim() == "quit" {
            style::event("stopping");
            stop.shutdown()?;
            stopped = true;
            break;
        }
        style::notice("type quit to stop the server");
    }
    // The end of input (Ctrl-D, `< /dev/null`, nohup) leaves the server
    // serving without a console: the join below waits until Ctrl-C.
    if !stopped {
        style::notice("no console any more: Ctrl-C stops the server");
    }
    match serving.join() {
        // serve_forever() has returned. Clients still connected are cut
        // off as the process exits: the framework's threads are detached.
        Ok(result) => result,
        Err(_) => Err(io::Error::other("serve_forever panicked")),
    }
}
// ANCHOR_END: serve
