//! Where the engine's batch requests take their rate-limit slots: this
//! process's limiter, or, for a client with an outbox, that and the fleet's
//! budget in its database, shared with the relay and every other instance.
//! The scheduler asks synchronously, so fleet slots are fetched one ahead by
//! a task and handed over when they arrive. Every slot travels with its
//! request and is dropped when the request ended.

use std::sync::Arc;
use std::time::Duration;

use crate::client::Api;
use crate::transport::rate_limit::{EndpointFamily, Slot};

pub(crate) struct Slots {
    #[cfg(feature = "postgres")]
    fleet: Option<FleetSlots>,
}

#[cfg(feature = "postgres")]
struct FleetSlots {
    pacer: Arc<crate::outbox::FleetPacer>,
    /// Per family the engine sends to (batch, fetch).
    families: [FleetFamily; 2],
}

#[cfg(feature = "postgres")]
#[derive(Default)]
struct FleetFamily {
    /// A slot fetched and not used yet (it counts meanwhile).
    granted: Option<Slot>,
    /// The scheduler asked for a slot there was not.
    wanted: bool,
    fetching: Option<tokio::task::JoinHandle<Slot>>,
}

/// The families the engine's requests go to: `/batch` (events, imports)
/// and `/fetch` (commands).
#[cfg(feature = "postgres")]
const FAMILIES: [EndpointFamily; 2] = [EndpointFamily::Batch, EndpointFamily::Fetch];

#[cfg(feature = "postgres")]
fn slot_index(family: EndpointFamily) -> usize {
    usize::from(family != EndpointFamily::Batch)
}

impl Slots {
    pub(crate) fn local() -> Self {
        Self {
            #[cfg(feature = "postgres")]
            fleet: None,
        }
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn fleet(pacer: Arc<crate::outbox::FleetPacer>) -> Self {
        Self {
            fleet: Some(FleetSlots {
                pacer,
                families: Default::default(),
            }),
        }
    }

    /// Takes a slot now, or says how long to wait for one (for a fleet slot,
    /// "long": its arrival wakes the engine).
    pub(crate) fn try_take(&mut self, api: &Api, family: EndpointFamily) -> Result<Slot, Duration> {
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &mut self.fleet {
            let fleet = &mut fleet.families[slot_index(family)];
            if let Some(slot) = fleet.granted.take() {
                return Ok(slot);
            }
            fleet.wanted = true;
            return Err(Duration::from_secs(3600));
        }
        api.pacer.try_acquire(family)
    }

    /// Starts fetching a fleet slot of each family the scheduler wanted one of.
    pub(crate) fn fetch_if_wanted(&mut self, api: &Arc<Api>) {
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &mut self.fleet {
            for (family, slots) in FAMILIES.into_iter().zip(&mut fleet.families) {
                if !slots.wanted || slots.fetching.is_some() {
                    continue;
                }
                slots.wanted = false;
                let pacer = Arc::clone(&fleet.pacer);
                let api = Arc::clone(api);
                slots.fetching = Some(tokio::spawn(async move {
                    loop {
                        match api.try_slot(family, Some(&pacer)).await {
                            Ok(slot) => return slot,
                            Err(wait) => tokio::time::sleep(wait).await,
                        }
                    }
                }));
            }
        }
        #[cfg(not(feature = "postgres"))]
        let _ = api;
    }

    /// Resolves when a fetched slot has arrived; never when none is coming.
    pub(crate) async fn arrived(&mut self) {
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &mut self.fleet {
            let families = &mut fleet.families;
            return std::future::poll_fn(|cx| {
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
        std::future::pending::<()>().await;
    }

    /// Holds `family` back after Bento's `Retry-After`, here and, for a
    /// fleet, everywhere.
    pub(crate) fn defer(&self, api: &Arc<Api>, family: EndpointFamily, delay: Duration) {
        api.pacer.defer(family, delay);
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &self.fleet {
            let pacer = Arc::clone(&fleet.pacer);
            tokio::spawn(async move { pacer.defer(family, delay).await });
        }
    }
}
