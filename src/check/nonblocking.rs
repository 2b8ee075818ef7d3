//! The checks of lesson 10's experiment: how long a socket call waits, with a timeout, in
//! non-blocking mode and on connect, and the numbers a failed connect carries.
//!
//! Each check runs the experiment to its end and reads its answers from the `label: answer`
//! lines it printed ([`super::experiment`]). An error passes when its name or its text (what
//! C's `strerror` and Python's `OSError` say) is there, so a Python port printing the same
//! labels passes too. A time is read as [`crate::experiment::duration`] prints it
//! (`100.3 ms`): a wait is told from "at once" by the timeout the experiment set, 100 ms,
//! with room to spare on both sides for a busy machine.

use super::experiment::{self, Answers};
use super::{Check, Failure, Outcome, Target};
use std::time::Duration;

/// Where the chapter explains each promise.
const READ_TIMEOUT: &str =
    "book/src/10_timeouts_nonblocking.md#a-read-that-gives-up";
const ZERO: &str = "book/src/10_timeouts_nonblocking.md#a-zero-timeout";
const WRITE_TIMEOUT: &str =
    "book/src/10_timeouts_nonblocking.md#a-write-that-gives-up";
const NON_BLOCKING: &str =
    "book/src/10_timeouts_nonblocking.md#reads-and-accepts-that-never-wait";
const SHORT_WRITE: &str = "book/src/10_timeouts_nonblocking.md#the-short-write";
const CONNECT: &str =
    "book/src/10_timeouts_nonblocking.md#a-deadline-on-connect";

/// The timeout the experiment sets on its reads (Python's `settimeout(0.1)`).
const TIMEOUT: Duration = Duration::from_millis(100);
/// Where "waited out the timeout" and "did not wait" part: three quarters of the timeout.
/// A read that waited for the timeout took at least the timeout; a call that did not wait
/// took microseconds, and this leaves room for a busy machine to pause it in between.
const WAITED: Duration = Duration::from_millis(75);

/// How the OS says "this would block" (EAGAIN on Linux and macOS, which Python prints as
/// `Resource temporarily unavailable`; WSAEWOULDBLOCK on Windows; std's kind WouldBlock).
const WOULD_BLOCK: &[&str] = &[
    "EAGAIN",
    "EWOULDBLOCK",
    "WouldBlock",
    "temporarily unavailable",
    "would block",
];

/// What the experiment must show.
pub const EXPERIMENT: &[Check] = &[
    Check {
        name: "a new socket has no timeout (Python's gettimeout() is None); with one, a read from a peer that sends nothing fails once the timeout has passed",
        section: READ_TIMEOUT,
        run: timed_out_read_gives_up,
    },
    Check {
        name: "a zero timeout is refused (InvalidInput)",
        section: ZERO,
        run: zero_timeout_is_refused,
    },
    Check {
        name: "a write with a timeout, to a peer that never reads, returns a short count",
        section: WRITE_TIMEOUT,
        run: timed_write_is_short,
    },
    Check {
        name: "a non-blocking read with nothing queued fails at once with WouldBlock, and returns the bytes once the peer has sent them",
        section: NON_BLOCKING,
        run: non_blocking_read_fails_at_once,
    },
    Check {
        name: "a non-blocking accept with no one connecting fails with WouldBlock",
        section: NON_BLOCKING,
        run: non_blocking_accept_fails,
    },
    Check {
        name: "a non-blocking write takes only part of a large buffer, and the next one fails at once with WouldBlock",
        section: SHORT_WRITE,
        run: non_blocking_write_is_short,
    },
    Check {
        name: "a connect with a deadline to a full queue gives up at the deadline (TimedOut), and one to a port where nothing listens is refused (ECONNREFUSED)",
        section: CONNECT,
        run: connects_that_fail,
    },
];

/// Passes when the answer to `label` contains one of `names`.
fn expect_any(answers: &Answers, label: &str, names: &[&str]) -> Outcome {
    let answer = answers.get(label)?;
    if names.iter().any(|name| answer.contains(name)) {
        Ok(())
    } else {
        Err(Failure::new(
            format!("`{label}: …` with {}", names.join(" or ")),
            format!("`{label}: {answer}`"),
        ))
    }
}

