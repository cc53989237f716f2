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
//! places:
//! 1. **delivered**: a 2xx whose body decodes as Bento's answer
//!    ([`DeliveryStats::sent`]);
//! 2. **handed to the failure hook** with a [`FailureReason`]: refused by
//!    Bento (a 4xx, bisected down to the item), older than
//!    [`delivery_max_age`](crate::ClientBuilder::delivery_max_age)
//!    ([`Expired`](FailureReason::Expired), off by default), left at a
//!    shutdown deadline, counted as failed inside an accepted batch
//!    ([`PartlyRefused`](FailureReason::PartlyRefused): the hook gets the
//!    batch and the count, since Bento does not say which), or held by the
//!    engine when it hit a bug ([`Internal`](FailureReason::Internal): the
//!    panic is caught and the engine keeps serving);
//! 3. **pending**, as counted by [`FlushError::Timeout`] and
//!    [`DeliveryStats::pending`];
//! 4. or, at the application's request, **erased** by
//!    [`Client::erase`](crate::Client::erase) before it was sent
//!    ([`DeliveryStats::erased`]): the person asked to be forgotten, so the
//!    item is neither sent nor handed to the hook (which would copy their
//!    data). Items about an erased person offered later are refused
//!    ([`TrackError::Erased`]) and the hook hears of them without the items
//!    ([`FailureReason::Erased`]).
//!
//! `flush` never returns `Ok` while an item it covers is undelivered, and
//! the delivery thread never dies while a `Client` lives. A 2xx that is not
//! Bento's answer (HTML from a proxy, an empty body, other JSON) is retried
//! like a timeout, and [`DeliveryStats::possible_duplicates`] counts items
//! resent after an attempt Bento may have processed; give purchases a
//! `unique` key so Bento drops duplicates. The failure hook may requeue
//! items through [`DeliveryFailure::client`] (a weak handle); a hook that
//! owns a `Client` clone keeps the client alive, so dropping your last
//! handle would never drain it.
//!
//! # The retry rule
//!
//! The same for the in-memory queue and the outbox: a failure that may pass
//! (nothing reached Bento, a timeout, a dropped connection, a garbled 2xx,
//! 408, 429, 500, 502, 503, 504: the table direct calls use too) is retried
//! with capped exponential backoff ([`Backoff`], 250 ms doubling to 60 s,
//! full jitter) **for as long as it lasts**, however many attempts that
//! takes; an outage leaves items pending, never failed. Only Bento's own
//! refusal of an item (another 4xx, on the item alone after bisection, or a
//! status that says a retry cannot succeed, such as 501) or a maximum age
//! gives up. The in-memory queue is bounded by
//! [`queue_capacity`](crate::ClientBuilder::queue_capacity): during a long
//! outage `track` returns [`TrackError::QueueFull`] once it is full (never a
//! silent drop), and what is still queued at the shutdown deadline goes to
//! the hook. An outbox's table has no such bound: it grows while Bento is
//! down, and rows become dead letters only when Bento refuses them or after
//! the outbox's maximum age (3 days by default).
//!
//! # Pacing holds however late a request leaves
//!
//! Bento counts a request when it arrives, and a starved thread, a slow
//! connect or a stalled database can put any time between the client's
//! grant and that arrival. So a rate-limit slot, local or shared, counts
//! from its grant until a window after the request's answer (or failure):
//! no delay can put more than N requests in a window Bento sees.
//!
//! # Against a misbehaving server
//!
//! Nothing Bento, a proxy or an attacker-controlled endpoint sends can panic
//! the client, grow its memory without bound or hang a call:
//! - **Bodies are capped** ([`max_response_bytes`](crate::ClientBuilder::max_response_bytes),
//!   default 16 MiB; error answers at 64 KiB): the `Content-Length` is
//!   checked first and reading stops at the cap
//!   ([`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge)).
//! - **`Retry-After`** in any form (seconds, fractions, HTTP dates, `1e300`,
//!   `NaN`, negative, garbage) is bounded to one day or ignored. A direct
//!   call never waits in the pacer longer than
//!   [`RetryPolicy::max_retry_after`](crate::RetryPolicy::max_retry_after):
//!   it fails at once with [`Error::RateLimited`](crate::Error::RateLimited),
//!   saying when the family frees up. The engine keeps its items pending,
//!   however long Bento asks it to wait.
//! - **Redirects are not followed** (Bento's API never redirects, and
//!   following one would re-send personal data elsewhere):
//!   [`Error::Redirected`](crate::Error::Redirected) names the status and
//!   the target host.
//! - **Connect failures** (refused, DNS, connect timeout) are
//!   [`Error::Connect`](crate::Error::Connect): nothing was sent, so even
//!   transactional email is retried.
//! - **Time arithmetic saturates**: `Duration::MAX` is a legal flush
//!   interval, timeout, retry delay, rate-limit window or drain timeout.
//! - **NaN and infinities** in fields or details are refused with
//!   [`ValidationError::NonFiniteNumber`](crate::ValidationError::NonFiniteNumber)
//!   naming the key, instead of silently becoming `null`.
//! - **TLS** is rustls with the `ring` provider, given to reqwest as a
//!   preconfigured config: the process-wide default provider is never
//!   installed or touched.
//! - **Secrets** never appear in `Debug`, errors or the User-Agent,
//!   including keys pasted into the base URL (user info and query are
//!   redacted).
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
//! | `bento_delivery_items_refused_total` | counter | items refused by `track` as the program's mistake (off the plan, too large, anonymous), logged and hooked |
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
