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
