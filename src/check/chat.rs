//! The chat protocol of lesson 07: every line a client sends goes to every
//! client connected, the sender included, as a header line
//! `YYYY/MM/DD HH:MM:SS IP:PORT` (the local time, the sender's address) and
//! then the line. `quit`, or the end of the stream, ends a client's session;
//! `quit` typed on the server's console stops the server.
//!
//! A server registers a client some time after `accept`, and a line sent
//! before then does not reach it. So the checks never race it: clients are
//! let in one at a time, and each *joins* — it says a first line, and every
//! client in the room so far, itself included, reads that message. After
//! that every stream is in step, and every later line must reach every
//! client in the room.
//!
//! Each stage is checked for what it promises, and its suite repeats the
//! suite of the stage before.

use super::target::accept_client;
use super::{
    Check, Failure, Outcome, Peer, Process, Progress, Server, TIMEOUT, Target,
    shown,
};
use crate::chat;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const BROADCAST_SECTION: &str = "book/src/07_chat_1_broadcast.md#broadcast";
const STOP_SECTION: &str = "book/src/07_chat_2_stop.md#stopping";
const LEAVE_SECTION: &str = "book/src/07_chat_3_leave.md#leaving";
const LOCK_SECTION: &str =
    "book/src/07_chat_4_lock.md#writing-outside-the-lock";
const LINES_SECTION: &str = "book/src/07_chat_5_lines.md#lines";
const LIMITS_SECTION: &str = "book/src/07_chat_6_robust.md#limits";
const SLOW_SECTION: &str = "book/src/07_chat_6_robust.md#slow-clients";
const CLIENT_SECTION: &str = "book/src/07_chat_client.md#the-client";

const BACK_TO_THE_SENDER: Check = Check {
    name: "sends a line back to its sender, under a header of the time and \
           the sender's address",
    section: BROADCAST_SECTION,
    run: sends_a_line_back_to_its_sender,
};

const TO_EVERY_CLIENT: Check = Check {
    name: "sends every line to every client, the sender included, and \
           nothing else",
    section: BROADCAST_SECTION,
    run: sends_every_line_to_every_client,
};

const STOPS_ON_QUIT: Check = Check {
    name: "stops when quit is typed on its console: every client closed, \
           exit status 0",
    section: STOP_SECTION,
    run: stops_on_quit,
};

const QUIT_IS_NOT_BROADCAST: Check = Check {
    name: "closes a client that sends quit, and does not broadcast its quit",
    section: LEAVE_SECTION,
    run: closes_a_client_that_quits,
};

const A_CLOSED_CLIENT_IS_FORGOTTEN: Check = Check {
    name: "forgets a client that closes its connection: the others go on, \
           and a new client joins",
    section: LEAVE_SECTION,
    run: forgets_a_closed_client,
};

const A_SLOW_READER_STALLS_NOBODY: Check = Check {
    name: "does not let a client that stops reading stall the others",
    section: LOCK_SECTION,
    run: a_slow_reader_stalls_nobody,
};

const PIECES_MAKE_ONE_LINE: Check = Check {
    name: "sends a line that arrives in pieces as one message",
    section: LINES_SECTION,
    run: pieces_make_one_message,
};

const TWO_LINES_TWO_MESSAGES: Check = Check {
    name: "sends two lines that arrive in one piece as two messages",
    section: LINES_SECTION,
    run: two_lines_make_two_messages,
};

const A_LONG_LINE_ENDS_ITS_CLIENT: Check = Check {
    name: "ends a client whose line is longer than the limit (64 KiB), and \
           only that client",
    section: LIMITS_SECTION,
    run: a_long_line_ends_its_client,
};

const BAD_UTF8_STOPS_NOTHING: Check = Check {
    name: "goes on after a line that is not UTF-8",
    section: LIMITS_SECTION,
    run: bad_utf8_stops_nothing,
};

const A_RESET_STOPS_NOTHING: Check = Check {
    name: "goes on after a client resets its connection in the middle of a \
           line",
    section: SLOW_SECTION,
    run: a_reset_stops_nothing,
};

/// Stage 1: every line to every client, under its header.
pub const BROADCAST: &[Check] = &[BACK_TO_THE_SENDER, TO_EVERY_CLIENT];

/// Stage 2: stage 1, and `quit` on the console stops the server.
pub const STOP: &[Check] =
    &[BACK_TO_THE_SENDER, TO_EVERY_CLIENT, STOPS_ON_QUIT];

