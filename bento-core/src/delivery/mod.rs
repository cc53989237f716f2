//! Background delivery: [`Client::track`](crate::Client::track) checks and encodes an event at
//! once, queues it without blocking, and returns; a dedicated thread sends
//! queued items in batches of up to 1000 under Bento's rate limits, retries
//! what failed, and reports what could not be delivered.
//!
//! ```no_run
//! use std::time::Duration;
//! use bento_core::{BentoEvent, Client};
//!
//! #[derive(BentoEvent)]
//! #[bento(event = "account.signup")]
//! struct Signup<'a> { email: &'a str }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let bento = Client::from_env()?;
//! bento.track(&Signup { email: "ada@example.com" })?; // returns at once
//! // ...
//! let report = bento.shutdown(Duration::from_secs(10)).await?; // delivers what is queued
//! println!("{} events delivered", report.stats.sent);
//! # Ok(()) }
//! ```
//!
//! Nothing is lost silently:
//! - an item that cannot be queued (queue full, client shut down) is handed
//!   back in the [`TrackError`], counted in [`DeliveryStats::dropped`], and
//!   warned about once per overflow episode;
//! - an item Bento refuses (a 400 is bisected to isolate it), or that runs out
//!   of retries, goes to the hook set with
//!   [`ClientBuilder::on_delivery_failure`](crate::ClientBuilder::on_delivery_failure)
//!   and is counted in [`DeliveryStats::failed`];
//! - [`Client::flush`](crate::Client::flush) and [`Client::shutdown`](crate::Client::shutdown) say how many items were still
//!   pending when their deadline passed, and dropping the last `Client` drains
//!   the queue for up to
//!   [`ClientBuilder::drain_timeout`](crate::ClientBuilder::drain_timeout),
//!   warning with the count of what was left.
//!
//! # Guarantees
//!
//! Every item accepted by `track`/`enqueue*` ends in exactly one of three
//! places: delivered (a 2xx whose body decodes as Bento's answer), handed to
//! the failure hook with a [`FailureReason`], or counted as pending in the
//! [`FlushError::Timeout`] that `flush`/`shutdown` return. `flush` never
//! returns `Ok` while an item it covers is undelivered, and the delivery
//! thread never dies while a `Client` lives: a panic inside it is caught and
//! the items it held go to the hook as [`FailureReason::Internal`].
//!
//! # Dropping the last client
//!
//! Dropping the last `Client` without calling `shutdown` drains for up to
//! [`ClientBuilder::drain_timeout`](crate::ClientBuilder::drain_timeout)
//! without ever stalling an async runtime: outside a runtime it waits; on a
//! multi-thread tokio runtime it waits in `block_in_place`; on a
//! current-thread runtime it lets the delivery thread drain in the background
//! and warns with the count pending (lost if the process exits first).
//!
//! # Metrics
//!
//! With the `metrics` feature, the engine reports through the
//! [`metrics`](https://docs.rs/metrics) facade, so whatever exporter the
//! application installed (Prometheus, OpenTelemetry, StatsD) picks them up:
//!
//! | name | type | what |
//! |---|---|---|
//! | `bento_delivery_items_queued_total` | counter | items accepted by `track`/`enqueue*` |
//! | `bento_delivery_items_sent_total` | counter | items Bento accepted |
//! | `bento_delivery_items_retried_total` | counter | items sent again after a failed attempt |
//! | `bento_delivery_items_failed_total` | counter | items handed to the failure hook |
//! | `bento_delivery_items_dropped_total` | counter | items refused by `track` (queue full, shut down) and handed back |
//! | `bento_delivery_items_pending` | gauge | items held: queued, in flight or waiting for a retry |
//! | `bento_delivery_requests_in_flight` | gauge | batch requests in flight |
//! | `bento_delivery_batch_duration_seconds` | histogram | time of one batch request, labelled `kind` (`events`, `subscribers`) and `outcome` |
//!
//! `queued` is counted on the delivery thread as items arrive, so `track`
//! itself touches no metric.

//!
//! # Where things are
//!
//! The producers' side is `dispatcher.rs` (capacity, hand-back) and
//! `handle.rs` (channels, wake-ups); the thread and its runtime are
//! `thread.rs`; its loop is `worker.rs`, which asks `schedule.rs` (a state
//! machine with no I/O) what to send, sends through `send.rs` (shared with
//! the durable store's `relay.rs`), and lets `verdict.rs` say what a result
//! means. `waiters.rs` answers flushes and shutdowns, `supervise.rs` catches
//! panics, `hook.rs` hands what is given up on to the failure hook, and
//! `queue.rs` holds the counters and the capacity every producer shares.

mod clock;
mod config;
mod dispatcher;
mod errors;
mod failure;
mod handle;
mod hook;
mod item;
pub(crate) mod metrics;
mod queue;
mod relay;
mod report;
mod schedule;
mod send;
mod supervise;
mod thread;
pub(crate) mod verdict;
mod waiters;
mod worker;

pub use crate::transport::retry::Backoff;
pub use errors::{FlushError, TrackError};
pub use failure::{DeliveryFailure, FailureReason};
pub use item::{Encoded, ItemKind};
pub use report::{DeliveryReport, DeliveryStats};

pub(crate) use config::{DeliveryConfig, FailureHook};
pub(crate) use dispatcher::Dispatcher;

/// Who owns an engine, for the failure hook to hand back a client without
/// keeping it alive: the engine does not know the client's type.
pub(crate) type Owner = std::sync::Weak<dyn std::any::Any + Send + Sync>;

pub(crate) use thread::on_delivery_thread;

/// The default request budget of a batch body, and so the largest one item
/// may be once encoded ([`ClientBuilder::max_batch_bytes`](crate::ClientBuilder::max_batch_bytes)).
pub use crate::model::envelope::DEFAULT_MAX_BATCH_BYTES;
