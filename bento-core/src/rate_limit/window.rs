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
    /// Slots granted whose request has not ended.
    held: usize,
    blocked_until: Option<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            done: VecDeque::with_capacity(limit.requests() as usize),
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
        if self.held + self.done.len() < self.limit.requests() as usize {
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
