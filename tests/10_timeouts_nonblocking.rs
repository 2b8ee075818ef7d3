//! Lesson 10: timeouts and non-blocking mode. The check suite first (what the
//! experiment must show, as `cargo run -- check 10_timeouts_nonblocking` runs
//! it), then one test for each claim chapter 10 makes about the OS, read from
//! what the experiment prints. The experiment runs once for all of them.

mod common;

use socket_lessons::check::experiment::Answers;
use socket2::SockRef;
use std::net::{TcpListener, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const NAME: &str = "10_timeouts_nonblocking";

/// What the experiment printed, from one run shared by the tests below.
fn answers() -> &'static Answers {
    static ANSWERS: OnceLock<Answers> = OnceLock::new();
    ANSWERS.get_or_init(|| common::run_experiment(NAME))
}

fn answer(label: &str) -> &'static str {
    answers()
        .get(label)
        .unwrap_or_else(|failure| panic!("{label}: {failure}"))
}

/// The time the experiment answered to `label`.
fn measured(label: &str) -> Duration {
    time(answer(label))
}

/// A time as the experiment prints it (`100.3 ms`, `4.1 µs`).
fn time(text: &str) -> Duration {
    let (number, unit) = text.split_once(' ').expect("a number and a unit");
    let number: f64 = number.parse().expect("a number");
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" => number / 1e6,
        _ => panic!("{text} has an unknown unit"),
    };
    Duration::from_secs_f64(seconds)
}

