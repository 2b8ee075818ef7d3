//! The one table of lessons.
//!
//! Support module. Every runnable lesson has one row here, in the order the book teaches them,
//! with everything the project knows about it: what it shows, its default port, its peer, its
//! chapter, and the protocol checks it must pass. The `lessons` binary prints this table,
//! `--help` reads a lesson's summary, default port and next step from it, `check` runs its
//! checks, and a test holds every file in `lessons/` to its row, its `[[bin]]` and its chapter.

use crate::check::{self, Check};
use crate::tour::{Participant, Program, Script, Step::*};

/// What part a lesson binary plays, which decides what `--host` and `--port` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Binds an address and waits for peers: `--host`/`--port` say where to listen.
    Server,
    /// Reaches out to a server: `--host`/`--port` say where that server is.
    Client,
    /// Shows something by itself, both ends in one process (a socketpair, an option's effect).
    Demonstration,
    /// Not a lesson but something that measures or drives them.
    Tool,
}

/// One runnable lesson: a binary, its chapter and what it teaches.
#[derive(Debug, Clone, Copy)]
pub struct Lesson {
    /// The binary's name, as in `cargo run --bin NAME` and `lessons/NAME.rs`.
    pub name: &'static str,
    /// What the lesson shows, in one line for the index and `--help`.
    pub summary: &'static str,
    /// Whether it listens or connects.
    pub role: Role,
    /// The port the Python tutorial uses, so the lesson and the tutorial's programs meet;
    /// `None` for a lesson that takes no `--port`.
    pub default_port: Option<u16>,
    /// The binary to run beside this one (a server's client, a client's server), if any.
    pub peer: Option<&'static str>,
    /// The chapter that explains it, relative to the repository root.
    pub chapter: &'static str,
    /// What it promises on the wire, as checks any program can be held to ([`crate::check`]).
    pub checks: &'static [Check],
    /// The conversation `cargo run -- tour` plays with it and its peer ([`crate::tour`]), which
    /// is also the session its chapter shows.
    pub tour: Option<&'static Script>,
}

impl Lesson {
    /// The command that runs this lesson from the repository root.
    pub fn command(&self) -> String {
        format!("cargo run --bin {}", self.name)
    }
}

