//! Lesson 12 — framing: where one message ends and the next begins.
//!
//! TCP carries a stream of bytes and keeps no message boundaries, so a
//! protocol must mark them itself. Lessons 03 and 04 ended each message with
//! a newline; this experiment sends the same four messages (one with a
//! newline inside, an empty one, and one of 100 000 bytes) first as lines,
//! then as length-prefixed frames: a 4-byte length in network byte order,
//! then the bytes. It ends with two frames that go wrong. Run it with no
//! arguments: `cargo run --bin 12_framing`. A server thread receives, the
//! main thread is its client, both on loopback.

use socket_lessons::experiment::{answer, error, part, step};
use socket_lessons::style::shown;
use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

/// How long any read of the experiment may wait before it gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest message a receiver accepts: 1 MiB.
const MAX_MESSAGE: usize = 1 << 20;

fn main() -> ExitCode {
    socket_lessons::cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(_: Experiment) -> io::Result<()> {
    let messages = messages();
    lines(&messages)?;
    byte_order()?;
    frames(&messages)?;
    frames_that_go_wrong()
}

/// What the client sends: a short message, one with a newline inside, an
/// empty one, and 100 000 bytes of the alphabet.
fn messages() -> Vec<Vec<u8>> {
    let large = (b'a'..=b'z').cycle().take(100_000).collect();
    vec![b"hello".to_vec(), b"two\nlines".to_vec(), Vec::new(), large]
}

// ANCHOR: lines
/// Lessons 03 and 04's way: a newline ends each message.
fn lines(messages: &[Vec<u8>]) -> io::Result<()> {
    part("Lines: a newline ends each message");
    step(format!(
        "the client sends {} messages, each followed by \"\\n\"",
        messages.len()
    ));
    let received: Vec<Vec<u8>> = over_loopback(
        // The server: a line is everything up to the next newline.
        |stream| BufReader::new(stream).split(b'\n').collect(),
        |stream| {
            let mut writer = BufWriter::new(stream);
            for message in messages {
                writer.write_all(message)?;
                writer.write_all(b"\n")?;
            }
            writer.flush()
        },
    )?;
    answer("messages sent", messages.len());
    answer("lines received", received.len());
    for (number, line) in received.iter().enumerate() {
        answer(&format!("line {}", number + 1), described(line));
    }
    Ok(())
}
// ANCHOR_END: lines

// ANCHOR: byte_order
/// How a number goes on the wire: network byte order is big-endian.
fn byte_order() -> io::Result<()> {
    part("Network byte order: the most significant byte first");
    // C's htonl(5), in Rust: the four bytes of 5, most significant first.
    answer("5u32.to_be_bytes() (htonl)", hex(&5u32.to_be_bytes()));
    // Least significant first: the order of x86 and most ARM machines.
    answer("5u32.to_le_bytes()", hex(&5u32.to_le_bytes()));
    // The order of the machine this runs on, which the network ignores.
    let order = if cfg!(target_endian = "big") {
        "big"
    } else {
        "little"
    };
    answer(
        "5u32.to_ne_bytes() (this machine's order)",
        format!("{}, {order}-endian", hex(&5u32.to_ne_bytes())),
    );
    // htons(9999), the seed's port, as a socket address carries it.
    answer("9999u16.to_be_bytes() (htons)", hex(&9999u16.to_be_bytes()));
    // ntohl: the receiver turns the four bytes back into a number.
    answer(
        "u32::from_be_bytes([0, 0, 0, 5]) (ntohl)",
        u32::from_be_bytes([0, 0, 0, 5]),
    );
    // What write_frame (below) puts on the wire for "hello".
    let mut frame = Vec::new();
    write_frame(&mut frame, b"hello")?;
    answer("the frame of \"hello\"", hex(&frame));
    Ok(())
}
// ANCHOR_END: byte_order

// ANCHOR: write_frame
/// Sends one message as a frame: its length in 4 bytes, big-endian, then
/// its bytes. A length that does not fit in 4 bytes is refused.
fn write_frame(writer: &mut impl Write, message: &[u8]) -> io::Result<()> {
    let length = u32::try_from(message.len()).map_err(|_| {
        io::Error::new(ErrorKind::InvalidInput, "too long for one frame")
    })?;
    writer.write_all(&length.to_be_bytes())?;
    writer.write_all(message)
}
// ANCHOR_END: write_frame

// ANCHOR: read_frame
/// Receives one frame: exactly 4 bytes of length, then exactly that many
/// bytes, however TCP cut them up. `Ok(None)` is the peer's close between
/// two frames, the clean end of the stream.
fn read_frame(reader: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0; 4];
    // The first read tells a clean end (0 bytes: no frame was begun) from a
    // frame that has begun; read_exact then waits for the rest of it.
    let count = reader.read(&mut header)?;
    if count == 0 {
        return Ok(None);
    }
    reader.read_exact(&mut header[count..])?;
    let length = u32::from_be_bytes(header) as usize;
    // The length comes from the peer: check it before trusting it with
    // memory, or four bytes could ask this program for 4 GiB.
    if length > MAX_MESSAGE {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!(
                "a frame of {length} bytes, over the limit of {MAX_MESSAGE}: \
                 refused before reading or allocating it"
            ),
        ));
    }
    let mut message = vec![0; length];
    // UnexpectedEof if the peer closes before the last byte.
    reader.read_exact(&mut message)?;
    Ok(Some(message))
}
// ANCHOR_END: read_frame

