//! The delivery thread: its own OS thread, current-thread tokio runtime and
//! HTTP connection pool, so it works the same under axum's multi-thread
//! runtime, actix's per-worker current-thread runtimes, or no runtime at all,
//! and can be waited for from `Drop` without deadlocking the caller's runtime.

use std::cell::Cell;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::Owner;
use super::clock::Clock;
use super::config::DeliveryConfig;
use super::handle::{Arrivals, Handle};
use super::queue::Shared;
use super::relay::Relay;
use super::worker::{RelayTask, Worker};
use crate::rate_limit::ahead::Slots;
use crate::transport::Api;

thread_local! {
    /// Set on the delivery thread, so that a `Client` dropped there (by the
    /// failure hook) never waits for the thread it runs on.
    static ON_DELIVERY_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs on a delivery thread.
pub(crate) fn on_delivery_thread() -> bool {
    ON_DELIVERY_THREAD.with(Cell::get)
}

/// Starts the thread, its runtime, the worker and, with a durable store,
/// the relay; returns the producers' handle.
pub(crate) fn spawn(
    api: Arc<Api>,
    client: Owner,
    config: DeliveryConfig,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
) -> Result<Handle, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("bento-delivery")
        .build()
        .map_err(|e| e.to_string())?;
    let http = crate::transport::http_client(&api.user_agent, api.connect_timeout)
        .map_err(|e| e.to_string())?;
    let (data_tx, data_rx) = mpsc::unbounded_channel();
    let arrivals = Arc::new(Arrivals::new(api.events_per_request));
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    // With a durable store that keeps a shared budget, every batch request
    // of this engine and of its relay takes its slot from it: the relay's so
    // that a new leader continues the previous one's window, the engine's so
    // that the in-memory queue and the relays share one limit.
    let budget = config.store.as_ref().and_then(|store| store.rate_budget());
    let slots = budget.clone().map_or_else(Slots::local, Slots::shared);
    let relay = config.store.clone().map(|store| {
        let (stop, stop_rx) = watch::channel(None);
        let relay = Relay {
            settings: store.settings(),
            status: store.status(),
            store,
            api: Arc::clone(&api),
            http: http.clone(),
            config: config.clone(),
            client: client.clone(),
            budget: budget.clone(),
            stop: stop_rx,
            erasures: None,
        };
        RelayTask {
            task: runtime.spawn(relay.run()),
            stop,
        }
    });
    let worker = Worker::new(
        api,
        http,
        config,
        shared,
        clock,
        client,
        Arc::clone(&arrivals),
        relay,
        slots,
    );
    std::thread::Builder::new()
        .name("bento-delivery".into())
        .spawn(move || {
            ON_DELIVERY_THREAD.with(|flag| flag.set(true));
            runtime.block_on(worker.run(data_rx, control_rx));
        })
        .map_err(|e| e.to_string())?;
    Ok(Handle {
        data: data_tx,
        control: control_tx,
        arrivals,
    })
}
