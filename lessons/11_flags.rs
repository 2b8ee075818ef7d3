//! Lesson 11 — the flags of recv and send.
//!
//! Python's `recv(bufsize, flags)` and `send(data, flags)` take flags that
//! change what one call does: `MSG_PEEK` looks without taking, `MSG_WAITALL`
//! waits until the buffer is full, `MSG_OOB` sends and reads TCP's one
//! "urgent" byte, `MSG_TRUNC` tells a datagram's real length, and
//! `MSG_DONTROUTE` skips the routing table. `recv_into` and `recvfrom_into`
//! read into a buffer you own, which is what every Rust read does. Run it
//! with no arguments: `cargo run --bin 11_flags`. Both ends of every
//! connection live in this one process, on loopback, and each step prints
//! what the OS answered.

use socket_lessons::experiment::{answer, error, part, step, value};
use socket_lessons::style::shown;
use socket2::{MaybeUninitSlice, SockRef};
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

/// How long any read of the experiment may wait before it gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the sender pauses between the two pieces of a message.
const PAUSE: Duration = Duration::from_millis(50);

fn main() -> ExitCode {
    socket_lessons::cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(_: Experiment) -> io::Result<()> {
    peek()?;
    wait_all()?;
    out_of_band()?;
    truncated_datagram()?;
    read_into_the_middle()?;
    dont_route()?;
    Ok(())
}

/// A connected TCP pair over loopback, (the client's end, the server's end),
/// each with a read timeout, so that no step of the experiment can hang.
fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    client.set_read_timeout(Some(READ_TIMEOUT))?;
    server.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok((client, server))
}

/// `count` bytes, and what they were, as the answers show them.
fn bytes(data: &[u8]) -> String {
    let unit = if data.len() == 1 { "byte" } else { "bytes" };
    format!("{} {unit}: {}", data.len(), shown(data))
}

/// What a call that reads answered: the bytes, or the error.
fn outcome(result: io::Result<String>) -> String {
    result.unwrap_or_else(|failure| error(&failure))
}

/// The first `count` bytes of a buffer that socket2 has written into.
fn received(buffer: &[MaybeUninit<u8>], count: usize) -> &[u8] {
    // SAFETY: the OS wrote the first `count` bytes of the buffer (the slice
    // is bounds-checked first), so they hold plain bytes now.
    unsafe { &*(&buffer[..count] as *const _ as *const [u8]) }
}

// ANCHOR: peek
/// MSG_PEEK: the bytes are copied out, and left in the socket.
fn peek() -> io::Result<()> {
    part("MSG_PEEK: look at the bytes, and leave them there");
    let (mut client, mut server) = pair()?;
    step("the client sends \"hello\"");
    client.write_all(b"hello")?;

    // std's peek() is Python's recv(5, MSG_PEEK): it waits for bytes like a
    // read, copies them, and does not take them off the queue.
    let mut look = [0; 5];
    let count = server.peek(&mut look)?;
    answer("TcpStream::peek", bytes(&look[..count]));
    // socket2's peek() is the same call, for any socket; asked again, it
    // shows the same bytes again.
    let mut again = [MaybeUninit::<u8>::uninit(); 5];
    let count = SockRef::from(&server).peek(&mut again)?;
    answer("socket2 peek, once more", bytes(received(&again, count)));

    // A read takes what the peeks left there: the same bytes.
    let mut buffer = [0; 5];
    let count = server.read(&mut buffer)?;
    answer("read after the peeks", bytes(&buffer[..count]));
    // Now the queue is empty: a read that may not wait says so at once.
    server.set_nonblocking(true)?;
    answer(
        "a non-blocking read after that",
        value(&server.read(&mut buffer)),
    );
    Ok(())
}
// ANCHOR_END: peek

// ANCHOR: waitall
/// MSG_WAITALL: one call that waits until the whole buffer is filled.
fn wait_all() -> io::Result<()> {
    part("MSG_WAITALL: wait until the buffer is full");

    step("the client sends \"hello\", and \"world\" once the read returned");
    let (mut client, mut server) = pair()?;
    let (read_done, wait_for_read) = mpsc::channel();
    let sender = thread::spawn(move || -> io::Result<()> {
        client.write_all(b"hello")?;
        // The rest goes only after the read below has returned, so the read
        // surely finds 5 bytes of the 10 it asks for.
        let _ = wait_for_read.recv_timeout(READ_TIMEOUT);
        client.write_all(b"world")
    });
    // A plain read (Python's recv(10)) returns as soon as any bytes are
    // there, however many it asked for.
    let mut buffer = [0; 10];
    let count = server.read(&mut buffer)?;
    answer("read(10 bytes)", bytes(&buffer[..count]));
    let _ = read_done.send(());
    server.read_exact(&mut buffer[count..])?;
    join(sender)?;

    step(format!(
        "the client sends \"hello\", waits {} ms, sends \"world\"",
        PAUSE.as_millis()
    ));
    let (client, server) = pair()?;
    let sender = thread::spawn(move || in_two_pieces(client));
    recv_wait_all(&server)?;
    join(sender)?;

    // read_exact is the portable way: it loops over plain reads until the
    // buffer is full, and fails with UnexpectedEof if the stream ends first.
    let (client, mut server) = pair()?;
    let sender = thread::spawn(move || in_two_pieces(client));
    let mut buffer = [0; 10];
    let result = server.read_exact(&mut buffer);
    answer(
        "read_exact(10 bytes)",
        outcome(result.map(|()| bytes(&buffer))),
    );
    join(sender)
}

