//! The HMAC challenge-response protocol of lesson 08: the server sends exactly 32 random
//! bytes; the client answers the lowercase hex HMAC-SHA256 of them under the shared key,
//! exactly 64 ASCII bytes with nothing after them; the server reads exactly 64 bytes (a first
//! message may follow in the same segment), compares in constant time, prints a line with
//! `authenticated` or `rejected` (closing a rejected connection) and then prints the messages
//! of a client that got in.
//!
//! **The key.** Every check uses [`KEY`], the Python tutorial's key `wangwang`, which is also
//! the demo default of our two binaries: so `cargo run -- check 08_hmac_server` needs no
//! option, and a program written from the seed (which has the key in its code) passes as it
//! is. A program that takes its key from the command line is given it there:
//! `cargo run -- check 08_hmac_server -- python3 server.py {port} --key wangwang`.
//!
//! **The auth timeout.** A server must drop a client that has not sent its 64 bytes within
//! [`AUTH_PATIENCE`] (our server's `--auth-timeout` defaults to 3 s; the tests run it with 1 s
//! to be quick). The check passes no option for it, so any program can be checked.
//!
//! A server's verdict is seen on its standard output (the protocol sends none on the wire):
//! the checks read the lines it prints.

use super::process::Stream;
use super::target::accept_client;
use super::{
    Check, Failure, Outcome, Peer, Process, Progress, TIMEOUT, Target, shown,
};
use ::hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::Read;
use std::net::Shutdown;
use std::time::{Duration, Instant};

/// The shared key of every check: the Python tutorial's, and our binaries' demo default.
pub const KEY: &str = "wangwang";

/// A key that is not [`KEY`]: a client using it must be rejected.
pub const WRONG_KEY: &str = "not-the-key";

/// How long a server may keep a client that has not sent its whole answer.
pub const AUTH_PATIENCE: Duration = Duration::from_secs(5);

/// How many bytes a challenge has.
pub const CHALLENGE_SIZE: usize = 32;

/// How many bytes an answer has: 32 bytes of SHA-256, two hex digits each.
pub const DIGEST_SIZE: usize = 64;

/// How long a check listens for bytes that must not come.
const QUIET: Duration = Duration::from_millis(150);

/// The lowercase hex HMAC-SHA256 of `message` under `key`: Python's
/// `hmac.new(key, message, 'sha256').hexdigest()`.
///
/// ```
/// use socket_lessons::check::hmac::hex_digest;
/// // RFC 4231, test case 2
/// assert_eq!(
///     hex_digest(b"Jefe", b"what do ya want for nothing?"),
///     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
/// );
/// ```
pub fn hex_digest(key: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length, so new_from_slice cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts a key of any length"),
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Lesson 08's server.
pub const SERVER: &[Check] = &[
    Check {
        name: "sends exactly 32 bytes first, a fresh challenge on each connection",
        section: "book/src/08_hmac.md#the-challenge",
        run: sends_a_fresh_challenge,
    },
    Check {
        name: "accepts the right answer and prints the client's messages",
        section: "book/src/08_hmac.md#the-verdict",
        run: accepts_the_right_answer,
    },
    Check {
        name: "takes an answer and a first message sent in one segment, both",
        section: "book/src/08_hmac.md#pitfalls",
        run: takes_answer_and_message_together,
    },
    Check {
        name: "rejects an answer made with another key, and closes the connection",
        section: "book/src/08_hmac.md#the-verdict",
        run: rejects_a_wrong_key,
    },
    Check {
        name: "rejects 64 bytes that are not hex digits",
        section: "book/src/08_hmac.md#the-verdict",
        run: rejects_non_hex,
    },
    Check {
        name: "rejects the answer to another connection's challenge (a replay)",
        section: "book/src/08_hmac.md#the-challenge",
        run: rejects_a_replay,
    },
    Check {
        name: "drops a client that sends too little, or nothing, and serves others meanwhile",
        section: "book/src/08_hmac.md#a-client-that-says-nothing",
        run: drops_silent_clients,
    },
];

/// Lesson 08's client.
pub const CLIENT: &[Check] = &[
    Check {
        name: "answers the challenge with its 64-digit lowercase hex HMAC-SHA256 and no terminator",
        section: "book/src/08_hmac.md#the-client",
        run: client_answers_the_challenge,
    },
    Check {
        name: "waits for all 32 bytes of a challenge that comes in pieces",
        section: "book/src/08_hmac.md#pitfalls",
        run: client_waits_for_the_whole_challenge,
    },
    Check {
        name: "sends each typed line after the answer, and stops at quit",
        section: "book/src/08_hmac.md#the-client",
        run: client_sends_typed_lines,
    },
    Check {
        name: "stops, sending nothing, when the server closes before a whole challenge",
        section: "book/src/08_hmac.md#the-client",
        run: client_stops_at_a_short_challenge,
    },
    Check {
        name: "stops by itself when the server closes after the answer (a rejection)",
        section: "book/src/08_hmac.md#the-client",
        run: client_stops_when_rejected,
    },
];

/// Reads the challenge: exactly 32 bytes (more may only be checked later).
fn read_challenge(peer: &mut Peer) -> Result<Vec<u8>, Failure> {
    peer.read_exact(CHALLENGE_SIZE, "a challenge of 32 bytes")
}

/// Connects and reads the challenge.
fn challenged(server: &mut super::Server) -> Result<(Peer, Vec<u8>), Failure> {
    let mut peer = server.connect()?;
    let challenge = read_challenge(&mut peer)?;
    Ok((peer, challenge))
}

/// Connects and reads the challenge while another client is still connected: a server that
/// serves one client at a time (the Python tutorial's, lesson 03's loop) sends nothing here.
fn challenged_again(
    server: &mut super::Server,
) -> Result<(Peer, Vec<u8>), Failure> {
    challenged(server).map_err(|failure| {
        Failure::new(
            format!(
                "{}, on a second connection while the first is open",
                failure.expected
            ),
            format!(
                "{} (a server that serves one client at a time, or only one \
                 client at all, sends nothing here)",
                failure.got
            ),
        )
    })
}

/// The verdict a server printed.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Authenticated,
    Rejected,
}

