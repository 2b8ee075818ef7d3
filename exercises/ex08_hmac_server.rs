//! Exercise 08 — the HMAC server: verify the answer.
//!
//! This is lesson 08's server with its verification taken out. It builds and
//! runs: it sends each client a fresh challenge, reads the 64-byte answer
//! (dropping a client that takes longer than `--auth-timeout`), and prints
//! the messages of a client that got in. But it lets everyone in: `verify`
//! below accepts any 64 bytes, a wrong key, a replayed answer, 64 `z`s. Do
//! the TODO in `verify`; chapter 08 of the book explains it.
//!
//! Check your work with either of these (they run the same checks):
//!
//! ```console
//! cargo test --test exercises ex08_hmac_server
//! cargo run -- check 08_hmac_server --exercise ex08_hmac_server
//! ```
//!
//! It is done when all seven checks pass. Each failed check says what it
//! expected, what came instead, and which section of the chapter to read.
//! Then try it by hand: `cargo run --bin ex08_hmac_server` in one terminal
//! and `cargo run --bin 08_hmac_client -- --key wrong` in another: the
//! client must be rejected.

use socket_lessons::socketserver::{
    Options, Request, RequestHandler, ThreadingTcpServer,
};
use socket_lessons::{cli, ready, style};
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The key of the Python tutorial, used when no `--key` is given: a demo
/// key, known to everyone who has read the tutorial (or this file).
const DEMO_KEY: &str = "wangwang";

/// How many random bytes make a challenge.
const CHALLENGE_SIZE: usize = 32;

/// How long the answer is: SHA-256 makes 32 bytes, two hex digits each.
const DIGEST_SIZE: usize = 64;

/// The most bytes one `read` of a message takes off the socket.
const BUFFER_SIZE: usize = 1024;

/// Where to listen, the shared key, and how long a client may take.
#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// The shared secret; the client must use the same. Without it, the
    /// Python tutorial's demo key, which is no secret at all.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Seconds a client has to send its 64-byte answer before it is
    /// dropped (0.5 is fine too).
    #[arg(long, value_name = "SECONDS", default_value = "3")]
    #[arg(value_parser = cli::seconds, allow_negative_numbers = true)]
    auth_timeout: Duration,
}

fn main() -> ExitCode {
    // An exercise runs with its lesson's arguments and --help, so it names the
    // lesson it is drawn from.
    cli::run("08_hmac_server", serve)
}

fn serve(args: Args) -> io::Result<()> {
    let key = match args.key {
        Some(key) => key,
        None => {
            // Say so without saying the key: a log is no place for a
            // secret, even a demo one.
            style::notice(
                "no --key given: using the demo key of the Python tutorial, \
                 which anyone can look up; pass --key to choose your own",
            );
            DEMO_KEY.to_string()
        }
    };
    // One copy of the key, shared by every connection's handler.
    let key: Arc<[u8]> = Arc::from(key.into_bytes());
    let auth_timeout = args.auth_timeout;
    // The framework owns bind, listen, the accept loop and a thread per
    // client: a client that sends nothing keeps its own thread waiting, and
    // no one else's.
    let server = ThreadingTcpServer::bind(
        args.endpoint.socket_addr()?,
        Options::default(),
        move || Authenticator {
            key: Arc::clone(&key),
            auth_timeout,
            challenge: [0; CHALLENGE_SIZE],
        },
    )?;
    ready::listening(server.server_address());
    server.serve_forever()
}

/// One client's conversation: the challenge, the answer, the verdict, then
/// the messages of a client that got in.
struct Authenticator {
    key: Arc<[u8]>,
    auth_timeout: Duration,
    /// The bytes sent to this client, which its answer must be the HMAC of.
    challenge: [u8; CHALLENGE_SIZE],
}

impl RequestHandler for Authenticator {
    /// Sends the challenge: fresh random bytes for every connection, so an
    /// answer overheard on one connection is worth nothing on the next (a
    /// replay gets a different challenge).
    fn setup(&mut self, request: &mut Request) -> io::Result<()> {
        let peer = request.client_address;
        style::event(format!("connected: {peer}"));
        // The OS's random source (getrandom(2) on Linux), Python's
        // os.urandom: unpredictable, unlike a seeded generator.
        getrandom::fill(&mut self.challenge).map_err(|error| {
            io::Error::other(format!("no random bytes from the OS: {error}"))
        })?;
        request.stream.write_all(&self.challenge)?;
        style::sent_hex(peer, &self.challenge);
        Ok(())
    }

