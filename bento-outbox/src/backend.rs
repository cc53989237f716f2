//! What each database brings to the outbox: the one trait, sealed, that
//! [`Outbox`](crate::Outbox) is generic over, as sqlx's `Pool<DB>` is.

use std::sync::Arc;
use std::time::Duration;

use bento_core::Encoded;
use bento_core::integration::budget::{BoxFuture, RateBudget};
use bento_core::integration::store::{StoreErasure, StoreError, StoreSession};

use crate::erasure::Keyring;
use crate::{DeadLetter, Outbox, OutboxError};

/// A database the outbox can live in: [`sqlx::Postgres`] (feature
/// `postgres`) or [`sqlx::Sqlite`] (feature `sqlite`). Sealed: the
/// operations are the outbox's own.
pub trait Backend: sealed::Ops {}

impl<DB: sealed::Ops> Backend for DB {}

pub(crate) mod sealed {
    use super::*;

    /// The operations each database implements; reached only through
    /// [`Outbox`].
    pub trait Ops: sqlx::Database {
        /// Settings and state only this database has (PostgreSQL's
        /// fleet-pacing switch, SQLite's lease...).
        type Extra: Clone + std::fmt::Debug + Send + Sync + 'static;

        /// Their defaults.
        fn extra() -> Self::Extra;

        /// How often the leader looks at the table without news, by default.
        const POLL_INTERVAL: std::time::Duration;

        /// Creates or upgrades the tables.
        fn migrate(outbox: &Outbox<Self>) -> BoxFuture<'_, Result<(), OutboxError>>;

        /// Writes checked items inside the caller's transaction; none when
        /// one is about an erased person ([`OutboxError::Erased`]).
        fn insert<'c>(
            conn: &'c mut Self::Connection,
            items: &'c [Encoded],
            keyring: &'c Keyring,
        ) -> BoxFuture<'c, Result<(), OutboxError>>;

        /// Erases a person (see [`Outbox::erase`]).
        fn erase<'a>(
            outbox: &'a Outbox<Self>,
            email: &'a str,
            ttl: Duration,
        ) -> BoxFuture<'a, Result<StoreErasure, OutboxError>>;

        /// Lifts a person's tombstone; whether there was one.
        fn lift<'a>(
            outbox: &'a Outbox<Self>,
            email: &'a str,
        ) -> BoxFuture<'a, Result<bool, OutboxError>>;

        /// Live rows (not dead letters).
        fn pending(outbox: &Outbox<Self>) -> BoxFuture<'_, Result<u64, OutboxError>>;

        /// The oldest `limit` dead letters.
        fn dead_letters(
            outbox: &Outbox<Self>,
            limit: u32,
        ) -> BoxFuture<'_, Result<Vec<DeadLetter>, OutboxError>>;

        /// Puts these dead letters (all with `None`) back in line.
        fn revive<'a>(
            outbox: &'a Outbox<Self>,
            ids: Option<&'a [i64]>,
        ) -> BoxFuture<'a, Result<u64, OutboxError>>;

        /// Deletes these dead letters (all with `None`).
        fn purge<'a>(
            outbox: &'a Outbox<Self>,
            ids: Option<&'a [i64]>,
        ) -> BoxFuture<'a, Result<u64, OutboxError>>;

        /// Waits until this process leads the relay.
        fn lead(outbox: &Outbox<Self>) -> BoxFuture<'_, Result<Box<dyn StoreSession>, StoreError>>;

        /// The rate budget every process sharing the database takes its
        /// slots from (built once per outbox).
        fn pacer(outbox: &Outbox<Self>) -> Arc<dyn RateBudget>;
    }
}
