//! For authors of integrations, not for applications: web-framework layers
//! (`bento-axum`, `bento-actix`), durable stores (`bento-outbox`) and rate
//! budgets shared by a fleet. An application needs none of this module; it
//! uses what those crates build on it.
//!
//! - **Frameworks.** A layer or middleware holds a [`RequestTracking`]; for
//!   each request it starts a [`RequestEvents`] handle (what handlers track
//!   through) and a [`Settlement`] (told the response's status, or dropped
//!   when the request is cancelled or the handler panics). Under
//!   [`deliver_on_success`](RequestTracking::deliver_on_success), a
//!   request's events are held until then, and delivered or discarded.
//!   Every framework built on these gets exactly the same semantics.
//! - **Durable stores** ([`store`]): a table the delivery thread drains,
//!   one process at a time, with the engine's batching, pacing, retry rule
//!   and failure hook; erasing people from it fleet-wide ([`erasure`]).
//! - **Stopping** ([`shutdown`]): the signals that ask a service to stop,
//!   and the drain once its server has stopped, for each framework's
//!   `serve` or `run`.
//! - **Shared rate budgets** ([`budget`]): request slots shared by every
//!   process of a fleet, so that together they stay under Bento's limits.

pub mod budget;
pub mod erasure;
mod events;
mod held;
mod identity;
mod page_views;
mod rejection;
mod settlement;
pub mod shutdown;
pub mod store;
mod tracking;

pub use events::RequestEvents;
pub use page_views::{PageViews, RequestLine};
pub use rejection::rejection;
pub use settlement::{Resolving, Settlement};
pub use tracking::RequestTracking;

/// Whether the caller runs on a client's delivery thread (its own tokio
/// runtime): for [`budget::RateBudget`]s and [`store::DurableStore`]s that
/// keep connections per runtime, since a connection made on one runtime must
/// not be used after that runtime is gone.
pub fn on_delivery_thread() -> bool {
    crate::delivery::on_delivery_thread()
}