/// Stage 3: stage 2, and a client leaves by `quit` or by closing.
pub const LEAVE: &[Check] = &[
    BACK_TO_THE_SENDER,
    TO_EVERY_CLIENT,
    STOPS_ON_QUIT,
    QUIT_IS_NOT_BROADCAST,
    A_CLOSED_CLIENT_IS_FORGOTTEN,
];

/// Stage 4: stage 3, and no write under the lock stalls the room.
pub const LOCK: &[Check] = &[
    BACK_TO_THE_SENDER,
    TO_EVERY_CLIENT,
    STOPS_ON_QUIT,
    QUIT_IS_NOT_BROADCAST,
    A_CLOSED_CLIENT_IS_FORGOTTEN,
    A_SLOW_READER_STALLS_NOBODY,
];

/// Stage 5: stage 4, and a message is a line, however it arrives.
pub const LINES: &[Check] = &[
    BACK_TO_THE_SENDER,
    TO_EVERY_CLIENT,
    STOPS_ON_QUIT,
    QUIT_IS_NOT_BROADCAST,
    A_CLOSED_CLIENT_IS_FORGOTTEN,
    A_SLOW_READER_STALLS_NOBODY,
    PIECES_MAKE_ONE_LINE,
    TWO_LINES_TWO_MESSAGES,
];

/// Stage 6: stage 5, and no client's bytes, however bad, stop the others.
pub const ROBUST: &[Check] = &[
    BACK_TO_THE_SENDER,
    TO_EVERY_CLIENT,
    STOPS_ON_QUIT,
    QUIT_IS_NOT_BROADCAST,
    A_CLOSED_CLIENT_IS_FORGOTTEN,
    A_SLOW_READER_STALLS_NOBODY,
    PIECES_MAKE_ONE_LINE,
    TWO_LINES_TWO_MESSAGES,
    A_LONG_LINE_ENDS_ITS_CLIENT,
    BAD_UTF8_STOPS_NOTHING,
    A_RESET_STOPS_NOTHING,
];

/// The chat client: messages printed, typed lines sent, and three ways out.
pub const CLIENT: &[Check] = &[
    Check {
        name: "prints every message it receives, header and line",
        section: CLIENT_SECTION,
        run: client_prints_messages,
    },
    Check {
        name: "sends each typed line, ending in \\n",
        section: CLIENT_SECTION,
        run: client_sends_typed_lines,
    },
    Check {
        name: "leaves on quit: closes the connection and exits with status 0",
        section: CLIENT_SECTION,
        run: client_leaves_on_quit,
    },
    Check {
        name: "leaves at the end of its input: closes the connection and \
               exits with status 0",
        section: CLIENT_SECTION,
        run: client_leaves_at_the_end_of_input,
    },
    Check {
        name: "says so and exits when the server closes the connection",
        section: CLIENT_SECTION,
        run: client_exits_when_the_server_closes,
    },
];

/// The flaw seed 003's servers all have, in a learner's words.
const BLANK_LINE: &str = "a blank line after the message: the line kept its \
    own newline and the server added another";

/// What a message looks like, for failures.
const MESSAGE_SHAPE: &str = "`YYYY/MM/DD HH:MM:SS IP:PORT\\n` then the line";

/// The shape of a header's time and the space after it: `0` is any digit.
const HEADER_SHAPE: &[u8] = b"0000/00/00 00:00:00 ";

/// One message as it came: its header, and its line without the `\n`.
struct Message {
    header: chat::Header,
    line: Vec<u8>,
}

/// A client of the check's, in the room.
struct Member {
    name: &'static str,
    peer: Peer,
    /// Its address, as the server sees it: what its messages' header names.
    address: SocketAddr,
}

/// A client that was in the room and is not any more, and why: to name it
/// when a message from it turns up.
struct Gone {
    name: &'static str,
    address: SocketAddr,
    why: &'static str,
}

/// A server under check and the clients that have joined it, all in step.
struct Room {
    server: Server,
    members: Vec<Member>,
    gone: Vec<Gone>,
    /// True for the checks of the message's form: a blank line after a
    /// message fails. The other checks skip it, to check their own promise.
    strict: bool,
}

impl Room {
    /// Starts the server, with nobody in the room yet.
    fn open(target: &Target, strict: bool) -> Result<Room, Failure> {
        Ok(Room {
            server: target.start_server()?,
            members: Vec::new(),
            gone: Vec::new(),
            strict,
        })
    }

