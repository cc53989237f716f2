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
//! One type, [`Outbox<DB>`](Outbox), over either database, as sqlx's
//! `Pool<DB>` is:
//!
//! - [`postgres::Outbox`] (feature `postgres`, on by default): PostgreSQL,
//!   leadership by a session advisory lock, `LISTEN/NOTIFY`.
//! - [`sqlite::Outbox`] (feature `sqlite`): a SQLite file, leadership by a
//!   lease row among the processes of one machine.
//!
//! Both offer the same operations, and both share one rate budget per
//! endpoint family among every process using the database, so a fleet (or
//! a leader and its successor) stays under Bento's limits together.
//!
//! This crate holds the stores; the engine knows them only through the
//! seams of [`bento_core::store`] and [`bento_core::budget`].
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod encode;
mod error;
mod outbox;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod pacing;
mod row;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

pub use backend::Backend;
pub use error::OutboxError;
pub use outbox::Outbox;
pub use row::DeadLetter;

/// What this process's relay has done since it started.
pub use bento_core::store::RelayStats;
