//! When to retry a failed request, and how long to wait first.
//!
//! [`decide`] is a pure function of the policy, what happened, how many
//! attempts were made, the server's `Retry-After` and a jitter sample, so every
//! branch is tested without a network or a clock.

use std::time::{Duration, SystemTime};

use http::StatusCode;

/// How the client retries requests that failed for a reason that may pass.
///
/// Retried: 408, 429, 500, 502, 503, 504, connection failures, timeouts and
/// dropped connections, with exponential backoff and full jitter. A
/// `Retry-After` from Bento is a floor for the wait; one longer than
/// [`max_retry_after`](Self::max_retry_after) is not waited out: the call fails
/// at once with the 429, whose [`ApiError::retry_after`](crate::ApiError::retry_after)
/// says when to come back.
///
/// Transactional email sends are not retried after an *ambiguous* failure (a
/// 500/502/504, a timeout, or a connection dropped after the request was sent),
/// because Bento may already have queued the email and a retry would send it
/// twice. Opt in with [`retry_ambiguous_email_sends`](Self::retry_ambiguous_email_sends).
///
/// ```
/// use std::time::Duration;
/// let policy = bento_core::RetryPolicy::default()
///     .max_attempts(5)
///     .base_delay(Duration::from_millis(100));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) retry_ambiguous_email_sends: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            retry_ambiguous_email_sends: false,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self::default().max_attempts(1)
    }

    /// Total attempts per call, the first included (default 4; at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry, doubled for each further one (default 250 ms).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest backoff between attempts (default 30 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the client waits out (default 60 s).
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// Retry transactional email sends after ambiguous failures too (default off).
    ///
    /// Only turn this on if a duplicate email is better than a missing one.
    pub fn retry_ambiguous_email_sends(mut self, yes: bool) -> Self {
        self.retry_ambiguous_email_sends = yes;
        self
    }
}

/// What one attempt ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Bento answered with this status.
    Status(StatusCode),
    /// No connection could be made: the request was certainly not processed.
    Connect,
    /// No answer within the timeout: the request may have been processed.
    Timeout,
    /// The connection broke after the request was written: it may have been processed.
    Interrupted,
    /// Bento answered 2xx with a body that is not its answer (undecodable, or
    /// over the size cap): it may have processed the request.
    Garbled,
}

/// Whether a request may be sent again when it may already have been processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Sending twice is harmless (reads, upserts, events with unique keys).
    Safe,
    /// Sending twice may duplicate a side effect (transactional email).
    AtMostOnce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Retry(Duration),
    GiveUp,
}

/// The statuses that say a request may succeed if sent again: the one table
/// for direct calls and background delivery. Other 5xx (501 Not
/// Implemented, 505...) say it never will.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether the server may have acted on a request that ended like this.
pub(crate) fn is_ambiguous(outcome: Outcome) -> bool {
    match outcome {
        // 408, 429 and 503 are answers that say the request was not taken on.
        Outcome::Status(status) => matches!(status.as_u16(), 500 | 502 | 504),
        Outcome::Connect => false,
        Outcome::Timeout | Outcome::Interrupted | Outcome::Garbled => true,
    }
}

/// Whether a failure may pass by itself: nothing reached Bento, or Bento
/// (or a proxy before it) was overloaded, down or slow, or its answer was
/// lost. Everything else is Bento's answer about the request itself.
pub(crate) fn is_transient(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Status(status) => is_retryable_status(status),
        Outcome::Connect | Outcome::Timeout | Outcome::Interrupted | Outcome::Garbled => true,
    }
}

/// Decides whether to retry after `attempts_made` attempts ended with `outcome`.
///
/// `jitter` is a sample from `[0, 1)`; the backoff is `jitter * min(max_delay,
/// base_delay * 2^(attempts_made - 1))` (full jitter), raised to `retry_after`
/// when the server sent one.
pub(crate) fn decide(
    policy: &RetryPolicy,
    outcome: Outcome,
    attempts_made: u32,
    retry_after: Option<Duration>,
    replay: Replay,
    jitter: f64,
) -> Decision {
    if !is_transient(outcome) || attempts_made >= policy.max_attempts {
        return Decision::GiveUp;
    }
    if replay == Replay::AtMostOnce && !policy.retry_ambiguous_email_sends && is_ambiguous(outcome)
    {
        return Decision::GiveUp;
    }
    if retry_after.is_some_and(|after| after > policy.max_retry_after) {
        return Decision::GiveUp;
    }
    Decision::Retry(backoff(policy, attempts_made, retry_after, jitter))
}

