//! The ctime protocol of lessons 03 (TCP) and 05 (UDP): every chunk or datagram a server
//! receives is answered with the local time as C's `ctime()` formats it, without the newline
//! C adds (24 bytes, as Python's `time.ctime()` returns it), immediately followed by the bytes
//! received.

use super::target::accept_client;
use super::{
    Check, Datagrams, Failure, Outcome, Peer, Progress, TIMEOUT, Target, shown,
};
use crate::ctime;
use std::time::Duration;

/// Lesson 03's server: an accept loop, and every chunk answered with the time and the chunk.
pub const TCP_SERVER: &[Check] = &[
    ANSWERS_A_CHUNK,
    ANSWERS_EVERY_CHUNK,
    SERVES_THE_NEXT_CLIENT,
    RETURNS_EVERY_BYTE,
];

/// Lesson 06's servers: lesson 03's promises, kept to many clients at once.
pub const THREADED_SERVER: &[Check] = &[
    ANSWERS_A_CHUNK,
    ANSWERS_EVERY_CHUNK,
    SERVES_THE_NEXT_CLIENT,
    RETURNS_EVERY_BYTE,
    Check {
        name: "serves many clients at once: twenty connected together, \
               their chunks interleaved, each answered",
        section: "book/src/06_many_clients.md#a-thread-per-client",
        run: serves_many_clients_at_once,
    },
    Check {
        name: "a client that says nothing does not hold up the others",
        section: "book/src/06_many_clients.md#a-client-that-says-nothing",
        run: a_silent_client_holds_up_no_one,
    },
];

const ANSWERS_A_CHUNK: Check = Check {
    name: "answers a chunk with the time, then the chunk",
    section: "book/src/03_ctime.md#the-conversation",
    run: answers_a_chunk,
};

const ANSWERS_EVERY_CHUNK: Check = Check {
    name: "answers every chunk on one connection, not just the first",
    section: "book/src/03_ctime.md#the-conversation",
    run: answers_every_chunk,
};

const SERVES_THE_NEXT_CLIENT: Check = Check {
    name: "serves the next client once the first has left",
    section: "book/src/03_ctime.md#the-accept-loop",
    run: serves_the_next_client,
};

const RETURNS_EVERY_BYTE: Check = Check {
    name: "sends back every byte of a 100 KiB message",
    section: "book/src/03_ctime.md#pitfalls",
    run: returns_every_byte,
};

/// Lesson 03's client: each typed line sent, each reply printed.
pub const TCP_CLIENT: &[Check] = &[
    Check {
        name: "sends each typed line and prints the reply",
        section: "book/src/03_ctime.md#the-client",
        run: client_sends_lines_and_prints_replies,
    },
    Check {
        name: "stops at an empty line",
        section: "book/src/03_ctime.md#the-client",
        run: client_stops_at_an_empty_line,
    },
    Check {
        name: "stops at the end of its input",
        section: "book/src/03_ctime.md#the-client",
        run: client_stops_at_the_end_of_input,
    },
    Check {
        name: "stops when the server closes the connection",
        section: "book/src/03_ctime.md#the-client",
        run: client_stops_when_the_server_closes,
    },
];

/// Lesson 05's server: the same answer, one datagram for each datagram.
pub const UDP_SERVER: &[Check] = &[
    Check {
        name: "answers a datagram with the time, then its bytes",
        section: "book/src/05_udp.md#answer-every-datagram-whoever-sent-it",
        run: answers_a_datagram,
    },
    Check {
        name: "answers an empty datagram with the bare time",
        section: "book/src/05_udp.md#pitfalls",
        run: answers_an_empty_datagram,
    },
    Check {
        name: "sends each reply to the address its datagram came from",
        section: "book/src/05_udp.md#answer-every-datagram-whoever-sent-it",
        run: answers_each_sender,
    },
    Check {
        name: "keeps message boundaries: three datagrams, three replies",
        section: "book/src/05_udp.md#answer-every-datagram-whoever-sent-it",
        run: keeps_boundaries,
    },
];

/// Lesson 05's client: one datagram per line, and a timeout for the reply that never comes.
pub const UDP_CLIENT: &[Check] = &[
    Check {
        name: "sends each typed line as one datagram and prints the reply",
        section: "book/src/05_udp.md#one-line-one-datagram",
        run: udp_client_sends_lines,
    },
    Check {
        name: "gives up on a lost reply and goes on with the next line",
        section: "book/src/05_udp.md#wait-but-not-forever",
        run: udp_client_survives_a_lost_reply,
    },
    Check {
        name: "stops at an empty line",
        section: "book/src/05_udp.md#one-line-one-datagram",
        run: udp_client_stops_at_an_empty_line,
    },
];