/// Waits for the server to print a verdict line: one with `rejected`, or one with
/// `authenticated` (and not `rejected`, which a line such as "not authenticated, rejected"
/// may hold). Fails when none comes within [`TIMEOUT`].
fn verdict(process: &mut Process, what: &str) -> Result<Verdict, Failure> {
    let deadline = Instant::now() + TIMEOUT;
    while let Some(line) = process.next_line(deadline) {
        if line.stream != Stream::Stdout {
            continue;
        }
        let text = line.text.to_lowercase();
        if text.contains("rejected") {
            return Ok(Verdict::Rejected);
        }
        if text.contains("authenticated") {
            return Ok(Verdict::Authenticated);
        }
    }
    Err(Failure::new(
        format!(
            "`{}` to print a line containing `authenticated` or `rejected` \
             ({what})",
            process.label()
        ),
        process.silence_report(),
    ))
}

/// Waits for the verdict `wanted`, failing at once on the other one.
fn expect_verdict(
    process: &mut Process,
    wanted: Verdict,
    what: &str,
) -> Outcome {
    let got = verdict(process, what)?;
    if got == wanted {
        return Ok(());
    }
    let printed = process.stdout().last().cloned().unwrap_or_default();
    Err(Failure::new(
        format!(
            "`{}` to print a line containing `{}` ({what})",
            process.label(),
            match wanted {
                Verdict::Authenticated => "authenticated",
                Verdict::Rejected => "rejected",
            }
        ),
        format!("{printed:?}"),
    ))
}

/// Waits for the server to close `peer`, nothing sent before; a reset counts as a close.
fn expect_closed(peer: &mut Peer, why: &str) -> Outcome {
    peer.expect_close(&format!("the server to close the connection ({why})"))
}

fn sends_a_fresh_challenge(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let (mut first, one) = challenged(&mut server)?;
    first.expect_silence(
        QUIET,
        "nothing after the 32 bytes of the challenge, until the client answers",
    )?;
    let (_second, two) = challenged_again(&mut server)?;
    if one == two {
        return Err(Failure::new(
            "a different challenge on the second connection: fresh random bytes, so that an \
             answer overheard once cannot be replayed",
            format!("the same 32 bytes twice: {}", shown(&one)),
        ));
    }
    Ok(())
}

