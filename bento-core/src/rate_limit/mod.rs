//! Pacing: the client stays under Bento's rate limits instead of bouncing
//! off 429s.
//!
//! Each endpoint family ([`EndpointFamily`]) has its own limit
//! ([`RateLimit`], [`RateLimits`]) and its own window (`window.rs`), shared
//! by every clone of a client: it remembers when its last N requests ended
//! and admits a new one only while fewer than N count (never more than N in
//! *any* window, however the server counts). A granted [`Slot`](slot.rs)
//! counts from its grant until a window after its request ended. The
//! [`Pacer`](pacer.rs) holds the windows and is the one way every request
//! takes its slot: here, then in a [`budget`] shared with other processes
//! when one is set (a durable store's, kept in a database). `ahead.rs`
//! fetches shared slots one ahead for the engine's scheduler, which asks
//! synchronously.

pub(crate) mod ahead;
pub(crate) mod budget;
mod limits;
pub(crate) mod pacer;
pub(crate) mod slot;
mod window;

pub use limits::{EndpointFamily, RateLimit, RateLimits, Scope};
pub(crate) use pacer::Pacer;
pub(crate) use slot::Slot;
