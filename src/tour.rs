//! The tour: a lesson's programs run together, with a scripted conversation.
//!
//! Support module. A [`Script`] names who takes part — the lesson's server, its clients,
//! bare connections standing in for `nc` — and the steps of their conversation: type a line
//! into this one, wait until that one prints a line containing these words, end this one's
//! input, wait for that one to exit. The steps that wait make what each participant prints
//! the same on every run: that is what lets the very same scripts show a lesson in the tour
//! and write the book's terminal sessions ([`crate::transcript`]). Every wait has a deadline,
//! and every program is stopped when its session ends, even on Ctrl-C.
//!
//! `cargo run -- tour 03` ([`main`]) runs the script kept beside lesson 03's row in
//! [`crate::index`] and shows what every participant prints, interleaved as it comes, each
//! line prefixed with its side (`server │`, `client │`). `cargo run -- tour` walks every
//! lesson that has a script.

mod session;

pub use session::{Entry, Record, Session};

use crate::check::Failure;
use crate::check::process::Stream;
use crate::index::{self, Lesson};
use crate::style;
use colored::{Color, Colorize};
use indoc::indoc;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// How long a step may wait for what it waits for before the session fails. Longer than any
/// lesson's own timeout (the UDP client waits 2 s for a reply), and only ever reached when
/// something is wrong.
pub const WAIT: Duration = Duration::from_secs(5);

/// The prompt our lessons show when they wait for a typed line ([`crate::console`]).
pub const PROMPT: &str = ">> ";

/// A conversation between a lesson's programs, step by step.
#[derive(Debug)]
pub struct Script {
    /// Names the session: the book's transcripts of it are `NAME.SIDE.txt`.
    pub name: &'static str,
    /// Who takes part, referred to by position in the steps.
    pub participants: &'static [Participant],
    /// What happens, in order. A step that waits blocks the next one until it is done.
    pub steps: &'static [Step],
}

/// One side of a conversation.
#[derive(Debug, Clone, Copy)]
pub struct Participant {
    /// Its name in the tour's prefix and in its transcript's file name: `server`, `client`.
    pub side: &'static str,
    /// What runs there.
    pub program: Program,
    /// A command the transcript shows piping its output into this program (`python3 -c …`);
    /// the script types what that command would print. Through a pipe nothing is echoed.
    pub piped_from: Option<&'static str>,
    /// The transcript shows only how many bytes it printed, as `| wc -c` would.
    pub counted: bool,
}

impl Participant {
    /// A participant running `program`, its output shown as it comes.
    pub const fn new(side: &'static str, program: Program) -> Participant {
        Participant {
            side,
            program,
            piped_from: None,
            counted: false,
        }
    }

    /// The same participant, its input piped from `command` instead of typed.
    pub const fn piped_from(self, command: &'static str) -> Participant {
        Participant {
            piped_from: Some(command),
            ..self
        }
    }

    /// The same participant, its output counted by `wc -c` instead of shown.
    pub const fn counted(self) -> Participant {
        Participant {
            counted: true,
            ..self
        }
    }
}

