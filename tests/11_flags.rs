//! Lesson 11: the flags of recv and send. Each test runs the experiment as a
//! learner does and holds one of its answers to what chapter 11 says the OS
//! does.

mod common;

use socket_lessons::check::experiment::Answers;

const NAME: &str = "11_flags";

fn answers() -> Answers {
    common::run_experiment(NAME)
}

fn answer(answers: &Answers, label: &str) -> String {
    answers
        .get(label)
        .unwrap_or_else(|failure| panic!("{label}: {failure}"))
        .to_string()
}

#[test]
fn peeked_bytes_are_read_again() {
    let answers = answers();
    assert_eq!(answer(&answers, "TcpStream::peek"), r#"5 bytes: "hello""#);
    assert_eq!(
        answer(&answers, "socket2 peek, once more"),
        r#"5 bytes: "hello""#
    );
    assert_eq!(
        answer(&answers, "read after the peeks"),
        r#"5 bytes: "hello""#
    );
}

#[cfg(target_os = "linux")]
#[test]
fn after_the_read_the_peeked_bytes_are_gone() {
    let answers = answers();
    assert!(
        answer(&answers, "a non-blocking read after that")
            .starts_with("EAGAIN (os error 11)"),
        "{answers:?}"
    );
}

#[test]
fn a_plain_read_returns_what_has_come_however_much_it_asked_for() {
    assert_eq!(answer(&answers(), "read(10 bytes)"), r#"5 bytes: "hello""#);
}

#[cfg(unix)]
#[test]
fn msg_waitall_waits_for_every_byte() {
    assert_eq!(
        answer(&answers(), "recv(10 bytes, MSG_WAITALL)"),
        r#"10 bytes: "helloworld""#
    );
}

#[test]
fn read_exact_waits_for_every_byte_too() {
    assert_eq!(
        answer(&answers(), "read_exact(10 bytes)"),
        r#"10 bytes: "helloworld""#
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_urgent_byte_is_not_in_the_stream() {
    let answers = answers();
    assert_eq!(answer(&answers, "recv_out_of_band"), r#"1 byte: "!""#);
    assert_eq!(
        answer(&answers, "the stream, read to its end"),
        r#"6 bytes: "abcdef""#
    );
}

#[cfg(target_os = "linux")]
#[test]
fn there_is_one_urgent_byte_and_once_read_msg_oob_fails_with_einval() {
    assert!(
        answer(&answers(), "recv_out_of_band again")
            .starts_with("EINVAL (os error 22)")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn of_two_bytes_sent_with_msg_oob_the_first_goes_in_the_stream() {
    let answers = answers();
    assert_eq!(
        answer(&answers, r#"recv_out_of_band, after "xy""#),
        r#"1 byte: "y""#
    );
    assert_eq!(
        answer(&answers, r#"the stream, after "xy""#),
        r#"1 byte: "x""#
    );
}

#[cfg(target_os = "linux")]
#[test]
fn with_so_oobinline_the_urgent_byte_stays_in_the_stream() {
    let answers = answers();
    assert_eq!(
        answer(&answers, "the stream, with SO_OOBINLINE"),
        r#"7 bytes: "abc!def""#
    );
    assert!(
        answer(&answers, "recv_out_of_band, with SO_OOBINLINE")
            .starts_with("EINVAL (os error 22)")
    );
}

#[test]
fn std_recv_from_says_only_how_many_bytes_it_kept() {
    assert_eq!(answer(&answers(), "std recv_from"), "10 bytes");
}

#[test]
fn the_truncated_flag_says_that_a_datagram_was_cut() {
    assert_eq!(
        answer(&answers(), "socket2 recv_from_vectored"),
        "10 bytes, truncated: true"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn msg_trunc_reports_the_datagrams_real_length() {
    assert_eq!(
        answer(&answers(), "recvfrom(10 bytes, MSG_TRUNC)"),
        "100 bytes"
    );
}

#[test]
fn a_read_into_a_slice_fills_it_from_that_offset_and_no_further() {
    let answers = answers();
    assert_eq!(answer(&answers, "read into buffer[..5]"), "5 bytes");
    assert_eq!(answer(&answers, "read into buffer[5..]"), "6 bytes");
    assert_eq!(
        answer(&answers, "the buffer after both reads"),
        r#""hello world.....""#
    );
}

#[test]
fn recv_from_into_the_middle_of_a_buffer_keeps_its_start() {
    let answers = answers();
    assert!(
        answer(&answers, "recv_from into buffer[5..]")
            .starts_with("4 bytes from 127.0.0.1:")
    );
    assert_eq!(
        answer(&answers, "the buffer after recv_from"),
        r#""from ping""#
    );
}

#[cfg(target_os = "linux")]
#[test]
fn msg_dontroute_still_delivers_on_loopback() {
    let answers = answers();
    assert_eq!(answer(&answers, "send(MSG_DONTROUTE)"), "Ok(5)");
    assert_eq!(answer(&answers, "the server reads"), r#"5 bytes: "local""#);
}

/// What recv(2) says MSG_WAITALL still allows: a short count when the stream
/// ends before the buffer is full. Not in the experiment: a plain pair here.
#[cfg(unix)]
#[test]
fn msg_waitall_returns_less_when_the_stream_ends_first() {
    use std::io::Write;
    use std::mem::MaybeUninit;
    use std::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        TcpStream::connect(listener.local_addr().expect("address"))
            .expect("connect");
    let (server, _) = listener.accept().expect("accept");
    server
        .set_read_timeout(Some(common::TIMEOUT))
        .expect("a read timeout");
    client.write_all(b"hello").expect("write");
    drop(client);
    let mut buffer = [MaybeUninit::<u8>::uninit(); 10];
    let count = socket2::SockRef::from(&server)
        .recv_with_flags(&mut buffer, libc::MSG_WAITALL)
        .expect("recv");
    assert_eq!(count, 5, "5 of the 10 bytes, then the end of the stream");
}

/// Why the lesson reads the urgent byte before the stream: on Linux, a read
/// that goes past the urgent byte's place in the stream drops it.
#[cfg(target_os = "linux")]
#[test]
fn once_a_read_goes_past_its_place_the_urgent_byte_is_gone() {
    use std::io::{Read, Write};
    use std::mem::MaybeUninit;
    use std::net::{Shutdown, TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        TcpStream::connect(listener.local_addr().expect("address"))
            .expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    server
        .set_read_timeout(Some(common::TIMEOUT))
        .expect("a read timeout");
    client.write_all(b"abc").expect("write");
    socket2::SockRef::from(&client)
        .send_out_of_band(b"!")
        .expect("send urgent");
    client.write_all(b"def").expect("write");
    client.shutdown(Shutdown::Write).expect("shutdown");
    let mut stream = Vec::new();
    server.read_to_end(&mut stream).expect("read");
    assert_eq!(stream, b"abcdef");
    let mut urgent = [MaybeUninit::<u8>::uninit(); 8];
    let error = socket2::SockRef::from(&server)
        .recv_out_of_band(&mut urgent)
        .expect_err("the urgent byte was dropped");
    assert_eq!(error.raw_os_error(), Some(libc::EINVAL), "{error}");
}
