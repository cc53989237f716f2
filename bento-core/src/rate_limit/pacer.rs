//! The pacer: one window per family, shared by every clone of a client,
//! and the way every request takes its slot, here and, when one is set, in
//! a budget shared with other processes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::budget::{Budget, RateBudget, SlotRequest};
use super::limits::{EndpointFamily, RateLimits};
use super::slot::Slot;
use super::window::{SharedWindow, SlidingWindow, lock};

/// One limiter per family; shared by all clones of a client.
#[derive(Debug)]
pub(crate) struct Pacer {
    windows: [Option<SharedWindow>; 7],
    /// How long a slot of a shared budget stays held when its end is never
    /// recorded: as long as a request can take, plus a margin.
    hold: Duration,
}

impl Pacer {
    /// Paces to `limits`; `request_timeout` is the longest a request takes.
    pub(crate) fn new(limits: &RateLimits, request_timeout: Duration) -> Self {
        Self {
            windows: EndpointFamily::ALL.map(|family| {
                limits
                    .get(family)
                    .map(|limit| Arc::new(Mutex::new(SlidingWindow::new(limit))))
            }),
            hold: request_timeout
                .saturating_add(Duration::from_secs(1))
                .min(crate::time::FAR),
        }
    }

    /// Takes a slot for a request of `family` if one is free now, or says how
    /// long until one may be.
    pub(crate) fn try_acquire(&self, family: EndpointFamily) -> Result<Slot, Duration> {
        let Some(window) = &self.windows[family.index()] else {
            return Ok(Slot::free());
        };
        lock(window).try_acquire(Instant::now())?;
        Ok(Slot::local(Arc::clone(window)))
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

    /// One try at a slot for a request of `family`: this process's window
    /// first (so a process alone never exceeds the limit, also while a
    /// shared budget is unreachable), then `budget` when there is one. A
    /// slot counts until it is dropped after its request ended.
    pub(crate) async fn try_slot(
        &self,
        family: EndpointFamily,
        budget: Option<&dyn RateBudget>,
    ) -> Result<Slot, Duration> {
        let local = self.try_acquire(family)?;
        let (Some(budget), Some(window)) = (budget, &self.windows[family.index()]) else {
            return Ok(local);
        };
        // The fleet paces to this process's rate as it stands, lowered by
        // the 429s it saw or raised by probing.
        let limit = lock(window).current();
        let request = SlotRequest {
            family,
            limit,
            hold: self.hold,
        };
        match budget.take(request).await {
            Budget::Slot(remote) => Ok(local.with_remote(remote)),
            Budget::Wait(wait) => {
                local.unused();
                Err(wait)
            }
            Budget::Local => Ok(local),
        }
    }

    /// Waits for a slot, here and in `budget`; or, when that would take
    /// longer than `patience`, takes nothing and says at once how long the
    /// family is held back.
    pub(crate) async fn slot(
        &self,
        family: EndpointFamily,
        budget: Option<&dyn RateBudget>,
        patience: Duration,
    ) -> Result<Slot, Duration> {
        if budget.is_none() {
            return self.acquire(family, patience).await;
        }
        let deadline = crate::time::after(Instant::now(), patience);
        loop {
            match self.try_slot(family, budget).await {
                Ok(slot) => return Ok(slot),
                Err(wait) if crate::time::after(Instant::now(), wait) > deadline => {
                    return Err(wait);
                }
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Holds `family` back for `delay` (Bento's `Retry-After`) here and in
    /// `budget`, so that every process sharing it waits too.
    pub(crate) async fn defer_everywhere(
        &self,
        family: EndpointFamily,
        delay: Duration,
        budget: Option<&dyn RateBudget>,
    ) {
        self.defer(family, delay);
        if let Some(budget) = budget {
            budget.defer(family, delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::limits::RateLimit;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn absurd_windows_and_deferrals_do_not_overflow() {
        let mut window = SlidingWindow::new(RateLimit::new(1, Duration::MAX));
        let t0 = Instant::now();
        assert!(window.try_acquire(t0).is_ok());
        window.release(t0);
        assert!(window.try_acquire(t0 + ms(1)).is_err());
        let pacer = Pacer::new(&RateLimits::default(), Duration::from_secs(30));
        pacer.defer(EndpointFamily::Fetch, Duration::MAX);
        assert!(pacer.try_acquire(EndpointFamily::Fetch).is_err());
        assert!(pacer.try_acquire(EndpointFamily::Batch).is_ok());
    }

    #[test]
    fn a_deferred_family_fails_fast_past_the_budget() {
        let pacer = Pacer::new(&RateLimits::default(), Duration::from_secs(30));
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
}
