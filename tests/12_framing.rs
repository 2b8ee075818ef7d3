//! Lesson 12: framing. The check suite first (what the experiment must show,
//! as `cargo run -- check 12_framing` runs it), then one test for each claim
//! chapter 12 makes, read from what the experiment prints.

mod common;

use socket_lessons::check::experiment::Answers;

const NAME: &str = "12_framing";

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
fn keeps_its_protocol() {
    common::assert_keeps_its_protocol(NAME, &[]);
}

#[test]
fn a_newline_inside_a_message_splits_it_into_two_lines() {
    let answers = answers();
    assert_eq!(answer(&answers, "messages sent"), "4");
    assert_eq!(answer(&answers, "lines received"), "5");
    assert_eq!(answer(&answers, "line 2"), r#"3 bytes: "two""#);
    assert_eq!(answer(&answers, "line 3"), r#"5 bytes: "lines""#);
    assert_eq!(answer(&answers, "line 4"), r#"0 bytes: """#);
}

#[test]
fn the_length_goes_first_in_network_byte_order() {
    let answers = answers();
    assert_eq!(
        answer(&answers, "the frame of \"hello\""),
        "00 00 00 05 68 65 6c 6c 6f"
    );
    assert_eq!(
        answer(&answers, "5u32.to_be_bytes() (htonl)"),
        "00 00 00 05"
    );
    assert_eq!(answer(&answers, "5u32.to_le_bytes()"), "05 00 00 00");
    assert_eq!(answer(&answers, "9999u16.to_be_bytes() (htons)"), "27 0f");
    assert_eq!(
        answer(&answers, "u32::from_be_bytes([0, 0, 0, 5]) (ntohl)"),
        "5"
    );
}

#[cfg(target_endian = "little")]
#[test]
fn this_machines_own_order_is_little_endian() {
    assert_eq!(
        answer(&answers(), "5u32.to_ne_bytes() (this machine's order)"),
        "05 00 00 00, little-endian"
    );
}

/// The four messages, as the experiment prints them when they arrive whole.
const SENT: [&str; 4] = [
    r#"5 bytes: "hello", as sent"#,
    r#"9 bytes: "two\nlines", as sent"#,
    r#"0 bytes: "", as sent"#,
    r#"100000 bytes: "abcdefghij"…, as sent"#,
];

#[test]
fn every_frame_arrives_whole_and_intact() {
    let answers = answers();
    assert_eq!(answer(&answers, "frames received"), "4");
    for (index, sent) in SENT.iter().enumerate() {
        assert_eq!(answer(&answers, &format!("frame {}", index + 1)), *sent);
    }
}

#[test]
fn an_empty_message_arrives_as_an_empty_frame() {
    assert_eq!(answer(&answers(), "frame 3"), SENT[2]);
}

#[test]
fn frames_arrive_whole_when_their_headers_are_cut_in_two() {
    let answers = answers();
    assert_eq!(answer(&answers, "frames received (cut up)"), "4");
    for (index, sent) in SENT.iter().enumerate() {
        let label = format!("frame {} (cut up)", index + 1);
        assert_eq!(answer(&answers, &label), *sent);
    }
}

#[test]
fn a_frame_over_the_limit_is_refused_before_it_is_read() {
    assert_eq!(
        answer(&answers(), "read_frame of a frame over the limit"),
        "InvalidData: a frame of 4294967295 bytes, over the limit of \
         1048576: refused before reading or allocating it"
    );
}

#[test]
fn a_peer_that_closes_mid_frame_gives_unexpected_eof() {
    assert_eq!(
        answer(&answers(), "read_frame of a frame cut short"),
        "UnexpectedEof: failed to fill whole buffer"
    );
}
