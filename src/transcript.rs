//! The book's terminal sessions, written by running the real programs.
//!
//! Support module. Every terminal session in the book that shows our programs is a file in
//! `book/src/transcripts/`, which its chapter includes inside a ```` ```console ```` fence:
//! one participant's screen from playing a [`Script`] — a lesson's tour, kept beside its row in
//! [`crate::index`], or one of the sessions below that only the book shows (an error, the
//! index, a `--help`). A screen reads as that terminal did: the `$ cargo run …` line, what the
//! program printed, and the lines typed after its prompt.
//!
//! `cargo run -- transcripts` ([`main`]) plays every script and writes the files;
//! `tests/transcripts.rs` plays them again and fails when a committed file differs from what
//! the programs print now. Times, dates and ports change from run to run, so both compare the
//! texts with those masked ([`mask`]), and a file is rewritten only when something else changed.

use crate::check::Failure;
use crate::check::process::Stream;
use crate::style;
use crate::tour::{
    self, Entry, PROMPT, Participant, Program, Script, Session, Step::*,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;

pub mod diffs;

/// Where the transcripts are, from the repository's root.
pub const DIRECTORY: &str = "book/src/transcripts";

/// 1500 bytes of `x`: more than the 1024 bytes the lessons read at once.
const LONG_LINE: &str = match std::str::from_utf8(&[b'x'; 1500]) {
    Ok(text) => text,
    Err(_) => panic!("x is ASCII"),
};

/// How to use the book: what `cargo run` prints.
const INDEX: Script = Script {
    name: "how_to_use_index",
    participants: &[Participant::new(
        "lessons",
        Program::Command("lessons", &[]),
    )],
    steps: &[Start(0), Exit(0)],
};

/// How to use the book: a lesson's `--help`.
const HELP: Script = Script {
    name: "how_to_use_help",
    participants: &[Participant::new(
        "server",
        Program::Command("03_ctime_server", &["--help"]),
    )],
    steps: &[Start(0), Exit(0)],
};

/// How to use the book: a server on `--port 0`, and a client sent to the port it got.
const PORT_0: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "how_to_use_port_0",
        participants: &[
            Participant::new("server", Program::Server("03_ctime_server", &[])),
            Participant::new("client", Program::Lesson("03_ctime_client", &[])),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Expect(CLIENT, "connected to"),
            Type(CLIENT, "hello"),
            Expect(CLIENT, "hello"),
            Type(CLIENT, ""),
            Exit(CLIENT),
            Expect(SERVER, "closed"),
        ],
    }
};

/// The introduction: a port number that does not fit in 16 bits.
const PORT_TOO_BIG: Script = Script {
    name: "introduction_port_too_big",
    participants: &[Participant::new(
        "server",
        Program::Command("03_ctime_server", &["--port", "70000"]),
    )],
    steps: &[Start(0), Exit(0)],
};

/// Chapter 01: a second server on a port that is taken.
const PORT_IN_USE: Script = Script {
    name: "01_port_in_use",
    participants: &[
        Participant::new("holder", Program::PortHolder),
        Participant::new(
            "server",
            Program::Lesson("01_bind_listen_accept", &[]),
        ),
    ],
    steps: &[Start(0), Start(1), Exit(1)],
};

/// Chapter 02: the client, with no server to talk to.
const REFUSED: Script = Script {
    name: "02_refused",
    participants: &[Participant::new(
        "client",
        Program::Lesson("02_talk_client", &[]),
    )],
    steps: &[Start(0), ExitStatus(0)],
};

/// Chapter 02: a line typed in the client before the server spoke, then Ctrl-C.
const OUT_OF_TURN: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "02_out_of_turn",
        participants: &[
            Participant::new("server", Program::Server("02_talk_server", &[])),
            Participant::new("client", Program::Lesson("02_talk_client", &[])),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Expect(SERVER, "connected;"),
            Expect(CLIENT, "connected to"),
            TypeAhead(CLIENT, "I am typing out of turn"),
            Type(SERVER, "hello?"),
            Expect(CLIENT, "hello?"),
            Expect(SERVER, "I am typing out of turn"),
            Type(SERVER, "are you still there?"),
            Expect(CLIENT, "are you still there?"),
            Interrupt(CLIENT),
            Exit(SERVER),
        ],
    }
};

