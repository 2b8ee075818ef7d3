//! Lesson 16 — not written yet.

use socket_lessons::cli;
use std::process::ExitCode;

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

fn main() -> ExitCode {
    cli::run(env!("CARGO_BIN_NAME"), run)
}

fn run(_: Experiment) -> std::io::Result<()> {
    Ok(())
}
