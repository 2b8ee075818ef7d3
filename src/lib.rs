//! The library behind the lessons.
//!
//! The socket calls a lesson teaches stay in its own file under `lessons/`, where a learner
//! reads them top to bottom. What is here is what the lessons share, and each module's opening
//! paragraph says which of these kinds it is.
//!
//! # Layout
//!
//! **Support**, what a lesson needs but is not about:
//!
//! - [`cli`]: the arguments (`--host`, `--port`, a server's `--quiet`) and [`cli::run`], the
//!   one way a lesson's `main` starts and ends. Open this first.
//! - [`index`]: the one table of lessons (summary, role, default port, peer, chapter, checks,
//!   tour).
//! - [`ready`]: the line a server prints as soon as it can take peers; tests wait for it.
//! - [`style`]: colours that tell events, data and errors apart; per-message lines off.
//! - [`console`]: reading the lines a person types.
//! - [`ctime`]: the time as C's `ctime()` prints it, for the ctime protocol.
//! - [`chat`]: the time in a chat message's header, and reading a header back.
//! - [`explain`]: an error in one line, with the address, the OS error's name and the remedy.
//! - [`experiment`]: how lessons 09 and on print their steps and the OS's answers.
//!
//! **The protocol checks**: [`check`] holds what each lesson promises on the wire, as code
//! that the tests, `cargo run -- check` and the exercises all hold a program to.
//!
//! **The tour and the book's sessions**: [`tour`] plays a scripted conversation between a
//! lesson's programs (`cargo run -- tour 03`), and [`transcript`] plays the same scripts to
//! write the book's terminal sessions (`cargo run -- transcripts`), which a test keeps current.
//!
//! **Taught code**, a lesson in itself: [`socketserver`], lesson 06's framework (Python's
//! `socketserver`): a server that owns the accept loop and a thread per connection, and a
//! handler trait that owns one conversation. Read it as you read a lesson file.

pub mod chat;
pub mod check;
pub mod cli;
pub mod console;
pub mod ctime;
pub mod experiment;
pub mod explain;
pub mod index;
pub mod ready;
pub mod socketserver;
pub mod style;
pub mod tour;
pub mod transcript;