    /// Connects a new client, and joins it.
    fn join(&mut self, name: &'static str) -> Outcome {
        let peer = self.server.connect()?;
        self.join_with(name, peer)
    }

    /// Joins a connected client: it says a first line, and everyone in the
    /// room, itself included, reads it.
    fn join_with(&mut self, name: &'static str, peer: Peer) -> Outcome {
        let address = peer.local_addr();
        self.members.push(Member {
            name,
            peer,
            address,
        });
        self.say(name, &format!("{name} joins"))
    }

    fn index(&self, name: &str) -> usize {
        self.members
            .iter()
            .position(|member| member.name == name)
            .unwrap_or(0)
    }

    fn member(&mut self, name: &str) -> &mut Member {
        let index = self.index(name);
        &mut self.members[index]
    }

    /// Takes `name` out of the room, for the reason `why`.
    fn remove(&mut self, name: &str, why: &'static str) -> Member {
        let member = self.members.remove(self.index(name));
        self.gone.push(Gone {
            name: member.name,
            address: member.address,
            why,
        });
        member
    }

    /// `from` sends `bytes`, as they are, in one write.
    fn send(&mut self, from: &str, bytes: &[u8]) -> Outcome {
        self.member(from).peer.send(bytes)
    }

    /// `from` sends `line` and its `\n` in one write, and everyone reads it.
    fn say(&mut self, from: &str, line: &str) -> Outcome {
        self.send(from, format!("{line}\n").as_bytes())?;
        self.everyone_reads(from, line)
    }

    /// Everyone in the room reads the message of `line` from `from`: the
    /// sender first, then the others.
    fn everyone_reads(&mut self, from: &str, line: &str) -> Outcome {
        self.expect_message(from, from, line)?;
        let others: Vec<&'static str> = self
            .members
            .iter()
            .map(|member| member.name)
            .filter(|&name| name != from)
            .collect();
        for to in others {
            self.expect_message(to, from, line)?;
        }
        Ok(())
    }

    /// What `to` reading `from`'s `line` is, in words.
    fn describe(&self, to: &str, from: &str, line: &str) -> String {
        let message =
            format!("the message of {from}'s line {}", shown(line.as_bytes()));
        if to == from {
            format!(
                "{to} (the sender) to receive {message}: a line goes back to \
                 its sender too"
            )
        } else {
            format!(
                "{to} to receive {message} too: every line goes to every \
                 client, not only to its sender"
            )
        }
    }

    /// Reads the next message at `to`, whatever it holds.
    fn read(&mut self, to: &str, what: &str) -> Result<Message, Failure> {
        let strict = self.strict;
        read_message(&mut self.member(to).peer, strict, what)
    }

    /// `to` reads the next message, which must be `from`'s `line`, stamped
    /// now. A failure says which flaw it is.
    fn expect_message(&mut self, to: &str, from: &str, line: &str) -> Outcome {
        let what = self.describe(to, from, line);
        let message = self.read(to, &what)?;
        self.judge(&message, from, line, &what)
    }

    /// Whether `message` is `from`'s `line`, stamped now.
    fn judge(
        &self,
        message: &Message,
        from: &str,
        line: &str,
        what: &str,
    ) -> Outcome {
        let wrong = |why: String| {
            Err(Failure::new(
                what,
                format!("{} ({why})", show_message(message)),
            ))
        };
        let sender = self.members[self.index(from)].address;
        if message.header.sender != sender {
            return wrong(self.whose(message, from, sender));
        }
        if !chat::is_now(&message.header.time) {
            return wrong(
                "its time is not the local time now, give or take a minute"
                    .into(),
            );
        }
        let line = line.as_bytes();
        if message.line == line {
            return Ok(());
        }
        if !message.line.is_empty() && line.starts_with(&message.line) {
            return wrong(
                "only a piece of the line: the server sent the piece it read \
                 as a message of its own, instead of waiting for the whole \
                 line"
                    .into(),
            );
        }
        wrong(format!(
            "the line in it is not what {from} sent: {}",
            shown(line)
        ))
    }

