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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::retry::Outcome;

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

/// The requests of one family that count in the current window: those whose
/// answer arrived less than a window ago, and those still in flight.
///
/// Bento counts a request when it arrives, and anything (a starved thread, a
/// slow connect, a stalled database) can put time between the grant and the
/// arrival; but a request never arrives after its answer. So a slot counts
/// from its grant until a window after its answer: then no delay can put more
/// than N arrivals in any window the server sees (proof in DESIGN-NOTES).
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    limit: RateLimit,
    /// When the answers of the last requests arrived, oldest first.
    done: VecDeque<Instant>,
    /// Slots granted whose request has not ended.
    held: usize,
    blocked_until: Option<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            done: VecDeque::with_capacity(limit.requests as usize),
            held: 0,
            blocked_until: None,
        }
    }

    /// Takes a slot at `now`, held until [`release`](Self::release) or
    /// [`cancel`](Self::cancel); or says how long to wait for one at least.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Err(until - now);
            }
            self.blocked_until = None;
        }
        let window = self.limit.paced_window();
        while let Some(&oldest) = self.done.front() {
            if now.saturating_duration_since(oldest) >= window {
                self.done.pop_front();
            } else {
                break;
            }
        }
        if self.held + self.done.len() < self.limit.requests as usize {
            self.held += 1;
            return Ok(());
        }
        // A slot in flight frees a window after its answer at the earliest,
        // so never sooner than a window from now.
        Err(match self.done.front() {
            Some(&oldest) => window.saturating_sub(now.saturating_duration_since(oldest)),
            None => window,
        }
        .max(Duration::from_millis(1)))
    }

    /// The request of a held slot ended (answered or failed) at `now`: it
    /// counts for one more window from here.
    pub(crate) fn release(&mut self, now: Instant) {
        self.held = self.held.saturating_sub(1);
        let at = self.done.partition_point(|&t| t <= now);
        self.done.insert(at, now);
    }

    /// A held slot was not used: no request went out.
    pub(crate) fn cancel(&mut self) {
        self.held = self.held.saturating_sub(1);
    }

    /// Holds every request back until `until` (after a 429 with `Retry-After`).
    pub(crate) fn block_until(&mut self, until: Instant) {
        if self.blocked_until.is_none_or(|current| current < until) {
            self.blocked_until = Some(until);
        }
    }
}

type SharedWindow = Arc<Mutex<SlidingWindow>>;

fn lock(window: &SharedWindow) -> std::sync::MutexGuard<'_, SlidingWindow> {
    window
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A slot held somewhere else than this process's window (a fleet's budget
/// in a database): told when its request ended, or that it was not used.
pub trait RemoteSlot: Send + Sync {
    /// The request ended (`used`), or never went out.
    fn end(self: Box<Self>, used: bool);
}

/// A granted request slot. It counts against the limit until it is dropped,
/// after the request's answer arrived (or it failed), and for a window after
/// that; [`unused`](Self::unused) gives it back when nothing was sent.
#[must_use = "a slot counts until it is dropped after the request ends"]
pub(crate) struct Slot {
    window: Option<SharedWindow>,
    remote: Option<Box<dyn RemoteSlot>>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("local", &self.window.is_some())
            .field("remote", &self.remote.is_some())
            .finish()
    }
}

impl Slot {
    /// A slot of an unpaced family: counts nowhere.
    pub(crate) fn free() -> Self {
        Self {
            window: None,
            remote: None,
        }
    }

