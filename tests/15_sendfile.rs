//! Lesson 15: a file sent three ways over loopback, every byte arriving, and
//! (on Linux) how many read calls each way made in the sending thread.

mod common;

const NAME: &str = "15_sendfile";
const FILE_SIZE: &str = "16777216";
const WAYS: [&str; 3] = ["the loop", "io::copy", "sendfile"];

/// The number an answer starts with.
fn number(
    answers: &socket_lessons::check::experiment::Answers,
    label: &str,
) -> u64 {
    let answer = answers
        .get(label)
        .unwrap_or_else(|failure| panic!("{failure}"));
    answer
        .parse()
        .unwrap_or_else(|_| panic!("`{label}: {answer}` is not a number"))
}

#[test]
fn every_way_delivers_every_byte_of_the_file() {
    let answers = common::run_experiment(NAME);
    assert_eq!(answers.get("file size").ok(), Some(FILE_SIZE));
    for way in WAYS {
        for label in [
            format!("bytes sent by {way}"),
            format!("bytes received from {way}"),
        ] {
            assert_eq!(answers.get(&label).ok(), Some(FILE_SIZE), "{label}");
        }
        let rate = answers.get(&format!("rate of {way}")).expect("a rate");
        assert!(rate.ends_with(" MB/s"), "{rate}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_loop_reads_the_file_8_kib_at_a_time() {
    let answers = common::run_experiment(NAME);
    // 16 MiB / 8 KiB = 2048 reads with data, and one more that returns 0.
    assert_eq!(number(&answers, "read calls by the loop"), 2049);
}

#[cfg(target_os = "linux")]
#[test]
fn sendfile_copies_the_whole_file_in_a_few_calls() {
    let answers = common::run_experiment(NAME);
    let calls = number(&answers, "read calls by sendfile");
    assert!((1..=4).contains(&calls), "{calls} calls");
}

#[cfg(target_os = "linux")]
#[test]
fn io_copy_from_a_file_to_a_socket_reads_through_a_buffer() {
    let answers = common::run_experiment(NAME);
    // std's own 8 KiB buffer: as many reads as the loop, not sendfile's few.
    assert!(number(&answers, "read calls by io::copy") >= 2048);
}

#[test]
fn the_temporary_directory_is_removed_at_the_end() {
    let parent = std::env::temp_dir()
        .join(format!("socket-lessons-test-15-{}", std::process::id()));
    std::fs::create_dir_all(&parent).expect("a directory for the test");
    common::command(NAME)
        .arg("--dir")
        .arg(&parent)
        .assert()
        .success();
    let left: Vec<_> = std::fs::read_dir(&parent)
        .expect("the directory is still there")
        .collect();
    std::fs::remove_dir_all(&parent).expect("the test's directory removed");
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_directory_that_cannot_be_made_is_named_in_one_line() {
    common::command(NAME)
        .args(["--dir", "/nonexistent/socket-lessons"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "cannot make a directory in /nonexistent/socket-lessons",
        ));
}
