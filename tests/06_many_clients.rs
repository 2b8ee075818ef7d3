//! Lesson 06: the threaded ctime server and the socketserver version keep the ctime protocol
//! with many clients at once (`socket_lessons::check::ctime::THREADED_SERVER`); lesson 03 beside
//! them, still serving one client at a time; the log of interleaved clients; the framework's
//! shutdown from another thread; the threads, named after their clients, as the OS lists them.

mod common;

use common::{
    TIMEOUT, assert_keeps_its_protocol, connect, expect_silence, read_exactly,
};
use socket_lessons::check::Process;
use socket_lessons::check::target::Transport;
use socket_lessons::ctime;
use socket_lessons::socketserver::{
    Options, Request, RequestHandler, ThreadingTcpServer,
};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const SERVERS: [&str; 2] = ["06_threaded_server", "06_socketserver"];

#[test]
fn the_threaded_server_keeps_the_ctime_protocol_with_many_clients() {
    assert_keeps_its_protocol("06_threaded_server", &[]);
}

#[test]
fn the_socketserver_version_keeps_the_ctime_protocol_with_many_clients() {
    assert_keeps_its_protocol("06_socketserver", &[]);
}

/// Starts `name` on `--port 0`, waits for its ready line, and returns it with its address.
fn start(name: &str) -> (Process, SocketAddr) {
    let server = common::target(name, &[])
        .start(Transport::Tcp, &[])
        .unwrap_or_else(|failure| panic!("{name} does not start: {failure}"));
    (server.process, server.address)
}

/// Sends `chunk` and asserts that the reply is a stamp of the time now, then `chunk`.
fn assert_answered(client: &mut TcpStream, chunk: &[u8]) {
    client.write_all(chunk).expect("send");
    let reply = read_exactly(client, ctime::LEN + chunk.len());
    let stamp = String::from_utf8_lossy(&reply[..ctime::LEN]);
    assert!(ctime::is_now(&stamp), "not a stamp of now: {stamp:?}");
    assert_eq!(
        &reply[ctime::LEN..],
        chunk,
        "the reply to {:?}",
        String::from_utf8_lossy(chunk)
    );
}

/// An idle client connected first, then ten that each send while all are connected.
fn ten_clients_beside_an_idle_one_are_answered(name: &str) {
    let (_server, address) = start(name);
    let _idle = connect(address);
    let mut clients: Vec<TcpStream> =
        (0..10).map(|_| connect(address)).collect();
    for (number, client) in clients.iter_mut().enumerate() {
        client
            .write_all(format!("client {number}").as_bytes())
            .expect("send");
    }
    // Every client has sent before any reply is read: ten conversations at once.
    for (number, client) in clients.iter_mut().enumerate() {
        let chunk = format!("client {number}");
        let reply = read_exactly(client, ctime::LEN + chunk.len());
        let stamp = String::from_utf8_lossy(&reply[..ctime::LEN]);
        assert!(ctime::is_now(&stamp), "{name}: not a stamp: {stamp:?}");
        assert_eq!(&reply[ctime::LEN..], chunk.as_bytes(), "{name}");
    }
}

#[test]
fn the_threaded_server_answers_ten_clients_beside_an_idle_one() {
    ten_clients_beside_an_idle_one_are_answered("06_threaded_server");
}

#[test]
fn the_socketserver_version_answers_ten_clients_beside_an_idle_one() {
    ten_clients_beside_an_idle_one_are_answered("06_socketserver");
}

#[test]
fn lesson_03_serves_a_second_client_only_after_the_first_leaves() {
    let (_server, address) = start("03_ctime_server");
    // The first client is accepted and says nothing: lesson 03 waits in its
    // read() and accepts no one else.
    let idle = connect(address);
    let mut second = connect(address);
    second.write_all(b"anyone?").expect("send");
    expect_silence(&mut second, Duration::from_millis(300));
    // Once the first leaves, the second, queued by the OS all along, is
    // accepted and answered.
    drop(idle);
    let reply = read_exactly(&mut second, ctime::LEN + 7);
    assert!(reply.ends_with(b"anyone?"));
}

