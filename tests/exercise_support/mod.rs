//! What the exercise tests share: an exercise's binary as a target of its lesson's checks,
//! and a report of the checks as a learner reads them.
//!
//! The checks are the library's (`socket_lessons::check`), the very ones that
//! `cargo run -- check LESSON --exercise NAME` runs; the pairing of exercise and lesson is the
//! table `socket_lessons::index::EXERCISES`.

#![allow(dead_code)] // each test file uses its own part of this module

use socket_lessons::check::{self, Target, Verdict};
use socket_lessons::index::{self, Exercise, Lesson};

/// The exercise's row in the table, and the lesson whose checks it must pass.
pub fn exercise(name: &str) -> (&'static Exercise, &'static Lesson) {
    let exercise = index::find_exercise(name).unwrap_or_else(|| {
        panic!("{name} has no row in index::EXERCISES (src/index.rs)")
    });
    let lesson = index::find(exercise.lesson).unwrap_or_else(|| {
        panic!(
            "{name} is drawn from {}, which is not a lesson",
            exercise.lesson
        )
    });
    assert!(!lesson.checks.is_empty(), "{} has no checks", lesson.name);
    (exercise, lesson)
}

/// Runs `lesson`'s checks on the binary `binary` that Cargo built for this test run.
pub fn run_checks(lesson: &'static Lesson, binary: &str) -> Vec<Verdict> {
    let path = assert_cmd::cargo::cargo_bin(binary);
    let target = Target::binary(lesson, path, &[]);
    check::run_suite(lesson.checks, &target, |_| {})
}

/// Runs `lesson`'s checks on `binary` all at once, each in a thread of its own (our
/// binaries take `--port 0`, so their runs never meet): for an exercise whose checks can
/// only fail by waiting out their deadline, the waits overlap instead of adding up.
pub fn run_checks_at_once(
    lesson: &'static Lesson,
    binary: &str,
) -> Vec<Verdict> {
    let path = assert_cmd::cargo::cargo_bin(binary);
    let target = Target::binary(lesson, path, &[]);
    std::thread::scope(|scope| {
        let runs: Vec<_> = lesson
            .checks
            .iter()
            .map(|check| {
                let target = &target;
                scope.spawn(move || {
                    check::run_suite(
                        std::slice::from_ref(check),
                        target,
                        |_| {},
                    )
                })
            })
            .collect();
        runs.into_iter()
            .flat_map(|run| run.join().expect("a check does not panic"))
            .collect()
    })
}

/// Every verdict, one line each, and for a failed check what it expected, what came instead,
/// and the section of the chapter that explains it.
pub fn report(verdicts: &[Verdict]) -> String {
    let mut text = String::new();
    for verdict in verdicts {
        match &verdict.outcome {
            Ok(()) => text += &format!("  passed {}\n", verdict.check.name),
            Err(failure) => {
                text += &format!("  FAILED {}\n", verdict.check.name);
                text += &format!("         expected: {}\n", failure.expected);
                text += &format!("         got:      {}\n", failure.got);
                text +=
                    &format!("         read:     {}\n", verdict.check.section);
            }
        }
    }
    text
}

/// How many of the verdicts are failures.
pub fn failed(verdicts: &[Verdict]) -> usize {
    verdicts
        .iter()
        .filter(|verdict| verdict.outcome.is_err())
        .count()
}