/// Chapter 02: a bare connection in the client's place, sending what `nc` sends for the lines
/// `a` and `b`.
const TALK_TO_NC: Script = {
    const SERVER: usize = 0;
    const NC: usize = 1;
    Script {
        name: "02_nc",
        participants: &[
            Participant::new("server", Program::Server("02_talk_server", &[])),
            Participant::new("peer", Program::Connection),
        ],
        steps: &[
            Start(SERVER),
            Start(NC),
            Expect(SERVER, "connected;"),
            Type(SERVER, "one"),
            Expect(NC, "one\n"),
            Send(NC, b"a\n"),
            Expect(SERVER, r#": "a\n""#),
            Type(SERVER, "two"),
            Expect(NC, "two\n"),
            Send(NC, b"b\n"),
            Expect(SERVER, r#": "b\n""#),
            Type(SERVER, "quit"),
            Exit(SERVER),
        ],
    }
};

/// Chapter 02: the client meets a port where something listens but says nothing (a talk
/// server busy with another client, or not a talk server), and is stopped with Ctrl-C.
const PATIENCE_02: Script = {
    const LISTENER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "02_patience",
        participants: &[
            Participant::new("listener", Program::PortHolder),
            Participant::new(
                "client",
                Program::Lesson("02_talk_client", &["--patience", "0.5"]),
            ),
        ],
        steps: &[
            Start(LISTENER),
            Start(CLIENT),
            Expect(CLIENT, "Still waiting"),
            Interrupt(CLIENT),
        ],
    }
};

/// Chapter 03: a line longer than the client's buffer, piped in, the client's output counted.
const LONG_LINE_03: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "03_long_line",
        participants: &[
            Participant::new("server", Program::Server("03_ctime_server", &[])),
            Participant::new("client", Program::Lesson("03_ctime_client", &[]))
                .piped_from("python3 -c 'print(\"x\" * 1500)'")
                .counted(),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Type(CLIENT, LONG_LINE),
            // A pipe ends at once; waiting for the second answer first makes every run the
            // same: a client quicker than the server would reset the connection before the
            // second answer is sent, and the server would lose it, not the 476 bytes.
            Expect(SERVER, "sent 500 bytes"),
            EndInput(CLIENT),
            Exit(CLIENT),
            Expect(SERVER, "lost"),
        ],
    }
};

/// Chapter 03: the client sent to something that listens but never answers, as the wrong
/// lesson's server does (04_makefile_server waits for 10 bytes first).
const SILENT_SERVER_03: Script = {
    const LISTENER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "03_silent_server",
        participants: &[
            Participant::new("listener", Program::PortHolder),
            Participant::new(
                "client",
                Program::Lesson("03_ctime_client", &["--timeout", "1"]),
            ),
        ],
        steps: &[
            Start(LISTENER),
            Start(CLIENT),
            Expect(CLIENT, "connected to"),
            Type(CLIENT, "hello"),
            ExitStatus(CLIENT),
        ],
    }
};

/// Chapter 04: a client that sends 4 bytes of the 10-byte record and hangs up, as
/// `printf 'abcd' | nc -q0 127.0.0.1 9999` does.
const SHORT_RECORD: Script = {
    const SERVER: usize = 0;
    const NC: usize = 1;
    Script {
        name: "04_short_record",
        participants: &[
            Participant::new(
                "server",
                Program::Server("04_makefile_server", &[]),
            ),
            Participant::new("peer", Program::Connection),
        ],
        steps: &[
            Start(SERVER),
            Start(NC),
            Send(NC, b"abcd"),
            EndInput(NC),
            Expect(SERVER, "lost"),
        ],
    }
};

/// Chapter 04: a record of the wrong size, refused before any connection.
const WRONG_RECORD: Script = Script {
    name: "04_wrong_record",
    participants: &[Participant::new(
        "client",
        Program::Command("04_makefile_client", &["--record", "hello"]),
    )],
    steps: &[Start(0), Exit(0)],
};