    /// This slot, also held in `remote`.
    pub(crate) fn with_remote(mut self, remote: Box<dyn RemoteSlot>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Ends the slot after its request ended with `result`: given back when
    /// nothing reached the server (no connection could be made), counted
    /// from now otherwise.
    pub(crate) fn end<T, E>(self, result: &Result<T, (Outcome, Option<Duration>, E)>) {
        if matches!(result, Err((Outcome::Connect, _, _))) {
            self.unused();
        }
    }

    /// Gives the slot back: its request never went out.
    pub(crate) fn unused(mut self) {
        if let Some(window) = self.window.take() {
            lock(&window).cancel();
        }
        if let Some(remote) = self.remote.take() {
            remote.end(false);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(window) = self.window.take() {
            lock(&window).release(Instant::now());
        }
        if let Some(remote) = self.remote.take() {
            remote.end(true);
        }
    }
}

/// One limiter per family; shared by all clones of a client.
#[derive(Debug)]
pub(crate) struct Pacer {
    windows: [Option<SharedWindow>; 4],
    /// What a shared budget is asked to pace to.
    limits: RateLimits,
}

impl Pacer {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Self {
            windows: EndpointFamily::ALL.map(|family| {
                limits
                    .get(family)
                    .map(|limit| Arc::new(Mutex::new(SlidingWindow::new(limit))))
            }),
            limits: limits.clone(),
        }
    }

    /// The limits it paces to.
    pub(crate) fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Takes a slot for a request of `family` if one is free now, or says how
    /// long until one may be.
    pub(crate) fn try_acquire(&self, family: EndpointFamily) -> Result<Slot, Duration> {
        let Some(window) = &self.windows[family.index()] else {
            return Ok(Slot::free());
        };
        lock(window).try_acquire(Instant::now())?;
        Ok(Slot {
            window: Some(Arc::clone(window)),
            remote: None,
        })
    }

    /// Waits until a request of `family` may be sent, and takes its slot; or,
    /// when that would take longer than `budget`, takes nothing and says at
    /// once how long the family is held back.
    pub(crate) async fn acquire(
        &self,
        family: EndpointFamily,
        budget: Duration,
    ) -> Result<Slot, Duration> {
        let deadline = crate::time::after(Instant::now(), budget);
        loop {
            let wait = match self.try_acquire(family) {
                Ok(slot) => return Ok(slot),
                Err(wait) => wait,
            };
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
            lock(window).block_until(crate::time::after(Instant::now(), delay));
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
                window.release(now);
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
        window.release(t0);
        assert!(window.try_acquire(t0 + ms(100)).is_ok());
        window.release(t0 + ms(100));
        let wait = window.try_acquire(t0 + ms(200)).unwrap_err();
        assert_eq!(wait, limit.paced_window() - ms(200));
        assert!(window.try_acquire(t0 + limit.paced_window()).is_ok());
    }

    #[test]
    fn a_slot_counts_from_its_grant_until_a_window_after_its_answer() {
        let limit = RateLimit::new(2, Duration::from_secs(1));
        let paced = limit.paced_window();
        let mut window = SlidingWindow::new(limit);
        let t0 = Instant::now();
        assert!(window.try_acquire(t0).is_ok());
        assert!(window.try_acquire(t0).is_ok());
        // Both in flight: however long ago they were granted, no third one,
        // and the wait is at least a window (an answer now frees a slot then).
        assert_eq!(window.try_acquire(t0 + ms(5_000)), Err(paced));
        window.release(t0 + ms(5_000));
        assert!(window.try_acquire(t0 + ms(5_000) + paced - ms(1)).is_err());
        assert!(window.try_acquire(t0 + ms(5_000) + paced).is_ok());
        // A slot given back unused counts for nothing.
        window.cancel();
        window.cancel();
        assert!(window.try_acquire(t0 + ms(5_001) + paced).is_ok());
    }

    /// Requests leave at any time between their grant and their answer,
    /// up to two windows late: the server never sees more than N in one
    /// window.
    #[test]
    fn no_delay_between_grant_and_arrival_breaks_the_limit() {
        const N: usize = 5;
        let limit = RateLimit::new(N as u32, Duration::from_millis(1000));
        for seed in 0..200 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut window = SlidingWindow::new(limit);
            let t0 = Instant::now();
            // (arrival at the server, answer) of each request in flight
            let mut flying: Vec<(Instant, Instant)> = Vec::new();
            let mut arrivals = Vec::new();
            for step in 0..2_000u64 {
                let now = t0 + ms(step * 5);
                flying.retain(|&(_, answer)| {
                    if answer <= now {
                        window.release(answer);
                        false
                    } else {
                        true
                    }
                });
                if rng.bool() && window.try_acquire(now).is_ok() {
                    let arrival = now + ms(rng.u64(0..=2_000));
                    let answer = arrival + ms(rng.u64(0..=50));
                    arrivals.push(arrival);
                    flying.push((arrival, answer));
                }
            }
            arrivals.sort();
            for (i, &start) in arrivals.iter().enumerate() {
                let seen = arrivals[i..]
                    .iter()
                    .take_while(|&&t| t.duration_since(start) < limit.window())
                    .count();
                assert!(seen <= N, "seed {seed}: {seen} arrivals in one window");
            }
            assert!(arrivals.len() > 20, "seed {seed}: it still sends");
        }
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
        window.release(t0);
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
        assert!(
            runtime
                .block_on(pacer.acquire(EndpointFamily::Batch, Duration::ZERO))
                .is_ok()
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
