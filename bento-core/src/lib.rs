//! An async client for the [Bento](https://bentonow.com) email-marketing and
//! events API.
//!
//! - Every endpoint of Bento's REST API v1, one method each on [`Client`],
//!   with typed requests and responses that decode every shape the live
//!   service is known to send.
//! - Input is validated before anything is sent; errors are typed and say what
//!   to fix ([`Error`]).
//! - Requests are paced under Bento's rate limits ([`RateLimits`]) and retried
//!   with exponential backoff, full jitter and `Retry-After` ([`RetryPolicy`]).
//! - Batch calls take any number of items and split them into API-sized
//!   requests (1000 events, 1000 subscribers, 60 emails, 100 broadcasts).
//! - The secret key never appears in `Debug` output, logs, errors or the
//!   User-Agent.
//!
//! ```no_run
//! use bento_core::{Client, Command, Event, SubscriberImport};
//!
//! # async fn run() -> Result<(), bento_core::Error> {
//! // BENTO_PUBLISHABLE_KEY, BENTO_SECRET_KEY, BENTO_SITE_UUID (and optionally BENTO_BASE_URL)
//! let bento = Client::from_env()?;
//!
//! bento.track_now(&Event::new("account.signup", "ada@example.com").field("first_name", "Ada")).await?;
//! bento.import_subscribers(&[SubscriberImport::new("bob@example.com").tag("lead")]).await?;
//! bento.run_command(Command::AddTag { email: "ada@example.com".into(), tag: "customer".into() }).await?;
//! if let Some(ada) = bento.find_subscriber("ada@example.com").await? {
//!     println!("{} has fields {:?}", ada.email, ada.fields);
//! }
//! # Ok(()) }
//! ```
//!
//! Describe events and subscriber records as structs, checked at compile time
//! (see [Deriving events and subscribers](#deriving-events-and-subscribers)):
//!
//! ```no_run
//! use bento_core::{BentoEvent, Client};
//!
//! #[derive(BentoEvent)]
//! #[bento(event = "account.signup")]
//! struct Signup<'a> {
//!     email: &'a str,
//!     #[bento(field)]
//!     first_name: &'a str,
//!     plan: &'a str,
//! }
//!
//! # async fn run(bento: Client) -> Result<(), bento_core::Error> {
//! bento.track_now(&Signup { email: "ada@example.com", first_name: "Ada", plan: "pro" }).await?;
//! # Ok(()) }
//! ```
//!
//! # Delivery guarantees
//!
//! [`Client::track`] returns at once; a background thread delivers. Every
//! item it accepts ends in exactly one of three places: delivered (a 2xx
//! whose body decodes as Bento's answer), handed to the failure hook
//! ([`ClientBuilder::on_delivery_failure`]) with a [`FailureReason`], or
//! counted as pending in the [`FlushError::Timeout`] of [`Client::flush`] and
//! [`Client::shutdown`]. Nothing a server sends (huge or endless bodies, any
//! `Retry-After`, redirects, undecodable answers) can panic the client or
//! grow its memory without bound, and a panic inside the engine is caught:
//! the items it held go to the hook and the engine keeps serving.
//!
//! # Documented variations, all decoded
//!
//! Bento's spec and its live service disagree in places; the client accepts both forms:
//!
//! - batch counts as `{"results": n, "failed": m}` or `{"result": n}` (`BatchResult`);
//! - `/fetch/commands` answering with counts or with the subscriber (`CommandResult` has both);
//! - `"fields": null`, absent `unsubscribed_at`, ids as strings or numbers;
//! - a missing subscriber as `{"data": null}` or `{}` (both `Ok(None)`);
//! - created tags and fields as `{"data": {...}}` or `{"data": [{...}]}`;
//! - `/batch/broadcasts` answering `{"results": n}` or with `broadcasts` and `failures` lists.
//!
//! The emulator speaks either dialect (`Dialect::Live`, `Dialect::Spec`) and the tests run both.
//!
//! # Batches: split, in order, with partial failures reported
//!
//! Every batch method takes any number of items and sends them in API-sized requests (1000 events —
//! configurable with `ClientBuilder::events_per_request` because one newer Bento page says 100 —
//! 1000 subscribers, 60 emails, 100 broadcasts), one after the other. All items are validated
//! first; nothing is sent if one is invalid. If a request fails after earlier ones succeeded, the
//! error is `Error::PartialBatch { accepted, total, source }`: the first `accepted` items went
//! through, so resend exactly the rest.
//!
//! # Errors
//!
//! `bento_core::Error` is `#[non_exhaustive]` and says what to do:
//!
//! - `Invalid(ValidationError)`: rejected before sending (bad email, empty batch, a tag containing a
//!   comma, a malformed date), naming the item, such as `events[3].email`.
//! - `Api(ApiError)`: Bento answered with an error status; carries the status, the server's message
//!   and body, and `retry_after`. A 401 names the three variables to check; a 403 explains the
//!   User-Agent requirement.
//! - `Connect`, `Transport`, `Timeout`: no answer, or none in time; what the HTTP stack said is in
//!   the source chain (`TransportError`).
//! - `Decode`: a 2xx body that did not match, with the body.
//! - `PartialBatch`: see above.
//!
//! `error.is_retryable()` tells whether trying later may help.
//!
//! # Retries and rate limits
//!
//! Failed requests are retried for 408, 429, 500, 502, 503, 504, connection failures, timeouts and
//! dropped connections, with exponential backoff and full jitter (4 attempts by default).
//! `Retry-After` (seconds or HTTP date) is a floor on the wait; when it exceeds
//! `RetryPolicy::max_retry_after` (60 s) the call fails at once with the 429 and its `retry_after`,
//! instead of sleeping for an hour. Transactional emails are **not** replayed after an ambiguous
//! failure (a 500/502/504, a timeout, a connection dropped after sending), since Bento may already
//! have queued them; `RetryPolicy::retry_ambiguous_email_sends(true)` opts in.
//!
//! Requests are paced per endpoint family below Bento's limits, starting from the strictest
//! documented values (`/fetch`, `/batch`: 60 a minute per IP; `/experimental`: 100 a minute;
//! `/stats`: 30 an hour; `/data_deletion_requests`: 1,000 a day), shared by every clone of the
//! client, so a busy app waits briefly instead of collecting 429s. Bento's sources disagree and
//! its limits vary by account, so the pacer follows what Bento answers: a 429 (with or without
//! `Retry-After`) lowers the family's rate to what Bento had accepted in the window, and windows
//! that wanted more probe back up; `Retry-After` holds the whole family back. Configure with
//! [`RateLimits`] or turn pacing off with `RateLimits::unlimited()`.
//!
//! # Secrets
//!
//! The secret key is held in a `secrecy::SecretString`. No `Debug` output, error message, log line
//! or User-Agent contains it (a test prints every public type and error and searches for it); the
//! `Authorization` header is marked sensitive; keys in the base URL are refused.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `derive` | yes | `#[derive(BentoEvent)]` and `#[derive(BentoSubscriber)]` |
//! | `rustls` | yes | TLS through rustls with the `ring` provider, given to reqwest as its own configuration (the process-wide default provider is never installed). ring builds anywhere without a C toolchain; it has no post-quantum key exchange (rustls 0.23.48 deprecates it for that), so pick `native-tls` where that matters |
//! | `native-tls` | no | TLS through the platform's library (OpenSSL, Secure Transport, SChannel) |
//! | `http2` | no | HTTP/2 in the underlying client |
//! | `chrono` | no | `chrono::DateTime` as an event date |
//! | `time` | no | `time::OffsetDateTime` as an event date |
//! | `metrics` | no | the delivery engine's counters, gauges and batch-latency histogram through the [`metrics`](https://docs.rs/metrics) facade; names in [`delivery`](delivery#metrics) |
//! | `emulator` | no | `testing`: a client connected to a fresh local emulator, its `Fault`s, and a wait for N events, for your own tests |
//! | `lettre` | no | `mailer::BentoTransport`, a `lettre` transport for transactional email |
//!
//! Without `rustls` or `native-tls` the client speaks plain HTTP only, which
//! is enough for the emulator and nothing else.
//!
//! # Observability
//!
//! Every API operation runs in a `bento.request` span and every delivery
//! batch request in a `bento.batch` span (debug level), with OpenTelemetry's HTTP client
//! attributes: `http.request.method`, `url.template` (such as
//! `/fetch/tags/{id}`), `server.address`, `server.port`,
//! `http.response.status_code`, `http.request.resend_count`, `error.type`,
//! and for batches `bento.batch.items`, `bento.batch.bytes`,
//! `bento.batch.attempt` and `bento.batch.outcome`. No span or log line
//! carries an email address, a key, the site UUID, a query or a body.
//!
//! # Testing without Bento
//!
//! The `bento-emulator` crate runs a local, stateful Bento on loopback; point
//! [`ClientBuilder::base_url`] at it, or enable the `emulator` feature (in
//! `[dev-dependencies]`) and write `let (emulator, client) =
//! bento_core::testing::emulator().await?;`.
#![cfg_attr(feature = "derive", doc = include_str!("derive.md"))]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The architecture, by folder, top to bottom (docs/ARCHITECTURE.md):
// `resources/` (the endpoints, one module per API resource, re-exporting
// its models) and `integration/` (request-scoped tracking for frameworks),
// `config` and `client/` (the builder and the handle), `delivery/` (the
// engine and its relay), `store` (the durable-store seam), `transport/`
// (the request context and one call on the wire: retries, spans),
// `rate_limit/` (pacing, and the rate-budget seam), `model/` (what the
// engine carries: events, records, commands, their envelopes and answers),
// `wire/` (JSON dialects), `convert/` (the derives' value traits). Lower
// modules never import higher ones (`layering.rs` keeps it so).
mod client;
mod config;
mod diagnostics;
mod erasure;
mod error;
mod model;
mod privacy;
mod rate_limit;
mod resources;
mod time;
mod transport;
mod validate;
mod wire;

