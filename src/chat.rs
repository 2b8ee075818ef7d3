//! The chat protocol's header: the time a message was sent, as the Python tutorial writes it.
//!
//! Support module. Every chat server (lesson 07) sends each line as a header line,
//! `YYYY/MM/DD HH:MM:SS IP:PORT`, then the line itself. The lesson files write the header
//! themselves, so the protocol stands on their page; what is here is only the clock, and the
//! reading of a header that the checks and the chat client need.

use chrono::{Local, NaiveDateTime};
use std::net::SocketAddr;

/// The time layout of a header: Python's `"{:%Y/%m/%d %H:%M:%S}"`.
pub const FORMAT: &str = "%Y/%m/%d %H:%M:%S";

/// How many bytes the time takes, e.g. `2016/09/03 19:11:20`.
pub const LEN: usize = 19;

/// The local time now, as a header shows it.
pub fn timestamp() -> String {
    Local::now().format(FORMAT).to_string()
}

/// A header line, read back: when, and who sent the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The local time the server stamped, as it was written.
    pub time: String,
    /// The sender's address as the server saw it.
    pub sender: SocketAddr,
}

/// Reads a header line (without its `\n`): a valid time in [`FORMAT`], one space, an
/// `IP:PORT`. `None` for anything else.
pub fn parse_header(line: &str) -> Option<Header> {
    let (time, sender) = line.split_at_checked(LEN)?;
    let sender = sender.strip_prefix(' ')?.parse().ok()?;
    NaiveDateTime::parse_from_str(time, FORMAT).ok()?;
    Some(Header {
        time: time.to_string(),
        sender,
    })
}

/// True when `time` (as a header writes it) is the local time now, give or take a minute.
pub fn is_now(time: &str) -> bool {
    let Ok(moment) = NaiveDateTime::parse_from_str(time, FORMAT) else {
        return false;
    };
    (Local::now().naive_local() - moment).num_seconds().abs() <= 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_read_back() {
        let line = format!("{} 127.0.0.1:50000", timestamp());
        let header = parse_header(&line).expect("a header");
        assert_eq!(header.sender, "127.0.0.1:50000".parse().unwrap());
        assert!(is_now(&header.time));
    }

    #[test]
    fn anything_else_is_not_a_header() {
        assert_eq!(parse_header("hello"), None);
        assert_eq!(parse_header("2016/09/03 19:11:20"), None);
        assert_eq!(parse_header("2016/13/03 19:11:20 127.0.0.1:1"), None);
        assert_eq!(parse_header("2016/09/03 19:11:20 127.0.0.1"), None);
        assert!(parse_header("2016/09/03 19:11:20 [::1]:9999").is_some());
    }
}
