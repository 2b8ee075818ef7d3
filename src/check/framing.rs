//! The checks of lesson 12_framing: what a length before each message does that a newline
//! after it cannot.
//!
//! The experiment sends four messages (`hello`, `two\nlines` with a newline inside, an empty
//! one, and 100 000 bytes) over loopback, first as lines, then as frames: a 4-byte length in
//! network byte order, then the bytes. Its receiver prints each frame with `as sent` or `NOT
//! as sent`, and then what its `read_frame` answers to a length over the limit and to a frame
//! cut short by a close. Each check runs it to its end and reads one of those answers
//! ([`super::experiment`]), so an exercise whose `read_frame` does one plain read, as lesson
//! 03 did, fails with the frames it printed.

use super::experiment::{self, Answers};
use super::{Check, Failure, Outcome, Target};

/// What the experiment must show.
pub const EXPERIMENT: &[Check] = &[
    Check {
        name: "lines split a message with a newline inside: 4 messages, 5 lines",
        section: "book/src/12_framing.md#lines-break-on-a-newline",
        run: lines_split_a_message_with_a_newline,
    },
    Check {
        name: "the length goes first, in network byte order (00 00 00 05 for 5 bytes)",
        section: "book/src/12_framing.md#network-byte-order",
        run: the_length_goes_first_big_endian,
    },
    Check {
        name: "every message arrives whole as a frame, the one with a newline too",
        section: "book/src/12_framing.md#reading-a-frame",
        run: every_message_arrives_whole,
    },
    Check {
        name: "an empty message arrives as an empty message",
        section: "book/src/12_framing.md#reading-a-frame",
        run: an_empty_message_arrives_empty,
    },
    Check {
        name: "the frames arrive whole however the stream is cut, headers split in two",
        section: "book/src/12_framing.md#reading-a-frame",
        run: frames_survive_any_cut,
    },
    Check {
        name: "a frame longer than the limit (1 MiB) is refused before it is read",
        section: "book/src/12_framing.md#frames-that-go-wrong",
        run: a_frame_over_the_limit_is_refused,
    },
    Check {
        name: "a peer that closes in the middle of a frame gives UnexpectedEof",
        section: "book/src/12_framing.md#frames-that-go-wrong",
        run: a_frame_cut_short_is_unexpected_eof,
    },
];

/// The messages the experiment sends, as its answers describe them when they arrive whole.
const SENT: [&str; 4] = [
    r#"5 bytes: "hello""#,
    r#"9 bytes: "two\nlines""#,
    r#"0 bytes: """#,
    r#"100000 bytes: "abcdefghij"…"#,
];

/// Passes when the answer to `label` is exactly `wanted`.
fn exactly(answers: &Answers, label: &str, wanted: &str) -> Outcome {
    let answer = answers.get(label)?;
    if answer == wanted {
        Ok(())
    } else {
        Err(Failure::new(
            format!("`{label}: {wanted}`"),
            format!("`{label}: {answer}`"),
        ))
    }
}

/// Passes when the frames of one round (`round` ends their labels) are the four messages,
/// each as sent.
fn frames_as_sent(answers: &Answers, round: &str) -> Outcome {
    for (index, message) in SENT.iter().enumerate() {
        let label = format!("frame {}{round}", index + 1);
        exactly(answers, &label, &format!("{message}, as sent"))?;
    }
    exactly(answers, &format!("frames received{round}"), "4")
}

fn lines_split_a_message_with_a_newline(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    exactly(&answers, "messages sent", "4")?;
    exactly(&answers, "lines received", "5")?;
    exactly(&answers, "line 2", r#"3 bytes: "two""#)?;
    exactly(&answers, "line 3", r#"5 bytes: "lines""#)
}

fn the_length_goes_first_big_endian(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    exactly(
        &answers,
        "the frame of \"hello\"",
        "00 00 00 05 68 65 6c 6c 6f",
    )
}

fn every_message_arrives_whole(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    frames_as_sent(&answers, "")
}

fn an_empty_message_arrives_empty(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    exactly(&answers, "frame 3", &format!("{}, as sent", SENT[2]))
}

fn frames_survive_any_cut(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    frames_as_sent(&answers, " (cut up)")
}

fn a_frame_over_the_limit_is_refused(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    answers.expect("read_frame of a frame over the limit", "InvalidData")
}

fn a_frame_cut_short_is_unexpected_eof(target: &Target) -> Outcome {
    let answers = experiment::run(target)?;
    answers.expect("read_frame of a frame cut short", "UnexpectedEof")
}