/// Chapter 04: the client pointed at lesson 03's server, whose answer has no newline.
const WRONG_SERVER: Script = {
    const SERVER: usize = 0;
    const CLIENT: usize = 1;
    Script {
        name: "04_wrong_server",
        participants: &[
            Participant::new("server", Program::Server("03_ctime_server", &[])),
            Participant::new(
                "client",
                Program::Lesson("04_makefile_client", &["--timeout", "1"]),
            ),
        ],
        steps: &[
            Start(SERVER),
            Start(CLIENT),
            Expect(SERVER, "sent 34 bytes"),
            ExitStatus(CLIENT),
        ],
    }
};

/// Chapter 05: the client, with no server to answer.
const NO_SERVER: Script = Script {
    name: "05_no_server",
    participants: &[Participant::new(
        "client",
        Program::Lesson("05_udp_client", &[]),
    )],
    steps: &[
        Start(0),
        Expect(0, "sending to"),
        Type(0, "anyone there?"),
        Expect(0, "no reply"),
        Type(0, ""),
        Exit(0),
    ],
};

/// Chapter 05: a datagram longer than the server's buffer.
const TRUNCATED: Script = {
    const SERVER: usize = 0;
    const NC: usize = 1;
    Script {
        name: "05_truncated",
        participants: &[
            Participant::new("server", Program::Server("05_udp_server", &[])),
            Participant::new("peer", Program::Datagrams),
        ],
        steps: &[
            Start(SERVER),
            Start(NC),
            Send(NC, LONG_LINE.as_bytes()),
            Expect(SERVER, "sent 1048 bytes"),
        ],
    }
};

/// The sessions only the book shows, beside the lessons' tours.
const BOOK_ONLY: &[&Script] = &[
    &INDEX,
    &HELP,
    &PORT_0,
    &PORT_TOO_BIG,
    &PORT_IN_USE,
    &REFUSED,
    &OUT_OF_TURN,
    &TALK_TO_NC,
    &PATIENCE_02,
    &LONG_LINE_03,
    &SILENT_SERVER_03,
    &SHORT_RECORD,
    &WRONG_RECORD,
    &WRONG_SERVER,
    &NO_SERVER,
    &TRUNCATED,
];

/// Every script whose screens the book shows: the tours, then the book's own.
pub fn scripts() -> Vec<&'static Script> {
    tour::every_tour()
        .into_iter()
        .map(|(_, script)| script)
        .chain(BOOK_ONLY.iter().copied())
        .collect()
}

/// One terminal's screen, as the book shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Its file name in [`DIRECTORY`]: `SCRIPT.SIDE.txt`.
    pub file: String,
    /// What the terminal showed, one line each, ending with a newline.
    pub text: String,
}

/// Plays `script` with the binaries in `binaries`, and returns the screen of every program in
/// it (bare connections have none: the book does not make up another program's screen).
pub fn play(
    script: &'static Script,
    binaries: &Path,
) -> Result<Vec<Transcript>, Failure> {
    let record = Session::new(script, binaries, &mut |_, _| {}).play()?;
    Ok(script
        .participants
        .iter()
        .zip(&record.screens)
        .filter(|(participant, _)| {
            matches!(
                participant.program,
                Program::Server(..)
                    | Program::Lesson(..)
                    | Program::Command(..)
            )
        })
        .map(|(participant, screen)| Transcript {
            file: format!(
                "{}.{}.txt",
                script.name,
                participant.side.replace(' ', "_")
            ),
            text: render(participant, screen),
        })
        .collect())
}

/// Plays every script, all at once (each has ports of its own), and returns every
/// transcript, or every failure.
pub fn play_all(binaries: &Path) -> Result<Vec<Transcript>, Vec<Failure>> {
    let results: Vec<Result<Vec<Transcript>, Failure>> =
        thread::scope(|scope| {
            let players: Vec<_> = scripts()
                .into_iter()
                .map(|script| scope.spawn(move || play(script, binaries)))
                .collect();
            players
                .into_iter()
                .map(|player| {
                    player.join().unwrap_or_else(|_| {
                        Err(Failure::new("a script to play", "it panicked"))
                    })
                })
                .collect()
        });
    let mut transcripts = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(mut some) => transcripts.append(&mut some),
            Err(failure) => failures.push(failure),
        }
    }
    if failures.is_empty() {
        Ok(transcripts)
    } else {
        Err(failures)
    }
}