    /// Why a message names the wrong sender, in words.
    fn whose(
        &self,
        message: &Message,
        from: &str,
        sender: SocketAddr,
    ) -> String {
        let named = message.header.sender;
        if let Some(gone) = self.gone.iter().find(|gone| gone.address == named)
        {
            let line = message.line.trim_ascii();
            return if line.is_empty() {
                format!(
                    "an empty message from {}, who {}: the server took the \
                     end of the stream (a read of 0 bytes) for a line",
                    gone.name, gone.why
                )
            } else if line == b"quit" {
                format!(
                    "{}'s quit was broadcast: a quit line ends that client's \
                     session, it is not a message",
                    gone.name
                )
            } else {
                format!("a message from {}, who {}", gone.name, gone.why)
            };
        }
        if let Some(other) = self
            .members
            .iter()
            .find(|member| member.address == named && member.name != from)
        {
            return format!(
                "the header names {}'s address {named}, not that of the \
                 sender, {from}: {sender}",
                other.name
            );
        }
        if named == self.server.address {
            return format!(
                "the header names the server's own address {named}; it must \
                 name the sender's, {sender}, as accept() returned it"
            );
        }
        format!(
            "the header names {named}, not the sender's address {sender} as \
             the server sees it (what accept() returned for that client)"
        )
    }

    /// Checks that nothing more is waiting at any member.
    fn expect_nothing_more(&mut self) -> Outcome {
        for member in &mut self.members {
            member
                .peer
                .expect_silence(
                    Duration::from_millis(50),
                    &format!(
                        "nothing more at {} after the last message",
                        member.name
                    ),
                )
                .map_err(|failure| {
                    if failure.got.starts_with("\"\\n") {
                        note(failure, BLANK_LINE)
                    } else {
                        failure
                    }
                })?;
        }
        Ok(())
    }
}

/// A message, as a failure shows it.
fn show_message(message: &Message) -> String {
    format!(
        "the message {}",
        shown(
            format!(
                "{} {}\n{}\n",
                message.header.time,
                message.header.sender,
                String::from_utf8_lossy(&message.line)
            )
            .as_bytes()
        )
    )
}

/// Adds `why` to what a failure got.
fn note(failure: Failure, why: &str) -> Failure {
    Failure::new(failure.expected, format!("{} — {why}", failure.got))
}

/// Reads one message: a header line, then one line. Fails at the first
/// byte that cannot be a message. Unless `strict`, a blank line before the
/// header or right after the message is skipped.
fn read_message(
    peer: &mut Peer,
    strict: bool,
    what: &str,
) -> Result<Message, Failure> {
    let bytes =
        peer.read_until(what, |received| judge_message(received, strict))?;
    let start = if strict {
        0
    } else {
        bytes.iter().take_while(|&&byte| byte == b'\n').count()
    };
    let rest = &bytes[start..];
    let header_end = rest.iter().position(|&byte| byte == b'\n').unwrap_or(0);
    let header = std::str::from_utf8(&rest[..header_end])
        .ok()
        .and_then(chat::parse_header)
        .ok_or_else(|| Failure::new(what, shown(&bytes)))?;
    let line = &rest[header_end + 1..];
    let line_end = line.iter().position(|&byte| byte == b'\n').unwrap_or(0);
    Ok(Message {
        header,
        line: line[..line_end].to_vec(),
    })
}

/// How far `received` is from holding one whole message.
fn judge_message(received: &[u8], strict: bool) -> Progress {
    let start = if strict {
        0
    } else {
        received.iter().take_while(|&&byte| byte == b'\n').count()
    };
    let rest = &received[start..];
    let fits = |(&byte, &shape): (&u8, &u8)| {
        if shape == b'0' {
            byte.is_ascii_digit()
        } else {
            byte == shape
        }
    };
    if !rest.iter().zip(HEADER_SHAPE).all(fits) {
        return Progress::Wrong(if rest.starts_with(b"\n") {
            BLANK_LINE.to_string()
        } else {
            format!(
                "no header: every message starts with a header line, \
                 {MESSAGE_SHAPE}"
            )
        });
    }
    let Some(header_end) = rest.iter().position(|&byte| byte == b'\n') else {
        return if rest.len() > 100 {
            Progress::Wrong("the header line goes on and on".into())
        } else {
            Progress::More
        };
    };
    let header = std::str::from_utf8(&rest[..header_end])
        .ok()
        .and_then(chat::parse_header);
    if header.is_none() {
        return Progress::Wrong(format!(
            "the first line is not a header, {MESSAGE_SHAPE}"
        ));
    }
    let line = &rest[header_end + 1..];
    let Some(line_end) = line.iter().position(|&byte| byte == b'\n') else {
        return Progress::More;
    };
    let end = start + header_end + 1 + line_end + 1;
    match received.get(end) {
        Some(b'\n') if strict => Progress::Wrong(BLANK_LINE.into()),
        Some(b'\n') => Progress::Done(end + 1),
        _ => Progress::Done(end),
    }
}

