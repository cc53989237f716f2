//! Slots fetched ahead for the engine's scheduler.
//!
//! Where the engine's batch requests take their rate-limit slots: this
//! process's limiter, or, for a client with a shared budget (a durable
//! store's), that and the budget, shared with the relay and every other
//! instance. The scheduler asks synchronously, so shared slots are fetched
//! one ahead per family by a task and handed over when they arrive. Every
//! slot travels with its request and is dropped when the request ended.

use std::sync::Arc;
use std::time::Duration;

use super::budget::RateBudget;
use super::limits::EndpointFamily;
use super::pacer::Pacer;
use super::slot::Slot;

pub(crate) struct Slots {
    shared: Option<SharedSlots>,
}

struct SharedSlots {
    budget: Arc<dyn RateBudget>,
    /// Per family the engine sends to (batch, fetch).
    families: [SharedFamily; 2],
}

#[derive(Default)]
struct SharedFamily {
    /// A slot fetched and not used yet (it counts meanwhile).
    granted: Option<Slot>,
    /// The scheduler asked for a slot there was not.
    wanted: bool,
    fetching: Option<tokio::task::JoinHandle<Slot>>,
}

/// The families the engine's requests go to: `/batch` (events, imports)
/// and `/fetch` (commands).
const FAMILIES: [EndpointFamily; 2] = [EndpointFamily::Batch, EndpointFamily::Fetch];

fn slot_index(family: EndpointFamily) -> usize {
    usize::from(family != EndpointFamily::Batch)
}

impl Slots {
    pub(crate) fn local() -> Self {
        Self { shared: None }
    }

    pub(crate) fn shared(budget: Arc<dyn RateBudget>) -> Self {
        Self {
            shared: Some(SharedSlots {
                budget,
                families: Default::default(),
            }),
        }
    }

    /// Takes a slot now, or says how long to wait for one (for a shared
    /// slot, "long": its arrival wakes the engine).
    pub(crate) fn try_take(
        &mut self,
        pacer: &Pacer,
        family: EndpointFamily,
    ) -> Result<Slot, Duration> {
        if let Some(shared) = &mut self.shared {
            let slots = &mut shared.families[slot_index(family)];
            if let Some(slot) = slots.granted.take() {
                return Ok(slot);
            }
            slots.wanted = true;
            return Err(Duration::from_secs(3600));
        }
        pacer.try_acquire(family)
    }

    /// Starts fetching a shared slot of each family the scheduler wanted one of.
    pub(crate) fn fetch_if_wanted(&mut self, pacer: &Arc<Pacer>) {
        let Some(shared) = &mut self.shared else {
            return;
        };
        for (family, slots) in FAMILIES.into_iter().zip(&mut shared.families) {
            if !slots.wanted || slots.fetching.is_some() {
                continue;
            }
            slots.wanted = false;
            let budget = Arc::clone(&shared.budget);
            let pacer = Arc::clone(pacer);
            slots.fetching = Some(tokio::spawn(async move {
                loop {
                    match pacer.try_slot(family, Some(&*budget)).await {
                        Ok(slot) => return slot,
                        Err(wait) => tokio::time::sleep(wait).await,
                    }
                }
            }));
        }
    }

    /// Resolves when a fetched slot has arrived; never when none is coming.
    pub(crate) async fn arrived(&mut self) {
        let Some(shared) = &mut self.shared else {
            return std::future::pending::<()>().await;
        };
        let families = &mut shared.families;
        std::future::poll_fn(|cx| {
            for slots in families.iter_mut() {
                let Some(fetching) = &mut slots.fetching else {
                    continue;
                };
                if let std::task::Poll::Ready(result) =
                    std::future::Future::poll(std::pin::Pin::new(fetching), cx)
                {
                    // A fetch that did not finish (it panicked) grants
                    // nothing: the scheduler will ask, and a new fetch
                    // start, again.
                    let slot = result.ok();
                    slots.fetching = None;
                    slots.wanted = slot.is_none();
                    slots.granted = slot;
                    return std::task::Poll::Ready(());
                }
            }
            std::task::Poll::Pending
        })
        .await;
    }

    /// Holds `family` back after Bento's `Retry-After`, here and, with a
    /// shared budget, everywhere.
    pub(crate) fn defer(&self, pacer: &Pacer, family: EndpointFamily, delay: Duration) {
        pacer.defer(family, delay);
        if let Some(shared) = &self.shared {
            let budget = Arc::clone(&shared.budget);
            tokio::spawn(async move { budget.defer(family, delay).await });
        }
    }
}