/// A participant's screen as its terminal showed it.
pub fn render(participant: &Participant, screen: &[Entry]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut counted = 0;
    for entry in screen {
        match entry {
            Entry::Command(command) => {
                let mut line = "$ ".to_string();
                if let Some(input) = participant.piped_from {
                    line += &format!("{input} | ");
                }
                line += command;
                if participant.counted {
                    line += " | wc -c";
                }
                lines.push(line);
            }
            Entry::Output(line)
                if participant.counted && line.stream == Stream::Stdout =>
            {
                counted += line.text.len() + 1; // and its newline
            }
            Entry::Output(line) => lines.push(line.text.clone()),
            // Through a pipe, nothing typed is shown.
            Entry::Typed(_) | Entry::TypedAhead(_)
                if participant.piped_from.is_some() => {}
            Entry::Typed(text) => {
                lines.push(format!("{PROMPT}{text}").trim_end().to_string())
            }
            Entry::TypedAhead(text) => lines.push(text.clone()),
            Entry::Interrupted => lines.push("^C".to_string()),
            Entry::Status(code) => {
                lines.push("$ echo \"exit status $?\"".to_string());
                lines.push(format!("exit status {code}"));
            }
            Entry::Sent(_) | Entry::Received(_) => {}
        }
    }
    if participant.counted {
        lines.push(counted.to_string());
    }
    lines.join("\n") + "\n"
}

/// `text` with what changes from run to run replaced by a placeholder: `ctime` stamps
/// (`Thu Nov 26 01:28:29 2026`), the chat's dates (`2026/11/26 01:28:29`), measured times
/// and rates (`40.2 ms`, `310.5 MB/s`), the few answers that measure the machine's state
/// ([`MEASURED_ANSWERS`]), and port numbers
/// (`127.0.0.1:41234`, `[::1]:41234`, `--port 41234`). The texts compared are our programs'
/// own, where a colon after an address always starts a port.
pub fn mask(text: &str) -> String {
    let text = mask_measured_answers(text);
    let chars: Vec<char> = text.chars().collect();
    let mut masked = String::with_capacity(text.len());
    let mut at = 0;
    while at < chars.len() {
        let rest = &chars[at..];
        if fits(rest, "Aaa Aaa _9 99:99:99 9999") {
            masked += "<ctime>";
            at += 24;
        } else if fits(rest, "9999/99/99 99:99:99") {
            masked += "<date>";
            at += 19;
        } else if rest.len() >= 64
            && rest[..64]
                .iter()
                .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
            && rest.get(64).is_none_or(|c| !c.is_ascii_hexdigit())
        {
            // A challenge or an HMAC in hex (lesson 08): random each run.
            masked += "<64 hex digits>";
            at += 64;
        } else if let Some((placeholder, end)) = measured(&chars, at) {
            // A time or a rate an experiment measured (lessons 09 and on).
            masked += placeholder;
            at = end;
        } else if let Some(port) = port_after(&chars, at) {
            masked += port.0;
            masked += "<port>";
            at = port.1;
        } else {
            masked.push(chars[at]);
            at += 1;
        }
    }
    masked
}

/// The answers of an experiment that are measurements of the machine's state at that moment,
/// by their labels ([`crate::experiment::answer`]): how many bytes a short write took depends on
/// how much buffer memory the kernel gave the connection just then.
const MEASURED_ANSWERS: &[&str] =
    &["write with a timeout", "non-blocking write"];

/// `text` with the answers of [`MEASURED_ANSWERS`] replaced by `<measured>`.
fn mask_measured_answers(text: &str) -> String {
    let masked: Vec<String> = text
        .split('\n')
        .map(|line| {
            MEASURED_ANSWERS
                .iter()
                .find(|label| {
                    line.strip_prefix(**label)
                        .is_some_and(|rest| rest.starts_with(": "))
                })
                .map_or_else(
                    || line.to_string(),
                    |label| format!("{label}: <measured>"),
                )
        })
        .collect();
    masked.join("\n")
}