/// Every lesson, in the order the book teaches them.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        name: "01_bind_listen_accept",
        summary: "socket(), SO_REUSEADDR, bind, listen and accept, one call at a time; acknowledges two clients, then exits",
        role: Role::Server,
        default_port: Some(9999),
        peer: None,
        chapter: "book/src/01_bind_listen_accept.md",
        checks: check::bind_accept::SERVER,
        tour: Some(&BIND_ACCEPT),
    },
    Lesson {
        name: "02_talk_server",
        summary: "two people take turns: the server types a line, the client answers",
        role: Role::Server,
        default_port: Some(8000),
        peer: Some("02_talk_client"),
        chapter: "book/src/02_talk.md",
        checks: check::talk::SERVER,
        tour: Some(&TALK),
    },
    Lesson {
        name: "02_talk_client",
        summary: "connect to the talk server, print its line, type the answer; a refused connect shows the OS error",
        role: Role::Client,
        default_port: Some(8000),
        peer: Some("02_talk_server"),
        chapter: "book/src/02_talk.md",
        checks: check::talk::CLIENT,
        tour: Some(&TALK),
    },
    Lesson {
        name: "03_ctime_server",
        summary: "the classic server: an accept loop, and every chunk answered with ctime() + the chunk",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("03_ctime_client"),
        chapter: "book/src/03_ctime.md",
        checks: check::ctime::TCP_SERVER,
        tour: Some(&CTIME),
    },
    Lesson {
        name: "03_ctime_client",
        summary: "send each line you type, print the timestamped reply; an empty line ends it",
        role: Role::Client,
        default_port: Some(9999),
        peer: Some("03_ctime_server"),
        chapter: "book/src/03_ctime.md",
        checks: check::ctime::TCP_CLIENT,
        tour: Some(&CTIME),
    },
    Lesson {
        name: "04_makefile_server",
        summary: "Python's makefile in Rust: a buffered reader and writer on one socket; read 10 bytes, then lines",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("04_makefile_client"),
        chapter: "book/src/04_makefile.md",
        checks: check::makefile::SERVER,
        tour: Some(&MAKEFILE),
    },
    Lesson {
        name: "04_makefile_client",
        summary: "send a 10-byte record, then lines, through buffered handles; flush decides when bytes leave",
        role: Role::Client,
        default_port: Some(9999),
        peer: Some("04_makefile_server"),
        chapter: "book/src/04_makefile.md",
        checks: check::makefile::CLIENT,
        tour: Some(&MAKEFILE),
    },
    Lesson {
        name: "05_udp_server",
        summary: "UDP: no connection, no accept; recv_from and send_to answer each datagram with ctime() + data",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("05_udp_client"),
        chapter: "book/src/05_udp.md",
        checks: check::ctime::UDP_SERVER,
        tour: Some(&UDP),
    },
    Lesson {
        name: "05_udp_client",
        summary: "send each line as one datagram and wait for the reply with a timeout, because datagrams get lost",
        role: Role::Client,
        default_port: Some(9999),
        peer: Some("05_udp_server"),
        chapter: "book/src/05_udp.md",
        checks: check::ctime::UDP_CLIENT,
        tour: Some(&UDP),
    },
    Lesson {
        name: "06_threaded_server",
        summary: "a thread per client: the accept loop never waits for a conversation, so every client is served at once",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("03_ctime_client"),
        chapter: "book/src/06_many_clients.md",
        checks: check::ctime::THREADED_SERVER,
        tour: Some(&MANY_CLIENTS),
    },
    Lesson {
        name: "06_socketserver",
        summary: "the same service as a handler of a socketserver-style framework, which owns the accept loop and the threads",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("03_ctime_client"),
        chapter: "book/src/06_many_clients.md",
        checks: check::ctime::THREADED_SERVER,
        tour: Some(&SOCKETSERVER),
    },
    Lesson {
        name: "07_chat_1_broadcast",
        summary: "group chat: an accept thread, a thread per client, every line broadcast to all behind a lock",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("07_chat_client"),
        chapter: "book/src/07_chat_1_broadcast.md",
        checks: check::chat::BROADCAST,
        tour: Some(&CHAT_BROADCAST),
    },
    Lesson {
        name: "07_chat_2_stop",
        summary: "stopping: a stop flag, quit typed on the server's console, and waking the blocked accept",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("07_chat_client"),
        chapter: "book/src/07_chat_2_stop.md",
        checks: check::chat::STOP,
        tour: Some(&CHAT_STOP),
    },
    Lesson {
        name: "07_chat_3_leave",
        summary: "a client leaves with quit or by closing, and is removed from the table at once",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("07_chat_client"),
        chapter: "book/src/07_chat_3_leave.md",
        checks: check::chat::LEAVE,
        tour: Some(&CHAT_LEAVE),
    },
    Lesson {
        name: "07_chat_4_lock",
        summary: "lock discipline: write to clients outside the lock, and drop those whose write fails",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("07_chat_client"),
        chapter: "book/src/07_chat_4_lock.md",
        checks: check::chat::LOCK,
        tour: Some(&CHAT_LOCK),
    },
    Lesson {
        name: "07_chat_5_lines",
        summary: "line framing: a buffered reader on the socket's read half, writes on their own handle",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("07_chat_client"),
        chapter: "book/src/07_chat_5_lines.md",
        checks: check::chat::LINES,
        tour: Some(&CHAT_LINES),
    },
    Lesson {
        name: "07_chat_6_robust",
        summary: "the finished server: bounded lines, any bytes, a queue and a writer per client, clean shutdown",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("07_chat_client"),
        chapter: "book/src/07_chat_6_robust.md",
        checks: check::chat::ROBUST,
        tour: Some(&CHAT_ROBUST),
    },
    Lesson {
        name: "07_chat_client",
        summary: "join the chat: a thread prints every broadcast while you type lines; quit leaves",
        role: Role::Client,
        default_port: Some(9999),
        peer: Some("07_chat_6_robust"),
        chapter: "book/src/07_chat_client.md",
        checks: check::chat::CLIENT,
        tour: Some(&CHAT_ROBUST),
    },
    Lesson {
        name: "07_chat_7_batching",
        summary: "a thousand clients: each message stored once in a shared log, and one write per batch to each client",
        role: Role::Server,
        default_port: Some(9999),
        peer: Some("07_chat_client"),
        chapter: "book/src/07_chat_7_batching.md",
        checks: check::chat::ROBUST,
        tour: Some(&CHAT_BATCHING),
    },
    Lesson {
        name: "08_hmac_server",
        summary: "challenge-response: 32 random bytes out, an HMAC-SHA256 back, checked in constant time before anything else",
        role: Role::Server,
        default_port: Some(8520),
        peer: Some("08_hmac_client"),
        chapter: "book/src/08_hmac.md",
        checks: check::hmac::SERVER,
        tour: Some(&HMAC),
    },
    Lesson {
        name: "08_hmac_client",
        summary: "answer the server's challenge with the HMAC of it under the shared key, then send your messages",
        role: Role::Client,
        default_port: Some(8520),
        peer: Some("08_hmac_server"),
        chapter: "book/src/08_hmac.md",
        checks: check::hmac::CLIENT,
        tour: Some(&HMAC),
    },
    Lesson {
        name: "09_socket_options",
        summary: "socket options: SO_REUSEADDR and TIME_WAIT, the buffer sizes Linux really sets, Nagle's delay, keepalive, a zero linger that resets",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/09_socket_options.md",
        checks: check::options::EXPERIMENT,
        tour: Some(&OPTIONS),
    },
    Lesson {
        name: "10_timeouts_nonblocking",
        summary: "timeouts and non-blocking mode: a read that gives up, WouldBlock, connect with a deadline, connect_ex's numbers, a short write",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/10_timeouts_nonblocking.md",
        checks: check::nonblocking::EXPERIMENT,
        tour: Some(&NONBLOCKING),
    },
    Lesson {
        name: "11_flags",
        summary: "recv and send flags: MSG_PEEK reads twice, MSG_WAITALL waits for all, MSG_OOB's urgent byte, MSG_TRUNC's real length",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/11_flags.md",
        checks: &[],
        tour: Some(&FLAGS),
    },
    Lesson {
        name: "12_framing",
        summary: "framing: every message sent after its length in network byte order, against lines that break on a newline",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/12_framing.md",
        checks: check::framing::EXPERIMENT,
        tour: Some(&FRAMING),
    },
    Lesson {
        name: "13_names_ipv6",
        summary: "names and families: every address getaddrinfo gives, an IPv6 server, dual-stack :: with IPV6_V6ONLY on and off",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/13_names_ipv6.md",
        checks: &[],
        tour: Some(&NAMES_IPV6),
    },
    Lesson {
        name: "14_unix_sockets",
        summary: "AF_UNIX: stream and datagram sockets on a path, socketpair, SOCK_SEQPACKET's kept boundaries, the socket file",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/14_unix_sockets.md",
        checks: &[],
        tour: Some(&UNIX_SOCKETS),
    },
    Lesson {
        name: "15_sendfile",
        summary: "sendfile: a file handed to the kernel against a read/write loop, with the bytes and time of each",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/15_sendfile.md",
        checks: &[],
        tour: Some(&SENDFILE),
    },
    Lesson {
        name: "16_raw_icmp",
        summary: "SOCK_RAW: an ICMP echo to 127.0.0.1 where the OS permits it, and exactly what is missing where it does not",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/16_raw_icmp.md",
        checks: &[],
        tour: Some(&RAW_ICMP),
    },
    Lesson {
        name: "17_fileno_shutdown",
        summary: "fileno and shutdown: the descriptor behind a socket, and a half-close after which the peer still answers",
        role: Role::Demonstration,
        default_port: None,
        peer: None,
        chapter: "book/src/17_fileno_shutdown.md",
        checks: &[],
        tour: Some(&FILENO_SHUTDOWN),
    },
];