/// What runs on one side of a conversation.
#[derive(Debug, Clone, Copy)]
pub enum Program {
    /// A lesson binary that listens, and its extra arguments. It is started with `--port 0`
    /// and waited for until its ready line says which port it got: the session's port.
    Server(&'static str, &'static [&'static str]),
    /// A lesson binary given `--port` with the session's port, and its extra arguments: a
    /// client, or a server sent to a port that is taken. With no server in the session, the
    /// port is one where nothing listens.
    Lesson(&'static str, &'static [&'static str]),
    /// One of our binaries run with exactly these arguments (`--help`, say). `lessons` is the
    /// index, which `cargo run` runs with no `--bin`.
    Command(&'static str, &'static [&'static str]),
    /// A bare TCP connection to the session's port, sending the bytes the script gives it:
    /// what `nc` or a few lines of Python would send. It has no transcript of its own.
    Connection,
    /// A bare UDP socket sending datagrams to the session's port, as `nc -u` would.
    Datagrams,
    /// A TCP listener holding a port, as an earlier run of a server would: the session's port
    /// is then that one.
    PortHolder,
}

/// One step of a conversation; the number is the participant's position.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Starts the participant: a server is waited for until it is ready, a connection until
    /// it is connected.
    Start(usize),
    /// Types a line at the program's prompt, as a person would once it asks.
    Type(usize, &'static str),
    /// Types a line before the program asks for one: a terminal shows it where it was typed.
    TypeAhead(usize, &'static str),
    /// Sends bytes from a bare connection or UDP socket.
    Send(usize, &'static [u8]),
    /// Waits until the participant prints a line containing this text (or a bare connection
    /// receives bytes containing it), after what the steps before saw of it.
    Expect(usize, &'static str),
    /// Ends the program's input, as Ctrl-D does; closes a bare connection.
    EndInput(usize),
    /// Stops the program at once, as Ctrl-C does: it gets no say, and its OS closes its
    /// sockets.
    Interrupt(usize),
    /// Waits until the program exits by itself.
    Exit(usize),
    /// Waits until the program exits, and shows its exit status as the shell would.
    ExitStatus(usize),
}

/// The arguments of `tour`.
#[derive(clap::Args, Debug)]
#[command(after_help = TOUR_HELP)]
pub struct Args {
    /// The lesson to tour: its number (03), or the name of its server or client. With
    /// none, every lesson that has a tour, one after the other.
    pub lesson: Option<String>,
}

const TOUR_HELP: &str = indoc! {"
    Examples:
      cargo run -- tour 03
      cargo run -- tour 05_udp_client
      cargo run -- tour

    Each line is prefixed with the side that printed it; what the script types
    is shown after the prompt, as you would see it in that side's terminal.
"};

/// Runs `tour`: one lesson's script, or all of them with a pause between (on a terminal).
pub fn main(args: Args) -> ExitCode {
    style::init();
    // Ctrl-C (or a TERM signal) must not leave a server running.
    let _ = ctrlc::set_handler(|| {
        crate::check::process::kill_all();
        eprintln!("\ninterrupted: every program the tour started is stopped");
        std::process::exit(130);
    });
    let tours = match &args.lesson {
        Some(wanted) => match find(wanted) {
            Some(found) => vec![found],
            None => {
                style::error(unknown(wanted));
                return ExitCode::FAILURE;
            }
        },
        None => every_tour(),
    };
    let names: Vec<&str> = tours
        .iter()
        .flat_map(|(_, script)| binaries(script))
        .collect();
    let directory = match build(&names) {
        Ok(directory) => directory,
        Err(message) => {
            style::error(message);
            return ExitCode::FAILURE;
        }
    };
    for (number, (lesson, script)) in tours.iter().enumerate() {
        if number > 0 && !pause(lesson) {
            break;
        }
        if let Err(failure) = show(lesson, script, &directory) {
            style::error(format!(
                "the tour of {} broke: {failure}",
                lesson.name
            ));
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Every lesson that has a tour, each tour once (a server and its client share theirs).
pub fn every_tour() -> Vec<(&'static Lesson, &'static Script)> {
    let mut tours: Vec<(&'static Lesson, &'static Script)> = Vec::new();
    for lesson in index::LESSONS {
        if let Some(script) = lesson.tour {
            if tours.iter().all(|(_, seen)| seen.name != script.name) {
                tours.push((lesson, script));
            }
        }
    }
    tours
}

/// The tour named by `wanted`: a lesson's number (`03`, `3`) or the name of any lesson in
/// it, the server's or the client's.
pub fn find(wanted: &str) -> Option<(&'static Lesson, &'static Script)> {
    let prefix = wanted.parse::<u32>().ok().map(|n| format!("{n:02}_"));
    let script = index::LESSONS
        .iter()
        .filter(|lesson| match &prefix {
            Some(prefix) => lesson.name.starts_with(prefix.as_str()),
            None => lesson.name == wanted,
        })
        .find_map(|lesson| lesson.tour)?;
    every_tour()
        .into_iter()
        .find(|(_, tour)| tour.name == script.name)
}

fn unknown(wanted: &str) -> String {
    let mut numbers: Vec<&str> = every_tour()
        .iter()
        .map(|(lesson, _)| &lesson.name[..2])
        .collect();
    // The chat stages share a number: name it once.
    numbers.dedup();
    format!(
        "{wanted} is not a lesson with a tour; try a number ({}) or a lesson's \
         name, such as 07_chat_6_robust (a number picks its first tour)",
        numbers.join(", ")
    )
}

/// The binaries a script runs.
pub fn binaries(script: &Script) -> Vec<&'static str> {
    script
        .participants
        .iter()
        .filter_map(|participant| match participant.program {
            Program::Server(name, _)
            | Program::Lesson(name, _)
            | Program::Command(name, _) => Some(name),
            _ => None,
        })
        .collect()
}

/// Makes sure the binaries `names` are built, and returns the directory they are in (the
/// one this program runs from). Run through `cargo run`, they are built first: `cargo run`
/// builds only the binary it runs.
pub fn build(names: &[&str]) -> Result<PathBuf, String> {
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut command = Command::new(cargo);
        command.args(["build", "--quiet"]);
        for name in names {
            command.args(["--bin", name]);
        }
        command
            .arg("--manifest-path")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
        let status = command
            .status()
            .map_err(|error| format!("cannot run cargo build: {error}"))?;
        if !status.success() {
            return Err("the lessons do not build: see the errors above".into());
        }
    }
    let me = std::env::current_exe().map_err(|error| error.to_string())?;
    let directory = me.parent().map(Path::to_path_buf).unwrap_or_default();
    for name in names {
        let path =
            directory.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if !path.exists() {
            return Err(format!(
                "{} is not built: run `cargo build` first",
                path.display()
            ));
        }
    }
    Ok(directory)
}

/// Waits for Enter before the next lesson, when a person is there to press it. False when
/// the input has ended.
fn pause(next: &Lesson) -> bool {
    if !io::stdin().is_terminal() {
        say("");
        return true;
    }
    print!(
        "\n{}",
        format!("Press Enter for {}, or Ctrl-C to stop. ", next.name).bold()
    );
    let _ = io::stdout().flush();
    let mut line = String::new();
    matches!(io::stdin().lock().read_line(&mut line), Ok(1..))
}

/// The colours that tell the sides apart, in the order of a script's participants.
const SIDE_COLOURS: [Color; 5] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Blue,
    Color::Green,
];

/// Plays `script` and prints every participant's lines as they come, prefixed with its side.
fn show(
    lesson: &Lesson,
    script: &'static Script,
    directory: &Path,
) -> Result<(), Failure> {
    let mut title = format!("── the tour of {}", lesson.name);
    if let Some(peer) = lesson.peer {
        title += &format!(" and {peer}");
    }
    say(&format!("{title} ── {}", lesson.chapter).bold().to_string());
    let width = script
        .participants
        .iter()
        .map(|participant| participant.side.chars().count())
        .max()
        .unwrap_or(0);
    let mut watch = |who: usize, entry: &Entry| {
        let side = script.participants[who].side;
        let colour = SIDE_COLOURS[who % SIDE_COLOURS.len()];
        let prefix = format!("{side:>width$} │").color(colour);
        say(&format!("{prefix} {}", shown(entry)));
    };
    Session::new(script, directory, &mut watch).play()?;
    say(&"── the end: every program the tour started is stopped"
        .dimmed()
        .to_string());
    Ok(())
}

/// One entry as the tour prints it.
fn shown(entry: &Entry) -> String {
    match entry {
        Entry::Command(line) => format!("$ {line}").dimmed().to_string(),
        Entry::Output(line) if line.stream == Stream::Stderr => {
            line.text.red().to_string()
        }
        Entry::Output(line) => line.text.clone(),
        Entry::Typed(text) if text.is_empty() => PROMPT.trim_end().to_string(),
        Entry::Typed(text) => format!("{PROMPT}{}", text.bold()),
        Entry::TypedAhead(text) => text.bold().to_string(),
        Entry::Sent(bytes) => format!("sends {}", style::shown(bytes)),
        Entry::Received(bytes) => format!("receives {}", style::shown(bytes))
            .green()
            .to_string(),
        Entry::Interrupted => "^C".bold().to_string(),
        Entry::Status(code) => {
            format!("exit status {code}").dimmed().to_string()
        }
    }
}

/// Prints a line. A reader that has gone (`cargo run -- tour | head`) is no reason to stop the
/// tour halfway, leaving it to end and stop its programs as usual.
fn say(line: &str) {
    let _ = writeln!(io::stdout(), "{line}");
}