    fn handle(&mut self, request: &mut Request) -> io::Result<()> {
        let peer = request.client_address;
        // A deadline bounds the wait for the answer: a client that sends
        // nothing, or 10 bytes and then nothing, is dropped when it passes,
        // instead of holding its thread and socket for ever.
        let deadline = Instant::now() + self.auth_timeout;
        let mut answer = [0u8; DIGEST_SIZE];
        if let Err(error) = read_by(&mut request.stream, &mut answer, deadline)
        {
            let why = match error.kind() {
                // WouldBlock on Unix, TimedOut on Windows.
                ErrorKind::WouldBlock | ErrorKind::TimedOut => format!(
                    "no {DIGEST_SIZE}-byte answer within {:?}",
                    self.auth_timeout
                ),
                ErrorKind::UnexpectedEof => format!(
                    "it closed before sending a {DIGEST_SIZE}-byte answer"
                ),
                _ => return Err(error),
            };
            style::event(format!("rejected: {peer}: {why}"));
            return Ok(()); // returning drops the stream: the client is closed
        }
        style::received(peer, &answer);
        if !verify(&self.key, &self.challenge, &answer) {
            style::event(format!("rejected: {peer}: wrong answer"));
            return Ok(());
        }
        style::event(format!("authenticated: {peer}"));

        // In: from now on the client may take its time.
        request.stream.set_read_timeout(None)?;
        let mut buffer = [0u8; BUFFER_SIZE];
        loop {
            let count = request.stream.read(&mut buffer)?;
            if count == 0 {
                return Ok(()); // the client's FIN: it has finished
            }
            style::received(peer, &buffer[..count]);
        }
    }

    fn finish(&mut self, request: &mut Request) -> io::Result<()> {
        style::event(format!("closed: {}", request.client_address));
        Ok(())
    }
}

/// Fills `buffer` from `stream` by `deadline`, as read_exact would without
/// one. Not one read: the bytes may come in pieces. Not "whatever has come"
/// either: each read asks for exactly the bytes still missing, so a first
/// message sent in the same segment stays in the socket for later. And not
/// set_read_timeout once and read_exact: the timeout counts for each read,
/// so a client sending a byte now and then could stay for 64 timeouts.
fn read_by(
    stream: &mut TcpStream,
    buffer: &mut [u8],
    deadline: Instant,
) -> io::Result<()> {
    let mut filled = 0;
    while filled < buffer.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        // set_read_timeout refuses a zero timeout: past the deadline, stop.
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buffer[filled..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(count) => filled += count,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Whether `answer` is the lowercase hex HMAC-SHA256 of `challenge` under
/// `key`: what Python's `hmac.new(key, challenge, 'sha256').hexdigest()`
/// gives.
fn verify(key: &[u8], challenge: &[u8], answer: &[u8]) -> bool {
    // TODO (the chapter's section "The verdict"): compute the HMAC of the
    // challenge under the key, and compare it with the answer in constant
    // time. Write no cryptography by hand; the crates hmac and sha2 do it:
    //
    // 1. Add `use hmac::{Hmac, Mac};` and `use sha2::Sha256;` at the top.
    // 2. Turn the 64 hex digits back into the 32 bytes of the tag with
    //    `hex::decode(answer)`; bytes that are not hex digits give an Err,
    //    and such an answer is wrong.
    // 3. `Hmac::<Sha256>::new_from_slice(key)` makes the MAC (it returns a
    //    Result, though HMAC takes a key of any length), `.update(challenge)`
    //    feeds it the challenge, and `.verify_slice(&tag)` compares in
    //    constant time: Ok when they are equal.
    //
    // Not `==` on the hex strings: it stops at the first difference, and the
    // time it takes tells an attacker how much of a guess was right.
    let _ = (key, challenge);
    answer.len() == 64
}