// The tours. Each is a conversation a learner could have in two terminals, and the one the
// lesson's chapter shows: the book's transcripts are written by playing these scripts
// ([`crate::transcript`]). The steps that wait make each side's output the same on every run.

/// Lesson 01 has no client of its own: two bare connections send what `nc` and the Python
/// one-liner of the chapter send.
const BIND_ACCEPT: Script = {
    const SERVER: usize = 0;
    const NC: usize = 1;
    const PYTHON: usize = 2;
    Script {
        name: "01_bind_listen_accept",
        participants: &[
            Participant::new(
                "server",
                Program::Server("01_bind_listen_accept", &[]),
            ),
            Participant::new("peer 1", Program::Connection),
            Participant::new("peer 2", Program::Connection),
        ],
        steps: &[
            Start(SERVER),
            Start(NC),
            Expect(SERVER, "accepted"),
            Send(NC, b"hello from nc\n"),
            Expect(NC, "ack: hello from nc\n"),
            Expect(SERVER, "closed"),
            Start(PYTHON),
            Expect(SERVER, "accepted"),
            Send(PYTHON, b"hello python"),
            Expect(PYTHON, "ack: hello python"),
            Exit(SERVER),
        ],
    }
};

/// Lesson 02: the two sides take turns, and the client ends it with `quit`.
const TALK: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "02_talk",
        participants: &[
            Participant::new("server", Program::Server("02_talk_server", &[])),
            Participant::new("client", Program::Lesson("02_talk_client", &[])),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Expect(SERVER, "connected;"),
            Expect(CLIENT, "connected to"),
            Type(SERVER, "hello, client. can you hear me?"),
            Expect(CLIENT, "can you hear me?"),
            Type(CLIENT, "loud and clear"),
            Expect(SERVER, "loud and clear"),
            Type(SERVER, "good. your turn to say goodbye"),
            Expect(CLIENT, "your turn to say goodbye"),
            Type(CLIENT, "quit"),
            Exit(CLIENT),
            Exit(SERVER),
        ],
    }
};