/// At `at`, a measured time or rate as [`crate::experiment::duration`] prints it: digits, a
/// decimal point, one or more digits, a space and a unit (`40.2 ms`, `85.0 µs`, `1.2 s`,
/// `310.5 MB/s`). Returns its placeholder and where it ends.
fn measured(chars: &[char], at: usize) -> Option<(&'static str, usize)> {
    if at > 0 && chars[at - 1].is_alphanumeric() {
        return None;
    }
    let digits = |from: usize| {
        chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let whole = digits(at);
    if whole == 0 || chars.get(at + whole) != Some(&'.') {
        return None;
    }
    let fraction = digits(at + whole + 1);
    let space = at + whole + 1 + fraction;
    if fraction == 0 || chars.get(space) != Some(&' ') {
        return None;
    }
    const UNITS: &[(&str, &str)] = &[
        ("MB/s", "<rate>"),
        ("GB/s", "<rate>"),
        ("ms", "<time>"),
        ("µs", "<time>"),
        ("ns", "<time>"),
        ("s", "<time>"),
    ];
    UNITS.iter().find_map(|(unit, placeholder)| {
        let end = space + 1 + unit.chars().count();
        let fits = chars.get(space + 1..end)?.iter().copied().eq(unit.chars());
        let alone = chars.get(end).is_none_or(|c| !c.is_alphanumeric());
        (fits && alone).then_some((*placeholder, end))
    })
}

/// Whether `text` starts with `pattern`: `A` an upper-case letter, `a` a lower-case one, `9` a
/// digit, `_` a digit or a space, anything else itself.
fn fits(text: &[char], pattern: &str) -> bool {
    let mut text = text.iter();
    pattern.chars().all(|wanted| {
        text.next().is_some_and(|&c| match wanted {
            'A' => c.is_ascii_uppercase(),
            'a' => c.is_ascii_lowercase(),
            '9' => c.is_ascii_digit(),
            '_' => c.is_ascii_digit() || c == ' ',
            _ => c == wanted,
        })
    })
}

/// At `at`, the start of a port number: `:` after an IP address, or `--port `, followed by
/// digits. Returns what comes before the number, and where the number ends.
fn port_after(chars: &[char], at: usize) -> Option<(&'static str, usize)> {
    let digits_from = |start: usize| {
        let end = chars[start.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
            + start;
        (end > start).then_some(end)
    };
    if chars[at] == ':' && after_an_address(&chars[..at]) {
        return Some((":", digits_from(at + 1)?));
    }
    if fits(&chars[at..], "--port ") {
        return Some(("--port ", digits_from(at + 7)?));
    }
    None
}

/// Whether `before` ends with an IP address: `]` (of `[::1]`), or four numbers and three dots.
fn after_an_address(before: &[char]) -> bool {
    if before.last() == Some(&']') {
        return true;
    }
    let tail: String = before
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit() || **c == '.')
        .collect();
    tail.split('.').count() == 4 && tail.split('.').all(|part| !part.is_empty())
}

/// The arguments of `transcripts`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only compare: exit non-zero when a transcript is out of date, and write nothing.
    #[arg(long)]
    pub check: bool,
}

