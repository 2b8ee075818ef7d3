//! The small library behind the lessons.
//!
//! Everything here is what a lesson needs but is *not* about: reading `--host` and `--port`,
//! printing in colour, formatting the time like C's `ctime`, and turning an error into one clear
//! line. The socket calls themselves stay in the lesson files under `lessons/`, where a learner
//! reads them top to bottom.

pub mod check;
pub mod cli;
pub mod console;
pub mod ctime;
pub mod explain;
pub mod index;
pub mod ready;
pub mod style;