/// Lesson 03: two lines and an empty one from the client; then a second client sends two
/// lines in one write, as `printf "two\nlines\n" | nc -q1 127.0.0.1 9999` does.
const CTIME: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    const NC: usize = 2;
    Script {
        name: "03_ctime",
        participants: &[
            Participant::new("server", Program::Server("03_ctime_server", &[])),
            Participant::new("client", Program::Lesson("03_ctime_client", &[])),
            Participant::new("peer", Program::Connection),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Expect(CLIENT, "connected to"),
            Type(CLIENT, "hello"),
            Expect(CLIENT, "hello"),
            Type(CLIENT, "how long is a line?"),
            Expect(CLIENT, "how long is a line?"),
            Type(CLIENT, ""),
            Exit(CLIENT),
            Expect(SERVER, "closed"),
            Start(NC),
            Send(NC, b"two\nlines\n"),
            Expect(NC, "two\nlines\n"),
            EndInput(NC),
            Expect(SERVER, "closed"),
        ],
    }
};

/// Lesson 04: the 10-byte record, two lines, and an empty line to end.
const MAKEFILE: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "04_makefile",
        participants: &[
            Participant::new(
                "server",
                Program::Server("04_makefile_server", &[]),
            ),
            Participant::new(
                "client",
                Program::Lesson("04_makefile_client", &[]),
            ),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Expect(CLIENT, "return your msg: 0123456789"),
            Type(CLIENT, "hello, server"),
            Expect(CLIENT, "return your msg: hello, server"),
            Type(CLIENT, "two lines, one at a time"),
            Expect(CLIENT, "return your msg: two lines, one at a time"),
            Type(CLIENT, ""),
            Exit(CLIENT),
            Expect(SERVER, "closed"),
        ],
    }
};

/// Lesson 05: two datagrams from the client, then one from a bare UDP socket, as
/// `nc -u 127.0.0.1 9999` sends a typed line.
const UDP: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    const NC: usize = 2;
    Script {
        name: "05_udp",
        participants: &[
            Participant::new("server", Program::Server("05_udp_server", &[])),
            Participant::new("client", Program::Lesson("05_udp_client", &[])),
            Participant::new("peer", Program::Datagrams),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Expect(CLIENT, "sending to"),
            Type(CLIENT, "hello"),
            Expect(CLIENT, "hello"),
            Type(CLIENT, "what time is it?"),
            Expect(CLIENT, "what time is it?"),
            Type(CLIENT, ""),
            Exit(CLIENT),
            Start(NC),
            Send(NC, b"hi from nc\n"),
            Expect(NC, "hi from nc\n"),
            Expect(SERVER, "sent 35 bytes"),
        ],
    }
};

/// A chat server and its clients, for the tours of lesson 07. Each client is a
/// `07_chat_client`; the server is the stage being toured.
macro_rules! chat_participants {
    ($stage:literal, $($client:literal),+) => {
        &[
            Participant::new("server", Program::Server($stage, &[])),
            $(Participant::new($client, Program::Lesson("07_chat_client", &[])),)+
        ]
    };
}

