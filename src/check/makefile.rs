//! The makefile protocol of lesson 04: the client first sends a record of exactly 10 bytes and
//! the server answers `return your msg: ` + the record + `\n`; after that, every line the
//! client sends is answered with `return your msg: ` + the line, newline included.

use super::target::accept_client;
use super::{Check, Outcome, Progress, Target, shown};
use std::time::Duration;

/// What every answer starts with.
pub const PREFIX: &str = "return your msg: ";

/// How long a check listens for an answer that must not come yet.
const QUIET: Duration = Duration::from_millis(150);

/// Lesson 04's server: a record of 10 bytes, then lines.
pub const SERVER: &[Check] = &[
    Check {
        name: "answers the 10-byte record",
        section: "book/src/04_makefile.md#reading-a-fixed-size-record",
        run: answers_the_record,
    },
    Check {
        name: "answers every line after the record, even when all come in one write",
        section: "book/src/04_makefile.md#reading-lines",
        run: answers_every_line,
    },
    Check {
        name: "waits for all 10 bytes of a record that comes in pieces",
        section: "book/src/04_makefile.md#reading-a-fixed-size-record",
        run: waits_for_the_whole_record,
    },
    Check {
        name: "waits for the newline of a line that comes in pieces",
        section: "book/src/04_makefile.md#reading-lines",
        run: waits_for_the_whole_line,
    },
    Check {
        name: "serves the next client once the first has left",
        section: "book/src/04_makefile.md#listening-and-accepting",
        run: serves_the_next_client,
    },
];

/// Lesson 04's client: the record first, then each typed line, each answer shown.
pub const CLIENT: &[Check] = &[
    Check {
        name: "sends a 10-byte record first and shows the answer",
        section: "book/src/04_makefile.md#the-record-then-the-lines",
        run: client_sends_the_record,
    },
    Check {
        name: "sends each typed line with its newline and shows the answer",
        section: "book/src/04_makefile.md#asking-and-waiting-for-the-answer",
        run: client_sends_lines,
    },
    Check {
        name: "stops at an empty line",
        section: "book/src/04_makefile.md#the-record-then-the-lines",
        run: client_stops_at_an_empty_line,
    },
    Check {
        name: "stops when the server closes the connection",
        section: "book/src/04_makefile.md#asking-and-waiting-for-the-answer",
        run: client_stops_when_the_server_closes,
    },
];

/// The answer to a record or a line.
fn answer(bytes: &[u8]) -> Vec<u8> {
    let mut answer = PREFIX.as_bytes().to_vec();
    answer.extend_from_slice(bytes);
    if !bytes.ends_with(b"\n") {
        answer.push(b'\n');
    }
    answer
}

fn answers_the_record(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    client.send(b"0123456789")?;
    client.expect_bytes(&answer(b"0123456789"))
}

fn answers_every_line(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    client.send(b"0123456789first\nsecond\nthird\n")?;
    for sent in [&b"0123456789"[..], b"first\n", b"second\n", b"third\n"] {
        client.expect_bytes(&answer(sent))?;
    }
    Ok(())
}

fn waits_for_the_whole_record(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    for piece in [&b"0123"[..], b"456"] {
        client.send(piece)?;
        client.expect_silence(
            QUIET,
            "no answer before the 10th byte of the record",
        )?;
    }
    client.send(b"789")?;
    client.expect_bytes(&answer(b"0123456789"))
}

fn waits_for_the_whole_line(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    client.send(b"0123456789")?;
    client.expect_bytes(&answer(b"0123456789"))?;
    for piece in [&b"one "[..], b"line in "] {
        client.send(piece)?;
        client.expect_silence(QUIET, "no answer before the line's newline")?;
    }
    client.send(b"three writes\n")?;
    client.expect_bytes(&answer(b"one line in three writes\n"))
}

fn serves_the_next_client(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut first = server.connect()?;
    first.send(b"first-0010")?;
    first.expect_bytes(&answer(b"first-0010"))?;
    drop(first);
    let mut second = server.connect()?;
    second.send(b"second-010")?;
    second.expect_bytes(&answer(b"second-010"))
}

/// Starts the client, accepts it and answers its record; returns both ends.
fn client_with_record(
    target: &Target,
) -> Result<(super::Process, super::Peer), super::Failure> {
    let (listener, mut client) = target.start_client()?;
    let mut server = accept_client(&listener, &mut client)?;
    let record =
        server.read_exact(10, "a record of exactly 10 bytes, sent first")?;
    let answer = answer(&record);
    server.send(&answer)?;
    client.expect(String::from_utf8_lossy(&answer).trim_end())?;
    Ok((client, server))
}

fn client_sends_the_record(target: &Target) -> Outcome {
    client_with_record(target).map(drop)
}

fn client_sends_lines(target: &Target) -> Outcome {
    let (mut client, mut server) = client_with_record(target)?;
    for line in ["hello, server", "a second line"] {
        client.type_line(line)?;
        let sent = server
            .read_line(&format!("the typed line {:?} with a newline", line))?;
        if sent != format!("{line}\n").as_bytes() {
            return Err(super::Failure::new(
                format!("{:?}", format!("{line}\n")),
                shown(&sent),
            ));
        }
        let answer = answer(&sent);
        server.send(&answer)?;
        client.expect(String::from_utf8_lossy(&answer).trim_end())?;
    }
    Ok(())
}

fn client_stops_at_an_empty_line(target: &Target) -> Outcome {
    let (mut client, mut server) = client_with_record(target)?;
    client.type_lines(&["", "never sent"])?;
    client.expect_success()?;
    server.expect_close(
        "the client to close after the empty line, sending nothing more",
    )
}

fn client_stops_when_the_server_closes(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    client.type_line("hello")?;
    let mut server = accept_client(&listener, &mut client)?;
    server.read_until("the record", |received| {
        if received.len() >= 10 {
            Progress::Done(received.len())
        } else {
            Progress::More
        }
    })?;
    drop(server); // closed, with no answer
    client.expect_success().map(drop)
}
