//! The lines chatload sends, and how it tells apart the lines it gets back.
//!
//! Everything a client sends is one line of ASCII:
//!
//! - `!h<client>`: hello, sent once on connecting; when a client gets its own
//!   hello back, the server has put it in its table;
//! - `!w<client>`: warm-up, sent once every client is known to the server;
//!   the run starts when every client has every warm-up (N × N deliveries);
//! - `#<client>.<seq>.<micros>`, then `.` up to the line's size, then `$`:
//!   a measured message. Numbers are in base 64 (`0-9a-zA-Z-_`, most
//!   significant digit first, so that 1,000 clients fit in lines of 13
//!   bytes); `micros` is the send time
//!   in microseconds since chatload started (one process, one clock). The
//!   closing `$` tells a whole line from one a server cut in two (the
//!   seed's server sends whatever one `recv(1024)` returned).
//!
//! What comes back is, for each line, a header line
//! (`YYYY/MM/DD HH:MM:SS IP:PORT`) then the line. Blank lines are ignored
//! (the Python seed adds one), anything else is counted as malformed.

/// The digits of base 64, in order. None of them is `.`, `$` or `#`.
const DIGITS: &[u8; 64] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

/// Each byte's value as a digit, or 255.
const VALUES: [u8; 256] = {
    let mut values = [255u8; 256];
    let mut digit = 0;
    while digit < 64 {
        values[DIGITS[digit] as usize] = digit as u8;
        digit += 1;
    }
    values
};

/// Appends `value` in base 64.
fn number(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 11];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = DIGITS[(rest % 64) as usize];
        rest /= 64;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// What one received line (without its `\n`) turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// The chat protocol's header line.
    Header,
    /// An empty line.
    Blank,
    /// A client's hello.
    Hello(u32),
    /// A client's warm-up line.
    Warm(u32),
    /// A measured message.
    Data { client: u32, seq: u32, micros: u64 },
    /// Anything else: an error message from the server, a line cut in two.
    Other,
}

/// The shortest a measured line can be for these numbers, newline included.
pub fn data_len(client: u32, seq: u32, micros: u64) -> usize {
    let mut line = Vec::new();
    data(&mut line, client, seq, micros, 0);
    line.len()
}

/// Appends a measured line of `size` bytes (newline included) to `out`, or
/// longer when the numbers need more.
pub fn data(
    out: &mut Vec<u8>,
    client: u32,
    seq: u32,
    micros: u64,
    size: usize,
) {
    let start = out.len();
    out.push(b'#');
    number(out, client.into());
    out.push(b'.');
    number(out, seq.into());
    out.push(b'.');
    number(out, micros);
    while out.len() - start + 2 < size {
        out.push(b'.');
    }
    out.extend_from_slice(b"$\n");
}

/// A hello line.
pub fn hello(client: u32) -> Vec<u8> {
    let mut line = b"!h".to_vec();
    number(&mut line, client.into());
    line.push(b'\n');
    line
}

/// A warm-up line.
pub fn warm(client: u32) -> Vec<u8> {
    let mut line = b"!w".to_vec();
    number(&mut line, client.into());
    line.push(b'\n');
    line
}

/// Tells what `line` (without its `\n`; a trailing `\r` is ignored) is.
pub fn classify(line: &[u8]) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.first() {
        None => Line::Blank,
        Some(b'#') => data_fields(&line[1..]).unwrap_or(Line::Other),
        Some(b'!') if line.len() > 2 => match (line[1], parse(&line[2..])) {
            (b'h', Some((client, []))) => Line::Hello(client as u32),
            (b'w', Some((client, []))) => Line::Warm(client as u32),
            _ => Line::Other,
        },
        Some(b'0'..=b'9') if is_header(line) => Line::Header,
        _ => Line::Other,
    }
}

/// `YYYY/MM/DD HH:MM:SS ` then an address: checked by shape, not by value
/// (this runs once per delivery).
fn is_header(line: &[u8]) -> bool {
    line.len() > 20
        && line[4] == b'/'
        && line[7] == b'/'
        && line[10] == b' '
        && line[13] == b':'
        && line[16] == b':'
        && line[19] == b' '
}

fn data_fields(rest: &[u8]) -> Option<Line> {
    let (client, rest) = parse(rest)?;
    let (seq, rest) = parse(rest.strip_prefix(b".")?)?;
    let (micros, rest) = parse(rest.strip_prefix(b".")?)?;
    // The padding, dots only, and the end mark: a line cut short or run
    // together with another is not taken for a whole one.
    let padding = rest.strip_suffix(b"$")?;
    if !padding.iter().all(|&byte| byte == b'.') {
        return None;
    }
    Some(Line::Data {
        client: u32::try_from(client).ok()?,
        seq: u32::try_from(seq).ok()?,
        micros,
    })
}

/// A base-64 number at the start of `text` (at least one digit), and what
/// follows it.
fn parse(text: &[u8]) -> Option<(u64, &[u8])> {
    let mut value: u64 = 0;
    let mut count = 0;
    for &byte in text {
        let digit = VALUES[byte as usize];
        if digit == 255 {
            break;
        }
        if count == 10 {
            return None;
        }
        value = value << 6 | u64::from(digit);
        count += 1;
    }
    (count > 0).then(|| (value, &text[count..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measured_line_reads_back_at_its_size() {
        let mut out = Vec::new();
        data(&mut out, 999, 19, 123_456_789, 40);
        assert_eq!(out.len(), 40);
        assert_eq!(out.last(), Some(&b'\n'));
        let line = &out[..out.len() - 1];
        assert_eq!(
            classify(line),
            Line::Data {
                client: 999,
                seq: 19,
                micros: 123_456_789
            }
        );
    }

    #[test]
    fn a_small_size_gives_the_shortest_line() {
        let mut out = Vec::new();
        data(&mut out, 1, 2, 3, 1);
        assert_eq!(out, b"#1.2.3$\n");
        out.clear();
        data(&mut out, 999, 19, 1_000_000_000, 1);
        assert_eq!(out, b"#fD.j.XCIE0$\n");
        assert_eq!(data_len(1, 2, 3), 8);
    }

    #[test]
    fn every_kind_of_line_is_told_apart() {
        assert_eq!(
            classify(b"2016/09/03 19:11:20 127.0.0.1:5000"),
            Line::Header
        );
        assert_eq!(classify(b""), Line::Blank);
        assert_eq!(classify(b"\r"), Line::Blank);
        assert_eq!(classify(b"!h1f"), Line::Hello(64 + 15));
        let line = hello(4000);
        assert_eq!(classify(&line[..line.len() - 1]), Line::Hello(4000));
        assert_eq!(classify(b"!h"), Line::Other);
        assert_eq!(classify(b"!w0\r"), Line::Warm(0));
        assert_eq!(classify(b"!x0"), Line::Other);
        assert_eq!(classify(b"#1.2"), Line::Other);
        assert_eq!(classify(b"#1.2.3$#4.5.6$"), Line::Other);
        // A line cut in two: neither half is a line.
        assert_eq!(classify(b"#1.2.3f"), Line::Other);
        assert_eq!(classify(b"#1.2.3f..."), Line::Other);
        assert_eq!(classify(b"..$"), Line::Other);
        assert_eq!(classify(b"error: line too long"), Line::Other);
        assert_eq!(classify(b"2016"), Line::Other);
    }
}
