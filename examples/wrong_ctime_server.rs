//! Four ways to get lesson 03's ctime protocol wrong, for trying `check` on.
//!
//! Each `--mistake` is a server a learner might write by accident. None of them
//! prints a ready line, as a quick script would not, so `check` finds them by
//! their port. Run one under `check` and read how it fails:
//!
//! ```console
//! cargo build --examples
//! cargo run -- check 03_ctime_server -- \
//!     target/debug/examples/wrong_ctime_server --mistake echo --port {port}
//! ```

use clap::{Parser, ValueEnum};
use socket_lessons::ctime;
use std::io::{self, Read, Write};
use std::net::TcpListener;

/// A wrong ctime server.
#[derive(Parser)]
struct Args {
    /// Which mistake to make.
    #[arg(long, value_enum)]
    mistake: Mistake,
    /// The port to listen on.
    #[arg(long)]
    port: u16,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mistake {
    /// Echoes each chunk without the time in front.
    Echo,
    /// Sends the time, and forgets the chunk.
    TimeOnly,
    /// Reads, and never answers.
    Silent,
    /// Closes every connection as soon as it is accepted.
    HangUp,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(("127.0.0.1", args.port))?;
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut buffer = [0u8; 1024];
        // A client that resets ends its own conversation, not the server.
        let _ = (|| -> io::Result<()> {
            loop {
                if matches!(args.mistake, Mistake::HangUp) {
                    return Ok(());
                }
                let count = stream.read(&mut buffer)?;
                if count == 0 {
                    return Ok(());
                }
                let chunk = &buffer[..count];
                match args.mistake {
                    Mistake::Echo => stream.write_all(chunk)?,
                    Mistake::TimeOnly => {
                        stream.write_all(ctime::now().as_bytes())?
                    }
                    Mistake::Silent | Mistake::HangUp => {}
                }
            }
        })();
    }
    Ok(())
}
