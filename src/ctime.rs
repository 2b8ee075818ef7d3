//! The time as Python's `time.ctime()` returns it: C's `ctime()` without its newline.
//!
//! The ctime protocol of lessons 03 and 05 prefixes every reply with this stamp, so a client
//! written from the Python tutorial sees exactly the bytes it expects.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};

/// The `ctime` layout: weekday, month, day padded with a space, time, year.
pub const FORMAT: &str = "%a %b %e %H:%M:%S %Y";

/// How many bytes a stamp takes (for any year with four digits), e.g. `Tue Sep  3 19:11:20 2016`.
pub const LEN: usize = 24;

/// The local time now, as `ctime()` prints it without its trailing newline.
pub fn now() -> String {
    format(&Local::now())
}

/// Any moment, formatted as `ctime()` would.
pub fn format<Tz: TimeZone>(moment: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    moment.format(FORMAT).to_string()
}

/// True when `text` is a stamp in this format, exactly: a valid date whose weekday is right,
/// the day padded with a space, nothing before or after.
pub fn is_stamp(text: &str) -> bool {
    NaiveDateTime::parse_from_str(text, FORMAT)
        .is_ok_and(|moment| moment.format(FORMAT).to_string() == text)
}

/// True when `text` is a stamp of the local time now, give or take a minute.
pub fn is_now(text: &str) -> bool {
    let Ok(moment) = NaiveDateTime::parse_from_str(text, FORMAT) else {
        return false;
    };
    let now = Local::now().naive_local();
    is_stamp(text) && (now - moment).num_seconds().abs() <= 60
}

/// True when `bytes` could be the first bytes of a stamp: letters, spaces, digits and colons
/// where a stamp has them. A reader can tell at its first wrong byte that no stamp is coming.
pub fn could_start_a_stamp(bytes: &[u8]) -> bool {
    // A letter, a digit, a digit or a space, or itself.
    const SHAPE: &[u8; LEN] = b"AAA AAA _9 99:99:99 9999";
    bytes.len() <= LEN
        && bytes.iter().zip(SHAPE).all(|(&byte, &shape)| match shape {
            b'A' => byte.is_ascii_alphabetic(),
            b'9' => byte.is_ascii_digit(),
            b'_' => byte == b' ' || byte.is_ascii_digit(),
            other => byte == other,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    #[test]
    fn pads_the_day_with_a_space_like_c() {
        let moment = NaiveDate::from_ymd_opt(2016, 9, 3)
            .and_then(|day| day.and_hms_opt(19, 11, 20))
            .map(|naive| Utc.from_utc_datetime(&naive))
            .expect("a valid date");
        assert_eq!(format(&moment), "Sat Sep  3 19:11:20 2016");
        assert_eq!(format(&moment).len(), LEN);
    }

    #[test]
    fn now_has_the_fixed_length() {
        assert_eq!(now().len(), LEN);
        assert!(is_now(&now()));
    }

    #[test]
    fn tells_a_stamp_from_other_bytes() {
        assert!(is_stamp("Sat Sep  3 19:11:20 2016"));
        assert!(!is_stamp("Sun Sep  3 19:11:20 2016"), "the wrong weekday");
        assert!(!is_stamp("Sat Sep 03 19:11:20 2016"), "a zero, not a space");
        assert!(could_start_a_stamp(b"Sat Sep  3"));
        assert!(!could_start_a_stamp(b"hello"));
    }
}
