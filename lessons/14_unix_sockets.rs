//! Lesson 14 — AF_UNIX: sockets on a path, socketpair, SOCK_SEQPACKET.
//!
//! An experiment with sockets that never touch the network: both ends are
//! on this machine, and the address is a path in the file system, or
//! nothing at all. It shows a stream socket on a path (and the socket file
//! it leaves behind), datagram sockets on paths, connected pairs made by
//! `socketpair`, and `SOCK_SEQPACKET`, which keeps each message's
//! boundaries as datagrams do, on a connection. Run it with
//! `cargo run --bin 14_unix_sockets`; `--dir PATH` says where to make the
//! directory for its socket files (the system's temporary directory by
//! default), which it removes at the end. Unix only (Linux, macOS, the BSDs):
//! elsewhere it says why it cannot run, and exits non-zero.

use socket_lessons::cli;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of the experiment.
#[derive(clap::Args, Debug)]
struct Experiment {
    /// Where to make the directory for the socket files (default: the
    /// system's temporary directory); the directory is removed at the end.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), run)
}

/// Everything this lesson shows is Unix's own (Rust's types for it are in
/// `std::os::unix::net`), so elsewhere it explains what it would show.
#[cfg(not(unix))]
fn run(_: Experiment) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "this lesson shows AF_UNIX sockets (stream and datagram sockets on \
         a path, socketpair, SOCK_SEQPACKET) through std::os::unix::net, \
         which exists on Unix systems only; run it on Linux or macOS, or in \
         WSL on Windows",
    ))
}

#[cfg(unix)]
fn run(args: Experiment) -> io::Result<()> {
    let parent = args.dir.unwrap_or_else(std::env::temp_dir);
    let directory = unix::SocketDirectory::new(&parent)?;
    unix::stream_on_a_path(&directory)?;
    unix::datagrams_on_paths(&directory)?;
    unix::socket_pairs()?;
    unix::seqpacket()?;
    unix::clean_up(directory)
}

#[cfg(unix)]
mod unix {
    use socket_lessons::experiment::{answer, error, part, step, value};
    use socket2::{Domain, MaybeUninitSlice, RecvFlags, Socket, Type};
    use std::fs;
    use std::io::{self, Read, Write};
    use std::mem::MaybeUninit;
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
    use std::os::unix::net::{
        SocketAddr, UnixDatagram, UnixListener, UnixStream,
    };
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// How long any read may wait before the experiment gives up on it.
    const PATIENCE: Duration = Duration::from_secs(2);

    // ANCHOR: directory
    /// A fresh directory for the socket files, removed when the experiment
    /// ends (also when it fails: see `Drop`). A socket file is not removed
    /// when its socket closes, so whoever binds a path cleans it up.
    pub struct SocketDirectory {
        /// Empty once removed.
        path: PathBuf,
    }

    impl SocketDirectory {
        /// Makes `socket-lessons-14-PID-N` in `parent`: the process id and a
        /// counter make the name unique, and `create_dir` fails rather than
        /// reuse a directory someone else made. Mode 0700: only our user may
        /// enter it, and so reach the sockets in it.
        pub fn new(parent: &Path) -> io::Result<Self> {
            static MADE: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "socket-lessons-14-{}-{}",
                std::process::id(),
                MADE.fetch_add(1, Ordering::Relaxed)
            );
            let path = parent.join(name);
            fs::DirBuilder::new().mode(0o700).create(&path).map_err(
                |failure| {
                    io::Error::new(
                        failure.kind(),
                        format!(
                            "cannot make a directory for the socket files \
                             in {}: {}",
                            parent.display(),
                            error(&failure)
                        ),
                    )
                },
            )?;
            Ok(Self { path })
        }