/// Lesson 06: alice connects first and says nothing; bob is served all the same, then alice.
const MANY_CLIENTS: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    Script {
        name: "06_threaded_server",
        participants: &[
            Participant::new(
                "server",
                Program::Server("06_threaded_server", &[]),
            ),
            Participant::new("alice", Program::Lesson("03_ctime_client", &[])),
            Participant::new("bob", Program::Lesson("03_ctime_client", &[])),
        ],
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Type(BOB, "hello from bob, while alice is quiet"),
            Expect(BOB, "while alice is quiet"),
            Expect(SERVER, "sent"),
            Type(ALICE, "hello from alice"),
            Expect(ALICE, "hello from alice"),
            Expect(SERVER, "sent"),
            Type(BOB, ""),
            Exit(BOB),
            Expect(SERVER, "closed"),
            Type(ALICE, ""),
            Exit(ALICE),
            Expect(SERVER, "closed"),
        ],
    }
};

/// Lesson 06, the framework: the same service, and `quit` on its console.
const SOCKETSERVER: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    Script {
        name: "06_socketserver",
        participants: &[
            Participant::new("server", Program::Server("06_socketserver", &[])),
            Participant::new("alice", Program::Lesson("03_ctime_client", &[])),
            Participant::new("bob", Program::Lesson("03_ctime_client", &[])),
        ],
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Type(BOB, "a handler per connection"),
            Expect(BOB, "a handler per connection"),
            Expect(SERVER, "sent"),
            Type(ALICE, "and a thread for each"),
            Expect(ALICE, "and a thread for each"),
            Expect(SERVER, "sent"),
            Type(BOB, ""),
            Exit(BOB),
            Expect(SERVER, "closed"),
            TypeAhead(SERVER, "quit"),
            Expect(SERVER, "stopping"),
            ExitStatus(SERVER),
        ],
    }
};

/// Lesson 08: alice knows the key and is heard; mallory guesses it and is shown the door.
const HMAC: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const MALLORY: usize = 2;
    Script {
        name: "08_hmac",
        participants: &[
            Participant::new("server", Program::Server("08_hmac_server", &[])),
            Participant::new("alice", Program::Lesson("08_hmac_client", &[])),
            Participant::new(
                "mallory",
                Program::Lesson("08_hmac_client", &["--key", "guessed"]),
            ),
        ],
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "authenticated"),
            Expect(ALICE, "sent 64 bytes"),
            Type(ALICE, "hello, it is alice"),
            Expect(SERVER, "hello, it is alice"),
            Start(MALLORY),
            Expect(MALLORY, "closed the connection"),
            Exit(MALLORY),
            Expect(SERVER, "rejected"),
            Expect(SERVER, "closed"),
            Type(ALICE, "quit"),
            Exit(ALICE),
            Expect(SERVER, "closed"),
        ],
    }
};

/// Lesson 07, stage 1: two clients, each line reaching both; Ctrl-C is the
/// only way to stop this stage.
const CHAT_BROADCAST: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    Script {
        name: "07_chat_1_broadcast",
        participants: chat_participants!("07_chat_1_broadcast", "alice", "bob"),
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Type(ALICE, "hello, is anyone here?"),
            Expect(ALICE, "is anyone here?"),
            Expect(BOB, "is anyone here?"),
            Type(BOB, "hi alice, bob here"),
            Expect(ALICE, "bob here"),
            Expect(BOB, "bob here"),
            Interrupt(SERVER),
            Expect(ALICE, "closed"),
            Expect(BOB, "closed"),
            Exit(ALICE),
            Exit(BOB),
        ],
    }
};

/// Lesson 07, stage 2: the same chat, stopped by `quit` on the server's console.
const CHAT_STOP: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    Script {
        name: "07_chat_2_stop",
        participants: chat_participants!("07_chat_2_stop", "alice", "bob"),
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Type(ALICE, "the server will stop soon"),
            Expect(ALICE, "stop soon"),
            Expect(BOB, "stop soon"),
            Expect(SERVER, "stop soon"),
            TypeAhead(SERVER, "quit"),
            Expect(ALICE, "closed"),
            Expect(BOB, "closed"),
            Exit(ALICE),
            Exit(BOB),
            ExitStatus(SERVER),
        ],
    }
};

