//! The project's own conventions, checked: every lesson file is a binary, has its row in the
//! index and a chapter that includes it; every lesson's `--help` tells what it shows; the index
//! lists every lesson; and the error a learner meets most (a port in use) is explained.

mod common;

use predicates::prelude::*;
use socket_lessons::index::{self, Role};
use std::fs;
use std::net::TcpListener;
use std::path::Path;

fn read(path: impl AsRef<Path>) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The lesson files in lessons/, without `lessons.rs` (the index itself).
fn lesson_files() -> Vec<String> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let mut names: Vec<String> = fs::read_dir(directory)
        .expect("lessons/ exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension().is_some_and(|extension| extension == "rs")
        })
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_string()))
        .filter(|name| name != "lessons")
        .collect();
    names.sort();
    names
}

#[test]
fn every_lesson_file_has_a_bin_an_index_row_and_a_chapter() {
    let manifest = read("Cargo.toml");
    let summary = read("book/src/SUMMARY.md");
    let readme = read("README.md");
    let files = lesson_files();
    for name in &files {
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"lessons/{name}.rs\""
            )),
            "lessons/{name}.rs has no [[bin]] in Cargo.toml"
        );
        let lesson = index::find(name).unwrap_or_else(|| {
            panic!("lessons/{name}.rs has no row in src/index.rs")
        });
        let chapter = read(lesson.chapter);
        assert!(
            chapter.contains(&format!("{{{{#include ../../lessons/{name}.rs")),
            "{} does not include lessons/{name}.rs",
            lesson.chapter
        );
        let file = lesson.chapter.trim_start_matches("book/src/");
        assert!(
            summary.contains(&format!("({file})")),
            "{file} is not in SUMMARY.md"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is missing from the README's table of lessons"
        );
        assert!(
            read(format!("lessons/{name}.rs"))
                .contains("cli::run(env!(\"CARGO_BIN_NAME\"), "),
            "lessons/{name}.rs: main must be cli::run(env!(\"CARGO_BIN_NAME\"), …), \
             so --help finds the lesson's row under the binary's own name"
        );
    }
    let mut rows: Vec<&str> =
        index::LESSONS.iter().map(|lesson| lesson.name).collect();
    rows.sort();
    assert_eq!(rows, files, "the index and lessons/ list different lessons");
}

#[test]
fn lessons_never_unwrap() {
    for name in lesson_files() {
        let source = read(format!("lessons/{name}.rs"));
        for (number, line) in source.lines().enumerate() {
            assert!(
                !line.contains(".unwrap()") && !line.contains(".expect("),
                "lessons/{name}.rs:{}: handle the error or use ? instead: {line}",
                number + 1
            );
        }
    }
}

#[test]
fn every_lesson_explains_itself_in_help() {
    for lesson in index::LESSONS {
        let mut expected = predicate::str::contains(lesson.summary)
            .and(predicate::str::contains(lesson.chapter))
            .boxed();
        if let Some(port) = lesson.default_port {
            expected = expected
                .and(predicate::str::contains(format!("[default: {port}]")))
                .boxed();
        }
        if let Some(peer) = lesson.peer {
            expected = expected
                .and(predicate::str::contains(format!(
                    "cargo run --bin {peer}"
                )))
                .boxed();
        }
        common::command(lesson.name)
            .arg("--help")
            .assert()
            .success()
            .stdout(expected);
    }
}

#[test]
fn the_index_lists_every_lesson_with_its_command() {
    let output = common::command("lessons").assert().success();
    let text = String::from_utf8_lossy(&output.get_output().stdout).to_string();
    let mut last = 0;
    for lesson in index::LESSONS {
        let position = text.find(&lesson.command()).unwrap_or_else(|| {
            panic!("the index does not show {}", lesson.command())
        });
        assert!(position > last, "{} is out of order", lesson.name);
        last = position;
    }
}

