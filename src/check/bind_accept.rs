//! Lesson 01's promise: a server that accepts two clients, one after the other, answers what
//! each sends with an acknowledgement containing `ack`, closes each connection, and then exits
//! with status 0.

use super::{Check, Failure, Outcome, Peer, Server, Target, shown};

/// Lesson 01's server.
pub const SERVER: &[Check] = &[
    Check {
        name: "answers a client's bytes with an acknowledgement containing \"ack\", then closes",
        section: "book/src/01_bind_listen_accept.md#talk-then-close",
        run: acknowledges_then_closes,
    },
    Check {
        name: "serves a second client after the first, then exits with status 0",
        section: "book/src/01_bind_listen_accept.md#accept-twice",
        run: serves_two_then_exits,
    },
    Check {
        name: "counts a client that sends nothing as one of the two",
        section: "book/src/01_bind_listen_accept.md#talk-then-close",
        run: counts_a_silent_client,
    },
];

/// Sends `message` from a new connection and reads the answer up to the server's close.
fn acknowledged(server: &mut Server, message: &[u8]) -> Outcome {
    let mut client: Peer = server.connect()?;
    client.send(message)?;
    let what = format!(
        "an answer containing \"ack\" to {}, then a close",
        shown(message)
    );
    let answer = client.read_until(&what, |received| {
        if received.windows(3).any(|window| window == b"ack") {
            super::Progress::Done(received.len())
        } else {
            super::Progress::More
        }
    })?;
    client.expect_close(&format!(
        "the connection to close after the answer {}",
        shown(&answer)
    ))
}

fn acknowledges_then_closes(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    acknowledged(&mut server, b"test.com")
}

fn serves_two_then_exits(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    acknowledged(&mut server, b"test.com")?;
    acknowledged(&mut server, b"hello python")?;
    server.process.expect_success().map(drop)
}

fn counts_a_silent_client(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let silent = server.connect()?;
    drop(silent);
    acknowledged(&mut server, b"second")?;
    server.process.expect_success().map_err(|failure| Failure {
        expected: format!(
            "{} after two clients, the first silent",
            failure.expected
        ),
        ..failure
    })?;
    Ok(())
}