/// Reads until the other side closes (or resets) the connection, keeping at
/// most `limit` bytes. `Err` holds what came, and why it is not a close.
fn read_to_close(
    peer: &Peer,
    limit: usize,
) -> Result<Vec<u8>, (Vec<u8>, String)> {
    let mut stream = peer.stream();
    let deadline = Instant::now() + TIMEOUT;
    let mut received = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err((received, format!("no close within {TIMEOUT:?}")));
        }
        if let Err(error) = stream.set_read_timeout(Some(left)) {
            return Err((received, error.to_string()));
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(received),
            Ok(count) => {
                received.extend_from_slice(&buffer[..count]);
                if received.len() > limit {
                    return Err((received, "more than expected".into()));
                }
            }
            Err(error) if crate::explain::is_disconnect(&error) => {
                return Ok(received);
            }
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut
                ) =>
            {
                return Err((received, format!("no close within {TIMEOUT:?}")));
            }
            Err(error) => return Err((received, error.to_string())),
        }
    }
}

fn sends_a_line_back_to_its_sender(target: &Target) -> Outcome {
    let mut room = Room::open(target, true)?;
    room.join("alice")?;
    room.say("alice", "hello, is anyone there?")?;
    room.expect_nothing_more()
}

fn sends_every_line_to_every_client(target: &Target) -> Outcome {
    let mut room = Room::open(target, true)?;
    for name in ["alice", "bob", "carol"] {
        room.join(name)?;
    }
    room.say("alice", "hello from alice")?;
    room.say("bob", "hello from bob")?;
    room.say("carol", "hello from carol")?;
    room.expect_nothing_more()
}

fn stops_on_quit(target: &Target) -> Outcome {
    let mut room = Room::open(target, false)?;
    room.join("alice")?;
    room.join("bob")?;
    room.server.process.type_line("quit")?;
    for member in &mut room.members {
        let closed = member
            .peer
            .expect_close(&format!(
                "{}'s connection to be closed within {TIMEOUT:?} of quit \
                 typed on the server's console",
                member.name
            ))
            .map_err(|failure| {
                note(
                    failure,
                    "the server did not close its clients' connections (a \
                     close() from another thread is not enough on Linux: it \
                     neither wakes a thread blocked in recv() on that socket \
                     nor sends anything while it is blocked; shutdown() does \
                     both)",
                )
            });
        if let Err(failure) = closed {
            let running = if room.server.process.exited().is_none() {
                "; and the server is still running: a thread blocked in \
                 accept() or recv() keeps the process alive"
            } else {
                ""
            };
            return Err(Failure::new(
                failure.expected,
                format!("{}{running}", failure.got),
            ));
        }
    }
    let process = &mut room.server.process;
    let exit = process.wait_for_exit(TIMEOUT).map_err(|_| {
        Failure::new(
            format!("the server to exit within {TIMEOUT:?} of quit"),
            format!(
                "{} — the server is still running: a thread blocked in \
                 accept() or recv() keeps the process alive",
                process.exit_report()
            ),
        )
    })?;
    if exit.status.success() {
        Ok(())
    } else {
        Err(Failure::new(
            "the server to exit with status 0 after quit",
            exit.status.to_string(),
        ))
    }
}

fn closes_a_client_that_quits(target: &Target) -> Outcome {
    let mut room = Room::open(target, false)?;
    for name in ["alice", "bob", "carol"] {
        room.join(name)?;
    }
    room.send("carol", b"quit\n")?;
    let carol = room.remove("carol", "sent quit");
    let mut carol_peer = carol.peer;
    match read_message(&mut carol_peer, false, "") {
        Ok(message) => {
            return Err(Failure::new(
                "carol, who sent quit, to see her connection closed",
                format!(
                    "{}: a quit line ends that client's session, it is not \
                     a message",
                    show_message(&message)
                ),
            ));
        }
        Err(failure) if failure.got.contains("closed") => {}
        Err(failure) if failure.got.contains("reset") => {}
        Err(failure) => {
            return Err(Failure::new(
                "carol, who sent quit, to see her connection closed",
                failure.got,
            ));
        }
    }
    room.say("alice", "carol has left")?;
    room.say("bob", "so she has")
}

