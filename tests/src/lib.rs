//! Helpers shared by the workspace's end-to-end tests (`tests/tests/`, and
//! the framework crates' and examples' tests).

pub mod arrivals;
pub mod browser;
pub mod contract;
pub mod erasure;
pub mod hostile;
pub mod late;
pub mod postgres;
pub mod relay;
pub mod sqlite;
pub mod wait;

use std::time::Duration;

use bento_core::{BentoEvent, Client, ClientBuilder, RateLimits, RetryPolicy};
use bento_emulator::Emulator;

/// Installs `ring` as the process-wide TLS provider, for the test's own
/// reqwest clients (the workspace builds reqwest with `rustls-no-provider`,
/// and bento-core never installs one). A test binary may choose a
/// process-wide provider; a library must not. ring is deprecated by rustls
/// 0.23.48 for lacking post-quantum key exchange, which loopback tests do
/// not need.
#[allow(deprecated)]
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for `emulator`: no client-side rate limits, quick retries, and a
/// short flush interval, so tests stay fast.
pub fn client_for(emulator: &Emulator) -> ClientBuilder {
    bento_core::testing::client_for(emulator)
        .app_name("bento-tests")
        .rate_limits(RateLimits::unlimited())
        .flush_interval(Duration::from_millis(50))
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50)),
        )
}

/// An emulator on loopback without rate limits, and a client pointed at it.
pub async fn emulator_and_client() -> (Emulator, Client) {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start()
        .await
        .expect("the emulator starts on 127.0.0.1:0");
    let client = client_for(&emulator).build().expect("the client builds");
    (emulator, client)
}

/// The same, for tests that run outside a tokio runtime (actix's own runtime, sync code).
pub fn emulator_and_client_blocking() -> (Emulator, Client) {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .expect("the emulator starts on 127.0.0.1:0");
    let client = client_for(&emulator).build().expect("the client builds");
    (emulator, client)
}

/// The signup event the framework tests track, one per request.
#[derive(Debug, BentoEvent)]
#[bento(event = "account.signup")]
pub struct Signup {
    /// `user<n>@example.com`.
    pub email: String,
    /// Written to the subscriber's profile.
    #[bento(field)]
    pub plan: &'static str,
}

/// An event without an email: about the subscriber it is tracked for.
#[derive(BentoEvent, Debug, Clone)]
#[bento(event = "plan.upgraded")]
pub struct Upgraded {
    /// The new plan.
    pub plan: &'static str,
}

/// The signup of user `n`.
pub fn signup_for(n: usize) -> Signup {
    Signup {
        email: format!("user{n}@example.com"),
        plan: "pro",
    }
}