#[test]
fn the_log_names_each_peer_of_interleaved_clients() {
    for name in SERVERS {
        let (mut server, address) = start(name);
        let mut alice = connect(address);
        let mut bob = connect(address);
        let (a, b) = (
            alice.local_addr().expect("address"),
            bob.local_addr().expect("address"),
        );
        assert_answered(&mut alice, b"from alice");
        assert_answered(&mut bob, b"from bob");
        assert_answered(&mut alice, b"alice again");
        drop(alice);
        drop(bob);
        // The threads log as they run, so the lines of the two clients come
        // in any order.
        let lines = [
            format!("connected: {a}"),
            format!("connected: {b}"),
            format!("received 10 bytes from {a}: \"from alice\""),
            format!("sent {} bytes to {a}", ctime::LEN + 10),
            format!("received 8 bytes from {b}: \"from bob\""),
            format!("sent {} bytes to {b}", ctime::LEN + 8),
            format!("received 11 bytes from {a}: \"alice again\""),
            format!("closed: {a}"),
            format!("closed: {b}"),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        server
            .expect_all(&lines)
            .unwrap_or_else(|failure| panic!("{name}: {failure}"));
    }
}

/// A handler that reports when its conversation starts and when its client
/// has closed.
struct UntilClosed(mpsc::Sender<(&'static str, SocketAddr)>);

impl RequestHandler for UntilClosed {
    fn handle(&mut self, request: &mut Request) -> io::Result<()> {
        let _ = self.0.send(("started", request.client_address));
        let mut buffer = [0u8; 64];
        while request.stream.read(&mut buffer)? > 0 {}
        let _ = self.0.send(("closed", request.client_address));
        Ok(())
    }
}

#[test]
fn the_framework_stops_from_another_thread_and_serve_forever_returns() {
    let (report, reports) = mpsc::channel();
    let server = ThreadingTcpServer::bind(
        "127.0.0.1:0".parse().expect("an address"),
        Options::default(),
        move || UntilClosed(report.clone()),
    )
    .expect("bind");
    let address = server.server_address();
    let stop = server.shutdown_handle();
    let (returned, returns) = mpsc::channel();
    thread::spawn(move || {
        let result = server.serve_forever().map_err(|error| error.kind());
        drop(server); // and its listener, before we say it has returned
        let _ = returned.send(result);
    });

    // A client in the middle of its conversation when the server stops.
    let client = connect(address);
    let me = client.local_addr().expect("address");
    assert_eq!(reports.recv_timeout(TIMEOUT), Ok(("started", me)));
    stop.shutdown().expect("shutdown, from this thread");
    let result = returns
        .recv_timeout(TIMEOUT)
        .expect("serve_forever returns after shutdown");
    assert_eq!(result, Ok(()));
    // The listener went with the server: no new client is taken.
    let refused = TcpStream::connect_timeout(&address, TIMEOUT)
        .expect_err("nobody listens after serve_forever returned");
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    // The conversation's thread was neither waited for nor cut off: it goes
    // on until its client leaves.
    drop(client);
    assert_eq!(reports.recv_timeout(TIMEOUT), Ok(("closed", me)));
}

#[test]
fn the_socketserver_version_stops_at_quit_with_a_client_still_connected() {
    let (mut server, address) = start("06_socketserver");
    let mut client = connect(address);
    assert_answered(&mut client, b"still here");
    server.type_line("quit").expect("type quit");
    let exit = server.wait_for_exit(TIMEOUT).expect("it exits");
    assert!(exit.status.success(), "{:?}", exit.stderr);
    assert!(exit.stdout.iter().any(|line| line.contains("stopping")));
    // The process is gone, and the client's connection with it.
    let mut buffer = [0u8; 16];
    match client.read(&mut buffer) {
        Ok(0) => {}
        Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection closed, got {other:?}"),
    }
}

#[test]
fn the_socketserver_version_answers_anything_else_on_its_console_with_a_hint() {
    let (mut server, _address) = start("06_socketserver");
    server.type_line("stop").expect("type a line");
    let hint = server
        .expect_line("a hint on stderr or stdout", |line| {
            line.contains("type quit to stop the server")
        })
        .expect("a hint");
    assert!(hint.contains("quit"));
}

#[cfg(target_os = "linux")]
#[test]
fn each_client_has_a_thread_named_after_it() {
    let (server, address) = start("06_threaded_server");
    let mut clients: Vec<TcpStream> =
        (0..3).map(|_| connect(address)).collect();
    // Answered, so each client's thread is running.
    for client in &mut clients {
        assert_answered(client, b"hi");
    }
    let tasks = format!("/proc/{}/task", server.id());
    let names: Vec<String> = std::fs::read_dir(&tasks)
        .expect("the task directory")
        .filter_map(|task| {
            let path = task.ok()?.path().join("comm");
            Some(std::fs::read_to_string(path).ok()?.trim_end().to_string())
        })
        .collect();
    // The main thread, and one thread per client, named after its address
    // ("127.0.0.1:PORT" fits the 15 bytes Linux keeps).
    assert_eq!(names.len(), 1 + clients.len(), "{names:?}");
    for client in &clients {
        let me = client.local_addr().expect("address").to_string();
        assert!(names.contains(&me), "no thread named {me} in {names:?}");
    }
}
