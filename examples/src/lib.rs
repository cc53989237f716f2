//! The demo app, written once and served by both frameworks: the events,
//! records and request handling live here; `axum_app` and `actix_app` are
//! thin adapters, so the parity test can prove both send Bento the same data.

pub mod actix_demo;
pub mod app;
pub mod axum_demo;
pub mod demo;
pub mod json_api;

/// The workspace README's examples, compiled as doc tests so they cannot rot.
/// They live in this unpublished crate because they use every integration
/// crate, which would make the published crates depend on each other.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
