//! Time arithmetic that cannot overflow.
//!
//! Durations reach the client from users (`Duration::MAX` is a legal
//! setting) and from servers (`Retry-After: 18446744073709551615`); adding
//! one to an `Instant` panics on overflow. Everything that schedules goes
//! through here instead, so an absurd duration means "much later", never a
//! panic on the delivery thread.

use std::time::{Duration, Instant};

/// How far ahead "never" is: about 30 years, as tokio's own far future.
pub(crate) const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `now + by`, or `now` plus [`FAR`] when that would overflow.
pub(crate) fn after(now: Instant, by: Duration) -> Instant {
    now.checked_add(by.min(FAR))
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_overflows() {
        let now = Instant::now();
        assert_eq!(
            after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        assert_eq!(after(now, Duration::MAX), now + FAR);
    }
}
