use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time that backdates an event: the type of a `#[bento(date)]` field.
///
/// The date is sent as an RFC 3339 timestamp (the spec's `date-time`). Strings
/// are checked, not reinterpreted: `2024-05-01T12:00:00Z` and
/// `2024-05-01T14:00:00+02:00` pass, a Unix timestamp or `05/01/2024` is a
/// [`ValidationError::InvalidDate`](crate::ValidationError::InvalidDate).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as an event date",
    label = "the date field must be a timestamp",
    note = "use `SystemTime`, an RFC 3339 `String`/`&str`, `bento_core::convert::Timestamp`, `chrono::DateTime` (feature `chrono`) or `time::OffsetDateTime` (feature `time`), or an `Option` of one of them"
)]
pub trait EventDate {
    /// The timestamp, or `None` to send the event undated (Bento uses the time
    /// it receives it).
    fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError>;
}

/// An RFC 3339 timestamp, formatted on the stack.
///
/// ```
/// use bento_core::convert::Timestamp;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let t = Timestamp::try_from(UNIX_EPOCH + Duration::from_millis(1_714_564_800_250)).unwrap();
/// assert_eq!(t.as_str(), "2024-05-01T12:00:00.250Z");
/// assert_eq!(Timestamp::parse("2024-05-01T14:00:00+02:00").unwrap().as_str(), "2024-05-01T14:00:00+02:00");
/// assert!(Timestamp::parse("1714564800").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    buf: [u8; MAX_LEN],
    len: u8,
}

/// `YYYY-MM-DDTHH:MM:SS` + `.` and 9 digits + `+HH:MM`.
const MAX_LEN: usize = 19 + 10 + 6;

impl Timestamp {
    /// Checks that `value` is an RFC 3339 `date-time`, with its offset.
    pub fn parse(value: &str) -> Result<Self, DateError> {
        check_rfc3339(value.as_bytes()).map_err(|reason| DateError::new(value, reason))?;
        let mut buf = [0; MAX_LEN];
        buf[..value.len()].copy_from_slice(value.as_bytes());
        Ok(Self {
            buf,
            len: value.len() as u8,
        })
    }

    /// The instant `unix_seconds` + `nanos` after 1970-01-01T00:00:00Z, written
    /// in the time zone `offset_seconds` east of UTC (whole minutes only, as
    /// RFC 3339 has no offset seconds).
    pub fn from_unix(
        unix_seconds: i64,
        nanos: u32,
        offset_seconds: i32,
    ) -> Result<Self, DateError> {
        if nanos >= 1_000_000_000 {
            return Err(DateError::new(
                nanos.to_string(),
                "nanoseconds must be below 1,000,000,000",
            ));
        }
        let offset_minutes = offset_seconds / 60;
        if offset_minutes.abs() >= 24 * 60 {
            return Err(DateError::new(
                offset_seconds.to_string(),
                "the offset must be less than 24 hours",
            ));
        }
        let local = unix_seconds.checked_add(i64::from(offset_minutes) * 60);
        let (year, month, day, second_of_day) = match local {
            Some(local) => {
                let (y, m, d) = civil_from_days(local.div_euclid(86_400));
                (y, m, d, local.rem_euclid(86_400))
            }
            None => (i64::MAX, 0, 0, 0),
        };
        if !(0..=9999).contains(&year) {
            return Err(DateError::new(
                unix_seconds.to_string(),
                "the year must be between 0 and 9999",
            ));
        }
        let mut out = Writer::default();
        out.digits(year as u32, 4);
        out.byte(b'-');
        out.digits(month, 2);
        out.byte(b'-');
        out.digits(day, 2);
        out.byte(b'T');
        out.digits((second_of_day / 3600) as u32, 2);
        out.byte(b':');
        out.digits((second_of_day / 60 % 60) as u32, 2);
        out.byte(b':');
        out.digits((second_of_day % 60) as u32, 2);
        if nanos != 0 {
            out.byte(b'.');
            match (nanos % 1_000_000, nanos % 1000) {
                (0, _) => out.digits(nanos / 1_000_000, 3),
                (_, 0) => out.digits(nanos / 1000, 6),
                _ => out.digits(nanos, 9),
            }
        }
        if offset_minutes == 0 {
            out.byte(b'Z');
        } else {
            out.byte(if offset_minutes < 0 { b'-' } else { b'+' });
            let abs = offset_minutes.unsigned_abs();
            out.digits(abs / 60, 2);
            out.byte(b':');
            out.digits(abs % 60, 2);
        }
        Ok(Self {
            buf: out.buf,
            len: out.len as u8,
        })
    }