/// How background delivery waits before sending a batch again after a
/// failure that may pass: `base`, doubled at each further attempt up to
/// `max`, with full jitter; a longer `Retry-After` from Bento is waited out
/// in full. Background delivery has no attempt limit (nobody waits on it,
/// and counting attempts turned outages into lost data): items wait as long
/// as the failure lasts, bounded by
/// [`delivery_max_age`](crate::ClientBuilder::delivery_max_age) and the
/// queue's capacity. Set with
/// [`ClientBuilder::delivery_backoff`](crate::ClientBuilder::delivery_backoff).
///
/// ```
/// use std::time::Duration;
/// use bento_core::delivery::Backoff;
/// let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
/// # let _ = backoff;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// 250 ms, doubled up to a minute.
    fn default() -> Self {
        Self::new(Duration::from_millis(250), Duration::from_secs(60))
    }
}

impl Backoff {
    /// `base` before the first retry, doubled at each further one up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The wait before attempt `attempts_made + 1`.
    pub(crate) fn after(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Duration {
        exponential(self.base, self.max, attempts_made, retry_after, jitter)
    }
}

/// The wait before the next attempt: full-jitter exponential backoff, raised
/// to the server's `Retry-After`. Saturates instead of overflowing, whatever
/// the policy's durations.
pub(crate) fn backoff(
    policy: &RetryPolicy,
    attempts_made: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    exponential(
        policy.base_delay,
        policy.max_delay,
        attempts_made,
        retry_after,
        jitter,
    )
}

fn exponential(
    base: Duration,
    max: Duration,
    attempts_made: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exponent = attempts_made.saturating_sub(1).min(30);
    let ceiling = base
        .saturating_mul(1u32 << exponent)
        .min(max)
        .min(crate::time::FAR);
    // `mul_f64` panics when the product overflows; a ceiling of at most
    // 30 years times a factor of at most 1 cannot.
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let backoff = ceiling.mul_f64(jitter);
    retry_after.map_or(backoff, |after| backoff.max(after))
}

/// The longest `Retry-After` the client believes: anything longer (an hour is
/// already a lot for Bento's per-minute limits) is read as this.
pub(crate) const RETRY_AFTER_CEILING: Duration = Duration::from_secs(86_400);

/// Parses `Retry-After`: delay-seconds, or an HTTP date relative to `now`.
///
/// Never panics and never returns more than [`RETRY_AFTER_CEILING`]: huge
/// numbers and far-future dates are capped, dates in the past mean "now", and
/// anything else (negative, NaN, infinite, garbage) is ignored (`None`).
/// Fractional seconds, which RFC 9110 does not allow but servers send, are
/// honoured.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is still a (very long) number of seconds.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(RETRY_AFTER_CEILING));
    }
    if value.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        let seconds = value.parse::<f64>().ok()?;
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        let seconds = seconds.min(RETRY_AFTER_CEILING.as_secs_f64());
        return Some(
            Duration::try_from_secs_f64(seconds)
                .map_or(RETRY_AFTER_CEILING, |d| d.min(RETRY_AFTER_CEILING)),
        );
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(RETRY_AFTER_CEILING),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S503: Outcome = Outcome::Status(StatusCode::SERVICE_UNAVAILABLE);
    const S500: Outcome = Outcome::Status(StatusCode::INTERNAL_SERVER_ERROR);
    const S429: Outcome = Outcome::Status(StatusCode::TOO_MANY_REQUESTS);

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .max_attempts(5)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
    }

    #[test]
    fn retries_every_transient_outcome() {
        for code in [408, 429, 500, 502, 503, 504] {
            let outcome = Outcome::Status(StatusCode::from_u16(code).expect("status"));
            assert!(
                matches!(
                    decide(&policy(), outcome, 1, None, Replay::Safe, 0.5),
                    Decision::Retry(_)
                ),
                "{code}"
            );
        }
        for outcome in [Outcome::Connect, Outcome::Timeout, Outcome::Interrupted] {
            assert!(matches!(
                decide(&policy(), outcome, 1, None, Replay::Safe, 0.5),
                Decision::Retry(_)
            ));
        }
    }

    /// Direct calls and background delivery judge statuses by one table: a
    /// 501 fails both at once (it used to be retried for ever in the queue).
    #[test]
    fn one_table_of_what_may_pass() {
        for code in 100..600 {
            let Ok(status) = StatusCode::from_u16(code) else {
                continue;
            };
            let outcome = Outcome::Status(status);
            let direct = matches!(
                decide(&policy(), outcome, 1, None, Replay::Safe, 0.5),
                Decision::Retry(_)
            );
            assert_eq!(direct, is_transient(outcome), "{code}");
        }
        assert!(!is_transient(Outcome::Status(StatusCode::NOT_IMPLEMENTED)));
        assert!(!is_transient(Outcome::Status(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        )));
    }

    #[test]
    fn background_backoff_doubles_to_its_ceiling() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff.after(1, None, 1.0), Duration::from_millis(100));
        assert_eq!(backoff.after(3, None, 1.0), Duration::from_millis(400));
        assert_eq!(backoff.after(30, None, 1.0), Duration::from_secs(1));
        assert_eq!(
            backoff.after(1, Some(Duration::from_secs(5)), 0.5),
            Duration::from_secs(5),
            "Retry-After is waited out in full"
        );
    }

    #[test]
    fn never_retries_client_errors() {
        for code in [400, 401, 403, 404, 409, 422, 501] {
            let outcome = Outcome::Status(StatusCode::from_u16(code).expect("status"));
            assert_eq!(
                decide(&policy(), outcome, 1, None, Replay::Safe, 0.5),
                Decision::GiveUp,
                "{code}"
            );
        }
    }

    #[test]
    fn backoff_is_exponential_capped_and_fully_jittered() {
        let p = policy();
        assert_eq!(
            decide(&p, S503, 1, None, Replay::Safe, 1.0),
            Decision::Retry(Duration::from_millis(100))
        );
        assert_eq!(
            decide(&p, S503, 2, None, Replay::Safe, 1.0),
            Decision::Retry(Duration::from_millis(200))
        );
        assert_eq!(
            decide(&p, S503, 3, None, Replay::Safe, 1.0),
            Decision::Retry(Duration::from_millis(400))
        );
        assert_eq!(
            decide(&p, S503, 4, None, Replay::Safe, 1.0),
            Decision::Retry(Duration::from_millis(800))
        );
        // capped at max_delay even for huge attempt counts
        let capped = p.clone().max_attempts(u32::MAX);
        assert_eq!(
            decide(&capped, S503, 60, None, Replay::Safe, 1.0),
            Decision::Retry(Duration::from_secs(1))
        );
        // full jitter: zero sample waits zero, half sample waits half
        assert_eq!(
            decide(&p, S503, 3, None, Replay::Safe, 0.0),
            Decision::Retry(Duration::ZERO)
        );
        assert_eq!(
            decide(&p, S503, 3, None, Replay::Safe, 0.5),
            Decision::Retry(Duration::from_millis(200))
        );
    }

    #[test]
    fn stops_after_max_attempts() {
        assert!(matches!(
            decide(&policy(), S503, 4, None, Replay::Safe, 0.5),
            Decision::Retry(_)
        ));
        assert_eq!(
            decide(&policy(), S503, 5, None, Replay::Safe, 0.5),
            Decision::GiveUp
        );
        assert_eq!(
            decide(&RetryPolicy::never(), S503, 1, None, Replay::Safe, 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_a_floor_and_capped() {
        let p = policy().max_retry_after(Duration::from_secs(10));
        assert_eq!(
            decide(&p, S429, 1, Some(Duration::from_secs(3)), Replay::Safe, 0.5),
            Decision::Retry(Duration::from_secs(3))
        );
        // a backoff longer than Retry-After wins
        assert_eq!(
            decide(
                &p,
                S429,
                4,
                Some(Duration::from_millis(10)),
                Replay::Safe,
                1.0
            ),
            Decision::Retry(Duration::from_millis(800))
        );
        // beyond the cap, the caller is told instead of the client sleeping for an hour
        assert_eq!(
            decide(
                &p,
                S429,
                1,
                Some(Duration::from_secs(3600)),
                Replay::Safe,
                0.5
            ),
            Decision::GiveUp
        );
    }

    #[test]
    fn email_sends_are_not_replayed_after_ambiguous_failures() {
        let p = policy();
        for ambiguous in [S500, Outcome::Timeout, Outcome::Interrupted] {
            assert_eq!(
                decide(&p, ambiguous, 1, None, Replay::AtMostOnce, 0.5),
                Decision::GiveUp
            );
        }
        for safe in [S429, S503, Outcome::Connect] {
            assert!(matches!(
                decide(&p, safe, 1, None, Replay::AtMostOnce, 0.5),
                Decision::Retry(_)
            ));
        }
        let opted_in = p.retry_ambiguous_email_sends(true);
        assert!(matches!(
            decide(&opted_in, S500, 1, None, Replay::AtMostOnce, 0.5),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn parses_retry_after_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn extreme_retry_after_values_are_bounded_or_ignored() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for huge in [
            "1e300",
            "1e20",
            "9223372036854775807",
            "18446744073709551615",
            "99999999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                parse_retry_after(huge, now),
                Some(RETRY_AFTER_CEILING),
                "{huge}"
            );
        }
        for ignored in [
            "NaN", "nan", "inf", "-inf", "-0.5", "", "   ", "1 2", "0x10", "+5",
        ] {
            assert_eq!(parse_retry_after(ignored, now), None, "{ignored:?}");
        }
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("0.001", now),
            Some(Duration::from_millis(1))
        );
    }

    #[test]
    fn backoff_saturates_with_absurd_policies() {
        let p = RetryPolicy::default()
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX)
            .max_attempts(u32::MAX);
        for jitter in [0.0, 0.5, 0.999_999, 1.0, f64::NAN, f64::INFINITY, -1.0] {
            for attempts in [1, 2, 31, u32::MAX - 1] {
                let Decision::Retry(wait) = decide(&p, S503, attempts, None, Replay::Safe, jitter)
                else {
                    panic!("retryable")
                };
                assert!(wait <= crate::time::FAR);
            }
        }
    }
}
