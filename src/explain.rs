//! Errors, explained in one line.
//!
//! A socket error from the OS says *what* failed ("Address already in use (os error 98)") but
//! not what to do about it. This module adds the address involved, the error's symbolic name
//! (`EADDRINUSE`, the name to search for) and the usual remedy.
//!
//! Support module. A lesson's error need not be an `io::Error` itself: an HMAC or protocol
//! error that carries one as its source is explained by the OS error it carries.

use crate::index::{Lesson, Role};
use std::error::Error;
use std::fmt::Display;
use std::io::{self, ErrorKind};

/// The OS's symbolic name for the common socket errors, as C and Python's `errno` module
/// spell it (`ECONNREFUSED`; on Windows `WSAECONNREFUSED`, whose number is 10061).
pub fn error_name(error: &io::Error) -> Option<&'static str> {
    let unix = match error.kind() {
        ErrorKind::ConnectionRefused => "ECONNREFUSED",
        ErrorKind::ConnectionReset => "ECONNRESET",
        ErrorKind::ConnectionAborted => "ECONNABORTED",
        ErrorKind::AddrInUse => "EADDRINUSE",
        ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
        ErrorKind::BrokenPipe => "EPIPE",
        ErrorKind::TimedOut => "ETIMEDOUT",
        // std files EPERM (1 on Linux and macOS; a raw socket without the right, say)
        // and EACCES (a low port) under the same kind.
        ErrorKind::PermissionDenied
            if cfg!(unix) && error.raw_os_error() == Some(1) =>
        {
            "EPERM"
        }
        ErrorKind::PermissionDenied => "EACCES",
        ErrorKind::HostUnreachable => "EHOSTUNREACH",
        ErrorKind::NetworkUnreachable => "ENETUNREACH",
        ErrorKind::NotConnected => "ENOTCONN",
        _ => return None,
    };
    error.raw_os_error()?; // only an error that came from the OS has an errno name
    Some(if cfg!(windows) {
        windows_name(unix)
    } else {
        unix
    })
}

fn windows_name(unix: &'static str) -> &'static str {
    match unix {
        "ECONNREFUSED" => "WSAECONNREFUSED",
        "ECONNRESET" => "WSAECONNRESET",
        "ECONNABORTED" => "WSAECONNABORTED",
        "EADDRINUSE" => "WSAEADDRINUSE",
        "EADDRNOTAVAIL" => "WSAEADDRNOTAVAIL",
        "ETIMEDOUT" => "WSAETIMEDOUT",
        "EACCES" => "WSAEACCES",
        "EHOSTUNREACH" => "WSAEHOSTUNREACH",
        "ENETUNREACH" => "WSAENETUNREACH",
        "ENOTCONN" => "WSAENOTCONN",
        other => other,
    }
}

/// True for the errors that mean the connection is over: the peer's OS reset it (the peer
/// closed with our data unread, or gave up on it), or we wrote after the peer had closed
/// (`EPIPE`). The same news as a read of zero bytes, but abrupt: what was in flight is lost.
pub fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
    )
}

/// The error as the OS reports it, with its number and name: `Connection refused (os error
/// 111, ECONNREFUSED)`.
pub fn os_error(error: &io::Error) -> String {
    match (error.raw_os_error(), error_name(error)) {
        (Some(code), Some(name)) => {
            let text = error.to_string();
            let text = text.trim_end_matches(&format!(" (os error {code})"));
            format!("{text} (os error {code}, {name})")
        }
        _ => error.to_string(),
    }
}

/// The OS error inside `error`: the first `io::Error` along its chain of sources (itself
/// first) that carries an OS error number, or else the first `io::Error` at all. An HMAC or
/// protocol error that wraps a failed read is explained by that read's error.
pub fn io_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut io_errors = chain(error)
        .filter_map(|error| error.downcast_ref::<io::Error>())
        .peekable();
    let first = *io_errors.peek()?;
    Some(
        io_errors
            .find(|error| error.raw_os_error().is_some())
            .unwrap_or(first),
    )
}

/// `error`, then its source, then the source's source, and so on.
fn chain<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&error| error.source())
}

/// The error and its sources in one line, outermost first, each OS error with its number and
/// name. A source whose text its wrapper already shows is not repeated.
fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    for error in chain(error) {
        let plain = error.to_string();
        let shown = match error.downcast_ref::<io::Error>() {
            Some(io_error) => os_error(io_error),
            None => plain.clone(),
        };
        if !plain.is_empty() && text.contains(&plain) {
            text = text.replacen(&plain, &shown, 1);
        } else if text.is_empty() {
            text = shown;
        } else {
            text = format!("{text}: {shown}");
        }
    }
    text
}

