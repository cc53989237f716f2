//! Client-side pacing so the client stays under Bento's rate limits instead of
//! bouncing off 429s.
//!
//! Each endpoint family has its own limiter, shared by every clone of a
//! [`Client`](crate::Client). A limiter remembers when its last N requests were
//! sent and lets a new one through only when fewer than N fall within the
//! window. Unlike a token bucket of capacity N (which admits a full burst plus
//! the refill, up to 2N in one window), this never exceeds N in *any* window,
//! whichever way the server counts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bento's endpoint families, each rate-limited on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointFamily {
    /// `/fetch/*`: reads, commands, tags, fields.
    Fetch,
    /// `/batch/*`: events, imports, emails, broadcasts.
    Batch,
    /// `/experimental/*`: validation, blacklist, moderation, gender, geolocation.
    Experimental,
    /// `/stats/*`: site, segment and report statistics.
    Stats,
}

impl EndpointFamily {
    const ALL: [EndpointFamily; 4] = [Self::Fetch, Self::Batch, Self::Experimental, Self::Stats];

    /// The family of an API path such as `batch/events` or `/api/v1/fetch/tags`.
    pub fn of_path(path: &str) -> Option<Self> {
        let path = path.trim_start_matches('/');
        let path = path.strip_prefix("api/v1/").unwrap_or(path);
        match path.split('/').next()? {
            "fetch" => Some(Self::Fetch),
            "batch" => Some(Self::Batch),
            "experimental" => Some(Self::Experimental),
            "stats" => Some(Self::Stats),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// At most `requests` requests in any window of length `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    requests: u32,
    window: Duration,
}

impl RateLimit {
    /// `requests` per `window`; `requests` is at least 1.
    pub fn new(requests: u32, window: Duration) -> Self {
        Self {
            requests: requests.max(1),
            window,
        }
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// `requests` per hour.
    pub fn per_hour(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(3600))
    }

    /// The number of requests allowed per window.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The window the client paces against: slightly longer than the server's,
    /// so that network jitter cannot squeeze N+1 requests into the server's view
    /// of one window.
    pub(crate) fn paced_window(&self) -> Duration {
        self.window
            .saturating_add((self.window / 200).max(Duration::from_millis(10)))
    }

    /// The window a fleet paces against through its database: the grant and
    /// the request are further apart (a database round trip, another
    /// process's scheduling), so the margin is at least 50 ms.
    #[cfg(feature = "postgres")]
    pub(crate) fn fleet_window(&self) -> Duration {
        self.window
            .saturating_add((self.window / 200).max(Duration::from_millis(50)))
    }
}

/// The client-side limit of each endpoint family.
///
/// The default follows Bento's documentation: 100 requests per minute for
/// `/fetch`, `/batch` and `/experimental`, 60 per hour for `/stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    limits: [Option<RateLimit>; 4],
}

impl Default for RateLimits {
    fn default() -> Self {
        let per_minute = Some(RateLimit::per_minute(100));
        Self {
            limits: [
                per_minute,
                per_minute,
                per_minute,
                Some(RateLimit::per_hour(60)),
            ],
        }
    }
}

impl RateLimits {
    /// No client-side pacing at all (the server's 429s are still retried).
    pub fn unlimited() -> Self {
        Self { limits: [None; 4] }
    }

    /// Sets the limit of one family; `None` turns pacing off for it.
    pub fn set(mut self, family: EndpointFamily, limit: impl Into<Option<RateLimit>>) -> Self {
        self.limits[family.index()] = limit.into();
        self
    }

    /// The limit of one family.
    pub fn get(&self, family: EndpointFamily) -> Option<RateLimit> {
        self.limits[family.index()]
    }
}

/// Send times of the last N requests of one family.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    limit: RateLimit,
    sent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            sent: VecDeque::with_capacity(limit.requests as usize),
            blocked_until: None,
        }
    }

    /// Takes a slot at `now`, or says how long to wait for one.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Err(until - now);
            }
            self.blocked_until = None;
        }
        let window = self.limit.paced_window();
        while let Some(&oldest) = self.sent.front() {
            if now.duration_since(oldest) >= window {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        if self.sent.len() < self.limit.requests as usize {
            self.sent.push_back(now);
            return Ok(());
        }
        let oldest = *self.sent.front().expect("window is full, so not empty");
        Err(window - now.duration_since(oldest))
    }

    /// Holds every request back until `until` (after a 429 with `Retry-After`).
    pub(crate) fn block_until(&mut self, until: Instant) {
        if self.blocked_until.is_none_or(|current| current < until) {
            self.blocked_until = Some(until);
        }
    }
}

/// One limiter per family; shared by all clones of a client.
#[derive(Debug)]
pub(crate) struct Pacer {
    windows: [Option<Mutex<SlidingWindow>>; 4],
    /// For the outbox relay's fleet-wide budget.
    #[cfg(feature = "postgres")]
    limits: RateLimits,
}