fn accepts_the_right_answer(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let (mut client, challenge) = challenged(&mut server)?;
    client.send(hex_digest(KEY.as_bytes(), &challenge).as_bytes())?;
    expect_verdict(
        &mut server.process,
        Verdict::Authenticated,
        "the answer was right, under the key \"wangwang\"",
    )?;
    // Two messages, the second sent once the first is printed: a server that reads one
    // message and hangs up (as the Python tutorial's does) fails here.
    for message in ["first message", "second message"] {
        client.send(message.as_bytes())?;
        server.process.expect(message)?;
    }
    Ok(())
}

fn takes_answer_and_message_together(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let (mut client, challenge) = challenged(&mut server)?;
    // One write, so one segment: the tutorial's recv(1024) takes both at once, and compares
    // the message's bytes too.
    let mut bytes = hex_digest(KEY.as_bytes(), &challenge).into_bytes();
    bytes.extend_from_slice(b"sent with the answer");
    client.send(&bytes)?;
    expect_verdict(
        &mut server.process,
        Verdict::Authenticated,
        "a right answer with a message behind it in the same segment: read exactly 64 bytes",
    )?;
    server.process.expect("sent with the answer").map(drop).map_err(
        |failure| {
            Failure::new(
                format!(
                    "{} (the message that came in the answer's segment must not be lost)",
                    failure.expected
                ),
                failure.got,
            )
        },
    )
}

fn rejects_a_wrong_key(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let (mut client, challenge) = challenged(&mut server)?;
    client.send(hex_digest(WRONG_KEY.as_bytes(), &challenge).as_bytes())?;
    expect_verdict(
        &mut server.process,
        Verdict::Rejected,
        "the answer was made with another key",
    )?;
    expect_closed(&mut client, "a rejected client is closed")
}

fn rejects_non_hex(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let (mut client, _) = challenged(&mut server)?;
    client.send(&[b'z'; DIGEST_SIZE])?;
    expect_verdict(
        &mut server.process,
        Verdict::Rejected,
        "64 bytes of `z`, which are no hex digits",
    )?;
    expect_closed(&mut client, "a rejected client is closed")
}

fn rejects_a_replay(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let (_overheard, old) = challenged(&mut server)?;
    let (mut attacker, _) = challenged_again(&mut server)?;
    attacker.send(hex_digest(KEY.as_bytes(), &old).as_bytes())?;
    expect_verdict(
        &mut server.process,
        Verdict::Rejected,
        "the right answer to another connection's challenge: a replay",
    )?;
    expect_closed(&mut attacker, "a rejected client is closed")
}

fn drops_silent_clients(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let (mut short, challenge) = challenged(&mut server)?;
    let answer = hex_digest(KEY.as_bytes(), &challenge);
    // 63 of the 64 bytes, then silence: only a timeout can end this.
    short.send(&answer.as_bytes()[..DIGEST_SIZE - 1])?;
    let (mut silent, _) = challenged_again(&mut server)?;
    let started = Instant::now();
    // Meanwhile, another client must get in at once.
    let (mut other, challenge) =
        challenged(&mut server).map_err(|failure| {
            Failure::new(
                format!(
                    "{}, while two clients owe their answers (a server busy \
                 waiting for one stalls everyone)",
                    failure.expected
                ),
                failure.got,
            )
        })?;
    other.send(hex_digest(KEY.as_bytes(), &challenge).as_bytes())?;
    expect_verdict(
        &mut server.process,
        Verdict::Authenticated,
        "a right answer, while two other clients owe theirs",
    )?;
    other.send(b"served meanwhile")?;
    server.process.expect("served meanwhile")?;
    for (peer, what) in [
        (&mut short, "63 bytes of the answer, then nothing"),
        (&mut silent, "no answer at all"),
    ] {
        wait_for_drop(peer, started + AUTH_PATIENCE, what)?;
    }
    Ok(())
}

/// Waits until `deadline` for the server to close `peer`, a client that owes its answer.
fn wait_for_drop(peer: &mut Peer, deadline: Instant, what: &str) -> Outcome {
    let expected = format!(
        "the server to close a client that sent {what}, within {AUTH_PATIENCE:?}"
    );
    // Read through a shared reference: `&TcpStream` reads as well as the stream does.
    let mut stream: &std::net::TcpStream = peer.stream();
    let mut buffer = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::new(
                expected,
                "the connection still open: a client that never answers \
                 keeps its socket (and its thread) for ever",
            ));
        }
        if let Err(error) = stream.set_read_timeout(Some(left)) {
            return Err(Failure::new(expected, error.to_string()));
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(count) => {
                return Err(Failure::new(
                    expected,
                    format!("more bytes first: {}", shown(&buffer[..count])),
                ));
            }
            Err(error) if crate::explain::is_disconnect(&error) => {
                return Ok(());
            }
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                ) => {}
            Err(error) => {
                return Err(Failure::new(expected, error.to_string()));
            }
        }
    }
}