/// What a reply to `data` must be, in words.
fn expected_reply(data: &[u8]) -> String {
    format!(
        "a 24-byte ctime() stamp such as \"Tue Sep  3 19:11:20 2016\", then {}",
        shown(data)
    )
}

/// Reads the reply to `data` from `peer`: a stamp of the time now, then `data`. Fails at the
/// first byte that cannot belong to a stamp, so a wrong server is caught without waiting.
pub fn expect_stamped(peer: &mut Peer, data: &[u8]) -> Outcome {
    let reply = peer.read_until(&expected_reply(data), |received| {
        let stamp = &received[..received.len().min(ctime::LEN)];
        if !ctime::could_start_a_stamp(stamp) {
            return Progress::Wrong(
                "it does not start with a ctime() stamp".into(),
            );
        }
        let echo = &received[stamp.len()..];
        let common = echo.len().min(data.len());
        if echo[..common] != data[..common] {
            return Progress::Wrong(format!(
                "after the stamp, {} is not what was sent",
                shown(echo)
            ));
        }
        if received.len() >= ctime::LEN + data.len() {
            Progress::Done(ctime::LEN + data.len())
        } else {
            Progress::More
        }
    })?;
    stamp_is_now(&reply)
}

/// Checks that a reply's first 24 bytes are a stamp of the local time now.
fn stamp_is_now(reply: &[u8]) -> Outcome {
    let stamp = String::from_utf8_lossy(&reply[..ctime::LEN.min(reply.len())]);
    if ctime::is_now(&stamp) {
        Ok(())
    } else {
        Err(Failure::new(
            "the stamp to be the local time now, as ctime() prints it",
            format!("{stamp:?}"),
        ))
    }
}

fn answers_a_chunk(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    client.send(b"hello")?;
    expect_stamped(&mut client, b"hello")
}

fn answers_every_chunk(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    for chunk in [&b"first"[..], b"second", b"third"] {
        client.send(chunk)?;
        expect_stamped(&mut client, chunk)?;
    }
    Ok(())
}

fn serves_the_next_client(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let mut first = server.connect()?;
    first.send(b"client one")?;
    expect_stamped(&mut first, b"client one")?;
    drop(first);
    let mut second = server.connect()?;
    second.send(b"client two")?;
    expect_stamped(&mut second, b"client two")
}

fn returns_every_byte(target: &Target) -> Outcome {
    const SIZE: usize = 100 * 1024;
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    // 'x' never occurs in a stamp, so the stamps can be told from the data.
    client.send(&[b'x'; SIZE])?;
    let count_x =
        |bytes: &[u8]| bytes.iter().filter(|&&byte| byte == b'x').count();
    let reply = client.read_until(
        &format!("all {SIZE} bytes back, each chunk behind a stamp"),
        |received| {
            if count_x(received) >= SIZE {
                Progress::Done(received.len())
            } else {
                Progress::More
            }
        },
    )?;
    let text = String::from_utf8_lossy(&reply);
    // The reply starts with a stamp, and whatever stands between runs of x is a stamp too.
    let pieces: Vec<&str> =
        text.split('x').filter(|piece| !piece.is_empty()).collect();
    let wrong = if text.starts_with('x') {
        Some("x at the very start, with no stamp before it".to_string())
    } else {
        pieces
            .into_iter()
            .find(|piece| !ctime::is_stamp(piece))
            .map(|piece| format!("{piece:?} where a stamp should be"))
    };
    match wrong {
        None => Ok(()),
        Some(got) => Err(Failure::new(
            "the reply to start with a ctime() stamp, and a stamp before \
             every later chunk",
            got,
        )),
    }
}

/// How many clients the check of many clients at once keeps connected together.
pub const MANY_CLIENTS: usize = 20;

fn serves_many_clients_at_once(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    let chunk = |round: usize, client: usize| {
        format!("round {round} from client {}", client + 1)
    };
    let mut clients: Vec<Peer> = Vec::with_capacity(MANY_CLIENTS);
    // Round 1: each client connects and is answered while every one before it stays
    // connected. Connecting them one by one, not in a burst, keeps this a check of threads
    // and not of the listen() backlog: a burst of twenty connects overflows the tutorial's
    // listen(5), and the OS drops the SYNs that do not fit, to be sent again a second later.
    for client in 0..MANY_CLIENTS {
        let mut peer = server.connect()?;
        let sent = chunk(1, client);
        peer.send(sent.as_bytes())?;
        expect_stamped(&mut peer, sent.as_bytes())
            .map_err(|failure| unanswered(failure, client, client))?;
        clients.push(peer);
    }
    // Rounds 2 and 3 (3 in reverse order): every client sends, then every reply is read, so
    // twenty conversations are in the middle of an exchange at once.
    for (round, reversed) in [(2, false), (3, true)] {
        let mut order: Vec<usize> = (0..MANY_CLIENTS).collect();
        if reversed {
            order.reverse();
        }
        for &client in &order {
            clients[client].send(chunk(round, client).as_bytes())?;
        }
        for &client in &order {
            let sent = chunk(round, client);
            expect_stamped(&mut clients[client], sent.as_bytes()).map_err(
                |failure| unanswered(failure, client, MANY_CLIENTS - 1),
            )?;
        }
    }
    Ok(())
}