#[cfg(unix)]
fn recv_wait_all(server: &TcpStream) -> io::Result<()> {
    // Python's recv(10, MSG_WAITALL). The flag comes from libc, because
    // neither std nor socket2 names it. The OS returns less only if the
    // stream ends, a signal comes, or the read timeout runs out.
    let mut buffer = [MaybeUninit::<u8>::uninit(); 10];
    let count = SockRef::from(server)
        .recv_with_flags(&mut buffer, libc::MSG_WAITALL)?;
    answer(
        "recv(10 bytes, MSG_WAITALL)",
        bytes(received(&buffer, count)),
    );
    Ok(())
}
// ANCHOR_END: waitall

#[cfg(not(unix))]
fn recv_wait_all(_: &TcpStream) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "MSG_WAITALL: this lesson takes the flag from libc, which is for \
         Unix only; on this system, read_exact does what the flag does",
    ))
}

/// "hello", a pause, "world": one message of 10 bytes, in two pieces.
fn in_two_pieces(mut client: TcpStream) -> io::Result<()> {
    client.write_all(b"hello")?;
    thread::sleep(PAUSE);
    client.write_all(b"world")
}

/// Waits for a thread of the experiment, and hands on its error.
fn join(thread: thread::JoinHandle<io::Result<()>>) -> io::Result<()> {
    thread
        .join()
        .map_err(|_| io::Error::other("a thread of the experiment panicked"))?
}

// ANCHOR: oob
/// MSG_OOB: TCP's one urgent byte, read apart from the stream.
fn out_of_band() -> io::Result<()> {
    part("MSG_OOB: an urgent byte, outside the stream");
    step("the client sends \"abc\", then \"!\" with MSG_OOB, then \"def\"");
    let (client, mut server) = pair()?;
    urgent_between(&client, b"!")?;
    // Python's recv(1, MSG_OOB): the urgent byte, apart from the stream.
    answer("recv_out_of_band", outcome(wait_for_urgent_byte(&server)));
    // The stream, read to its end, does not hold it.
    let mut stream = Vec::new();
    server.read_to_end(&mut stream)?;
    answer("the stream, read to its end", bytes(&stream));
    // There is one urgent byte at a time, and it was read.
    answer("recv_out_of_band again", outcome(recv_out_of_band(&server)));

    step("the client sends \"xy\" with MSG_OOB");
    let (client, mut server) = pair()?;
    // TCP marks one byte as urgent: the last one of the send.
    SockRef::from(&client).send_out_of_band(b"xy")?;
    client.shutdown(Shutdown::Write)?;
    answer(
        "recv_out_of_band, after \"xy\"",
        outcome(wait_for_urgent_byte(&server)),
    );
    let mut stream = Vec::new();
    server.read_to_end(&mut stream)?;
    answer("the stream, after \"xy\"", bytes(&stream));

    step("as the first time, to a server that set SO_OOBINLINE");
    let (client, mut server) = pair()?;
    // With SO_OOBINLINE, the urgent byte stays in the stream, in its place.
    SockRef::from(&server).set_out_of_band_inline(true)?;
    urgent_between(&client, b"!")?;
    let mut stream = Vec::new();
    server.read_to_end(&mut stream)?;
    answer("the stream, with SO_OOBINLINE", bytes(&stream));
    answer(
        "recv_out_of_band, with SO_OOBINLINE",
        outcome(recv_out_of_band(&server)),
    );
    Ok(())
}

/// "abc", the urgent bytes, "def", and the end of the client's stream.
fn urgent_between(client: &TcpStream, urgent: &[u8]) -> io::Result<()> {
    let mut writer = client;
    writer.write_all(b"abc")?;
    // Python's send(b"!", MSG_OOB).
    SockRef::from(client).send_out_of_band(urgent)?;
    writer.write_all(b"def")?;
    client.shutdown(Shutdown::Write)
}

/// Python's recv(8, MSG_OOB): the urgent byte, if there is one.
fn recv_out_of_band(server: &TcpStream) -> io::Result<String> {
    let mut urgent = [MaybeUninit::<u8>::uninit(); 8];
    let count = SockRef::from(server).recv_out_of_band(&mut urgent)?;
    Ok(bytes(received(&urgent, count)))
}

