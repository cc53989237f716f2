//! For authors of durable stores and fleet-wide pacing (such as
//! `bento-outbox`), not for applications: a rate budget shared beyond this
//! process.
//!
//! Every request of a [`Client`](crate::Client) takes a slot from this
//! process's pacer first (so one process alone never exceeds Bento's limits,
//! whatever the budget does), then, when one is configured, from a
//! [`RateBudget`]: one budget per endpoint family that every instance of a
//! fleet shares, kept somewhere they all reach (a database table). A slot is
//! held from its grant until its request ended and counts for a window
//! after that; the budget is told which with [`RemoteSlot::end`].
//!
//! A budget is installed with
//! [`ClientBuilder::rate_budget`](crate::ClientBuilder::rate_budget), or
//! brought by a durable store ([`DurableStore::rate_budget`](crate::store::DurableStore::rate_budget)).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::limits::{EndpointFamily, RateLimit};
pub use super::slot::RemoteSlot;

/// A boxed, sendable future: what the seams' methods return, so that they
/// can be called through `dyn` traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a [`RateBudget`] answered.
pub enum Budget {
    /// A slot, held until its request ends.
    Slot(Box<dyn RemoteSlot>),
    /// None free: ask again in this long at least.
    Wait(Duration),
    /// Not paced here: the budget cannot be reached (the local pacer alone
    /// paces meanwhile), or it does not pace this family.
    Local,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Slot(_) => f.write_str("Slot"),
            Self::Wait(wait) => f.debug_tuple("Wait").field(wait).finish(),
            Self::Local => f.write_str("Local"),
        }
    }
}

/// The request a slot is for: its family, the limit the client paces it to,
/// and the longest the request may take (a slot whose end is never recorded
/// stays held that long, then a window).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SlotRequest {
    /// The endpoint family.
    pub family: EndpointFamily,
    /// The client's limit for it.
    pub limit: RateLimit,
    /// The longest one request can take (the client's timeout, plus a margin).
    pub hold: Duration,
}

/// A rate budget shared by every instance of a fleet.
///
/// Calls come from the application's runtimes (direct calls) and from the
/// delivery thread's own runtime; [`on_delivery_thread`](crate::delivery::on_delivery_thread)
/// tells them apart, for budgets that keep connections per runtime. A call
/// that cannot reach the shared state must answer [`Budget::Local`] quickly
/// rather than wait: the local pacer still holds the process to the limit.
pub trait RateBudget: Send + Sync + 'static {
    /// Takes a slot for `request`, or says how long until one may be free.
    fn take(&self, request: SlotRequest) -> BoxFuture<'_, Budget>;

    /// Holds the whole fleet's `family` back for `delay` (Bento's `Retry-After`).
    fn defer(&self, family: EndpointFamily, delay: Duration) -> BoxFuture<'_, ()>;
}