/// A challenge of the check's own: not random, so a failure can be replayed, but different
/// in every check.
fn challenge(seed: u8) -> [u8; CHALLENGE_SIZE] {
    let mut bytes = [0u8; CHALLENGE_SIZE];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = seed.wrapping_add((index as u8).wrapping_mul(37));
    }
    bytes
}

/// Reads the client's answer to `challenge`, failing at the first wrong byte.
fn expect_answer(peer: &mut Peer, challenge: &[u8]) -> Outcome {
    let answer = hex_digest(KEY.as_bytes(), challenge);
    peer.expect_bytes(answer.as_bytes()).map_err(|failure| {
        Failure::new(
            format!(
                "the lowercase hex HMAC-SHA256 of the 32-byte challenge under the key \
                 \"wangwang\": {}",
                failure.expected
            ),
            failure.got,
        )
    })
}

fn client_answers_the_challenge(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    let mut server = accept_client(&listener, &mut client)?;
    let challenge = challenge(1);
    server.send(&challenge)?;
    expect_answer(&mut server, &challenge)?;
    // Nothing typed: our client sends nothing more; the tutorial's sends its first message
    // (`upload`) at once. Either is fine, but not a terminator after the digits.
    if server.expect_silence(QUIET, "").is_ok() {
        return Ok(());
    }
    // Something came (or a close, which is fine too): look at its first byte.
    let next = server
        .read_until("", |received| {
            if received.is_empty() {
                Progress::More
            } else {
                Progress::Done(received.len())
            }
        })
        .unwrap_or_default();
    if matches!(next.first(), Some(b'\n' | b'\r' | b'\0')) {
        return Err(Failure::new(
            "the 64 digits with no terminator after them (the server reads exactly 64 \
             bytes; a newline would be taken for the start of a message)",
            format!("the digits, then {}", shown(&next)),
        ));
    }
    Ok(())
}

fn client_waits_for_the_whole_challenge(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    let mut server = accept_client(&listener, &mut client)?;
    let challenge = challenge(2);
    server.send(&challenge[..CHALLENGE_SIZE / 2])?;
    server.expect_silence(
        QUIET,
        "no answer yet: only 16 of the 32 bytes of the challenge have come (one recv(32) \
         may return fewer than 32)",
    )?;
    server.send(&challenge[CHALLENGE_SIZE / 2..])?;
    expect_answer(&mut server, &challenge)
}

fn client_sends_typed_lines(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    client.type_lines(&["hello", "second line"])?;
    let mut server = accept_client(&listener, &mut client)?;
    let challenge = challenge(3);
    server.send(&challenge)?;
    expect_answer(&mut server, &challenge)?;
    for line in ["hello", "second line"] {
        super::ctime::expect_typed_line(&mut server, line)?;
    }
    client.type_lines(&["quit", "never sent"])?;
    client.expect_success()?;
    server.expect_close(
        "the client to close the connection after `quit`, sending nothing more",
    )
}

fn client_stops_at_a_short_challenge(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    let mut server = accept_client(&listener, &mut client)?;
    server.send(&challenge(4)[..10])?;
    // Our FIN: the client's read returns 0 after 10 bytes. We still read what it sends.
    let _ = server.stream().shutdown(Shutdown::Write);
    server.expect_close(
        "the client to close, sending nothing: 10 bytes and a close are no challenge, and \
         their HMAC no answer",
    )?;
    client.wait_for_exit(TIMEOUT).map(drop)
}

fn client_stops_when_rejected(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    let mut server = accept_client(&listener, &mut client)?;
    let challenge = challenge(5);
    server.send(&challenge)?;
    expect_answer(&mut server, &challenge)?;
    drop(server); // the verdict on a wrong answer: a close
    // Nothing is typed and the input stays open: the client must see the close by itself.
    client.wait_for_exit(TIMEOUT).map(drop)
}
