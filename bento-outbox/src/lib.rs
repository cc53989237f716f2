// The README is the crate's documentation (one copy for both); its examples
// use both stores, so it is the crate doc when both are built (docs.rs, the
// workspace's tests), and a pointer to it otherwise.
#![cfg_attr(all(feature = "postgres", feature = "sqlite"), doc = include_str!("../README.md"))]
#![cfg_attr(
    not(all(feature = "postgres", feature = "sqlite")),
    doc = "Transactional outboxes for the Bento Rust SDK, on PostgreSQL (feature `postgres`) \
           or SQLite (feature `sqlite`): see the README, which is this crate's documentation \
           when both features are on (as on docs.rs)."
)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod claim;
mod encode;
mod erasure;
mod error;
mod outbox;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod pacing;
mod row;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod schema_text;

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
pub use bento_core::integration::store::RelayStats;
/// What [`Outbox::erase`] removed.
pub use bento_core::integration::store::StoreErasure;
