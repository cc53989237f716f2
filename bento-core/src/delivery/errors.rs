//! Why an item was not queued, or a flush not completed.

use std::time::Duration;

use super::item::{Encoded, ItemKind};
use crate::error::ValidationError;

/// Why [`Client::track`](crate::Client::track) (or `enqueue`) did not queue an item.
///
/// Every variant that concerns an item that was valid hands it back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackError {
    /// The item is invalid; nothing was queued.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The item is larger than one request may be.
    #[error(
        "{kind:?} is {size} bytes once encoded, over the {limit}-byte request budget; \
         trim its details or raise ClientBuilder::max_batch_bytes"
    )]
    TooLarge {
        /// What it is.
        kind: ItemKind,
        /// Its encoded size.
        size: usize,
        /// [`ClientBuilder::max_batch_bytes`](crate::ClientBuilder::max_batch_bytes).
        limit: usize,
    },
    /// The queue holds `capacity` items not yet delivered; these were not queued.
    ///
    /// Bento is slow or unreachable, or the application tracks faster than
    /// Bento's rate limit allows. Retry later, use `track_wait`, or raise
    /// [`ClientBuilder::queue_capacity`](crate::ClientBuilder::queue_capacity).
    #[error(
        "the Bento delivery queue is full ({capacity} items waiting); {} item(s) handed back \
         unqueued: retry later, use track_wait, or raise ClientBuilder::queue_capacity",
        items.len()
    )]
    QueueFull {
        /// The items, handed back.
        items: Vec<Encoded>,
        /// The queue's capacity.
        capacity: usize,
    },
    /// The event has no email and nobody is known to be its subscriber (a
    /// request that was not identified); nothing was queued.
    #[error(
        "`{event_type}` has no email and this request's subscriber is unknown; nothing was sent: \
         identify the request (the layer's `identify`, or `bento.identify(email)` at login or \
         signup), give the event an email field, or use `client.track_for(email, &event)`"
    )]
    Anonymous {
        /// The event's type.
        event_type: String,
    },
    /// The client was shut down; these items were not queued.
    #[error("the Bento client was shut down; {} item(s) handed back unqueued", items.len())]
    Closed {
        /// The items, handed back.
        items: Vec<Encoded>,
    },
    /// The delivery thread could not be started.
    #[error("the Bento delivery thread could not start ({reason}); {} item(s) handed back", items.len())]
    Unavailable {
        /// The items, handed back.
        items: Vec<Encoded>,
        /// The operating system's reason.
        reason: String,
    },
}

impl TrackError {
    /// The items handed back (empty for [`Invalid`](Self::Invalid),
    /// [`TooLarge`](Self::TooLarge) and [`Anonymous`](Self::Anonymous),
    /// which concern no queueable item).
    pub fn into_items(self) -> Vec<Encoded> {
        match self {
            Self::QueueFull { items, .. }
            | Self::Closed { items }
            | Self::Unavailable { items, .. } => items,
            Self::Invalid(_) | Self::TooLarge { .. } | Self::Anonymous { .. } => Vec::new(),
        }
    }
}

/// Why a [`flush`](crate::Client::flush) or [`shutdown`](crate::Client::shutdown)
/// returned without everything delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlushError {
    /// The deadline passed with `pending` items still undelivered. After a
    /// shutdown, those items went to the failure hook.
    #[error("{pending} Bento item(s) were still undelivered when the {timeout:?} deadline passed")]
    Timeout {
        /// Items accepted before the call and still undelivered.
        pending: u64,
        /// The deadline given.
        timeout: Duration,
    },
}
