//! The ready line: the one line a server prints as soon as it can take peers.
//!
//! Support module. Tests, `check`, the tour and a learner's second terminal all wait for this
//! line instead of sleeping and hoping. It carries the real address, so `--port 0` (any free
//! port) can be found. The line is printed and read here, and nowhere else.
//!
//! # The contract a program meets to be checked
//!
//! A server, in any language, prints one line on standard output as soon as it can take peers:
//!
//! - `listening on IP:PORT` once a TCP socket has called `listen`;
//! - `bound to IP:PORT` once a UDP socket has called `bind`.
//!
//! The line ends with a newline and is flushed at once (in Python, `print(…, flush=True)`).
//! `IP:PORT` is the address the socket really has (`getsockname`), written as Rust and Python
//! write it: `127.0.0.1:9999`, or `[::1]:9999` for IPv6. A program that prints no such line
//! can still be checked: `check` then waits until the port is taken.

use std::net::SocketAddr;

/// How a TCP server's ready line starts.
pub const LISTENING: &str = "listening on ";
/// How a UDP server's ready line starts.
pub const BOUND: &str = "bound to ";

/// A TCP server has called `listen`: connections to `address` are now queued by the OS.
pub fn listening(address: SocketAddr) {
    crate::style::event(format!("{LISTENING}{address}"));
}

/// A UDP server has called `bind`: datagrams sent to `address` now reach it.
pub fn bound(address: SocketAddr) {
    crate::style::event(format!("{BOUND}{address}"));
}

/// The address in a ready line, or `None` when `line` is not one. Colour codes and
/// surrounding spaces are ignored, so a line copied from a terminal parses too.
pub fn parse(line: &str) -> Option<SocketAddr> {
    let line = strip_colour(line);
    let line = line.trim();
    let address = line
        .strip_prefix(LISTENING)
        .or_else(|| line.strip_prefix(BOUND))?;
    address.trim().parse().ok()
}

/// `text` without ANSI colour sequences (`ESC [ … m`).
fn strip_colour(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip up to and including the sequence's final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_prints() {
        assert_eq!(
            parse("listening on 127.0.0.1:9999"),
            "127.0.0.1:9999".parse().ok()
        );
        assert_eq!(parse("bound to [::1]:53"), "[::1]:53".parse().ok());
        assert_eq!(
            parse("\u{1b}[36mlistening on 127.0.0.1:80\u{1b}[0m"),
            "127.0.0.1:80".parse().ok()
        );
    }

    #[test]
    fn other_lines_are_not_ready_lines() {
        assert_eq!(parse("connected: 127.0.0.1:9999"), None);
        assert_eq!(parse("listening on port 9999"), None);
        assert_eq!(parse(""), None);
    }
}
