//! A client connected to a fresh local emulator, in one line (feature
//! `emulator`): for your own tests, with no Bento account and no network.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (bento, client) = bento_core::testing::emulator().await?;
//!
//! client.track_now(&bento_core::Event::new("account.signup", "ada@example.com")).await?;
//! assert_eq!(bento.events()[0].event_type, "account.signup");
//! # Ok(()) }
//! ```
//!
//! The emulator enforces Bento's contract (keys, site UUID, User-Agent,
//! limits) and records what it received; [`bento_emulator`] documents its
//! inspection and fault injection. It shares no code with this crate, so it
//! stays an independent judge of what the client sends.

use std::time::Duration;

pub use bento_emulator::Emulator;

use crate::{Client, ClientBuilder, RateLimits};

/// Starts an emulator on a free loopback port and builds a client for it.
///
/// Rate limits are lifted on both sides and the flush interval is short, so
/// tests run fast; use [`client_for`] with [`Emulator::builder`] to keep them.
pub async fn emulator() -> std::io::Result<(Emulator, Client)> {
    let emulator = Emulator::builder().no_rate_limits().start().await?;
    let client = client_for(&emulator)
        .rate_limits(RateLimits::unlimited())
        .flush_interval(Duration::from_millis(20))
        .build()
        .map_err(std::io::Error::other)?;
    Ok((emulator, client))
}

/// A builder already holding `emulator`'s URL, keys and site UUID.
pub fn client_for(emulator: &Emulator) -> ClientBuilder {
    Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
}
