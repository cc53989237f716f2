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
    /// The user's data is invalid (an address that is not an email, an
    /// empty value, a date that does not parse, a tag with a comma); nothing
    /// was queued. Safe to show: map it to a 4xx.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The program's mistake, not the user's: the item is off the tracking
    /// plan, a key breaks Bento's rule, a value cannot become JSON, or
    /// arguments were misused. Nothing was queued; the refusal was already
    /// logged at error level, counted in
    /// [`DeliveryStats::refused`](crate::DeliveryStats::refused) and handed
    /// to the failure hook, whether or not the caller looks at this error.
    /// Do not show it to end users (it names the plan's internals).
    #[error("{0}")]
    Bug(ValidationError),
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
    /// The items are about a subscriber erased with
    /// [`Client::erase`](crate::Client::erase) less than the tombstone's time
    /// ago ([`ClientBuilder::erasure_ttl`](crate::ClientBuilder::erasure_ttl));
    /// they were not queued. The refusal is counted in
    /// [`DeliveryStats::refused`](crate::DeliveryStats::refused) and the
    /// failure hook hears of it ([`FailureReason::Erased`](crate::FailureReason::Erased),
    /// without the items: they hold the person's data). When the person
    /// signs up again with consent, [`Client::lift_erasure`](crate::Client::lift_erasure).
    #[error(
        "{} item(s) about an erased subscriber refused: the person asked to be forgotten \
         (Client::erase); lift it with Client::lift_erasure if they signed up again with consent",
        items.len()
    )]
    Erased {
        /// The items, handed back.
        items: Vec<Encoded>,
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

/// Sorted by whose mistake it is ([`ValidationError::is_user_input`]).
impl From<ValidationError> for TrackError {
    fn from(error: ValidationError) -> Self {
        if error.is_user_input() {
            Self::Invalid(error)
        } else {
            Self::Bug(error)
        }
    }
}

impl TrackError {
    /// Whether the item was refused as the program's mistake (
    /// [`Bug`](Self::Bug), [`TooLarge`](Self::TooLarge),
    /// [`Anonymous`](Self::Anonymous)): such refusals are logged, counted and
    /// handed to the failure hook by the client itself.
    pub fn is_bug(&self) -> bool {
        matches!(
            self,
            Self::Bug(_) | Self::TooLarge { .. } | Self::Anonymous { .. }
        )
    }

    /// A copy of a refusal that is the program's mistake, for the hook.
    pub(crate) fn refusal(&self) -> Option<Self> {
        match self {
            Self::Bug(error) => Some(Self::Bug(error.clone())),
            Self::TooLarge { kind, size, limit } => Some(Self::TooLarge {
                kind: *kind,
                size: *size,
                limit: *limit,
            }),
            Self::Anonymous { event_type } => Some(Self::Anonymous {
                event_type: event_type.clone(),
            }),
            _ => None,
        }
    }

    /// The same error without its items, for a report that carries them
    /// apart.
    pub(crate) fn emptied(&self) -> Self {
        match self {
            Self::QueueFull { capacity, .. } => Self::QueueFull {
                items: Vec::new(),
                capacity: *capacity,
            },
            Self::Closed { .. } => Self::Closed { items: Vec::new() },
            Self::Erased { .. } => Self::Erased { items: Vec::new() },
            Self::Unavailable { reason, .. } => Self::Unavailable {
                items: Vec::new(),
                reason: reason.clone(),
            },
            Self::Invalid(error) => Self::Invalid(error.clone()),
            other => other
                .refusal()
                .unwrap_or(Self::Closed { items: Vec::new() }),
        }
    }

    /// The items handed back (empty for [`Invalid`](Self::Invalid),
    /// [`Bug`](Self::Bug), [`TooLarge`](Self::TooLarge) and
    /// [`Anonymous`](Self::Anonymous), which concern no queueable item).
    pub fn into_items(self) -> Vec<Encoded> {
        match self {
            Self::QueueFull { items, .. }
            | Self::Closed { items }
            | Self::Erased { items }
            | Self::Unavailable { items, .. } => items,
            Self::Invalid(_) | Self::Bug(_) | Self::TooLarge { .. } | Self::Anonymous { .. } => {
                Vec::new()
            }
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
