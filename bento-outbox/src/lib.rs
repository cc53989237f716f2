//! Transactional outboxes for the [Bento](https://bentonow.com) Rust SDK.
//!
//! Events and subscriber records are written in the application's own
//! database transaction, so a commit means "will be delivered" and a
//! rollback means "never sent"; a crash loses nothing, since the rows wait
//! in the table. A [`bento_core::Client`] built with
//! [`ClientBuilder::outbox`](bento_core::ClientBuilder::outbox) relays the
//! table into Bento with its delivery engine (batching, pacing, the retry
//! rule, the failure hook); exactly one instance among all that share the
//! database relays at a time.
//!
//! This crate holds the stores; the engine knows them only through the
//! seams of [`bento_core::store`] and [`bento_core::budget`].
//!
//! - [`postgres::Outbox`] (feature `postgres`, on by default): PostgreSQL,
//!   leadership by a session advisory lock, `LISTEN/NOTIFY`, fleet-wide
//!   pacing of every instance's requests.
//! - [`sqlite::Outbox`] (feature `sqlite`): a SQLite file, leadership by a
//!   lease row among the processes of one machine.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

use std::time::Duration;

use bento_core::plan::Plan;
use bento_core::{BentoEvent, BentoSubscriber, Encoded, ItemKind, ValidationError};

/// What this process's relay has done since it started.
pub use bento_core::store::RelayStats;

/// Why an outbox call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The item is invalid; nothing was written.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
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
}

/// A dead letter: an item Bento refused for good, kept in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Its row id.
    pub id: i64,
    /// Where it was going.
    pub kind: ItemKind,
    /// Its JSON, exactly as it was sent.
    pub json: String,
    /// Requests that carried it.
    pub attempts: i32,
    /// Why it failed.
    pub reason: String,
}

/// The code a row's `kind` column holds.
pub(crate) fn kind_code(kind: ItemKind) -> i16 {
    match kind {
        ItemKind::Event => 1,
        ItemKind::Subscriber => 2,
        ItemKind::Command => 3,
        // A kind a newer bento-core added: no code yet, and nothing writes it.
        _ => 0,
    }
}

/// The kind of a row's `kind` code; `None` for a code written by hand.
pub(crate) fn kind_of(code: i16) -> Option<ItemKind> {
    match code {
        1 => Some(ItemKind::Event),
        2 => Some(ItemKind::Subscriber),
        3 => Some(ItemKind::Command),
        _ => None,
    }
}

/// Checks and encodes events as `Client::track` does, all or none, naming a
/// bad one by its index.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn encode_events<E: BentoEvent>(
    events: &[E],
    plan: Option<&Plan>,
) -> Result<Vec<Encoded>, ValidationError> {
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            checked(Encoded::event(event), plan).map_err(|e| e.within(&format!("events[{index}]")))
        })
        .collect()
}

/// An encoded item, held to the plan when there is one.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn checked(
    item: Result<Encoded, ValidationError>,
    plan: Option<&Plan>,
) -> Result<Encoded, ValidationError> {
    let item = item?;
    if let Some(plan) = plan {
        item.check_plan(plan)?;
    }
    Ok(item)
}

/// Checks and encodes subscriber records, all or none.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn encode_records<S: BentoSubscriber>(
    records: &[S],
    plan: Option<&Plan>,
) -> Result<Vec<Encoded>, ValidationError> {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            checked(Encoded::subscriber(record), plan)
                .map_err(|e| e.within(&format!("subscribers[{index}]")))
        })
        .collect()
}

/// Runs one database call within `timeout`, or fails it as [`OutboxError::Timeout`].
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
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
