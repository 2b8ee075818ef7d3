//! Colours that tell the parts of a conversation apart.
//!
//! Server events (a client connected, a client left) are cyan, bytes received green, bytes sent
//! blue, notices yellow and errors red. Colours switch off when the output is not a terminal
//! (a pipe, a file, a test) or when `NO_COLOR` is set, so captured output is plain text.
//!
//! A server's line for each message can be switched off ([`set_quiet`], a server's `--quiet`):
//! under load, printing every message would cost more than the sockets being measured.

use colored::Colorize;
use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// At most this many bytes of data are shown in one line; the rest is summarised by a count.
const SHOWN_BYTES: usize = 120;

/// Whether [`received`] and [`sent`] stay silent: set once, at start-up, from `--quiet`.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Decides once, at start-up, whether to colour: only on a terminal, and never with `NO_COLOR`.
pub fn init() {
    let wanted = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    colored::control::set_override(wanted);
}

/// With `true`, [`received`] and [`sent`] print nothing; events, notices, errors and the
/// ready line still do. A load test measures the sockets, not the terminal.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Something happened on the server or in the program: a connection, a departure, a state.
pub fn event(message: impl Display) {
    println!("{}", message.to_string().cyan());
}

/// Bytes arrived from `peer` (nothing is printed when quiet).
pub fn received(peer: impl Display, data: &[u8]) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let line = format!(
        "received {} from {peer}: {}",
        bytes(data.len()),
        shown(data)
    );
    println!("{}", line.green());
}

/// Bytes went out to `peer` (nothing is printed when quiet).
pub fn sent(peer: impl Display, data: &[u8]) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let line = format!("sent {} to {peer}: {}", bytes(data.len()), shown(data));
    println!("{}", line.blue());
}

/// Binary bytes went out to `peer` (a random challenge): shown as hex digits, since as text
/// they would be noise (nothing is printed when quiet).
pub fn sent_hex(peer: impl Display, data: &[u8]) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let line = format!(
        "sent {} to {peer}, in hex: {}",
        bytes(data.len()),
        hex::encode(data)
    );
    println!("{}", line.blue());
}

/// Binary bytes arrived from `peer` (a random challenge): shown as hex digits (nothing is
/// printed when quiet).
pub fn received_hex(peer: impl Display, data: &[u8]) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let line = format!(
        "received {} from {peer}, in hex: {}",
        bytes(data.len()),
        hex::encode(data)
    );
    println!("{}", line.green());
}

/// Text that came over the network, printed as it is (a client printing a reply).
pub fn reply(text: impl Display) {
    println!("{}", text.to_string().green());
}

/// Something worth a look that is not an error: a timeout, a client that left early.
pub fn notice(message: impl Display) {
    println!("{}", message.to_string().yellow());
}

/// An error, on standard error, so it never mixes with the data on standard output.
pub fn error(message: impl Display) {
    let line = format!("error: {message}");
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
    {
        eprintln!("{}", line.red());
    } else {
        eprintln!("{line}");
    }
}

/// Shows a prompt such as `>> ` when a person is typing; stays silent when input is piped.
pub fn prompt(text: &str) {
    if std::io::stdin().is_terminal() {
        print!("{}", text.bold());
        // print! does not end the line, so nothing would appear until the next newline.
        let _ = std::io::stdout().flush();
    }
}

/// Bytes as a quoted, escaped string (`"hi\n"`), so newlines and odd bytes are visible.
/// Long data is cut and its full size given.
pub fn shown(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(&data[..data.len().min(SHOWN_BYTES)]);
    if data.len() > SHOWN_BYTES {
        format!("{text:?}… ({} in all)", bytes(data.len()))
    } else {
        format!("{text:?}")
    }
}

fn bytes(count: usize) -> String {
    if count == 1 {
        "1 byte".to_string()
    } else {
        format!("{count} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_newlines_escaped() {
        assert_eq!(shown(b"hi\n"), r#""hi\n""#);
    }

    #[test]
    fn cuts_long_data_and_counts_it() {
        let long = vec![b'x'; 1000];
        let text = shown(&long);
        assert!(text.ends_with("… (1000 bytes in all)"), "{text}");
        assert!(text.len() < 200);
    }
}
