//! Lesson 08: the HMAC server and client keep the hmac protocol (`socket_lessons::check::hmac`),
//! HMAC-SHA256 gives RFC 4231's answers (so Python's `hmac.new(key, msg, 'sha256')` agrees with
//! us), and what the lesson itself adds: `--key`, the demo-key warning, `--auth-timeout`, the
//! verdicts in the log and never the key.

mod common;

use common::{
    TIMEOUT, assert_keeps_its_protocol, command, connect, expect_silence,
    read_exactly, spawn, start_server,
};
use predicates::prelude::*;
use socket_lessons::check::hmac::{KEY, hex_digest};
use socket_lessons::check::target::Transport;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

const SERVER: &str = "08_hmac_server";
const CLIENT: &str = "08_hmac_client";

#[test]
fn the_server_keeps_the_hmac_protocol() {
    // A short auth timeout, so the check on silent clients takes 1 s, not 3.
    assert_keeps_its_protocol(SERVER, &["--auth-timeout", "1"]);
}

#[test]
fn the_client_keeps_the_hmac_protocol() {
    assert_keeps_its_protocol(CLIENT, &[]);
}

/// RFC 4231's test vectors for HMAC-SHA256, through the digest the checks compute with the
/// crates the lessons use (`Hmac<Sha256>`, `hex`): Python's
/// `hmac.new(key, data, 'sha256').hexdigest()` gives these same strings, so a Python program
/// and ours agree without Python in the test.
#[test]
fn hmac_sha256_gives_the_answers_of_rfc_4231() {
    let key_4: Vec<u8> = (0x01..=0x19).collect();
    let cases: [(&str, Vec<u8>, Vec<u8>, &str); 6] = [
        (
            "1",
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            "2 (a key shorter than the digest)",
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            "3",
            vec![0xaa; 20],
            vec![0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            "4",
            key_4,
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            "6 (a key longer than a block, hashed first)",
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            "7",
            vec![0xaa; 131],
            b"This is a test using a larger than block-size key and a larger \
              than block-size data. The key needs to be hashed before being \
              used by the HMAC algorithm."
                .to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (case, key, data, expected) in cases {
        assert_eq!(hex_digest(&key, &data), expected, "RFC 4231 case {case}");
    }
    // Case 5 gives only the first 128 bits.
    let truncated = hex_digest(&[0x0c; 20], b"Test With Truncation");
    assert_eq!(&truncated[..32], "a3b6167473100ee06e0c796c2955552b");
}

/// Connects to the server and reads its 32-byte challenge.
fn challenged(server: std::net::SocketAddr) -> (TcpStream, Vec<u8>, String) {
    let mut stream = connect(server);
    let me = stream.local_addr().expect("our address").to_string();
    let challenge = read_exactly(&mut stream, 32);
    assert_eq!(challenge.len(), 32, "the challenge is 32 bytes");
    (stream, challenge, me)
}

/// Asserts that the server closes the connection (a FIN or a reset) within `within`.
fn assert_closed(stream: &mut TcpStream, within: Duration) {
    stream
        .set_read_timeout(Some(within))
        .expect("set a read timeout");
    let mut buffer = [0u8; 64];
    match stream.read(&mut buffer) {
        Ok(0) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected the server to close, got {other:?}"),
    }
}

#[test]
fn the_server_takes_the_key_it_is_given_and_no_other() {
    let mut server = start_server(SERVER, &["--key", "a key of our own"]);
    let (mut right, challenge, me) = challenged(server.address());
    right
        .write_all(hex_digest(b"a key of our own", &challenge).as_bytes())
        .expect("send");
    server.expect(&format!("authenticated: {me}"));
    right.write_all(b"hello").expect("send");
    server.expect(&format!("received 5 bytes from {me}: \"hello\""));

    // The demo key is wrong here: rejected, and the connection closed.
    let (mut wrong, challenge, me) = challenged(server.address());
    wrong
        .write_all(hex_digest(KEY.as_bytes(), &challenge).as_bytes())
        .expect("send");
    server.expect(&format!("rejected: {me}: wrong answer"));
    assert_closed(&mut wrong, TIMEOUT);
    server.expect(&format!("closed: {me}"));
}

#[test]
fn the_server_rejects_non_hex_and_an_answer_cut_short_by_a_close() {
    let mut server = start_server(SERVER, &[]);
    let (mut non_hex, _, me) = challenged(server.address());
    non_hex.write_all(&[b'g'; 64]).expect("send");
    server.expect(&format!("rejected: {me}: wrong answer"));
    assert_closed(&mut non_hex, TIMEOUT);

    let (short, challenge, me) = challenged(server.address());
    let answer = hex_digest(KEY.as_bytes(), &challenge);
    (&short).write_all(&answer.as_bytes()[..10]).expect("send");
    short.shutdown(Shutdown::Write).expect("shutdown");
    server.expect(&format!(
        "rejected: {me}: it closed before sending a 64-byte answer"
    ));
}

#[test]
fn the_answer_and_a_first_message_in_one_segment_both_count() {
    let mut server = start_server(SERVER, &[]);
    let (mut client, challenge, me) = challenged(server.address());
    client.set_nodelay(true).expect("nodelay");
    let mut bytes = hex_digest(KEY.as_bytes(), &challenge).into_bytes();
    bytes.extend_from_slice(b"first");
    client.write_all(&bytes).expect("one write");
    server.expect(&format!("authenticated: {me}"));
    // read_exact took the 64 bytes of the answer and left the message in the socket.
    server.expect(&format!("received 5 bytes from {me}: \"first\""));
}

#[test]
fn a_silent_client_is_dropped_after_the_auth_timeout_while_others_are_served() {
    let mut server = start_server(SERVER, &["--auth-timeout", "1"]);
    let started = Instant::now();
    let (mut silent, _, silent_me) = challenged(server.address());
    let (mut short, challenge, short_me) = challenged(server.address());
    let answer = hex_digest(KEY.as_bytes(), &challenge);
    short.write_all(&answer.as_bytes()[..63]).expect("send");

    // Served at once, while the other two owe their answers.
    let (mut other, challenge, other_me) = challenged(server.address());
    other
        .write_all(hex_digest(KEY.as_bytes(), &challenge).as_bytes())
        .expect("send");
    other.write_all(b"meanwhile").expect("send");
    server.expect(&format!("authenticated: {other_me}"));
    server.expect(&format!("received 9 bytes from {other_me}"));
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "the third client waited for the silent ones"
    );

    assert_closed(&mut silent, TIMEOUT);
    assert_closed(&mut short, TIMEOUT);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "dropped after {waited:?}, before the 1 s auth timeout"
    );
    // The two threads time out at nearly the same moment: either line may
    // come first.
    let lines = [
        server.expect("no 64-byte answer within 1s"),
        server.expect("no 64-byte answer within 1s"),
    ]
    .join("\n");
    for me in [silent_me, short_me] {
        assert!(lines.contains(&format!("rejected: {me}: ")), "{lines}");
    }
    // The one that got in is still connected.
    expect_silence(&mut other, Duration::from_millis(50));
}

#[test]
fn a_client_that_drips_its_answer_is_dropped_at_the_deadline() {
    let mut server = start_server(SERVER, &["--auth-timeout", "1"]);
    let started = Instant::now();
    let (mut dripping, _, me) = challenged(server.address());
    // A digit every 300 ms: each read gets one before a per-read timeout of
    // 1 s would run out, so only a deadline for the whole answer stops it.
    let mut writer = dripping.try_clone().expect("a second handle");
    std::thread::spawn(move || {
        while writer.write_all(b"0").is_ok() {
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    assert_closed(&mut dripping, TIMEOUT);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(2),
        "dropped after {waited:?}, not at the 1 s deadline"
    );
    server.expect(&format!("rejected: {me}: no 64-byte answer within 1s"));
}

#[test]
fn the_server_warns_of_the_demo_key_without_printing_it() {
    let demo = socket_lessons::check::target::Target::binary(
        socket_lessons::index::find(SERVER).expect("indexed"),
        common::binary(SERVER),
        &[],
    );
    let server = demo.start(Transport::Tcp, &[]).expect("starts");
    let printed = server.process.stdout().join("\n");
    assert!(printed.contains("demo key"), "no warning in {printed:?}");
    assert!(!printed.contains(KEY), "the key is in {printed:?}");

    let own = common::target(SERVER, &["--key", "ours"]);
    let server = own.start(Transport::Tcp, &[]).expect("starts");
    let printed = server.process.stdout().join("\n");
    assert!(!printed.contains("demo key"), "a warning in {printed:?}");
}

#[test]
fn the_key_never_appears_in_the_logs() {
    const SECRET: &str = "k3y-that-must-stay-0ut-of-l0gs";
    let mut server = common::target(SERVER, &["--key", SECRET])
        .start(Transport::Tcp, &[])
        .expect("starts");
    let port = server.address.port().to_string();

    // Our client gets in, sends a line and leaves; a wrong answer is rejected.
    let mut client = spawn(CLIENT, &["--port", &port, "--key", SECRET]);
    client.type_line("hello");
    client.type_line("quit");
    let (status, client_out, client_err) = client.wait();
    assert!(status.success(), "the client failed: {client_err:?}");
    let (mut wrong, _, me) = challenged(server.address);
    wrong.write_all(&[b'0'; 64]).expect("send");
    server
        .process
        .expect(&format!("closed: {me}"))
        .expect("a close");

    server.process.kill();
    let exit = server.process.wait_for_exit(TIMEOUT).expect("the output");
    let everything: Vec<&String> = exit
        .stdout
        .iter()
        .chain(&exit.stderr)
        .chain(&client_out)
        .chain(&client_err)
        .collect();
    assert!(
        everything.iter().any(|line| line.contains("hello")),
        "the session did not happen: {everything:?}"
    );
    for line in everything {
        assert!(!line.contains(SECRET), "the key is in the log: {line:?}");
    }
}

/// A fake server for the client: the client started against it, and the
/// test's end of its connection.
fn client_against_fake(args: &[&str]) -> (common::Running, TcpStream) {
    common::client_of_the_test(CLIENT, args)
}

#[test]
fn the_client_answers_with_the_key_it_is_given() {
    let (mut client, mut server) = client_against_fake(&["--key", "Jefe"]);
    let challenge = [0x5a; 32];
    server.write_all(&challenge).expect("send");
    let answer = read_exactly(&mut server, 64);
    assert_eq!(answer, hex_digest(b"Jefe", &challenge).into_bytes());
    client.type_line("quit");
    let (status, stdout, _) = client.wait();
    assert!(status.success());
    assert!(
        !stdout.iter().any(|line| line.contains("demo key")),
        "a demo-key warning with --key: {stdout:?}"
    );
}

#[test]
fn the_client_warns_of_the_demo_key() {
    let (mut client, mut server) = client_against_fake(&[]);
    server.write_all(&[1; 32]).expect("send");
    read_exactly(&mut server, 64);
    client.close_stdin();
    let (status, stdout, _) = client.wait();
    assert!(status.success());
    let printed = stdout.join("\n");
    assert!(printed.contains("demo key"), "no warning in {printed:?}");
    assert!(!printed.contains(KEY), "the key is in {printed:?}");
}

#[test]
fn the_client_says_the_server_closed_after_its_answer() {
    let (client, mut server) = client_against_fake(&[]);
    server.write_all(&[7; 32]).expect("send");
    read_exactly(&mut server, 64);
    drop(server); // a rejection; the client's input stays open
    let (status, stdout, _) = client.wait();
    assert!(status.success());
    let printed = stdout.join("\n");
    assert!(
        printed.contains("closed the connection") && printed.contains("--key"),
        "no word on the close in {printed:?}"
    );
}

#[test]
fn the_client_explains_a_challenge_cut_short() {
    let (client, server) = client_against_fake(&[]);
    (&server).write_all(&[7; 10]).expect("send");
    drop(server);
    let (status, _, stderr) = client.wait();
    assert!(!status.success());
    let printed = stderr.join("\n");
    assert!(
        printed.contains("before sending a whole 32-byte challenge"),
        "no explanation in {printed:?}"
    );
}

#[test]
fn the_auth_timeout_must_be_a_positive_number_of_seconds() {
    command(SERVER)
        .args(["--port", "0", "--auth-timeout", "0"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("expected seconds"));
}