/// One line that says what went wrong for this lesson and what to try. `error` may be any
/// error with an OS error somewhere in its chain of sources. With the lesson's `address`
/// (its `--host` and `--port`), the line names it and gives the usual remedy.
pub fn explain(
    error: &(dyn Error + 'static),
    lesson: &Lesson,
    address: Option<impl Display>,
) -> String {
    let os = describe(error);
    let (Some(address), Some(io_error)) = (address, io_error(error)) else {
        return os;
    };
    match (lesson.role, io_error.kind()) {
        (Role::Server, ErrorKind::AddrInUse) => format!(
            "cannot listen on {address}: {os}. Another program holds this port (an earlier run of \
             this lesson, perhaps): stop it, or pass --port 0 to let the OS pick a free port"
        ),
        (Role::Server, ErrorKind::AddrNotAvailable) => format!(
            "cannot bind {address}: {os}. That host is not an address of this machine: try \
             --host 127.0.0.1, or --host 0.0.0.0 for every interface"
        ),
        (Role::Server, ErrorKind::PermissionDenied) if cfg!(windows) => {
            // Windows lets anyone bind a low port; it refuses a port that the system reserved
            // (Hyper-V and WSL reserve ranges) or that a program holds for exclusive use.
            format!(
                "cannot bind {address}: {os}. Windows keeps this port for itself or for \
                 another program (`netsh interface ipv4 show excludedportrange \
                 protocol=tcp` lists the reserved ranges): pass --port 0 to let the OS \
                 pick a free port"
            )
        }
        (Role::Server, ErrorKind::PermissionDenied) => format!(
            "cannot bind {address}: {os}. Ports below 1024 need administrator rights: pick a \
             port above 1023, or --port 0"
        ),
        (Role::Client | Role::Tool, ErrorKind::ConnectionRefused) => {
            let start = match lesson.peer {
                Some(server) => {
                    format!("start it first with `cargo run --bin {server}`")
                }
                None => "start the server first".to_string(),
            };
            // Windows also refuses when the server's queue of waiting connections is
            // full (its listen() documentation says so), where Linux stays silent.
            let busy = if cfg!(windows) {
                ", or the server is busy and its queue of waiting connections is full"
            } else {
                ""
            };
            format!(
                "cannot connect to {address}: {os}. Nothing is listening there{busy}: \
                 {start}"
            )
        }
        (Role::Client | Role::Tool, ErrorKind::TimedOut) => {
            format!("no answer from {address}: {os}. {}", silent_causes())
        }
        (
            Role::Client | Role::Tool,
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable,
        ) => format!(
            "cannot reach {address}: {os}. No route leads to that host from this \
             machine: check --host, and that this machine is on a network that reaches it"
        ),
        _ => os,
    }
}

/// Why a connect can time out, and how to tell which. Linux (and, we read, macOS) drops the
/// handshake of a client that finds the server's queue of connections waiting for `accept`
/// full, so the client resends until its patience ends (about two minutes for a plain
/// `connect` on Linux) exactly as it does when no machine answers at all. Windows refuses
/// such a client instead (see the refused message), so there only silence is left.
fn silent_causes() -> String {
    let silent = "no machine answers at that address (a wrong --host, a machine that is \
                  down, a firewall that drops the connection)";
    if cfg!(windows) {
        return format!("Probably {silent}");
    }
    let look = if cfg!(target_os = "linux") {
        "`ss -tlnp` on the server's machine shows its listening socket with a Recv-Q, \
         the connections waiting, above its Send-Q, the queue's size"
    } else {
        "`netstat -Lan` on the server's machine shows its listening socket's queue as \
         qlen/incqlen/maxqlen, the first count at or above the last"
    };
    format!(
        "Either the server is busy: its queue of connections waiting to be accepted is \
         full, and its OS ignores new ones until there is room ({look}); or {silent}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index;
    use std::fmt;

    /// A lesson's own error that wraps an OS error, as an HMAC or protocol error will.
    #[derive(Debug)]
    struct Handshake(io::Error);

    impl fmt::Display for Handshake {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "cannot send the challenge")
        }
    }

    impl Error for Handshake {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    fn client() -> &'static Lesson {
        index::find("03_ctime_client").expect("in the index")
    }

    #[cfg(unix)]
    #[test]
    fn refused_connection_names_the_address_number_and_name() {
        let error = io::Error::from_raw_os_error(111);
        let line = explain(&error, client(), Some("127.0.0.1:9"));
        if cfg!(target_os = "linux") {
            assert!(line.contains("127.0.0.1:9"), "{line}");
            assert!(line.contains("os error 111, ECONNREFUSED"), "{line}");
            assert!(line.contains("cargo run --bin 03_ctime_server"), "{line}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_os_error_inside_another_error_is_found_and_explained() {
        let error = Handshake(io::Error::from_raw_os_error(111));
        assert_eq!(
            io_error(&error).and_then(io::Error::raw_os_error),
            Some(111)
        );
        let line = explain(&error, client(), Some("127.0.0.1:9"));
        assert!(
            line.starts_with(
                "cannot connect to 127.0.0.1:9: cannot send the challenge: \
                 Connection refused (os error 111, ECONNREFUSED). "
            ),
            "{line}"
        );
        assert!(line.contains("cargo run --bin 03_ctime_server"), "{line}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_os_error_is_preferred_to_an_io_error_that_only_wraps_it() {
        // io::Error::other(Handshake(…)) is an io::Error of kind Other, whose text is its
        // wrapped error's: the OS error below it is the one that explains.
        let error =
            io::Error::other(Handshake(io::Error::from_raw_os_error(98)));
        assert_eq!(
            io_error(&error).map(io::Error::kind),
            Some(ErrorKind::AddrInUse)
        );
        let server = index::find("03_ctime_server").expect("in the index");
        let line = explain(&error, server, Some("127.0.0.1:9"));
        assert!(line.contains("os error 98, EADDRINUSE"), "{line}");
        assert!(line.contains("--port 0"), "{line}");
        assert_eq!(line.matches("Address already in use").count(), 1, "{line}");
    }

    /// What `TcpStream::connect_timeout` returns when its time is up: `TimedOut`, with no OS
    /// error number (std gives up by itself; the OS would have gone on trying).
    fn connect_deadline() -> io::Error {
        io::Error::new(ErrorKind::TimedOut, "connection timed out")
    }

    #[test]
    fn a_connect_that_times_out_names_both_causes_and_how_to_tell() {
        let line =
            explain(&connect_deadline(), client(), Some("10.0.0.9:9999"));
        assert!(
            line.starts_with(
                "no answer from 10.0.0.9:9999: connection timed out. "
            ),
            "{line}"
        );
        assert!(
            line.contains("no machine answers at that address"),
            "{line}"
        );
        if cfg!(target_os = "linux") {
            assert!(line.contains("queue of connections waiting"), "{line}");
            assert!(line.contains("`ss -tlnp`"), "{line}");
            assert!(line.contains("Recv-Q"), "{line}");
            assert!(!line.contains('\n'), "one line: {line}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_connect_the_os_gave_up_on_is_explained_the_same_way() {
        // A plain connect() that Linux gave up on after its SYN retries: ETIMEDOUT, 110.
        let error = io::Error::from_raw_os_error(110);
        let line = explain(&error, client(), Some("127.0.0.1:9999"));
        assert!(line.contains("os error 110, ETIMEDOUT"), "{line}");
        assert!(line.contains("queue of connections waiting"), "{line}");
        assert!(line.contains("`ss -tlnp`"), "{line}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unreachable_host_is_named_as_unreachable() {
        // EHOSTUNREACH, 113: the host did not answer on its own network, or a router says so.
        let error = io::Error::from_raw_os_error(113);
        let line = explain(&error, client(), Some("192.168.1.250:9999"));
        assert!(
            line.starts_with("cannot reach 192.168.1.250:9999: "),
            "{line}"
        );
        assert!(line.contains("os error 113, EHOSTUNREACH"), "{line}");
        assert!(line.contains("--host"), "{line}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_port_that_needs_rights_says_which_ports_do() {
        let error = io::Error::from_raw_os_error(13);
        let server = index::find("03_ctime_server").expect("in the index");
        let line = explain(&error, server, Some("127.0.0.1:80"));
        assert_eq!(
            line,
            "cannot bind 127.0.0.1:80: Permission denied (os error 13, EACCES). Ports \
             below 1024 need administrator rights: pick a port above 1023, or --port 0"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_refused_connection_on_linux_says_nothing_listens() {
        // Linux refuses only when nothing listens; a full queue is the timeout above.
        let error = io::Error::from_raw_os_error(111);
        let line = explain(&error, client(), Some("127.0.0.1:9"));
        assert!(line.contains("Nothing is listening there: start"), "{line}");
        assert!(!line.contains("queue"), "{line}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn eperm_and_eacces_keep_their_own_names() {
        let eperm = io::Error::from_raw_os_error(1);
        let eacces = io::Error::from_raw_os_error(13);
        assert_eq!(eperm.kind(), eacces.kind(), "one kind for both");
        assert_eq!(error_name(&eperm), Some("EPERM"));
        assert_eq!(error_name(&eacces), Some("EACCES"));
    }

    #[test]
    fn errors_without_an_os_number_are_left_as_they_are() {
        let error = io::Error::new(
            ErrorKind::InvalidInput,
            "the record must be 10 bytes",
        );
        let lesson = index::find("04_makefile_client").expect("in the index");
        assert_eq!(
            explain(&error, lesson, Some("x")),
            "the record must be 10 bytes"
        );
    }

    #[test]
    fn an_error_with_no_io_error_inside_is_shown_as_it_is() {
        let error: Box<dyn Error> = "the digest does not match".into();
        assert_eq!(io_error(&*error).map(io::Error::kind), None);
        assert_eq!(
            explain(&*error, client(), Some("127.0.0.1:9")),
            "the digest does not match"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn without_an_address_only_the_error_is_said() {
        let error = Handshake(io::Error::from_raw_os_error(111));
        assert_eq!(
            explain(&error, client(), None::<&str>),
            "cannot send the challenge: \
             Connection refused (os error 111, ECONNREFUSED)"
        );
    }
}