fn forgets_a_closed_client(target: &Target) -> Outcome {
    let mut room = Room::open(target, false)?;
    for name in ["alice", "bob", "carol"] {
        room.join(name)?;
    }
    drop(room.remove("carol", "had closed her connection"));
    room.say("alice", "carol has gone")?;
    room.say("bob", "so she has")?;
    room.join("dave")?;
    room.say("dave", "hello, all")
}

/// Connects to `address` with a small receive buffer, set before connecting
/// so that the window it offers stays small.
fn connect_small(address: SocketAddr) -> Result<Peer, Failure> {
    let what = format!("to connect to the server at {address}");
    let fail = |error: std::io::Error| Failure::new(&what, error.to_string());
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(fail)?;
    socket.set_recv_buffer_size(4096).map_err(fail)?;
    socket
        .connect_timeout(&address.into(), TIMEOUT)
        .map_err(fail)?;
    Ok(Peer::new(TcpStream::from(socket)))
}

fn a_slow_reader_stalls_nobody(target: &Target) -> Outcome {
    const LINE: usize = 1024;
    const LINES: usize = 8 * 1024;
    // Bob sends this many lines at a time, and keeps at most WINDOW lines
    // on their way back to him: he reads as fast as he writes, so that no
    // server takes him for a slow reader too.
    const BATCH: usize = 32;
    const WINDOW: usize = 128;
    const MARKER: &[u8] = b"zzzzzzzzzzzzzzzz\n";
    let mut room = Room::open(target, false)?;
    let alice = connect_small(room.server.address)?;
    room.join_with("alice", alice)?;
    room.join("bob")?;
    // From now on alice reads nothing.
    let mut batch = Vec::with_capacity(LINE * BATCH);
    for _ in 0..BATCH {
        batch.extend_from_slice(&[b'x'; LINE - 1]);
        batch.push(b'\n');
    }
    let bob = &mut room.member("bob").peer;
    let mut writer = bob.stream().try_clone().map_err(|error| {
        Failure::new("a second handle on bob's socket", error.to_string())
    })?;
    // How many lines have come back to bob; and whether the check gave up.
    let returned = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sending = {
        let (returned, stop) = (Arc::clone(&returned), Arc::clone(&stop));
        thread::spawn(move || -> std::io::Result<()> {
            writer.set_write_timeout(Some(TIMEOUT))?;
            let mut sent = 0;
            while sent < LINES {
                while sent >= returned.load(Ordering::Relaxed) + WINDOW {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                writer.write_all(&batch)?;
                sent += BATCH;
            }
            writer.write_all(MARKER)
        })
    };
    // 'x' and 'z' never occur in a header: count them in whatever comes.
    let (want_x, want_z) = (LINES * (LINE - 1), MARKER.len() - 1);
    let (mut got_x, mut got_z) = (0, 0);
    while got_x < want_x || got_z < want_z {
        let chunk = bob.read_until("more of bob's broadcasts", |received| {
            if received.is_empty() {
                Progress::More
            } else {
                Progress::Done(received.len())
            }
        });
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(failure) => {
                stop.store(true, Ordering::Relaxed);
                return Err(Failure::new(
                    format!(
                        "bob to receive all {LINES} of his {LINE}-byte lines \
                         and a last marker line, each read within \
                         {TIMEOUT:?} of the one before, while alice reads \
                         nothing"
                    ),
                    format!(
                        "bob got {} of {LINES} lines, then {} — the \
                         broadcast is stuck writing to a client that does \
                         not read (alice), and everyone waits for it",
                        got_x / (LINE - 1),
                        failure.got
                    ),
                ));
            }
        };
        got_x += chunk.iter().filter(|&&byte| byte == b'x').count();
        got_z += chunk.iter().filter(|&&byte| byte == b'z').count();
        returned.store(got_x / (LINE - 1), Ordering::Relaxed);
    }
    match sending.join() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(Failure::new(
            "bob's lines to be sent",
            format!("the send failed: {error}"),
        )),
        Err(_) => Err(Failure::new("bob's lines to be sent", "a panic")),
    }
}

fn pieces_make_one_message(target: &Target) -> Outcome {
    let mut room = Room::open(target, false)?;
    room.join("alice")?;
    room.join("bob")?;
    room.send("alice", b"hel")?;
    // Long enough for the piece to leave, and be read, on its own.
    thread::sleep(Duration::from_millis(50));
    room.send("alice", b"lo\n")?;
    room.everyone_reads("alice", "hello")
}