/// Lesson 07, stage 3: carol leaves with `quit`, and the others go on.
const CHAT_LEAVE: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    const CAROL: usize = 3;
    Script {
        name: "07_chat_3_leave",
        participants: chat_participants!(
            "07_chat_3_leave",
            "alice",
            "bob",
            "carol"
        ),
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Start(CAROL),
            Expect(CAROL, "connected to"),
            Expect(SERVER, "connected"),
            Type(CAROL, "I have to go, bye"),
            Expect(ALICE, "bye"),
            Expect(BOB, "bye"),
            Expect(CAROL, "bye"),
            Type(CAROL, "quit"),
            Exit(CAROL),
            Expect(SERVER, "closed"),
            Type(ALICE, "bye carol"),
            Expect(ALICE, "bye carol"),
            Expect(BOB, "bye carol"),
            Expect(SERVER, "bye carol"),
            TypeAhead(SERVER, "quit"),
            Exit(ALICE),
            Exit(BOB),
            ExitStatus(SERVER),
        ],
    }
};

/// Lesson 07, stage 4: bob leaves with Ctrl-D; nothing else looks different,
/// because what changed shows only when a client stops reading (the tests
/// show that).
const CHAT_LOCK: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    Script {
        name: "07_chat_4_lock",
        participants: chat_participants!("07_chat_4_lock", "alice", "bob"),
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Type(BOB, "I will leave with Ctrl-D"),
            Expect(ALICE, "Ctrl-D"),
            Expect(BOB, "Ctrl-D"),
            EndInput(BOB),
            Exit(BOB),
            Expect(SERVER, "closed"),
            Type(ALICE, "alone now"),
            Expect(ALICE, "alone now"),
            Expect(SERVER, "alone now"),
            TypeAhead(SERVER, "quit"),
            Exit(ALICE),
            ExitStatus(SERVER),
        ],
    }
};

/// Lesson 07, stage 5: a line in pieces, and two lines in one piece, from a
/// bare connection, as `nc` or a few lines of Python send them.
const CHAT_LINES: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const PEER: usize = 2;
    Script {
        name: "07_chat_5_lines",
        participants: &[
            Participant::new("server", Program::Server("07_chat_5_lines", &[])),
            Participant::new("alice", Program::Lesson("07_chat_client", &[])),
            Participant::new("peer", Program::Connection),
        ],
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(PEER),
            Expect(SERVER, "connected"),
            Send(PEER, b"one line, "),
            Send(PEER, b"sent in two pieces\n"),
            Expect(ALICE, "sent in two pieces"),
            Send(PEER, b"two lines\nin one piece\n"),
            Expect(ALICE, "two lines"),
            Expect(ALICE, "in one piece"),
            Expect(SERVER, "in one piece"),
            TypeAhead(SERVER, "quit"),
            Exit(ALICE),
            ExitStatus(SERVER),
        ],
    }
};

/// Lesson 07, stage 6, and the client's chapter: three clients, a line that
/// is not UTF-8, a departure, and the console's `quit`.
const CHAT_ROBUST: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    const CAROL: usize = 3;
    const PEER: usize = 4;
    Script {
        name: "07_chat_6_robust",
        participants: &[
            Participant::new(
                "server",
                Program::Server("07_chat_6_robust", &[]),
            ),
            Participant::new("alice", Program::Lesson("07_chat_client", &[])),
            Participant::new("bob", Program::Lesson("07_chat_client", &[])),
            Participant::new("carol", Program::Lesson("07_chat_client", &[])),
            Participant::new("peer", Program::Connection),
        ],
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Start(CAROL),
            Expect(CAROL, "connected to"),
            Expect(SERVER, "connected"),
            Type(ALICE, "good morning, everyone"),
            Expect(ALICE, "good morning"),
            Expect(BOB, "good morning"),
            Expect(CAROL, "good morning"),
            Type(BOB, "morning, alice"),
            Expect(ALICE, "morning, alice"),
            Expect(BOB, "morning, alice"),
            Expect(CAROL, "morning, alice"),
            Start(PEER),
            Expect(SERVER, "connected"),
            // "café" in Latin-1: the é is one byte, 0xE9, not UTF-8.
            Send(PEER, b"caf\xe9 in Latin-1\n"),
            Expect(ALICE, "in Latin-1"),
            Expect(BOB, "in Latin-1"),
            Expect(CAROL, "in Latin-1"),
            EndInput(PEER),
            Expect(SERVER, "closed"),
            Type(CAROL, "quit"),
            Exit(CAROL),
            Expect(SERVER, "closed"),
            TypeAhead(SERVER, "quit"),
            Expect(ALICE, "closed"),
            Expect(BOB, "closed"),
            Exit(ALICE),
            Exit(BOB),
            ExitStatus(SERVER),
        ],
    }
};