/// The count of an answer `Ok(N)`.
fn count(label: &str) -> usize {
    let text = answer(label);
    text.strip_prefix("Ok(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("{label}: {text} is not Ok(N)"))
}

/// What the experiment writes in one call, in parts 2 and 3.
const LARGE_WRITE: usize = 64 << 20;

#[test]
fn the_timeouts_experiment_keeps_its_protocol() {
    common::assert_keeps_its_protocol(NAME, &[]);
}

#[test]
fn a_new_socket_has_no_timeout_until_one_is_set() {
    assert_eq!(answer("read timeout at first"), "Ok(None)");
    assert_eq!(answer("read timeout now"), "Ok(Some(100ms))");
}

#[cfg(target_os = "linux")]
#[test]
fn a_timed_out_read_says_eagain_after_the_timeout_on_linux() {
    assert_eq!(
        answer("read with nothing coming"),
        "EAGAIN (os error 11): Resource temporarily unavailable"
    );
    let took = measured("read gave up after");
    assert!(took >= Duration::from_millis(95), "gave up after {took:?}");
}

#[test]
fn std_refuses_a_zero_timeout_with_invalid_input() {
    assert!(
        answer("zero timeout").starts_with("InvalidInput"),
        "{}",
        answer("zero timeout")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_timeout_ends_a_write_to_a_peer_that_never_reads_with_a_short_count()
{
    let written = count("write with a timeout");
    assert!(0 < written && written < LARGE_WRITE, "wrote {written}");
    let took = measured("write returned after");
    assert!(took >= Duration::from_millis(15), "returned after {took:?}");
}

#[cfg(unix)]
#[test]
fn set_nonblocking_sets_o_nonblocking_on_unix() {
    assert_eq!(answer("non-blocking (O_NONBLOCK)"), "Ok(true)");
}

#[test]
fn std_keeps_the_read_timeout_while_the_socket_is_non_blocking() {
    assert_eq!(answer("read timeout while non-blocking"), "Ok(Some(100ms))");
}

#[cfg(target_os = "linux")]
#[test]
fn a_non_blocking_read_with_nothing_queued_says_eagain_at_once_on_linux() {
    assert_eq!(
        answer("non-blocking read with nothing queued"),
        "EAGAIN (os error 11): Resource temporarily unavailable"
    );
    let took = measured("non-blocking read took");
    assert!(took < Duration::from_millis(75), "took {took:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_non_blocking_accept_with_no_one_connecting_says_eagain_on_linux() {
    assert_eq!(
        answer("non-blocking accept with no one connecting"),
        "EAGAIN (os error 11): Resource temporarily unavailable"
    );
}

#[test]
fn a_non_blocking_read_returns_what_the_peer_sent() {
    assert_eq!(
        answer("non-blocking read after the peer sent"),
        r#"Ok("hello")"#
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_non_blocking_write_returns_a_short_count_then_eagain() {
    let written = count("non-blocking write");
    assert!(0 < written && written < LARGE_WRITE, "wrote {written}");
    assert_eq!(
        answer("next non-blocking write"),
        "EAGAIN (os error 11): Resource temporarily unavailable"
    );
    let took = measured("next non-blocking write took");
    assert!(took < Duration::from_millis(75), "took {took:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn linux_queues_one_connection_on_a_backlog_of_0() {
    assert_eq!(answer("connections queued"), "1");
}

#[cfg(target_os = "linux")]
#[test]
fn connect_timeout_to_a_full_queue_is_std_s_own_timed_out_without_a_number() {
    assert_eq!(
        answer("connect_timeout to a full queue"),
        "TimedOut: connection timed out"
    );
    let took = measured("connect gave up after");
    assert!(took >= Duration::from_millis(15), "gave up after {took:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn connect_ex_to_a_closed_port_is_111_on_linux() {
    assert_eq!(
        answer("connect to a port where nothing listens"),
        "ECONNREFUSED (os error 111): Connection refused"
    );
    assert_eq!(answer("connect_ex to a port where nothing listens"), "111");
}

#[cfg(target_os = "linux")]
#[test]
fn a_tcp_connect_to_the_broadcast_address_is_enetunreach_on_linux() {
    assert_eq!(
        answer("connect to the broadcast address"),
        "ENETUNREACH (os error 101): Network is unreachable"
    );
    assert_eq!(answer("connect_ex to the broadcast address"), "101");
}

#[cfg(target_os = "linux")]
#[test]
fn a_non_blocking_connect_says_einprogress_then_completes_on_linux() {
    assert_eq!(
        answer("non-blocking connect"),
        "EINPROGRESS (os error 115): Operation now in progress"
    );
    assert_eq!(answer("connect_ex of a non-blocking connect"), "115");
    assert_eq!(answer("pending error (SO_ERROR)"), "Ok(None)");
    assert!(
        answer("connected to").starts_with("Ok(Some(127.0.0.1:"),
        "{}",
        answer("connected to")
    );
}

#[test]
fn the_unfinished_exercise_waits_out_its_timeouts_and_still_ends_within_2_seconds()
 {
    let start = Instant::now();
    let output = common::command("ex10_timeouts_nonblocking")
        .output()
        .expect("the exercise runs");
    let took = start.elapsed();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    let waited = printed
        .lines()
        .find_map(|line| line.strip_prefix("non-blocking read took: "))
        .map(time);
    assert!(
        waited.is_some_and(|waited| waited >= Duration::from_millis(95)),
        "the read waits out part 1's 100 ms timeout:\n{printed}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

// Two claims of the chapter that the experiment does not print.

#[cfg(target_os = "linux")]
#[test]
fn a_zero_so_rcvtimeo_means_no_timeout_on_linux() {
    // std refuses a zero timeout; socket2 passes it to the OS as it is.
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let mut client =
        TcpStream::connect_timeout(&address, common::TIMEOUT).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    SockRef::from(&server)
        .set_read_timeout(Some(Duration::ZERO))
        .expect("SO_RCVTIMEO of zero");
    let late = Duration::from_millis(300);
    let sender = std::thread::spawn(move || {
        std::thread::sleep(late); // the wait is the experiment
        client.write_all(b"late").expect("write");
        client
    });
    let start = Instant::now();
    let mut buffer = [0; 8];
    let count = server.read(&mut buffer).expect("no timeout: the bytes");
    assert_eq!(&buffer[..count], b"late");
    assert!(start.elapsed() >= late, "it waited for them");
    drop(sender.join().expect("sender"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_socket_accepted_from_a_non_blocking_listener_is_blocking_on_linux() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("address");
    let _client =
        TcpStream::connect_timeout(&address, common::TIMEOUT).expect("connect");
    // The handshake may still be finishing: ask until the queue has it.
    let deadline = Instant::now() + common::TIMEOUT;
    let accepted = loop {
        match listener.accept() {
            Ok((accepted, _)) => break accepted,
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(error) => panic!("no connection to accept: {error}"),
        }
    };
    assert!(SockRef::from(&listener).nonblocking().expect("fcntl"));
    assert!(!SockRef::from(&accepted).nonblocking().expect("fcntl"));
}
