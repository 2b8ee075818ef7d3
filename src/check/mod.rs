//! The protocol checks: what each lesson promises on the wire, as code that any program can be
//! held to.
//!
//! Support module, and the spec in executable form. A [`Check`] is one promise of a lesson's
//! protocol ("every chunk is answered with the time, then the chunk"), written as a function
//! that starts a [`Target`], talks to it over real loopback sockets and returns what was
//! expected and what came instead ([`Failure`]) — never a panic. The checks of a lesson are
//! its suite, kept in the lesson's row of [`crate::index`]. The same suites run:
//!
//! - in `tests/`, against our own lesson binaries;
//! - in `cargo run -- check LESSON -- CMD…`, against any program in any language;
//! - against an exercise, in `cargo run -- check LESSON --exercise NAME` and in
//!   `cargo test --test exercises`.
//!
//! One module per wire protocol: [`bind_accept`] (lesson 01), [`talk`] (02), [`ctime`] (03 over
//! TCP, 05 over UDP, and 06's many clients at once), [`makefile`] (04), [`chat`] (07, a suite
//! for each stage) and [`hmac`] (08). The experiments of lessons 09 and on have no peer: their
//! checks read what the OS answered from what they print ([`experiment`]), in [`options`]
//! (09), [`nonblocking`] (10) and [`framing`] (12). A target is started by [`target`], watched
//! through [`process`], and talked to through [`peer`].

pub mod bind_accept;
pub mod chat;
pub mod command;
pub mod ctime;
pub mod experiment;
pub mod framing;
pub mod hmac;
pub mod makefile;
pub mod nonblocking;
pub mod options;
pub mod peer;
pub mod process;
pub mod talk;
pub mod target;

pub use peer::{Datagrams, Peer, Progress};
pub use process::Process;
pub use target::{Server, Target};

use std::fmt;
use std::time::{Duration, Instant};

/// How long a check waits for any one thing (a reply, a line, an exit) before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// What a check expected, and what came instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the lesson's protocol promises at this point, in words and bytes.
    pub expected: String,
    /// What the program did instead: the bytes it sent, its silence, its exit.
    pub got: String,
}

impl Failure {
    /// A failure with what was expected and what came instead.
    pub fn new(expected: impl Into<String>, got: impl Into<String>) -> Failure {
        Failure {
            expected: expected.into(),
            got: got.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}; got {}", self.expected, self.got)
    }
}

impl std::error::Error for Failure {}

/// The result of one check.
pub type Outcome = Result<(), Failure>;

/// One promise of a lesson's protocol, and the function that tests it.
#[derive(Clone, Copy)]
pub struct Check {
    /// What is promised, as a sentence without its subject: "answers a chunk with …".
    pub name: &'static str,
    /// The chapter section that explains it, as `book/src/FILE.md#anchor`.
    pub section: &'static str,
    /// Starts the target, talks to it, and says whether it kept the promise.
    pub run: fn(&Target) -> Outcome,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check").field("name", &self.name).finish()
    }
}

/// One check's result, and how long it took.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The check that ran.
    pub check: Check,
    /// Passed, or what went wrong.
    pub outcome: Outcome,
    /// How long it took.
    pub took: Duration,
}

/// Runs `checks` against `target`, one after the other (a program may hold a fixed port, so
/// two copies of it cannot run at once), and hands each verdict to `each` as it comes.
pub fn run_suite(
    checks: &[Check],
    target: &Target,
    mut each: impl FnMut(&Verdict),
) -> Vec<Verdict> {
    checks
        .iter()
        .map(|check| {
            let start = Instant::now();
            let outcome = (check.run)(target);
            let verdict = Verdict {
                check: *check,
                outcome,
                took: start.elapsed(),
            };
            each(&verdict);
            verdict
        })
        .collect()
}

/// Bytes as a learner reads them in a failure: quoted and escaped, long ones cut.
pub fn shown(bytes: &[u8]) -> String {
    crate::style::shown(bytes)
}
