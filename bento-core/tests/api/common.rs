use std::time::Duration;

use bento_core::{Client, ClientBuilder, RateLimits, RetryPolicy};
use bento_emulator::{Emulator, EmulatorBuilder};

pub(crate) const SECRET: &str = "sk_live_TOP_SECRET_0123456789";

/// An emulator with no rate limits and a secret that is easy to search for.
pub(crate) fn emulator() -> EmulatorBuilder {
    Emulator::builder()
        .keys("pk_test_publishable", SECRET)
        .site_uuid("site-0001")
        .no_rate_limits()
}

/// A client for `emulator` that retries quickly, so fault tests stay fast.
pub(crate) fn client_builder(emulator: &Emulator) -> ClientBuilder {
    Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .app_name("bento-tests/1.0")
        .rate_limits(RateLimits::unlimited())
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50)),
        )
}

/// An emulator and a client whose every request and answer goes through
/// the contract check (`bento_tests::contract`): a request or an answer that
/// breaks Bento's published spec fails the call with the reason.
pub(crate) async fn setup() -> (Emulator, Client) {
    let emulator = emulator().start().await.expect("emulator starts");
    let proxy = bento_tests::contract::ContractProxy::start(&emulator.base_url()).await;
    let client = client_builder(&emulator)
        .base_url(proxy.base_url())
        .build()
        .expect("client builds");
    // The proxy serves until the test's runtime ends.
    Box::leak(Box::new(proxy));
    (emulator, client)
}

/// An emulator and a client talking directly, for tests that inject faults
/// (garbled bodies, undocumented statuses) on purpose.
pub(crate) async fn setup_unchecked() -> (Emulator, Client) {
    let emulator = emulator().start().await.expect("emulator starts");
    let client = client_builder(&emulator).build().expect("client builds");
    (emulator, client)
}

/// How many requests the emulator saw for `path`.
pub(crate) fn requests_to(emulator: &Emulator, path: &str) -> Vec<bento_emulator::RequestRecord> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

/// The item counts of the requests the emulator saw for `path`, in order.
pub(crate) fn batch_sizes(emulator: &Emulator, path: &str) -> Vec<Option<usize>> {
    requests_to(emulator, path)
        .iter()
        .map(|r| r.items)
        .collect()
}
