//! For authors of durable stores (such as `bento-outbox`'s PostgreSQL and
//! SQLite outboxes), not for applications: a table of items the delivery
//! thread drains into Bento.
//!
//! An application writes items into the store inside its own transactions
//! (that part is the store's API); a [`Client`](crate::Client) built with
//! [`ClientBuilder::outbox`](crate::ClientBuilder::outbox) relays them. The
//! relay is the engine's: it runs on the delivery thread, with the engine's
//! batching, pacing, retry rule, bisection, failure hook and telemetry. The
//! store only answers a few questions:
//!
//! - [`DurableStore::lead`]: wait until this process may drain. Among all
//!   processes sharing the store one leads (an advisory lock, a lease row);
//!   the others try again every [`StoreSettings::takeover_interval`].
//! - [`StoreSession::claim`]: the oldest live items, in id order.
//! - [`StoreSession::sending`]: these ids are about to be sent (so that a
//!   leader taking over can count what may reach Bento twice,
//!   [`StoreSession::interrupted`]).
//! - [`StoreSession::settle`]: Bento took these (delete them), or they are
//!   dead letters (keep them with the reason).
//! - [`StoreSession::wait`]: block until new items may exist.
//! - [`DurableStore::erase`] and [`StoreSession::erased`]: a person erased
//!   fleet-wide, and which claimed rows are about someone erased (see
//!   [`erasure`](crate::integration::erasure)).
//!
//! Every item claimed ends settled, or stays in the store for the next
//! leader: the delivery invariant, across processes. Failure reports carry
//! the store's ids ([`DeliveryFailure::stored_ids`](crate::DeliveryFailure::stored_ids)).

pub use crate::store::{
    BoxFuture, Claim, DurableStore, Erasures, Fence, RelayStats, RelayStatus, Settle, StoreErasure,
    StoreError, StoreSession, StoreSettings, StoredRow,
};
