//! Errors, explained in one line.
//!
//! A socket error from the OS says *what* failed ("Address already in use (os error 98)") but
//! not what to do about it. This module adds the address involved, the error's symbolic name
//! (`EADDRINUSE`, the name to search for) and the usual remedy.

use crate::index::{Lesson, Role};
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

/// True for the errors that mean the peer closed or reset the connection under us: the
/// same news as a read of zero bytes, delivered as an error.
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

/// One line that says what went wrong for this lesson at this address, and what to try.
pub fn explain(
    error: &io::Error,
    lesson: &Lesson,
    address: &impl Display,
) -> String {
    let os = os_error(error);
    match (lesson.role, error.kind()) {
        (Role::Server, ErrorKind::AddrInUse) => format!(
            "cannot listen on {address}: {os}. Another program holds this port (an earlier run of \
             this lesson, perhaps): stop it, or pass --port 0 to let the OS pick a free port"
        ),
        (Role::Server, ErrorKind::AddrNotAvailable) => format!(
            "cannot bind {address}: {os}. That host is not an address of this machine: try \
             --host 127.0.0.1, or --host 0.0.0.0 for every interface"
        ),
        (Role::Server, ErrorKind::PermissionDenied) => format!(
            "cannot bind {address}: {os}. Ports below 1024 need administrator rights: pick a \
             port above 1023, or --port 0"
        ),
        (Role::Client, ErrorKind::ConnectionRefused) => {
            let start = match lesson.peer {
                Some(server) => {
                    format!("start it first with `cargo run --bin {server}`")
                }
                None => "start the server first".to_string(),
            };
            format!(
                "cannot connect to {address}: {os}. Nothing is listening there: {start}"
            )
        }
        (Role::Client, ErrorKind::TimedOut) => {
            format!(
                "no answer from {address}: {os}. Is the host right, and reachable?"
            )
        }
        _ => os,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index;

    #[cfg(unix)]
    #[test]
    fn refused_connection_names_the_address_number_and_name() {
        let error = io::Error::from_raw_os_error(111);
        let lesson = index::find("03_ctime_client").expect("in the index");
        let line = explain(&error, lesson, &"127.0.0.1:9");
        if cfg!(target_os = "linux") {
            assert!(line.contains("127.0.0.1:9"), "{line}");
            assert!(line.contains("os error 111, ECONNREFUSED"), "{line}");
            assert!(line.contains("cargo run --bin 03_ctime_server"), "{line}");
        }
    }

    #[test]
    fn errors_without_an_os_number_are_left_as_they_are() {
        let error = io::Error::new(
            ErrorKind::InvalidInput,
            "the record must be 10 bytes",
        );
        let lesson = index::find("04_makefile_client").expect("in the index");
        assert_eq!(
            explain(&error, lesson, &"x"),
            "the record must be 10 bytes"
        );
    }
}
