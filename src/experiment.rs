//! What an experiment prints: its parts, its steps, and the OS's answers.
//!
//! Support module. Lessons 09 and on are experiments: run with no arguments, each performs
//! its demonstration by itself on loopback and prints what the OS answered, so the learner
//! sees the machine's answer rather than the book's claim. Every lesson prints the same way:
//!
//! - [`part`]: a heading for each part of the experiment (`== SO_LINGER with a zero
//!   timeout`);
//! - [`step`]: what the program is about to do, in plain words;
//! - [`answer`]: one thing the OS answered, as `label: answer` on a line of its own. The
//!   answer is what the call returned: a value ([`value`]), a byte count, or an error with its
//!   name and number ([`error`]: `EADDRINUSE (os error 98)`).
//!
//! The lesson's checks ([`crate::check::experiment`]) find the answers by their labels, so a
//! label is part of what the lesson promises; the step lines are for the reader only.
//! Measured times are printed by [`duration`] with one decimal (`40.2 ms`), which the book's
//! transcripts mask, as they mask ports: they change from run to run.

use colored::Colorize;
use std::fmt::{Debug, Display};
use std::io;
use std::time::Duration;

/// Starts a part of the experiment: a blank line, then `== title`.
pub fn part(title: impl Display) {
    println!();
    println!("{}", format!("== {title}").bold());
}

/// Says what the program does next.
pub fn step(text: impl Display) {
    println!("{}", text.to_string().cyan());
}

/// Prints one answer of the OS as `label: answer`, the answer coloured as data received.
pub fn answer(label: &str, answer: impl Display) {
    println!("{label}: {}", answer.to_string().green());
}

/// A call's result as an answer: `Ok(…)` with the value's debug form, or the error as
/// [`error`] prints it.
pub fn value<T: Debug>(result: &io::Result<T>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(failure) => error(failure),
    }
}

/// An error as the OS names it: `EADDRINUSE (os error 98): Address already in use`; an error
/// that did not come from the OS (a timeout std measured itself, say) is shown by its kind.
pub fn error(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => {
            let name = errno_name(code).unwrap_or("an unnamed error");
            let text = io::Error::from_raw_os_error(code).to_string();
            // std's text ends with " (os error N)"; say the name first.
            let text = text.split(" (os error").next().unwrap_or(&text);
            format!("{name} (os error {code}): {text}")
        }
        None => format!("{:?}: {error}", error.kind()),
    }
}

/// A measured time with one decimal, in the unit that suits it: `85.3 µs`, `40.2 ms`,
/// `1.2 s`.
pub fn duration(time: Duration) -> String {
    let micros = time.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.1} ms", micros / 1_000.0)
    } else {
        format!("{:.1} s", micros / 1_000_000.0)
    }
}

/// The symbolic name of an OS error number (`EAGAIN`, `ECONNRESET`), as C and Python's
/// `errno` module spell it, for the errors the lessons meet.
#[cfg(unix)]
pub fn errno_name(code: i32) -> Option<&'static str> {
    // EWOULDBLOCK is EAGAIN on Linux and macOS: one number, two names.
    const NAMES: &[(i32, &str)] = &[
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::EINTR, "EINTR"),
        (libc::EBADF, "EBADF"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::EACCES, "EACCES"),
        (libc::EINVAL, "EINVAL"),
        (libc::EPIPE, "EPIPE"),
        (libc::ENOTSOCK, "ENOTSOCK"),
        (libc::EMSGSIZE, "EMSGSIZE"),
        (libc::EPROTOTYPE, "EPROTOTYPE"),
        (libc::ENOPROTOOPT, "ENOPROTOOPT"),
        (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
        (libc::ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (libc::EADDRINUSE, "EADDRINUSE"),
        (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (libc::ENETUNREACH, "ENETUNREACH"),
        (libc::ECONNABORTED, "ECONNABORTED"),
        (libc::ECONNRESET, "ECONNRESET"),
        (libc::EISCONN, "EISCONN"),
        (libc::ENOTCONN, "ENOTCONN"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
        (libc::ECONNREFUSED, "ECONNREFUSED"),
        (libc::EHOSTUNREACH, "EHOSTUNREACH"),
        (libc::EALREADY, "EALREADY"),
        (libc::EINPROGRESS, "EINPROGRESS"),
    ];
    NAMES
        .iter()
        .find(|(number, _)| *number == code)
        .map(|(_, name)| *name)
}

/// The symbolic name of an OS error number, for the errors std gives a kind of their own.
#[cfg(not(unix))]
pub fn errno_name(code: i32) -> Option<&'static str> {
    crate::explain::error_name(&io::Error::from_raw_os_error(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_os_error_is_shown_with_its_name_and_number() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(error(&refused), "ConnectionRefused: connection refused");
        #[cfg(target_os = "linux")]
        assert_eq!(
            error(&io::Error::from_raw_os_error(libc::EADDRINUSE)),
            "EADDRINUSE (os error 98): Address already in use"
        );
    }

    #[test]
    fn a_duration_has_one_decimal_and_a_unit_that_suits_it() {
        assert_eq!(duration(Duration::from_micros(85)), "85.0 µs");
        assert_eq!(duration(Duration::from_micros(40_230)), "40.2 ms");
        assert_eq!(duration(Duration::from_millis(1_240)), "1.2 s");
    }
}