impl Pacer {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Self {
            windows: EndpointFamily::ALL.map(|family| {
                limits
                    .get(family)
                    .map(|limit| Mutex::new(SlidingWindow::new(limit)))
            }),
            #[cfg(feature = "postgres")]
            limits: limits.clone(),
        }
    }

    /// The limits it paces to.
    #[cfg(feature = "postgres")]
    pub(crate) fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// How long the caller must wait before sending a request of `family`;
    /// zero means a slot was taken.
    fn poll(&self, family: EndpointFamily) -> Duration {
        let Some(window) = &self.windows[family.index()] else {
            return Duration::ZERO;
        };
        let mut window = window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        window
            .try_acquire(Instant::now())
            .err()
            .unwrap_or(Duration::ZERO)
    }

    /// Takes a slot for a request of `family` if one is free now, or says how
    /// long until one is.
    pub(crate) fn try_acquire(&self, family: EndpointFamily) -> Result<(), Duration> {
        match self.poll(family) {
            wait if wait.is_zero() => Ok(()),
            wait => Err(wait),
        }
    }

    /// Waits until a request of `family` may be sent, and takes its slot; or,
    /// when that would take longer than `budget`, takes nothing and says at
    /// once how long the family is held back.
    pub(crate) async fn acquire(
        &self,
        family: EndpointFamily,
        budget: Duration,
    ) -> Result<(), Duration> {
        let deadline = crate::time::after(Instant::now(), budget);
        loop {
            let wait = self.poll(family);
            if wait.is_zero() {
                return Ok(());
            }
            if crate::time::after(Instant::now(), wait) > deadline {
                return Err(wait);
            }
            tracing::debug!(
                ?family,
                wait_ms = wait.as_millis() as u64,
                "pacing Bento request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Holds a family back for `delay` after the server asked for it.
    pub(crate) fn defer(&self, family: EndpointFamily, delay: Duration) {
        if let Some(window) = &self.windows[family.index()] {
            let mut window = window
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            window.block_until(crate::time::after(Instant::now(), delay));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn never_admits_more_than_the_limit_in_any_window() {
        let limit = RateLimit::new(3, Duration::from_secs(1));
        let paced = limit.paced_window();
        let mut window = SlidingWindow::new(limit);
        let t0 = Instant::now();
        let mut admitted = Vec::new();
        // offer a request every 50 ms for 5 s
        for step in 0..100u64 {
            let now = t0 + ms(step * 50);
            if window.try_acquire(now).is_ok() {
                admitted.push(now);
            }
        }
        for (i, &start) in admitted.iter().enumerate() {
            let in_window = admitted[i..]
                .iter()
                .filter(|&&t| t.duration_since(start) < limit.window())
                .count();
            assert!(in_window <= 3, "{in_window} requests within one window");
        }
        // and it is not needlessly slow: 3 per paced window over 5 s
        let expected = 3 * (5_000 / paced.as_millis() as usize + 1);
        assert!(
            admitted.len() >= expected - 3,
            "{} admitted",
            admitted.len()
        );
    }

    #[test]
    fn says_how_long_to_wait() {
        let limit = RateLimit::new(2, Duration::from_secs(1));
        let mut window = SlidingWindow::new(limit);
        let t0 = Instant::now();
        assert!(window.try_acquire(t0).is_ok());
        assert!(window.try_acquire(t0 + ms(100)).is_ok());
        let wait = window.try_acquire(t0 + ms(200)).unwrap_err();
        assert_eq!(wait, limit.paced_window() - ms(200));
        assert!(window.try_acquire(t0 + limit.paced_window()).is_ok());
    }

    #[test]
    fn retry_after_blocks_the_family() {
        let mut window = SlidingWindow::new(RateLimit::per_minute(100));
        let t0 = Instant::now();
        window.block_until(t0 + ms(500));
        window.block_until(t0 + ms(100)); // a shorter block never shortens the current one
        assert_eq!(window.try_acquire(t0), Err(ms(500)));
        assert!(window.try_acquire(t0 + ms(500)).is_ok());
    }

    #[test]
    fn absurd_windows_and_deferrals_do_not_overflow() {
        let mut window = SlidingWindow::new(RateLimit::new(1, Duration::MAX));
        let t0 = Instant::now();
        assert!(window.try_acquire(t0).is_ok());
        assert!(window.try_acquire(t0 + ms(1)).is_err());
        let pacer = Pacer::new(&RateLimits::default());
        pacer.defer(EndpointFamily::Fetch, Duration::MAX);
        assert!(pacer.try_acquire(EndpointFamily::Fetch).is_err());
        assert!(pacer.try_acquire(EndpointFamily::Batch).is_ok());
    }

    #[test]
    fn a_deferred_family_fails_fast_past_the_budget() {
        let pacer = Pacer::new(&RateLimits::default());
        pacer.defer(EndpointFamily::Fetch, Duration::from_secs(3600));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let waited =
            runtime.block_on(pacer.acquire(EndpointFamily::Fetch, Duration::from_secs(60)));
        let wait = waited.expect_err("an hour is past a minute's budget");
        assert!(wait > Duration::from_secs(3590), "{wait:?}");
        assert_eq!(
            runtime.block_on(pacer.acquire(EndpointFamily::Batch, Duration::ZERO)),
            Ok(())
        );
    }

    #[test]
    fn families_come_from_paths() {
        assert_eq!(
            EndpointFamily::of_path("batch/events"),
            Some(EndpointFamily::Batch)
        );
        assert_eq!(
            EndpointFamily::of_path("/api/v1/fetch/tags"),
            Some(EndpointFamily::Fetch)
        );
        assert_eq!(
            EndpointFamily::of_path("experimental/blacklist.json"),
            Some(EndpointFamily::Experimental)
        );
        assert_eq!(
            EndpointFamily::of_path("stats/site"),
            Some(EndpointFamily::Stats)
        );
        assert_eq!(EndpointFamily::of_path("other"), None);
    }

    #[test]
    fn defaults_follow_bento_documentation() {
        let limits = RateLimits::default();
        assert_eq!(
            limits.get(EndpointFamily::Batch),
            Some(RateLimit::per_minute(100))
        );
        assert_eq!(
            limits.get(EndpointFamily::Stats),
            Some(RateLimit::per_hour(60))
        );
        assert_eq!(RateLimits::unlimited().get(EndpointFamily::Fetch), None);
    }
}