        /// The path of the socket file `name` in the directory.
        fn join(&self, name: &str) -> PathBuf {
            self.path.join(name)
        }
    }

    impl Drop for SocketDirectory {
        fn drop(&mut self) {
            if !self.path.as_os_str().is_empty() {
                let _ = fs::remove_dir_all(&self.path);
            }
        }
    }
    // ANCHOR_END: directory

    /// An AF_UNIX address as the experiment prints it: the socket file's
    /// name (the directory's name changes every run), or `unnamed` for a
    /// socket bound to no path.
    fn describe(address: &SocketAddr) -> String {
        match address.as_pathname() {
            Some(path) => match path.file_name() {
                Some(name) => format!("{} (a path)", name.to_string_lossy()),
                None => format!("{} (a path)", path.display()),
            },
            None if address.is_unnamed() => "unnamed".to_string(),
            None => format!("{address:?}"),
        }
    }

    /// Bytes as the experiment prints them: quoted, escapes for the rest.
    fn quoted(bytes: &[u8]) -> String {
        format!("{:?}", String::from_utf8_lossy(bytes))
    }

    /// Reads what one `read` returns, waiting at most `PATIENCE`.
    fn read_once(stream: &mut UnixStream) -> io::Result<String> {
        stream.set_read_timeout(Some(PATIENCE))?;
        let mut buffer = [0u8; 1024];
        let count = stream.read(&mut buffer)?;
        Ok(quoted(&buffer[..count]))
    }

    /// Part 1: a stream socket on a path, and the file it leaves behind.
    pub fn stream_on_a_path(directory: &SocketDirectory) -> io::Result<()> {
        part("A stream socket on a path");
        // ANCHOR: bind
        // The address of an AF_UNIX socket is a path: bind creates a file
        // of type "socket" there. Only processes on this machine can
        // connect, and the file's permissions say who may.
        let path = directory.join("chat.sock");
        step("UnixListener::bind(\"chat.sock\") in a fresh directory");
        let listener = UnixListener::bind(&path)?;
        answer("the listener's address", describe(&listener.local_addr()?));
        let file_type = fs::symlink_metadata(&path)?.file_type();
        answer("chat.sock is a socket file", file_type.is_socket());
        // ANCHOR_END: bind

        // ANCHOR: connect
        step("UnixStream::connect(\"chat.sock\"), and accept");
        let mut client = UnixStream::connect(&path)?;
        let (mut served, peer) = listener.accept()?;
        // A client needs no address of its own (no port to answer to: the
        // connection is the way back), so its socket stays unnamed.
        answer("the client's own address", describe(&client.local_addr()?));
        answer("the client's peer", describe(&client.peer_addr()?));
        answer("the server sees the client as", describe(&peer));
        step("a message each way");
        client.write_all(b"hello over a path")?;
        answer("the server read", read_once(&mut served)?);
        served.write_all(b"hi back")?;
        answer("the client read", read_once(&mut client)?);
        // ANCHOR_END: connect

        // ANCHOR: leftover
        step("close everything, listener included; then bind chat.sock again");
        drop((client, served, listener));
        let exists = fs::symlink_metadata(&path).is_ok();
        answer("chat.sock exists after the listener is closed", exists);
        // A leftover file is not a listener: nobody is there to connect to.
        let connect = UnixStream::connect(&path).map(|_| ());
        answer("connect to the leftover chat.sock", value(&connect));
        // And it blocks the path: bind will not replace a file.
        let again = UnixListener::bind(&path).map(|_| ());
        answer("bind chat.sock again", value(&again));
        step("remove_file(\"chat.sock\"), then bind it again");
        fs::remove_file(&path)?;
        let after = UnixListener::bind(&path).map(|_| ());
        answer("bind chat.sock after remove_file", value(&after));
        // ANCHOR_END: leftover

        // ANCHOR: too_long
        // The path must fit in the address structure: 108 bytes on Linux,
        // 104 on macOS. std refuses a longer one before asking the OS.
        step("bind a path whose file name alone is 200 bytes long");
        let long = directory.join(&"x".repeat(200));
        let too_long = UnixListener::bind(long).map(|_| ());
        answer("bind a 200-byte name", value(&too_long));
        // ANCHOR_END: too_long
        Ok(())
    }

    /// Part 2: datagram sockets on paths.
    pub fn datagrams_on_paths(directory: &SocketDirectory) -> io::Result<()> {
        part("Datagram sockets on paths");
        // ANCHOR: datagrams
        // As with UDP, no connection: each send names its destination, and
        // each receive says where the datagram came from, here a path.
        step("bind UnixDatagram sockets to a.sock and b.sock");
        let a_path = directory.join("a.sock");
        let b_path = directory.join("b.sock");
        let a = UnixDatagram::bind(&a_path)?;
        let b = UnixDatagram::bind(&b_path)?;
        a.set_read_timeout(Some(PATIENCE))?;
        b.set_read_timeout(Some(PATIENCE))?;
        let mut buffer = [0u8; 1024];
        step("a.sock sends \"ping\" to b.sock");
        a.send_to(b"ping", &b_path)?;
        let (count, sender) = b.recv_from(&mut buffer)?;
        answer("b.sock received", quoted(&buffer[..count]));
        answer("from", describe(&sender));
        step("b.sock answers to the path the datagram came from");
        if let Some(return_path) = sender.as_pathname() {
            b.send_to(b"pong", return_path)?;
            let (count, sender) = a.recv_from(&mut buffer)?;
            answer("a.sock received", quoted(&buffer[..count]));
            answer("from", describe(&sender));
        }
        // ANCHOR_END: datagrams

        // ANCHOR: unbound
        // A datagram socket bound to no path can send, but its datagrams
        // carry no return address: nobody can answer them.
        step("an unbound UnixDatagram sends \"who am I?\" to b.sock");
        let unbound = UnixDatagram::unbound()?;
        unbound.send_to(b"who am I?", &b_path)?;
        let (count, sender) = b.recv_from(&mut buffer)?;
        answer("b.sock received", quoted(&buffer[..count]));
        answer("from an unbound sender", describe(&sender));
        // ANCHOR_END: unbound
        Ok(())
    }

    /// Part 3: connected pairs with no path at all.
    pub fn socket_pairs() -> io::Result<()> {
        part("socketpair: two connected sockets, no path");
        // ANCHOR: pair
        // socketpair() makes both ends at once, already connected, with no
        // name anywhere: nothing to bind, nothing to clean up. A parent
        // process keeps one end and gives the other to a child or a thread.
        step("UnixStream::pair(), and a message each way");
        let (mut left, mut right) = UnixStream::pair()?;
        answer("the left end's address", describe(&left.local_addr()?));
        answer("its peer's address", describe(&left.peer_addr()?));
        left.write_all(b"ping")?;
        answer("the right end read", read_once(&mut right)?);
        right.write_all(b"pong")?;
        answer("the left end read", read_once(&mut left)?);
        // ANCHOR_END: pair

        // ANCHOR: datagram_pair
        step("UnixDatagram::pair(): two sends, then two receives");
        let (sender, receiver) = UnixDatagram::pair()?;
        receiver.set_read_timeout(Some(PATIENCE))?;
        sender.send(b"one")?;
        sender.send(b"two")?;
        let mut buffer = [0u8; 1024];
        for number in 1..=2 {
            let count = receiver.recv(&mut buffer)?;
            answer(
                &format!("datagram pair recv #{number}"),
                quoted(&buffer[..count]),
            );
        }
        // ANCHOR_END: datagram_pair
        Ok(())
    }

    // ANCHOR: receive
    /// One `recvmsg()` into a buffer of `size` bytes: what it returned, and
    /// the flags the OS set on it (std's `read` returns no flags).
    fn receive(
        socket: &Socket,
        size: usize,
    ) -> io::Result<(String, RecvFlags)> {
        let mut buffer = vec![MaybeUninit::<u8>::uninit(); size];
        let (count, flags) =
            socket.recv_vectored(&mut [MaybeUninitSlice::new(&mut buffer)])?;
        // SAFETY: the OS wrote the first `count` bytes of the buffer (the
        // slice is bounds-checked first), so they hold plain bytes now.
        let data = unsafe { &*(&buffer[..count] as *const _ as *const [u8]) };
        Ok((quoted(data), flags))
    }
    // ANCHOR_END: receive

    /// Part 4: SOCK_SEQPACKET, a connection that keeps message boundaries.
    pub fn seqpacket() -> io::Result<()> {
        part("SOCK_SEQPACKET: a connection that keeps message boundaries");
        // ANCHOR: seqpacket
        // A sequenced-packet socket is connected and reliable, like a
        // stream, and delivers each send as one message, like a datagram.
        // std has no type for it; socket2 makes any kind of socket.
        step("Socket::pair(UNIX, SEQPACKET); send \"one\", \"two\", \"three\"");
        let (sender, receiver) =
            Socket::pair(Domain::UNIX, Type::SEQPACKET, None)
                .map_err(no_seqpacket)?;
        receiver.set_read_timeout(Some(PATIENCE))?;
        for message in ["one", "two", "three"] {
            sender.send(message.as_bytes())?;
        }
        step("three receives, each with room for 1024 bytes");
        for number in 1..=3 {
            let (message, _) = receive(&receiver, 1024)?;
            answer(&format!("seqpacket recv #{number}"), message);
        }
        // ANCHOR_END: seqpacket

        // ANCHOR: stream
        // The same three sends on a stream socket: a stream has bytes, not
        // messages. All three are in the receive buffer before the read, and
        // one read takes every byte that is there, up to the buffer's size.
        step("the same three writes on a UnixStream pair, then one read");
        let (mut writer, mut reader) = UnixStream::pair()?;
        for message in ["one", "two", "three"] {
            writer.write_all(message.as_bytes())?;
        }
        answer("stream read after three writes", read_once(&mut reader)?);
        // ANCHOR_END: stream

        // ANCHOR: truncated
        // A message longer than the buffer is cut, as a datagram is: the
        // rest is dropped, not kept for the next receive, and the OS says
        // so with MSG_TRUNC in the flags recvmsg() returns.
        step("send 100 bytes, then \"next\"; receive into 10 bytes, twice");
        sender.send(&[b'x'; 100])?;
        sender.send(b"next")?;
        let (message, flags) = receive(&receiver, 10)?;
        answer("seqpacket recv of 10 bytes", message);
        answer("is_truncated", flags.is_truncated());
        let (message, _) = receive(&receiver, 10)?;
        answer("the receive after it", message);
        // ANCHOR_END: truncated

        // ANCHOR: end_of_record
        // POSIX gives SEQPACKET records that can span several sends: a send
        // with MSG_EOR ends one, and the receiver sees MSG_EOR on the last
        // piece. What does this system do with the flag?
        step("send \"the end\" with MSG_EOR; receive it");
        let sent = sender.send_with_flags(b"the end", libc::MSG_EOR);
        answer("send with MSG_EOR", value(&sent));
        if sent.is_ok() {
            let (message, flags) = receive(&receiver, 1024)?;
            answer("received", message);
            answer("is_end_of_record", flags.is_end_of_record());
        }
        // ANCHOR_END: end_of_record

        // ANCHOR: closed
        step("close the sending end; receive");
        drop(sender);
        let (message, _) = receive(&receiver, 1024)?;
        answer("seqpacket recv after the peer closed", message);
        // ANCHOR_END: closed
        Ok(())
    }

    /// What to say when this system has no SOCK_SEQPACKET for AF_UNIX.
    fn no_seqpacket(failure: io::Error) -> io::Error {
        io::Error::new(
            failure.kind(),
            format!(
                "this system makes no AF_UNIX SOCK_SEQPACKET sockets \
                 (socketpair failed with {}); Linux and FreeBSD do",
                error(&failure)
            ),
        )
    }

    /// The end: the socket directory and every file in it go.
    pub fn clean_up(mut directory: SocketDirectory) -> io::Result<()> {
        part("Cleaning up");
        // ANCHOR: clean_up
        step("remove the socket directory, and the socket files in it");
        let path = std::mem::take(&mut directory.path);
        let removed = fs::remove_dir_all(&path);
        answer("remove_dir_all", value(&removed));
        // ANCHOR_END: clean_up
        removed
    }
}
