//! Request-scoped delivery, for framework integrations (`bento-axum`,
//! `bento-actix`): events a request tracks are held until its outcome is
//! known, then delivered or discarded. Shared here so every framework gets
//! exactly the same semantics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::types::{Encoded, TrackError};
use crate::client::Client;
use crate::events::BentoEvent;

/// Events held and then delivered or discarded, over many requests.
#[derive(Debug, Default)]
pub struct HeldStats {
    delivered: AtomicU64,
    discarded: AtomicU64,
}

impl HeldStats {
    /// Held events that were delivered (their request succeeded).
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Held events that were discarded (their request failed, panicked or
    /// was cancelled).
    pub fn discarded(&self) -> u64 {
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
pub struct HeldEvents {
    state: Mutex<State>,
    stats: Arc<HeldStats>,
}

impl std::fmt::Debug for HeldEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldEvents").finish_non_exhaustive()
    }
}

impl HeldEvents {
    /// Holds one request's events, counting into `stats`; returns the events
    /// (for the request's handle) and the settlement (for the response path).
    pub fn start(client: &Client, stats: &Arc<HeldStats>) -> (Arc<HeldEvents>, Settlement) {
        let held = Arc::new(HeldEvents {
            state: Mutex::new(State::Holding(Vec::new())),
            stats: Arc::clone(stats),
        });
        let settlement = Settlement {
            held: Arc::clone(&held),
            client: client.clone(),
        };
        (held, settlement)
    }

    /// Checks and encodes `event` now, then holds it, or queues it when the
    /// request is already settled.
    pub fn track<E: BentoEvent + ?Sized>(
        &self,
        client: &Client,
        event: &E,
    ) -> Result<(), TrackError> {
        let item = Encoded::event(event)?;
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

    fn settle(&self, client: &Client, deliver: bool, why: &'static str) {
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

/// Decides a request's held events exactly once: [`respond`](Self::respond)
/// with the response's status, or, if it is dropped first (a handler that
/// panicked, a request that was cancelled), by discarding them.
pub struct Settlement {
    held: Arc<HeldEvents>,
    client: Client,
}

impl std::fmt::Debug for Settlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settlement").finish_non_exhaustive()
    }
}

impl Settlement {
    /// The response exists with HTTP `status`: deliver the events if it is
    /// below 500, discard them otherwise. (A number, not a typed status, so
    /// that frameworks on any version of the `http` crate can call it.)
    pub fn respond(self, status: u16) {
        if status >= 500 {
            self.held
                .settle(&self.client, false, "the response is a server error");
        } else {
            self.held.settle(&self.client, true, "");
        }
    }

    /// The service failed without a response: discard the events.
    pub fn fail(self) {
        self.held.settle(&self.client, false, "the service failed");
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        // A no-op once `respond` or `fail` settled the events.
        self.held
            .settle(&self.client, false, "the request ended without a response");
    }
}
