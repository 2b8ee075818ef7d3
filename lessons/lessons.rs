//! The lesson index: what `cargo run` prints with no `--bin`.
//!
//! Lists every lesson in the order the book teaches them, with what it shows and the command
//! that runs it. The list comes from the one table in `src/index.rs`.

use colored::Colorize;
use socket_lessons::{index, style};

fn main() {
    style::init();
    // ANCHOR: list
    println!(
        "{}",
        "socket-lessons: the sockets API, one runnable lesson at a time".bold()
    );
    println!();
    let width = index::LESSONS
        .iter()
        .map(|lesson| lesson.name.len())
        .max()
        .unwrap_or(0);
    for lesson in index::LESSONS {
        let name = format!("{:width$}", lesson.name);
        println!("  {}  {}", name.bold().cyan(), lesson.summary);
        println!("  {:width$}  {}", "", lesson.command().green());
    }
    println!();
    println!("Each lesson's chapter is in book/src/ (read it with `mdbook serve book`).");
    println!(
        "Add --help after the command to see a lesson's options: cargo run --bin 03_ctime_server -- --help"
    );
    // ANCHOR_END: list
}
