//! Items the engine gave up on, and why: what the failure hook receives.

use std::fmt;
use std::time::Duration;

use super::item::Encoded;
use crate::error::Error;

/// Items the delivery engine gave up on, passed to the hook set with
/// [`ClientBuilder::on_delivery_failure`](crate::ClientBuilder::on_delivery_failure).
/// Its items hold personal data: what the hook keeps of them, it must be
/// able to erase.
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
    /// `track` or `enqueue` refused the item as the program's mistake
    /// ([`TrackError::is_bug`](crate::TrackError::is_bug)); the caller got
    /// the same error. [`DeliveryFailure::items`] is empty: the item never
    /// became one.
    Refused(crate::TrackError),
    /// A durable store held rows the relay cannot send as they are (a
    /// column of the wrong type, a kind no engine knows, a body that is not
    /// one JSON object, or one over the request budget): they stay in the
    /// store as dead letters, named by
    /// [`DeliveryFailure::stored_ids`]; [`DeliveryFailure::items`] is empty.
    Unsendable(String),
    /// `count` items about a subscriber erased with
    /// [`Client::erase`](crate::Client::erase) were refused after the
    /// erasure ([`TrackError::Erased`](crate::TrackError::Erased)).
    /// [`DeliveryFailure::items`] is empty: they hold the person's data.
    Erased {
        /// How many items were refused.
        count: u64,
    },
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
            Self::Refused(error) => write!(f, "refused as the program's mistake: {error}"),
            Self::Unsendable(reason) => {
                write!(f, "the stored row cannot be sent as it is: {reason}")
            }
            Self::Erased { count } => write!(
                f,
                "{count} item(s) about an erased subscriber refused after the erasure"
            ),
        }
    }
}
