//! The exercises and their lessons, held to each other both ways: every exercise as shipped
//! fails its lesson's checks (fast, with a wrong or missing answer, not by waiting out a
//! deadline), and the lesson it is drawn from passes every one of them. So a learner who starts
//! an exercise has something to do, and one who finishes it has a solution the checks accept.
//!
//! Also: every file in `exercises/` has its `[[bin]]`, its row in `index::EXERCISES`, its test
//! in `tests/exercises.rs` and its place in its chapter's exercises, and reads like a lesson
//! (80 columns, no `unwrap`).

mod exercise_support;

use exercise_support::{
    exercise, failed, report, run_checks, run_checks_at_once,
};
use socket_lessons::check::TIMEOUT;
use socket_lessons::index::{self, EXERCISES};
use std::fs;
use std::path::Path;

/// Holds the exercise `name` and its lesson to the lesson's checks: the lesson passes all of
/// them; the exercise fails at least one, and every failure comes before the checks' deadline.
fn ships_unsolved(name: &str) {
    ships_unsolved_waiting_for(name, &[]);
}

/// As [`ships_unsolved`], except that the checks named in `stalls` may fail by waiting out the
/// deadline: a stall (a broadcast stuck on a client that does not read, a line that never
/// ends) is seen only as nothing coming. The lesson and the exercise are checked at the same
/// time, and the exercise's checks all at once, so that such waits do not add up.
fn ships_unsolved_waiting_for(name: &str, stalls: &[&str]) {
    let (exercise, lesson) = exercise(name);

    let (of_lesson, of_exercise) = std::thread::scope(|scope| {
        let of_lesson = scope.spawn(|| run_checks(lesson, lesson.name));
        let of_exercise = run_checks_at_once(lesson, name);
        (
            of_lesson.join().expect("the lesson's checks ran"),
            of_exercise,
        )
    });
    assert_eq!(
        failed(&of_lesson),
        0,
        "\nthe lesson {} fails its own checks, so {name} cannot be solved:\n{}",
        lesson.name,
        report(&of_lesson)
    );

    let verdicts = of_exercise;
    assert!(
        failed(&verdicts) > 0,
        "\n{name} passes every check of {} as shipped: it leaves the learner nothing \
         to do. Take the step that {} sets out of it again.\n{}",
        lesson.name,
        exercise.section,
        report(&verdicts)
    );
    let may_wait = |check: &str| stalls.contains(&check);
    for verdict in verdicts.iter().filter(|verdict| verdict.outcome.is_err()) {
        assert!(
            verdict.took < TIMEOUT || may_wait(verdict.check.name),
            "{name} fails \"{}\" only after {:?}, by waiting out the deadline: make it fail \
             fast (a wrong answer, a close, a panic) so this test stays quick",
            verdict.check.name,
            verdict.took
        );
    }
}

#[test]
fn ex01_bind_listen_accept() {
    ships_unsolved("ex01_bind_listen_accept");
}

#[test]
fn ex02_talk_client() {
    ships_unsolved("ex02_talk_client");
}

#[test]
fn ex03_ctime_server() {
    ships_unsolved("ex03_ctime_server");
}

#[test]
fn ex04_makefile_server() {
    ships_unsolved("ex04_makefile_server");
}

#[test]
fn ex05_udp_server() {
    ships_unsolved("ex05_udp_server");
}

#[test]
fn ex06_threaded_server() {
    ships_unsolved_waiting_for(
        "ex06_threaded_server",
        &[
            "serves many clients at once: twenty connected together, their chunks interleaved, each answered",
            "a client that says nothing does not hold up the others",
        ],
    );
}

#[test]
fn ex07_chat_3_leave() {
    ships_unsolved("ex07_chat_3_leave");
}

#[test]
fn ex07_chat_4_lock() {
    ships_unsolved_waiting_for(
        "ex07_chat_4_lock",
        &["does not let a client that stops reading stall the others"],
    );
}

#[test]
fn ex07_chat_6_robust() {
    ships_unsolved_waiting_for(
        "ex07_chat_6_robust",
        &[
            "ends a client whose line is longer than the limit (64 KiB), and only that client",
        ],
    );
}

#[test]
fn ex08_hmac_server() {
    ships_unsolved("ex08_hmac_server");
}

#[test]
fn ex09_socket_options() {
    ships_unsolved("ex09_socket_options");
}

#[test]
fn ex10_timeouts_nonblocking() {
    ships_unsolved("ex10_timeouts_nonblocking");
}

#[test]
fn ex12_framing() {
    ships_unsolved("ex12_framing");
}

