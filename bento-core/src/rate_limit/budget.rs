//! The rate-budget seam, below the pacer that asks it; published as
//! [`integration::budget`](crate::integration::budget), where it is documented.

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
/// delivery thread's own runtime; [`on_delivery_thread`](crate::integration::on_delivery_thread)
/// tells them apart, for budgets that keep connections per runtime. A call
/// that cannot reach the shared state must answer [`Budget::Local`] quickly
/// rather than wait: the local pacer still holds the process to the limit.
pub trait RateBudget: Send + Sync + 'static {
    /// Takes a slot for `request`, or says how long until one may be free.
    fn take(&self, request: SlotRequest) -> BoxFuture<'_, Budget>;

    /// Holds the whole fleet's `family` back for `delay` (Bento's `Retry-After`).
    fn defer(&self, family: EndpointFamily, delay: Duration) -> BoxFuture<'_, ()>;
}