/// The failure of [`serves_many_clients_at_once`] when `client` (counted from 0) got no
/// right reply while `others` were connected.
fn unanswered(failure: Failure, client: usize, others: usize) -> Failure {
    let others = match others {
        1 => "one other client is".to_string(),
        _ => format!("{others} other clients are"),
    };
    Failure::new(
        format!(
            "a reply to client {} of {MANY_CLIENTS}, while {others} \
             connected: {}",
            client + 1,
            failure.expected
        ),
        format!(
            "{} (a server that serves one client at a time does not read \
             from the next until the first leaves)",
            failure.got
        ),
    )
}

fn a_silent_client_holds_up_no_one(target: &Target) -> Outcome {
    let mut server = target.start_server()?;
    // Connected first and never a byte: a server that reads from this client before it
    // accepts the next waits for ever.
    let _silent = server.connect()?;
    for name in ["first", "second"] {
        let mut client = server.connect()?;
        let chunk = format!("{name} client after the silent one");
        client.send(chunk.as_bytes())?;
        expect_stamped(&mut client, chunk.as_bytes()).map_err(|failure| {
            Failure::new(
                format!(
                    "while a client that sends nothing is connected, a reply to \
                     another: {}",
                    failure.expected
                ),
                format!(
                    "{} (a server that reads from the silent client before it \
                     accepts the next waits as long as that client says nothing)",
                    failure.got
                ),
            )
        })?;
    }
    Ok(())
}

/// Reads one line the client sent: its text, with a newline after it or not (the tutorial's
/// client sends none), and with any newline left over from the line before skipped.
pub fn expect_typed_line(peer: &mut Peer, line: &str) -> Outcome {
    let line = line.as_bytes();
    peer.read_until(
        &format!("{} (a newline after it is fine)", shown(line)),
        |received| {
            let skipped =
                received.iter().take_while(|&&byte| byte == b'\n').count();
            let text = &received[skipped..];
            let common = text.len().min(line.len());
            if text[..common] != line[..common] {
                return Progress::Wrong("that is not the typed line".into());
            }
            if text.len() < line.len() {
                return Progress::More;
            }
            let newline = usize::from(text.get(line.len()) == Some(&b'\n'));
            Progress::Done(skipped + line.len() + newline)
        },
    )
    .map(drop)
}

fn client_sends_lines_and_prints_replies(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    client.type_line("first")?;
    client.type_line("second")?;
    let mut server = accept_client(&listener, &mut client)?;
    for line in ["first", "second"] {
        expect_typed_line(&mut server, line)?;
        let reply = format!("{}{line}", ctime::now());
        server.send(reply.as_bytes())?;
        client.expect(&reply)?;
    }
    Ok(())
}

fn client_stops_at_an_empty_line(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    client.type_line("only line")?;
    client.type_lines(&["", "never sent"])?;
    let mut server = accept_client(&listener, &mut client)?;
    expect_typed_line(&mut server, "only line")?;
    server.send(format!("{}only line", ctime::now()).as_bytes())?;
    client.expect_success()?;
    server.expect_close(
        "the client to close after the empty line, sending nothing more",
    )
}

fn client_stops_at_the_end_of_input(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    client.type_line("only line")?;
    client.close_stdin();
    let mut server = accept_client(&listener, &mut client)?;
    expect_typed_line(&mut server, "only line")?;
    server.send(format!("{}only line", ctime::now()).as_bytes())?;
    client.expect_success().map(drop)
}

fn client_stops_when_the_server_closes(target: &Target) -> Outcome {
    let (listener, mut client) = target.start_client()?;
    client.type_line("hello")?;
    client.type_line("anyone there?")?;
    let mut server = accept_client(&listener, &mut client)?;
    expect_typed_line(&mut server, "hello")?;
    drop(server); // closed, with no answer
    client.expect_success().map(drop)
}

fn answers_a_datagram(target: &Target) -> Outcome {
    let server = target.start_udp_server()?;
    let client = udp_socket()?;
    client.send_to(b"hello", server.address)?;
    expect_datagram_reply(&client, server.address, b"hello")
}

fn answers_an_empty_datagram(target: &Target) -> Outcome {
    let server = target.start_udp_server()?;
    let client = udp_socket()?;
    client.send_to(b"", server.address)?;
    expect_datagram_reply(&client, server.address, b"")
}