fn read(path: impl AsRef<Path>) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The exercise files in exercises/, by binary name.
fn exercise_files() -> Vec<String> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises");
    let mut names: Vec<String> = fs::read_dir(directory)
        .expect("exercises/ exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_string()))
        .collect();
    names.sort();
    names
}

/// The id mdBook gives a heading: lower case, spaces as dashes, other punctuation dropped.
fn heading_id(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The Markdown headings of `text`, without their `#`s; fenced code is skipped.
fn headings(text: &str) -> impl Iterator<Item = &str> {
    let mut in_code = false;
    text.lines().filter_map(move |line| {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        let heading = line.strip_prefix('#').filter(|_| !in_code)?;
        Some(heading.trim_start_matches('#').trim())
    })
}

/// The `## title` section of a chapter: from its heading to the next `## ` heading.
fn section<'a>(text: &'a str, title: &str) -> Option<&'a str> {
    let start = text.find(&format!("\n## {title}\n"))? + 1;
    let rest = &text[start..];
    let end = rest[1..].find("\n## ").map_or(rest.len(), |end| end + 2);
    Some(&rest[..end])
}

#[test]
fn every_exercise_file_has_a_bin_a_row_a_test_and_a_chapter() {
    let manifest = read("Cargo.toml");
    let tests = read("tests/exercises.rs");
    let this_file = read("tests/exercises_ship_unsolved.rs");
    let files = exercise_files();
    for name in &files {
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"exercises/{name}.rs\"\ntest = false"
            )),
            "exercises/{name}.rs has no [[bin]] (with test = false) in Cargo.toml"
        );
        let (exercise, lesson) = exercise(name);
        for (file, text) in [
            ("tests/exercises.rs", &tests),
            ("tests/exercises_ship_unsolved.rs", &this_file),
        ] {
            assert!(
                text.contains(&format!("fn {name}() {{")),
                "{file} has no test `fn {name}()`"
            );
        }
        let (chapter, anchor) = exercise
            .section
            .split_once('#')
            .expect("a section is FILE.md#anchor");
        assert_eq!(
            chapter, lesson.chapter,
            "{name} is set in {chapter}, but its lesson {} is taught in {}",
            lesson.name, lesson.chapter
        );
        let text = read(chapter);
        assert!(
            headings(&text).any(|heading| heading_id(heading) == anchor),
            "{chapter} has no heading with the id #{anchor}"
        );
        let exercises = section(&text, "Exercises").unwrap_or_else(|| {
            panic!("{chapter} has no section \"## Exercises\"")
        });
        let source = read(format!("exercises/{name}.rs"));
        let commands = [
            format!("cargo test --test exercises {name}"),
            format!("cargo run -- check {} --exercise {name}", lesson.name),
        ];
        for command in &commands {
            assert!(
                source.contains(command),
                "the opening of exercises/{name}.rs does not say `{command}`"
            );
        }
        for needle in commands.iter().chain([&format!("exercises/{name}.rs")]) {
            assert!(
                exercises.contains(needle.as_str()),
                "the exercises of {chapter} do not name `{needle}`"
            );
        }
    }
    let mut rows: Vec<&str> = EXERCISES.iter().map(|row| row.name).collect();
    rows.sort();
    assert_eq!(
        rows, files,
        "index::EXERCISES and exercises/ list different exercises"
    );
}

#[test]
fn exercises_are_in_book_order() {
    let position = |lesson: &str| {
        index::LESSONS
            .iter()
            .position(|row| row.name == lesson)
            .unwrap_or_else(|| panic!("{lesson} is not a lesson"))
    };
    for pair in EXERCISES.windows(2) {
        assert!(
            position(pair[0].lesson) <= position(pair[1].lesson),
            "{} comes before {} in index::EXERCISES, but its lesson comes later",
            pair[0].name,
            pair[1].name
        );
    }
}

#[test]
fn exercise_code_reads_like_lesson_code() {
    for name in exercise_files() {
        let source = read(format!("exercises/{name}.rs"));
        assert!(
            source.starts_with("//! "),
            "exercises/{name}.rs opens with a //! paragraph that says what to do"
        );
        for (number, line) in source.lines().enumerate() {
            let at = format!("exercises/{name}.rs:{}", number + 1);
            // A command to copy may run past the edge: it is copied, not read.
            let command = line
                .trim_start_matches("//!")
                .trim_start()
                .starts_with("cargo ");
            assert!(
                line.chars().count() <= 80 || command,
                "{at} is wider than the book's 80 columns"
            );
            assert!(
                !line.contains(".unwrap()") && !line.contains(".expect("),
                "{at}: handle the error or use ? instead: {line}"
            );
        }
    }
}