fn two_lines_make_two_messages(target: &Target) -> Outcome {
    let mut room = Room::open(target, false)?;
    room.join("alice")?;
    room.join("bob")?;
    room.send("alice", b"one\ntwo\n")?;
    for to in ["alice", "bob"] {
        room.expect_message(to, "alice", "one")?;
        room.expect_message(to, "alice", "two").map_err(|failure| {
            if failure.got.contains("no header") {
                note(
                    failure,
                    "the two lines came in one read, and the server sent \
                     what it read as one message instead of one message per \
                     line",
                )
            } else if failure.got.starts_with("nothing within") {
                note(
                    failure,
                    "the second line was lost: what the server's reader had \
                     read ahead was thrown away (in Python, a write on a \
                     makefile('rw') object drops what its readline() read \
                     ahead)",
                )
            } else {
                failure
            }
        })?;
    }
    Ok(())
}

fn a_long_line_ends_its_client(target: &Target) -> Outcome {
    const SIZE: usize = 100 * 1024;
    let mut room = Room::open(target, false)?;
    for name in ["alice", "bob", "carol"] {
        room.join(name)?;
    }
    // The server may close carol before it has read it all: a failed send
    // is fine.
    let _ = room.send("carol", &[b'x'; SIZE]);
    let carol = room.remove("carol", "sent a line over the limit");
    let expected = format!(
        "carol, who sent {SIZE} bytes with no newline, to be closed within \
         {TIMEOUT:?}, after at most a short error line"
    );
    let (received, unclosed) = match read_to_close(&carol.peer, 512) {
        Ok(received) => (received, None),
        Err((received, why)) => (received, Some(why)),
    };
    if received.contains(&b'x') {
        return Err(Failure::new(
            expected,
            format!(
                "{} — pieces of the long line came back as messages: the \
                 server broadcast it piece by piece instead of ending that \
                 client",
                shown(&received)
            ),
        ));
    }
    if let Some(why) = unclosed {
        let more = if received.is_empty() {
            " — the server is still waiting for the end of the line: with \
             no limit on a line's length, one client can make it hold as \
             much memory as it likes"
        } else {
            ""
        };
        return Err(Failure::new(
            expected,
            format!("{}: {why}{more}", shown(&received)),
        ));
    }
    drop(carol);
    room.say("alice", "carol is gone")?;
    room.say("bob", "so she is")?;
    room.join("dave")?;
    room.say("dave", "hello, all")
}

fn bad_utf8_stops_nothing(target: &Target) -> Outcome {
    let mut room = Room::open(target, false)?;
    room.join("alice")?;
    room.join("bob")?;
    room.send("alice", b"\xff\xfe\n")?;
    // Apart, so that a server that reads chunks, not lines, is held to this
    // promise and not to stage 5's.
    thread::sleep(Duration::from_millis(50));
    room.send("alice", b"a good line\n")?;
    for to in ["alice", "bob"] {
        let what = room.describe(to, "alice", "a good line");
        let first = room.read(to, &what).map_err(|failure| {
            let ended =
                failure.got.contains("closed") || failure.got.contains("reset");
            note(
                failure,
                if ended {
                    "the server ended the session of a client that sent \
                     bytes that are not UTF-8 (0xff 0xfe)"
                } else {
                    "after bytes that are not UTF-8 (0xff 0xfe), the good \
                     line never came: the server stopped reading alice (a \
                     decoding error that ends the thread reading her, say)"
                },
            )
        })?;
        let replaced = !first.line.is_empty()
            && String::from_utf8_lossy(&first.line)
                .chars()
                .all(|c| c == char::REPLACEMENT_CHARACTER);
        if first.header.sender == room.members[room.index("alice")].address
            && replaced
        {
            room.expect_message(to, "alice", "a good line")?;
        } else {
            room.judge(&first, "alice", "a good line", &what)?;
        }
    }
    room.say("bob", "still here")
}

fn a_reset_stops_nothing(target: &Target) -> Outcome {
    let mut room = Room::open(target, false)?;
    for name in ["alice", "bob", "carol"] {
        room.join(name)?;
    }
    room.send("carol", b"half a li")?;
    // Let the half line arrive before the reset does.
    thread::sleep(Duration::from_millis(50));
    let carol = room.remove(
        "carol",
        "reset her connection after half a line (half a line is no line, \
         and no message)",
    );
    // A linger of zero makes the close a reset (RST), not a FIN.
    SockRef::from(carol.peer.stream())
        .set_linger(Some(Duration::ZERO))
        .map_err(|error| {
            Failure::new("to make carol's close a reset", error.to_string())
        })?;
    drop(carol);
    room.say("alice", "carol is gone")?;
    room.say("bob", "so she is")?;
    room.join("dave")?;
    room.say("dave", "hello, all")
}

