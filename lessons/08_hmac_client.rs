//! Lesson 08 — the HMAC client: prove that we know the key, then talk.
//!
//! Connects to `08_hmac_server`, reads its challenge of 32 random bytes, and
//! answers with their HMAC-SHA256 under the shared key, as 64 lowercase hex
//! digits, exactly what Python's `hmac.new(key, challenge,
//! 'sha256').hexdigest()` gives. The key itself never crosses the network.
//! Then each line you type is sent, until `quit` or the end of input (Ctrl-D;
//! Ctrl-Z then Enter on Windows). A server that rejects the answer closes the
//! connection: the client says so and ends. Start `08_hmac_server` first,
//! with the same `--key`.
//!
//! The Python tutorial's client sends the word `upload` after its answer;
//! this one sends what you type.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use socket_lessons::{cli, console, style};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{self, ExitCode};
use std::thread;
use std::time::Duration;

/// The key of the Python tutorial, used when no `--key` is given.
const DEMO_KEY: &str = "wangwang";

/// How many bytes the server's challenge has.
const CHALLENGE_SIZE: usize = 32;

/// The server's address, the shared key, and how long to wait.
#[derive(clap::Args)]
struct Args {
    #[command(flatten)]
    endpoint: cli::Endpoint,
    /// The shared secret, the same as the server's. Without it, the Python
    /// tutorial's demo key, which is no secret at all.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Seconds to wait for the connection, and then for the challenge,
    /// before giving up (0.5 is fine too).
    #[arg(long, value_name = "SECONDS", default_value = "3")]
    #[arg(value_parser = cli::seconds, allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), talk)
}

fn talk(args: Args) -> io::Result<()> {
    let key = match args.key {
        Some(key) => key,
        None => {
            // Say so without saying the key.
            style::notice(
                "no --key given: using the demo key of the Python tutorial, \
                 which anyone can look up; pass --key to choose your own",
            );
            DEMO_KEY.to_string()
        }
    };
    let addresses = args.endpoint.socket_addrs()?;
    let mut stream = connect(&addresses, args.timeout)?;
    let server = stream.peer_addr()?;
    style::event(format!(
        "connected to {server} from {}",
        stream.local_addr()?
    ));

    // ANCHOR: answer
    // The challenge: exactly 32 bytes. One read could return fewer (the
    // Python tutorial's recv(32) takes whatever has come, up to 32), and the
    // HMAC of half a challenge is the wrong answer. read_exact waits for all
    // of them; the timeout keeps a server that sends nothing from keeping
    // us for ever.
    stream.set_read_timeout(Some(args.timeout))?;
    let mut challenge = [0u8; CHALLENGE_SIZE];
    stream
        .read_exact(&mut challenge)
        .map_err(|error| no_challenge(error, server, args.timeout))?;
    style::received_hex(server, &challenge);

    // HMAC-SHA256 of the challenge under the key, as the server computes it.
    // Only this digest crosses the network; the key never does.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|error| io::Error::other(format!("bad key: {error}")))?;
    mac.update(&challenge);
    // 64 lowercase hex digits, and nothing after them: the server reads
    // exactly 64 bytes, and whatever follows is our first message.
    let answer = hex::encode(mac.finalize().into_bytes());
    stream.write_all(answer.as_bytes())?;
    style::sent(server, answer.as_bytes());
    // ANCHOR_END: answer

    // ANCHOR: watch
    // The server sends nothing more, except its close: the verdict on a
    // wrong answer. We are about to wait on the keyboard, so a second
    // thread waits on the socket, to say at once when the server closes.
    stream.set_read_timeout(None)?;
    let watched = stream.try_clone()?;
    thread::spawn(move || watch(watched, server));
    // ANCHOR_END: watch

    // ANCHOR: send
    while let Some(line) = console::read_line(">> ")? {
        if line.trim() == "quit" {
            break;
        }
        if line.is_empty() {
            continue;
        }
        // The newline keeps the lines apart in the server's log; the
        // protocol itself marks no ends of messages.
        let message = format!("{line}\n");
        match stream.write_all(message.as_bytes()) {
            Ok(()) => style::sent(server, message.as_bytes()),
            // The server closed and its reset came back: the watcher says
            // so and ends the process; if it has not yet, we do.
            Err(error) if server_is_gone(&error) => break,
            Err(error) => return Err(error),
        }
    }
    // Returning ends the process, and the OS closes both handles on the
    // socket: our FIN goes out, the server's read returns 0. (A shutdown
    // here would let the server close first, and the watcher would take
    // that for a rejection.)
    style::event(format!("leaving {server}"));
    Ok(())
    // ANCHOR_END: send
}

// ANCHOR: watcher
/// The watcher thread: waits for the server to close, then ends the process
/// (the main thread is blocked reading the keyboard, and a read of stdin
/// cannot be interrupted from another thread).
fn watch(mut stream: TcpStream, server: SocketAddr) -> ! {
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            // Not part of the protocol, but worth showing if it comes.
            Ok(count) => {
                style::reply(String::from_utf8_lossy(&buffer[..count]))
            }
            Err(error) if server_is_gone(&error) => break,
            Err(error) => {
                style::error(format!("reading from {server}: {error}"));
                process::exit(1)
            }
        }
    }
    style::notice(format!(
        "{server} closed the connection: a server rejects a wrong answer \
         this way, so check that both sides use the same --key"
    ));
    process::exit(0)
}
// ANCHOR_END: watcher

/// The errors that mean the server has gone, as a read of 0 bytes does.
fn server_is_gone(error: &io::Error) -> bool {
    match error.kind() {
        // Closed (or killed) with bytes of ours unread: its OS sends a
        // reset. (Windows may say ConnectionAborted.)
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => true,
        // EPIPE: a write after that reset came back.
        ErrorKind::BrokenPipe => true,
        _ => false,
    }
}

// ANCHOR: no_challenge
/// What to say when the 32 bytes of the challenge do not come.
fn no_challenge(
    error: io::Error,
    server: SocketAddr,
    timeout: Duration,
) -> io::Error {
    match error.kind() {
        ErrorKind::UnexpectedEof => io::Error::other(format!(
            "{server} closed the connection before sending a whole \
             {CHALLENGE_SIZE}-byte challenge: is it an HMAC server?"
        )),
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            io::Error::other(format!(
                "no {CHALLENGE_SIZE}-byte challenge from {server} within \
                 {timeout:?}: is it an HMAC server (08_hmac_server, port \
                 8520)?"
            ))
        }
        _ => error,
    }
}
// ANCHOR_END: no_challenge

// ANCHOR: deadline
/// Connects to the first address that answers, waiting at most `timeout`
/// for each, as lesson 03's client does.
fn connect(
    addresses: &[SocketAddr],
    timeout: Duration,
) -> io::Result<TcpStream> {
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some((address, error)),
        }
    }
    match last_error {
        // A refusal comes back at once; silence means the SYN was dropped.
        Some((address, error)) if error.kind() == ErrorKind::TimedOut => {
            Err(io::Error::other(format!(
                "no answer from {address} within {timeout:?}: the server's \
                 queue of connections waiting for accept() is probably full \
                 (on another host, a firewall may be dropping the connection)"
            )))
        }
        Some((_, error)) => Err(error),
        None => Err(io::Error::other("no address to connect to")),
    }
}
// ANCHOR_END: deadline
