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

use std::time::{Duration, Instant};

pub use bento_emulator::{Emulator, Fault, RecordedEvent};

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

/// Like [`emulator`], with the client configured by `configure`: the
/// tracking plan the derives were checked against, an outbox, a failure
/// hook. A plan given to the client is given to the emulator too, so both
/// judge every write by it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let plan = bento_core::plan::Plan::parse("[events.\"account.signup\"]")?;
/// // In your tests: `client.plan(bento_core::include_plan!())`, and
/// // `.outbox(outbox.clone())` for an app that writes through one.
/// let (bento, client) = bento_core::testing::emulator_with(|client| client.plan(plan)).await?;
/// assert!(client.track(&bento_core::Event::new("acount.signup", "ada@example.com")).is_err());
/// # let _ = bento; Ok(()) }
/// ```
pub async fn emulator_with(
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> std::io::Result<(Emulator, Client)> {
    let builder = configure(
        Client::builder()
            .rate_limits(RateLimits::unlimited())
            .flush_interval(Duration::from_millis(20)),
    );
    let mut emulator = Emulator::builder().no_rate_limits();
    if let Some(plan) = builder.planned() {
        emulator = emulator.plan(plan.clone());
    }
    let emulator = emulator.start().await?;
    let client = builder
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
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

/// Waits until `emulator` holds at least `n` events (the background queue
/// delivers a flush interval after `track`), and returns them; an error
/// saying how many it held when `timeout` passed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// let (bento, client) = bento_core::testing::emulator().await?;
/// client.track(&bento_core::Event::new("account.signup", "ada@example.com"))?;
/// let events = bento_core::testing::wait_for_events(&bento, 1, Duration::from_secs(5)).await?;
/// assert_eq!(events[0].email, "ada@example.com");
/// # Ok(()) }
/// ```
pub async fn wait_for_events(
    emulator: &Emulator,
    n: usize,
    timeout: Duration,
) -> Result<Vec<RecordedEvent>, WaitTimeout> {
    let deadline = crate::time::after(Instant::now(), timeout);
    loop {
        let events = emulator.events();
        if events.len() >= n {
            return Ok(events);
        }
        if Instant::now() >= deadline {
            return Err(WaitTimeout {
                wanted: n,
                held: events.len(),
                timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`wait_for_events`] gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the emulator held {held} of the {wanted} events waited for after {timeout:?}")]
pub struct WaitTimeout {
    /// Events waited for.
    pub wanted: usize,
    /// Events the emulator held at the deadline.
    pub held: usize,
    /// How long it waited.
    pub timeout: Duration,
}
