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
    /// A slot fetched and not used yet (it counts meanwhile).
    granted: Option<Slot>,
    /// The scheduler asked for a slot there was not.
    wanted: bool,
    fetching: Option<tokio::task::JoinHandle<Slot>>,
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
                granted: None,
                wanted: false,
                fetching: None,
            }),
        }
    }

    /// Takes a slot now, or says how long to wait for one (for a fleet slot,
    /// "long": its arrival wakes the engine).
    pub(crate) fn try_take(&mut self, api: &Api) -> Result<Slot, Duration> {
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &mut self.fleet {
            if let Some(slot) = fleet.granted.take() {
                return Ok(slot);
            }
            fleet.wanted = true;
            return Err(Duration::from_secs(3600));
        }
        api.pacer.try_acquire(EndpointFamily::Batch)
    }

    /// Starts fetching a fleet slot if the scheduler wanted one.
    pub(crate) fn fetch_if_wanted(&mut self, api: &Arc<Api>) {
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &mut self.fleet
            && fleet.wanted
            && fleet.fetching.is_none()
        {
            fleet.wanted = false;
            let pacer = Arc::clone(&fleet.pacer);
            let api = Arc::clone(api);
            fleet.fetching = Some(tokio::spawn(async move {
                loop {
                    match api.try_slot(EndpointFamily::Batch, Some(&pacer)).await {
                        Ok(slot) => return slot,
                        Err(wait) => tokio::time::sleep(wait).await,
                    }
                }
            }));
        }
        #[cfg(not(feature = "postgres"))]
        let _ = api;
    }

    /// Resolves when a fetched slot has arrived; never when none is coming.
    pub(crate) async fn arrived(&mut self) {
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &mut self.fleet
            && let Some(fetching) = &mut fleet.fetching
        {
            // A fetch that did not finish (it panicked) grants nothing: the
            // scheduler will ask, and a new fetch start, again.
            let slot = fetching.await.ok();
            fleet.fetching = None;
            fleet.wanted = slot.is_none();
            fleet.granted = slot;
            return;
        }
        std::future::pending::<()>().await;
    }

    /// Holds the family back after Bento's `Retry-After`, here and, for a
    /// fleet, everywhere.
    pub(crate) fn defer(&self, api: &Arc<Api>, delay: Duration) {
        api.pacer.defer(EndpointFamily::Batch, delay);
        #[cfg(feature = "postgres")]
        if let Some(fleet) = &self.fleet {
            let pacer = Arc::clone(&fleet.pacer);
            tokio::spawn(async move { pacer.defer(EndpointFamily::Batch, delay).await });
        }
    }
}
