//! Lesson 17: descriptors (`fileno`), adopting one, and shutdown against
//! close, from what the experiment printed.

mod common;

use socket_lessons::check::experiment::Answers;

const NAME: &str = "17_fileno_shutdown";

fn answer<'a>(answers: &'a Answers, label: &str) -> &'a str {
    answers
        .get(label)
        .unwrap_or_else(|failure| panic!("{failure}"))
}

fn descriptor(answers: &Answers, label: &str) -> i64 {
    let text = answer(answers, label);
    text.parse()
        .unwrap_or_else(|_| panic!("`{label}: {text}` is not a number"))
}

#[test]
fn each_socket_has_a_descriptor_of_its_own() {
    let answers = common::run_experiment(NAME);
    let mut numbers: Vec<i64> = [
        "listener fileno",
        "client fileno",
        "accepted fileno",
        "clone fileno",
    ]
    .iter()
    .map(|label| descriptor(&answers, label))
    .collect();
    // 0, 1 and 2 are standard input, output and error.
    assert!(numbers.iter().all(|&number| number > 2), "{numbers:?}");
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 4, "four different numbers: {numbers:?}");
}

#[test]
fn a_cloned_stream_has_its_own_descriptor_for_the_same_socket() {
    let answers = common::run_experiment(NAME);
    assert_ne!(
        descriptor(&answers, "clone fileno"),
        descriptor(&answers, "client fileno")
    );
    assert_eq!(answer(&answers, "clone has the client's addresses"), "true");
    #[cfg(target_os = "linux")]
    {
        assert_eq!(
            answer(&answers, "/proc/self/fd of the client"),
            "socket:[inode]"
        );
        assert_eq!(answer(&answers, "clone is the same socket"), "true");
    }
}

#[cfg(unix)]
#[test]
fn adopting_a_descriptor_keeps_its_number() {
    let answers = common::run_experiment(NAME);
    assert_eq!(answer(&answers, "same descriptor as a TcpStream"), "true");
    assert_eq!(answer(&answers, "same descriptor after an OwnedFd"), "true");
    assert!(
        answer(&answers, "the adopted stream's peer").starts_with("127.0.0.1:")
    );
}

#[test]
fn after_shutdown_write_the_peer_reads_eof_and_can_still_answer() {
    let answers = common::run_experiment(NAME);
    assert_eq!(answer(&answers, "server received"), "\"request\"");
    assert_eq!(answer(&answers, "server's next read"), "Ok(0)");
    assert_eq!(answer(&answers, "client received"), "\"answer to request\"");
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_after_our_own_shutdown_write_fails_with_epipe() {
    let answers = common::run_experiment(NAME);
    assert!(
        answer(&answers, "client's write after its shutdown")
            .starts_with("EPIPE (os error 32)")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn after_the_clients_close_the_servers_first_answer_is_taken_and_a_later_one_fails_with_epipe()
 {
    let answers = common::run_experiment(NAME);
    assert_eq!(answer(&answers, "server's first write"), "Ok(17)");
    assert!(
        answer(&answers, "server's write after the reset")
            .starts_with("EPIPE (os error 32)")
    );
    assert_eq!(answer(&answers, "server's read after it"), "Ok(0)");
}

#[cfg(target_os = "linux")]
#[test]
fn dropping_a_clone_sends_nothing_but_shutdown_through_a_clone_ends_the_stream()
{
    let answers = common::run_experiment(NAME);
    assert!(
        answer(&answers, "server's read after the drop").starts_with("EAGAIN"),
        "nothing arrived: the connection is still open"
    );
    assert_eq!(
        answer(&answers, "server's read after the shutdown"),
        "Ok(0)"
    );
}

#[test]
fn after_shutdown_read_a_read_returns_0_at_once() {
    let answers = common::run_experiment(NAME);
    assert_eq!(answer(&answers, "server's read"), "Ok(0)");
    assert_eq!(answer(&answers, "client's write"), "Ok(4)");
}

#[cfg(target_os = "linux")]
#[test]
fn linux_still_delivers_bytes_that_arrive_after_shutdown_read() {
    let answers = common::run_experiment(NAME);
    assert_eq!(answer(&answers, "server read later"), "\"late\"");
    assert_eq!(answer(&answers, "server's read after them"), "Ok(0)");
}