#[test]
fn a_port_in_use_is_named_with_the_way_out() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port().to_string();
    for lesson in index::LESSONS {
        if lesson.role != Role::Server || lesson.name.starts_with("05_") {
            continue; // a UDP port is a different port from the TCP one we hold
        }
        common::command(lesson.name)
            .args(["--port", &port])
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!("127.0.0.1:{port}")))
            .stderr(predicate::str::contains("--port 0"));
    }
}

#[test]
fn a_udp_port_in_use_is_named_too() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port().to_string();
    common::command("05_udp_server")
        .args(["--port", &port])
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!("127.0.0.1:{port}")))
        .stderr(predicate::str::contains("--port 0"));
}

#[test]
fn every_include_in_the_book_names_an_anchor_that_exists() {
    // mdBook silently includes nothing for an anchor that is not in the file, so a renamed
    // anchor would leave an empty listing in the book. This test catches it instead.
    let chapters = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut includes = 0;
    for entry in fs::read_dir(&chapters).expect("book/src exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|extension| extension != "md") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("a chapter is text");
        for include in text.split("{{#include ../../").skip(1) {
            let target = &include
                [..include.find("}}").expect("an include ends with }}")];
            let (file, anchor) = target.split_once(':').unwrap_or((target, ""));
            let source = read(file);
            if !anchor.is_empty() {
                assert!(
                    source.contains(&format!("// ANCHOR: {anchor}\n"))
                        && source
                            .contains(&format!("// ANCHOR_END: {anchor}\n")),
                    "{} includes {file}:{anchor}, but {file} has no such anchor",
                    path.display()
                );
            }
            includes += 1;
        }
    }
    assert!(includes > 0, "the book includes no listing at all");
}

#[test]
fn lesson_code_fits_the_books_80_columns() {
    // The rendered book shows about 80 characters of code; a longer line scrolls sideways.
    // rustfmt.toml wraps the code at 80; comments and strings are wrapped by hand.
    for name in lesson_files().into_iter().chain(["lessons".to_string()]) {
        let source = read(format!("lessons/{name}.rs"));
        for (number, line) in source.lines().enumerate() {
            assert!(
                line.chars().count() <= 80,
                "lessons/{name}.rs:{} is {} columns wide; the book shows 80",
                number + 1,
                line.chars().count()
            );
        }
    }
}

#[test]
fn clients_hand_connect_every_address_of_the_host() {
    // `localhost` may resolve to ::1 before 127.0.0.1. Handed one address, a client would try
    // ::1 alone and be refused by a server on 127.0.0.1; handed them all (`socket_addrs`), it
    // tries each in turn, as Python's create_connection does.
    for name in lesson_files() {
        let source = read(format!("lessons/{name}.rs"));
        for (number, line) in source.lines().enumerate() {
            assert!(
                !(line.contains("::connect(")
                    && line.contains("socket_addr()")),
                "lessons/{name}.rs:{}: connect to every address, \
                 `TcpStream::connect(&addresses[..])` over `socket_addrs()?`: {line}",
                number + 1
            );
        }
    }
}

