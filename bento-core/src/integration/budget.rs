//! For authors of durable stores and fleet-wide pacing (such as
//! `bento-outbox`), not for applications: a rate budget shared beyond this
//! process.
//!
//! Every request of a [`Client`](crate::Client) takes a slot from this
//! process's pacer first (so one process alone never exceeds Bento's limits,
//! whatever the budget does), then, when one is configured, from a
//! [`RateBudget`]: one budget per endpoint family that every instance of a
//! fleet shares, kept somewhere they all reach (a database table). A slot is
//! held from its grant until its request ended and counts for a window
//! after that; the budget is told which with [`RemoteSlot::end`].
//!
//! A budget is installed with
//! [`ClientBuilder::rate_budget`](crate::ClientBuilder::rate_budget), or
//! brought by a durable store ([`DurableStore::rate_budget`](crate::store::DurableStore::rate_budget)).

pub use crate::rate_limit::budget::{BoxFuture, Budget, RateBudget, RemoteSlot, SlotRequest};
