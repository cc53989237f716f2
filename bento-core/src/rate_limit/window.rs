//! One family's sliding window: never more than N requests in any window,
//! however the server counts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::limits::RateLimit;

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
    /// When the answers Bento accepted (anything but a 429) arrived, oldest
    /// first: what it counted, when it says "too many".
    accepted: VecDeque<Instant>,
    /// Slots granted whose request has not ended.
    held: usize,
    blocked_until: Option<Instant>,
    adapt: Adapt,
}

/// How a family's rate follows what Bento answers: a 429 lowers it to what
/// Bento had accepted in the window, and windows that wanted more without a
/// 429 raise it again, step by step.
#[derive(Debug)]
struct Adapt {
    /// The requests admitted per window now.
    current: u32,
    /// The most it may probe up to: the limit, or twice an estimate.
    most: u32,
    /// How much one window without a 429 raises `current`.
    step: u32,
    /// A 429 showed Bento's limit: no probing above `current` before then.
    settled_until: Option<Instant>,
    /// When `current` last rose, or the window last said "too many".
    since: Instant,
    /// Whether a request had to wait for room since then.
    wanted_more: bool,
    /// When the last 429 arrived.
    last_refused: Option<Instant>,
    /// The rate before the 429s of the current episode (429s less than a
    /// window apart) lowered it.
    before: u32,
}

/// How long the rate found by a 429 holds before the pacer probes above it
/// again, in windows: half an hour for Bento's per-minute limits.
const SETTLED_WINDOWS: u32 = 30;

