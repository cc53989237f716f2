//! Helpers shared by the workspace's end-to-end tests (in `tests/tests/`).

use std::time::Duration;

use bento_core::{Client, RateLimits, RetryPolicy};
use bento_emulator::Emulator;

/// An emulator on loopback without rate limits, and a client pointed at it
/// that retries quickly.
pub async fn emulator_and_client() -> (Emulator, Client) {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start()
        .await
        .expect("the emulator starts on 127.0.0.1:0");
    let client = Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .app_name("bento-tests")
        .rate_limits(RateLimits::unlimited())
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50)),
        )
        .build()
        .expect("the client builds");
    (emulator, client)
}
