//! Why an outbox call failed.

use std::time::Duration;

use bento_core::{ItemKind, ValidationError};

/// Why an outbox call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The user's data is invalid (an address that is not an email, an
    /// empty value, a date that does not parse, a tag with a comma); nothing
    /// was written. Safe to show: map it to a 4xx.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The program's mistake, not the user's (off the tracking plan, a key
    /// breaking Bento's rule, a value that cannot become JSON); nothing was
    /// written. Already logged at error level and counted in
    /// [`RelayStats::refused`](crate::RelayStats::refused); do not show it to
    /// end users.
    #[error("{0}")]
    Bug(ValidationError),
    /// The item is larger than one request may be: the relay could never
    /// send it, so it is refused here, as `Client::track` refuses it.
    #[error(
        "{kind:?} is {size} bytes once encoded, over the {limit}-byte request budget; \
         nothing was written: trim its details, or raise Outbox::max_item_bytes together \
         with ClientBuilder::max_batch_bytes"
    )]
    TooLarge {
        /// What it is.
        kind: ItemKind,
        /// Its encoded size.
        size: usize,
        /// [`Outbox::max_item_bytes`](crate::Outbox::max_item_bytes).
        limit: usize,
    },
    /// SQLite rolled the caller's transaction back by itself after an error
    /// inside it (a full disk, an I/O error, a busy or out-of-memory
    /// failure), though sqlx still counts it as open: nothing of it will be
    /// committed, and nothing was written to the outbox. Roll the
    /// transaction back and run it again; build the pool with
    /// [`sqlite::pool_options`](crate::sqlite::pool_options) so that such a
    /// connection is closed instead of reused (see its docs).
    #[error(
        "SQLite rolled this transaction back by itself after an earlier error in it \
         (a full disk, an I/O error...), though sqlx still counts it as open: nothing of it \
         will be committed and nothing was written to the outbox; roll it back and retry, \
         and build the pool with bento_outbox::sqlite::pool_options()"
    )]
    TransactionLost,
    /// An item is about a person erased with [`Outbox::erase`](crate::Outbox::erase)
    /// (or `Client::erase`) less than the tombstone's time ago, by any
    /// process sharing the database; nothing was written. Counted in
    /// [`RelayStats::erased`](crate::RelayStats::erased). Lift it with
    /// `lift_erasure` when the person signs up again with consent.
    #[error(
        "{items} item(s) are about a person erased (who asked to be forgotten); nothing was \
         written; lift the erasure with lift_erasure if they signed up again with consent"
    )]
    Erased {
        /// How many of the items are about an erased person.
        items: u64,
    },
    /// The database refused or failed.
    #[error("the Bento outbox's database call failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The database did not answer within the outbox's `timeout`; in a
    /// transaction, roll it back (nothing of it is sent).
    #[error(
        "the Bento outbox's {operation} got no answer from the database within {timeout:?} (set with Outbox::timeout)"
    )]
    Timeout {
        /// What was asked: `track`, `migrate`...
        operation: &'static str,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// [`Outbox::wait_drained`](crate::Outbox::wait_drained) reached its
    /// deadline with rows still pending (is an instance relaying?).
    #[error(
        "{pending} row(s) were still pending in the Bento outbox after {timeout:?}; is a client \
         built with this outbox running (only it relays)?"
    )]
    NotDrained {
        /// Rows still pending.
        pending: u64,
        /// The timeout that passed.
        timeout: Duration,
    },
}

/// Sorted by whose mistake it is ([`ValidationError::is_user_input`]).
impl From<ValidationError> for OutboxError {
    fn from(error: ValidationError) -> Self {
        if error.is_user_input() {
            Self::Invalid(error)
        } else {
            Self::Bug(error)
        }
    }
}

impl OutboxError {
    /// Whether the item was refused as the program's mistake
    /// ([`Bug`](Self::Bug), [`TooLarge`](Self::TooLarge)).
    pub fn is_bug(&self) -> bool {
        matches!(self, Self::Bug(_) | Self::TooLarge { .. })
    }
}

/// Runs one database call within `timeout`, or fails it as [`OutboxError::Timeout`].
pub(crate) async fn within<T>(
    timeout: Duration,
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, OutboxError>>,
) -> Result<T, OutboxError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(done) => done,
        Err(_) => Err(OutboxError::Timeout { operation, timeout }),
    }
}
