//! For authors of framework integrations (such as `bento-axum` and
//! `bento-actix`), not for applications.
//!
//! A layer or middleware holds a [`RequestTracking`]; for each request it
//! starts a [`RequestEvents`] handle (what handlers track through) and a
//! [`Settlement`] (told the response's status, or dropped when the request
//! is cancelled or the handler panics). Under
//! [`deliver_on_success`](RequestTracking::deliver_on_success), a request's
//! events are held until then, and delivered or discarded. Every framework
//! built on these gets exactly the same semantics.

mod request;

pub use request::{RequestEvents, RequestLine, RequestTracking, Settlement};
