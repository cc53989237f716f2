//! The request-scoped delivery policy: events tracked while a request is
//! handled are held until its response exists, then delivered (status below
//! 500) or discarded (a server error, a panic, a cancelled request).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bento_core::{Client, Encoded, TrackError};

/// What happened to a request's held events so far.
enum State {
    Holding(Vec<Encoded>),
    /// Settled: events tracked from now on (by a task the handler spawned,
    /// say) go straight to the queue.
    Settled,
}

/// One request's held events.
pub(crate) struct Held {
    state: Mutex<State>,
    counters: Arc<PolicyCounters>,
}

/// Events the policy delivered and discarded, shared by every request of a layer.
#[derive(Debug, Default)]
pub(crate) struct PolicyCounters {
    pub(crate) delivered: AtomicU64,
    pub(crate) discarded: AtomicU64,
}

impl Held {
    pub(crate) fn new(counters: Arc<PolicyCounters>) -> Self {
        Self {
            state: Mutex::new(State::Holding(Vec::new())),
            counters,
        }
    }

    /// Holds `item`, or hands it to the queue when the request is settled.
    pub(crate) fn track(&self, client: &Client, item: Encoded) -> Result<(), TrackError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            State::Holding(items) => {
                items.push(item);
                Ok(())
            }
            State::Settled => {
                drop(state);
                client.enqueue(item)
            }
        }
    }

    /// The response exists: deliver what was held if `deliver`, else discard it.
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
            self.counters.discarded.fetch_add(n, Ordering::Relaxed);
            tracing::debug!(
                events = n,
                why,
                "Bento events of a failed request discarded"
            );
            return;
        }
        self.counters.delivered.fetch_add(n, Ordering::Relaxed);
        for item in items {
            if let Err(error) = client.enqueue(item) {
                // Not silent: the queue's own counters record it, and the log says so.
                tracing::warn!(%error, "a Bento event held for a request could not be queued");
            }
        }
    }
}
