//! Checks for experiments (lessons 09 and on): the OS's answers, read from what the program
//! printed.
//!
//! Support module. An experiment has no peer to talk to: its checks run it to the end with no
//! arguments, as a learner does, and read the answers it printed as `label: answer` lines
//! ([`crate::experiment::answer`]). Each check holds one answer to what the OS does (a
//! zero-linger close resets the peer), so an exercise that leaves out the call that answer
//! depends on fails with the answer it printed instead. The labels are the experiment's
//! protocol: a program in another language passes the checks by printing the same lines.

use super::process::Exit;
use super::{Failure, Outcome, Target};
use std::time::Duration;

/// How long an experiment may run before its check gives up on it.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(5);

/// What an experiment printed, by the end of a run that succeeded.
#[derive(Debug, Clone)]
pub struct Answers {
    /// Every line of its standard output.
    lines: Vec<String>,
}

/// Runs the experiment to its end and returns what it printed; fails unless it exits 0.
pub fn run(target: &Target) -> Result<Answers, Failure> {
    let Exit {
        status,
        stdout,
        stderr,
    } = target.run_to_end(RUN_TIMEOUT)?;
    if !status.success() {
        let last = stderr.last().or(stdout.last()).cloned().unwrap_or_default();
        return Err(Failure::new(
            format!(
                "`{}` to run to its end (exit status 0)",
                target.describe()
            ),
            format!("{status}: {last}"),
        ));
    }
    Ok(Answers { lines: stdout })
}

impl Answers {
    /// Every line the experiment printed on standard output.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The answer printed after `label: `, the first time the label appears.
    pub fn get(&self, label: &str) -> Result<&str, Failure> {
        let prefix = format!("{label}: ");
        self.lines
            .iter()
            .find_map(|line| line.strip_prefix(&prefix))
            .ok_or_else(|| {
                Failure::new(
                    format!("a line `{label}: …`"),
                    "none: the experiment never printed that answer",
                )
            })
    }

    /// Passes when the answer to `label` contains `wanted`.
    pub fn expect(&self, label: &str, wanted: &str) -> Outcome {
        let answer = self.get(label)?;
        if answer.contains(wanted) {
            Ok(())
        } else {
            Err(Failure::new(
                format!("`{label}: …{wanted}…`"),
                format!("`{label}: {answer}`"),
            ))
        }
    }

    /// Passes when the answer to `label` does not contain `unwanted`.
    pub fn expect_not(&self, label: &str, unwanted: &str) -> Outcome {
        let answer = self.get(label)?;
        if answer.contains(unwanted) {
            Err(Failure::new(
                format!("`{label}: …` without {unwanted}"),
                format!("`{label}: {answer}`"),
            ))
        } else {
            Ok(())
        }
    }
}