#[test]
fn a_client_reaches_its_server_by_the_name_localhost() {
    let server = common::start_server("03_ctime_server", &[]);
    common::command("03_ctime_client")
        .args(["--host", "localhost", "--port", &server.port()])
        .write_stdin("hello\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("hello"))
        .stdout(predicate::str::contains("connected to 127.0.0.1:"));
}

/// The id mdBook gives a heading: lower case, spaces to dashes, other punctuation dropped.
fn heading_id(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// True when `section` (`book/src/FILE.md#id`) names a heading of that chapter.
fn section_exists(section: &str) -> bool {
    let Some((file, id)) = section.split_once('#') else {
        return false;
    };
    read(file).lines().any(|line| {
        let heading = line.trim_start_matches('#');
        heading.len() < line.len() && heading_id(heading.trim()) == id
    })
}

#[test]
fn every_lesson_has_checks_that_point_to_real_sections_and_a_tour_if_it_has_a_peer()
 {
    for lesson in index::LESSONS {
        if matches!(lesson.role, Role::Server | Role::Client) {
            assert!(
                !lesson.checks.is_empty(),
                "{} has no protocol checks in its index row",
                lesson.name
            );
        }
        for check in lesson.checks {
            assert!(
                section_exists(check.section),
                "{}: the check {:?} points to {}, which is no heading of that chapter",
                lesson.name,
                check.name,
                check.section
            );
        }
        if lesson.peer.is_some() {
            assert!(
                lesson.tour.is_some(),
                "{} has a peer but no tour",
                lesson.name
            );
        }
    }
    for exercise in index::EXERCISES {
        assert!(
            section_exists(exercise.section),
            "{} points to {}, which is no heading of that chapter",
            exercise.name,
            exercise.section
        );
    }
}

#[test]
fn every_test_the_book_names_exists() {
    // A page that says "the test `name` shows it" must not outlive the test: every
    // backquoted snake_case name of four words or more must be a test function.
    let mut code = String::new();
    let mut directories = vec![
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    ];
    while let Some(directory) = directories.pop() {
        for entry in fs::read_dir(&directory).expect("a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                directories.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "rs")
            {
                code += &fs::read_to_string(&path).expect("a source file");
            }
        }
    }
    // Names of that shape that are not ours to test: one an exercise asks the learner to give
    // a test of their own, and the API names the appendix quotes (socket2, Python).
    const NOT_TESTS: &[&str] = &[
        "bye_typed_on_the_client_ends_the_server_too",
        "_handle_request_noblock",
        "recv_from_with_flags",
        "recv_out_of_band",
        "send_out_of_band",
        "set_out_of_band_inline",
        "set_recv_buffer_size",
    ];
    let pages = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut named = 0;
    for entry in fs::read_dir(&pages).expect("book/src exists") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|extension| extension != "md") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("a page");
        // A name that starts with a digit is a lesson (`07_chat_1_broadcast`), never a test.
        let names = text.split('`').filter(|name| {
            name.matches('_').count() >= 3
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
                })
        });
        for name in names.filter(|name| !NOT_TESTS.contains(name)) {
            named += 1;
            assert!(
                code.contains(&format!("fn {name}(")),
                "{} names the test `{name}`, which does not exist",
                path.display()
            );
        }
    }
    assert!(
        named >= 40,
        "only {named} tests named: is the pattern right?"
    );
}

#[test]
fn every_experiment_runs_by_itself_and_exits_0_or_says_what_is_missing() {
    // Lessons 09 and on need no peer and no argument: run with none, each shows the OS's
    // answers and exits 0, or says in one line what this machine lacks and exits 1. All at
    // once, so the test takes as long as the slowest.
    let experiments: Vec<&str> = index::LESSONS
        .iter()
        .filter(|lesson| lesson.role == Role::Demonstration)
        .map(|lesson| lesson.name)
        .collect();
    assert!(experiments.len() >= 9, "lessons 09 to 17 are experiments");
    std::thread::scope(|scope| {
        for name in experiments {
            scope.spawn(move || {
                let output = common::command(name).output().expect("it runs");
                let stdout = String::from_utf8_lossy(&output.stdout);
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    !stderr.contains("panicked"),
                    "{name} panicked: {stderr}"
                );
                if output.status.success() {
                    assert!(
                        stdout.lines().any(|line| line.starts_with("== ")),
                        "{name} names no part of its experiment:\n{stdout}"
                    );
                    assert!(
                        stdout.lines().any(|line| line.contains(": ")),
                        "{name} prints no answer of the OS:\n{stdout}"
                    );
                } else {
                    assert_eq!(
                        output.status.code(),
                        Some(1),
                        "{name} neither succeeded nor said why: {stderr}"
                    );
                    assert!(
                        stderr.trim().lines().count() == 1,
                        "{name} must say in one line what is missing: {stderr}"
                    );
                }
            });
        }
    });
}
