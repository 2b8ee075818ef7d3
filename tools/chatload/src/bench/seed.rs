//! The seed tutorial's chat server (seed 003, §3.5.2, "the code with the
//! lock"), taken out of the tutorial's text when the bench runs, so that
//! its code is never copied into this repository. Three small changes make
//! it measurable: the port comes from the first argument, `--quiet` turns
//! its per-message logging off, and it prints the ready line chatload
//! waits for (`listening on IP:PORT`).

use std::path::{Path, PathBuf};

/// The seed file's name starts with this.
pub const SEED_PREFIX: &str = "003";
/// The section whose program is the server.
const SECTION: &str = "3.5.2";
/// The tutorial's marker before and after each program ("copy code").
const CODE_MARK: &str = "复制代码";

/// The seed file in `dir` (`003…`), or a message saying it is not there.
pub fn find(dir: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| {
        format!(
            "the seed tutorials are not in {} ({error}): the seed's Python \
             server is not measured",
            dir.display()
        )
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(SEED_PREFIX))
        })
        .collect();
    found.sort();
    found.into_iter().next().ok_or_else(|| {
        format!(
            "no seed {SEED_PREFIX}… in {}: the seed's Python server is not \
             measured",
            dir.display()
        )
    })
}

/// The §3.5.2 program of the seed's `text`, made measurable.
pub fn program(text: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let section = lines
        .iter()
        .position(|line| line.trim_start().starts_with(SECTION))
        .ok_or_else(|| format!("the seed has no section {SECTION}"))?;
    let open = lines[section..]
        .iter()
        .position(|line| line.trim() == CODE_MARK)
        .map(|at| section + at + 1)
        .ok_or_else(|| format!("section {SECTION} of the seed has no code"))?;
    let close = lines[open..]
        .iter()
        .position(|line| line.trim() == CODE_MARK)
        .map(|at| open + at)
        .ok_or_else(|| {
            format!("the code of section {SECTION} of the seed has no end")
        })?;
    let mut code = lines[open..close].join("\n");
    code.push('\n');
    let changes = [
        ("import logging\n", "import logging\nimport sys\n"),
        (
            "logging.basicConfig(level=logging.INFO,",
            "logging.basicConfig(level=logging.WARNING if '--quiet' in \
             sys.argv else logging.INFO,",
        ),
        (
            "cs = ChatServer()\ncs.start()\n",
            "cs = ChatServer(port=int(sys.argv[1]) if len(sys.argv) > 1 \
             else 9999)\ncs.start()\nprint('listening on {}:{}'.format(\
             *cs.sock.getsockname()), flush=True)\n",
        ),
    ];
    for (from, to) in changes {
        if code.matches(from).count() != 1 {
            return Err(format!(
                "the program of section {SECTION} of the seed is not the \
                 one expected: {from:?} is not in it once"
            ));
        }
        code = code.replacen(from, to, 1);
    }
    Ok(code)
}
