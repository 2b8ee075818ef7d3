//! The book's terminal sessions are what the programs print now: every transcript in
//! `book/src/transcripts/` is played again from its script and compared, with times, dates and
//! ports masked; so is every chat chapter's diff, made again from the lesson files. When one
//! differs, `cargo run -- transcripts` writes them anew.

use socket_lessons::transcript::{self, DIRECTORY, Transcript, diffs, mask};
use std::fs;
use std::path::Path;

/// Where Cargo built the binaries for this test run.
fn binaries() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lessons"))
        .parent()
        .expect("a binary lives in a directory")
}

fn directory() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DIRECTORY)
}

/// The first line where two texts differ, masked, for the failure message.
fn first_difference(committed: &str, generated: &str) -> String {
    let committed = mask(committed);
    let generated = mask(generated);
    let mut committed_lines = committed.lines();
    let mut generated_lines = generated.lines();
    for number in 1.. {
        match (committed_lines.next(), generated_lines.next()) {
            (None, None) => break,
            (old, new) if old == new => continue,
            (old, new) => {
                return format!(
                    "line {number}:\n    the book:    {}\n    the program: {}",
                    old.unwrap_or("(nothing)"),
                    new.unwrap_or("(nothing)")
                );
            }
        }
    }
    "the same lines, but not the same text (line endings?)".to_string()
}

#[test]
fn the_books_sessions_are_what_the_programs_print_now() {
    let transcripts =
        transcript::play_all(binaries()).unwrap_or_else(|failures| {
            let failures: Vec<String> =
                failures.iter().map(|failure| failure.to_string()).collect();
            panic!("a script did not play:\n{}", failures.join("\n"))
        });
    let mut stale = Vec::new();
    for Transcript { file, text } in &transcripts {
        let path = directory().join(file);
        match fs::read_to_string(&path) {
            Ok(committed) if mask(&committed) == mask(text) => {}
            Ok(committed) => stale.push(format!(
                "{DIRECTORY}/{file} differs at {}",
                first_difference(&committed, text)
            )),
            Err(_) => stale.push(format!("{DIRECTORY}/{file} is missing")),
        }
    }
    for path in transcript::committed(&directory()).expect("readable") {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if transcripts.iter().all(|transcript| transcript.file != name) {
            stale.push(format!("{DIRECTORY}/{name} has no script any more"));
        }
    }
    assert!(
        stale.is_empty(),
        "the book shows sessions the programs no longer print; \
         run `cargo run -- transcripts` and read the changes:\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_chat_chapters_diffs_are_what_the_lesson_files_give_now() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let changed = diffs::update(root, &directory(), true)
        .unwrap_or_else(|error| panic!("cannot make the diffs: {error}"));
    assert!(
        changed.is_empty(),
        "the chat chapters open with diffs the lesson files no longer give; \
         run `cargo run -- transcripts` and read the changes:\n{}",
        changed
            .iter()
            .map(|file| format!("{DIRECTORY}/{file}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_transcript_is_shown_in_a_console_block() {
    let mut book = String::new();
    for entry in fs::read_dir(directory().join("..")).expect("book/src") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|extension| extension == "md") {
            book += &fs::read_to_string(&path).expect("a chapter is text");
        }
    }
    for path in transcript::committed(&directory()).expect("readable") {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let include = format!("{{{{#include transcripts/{name}}}}}");
        let lines: Vec<&str> = book.lines().map(str::trim).collect();
        let shown = lines
            .windows(3)
            .any(|three| three == ["```console", include.as_str(), "```"]);
        assert!(
            shown,
            "no chapter shows {DIRECTORY}/{name}; include it alone in a fence:\n\
             ```console\n{include}\n```"
        );
    }
}

#[test]
fn every_stage_diff_opens_its_chapter_in_a_diff_block() {
    for entry in fs::read_dir(directory()).expect("the transcripts") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|extension| extension != "diff") {
            continue;
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let stage = name.trim_end_matches(".diff");
        let chapter = directory().join(format!("../{stage}.md"));
        let text = fs::read_to_string(&chapter).unwrap_or_default();
        let include = format!("{{{{#include transcripts/{name}}}}}");
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert!(
            lines
                .windows(3)
                .any(|three| three == ["```diff", include.as_str(), "```"]),
            "{} does not show {DIRECTORY}/{name}; include it alone in a \
             fence:\n```diff\n{include}\n```",
            chapter.display()
        );
    }
}