fn answers_each_sender(target: &Target) -> Outcome {
    let server = target.start_udp_server()?;
    let (alice, bob) = (udp_socket()?, udp_socket()?);
    alice.send_to(b"from alice", server.address)?;
    bob.send_to(b"from bob", server.address)?;
    expect_datagram_reply(&bob, server.address, b"from bob")?;
    expect_datagram_reply(&alice, server.address, b"from alice")
}

fn keeps_boundaries(target: &Target) -> Outcome {
    let server = target.start_udp_server()?;
    let client = udp_socket()?;
    let messages: [&[u8]; 3] = [b"one", b"two two", b"three three three"];
    for message in messages {
        client.send_to(message, server.address)?;
    }
    let mut replies = Vec::new();
    for _ in messages {
        let (reply, _) =
            client.receive("one reply for each of three datagrams")?;
        replies.push(reply);
    }
    // Loopback keeps the order, a network may not: compare as sets.
    let mut echoes: Vec<&[u8]> = replies
        .iter()
        .map(|reply| reply.get(ctime::LEN..).unwrap_or_default())
        .collect();
    echoes.sort();
    let mut sent = messages.to_vec();
    sent.sort();
    if echoes == sent {
        Ok(())
    } else {
        let shown_replies: Vec<String> =
            replies.iter().map(|reply| shown(reply)).collect();
        Err(Failure::new(
            "three replies, each a stamp and one whole datagram",
            shown_replies.join(", "),
        ))
    }
}

/// Waits for the reply to `data`: one datagram from the server's address, a stamp, `data`.
fn expect_datagram_reply(
    client: &Datagrams,
    server: std::net::SocketAddr,
    data: &[u8],
) -> Outcome {
    let (reply, sender) =
        client.receive(&format!("a datagram: {}", expected_reply(data)))?;
    if sender != server {
        return Err(Failure::new(
            format!("the reply to come from the server's address {server}"),
            format!("it came from {sender}"),
        ));
    }
    let stamp_ok = reply.len() >= ctime::LEN
        && ctime::could_start_a_stamp(&reply[..ctime::LEN]);
    if !stamp_ok || reply[ctime::LEN..] != *data {
        return Err(Failure::new(
            format!("a datagram: {}", expected_reply(data)),
            shown(&reply),
        ));
    }
    stamp_is_now(&reply)
}

fn udp_client_sends_lines(target: &Target) -> Outcome {
    let (server, mut client) = target.start_udp_client()?;
    for line in ["first", "second"] {
        client.type_line(line)?;
        let (datagram, sender) = server
            .receive(&format!("a datagram {}", shown(line.as_bytes())))?;
        if datagram.strip_suffix(b"\n").unwrap_or(&datagram) != line.as_bytes()
        {
            return Err(Failure::new(
                format!(
                    "one datagram holding the line {line:?} (a newline after it is fine)"
                ),
                shown(&datagram),
            ));
        }
        let reply = format!("{}{line}", ctime::now());
        server.send_to(reply.as_bytes(), sender)?;
        client.expect(&reply)?;
    }
    Ok(())
}

fn udp_client_survives_a_lost_reply(target: &Target) -> Outcome {
    let (server, mut client) = target.start_udp_client()?;
    client.type_line("lost")?;
    client.type_line("found")?;
    server.receive("the first line's datagram")?;
    // No reply to the first: the client must time out by itself and send the next line. The
    // lesson's client waits 2 seconds by default, so give it more than that.
    let patience = TIMEOUT + Duration::from_secs(3);
    let (datagram, sender) = server.receive_within(
        patience,
        "the second line's datagram, after the client gave up on the first",
    )?;
    if !datagram.starts_with(b"found") {
        return Err(Failure::new(
            "a datagram holding \"found\"",
            shown(&datagram),
        ));
    }
    let reply = format!("{}found", ctime::now());
    server.send_to(reply.as_bytes(), sender)?;
    client.expect(&reply).map(drop)
}

fn udp_client_stops_at_an_empty_line(target: &Target) -> Outcome {
    let (server, mut client) = target.start_udp_client()?;
    client.type_lines(&["", "never sent"])?;
    client.expect_success()?;
    match server.receive_within(Duration::from_millis(100), "") {
        Err(_) => Ok(()),
        Ok((datagram, _)) => Err(Failure::new(
            "no datagram after the empty line",
            shown(&datagram),
        )),
    }
}

/// A UDP socket of the check's own, on a free port.
fn udp_socket() -> Result<Datagrams, Failure> {
    Datagrams::bind(0).map_err(|error| {
        Failure::new("a UDP socket on 127.0.0.1", error.to_string())
    })
}
