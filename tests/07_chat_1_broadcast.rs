//! Lesson 07, stage 1: the broadcast server keeps the chat protocol's first
//! promises (`socket_lessons::check::chat::BROADCAST`: every line to every
//! client, the sender included, under its header), and what the program adds:
//! its log names each client by its address, a client that leaves is logged
//! `closed` (or `lost`, after a reset), and it has no console: typing `quit`
//! or ending its input changes nothing, and only Ctrl-C stops it.

mod common;

use common::chat::{Client, received, say};
use common::{TIMEOUT, connect, read_until, start_server};
use socket_lessons::chat;
use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

const STAGE: &str = "07_chat_1_broadcast";

#[test]
fn keeps_the_broadcast_protocol() {
    common::assert_keeps_its_protocol(STAGE, &[]);
}

#[test]
fn logs_each_client_connected_and_each_line_received_by_its_address() {
    let mut server = start_server(STAGE, &[]);
    let mut room: Vec<Client> =
        (0..3).map(|_| Client::join(&mut server)).collect();
    let lines = ["hello from the first", "from the second", "third, hi"];
    for (from, line) in lines.iter().enumerate() {
        say(&mut room, from, line);
    }
    for (client, line) in room.iter().zip(lines) {
        server.expect(&received(client.address, line));
    }
}

#[test]
fn logs_a_client_that_closes_as_closed_and_one_that_resets_as_lost() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    say(&mut room, 0, "hello");
    let polite = room.remove(1);
    let polite_address = polite.address;
    drop(polite); // a FIN: everything it was sent has been read
    server.expect(&format!("closed: {polite_address}"));

    let rude = Client::join(&mut server);
    let rude_address = rude.address;
    // SO_LINGER with a zero timeout makes close() send a reset, not a FIN.
    socket2::SockRef::from(&rude.writer)
        .set_linger(Some(Duration::ZERO))
        .expect("set SO_LINGER");
    drop(rude);
    let lost = server.expect(&format!("lost {rude_address}: "));
    assert!(lost.contains("reset"), "{lost}");
}

#[test]
fn has_no_console_typing_quit_or_ending_its_input_stops_nothing() {
    let mut server = start_server(STAGE, &[]);
    let mut room = vec![Client::join(&mut server), Client::join(&mut server)];
    server.type_line("quit");
    server.close_stdin();
    // Stage 2 closes its clients within milliseconds of this; stage 1 does
    // not even read it.
    for client in &mut room {
        client.expect_silence(Duration::from_millis(300));
    }
    say(&mut room, 1, "still here");
    room.push(Client::join(&mut server));
    say(&mut room, 2, "and a newcomer");
}

/// What the terminal does on Ctrl-C: SIGINT to the program. With no handler
/// of its own, the program is killed by the signal; the OS closes its
/// sockets, and every client sees its connection end.
#[cfg(unix)]
#[test]
fn only_ctrl_c_stops_it() {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, Stdio};

    let mut command = Command::new(common::binary(STAGE));
    command
        .args(["--port", "0"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    // A shell that starts jobs in the background may hand them SIGINT
    // ignored, and exec keeps that; a terminal's foreground program gets the
    // default action, as here.
    // SAFETY: signal() is async-signal-safe, and only resets one disposition
    // in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let child = command.spawn().expect("start the server");
    let mut server = Killed(child);
    let lines = log_lines(&mut server.0);
    let address = loop {
        let line = lines.recv_timeout(TIMEOUT).expect("the ready line");
        if let Some(address) = socket_lessons::ready::parse(&line) {
            break address;
        }
    };
    let mut client = connect(address);
    let me = client.local_addr().expect("our address");
    let logged = format!("connected: {me}");
    while lines.recv_timeout(TIMEOUT).expect("connected") != logged {}

    // quit, then the end of its input: nothing happens.
    let mut console = server.0.stdin.take().expect("stdin is piped");
    console.write_all(b"quit\n").expect("type quit");
    drop(console);
    client.write_all(b"still up?\n").expect("send");
    let echo = read_until(&mut client, |bytes| bytes.ends_with(b"still up?\n"));
    let echo = String::from_utf8_lossy(&echo);
    let (header, line) = echo.split_once('\n').expect("two lines");
    let header = chat::parse_header(header).expect("a header");
    assert_eq!((header.sender, line), (me, "still up?\n"));

    let pid = i32::try_from(server.0.id()).expect("a pid");
    // SAFETY: kill() has no memory effects; pid is our own child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "send SIGINT");
    match client.read(&mut [0u8; 64]) {
        Ok(0) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection to end, got {other:?}"),
    }
    let status = server.0.wait().expect("the exit status");
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status}");
}

/// A child process that is killed if the test fails before it ends.
#[cfg(unix)]
struct Killed(std::process::Child);

#[cfg(unix)]
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child's stdout, line by line, through a channel: so that each wait
/// for a line can have a deadline.
#[cfg(unix)]
fn log_lines(
    child: &mut std::process::Child,
) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Compiles `book/src/refusals/NAME.rs` (a listing of the chapter, not part of
/// the crate) and returns what rustc said; panics if it compiled.
fn refusal(name: &str) -> String {
    let listing = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("book/src/refusals")
        .join(format!("{name}.rs"));
    let metadata = std::env::temp_dir()
        .join(format!("socket-lessons-{name}-{}", std::process::id()));
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = std::process::Command::new(rustc)
        .args(["--edition", "2024", "--emit=metadata", "-o"])
        .arg(&metadata)
        .arg(&listing)
        .output()
        .expect("rustc runs");
    let _ = std::fs::remove_file(&metadata);
    assert!(!output.status.success(), "{name}.rs compiled");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The chapter's four tries at sharing the seed's table between threads, and
/// the error each gets, as the chapter quotes it.
#[test]
fn the_compiler_refuses_the_seeds_unguarded_table() {
    for (name, error) in [
        (
            "07_borrowed",
            "error[E0373]: closure may outlive the current function, but it \
             borrows `clients`, which is owned by the current function",
        ),
        ("07_moved", "error[E0382]: borrow of moved value: `clients`"),
        (
            "07_shared",
            "error[E0596]: cannot borrow data in an `Arc` as mutable",
        ),
        (
            "07_rc",
            "error[E0277]: `Rc<RefCell<HashMap<std::net::SocketAddr, \
             TcpStream>>>` cannot be sent between threads safely",
        ),
    ] {
        let said = refusal(name);
        assert!(said.contains(error), "{name}.rs: {said}");
    }
}
