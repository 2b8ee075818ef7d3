//! Reading what a person types at the terminal, one line at a time.
//!
//! Lessons whose programs take typed input (a client's lines, a server's console) read it here,
//! so the lesson file shows the sockets and not the prompt.

use std::io;

/// Shows `prompt` (only when a person is typing), then reads one line from standard input,
/// without its line ending. `None` means the input has ended (Ctrl-D; Ctrl-Z then Enter on
/// Windows; the end of a piped file).
pub fn read_line(prompt: &str) -> io::Result<Option<String>> {
    crate::style::prompt(prompt);
    let mut line = String::new();
    if io::stdin().read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let end = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(end);
    Ok(Some(line))
}