// ANCHOR: frames
/// The same messages, each as a frame.
fn frames(messages: &[Vec<u8>]) -> io::Result<()> {
    part("Frames: a 4-byte length, then the bytes");
    step(format!(
        "the client sends the {} messages as frames",
        messages.len()
    ));
    let received = over_loopback(every_frame, |stream| {
        let mut writer = BufWriter::new(stream);
        for message in messages {
            write_frame(&mut writer, message)?;
        }
        writer.flush()
    })?;
    compare(messages, &received, "");

    // However the stream is cut, the frames come out the same: here the
    // first 30 bytes go 3 at a time, with Nagle's delay off so that no write
    // waits for the one before to be acknowledged, and headers are cut in
    // the middle; then the rest goes in one write.
    step("again, the first 30 bytes written 3 at a time");
    let mut bytes = Vec::new();
    for message in messages {
        write_frame(&mut bytes, message)?;
    }
    let received = over_loopback(every_frame, |mut stream| {
        stream.set_nodelay(true)?;
        let (start, rest) = bytes.split_at(30);
        for piece in start.chunks(3) {
            stream.write_all(piece)?;
        }
        stream.write_all(rest)
    })?;
    compare(messages, &received, " (cut up)");
    Ok(())
}

/// The server: frames until the client closes.
fn every_frame(mut stream: TcpStream) -> io::Result<Vec<Vec<u8>>> {
    let mut received = Vec::new();
    while let Some(message) = read_frame(&mut stream)? {
        received.push(message);
    }
    Ok(received)
}
// ANCHOR_END: frames

/// Prints how many frames came, and each one against the message sent; the
/// labels end with `round`.
fn compare(sent: &[Vec<u8>], received: &[Vec<u8>], round: &str) {
    answer(&format!("frames received{round}"), received.len());
    for (number, message) in received.iter().enumerate() {
        let verdict = match sent.get(number) {
            Some(original) if original == message => "as sent",
            _ => "NOT as sent",
        };
        let label = format!("frame {}{round}", number + 1);
        answer(&label, format!("{}, {verdict}", described(message)));
    }
}

// ANCHOR: wrong
/// Two frames that go wrong: one too long, one cut short.
fn frames_that_go_wrong() -> io::Result<()> {
    part("Frames that go wrong");
    step("a peer announces 4 294 967 295 bytes (ff ff ff ff)");
    let result = over_loopback(
        |mut stream| Ok(read_frame(&mut stream)),
        |mut stream| stream.write_all(&[0xff, 0xff, 0xff, 0xff]),
    )?;
    answer("read_frame of a frame over the limit", outcome(result));

    step("a peer announces 10 bytes, sends 4, and closes");
    let result = over_loopback(
        |mut stream| Ok(read_frame(&mut stream)),
        |mut stream| stream.write_all(&[0, 0, 0, 10, b'a', b'b', b'c', b'd']),
    )?;
    answer("read_frame of a frame cut short", outcome(result));
    Ok(())
}
// ANCHOR_END: wrong

/// What read_frame returned, in words.
fn outcome(result: io::Result<Option<Vec<u8>>>) -> String {
    match result {
        Ok(Some(message)) => format!("a message: {}", described(&message)),
        Ok(None) => "the end of the stream".to_string(),
        Err(failure) => error(&failure),
    }
}

/// Runs `receive` in a server thread, on the connection it accepts, and
/// `send` on the client's end of it, then ends the client's stream. Returns
/// what `receive` returned.
fn over_loopback<T: Send + 'static>(
    receive: impl FnOnce(TcpStream) -> io::Result<T> + Send + 'static,
    send: impl FnOnce(&TcpStream) -> io::Result<()>,
) -> io::Result<T> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    server.set_read_timeout(Some(READ_TIMEOUT))?;
    let server = thread::spawn(move || receive(server));
    send(&client)?;
    // The end of the stream: the server's last read returns 0.
    client.shutdown(Shutdown::Write)?;
    server
        .join()
        .map_err(|_| io::Error::other("the server thread panicked"))?
}

/// A message as the answers show it: its length and its first bytes.
fn described(message: &[u8]) -> String {
    let unit = if message.len() == 1 { "byte" } else { "bytes" };
    let start = &message[..message.len().min(10)];
    let more = if message.len() > start.len() {
        "…"
    } else {
        ""
    };
    format!("{} {unit}: {}{more}", message.len(), shown(start))
}

/// Bytes as two hex digits each: `00 00 00 05`.
fn hex(bytes: &[u8]) -> String {
    let digits: Vec<String> =
        bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    digits.join(" ")
}
