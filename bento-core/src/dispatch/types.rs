//! What the delivery engine hands back to the application: items it refused,
//! counters, flush outcomes, and items that finally failed.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, ValidationError};
use crate::transport::rate_limit::EndpointFamily;

pub use crate::model::kind::ItemKind;
pub(crate) use crate::model::kind::KINDS;

// Defined with the models; its rate-limit family is the engine's concern.
impl ItemKind {
    /// The rate limit its requests count against: commands go to a `/fetch`
    /// endpoint, and share that family's budget with reads.
    pub(crate) fn family(self) -> EndpointFamily {
        match self {
            Self::Event | Self::Subscriber => EndpointFamily::Batch,
            Self::Command => EndpointFamily::Fetch,
        }
    }
}

/// An event, subscriber record or subscriber command, checked and encoded,
/// as the delivery engine queues it.
///
/// Handed back inside [`TrackError`] when it could not be queued, and inside
/// [`DeliveryFailure`] when it could not be delivered, so nothing is lost
/// silently: requeue it with [`Client::enqueue`](crate::Client::enqueue), store
/// it, or log it.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    pub(crate) kind: ItemKind,
    pub(crate) json: Vec<u8>,
}

impl Encoded {
    /// Where it goes.
    pub fn kind(&self) -> ItemKind {
        self.kind
    }

    /// Its JSON, exactly as it is sent.
    pub fn json(&self) -> &[u8] {
        &self.json
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("kind", &self.kind)
            .field("json", &String::from_utf8_lossy(&self.json))
            .finish()
    }
}

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

/// The delivery engine's counters, in items (events and subscriber records),
/// since the client was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryStats {
    /// Accepted by `track`/`enqueue`.
    pub queued: u64,
    /// Accepted by Bento.
    pub sent: u64,
    /// Sent again after a failed attempt (an item retried twice counts twice).
    pub retried: u64,
    /// Of `retried`, those sent again after an attempt Bento may have
    /// processed (a timeout, a connection lost after sending, a 500/502/504,
    /// a 2xx whose body was not Bento's answer): at most this many duplicates
    /// reached Bento. Give purchases a `unique` key to let Bento drop them.
    pub possible_duplicates: u64,
    /// Given up on: refused by Bento, out of retries, still undelivered when
    /// a shutdown deadline passed, or counted as failed by Bento in a batch
    /// it otherwise accepted. Each went to the failure hook (in the last
    /// case inside its whole batch, with [`FailureReason::PartlyRefused`],
    /// since Bento does not say which items it refused).
    pub failed: u64,
    /// Refused by `track`/`enqueue` (queue full, client shut down); each was
    /// handed back to the caller.
    pub dropped: u64,
    /// Accepted and not yet sent or failed.
    pub pending: u64,
}

/// The counters when a [`flush`](crate::Client::flush) or
/// [`shutdown`](crate::Client::shutdown) completed, and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// The counters at completion.
    pub stats: DeliveryStats,
    /// How long the call waited.
    pub waited: Duration,
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

/// Items the delivery engine gave up on, passed to the hook set with
/// [`ClientBuilder::on_delivery_failure`](crate::ClientBuilder::on_delivery_failure).
#[non_exhaustive]
pub struct DeliveryFailure {
    /// The items, as they were sent.
    pub items: Vec<Encoded>,
    /// Why.
    pub reason: FailureReason,
    pub(crate) client: super::Owner,
    pub(crate) stored_ids: Vec<i64>,
}

impl DeliveryFailure {
    /// For items a durable store's relay gave up on, the store's ids
    /// ([`StoredRow::id`](crate::store::StoredRow::id)), in the order of
    /// [`items`](Self::items): they stay in the store as dead letters
    /// (unless Bento took the batch and counted some as failed, which it
    /// does not name). Empty for items of the in-memory queue.
    pub fn stored_ids(&self) -> &[i64] {
        &self.stored_ids
    }
}

impl fmt::Debug for DeliveryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryFailure")
            .field("items", &self.items)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// Why items were given up on.
#[derive(Debug)]
#[non_exhaustive]
pub enum FailureReason {
    /// Bento refused them (a 4xx, isolated to these items).
    Api(Error),
    /// They waited longer than the maximum age through failures that may
    /// pass (Bento unreachable, 5xx, timeouts); `last` is the latest.
    Expired {
        /// How long they had waited.
        age: Duration,
        /// The failure of their last attempt.
        last: Error,
    },
    /// A shutdown deadline passed before they could be delivered.
    ShutdownDeadline,
    /// Bento accepted the batch but counted `refused` of its items as failed,
    /// without saying which: the hook gets the whole batch.
    PartlyRefused {
        /// How many of the items Bento refused.
        refused: u64,
    },
    /// The delivery engine hit a bug (a panic, caught): it gave up on the
    /// items it held and went on serving.
    Internal(String),
    /// A durable store held rows the relay cannot send as they are (a
    /// column of the wrong type, a kind no engine knows, a body that is not
    /// one JSON object, or one over the request budget): they stay in the
    /// store as dead letters, named by
    /// [`DeliveryFailure::stored_ids`]; [`DeliveryFailure::items`] is empty.
    Unsendable(String),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(error) => error.fmt(f),
            Self::Expired { age, last } => write!(
                f,
                "not delivered within the maximum age (waited {:.1} s); last failure: {last}",
                age.as_secs_f64()
            ),
            Self::ShutdownDeadline => f.write_str("the shutdown deadline passed before delivery"),
            Self::PartlyRefused { refused } => write!(
                f,
                "Bento accepted the batch but counted {refused} of its items as failed, \
                 without saying which"
            ),
            Self::Internal(message) => {
                write!(f, "internal error in the delivery engine: {message}")
            }
            Self::Unsendable(reason) => {
                write!(f, "the stored row cannot be sent as it is: {reason}")
            }
        }
    }
}
