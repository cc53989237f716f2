//! An emulator and a client pointed at it, for the bench binaries.

use bento_core::{BentoEvent, Client, ClientBuilder, Event, RateLimits};
use bento_emulator::Emulator;

use crate::sink::Sink;

/// A client for `emulator` without client-side rate limits.
pub fn client_for(emulator: &Emulator) -> ClientBuilder {
    bento_core::testing::client_for(emulator)
        .app_name("bento-benches")
        .rate_limits(RateLimits::unlimited())
}

/// A client delivering to `sink`, with room for a long benchmark's events.
pub fn client_for_sink(sink: &Sink) -> ClientBuilder {
    Client::builder()
        .base_url(sink.base_url())
        .publishable_key("pk")
        .secret_key("sk")
        .site_uuid("site")
        .rate_limits(RateLimits::unlimited())
        .queue_capacity(1_000_000)
}

/// The small event the web benchmarks track once per request.
#[derive(Debug, BentoEvent)]
#[bento(event = "page.view")]
pub struct PageView {
    /// The visitor.
    pub email: &'static str,
    /// The page.
    pub path: &'static str,
}

/// The page view of `GET /hello`.
pub const HELLO_VIEW: PageView = PageView {
    email: "visitor@example.com",
    path: "/hello",
};

/// The process's peak resident set size so far, in bytes (Linux `VmHWM`).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The process's resident set size now, in bytes (Linux `VmRSS`).
pub fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The event the outbox benches write: a `$purchase` with a field and three details.
pub fn outbox_event(n: usize) -> Event {
    Event::new("$purchase", format!("buyer{n}@example.com"))
        .field("first_name", "Ada")
        .detail("order", format!("o-{n}"))
        .detail("total", 129.95)
        .detail("currency", "USD")
}
