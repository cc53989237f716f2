//! A local, stateful implementation of the [Bento](https://bentonow.com) API
//! v1 contract, for tests and local development (like stripe-mock or
//! LocalStack).
//!
//! - Every endpoint of Bento's published spec plus the ones the official SDKs
//!   call, with state: events create subscribers and write fields, imports
//!   upsert, commands change tags, fields, subscription and email, and tags,
//!   fields and broadcasts are listed back.
//! - The contract is enforced as Bento does: User-Agent (403 `BLOCKED`), Basic
//!   auth (401), `site_uuid` in the query or the JSON body (401), JSON bodies
//!   (400 naming the bad field), batch limits (400) and per-family rate limits
//!   (429 with `Retry-After`).
//! - [`Fault`]s script status codes, delays and dropped connections for the
//!   next N requests or a share of them.
//! - What arrived can be read in process ([`Emulator::events`],
//!   [`Emulator::subscriber`], ...) or over HTTP under `/__emulator/`.
//! - Malformed input never panics it.
//!
//! It deliberately shares no code with `bento-core`, so it judges what a
//! client sends independently.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use bento_emulator::{Emulator, Fault};
//!
//! let emulator = Emulator::start().await?;
//! emulator.inject(Fault::status(503).times(2));
//! // configure your client with:
//! let _ = (emulator.base_url(), emulator.publishable_key(), emulator.secret_key(), emulator.site_uuid());
//! # Ok(()) }
//! ```
//!
//! Run it as a program with `cargo run -p bento-emulator -- --port 4010`.
#![deny(missing_docs)]

mod api;
mod config;
mod faults;
mod gate;
mod inspect;
#[cfg(test)]
mod layering;
mod newer;
mod query;
mod reply;
mod server;
mod shared;
mod state;
mod time;
mod ui;

pub use config::{Dialect, EmulatorBuilder, Family, Limit};
pub use faults::{Fault, FaultAction};
pub use newer::{ChatMessage, Conversation, DeletionRecord};
pub use server::Emulator;
pub use state::{RecordedEvent, RequestRecord, SentEmail, SubscriberRecord};
