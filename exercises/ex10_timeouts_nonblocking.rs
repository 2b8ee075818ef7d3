//! Exercise ex10_timeouts_nonblocking — not written yet.

use socket_lessons::cli;
use std::process::ExitCode;

/// No arguments: the experiment runs by itself.
#[derive(clap::Args, Debug)]
struct Experiment {}

fn main() -> ExitCode {
    cli::run("10_timeouts_nonblocking", run)
}

fn run(_: Experiment) -> std::io::Result<()> {
    Ok(())
}