/// Starts the client and accepts its connection: the check is its server.
fn client_connected(
    target: &Target,
) -> Result<(Process, Peer, std::net::TcpListener), Failure> {
    let (listener, mut client) = target.start_client()?;
    let server = accept_client(&listener, &mut client)?;
    Ok((client, server, listener))
}

fn client_prints_messages(target: &Target) -> Outcome {
    let (mut client, mut server, _listener) = client_connected(target)?;
    for (sender, line) in [
        ("127.0.0.1:40001", "first message"),
        ("127.0.0.1:40002", "second message"),
    ] {
        let header = format!("{} {sender}", chat::timestamp());
        server.send(format!("{header}\n{line}\n").as_bytes())?;
        client.expect(&header)?;
        client.expect(line)?;
    }
    Ok(())
}

fn client_sends_typed_lines(target: &Target) -> Outcome {
    let (mut client, mut server, _listener) = client_connected(target)?;
    for line in ["hello, all", "a second line"] {
        client.type_line(line)?;
        server.expect_bytes(format!("{line}\n").as_bytes())?;
    }
    Ok(())
}

/// Waits for the client to close its connection, after at most `quit\n`.
fn expect_client_close(server: &Peer, after: &str) -> Outcome {
    let expected = format!(
        "the client to close its connection {after} (sending quit first is \
         fine)"
    );
    match read_to_close(server, 64) {
        Ok(received) if received.is_empty() || received == b"quit\n" => Ok(()),
        Ok(received) => Err(Failure::new(
            expected,
            format!("{}, then a close", shown(&received)),
        )),
        Err((received, why)) => Err(Failure::new(
            expected,
            format!("{}: {why}", shown(&received)),
        )),
    }
}

fn client_leaves_on_quit(target: &Target) -> Outcome {
    let (mut client, server, _listener) = client_connected(target)?;
    client.type_line("quit")?;
    expect_client_close(&server, "after quit is typed")?;
    // A server closes its side in turn, as ours does.
    drop(server);
    client.expect_success().map(drop)
}

fn client_leaves_at_the_end_of_input(target: &Target) -> Outcome {
    let (mut client, server, _listener) = client_connected(target)?;
    client.close_stdin();
    expect_client_close(&server, "at the end of its input")?;
    // A server closes its side in turn, as ours does.
    drop(server);
    client.expect_success().map(drop)
}

fn client_exits_when_the_server_closes(target: &Target) -> Outcome {
    let (mut client, server, _listener) = client_connected(target)?;
    // A FIN, not a reset: what the client may have sent stays unread here,
    // and closing a socket with unread bytes would send a reset instead.
    server
        .stream()
        .shutdown(std::net::Shutdown::Write)
        .map_err(|error| {
            Failure::new("to close the check's side", error.to_string())
        })?;
    let deadline = Instant::now() + TIMEOUT;
    let mut said = false;
    while let Some(line) = client.next_line(deadline) {
        if line.text.to_lowercase().contains("closed") {
            said = true;
            break;
        }
    }
    if !said {
        return Err(Failure::new(
            format!(
                "`{}` to print a line containing \"closed\" when the server \
                 closes the connection",
                client.label()
            ),
            client.silence_report(),
        ));
    }
    client.wait_for_exit(TIMEOUT)?;
    drop(server);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> String {
        format!("{} 127.0.0.1:5000\n", chat::timestamp())
    }

    #[test]
    fn a_whole_message_is_done() {
        let message = format!("{}hello\n", header());
        assert!(matches!(
            judge_message(message.as_bytes(), true),
            Progress::Done(n) if n == message.len()
        ));
    }

    #[test]
    fn a_blank_line_after_it_is_a_flaw_only_when_strict() {
        let message = format!("{}hello\n\n", header());
        assert!(matches!(
            judge_message(message.as_bytes(), true),
            Progress::Wrong(why) if why == BLANK_LINE
        ));
        assert!(matches!(
            judge_message(message.as_bytes(), false),
            Progress::Done(n) if n == message.len()
        ));
    }

    #[test]
    fn a_line_without_a_header_fails_at_once() {
        assert!(matches!(judge_message(b"hel", true), Progress::Wrong(_)));
        assert!(matches!(judge_message(b"2016/0", true), Progress::More));
    }
}
