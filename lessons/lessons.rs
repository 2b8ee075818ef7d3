//! The lesson index: what `cargo run` prints with no `--bin`, and the learner's
//! tools.
//!
//! With no arguments it lists every lesson in the order the book teaches them,
//! with what it shows and the command that runs it; the list comes from the one
//! table in `src/index.rs`. `cargo run -- check LESSON` runs a lesson's
//! protocol checks on a program; `cargo run -- tour 03` runs lesson 03's server
//! and client together, with a scripted conversation; and
//! `cargo run -- transcripts` writes the book's terminal sessions from the same
//! scripts.

use clap::{Parser, Subcommand};
use colored::Colorize;
use socket_lessons::{check, index, style, tour, transcript};
use std::process::ExitCode;

/// The lessons, and the tools that go with them.
#[derive(Parser)]
#[command(name = "lessons")]
struct Cli {
    #[command(subcommand)]
    tool: Option<Tool>,
}

#[derive(Subcommand)]
enum Tool {
    /// Run a lesson's protocol checks on its binary, an exercise, or any
    /// program.
    Check(check::command::Args),
    /// Run a lesson's server and client together in this terminal, with a
    /// scripted conversation, both sides shown.
    Tour(tour::Args),
    /// Write the book's terminal sessions (book/src/transcripts/) by running
    /// the lessons.
    Transcripts(transcript::Args),
}

fn main() -> ExitCode {
    match Cli::parse().tool {
        None => {
            list();
            ExitCode::SUCCESS
        }
        Some(Tool::Check(args)) => check::command::main(args),
        Some(Tool::Tour(args)) => tour::main(args),
        Some(Tool::Transcripts(args)) => transcript::main(args),
    }
}

fn list() {
    style::init();
    // ANCHOR: list
    println!(
        "{}",
        "socket-lessons: the sockets API, one runnable lesson at a time".bold()
    );
    println!();
    let width = index::LESSONS
        .iter()
        .map(|lesson| lesson.name.len())
        .max()
        .unwrap_or(0);
    for lesson in index::LESSONS {
        let name = format!("{:width$}", lesson.name);
        println!("  {}  {}", name.bold().cyan(), lesson.summary);
        println!("  {:width$}  {}", "", lesson.command().green());
    }
    println!();
    println!("{}", "Exercises: edit the file, then check it".bold());
    let width = index::EXERCISES
        .iter()
        .map(|exercise| exercise.file().len())
        .max()
        .unwrap_or(0);
    for exercise in index::EXERCISES {
        let name = format!("{:width$}", exercise.file());
        println!("  {}  {}", name.bold().cyan(), exercise.summary);
        println!("  {:width$}  {}", "", exercise.check_command().green());
    }
    println!();
    println!(
        "See a lesson run, both sides in one terminal:  cargo run -- tour 03"
    );
    println!(
        "Check a program of your own, in any language:\n  \
         cargo run -- check 03_ctime_server -- python3 my_server.py {{port}}"
    );
    println!(
        "Each lesson's chapter is in book/src/ \
         (read it with `mdbook serve book`)."
    );
    println!(
        "Add --help after the command to see a lesson's options: \
         cargo run --bin 03_ctime_server -- --help"
    );
    // ANCHOR_END: list
}