impl SlidingWindow {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let requests = limit.requests();
        let most = if limit.is_estimate() {
            requests.saturating_mul(2)
        } else {
            requests
        };
        Self {
            limit,
            done: VecDeque::with_capacity(requests as usize),
            accepted: VecDeque::with_capacity(requests as usize),
            held: 0,
            blocked_until: None,
            adapt: Adapt {
                current: requests,
                most,
                step: requests.div_ceil(10),
                settled_until: None,
                since: Instant::now(),
                wanted_more: false,
                last_refused: None,
                before: requests,
            },
        }
    }

    /// The limit paced to now: the configured one, lowered by 429s or raised
    /// by probing.
    pub(crate) fn current(&self) -> RateLimit {
        RateLimit::new(self.adapt.current, self.limit.window())
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
        for times in [&mut self.done, &mut self.accepted] {
            while times
                .front()
                .is_some_and(|&oldest| now.saturating_duration_since(oldest) >= window)
            {
                times.pop_front();
            }
        }
        self.probe(now);
        let current = self.adapt.current as usize;
        if self.held + self.done.len() < current {
            self.held += 1;
            return Ok(());
        }
        self.adapt.wanted_more = true;
        // Room comes back when enough answers are a window old; a slot in
        // flight frees a window after its answer at the earliest, so never
        // sooner than a window from now.
        let over = self.held + self.done.len() - current;
        Err(match self.done.get(over) {
            Some(&freed) => window.saturating_sub(now.saturating_duration_since(freed)),
            None => window,
        }
        .max(Duration::from_millis(1)))
    }

    /// Raises the rate by a step when the last window wanted more and no 429
    /// came, up to the limit (or twice an estimate); not while the rate a
    /// 429 showed holds.
    fn probe(&mut self, now: Instant) {
        let adapt = &mut self.adapt;
        let window = self.limit.paced_window();
        if adapt.current >= adapt.most
            || !adapt.wanted_more
            || now.saturating_duration_since(adapt.since) < window
        {
            return;
        }
        if adapt
            .last_refused
            .is_some_and(|at| now.saturating_duration_since(at) < window)
        {
            return;
        }
        if adapt.settled_until.is_some_and(|until| now < until) {
            return;
        }
        let raised = adapt.current.saturating_add(adapt.step).min(adapt.most);
        if raised > adapt.current {
            tracing::debug!(
                from = adapt.current,
                to = raised,
                "raising a Bento rate: a window wanted more and no 429 came"
            );
            adapt.current = raised;
        }
        adapt.since = now;
        adapt.wanted_more = false;
    }

    /// The request of a held slot ended (answered or failed) at `now`: it
    /// counts for one more window from here.
    pub(crate) fn release(&mut self, now: Instant) {
        self.held = self.held.saturating_sub(1);
        insert_sorted(&mut self.done, now);
        insert_sorted(&mut self.accepted, now);
    }

    /// The request of a held slot was answered 429 at `now`: it counts like
    /// any other, and the rate drops to what Bento accepted in the window
    /// (less a margin for the two clocks' windows differing), counting the
    /// requests still in flight as accepted, but never
    /// below half of it at once: a 429 that is a quota (the daily broadcast
    /// limit) rather than the rate must not collapse the family.
    ///
    /// Returns the rate before this episode of 429s and how long the rate
    /// found holds, for a fleet's budget to lower the fleet's rate alike.
    pub(crate) fn refused(&mut self, now: Instant) -> (RateLimit, Duration) {
        let window = self.limit.paced_window();
        let episode = self
            .adapt
            .last_refused
            .is_some_and(|at| now.saturating_duration_since(at) < window);
        if !episode {
            self.adapt.before = self.adapt.current;
        }
        self.held = self.held.saturating_sub(1);
        insert_sorted(&mut self.done, now);
        let accepted = self
            .accepted
            .iter()
            .filter(|&&at| now.saturating_duration_since(at) < window)
            .count();
        // Requests still in flight were granted before this answer came
        // back and may well be accepted; each later 429 counts again with
        // what was accepted since, so the last one counts them all.
        let accepted = u32::try_from(accepted + self.held).unwrap_or(u32::MAX);
        let adapt = &mut self.adapt;
        let margin = (accepted / 50).max(1);
        let learned = accepted
            .saturating_sub(margin)
            .clamp((adapt.current / 2).max(1), adapt.current.max(1));
        if learned < adapt.current {
            tracing::info!(
                from = adapt.current,
                to = learned,
                window_ms = self.limit.window().as_millis() as u64,
                "Bento answered 429: lowering the rate to what it accepted"
            );
            adapt.current = learned;
        }
        adapt.settled_until = Some(crate::time::after(
            now,
            self.limit.window().saturating_mul(SETTLED_WINDOWS),
        ));
        adapt.last_refused = Some(now);
        adapt.since = now;
        adapt.wanted_more = false;
        let settle = self.limit.window().saturating_mul(SETTLED_WINDOWS);
        (
            RateLimit::new(adapt.before, self.limit.window()),
            settle.min(crate::time::FAR),
        )
    }

    /// Paces to `rate`, the fleet's rate a shared budget found after a 429:
    /// this process's own count is only its share of what Bento saw.
    pub(crate) fn follow_fleet(&mut self, rate: u32) {
        let adapt = &mut self.adapt;
        adapt.current = rate.clamp(1, adapt.before.max(1));
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

fn insert_sorted(times: &mut VecDeque<Instant>, at: Instant) {
    let index = times.partition_point(|&t| t <= at);
    times.insert(index, at);
}

pub(crate) type SharedWindow = Arc<Mutex<SlidingWindow>>;

pub(crate) fn lock(window: &SharedWindow) -> std::sync::MutexGuard<'_, SlidingWindow> {
    window
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    /// A server admitting `limit` arrivals in any window of `window`; the
    /// client offers a request every 2 ms (far more than either limit) for
    /// `windows` windows, each answered 1 ms after it arrives. Returns the
    /// times of the 429s and of the admitted requests.
    fn against_server(
        client: RateLimit,
        server: usize,
        windows: u64,
    ) -> (Vec<Duration>, Vec<Duration>) {
        let window_ms = client.window().as_millis() as u64;
        let mut pacer = SlidingWindow::new(client);
        let t0 = Instant::now();
        let mut admitted_at: VecDeque<Instant> = VecDeque::new();
        let (mut refused, mut admitted) = (Vec::new(), Vec::new());
        for step in 0..windows * window_ms / 2 {
            let now = t0 + ms(step * 2);
            if pacer.try_acquire(now).is_err() {
                continue;
            }
            while admitted_at
                .front()
                .is_some_and(|&t| now.duration_since(t) >= client.window())
            {
                admitted_at.pop_front();
            }
            if admitted_at.len() < server {
                admitted_at.push_back(now);
                admitted.push(now - t0);
                pacer.release(now + ms(1));
            } else {
                refused.push(now - t0);
                pacer.refused(now + ms(1));
            }
        }
        (refused, admitted)
    }

    fn in_windows(times: &[Duration], window: Duration, from: u64, to: u64) -> usize {
        times
            .iter()
            .filter(|&&t| t >= window * from as u32 && t < window * to as u32)
            .count()
    }

    #[test]
    fn a_429_lowers_the_rate_to_what_bento_accepted() {
        let client = RateLimit::new(100, Duration::from_secs(1));
        let (refused, admitted) = against_server(client, 60, 20);
        assert_eq!(refused.len(), 1, "one 429, then paced below: {refused:?}");
        assert!(refused[0] < client.window(), "{refused:?}");
        // at least 90% of what the server allows, in every later window
        let used = in_windows(&admitted, client.window(), 2, 20);
        assert!(used >= 60 * 18 * 9 / 10, "{used} requests in 18 windows");
    }

    #[test]
    fn an_estimate_probes_up_to_what_bento_allows() {
        let client = RateLimit::new(60, Duration::from_secs(1)).estimate();
        let (refused, admitted) = against_server(client, 100, 25);
        assert!(
            (1..=3).contains(&refused.len()),
            "probing found the limit with a handful of 429s: {refused:?}"
        );
        let found = *refused.last().expect("a 429");
        let settled = (found.as_secs() + 2).min(20);
        let used = in_windows(&admitted, client.window(), settled, 25);
        let windows = (25 - settled) as usize;
        assert!(
            used >= 100 * windows * 9 / 10,
            "{used} requests in {windows} windows after the 429 at {found:?}"
        );
    }

    #[test]
    fn a_limit_that_is_not_an_estimate_is_never_exceeded() {
        let client = RateLimit::new(60, Duration::from_secs(1));
        let (refused, admitted) = against_server(client, 100, 20);
        assert!(refused.is_empty(), "{refused:?}");
        for window in 0..20 {
            assert!(in_windows(&admitted, client.window(), window, window + 1) <= 60);
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
}
