//! The time as C's `ctime()` prints it, which is what Python's `time.ctime()` returns.
//!
//! The ctime protocol of lessons 03 and 05 prefixes every reply with this stamp, so a client
//! written from the Python tutorial sees exactly the bytes it expects.

use chrono::{DateTime, Local, TimeZone};

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
    }
}