#[cfg(test)]
mod layering;
#[cfg(test)]
mod properties;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub mod convert;
pub mod delivery;
pub mod integration;
#[cfg(feature = "lettre")]
#[cfg_attr(docsrs, doc(cfg(feature = "lettre")))]
pub mod mailer;
mod store;

/// The tracking plan (`bento-plan.toml`): its format is documented here
/// (this module is the `bento-plan` crate); a client holds every write to
/// one with [`ClientBuilder::plan`], the derives check against it at compile
/// time, and `bento plan init` starts one.
#[doc(inline)]
pub use bento_plan as plan;
#[cfg(feature = "emulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "emulator")))]
pub mod testing;

#[doc(inline)]
pub use resources::{
    broadcasts, chat, commands, deletion, emails, events, experimental, fields, forms, segments,
    sequences, stats, subscribers, tags, templates, transactional, workflows,
};

pub use client::{Client, EraseError, Erasure};
pub use commands::Command;
pub use config::{ClientBuilder, env};
pub use delivery::{
    DeliveryFailure, DeliveryReport, DeliveryStats, Encoded, FailureReason, FlushError, ItemKind,
    TrackError,
};
pub use diagnostics::Ping;
pub use emails::Email;
pub use error::{ApiError, ConfigError, Error, TransportError, ValidationError};
pub use events::{BentoEvent, Event, SubscriberEvent};
pub use model::batch::BatchResult;
pub use rate_limit::{EndpointFamily, RateLimit, RateLimits, Scope};
pub use resources::pages::Pages;
pub use subscribers::{BentoSubscriber, NewSubscriber, Subscriber, SubscriberImport};
pub use transport::retry::RetryPolicy;

#[cfg(feature = "derive")]
pub use bento_derive::{BentoEvent, BentoSubscriber, include_plan};

/// The HTTP status type used in errors.
pub use http::StatusCode;