/// MSG_OOB never waits: until the urgent byte has come, the call fails at
/// once. So the first read of it is tried again, until the read timeout.
fn wait_for_urgent_byte(server: &TcpStream) -> io::Result<String> {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        match recv_out_of_band(server) {
            Err(_) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            result => return result,
        }
    }
}
// ANCHOR_END: oob

// ANCHOR: trunc
/// MSG_TRUNC: a datagram longer than the buffer, and how long it was.
fn truncated_datagram() -> io::Result<()> {
    part("MSG_TRUNC: a 100-byte datagram, a 10-byte buffer");
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(READ_TIMEOUT))?;
    step("the sender sends three datagrams of 100 bytes each");
    for _ in 0..3 {
        sender.send_to(&[b'x'; 100], receiver.local_addr()?)?;
    }

    // std's recv_from says how many bytes it kept, and nothing more.
    let mut buffer = [0; 10];
    let (count, _) = receiver.recv_from(&mut buffer)?;
    answer("std recv_from", format!("{count} bytes"));

    // recvmsg() returns flags, and MSG_TRUNC among them says it was cut.
    let mut buffer = [MaybeUninit::<u8>::uninit(); 10];
    let (count, flags, _) = SockRef::from(&receiver)
        .recv_from_vectored(&mut [MaybeUninitSlice::new(&mut buffer)])?;
    answer(
        "socket2 recv_from_vectored",
        format!("{count} bytes, truncated: {}", flags.is_truncated()),
    );

    real_length(&receiver)
}

#[cfg(target_os = "linux")]
fn real_length(receiver: &UdpSocket) -> io::Result<()> {
    // Linux's own: MSG_TRUNC passed *in* makes recv return the length the
    // datagram had, though it still copies only what fits.
    let mut buffer = [MaybeUninit::<u8>::uninit(); 10];
    let (count, _) = SockRef::from(receiver)
        .recv_from_with_flags(&mut buffer, libc::MSG_TRUNC)?;
    answer("recvfrom(10 bytes, MSG_TRUNC)", format!("{count} bytes"));
    Ok(())
}
// ANCHOR_END: trunc

#[cfg(not(target_os = "linux"))]
fn real_length(_: &UdpSocket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "MSG_TRUNC passed to recv returns a datagram's real length on Linux \
         only; this system only sets it on the way out, as shown above",
    ))
}

// ANCHOR: into
/// recv_into and recvfrom_into: a read into a part of a buffer you own.
fn read_into_the_middle() -> io::Result<()> {
    part("recv_into and recvfrom_into: read into a buffer you own");
    let (mut client, mut server) = pair()?;
    step("the client sends \"hello world\"; the buffer holds 16 dots");
    client.write_all(b"hello world")?;
    let mut buffer = [b'.'; 16];
    // Python's recv_into(buffer, 5): pass the first 5 bytes of the buffer.
    let first = server.read(&mut buffer[..5])?;
    // Python's recv_into(memoryview(buffer)[5:]): pass the rest of it. The
    // read fills it from its start, which is offset 5 of the whole buffer.
    let rest = server.read(&mut buffer[5..])?;
    answer("read into buffer[..5]", format!("{first} bytes"));
    answer("read into buffer[5..]", format!("{rest} bytes"));
    answer("the buffer after both reads", shown(&buffer));

    step("a datagram \"ping\" into a buffer that starts with \"from \"");
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(READ_TIMEOUT))?;
    sender.send_to(b"ping", receiver.local_addr()?)?;
    let mut buffer = *b"from ____";
    // Python's recvfrom_into(memoryview(buffer)[5:]).
    let (count, from) = receiver.recv_from(&mut buffer[5..])?;
    answer(
        "recv_from into buffer[5..]",
        format!("{count} bytes from {from}"),
    );
    answer("the buffer after recv_from", shown(&buffer));
    Ok(())
}
// ANCHOR_END: into

// ANCHOR: dontroute
/// MSG_DONTROUTE: send only to a host on a network this one is on.
#[cfg(unix)]
fn dont_route() -> io::Result<()> {
    part("MSG_DONTROUTE: no gateway, only the networks this host is on");
    let (client, mut server) = pair()?;
    step("the client sends \"local\" with MSG_DONTROUTE");
    let sent =
        SockRef::from(&client).send_with_flags(b"local", libc::MSG_DONTROUTE);
    answer("send(MSG_DONTROUTE)", value(&sent));
    let mut buffer = [0; 5];
    let result = server.read_exact(&mut buffer);
    answer("the server reads", outcome(result.map(|()| bytes(&buffer))));
    Ok(())
}
// ANCHOR_END: dontroute

#[cfg(not(unix))]
fn dont_route() -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "MSG_DONTROUTE: this lesson takes the flag from libc, which is for \
         Unix only",
    ))
}