/// The byte count of an answer `Ok(N)`.
fn count(answers: &Answers, label: &str) -> Result<usize, Failure> {
    let answer = answers.get(label)?;
    answer
        .strip_prefix("Ok(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| {
            Failure::new(
                format!("`{label}: Ok(N)`, a count of bytes"),
                format!("`{label}: {answer}`"),
            )
        })
}

/// A time as [`crate::experiment::duration`] prints it: `40.2 ms`, `85.0 µs`, `1.2 s`.
fn measured(answers: &Answers, label: &str) -> Result<Duration, Failure> {
    let answer = answers.get(label)?;
    let unreadable = || {
        Failure::new(
            format!("`{label}: T` with T a time such as `40.2 ms`"),
            format!("`{label}: {answer}`"),
        )
    };
    let (number, unit) = answer.split_once(' ').ok_or_else(unreadable)?;
    let number: f64 = number.parse().map_err(|_| unreadable())?;
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" | "us" => number / 1e6,
        "ns" => number / 1e9,
        _ => return Err(unreadable()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| unreadable())
}

/// Passes when the time answered to `label` is under [`WAITED`]: the call did not wait.
fn expect_at_once(answers: &Answers, label: &str, what: &str) -> Outcome {
    let took = measured(answers, label)?;
    if took < WAITED {
        Ok(())
    } else {
        Err(Failure::new(
            format!(
                "{what} at once (`{label}:` well under the {TIMEOUT:?} timeout)"
            ),
            format!(
                "`{label}: {}`: it waited, as a blocking socket with a {TIMEOUT:?} \
                 timeout does",
                crate::experiment::duration(took)
            ),
        ))
    }
}

fn timed_out_read_gives_up(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    answers.expect("read timeout at first", "None")?;
    answers.expect_not("read with nothing coming", "Ok(")?;
    let took = measured(&answers, "read gave up after")?;
    if took < WAITED {
        return Err(Failure::new(
            format!("a read that waits out the {TIMEOUT:?} timeout"),
            format!(
                "`read gave up after: {}`",
                crate::experiment::duration(took)
            ),
        ));
    }
    Ok(())
}

fn zero_timeout_is_refused(target: &Target) -> Outcome {
    experiment::run(target)?.expect("zero timeout", "InvalidInput")
}

fn timed_write_is_short(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    let written = count(&answers, "write with a timeout")?;
    expect_short(written, "write with a timeout")
}

/// Passes when a write of the experiment's 64 MiB took some of it, but not all.
fn expect_short(written: usize, label: &str) -> Outcome {
    const ASKED: usize = 64 << 20;
    if 0 < written && written < ASKED {
        Ok(())
    } else {
        Err(Failure::new(
            format!("`{label}: Ok(N)` with 0 < N < {ASKED}, a short write"),
            format!("`{label}: Ok({written})`"),
        ))
    }
}

fn non_blocking_read_fails_at_once(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    expect_any(
        &answers,
        "non-blocking read with nothing queued",
        WOULD_BLOCK,
    )?;
    expect_at_once(&answers, "non-blocking read took", "a read that fails")?;
    answers.expect("non-blocking read after the peer sent", "hello")
}

fn non_blocking_accept_fails(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    expect_any(
        &answers,
        "non-blocking accept with no one connecting",
        WOULD_BLOCK,
    )
}

fn non_blocking_write_is_short(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    let written = count(&answers, "non-blocking write")?;
    expect_short(written, "non-blocking write")?;
    expect_any(&answers, "next non-blocking write", WOULD_BLOCK)?;
    expect_at_once(
        &answers,
        "next non-blocking write took",
        "a write that fails",
    )
}

fn connects_that_fail(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    expect_any(
        &answers,
        "connect_timeout to a full queue",
        &["TimedOut", "timed out"],
    )?;
    expect_any(
        &answers,
        "connect to a port where nothing listens",
        &["ECONNREFUSED", "Connection refused", "connection refused"],
    )?;
    // connect_ex's number is the OS's: 111 on Linux, 61 on macOS, 10061 on Windows.
    let number = answers.get("connect_ex to a port where nothing listens")?;
    if number.parse::<i32>().is_ok_and(|number| number > 0) {
        Ok(())
    } else {
        Err(Failure::new(
            "`connect_ex to a port where nothing listens: N`, the OS's error number",
            format!("`connect_ex to a port where nothing listens: {number}`"),
        ))
    }
}
