//! Events held for a request under `deliver_on_success`, until its outcome
//! says whether they are delivered or discarded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::client::Client;
use crate::delivery::{Encoded, ItemKind, TrackError};
use crate::events::BentoEvent;

/// Which response statuses deliver a request's held events.
pub(crate) type DeliverIf = Arc<dyn Fn(u16) -> bool + Send + Sync>;

/// Events held and then delivered or discarded, over many requests.
#[derive(Debug, Default)]
pub(crate) struct HeldStats {
    delivered: AtomicU64,
    discarded: AtomicU64,
}

impl HeldStats {
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub(crate) fn discarded(&self) -> u64 {
        self.discarded.load(Ordering::Relaxed)
    }
}

enum State {
    Holding(Vec<Encoded>),
    /// Settled: events tracked from now on (by a task the handler spawned,
    /// say) go straight to the queue.
    Settled,
}

/// The events one request tracked, held until [`Settlement`] decides.
pub(crate) struct HeldEvents {
    state: Mutex<State>,
    stats: Arc<HeldStats>,
}

impl HeldEvents {
    pub(crate) fn new(stats: Arc<HeldStats>) -> Self {
        Self {
            state: Mutex::new(State::Holding(Vec::new())),
            stats,
        }
    }
}

impl HeldEvents {
    /// Checks and encodes `event` now, then holds it, or queues it when the
    /// request is already settled.
    pub(crate) fn track<E: BentoEvent + ?Sized>(
        &self,
        client: &Client,
        event: &E,
    ) -> Result<(), TrackError> {
        let item = Encoded::event(event)?;
        // Held or not, an event is held to the tracking plan when it is tracked.
        client.check_plan(ItemKind::Event, item.json(), || "event".to_owned())?;
        self.hold(client, item)
    }

    /// Holds an encoded item, or queues it when the request is already settled.
    pub(crate) fn hold(&self, client: &Client, item: Encoded) -> Result<(), TrackError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            State::Holding(items) => {
                items.push(item);
                Ok(())
            }
            State::Settled => {
                drop(state);
                client.try_enqueue(item)
            }
        }
    }

    /// Counts `n` events of this request discarded outside the hold (they
    /// waited for a subscriber the request never got to know).
    pub(crate) fn discard(&self, n: usize) {
        if n > 0 {
            self.stats.discarded.fetch_add(n as u64, Ordering::Relaxed);
            tracing::debug!(events = n, "Bento events of a failed request discarded");
        }
    }

    pub(crate) fn settle(&self, client: &Client, deliver: bool, why: &'static str) {
        let items = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match std::mem::replace(&mut *state, State::Settled) {
                State::Holding(items) => items,
                State::Settled => return,
            }
        };
        if items.is_empty() {
            return;
        }
        let n = items.len() as u64;
        if !deliver {
            self.stats.discarded.fetch_add(n, Ordering::Relaxed);
            tracing::debug!(
                events = n,
                why,
                "Bento events of a failed request discarded"
            );
            return;
        }
        self.stats.delivered.fetch_add(n, Ordering::Relaxed);
        for item in items {
            if let Err(error) = client.enqueue(item) {
                // Not silent: the queue's counters record it, and the log says so.
                tracing::warn!(%error, "a Bento event held for a request could not be queued");
            }
        }
    }
}