/// Stage 7: the same conversation as stage 6's, minus the bare connection: what changed is
/// inside the server, and the clients see the same chat.
const CHAT_BATCHING: Script = {
    const SERVER: usize = 0;
    const ALICE: usize = 1;
    const BOB: usize = 2;
    Script {
        name: "07_chat_7_batching",
        participants: chat_participants!("07_chat_7_batching", "alice", "bob"),
        steps: &[
            Start(SERVER),
            Start(ALICE),
            Expect(ALICE, "connected to"),
            Expect(SERVER, "connected"),
            Start(BOB),
            Expect(BOB, "connected to"),
            Expect(SERVER, "connected"),
            Type(ALICE, "one write per batch"),
            Expect(ALICE, "one write per batch"),
            Expect(BOB, "one write per batch"),
            Type(BOB, "and each message stored once"),
            Expect(ALICE, "stored once"),
            Expect(BOB, "stored once"),
            Type(BOB, "quit"),
            Exit(BOB),
            Expect(SERVER, "closed"),
            TypeAhead(SERVER, "quit"),
            Expect(ALICE, "closed"),
            Exit(ALICE),
            ExitStatus(SERVER),
        ],
    }
};

// The experiments of lessons 09 and on have one participant, the lesson run with no
// arguments, and nothing to do but let it run to its end: their sessions are what the
// chapters show.

/// The script of an experiment: run it with no arguments, and wait for it to end.
macro_rules! experiment {
    ($name:literal) => {
        Script {
            name: $name,
            participants: &[Participant::new(
                "experiment",
                Program::Command($name, &[]),
            )],
            steps: &[Start(0), Exit(0)],
        }
    };
}

const OPTIONS: Script = experiment!("09_socket_options");
const NONBLOCKING: Script = experiment!("10_timeouts_nonblocking");
const FLAGS: Script = experiment!("11_flags");
const FRAMING: Script = experiment!("12_framing");
const NAMES_IPV6: Script = experiment!("13_names_ipv6");
const UNIX_SOCKETS: Script = experiment!("14_unix_sockets");
const SENDFILE: Script = experiment!("15_sendfile");
const RAW_ICMP: Script = experiment!("16_raw_icmp");
const FILENO_SHUTDOWN: Script = experiment!("17_fileno_shutdown");

/// An exercise: a starting file in `exercises/` that compiles and runs but does not yet do
/// its lesson's job, checked by that lesson's checks.
#[derive(Debug, Clone, Copy)]
pub struct Exercise {
    /// The binary's name, as in `cargo run --bin NAME` and `exercises/NAME.rs`.
    pub name: &'static str,
    /// The lesson whose checks it must pass once it is done.
    pub lesson: &'static str,
    /// What is left to do, in one line.
    pub summary: &'static str,
    /// The chapter section that sets it, as `book/src/FILE.md#anchor`.
    pub section: &'static str,
}

impl Exercise {
    /// The file a learner edits.
    pub fn file(&self) -> String {
        format!("exercises/{}.rs", self.name)
    }

    /// The command that checks it against its lesson's protocol.
    pub fn check_command(&self) -> String {
        format!(
            "cargo run -- check {} --exercise {}",
            self.lesson, self.name
        )
    }
}

