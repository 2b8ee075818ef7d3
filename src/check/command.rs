//! `cargo run -- check LESSON [--exercise NAME] [-- CMD ARGS…]`: a lesson's checks, run on a
//! program and reported as a learner reads them.
//!
//! Support module. With no command, the lesson's own binary is checked; with `--exercise`, the
//! exercise's binary; with a command, any program in any language. Run through `cargo run`,
//! the binary to check is rebuilt first, so a learner's last edit is what runs. Ctrl-C stops
//! every program the checks started before `check` exits.

use super::{Target, Verdict, process, run_suite};
use crate::index::{self, Lesson};
use crate::style;
use colored::Colorize;
use indoc::indoc;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// The arguments of `check`.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The lesson whose protocol to check, by binary name: 03_ctime_server, 05_udp_client, …
    pub lesson: String,
    /// Check this exercise (a binary in exercises/) instead of the lesson's own binary.
    #[arg(long, value_name = "NAME")]
    pub exercise: Option<String>,
    /// Any program to check instead, after `--`; `{port}` in it is replaced by the port to
    /// use. Without `{port}`, it must use the lesson's default port.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

const AFTER_HELP: &str = indoc! {"
    Examples:
      cargo run -- check 03_ctime_server
      cargo run -- check 03_ctime_server --exercise ex03_ctime_server
      cargo run -- check 03_ctime_server -- python3 my_server.py {port}
      cargo run -- check 03_ctime_client -- python3 my_client.py --port {port}

    A server is ready to be checked when it prints `listening on IP:PORT`
    (UDP: `bound to IP:PORT`) on stdout, or when a socket holds its port.
"};

/// Runs `check` and returns the exit status: 0 when every check passed.
pub fn main(args: Args) -> ExitCode {
    style::init();
    // Ctrl-C (or a TERM signal) must not leave a checked server running.
    let _ = ctrlc::set_handler(|| {
        process::kill_all();
        eprintln!("\ninterrupted: every program the checks started is stopped");
        std::process::exit(130);
    });
    match prepare(&args) {
        Ok((lesson, target)) => report(lesson, &target),
        Err(message) => {
            style::error(message);
            ExitCode::FAILURE
        }
    }
}

/// Finds the lesson and builds the target: a command, an exercise or the lesson itself.
fn prepare(args: &Args) -> Result<(&'static Lesson, Target), String> {
    let lesson = index::find(&args.lesson)
        .ok_or_else(|| unknown_lesson(&args.lesson))?;
    if lesson.checks.is_empty() {
        return Err(format!("{} has no protocol checks", lesson.name));
    }
    if !args.command.is_empty() {
        return Target::command(lesson, &args.command)
            .map(|target| (lesson, target))
            .map_err(|f| f.to_string());
    }
    let binary = match &args.exercise {
        Some(name) => {
            let exercise = index::find_exercise(name)
                .ok_or_else(|| unknown_exercise(name))?;
            if exercise.lesson != lesson.name {
                return Err(format!(
                    "{name} is checked against {}: cargo run -- check {} --exercise {name}",
                    exercise.lesson, exercise.lesson
                ));
            }
            name.as_str()
        }
        None => lesson.name,
    };
    build(binary)?;
    Ok((lesson, Target::binary(lesson, sibling(binary)?, &[])))
}

/// Runs the checks and prints each verdict, then the summary line.
fn report(lesson: &Lesson, target: &Target) -> ExitCode {
    println!(
        "{}",
        format!(
            "checking {} against the protocol of {}",
            target.describe(),
            lesson.name
        )
        .bold()
    );
    let verdicts = run_suite(lesson.checks, target, print_verdict);
    let failed = verdicts
        .iter()
        .filter(|verdict| verdict.outcome.is_err())
        .count();
    let passed = verdicts.len() - failed;
    println!();
    let summary = format!("{passed} passed, {failed} failed");
    if failed == 0 {
        println!("{}", summary.green().bold());
        ExitCode::SUCCESS
    } else {
        println!("{}", summary.red().bold());
        ExitCode::FAILURE
    }
}

fn print_verdict(verdict: &Verdict) {
    let seconds = format!("({:.2}s)", verdict.took.as_secs_f64()).dimmed();
    match &verdict.outcome {
        Ok(()) => {
            println!("  {} {} {seconds}", "passed".green(), verdict.check.name)
        }
        Err(failure) => {
            println!(
                "  {} {} {seconds}",
                "FAILED".red().bold(),
                verdict.check.name
            );
            println!("         expected: {}", failure.expected);
            println!("         got:      {}", failure.got.yellow());
            println!("         read:     {}", verdict.check.section);
        }
    }
}

/// Rebuilds `binary` when running under Cargo, so the checks see the learner's last edit.
fn build(binary: &str) -> Result<(), String> {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return Ok(()); // run directly, not through cargo: check what is built
    };
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--bin", binary, "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .status()
        .map_err(|error| format!("cannot run cargo build: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{binary} does not build: fix the errors above, then check again"
        ))
    }
}

/// The path of a binary built beside this one (in `target/debug/`).
fn sibling(binary: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|error| error.to_string())?;
    let path =
        me.with_file_name(format!("{binary}{}", std::env::consts::EXE_SUFFIX));
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built: run `cargo build` first",
            path.display()
        ))
    }
}

fn unknown_lesson(name: &str) -> String {
    let names: Vec<&str> = index::LESSONS
        .iter()
        .filter(|lesson| !lesson.checks.is_empty())
        .map(|lesson| lesson.name)
        .collect();
    format!(
        "{name} is not a lesson with checks; try one of: {}",
        names.join(", ")
    )
}

fn unknown_exercise(name: &str) -> String {
    let names: Vec<&str> = index::EXERCISES
        .iter()
        .map(|exercise| exercise.name)
        .collect();
    format!(
        "{name} is not an exercise; the exercises are: {}",
        names.join(", ")
    )
}
