//! Lesson 08 — the HMAC server: only clients that know the key get in.
//!
//! A handler of lesson 06's framework. To each client it sends a challenge
//! of 32 random bytes from the OS; the client must answer with the
//! HMAC-SHA256 of those bytes under the shared key, as 64 lowercase hex
//! digits. The server computes the same HMAC and compares in constant time:
//! a client that answers right is `authenticated` and its messages are
//! printed; any other answer is `rejected` and the connection closed. A
//! client that sends less than 64 bytes is dropped after `--auth-timeout`.
//! Run `08_hmac_client` beside it, with the same `--key`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
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
    cli::run(env!("CARGO_BIN_NAME"), serve)
}

// ANCHOR: serve
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
// ANCHOR_END: serve

/// One client's conversation: the challenge, the answer, the verdict, then
/// the messages of a client that got in.
struct Authenticator {
    key: Arc<[u8]>,
    auth_timeout: Duration,
    /// The bytes sent to this client, which its answer must be the HMAC of.
    challenge: [u8; CHALLENGE_SIZE],
}

// ANCHOR: challenge
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
    // ANCHOR_END: challenge

    // ANCHOR: handle
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
    // ANCHOR_END: handle

    fn finish(&mut self, request: &mut Request) -> io::Result<()> {
        style::event(format!("closed: {}", request.client_address));
        Ok(())
    }
}

// ANCHOR: read_by
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
// ANCHOR_END: read_by

// ANCHOR: verify
/// Whether `answer` is the lowercase hex HMAC-SHA256 of `challenge` under
/// `key`: what Python's `hmac.new(key, challenge, 'sha256').hexdigest()`
/// gives.
fn verify(key: &[u8], challenge: &[u8], answer: &[u8]) -> bool {
    // Back from hex to the 32 bytes of the tag. Bytes that are not hex
    // digits cannot be a digest: rejected. (hex::decode takes upper-case
    // digits too; they name the same tag.)
    let Ok(tag) = hex::decode(answer) else {
        return false;
    };
    // HMAC takes a key of any length (a long one is hashed first), so this
    // never fails; a failure would mean no key at all, and no entry.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(challenge);
    // verify_slice compares in constant time: every byte, whatever the
    // first difference. `==` stops at the first wrong byte, so how long a
    // rejection takes would tell an attacker how many leading bytes of a
    // guess were right, and a tag could be found byte by byte.
    mac.verify_slice(&tag).is_ok()
}
// ANCHOR_END: verify