/// Runs `transcripts`: plays every script and writes the book's transcripts, rewriting only
/// those whose text changed beyond times, dates and ports, and removing those no script
/// writes any more.
pub fn main(args: Args) -> ExitCode {
    style::init();
    let _ = ctrlc::set_handler(|| {
        crate::check::process::kill_all();
        std::process::exit(130);
    });
    let names: Vec<&str> =
        scripts().into_iter().flat_map(tour::binaries).collect();
    let binaries = match tour::build(&names) {
        Ok(directory) => directory,
        Err(message) => {
            style::error(message);
            return ExitCode::FAILURE;
        }
    };
    let transcripts = match play_all(&binaries) {
        Ok(transcripts) => transcripts,
        Err(failures) => {
            for failure in failures {
                style::error(failure);
            }
            return ExitCode::FAILURE;
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let directory = root.join(DIRECTORY);
    // The chat chapters' diffs are written (and checked) beside the sessions.
    let updated =
        update(&directory, &transcripts, args.check).and_then(|mut changed| {
            changed.extend(diffs::update(root, &directory, args.check)?);
            Ok(changed)
        });
    match updated {
        Ok(changed) if args.check && !changed.is_empty() => {
            style::error(format!(
                "out of date: {} (run `cargo run -- transcripts`)",
                changed.join(", ")
            ));
            ExitCode::FAILURE
        }
        Ok(changed) => {
            for file in &changed {
                println!("wrote {DIRECTORY}/{file}");
            }
            println!(
                "{} transcripts, {} changed",
                transcripts.len(),
                changed.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            style::error(format!(
                "cannot write {}: {error}",
                directory.display()
            ));
            ExitCode::FAILURE
        }
    }
}

/// Writes the transcripts of every script with one whose masked text differs from its file's
/// (or that has no file), and removes the `.txt` files no script wrote; with `dry_run`, only
/// says which. All of a script's screens are written together, so the ports and times in one
/// session's terminals agree. Returns the files that changed.
fn update(
    directory: &Path,
    transcripts: &[Transcript],
    dry_run: bool,
) -> std::io::Result<Vec<String>> {
    let script_of =
        |file: &str| file.split('.').next().unwrap_or("").to_string();
    let mut changed = Vec::new();
    let mut scripts_changed = Vec::new();
    for transcript in transcripts {
        let path = directory.join(&transcript.file);
        let old = fs::read_to_string(&path).unwrap_or_default();
        if mask(&old) != mask(&transcript.text) {
            changed.push(transcript.file.clone());
            scripts_changed.push(script_of(&transcript.file));
        }
    }
    if !dry_run {
        fs::create_dir_all(directory)?;
        for transcript in transcripts {
            if scripts_changed.contains(&script_of(&transcript.file)) {
                fs::write(directory.join(&transcript.file), &transcript.text)?;
            }
        }
    }
    for stale in committed(directory)? {
        let name = stale.file_name().unwrap_or_default().to_string_lossy();
        if transcripts.iter().all(|t| t.file != name) {
            if !dry_run {
                fs::remove_file(&stale)?;
            }
            changed.push(format!("{name} (removed)"));
        }
    }
    Ok(changed)
}

/// The transcript files in `directory`.
pub fn committed(directory: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if directory.exists() {
        for entry in fs::read_dir(directory)? {
            let path = entry?.path();
            if path.extension().is_some_and(|extension| extension == "txt") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_times_dates_and_ports() {
        assert_eq!(
            mask(
                "sent 29 bytes to 127.0.0.1:59506: \"Thu Nov  6 01:28:29 2026hello\""
            ),
            "sent 29 bytes to 127.0.0.1:<port>: \"<ctime>hello\""
        );
        assert_eq!(
            mask("2026/11/26 01:28:29 [::1]:8000\n$ cargo run -- --port 41234"),
            "<date> [::1]:<port>\n$ cargo run -- --port <port>"
        );
    }

    #[test]
    fn masks_a_challenge_or_a_digest_in_hex() {
        let digest =
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            mask(&format!("received 64 bytes: \"{digest}\"")),
            "received 64 bytes: \"<64 hex digits>\""
        );
    }

    #[test]
    fn masks_what_an_experiment_measured() {
        assert_eq!(
            mask("delay: 40.2 ms, then 85.0 µs; copy: 1.2 s at 310.5 MB/s"),
            "delay: <time>, then <time>; copy: <time> at <rate>"
        );
    }

    #[test]
    fn masks_the_count_a_short_write_took() {
        assert_eq!(
            mask(
                "write with a timeout: Ok(3919467)\nnon-blocking write took: x"
            ),
            "write with a timeout: <measured>\nnon-blocking write took: x"
        );
    }

    #[test]
    fn leaves_the_rest_alone() {
        let text = "'70000' is not in 0..=65535 (os error 98, at 10:30) \
                    waited 2 s, v1.5 seconds, 3.5 sets";
        assert_eq!(mask(text), text);
    }
}