    /// The timestamp as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into the buffer.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl TryFrom<SystemTime> for Timestamp {
    type Error = DateError;

    fn try_from(time: SystemTime) -> Result<Self, DateError> {
        let (seconds, nanos) = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => (
                i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                after.subsec_nanos(),
            ),
            Err(before) => {
                let before = before.duration();
                let mut seconds = -i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                let mut nanos = before.subsec_nanos();
                if nanos > 0 {
                    seconds -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                (seconds, nanos)
            }
        };
        Self::from_unix(seconds, nanos, 0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Timestamp").field(&self.as_str()).finish()
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A value that is not a timestamp Bento can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a usable event date: {reason}; expected an RFC 3339 timestamp such as 2024-05-01T12:00:00Z"
)]
pub struct DateError {
    value: String,
    reason: &'static str,
}

impl DateError {
    fn new(value: impl Into<String>, reason: &'static str) -> Self {
        Self {
            value: value.into(),
            reason,
        }
    }

    /// The value as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &str {
        self.reason
    }
}

struct Writer {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Self {
            buf: [0; MAX_LEN],
            len: 0,
        }
    }
}

impl Writer {
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn digits(&mut self, mut value: u32, width: usize) {
        let start = self.len;
        for _ in 0..width {
            self.byte(b'0');
        }
        for slot in self.buf[start..self.len].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// RFC 3339 section 5.6 `date-time`, with the ranges it implies.
fn check_rfc3339(b: &[u8]) -> Result<(), &'static str> {
    fn number(b: &[u8], at: usize, width: usize) -> Option<u32> {
        let digits = b.get(at..at + width)?;
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    }
    fn expect(b: &[u8], at: usize, allowed: &[u8]) -> bool {
        b.get(at).is_some_and(|c| allowed.contains(c))
    }
    const SHAPE: &str = "the shape is not YYYY-MM-DDTHH:MM:SS followed by Z or an offset";
    let (Some(year), Some(month), Some(day)) = (number(b, 0, 4), number(b, 5, 2), number(b, 8, 2))
    else {
        return Err(SHAPE);
    };
    if !(expect(b, 4, b"-") && expect(b, 7, b"-") && expect(b, 10, b"Tt ")) {
        return Err(SHAPE);
    }
    let (Some(hour), Some(minute), Some(second)) =
        (number(b, 11, 2), number(b, 14, 2), number(b, 17, 2))
    else {
        return Err(SHAPE);
    };
    if !(expect(b, 13, b":") && expect(b, 16, b":")) {
        return Err(SHAPE);
    }
    if !(1..=12).contains(&month) {
        return Err("the month is not between 01 and 12");
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err("the day does not exist");
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err("the time of day is out of range");
    }
    let mut at = 19;
    if expect(b, at, b".") {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if !(1..=9).contains(&digits) {
            return Err("the fraction of a second must have 1 to 9 digits");
        }
        at += 1 + digits;
    }
    match b.get(at) {
        Some(b'Z' | b'z') if b.len() == at + 1 => Ok(()),
        Some(b'+' | b'-') if b.len() == at + 6 => {
            match (number(b, at + 1, 2), number(b, at + 4, 2)) {
                (Some(h), Some(m)) if expect(b, at + 3, b":") && h <= 23 && m <= 59 => Ok(()),
                _ => Err("the offset is not +HH:MM or -HH:MM"),
            }
        }
        None => Err("the time zone offset is missing; add Z for UTC"),
        _ => Err("the offset is not Z, +HH:MM or -HH:MM"),
    }
}

impl EventDate for Timestamp {
    fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError> {
        Ok(Some(*self))
    }
}

impl EventDate for SystemTime {
    fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError> {
        Timestamp::try_from(*self).map(Some)
    }
}

macro_rules! text_impls {
    ($($ty:ty),*) => {$(
        impl EventDate for $ty {
            fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError> {
                Timestamp::parse(self).map(Some)
            }
        }
    )*};
}

text_impls!(str, String, Cow<'_, str>, Box<str>, Arc<str>);

impl<T: EventDate + ?Sized> EventDate for &T {
    fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError> {
        (**self).to_timestamp()
    }
}

impl<T: EventDate> EventDate for Option<T> {
    fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError> {
        match self {
            Some(date) => date.to_timestamp(),
            None => Ok(None),
        }
    }
}

#[cfg(feature = "chrono")]
#[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
impl<Tz: chrono::TimeZone> EventDate for chrono::DateTime<Tz> {
    fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError> {
        use chrono::Offset;
        Timestamp::from_unix(
            self.timestamp(),
            self.timestamp_subsec_nanos(),
            self.offset().fix().local_minus_utc(),
        )
        .map(Some)
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl EventDate for time::OffsetDateTime {
    fn to_timestamp(&self) -> Result<Option<Timestamp>, DateError> {
        Timestamp::from_unix(
            self.unix_timestamp(),
            self.nanosecond(),
            self.offset().whole_seconds(),
        )
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_instants_in_utc_and_with_offsets() {
        let cases = [
            (0, 0, 0, "1970-01-01T00:00:00Z"),
            (1_714_564_800, 0, 0, "2024-05-01T12:00:00Z"),
            (1_714_564_800, 5_000_000, 0, "2024-05-01T12:00:00.005Z"),
            (1_714_564_800, 1_000, 0, "2024-05-01T12:00:00.000001Z"),
            (1_714_564_800, 7, 0, "2024-05-01T12:00:00.000000007Z"),
            (1_714_564_800, 0, 7200, "2024-05-01T14:00:00+02:00"),
            (1_714_564_800, 0, -19_800, "2024-05-01T06:30:00-05:30"),
            (951_782_400, 0, 0, "2000-02-29T00:00:00Z"),
            (-1, 0, 0, "1969-12-31T23:59:59Z"),
            (253_402_300_799, 0, 0, "9999-12-31T23:59:59Z"),
        ];
        for (seconds, nanos, offset, expected) in cases {
            let t = Timestamp::from_unix(seconds, nanos, offset).unwrap();
            assert_eq!(t.as_str(), expected);
            assert!(
                Timestamp::parse(expected).is_ok(),
                "{expected} must parse back"
            );
        }
        assert!(Timestamp::from_unix(253_402_300_800, 0, 0).is_err());
        assert!(Timestamp::from_unix(i64::MAX, 0, 3600).is_err());
        assert!(Timestamp::from_unix(0, 1_000_000_000, 0).is_err());
    }

    #[test]
    fn system_time_before_the_epoch() {
        let t = Timestamp::try_from(UNIX_EPOCH - Duration::from_millis(1500)).unwrap();
        assert_eq!(t.as_str(), "1969-12-31T23:59:58.500Z");
    }

    #[test]
    fn parse_accepts_rfc3339_and_nothing_else() {
        for ok in [
            "2024-05-01T12:00:00Z",
            "2024-05-01t12:00:00z",
            "2024-05-01 12:00:00+02:00",
            "2024-02-29T23:59:60.123456789-11:30",
        ] {
            assert!(Timestamp::parse(ok).is_ok(), "{ok}");
        }
        for (bad, reason) in [
            ("1714564800", "shape"),
            ("05/01/2024", "shape"),
            ("2024-05-01", "shape"),
            ("2024-05-01T12:00:00", "missing"),
            ("2023-02-29T12:00:00Z", "day"),
            ("2024-13-01T12:00:00Z", "month"),
            ("2024-05-01T24:00:00Z", "time of day"),
            ("2024-05-01T12:00:00.Z", "fraction"),
            ("2024-05-01T12:00:00.1234567890Z", "fraction"),
            ("2024-05-01T12:00:00+0200", "offset"),
            ("2024-05-01T12:00:00Z ", "offset"),
            ("２０２４-05-01T12:00:00Z", "shape"),
        ] {
            let error = Timestamp::parse(bad).unwrap_err();
            assert!(error.reason().contains(reason), "{bad}: {error}");
            assert_eq!(error.value(), bad);
        }
    }

    #[test]
    fn option_and_strings_implement_event_date() {
        assert_eq!(None::<String>.to_timestamp(), Ok(None));
        assert_eq!(
            Some("2024-05-01T12:00:00Z")
                .to_timestamp()
                .unwrap()
                .unwrap()
                .as_str(),
            "2024-05-01T12:00:00Z"
        );
        assert!("yesterday".to_timestamp().is_err());
    }
}