/// Every exercise, in the order the book sets them.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "ex01_bind_listen_accept",
        lesson: "01_bind_listen_accept",
        summary: "the server binds but never listens, and never answers: add listen() and send the acknowledgement",
        section: "book/src/01_bind_listen_accept.md#exercises",
    },
    Exercise {
        name: "ex02_talk_client",
        lesson: "02_talk_client",
        summary: "the client hears the server but cannot answer: write its turn, a typed line sent with its newline, and quit",
        section: "book/src/02_talk.md#exercises",
    },
    Exercise {
        name: "ex03_ctime_server",
        lesson: "03_ctime_server",
        summary: "the server echoes one chunk and hangs up: answer every chunk, with the time in front",
        section: "book/src/03_ctime.md#exercises",
    },
    Exercise {
        name: "ex04_makefile_server",
        lesson: "04_makefile_server",
        summary: "the server answers whatever read() returns: read exactly 10 bytes, then whole lines",
        section: "book/src/04_makefile.md#exercises",
    },
    Exercise {
        name: "ex05_udp_server",
        lesson: "05_udp_server",
        summary: "the server answers each datagram with two: send the time and the data as one datagram",
        section: "book/src/05_udp.md#exercises",
    },
    Exercise {
        name: "ex06_threaded_server",
        lesson: "06_threaded_server",
        summary: "each client is served inline, so the next waits its turn: hand every connection to a thread",
        section: "book/src/06_many_clients.md#exercises",
    },
    Exercise {
        name: "ex07_chat_3_leave",
        lesson: "07_chat_3_leave",
        summary: "quit is broadcast and leavers stay in the table: end the conversation on quit, and remove the client",
        section: "book/src/07_chat_3_leave.md#exercises",
    },
    Exercise {
        name: "ex07_chat_4_lock",
        lesson: "07_chat_4_lock",
        summary: "a broadcast writes under the lock, and one stuck client stalls all: write outside it, with a timeout",
        section: "book/src/07_chat_4_lock.md#exercises",
    },
    Exercise {
        name: "ex07_chat_6_robust",
        lesson: "07_chat_6_robust",
        summary: "lines() holds any line however long and dies on bad bytes: bound each line, and take any bytes",
        section: "book/src/07_chat_6_robust.md#exercises",
    },
    Exercise {
        name: "ex08_hmac_server",
        lesson: "08_hmac_server",
        summary: "the server takes any 64 bytes for the answer: compute the HMAC and verify it in constant time",
        section: "book/src/08_hmac.md#exercises",
    },
    Exercise {
        name: "ex09_socket_options",
        lesson: "09_socket_options",
        summary: "the zero-linger close is a plain close: set SO_LINGER on with a zero timeout so that it resets the peer",
        section: "book/src/09_socket_options.md#exercises",
    },
    Exercise {
        name: "ex10_timeouts_nonblocking",
        lesson: "10_timeouts_nonblocking",
        summary: "the server's end is never made non-blocking: call set_nonblocking(true) so its read fails at once, not after the timeout",
        section: "book/src/10_timeouts_nonblocking.md#exercises",
    },
    Exercise {
        name: "ex12_framing",
        lesson: "12_framing",
        summary: "read_frame is one plain read: read the 4-byte big-endian length, refuse one over the limit, then exactly that many bytes",
        section: "book/src/12_framing.md#exercises",
    },
];

/// The exercise with this binary name, if there is one.
pub fn find_exercise(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|exercise| exercise.name == name)
}

/// The lesson with this binary name, if there is one.
pub fn find(name: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|lesson| lesson.name == name)
}

/// The first lesson of the next chapter: what to run after this one (and its peer).
pub fn next_after(name: &str) -> Option<&'static Lesson> {
    let position = LESSONS.iter().position(|lesson| lesson.name == name)?;
    let chapter = LESSONS[position].chapter;
    LESSONS[position + 1..]
        .iter()
        .find(|lesson| lesson.chapter != chapter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_peers_point_back() {
        for lesson in LESSONS {
            assert_eq!(
                LESSONS.iter().filter(|l| l.name == lesson.name).count(),
                1
            );
            if let Some(peer) = lesson.peer {
                let peer = find(peer).expect("a peer is itself a lesson");
                // A client shared by several servers (the chat stages) names
                // the last of them; each of those servers names the client.
                let back = peer.peer.and_then(find).expect("a peer back");
                assert!(
                    back.name == lesson.name || back.peer == lesson.peer,
                    "{} and its peer",
                    lesson.name
                );
                assert_ne!(
                    peer.role, lesson.role,
                    "{} and its peer",
                    lesson.name
                );
            }
        }
    }

    #[test]
    fn next_is_the_first_lesson_of_the_next_chapter() {
        assert_eq!(
            next_after("03_ctime_server").map(|l| l.name),
            Some("04_makefile_server")
        );
        assert_eq!(
            next_after("03_ctime_client").map(|l| l.name),
            Some("04_makefile_server")
        );
        assert_eq!(
            next_after("01_bind_listen_accept").map(|l| l.name),
            Some("02_talk_server")
        );
    }
}
