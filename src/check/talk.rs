//! The talk protocol of lesson 02: two people take turns over one connection. The server's
//! person speaks first; every line goes to the other side with its newline; `quit` typed on
//! either side, or a side closing, ends the conversation for both.

use super::target::accept_client;
use super::{Check, Failure, Outcome, Peer, Target};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// Lesson 02's server: the console's lines out, the client's lines shown.
pub const SERVER: &[Check] = &[
    Check {
        name: "sends the line typed at its console, newline included",
        section: "book/src/02_talk.md#take-turns",
        run: server_sends_the_typed_line,
    },
    Check {
        name: "shows the client's answer",
        section: "book/src/02_talk.md#take-turns",
        run: server_shows_the_answer,
    },
    Check {
        name: "sends quit and exits with status 0 when quit is typed",
        section: "book/src/02_talk.md#take-turns",
        run: server_ends_on_typed_quit,
    },
    Check {
        name: "exits with status 0 when the client sends quit",
        section: "book/src/02_talk.md#take-turns",
        run: server_ends_on_clients_quit,
    },
    Check {
        name: "exits with status 0 when the client closes",
        section: "book/src/02_talk.md#take-turns",
        run: server_ends_when_the_client_closes,
    },
];

/// Lesson 02's client: the server's lines shown, the typed answers sent.
pub const CLIENT: &[Check] = &[
    Check {
        name: "shows the server's line and sends the typed answer with its newline",
        section: "book/src/02_talk.md#take-turns-the-other-way-round",
        run: client_shows_and_answers,
    },
    Check {
        name: "exits with status 0 when the server sends quit",
        section: "book/src/02_talk.md#take-turns-the-other-way-round",
        run: client_ends_on_servers_quit,
    },
    Check {
        name: "sends quit and exits with status 0 when quit is typed",
        section: "book/src/02_talk.md#take-turns-the-other-way-round",
        run: client_ends_on_typed_quit,
    },
    Check {
        name: "reports a refused connection with the OS error number, and fails",
        section: "book/src/02_talk.md#connect",
        run: client_reports_a_refused_connection,
    },
];

/// Starts the server and connects to it, with `typed` typed at its console first.
fn server_said(
    target: &Target,
    typed: &str,
) -> Result<(super::Server, Peer), Failure> {
    let mut server = target.start_server()?;
    let mut client = server.connect()?;
    server.process.type_line(typed)?;
    client.expect_bytes(format!("{typed}\n").as_bytes())?;
    Ok((server, client))
}

fn server_sends_the_typed_line(target: &Target) -> Outcome {
    server_said(target, "hello from the server").map(drop)
}

fn server_shows_the_answer(target: &Target) -> Outcome {
    let (mut server, mut client) = server_said(target, "your turn")?;
    client.send(b"an answer from the client\n")?;
    server.process.expect("an answer from the client")?;
    server.process.type_line("and back to you")?;
    client.expect_bytes(b"and back to you\n")
}

fn server_ends_on_typed_quit(target: &Target) -> Outcome {
    let (mut server, mut client) = server_said(target, "quit")?;
    server.process.expect_success()?;
    client.expect_close("the connection to close after quit")
}

fn server_ends_on_clients_quit(target: &Target) -> Outcome {
    let (mut server, mut client) = server_said(target, "your turn")?;
    client.send(b"quit\n")?;
    server.process.expect_success().map(drop)
}

fn server_ends_when_the_client_closes(target: &Target) -> Outcome {
    let (mut server, client) = server_said(target, "anyone there?")?;
    drop(client);
    server.process.expect_success().map(drop)
}

/// Starts the client, accepts it, and sends it `said` as the server's first line.
fn client_heard(
    target: &Target,
    said: &str,
) -> Result<(super::Process, Peer, TcpListener), Failure> {
    let (listener, mut client) = target.start_client()?;
    let mut server = accept_client(&listener, &mut client)?;
    server.send(format!("{said}\n").as_bytes())?;
    client.expect(said)?;
    Ok((client, server, listener))
}

fn client_shows_and_answers(target: &Target) -> Outcome {
    let (mut client, mut server, _listener) =
        client_heard(target, "hello from the server")?;
    client.type_line("hello back")?;
    server.expect_bytes(b"hello back\n")?;
    server.send(b"and again\n")?;
    client.expect("and again").map(drop)
}

fn client_ends_on_servers_quit(target: &Target) -> Outcome {
    let (mut client, _server, _listener) = client_heard(target, "quit")?;
    client.expect_success().map(drop)
}

fn client_ends_on_typed_quit(target: &Target) -> Outcome {
    let (mut client, mut server, _listener) =
        client_heard(target, "your turn")?;
    client.type_line("quit")?;
    server.expect_bytes(b"quit\n")?;
    client.expect_success().map(drop)
}

fn client_reports_a_refused_connection(target: &Target) -> Outcome {
    // A port bound and never listened on: connecting is refused, and while
    // `_held` lives no other program can start listening there.
    let (_held, port, refused) = refused_port()?;
    let mut client = target.start_client_at(port)?;
    let exit = client.wait_for_exit(super::TIMEOUT)?;
    let expected = format!(
        "a non-zero exit status and the OS error number {refused} in the output"
    );
    let printed = exit
        .stdout
        .iter()
        .chain(&exit.stderr)
        .any(|line| line.contains(&refused.to_string()));
    if exit.status.success() || !printed {
        let output: Vec<&String> =
            exit.stdout.iter().chain(&exit.stderr).collect();
        return Err(Failure::new(
            expected,
            format!("{}, output {output:?}", exit.status),
        ));
    }
    Ok(())
}

/// A port where nothing listens, held by a socket that is bound but never listens (so a
/// connect to it is refused) and has no `SO_REUSEADDR` (so no other program, not even one
/// that sets it, can bind the port meanwhile); and the OS error number a connect to it gets
/// (111 on Linux, 61 on macOS, 10061 on Windows).
pub fn refused_port() -> Result<(Socket, u16, i32), Failure> {
    let what = "a port where nothing listens";
    let failed = |error: std::io::Error| Failure::new(what, error.to_string());
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
        .map_err(failed)?;
    socket.set_reuse_address(false).map_err(failed)?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    socket.bind(&address.into()).map_err(failed)?;
    let port = socket
        .local_addr()
        .ok()
        .and_then(|address| address.as_socket())
        .map(|address| address.port())
        .ok_or_else(|| Failure::new(what, "the bound socket has no port"))?;
    match std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
        Err(error) => Ok((socket, port, error.raw_os_error().unwrap_or(0))),
        Ok(_) => {
            Err(Failure::new(what, format!("something listens on {port}")))
        }
    }
}
