//! The diffs that open the chat chapters, generated from the lesson files.
//!
//! Support module. Each stage of lesson 07 after the first opens its chapter with what changed
//! since the stage before: `book/src/transcripts/07_chat_N_NAME.diff`, a unified diff of the
//! two lesson files. `cargo run -- transcripts` writes them with the sessions ([`update`]);
//! `--check` and `tests/transcripts.rs` fail when a committed diff is not what the files give
//! now, so a chapter never shows a change the lessons no longer make. The stages are the rows
//! of [`crate::index::LESSONS`] named `07_chat_` and a digit, so a new stage gets its diff too.

use crate::index::LESSONS;
use similar::TextDiff;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Lines of context around each change, as `diff -u` gives.
const CONTEXT: usize = 3;

/// One chapter's diff: the file it goes in, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The file's name in the transcripts directory, e.g. `07_chat_2_stop.diff`.
    pub file: String,
    /// The unified diff of the previous stage's lesson file against this one's.
    pub text: String,
}

/// The chat stages in book order: the lessons named `07_chat_` and a digit.
pub fn stages() -> Vec<&'static str> {
    LESSONS
        .iter()
        .map(|lesson| lesson.name)
        .filter(|name| {
            name.strip_prefix("07_chat_").is_some_and(|rest| {
                rest.starts_with(|c: char| c.is_ascii_digit())
            })
        })
        .collect()
}

/// The diff of every stage but the first against the stage before, read from the lesson files
/// under `root` (the repository's root).
pub fn generate(root: &Path) -> io::Result<Vec<Diff>> {
    let read = |name: &str| {
        let path = root.join(format!("lessons/{name}.rs"));
        fs::read_to_string(&path).map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        })
    };
    stages()
        .windows(2)
        .map(|pair| {
            let (old, new) = (pair[0], pair[1]);
            let (old_text, new_text) = (read(old)?, read(new)?);
            let text = TextDiff::from_lines(&old_text, &new_text)
                .unified_diff()
                .context_radius(CONTEXT)
                .header(
                    &format!("lessons/{old}.rs"),
                    &format!("lessons/{new}.rs"),
                )
                .to_string();
            Ok(Diff {
                file: format!("{new}.diff"),
                text,
            })
        })
        .collect()
}

/// Writes every diff whose committed file differs (or is missing) and removes the `.diff` files
/// no stage writes; with `dry_run`, only says which. `directory` is the transcripts directory
/// under `root`. Returns the files that changed.
pub fn update(
    root: &Path,
    directory: &Path,
    dry_run: bool,
) -> io::Result<Vec<String>> {
    let diffs = generate(root)?;
    let mut changed = Vec::new();
    for diff in &diffs {
        let path = directory.join(&diff.file);
        if fs::read_to_string(&path).ok().as_deref() != Some(diff.text.as_str())
        {
            if !dry_run {
                fs::create_dir_all(directory)?;
                fs::write(&path, &diff.text)?;
            }
            changed.push(diff.file.clone());
        }
    }
    for stale in committed(directory)? {
        let name = stale.file_name().unwrap_or_default().to_string_lossy();
        if diffs.iter().all(|diff| diff.file != name) {
            if !dry_run {
                fs::remove_file(&stale)?;
            }
            changed.push(format!("{name} (removed)"));
        }
    }
    Ok(changed)
}

/// The `.diff` files in `directory`.
pub fn committed(directory: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if directory.exists() {
        for entry in fs::read_dir(directory)? {
            let path = entry?.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "diff")
            {
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
    fn the_stages_are_the_numbered_chat_lessons_in_order() {
        let stages = stages();
        assert!(stages.len() >= 2, "{stages:?}");
        for (index, stage) in stages.iter().enumerate() {
            let number = stage.trim_start_matches("07_chat_").split('_').next();
            assert_eq!(number, Some((index + 1).to_string().as_str()));
        }
    }

    #[test]
    fn a_diff_names_both_files_and_its_hunks() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for diff in generate(root).expect("the lesson files are readable") {
            let stage = diff.file.trim_end_matches(".diff");
            if diff.text.is_empty() {
                continue; // a stage that does not differ yet
            }
            assert!(
                diff.text.starts_with("--- lessons/07_chat_"),
                "{}",
                diff.text
            );
            assert!(diff.text.contains(&format!("+++ lessons/{stage}.rs\n")));
            assert!(diff.text.contains("\n@@ -"));
        }
    }
}
